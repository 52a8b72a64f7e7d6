"""Lua scripts (EVAL): a Lua 5.1 interpreter, the ``redis`` library, and the conversions.

As in redis-server 7.0: a script body is compiled once (as ``@user_script``)
and cached by its SHA1; it runs with ``KEYS`` and ``ARGV`` set, and
``redis.call`` / ``redis.pcall`` run commands through the same dispatcher as
clients (as the calling client, its database and output put back afterwards,
never blocking).
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
import math
import re

from kvcore import busy, errors
from kvcore.acl import script_noperm
from kvcore.cluster import key_slot
from kvcore.effects import LogMessage
from kvcore.lua_libraries import LuaLibraries
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
SCRIPT_STOPPED = ("ERR Script killed: it ran past busy-reply-threshold (lua-time-limit) without writing, "
                  "and this runtime cannot serve SCRIPT KILL while a script runs")
# Between two calls of the instruction hook (`Lua._budget`): Redis's is 100,000, but a redis.call
# costs many more instructions' worth here, and a script that loops on them must be heard of as often.
HOOK_INSTRUCTIONS = 10_000
INSTRUCTIONS_PER_MS = 200_000  # time, as instructions stand for it without a busy runtime (kvcore.busy)


def instructions_ms(hook_calls: int) -> int:
    """The time ``hook_calls`` calls of the instruction hook stand for, without a runtime's clock."""
    return hook_calls * HOOK_INSTRUCTIONS // INSTRUCTIONS_PER_MS


# Where Node.propagate sends a write (Redis's PROPAGATE_AOF and PROPAGATE_REPL): redis.set_repl's flags.
PROPAGATE_LOG, PROPAGATE_REPLICAS = 1, 2
PROPAGATE_ALL = PROPAGATE_LOG | PROPAGATE_REPLICAS

