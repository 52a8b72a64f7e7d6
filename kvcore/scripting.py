"""Lua scripts (EVAL): a Lua 5.1 interpreter, the ``redis`` library, and the conversions.

As in redis-server 7.0: a script body is compiled once (as ``@user_script``)
and cached by its SHA1; it runs with ``KEYS`` and ``ARGV`` set, and
``redis.call`` / ``redis.pcall`` run commands through the same dispatcher as
clients (with the caller's database, as a client of its own, never blocking).
Replies turn into Lua values and back by Redis's rules (nil bulk is false, a
status is ``{ok=...}``, an error ``{err=...}``, a Lua number an integer). A
script's writes are propagated as the commands it ran, wrapped in MULTI/EXEC
(effects replication), so the log and replicas never need Lua.

The interpreter is lupa's Lua 5.1, made as Redis makes its own: no ``os``,
``io`` or file loading, globals read-only (``KEYS`` and ``ARGV`` aside), and
``math.random`` drawing from the node's seeded generator, so a script is as
deterministic as the rest of the core. Errors carry Redis's text, including
where in the script they happened (`script: <sha>, on @user_script:<line>.`).
"""

from __future__ import annotations

import hashlib

from kvcore.reply import (
    NULL_ARRAY,
    Attribute,
    BigNumber,
    Bool,
    Double,
    Error,
    Map,
    Push,
    Raw,
    SetReply,
    Simple,
    Verbatim,
)
from kvcore.resp import format_double

UNKNOWN_COMMAND = "ERR Unknown Redis command called from script"
WRONG_ARITY = "ERR Wrong number of args calling Redis command from script"
BAD_ARGUMENT = "ERR Lua redis lib command arguments must be strings or integers"
NO_ARGUMENTS = "ERR Please specify at least one argument for this redis lib call"
NOT_ALLOWED = "ERR This Redis command is not allowed from script"
WRITE_IN_READ_ONLY = "ERR Write commands are not allowed from read-only scripts."
NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."

# The library and sandbox, in Lua. redis.call and redis.pcall are Python functions
# (C functions to Lua, as in Redis, so the script's frame stays for the error's
# line); a command's error raised by redis.call reaches Lua as a userdata. The
# error handler is Redis 7.0's __redis__err__handler.
_PRELUDE = """
local kv_call, kv_pcall, kv_random, kv_seed, kv_log, kv_sha1hex = ...
local getinfo = debug.getinfo
redis = {}
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.call = kv_call
redis.pcall = kv_pcall
redis.error_reply = function(text) return {err = text} end
redis.sha1hex = function(text) return kv_sha1hex(tostring(text)) end
redis.status_reply = function(text) return {ok = text} end
redis.log = function(level, ...) kv_log(level, table.concat({...}, ' ')) end
redis.setresp = function(version) end
redis.set_repl = function(flags) end
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
math.random = function(m, n) return kv_random(m, n) end
math.randomseed = function(seed) kv_seed(seed) end
os, io, loadfile, dofile, require, package, module, newproxy, gcinfo = nil, nil, nil, nil, nil, nil, nil, nil, nil
__kv_handler = function(err)
  local info = getinfo(2, 'nSl')
  if info and info.what == 'C' then info = getinfo(3, 'nSl') end
  local level = 3  -- the sandbox's own frames (in Lua here, C in Redis) are not the script's
  while info and info.source ~= '@user_script' and getinfo(level + 1, 'S') do
    level = level + 1
    info = getinfo(level, 'nSl')
  end
  if type(err) == 'userdata' then err = {err = tostring(err)}  -- a command's error, from redis.call
  elseif type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end
  if info then err.source = info.source; err.line = info.currentline end
  return err
end
__kv_run = function(f) return xpcall(f, __kv_handler) end
__kv_set_args = function(keys, argv) rawset(_G, 'KEYS', keys); rawset(_G, 'ARGV', argv) end
__kv_compile = function(body)
  local f, problem = loadstring(body, '@user_script')
  return f or false, problem or false
end
setmetatable(_G, {
  __newindex = function(t, name, value)
    error("Attempt to modify a readonly table", 2)
  end,
  __index = function(t, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end,
})
"""


class CommandError(Exception):
    """A command's error reply, raised through the script by redis.call."""


def sha1hex(body: bytes) -> str:
    return hashlib.sha1(body).hexdigest()


