"""The reference workload's commands: one client's own keys of one type, each reply predictable.

An operation is one command on a group of keys that only one client uses,
named after the workload's key in a hash tag, all of one type (`kind`, drawn
from the group's name): strings ``{k7}:s`` and ``{k7}:s2``, lists ``{k7}:l``
and ``{k7}:l2``, sets ``{k7}:t`` and ``{k7}:t2``, a hash ``{k7}:h``, sorted
sets ``{k7}:z`` and ``{k7}:z2``, streams ``{k7}:x`` and ``{k7}:x2`` (with
consumer groups ``g1`` and ``g2``), strings ``{k7}:b`` and ``{k7}:b2`` as bits
(SETBIT, BITFIELD...), JSON documents ``{k7}:j`` and ``{k7}:j2``,
HyperLogLogs ``{k7}:p`` and ``{k7}:p2``, geo points ``{k7}:g`` and ``{k7}:g2``, or
sorted sets whose members all have one score, for lex ranges, ``{k7}:y`` and ``{k7}:y2``.
Commands run one at a time, so each reply follows from the ones before;
`jepsen_like.redis_model` says what it must be and `jepsen_like.reference`
checks it. A command goes alone, or now and then in MULTI/EXEC or through a
Lua script (`sent`), with the same reply. Arguments come from small domains (a
few members, small integers, short ranges), so commands meet each other's data:
duplicates in lists, members removed and re-added, ranges past either end,
counters made non-integer by an APPEND, collections emptied and deleted;
commands that add come more often than others, so collections grow between.
The seed draws small encoding limits now and then (`encoding_options`).
Scores are integers (weights positive, so no product is -0), so every score has
one spelling.
Keys get deadlines only as absolute times, far ahead (none falls due in a run) or long past
(the key goes at once), so that every command that keeps, drops or carries a TTL shows it
in EXPIRETIME, PEXPIRETIME, PERSIST and the flags of PEXPIREAT, and in the final read.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable

from jepsen_like.redis_model import DUMP_RESTORE
from sim.rng import derive

Argv = list[str]

FAMILIES = {"string": ("s", "s2"), "list": ("l", "l2"), "set": ("t", "t2"), "hash": ("h",), "zset": ("z", "z2"),
            "stream": ("x", "x2"), "bits": ("b", "b2"), "json": ("j", "j2"),
            "hll": ("p", "p2"), "geo": ("g", "g2"), "lex": ("y", "y2")}
MEMBERS = ("a", "b", "c", "d", "e", "f")
LEX_MEMBERS = ("a", "ab", "abc", "b", "ba", "c", "d")  # all of score 0: prefixes of each other, so ends fall between
LEX_ENDS = ("", "a", "aa", "ab", "abc", "b", "bb", "c", "e")  # what a lex range's ``[`` or ``(`` end names
SET_MEMBERS = ("1", "2", "3", "-4", "50", "a")  # mostly integers: a set starts as an intset, "a" converts it
PLACES = {  # each member's two positions (longitude, latitude): irregular, so no two distances tie
    "a": ((2.3522, 48.8566), (13.4050, 52.5200)), "b": ((-0.1276, 51.5072), (12.4964, 41.9028)),
    "c": ((4.9041, 52.3676), (-3.7038, 40.4168)), "d": ((16.3738, 48.2082), (21.0122, 52.2297)),
    "e": ((14.4378, 50.0755), (19.0402, 47.4979)), "f": ((10.7522, 59.9139), (-9.1393, 38.7223)),
}
GEO_CENTERS = ((8.6821, 50.1109), (11.5820, 48.1351), (7.4474, 46.9480))  # FROMLONLAT: not any member's position
GEO_RADII = (("300", "km"), ("800", "km"), ("1200000", "m"), ("500", "mi"), ("3000000", "ft"))
GEO_BOXES = (("1000", "800", "km"), ("2000", "1500", "km"), ("900", "1200", "mi"))
HLL_MEMBERS = tuple(f"m{i}" for i in range(12))  # each in a HyperLogLog register of its own: counts are exact
ITEMS = ("a", "b", "c")  # list elements: few, so lists hold duplicates for LREM and LINSERT to tell apart
VALUES = ("0", "1", "2", "5", "9", "x", "-3", "12", "9223372036854775805", "-9223372036854775806")  # two a few
# steps from the ends of a 64-bit integer, so that increments overflow
FLOAT_INCREMENTS = ("1.5", "-0.25", "2", "0.1", "-3")
INDEX_MIN, INDEX_MAX = -5, 5
SCORE_MIN, SCORE_MAX = -5, 5
FAR_MS = 4_102_444_800_000  # 2100-01-01: deadlines from here on never fall due in a run
DEADLINE_STEPS_MS = (0, 1500, 3000, 60_000)  # after FAR_MS: apart, so GT and LT compare them
PAST_MS = 1000  # a deadline long past: the key goes at once
ITERATIONS = {"SCAN": 1, "SSCAN": 2, "HSCAN": 2, "ZSCAN": 2}  # each cursor's position: a whole iteration is one operation
BLOCK_S = "0.01"  # blocking commands' timeout: on empty keys they wait it out (no other client writes them)
BLOCKING = {"BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP"}
UNSCRIPTED = BLOCKING | {"EVAL", "INCR", "DECR", "INCRBY", "DECRBY", "HINCRBY"}  # never run by a script (`_unscripted`)
WAYS = ("alone",) * 16 + ("multi", "multi", "script", "script", "resp3", "resp3", "aborted")  # how a command
# is sent (`sent`)
NOT_IN_RESP3 = ("GEO", "JSON.")  # commands whose RESP3 replies hold doubles RESP2 prints otherwise, or module types
REFUSED_WHEN_QUEUED = ["GET"]  # a command of the wrong arity: it makes the EXEC of its transaction fail
SCRIPT = "return redis.pcall(unpack(ARGV))"  # pcall: an error reply comes back as it is, not raised
ENCODING_LIMITS = {  # each option's choices, Redis's default first
    "list-max-listpack-size": ("-2", "2", "4"),
    "hash-max-listpack-entries": ("128", "2", "4"),
    "zset-max-listpack-entries": ("128", "2", "4"),
    "set-max-intset-entries": ("512", "2", "4"),
    "stream-node-max-entries": ("100", "2", "4"),
}
BIT_OFFSET_MAX = 47  # bit commands write in the first 6 bytes and read a little past them
DENSE_BITS = 15  # SETBIT sets more than it clears, half the time in the first two bytes: bytes fill with ones
# (as they do when a BITFIELD sets a whole byte to -1), so that BITPOS for a clear bit meets ranges without one
BIT_INDEX_MIN, BIT_INDEX_MAX = -64, 64  # BITCOUNT and BITPOS ranges in bits: sometimes past both ends
BITFIELD_TYPES = ("u1", "u4", "u8", "u16", "i2", "i4", "i8", "i16")
BITFIELD_NUMBER_MAX = 300  # values and increments: past u8's and i8's limits, so every OVERFLOW mode acts
JSON_DOCUMENTS = ('{"n":1,"a":[1,"x"],"s":"t","o":{"f":null},"b":true}', '{"n":2.5,"a":[],"s":"","o":{}}',
                  '[1,"x",{"f":true}]', '{"a":[[1],{"f":0}],"n":"str","s":7,"b":false}')
JSON_VALUES = ("0", "7", "-2", "1.5", "1.0", '"v"', "true", "false", "null", '[1,"y"]', '{"f":2}', "[]", "{}")
JSON_PATHS = ("$", "$.n", "$.a", "$.s", "$.o", "$.o.f", "$.b", "$.a[0]", "$.a[-1]", "$.*", "$.x")
JSON_SET_PATHS = ("$.n", "$.a", "$.o.f", "$.o.g", "$.x", "$.a[0]", "$.a[-1]", "$.*", "$.o.f.z", "$.b")
STREAM_SEQ_MAX = 24  # entries are added as 0-*, so IDs are 0-1, 0-2...: commands name IDs up to this
GROUPS = ("g1", "g2")  # g1 the more often, so that its deliveries meet the commands that follow them
CONSUMERS = ("c1", "c2", "c3")
KIND_STRIDE = 5  # the workload's default number of clients (`kind`)
CLIENTS_MAX = 1000  # the workload names a client's group "k" and epoch * this + client (sim.workloads)
GROWER_WEIGHT = 6  # how much more often the command that adds (each family's first) comes


def key(group: str, suffix: str) -> str:
    return "{%s}:%s" % (group, suffix)


def kind(group: str) -> str:
    """The one type of `group`'s keys. For the workload's groups (``k`` and epoch * `CLIENTS_MAX` +
    client), the client's number plus `KIND_STRIDE` per epoch picks it, so that the first clients'
    groups are of different types, each client's type changes every epoch, and the default five
    clients meet every type within three epochs; for other names, a hash of the name."""
    kinds = tuple(FAMILIES)
    if group[:1] == "k" and group[1:].isdigit():
        epoch, client = divmod(int(group[1:]), CLIENTS_MAX)
        return kinds[(epoch * KIND_STRIDE + client) % len(kinds)]
    return kinds[zlib.crc32(group.encode()) % len(kinds)]


def operation(rng: random.Random, group: str) -> Argv:
    """One command on `group`'s keys."""
    makers = _MAKERS[kind(group)]
    maker = rng.choices(makers, [GROWER_WEIGHT] + [1] * (len(makers) - 1))[0]
    return maker(rng, lambda suffix: key(group, suffix))


