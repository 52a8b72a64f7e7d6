"""Server commands: INFO, CONFIG, COMMAND, SLOWLOG, DEBUG, MEMORY, LATENCY and
the database-wide ones (DBSIZE, FLUSHDB, FLUSHALL, SWAPDB), TIME, LASTSAVE,
MONITOR, SHUTDOWN.

COMMAND's replies are generated from the command table; `acl_categories`
derives a command's ACL categories as Redis does: implied by its flags
(write, read, admin + dangerous, pubsub, fast, blocking, else slow), plus its
declared ``categories``, or when it declares none the category of its group
(``generic`` is @keyspace, ``string`` @string...). Family groups are Redis's
documentation group names.

The core has no clock inside a command, so every command takes 0 us: SLOWLOG
records everything when ``slowlog-log-slower-than`` is 0 and nothing
otherwise, LATENCY never sees a spike, and every histogram sample is 1 us.
"""

from __future__ import annotations

import struct

from kvcore import client_memory, digest, errors, info, latency, lazyfree, rdb, replybuf
from kvcore.commands.args import Cursor, parse_int
from kvcore.commands.cluster import debug_clusterlink, debug_drop_cluster_packet_filter
from kvcore.commands.connection import INT_MAX, INT_MIN, help_reply, subcommand_syntax_error
from kvcore.commands.key_specs import Index, KeyFlag, KeySpec, key_flags_reply, keys_and_flags, spec_reply
from kvcore.commands.keys import refcount, string_encoding
from kvcore.commands.table import FLAG_NAMES, Command, Flag, Registry
from kvcore.config import BY_NAME, OPTIONS, ConfigError
from kvcore.dict_model import grown_table_stats
from kvcore.dispatch import NO_REPLY
from kvcore.effects import SIGABRT, SIGSEGV, Crash, LogMessage, Pause, RewriteConfig
from kvcore.glob import glob_match
from kvcore.loading import DENY_LOADING
from kvcore.memory_usage import DEFAULT_SAMPLES, key_usage
from kvcore.redaction import redacted
from kvcore.reply import OK, Attribute, BigNumber, Bool, Double, Error, Map, Push, Raw, SetReply, Simple, Verbatim
from kvcore.types_list import PACKED_THRESHOLD, SIZE, ListValue
from kvcore.types_set import SetValue

REGISTRY = Registry("server")
command = REGISTRY.command

INFO_FLAGS = Flag.LOADING | Flag.STALE
ADMIN = Flag.ADMIN | Flag.NOSCRIPT | Flag.LOADING | Flag.STALE
CONNECTION = ("connection",)

# -- ACL categories -----------------------------------------------------------------

CATEGORY_ORDER = [
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog",
    "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection",
    "transaction", "scripting",
]
GROUP_CATEGORY = {
    "generic": "keyspace", "string": "string", "list": "list", "hash": "hash", "set": "set",
    "sorted-set": "sortedset", "bitmap": "bitmap", "hyperloglog": "hyperloglog", "geo": "geo",
    "stream": "stream", "connection": "connection", "transactions": "transaction", "scripting": "scripting",
}
IMPLIED_CATEGORIES = [
    (Flag.WRITE, ("write",)),
    (Flag.ADMIN, ("admin", "dangerous")),
    (Flag.PUBSUB, ("pubsub",)),
    (Flag.FAST, ("fast",)),
    (Flag.BLOCKING, ("blocking",)),
]
HIDDEN_FLAGS = Flag.MAY_REPLICATE  # COMMAND INFO never shows it (Redis hides it too)


def acl_categories(cmd: Command) -> list[str]:
    """The ACL categories of a command, without '@', in Redis's order."""
    found = {name.lstrip("@") for name in cmd.categories}
    if not found and cmd.handler is not None and cmd.group in GROUP_CATEGORY:
        found.add(GROUP_CATEGORY[cmd.group])
    for flag, names in IMPLIED_CATEGORIES:
        if cmd.flags & flag:
            found.update(names)
    if cmd.flags & Flag.READONLY and "scripting" not in found:
        found.add("read")
    if "fast" not in found:
        found.add("slow")
    return [name for name in CATEGORY_ORDER if name in found]


# -- COMMAND -------------------------------------------------------------------------

COMMAND_HELP = [
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
]


def find_command(table: dict[bytes, Command], name: bytes) -> Command | None:
    """A command by name, ``container|sub`` naming a subcommand."""
    parts = name.lower().split(b"|")
    cmd = table.get(parts[0])
    if cmd is None or len(parts) == 1:
        return cmd
    return cmd.subcommands.get(parts[1]) if len(parts) == 2 else None


def command_info(cmd: Command) -> list:
    """COMMAND INFO's ten fields for one command."""
    flags = [Simple(name) for flag, name in FLAG_NAMES if cmd.flags & flag and not flag & HIDDEN_FLAGS]
    return [
        cmd.fullname.encode(),
        cmd.arity,
        SetReply(flags),
        cmd.first_key,
        cmd.last_key,
        cmd.key_step,
        SetReply([Simple("@" + name) for name in acl_categories(cmd)]),
        SetReply([tip.encode() for tip in cmd.tips]),
        SetReply([spec_reply(spec) for spec in cmd.key_specs]),
        [command_info(sub) for sub in cmd.subcommands.values()] if cmd.subcommands else SetReply([]),
    ]


def command_docs(cmd: Command) -> Map:
    """COMMAND DOCS's map for one command: summary, since, group, subcommands."""
    pairs = [(b"summary", cmd.summary.encode()), (b"since", cmd.since.encode()), (b"group", cmd.group.encode())]
    if cmd.subcommands:
        pairs.append((b"subcommands", Map([(sub.fullname.encode(), command_docs(sub)) for sub in cmd.subcommands.values()])))
    return Map(pairs)


def all_commands(table: dict[bytes, Command]) -> list[Command]:
    """Every command and subcommand, each container before its subcommands."""
    return [each for cmd in table.values() for each in (cmd, *cmd.subcommands.values())]


@command("command", -1, INFO_FLAGS, categories=CONNECTION, since="2.8.13", tips=("nondeterministic_output_order",))
def command_all(client, argv):
    """COMMAND"""
    return [command_info(cmd) for cmd in client.node.table.values()]


COMMAND = REGISTRY.commands[-1]


@command("count", 2, INFO_FLAGS, parent=COMMAND, categories=CONNECTION, since="2.8.13")
def command_count(client, argv):
    """COMMAND COUNT"""
    return len(client.node.table)


@command(
    "info", -2, INFO_FLAGS, parent=COMMAND, categories=CONNECTION, since="2.8.13",
    tips=("nondeterministic_output_order",),
)
def command_info_(client, argv):
    """COMMAND INFO [command-name ...]"""
    table = client.node.table
    if len(argv) == 2:
        return command_all(client, argv)
    return [None if cmd is None else command_info(cmd) for cmd in (find_command(table, name) for name in argv[2:])]


