"""RDB snapshots (version 10, as redis-server 7.0 writes them) and DUMP payloads.

Everything here is bytes in, bytes out: the runtimes read and write files.

A file is ``REDIS0010``, then records, each an opcode or a value type:

- AUX (250) name, value: facts about the file (redis-ver, ctime, ...);
- SELECTDB (254) n, RESIZEDB (251) keys, volatile keys: the database that follows;
- EXPIRETIME_MS (252) and 8 bytes LE, IDLE (248), FREQ (249): about the next key;
- FUNCTION2 (245): a FUNCTION library's code; MODULE_AUX (247): module data (skipped here);
- a type byte, the key, the value; then EOF (255) and the CRC-64 of all that,
  8 bytes LE (0 when written with ``rdbchecksum no``).

Lengths take 1, 2, 5 or 9 bytes (6 bits, 14 bits, 32 and 64 bits big-endian);
the top bits ``11`` mark a string stored as an 8/16/32-bit integer or as LZF.

The writer uses what Redis 7.0 writes for each encoding the value has (see
the families' ``encoding()``): strings (integer or LZF forms), lists as
quicklists of listpacks, listpack or hashtable hashes, intset or hashtable
sets, listpack or skiplist (ZSET_2) sorted sets. JSON documents are written
as RedisJSON writes them (module type ``ReJSON-RL``, encoding version 3: the
JSON text as one module string), so a redis-server loads them only with the
RedisJSON module. The reader takes everything Redis 7.0 writes or still
loads (ziplists, zipmaps, intsets, quicklists of ziplists, text-double sorted
sets) and builds the families' own value objects with the encodings Redis
would give them on load. Streams are written and read by `kvcore.rdb_stream`.

A DUMP payload is a type byte and a value as in a file, then the RDB version
(2 bytes LE) and the CRC-64 of everything before it (8 bytes LE).
"""

from __future__ import annotations

import math
import re
import struct

from kvcore import intset, listpack, lzf, ziplist
from kvcore.commands.json import JsonValue, dumps, parse_json
from kvcore.config import Config
from kvcore.corrupt import CorruptValue, assertion_failed, panic
from kvcore.crc64 import crc64
from kvcore.effects import Crash
from kvcore.functions import library_name
from kvcore.reply import Error
from kvcore.types_hash import HashValue
from kvcore.types_list import EMPTY_LISTPACK, PLAIN, ListValue
from kvcore.types_set import INTSET_CAP, SetValue, is_int64_text
from kvcore.types_zset import ZSetValue, listpack_score

RDB_VERSION = 10
RDB_VERSION_MAX_READ = 11  # Redis 7.2's files load too (SET_LISTPACK)
REDIS_VERSION = b"7.0.15"
MAGIC = b"REDIS"

# Value types (rdb.h).
TYPE_STRING = 0
TYPE_LIST = 1
TYPE_SET = 2
TYPE_ZSET = 3
TYPE_HASH = 4
TYPE_ZSET_2 = 5
TYPE_MODULE = 6
TYPE_MODULE_2 = 7
TYPE_HASH_ZIPMAP = 9
TYPE_LIST_ZIPLIST = 10
TYPE_SET_INTSET = 11
TYPE_ZSET_ZIPLIST = 12
TYPE_HASH_ZIPLIST = 13
TYPE_LIST_QUICKLIST = 14
TYPE_STREAM_LISTPACKS = 15
TYPE_HASH_LISTPACK = 16
TYPE_ZSET_LISTPACK = 17
TYPE_LIST_QUICKLIST_2 = 18
TYPE_STREAM_LISTPACKS_2 = 19
TYPE_SET_LISTPACK = 20
TYPE_STREAM_LISTPACKS_3 = 21

# Opcodes.
OP_FUNCTION2 = 245
OP_FUNCTION = 246
OP_MODULE_AUX = 247
OP_IDLE = 248
OP_FREQ = 249
OP_AUX = 250
OP_RESIZEDB = 251
OP_EXPIRETIME_MS = 252
OP_EXPIRETIME = 253
OP_SELECTDB = 254
OP_EOF = 255

ENC_INT8 = 0
ENC_INT16 = 1
ENC_INT32 = 2
ENC_LZF = 3

MODULE_OP_EOF = 0
MODULE_OP_SINT = 1
MODULE_OP_UINT = 2
MODULE_OP_FLOAT = 3
MODULE_OP_DOUBLE = 4
MODULE_OP_STRING = 5

QUICKLIST_PLAIN = 1
QUICKLIST_PACKED = 2

MODULE_NAME_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
JSON_ENCODING_VERSION = 3


def module_id(name: str, encoding_version: int) -> int:
    """moduleTypeEncodeId: nine 6-bit characters then a 10-bit encoding version."""
    value = 0
    for char in name:
        value = (value << 6) | MODULE_NAME_CHARSET.index(char)
    return (value << 10) | encoding_version


def module_name(ident: int) -> str:
    return "".join(MODULE_NAME_CHARSET[(ident >> (10 + 6 * (8 - j))) & 63] for j in range(9))


JSON_MODULE_ID = module_id("ReJSON-RL", JSON_ENCODING_VERSION)
_JSON_NAME_ID = JSON_MODULE_ID >> 10


class RdbError(ValueError):
    """A file or payload that cannot be loaded; ``offset`` is the byte where that was found.

    ``in_content``: only a deep sanitization finds it (Redis's shallow checks pass);
    ``crash``: how redis-server, trusting the content, dies as it loads it;
    ``crash_on_read``: how it dies when a command reads it (a failed assertion if not given);
    ``crash_reading_back``: a stream's, when XREAD reads it (kvcore.corrupt.CorruptValue).
    """

    def __init__(self, message: str, offset: int, in_content: bool = False, crash: Crash | None = None,
                 crash_on_read: Crash | None = None) -> None:
        super().__init__("%s (at offset %d)" % (message, offset))
        self.message = message
        self.offset = offset
        self.in_content = in_content
        self.crash = crash
        self.crash_on_read = crash_on_read
        self.crash_reading_back: Crash | None = None


# -- writing -------------------------------------------------------------------

