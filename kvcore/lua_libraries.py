"""The libraries Redis gives its Lua scripts beyond Lua's own: ``cjson``, ``cmsgpack`` and ``bit``.

cjson follows lua-cjson 2.1 as Redis bundles it: a table whose keys are
1..n is an array, any other an object (the empty table too); ``cjson.null``
stands for JSON null; numbers print as ``%.14g``; '/' is escaped. NaN and
infinities are refused unless ``cjson.encode_invalid_numbers(true)``, and
nesting deeper than ``encode_max_depth`` / ``decode_max_depth`` (1000) is an
error. cmsgpack packs and unpacks MessagePack as lua-cmsgpack does (the
smallest encoding of each number, tables nested past 16 packed as nil).
``bit`` is LuaBitOp: 32-bit operations on numbers.
"""

from __future__ import annotations

import json
import math
import struct
from functools import partial

_SETTINGS = {"encode_max_depth": 1000, "decode_max_depth": 1000, "encode_invalid_numbers": False,
             "decode_invalid_numbers": True, "encode_keep_buffer": True, "encode_number_precision": 14,
             "encode_sparse_array": False}
_BIT_FUNCTIONS = ("tobit", "tohex", "bnot", "band", "bor", "bxor", "lshift", "rshift", "arshift", "rol", "ror",
                  "bswap")


class LuaLibraries:
    """cjson and bit for one interpreter (``runtime``: its lupa LuaRuntime)."""

    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.settings = dict(_SETTINGS)
        lua_globals = runtime.globals()
        self.null = runtime.eval("newproxy()")
        self.rawequal = lua_globals.rawequal
        # Python functions are C functions to Lua, as these are in Redis (a script's frame stays)
        cjson = {b"encode": self._encode, b"decode": self._decode, b"null": self.null}
        cjson.update({name.encode(): partial(self._setting, name) for name in _SETTINGS})
        lua_globals.cjson = runtime.table_from(cjson)
        lua_globals.bit = runtime.table_from({name.encode(): partial(_bitop, name) for name in _BIT_FUNCTIONS})
        MessagePack(runtime, lua_globals.rawget)

    def _setting(self, name: str, value=None, *rest):
        if value is not None:
            self.settings[name] = value
        return self.settings[name]

    # -- cjson.encode ------------------------------------------------------
    def _encode(self, value):
        from kvcore.scripting import CommandError

        try:
            return self._json(value, 0).encode("latin-1")
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    def _json(self, value, depth: int) -> str:
        from lupa import lua51

        kind = type(value)
        if value is None or (lua51.lua_type(value) == "userdata" and self.rawequal(value, self.null)):
            return "null"
        if kind is bool:
            return "true" if value else "false"
        if kind is int or kind is float:
            return self._number(value)
        if kind is bytes:
            return _string(value)
        if lua51.lua_type(value) != "table":
            raise ValueError(f"Cannot serialise {lua51.lua_type(value)}: type not supported")
        depth += 1
        if depth > self.settings["encode_max_depth"]:
            raise ValueError(f"Cannot serialise, excessive nesting ({depth})")
        items = list(value.items())
        if items and all(type(k) in (int, float) and k == int(k) and k >= 1 for k, _ in items):
            size = int(max(k for k, _ in items))
            slots = dict((int(k), v) for k, v in items)
            return "[" + ",".join(self._json(slots.get(i), depth) for i in range(1, size + 1)) + "]"
        parts = []
        for key, item in items:
            if type(key) is bytes:
                name = _string(key)
            elif type(key) in (int, float):
                name = '"' + self._number(key) + '"'
            else:
                raise ValueError("Cannot serialise table: table key must be a number or string")
            parts.append(name + ":" + self._json(item, depth))
        return "{" + ",".join(parts) + "}"

    def _number(self, number) -> str:
        if isinstance(number, float) and (math.isnan(number) or math.isinf(number)):
            if not self.settings["encode_invalid_numbers"]:
                raise ValueError("Cannot serialise number: must not be NaN or Inf")
            return "nan" if math.isnan(number) else ("inf" if number > 0 else "-inf")
        return "%.14g" % number

    # -- cjson.decode ------------------------------------------------------
    def _decode(self, text):
        from kvcore.scripting import CommandError

        if type(text) is not bytes:
            raise CommandError("bad argument #1 to 'decode' (string expected)")
        try:
            # Bytes that are not UTF-8 come back as they were (surrogateescape); \u escapes become
            # UTF-8, surrogate pairs joined, as lua-cjson writes them.
            value = json.loads(text.decode("utf-8", "surrogateescape"), parse_constant=_constant,
                               parse_int=_json_integer)
        except ValueError as exc:
            raise CommandError(f"Expected value but found invalid token at character {getattr(exc, 'pos', 0) + 1}") \
                from None
        if _depth(value) > self.settings["decode_max_depth"]:
            raise CommandError(f"Found too many nested data structures ({self.settings['decode_max_depth'] + 1})")
        try:
            return self._to_lua(value)
        except UnicodeEncodeError:  # a lone surrogate escape
            raise CommandError("Expected value but found invalid unicode escape code at character 1") from None

    def _to_lua(self, value):
        if value is None:
            return self.null
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape")
        if isinstance(value, list):
            return self.runtime.table_from([self._to_lua(item) for item in value])
        if isinstance(value, dict):
            return self.runtime.table_from({key.encode("utf-8", "surrogateescape"): self._to_lua(item)
                                            for key, item in value.items()})
        return value