def encoding_options(seed: int) -> dict[str, str]:
    """The servers' encoding limits, drawn from the seed: Redis's defaults or small ones, so that
    collections change encoding as they grow (listpack to hashtable or skiplist, intset to
    hashtable) and lists and streams span several nodes."""
    rng = derive(seed, "reference/encodings")
    return {name: rng.choice(choices) for name, choices in ENCODING_LIMITS.items()}


def sent(argv: Argv, way: str) -> list[Argv]:
    """The commands that run `argv` the `way` drawn from `WAYS`: alone, in MULTI/EXEC, through a Lua
    script (unless `_unscripted`: then alone), on a connection switched
    to RESP3 for it (``resp3``: HELLO 3 before and HELLO 2 after; `sim.resp3_replies` reads its
    reply; a geo or JSON command goes alone instead, `NOT_IN_RESP3`), or (``aborted``) queued
    in a transaction beside a command refused when queued, so that EXEC fails with EXECABORT and runs
    nothing. Its reply is the same every way but the last (the last reply, the one element of EXEC's,
    or the middle one in RESP3).
    A SCAN, SSCAN, HSCAN or ZSCAN (`ITERATIONS`) stands for the whole iteration, from cursor 0 until
    the server returns 0: it goes alone, one call at a time, and its reply is everything the calls
    returned."""
    if argv[0] in ITERATIONS:
        return [argv]
    if way == "multi":
        return [["MULTI"], argv, ["EXEC"]]
    if way == "aborted":
        return [["MULTI"], argv, REFUSED_WHEN_QUEUED, ["EXEC"]]
    if way == "script" and not _unscripted(argv):
        return [["EVAL", SCRIPT, "0", *argv]]
    if way == "resp3" and not argv[0].startswith(NOT_IN_RESP3):
        return [["HELLO", "3"], argv, ["HELLO", "2"]]
    return [argv]


def _unscripted(argv: Argv) -> bool:
    """Whether `argv` goes alone rather than through a script: a blocking command or a script (DUMP_RESTORE),
    which a script may not run, or an increment, whose 64-bit reply Lua would round to a double."""
    return argv[0] in UNSCRIPTED or (argv[0] == "XREAD" and "BLOCK" in argv)


def scan_next(argv: Argv, cursor: str) -> Argv:
    """The call of an iteration (`ITERATIONS`) that goes on from `cursor`."""
    at = ITERATIONS[argv[0]]
    return [*argv[:at], cursor, *argv[at + 1:]]


def _index(rng: random.Random) -> str:
    return str(rng.randint(INDEX_MIN, INDEX_MAX))


def _members(rng: random.Random, domain: tuple[str, ...] = MEMBERS) -> list[str]:
    return rng.sample(domain, rng.choice((1, 1, 2, 3)))


