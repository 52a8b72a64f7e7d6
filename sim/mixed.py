"""The mixed workload's commands: Redis's writes across every type, for the checks that judge state.

An operation works on one family of keys, named after the workload's key in a
hash tag: ``{k7}:l`` is always a list, ``{k7}:l2`` a second list for moves and
stores, ``{k7}:z`` a sorted set, and so on (`FAMILIES`), so a key's type never
changes and no correct server answers an error beyond the few each command
allows (`ALLOWED_ERRORS`: RENAME of a missing key, LSET past the end...). An
operation is one command, or a few in MULTI/EXEC, run by a Lua script, or run
in database 1; some set a TTL short enough to expire during the run.

The history has no checker of its own: the workload is for the state it leaves,
which the restart check (`sim.restart`) and, with replicas, the convergence
check judge. They see every command's logging and replication (SPOP as SREM,
XADD * with its ID, a served BLMOVE as LMOVE, relative TTLs as deadlines,
INCRBYFLOAT as SET, a script's effects) and every type's encodings in
snapshots and rewritten logs (listpack, intset, quicklist, skiplist, hashtable,
stream, HyperLogLog, JSON); collections sometimes grow past the listpack limits
in one command. Each family also has a function library of its own, loaded,
replaced, called and deleted (FUNCTION LOAD, FCALL, FUNCTION DELETE), which the
checks compare too; keys move and are copied between databases 0 and 1, which
are now and then swapped or emptied (MOVE, COPY ... DB, SWAPDB, FLUSHDB). The
final read checks each key's TYPE.
"""

from __future__ import annotations

import random
from collections.abc import Callable

Argv = list[bytes]

SIZES = (1, 1, 1, 2, 3, 5, 20, 150)  # elements per command: sometimes past the listpack limits at once
TTL_MS_MAX = 3000
BLOCK_S = b"0.05"  # blocking commands' timeout: a push by another client may serve them first
JSON_SHARE = 0.05
FUNCTION_SHARE = 0.03
DATABASES_SHARE = 0.02
SCRIPT_SHARE = 0.05
TRANSACTION_SHARE = 0.1
DATABASE_1_SHARE = 0.05
EXPIRE_SHARE = 0.08

ALLOWED_ERRORS = (
    "ERR no such key",  # RENAME, LSET of a missing key
    "ERR index out of range",  # LSET past the end
    "BUSYGROUP",  # XGROUP CREATE of an existing group
    "NOGROUP",  # a consumer group that went with its stream
    "ERR The XGROUP subcommand requires the key to exist",  # XGROUP SETID, DELCONSUMER of a missing stream
    "ERR Library not found",  # FUNCTION DELETE of a library not loaded (or deleted since)
)
BLOCKING = {b"BLMOVE", b"BLPOP", b"BZPOPMIN"}  # a script runs them without blocking: left out of scripts


def _bytes(*parts) -> Argv:
    return [part if type(part) is bytes else str(part).encode() for part in parts]


def _member(rng: random.Random) -> str:
    """Integers (intset, listpack integers) or text, sometimes past 64 bytes (listpack value limits)."""
    roll = rng.random()
    if roll < 0.4:
        return str(rng.randint(-1000, 1000))
    if roll < 0.45:
        return str(rng.randint(-2**63, 2**63 - 1))
    if roll < 0.5:
        return "v" * 70 + str(rng.randrange(100))
    return "m" + str(rng.randrange(300))


def _score(rng: random.Random) -> str:
    return rng.choice((str(rng.randint(-100, 100)), f"{rng.uniform(-1e6, 1e6):.17g}", "inf", "-inf",
                       str(rng.randint(2**31, 2**53))))


def _members(rng: random.Random) -> list[str]:
    return [_member(rng) for _ in range(rng.choice(SIZES))]


def _string(rng: random.Random, k: str) -> Argv:
    s, s2 = f"{k}:s", f"{k}:s2"
    value = _member(rng)
    return rng.choice((
        lambda: _bytes("SET", s, value, *rng.choice(((), ("EX", rng.randint(1, 3)), ("PX", rng.randint(1, TTL_MS_MAX)),
                                                     ("KEEPTTL",), ("NX",), ("XX", "GET"), ("GET",)))),
        lambda: _bytes("APPEND", s, value),
        lambda: _bytes("SETRANGE", s, rng.randrange(100), value),
        lambda: _bytes("GETDEL", s),
        lambda: _bytes("GETEX", s, *rng.choice((("PX", rng.randint(1, TTL_MS_MAX)), ("PERSIST",)))),
        lambda: _bytes("PSETEX", s2, rng.randint(1, TTL_MS_MAX), value),
        lambda: _bytes("MSET", s, value, s2, _member(rng)),
        lambda: _bytes("COPY", s, s2, "REPLACE"),
        lambda: _bytes("RENAME", s, s2),
        lambda: _bytes("SETNX", s2, value),
    ))()