# The library and sandbox, in Lua. redis.call and redis.pcall hand their
# arguments to the Python side as one table (a script may pass thousands: a
# Python function called directly takes fewer than 8,000). A command's error is
# raised as Redis raises it, an {err=...} table, which Redis's pcall catches as
# its text. The error handler is
# Redis 7.0's __redis__err__handler, looking past the library's own frames.
_PRELUDE = """
local kv_call, kv_pcall, kv_random, kv_seed, kv_log, kv_sha1hex, kv_budget, kv_acl_check, kv_setresp, kv_set_repl = ...
local getinfo, sethook = debug.getinfo, debug.sethook
local setfenv, getfenv = setfenv, getfenv
local script_env  -- what scripts see as their globals (set up at the end)
redis = {}
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REDIS_VERSION, redis.REDIS_VERSION_NUM = '%s', %d
redis.call = function(...)
  local ok, reply = kv_call({...}, select('#', ...))
  if not ok then error(reply, 0) end
  return reply
end
redis.pcall = function(...) return kv_pcall({...}, select('#', ...)) end
redis.acl_check_cmd = function(...)
  local ok, allowed = kv_acl_check({...}, select('#', ...))
  if not ok then error(allowed, 0) end
  return allowed
end
local function one_string(...)
  local text = ...
  if select('#', ...) ~= 1 or type(text) ~= 'string' then return nil end
  return text
end
redis.error_reply = function(...)  -- as Redis: a leading '-' optional, and a text without a code gets ERR
  local text = one_string(...)
  if not text then return {err = 'ERR wrong number or type of arguments'} end
  if string.sub(text, 1, 1) ~= '-' then text = '-' .. text end
  local space = string.find(text, ' ', 1, true)
  local code, message = 'ERR', string.sub(text, 2)
  if space then code, message = string.sub(text, 2, space - 1), string.sub(text, space + 1) end
  return {err = code .. ' ' .. (string.gsub(string.gsub(message, '^[\\r\\n]+', ''), '[\\r\\n]+$', ''))}
end
local function c_string(value)  -- as Redis's lua_tolstring: strings and numbers have one, the rest none
  local kind = type(value)
  if kind == 'string' or kind == 'number' then return tostring(value) end
  return nil
end
redis.sha1hex = function(...)
  if select('#', ...) ~= 1 then error({err = 'ERR wrong number of arguments'}, 0) end
  return kv_sha1hex(c_string(...) or '')
end
redis.status_reply = function(...)
  local text = one_string(...)
  if not text then return {err = 'ERR wrong number or type of arguments'} end
  return {ok = text}
end
redis.log = function(...)
  local count, level = select('#', ...), tonumber((...))
  if count < 2 then error({err = 'ERR redis.log() requires two arguments or more.'}, 0) end
  if not level then error({err = 'ERR First argument must be a number (log level).'}, 0) end
  level = level < 0 and math.ceil(level) or math.floor(level)  -- C's (int) cast
  if level < redis.LOG_DEBUG or level > redis.LOG_WARNING then error({err = 'ERR Invalid debug level.'}, 0) end
  local parts = {}
  for index = 2, count do  -- what has no string form is left out (a space still comes before the next)
    local text = c_string((select(index, ...)))
    if text then parts[#parts + 1] = (index > 2 and ' ' or '') .. text end
  end
  kv_log(level, table.concat(parts))
end
redis.setresp = function(...)
  local problem = kv_setresp(select('#', ...), (...))
  if problem then error(problem, 0) end
end
redis.set_repl = function(...)
  local problem = kv_set_repl(select('#', ...), (...))
  if problem then error(problem, 0) end
end
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
local lua_pcall = pcall
pcall = function(...)  -- Redis's: an {err=...} error is caught as its text
  local results = {lua_pcall(...)}
  local count = table.maxn(results)
  if not results[1] and type(results[2]) == 'table' and type(results[2].err) == 'string' then
    results[2] = results[2].err
  end
  return unpack(results, 1, count > 1 and count or 2)
end
math.random = function(m, n) return kv_random(m, n) end
math.randomseed = function(seed) kv_seed(seed) end
-- Not in Redis's Lua: the OS, files, modules, the debug library, environments, and lupa's door
-- to the Python interpreter (python.eval ran any Python in the server). lupa itself reads
-- debug.traceback for its error messages: that alone stays.
os, io, loadfile, dofile, require, package, module, newproxy, print, _G.setfenv, _G.getfenv, python =
  nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil
debug = {traceback = debug.traceback}
local lua_loadstring = loadstring
loadstring = function(code, name)  -- no precompiled chunks, as Redis's Lua refuses them
  if type(code) == 'string' and string.sub(code, 1, 1) == '\\27' then return nil, 'binary chunks are not allowed' end
  local f, problem = lua_loadstring(code, name)
  if f then setfenv(f, script_env) end
  return f, problem
end
__kv_handler = function(err)
  local info = getinfo(2, 'nSl')
  if info and info.what == 'C' then info = getinfo(3, 'nSl') end
  local level = 3  -- the sandbox's own frames (in Lua here, C in Redis) are not the script's
  while info and string.sub(info.source, 1, 6) ~= '@user_' do
    level = level + 1
    info = getinfo(level, 'nSl')
  end
  if type(err) == 'userdata' then err = {err = tostring(err)}  -- raised by a library function in Python
  elseif type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end
  if info then err.source = info.source; err.line = info.currentline end
  return err
end
local killed_text = '%s'
local function killed()  -- at each line of the script's own code once it was killed
  local info = getinfo(2, 'S')
  if info and string.sub(info.source, 1, 6) == '@user_' then error(killed_text, 0) end
end
local function budget()  -- may the script go on?
  if kv_budget() then
    sethook(killed, 'l')  -- killed: again at every line, so that no pcall can swallow it
    error(killed_text, 0)
  end
end
local hook_instructions = %d
__kv_run = function(f, ...)
  local n, args = select('#', ...), {...}
  sethook(budget, '', hook_instructions)
  local ok, result = xpcall(function() return f(unpack(args, 1, n)) end, __kv_handler)
  sethook()
  if not ok and type(result) == 'table' and not result.line then  -- for _error_text's guess
    local info = getinfo(f, 'S')
    result.first, result.last = info.linedefined, info.lastlinedefined
  end
  return ok, result
end
__kv_run_limited = function(f, over, text)  -- f(), stopped with the error text once over() says so
  local function stopped()
    local info = getinfo(2, 'S')
    if info and string.sub(info.source, 1, 6) == '@user_' then error(text, 0) end
  end
  sethook(function() if over() then sethook(stopped, 'l'); error(text, 0) end end, '', hook_instructions)
  local ok, result = xpcall(f, __kv_handler)
  sethook()
  return ok, result
end
__kv_compile = function(body, chunk)
  local f, problem = loadstring(body, chunk)
  return f or false, problem or false
end
-- Read-only tables, as Redis's patched Lua makes them: the libraries become proxies
-- that refuse writes, and setmetatable/rawset refuse them and the globals.
local lua_setmetatable, lua_rawset = setmetatable, rawset
local protected = lua_setmetatable({}, {__mode = 'k'})
local function refuse() error("Attempt to modify a readonly table", 2) end
local function readonly(library)
  local meta = {__index = library, __newindex = refuse}
  meta.__metatable = lua_setmetatable({}, {__index = meta, __newindex = refuse})
  local proxy = lua_setmetatable({}, meta)
  protected[proxy], protected[meta.__metatable] = true, true
  return proxy
end
for _, name in ipairs({'redis', 'cjson', 'cmsgpack', 'bit', 'string', 'math', 'table', 'coroutine'}) do
  lua_rawset(_G, name, readonly(_G[name]))
end
-- Strings' metatable: methods through the read-only string library, and what getmetatable('')
-- shows a read-only copy (a script could otherwise break string methods for every later script).
do
  local string_meta = getmetatable('')
  string_meta.__index = rawget(_G, 'string')
  string_meta.__metatable = readonly({__index = string_meta.__index})
end
local globals = _G  -- the real table (scripts' _G becomes a proxy of it below)
__kv_set_args = function(keys, argv) lua_rawset(globals, 'KEYS', keys); lua_rawset(globals, 'ARGV', argv) end
__kv_define = function(name, value) lua_rawset(globals, name, value) end  -- for kvcore's own later glue
setmetatable = function(t, meta)
  if protected[t] then refuse() end
  return lua_setmetatable(t, meta)
end
rawset = function(t, key, value)
  if protected[t] then refuse() end
  return lua_rawset(t, key, value)
end
local globals_meta = {
  __newindex = refuse,
  __index = function(t, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end,
}
globals_meta.__metatable = lua_setmetatable({}, {__index = globals_meta, __newindex = refuse})
protected[_G], protected[globals_meta.__metatable] = true, true
lua_setmetatable(_G, globals_meta)
-- Scripts run in an empty proxy of the globals: every assignment to a global, new or not,
-- is refused, as Redis 7.0's read-only globals table refuses it; their _G is the proxy.
local env_meta = {
  __index = function(t, name)  -- the globals, but for lupa's own `debug` (Redis's Lua has none)
    local value
    if name ~= 'debug' then value = rawget(globals, name) end
    if value == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
    end
    return value
  end,
  __newindex = refuse,
}
env_meta.__metatable = lua_setmetatable({}, {__index = env_meta, __newindex = refuse})
script_env = lua_setmetatable({}, env_meta)
protected[script_env], protected[env_meta.__metatable] = true, true
lua_rawset(_G, '_G', script_env)
return getfenv, setfenv  -- for kvcore's own later glue (kvcore.functions), out of the scripts' reach
"""