@command(
    "docs", -2, INFO_FLAGS, parent=COMMAND, categories=CONNECTION, since="7.0.0",
    tips=("nondeterministic_output_order",),
)
def command_docs_(client, argv):
    """COMMAND DOCS [command-name ...]"""
    table = client.node.table
    found = list(table.values()) if len(argv) == 2 else [find_command(table, name) for name in argv[2:]]
    return Map([(cmd.fullname.encode(), command_docs(cmd)) for cmd in found if cmd is not None])


@command(
    "list", -2, INFO_FLAGS, parent=COMMAND, categories=CONNECTION, since="7.0.0",
    tips=("nondeterministic_output_order",),
)
def command_list(client, argv):
    """COMMAND LIST [FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]"""
    commands = all_commands(client.node.table)
    if len(argv) == 2:
        return [cmd.fullname.encode() for cmd in commands]
    if len(argv) != 5 or argv[2].lower() != b"filterby":
        raise Error(errors.SYNTAX)
    kind, arg = argv[3].lower(), argv[4]
    if kind == b"module":
        return []
    if kind == b"aclcat":
        category = arg.decode("utf-8", "replace").lower()
        return [cmd.fullname.encode() for cmd in commands if category in acl_categories(cmd)]
    if kind == b"pattern":
        return [cmd.fullname.encode() for cmd in commands if glob_match(arg, cmd.fullname.encode(), nocase=True)]
    raise Error(errors.SYNTAX)


def has_keys(cmd: Command) -> bool:
    """Whether COMMAND GETKEYS can say anything about a command (doesCommandHaveKeys)."""
    if cmd.keys_fn is not None or cmd.flagged_keys_fn is not None:
        return True
    if cmd.key_specs:
        return any(not spec.flags & KeyFlag.NOT_KEY for spec in cmd.key_specs)
    return cmd.first_key > 0  # a command Redis lacks (JSON.*), declared without specs


def request_keys(client, argv) -> tuple[list[bytes], list[tuple[int, KeyFlag]]]:
    """COMMAND GETKEYS / GETKEYSANDFLAGS: the request after the subcommand and its keys."""
    args = argv[2:]
    cmd = client.node.table.get(args[0].lower())
    if cmd is not None and cmd.subcommands and len(args) > 1:
        cmd = cmd.subcommands.get(args[1].lower())
    if cmd is None or (cmd.subcommands and cmd.handler is None):
        raise Error("ERR Invalid command specified")
    if not has_keys(cmd):
        raise Error("ERR The command has no key arguments")
    if not cmd.arity_ok(len(args)):
        raise Error("ERR Invalid number of arguments specified for command")
    found = keys_and_flags(cmd, args)
    if not found and not cmd.flags & Flag.NO_MANDATORY_KEYS:
        raise Error("ERR Invalid arguments specified for command")
    return args, found


@command("getkeys", -4, INFO_FLAGS, parent=COMMAND, categories=CONNECTION, since="2.8.13")
def command_getkeys(client, argv):
    """COMMAND GETKEYS command [arg ...]"""
    args, found = request_keys(client, argv)
    return [args[i] for i, _ in found]


@command("getkeysandflags", -4, INFO_FLAGS, parent=COMMAND, categories=CONNECTION, since="7.0.0")
def command_getkeysandflags(client, argv):
    """COMMAND GETKEYSANDFLAGS command [arg ...]"""
    args, found = request_keys(client, argv)
    return [[args[i], key_flags_reply(flags)] for i, flags in found]


@command("help", 2, INFO_FLAGS, parent=COMMAND, categories=CONNECTION, since="5.0.0")
def command_help(client, argv):
    """COMMAND HELP"""
    return help_reply(COMMAND_HELP)


# -- INFO, TIME, DBSIZE, LASTSAVE, ROLE ----------------------------------------------------


@command(
    "info", -1, INFO_FLAGS, categories=("dangerous",),
    tips=("nondeterministic_output", "request_policy:all_shards", "response_policy:special"),
)
def info_(client, argv):
    """INFO [section ...]"""
    return Verbatim(info.render(client.node, argv[1:]))


