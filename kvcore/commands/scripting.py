"""Scripting: EVAL, EVALSHA, their read-only forms, and SCRIPT (kvcore.scripting runs them)."""

from __future__ import annotations

from dataclasses import replace

from kvcore import busy, ldb
from kvcore.commands.connection import help_reply, subcommand_syntax_error
from kvcore.commands.key_specs import Index, Keynum, KeySpec
from kvcore.commands.sets import numkeys_positions
from kvcore.commands.table import Flag, Registry
from kvcore.functions import library_name
from kvcore.reply import OK, Error, Map, SetReply, Simple
from kvcore.scripting import NOSCRIPT, keys_and_args, sha_argument

REGISTRY = Registry("scripting")
command = REGISTRY.command

EVAL_FLAGS = Flag.NOSCRIPT | Flag.SKIP_MONITOR | Flag.MAY_REPLICATE | Flag.NO_MANDATORY_KEYS | Flag.STALE
RO_FLAGS = (EVAL_FLAGS & ~Flag.MAY_REPLICATE) | Flag.READONLY  # EVAL_RO, EVALSHA_RO, FCALL_RO
# The keys a script or function declares (numkeys, then the keys), as Redis 7.0's key specs give
# them; EVAL and FCALL carry a note that EVALSHA's do not.
SCRIPT_KEYS = KeySpec("RW ACCESS UPDATE", Index(2), Keynum(0, 1, 1))
SCRIPT_RO_KEYS = KeySpec("RO ACCESS", Index(2), Keynum(0, 1, 1))
_WORST = "We cannot tell how the keys will be used so we assume the worst, "
SCRIPT_KEYS_NOTED = (replace(SCRIPT_KEYS, notes=_WORST + "RW and UPDATE"),)
SCRIPT_RO_KEYS_NOTED = (replace(SCRIPT_RO_KEYS, notes=_WORST + "RO and ACCESS"),)
SCRIPT_HELP = [
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
]


_eval_keys = numkeys_positions(2)  # the keys after numkeys, as EVAL's and FCALL's key spec


def _eval(client, argv, read_only: bool):
    if client.ldb_mode is not None:
        return ldb.start(client, argv)
    keys, args = keys_and_args(argv)
    scripts = client.node.scripts
    return scripts.run(client, scripts.load(argv[1]), keys, args, read_only, argv)


def _evalsha(client, argv, read_only: bool):
    if len(argv[1]) != 40:  # as Redis: no script can match, whatever the other arguments
        raise Error(NOSCRIPT)
    if client.ldb_mode is not None:
        raise Error("ERR Please use EVAL instead of EVALSHA for debugging")
    keys, args = keys_and_args(argv)
    return client.node.scripts.run(client, sha_argument(argv[1]), keys, args, read_only, argv)


@command(
    "eval", -3, EVAL_FLAGS, keys_fn=_eval_keys, since="2.6.0",
    key_specs=SCRIPT_KEYS_NOTED,
)
def eval_(client, argv):
    """EVAL script numkeys [key [key ...]] [arg [arg ...]]"""
    return _eval(client, argv, read_only=False)


@command(
    "eval_ro", -3, RO_FLAGS, keys_fn=_eval_keys, since="7.0.0",
    key_specs=SCRIPT_RO_KEYS_NOTED,
)
def eval_ro(client, argv):
    """EVAL_RO script numkeys [key [key ...]] [arg [arg ...]]"""
    return _eval(client, argv, read_only=True)


@command(
    "evalsha", -3, EVAL_FLAGS, keys_fn=_eval_keys, since="2.6.0",
    key_specs=(SCRIPT_KEYS,),
)
def evalsha(client, argv):
    """EVALSHA sha1 numkeys [key [key ...]] [arg [arg ...]]"""
    return _evalsha(client, argv, read_only=False)


@command(
    "evalsha_ro", -3, RO_FLAGS, keys_fn=_eval_keys, since="7.0.0",
    key_specs=(SCRIPT_RO_KEYS,),
)
def evalsha_ro(client, argv):
    """EVALSHA_RO sha1 numkeys [key [key ...]] [arg [arg ...]]"""
    return _evalsha(client, argv, read_only=True)


SCRIPT = REGISTRY.container("script", -2, summary="A container for Lua scripts management commands")


@command(
    "load", 3, Flag.NOSCRIPT | Flag.STALE, parent=SCRIPT, since="2.6.0",
    tips=("request_policy:all_nodes", "response_policy:all_succeeded"),
)
def script_load(client, argv):
    """SCRIPT LOAD script"""
    return client.node.scripts.load(argv[2]).encode()


