"""A sequential reference for the reference workload's commands: what Redis 7.0 replies, one command at a time.

The reference checker (`jepsen_like.reference`) runs a group's commands through a
`RedisModel` in history order and compares each reply. Only the commands and
argument shapes `sim.reference_ops` sends are covered: strings (also as bits,
`jepsen_like.bits_model`), lists, sets, hashes, sorted sets with integer scores
(and lex ranges where all scores are one),
streams with consumer groups (`jepsen_like.stream_model`), HyperLogLogs
(`jepsen_like.hll_model`), geo points (`jepsen_like.geo_model`) and JSON documents
(`jepsen_like.json_model`), on keys whose type never changes. Commands of another
type probe them (`TYPE_PROBES`): WRONGTYPE where the key exists, as if it did not
where it does not, so the probe never creates it.
Replies are in the history's JSON form (`as_json`): bulk strings as text, nil
as None, errors as ``{"error": text}``; `normalize` puts replies whose order
Redis leaves open (set members, hash fields) in one order, for model and
server alike. A collection that empties is deleted, as in Redis (a stream
stays). Where Redis chooses at random (SPOP, SRANDMEMBER), the model is given the reply observed
and takes it if Redis could have given it (and goes on from what it says);
if not, it answers with what Redis could have given, which the reply is not.

Keys also have deadlines (TTLs), set only as absolute times: far in the future,
so that none falls due in a run (and every reply stays predictable), or long
past, which deletes the key at once. The model follows which commands keep a
key's deadline (APPEND, INCRBY, a push, LSET...), which drop it (SET, GETSET,
MSET, a *STORE's destination), and which carry it (RENAME, COPY).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from jepsen_like.bits_model import BitCommands
from jepsen_like.geo_model import GeoCommands
from jepsen_like.hll_model import HyperLogLog, HyperLogLogCommands
from jepsen_like.iterations import matching
from jepsen_like.json_model import JsonCommands, JsonDocument
from jepsen_like.long_double import fixed17
from jepsen_like.random_draws import drawn
from jepsen_like.stream_model import Stream, StreamCommands
from jepsen_like.zset_model import Scores, ZsetCommands, span

Reply = Any
INT_RE = re.compile(r"0|-?[1-9][0-9]{0,18}")  # what Redis's string2ll takes
LLONG_MIN, LLONG_MAX = -2**63, 2**63 - 1
NOT_INTEGER = {"error": "ERR value is not an integer or out of range"}
HASH_NOT_INTEGER = {"error": "ERR hash value is not an integer"}
NOT_FLOAT = {"error": "ERR value is not a valid float"}
HASH_NOT_FLOAT = {"error": "ERR hash value is not a float"}
# What strtold takes whole, of the texts the workload can make (digits, '-', '.', 'x'): decimal or hex.
DECIMAL_RE = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
HEX_RE = re.compile(r"-?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)")
OVERFLOW = {"error": "ERR increment or decrement would overflow"}
NO_SUCH_KEY = {"error": "ERR no such key"}
OUT_OF_RANGE = {"error": "ERR index out of range"}
UNORDERED = {"SMEMBERS", "SINTER", "SUNION", "SDIFF", "HKEYS", "HVALS", "SPOP", "SRANDMEMBER"}
UNIQUE = {"SCAN", "SSCAN"}  # a whole iteration may return an element more than once
UNIQUE_PAIRS = {"HSCAN", "ZSCAN"}  # ...or a field (member) and its value (score)
WRONGTYPE = {"error": "WRONGTYPE Operation against a key holding the wrong kind of value"}
TYPE_PROBES = {  # commands that refuse a key of another Redis type, and that type; none creates a missing key
    "GET": "string", "STRLEN": "string", "SETRANGE": "string", "LLEN": "list", "LPUSHX": "list", "RPUSHX": "list",
    "SCARD": "set", "SISMEMBER": "set", "HLEN": "hash", "HGET": "hash", "ZCARD": "zset", "ZSCORE": "zset",
    "ZADD": "zset", "XLEN": "stream", "XADD": "stream",
}
DUMP_RESTORE = (  # KEYS[1]'s value and deadline serialized and loaded into KEYS[2]: COPY ... REPLACE by DUMP
    "local payload = redis.call('DUMP', KEYS[1]) "
    "if not payload then return 0 end "
    "local deadline = redis.call('PEXPIRETIME', KEYS[1]) "
    "if deadline < 0 then deadline = 0 end "
    "return redis.call('RESTORE', KEYS[2], deadline, payload, 'REPLACE', 'ABSTTL')"
)
PAST_BEFORE_MS = 10**12  # a deadline before this (2001) is long past whenever a run is


def as_json(reply: Any) -> Reply:
    """A RESP2 reply (as hiredis gives it) in the history's JSON form."""
    if type(reply) is bytes:
        return reply.decode("latin-1")
    if type(reply) is list:
        return [as_json(item) for item in reply]
    if reply is None or type(reply) is int:
        return reply
    return {"error": str(reply)}