def _everything(rng: random.Random, domain: tuple[str, ...]) -> list[str]:
    """Every member a collection can hold, in a random order: the command empties it in one go
    (the collection is deleted as its last member goes, whichever argument that is)."""
    return rng.sample(domain, len(domain))


def _value(rng: random.Random) -> str:
    return rng.choice(VALUES)


def _score(rng: random.Random) -> str:
    return str(rng.randint(SCORE_MIN, SCORE_MAX))


def _deadline_ms(rng: random.Random, past: bool = True) -> str:
    """A deadline in Unix ms: far ahead, or (`past`) now and then long past."""
    if past and rng.random() < 0.1:
        return str(PAST_MS)
    return str(FAR_MS + rng.choice(DEADLINE_STEPS_MS))


def _deadline_s(rng: random.Random, past: bool = True) -> str:
    return str(int(_deadline_ms(rng, past)) // 1000)


def _side(rng: random.Random) -> str:
    return rng.choice(("LEFT", "RIGHT"))


def _pair(rng: random.Random, k, one: str, two: str) -> tuple[str, str]:
    first, second = (one, two) if rng.random() < 0.5 else (two, one)
    return k(first), k(second)


Maker = Callable[[random.Random, Callable[[str], str]], Argv]

_STRINGS: list[Maker] = [
    lambda r, k: ["SET", k("s"), _value(r), *r.choice(([], [], ["KEEPTTL"], ["PXAT", _deadline_ms(r, past=False)],
                                                        ["EXAT", _deadline_s(r, past=False)]))],
    lambda r, k: ["GET", k("s")],
    lambda r, k: ["APPEND", k("s"), _value(r)],
    lambda r, k: ["INCRBY", k("s"), str(r.randint(-3, 5))],
    lambda r, k: ["STRLEN", k("s")],
    lambda r, k: ["GETRANGE", k("s"), _index(r), _index(r)],
    lambda r, k: ["SETRANGE", k("s"), str(r.randint(0, 5)), _value(r)],
    lambda r, k: ["GETDEL", k("s")],
    lambda r, k: ["MSET", *[part for suffix in r.sample(("s", "s2"), r.randint(1, 2)) for part in (k(suffix), _value(r))]],
    lambda r, k: ["MGET", k("s"), k("s2")],
    lambda r, k: ["MSETNX", k("s"), _value(r), k("s2"), _value(r)],
    lambda r, k: ["SETNX", k(r.choice(("s", "s2"))), _value(r)],
    lambda r, k: ["GETSET", k("s"), _value(r)],
    lambda r, k: ["SET", k("s"), _value(r), *r.choice((["NX"], ["XX"], ["GET"], ["NX", "GET"], ["XX", "GET"]))],
    lambda r, k: [r.choice(("INCR", "DECR")), k("s")],
    lambda r, k: ["DECRBY", k("s"), str(r.randint(-3, 5))],
    lambda r, k: ["INCRBYFLOAT", k("s"), r.choice(FLOAT_INCREMENTS)],
    lambda r, k: ["SET", k("s"), _value(r), *r.choice((["XX", "KEEPTTL"], ["GET", "KEEPTTL"],
                                                        ["NX", "PXAT", _deadline_ms(r, past=False)]))],
    lambda r, k: ["GETEX", k("s"), *r.choice(([], ["PERSIST"], ["PXAT", _deadline_ms(r)], ["EXAT", _deadline_s(r)]))],
    lambda r, k: ["LCS", *_pair(r, k, "s", "s2"), *r.choice(([], ["LEN"]))],
]
_LISTS: list[Maker] = [
    lambda r, k: [r.choice(("LPUSH", "RPUSH")), k(r.choice(("l", "l", "l", "l2"))), *r.choices(ITEMS, k=r.randint(1, 4))],
    lambda r, k: [r.choice(("LPOP", "RPOP")), k("l")],
    lambda r, k: [r.choice(("LPOP", "RPOP")), k("l"), str(r.randint(0, 3))],
    lambda r, k: ["LRANGE", k(r.choice(("l", "l2"))), _index(r), _index(r)],
    lambda r, k: ["LLEN", k("l")],
    lambda r, k: ["LINDEX", k("l"), _index(r)],
    lambda r, k: ["LREM", k("l"), str(r.randint(-2, 2)), r.choice(ITEMS)],
    lambda r, k: ["LINSERT", k("l"), r.choice(("BEFORE", "AFTER")), r.choice(ITEMS), r.choice(MEMBERS)],
    lambda r, k: ["LSET", k("l"), _index(r), r.choice(MEMBERS)],
    lambda r, k: ["LTRIM", k("l"), _index(r), _index(r)],
    lambda r, k: ["LMOVE", *_pair(r, k, "l", "l2"), _side(r), _side(r)],
    lambda r, k: ["RPOPLPUSH", *_pair(r, k, "l", "l2")],
    lambda r, k: [r.choice(("LPUSHX", "RPUSHX")), k(r.choice(("l", "l2"))), r.choice(ITEMS)],
    lambda r, k: [*r.choice((["LMPOP"], ["BLMPOP", BLOCK_S])), "2", *_pair(r, k, "l", "l2"), _side(r),
                  *r.choice(([], ["COUNT", str(r.randint(1, 3))]))],
    lambda r, k: [r.choice(("BLPOP", "BRPOP")), *_pair(r, k, "l", "l2"), BLOCK_S],
    lambda r, k: r.choice((["BLMOVE", *_pair(r, k, "l", "l2"), _side(r), _side(r)], ["BRPOPLPUSH", *_pair(r, k, "l", "l2")]))
                 + [BLOCK_S],
    lambda r, k: _sort(r, k(r.choice(("l", "l2")))),
    lambda r, k: [*_sort(r, k(r.choice(("l", "l2"))), "SORT"), "STORE", k(r.choice(("l", "l2")))],
    lambda r, k: ["LPOS", k("l"), r.choice(ITEMS), *r.choice(([], ["RANK", r.choice(("2", "-1", "-2"))],
                                                             ["COUNT", r.choice(("0", "2"))],
                                                             ["RANK", "-1", "COUNT", "2"]))],
    lambda r, k: ["LPOS", k("l"), r.choice(ITEMS), *r.choice(([], ["RANK", r.choice(("2", "-1"))],
                                                             ["COUNT", "0"])), "MAXLEN", str(r.randint(0, 4))],
]
_SETS: list[Maker] = [
    lambda r, k: ["SADD", k(r.choice(("t", "t2"))), *_members(r, SET_MEMBERS)],
    lambda r, k: ["SREM", k("t"), *_members(r, SET_MEMBERS)],
    lambda r, k: ["SREM", k("t"), *_everything(r, SET_MEMBERS)],
    lambda r, k: ["SISMEMBER", k("t"), r.choice(SET_MEMBERS)],
    lambda r, k: ["SMISMEMBER", k("t"), *_members(r, SET_MEMBERS)],
    lambda r, k: ["SCARD", k("t")],
    lambda r, k: ["SMEMBERS", k(r.choice(("t", "t2")))],
    lambda r, k: ["SMOVE", *_pair(r, k, "t", "t2"), r.choice(SET_MEMBERS)],
    lambda r, k: [r.choice(("SINTER", "SUNION", "SDIFF")), *_pair(r, k, "t", "t2")],
    lambda r, k: [r.choice(("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE")), k("t2"), *_pair(r, k, "t", "t2")],
    lambda r, k: ["SINTERCARD", "2", *_pair(r, k, "t", "t2"), *r.choice(([], ["LIMIT", "1"], ["LIMIT", "0"]))],
    lambda r, k: ["SPOP", k("t"), *r.choice(([], [str(r.randint(0, 4))]))],
    lambda r, k: ["SRANDMEMBER", k("t"), *r.choice(([], ["0"], ["2"], ["10"], ["-3"]))],
    lambda r, k: _sort(r, k(r.choice(("t", "t2")))),
    lambda r, k: ["SSCAN", k(r.choice(("t", "t2"))), "0", *_scan_options(r, ("*", "-*", "?", "5*"))],
]
_HASHES: list[Maker] = [
    lambda r, k: ["HSET", k("h"), *[part for member in _members(r) for part in (member, _value(r))]],
    lambda r, k: ["HGET", k("h"), r.choice(MEMBERS)],
    lambda r, k: ["HDEL", k("h"), *_members(r)],
    lambda r, k: ["HDEL", k("h"), *_everything(r, MEMBERS)],
    lambda r, k: ["HLEN", k("h")],
    lambda r, k: ["HEXISTS", k("h"), r.choice(MEMBERS)],
    lambda r, k: ["HINCRBY", k("h"), r.choice(MEMBERS), str(r.randint(-3, 5))],
    lambda r, k: ["HINCRBYFLOAT", k("h"), r.choice(MEMBERS), r.choice(FLOAT_INCREMENTS)],
    lambda r, k: ["HGETALL", k("h")],
    lambda r, k: ["HSETNX", k("h"), r.choice(MEMBERS), _value(r)],
    lambda r, k: ["HMGET", k("h"), *_members(r)],
    lambda r, k: ["HSTRLEN", k("h"), r.choice(MEMBERS)],
    lambda r, k: [r.choice(("HKEYS", "HVALS")), k("h")],
    lambda r, k: ["HSCAN", k("h"), "0", *_scan_options(r, ("*", "a*", "?", "*e"))],
    lambda r, k: ["HRANDFIELD", k("h"), *r.choice(([], [str(r.randint(-3, 4))], [str(r.randint(-3, 4)), "WITHVALUES"]))],
]
_ZSETS: list[Maker] = [
    lambda r, k: ["ZADD", k(r.choice(("z", "z2"))), *[part for member in _members(r) for part in (_score(r), member)]],
    lambda r, k: ["ZADD", k("z"), r.choice(("NX", "XX", "GT", "LT")), "CH", _score(r), r.choice(MEMBERS)],
    lambda r, k: ["ZADD", k("z"), *r.choice(([], ["NX"], ["XX"], ["GT"], ["LT"])), "INCR", str(r.randint(-3, 3)),
                  r.choice(MEMBERS)],
    lambda r, k: ["ZINCRBY", k("z"), str(r.randint(-3, 3)), r.choice(MEMBERS)],
    lambda r, k: ["ZREM", k("z"), *_members(r)],
    lambda r, k: ["ZREM", k("z"), *_everything(r, MEMBERS)],
    lambda r, k: ["ZSCORE", k("z"), r.choice(MEMBERS)],
    lambda r, k: [r.choice(("ZRANK", "ZREVRANK")), k("z"), r.choice(MEMBERS)],
    lambda r, k: ["ZCARD", k("z")],
    lambda r, k: ["ZRANGE", k(r.choice(("z", "z2"))), _index(r), _index(r), "WITHSCORES"],
    lambda r, k: [r.choice(("ZRANGEBYSCORE", "ZREVRANGEBYSCORE")), k("z"), _score_bound(r), _score_bound(r),
                  *_with_scores(r), *_limit(r)],
    lambda r, k: ["ZRANGE", k(r.choice(("z", "z2"))), _score_bound(r), _score_bound(r), "BYSCORE",
                  *r.choice(([], ["REV"])), *_limit(r), *_with_scores(r)],
    lambda r, k: [*r.choice((["ZRANGE", k("z"), _index(r), _index(r), "REV"], ["ZREVRANGE", k("z"), _index(r), _index(r)])),
                  *_with_scores(r)],
    lambda r, k: ["ZCOUNT", k("z"), _score_bound(r), _score_bound(r)],
    lambda r, k: ["ZREMRANGEBYSCORE", k("z"), _score_bound(r), _score_bound(r)],
    lambda r, k: [r.choice(("ZPOPMIN", "ZPOPMAX")), k("z")],
    lambda r, k: [r.choice(("ZPOPMIN", "ZPOPMAX")), k("z"), str(r.randint(1, 3))],
    lambda r, k: ["ZREMRANGEBYRANK", k("z"), _index(r), _index(r)],
    lambda r, k: ["ZMSCORE", k("z"), *_members(r)],
    lambda r, k: [r.choice(("ZUNIONSTORE", "ZINTERSTORE")), k(r.choice(("z", "z2"))), "2", *_pair(r, k, "z", "z2"),
                  *_weights(r)],
    lambda r, k: ["ZRANGESTORE", *_pair(r, k, "z", "z2"), *r.choice(([_index(r), _index(r)],
                                                                   [_score_bound(r), _score_bound(r), "BYSCORE"]))],
    lambda r, k: [*r.choice((["ZUNION", "2", *_pair(r, k, "z", "z2"), *_weights(r)],
                             ["ZINTER", "2", *_pair(r, k, "z", "z2"), *_weights(r)],
                             ["ZDIFF", "2", *_pair(r, k, "z", "z2")])), *_with_scores(r)],
    lambda r, k: ["ZDIFFSTORE", k(r.choice(("z", "z2"))), "2", *_pair(r, k, "z", "z2")],
    lambda r, k: ["ZINTERCARD", "2", *_pair(r, k, "z", "z2"), *r.choice(([], ["LIMIT", str(r.randint(0, 2))]))],
    lambda r, k: [*r.choice((["ZMPOP"], ["BZMPOP", BLOCK_S])), "2", *_pair(r, k, "z", "z2"), r.choice(("MIN", "MAX")),
                  *r.choice(([], ["COUNT", str(r.randint(1, 3))]))],
    lambda r, k: [r.choice(("BZPOPMIN", "BZPOPMAX")), *_pair(r, k, "z", "z2"), BLOCK_S],
    lambda r, k: ["ZSCAN", k(r.choice(("z", "z2"))), "0", *_scan_options(r, ("*", "a*", "?", "*e"))],
    lambda r, k: ["ZRANDMEMBER", k("z"), *r.choice(([], [str(r.randint(-3, 4))], [str(r.randint(-3, 4)), "WITHSCORES"]))],
]


def _bit_range(rng: random.Random) -> list[str]:
    """BITCOUNT's and BITPOS's start and end, in bytes (the default, or BYTE) or in bits."""
    unit = rng.choice(("", "BYTE", "BIT"))
    if unit == "BIT":
        return [str(rng.randint(BIT_INDEX_MIN, BIT_INDEX_MAX)), str(rng.randint(BIT_INDEX_MIN, BIT_INDEX_MAX)), unit]
    return [_index(rng), _index(rng), *([unit] if unit else [])]


def _bitfield_field(rng: random.Random) -> list[str]:
    """A BITFIELD type and offset, in bits or (``#n``) in the type's widths."""
    kind = rng.choice(BITFIELD_TYPES)
    offset = rng.choice((str(rng.randint(0, BIT_OFFSET_MAX - int(kind[1:]) + 1)), f"#{rng.randint(0, 2)}"))
    return [kind, offset]


def _bitfield_number(rng: random.Random) -> str:
    return str(rng.randint(-BITFIELD_NUMBER_MAX, BITFIELD_NUMBER_MAX))


def _bitfield_write(rng: random.Random) -> list[str]:
    """A SET or INCRBY, now and then under a new OVERFLOW WRAP or SAT: as a BITFIELD's first
    operation, it always writes."""
    overflow = rng.choice(([], ["OVERFLOW", rng.choice(("WRAP", "SAT"))]))
    return [*overflow, rng.choice(("SET", "INCRBY")), *_bitfield_field(rng), _bitfield_number(rng)]


def _bitfield(r: random.Random, k) -> Argv:
    """BITFIELD with one to three operations. A write that OVERFLOW FAIL may refuse comes only after one
    that succeeds: Redis grows the string for it all the same but, when every write is refused,
    neither logs nor replicates the command (bitfieldGeneric counts no change), so a replica would
    miss the zero bytes."""
    operations = _bitfield_write(r)
    for _ in range(r.randint(0, 2)):
        operations += r.choice((["GET", *_bitfield_field(r)], _bitfield_write(r),
                                ["OVERFLOW", "FAIL", r.choice(("SET", "INCRBY")), *_bitfield_field(r),
                                 _bitfield_number(r)]))
    return ["BITFIELD", k("b"), *operations]


def _scan_options(rng: random.Random, patterns: tuple[str, ...]) -> list[str]:
    """An iteration's MATCH (globs of ``*`` and ``?`` only) and COUNT, each now and then."""
    return [*rng.choice(([], ["MATCH", rng.choice(patterns)])), *rng.choice(([], ["COUNT", rng.choice(("1", "3"))]))]


def _sort(rng: random.Random, key: str, name: str | None = None) -> Argv:
    """SORT or SORT_RO (or `name`) of a list or set, by number (an error where an element is none) or ALPHA."""
    return [name or rng.choice(("SORT", "SORT_RO")), key, *_limit(rng), *rng.choice(([], ["DESC"])),
            *rng.choice((["ALPHA"], ["ALPHA"], []))]


def _score_bound(rng: random.Random) -> str:
    """A score range's end: a score, exclusive (``(3``), or an infinity."""
    return rng.choice((_score(rng), _score(rng), "(" + _score(rng), rng.choice(("-inf", "+inf"))))


def _lex_end(rng: random.Random, infinity: str) -> str:
    """A lex range's end: inclusive (``[b``), exclusive (``(b``), the `infinity` it most often is
    (``-`` for a start, ``+`` for an end), the other one now and then, or rarely no end at all."""
    draw = rng.random()
    if draw < 0.2:
        return infinity
    if draw < 0.25:
        return "+" if infinity == "-" else "-"
    if draw < 0.28:
        return rng.choice(LEX_ENDS[1:])  # no [ or (: Redis refuses the range
    return rng.choice("[(") + rng.choice(LEX_ENDS)


def _with_scores(rng: random.Random) -> list[str]:
    return rng.choice(([], ["WITHSCORES"]))


def _limit(rng: random.Random) -> list[str]:
    return rng.choice(([], ["LIMIT", str(rng.randint(0, 3)), str(rng.randint(-1, 3))]))


def _weights(rng: random.Random) -> list[str]:
    """ZUNION's and ZINTER's options: WEIGHTS for the two keys, AGGREGATE."""
    return [*rng.choice(([], ["WEIGHTS", "2", "3"])), *rng.choice(([], ["AGGREGATE", rng.choice(("SUM", "MIN", "MAX"))]))]


def _stream_id(rng: random.Random) -> str:
    return f"0-{rng.randint(1, STREAM_SEQ_MAX)}"


def _stream_ids(rng: random.Random) -> list[str]:
    """A few IDs, or now and then a run of them or every one (an XACK or XCLAIM of many entries at once)."""
    draw = rng.random()
    if draw < 0.15:
        return [f"0-{seq}" for seq in range(1, STREAM_SEQ_MAX + 1)]
    if draw < 0.4:
        first = rng.randint(1, STREAM_SEQ_MAX)
        return [f"0-{seq}" for seq in range(first, first + rng.randint(3, 8))]
    return [_stream_id(rng) for _ in range(rng.choice((1, 1, 2, 3)))]


def _range_start(rng: random.Random) -> str:
    return rng.choice(("-", "-", _stream_id(rng), "(" + _stream_id(rng)))


def _range_end(rng: random.Random) -> str:
    return rng.choice(("+", "+", _stream_id(rng), "(" + _stream_id(rng)))


def _count(rng: random.Random) -> list[str]:
    return rng.choice(([], ["COUNT", str(rng.randint(1, 3))]))


def _group(rng: random.Random) -> str:
    return rng.choices(GROUPS, (3, 1))[0]


def _consumer(rng: random.Random) -> str:
    return rng.choice(CONSUMERS)


def _group_create(r: random.Random, k) -> Argv:
    return ["XGROUP", "CREATE", k("x"), _group(r), r.choice(("$", "0", "0", _stream_id(r))),
            *r.choice(([], ["MKSTREAM"]))]


def _group_read(r: random.Random, k) -> Argv:
    return ["XREADGROUP", "GROUP", _group(r), _consumer(r), *_count(r), *r.choice(([], [], [], ["NOACK"])),
            "STREAMS", k("x"), r.choice((">", ">", ">", "0", _stream_id(r)))]


_LEX: list[Maker] = [
    lambda r, k: ["ZADD", k(r.choice(("y", "y", "y2"))), *[part for member in _members(r, LEX_MEMBERS) for part in ("0", member)]],
    lambda r, k: ["ZADD", k("y"), r.choice(("NX", "XX")), "CH", "0", r.choice(LEX_MEMBERS)],
    lambda r, k: ["ZREM", k("y"), *_members(r, LEX_MEMBERS)],
    lambda r, k: ["ZRANGEBYLEX", k(r.choice(("y", "y2"))), _lex_end(r, "-"), _lex_end(r, "+"), *_limit(r)],
    lambda r, k: ["ZREVRANGEBYLEX", k("y"), _lex_end(r, "+"), _lex_end(r, "-"), *_limit(r)],
    lambda r, k: ["ZRANGE", k("y"), *r.choice(([_lex_end(r, "-"), _lex_end(r, "+"), "BYLEX"],
                                               [_lex_end(r, "+"), _lex_end(r, "-"), "BYLEX", "REV"])), *_limit(r)],
    lambda r, k: ["ZLEXCOUNT", k("y"), _lex_end(r, "-"), _lex_end(r, "+")],
    lambda r, k: ["ZREMRANGEBYLEX", k("y"), _lex_end(r, "-"), _lex_end(r, "+")],
    lambda r, k: ["ZRANGESTORE", *_pair(r, k, "y", "y2"), _lex_end(r, "-"), _lex_end(r, "+"), "BYLEX", *_limit(r)],
    lambda r, k: [r.choice(("ZUNIONSTORE", "ZINTERSTORE")), k(r.choice(("y", "y2"))), "2", *_pair(r, k, "y", "y2"),
                  *r.choice(([], ["AGGREGATE", r.choice(("MIN", "MAX"))]))],
    lambda r, k: [r.choice(("ZRANK", "ZREVRANK")), k("y"), r.choice(LEX_MEMBERS)],
    lambda r, k: [r.choice(("ZPOPMIN", "ZPOPMAX")), k("y"), str(r.randint(1, 3))],
    lambda r, k: ["ZRANGE", k("y"), _index(r), _index(r)],
]
_STREAMS: list[Maker] = [
    lambda r, k: ["XADD", k(r.choice(("x", "x", "x", "x2"))),
                  *r.choice(([], [], ["NOMKSTREAM"], ["MAXLEN", str(r.randint(0, 6))], ["MAXLEN", "=", "3"])),
                  "0-*", "f", _value(r)],
    lambda r, k: ["XLEN", k("x")],
    lambda r, k: ["XREAD", *_count(r), *r.choice(([], [], ["BLOCK", "10"])), "STREAMS", k("x"), k("x2"),
                  *[r.choice(("0", "$", _stream_id(r), _stream_id(r))) for _ in range(2)]],
    lambda r, k: ["XRANGE", k(r.choice(("x", "x2"))), _range_start(r), _range_end(r), *_count(r)],
    lambda r, k: ["XREVRANGE", k("x"), _range_end(r), _range_start(r), *_count(r)],
    lambda r, k: ["XDEL", k("x"), *_stream_ids(r)],
    lambda r, k: ["XTRIM", k("x"), *r.choice((["MAXLEN", str(r.randint(0, 6))], ["MINID", _stream_id(r)]))],
    lambda r, k: ["XSETID", k("x"), _stream_id(r)],
    lambda r, k: ["XGROUP", "DESTROY", k("x"), _group(r)] if r.random() < 0.3 else
                 ["XGROUP", r.choice(("CREATECONSUMER", "DELCONSUMER")), k("x"), _group(r), _consumer(r)],
    lambda r, k: ["XGROUP", "SETID", k("x"), _group(r), r.choice(("$", "0", _stream_id(r)))],
    *[_group_create, _group_read] * 3,  # the group commands mean little without a group and deliveries
    lambda r, k: ["XACK", k("x"), _group(r), *_stream_ids(r)],
    lambda r, k: ["XPENDING", k("x"), _group(r), *r.choice(([], ["-", "+", "10"], ["-", "+", "10", _consumer(r)]))],
    lambda r, k: ["XCLAIM", k("x"), _group(r), _consumer(r), "0", *_stream_ids(r), *r.choice(([], ["JUSTID"]))],
    lambda r, k: ["XAUTOCLAIM", k("x"), _group(r), _consumer(r), "0", r.choice(("0-0", _stream_id(r))),
                  *r.choice(([], ["COUNT", r.choice(("1", "2"))])), *r.choice(([], ["JUSTID"]))],
]


_BITS: list[Maker] = [
    lambda r, k: ["SETBIT", k(r.choice(("b", "b", "b", "b2"))), str(r.randint(0, r.choice((DENSE_BITS, BIT_OFFSET_MAX)))),
                  r.choice("0111")],
    lambda r, k: ["GETBIT", k("b"), str(r.randint(0, BIT_OFFSET_MAX + 8))],
    lambda r, k: ["BITCOUNT", k(r.choice(("b", "b2"))), *r.choice(([], _bit_range(r)))],
    lambda r, k: ["BITPOS", k("b"), r.choice("01"), *r.choice(([], [_index(r)], _bit_range(r)))],
    lambda r, k: ["BITPOS", k("b"), r.choice("01"), *_bit_range(r)],  # twice as often: its ranges have many edges
    lambda r, k: ["BITOP", r.choice(("AND", "OR", "XOR")), k(r.choice(("b", "b2"))), *_pair(r, k, "b", "b2")],
    lambda r, k: ["BITOP", "NOT", *_pair(r, k, "b", "b2")],
    _bitfield,
    lambda r, k: ["BITFIELD", k("b"), "SET", r.choice(("u8", "i8", "i16")), f"#{r.randint(0, 2)}", "-1"],  # ones
    lambda r, k: [r.choice(("BITFIELD", "BITFIELD_RO")), k("b"), "GET", *_bitfield_field(r),
                  *r.choice(([], ["GET", *_bitfield_field(r)]))],
    lambda r, k: ["GET", k(r.choice(("b", "b2")))],
    lambda r, k: ["SETRANGE", k("b"), str(r.randint(0, 5)), _value(r)],
    lambda r, k: ["APPEND", k("b"), _value(r)],
    lambda r, k: ["STRLEN", k("b")],
]


def _json_path(rng: random.Random) -> str:
    return rng.choice(JSON_PATHS)


def _json_condition(rng: random.Random) -> list[str]:
    return rng.choice(([], [], ["NX"], ["XX"]))


_JSON: list[Maker] = [
    lambda r, k: ["JSON.SET", k(r.choice(("j", "j", "j2"))), "$", r.choice(JSON_DOCUMENTS), *_json_condition(r)],
    lambda r, k: ["JSON.SET", k("j"), r.choice(JSON_SET_PATHS), r.choice(JSON_VALUES), *_json_condition(r)],
    lambda r, k: ["JSON.GET", k(r.choice(("j", "j2"))), *r.sample(JSON_PATHS, r.choice((0, 1, 1, 2)))],
    lambda r, k: ["JSON.MGET", k("j"), k("j2"), _json_path(r)],
    lambda r, k: [r.choice(("JSON.DEL", "JSON.FORGET")), k("j"), *r.choice(([], [_json_path(r)], [_json_path(r)]))],
    lambda r, k: ["JSON.TYPE", k("j"), _json_path(r)],
    lambda r, k: ["JSON.NUMINCRBY", k("j"), _json_path(r), r.choice(("2", "-1", "1.5", "-0.5"))],
    lambda r, k: ["JSON.NUMMULTBY", k("j"), _json_path(r), r.choice(("-1", "2", "0.5"))],
    lambda r, k: ["JSON.STRAPPEND", k("j"), _json_path(r), r.choice(('"u"', '"vw"'))],
    lambda r, k: ["JSON.STRLEN", k("j"), _json_path(r)],
    lambda r, k: ["JSON.ARRAPPEND", k("j"), _json_path(r), *r.sample(JSON_VALUES, r.randint(1, 2))],
    lambda r, k: ["JSON.ARRINSERT", k("j"), "$.a", str(r.randint(-3, 3)), r.choice(JSON_VALUES)],
    lambda r, k: ["JSON.ARRPOP", k("j"), _json_path(r), *r.choice(([], [_index(r)]))],
    lambda r, k: ["JSON.ARRLEN", k("j"), _json_path(r)],
    lambda r, k: ["JSON.ARRTRIM", k("j"), _json_path(r), _index(r), _index(r)],
    lambda r, k: ["JSON.ARRINDEX", k("j"), _json_path(r), r.choice(JSON_VALUES), *r.choice(([], ["1"], ["-1"], ["5"]))],
    lambda r, k: [r.choice(("JSON.OBJKEYS", "JSON.OBJLEN")), k("j"), _json_path(r)],
    lambda r, k: ["JSON.TOGGLE", k("j"), _json_path(r)],
    lambda r, k: ["JSON.CLEAR", k("j"), *r.choice(([], [_json_path(r)], [_json_path(r)]))],
]


_HYPERLOGLOGS: list[Maker] = [
    lambda r, k: ["PFADD", k(r.choice(("p", "p", "p2"))), *r.sample(HLL_MEMBERS, r.choice((0, 1, 1, 2, 3)))],
    lambda r, k: ["PFCOUNT", *r.choice(([k("p")], [k("p"), k("p2")]))],
    lambda r, k: ["PFMERGE", *r.choice(([k("p")], _pair(r, k, "p", "p2"), [k("p2"), k("p"), k("p2")]))],
]


def _geo_point(rng: random.Random, member: str) -> list[str]:
    lon, lat = rng.choice(PLACES[member])
    return [str(lon), str(lat), member]


def _geo_search(rng: random.Random) -> list[str]:
    """GEOSEARCH's options after the key: a centre (a member, or a place no member is at), a radius or a
    box, an order (always: Redis leaves it open otherwise), maybe a COUNT."""
    center = rng.choice((["FROMMEMBER", rng.choice(MEMBERS)], ["FROMLONLAT", *map(str, rng.choice(GEO_CENTERS))]))
    shape = rng.choice((["BYRADIUS", *rng.choice(GEO_RADII)], ["BYBOX", *rng.choice(GEO_BOXES)]))
    return [*center, *shape, rng.choice(("ASC", "DESC")), *rng.choice(([], ["COUNT", str(rng.randint(1, 3))]))]


_GEO: list[Maker] = [
    lambda r, k: ["GEOADD", k(r.choice(("g", "g", "g2"))), *r.choice(([], [], ["NX"], ["XX"], ["CH"], ["XX", "CH"])),
                  *[part for member in _members(r) for part in _geo_point(r, member)]],
    lambda r, k: ["GEODIST", k("g"), *r.sample(MEMBERS, 2), *r.choice(([], ["km"], ["mi"], ["ft"]))],
    lambda r, k: [r.choice(("GEOPOS", "GEOHASH")), k("g"), *_members(r)],
    lambda r, k: ["GEOSEARCH", k(r.choice(("g", "g2"))), *_geo_search(r),
                  *r.sample(["WITHCOORD", "WITHDIST", "WITHHASH"], r.randint(0, 3))],
    lambda r, k: ["GEOSEARCHSTORE", *_pair(r, k, "g", "g2"), *_geo_search(r)],
    lambda r, k: [r.choice(("ZSCORE", "ZRANK")), k("g"), r.choice(MEMBERS)],
    lambda r, k: ["ZREM", k("g"), *_members(r)],
]


def _key_commands(suffixes: tuple[str, ...]) -> list[Maker]:
    """A whole SCAN of the group's keys, DEL or UNLINK, EXISTS or TOUCH, TYPE, deadlines set (PEXPIREAT,
    EXPIREAT, with or without a condition), removed (PERSIST) and read (PEXPIRETIME, EXPIRETIME), and
    RENAME, RENAMENX, COPY and DUMP then RESTORE (`DUMP_RESTORE`) between a family's two keys."""
    commands: list[Maker] = [
        lambda r, k: ["SCAN", "0", "MATCH", k("*"), "COUNT", r.choice(("10", "50"))],
        lambda r, k: [r.choice(("DEL", "UNLINK")), *[k(suffix) for suffix in r.sample(suffixes, r.randint(1, len(suffixes)))]],
        lambda r, k: [r.choice(("EXISTS", "TOUCH")), *[k(suffix) for suffix in suffixes]],
        lambda r, k: ["TYPE", k(r.choice(suffixes))],
        lambda r, k: [*r.choice((["PEXPIREAT", k(r.choice(suffixes)), _deadline_ms(r)],
                                 ["EXPIREAT", k(r.choice(suffixes)), _deadline_s(r)])),
                      *r.choice(([], [], ["NX"], ["XX"], ["GT"], ["LT"]))],
        lambda r, k: ["PERSIST", k(r.choice(suffixes))],
        lambda r, k: [r.choice(("PEXPIRETIME", "EXPIRETIME")), k(r.choice(suffixes))],
    ]
    if len(suffixes) == 2:
        commands.append(lambda r, k: [r.choice(("RENAME", "RENAMENX")), *_pair(r, k, *suffixes)])
        commands.append(lambda r, k: ["COPY", *_pair(r, k, *suffixes), *r.choice(([], ["REPLACE"]))])
        commands.append(lambda r, k: ["EVAL", DUMP_RESTORE, "2", *_pair(r, k, *suffixes)])
    return commands


REDIS_TYPES = {"string": "string", "bits": "string", "hll": "string", "list": "list", "set": "set", "hash": "hash",
               "zset": "zset", "geo": "zset", "lex": "zset", "stream": "stream", "json": "ReJSON-RL"}
PROBES: dict[str, list[Callable[[random.Random, str], Argv]]] = {  # per Redis type, commands of it that create no key (`type_probe`)
    "string": [lambda r, key: ["GET", key], lambda r, key: ["STRLEN", key], lambda r, key: ["SETRANGE", key, "0", ""]],
    "list": [lambda r, key: ["LLEN", key], lambda r, key: [r.choice(("LPUSHX", "RPUSHX")), key, r.choice(ITEMS)]],
    "set": [lambda r, key: ["SCARD", key], lambda r, key: ["SISMEMBER", key, r.choice(SET_MEMBERS)]],
    "hash": [lambda r, key: ["HLEN", key], lambda r, key: ["HGET", key, r.choice(MEMBERS)]],
    "zset": [lambda r, key: ["ZCARD", key], lambda r, key: ["ZSCORE", key, r.choice(MEMBERS)],
             lambda r, key: ["ZADD", key, "XX", "1", r.choice(MEMBERS)]],
    "stream": [lambda r, key: ["XLEN", key], lambda r, key: ["XADD", key, "NOMKSTREAM", "0-1", "f", "v"]],
}


def _type_probe(family: str) -> Maker:
    """A command of another Redis type on one of `family`'s keys: WRONGTYPE where the key exists
    (`jepsen_like.redis_model.TYPE_PROBES`), and as on a missing key where it does not."""
    probes = [maker for kind, makers in PROBES.items() if kind != REDIS_TYPES[family] for maker in makers]
    return lambda r, k: r.choice(probes)(r, k(r.choice(FAMILIES[family])))


_MAKERS = {name: [*commands, *_key_commands(FAMILIES[name]), _type_probe(name)] for name, commands in (
    ("string", _STRINGS), ("list", _LISTS), ("set", _SETS), ("hash", _HASHES), ("zset", _ZSETS),
    ("stream", _STREAMS + _STREAMS[1:]), ("bits", _BITS), ("json", _JSON), ("hll", _HYPERLOGLOGS), ("geo", _GEO), ("lex", _LEX))}  # twice: a stream's groups and deliveries build up between DELs


def snapshot(group: str) -> list[Argv]:
    """The commands that read every key of `group` whole, and its deadline (the final read); a
    stream's groups' pending entries too."""
    read = {"string": ["GET"], "list": ["LRANGE", "0", "-1"], "set": ["SMEMBERS"], "hash": ["HGETALL"],
            "zset": ["ZRANGE", "0", "-1", "WITHSCORES"],
            "lex": ["ZRANGE", "0", "-1", "WITHSCORES"], "stream": ["XRANGE", "-", "+"], "bits": ["GET"], "json": ["JSON.GET"],
            "hll": ["PFCOUNT"], "geo": ["ZRANGE", "0", "-1", "WITHSCORES"]}[kind(group)]
    commands = [command for suffix in FAMILIES[kind(group)]
                for command in ([read[0], key(group, suffix), *read[1:]], ["PEXPIRETIME", key(group, suffix)])]
    if kind(group) == "stream":
        commands += [["XPENDING", key(group, suffix), name, "-", "+", "1000"]
                     for suffix in FAMILIES["stream"] for name in GROUPS]
    return commands