def _integer(rng: random.Random, k: str) -> Argv:
    n = f"{k}:n"
    return rng.choice((
        lambda: _bytes("INCR", n), lambda: _bytes("DECR", n), lambda: _bytes("INCRBY", n, rng.randint(-1000, 1000)),
        lambda: _bytes("DECRBY", n, rng.randint(-10, 10)), lambda: _bytes("SET", n, rng.randint(-5, 5), "GET"),
    ))()


def _float(rng: random.Random, k: str) -> Argv:
    return _bytes("INCRBYFLOAT", f"{k}:f", rng.choice(("1.5", "-0.25", "3e2", str(rng.randint(-9, 9)))))


def _bitmap(rng: random.Random, k: str) -> Argv:
    b, b2 = f"{k}:b", f"{k}:b2"
    return rng.choice((
        lambda: _bytes("SETBIT", b, rng.randrange(2000), rng.randrange(2)),
        lambda: _bytes("BITOP", rng.choice(("AND", "OR", "XOR")), b2, b, b2),
        lambda: _bytes("BITOP", "NOT", b2, b),
        lambda: _bytes("BITFIELD", b, "SET", "u8", "#3", rng.randrange(256), "OVERFLOW", "SAT",
                       "INCRBY", "i5", rng.randrange(100), rng.randint(-20, 20)),
    ))()


def _list(rng: random.Random, k: str) -> Argv:
    lst, l2 = f"{k}:l", f"{k}:l2"
    ends = ("LEFT", "RIGHT")
    return rng.choice((
        lambda: _bytes(rng.choice(("LPUSH", "RPUSH")), lst, *_members(rng)),
        lambda: _bytes(rng.choice(("LPUSHX", "RPUSHX")), l2, *_members(rng)),
        lambda: _bytes(rng.choice(("LPOP", "RPOP")), lst, *rng.choice(((), (rng.randint(1, 4),)))),
        lambda: _bytes("LINSERT", lst, rng.choice(("BEFORE", "AFTER")), _member(rng), _member(rng)),
        lambda: _bytes("LSET", lst, rng.randint(-5, 5), _member(rng)),
        lambda: _bytes("LREM", lst, rng.randint(-2, 2), _member(rng)),
        lambda: _bytes("LTRIM", lst, rng.randint(0, 3), rng.randint(-3, 200)),
        lambda: _bytes("LMOVE", lst, l2, rng.choice(ends), rng.choice(ends)),
        lambda: _bytes("RPOPLPUSH", l2, lst),
        lambda: _bytes("LMPOP", 2, lst, l2, rng.choice(ends), "COUNT", rng.randint(1, 3)),
        lambda: _bytes("BLMOVE", lst, l2, rng.choice(ends), rng.choice(ends), BLOCK_S),
        lambda: _bytes("BLPOP", l2, lst, BLOCK_S),
    ))()


def _hash(rng: random.Random, k: str) -> Argv:
    h = f"{k}:h"
    fields = _members(rng)
    return rng.choice((
        lambda: _bytes("HSET", h, *(part for field in fields for part in (field, _member(rng)))),
        lambda: _bytes("HSETNX", h, fields[0], _member(rng)),
        lambda: _bytes("HDEL", h, *fields),
        lambda: _bytes("HINCRBY", h, "count", rng.randint(-50, 50)),
        lambda: _bytes("HINCRBYFLOAT", h, "float", rng.choice(("0.5", "-1.25", "1e3"))),
    ))()


def _set(rng: random.Random, k: str) -> Argv:
    t, t2, t3 = f"{k}:t", f"{k}:t2", f"{k}:t3"
    return rng.choice((
        lambda: _bytes("SADD", rng.choice((t, t2)), *_members(rng)),
        lambda: _bytes("SREM", t, *_members(rng)),
        lambda: _bytes("SPOP", t, *rng.choice(((), (rng.randint(1, 5),)))),
        lambda: _bytes("SMOVE", t, t2, _member(rng)),
        lambda: _bytes(rng.choice(("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE")), t3, t, t2),
    ))()