class Scripts:
    """A node's script cache and its Lua interpreter (made at the first script)."""

    def __init__(self, node) -> None:
        self.node = node
        self.bodies: dict[str, bytes] = {}  # sha1 -> body, as SCRIPT LOAD / EVAL cached it
        self._compiled: dict[str, object] = {}
        self._no_writes: set[str] = set()  # scripts whose shebang says flags=no-writes
        self._lua = None
        self._client = None  # the client scripts run their commands as
        self._read_only = False
        self.running = False

    def flush(self) -> None:
        """SCRIPT FLUSH: forget every script, and start a new interpreter."""
        self.bodies = {}
        self._compiled = {}
        self._no_writes = set()
        self._lua = None

    def load(self, body: bytes) -> str:
        """Compile and cache a body; its SHA1 (an Error when it does not compile)."""
        sha = sha1hex(body)
        if sha not in self._compiled:
            code, flags = _shebang(body)
            function, problem = self._runtime()[b"__kv_compile"](code)
            if function is False:
                raise Error("ERR Error compiling script (new function): " + _text(problem))
            self._compiled[sha] = function
            self.bodies[sha] = body
            if "no-writes" in flags:
                self._no_writes.add(sha)
        return sha

    def run(self, caller, sha: str, keys: list[bytes], args: list[bytes], read_only: bool):
        """Run a cached script for ``caller``; the reply value."""
        node = self.node
        lua = self._runtime()
        function = self._compiled.get(sha)
        if function is None:
            raise Error(NOSCRIPT)
        lua[b"__kv_set_args"](self._lua.table_from(keys), self._lua.table_from(args))
        client = self._script_client()
        client.db = caller.db
        client.resp3 = False
        self._read_only = read_only or sha in self._no_writes
        marker = node.begin_propagation_block()
        self.running = True
        node.in_exec = True  # no background image in the middle of a script
        try:
            ok, result = lua[b"__kv_run"](function)
        finally:
            node.in_exec = False
            self.running = False
            node.end_propagation_block(marker)
            client.out = []
        if not ok:
            raise Error(_error_text(result, sha))
        return _from_lua(result)

    # -- the Lua side's callbacks -------------------------------------------
    def _runtime(self):
        """The interpreter's globals (made, with the library, at the first use)."""
        if self._lua is None:
            from lupa import lua51  # a C extension, loaded with the first script

            self._lua = lua51.LuaRuntime(encoding=None, unpack_returned_tuples=True)
            self._lua.execute(_PRELUDE, self._call, self._pcall, self._random, self._seed, self._log,
                              lambda text: sha1hex(text).encode())
        return self._lua.globals()

    def _script_client(self):
        if self._client is None:
            from kvcore.client import Client
            from kvcore.protocol import Limits

            self._client = Client(-1, 0, self.node, "", "", Limits())
        return self._client

    def _call(self, *args):
        """redis.call: a command's reply as a Lua value; its error raised in the script."""
        reply = self._command(args)
        if type(reply) is Error:
            raise CommandError(reply.text)
        return _to_lua(self._lua, reply)

    def _pcall(self, *args):
        """redis.pcall: a command's reply as a Lua value, an error as {err=...}."""
        return _to_lua(self._lua, self._command(args))

    def _command(self, args: tuple):
        """Run a command a script asked for; its reply (an Error for Redis's refusals)."""
        from kvcore.commands.table import Flag
        from kvcore.dispatch import NO_REPLY, call, lookup

        node = self.node
        if not args:
            return Error(NO_ARGUMENTS)
        argv = []
        for arg in args:
            if type(arg) is bytes:
                argv.append(arg)
            elif type(arg) in (int, float):
                argv.append(_number_text(arg))
            else:
                return Error(BAD_ARGUMENT)
        cmd = lookup(node.table, argv)
        if type(cmd) is Error:
            return Error(WRONG_ARITY if cmd.text.startswith("ERR wrong number") else UNKNOWN_COMMAND)
        if cmd.flags & Flag.NOSCRIPT:
            return Error(NOT_ALLOWED)
        if self._read_only and cmd.flags & Flag.WRITE:
            return Error(WRITE_IN_READ_ONLY)
        client = self._client
        reply = call(node, client, cmd, argv)
        if reply is NO_REPLY:  # a handler that replied itself: read what it queued
            reply = _parse_resp2(b"".join(client.out))
            client.out = []
        return reply

    def _random(self, low=None, high=None):
        """math.random as Lua 5.1 defines it, from the node's generator."""
        rng = self.node.rng
        if low is None:
            return rng.random()
        if high is None:
            return rng.randint(1, int(low)) if low >= 1 else 1
        return rng.randint(int(low), int(high)) if high >= low else int(low)

    def _seed(self, seed) -> None:
        self.node.rng.seed(int(seed) if seed is not None else 0)

    def _log(self, level, text) -> None:
        from kvcore.effects import LogMessage

        names = {0: "debug", 1: "verbose", 2: "notice", 3: "warning"}
        self.node.emit(LogMessage(names.get(int(level), "warning"), _text(text)))


