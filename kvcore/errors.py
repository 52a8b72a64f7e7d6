"""Every error text the server sends, word for word as redis-server 7.0 does."""

LOADING = "LOADING Redis is loading the dataset in memory"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
INCR_NAN_OR_INF = "ERR increment would produce NaN or Infinity"
NO_SUCH_KEY = "ERR no such key"
DB_INDEX = "ERR DB index is out of range"
SAME_OBJECT = "ERR source and destination objects are the same"
OUT_OF_RANGE = "ERR index out of range"
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
BIT_OFFSET = "ERR bit offset is not an integer or out of range"
NOAUTH = "NOAUTH Authentication required."
READONLY = "READONLY You can't write against a read only replica."
NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
NO_PASSWORD = (
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?"
)
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
NOPROTO = "NOPROTO unsupported protocol version"
MULTI_NESTED = "ERR MULTI calls can not be nested"
EXEC_WITHOUT_MULTI = "ERR EXEC without MULTI"
DISCARD_WITHOUT_MULTI = "ERR DISCARD without MULTI"
EXECABORT = "EXECABORT Transaction discarded because of previous errors."
WATCH_IN_MULTI = "ERR WATCH inside MULTI is not allowed"
OOM = "OOM command not allowed when used memory > 'maxmemory'."
MISCONF = (
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
    "persist to disk. Commands that may modify the data set are disabled, because this "
    "instance is configured to report errors during writes if RDB snapshotting fails "
    "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about "
    "the RDB error."
)
MISCONF_AOF = "MISCONF Errors writing to the AOF file: %s"
MAX_CLIENTS = "ERR max number of clients reached"
TIMEOUT_NEGATIVE = "ERR timeout is negative"
TIMEOUT_NOT_FLOAT = "ERR timeout is not a float or out of range"


def wrong_arity(name: str) -> str:
    return "ERR wrong number of arguments for '%s' command" % name


def unknown_command(argv: list[bytes]) -> str:
    args = ""
    for arg in argv[1:]:
        if len(args) >= 128:
            break
        text = arg.decode("utf-8", "replace")
        args += "'%s' " % text[: 128 - len(args)]
    name = argv[0].decode("utf-8", "replace")[:128]
    return "ERR unknown command '%s', with args beginning with: %s" % (name, args)


def unknown_subcommand(sub: bytes, container: str) -> str:
    return "ERR unknown subcommand '%s'. Try %s HELP." % (
        sub.decode("utf-8", "replace")[:128],
        container.upper(),
    )


def invalid_expire(name: str) -> str:
    return "ERR invalid expire time in '%s' command" % name


REPLICA_KEYSPACE = "ERR Replica can't interact with the keyspace"


def critical_error_line(source: str, target: str, error_text: str, command: str) -> str:
    """Redis's warning for an error sent over a replication link, where it means the data may
    diverge (afterErrorReply): an ERR shown without its code, another code after its dash."""
    text = error_text[4:] if error_text.startswith("ERR ") else "-" + error_text
    return (f"== CRITICAL == This {source} is sending an error to its {target}: '{text}' "
            f"after processing the command '{command}'")

PROTECTED_MODE = (
    "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the "
    "default user. In this mode connections are only accepted from the loopback interface. If you want to connect "
    "from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode "
    "sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the "
    "same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. "
    "Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by "
    "editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the "
    "server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' "
    "option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above "
    "things in order for the server to start accepting connections from the outside."
)