def _zset(rng: random.Random, k: str) -> Argv:
    z, z2, z3 = f"{k}:z", f"{k}:z2", f"{k}:z3"
    pairs = [part for member in _members(rng) for part in (_score(rng), member)]
    return rng.choice((
        lambda: _bytes("ZADD", rng.choice((z, z2)), *rng.choice(((), ("NX",), ("XX", "CH"), ("GT",), ("LT", "CH"))),
                       *pairs),
        lambda: _bytes("ZADD", z, "INCR", rng.randint(-5, 5), _member(rng)),
        lambda: _bytes("ZINCRBY", z, rng.choice(("1", "-2.5")), _member(rng)),
        lambda: _bytes("ZREM", z, *_members(rng)),
        lambda: _bytes(rng.choice(("ZPOPMIN", "ZPOPMAX")), z, rng.randint(1, 3)),
        lambda: _bytes("ZREMRANGEBYRANK", z, 0, rng.randint(0, 2)),
        lambda: _bytes("ZREMRANGEBYSCORE", z, "(" + str(rng.randint(-100, 0)), rng.randint(0, 100)),
        lambda: _bytes(rng.choice(("ZUNIONSTORE", "ZINTERSTORE")), z3, 2, z, z2, "WEIGHTS", 1, 2,
                       "AGGREGATE", rng.choice(("SUM", "MIN", "MAX"))),
        lambda: _bytes("ZDIFFSTORE", z3, 2, z, z2),
        lambda: _bytes("ZRANGESTORE", z3, z, 0, rng.randint(0, 10)),
        lambda: _bytes("ZMPOP", 2, z, z2, rng.choice(("MIN", "MAX")), "COUNT", 2),
        lambda: _bytes("BZPOPMIN", z2, z, BLOCK_S),
    ))()


def _geo(rng: random.Random, k: str) -> Argv:
    g, g2 = f"{k}:g", f"{k}:g2"
    return rng.choice((
        lambda: _bytes("GEOADD", g, f"{rng.uniform(-180, 180):.6f}", f"{rng.uniform(-85, 85):.6f}", _member(rng)),
        lambda: _bytes("GEOSEARCHSTORE", g2, g, "FROMLONLAT", 0, 0, "BYRADIUS", 20000, "km", "ASC", "COUNT", 5,
                       *rng.choice(((), ("STOREDIST",)))),
    ))()


def _stream(rng: random.Random, k: str) -> Argv:
    x = f"{k}:x"
    return rng.choice((
        lambda: _bytes("XADD", x, *rng.choice(((), ("MAXLEN", "~", 50), ("MINID", "0-1"))), "*",
                       *(part for field in _members(rng)[:4] for part in (field, _member(rng)))),
        lambda: _bytes("XTRIM", x, "MAXLEN", rng.randint(0, 30)),
        lambda: _bytes("XDEL", x, f"{rng.randint(0, 10**13)}-0"),
        lambda: _bytes("XGROUP", "CREATE", x, "g", rng.choice(("$", "0")), "MKSTREAM"),
        lambda: _bytes("XREADGROUP", "GROUP", "g", f"c{rng.randrange(3)}", "COUNT", 2, "STREAMS", x, ">"),
        lambda: _bytes("XAUTOCLAIM", x, "g", f"c{rng.randrange(3)}", 0, "0-0", "COUNT", 2),
        lambda: _bytes("XGROUP", "DELCONSUMER", x, "g", f"c{rng.randrange(3)}"),
        lambda: _bytes("XGROUP", "SETID", x, "g", "0"),
    ))()


def _hyperloglog(rng: random.Random, k: str) -> Argv:
    p, p2 = f"{k}:p", f"{k}:p2"
    return rng.choice((
        lambda: _bytes("PFADD", rng.choice((p, p2)), *_members(rng)),
        lambda: _bytes("PFMERGE", p2, p, p2),
    ))()


def _json(rng: random.Random, k: str) -> list[Argv]:
    """A document made if missing (NX), then changed: both in one transaction (`_op`)."""
    j = f"{k}:j"
    doc = '{"n":1,"a":[1,"x"],"s":"t","o":{"f":null}}'
    change = rng.choice((
        lambda: _bytes("JSON.NUMINCRBY", j, "$.n", rng.choice(("2", "-1.5"))),
        lambda: _bytes("JSON.ARRAPPEND", j, "$.a", rng.randint(0, 9), '"y"'),
        lambda: _bytes("JSON.STRAPPEND", j, "$.s", '"u"'),
        lambda: _bytes("JSON.SET", j, "$.o.f", str(rng.randint(0, 99))),
        lambda: _bytes("JSON.ARRPOP", j, "$.a"),
        lambda: _bytes("JSON.DEL", j, "$.o"),
    ))()
    return [_bytes("JSON.SET", j, "$", doc, "NX"), change]