@command(
    "exists", -3, Flag.NOSCRIPT, parent=SCRIPT, since="2.6.0",
    tips=("request_policy:all_shards", "response_policy:agg_logical_and"),
)
def script_exists(client, argv):
    """SCRIPT EXISTS sha1 [sha1 ...]"""
    bodies = client.node.scripts.bodies
    return [1 if sha_argument(sha) in bodies else 0 for sha in argv[2:]]


@command(
    "flush", -2, Flag.NOSCRIPT, parent=SCRIPT, since="2.6.0",
    tips=("request_policy:all_nodes", "response_policy:all_succeeded"),
)
def script_flush(client, argv):
    """SCRIPT FLUSH [ASYNC | SYNC]"""
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"async", b"sync")):
        raise Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    client.node.scripts.flush()
    return OK


@command(
    "kill", 2, Flag.NOSCRIPT | Flag.ALLOW_BUSY, parent=SCRIPT, since="2.6.0",
    tips=("request_policy:all_shards", "response_policy:one_succeeded"),
)
def script_kill(client, argv):
    """SCRIPT KILL"""
    return busy.kill(client.node, is_eval=True) or OK


@command("debug", 3, Flag.NOSCRIPT, parent=SCRIPT, since="3.2.0")
def script_debug(client, argv):
    """SCRIPT DEBUG YES | SYNC | NO"""
    if client.multi is not None:
        raise Error("ERR SCRIPT DEBUG must be called outside MULTI")
    mode = argv[2].lower()
    if mode not in (b"yes", b"sync", b"no"):
        raise Error("ERR Use SCRIPT DEBUG YES/SYNC/NO")
    client.ldb_mode = None if mode == b"no" else mode.decode()
    return OK


@command("help", 2, Flag.LOADING | Flag.STALE, parent=SCRIPT, since="5.0.0")
def script_help(client, argv):
    """SCRIPT HELP"""
    return help_reply(SCRIPT_HELP)



# -- functions (kvcore.functions) -------------------------------------------------------
FUNCTION_HELP = [
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
]
BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"


def _fcall(client, argv, read_only: bool):
    return client.node.functions.call(client, argv, read_only)


@command(
    "fcall", -3, EVAL_FLAGS, keys_fn=_eval_keys, since="7.0.0",
    key_specs=SCRIPT_KEYS_NOTED,
)
def fcall(client, argv):
    """FCALL function numkeys [key [key ...]] [arg [arg ...]]"""
    return _fcall(client, argv, read_only=False)


@command(
    "fcall_ro", -3, RO_FLAGS, keys_fn=_eval_keys, since="7.0.0",
    key_specs=SCRIPT_RO_KEYS_NOTED,
)
def fcall_ro(client, argv):
    """FCALL_RO function numkeys [key [key ...]] [arg [arg ...]]"""
    return _fcall(client, argv, read_only=True)


FUNCTION = REGISTRY.container("function", -2, summary="A container for function commands")
FUNCTION_WRITE = Flag.NOSCRIPT | Flag.WRITE | Flag.DENYOOM


def _changed(client) -> None:
    client.node.stats.dirty += 1  # logged and replicated as it came


@command(
    "load", -3, FUNCTION_WRITE, parent=FUNCTION, since="7.0.0",
    tips=("request_policy:all_shards", "response_policy:all_succeeded"),
)
def function_load(client, argv):
    """FUNCTION LOAD [REPLACE] function-code"""
    replace = False
    for option in argv[2:-1]:
        if option.lower() != b"replace":
            raise Error(f"ERR Unknown option given: {option.decode('utf-8', 'replace')}")
        replace = True
    name = client.node.functions.load(argv[-1], replace)
    _changed(client)
    return name.encode()


@command(
    "delete", 3, Flag.NOSCRIPT | Flag.WRITE, parent=FUNCTION, since="7.0.0",
    tips=("request_policy:all_shards", "response_policy:all_succeeded"),
)
def function_delete(client, argv):
    """FUNCTION DELETE library-name"""
    libraries = client.node.functions.libraries
    if libraries.pop(argv[2].decode("utf-8", "replace"), None) is None:
        raise Error("ERR Library not found")
    _changed(client)
    return OK


@command(
    "flush", -2, Flag.NOSCRIPT | Flag.WRITE, parent=FUNCTION, since="7.0.0",
    tips=("request_policy:all_shards", "response_policy:all_succeeded"),
)
def function_flush(client, argv):
    """FUNCTION FLUSH [ASYNC | SYNC]"""
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    if len(argv) == 3 and argv[2].lower() not in (b"async", b"sync"):
        raise Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    client.node.functions.flush()
    _changed(client)
    return OK