_SHORT_LENGTHS = [bytes((n,)) for n in range(64)]
_INTEGER_STARTS = frozenset(b"-0123456789")
_PACK_DOUBLE = struct.Struct("<d").pack
_PACK_MS = struct.Struct("<q").pack
_LLONG_HALF = float(2**62)


def encode_length(length: int) -> bytes:
    """rdbSaveLen: 6-bit, 14-bit, 32-bit or 64-bit (both big-endian) lengths."""
    if length < 64:
        return _SHORT_LENGTHS[length]
    if length < 16384:
        return bytes((0x40 | (length >> 8), length & 0xFF))
    if length <= 0xFFFFFFFF:
        return b"\x80" + length.to_bytes(4, "big")
    return b"\x81" + length.to_bytes(8, "big")


def _put_string(parts: list, data: bytes, compress: bool) -> None:
    """rdbSaveRawString: as a small integer when it reads as one, LZF past 20 bytes when that saves 4."""
    size = len(data)
    if size <= 11 and size and data[0] in _INTEGER_STARTS and is_int64_text(data):
        encoded = _small_int(int(data))
        if encoded is not None:
            parts.append(encoded)
            return
    if compress and size > 20:
        packed = lzf.compress(data, size - 4)
        if packed is not None:
            parts += (b"\xc3", encode_length(len(packed)), encode_length(size), packed)
            return
    parts.append(_SHORT_LENGTHS[size] if size < 64 else encode_length(size))
    parts.append(data)


def _small_int(value: int) -> bytes | None:
    if -128 <= value <= 127:
        return bytes((0xC0, value & 0xFF))
    if -32768 <= value <= 32767:
        return b"\xc1" + value.to_bytes(2, "little", signed=True)
    if -(2**31) <= value < 2**31:
        return b"\xc2" + value.to_bytes(4, "little", signed=True)
    return None


def _put_value(parts: list, value, config, compress: bool) -> int:
    """Append a value's encoding; return its RDB type."""
    kind = type(value)
    if kind is bytes:
        _put_string(parts, value, compress)
        return TYPE_STRING
    writer = _WRITERS.get(kind)
    if writer is None:
        raise TypeError("no RDB encoding for %s values" % type(value).__name__)
    return writer(parts, value, config, compress)


def _put_list(parts: list, value: ListValue, config, compress: bool) -> int:
    parts.append(encode_length(len(value.nodes)))
    encoded: dict[bytes, bytes] = {}  # equal elements are encoded once
    for node, elements in zip(value.nodes, value.node_elements()):
        if node[PLAIN]:
            parts.append(_SHORT_LENGTHS[QUICKLIST_PLAIN])
            _put_string(parts, elements[0], compress)
            continue
        entries = []
        for element in elements:
            entry = encoded.get(element)
            if entry is None:
                entry = encoded[element] = listpack.encode_entry(element)
            entries.append(entry)
        parts.append(_SHORT_LENGTHS[QUICKLIST_PACKED])
        _put_string(parts, listpack.assemble(entries), compress)
    return TYPE_LIST_QUICKLIST_2


def _put_hash(parts: list, value: HashValue, config, compress: bool) -> int:
    if not value.hashtable:
        items = [part for pair in value.items() for part in pair]
        _put_string(parts, listpack.encode(items), compress)
        return TYPE_HASH_LISTPACK
    parts.append(encode_length(len(value)))
    for field, item in value.items():
        _put_string(parts, field, compress)
        _put_string(parts, item, compress)
    return TYPE_HASH


def _put_set(parts: list, value: SetValue, config, compress: bool) -> int:
    if value.intset:
        _put_string(parts, intset.encode(sorted(map(int, value.seq)), value.intset_width), compress)
        return TYPE_SET_INTSET
    parts.append(encode_length(len(value)))
    for member in value:
        _put_string(parts, member, compress)
    return TYPE_SET


def _put_zset(parts: list, value: ZSetValue, config, compress: bool) -> int:
    if value.listpack:
        items = []
        for score, member in value.order:
            items += (member, listpack_score_entry(score))
        _put_string(parts, listpack.encode(items), compress)
        return TYPE_ZSET_LISTPACK
    parts.append(encode_length(len(value)))
    for score, member in reversed(value.order):  # greatest first, as zslInsert loads fastest
        _put_string(parts, member, compress)
        parts.append(_PACK_DOUBLE(score))
    return TYPE_ZSET_2


def listpack_score_entry(score: float):
    """A score as zzlInsertAt stores it: integral values within 2**62 as integers, else %.17g text."""
    if -_LLONG_HALF <= score <= _LLONG_HALF and score == int(score):
        return int(score)
    return b"%.17g" % score


def _put_json(parts: list, value: JsonValue, config, compress: bool) -> int:
    parts.append(encode_length(JSON_MODULE_ID))
    parts.append(_SHORT_LENGTHS[MODULE_OP_STRING])
    _put_string(parts, dumps(value.root, value.floats).encode(), compress)
    parts.append(_SHORT_LENGTHS[MODULE_OP_EOF])
    return TYPE_MODULE_2


_WRITERS = {
    ListValue: _put_list,
    HashValue: _put_hash,
    SetValue: _put_set,
    ZSetValue: _put_zset,
    JsonValue: _put_json,
}


def encode_value(value, config) -> tuple[int, bytes]:
    """A value's RDB type and encoding (with ``rdbcompression`` from config)."""
    parts: list[bytes] = []
    kind = _put_value(parts, value, config, config["rdbcompression"])
    return kind, b"".join(parts)


def dump_payload(value, config) -> bytes:
    """DUMP's serialization: type, value, then the sealing payload_ok checks."""
    kind, body = encode_value(value, config)
    return sealed_payload(bytes((kind,)) + body)


def sealed_payload(body: bytes) -> bytes:
    """A DUMP / FUNCTION DUMP payload: the body, RDB version (2 bytes LE), CRC-64 (8 bytes LE)."""
    payload = body + RDB_VERSION.to_bytes(2, "little")
    return payload + crc64(0, payload).to_bytes(8, "little")