SHEBANG_FLAGS = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")


def _shebang(body: bytes) -> tuple[bytes, list[str]]:
    """A body's ``#!lua [flags=...]`` first line, as Redis 7.0 reads it: the code to compile
    (the line left empty, so line numbers hold) and the flags."""
    if not body.startswith(b"#!"):
        return body, []
    line, newline, rest = body.partition(b"\n")
    words = line.decode("utf-8", "replace").split()
    if words[0] != "#!lua":
        raise Error(f"ERR Unexpected engine in script shebang: {words[0]}")
    flags: list[str] = []
    for word in words[1:]:
        if not word.startswith("flags="):
            raise Error(f"ERR Unknown lua shebang option: {word}")
        for flag in filter(None, word[len("flags="):].split(",")):
            if flag not in SHEBANG_FLAGS:
                raise Error(f"ERR Unexpected flag in script shebang: {flag}")
            flags.append(flag)
    return newline + rest, flags


# -- conversions ---------------------------------------------------------------

def _text(value) -> str:
    return value.decode("utf-8", "replace") if type(value) is bytes else str(value)


def _number_text(number) -> bytes:
    """A Lua number passed to redis.call, as Redis prints it (shortest form, integers plain)."""
    if type(number) is int or (number.is_integer() and abs(number) < 1e17):
        return b"%d" % number
    return repr(number).encode()


def _error_table(lua, text: str):
    return lua.table_from({b"err": text.encode()})


def _error_text(error, sha: str) -> str:
    """The reply for an error a script raised: its text, then where it happened."""
    if type(error) is bytes:
        return "ERR " + _text(error)
    text = _text(error[b"err"]) if error[b"err"] is not None else "ERR unknown error"
    source, line = error[b"source"], error[b"line"]
    if source is not None and line is not None:
        return f"{text} script: {sha}, on {_text(source)}:{int(line)}."
    return text


def _to_lua(lua, reply):
    """A command's reply as Redis hands it to Lua (RESP2 shapes)."""
    kind = type(reply)
    if kind is bytes or kind is int:
        return reply
    if reply is None or reply is NULL_ARRAY:
        return False
    if kind is Simple:
        return lua.table_from({b"ok": reply.text.encode()})
    if kind is Error:
        return _error_table(lua, reply.text)
    if kind is list or kind is SetReply or kind is Push:
        items = reply if kind is list else reply.items
        return lua.table_from([_to_lua(lua, item) for item in items])
    if kind is Map:
        return lua.table_from([_to_lua(lua, part) for pair in reply.pairs for part in pair])
    if kind is Double:
        return format_double(reply.value)
    if kind is Bool:
        return 1 if reply.value else False
    if kind is Verbatim:
        return reply.text
    if kind is BigNumber:
        return b"%d" % reply.value
    if kind is Attribute:
        return _to_lua(lua, reply.reply)
    if kind is Raw:
        return _to_lua(lua, _parse_resp2(reply.data))
    if kind is bool:
        return 1 if reply else False
    return _text(repr(reply)).encode()


def _from_lua(value):
    """A script's result as a reply: Redis's rules for Lua values."""
    kind = type(value)
    if kind is bytes:
        return value
    if kind is bool:
        return 1 if value else None
    if kind is int or kind is float:
        return int(value)
    if value is None or _lua_type(value) != "table":
        return None  # functions, userdata... as Redis: a nil
    err = value[b"err"]
    if type(err) is bytes:
        return Error(_text(err))
    ok = value[b"ok"]
    if type(ok) is bytes:
        return Simple(_text(ok))
    items = []
    index = 1
    while (item := value[index]) is not None:
        items.append(_from_lua(item))
        index += 1
    return items


def _lua_type(value) -> str:
    from lupa import lua51

    return lua51.lua_type(value)


def _parse_resp2(data: bytes):
    """Reply bytes a handler queued itself, back into a value (status and errors kept apart)."""
    value, _ = _parse_one(data, 0)
    return value


def _parse_one(data: bytes, pos: int):
    end = data.index(b"\r\n", pos)
    kind, line = data[pos : pos + 1], data[pos + 1 : end]
    pos = end + 2
    if kind == b"+":
        return Simple(line.decode()), pos
    if kind == b"-":
        return Error(line.decode("utf-8", "replace")), pos
    if kind == b":":
        return int(line), pos
    if kind == b"$":
        size = int(line)
        if size < 0:
            return None, pos
        return data[pos : pos + size], pos + size + 2
    count = int(line)
    if count < 0:
        return NULL_ARRAY, pos
    items = []
    for _ in range(count):
        item, pos = _parse_one(data, pos)
        items.append(item)
    return items, pos
