"""Redis 7.0 functions: libraries of Lua functions loaded with FUNCTION LOAD, called with FCALL.

A library's code starts with ``#!lua name=<library>``; loading runs it once
in a restricted environment where only ``redis.register_function`` (and
``redis.log``, and the string, math and table libraries) exist, and each
function it registers can then be called by name. Functions see the full
library when they run (redis.call...), as Redis swaps the globals they share
once the load is done. Libraries are part of the dataset: snapshots carry
their code (kvcore.rdb), FUNCTION LOAD is logged and replicated like any
write, and FUNCTION DUMP / RESTORE move them in Redis's payload format.
"""

from __future__ import annotations

import re

from kvcore.protocol import split_inline
from kvcore.reply import Error
from kvcore.scripting import (
    SHEBANG_FLAGS,
    CommandError,
    Lua,
    instructions_ms,
    keys_and_args,
    lua_tostring,
    refuse_writing_script,
)

_NAME = re.compile(rb"[A-Za-z0-9_]+")
BAD_NAME = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"

# The environment library code loads in, and its switch to the full globals afterwards.
_LOADER = """
local register, log, getfenv, setfenv = ...
local globals = getfenv(1)  -- the real globals table (scripts' _G is a proxy of it)
local load_fields = {
  register_function = register, log = log,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = globals.redis.REDIS_VERSION, REDIS_VERSION_NUM = globals.redis.REDIS_VERSION_NUM,
}
local function strict(lookup)  -- an __index reading through lookup, a missing name an error as Redis's
  return function(t, name)
    local value = lookup(name)
    if value == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
    end
    return value
  end
end
local function refuse(t, name, value) error("Attempt to modify a readonly table", 2) end
-- read-only, as every table Redis hands a library
local load_redis = setmetatable({}, {
  __index = strict(function(name) return load_fields[name] end), __newindex = refuse, __metatable = false,
})
local load_api = {redis = load_redis}  -- as Redis 7.0: nothing but this while a library loads
local api = load_api
local env = setmetatable({}, {
  __index = strict(function(name)  -- lupa's own `debug` stays out of sight, as Redis's Lua has none
    if name ~= 'debug' then return rawget(api == load_api and load_api or globals, name) end
  end),
  __newindex = refuse,
})
__kv_define('__kv_load_library', function(chunk, over_time)
  setfenv(chunk, env)
  api = load_api
  local ok, err = __kv_run_limited(chunk, over_time, 'FUNCTION LOAD timeout')
  api = globals
  return ok, err
end)
"""
LOAD_TIMEOUT_MS = 500  # as Redis's: a library's load run is stopped past it


class Library:
    __slots__ = ("name", "code", "functions")

    def __init__(self, name: str, code: bytes) -> None:
        self.name = name
        self.code = code
        self.functions: dict[str, tuple[object, list[str], bytes | None]] = {}  # name -> (fn, flags, description)


