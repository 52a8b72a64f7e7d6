"""Scripting: EVAL, EVALSHA, their read-only forms, and SCRIPT (kvcore.scripting runs them)."""

from __future__ import annotations

from kvcore.commands.args import parse_int
from kvcore.commands.table import Flag, Registry
from kvcore.reply import OK, Error, Simple

REGISTRY = Registry("scripting")
command = REGISTRY.command

EVAL_FLAGS = Flag.NOSCRIPT | Flag.SKIP_MONITOR | Flag.MAY_REPLICATE | Flag.NO_MANDATORY_KEYS | Flag.STALE
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
    "    Print this help.",
]


def _eval_keys(argv: list[bytes]) -> list[int]:
    try:
        numkeys = parse_int(argv[2])
    except (Error, IndexError):
        return []
    return list(range(3, min(3 + max(numkeys, 0), len(argv))))


def _keys_and_args(argv: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    numkeys = parse_int(argv[2])
    if numkeys > len(argv) - 3:
        raise Error("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise Error("ERR Number of keys can't be negative")
    return argv[3 : 3 + numkeys], argv[3 + numkeys :]


def _eval(client, argv, read_only: bool):
    keys, args = _keys_and_args(argv)
    scripts = client.node.scripts
    return scripts.run(client, scripts.load(argv[1]), keys, args, read_only)


def _evalsha(client, argv, read_only: bool):
    keys, args = _keys_and_args(argv)
    sha = argv[1].decode("latin-1").lower()
    if len(sha) != 40:
        raise Error("NOSCRIPT No matching script. Please use EVAL.")
    return client.node.scripts.run(client, sha, keys, args, read_only)


@command("eval", -3, EVAL_FLAGS, keys_fn=_eval_keys, since="2.6.0")
def eval_(client, argv):
    """EVAL script numkeys [key [key ...]] [arg [arg ...]]"""
    return _eval(client, argv, read_only=False)


@command("eval_ro", -3, EVAL_FLAGS | Flag.READONLY, keys_fn=_eval_keys, since="7.0.0")
def eval_ro(client, argv):
    """EVAL_RO script numkeys [key [key ...]] [arg [arg ...]]"""
    return _eval(client, argv, read_only=True)


@command("evalsha", -3, EVAL_FLAGS, keys_fn=_eval_keys, since="2.6.0")
def evalsha(client, argv):
    """EVALSHA sha1 numkeys [key [key ...]] [arg [arg ...]]"""
    return _evalsha(client, argv, read_only=False)


@command("evalsha_ro", -3, EVAL_FLAGS | Flag.READONLY, keys_fn=_eval_keys, since="7.0.0")
def evalsha_ro(client, argv):
    """EVALSHA_RO sha1 numkeys [key [key ...]] [arg [arg ...]]"""
    return _evalsha(client, argv, read_only=True)


SCRIPT = REGISTRY.container("script", -2, summary="A container for Lua scripts management commands")


@command("load", 3, Flag.NOSCRIPT | Flag.STALE, parent=SCRIPT, since="2.6.0")
def script_load(client, argv):
    """SCRIPT LOAD script"""
    return client.node.scripts.load(argv[2]).encode()


@command("exists", -3, Flag.NOSCRIPT | Flag.STALE, parent=SCRIPT, since="2.6.0")
def script_exists(client, argv):
    """SCRIPT EXISTS sha1 [sha1 ...]"""
    bodies = client.node.scripts.bodies
    return [1 if sha.decode("latin-1").lower() in bodies else 0 for sha in argv[2:]]


@command("flush", -2, Flag.NOSCRIPT, parent=SCRIPT, since="2.6.0")
def script_flush(client, argv):
    """SCRIPT FLUSH [ASYNC | SYNC]"""
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"async", b"sync")):
        raise Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    client.node.scripts.flush()
    return OK


@command("kill", 2, Flag.NOSCRIPT | Flag.ALLOW_BUSY, parent=SCRIPT, since="2.6.0")
def script_kill(client, argv):
    """SCRIPT KILL"""
    raise Error("NOTBUSY No scripts in execution right now.")


@command("debug", 3, Flag.NOSCRIPT, parent=SCRIPT, since="3.2.0")
def script_debug(client, argv):
    """SCRIPT DEBUG YES | SYNC | NO"""
    mode = argv[2].lower()
    if mode == b"no":
        return OK
    if mode in (b"yes", b"sync"):
        raise Error("ERR The Lua debugger is not available in this server")
    raise Error("ERR Use SCRIPT DEBUG YES/SYNC/NO")


@command("help", 2, Flag.LOADING | Flag.STALE, parent=SCRIPT, since="5.0.0")
def script_help(client, argv):
    """SCRIPT HELP"""
    return [Simple(line) for line in SCRIPT_HELP]