@command("time", 1, INFO_FLAGS | Flag.FAST, since="2.6.0", tips=("nondeterministic_output",))
def time_(client, argv):
    """TIME"""
    now = client.node.now
    return [b"%d" % (now // 1000), b"%d" % (now % 1000 * 1000)]


@command("lolwut", -1, Flag.READONLY | Flag.FAST, since="5.0.0")
def lolwut(client, argv):
    """LOLWUT [VERSION version]: the server's version. Versions 5 and 6 take their canvas sizes
    as Redis does (integers, or an error) and credit their computer art, but do not draw it
    (Redis draws it from an unseeded random source)."""
    from kvcore.node import VERSION  # kvcore.node imports the command table, which imports this

    args = argv[1:]
    version = 0
    if len(args) >= 2 and args[0].lower() == b"version":
        version = parse_int(args[1])
        args = args[2:]
        for arg in args[:LOLWUT_SIZES.get(version, 0)]:
            parse_int(arg)
    return Verbatim(b"%sRedis ver. %s\n" % (LOLWUT_CREDITS.get(version, b""), VERSION.encode()))


LOLWUT_SIZES = {5: 3, 6: 2}  # the integer arguments each art version reads
LOLWUT_CREDITS = {
    5: b"Georg Nees - schotter, plotter on paper, 1968. ",
    6: b"Dedicated to the 8 bit game developers of past and present.\n"
       b"Original 8 bit image from Plaguemon by hikikomori. ",
}


@command(
    "dbsize", 1, Flag.READONLY | Flag.FAST, categories=("keyspace",),
    tips=("request_policy:all_shards", "response_policy:agg_sum"),
)
def dbsize(client, argv):
    """DBSIZE"""
    return len(client.db)


@command("lastsave", 1, INFO_FLAGS | Flag.FAST, categories=("admin", "dangerous"), tips=("nondeterministic_output",))
def lastsave(client, argv):
    """LASTSAVE"""
    return client.node.last_save_s


# -- FLUSHDB, FLUSHALL, SWAPDB ----------------------------------------------------------

KEYSPACE_DANGEROUS = ("keyspace", "dangerous")


def check_flush_mode(client, argv: list[bytes], dbs) -> None:
    """FLUSHDB/FLUSHALL take nothing, ASYNC or SYNC (both flush at once here; what Redis would
    free in the background is counted, kvcore.lazyfree)."""
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() not in (b"async", b"sync")):
        raise Error(errors.SYNTAX)
    mode = argv[1].lower() if len(argv) == 2 else None
    if mode == b"async" or (mode is None and client.node.config["lazyfree-lazy-user-flush"]):
        lazyfree.flushed_async(client.node, dbs)


@command(
    "flushdb", -1, Flag.WRITE, categories=KEYSPACE_DANGEROUS,
    tips=("request_policy:all_shards", "response_policy:all_succeeded"),
)
def flushdb(client, argv):
    """FLUSHDB [ASYNC | SYNC]"""
    check_flush_mode(client, argv, [client.db])
    if not client.db.clear():
        client.node.stats.dirty += 1  # an empty FLUSHDB is still propagated, as in Redis
    return OK


@command(
    "flushall", -1, Flag.WRITE, categories=KEYSPACE_DANGEROUS,
    tips=("request_policy:all_shards", "response_policy:all_succeeded"),
)
def flushall(client, argv):
    """FLUSHALL [ASYNC | SYNC]"""
    node = client.node
    check_flush_mode(client, argv, node.dbs)
    for db in node.dbs:
        db.clear()
    node.stats.dirty += 1
    node.snapshots.flushed()
    return OK


def parse_db_number(arg: bytes, error: str) -> int:
    value = parse_int(arg, error)
    if not INT_MIN <= value <= INT_MAX:
        raise Error(error)
    return value


def swap_databases(a, b) -> None:
    """Exchange two databases' contents; clients and watchers stay with the numbers."""
    a.touch_all_watched(b)
    b.touch_all_watched(a)
    a.swap_contents(b)


def signal_blocked_keys(node, db_indexes: set[int]) -> None:
    """Clients blocked on keys that now hold data (in the swapped-in contents) may be served."""
    blocking = node.blocking
    for db_index, key in list(blocking.waiting):
        if db_index in db_indexes and key in node.dbs[db_index].data:
            blocking.signal(db_index, key)


@command("swapdb", 3, Flag.WRITE | Flag.FAST, categories=KEYSPACE_DANGEROUS, since="4.0.0")
def swapdb(client, argv):
    """SWAPDB index1 index2"""
    node = client.node
    if node.config["cluster-enabled"]:
        raise Error("ERR SWAPDB is not allowed in cluster mode")
    first = parse_db_number(argv[1], "ERR invalid first DB index")
    second = parse_db_number(argv[2], "ERR invalid second DB index")
    if not (0 <= first < len(node.dbs) and 0 <= second < len(node.dbs)):
        raise Error(errors.DB_INDEX)
    if first != second:
        swap_databases(node.dbs[first], node.dbs[second])
        signal_blocked_keys(node, {first, second})
    node.stats.dirty += 1
    return OK


# -- SHUTDOWN, MONITOR --------------------------------------------------------------------

SHUTDOWN_OPTIONS = (b"nosave", b"save", b"now", b"force", b"abort")
LISTENING_OPTIONS = ("port", "bind")  # CONFIG SET of these makes the runtime listen anew (`Node.listen_again`)


@command("shutdown", -1, ADMIN | Flag.NO_MULTI | Flag.ALLOW_BUSY)
def shutdown(client, argv):
    """SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]"""
    options = [arg.lower() for arg in argv[1:]]
    if any(option not in SHUTDOWN_OPTIONS for option in options):
        raise Error(errors.SYNTAX)
    if (b"abort" in options and len(options) > 1) or (b"save" in options and b"nosave" in options):
        raise Error(errors.SYNTAX)
    node = client.node
    if b"abort" in options:
        if not node.shutdown_wait.abort():
            if not node.shutdown_asap:
                raise Error("ERR No shutdown in progress.")
            node.shutdown_asap = False  # a signal's shutdown the cron has not made yet
        node.emit(LogMessage("notice", "Shutdown manually aborted."))
        return OK
    if node.scripts.busy is not None and b"nosave" not in options:
        raise Error(node.scripts.busy.refusal)  # only SHUTDOWN NOSAVE ends a server busy with a script
    node.shutdown_wait.request(client, [option.decode() for option in options])  # kvcore.shutdown
    return NO_REPLY


@command("monitor", 1, ADMIN)
def monitor(client, argv):
    """MONITOR"""
    if client.node.in_exec:  # a transaction's client expects one reply per command (Redis's DENY_BLOCKING)
        raise Error("ERR MONITOR isn't allowed for DENY BLOCKING client")
    if client.monitor:
        return NO_REPLY
    client.monitor = True
    client.node.monitors.append(client)
    return OK


# -- CONFIG ---------------------------------------------------------------------------

CONFIG = command("config", -2, since="2.0.0")(None)
CONFIG_HELP = [
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
]
GLOB_CHARS = frozenset(b"[*?")


@command("get", -3, ADMIN, parent=CONFIG, since="2.0.0")
def config_get(client, argv):
    """CONFIG GET parameter [parameter ...]"""
    config = client.node.config
    found: dict[str, tuple[bytes, bytes]] = {}
    for pattern in argv[2:]:
        if GLOB_CHARS.isdisjoint(pattern):
            name = pattern.decode("utf-8", "replace").lower()
            option = BY_NAME.get(name)
            if option is not None and name not in found:  # an alias and its option are both listed
                found[name] = (pattern, config.format(option.name).encode())
            continue
        for name, value in config.get_matching(pattern):
            found.setdefault(name, (name.encode(), value.encode()))
    return Map(found.values())


def protected_action_allowed(client, setting: str) -> bool:
    """allowProtectedAction: an enable-protected-configs-like setting (yes, no, or local:
    loopback and unix-socket clients only) allows this client."""
    return setting == "yes" or (setting == "local" and client.is_local)


def _set_problem(client, option, pairs: dict[str, str]) -> str:
    if not option.mutable:
        return "can't set immutable config"
    if option.protected and not protected_action_allowed(client, client.node.config["enable-protected-configs"]):
        return "can't set protected config"
    return "duplicate parameter" if option.name in pairs else ""


def _checked_pairs(client, argv: list[bytes]) -> list[tuple[str, str]]:
    """CONFIG SET's name/value pairs under canonical names; Redis's first error wins."""
    pairs: dict[str, str] = {}
    for i in range(2, len(argv), 2):
        name = argv[i].decode("utf-8", "surrogateescape")
        option = BY_NAME.get(name.lower())
        if option is None:
            raise Error(f"ERR Unknown option or number of arguments for CONFIG SET - '{name}'")
        problem = _set_problem(client, option, pairs)
        if problem:
            raise Error(f"ERR CONFIG SET failed (possibly related to argument '{name}') - {problem}")
        if option.name in DENY_LOADING and (client.node.loading_file is not None or client.node.async_loading):
            raise Error(errors.LOADING)
        pairs[option.name] = argv[i + 1].decode("utf-8", "surrogateescape")
    return list(pairs.items())


@command(
    "set", -4, ADMIN, parent=CONFIG, since="2.0.0",
    tips=("request_policy:all_nodes", "response_policy:all_succeeded"),
)
def config_set(client, argv):
    """CONFIG SET parameter value [parameter value ...]"""
    if len(argv) % 2:
        raise Error(errors.SYNTAX)
    node = client.node
    config = node.config
    pairs = _checked_pairs(client, argv)
    before = {name: config.format(BY_NAME[name.lower()].name) for name, _ in pairs if name.lower() in BY_NAME}
    listening = (config["bind"], config["port"])
    try:
        config.set_many(pairs)
    except ConfigError as exc:
        raise Error("ERR " + str(exc)) from None
    if (config["bind"], config["port"]) != listening:  # the runtime listens anew; the reply waits for it
        node.listen_again(client, before, next(n for n, _ in pairs if n.lower() in LISTENING_OPTIONS))
        return NO_REPLY
    return OK


@command("resetstat", 2, ADMIN, parent=CONFIG, since="2.0.0")
def config_resetstat(client, argv):
    """CONFIG RESETSTAT"""
    node = client.node
    node.stats.reset()
    for cmd in all_commands(node.table):
        cmd.calls = cmd.usec = cmd.failed_calls = cmd.rejected_calls = 0
        cmd.slow_usecs = {}
    return OK


def _conf_value(name: str, value: str) -> str:
    if (name in ("save", "bind") or BY_NAME[name].kind == "flags") and value:
        return value  # several words, written unquoted as Redis rewrites them
    if value and not any(ch.isspace() or ch in "\"'\\" for ch in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_file_text(config, force_all: bool = False) -> str:
    """redis.conf lines for every option whose value differs from its default; with ``force_all``
    (DEBUG CONFIG-REWRITE-FORCE-ALL) for every option, but ``replicaof`` only if set, as Redis."""
    lines = []
    for option in OPTIONS:
        if _rewritten(config, option, force_all):
            lines.append(f"{option.name} {_conf_value(option.name, config.format(option.name))}\n")
    return "".join(lines)


def _rewritten(config, option, force_all: bool) -> bool:
    value = config[option.name]
    if force_all:
        return option.name != "replicaof" or bool(value)
    return value != option.parse(option.default)


@command("rewrite", 2, ADMIN, parent=CONFIG, since="2.8.0")
def config_rewrite(client, argv):
    """CONFIG REWRITE"""
    node = client.node
    if not node.info.config_file:
        raise Error("ERR The server is running without a config file")
    node.emit(RewriteConfig(node.info.config_file, config_file_text(node.config) + _user_lines(node)))
    return OK


def _user_lines(node) -> str:
    """The ACL users as ``user`` directives, as CONFIG REWRITE writes them when there is no ACL file."""
    return "" if node.config["aclfile"] else node.acl.file_text().decode("utf-8", "surrogateescape")


@command("help", 2, INFO_FLAGS, parent=CONFIG, since="5.0.0")
def config_help(client, argv):
    """CONFIG HELP"""
    return help_reply(CONFIG_HELP)


# -- SLOWLOG ----------------------------------------------------------------------------

SLOWLOG = command("slowlog", -2, since="2.2.12")(None)
SLOWLOG_FLAGS = Flag.ADMIN | Flag.LOADING | Flag.STALE
SLOWLOG_HELP = [
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
]
SLOWLOG_MAX_ARGC = 32
SLOWLOG_MAX_STRING = 128


def slowlog_args(argv: list[bytes]) -> list[bytes]:
    """At most 32 arguments, each cut at 128 bytes, saying how much was left out."""
    argv = redacted(argv)
    if len(argv) > SLOWLOG_MAX_ARGC:
        kept = argv[: SLOWLOG_MAX_ARGC - 1]
        return [*map(_trim_arg, kept), b"... (%d more arguments)" % (len(argv) - len(kept))]
    return [_trim_arg(arg) for arg in argv]


def _trim_arg(arg: bytes) -> bytes:
    if len(arg) <= SLOWLOG_MAX_STRING:
        return arg
    return arg[:SLOWLOG_MAX_STRING] + b"... (%d more bytes)" % (len(arg) - SLOWLOG_MAX_STRING)


def slowlog_record(node, client, argv: list[bytes], usec: int = 0) -> None:
    """Add a command that took ``usec`` to the front of the slowlog, trimmed to slowlog-max-len."""
    entry = [node.slowlog_next_id, node.now // 1000, usec, slowlog_args(argv), client.addr.encode(), client.name]
    node.slowlog_next_id += 1
    node.slowlog.appendleft(entry)
    while len(node.slowlog) > node.config["slowlog-max-len"]:
        node.slowlog.pop()


@command(
    "get", -2, SLOWLOG_FLAGS, parent=SLOWLOG, since="2.2.12",
    tips=("request_policy:all_nodes", "nondeterministic_output"),
)
def slowlog_get(client, argv):
    """SLOWLOG GET [count]"""
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    count = 10
    if len(argv) == 3:
        count = parse_int(argv[2], "ERR count should be greater than or equal to -1")
        if count < -1:
            raise Error("ERR count should be greater than or equal to -1")
    entries = list(client.node.slowlog)
    return entries if count == -1 else entries[:count]


@command(
    "len", 2, SLOWLOG_FLAGS, parent=SLOWLOG, since="2.2.12",
    tips=("request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"),
)
def slowlog_len(client, argv):
    """SLOWLOG LEN"""
    return len(client.node.slowlog)


@command(
    "reset", 2, SLOWLOG_FLAGS, parent=SLOWLOG, since="2.2.12",
    tips=("request_policy:all_nodes", "response_policy:all_succeeded"),
)
def slowlog_reset(client, argv):
    """SLOWLOG RESET"""
    client.node.slowlog.clear()
    return OK


@command("help", 2, INFO_FLAGS, parent=SLOWLOG, since="6.2.0")
def slowlog_help(client, argv):
    """SLOWLOG HELP"""
    return help_reply(SLOWLOG_HELP)


# -- DEBUG ------------------------------------------------------------------------------

def not_allowed(command_name: str, option: str) -> str:
    """The error of a command its enable-...-command option keeps from this client."""
    return (f'ERR {command_name} command not allowed. If the {option} option is set to "local", you can run it '
            "from a local connection, otherwise you need to set this option in the configuration file, and then "
            "restart the server.")


DEBUG_NOT_ALLOWED = not_allowed("DEBUG", "enable-debug-command")
DEBUG_HELP = [  # as 7.0's, whole: the subcommands a Python server cannot honour answer as Redis built without them
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
    "HELP",
    "    Prints this help.",
]
POPULATE_BUFFER = 128
NOT_POSITIVE = "ERR value is out of range, must be positive"


def debug_allowed(client) -> bool:
    """enable-debug-command: yes, no, or local (loopback and unix-socket clients only)."""
    return protected_action_allowed(client, client.node.config["enable-debug-command"])


def atoi(arg: bytes) -> int:
    """C's atoi: the leading integer of the text, 0 if there is none."""
    text = arg.lstrip()
    sign = -1 if text[:1] == b"-" else 1
    text = text[1:] if text[:1] in (b"-", b"+") else text
    digits = len(text) - len(text.lstrip(b"0123456789"))
    return sign * int(text[:digits]) if digits else 0


def debug_object(client, argv) -> Simple:
    """DEBUG OBJECT key"""
    key = argv[2]
    value = client.db.data.get(key)  # as Redis's dictFind: no access counted, an expired key still shown
    if value is None:
        raise Error(errors.NO_SUCH_KEY)
    config = client.node.config
    if type(value) is bytes:
        encoding = string_encoding(value, client.db.raw_strings.get(key))
    else:
        encoding = value.encoding(config)
    length = len(rdb.encode_value(value, config)[1])  # Redis's serializedlength: the value as an RDB writes it
    idle = client.node.evictor.idle_seconds(client.db, key)
    extra = _quicklist_fields(value, config) if type(value) is ListValue else ""
    return Simple(f"Value at:0x0 refcount:{refcount(client, key, value)} encoding:{encoding} "
                  f"serializedlength:{length} lru:0 lru_seconds_idle:{idle}{extra}")


def _quicklist_fields(value: ListValue, config) -> str:
    """DEBUG OBJECT's quicklist fields, of the list's quicklist nodes (kvcore.types_list)."""
    nodes = value.nodes
    size = sum(node[SIZE] for node in nodes)
    return (f" ql_nodes:{len(nodes)} ql_avg_node:{len(value) / len(nodes):.2f}"
            f" ql_listpack_max:{config['list-max-listpack-size']}"
            f" ql_compressed:{int(config['list-compress-depth'] != 0)} ql_uncompressed_size:{size}")


@command("debug", -2, ADMIN)
def debug(client, argv):
    """DEBUG subcommand [argument ...]"""
    if not debug_allowed(client):
        raise Error(DEBUG_NOT_ALLOWED)
    sub = argv[1].lower()
    if sub == b"reload":
        client.node.snapshots.debug_reload(client, argv)
        return NO_REPLY
    if sub == b"digest-value":
        return [Simple(digest.value_digest(client.db, key)) for key in argv[2:]]
    if sub == b"replicate" and len(argv) >= 3:  # into the stream only, not run here (tests make replicas diverge)
        client.node.replication.inject(argv[2:])
        return OK
    handler = DEBUG_SUBCOMMANDS.get((sub, len(argv)))
    if handler is not None:
        return handler(client, argv)
    raise subcommand_syntax_error(argv)


def debug_populate(client, argv):
    """DEBUG POPULATE count [prefix] [size]: ``prefix:N`` = ``value:N`` (zero-padded or cut to
    ``size``) for N below count, skipping keys that exist. As in Redis, not a change the
    save schedule counts, and not logged."""
    count = _positive(argv[2])
    size = _positive(argv[4]) if len(argv) == 5 else 0
    prefix = argv[3] if len(argv) >= 4 else b"key"
    db = client.db
    stats = client.node.stats
    dirty = stats.dirty
    for n in range(count):
        key = (b"%s:%d" % (prefix, n))[:POPULATE_BUFFER - 1]  # Redis formats into a 128-byte buffer
        if db.get(key) is not None:
            continue
        value = b"value:%d" % n
        db.set(key, value if not size else value[:size].ljust(size, b"\0"))
    stats.dirty = dirty
    return OK


def _positive(arg: bytes) -> int:
    value = parse_int(arg, NOT_POSITIVE)
    if value < 0:
        raise Error(NOT_POSITIVE)
    return value


PROTOCOL_TYPE_ERROR = (
    "ERR Wrong protocol type name. Please use one of the following: "
    "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"
)
PROTOCOL_REPLIES = {  # debug.c's sample of each type; the encoder downgrades them for RESP2
    b"string": b"Hello World",
    b"integer": 12345,
    b"double": Double(3.141),
    b"bignum": BigNumber(1234567999999999999999999999999999999),
    b"null": None,
    b"array": [0, 1, 2],
    b"set": SetReply([0, 1, 2]),
    b"map": Map([(0, Bool(False)), (1, Bool(True)), (2, Bool(False))]),
    b"attrib": Attribute([(b"key-popularity", [b"key:123", 90])], b"Some real reply following the attribute"),
    b"verbatim": Verbatim(b"This is a verbatim\nstring"),
    b"true": Bool(True),
    b"false": Bool(False),
}


def debug_protocol(client, argv):
    """DEBUG PROTOCOL type: a sample reply of a RESP3 type; ``push`` (RESP3 only) sends a push, then a reply."""
    name = argv[2].lower()
    if name == b"push":
        if not client.resp3:
            raise Error("ERR RESP2 is not supported by this command")
        client.push(Push([b"server-cpu-usage", 42]))
        return b"Some real reply following the push reply"
    if name not in PROTOCOL_REPLIES:
        raise Error(PROTOCOL_TYPE_ERROR)
    return PROTOCOL_REPLIES[name]


PACKED_THRESHOLD_ERROR = "ERR argument must be a memory value bigger than 1 and smaller than 4gb"
PACKED_THRESHOLD_MAX = (1 << 32) - (1 << 20)
MEMORY_UNITS = {b"": 1, b"b": 1, b"k": 1000, b"kb": 1024, b"m": 1000**2, b"mb": 1024**2, b"g": 1000**3, b"gb": 1024**3}
MEMTOULL_DIGITS = 127  # memtoull copies the digits into a 128-byte buffer


def debug_quicklist_packed_threshold(client, argv):
    """DEBUG QUICKLIST-PACKED-THRESHOLD size: checked as Redis checks it (memtoull, at most 4gb - 1mb);
    list elements this large from now on get plain quicklist nodes of their own (0: the default, 1 GB)."""
    arg = argv[2]
    digits = len(arg) - len(arg.lstrip(b"0123456789"))
    unit = MEMORY_UNITS.get(arg[digits:].lower())
    size = int(arg[:digits] or b"0") * unit if unit is not None else 0
    if unit is None or digits > MEMTOULL_DIGITS or size > PACKED_THRESHOLD_MAX:
        raise Error(PACKED_THRESHOLD_ERROR)
    client.node.packed_threshold = size or PACKED_THRESHOLD
    return OK


NOT_HASH_TABLE = "ERR The value stored at the specified key is not represented using an hash table"
HASH_TABLE_ENCODINGS = ("hashtable", "skiplist")  # a sorted set's skiplist comes with a dict


def debug_htstats(client, argv):
    """DEBUG HTSTATS dbid: stats of the database's key table and expiry table."""
    dbid = parse_int(argv[2])
    dbs = client.node.dbs
    if not 0 <= dbid < len(dbs):
        raise Error("ERR Out of range database")
    db = dbs[dbid]
    at_fork = client.node.child_info.used_at_fork  # while a child runs, Redis grows no table without need
    keys_then, ttls_then = at_fork[dbid] if at_fork else (None, None)
    text = "[Dictionary HT]\n" + grown_table_stats(db.data, keys_then) + \
        "[Expires HT]\n" + grown_table_stats(db.expires, ttls_then)
    return Verbatim(text.encode())


def debug_htstats_key(client, argv):
    """DEBUG HTSTATS-KEY key: stats of the hash table of a hashtable-encoded set or hash, or a skiplist sorted set.

    A set's table is modelled from here on (kvcore.dict_model.RehashingTable).
    """
    value = client.db.get(argv[2])
    if value is None:
        raise Error(errors.NO_SUCH_KEY)
    if type(value) is bytes or value.encoding(client.node.config) not in HASH_TABLE_ENCODINGS:
        raise Error(NOT_HASH_TABLE)
    if type(value) is SetValue:
        return Verbatim(value.observed_table().stats(value).encode())
    return Verbatim(grown_table_stats(value.scores if value.TYPE == "zset" else value).encode())


def debug_replybuffer(client, argv):
    """DEBUG REPLYBUFFER PEAK-RESET-TIME never|reset|ms / RESIZING 0|1: the reply buffers' cron
    (kvcore.replybuf)."""
    policy = client.node.reply_buffers
    option, value = argv[2].lower(), argv[3]
    if option == b"peak-reset-time":
        if value.lower() == b"never":
            policy.peak_reset_ms = -1
        elif value.lower() == b"reset":
            policy.peak_reset_ms = replybuf.PEAK_RESET_MS
        else:
            policy.peak_reset_ms = parse_int(value)
    elif option == b"resizing":
        policy.resizing = bool(atoi(value))
    else:
        raise subcommand_syntax_error(argv)
    return OK


def debug_config_rewrite_force_all(client, argv):
    """DEBUG CONFIG-REWRITE-FORCE-ALL: CONFIG REWRITE writing every option, defaults included."""
    node = client.node
    if not node.info.config_file:
        raise Error("ERR CONFIG-REWRITE-FORCE-ALL failed: Bad address")  # fopen(NULL) in Redis
    node.emit(RewriteConfig(node.info.config_file, config_file_text(node.config, force_all=True) + _user_lines(node)))
    return OK


def debug_help(client, argv):
    return help_reply(DEBUG_HELP)


def debug_set_active_expire(client, argv):
    """DEBUG SET-ACTIVE-EXPIRE 0|1"""
    client.node.active_expire_enabled = atoi(argv[2]) != 0
    return OK


def debug_set_skip_checksum_validation(client, argv):
    """DEBUG SET-SKIP-CHECKSUM-VALIDATION 0|1: RESTORE skips the CRC-64 check."""
    client.node.skip_checksum_validation = atoi(argv[2]) != 0
    return OK


def debug_loadaof(client, argv):
    """DEBUG LOADAOF: the reply waits for the log to load (kvcore.appendonly)."""
    client.node.aof.debug_loadaof(client)
    return NO_REPLY


def debug_digest(client, argv):
    """DEBUG DIGEST"""
    return Simple(digest.dataset_digest(client.node))


def debug_ok(client, argv):
    """A DEBUG subcommand with nothing to change here: accepted."""
    return OK


def debug_change_repl_id(client, argv):
    """DEBUG CHANGE-REPL-ID: the stream goes on under a new replication id, and no second one."""
    client.node.replication.change_id()
    return OK


def debug_sleep(client, argv):
    """DEBUG SLEEP seconds: the server stops (a `Pause` the runtime carries out before the reply);
    the commands after it, in the same EXEC too, see the time it slept, as in Redis, but not
    those of a script, whose time stands still at its start (Redis 7.0's script time snapshot)."""
    try:
        seconds = float(argv[2].decode("ascii", "replace"))
    except ValueError:
        seconds = 0.0  # strtod: no number is 0
    ms = max(int(seconds * 1000), 0)
    if ms:
        node = client.node
        if not node.scripts.running:
            node.now += ms
        node.emit(Pause(ms))
        latency.command_took(node, client, node.table[b"debug"], argv, ms * 1000)
    return OK


def debug_error(client, argv):
    """DEBUG ERROR message: the message as an error reply, verbatim (no ``ERR``, newlines as
    spaces); written raw as Redis does, so not counted as an error the server replied."""
    text = argv[2].replace(b"\r", b" ").replace(b"\n", b" ")
    return Raw(b"-%s\r\n" % text)


def debug_log(client, argv):
    """DEBUG LOG message: a warning line in the server log."""
    client.node.emit(LogMessage("warning", "DEBUG LOG: " + argv[2].decode("utf-8", "replace")))
    return OK


def debug_pause_cron(client, argv):
    """DEBUG PAUSE-CRON 0|1: the cron does nothing while paused (expiry, timeouts, saves)."""
    client.node.cron_paused = atoi(argv[2]) != 0
    return OK




def debug_set_disable_deny_scripts(client, argv):
    """DEBUG SET-DISABLE-DENY-SCRIPTS 0|1: whether scripts may run commands flagged noscript."""
    client.node.scripts.deny_disabled = bool(parse_int(argv[2]))
    return OK


def debug_segfault(client, argv):
    """DEBUG SEGFAULT: the server crashes by SIGSEGV, its bug report in the log."""
    client.node.emit(Crash(SIGSEGV))
    return NO_REPLY


def debug_panic(client, argv):
    """DEBUG PANIC: the server panics (SIGABRT), as serverPanic."""
    client.node.emit(Crash(SIGABRT, f"DEBUG PANIC called at Unix time {client.node.now // 1000}"))
    return NO_REPLY


def debug_assert(client, argv):
    """DEBUG ASSERT: a failed assertion (SIGABRT, or exit 1 under use-exit-on-panic)."""
    client.node.emit(Crash(SIGABRT, details=("=== ASSERTION FAILED ===", "==> '1 == 2' is not true")))
    return NO_REPLY


def debug_oom(client, argv):
    """DEBUG OOM: an allocation of half the address space fails: Redis's out-of-memory panic."""
    client.node.emit(Crash(SIGABRT, f"Redis aborting for OUT OF MEMORY. Allocating {2**63 - 1} bytes!"))
    return NO_REPLY


def debug_structsize(client, argv):
    """DEBUG STRUCTSIZE: the sizes of Redis's core structs on 64 bits, which MEMORY USAGE's figures assume."""
    return b"bits:64 robj:16 dictentry:24 sdshdr5:1 sdshdr8:3 sdshdr16:5 sdshdr32:9 sdshdr64:17 "


def debug_stringmatch_test(client, argv):
    """DEBUG STRINGMATCH-TEST: Redis fuzzes its glob matcher; kvcore's has its own tests."""
    return Simple("Apparently Redis did not crash: test passed")


CLIENT_BUCKET_MIN_LOG, CLIENT_BUCKET_MAX_LOG = 15, 33  # buckets from up to 32 KB to above 4 GB


def debug_client_eviction(client, argv):
    """DEBUG CLIENT-EVICTION: the clients maxmemory-clients may evict, by the power-of-two bucket of
    their memory (CLIENT LIST's tot-mem), each as measured now (Redis's buckets hold a client as
    last measured, after its previous command: a new client is in none until its first has run)."""
    node = client.node
    if not node.config["maxmemory-clients"]:
        raise Error("ERR maxmemory-clients is disabled.")
    sums = [0] * (CLIENT_BUCKET_MAX_LOG - CLIENT_BUCKET_MIN_LOG + 1)
    counts = [0] * len(sums)
    for other in node.clients.values():
        if other.no_evict or node.is_replication_link(other):  # as maxmemory-clients leaves them out
            continue
        usage = client_memory.usage(other)
        index = min(max(usage.bit_length(), CLIENT_BUCKET_MIN_LOG), CLIENT_BUCKET_MAX_LOG) - CLIENT_BUCKET_MIN_LOG
        sums[index] += usage
        counts[index] += 1
    lines = []
    for index, (usage, count) in enumerate(zip(sums, counts)):
        low = "bucket          0" if index == 0 else f"bucket {1 << (index - 1 + CLIENT_BUCKET_MIN_LOG):10d}"
        high = "+            : " if index == len(sums) - 1 else f" - {(1 << (index + CLIENT_BUCKET_MIN_LOG)) - 1:10d}: "
        lines.append(f"{low}{high}tot-mem: {usage:10d}, clients: {count}\n")
    return Verbatim("".join(lines).encode())


def _encoded_or_error(client, key: bytes, encoding: str, text: str):
    value = client.db.data.get(key)
    if value is None:
        raise Error(errors.NO_SUCH_KEY)
    if type(value) is bytes or value.encoding(client.node.config) != encoding:
        raise Error(f"ERR Not a {encoding} encoded object.")
    return Simple(text)


def debug_listpack(client, argv):
    """DEBUG LISTPACK key: Redis prints the listpack on its stdout; kvserver prints nothing."""
    return _encoded_or_error(client, argv[2], "listpack", "Listpack structure printed on stdout")


def debug_quicklist(client, argv):
    """DEBUG QUICKLIST key [0|1]: as LISTPACK, for a list."""
    return _encoded_or_error(client, argv[2], "quicklist", "Quicklist structure printed on stdout")


DEBUG_SUBCOMMANDS = {  # (subcommand, argument count) -> handler, the count exact as in debug.c
    (b"help", 2): debug_help,
    (b"sleep", 3): debug_sleep,
    (b"set-active-expire", 3): debug_set_active_expire,
    (b"clusterlink", 5): debug_clusterlink,
    (b"drop-cluster-packet-filter", 3): debug_drop_cluster_packet_filter,
    (b"set-skip-checksum-validation", 3): debug_set_skip_checksum_validation,
    (b"object", 3): debug_object,
    (b"loadaof", 2): debug_loadaof,
    (b"digest", 2): debug_digest,
    (b"populate", 3): debug_populate,
    (b"populate", 4): debug_populate,
    (b"populate", 5): debug_populate,
    (b"protocol", 3): debug_protocol,
    (b"quicklist-packed-threshold", 3): debug_quicklist_packed_threshold,
    (b"htstats", 3): debug_htstats,
    (b"htstats-key", 3): debug_htstats_key,
    (b"replybuffer", 4): debug_replybuffer,
    (b"config-rewrite-force-all", 2): debug_config_rewrite_force_all,
    (b"change-repl-id", 2): debug_change_repl_id,
    (b"aof-flush-sleep", 3): debug_ok,  # the log's barrier holds whatever the timing: nothing to widen
    (b"log", 3): debug_log,
    (b"error", 3): debug_error,
    (b"pause-cron", 3): debug_pause_cron,
    (b"set-disable-deny-scripts", 3): debug_set_disable_deny_scripts,
    (b"segfault", 2): debug_segfault,
    (b"panic", 2): debug_panic,
    (b"assert", 2): debug_assert,
    (b"oom", 2): debug_oom,
    (b"leak", 3): debug_ok,  # Redis leaks a copy of the string on purpose; Python would free it
    (b"structsize", 2): debug_structsize,
    (b"stringmatch-test", 2): debug_stringmatch_test,
    (b"listpack", 3): debug_listpack,
    (b"quicklist", 3): debug_quicklist,
    (b"quicklist", 4): debug_quicklist,
    (b"client-eviction", 2): debug_client_eviction,
}


# -- MEMORY ------------------------------------------------------------------------------

MEMORY = command("memory", -2, since="4.0.0")(None)
MEMORY_HELP = [
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
]
SMALL_INSTANCE_BYTES = 5 * 1024 * 1024


@command("stats", 2, parent=MEMORY, since="4.0.0",
         tips=("nondeterministic_output", "request_policy:all_shards", "response_policy:special"))
def memory_stats(client, argv):
    """MEMORY STATS"""
    return Map((name.encode(), _stat_reply(value)) for name, value in info.memory_stats(client.node))


def _stat_reply(value):
    """A MEMORY STATS value: a database's map, a ratio as the C float Redis keeps it in, or an integer."""
    if type(value) is list:
        return Map((name.encode(), figure) for name, figure in value)
    if type(value) is float:
        return Double(struct.unpack("f", struct.pack("f", value))[0])
    return value


@command("usage", -3, Flag.READONLY, (2, 2, 1), parent=MEMORY, since="4.0.0", key_specs=(KeySpec("RO", Index(2)),))
def memory_usage(client, argv):
    """MEMORY USAGE key [SAMPLES count]"""
    cursor = Cursor(argv, 3)
    samples = DEFAULT_SAMPLES
    while cursor.more():
        if cursor.next_upper() != b"SAMPLES" or not cursor.more():
            raise Error(errors.SYNTAX)
        samples = cursor.next_int()
        if samples < 0:
            raise Error(errors.SYNTAX)
    key = argv[2]
    value = client.db.data.get(key)  # as Redis's dictFind: no hit or miss counted, an expired key still measured
    if value is None:
        return None
    return key_usage(client.db, key, value, client.node.config, samples)


@command(
    "doctor", 2, parent=MEMORY, since="4.0.0",
    tips=("nondeterministic_output", "request_policy:all_shards", "response_policy:special"),
)
def memory_doctor(client, argv):
    """MEMORY DOCTOR"""
    if client.node.evictor.used() < SMALL_INSTANCE_BYTES:
        text = (
            "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in "
            "these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam "
            "and I will be back to our programming as soon as I finished rebooting.\n"
        )
    else:
        text = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
    return Verbatim(text.encode())


@command(
    "malloc-stats", 2, parent=MEMORY, since="4.0.0",
    tips=("nondeterministic_output", "request_policy:all_shards", "response_policy:special"),
)
def memory_malloc_stats(client, argv):
    """MEMORY MALLOC-STATS"""
    return Verbatim(b"Stats not supported for the current allocator")


@command("purge", 2, parent=MEMORY, since="4.0.0", tips=("request_policy:all_shards", "response_policy:all_succeeded"))
def memory_purge(client, argv):
    """MEMORY PURGE"""
    return OK


@command("help", 2, INFO_FLAGS, parent=MEMORY, since="4.0.0")
def memory_help(client, argv):
    """MEMORY HELP"""
    return help_reply(MEMORY_HELP)


# -- MODULE -------------------------------------------------------------------------------------
# kvserver loads no modules (its JSON commands are built in): the list is empty, loading fails.

MODULE = command("module", -2, since="4.0.0")(None)
MODULE_HELP = [
    "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
    "HELP",
    "    Prints this help.",
]
MODULE_ADMIN = Flag.ADMIN | Flag.NOSCRIPT | Flag.NO_ASYNC_LOADING


@command("list", 2, Flag.ADMIN | Flag.NOSCRIPT, parent=MODULE, since="4.0.0", tips=("nondeterministic_output_order",))
def module_list(client, argv):
    """MODULE LIST"""
    return []


@command("help", 2, Flag.LOADING | Flag.STALE, parent=MODULE, since="5.0.0")
def module_help(client, argv):
    """MODULE HELP"""
    return help_reply(MODULE_HELP)


def _module_allowed(client) -> None:
    if not protected_action_allowed(client, client.node.config["enable-module-command"]):
        raise Error(not_allowed("MODULE", "enable-module-command"))


@command("load", -3, MODULE_ADMIN, parent=MODULE, since="4.0.0")
def module_load(client, argv):
    """MODULE LOAD path [arg [arg ...]]"""
    _module_allowed(client)
    client.node.emit(LogMessage("warning", f"Module {argv[2].decode('utf-8', 'replace')} failed to load: "
                                           "kvserver loads no modules"))
    raise Error("ERR Error loading the extension. Please check the server logs.")


@command("loadex", -3, MODULE_ADMIN, parent=MODULE, since="7.0.0")
def module_loadex(client, argv):
    """MODULE LOADEX path [CONFIG name value [CONFIG name value ...]] [ARGS args [args ...]]"""
    return module_load(client, argv)


@command("unload", 3, MODULE_ADMIN, parent=MODULE, since="4.0.0")
def module_unload(client, argv):
    """MODULE UNLOAD name"""
    _module_allowed(client)
    raise Error("ERR Error unloading module: no such module with that name")


# -- LATENCY ----------------------------------------------------------------------------

LATENCY = command("latency", -2, since="2.8.13")(None)
LATENCY_HELP = [
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
]
LATENCY_DISABLED = (
    "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use "
    '"CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable it. If we weren\'t in a deep '
    "space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n"
)
LATENCY_CALM = (
    "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. "
    "I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n"
)


@command(
    "doctor", 2, ADMIN, parent=LATENCY, since="2.8.13",
    tips=("nondeterministic_output", "request_policy:all_nodes", "response_policy:special"),
)
def latency_doctor(client, argv):
    """LATENCY DOCTOR"""
    enabled = client.node.config["latency-monitor-threshold"] > 0
    return Verbatim((LATENCY_CALM if enabled else LATENCY_DISABLED).encode())


@command(
    "latest", 2, ADMIN, parent=LATENCY, since="2.8.13",
    tips=("nondeterministic_output", "request_policy:all_nodes", "response_policy:special"),
)
def latency_latest(client, argv):
    """LATENCY LATEST"""
    return client.node.latency.latest()


@command(
    "history", 3, ADMIN, parent=LATENCY, since="2.8.13",
    tips=("nondeterministic_output", "request_policy:all_nodes", "response_policy:special"),
)
def latency_history(client, argv):
    """LATENCY HISTORY event"""
    return client.node.latency.history(argv[2].decode("utf-8", "replace"))


@command(
    "graph", 3, ADMIN, parent=LATENCY, since="2.8.13",
    tips=("nondeterministic_output", "request_policy:all_nodes", "response_policy:special"),
)
def latency_graph(client, argv):
    """LATENCY GRAPH event: the header Redis prints, then one column per sample."""
    name = argv[2].decode("utf-8", "replace")
    samples = client.node.latency.history(name)
    if not samples:
        raise Error(f"ERR No samples available for event '{name}'")
    values = [ms for _, ms in samples]
    high, low = max(values), min(values)
    header = (f"{name} - high {high} ms, low {low} ms (all time high "
              f"{client.node.latency.events[name].max_ms} ms)\n" + "-" * 80 + "\n")
    bars = "".join("#" if ms == high else "_" for ms in values)
    return Verbatim((header + bars + "\n").encode())


@command(
    "reset", -2, ADMIN, parent=LATENCY, since="2.8.13",
    tips=("request_policy:all_nodes", "response_policy:all_succeeded"),
)
def latency_reset(client, argv):
    """LATENCY RESET [event ...]"""
    return client.node.latency.reset([arg.decode("utf-8", "replace") for arg in argv[2:]])


def _histogram(cmd: Command) -> Map:
    """A command's latency distribution: 1 us a call here, but the time DEBUG SLEEP took."""
    return Map([(b"calls", cmd.calls), (b"histogram_usec", Map(latency.histogram_buckets(cmd).items()))])


@command(
    "histogram", -2, ADMIN, parent=LATENCY, since="7.0.0",
    tips=("nondeterministic_output", "request_policy:all_nodes", "response_policy:special"),
)
def latency_histogram(client, argv):
    """LATENCY HISTOGRAM [command ...]"""
    table = client.node.table
    if len(argv) == 2:
        chosen = all_commands(table)
    else:
        found = [cmd for cmd in (find_command(table, name) for name in argv[2:]) if cmd is not None]
        chosen = [each for cmd in found for each in (cmd, *cmd.subcommands.values())]
    return Map([(cmd.fullname.encode(), _histogram(cmd)) for cmd in chosen if cmd.calls])


@command("help", 2, INFO_FLAGS, parent=LATENCY, since="2.8.13")
def latency_help(client, argv):
    """LATENCY HELP"""
    return help_reply(LATENCY_HELP)