@command("list", -2, Flag.NOSCRIPT, parent=FUNCTION, since="7.0.0", tips=("nondeterministic_output_order",))
def function_list(client, argv):
    """FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]"""
    from kvcore.glob import glob_match

    pattern, with_code, i = None, False, 2
    while i < len(argv):  # an option given twice is an unknown argument, as Redis 7.0's
        option = argv[i].lower()
        if option == b"withcode" and not with_code:
            with_code = True
        elif option == b"libraryname" and pattern is None:
            if i + 1 >= len(argv):
                raise Error("ERR library name argument was not given")
            pattern = argv[i + 1]
            i += 1
        else:
            raise Error(f"ERR Unknown argument {argv[i].decode('utf-8', 'replace')}")
        i += 1
    out = []
    for library in client.node.functions.libraries.values():
        if pattern is not None and not glob_match(pattern, library.name.encode()):
            continue
        functions = [
            Map([(b"name", name.encode()), (b"description", description),
                 (b"flags", SetReply([Simple(flag) for flag in flags]))])
            for name, (_, flags, description) in library.functions.items()
        ]
        fields = [(b"library_name", library.name.encode()), (b"engine", b"LUA"), (b"functions", functions)]
        if with_code:
            fields.append((b"library_code", library.code))
        out.append(Map(fields))
    return out


@command(
    "stats", 2, Flag.NOSCRIPT | Flag.ALLOW_BUSY, parent=FUNCTION, since="7.0.0",
    tips=("nondeterministic_output", "request_policy:all_shards", "response_policy:special"),
)
def function_stats(client, argv):
    """FUNCTION STATS"""
    node = client.node
    running = node.scripts.busy
    if running is not None and running.eval_mode:
        raise Error(running.refusal)  # an EVAL is no function: Redis answers -BUSY
    if running is not None:
        running = Map([(b"name", running.name.encode()), (b"command", running.request),
                       (b"duration_ms", node.now - running.started_ms)])
    functions = node.functions
    count = sum(len(library.functions) for library in functions.libraries.values())
    counts = Map([(b"libraries_count", len(functions.libraries)), (b"functions_count", count)])
    return Map([(b"running_script", running), (b"engines", Map([(b"LUA", counts)]))])


@command(
    "kill", 2, Flag.NOSCRIPT | Flag.ALLOW_BUSY, parent=FUNCTION, since="7.0.0",
    tips=("request_policy:all_shards", "response_policy:one_succeeded"),
)
def function_kill(client, argv):
    """FUNCTION KILL"""
    return busy.kill(client.node, is_eval=False) or OK


@command("dump", 2, Flag.NOSCRIPT, parent=FUNCTION, since="7.0.0")
def function_dump(client, argv):
    """FUNCTION DUMP"""
    from kvcore import rdb

    node = client.node
    return rdb.sealed_payload(rdb.function_records(node, node.config["rdbcompression"]))


@command(
    "restore", -3, FUNCTION_WRITE, parent=FUNCTION, since="7.0.0",
    tips=("request_policy:all_shards", "response_policy:all_succeeded"),
)
def function_restore(client, argv):
    """FUNCTION RESTORE serialized-value [FLUSH | APPEND | REPLACE]"""
    from kvcore import rdb

    if len(argv) > 4:
        raise subcommand_syntax_error(argv)
    policy = argv[3].lower() if len(argv) > 3 else b"append"
    if policy not in (b"flush", b"append", b"replace"):
        raise Error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    payload = argv[2]
    if not rdb.payload_ok(payload):
        raise Error(BAD_PAYLOAD)
    cursor, codes = rdb.Cursor(payload[:-10], 0), []
    try:
        while cursor.pos < len(payload) - 10:
            if cursor.byte() != rdb.OP_FUNCTION2:
                raise Error("ERR given type is not a function")
            codes.append(cursor.string())
    except (IndexError, rdb.RdbError):
        raise Error(BAD_PAYLOAD) from None
    functions = client.node.functions
    saved = dict(functions.libraries)
    if policy == b"flush":
        functions.libraries = {}
    try:
        for code in codes:
            if policy == b"append":
                if library_name(code) in functions.libraries:
                    raise Error(f"ERR Library {library_name(code)} already exists")
            functions.load(code, replace=policy != b"append")
    except Error:
        functions.libraries = saved  # all or nothing
        raise
    _changed(client)
    return OK


@command("help", 2, Flag.LOADING | Flag.STALE, parent=FUNCTION, since="7.0.0")
def function_help(client, argv):
    """FUNCTION HELP"""
    return help_reply(FUNCTION_HELP)