def _string(data: bytes) -> str:
    return json.dumps(data.decode("latin-1"), ensure_ascii=False).replace("/", "\\/")


def _json_integer(text: str) -> int | float:
    """A JSON integer as Lua holds it: a double (lua-cjson's strtod) once past 2^53."""
    value = int(text)
    return value if -(2**53) <= value <= 2**53 else float(value)


def _constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


def _bit(number) -> int:
    value = int(number) & 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


_BIT_MAGIC = 6755399441055744.0  # 2**52 + 2**51: adding it leaves the rounded integer in the low mantissa bits


def _bits(number) -> int:
    """LuaBitOp's argument conversion: the double plus 2**52 + 2**51, its low 32 bits (so rounded
    to nearest, ties to even; inf and NaN give 0; 2**51 + 1 is past the double's precision)."""
    return struct.unpack("<Q", struct.pack("<d", float(number) + _BIT_MAGIC))[0] & 0xFFFFFFFF


def _bitop(op: str, *args):
    """LuaBitOp's functions, on 32-bit signed results."""
    values = [_bits(arg) for arg in args if type(arg) in (int, float)]
    if op == "tobit":
        return _bit(values[0])
    if op == "tohex":
        digits = _bit(values[1]) if len(values) > 1 else 8
        text = "%08x" % values[0]
        text = text[-abs(digits):] if digits else text
        return (text.upper() if digits < 0 else text).encode()
    if op == "bnot":
        return _bit(~values[0])
    if op in ("band", "bor", "bxor"):
        result = values[0]
        for value in values[1:]:
            result = result & value if op == "band" else result | value if op == "bor" else result ^ value
        return _bit(result)
    if op == "bswap":
        return _bit(int.from_bytes(values[0].to_bytes(4, "big"), "little"))
    value, shift = values[0], values[1] & 31
    if op == "lshift":
        return _bit(value << shift)
    if op == "rshift":
        return _bit(value >> shift)
    if op == "arshift":
        return _bit(_bit(value) >> shift)
    if op == "rol":
        return _bit((value << shift) | (value >> (32 - shift)))
    return _bit((value >> shift) | (value << (32 - shift)))  # ror


# -- cmsgpack (lua-cmsgpack as Redis bundles it) ------------------------------------------
MSGPACK_NESTING_MAX = 16  # deeper tables are packed as nil