def write(node, extra_aux: list[tuple[bytes, bytes]] = (), aof_base: bool = False,
          functions_only: bool = False) -> bytes:
    """A whole RDB file of the node's databases, as redis-server 7.0's rdbSave writes it.

    ``extra_aux`` (name, value) fields go after used-mem, where Redis puts
    its replication fields (repl-stream-db, repl-id, repl-offset).
    ``functions_only``: the libraries without the keys (REPLCONF rdb-filter-only functions).
    """
    config = node.config
    compress = config["rdbcompression"]
    parts = [MAGIC + b"%04d" % RDB_VERSION]
    aux = [
        (b"redis-ver", REDIS_VERSION),
        (b"redis-bits", b"%d" % node.info.arch_bits),
        (b"ctime", b"%d" % (node.now // 1000)),
        (b"used-mem", b"%d" % node.evictor.used()),
        *extra_aux,
        (b"aof-base", b"1" if aof_base else b"0"),
    ]
    for name, value in aux:
        parts.append(bytes((OP_AUX,)))
        _put_string(parts, name, compress)
        _put_string(parts, value, compress)
    parts.append(function_records(node, compress))
    for db in node.dbs:
        if db.data and not functions_only:
            _put_database(parts, db, config, compress)
    parts.append(bytes((OP_EOF,)))
    body = b"".join(parts)
    checksum = crc64(0, body) if config["rdbchecksum"] else 0
    return body + checksum.to_bytes(8, "little")


_TYPE_BYTES = [bytes((n,)) for n in range(256)]


def function_records(node, compress: bool) -> bytes:
    """Each FUNCTION library as Redis 7.0 saves it: the FUNCTION2 opcode, then its code."""
    parts = []
    for library in node.functions.libraries.values():
        parts.append(_TYPE_BYTES[OP_FUNCTION2])
        _put_string(parts, library.code, compress)
    return b"".join(parts)


def _put_database(parts: list, db, config, compress: bool) -> None:
    parts += (
        _TYPE_BYTES[OP_SELECTDB], encode_length(db.index),
        _TYPE_BYTES[OP_RESIZEDB], encode_length(len(db.data)), encode_length(len(db.expires)),
    )
    expires = db.expires
    expire_op = _TYPE_BYTES[OP_EXPIRETIME_MS]
    string_type = _TYPE_BYTES[TYPE_STRING]
    for key, value in db.data.items():
        if expires:
            when = expires.get(key)
            if when is not None:
                parts += (expire_op, _PACK_MS(when))
        if type(value) is bytes:
            parts.append(string_type)
            _put_string(parts, key, compress)
            _put_string(parts, value, compress)
            continue
        at = len(parts)
        parts.append(b"")  # the type byte, known once the value is written
        _put_string(parts, key, compress)
        parts[at] = _TYPE_BYTES[_put_value(parts, value, config, compress)]


# -- reading -------------------------------------------------------------------

EOF_ERROR = "Unexpected EOF reading RDB file"
EMPTY_KEY = "empty key"  # RDB_LOAD_ERR_EMPTY_KEY: RESTORE refuses it, a file's is skipped
_UNPACK_DOUBLE = struct.Struct("<d").unpack_from
_UNPACK_MS = struct.Struct("<q").unpack_from


class Cursor:
    """A read position in an RDB file or payload; every read checks the bounds."""

    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def take(self, size: int) -> bytes:
        start = self.pos
        stop = start + size
        if stop > self.end:
            raise RdbError(EOF_ERROR, self.end)
        self.pos = stop
        return self.data[start:stop]

    def byte(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise RdbError(EOF_ERROR, self.end)
        self.pos = pos + 1
        return self.data[pos]

    def length_or_encoding(self) -> tuple[int, bool]:
        """rdbLoadLen: a length, or (with True) the special string encoding that follows."""
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return int.from_bytes(self.take(4), "big"), False
        if first == 0x81:
            return int.from_bytes(self.take(8), "big"), False
        raise RdbError("Unknown length encoding %d in rdbLoadLen()" % first, self.pos - 1)

    def length(self) -> int:
        """rdbLoadLen: a length; the 6 bits of a string encoding byte count as one, as Redis reads them."""
        return self.length_or_encoding()[0]

    def string(self) -> bytes:
        """rdbGenericLoadStringObject: raw, integer (in decimal) or LZF."""
        at = self.pos
        value, encoded = self.length_or_encoding()
        if not encoded:
            return self.take(value)
        if value == ENC_INT8:
            return b"%d" % int.from_bytes(self.take(1), "little", signed=True)
        if value == ENC_INT16:
            return b"%d" % int.from_bytes(self.take(2), "little", signed=True)
        if value == ENC_INT32:
            return b"%d" % int.from_bytes(self.take(4), "little", signed=True)
        if value == ENC_LZF:
            packed_size = self.length()
            size = self.length()
            packed = self.take(packed_size)
            if not size:
                return b""  # lzf_decompress into no room "succeeds" with 0 bytes, as many as asked for
            try:
                return lzf.decompress(packed, size)
            except lzf.LzfError:
                raise RdbError("Invalid LZF compressed string", at) from None
        raise RdbError("Unknown RDB string encoding type %d" % value, at)

    def binary_double(self) -> float:
        return _UNPACK_DOUBLE(self.take(8))[0]

    def text_double(self) -> float:
        """rdbLoadDoubleValue (RDB < 8 sorted sets): length byte, or 253 nan, 254 inf, 255 -inf."""
        size = self.byte()
        if size >= 253:
            return (math.nan, math.inf, -math.inf)[size - 253]
        at = self.pos
        try:
            return float(self.take(size))
        except ValueError:
            raise RdbError("bad double value", at) from None


class Snapshot:
    """What a file holds: its version, AUX fields, and the keys of each database.

    ``databases`` maps a db index to ``(values, expires)``: key -> value in
    file order, and key -> absolute expiry time in ms. ``empty_keys``: the keys
    of empty collections, skipped (Redis logs them).
    """

    __slots__ = ("version", "aux", "databases", "end", "empty_keys", "functions", "selected", "keys_read", "resume_at")

    def __init__(self, version: int) -> None:
        self.version = version
        self.selected = 0  # the database the records being read go to (SELECTDB)
        self.keys_read = 0
        self.resume_at = 0  # the offset just past the last key (or function, or empty key) read whole
        self.aux: dict[bytes, bytes] = {}
        self.databases: dict[int, tuple[dict[bytes, object], dict[bytes, int]]] = {}
        self.end = 0  # the offset just past the file (an AOF's commands may follow)
        self.empty_keys: list[bytes] = []
        self.functions: list[bytes] = []  # each FUNCTION library's code

    def entries(self) -> list[tuple[int, bytes, object, int | None]]:
        """Every key as (db index, key, value, expire ms or None), in file order per db."""
        out = []
        for index, (values, expires) in sorted(self.databases.items()):
            out += [(index, key, value, expires.get(key)) for key, value in values.items()]
        return out

    def database(self, index: int) -> tuple[dict[bytes, object], dict[bytes, int]]:
        tables = self.databases.get(index)
        if tables is None:
            tables = self.databases[index] = ({}, {})
        return tables


def parse(data: bytes, config=None, databases: int = 16, verify_checksum: bool = True) -> Snapshot:
    """Read a whole RDB file; RdbError (with the offset) when it is not one Redis 7.0 would load.

    ``config`` gives the encoding thresholds the values are loaded with
    (defaults when None).
    """
    reader = RdbReader(data, config, databases, verify_checksum)
    reader.step()
    return reader.snapshot()


class RdbReader:
    """An RDB file read a step at a time, as a server that serves clients while it loads reads it.

    `step` reads whole keys until a byte budget is used up (or to the end);
    once it has read the end, `snapshot` checks what only the end can show (duplicated
    keys, the checksum) and gives the file's `Snapshot`. Errors are
    `RdbError`s with the offset, from either.
    """

    def __init__(self, data: bytes, config=None, databases: int = 16, verify_checksum: bool = True) -> None:
        data = bytes(data)
        self.config = config or Config()
        self.parsed = Snapshot(read_header(data))
        self.cursor = Cursor(data, HEADER_SIZE)
        self.databases = databases
        self.verify_checksum = verify_checksum

    @property
    def position(self) -> int:
        return self.cursor.pos

    @property
    def size(self) -> int:
        return self.cursor.end

    def step(self, budget: int | None = None) -> bool:
        """Read keys until `budget` more bytes were read (None: all of them); True at the end."""
        pause_at = None if budget is None else self.cursor.pos + budget
        deep = self.config["sanitize-dump-payload"] == "yes"
        return read_records(self.cursor, self.parsed, self.config, self.databases, deep, pause_at)

    def snapshot(self) -> Snapshot:
        parsed, cursor = self.parsed, self.cursor
        check_keys(parsed)
        if parsed.version >= 5:
            check_trailer(cursor, self.verify_checksum)
        parsed.end = cursor.pos
        return parsed


HEADER_SIZE = 9  # "REDIS" and four digits of version


def read_header(data: bytes) -> int:
    """The version of the RDB file ``data`` starts (with at least HEADER_SIZE bytes)."""
    if data[:5] != MAGIC or not data[5:9].isdigit():
        raise RdbError("Wrong signature trying to load DB from file", 0)
    version = int(data[5:9])
    if not 1 <= version <= RDB_VERSION_MAX_READ:
        raise RdbError("Can't handle RDB format version %d" % version, 5)
    return version


def check_keys(parsed: Snapshot) -> None:
    """What only the end shows: a key read twice. Databases left empty go."""
    parsed.databases = {index: tables for index, tables in parsed.databases.items() if tables[0]}
    if parsed.keys_read != sum(len(values) for values, _ in parsed.databases.values()):
        raise RdbError("Duplicated key found in RDB file", 9)


def check_trailer(cursor: Cursor, verify: bool, crc_before: int = 0) -> None:
    """Read the checksum at the cursor: that of the bytes before it, which continue
    ``crc_before`` (the CRC-64 of what came before ``cursor.data``)."""
    at = cursor.pos
    stored = int.from_bytes(cursor.take(8), "little")
    if verify and stored and stored != crc64(crc_before, cursor.data[:at]):
        raise RdbError("RDB CRC error: wrong checksum %016x" % stored, at)


def read_records(cursor: Cursor, parsed: Snapshot, config, databases: int, deep: bool,
                 pause_at: int | None = None) -> bool:
    """The record loop of rdbLoadRio, to the end (True) or, with `pause_at`, to the first key
    that ends past it (False). ``deep``: sanitize values deeply. ``parsed.keys_read`` and
    ``resume_at`` follow each record that adds to ``parsed``: a reading cut off by the end of
    the data can start again there (`kvcore.rdb_feed`)."""
    try:
        return _record_loop(cursor, parsed, config, databases, deep, pause_at)
    except IndexError:
        raise RdbError(EOF_ERROR, cursor.end) from None


def _record_loop(cursor: Cursor, parsed: Snapshot, config, databases: int, deep: bool, pause_at: int | None) -> bool:
    """String keys and values with 6-bit lengths (the common case) are read inline.

    Reading past the end raises IndexError (or leaves a slice short, which
    the checks on ``pos`` catch); everything else goes through the cursor.
    """
    data = cursor.data
    end = cursor.end
    values, expires = parsed.database(parsed.selected)
    expire = None
    count = parsed.keys_read
    pos = cursor.pos
    while True:
        kind = data[pos]
        if kind == 0:  # TYPE_STRING
            first = data[pos + 1]
            if first < 0x40:
                stop = pos + 2 + first
                key = data[pos + 2 : stop]
            else:
                cursor.pos = pos + 1
                key = cursor.string()
                stop = cursor.pos
            size = data[stop]
            if size < 0x40:
                pos = stop + 1 + size
                if pos > end:
                    raise IndexError
                values[key] = data[stop + 1 : pos]
            else:
                cursor.pos = stop
                values[key] = cursor.string()
                pos = cursor.pos
        elif kind < OP_FUNCTION2:
            cursor.pos = pos + 1
            key = cursor.string()
            value = read_value_or_undecoded(cursor, kind, config, deep)
            pos = cursor.pos
            if value is None:
                expire = None  # an empty collection: skipped, as Redis does
                parsed.empty_keys.append(key)
                parsed.resume_at = pos
                continue
            values[key] = value
        else:
            cursor.pos = pos + 1
            if kind == OP_EOF:
                parsed.keys_read = count
                return True
            if kind == OP_EXPIRETIME_MS:
                expire = _UNPACK_MS(cursor.take(8))[0]
            elif kind == OP_EXPIRETIME:
                expire = int.from_bytes(cursor.take(4), "little", signed=True) * 1000
            elif kind == OP_SELECTDB:
                index = cursor.length()
                if index >= databases:
                    raise RdbError("Data file was created with a Redis server configured to handle "
                                   "more than %d databases" % databases, pos)
                values, expires = parsed.database(index)
                parsed.selected = index
            else:
                _read_opcode(cursor, kind, parsed)
                if kind == OP_FUNCTION2:
                    parsed.resume_at = cursor.pos
            pos = cursor.pos
            continue
        count += 1
        if expire is not None:
            expires[key] = expire
            expire = None
        parsed.resume_at = pos
        parsed.keys_read = count
        if pause_at is not None and pos >= pause_at:
            cursor.pos = pos
            return False


def _read_opcode(cursor: Cursor, kind: int, parsed: Snapshot) -> None:
    """The opcodes that carry no key: AUX, RESIZEDB, IDLE, FREQ, functions, module AUX."""
    if kind == OP_AUX:
        name = cursor.string()
        parsed.aux[name] = cursor.string()
    elif kind == OP_RESIZEDB:
        cursor.length()
        cursor.length()
    elif kind == OP_IDLE:
        cursor.length()
    elif kind == OP_FREQ:
        cursor.byte()
    elif kind == OP_FUNCTION2:
        parsed.functions.append(cursor.string())
    elif kind == OP_FUNCTION:
        cursor.string()
        cursor.string()
        if cursor.length():
            cursor.string()
        cursor.string()
    elif kind == OP_MODULE_AUX:
        at = cursor.pos
        cursor.length()
        if cursor.length() != MODULE_OP_UINT:
            raise RdbError("bad when_opcode", at)
        cursor.length()
        _skip_module_data(cursor)
    else:
        raise RdbError("Unknown RDB encoding type %d" % kind, cursor.pos - 1)


def _skip_module_data(cursor: Cursor) -> None:
    """Module opcodes and their values up to the module EOF, as redis-check-rdb reads them."""
    while True:
        at = cursor.pos
        op = cursor.length()
        if op == MODULE_OP_EOF:
            return
        if op in (MODULE_OP_SINT, MODULE_OP_UINT):
            cursor.length()
        elif op == MODULE_OP_FLOAT:
            cursor.take(4)
        elif op == MODULE_OP_DOUBLE:
            cursor.take(8)
        elif op == MODULE_OP_STRING:
            cursor.string()
        else:
            raise RdbError("Unknown module opcode %d" % op, at)


def read_value_or_undecoded(cursor: Cursor, kind: int, config, deep: bool):
    """`_read_value`; but without ``deep``, content that only a deep check refuses is taken as
    Redis takes it: kept undecoded (`CorruptValue`), its bytes as they are."""
    at = cursor.pos
    try:
        return _read_value(cursor, kind, config, deep)
    except RdbError as exc:
        if deep or not exc.in_content or exc.crash is not None or kind not in _UNDECODED_TYPES:
            raise
        type_name, encoding = _UNDECODED_TYPES[kind]
        body = bytes((kind,)) + bytes(cursor.data[at : cursor.pos])
        return CorruptValue(type_name, encoding, sealed_payload(body), exc.crash_on_read or assertion_failed(LP_VALID_ENTRY),
                            exc.crash_reading_back)


def _read_value(cursor: Cursor, kind: int, config, deep: bool):
    """rdbLoadObject: the value of a type; None for an empty collection.

    ``deep`` is sanitize-dump-payload's deep sanitization. A blob that is not
    a well-formed listpack, ziplist, zipmap or intset fails with Redis's
    message for that type ("Ziplist integrity check failed." ...); so does any
    other error decoding it, so that a corrupt value never gets further.
    """
    reader = _READERS.get(kind)
    if reader is None:
        raise RdbError("Unknown RDB encoding type %d" % kind, cursor.pos)
    at = cursor.pos
    try:
        return reader(cursor, config, deep)
    except RdbError:
        raise
    except listpack.ListpackError as exc:
        raise RdbError(_INTEGRITY_ERRORS.get(kind, str(exc)), at, exc.in_content) from None
    except (ziplist.ZiplistError, intset.IntsetError) as exc:
        raise RdbError(_INTEGRITY_ERRORS.get(kind, str(exc)), at) from None
    except (ValueError, IndexError, OverflowError, struct.error, MemoryError) as exc:
        raise RdbError(_INTEGRITY_ERRORS.get(kind, "Bad value: %s" % exc), at) from None


_INTEGRITY_ERRORS = {  # rdbLoadObject's messages for a blob that fails its integrity check
    TYPE_HASH_ZIPMAP: "Zipmap integrity check failed.",
    TYPE_LIST_ZIPLIST: "List ziplist integrity check failed.",
    TYPE_SET_INTSET: "Intset integrity check failed.",
    TYPE_ZSET_ZIPLIST: "Zset ziplist integrity check failed.",
    TYPE_HASH_ZIPLIST: "Hash ziplist integrity check failed.",
    TYPE_LIST_QUICKLIST: "Ziplist integrity check failed.",
    TYPE_HASH_LISTPACK: "Hash listpack integrity check failed.",
    TYPE_ZSET_LISTPACK: "Zset listpack integrity check failed.",
    TYPE_LIST_QUICKLIST_2: "Listpack integrity check failed.",
    TYPE_SET_LISTPACK: "Set listpack integrity check failed.",
    TYPE_STREAM_LISTPACKS: "Stream listpack integrity check failed.",
    TYPE_STREAM_LISTPACKS_2: "Stream listpack integrity check failed.",
    TYPE_STREAM_LISTPACKS_3: "Stream listpack integrity check failed.",
}


def _read_string_value(cursor: Cursor, config, deep: bool) -> bytes:
    return cursor.string()


def _read_list(cursor: Cursor, config, deep: bool) -> ListValue | None:
    elements = [cursor.string() for _ in range(cursor.length())]
    return ListValue(elements, config["list-max-listpack-size"]) or None  # pushed at the tail, one by one


def _read_quicklist(cursor: Cursor, config, deep: bool, containers: bool = True):
    """A quicklist of listpacks (or of ziplists without ``containers``); empty nodes are skipped, as Redis does.
    A listpack only a deep check refuses is raised once the whole value is read."""
    value = ListValue()
    unreadable = None
    for _ in range(cursor.length()):
        at = cursor.pos
        container = cursor.length() if containers else QUICKLIST_PACKED
        if container != QUICKLIST_PACKED and container != QUICKLIST_PLAIN:
            raise RdbError("Quicklist integrity check failed.", at)
        blob = cursor.string()
        if not blob:
            raise RdbError("empty quicklist node", at)
        if container == QUICKLIST_PLAIN:
            value.append_stored_node([blob], len(blob), plain=True)
            continue
        if containers:
            try:
                elements = listpack.strings(blob, deep)
            except listpack.ListpackError as exc:
                if not exc.in_content:
                    raise
                unreadable = unreadable or exc
                continue
        else:
            elements = ziplist.strings(blob)  # each ziplist node becomes a listpack node of its own
        if elements:  # Redis skips an empty node; a ziplist node becomes a listpack one
            size = len(blob) if containers else EMPTY_LISTPACK + sum(map(listpack.entry_size, elements))
            value.append_stored_node(elements, size)
    if unreadable is not None:
        raise unreadable
    return value or None


def _read_quicklist_1(cursor: Cursor, config, deep: bool) -> ListValue | None:
    return _read_quicklist(cursor, config, deep, False)


def _read_list_ziplist(cursor: Cursor, config, deep: bool) -> ListValue | None:
    return ListValue(ziplist.strings(cursor.string()), config["list-max-listpack-size"]) or None


def _read_set(cursor: Cursor, config, deep: bool) -> SetValue | None:
    at = cursor.pos
    count = cursor.length()
    members = [cursor.string() for _ in range(count)]
    value = _new_set(members, at)
    if value is not None:
        limit = min(config["set-max-intset-entries"], INTSET_CAP)
        value.intset = count <= limit and all(map(is_int64_text, members))
        if value.intset:
            value.widen_intset(members)
    return value


def _new_set(members: list[bytes], at: int) -> SetValue | None:
    value = SetValue(members)
    if len(value) != len(members):
        raise RdbError("Duplicate set members detected", at)
    return value if members else None


def _read_intset(cursor: Cursor, config, deep: bool) -> SetValue | None:
    at = cursor.pos
    blob = cursor.string()
    members = [b"%d" % number for number in intset.decode(blob, deep)]
    value = _new_set(members, at)
    if value is not None:
        value.intset = len(value) <= config["set-max-intset-entries"]
        value.intset_width = int.from_bytes(blob[0:4], "little")  # as loaded, however narrow its integers
    return value


def _read_set_listpack(cursor: Cursor, config, deep: bool) -> SetValue | None:
    at = cursor.pos
    value = _new_set(listpack.strings(cursor.string(), deep), at)
    if value is not None:
        value.intset = False  # Redis 7.0 has no listpack sets: what is not an intset is a hashtable
    return value


def _read_zset(cursor: Cursor, config, deep: bool, binary: bool = True) -> ZSetValue | None:
    at = cursor.pos
    count = cursor.length()
    score_of = cursor.binary_double if binary else cursor.text_double
    pairs = []
    for _ in range(count):
        member = cursor.string()
        pairs.append((member, score_of()))
    scores = _checked_scores(pairs, at)
    if not scores:
        return None
    longest = max(map(len, scores))
    if count <= config["zset-max-listpack-entries"] and longest <= config["zset-max-listpack-value"]:
        return ZSetValue({member: listpack_score(score) for member, score in scores.items()})
    value = ZSetValue(scores)
    value.listpack = False
    return value


def _read_zset_text(cursor: Cursor, config, deep: bool) -> ZSetValue | None:
    return _read_zset(cursor, config, deep, binary=False)


def _checked_scores(pairs: list[tuple[bytes, float]], at: int, packed: str = "") -> dict[bytes, float]:
    """Members and scores, refused when a member repeats (in a ``packed`` blob, with its integrity
    check's message, as Redis finds it there) or a score is a NaN."""
    scores = dict(pairs)
    if len(scores) != len(pairs):
        raise RdbError(packed or "Duplicate zset fields detected", at)
    if any(math.isnan(score) for score in scores.values()):
        raise RdbError("Zset with NAN score detected", at)
    return scores


def _read_zset_packed(cursor: Cursor, config, deep: bool, ziplists: bool = False) -> ZSetValue | None:
    at = cursor.pos
    blob = cursor.string()
    items = ziplist.entries(blob) if ziplists else listpack.entries(blob, deep)
    message = _INTEGRITY_ERRORS[TYPE_ZSET_ZIPLIST if ziplists else TYPE_ZSET_LISTPACK]
    if len(items) % 2:
        raise RdbError(message, at)
    pairs = []
    for member, score in zip(items[0::2], items[1::2]):
        member = member if type(member) is bytes else b"%d" % member
        pairs.append((member, float(score) if type(score) is int else zzl_strtod(score)))
    try:
        scores = _checked_scores(pairs, at, message)
    except RdbError:
        if ziplists:  # converted to a listpack as it loads, so checked deeply whatever the setting
            raise
        converted = len(pairs) > config["zset-max-listpack-entries"]  # zsetConvert asserts on the duplicate
        crash = assertion_failed("dictAdd(zs->dict,ele,&node->score) == DICT_OK")
        raise RdbError(message, at, True, crash if converted else None) from None
    if not scores:
        return None
    value = ZSetValue(scores)
    value.listpack = len(value) <= config["zset-max-listpack-entries"]
    return value


def _read_zset_ziplist(cursor: Cursor, config, deep: bool) -> ZSetValue | None:
    return _read_zset_packed(cursor, config, deep, True)


_STRTOD_PREFIX = re.compile(
    rb"\s*[+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    rb"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)",
    re.IGNORECASE,
)


def zzl_strtod(text: bytes) -> float:
    """zzlStrtod: a listpack score stored as text, as C's strtod reads its first 127 bytes
    (the longest prefix that is a number; 0 when there is none). Nothing checks it on load."""
    match = _STRTOD_PREFIX.match(text[:127])
    if match is None:
        return 0.0
    number = match.group().strip().lower()
    if b"x" in number:
        return float.fromhex(number.decode())
    return float(number)


def _read_hash(cursor: Cursor, config, deep: bool) -> HashValue | None:
    at = cursor.pos
    count = cursor.length()
    items = [cursor.string() for _ in range(2 * count)]
    value = _new_hash(items, at)
    if value is not None:
        limit = config["hash-max-listpack-value"]
        value.hashtable = count > config["hash-max-listpack-entries"] or any(len(item) > limit for item in items)
    return value


def _new_hash(items: list[bytes], at: int, packed: str = "") -> HashValue | None:
    """Fields and values, refused when a field repeats (in a ``packed`` blob, with its integrity
    check's message, as Redis finds it there)."""
    if len(items) % 2:
        raise RdbError(packed or "Hash listpack integrity check failed.", at)
    value = HashValue(zip(items[0::2], items[1::2]))
    if 2 * len(value) != len(items):
        raise RdbError(packed or "Duplicate hash fields detected", at)
    return value if items else None


def _read_hash_packed(cursor: Cursor, config, deep: bool, ziplists: bool = False) -> HashValue | None:
    at = cursor.pos
    blob = cursor.string()
    items = ziplist.strings(blob) if ziplists else listpack.strings(blob, deep)
    try:
        value = _new_hash(items, at, _INTEGRITY_ERRORS[TYPE_HASH_ZIPLIST if ziplists else TYPE_HASH_LISTPACK])
    except RdbError as exc:
        if ziplists:  # converted to a listpack as it loads, so checked deeply whatever the setting
            raise
        converted = len(items) // 2 > config["hash-max-listpack-entries"]  # where trusting Redis meets the duplicate
        crash = panic("Listpack corruption detected", *_hex_dump("listpack with dup elements dump", blob))
        raise RdbError(exc.message, at, True, crash if converted else None) from None
    if value is not None:
        value.hashtable = len(value) > config["hash-max-listpack-entries"]
    return value


def _read_hash_ziplist(cursor: Cursor, config, deep: bool) -> HashValue | None:
    return _read_hash_packed(cursor, config, deep, True)


def _read_hash_zipmap(cursor: Cursor, config, deep: bool) -> HashValue | None:
    at = cursor.pos
    items = ziplist.zipmap_pairs(cursor.string())
    value = _new_hash(items, at)
    if value is not None:
        longest = max(len(item) for item in items)
        value.hashtable = (
            len(value) > config["hash-max-listpack-entries"] or longest > config["hash-max-listpack-value"]
        )
    return value


def _read_module(cursor: Cursor, config, deep: bool) -> JsonValue:
    """A module value: only RedisJSON documents (encoding versions 2 and 3: the JSON text)."""
    at = cursor.pos
    ident = cursor.length()
    version = ident & 1023
    if ident >> 10 != _JSON_NAME_ID or version not in (2, 3):
        raise RdbError("The RDB file contains module data I can't load: no matching module type '%s'"
                       % module_name(ident), at)
    text = _module_string(cursor)
    if version == 2:  # followed by an (obsolete) count of index fields, and those
        if cursor.length() != MODULE_OP_UINT:
            raise RdbError("bad ReJSON-RL value", at)
        if cursor.length():
            _module_string(cursor)
            _module_string(cursor)
    if cursor.length() != MODULE_OP_EOF:
        raise RdbError("The RDB file contains module data for the module 'ReJSON-RL' that is not "
                       "terminated by the proper module value EOF marker", at)
    try:
        root, floats = parse_json(text)
    except Error as exc:
        raise RdbError("bad JSON document: %s" % exc.text, at) from None
    return JsonValue(root, floats)


def _module_string(cursor: Cursor) -> bytes:
    at = cursor.pos
    if cursor.length() != MODULE_OP_STRING:
        raise RdbError("a module string was expected", at)
    return cursor.string()


def _read_module_1(cursor: Cursor, config, deep: bool):
    at = cursor.pos
    raise RdbError("The RDB file contains module data I can't load: no matching module type '%s'"
                   % module_name(cursor.length()), at)


_READERS = {
    TYPE_STRING: _read_string_value,
    TYPE_LIST: _read_list,
    TYPE_SET: _read_set,
    TYPE_ZSET: _read_zset_text,
    TYPE_HASH: _read_hash,
    TYPE_ZSET_2: _read_zset,
    TYPE_MODULE: _read_module_1,
    TYPE_MODULE_2: _read_module,
    TYPE_HASH_ZIPMAP: _read_hash_zipmap,
    TYPE_LIST_ZIPLIST: _read_list_ziplist,
    TYPE_SET_INTSET: _read_intset,
    TYPE_ZSET_ZIPLIST: _read_zset_ziplist,
    TYPE_HASH_ZIPLIST: _read_hash_ziplist,
    TYPE_LIST_QUICKLIST: _read_quicklist_1,
    TYPE_HASH_LISTPACK: _read_hash_packed,
    TYPE_ZSET_LISTPACK: _read_zset_packed,
    TYPE_LIST_QUICKLIST_2: _read_quicklist,
    TYPE_SET_LISTPACK: _read_set_listpack,
}
RESTORABLE_TYPES = frozenset(range(0, 8)) | frozenset(range(9, 20))  # rdbIsObjectType in 7.0


class LoadResult:
    """What `load` did: keys loaded, the keys skipped as already expired (``dropped``: (db
    index, key) in the file's order), the AUX fields, where the file ended (``end``: an
    AOF's commands may follow), and the keys of the empty collections it skipped
    (``empty_keys``)."""

    __slots__ = ("keys_loaded", "dropped", "aux", "end", "empty_keys")

    def __init__(self, keys_loaded: int, dropped: list[tuple[int, bytes]], aux: dict[bytes, bytes], end: int = 0,
                 empty_keys: list[bytes] | None = None) -> None:
        self.keys_loaded = keys_loaded
        self.dropped = dropped
        self.aux = aux
        self.end = end
        self.empty_keys = empty_keys or []

    @property
    def keys_expired(self) -> int:
        return len(self.dropped)


def load(node, data: bytes, drop_expired: bool = True, flush: bool = True, merge: bool = False) -> LoadResult:
    """Replace the node's data with an RDB file's, as redis-server loads one at start-up.

    Keys already expired at ``node.now`` are dropped, unless ``drop_expired``
    is False (an AOF's RDB preamble, which the log that follows replays on)
    or the node is a replica (it keeps what its primary sent). The checksum
    is verified under ``rdbchecksum yes``. Without ``flush`` (DEBUG RELOAD
    NOFLUSH) the file's keys and libraries join what is there, a clash being
    an error unless ``merge`` lets the file's win. On an RdbError the node's
    data is left unchanged.
    """
    return install(node, parse(data, node.config, len(node.dbs), node.config["rdbchecksum"]), drop_expired,
                   flush, merge)


def install(node, parsed: Snapshot, drop_expired: bool = True, flush: bool = True, merge: bool = False) -> LoadResult:
    """Put what a file held in the node, as `load` does (a file read in steps ends here)."""
    if not flush and not merge:
        if any(library_name(code) in node.functions.libraries for code in parsed.functions):
            raise RdbError("Function library already exists", 0)
        if any(key in node.dbs[index].data for index, (values, _) in parsed.databases.items() for key in values):
            raise RdbError("Duplicated key found in RDB file", 0)
    if flush:
        for db in node.dbs:
            db.clear()
        node.functions.flush()
    for code in parsed.functions:
        node.functions.load(code, replace=True)
    loaded = 0
    dropped: list[tuple[int, bytes]] = []
    for index, (values, expires) in parsed.databases.items():
        db = node.dbs[index]
        if flush:
            db.data = values
            db.order.keys.extend(values)
        else:
            for key, value in values.items():
                db.set(key, value)
        if expires:
            dropped += _install_expires(node, db, expires, drop_expired and not node.is_replica)
        db.recount()
        loaded += len(values)
    return LoadResult(loaded, dropped, parsed.aux, parsed.end, parsed.empty_keys)


def _install_expires(node, db, expires: dict[bytes, int], drop_expired: bool) -> list[tuple[int, bytes]]:
    """Install the TTLs; the keys already expired are dropped instead (when ``drop_expired``)."""
    if not drop_expired:
        db.expires.update(expires)
        return []
    now = node.now
    dropped = []
    for key, when in expires.items():
        if when < now:
            del db.data[key]
            dropped.append((db.index, key))
        else:
            db.expires[key] = when
    return dropped


def payload_ok(payload: bytes, verify_checksum: bool = True) -> bool:
    """verifyDumpPayload: a known RDB version (at most ours) and a matching CRC-64 (unless not verified)."""
    if len(payload) < 10:
        return False
    version = int.from_bytes(payload[-10:-8], "little")
    if version > RDB_VERSION:
        return False
    return not verify_checksum or crc64(0, payload[:-8]) == int.from_bytes(payload[-8:], "little")


def restore_value(payload: bytes, config, deep: bool = True):
    """The value a (verified) DUMP payload holds; RdbError if it holds none or it is corrupt.

    ``deep``: sanitize deeply (sanitize-dump-payload). Without it, content
    that only a deep check refuses is taken as Redis takes it: kept undecoded
    as a `CorruptValue`, or, where Redis's load itself trips on it, an RdbError
    with the ``crash`` that ends the server. Whatever the payload, the outcome
    is one of those, never another exception.
    """
    kind = payload[0]
    if kind not in RESTORABLE_TYPES:
        raise RdbError("Unknown RDB encoding type %d" % kind, 0)
    value = read_value_or_undecoded(Cursor(payload, 1), kind, config, deep)  # a value may run into the footer, as in Redis
    if value is None:
        raise RdbError(EMPTY_KEY, 1)
    return value


LP_VALID_ENTRY = "lpValidateNext(lp, &p, lpbytes)"  # lpAssertValidEntry's assertion, on a broken listpack entry

_UNDECODED_TYPES = {  # the TYPE and OBJECT ENCODING of a value kept undecoded, by the types that can be
    TYPE_HASH_LISTPACK: ("hash", "listpack"),
    TYPE_ZSET_LISTPACK: ("zset", "listpack"),
    TYPE_LIST_QUICKLIST_2: ("list", "quicklist"),
    TYPE_STREAM_LISTPACKS: ("stream", "stream"),
    TYPE_STREAM_LISTPACKS_2: ("stream", "stream"),
}


def _hex_dump(description: str, blob: bytes) -> tuple[str, ...]:
    """serverLogHexDump's lines: the description, then the bytes in hex, 64 digits a line."""
    text = blob.hex()
    return ("%s (hexdump of %d bytes):" % (description, len(blob)), *(text[i : i + 64] for i in range(0, len(text), 64)))


def _put_corrupt(parts: list, value: CorruptValue, config, compress: bool) -> int:
    parts.append(value.body)
    return value.kind


# Streams' codec builds on this module's primitives, so it registers itself last.
from kvcore.rdb_stream import READERS as _STREAM_READERS  # noqa: E402
from kvcore.rdb_stream import put_stream  # noqa: E402
from kvcore.types_stream import StreamValue  # noqa: E402

_WRITERS[StreamValue] = put_stream
_WRITERS[CorruptValue] = _put_corrupt
_READERS.update(_STREAM_READERS)