def _function(rng: random.Random, key: str) -> list[Argv]:
    """The family's own function library: loaded (replacing its code with one of two versions) and its
    function called, in one transaction (`operation`), or now and then deleted. Libraries belong to
    the dataset, not to a key: snapshots, logs and replicas must carry them too."""
    library = f"lib_{key}"
    if rng.random() < 0.2:
        return [_bytes("FUNCTION", "DELETE", library)]
    write = rng.choice(("SET", "APPEND"))
    code = (f"#!lua name={library}\nredis.register_function('f_{key}', "
            f"function(keys, args) return redis.call('{write}', keys[1], args[1]) end)")
    return [[b"MULTI"], _bytes("FUNCTION", "LOAD", "REPLACE", code),
            _bytes("FCALL", f"f_{key}", 1, f"{_tag(key)}:s", _member(rng)), [b"EXEC"]]


def _databases(rng: random.Random, k: str) -> list[Argv]:
    """A key of the family moved to database 1 or back (MOVE), or copied there (COPY ... DB 1); now and
    then all of database 1 swapped with database 0 (SWAPDB) or emptied (FLUSHDB)."""
    key = f"{k}:{rng.choice(tuple(TYPES))}{rng.choice(('', '2'))}"
    roll = rng.random()
    if roll < 0.05:
        return [_bytes("SWAPDB", 0, 1)]
    if roll < 0.1:
        return [_bytes("SELECT", 1), _bytes("FLUSHDB", rng.choice(("SYNC", "ASYNC"))), _bytes("SELECT", 0)]
    return rng.choice((
        lambda: [_bytes("MOVE", key, 1)],
        lambda: [_bytes("SELECT", 1), _bytes("MOVE", key, 0), _bytes("SELECT", 0)],
        lambda: [_bytes("COPY", key, key.rstrip("2") + "2", "DB", 1, "REPLACE")],
    ))()


FAMILIES: dict[str, tuple[str, Callable[[random.Random, str], Argv]]] = {
    # suffix: (TYPE of its keys, the command maker); the suffix with 2 or 3 is the same type
    "s": ("string", _string), "n": ("string", _integer), "f": ("string", _float), "b": ("string", _bitmap),
    "l": ("list", _list), "h": ("hash", _hash), "t": ("set", _set), "z": ("zset", _zset), "g": ("zset", _geo),
    "x": ("stream", _stream), "p": ("string", _hyperloglog),
}
TYPES = {**{suffix: kind for suffix, (kind, _) in FAMILIES.items()}, "j": "ReJSON-RL"}
KEY_SUFFIXES = tuple(suffix + n for suffix in TYPES for n in ("", "2", "3"))


def operation(rng: random.Random, key: str, databases: bool = True) -> tuple[str, list[Argv]]:
    """One operation on the key family of `key`: its name for the history, and its commands
    (several inside MULTI/EXEC or around SELECT; not with `databases` off, as in a cluster,
    which has only database 0)."""
    k = _tag(key)
    roll = rng.random()
    if roll < JSON_SHARE:
        return "json", [[b"MULTI"], *_json(rng, k), [b"EXEC"]]
    if roll < JSON_SHARE + FUNCTION_SHARE:
        return "function", _function(rng, key)
    if databases and roll < JSON_SHARE + FUNCTION_SHARE + DATABASES_SHARE:
        return "databases", _databases(rng, k)
    family = rng.choice(tuple(FAMILIES))
    argv = FAMILIES[family][1](rng, k)
    roll = rng.random()
    if roll < EXPIRE_SHARE:
        key = f"{k}:{family}{rng.choice(('', '2'))}"
        ttl = rng.choice(((b"PEXPIRE", rng.randint(1, TTL_MS_MAX)), (b"EXPIRE", rng.randint(1, 3)),
                          (b"PERSIST",)))
        return ttl[0].decode().lower(), [_bytes(ttl[0], key, *ttl[1:])]
    roll -= EXPIRE_SHARE
    if roll < TRANSACTION_SHARE:
        other = FAMILIES[rng.choice(tuple(FAMILIES))][1](rng, k)
        return "multi", [[b"MULTI"], argv, other, [b"EXEC"]]
    roll -= TRANSACTION_SHARE
    if roll < SCRIPT_SHARE and argv[0] not in BLOCKING:
        return "eval", [[b"EVAL", b"return redis.call(unpack(ARGV))", b"0", *argv]]
    roll -= SCRIPT_SHARE
    if databases and roll < DATABASE_1_SHARE:
        return "select", [[b"SELECT", b"1"], argv, [b"SELECT", b"0"]]
    return argv[0].decode().lower(), [argv]


def types_read(key: str) -> list[Argv]:
    """The final read: TYPE of every key of the family."""
    return [_bytes("TYPE", f"{_tag(key)}:{suffix}") for suffix in KEY_SUFFIXES]


def _tag(key: str) -> str:
    """The family's hash tag: its keys are in one cluster slot, as MULTI and the stores need."""
    return "{" + key + "}"


def expected_type(suffix: str) -> str:
    return TYPES[suffix.rstrip("23")]