class MessagePack:
    """cmsgpack.pack / unpack / unpack_one / unpack_limit for one interpreter."""

    def __init__(self, runtime, rawget) -> None:
        self.runtime = runtime
        self.rawget = rawget
        runtime.globals().cmsgpack = runtime.table_from({
            b"pack": self.pack, b"unpack": self.unpack,
            b"unpack_one": self.unpack_one, b"unpack_limit": self.unpack_limit,
        })

    def pack(self, *values) -> bytes:
        from kvcore.scripting import CommandError

        if not values:
            raise CommandError("MessagePack pack needs input.")
        return b"".join(self._pack(value, 0) for value in values)

    def _pack(self, value, depth: int) -> bytes:
        from lupa import lua51

        kind = type(value)
        if value is None:
            return b"\xc0"
        if kind is bool:
            return b"\xc3" if value else b"\xc2"
        if kind is int or (kind is float and value.is_integer() and abs(value) < 2**63):
            return _pack_int(int(value))
        if kind is float:
            return (b"\xca" + struct.pack(">f", value)) if _exact_float32(value) else b"\xcb" + struct.pack(">d", value)
        if kind is bytes:
            size = len(value)
            head = bytes((0xA0 | size,)) if size < 32 else b"\xd9" + bytes((size,)) if size < 256 \
                else b"\xda" + size.to_bytes(2, "big") if size < 65536 else b"\xdb" + size.to_bytes(4, "big")
            return head + value
        if lua51.lua_type(value) != "table" or depth >= MSGPACK_NESTING_MAX:
            return b"\xc0"
        items = list(value.items())
        keys = [key for key, _ in items]
        if all(type(key) in (int, float) and key == int(key) and key >= 1 for key in keys) \
                and (not keys or max(keys) == len(keys)):
            size = len(items)
            head = bytes((0x90 | size,)) if size < 16 else b"\xdc" + size.to_bytes(2, "big") if size < 65536 \
                else b"\xdd" + size.to_bytes(4, "big")
            return head + b"".join(self._pack(self.rawget(value, i), depth + 1) for i in range(1, size + 1))
        size = len(items)
        head = bytes((0x80 | size,)) if size < 16 else b"\xde" + size.to_bytes(2, "big") if size < 65536 \
            else b"\xdf" + size.to_bytes(4, "big")
        return head + b"".join(self._pack(key, depth + 1) + self._pack(item, depth + 1) for key, item in items)

    def unpack(self, data):
        values, _ = self._unpack_many(data, 0, 0)
        return tuple(values)

    def unpack_one(self, data, offset=0):
        return self.unpack_limit(data, 1, offset)

    def unpack_limit(self, data, limit, offset=0):
        values, end = self._unpack_many(data, int(limit), int(offset or 0))
        return (end if end < len(data) else -1, *values)

    def _unpack_many(self, data, limit: int, offset: int):
        from kvcore.scripting import CommandError

        if type(data) is not bytes:
            raise CommandError("MessagePack decoding needs a string as input.")
        values, pos = [], offset
        try:
            while pos < len(data) and (limit <= 0 or len(values) < limit):
                value, pos = self._unpack(data, pos)
                values.append(value)
        except (IndexError, struct.error):
            raise CommandError("Missing bytes in input.") from None
        return values, pos

    def _unpack(self, data: bytes, pos: int):
        byte = data[pos]
        pos += 1
        if byte < 0x80:
            return byte, pos
        if byte >= 0xE0:
            return byte - 0x100, pos
        if 0xA0 <= byte < 0xC0:
            size = byte & 0x1F
            return _take(data, pos, size), pos + size
        if 0x90 <= byte < 0xA0:
            return self._array(data, pos, byte & 0x0F)
        if 0x80 <= byte < 0x90:
            return self._map(data, pos, byte & 0x0F)
        if byte == 0xC0:
            return None, pos
        if byte in (0xC2, 0xC3):
            return byte == 0xC3, pos
        if byte in _FIXED:
            fmt, size = _FIXED[byte]
            return struct.unpack(fmt, _take(data, pos, size))[0], pos + size
        if byte in (0xC4, 0xC5, 0xC6, 0xD9, 0xDA, 0xDB):
            width = {0xC4: 1, 0xD9: 1, 0xC5: 2, 0xDA: 2, 0xC6: 4, 0xDB: 4}[byte]
            size = int.from_bytes(_take(data, pos, width), "big")
            pos += width
            return _take(data, pos, size), pos + size
        if byte in (0xDC, 0xDD):
            width = 2 if byte == 0xDC else 4
            return self._array(data, pos + width, int.from_bytes(_take(data, pos, width), "big"))
        if byte in (0xDE, 0xDF):
            width = 2 if byte == 0xDE else 4
            return self._map(data, pos + width, int.from_bytes(_take(data, pos, width), "big"))
        raise struct.error("bad type")

    def _array(self, data, pos, size):
        items = []
        for _ in range(size):
            item, pos = self._unpack(data, pos)
            items.append(item)
        return self.runtime.table_from(items), pos

    def _map(self, data, pos, size):
        table = self.runtime.table()
        for _ in range(size):
            key, pos = self._unpack(data, pos)
            item, pos = self._unpack(data, pos)
            if key is not None:
                table[key] = item
        return table, pos


_FIXED = {0xCA: (">f", 4), 0xCB: (">d", 8), 0xCC: (">B", 1), 0xCD: (">H", 2), 0xCE: (">I", 4), 0xCF: (">Q", 8),
          0xD0: (">b", 1), 0xD1: (">h", 2), 0xD2: (">i", 4), 0xD3: (">q", 8)}


def _take(data: bytes, pos: int, size: int) -> bytes:
    if pos + size > len(data):
        raise IndexError
    return data[pos : pos + size]


def _exact_float32(value: float) -> bool:
    """Whether a float32 holds the double exactly (lua-cmsgpack's ``(float)n == n``; past float32's
    range C's cast gives inf, where Python's struct raises)."""
    try:
        return struct.unpack(">f", struct.pack(">f", value))[0] == value
    except OverflowError:
        return False


def _pack_int(value: int) -> bytes:
    if 0 <= value < 0x80:
        return bytes((value,))
    if -32 <= value < 0:
        return bytes((value + 0x100,))
    if value >= 0:
        for code, fmt, top in ((0xCC, ">B", 0xFF), (0xCD, ">H", 0xFFFF), (0xCE, ">I", 0xFFFFFFFF)):
            if value <= top:
                return bytes((code,)) + struct.pack(fmt, value)
        return b"\xcf" + struct.pack(">Q", value)
    for code, fmt, low in ((0xD0, ">b", -0x80), (0xD1, ">h", -0x8000), (0xD2, ">i", -0x80000000)):
        if value >= low:
            return bytes((code,)) + struct.pack(fmt, value)
    return b"\xd3" + struct.pack(">q", value)