def normalize(argv: list[str], reply: Reply) -> Reply:
    """The reply with what Redis leaves unordered sorted: set members, hash field/value pairs."""
    name = argv[0].upper()
    if name in UNIQUE and type(reply) is list:
        return sorted(set(reply))
    if name in UNIQUE_PAIRS and type(reply) is list:
        return [list(pair) for pair in sorted({(reply[i], reply[i + 1]) for i in range(0, len(reply) - 1, 2)})]
    if name in UNORDERED and type(reply) is list:
        return sorted(reply)
    if name == "HGETALL" and type(reply) is list:
        return sorted([reply[i], reply[i + 1]] for i in range(0, len(reply) - 1, 2))
    return reply


def _as_int(text: str) -> int | None:
    if INT_RE.fullmatch(text) is None:
        return None
    number = int(text)
    return number if LLONG_MIN <= number <= LLONG_MAX else None


def _long_double(value: Fraction) -> Fraction:
    """`value` rounded to the nearest x87 long double (a 64-bit significand, ties to even), as
    strtold and a long double sum round on the x86-64 machines Redis runs on."""
    if value == 0:
        return value
    shift = 63 - (abs(value.numerator).bit_length() - value.denominator.bit_length())
    scaled = value * Fraction(2) ** shift
    if abs(scaled) >= 2**64:
        shift -= 1
        scaled /= 2
    elif abs(scaled) < 2**63:
        shift += 1
        scaled *= 2
    return Fraction(round(scaled)) / Fraction(2) ** shift  # round: to nearest, ties to even


def _as_float(text: str) -> Fraction | None:
    """The long double INCRBYFLOAT reads in `text` (Redis's string2ld, by strtold), or None."""
    if DECIMAL_RE.fullmatch(text):
        return _long_double(Fraction(text if text[-1] != "." else text[:-1]))
    if HEX_RE.fullmatch(text):
        sign, digits = (-1, text[3:]) if text[0] == "-" else (1, text[2:])
        whole, _, fraction = digits.partition(".")
        return _long_double(Fraction(sign * int(whole + fraction or "0", 16), 16 ** len(fraction)))
    return None


def _incremented(current: str, increment: str) -> str | None:
    """The text INCRBYFLOAT stores for `current` plus `increment`; None if `current` is no number."""
    number = _as_float(current)
    return None if number is None else fixed17(_long_double(number + _as_float(increment)))


def _sort_number(text: str) -> float | None:
    """SORT's number for an element, None if it is none (the workload's elements are plain integers or words)."""
    try:
        return float(text)
    except ValueError:
        return None


def _members_of(members: set[str], reply: Reply) -> bool:
    """Whether a reply is a list of members of `members` (whatever else a faulty server sends)."""
    return type(reply) is list and all(type(item) is str and item in members for item in reply)