def keys_and_args(argv: list[bytes], numkeys_error: str = errors.NOT_INTEGER) -> tuple[list[bytes], list[bytes]]:
    """EVAL's and FCALL's KEYS and ARGV after their numkeys (argv[2]), with Redis's errors."""
    from kvcore.commands.args import parse_int

    numkeys = parse_int(argv[2], numkeys_error)
    if numkeys > len(argv) - 3:
        raise Error("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise Error("ERR Number of keys can't be negative")
    return argv[3 : 3 + numkeys], argv[3 + numkeys :]


def refuse_writing_script(node, flags, client) -> None:
    """A script or function declared with flags that may write is refused before it runs on a
    read-only replica, with too few good replicas, and (unless allow-oom) while memory is over
    maxmemory, as Redis 7.0 refuses it; one declared no-cluster on a cluster node, first."""
    if "no-cluster" in flags and node.cluster is not None:
        raise Error("ERR Can not run script on cluster, 'no-cluster' flag is set.")
    if "no-writes" not in flags:
        refusal = node.replication_refusal(client)
        if refusal is not None:
            raise refusal
    limit = node.config.values["maxmemory"]
    if "no-writes" in flags or "allow-oom" in flags or not limit:
        return
    if node.evictor.used() > limit:
        raise Error(errors.OOM)


class CommandError(Exception):
    """A command's error reply, raised through the script by redis.call."""


def sha1hex(body: bytes) -> str:
    return hashlib.sha1(body).hexdigest()


def sha_argument(arg: bytes) -> str:
    """An EVALSHA / SCRIPT EXISTS argument as the cache keys scripts (lowercase hex): any
    other length simply misses."""
    return arg.decode("latin-1").lower()


class Lua:
    """One Lua interpreter with Redis's library, and the running of its functions.

    ``chunk`` names the code it compiles in errors (``user_script`` for EVAL,
    ``user_function`` for FUNCTION libraries).
    """

    def __init__(self, node, chunk: str) -> None:
        from lupa import lua51  # a C extension, loaded with the first script

        self.node = node
        self.chunk = "@" + chunk
        self.runtime = lua51.LuaRuntime(encoding=None, unpack_returned_tuples=True, register_eval=False,
                                        register_builtins=False)
        self.globals = self.runtime.globals()
        self.client = None  # the caller, while its script runs
        self.read_only = False
        self.resp3 = False  # redis.setresp(3): commands' replies reach the script in RESP3 shapes
        self.trace: list[str] | None = None  # a debugger session's log of the commands the script runs (kvcore.ldb)
        self.steps = 0  # hook calls in the running script (`_budget`)
        self.started_ms = 0  # the node's clock as it started
        self.name = ""  # what FUNCTION STATS and the slow-script log call it, and its request
        self.request: list[bytes] = []
        self.dirty_at_start = 0  # stats.dirty as it started: whether it has written
        self.oom_at_start = False  # memory was over maxmemory as it started (`_command`)
        self.one_slot = False  # a cluster node's script that may use keys of one slot only (kvcore.cluster)
        self.slot: int | None = None  # that slot, once known
        self.prng = type(node.rng)(node.rng.getrandbits(64))  # math.random's own generator, seeded by the node
        LuaLibraries(self.runtime)  # cjson and bit, before the sandbox closes the globals
        from kvcore.node import VERSION  # kvcore.node imports the command table, which imports this

        major, minor, patch = map(int, VERSION.split("."))
        self.environment_functions = self.runtime.execute(  # getfenv, setfenv
            _PRELUDE % (VERSION, major << 16 | minor << 8 | patch, busy.KILLED, HOOK_INSTRUCTIONS),
            self._call, self._pcall, self._random, self._seed, self._log,
            lambda text: sha1hex(text).encode(), self._budget, self._acl_check, self._setresp, self._set_repl)

    def compile(self, code: bytes):
        """The function of a chunk of code, or None and the compiler's message."""
        function, problem = self.globals[b"__kv_compile"](code, self.chunk.encode())
        return (None, _text(problem)) if function is False else (function, "")

    def table(self, items):
        return self.runtime.table_from(items)

    def run(self, caller, function, name: str, args: tuple, read_only: bool, code: bytes = b"",
            keys: list[bytes] = (), request: list[bytes] = (), allow_oom: bool = False, cross_slot: bool = True):
        """Call a script's function for ``caller`` (its writes propagated as one group); the reply.

        The script's commands run as the caller (tracking and NOLOOP see it), with
        RESP2-shaped replies for Lua, and leave its database and output as they were.
        ``code``: the script's text, for an error whose line Lua lost (see `_error_text`);
        ``keys``: the keys it declared, which a read inside it makes a tracking caller track;
        ``request``: the EVAL or FCALL, which MONITOR shows before the commands it runs;
        ``allow_oom``: its first write may come while memory is over maxmemory (else refused,
        as Redis's scriptVerifyOOM: a script cannot be stopped after it wrote);
        ``cross_slot``: on a cluster node, its keys may be in several slots (an EVAL without a shebang,
        or one declaring allow-cross-slot-keys).
        """
        node = self.node
        if node.monitors:
            from kvcore.dispatch import feed_monitors

            feed_monitors(node, caller, request)
        tracking = node.tracking
        if tracking is not None:
            tracking.script_keys = list(keys)
        saved = caller.db, caller.resp3, caller.out
        caller.resp3, caller.out = False, []
        self.client = caller
        self.read_only = read_only
        self.resp3 = False
        self.steps = 0
        self.started_ms = node.now
        self.name, self.request = name, request
        self.dirty_at_start = node.stats.dirty
        limit = node.config.values["maxmemory"]
        self.oom_at_start = not allow_oom and bool(limit) and node.evictor.used() > limit
        self.one_slot = node.cluster is not None and not cross_slot
        self.slot = key_slot(keys[0]) if self.one_slot and keys else None
        node.scripts.running += 1
        targets = node.propagation_targets  # redis.set_repl narrows them for this script only
        marker = node.begin_propagation_block()
        node.in_exec = True  # no background image in the middle of a script
        try:
            ok, result = self.globals[b"__kv_run"](function, *args)
        finally:
            if node.scripts.busy is not None:
                self._end_busy()
            node.propagation_targets = targets
            node.in_exec = False
            node.end_propagation_block(marker)
            caller.db, caller.resp3, caller.out = saved
            self.client = None
            node.scripts.running -= 1
            if tracking is not None:
                tracking.script_keys = None
        if not ok:
            error = Error(_error_text(result, name, self.chunk, code))
            error.counted = type(result) is not bytes and result[b"counted"] is True
            raise error
        return _from_lua(result, self.globals[b"rawget"], self.resp3)

    # -- the Lua side's callbacks -------------------------------------------
    def _call(self, args, count):
        """redis.call: a command's reply as a Lua value; its error raised in the script."""
        reply = self._command(self._arguments(args, count))
        if type(reply) is Error:
            return False, _error_table(self.runtime, reply.text, reply.counted)
        return True, _to_lua(self.runtime, reply, self.resp3)

    def _pcall(self, args, count):
        """redis.pcall: a command's reply as a Lua value, an error as {err=...}."""
        return _to_lua(self.runtime, self._command(self._arguments(args, count)), self.resp3)

    def _setresp(self, count, version=None):
        """redis.setresp(2|3): the protocol of the replies the script's commands give it."""
        if int(count) != 1:
            return _error_table(self.runtime, "ERR redis.setresp() requires one argument.")
        number = _lua_tonumber(version)  # as Redis's (int)lua_tonumber: '3' and 3.5 are 3
        if not math.isfinite(number) or int(number) not in (2, 3):
            return _error_table(self.runtime, "ERR RESP version must be 2 or 3.")
        self.resp3 = self.client.resp3 = int(number) == 3
        return None

    def _set_repl(self, count, flags=None):
        """redis.set_repl(flags): where the script's next writes are propagated (log, replicas, both, none)."""
        if int(count) != 1:
            return _error_table(self.runtime, "ERR redis.set_repl() requires two arguments.")  # sic, as 7.0
        if type(flags) not in (int, float) or int(flags) & ~PROPAGATE_ALL:
            return _error_table(self.runtime, "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
                                "REPL_ALL or REPL_NONE.")
        self.node.propagation_targets = int(flags)
        return None

    def _acl_check(self, args, count):
        """redis.acl_check_cmd: whether the caller's user may run that command (nothing logged)."""
        from kvcore.dispatch import resolve

        argv = _command_argv(self._arguments(args, count))
        if type(argv) is Error:
            return False, _error_table(self.runtime, argv.text)
        if not argv:
            return False, _error_table(self.runtime, NO_ARGUMENTS)
        cmd = resolve(self.node.table, argv)[0]
        if cmd is None:
            return False, _error_table(self.runtime, "ERR Invalid command passed to redis.acl_check_cmd()")
        return True, self.client.user.check(cmd, argv) is None

    def _arguments(self, args, count) -> tuple:
        rawget = self.globals[b"rawget"]
        return tuple(rawget(args, index) for index in range(1, int(count) + 1))

    def command_for(self, caller, args: tuple):
        """A command the debugger's ``redis`` runs for ``caller`` as a script would (kvcore.ldb)."""
        node = self.node
        saved = caller.resp3, caller.out
        caller.resp3, caller.out = False, []
        self.client, self.read_only = caller, False
        node.scripts.running += 1
        try:
            return self._command(args)
        finally:
            node.scripts.running -= 1
            caller.resp3, caller.out = saved
            self.client = None

    def debug_eval(self, code: bytes) -> tuple[bool, str]:
        """The debugger's ``eval``: run code in a call frame of its own; whether it ran, and its
        result (or error) as the debugger shows Lua values."""
        from lupa import lua51

        function, problem = self.compile(b"return " + code)
        if function is None:
            function, problem = self.compile(code)
        if function is None:
            return False, problem
        try:
            return True, lua_repr(function(), self.globals[b"rawget"])
        except lua51.LuaError as exc:
            return False, _text(str(exc).encode())

    def _command(self, args: tuple):
        """Run a command a script asked for; its reply (an Error for Redis's refusals)."""
        if self.trace is not None:
            from kvcore.ldb import reply_line

            reply = self._run_command(args)
            self.trace += ["<redis> " + " ".join(_text(arg) if type(arg) is bytes else str(arg) for arg in args),
                           reply_line(reply)]
            return reply
        return self._run_command(args)

    def _run_command(self, args: tuple):
        from kvcore.commands.table import Flag  # the commands import this module
        from kvcore.dispatch import NO_REPLY, call, count_error, resolve

        node = self.node
        if not args:
            return Error(NO_ARGUMENTS)
        argv = _command_argv(args)
        if type(argv) is Error:
            return argv
        cmd, error = resolve(node.table, argv)
        if error is not None:
            refusal = Error(UNKNOWN_COMMAND if cmd is None else WRONG_ARITY)
        elif cmd.flags & Flag.NOSCRIPT and not node.scripts.deny_disabled:
            refusal = Error(NOT_ALLOWED)
        else:
            refusal = self._refusal(cmd, argv)
        if refusal is not None:  # counted as Redis counts a command the script layer rejects
            if cmd is not None:
                cmd.rejected_calls += 1
            count_error(node, refusal)
            refusal.counted = True
            return refusal
        client = self.client
        reply = call(node, client, cmd, argv)
        if reply is NO_REPLY:  # a handler that replied itself: read what it queued (nothing: a nil)
            reply = _parse_resp2(b"".join(client.out)) if client.out else None
            client.out = []
        if type(reply) is Error:
            count_error(node, reply)  # errorstats count errors inside scripts, as Redis's
            reply.counted = True
        return reply

    def _refusal(self, cmd, argv: list[bytes]) -> Error | None:
        """Why the script may not run this command now (ACL, read-only script, disk, memory,
        stale or read-only replica, missing replicas), in Redis's order."""
        from kvcore.commands.table import Flag

        node = self.node
        client = self.client
        if not client.unrestricted:
            denial = node.acl.refusal(client, cmd, argv, "lua")
            if denial is not None:
                return Error("ERR " + script_noperm(denial))
        if self.read_only and cmd.flags & (Flag.WRITE | Flag.MAY_REPLICATE):  # as Redis 7.0: may-replicate too
            return Error(WRITE_IN_READ_ONLY)
        # Once the script wrote, no state that changed meanwhile fails its next writes (a half-done
        # script is worse): disk errors, a read-only replica and missing replicas refuse only the first.
        clean = node.stats.dirty == self.dirty_at_start
        if cmd.flags & Flag.WRITE and node.write_gate is not None and clean:
            refusal = node.disk_error()  # the last save or log write failed: no writes, as Redis's scripts
            if refusal is not None:
                return refusal
        if self.oom_at_start and cmd.flags & Flag.DENYOOM and clean:
            return Error(errors.OOM)
        if node.stale() and not cmd.flags & Flag.STALE:
            return Error("ERR Can not execute the command on a stale replica")
        if cmd.flags & Flag.WRITE and clean:
            refusal = node.replication_refusal(client)
            if refusal is not None:
                return refusal
        if node.cluster is not None and not node.loading and not node.obeys(client):
            return node.cluster.script_refusal(self, cmd, argv)
        return None

    def _budget(self, *_) -> bool:
        """The instruction hook (every HOOK_INSTRUCTIONS): whether the script is to stop now.

        With a busy runtime (kvcore.busy), a script past busy-reply-threshold
        (lua-time-limit) turns the node busy: from then on every hook lets the
        runtime serve the other clients, one of whom may kill it. Without one,
        the instructions stand for time, and a script past the threshold that
        wrote nothing ends itself rather than hang the server; one that wrote
        goes on, as Redis refuses to kill one (UNKILLABLE).
        """
        self.steps += 1
        node = self.node
        limit_ms = node.config.values["busy-reply-threshold"]
        runtime = node.busy_runtime
        if runtime is None:
            if limit_ms and instructions_ms(self.steps) > limit_ms \
                    and node.stats.dirty == self.dirty_at_start:
                raise CommandError(SCRIPT_STOPPED)
            return False
        now = runtime.now()
        scripts = node.scripts
        if scripts.busy is None:
            if not limit_ms or now - self.started_ms < limit_ms:
                return False
            self._start_busy(now)
        frozen = node.now  # the script's own time stands still (expiry as it started), whatever others see
        runtime.serve()
        node.now = frozen
        if scripts.busy.killed:
            node.emit(LogMessage("warning", "Lua script killed by user with SCRIPT KILL."))
            return True
        return False

    def _start_busy(self, now: int) -> None:
        node = self.node
        eval_mode = self.chunk == "@user_script"
        node.scripts.busy = busy_script = busy.BusyScript(
            self.client, self.name, self.request, eval_mode, self.started_ms, self.dirty_at_start)
        node.emit(LogMessage("warning", f"Slow script detected: still in execution after {now - self.started_ms} "
                             f"milliseconds. You can try killing the script using the {busy_script.kill_command()} "
                             f"command. Script name is: {self.name}."))
        node.update_write_gate()

    def _end_busy(self) -> None:
        node = self.node
        node.scripts.busy = None
        node.update_write_gate()
        node.busy_runtime.done()

    def _random(self, low=None, high=None):
        """math.random as Lua 5.1 defines it."""
        prng = self.prng
        if low is None:
            return prng.random()
        if high is None:
            return prng.randint(1, int(low)) if low >= 1 else 1
        return prng.randint(int(low), int(high)) if high >= low else int(low)

    def _seed(self, seed) -> None:
        self.prng.seed(int(seed) if seed is not None else 0)

    def _log(self, level, text) -> None:
        names = {0: "debug", 1: "verbose", 2: "notice", 3: "warning"}
        self.node.emit(LogMessage(names[int(level)], _text(text)))


class Scripts:
    """EVAL's script cache, and the interpreter its scripts run in (made at the first one)."""

    def __init__(self, node) -> None:
        self.node = node
        self.bodies: dict[str, bytes] = {}  # sha1 -> body, as SCRIPT LOAD / EVAL cached it
        self._compiled: dict[str, object] = {}
        self._flags: dict[str, list[str]] = {}  # the shebang flags of scripts that have a shebang
        self._lua: Lua | None = None
        self.running = 0  # scripts (EVAL or FCALL) running now: MONITOR names their commands' client "lua"
        self.busy: busy.BusyScript | None = None  # one past busy-reply-threshold, while it runs
        self.deny_disabled = False  # DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may run noscript commands

    def flush(self) -> None:
        """SCRIPT FLUSH: forget every script, and start a new interpreter."""
        self.bodies = {}
        self._compiled = {}
        self._flags = {}
        self._lua = None

    def compile_error(self, body: bytes) -> Error | None:
        """The error EVAL gives for a body that does not compile, if it does not."""
        try:
            self.load(body)
        except Error as exc:
            return exc
        return None

    def interpreter(self) -> Lua:
        if self._lua is None:
            self._lua = Lua(self.node, "user_script")
        return self._lua

    def load(self, body: bytes) -> str:
        """Compile and cache a body; its SHA1 (an Error when it does not compile)."""
        sha = sha1hex(body)
        if sha not in self._compiled:
            code, flags = _shebang(body)
            function, problem = self.interpreter().compile(code)
            if function is None:
                raise Error("ERR Error compiling script (new function): " + problem)
            self._compiled[sha] = function
            self.bodies[sha] = body
            if body.startswith(b"#!"):
                self._flags[sha] = flags
        return sha

    def declared_flags(self, script: bytes, is_sha: bool) -> list[str] | None:
        """The flags a script's shebang declares (EVAL's body, or EVALSHA's cached SHA1);
        None when it has no shebang or is unknown: it may do anything."""
        if is_sha:
            return self._flags.get(sha_argument(script))
        flags = self._flags.get(sha1hex(script))
        if flags is not None or not script.startswith(b"#!"):
            return flags
        try:
            return _shebang(script)[1]
        except Error:
            return None

    def run(self, caller, sha: str, keys: list[bytes], args: list[bytes], read_only: bool,
            request: list[bytes] = ()):
        """Run a cached script for ``caller``; the reply value (``request``: the EVAL, for MONITOR)."""
        function = self._compiled.get(sha)
        if function is None:
            raise Error(NOSCRIPT)
        flags = self._flags.get(sha)
        if flags is not None:  # a shebang: the flags say it all before it runs, as Redis 7.0's
            if read_only and "no-writes" not in flags:
                raise Error("ERR Can not execute a script with write flag using *_ro command.")
            refuse_writing_script(self.node, flags, caller)
        lua = self.interpreter()
        lua.globals[b"__kv_set_args"](lua.table(keys), lua.table(args))
        return lua.run(caller, function, sha, (), read_only or "no-writes" in (flags or ()), self.bodies[sha],
                       keys, request, allow_oom=flags is not None,
                       cross_slot=flags is None or "allow-cross-slot-keys" in flags)


SHEBANG_FLAGS = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")
_RUNS_CODE = ("eval", "evalsha", "fcall")


def declared_flags(node, cmd, argv: list[bytes]) -> list[str] | None:
    """The flags an EVAL/EVALSHA script's shebang or an FCALL function declares; None for
    any other command, or a script that declares none (it may do anything)."""
    if cmd.name not in _RUNS_CODE or len(argv) < 2:
        return None
    if cmd.name == "fcall":
        return node.functions.declared_flags(argv[1])
    return node.scripts.declared_flags(argv[1], cmd.name == "evalsha")


def _shebang(body: bytes) -> tuple[bytes, list[str]]:
    """A body's ``#!lua [flags=...]`` first line, as Redis 7.0 reads it: the code to compile
    (the line left empty, so line numbers hold) and the flags."""
    if not body.startswith(b"#!"):
        return body, []
    line, newline, rest = body.partition(b"\n")
    if not newline:
        raise Error("ERR Invalid script shebang")
    words = line.decode("utf-8", "replace").split()
    if words[0] != "#!lua":
        raise Error(f"ERR Unexpected engine in script shebang: {words[0]}")
    flags: list[str] = []
    for word in words[1:]:
        if not word.startswith("flags="):
            raise Error(f"ERR Unknown lua shebang option: {word}")
        listed = word[len("flags="):]
        for flag in listed.split(",") if listed else ():  # an empty one among others is refused
            if flag not in SHEBANG_FLAGS:
                raise Error(f"ERR Unexpected flag in script shebang: {flag}")
            flags.append(flag)
    return newline + rest, flags


# -- conversions ---------------------------------------------------------------

def _command_argv(args: tuple) -> list[bytes] | Error:
    """A script's command arguments as Redis takes them: strings, numbers as their text."""
    argv = []
    for arg in args:
        if type(arg) is bytes:
            argv.append(arg)
        elif type(arg) in (int, float):
            argv.append(number_text(arg))
        else:
            return Error(BAD_ARGUMENT)
    return argv


def _lua_tonumber(value) -> float:
    """Lua's lua_tonumber: a number, a string that reads as one (decimal or 0x hex), else 0."""
    if type(value) in (int, float):
        return value
    if type(value) is bytes:
        text = value.strip()
        try:
            return float(int(text, 16)) if text.lower().startswith((b"0x", b"-0x")) else float(text)
        except ValueError:
            return 0
    return 0


def _text(value) -> str:
    return value.decode("utf-8", "replace") if type(value) is bytes else str(value)


def number_text(number) -> bytes:
    """A Lua number passed to redis.call, as Redis prints it: ``%.17g`` of the double (0.1 is
    0.10000000000000001, 1e17 is 1e+17; a Lua -0 arrives from lupa as the int 0, so it prints 0)."""
    return b"%.17g" % float(number)


def lua_tostring(number) -> bytes:
    """A Lua number as Lua itself makes it a string (LUA_NUMBER_FMT, ``%.14g``)."""
    return b"%.14g" % float(number)


def _error_table(lua, text: str, counted: bool = False):
    """An error as Lua sees it ({err=...}); ``counted``: the error stats have it already."""
    if counted:
        return lua.table_from({b"err": text.encode(), b"counted": True})
    return lua.table_from({b"err": text.encode()})


_TAIL_CALL = re.compile(rb"\breturn\s+redis\.")


def _error_text(error, name: str, chunk: str, code: bytes) -> str:
    """The reply for an error a script raised: its text, then where it happened.

    A script's `return redis.call(...)` is a tail call in Lua, which leaves no
    frame of the script to read the line from (Redis's C redis.call keeps it):
    the line is then guessed, within the function that ran (a whole EVAL
    script, or an FCALL's function), as the last that returns a library call
    (else the last that makes one), comments left out.
    """
    if type(error) is bytes:
        return "ERR " + _text(error)
    text = _text(error[b"err"]) if error[b"err"] is not None else "ERR unknown error"
    source, line = error[b"source"], error[b"line"]
    if source is None or line is None:
        lines = code.split(b"\n")
        first, last = error[b"first"] or 1, error[b"last"] or len(lines)  # a main chunk's are 0
        code_lines = [(number, lines[number - 1]) for number in range(first, last + 1)
                      if not lines[number - 1].lstrip().startswith(b"--")]
        calls = ([number for number, text_line in code_lines if _TAIL_CALL.search(text_line)]
                 or [number for number, text_line in code_lines if b"redis." in text_line])
        source, line = chunk, (calls[-1] if calls else first)
    return f"{text} script: {name}, on {_text(source)}:{int(line)}."


def _to_lua(lua, reply, resp3: bool = False):
    """A command's reply as Redis hands it to Lua: RESP2 shapes, or with redis.setresp(3) RESP3's
    (a map as {map=...}, a set as {set=...}, {double=...}, {big_number=...}, {verbatim_string=...},
    booleans, and a null as nil)."""
    kind = type(reply)
    if kind is bytes or kind is int:
        return reply
    if reply is None or reply is NULL_ARRAY:
        return None if resp3 else False
    if kind is Simple:
        return lua.table_from({b"ok": reply.text.encode()})
    if kind is Error:
        return _error_table(lua, reply.text, reply.counted)
    if kind is list or kind is Push:
        items = reply if kind is list else reply.items
        return lua.table_from([_to_lua(lua, item, resp3) for item in items])
    if kind is SetReply:
        if resp3:
            return lua.table_from({b"set": lua.table_from({_to_lua(lua, item, resp3): True for item in reply.items})})
        return lua.table_from([_to_lua(lua, item) for item in reply.items])
    if kind is Map:
        if resp3:
            pairs = {_to_lua(lua, key, resp3): _to_lua(lua, value, resp3) for key, value in reply.pairs}
            return lua.table_from({b"map": lua.table_from(pairs)})
        return lua.table_from([_to_lua(lua, part) for pair in reply.pairs for part in pair])
    if kind is Double:
        if resp3:
            return lua.table_from({b"double": reply.value})
        return reply.text or format_double(reply.value)
    if kind is Bool:
        return reply.value if resp3 else int(reply.value)  # RESP2 has no booleans: :1 and :0
    if kind is Verbatim:
        if resp3:
            return lua.table_from({b"verbatim_string": lua.table_from(
                {b"format": reply.fmt.encode(), b"string": reply.text})})
        return reply.text
    if kind is BigNumber:
        if resp3:
            return lua.table_from({b"big_number": reply.digits()})
        return reply.digits()
    if kind is Attribute:
        return _to_lua(lua, reply.reply, resp3)  # attributes are not shown to scripts, as Redis's
    if kind is Raw:
        return _to_lua(lua, _parse_resp2(reply.data), resp3)
    if kind is bool:
        return 1 if reply else False
    return _text(repr(reply)).encode()


LUA_INTEGER_LIMIT = 2**63
LUA_NESTING_MAX = 200  # deeper tables in a script's result become an error, as Redis's stack limit


def _from_lua(value, rawget, resp3: bool = False, depth: int = 0):
    """A script's result as a reply: Redis's rules for Lua values (tables read raw: their
    metatables are not consulted). A boolean is RESP3's after redis.setresp(3), else 1 or nil."""
    kind = type(value)
    if kind is bytes:
        return value
    if kind is bool:
        return Bool(value) if resp3 else (1 if value else None)
    if kind is int or kind is float:
        if not -LUA_INTEGER_LIMIT <= value < LUA_INTEGER_LIMIT:  # inf and NaN too: Redis's (long long)
            return -LUA_INTEGER_LIMIT  # cast of such a Lua number gives LLONG_MIN on x86-64
        return int(value)
    if value is None or _lua_type(value) != "table":
        return None  # functions, userdata... as Redis: a nil
    if depth >= LUA_NESTING_MAX:
        return Error("ERR reached lua stack limit")
    err = rawget(value, b"err")
    if type(err) is bytes:
        error = Error(_text(err))
        error.counted = rawget(value, b"counted") is True
        return error
    ok = rawget(value, b"ok")
    if type(ok) is bytes:  # no line breaks in a status: they would forge replies (Redis maps them to spaces)
        return Simple(_text(ok.replace(b"\r", b" ").replace(b"\n", b" ")))
    typed = _typed_from_lua(value, rawget, resp3, depth)
    if typed is not None:
        return typed
    return [_from_lua(item, rawget, resp3, depth + 1) for item in _sequence(value, rawget)]


def _sequence(table, rawget):
    """A Lua table's items 1, 2, ... up to the first nil, read raw (as Redis reads an array)."""
    index = 1
    while (item := rawget(table, index)) is not None:
        yield item
        index += 1


def _typed_from_lua(table, rawget, resp3: bool, depth: int):
    """The RESP3 reply a table with a double, big_number, verbatim_string, map or set field stands for."""
    double = rawget(table, b"double")
    if type(double) in (int, float):
        return Double(float(double))
    big = rawget(table, b"big_number")
    if type(big) is bytes:
        return BigNumber(big.replace(b"\r", b" ").replace(b"\n", b" "))
    verbatim = rawget(table, b"verbatim_string")
    if verbatim is not None and _lua_type(verbatim) == "table":
        fmt, text = rawget(verbatim, b"format"), rawget(verbatim, b"string")
        if type(fmt) is bytes and type(text) is bytes:
            return Verbatim(text, _text(fmt))
    pairs = rawget(table, b"map")
    if pairs is not None and _lua_type(pairs) == "table":
        return Map([(_from_lua(key, rawget, resp3, depth + 1), _from_lua(item, rawget, resp3, depth + 1))
                    for key, item in pairs.items()])
    members = rawget(table, b"set")
    if members is not None and _lua_type(members) == "table":
        return SetReply([_from_lua(key, rawget, resp3, depth + 1) for key in members.keys()])
    return None


def lua_repr(value, rawget, depth: int = 0) -> str:
    """A Lua value as the debugger shows it (ldbLogStackValue): strings quoted, tables in braces."""
    kind = type(value)
    if value is None:
        return "nil"
    if kind is bool:
        return "true" if value else "false"
    if kind is bytes:
        return '"%s"' % _text(value)
    if kind is int or kind is float:
        return format_double(float(value)).decode() if kind is float and not value.is_integer() else str(int(value))
    if _lua_type(value) != "table" or depth > 8:
        return _lua_type(value)
    items = [lua_repr(item, rawget, depth + 1) for item in _sequence(value, rawget)]
    if items:
        return "{" + "; ".join(items) + "}"
    return "{" + "; ".join(f"[{lua_repr(key, rawget, depth + 1)}]={lua_repr(item, rawget, depth + 1)}"
                           for key, item in value.items()) + "}"


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