class Functions:
    """A node's libraries, and the interpreter their functions live in."""

    def __init__(self, node) -> None:
        self.node = node
        self.libraries: dict[str, Library] = {}
        self._lua: Lua | None = None
        self._registering: Library | None = None

    def find(self, name: str) -> tuple[Library, str] | None:
        """The library of a function and the name it was registered with (names are case-blind,
        as Redis's)."""
        wanted = name.lower()
        for library in self.libraries.values():
            for registered in library.functions:
                if registered.lower() == wanted:
                    return library, registered
        return None

    def declared_flags(self, name: bytes) -> list[str] | None:
        """The flags a function was registered with; None for an unknown one."""
        found = self.find(name.decode("utf-8", "replace"))
        if found is None:
            return None
        library, registered = found
        return library.functions[registered][1]

    def _interpreter(self) -> Lua:
        if self._lua is None:
            self._lua = Lua(self.node, "user_function")
            self._lua.runtime.execute(_LOADER, self._register, self._lua._log, *self._lua.environment_functions)
        return self._lua

    def flush(self) -> None:
        self.libraries = {}
        self._lua = None

    # -- FUNCTION LOAD -------------------------------------------------------
    def load(self, code: bytes, replace: bool) -> str:
        """Load (or with ``replace`` reload) a library; its name. Errors as Redis words them."""
        name = library_name(code)
        if name in self.libraries and not replace:
            raise Error(f"ERR Library '{name}' already exists")
        lua = self._interpreter()
        _, newline, rest = code.partition(b"\n")
        chunk, problem = lua.compile(newline + rest)  # the metadata line left empty: line numbers hold
        if chunk is None:
            raise Error("ERR Error compiling function: " + problem)
        library = Library(name, code)
        self._registering = library
        try:
            ok, error = lua.globals[b"__kv_load_library"](chunk, self._load_timer())
        finally:
            self._registering = None
        if not ok:
            raise Error("ERR Error registering functions: " + _error_message(error))
        if not library.functions:
            raise Error("ERR No functions registered")
        others = {fn.lower() for other in self.libraries.values() if other.name != name for fn in other.functions}
        for function in library.functions:
            if function.lower() in others:
                raise Error(f"ERR Function {function} already exists")
        self.libraries[name] = library
        return name

    def _load_timer(self):
        """Whether the load run is past LOAD_TIMEOUT_MS, asked every HOOK_INSTRUCTIONS: on the
        runtime's clock if it has one (kvcore.busy), else counting instructions as time."""
        runtime = self.node.busy_runtime
        if runtime is not None:
            started = runtime.now()
            return lambda: runtime.now() - started > LOAD_TIMEOUT_MS
        steps = [0]

        def over() -> bool:
            steps[0] += 1
            return instructions_ms(steps[0]) > LOAD_TIMEOUT_MS

        return over

    def _register(self, *args) -> None:
        """redis.register_function(name, callback) or redis.register_function{...}."""
        from kvcore.scripting import _lua_type

        library = self._registering
        if library is None:
            raise CommandError("ERR redis.register_function can only be called on FUNCTION LOAD command")
        description = None
        flags: list[str] = []
        if len(args) == 1:
            if _lua_type(args[0]) != "table":
                raise CommandError("ERR calling redis.register_function with a single argument is only "
                                   "applicable to Lua table (representing named arguments).")
            name = callback = None
            for key, value in args[0].items():  # each checked as it comes, as Redis's
                if key == b"function_name":
                    if type(value) not in (bytes, int, float):
                        raise CommandError("ERR function_name argument given to redis.register_function "
                                           "must be a string")
                    name = value
                elif key == b"callback":
                    if _lua_type(value) != "function":
                        raise CommandError("ERR callback argument given to redis.register_function must be a function")
                    callback = value
                elif key == b"flags":
                    flags = _flags(value)
                elif key == b"description":
                    if type(value) not in (bytes, int, float):
                        raise CommandError("ERR description argument given to redis.register_function "
                                           "must be a string")
                    description = lua_tostring(value) if type(value) in (int, float) else value
                else:
                    raise CommandError("ERR unknown argument given to redis.register_function")
            if name is None:
                raise CommandError("ERR redis.register_function must get a function name argument")
            if callback is None:
                raise CommandError("ERR redis.register_function must get a callback argument")
        elif len(args) == 2:
            name, callback = args
            if type(name) not in (bytes, int, float):
                raise CommandError("ERR first argument to redis.register_function must be a string")
        else:
            raise CommandError("ERR wrong number of arguments to redis.register_function")
        if type(name) in (int, float):  # a number is a string to Lua (lua_isstring)
            name = lua_tostring(name)
        if type(name) is not bytes:
            raise CommandError("ERR function name argument given to redis.register_function must be a string")
        if _lua_type(callback) != "function":
            raise CommandError("ERR second argument to redis.register_function must be a function")
        if not _NAME.fullmatch(name):
            raise CommandError("ERR " + BAD_NAME)
        text = name.decode()
        if text.lower() in (registered.lower() for registered in library.functions):
            raise CommandError("ERR Function already exists in the library")
        library.functions[text] = (callback, flags, description)

    # -- FCALL -------------------------------------------------------------
    def call(self, caller, argv: list[bytes], read_only: bool):
        """FCALL / FCALL_RO: the function first, then the keys (fcallCommandGeneric's order)."""
        found = self.find(argv[1].decode("utf-8", "replace"))
        if found is None:
            raise Error("ERR Function not found")
        library, name = found
        keys, args = keys_and_args(argv, "ERR Bad number of keys provided")
        callback, flags, _ = library.functions[name]
        if read_only and "no-writes" not in flags:
            raise Error("ERR Can not execute a script with write flag using *_ro command.")
        refuse_writing_script(self.node, flags, caller)
        lua = self._interpreter()
        return lua.run(caller, callback, name, (lua.table(keys), lua.table(args)),
                       read_only or "no-writes" in flags, library.code, keys, argv, allow_oom=True,
                       cross_slot="allow-cross-slot-keys" in flags)


def library_name(code: bytes) -> str:
    """The library name of a ``#!lua name=<name>`` first line, or Redis's error."""
    if not code.startswith(b"#!"):
        raise Error("ERR Missing library metadata")
    line, newline, _ = code.partition(b"\n")
    parts = split_inline(line)  # sdssplitargs: name="foo" is name=foo
    if not parts or not newline:
        raise Error("ERR Invalid library metadata")
    words = [part.decode("utf-8", "replace") for part in parts]
    engine = words[0][2:]
    if engine.lower() != "lua":
        raise Error(f"ERR Engine '{engine}' not found")
    name = None
    for word in words[1:]:
        if word[:5].lower() != "name=":
            raise Error(f"ERR Invalid metadata value given: {word}")
        if name is not None:
            raise Error("ERR Invalid metadata value, name argument was given multiple times")
        name = word[5:]
    if name is None:
        raise Error("ERR Library name was not given")
    if not _NAME.fullmatch(name.encode()):
        raise Error("ERR " + BAD_NAME)
    return name


def _flags(table) -> list[str]:
    from kvcore.scripting import _lua_type

    if _lua_type(table) != "table":
        raise CommandError("ERR flags argument to redis.register_function must be a table representing "
                           "function flags")
    flags = []
    for _, value in sorted(table.items()):
        flag = value.decode("utf-8", "replace") if type(value) is bytes else ""
        if flag not in SHEBANG_FLAGS:  # a function declares the flags a script's shebang may
            raise CommandError("ERR unknown flag given")
        flags.append(flag)
    return sorted(set(flags), key=SHEBANG_FLAGS.index)  # FUNCTION LIST names them in Redis's table order


def _error_message(error) -> str:
    """A load error's text (without where in a script, as Redis reports load errors)."""
    if type(error) is bytes:
        return "ERR " + error.decode("utf-8", "replace")
    message = error[b"err"]
    return message.decode("utf-8", "replace") if type(message) is bytes else "ERR unknown error"