class RedisModel(StreamCommands, BitCommands, JsonCommands, ZsetCommands, HyperLogLogCommands, GeoCommands):
    """One group's keys, and the reply each command gives."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.deadlines: dict[str, int] = {}  # key -> its deadline in Unix ms (only keys in `data`)
        self.observed: Reply = None  # the server's reply to the command being applied

    def apply(self, argv: list[str], observed: Reply = None) -> Reply:
        """The reply Redis gives `argv`; `observed`, the server's, is what a random choice took."""
        handler = _HANDLERS[argv[0].upper()]
        probed = TYPE_PROBES.get(argv[0].upper())
        if probed is not None and argv[1] in self.data and _TYPES[type(self.data[argv[1]])] != probed:
            return WRONGTYPE
        self.observed = normalize(argv, observed)
        reply = handler(self, argv[1:])
        return normalize(argv, reply)

    # -- helpers -------------------------------------------------------------
    def _collection(self, key: str, kind: Callable[[], Any]) -> Any:
        return self.data.setdefault(key, kind())

    def _stored(self, key: str, value) -> int:
        """A *STORE command's end: `value` replaces the key (without its deadline), or deletes it
        when empty; its size."""
        self._delete(key)
        if value:
            self.data[key] = value
        return len(value)

    def _replaced(self, key: str, value: str) -> None:
        """A new string value, without the key's deadline (SET, GETSET, MSET)."""
        self.data[key] = value
        self.deadlines.pop(key, None)

    def _delete(self, key: str):
        """Delete a key and its deadline; its value, or None."""
        self.deadlines.pop(key, None)
        return self.data.pop(key, None)

    def _remove_entries(self, args) -> int:
        """HDEL and ZREM: drop the named fields (members) of a hash (sorted set); how many there were."""
        entries = self.data.get(args[0])
        if entries is None:
            return 0
        removed = sum(entries.pop(name, None) is not None for name in dict.fromkeys(args[1:]))
        self._drop_if_empty(args[0])
        return removed

    def _first_filled(self, keys: list[str]) -> str | None:
        """The first of `keys` that holds something (the multi-key pops take from it)."""
        return next((key for key in keys if key in self.data), None)

    def _drop_if_empty(self, key: str) -> None:
        if key in self.data and not self.data[key]:
            self._delete(key)

    # -- strings -------------------------------------------------------------
    def set(self, args):
        if len(args) > 2:
            return self._set_with_options(args)
        self._replaced(args[0], args[1])
        return "OK"

    def get(self, args):
        return self.data.get(args[0])

    def append(self, args):
        value = self.data.get(args[0], "") + args[1]
        self.data[args[0]] = value
        return len(value)

    def incrby(self, args):
        current = _as_int(self.data.get(args[0], "0"))
        if current is None:
            return NOT_INTEGER
        result = current + int(args[1])
        if not LLONG_MIN <= result <= LLONG_MAX:
            return OVERFLOW
        self.data[args[0]] = str(result)
        return result

    def incrbyfloat(self, args):
        text = _incremented(self.data.get(args[0], "0"), args[1])
        if text is None:
            return NOT_FLOAT
        self.data[args[0]] = text
        return text

    def strlen(self, args):
        return len(self.data.get(args[0], ""))

    def getrange(self, args):
        value = self.data.get(args[0], "")
        start, end = int(args[1]), int(args[2])
        if start < 0 and end < 0 and start > end:
            return ""
        length = len(value)
        start = max(start + length if start < 0 else start, 0)
        end = max(end + length if end < 0 else end, 0)
        end = min(end, length - 1)
        if start > end or length == 0:
            return ""
        return value[start:end + 1]

    def setrange(self, args):
        key, offset, part = args[0], int(args[1]), args[2]
        value = self.data.get(key, "")
        if not part:  # nothing to set: the length, and a missing key stays missing
            return len(value)
        value = value.ljust(offset, "\0")
        value = value[:offset] + part + value[offset + len(part):]
        self.data[key] = value
        return len(value)

    def getdel(self, args):
        return self._delete(args[0])

    def mset(self, args):
        for key, value in zip(args[::2], args[1::2]):
            self._replaced(key, value)
        return "OK"

    def mget(self, args):
        return [self.data.get(key) for key in args]

    def msetnx(self, args):
        if any(key in self.data for key in args[::2]):
            return 0
        self.mset(args)
        return 1

    def setnx(self, args):
        if args[0] in self.data:
            return 0
        self.data[args[0]] = args[1]
        return 1

    def getset(self, args):
        old = self.data.get(args[0])
        self._replaced(args[0], args[1])
        return old

    def _set_with_options(self, args):
        """SET key value [NX|XX] [GET] [KEEPTTL|PXAT ms|EXAT s]: the old value with GET, else OK or nil."""
        key, value, options = args[0], args[1], [option.upper() for option in args[2:]]
        old = self.data.get(key)
        if ("NX" in options and old is not None) or ("XX" in options and old is None):
            return old if "GET" in options else None
        deadline = self.deadlines.get(key) if "KEEPTTL" in options else None
        for unit, scale in (("PXAT", 1), ("EXAT", 1000)):
            if unit in options:
                deadline = int(options[options.index(unit) + 1]) * scale
        self._replaced(key, value)
        if deadline is not None:
            self.deadlines[key] = deadline
        return old if "GET" in options else "OK"

    def getex(self, args):
        """GETEX key [PXAT ms|EXAT s|PERSIST] (absolute deadlines only: a past one deletes the key)."""
        value = self.data.get(args[0])
        if value is None or len(args) == 1:
            return value
        unit = args[1].upper()
        if unit == "PERSIST":
            self.deadlines.pop(args[0], None)
        else:
            self._expire_at(args[0], int(args[2]) * (1000 if unit == "EXAT" else 1))
        return value

    def incr(self, args):
        return self.incrby([args[0], "1"])

    def decr(self, args):
        return self.incrby([args[0], "-1"])

    def decrby(self, args):
        return self.incrby([args[0], str(-int(args[1]))])

    def lcs(self, args):
        """LCS key1 key2 [LEN]: a longest common subsequence, the one Redis's walk back through its table
        finds (on a tie it steps back in the second string), or its length."""
        a, b = self.data.get(args[0], ""), self.data.get(args[1], "")
        table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                table[i][j] = table[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(table[i - 1][j], table[i][j - 1])
        if len(args) > 2:
            return table[len(a)][len(b)]
        common, i, j = [], len(a), len(b)
        while i > 0 and j > 0:
            if a[i - 1] == b[j - 1]:
                common.append(a[i - 1])
                i, j = i - 1, j - 1
            elif table[i - 1][j] > table[i][j - 1]:
                i -= 1
            else:
                j -= 1
        return "".join(reversed(common))

    # -- lists ---------------------------------------------------------------
    def lpush(self, args):
        items = self._collection(args[0], list)
        for item in args[1:]:
            items.insert(0, item)
        return len(items)

    def rpush(self, args):
        items = self._collection(args[0], list)
        items.extend(args[1:])
        return len(items)

    def _pop(self, args, left: bool):
        """LPOP/RPOP: nil for a missing key; an element, or with a count a list of them."""
        items = self.data.get(args[0])
        if items is None:
            return None
        count = min(int(args[1]) if len(args) > 1 else 1, len(items))
        taken = [items.pop(0 if left else -1) for _ in range(count)]
        self._drop_if_empty(args[0])
        return taken if len(args) > 1 else taken[0]

    def lpop(self, args):
        return self._pop(args, True)

    def rpop(self, args):
        return self._pop(args, False)

    def lrange(self, args):
        items = self.data.get(args[0], [])
        return [items[i] for i in span(len(items), int(args[1]), int(args[2]))]

    def llen(self, args):
        return len(self.data.get(args[0], []))

    def lindex(self, args):
        items = self.data.get(args[0], [])
        index = int(args[1])
        index += len(items) if index < 0 else 0
        return items[index] if 0 <= index < len(items) else None

    def lrem(self, args):
        items = self.data.get(args[0])
        if items is None:
            return 0
        count, item = int(args[1]), args[2]
        positions = [i for i, each in enumerate(items) if each == item]
        if count < 0:
            positions = positions[::-1][:-count]
        elif count > 0:
            positions = positions[:count]
        for i in sorted(positions, reverse=True):
            del items[i]
        self._drop_if_empty(args[0])
        return len(positions)

    def linsert(self, args):
        items = self.data.get(args[0])
        if items is None:
            return 0
        where, pivot, item = args[1].upper(), args[2], args[3]
        if pivot not in items:
            return -1
        at = items.index(pivot)
        items.insert(at if where == "BEFORE" else at + 1, item)
        return len(items)

    def lset(self, args):
        items = self.data.get(args[0])
        if items is None:
            return NO_SUCH_KEY
        index = int(args[1])
        index += len(items) if index < 0 else 0
        if not 0 <= index < len(items):
            return OUT_OF_RANGE
        items[index] = args[2]
        return "OK"

    def ltrim(self, args):
        items = self.data.get(args[0])
        if items is not None:
            kept = span(len(items), int(args[1]), int(args[2]))
            items[:] = [items[i] for i in kept]
            self._drop_if_empty(args[0])
        return "OK"

    def lmove(self, args):
        source, target, side_from, side_to = args[0], args[1], args[2].upper(), args[3].upper()
        items = self.data.get(source)
        if items is None:
            return None
        item = items.pop(0 if side_from == "LEFT" else -1)
        self._drop_if_empty(source)
        into = self._collection(target, list)
        into.insert(0, item) if side_to == "LEFT" else into.append(item)
        return item

    def rpoplpush(self, args):
        return self.lmove([args[0], args[1], "RIGHT", "LEFT"])

    def lpushx(self, args):
        return self.lpush(args) if args[0] in self.data else 0

    def rpushx(self, args):
        return self.rpush(args) if args[0] in self.data else 0

    def lmpop(self, args):
        """LMPOP numkeys key... LEFT|RIGHT [COUNT n]: [key, [elements]] from the first non-empty key."""
        count = int(args[0])
        key = self._first_filled(args[1:1 + count])
        if key is None:
            return None
        rest = args[2 + count:]
        return [key, self._pop([key, rest[1] if rest else "1"], args[1 + count].upper() == "LEFT")]

    def blmpop(self, args):
        return self.lmpop(args[1:])

    def _blocking_pop(self, args, left: bool):
        """BLPOP/BRPOP key... timeout: [key, element] from the first non-empty key, or nil once the time is up."""
        key = self._first_filled(args[:-1])
        return None if key is None else [key, self._pop([key], left)]

    def blpop(self, args):
        return self._blocking_pop(args, True)

    def brpop(self, args):
        return self._blocking_pop(args, False)

    def blmove(self, args):
        return self.lmove(args[:-1])

    def brpoplpush(self, args):
        return self.rpoplpush(args[:-1])

    def lpos(self, args):
        items, wanted = self.data.get(args[0], []), args[1]
        options = dict(zip((option.upper() for option in args[2::2]), (int(n) for n in args[3::2])))
        rank, count, maxlen = options.get("RANK", 1), options.get("COUNT"), options.get("MAXLEN", 0)
        scanned = list(range(len(items)))
        if rank < 0:  # from the tail
            scanned, rank = scanned[::-1], -rank
        if maxlen:  # only the first MAXLEN elements met are compared
            scanned = scanned[:maxlen]
        found = [i for i in scanned if items[i] == wanted][rank - 1:]
        if count is None:
            return found[0] if found else None
        return found[:count] if count else found

    # -- sets ----------------------------------------------------------------
    def sadd(self, args):
        members = self._collection(args[0], set)
        added = len(set(args[1:]) - members)
        members.update(args[1:])
        return added

    def srem(self, args):
        members = self.data.get(args[0])
        if members is None:
            return 0
        removed = len(set(args[1:]) & members)
        members.difference_update(args[1:])
        self._drop_if_empty(args[0])
        return removed

    def sismember(self, args):
        return int(args[1] in self.data.get(args[0], set()))

    def smismember(self, args):
        members = self.data.get(args[0], set())
        return [int(member in members) for member in args[1:]]

    def scard(self, args):
        return len(self.data.get(args[0], set()))

    def smembers(self, args):
        return list(self.data.get(args[0], set()))

    def spop(self, args):
        """SPOP key [count]: the members observed, if they are ones it could take; they go."""
        members = self.data.get(args[0], set())
        if len(args) == 1:
            if not members:
                return None
            taken = self.observed
            if not _members_of(members, [taken]):
                return f"<one of {sorted(members)}>"
            taken_all = [taken]
        else:
            wanted = min(int(args[1]), len(members))
            taken = taken_all = self.observed
            if not (_members_of(members, taken) and len(set(taken)) == len(taken) == wanted):
                return f"<{wanted} distinct members of {sorted(members)}>"
        members.difference_update(taken_all)
        self._drop_if_empty(args[0])
        return taken

    def srandmember(self, args):
        """SRANDMEMBER key [count]: as many distinct members as asked (at most all), or with a
        negative count that many members, repeats allowed."""
        members, got = self.data.get(args[0], set()), self.observed
        if len(args) == 1:
            if not members:
                return None
            return got if _members_of(members, [got]) else f"<one of {sorted(members)}>"
        count = int(args[1])
        wanted = -count if count < 0 else min(count, len(members))
        if not members:
            wanted = 0
        if _members_of(members, got) and len(got) == wanted and (count < 0 or len(set(got)) == len(got)):
            return got
        return f"<{wanted} {'' if count < 0 else 'distinct '}members of {sorted(members)}>"

    def sscan(self, args):
        """A whole SSCAN (`jepsen_like.iterations`): every member matching."""
        return matching(self.data.get(args[0], set()), args)

    def smove(self, args):
        source, target, member = args
        members = self.data.get(source)
        if members is None or member not in members:
            return 0
        members.discard(member)
        self._drop_if_empty(source)
        self._collection(target, set).add(member)
        return 1

    def _combined(self, name: str, keys: list[str]) -> set:
        sets = [self.data.get(key, set()) for key in keys]
        if name == "SINTER":
            return set.intersection(*sets)
        if name == "SUNION":
            return set.union(*sets)
        return sets[0].difference(*sets[1:])

    def sinter(self, args):
        return list(self._combined("SINTER", args))

    def sunion(self, args):
        return list(self._combined("SUNION", args))

    def sdiff(self, args):
        return list(self._combined("SDIFF", args))

    def _store(self, name: str, args):
        result = self._combined(name, args[1:])
        return self._stored(args[0], result)

    def sinterstore(self, args):
        return self._store("SINTER", args)

    def sunionstore(self, args):
        return self._store("SUNION", args)

    def sdiffstore(self, args):
        return self._store("SDIFF", args)

    def sintercard(self, args):
        count = int(args[0])
        common = len(self._combined("SINTER", args[1:1 + count]))
        rest = args[1 + count:]
        limit = int(rest[1]) if rest else 0
        return min(common, limit) if limit else common

    # -- hashes --------------------------------------------------------------
    def hset(self, args):
        fields = self._collection(args[0], dict)
        pairs = list(zip(args[1::2], args[2::2]))
        added = len({field for field, _ in pairs} - fields.keys())
        fields.update(pairs)
        return added

    def hget(self, args):
        return self.data.get(args[0], {}).get(args[1])

    def hdel(self, args):
        return self._remove_entries(args)

    def hlen(self, args):
        return len(self.data.get(args[0], {}))

    def hexists(self, args):
        return int(args[1] in self.data.get(args[0], {}))

    def hincrby(self, args):
        fields = self.data.get(args[0], {})
        current = _as_int(fields.get(args[1], "0"))
        if current is None:
            return HASH_NOT_INTEGER
        result = current + int(args[2])
        if not LLONG_MIN <= result <= LLONG_MAX:
            return OVERFLOW
        self._collection(args[0], dict)[args[1]] = str(result)
        return result

    def hincrbyfloat(self, args):
        text = _incremented(self.data.get(args[0], {}).get(args[1], "0"), args[2])
        if text is None:
            return HASH_NOT_FLOAT
        self._collection(args[0], dict)[args[1]] = text
        return text

    def hgetall(self, args):
        return [part for pair in self.data.get(args[0], {}).items() for part in pair]

    def hsetnx(self, args):
        fields = self.data.get(args[0], {})
        if args[1] in fields:
            return 0
        self._collection(args[0], dict)[args[1]] = args[2]
        return 1

    def hmget(self, args):
        fields = self.data.get(args[0], {})
        return [fields.get(field) for field in args[1:]]

    def hstrlen(self, args):
        return len(self.data.get(args[0], {}).get(args[1], ""))

    def hkeys(self, args):
        return list(self.data.get(args[0], {}))

    def hvals(self, args):
        return list(self.data.get(args[0], {}).values())

    def hscan(self, args):
        """A whole HSCAN (`jepsen_like.iterations`): every field matching, with its value."""
        fields = self.data.get(args[0], {})
        return [text for field in matching(fields, args) for text in (field, fields[field])]

    def hrandfield(self, args):
        """HRANDFIELD key [count [WITHVALUES]] (`random_draws`)."""
        return drawn(self.data.get(args[0], {}), args, self.observed, "fields")

    # -- sort ----------------------------------------------------------------
    def sort(self, args):
        """SORT key [LIMIT offset count] [DESC] [ALPHA] [STORE destination] of a list or set: by number
        (ties by text) unless ALPHA; a destination takes the result as a list (none deletes it)."""
        options = [arg.upper() for arg in args[1:]]
        elements = list(self.data.get(args[0], []))
        if "ALPHA" in options:
            ordered = sorted(elements)
        else:
            numbers = [_sort_number(element) for element in elements]
            if None in numbers:
                return {"error": "ERR One or more scores can't be converted into double"}
            ordered = [element for _, element in sorted(zip(numbers, elements))]
        if "DESC" in options:
            ordered.reverse()
        if "LIMIT" in options:
            at = options.index("LIMIT")
            offset, count = max(int(args[at + 2]), 0), int(args[at + 3])
            ordered = ordered[offset:] if count < 0 else ordered[offset:offset + count]
        if "STORE" not in options:
            return ordered
        return self._stored(args[options.index("STORE") + 2], ordered)

    def sort_ro(self, args):
        return self.sort(args)

    # -- keys ----------------------------------------------------------------
    def del_(self, args):
        return sum(self._delete(key) is not None for key in args)

    def scan(self, args):
        """A whole SCAN of the group's keys (the reference workload's SCAN is the iteration to the end)."""
        return list(self.data)

    def unlink(self, args):
        return self.del_(args)

    def exists(self, args):
        return sum(key in self.data for key in args)

    def touch(self, args):
        return self.exists(args)

    def type_(self, args):
        value = self.data.get(args[0])
        return "none" if value is None else _TYPES[type(value)]

    def copy(self, args):
        source, target, replace = args[0], args[1], len(args) > 2
        if source not in self.data or (target in self.data and not replace):
            return 0
        value = self.data[source]
        self._delete(target)
        self.data[target] = value if type(value) is str else value.copy() if type(value) in (Stream, JsonDocument) \
            else type(value)(value)
        self._carry_deadline(source, target)
        return 1

    def eval(self, args):
        """The one script the reference workload sends of its own, `DUMP_RESTORE`: COPY ... REPLACE, with OK for 1."""
        if args[0] != DUMP_RESTORE:
            raise ValueError("the model knows no other script")
        return "OK" if self.copy([*args[2:4], "REPLACE"]) else 0

    def rename(self, args):
        if args[0] not in self.data:
            return NO_SUCH_KEY
        if args[0] != args[1]:
            self._delete(args[1])
            self.data[args[1]] = self.data.pop(args[0])
            self._carry_deadline(args[0], args[1])
            self.deadlines.pop(args[0], None)
        return "OK"

    def renamenx(self, args):
        if args[0] not in self.data:
            return NO_SUCH_KEY
        if args[1] in self.data:
            return 0
        self.rename(args)
        return 1

    def _carry_deadline(self, source: str, target: str) -> None:
        if source in self.deadlines:
            self.deadlines[target] = self.deadlines[source]

    # -- deadlines -----------------------------------------------------------
    def _expire_at(self, key: str, when_ms: int) -> None:
        """Give an existing key a deadline; one already past deletes it (every deadline the
        workload sends is long past or far ahead, whatever the time)."""
        if when_ms < PAST_BEFORE_MS:
            self._delete(key)
        else:
            self.deadlines[key] = when_ms

    def pexpireat(self, args):
        """PEXPIREAT key ms [NX|XX|GT|LT]: no deadline counts as an infinite one for GT and LT."""
        key, when = args[0], int(args[1])
        if key not in self.data:
            return 0
        current = self.deadlines.get(key)
        flag = args[2].upper() if len(args) > 2 else None
        if (flag == "NX" and current is not None) or (flag == "XX" and current is None) \
                or (flag == "GT" and (current is None or when <= current)) \
                or (flag == "LT" and current is not None and when >= current):
            return 0
        self._expire_at(key, when)
        return 1

    def expireat(self, args):
        return self.pexpireat([args[0], str(int(args[1]) * 1000), *args[2:]])

    def persist(self, args):
        return int(self.deadlines.pop(args[0], None) is not None)

    def pexpiretime(self, args):
        if args[0] not in self.data:
            return -2
        return self.deadlines.get(args[0], -1)

    def expiretime(self, args):
        when = self.pexpiretime(args)
        return when if when < 0 else (when + 500) // 1000


_TYPES = {str: "string", list: "list", set: "set", dict: "hash", Scores: "zset", Stream: "stream",
          JsonDocument: "ReJSON-RL", HyperLogLog: "string"}


def _command_name(method: str) -> str:
    """The command a model method is: its name, without the trailing _ of DEL and TYPE, ``JSON.`` for ``json_``."""
    name = method.rstrip("_").upper()
    return "JSON." + name[5:] if name.startswith("JSON_") else name


# Every public method but `apply` (the mixins' too) is the command it is named after.
_HANDLERS: dict[str, Callable[[RedisModel, list[str]], Reply]] = {
    _command_name(name): method
    for cls in (StreamCommands, BitCommands, JsonCommands, ZsetCommands, HyperLogLogCommands, GeoCommands, RedisModel)
    for name, method in vars(cls).items() if callable(method) and not name.startswith("_") and name != "apply"
}
