"""Workloads: what clients do, how each operation speaks RESP, and which checkers judge it.

An operation is a conversation: a generator that yields the commands of one
round trip (a list of argv lists, sent pipelined) and receives their replies,
until it returns its outcome ``(type, value)`` ("ok" or "fail"); it may also
yield a `Pause`, to think between round trips. A reply no correct server would
give raises `Unexpected`.

- register: GET, ``SET k v EX ttl`` or DEL, cas (WATCH, GET, a pause to think, MULTI/SET/EXEC; or SET NX,
  a cas from no value), and swap (SET ... GET); values 0..9; linearizability
  (register) and durability.
- counter: INCRBY, DECRBY, INCR or INCRBYFLOAT (`INCREMENTS`) and GET;
  linearizability (counter), which also sees a lost increment in the final read.
- set: SADD of unique values, SMEMBERS in the final reads; set and durability.
- append: RPUSH of unique values and LRANGE; list-append and durability.
- hash: HSET, HSETNX, HMSET or HINCRBY of unique fields (each field's value is
  the field), HGETALL in the final reads; set and durability, over the fields.
- zset: ZADD (plain, NX or CH) or ZINCRBY of unique members (each member's
  score is the member), ZRANGE
  WITHSCORES in the final reads, which must come in score order; set and
  durability, over the members.
- queue: RPUSH of unique elements, taking the head with LPOP, LMPOP or LMOVE,
  or with BLPOP, BLMPOP or BLMOVE (which wait up to `QUEUE_BLOCK_S` for one),
  LRANGE in the final reads; the queue checker
  (each element out once, in the order it went in, or left: it sees losses too).
- stream: a queue over a stream and one consumer group: XADD of unique
  elements; XREADGROUP of one new entry (``>``, blocking for `QUEUE_BLOCK_S`
  half the time, the group made first if need be) then XACK of it; the final
  read lists the entries past the group's last delivered ID (XINFO GROUPS,
  XRANGE); the queue checker, as for queue.
- expiry: unique elements written with a TTL (SET PX/EX, PSETEX, SETEX, SET then
  PEXPIRE/EXPIRE or GETEX, SET PX then PEXPIRE with NX/XX/GT/LT or SET KEEPTTL)
  or without one whatever TTL the key had (SET, GETSET, MSET, SET PX then
  PERSIST or GETEX PERSIST, SET then PEXPIRE XX or GT), read with GET and PTTL, from the key's primary
  (five reads in seven aimed at the key's deadline: the last millisecond that serves it, and the next),
  or (``replica-read``) from one of its replicas, if it has any; and (``watched-write``) SET PX
  under a WATCH of the key, waiting past its deadline when near; each in a transaction with
  TIME, so that every operation knows the server time it ran at; expiry
  (served exactly until the deadline, with that TTL; a replica may lag, but never serves a value
  past its deadline by its own clock).
- bank: transfers between a bank's accounts, either blind (DECRBY and INCRBY in
  MULTI/EXEC) or watched (WATCH, MGET, a pause to think, then SET both in MULTI/EXEC, or a
  DISCARDed transaction when the source has too little), and MGET of every
  account; the bank checker (every read sums to 0: no transfer half done, no
  update lost).
- pubsub: PUBLISH and SPUBLISH of unique messages to a few channels, heard by
  subscribers (`sim.subscriber`: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, each for a
  while, then leaving); the pubsub checker (each message heard once, in one
  order, none missed while listening, receiver counts that fit).
- cache: SET of unique elements padded to `CACHE_VALUE_BYTES`, with a TTL far
  ahead on odd keys (volatile) and none on even ones, each followed by INFO
  memory in the same round trip, and GET; the server runs under a small
  ``maxmemory`` and a policy the seed draws (`cache_options`), every client
  on keys of its own; the cache checker (nothing lost that the policy may
  not evict, nothing stale or unexpected, memory bounded).
- mixed: Redis's write commands across every type (`sim.mixed`), alone, in
  transactions, in scripts, in database 1, with TTLs, with function libraries
  and moves between databases; no checker of its own:
  the restart and convergence checks judge the state it leaves, and TYPE the
  final reads.
- reference: 174 commands over every type (strings, also as bits; lists, sets,
  hashes, sorted sets (also of one score, for lex ranges), streams with consumer
  groups, HyperLogLogs, geo points, JSON documents), with deadlines far ahead or long past (EXPIRETIME shows
  them), and whole iterations (SCAN, SSCAN, HSCAN, ZSCAN; `sim.reference_ops`),
  each client on a group of keys of its own (a new group every
  `REFERENCE_EPOCH_MS`), one command at a time (alone, in MULTI/EXEC, through
  a Lua script, on a connection switched to RESP3 for it, or ``aborted``: in a transaction that a command refused when
  queued dooms), so every reply is predictable; the reference checker (each reply is what a
  sequential Redis, `jepsen_like.redis_model`, gives, while the group's state
  is known).

Keys are used a few at a time and retired as simulated time goes by (Jepsen's
independent keys), which keeps each key's history small for the checkers.
Every key ever used is read once more at the end of the run (`final_read`).
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from hiredis import ReplyError

from jepsen_like.redis_model import as_json
from kvcore.eviction import BASE_BYTES
from sim import mixed, reference_ops
from sim.resp3_replies import WrongShape, as_resp2
from sim.rng import derive

KEYS_PER_EPOCH = 3
KEY_EPOCH_MS = 2000
REGISTER_VALUES = 10
REGISTER_TTL_S = 30 * 86_400  # a month: more than clock faults move a clock forward in any run of sensible length
REGISTER_DELETE_SHARE = 0.15  # of the writes: DEL, a write of no value
REGISTER_CREATE_SHARE = 0.3  # of the cas operations: SET NX (a cas from no value) rather than WATCH and MULTI
COUNTER_DELTA_MAX = 5
QUEUE_BLOCK_S = b"0.3"  # BLPOP's timeout: well within the client's operation timeout
EXPIRY_TTL_MS_MAX = 2500  # most keys expire while still in use (KEY_EPOCH_MS)
EXPIRY_TTL_MS_SHORT = 50  # some expire before the next operation: deadlines are met at every distance
EXPIRY_WATCHED_SHARE = 0.15  # of the expiry writes: SET PX under a WATCH of the key (`_expiry_watched_write`)
EXPIRY_WATCH_WAIT_MS_MAX = 300  # a watched write waits past a deadline this near
EXPIRY_AIMS_MS = (None, None, 0, 1, 2, 3, 4)  # how early a read aims at its key's deadline (None: it does not)
EXPIRY_AIM_MS_MAX = 500  # a read aims at a deadline this near
PUBSUB_CHANNELS = 3
BANK_ACCOUNTS = 4
BANK_AMOUNT_MAX = 5
REPLICAS_INDEX_MAX = 1000  # a replica-read names a replica by an index drawn below this, modulo how many there are
WATCH_THINK_MS_MAX = 100  # how long a watched read-modify-write may pause between its read and its write
REFERENCE_EPOCH_MS = 8000  # a client's group of keys: long enough to build up state
REFERENCE_CLIENTS_MAX = reference_ops.CLIENTS_MAX  # group keys: epoch * this + client
BANK_POISON = 1000  # what a discarded transaction would take from an account, were it not discarded
UID_STRIDE = 1_000_000_000  # client i's unique values are (i + 1) * UID_STRIDE + n
CACHE_KEYS_PER_CLIENT = 40
CACHE_VALUE_BYTES = 1000
CACHE_ROOM_BYTES = 16 * 1024  # maxmemory over an empty server's weight: about 14 values fit
CACHE_POLICIES = ("noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
                  "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl")

# Errors that mean "refused, not executed": the operation fails cleanly. UNBLOCKED: a blocked command
# given up when its primary turned replica (a failover).
REFUSALS = ("LOADING", "MISCONF", "BUSY", "OOM", "READONLY", "TRYAGAIN", "MASTERDOWN", "NOREPLICAS", "EXECABORT",
            "UNBLOCKED", "MOVED", "ASK", "CLUSTERDOWN", "ERR Script attempted to execute a command while the cluster is down",
            "ERR Script attempted to access a non local key")  # the last three: a cluster node's (a script's keys
# are not declared, so a node that lost their slot refuses at the first one instead of redirecting)

Conversation = Generator[list[list[bytes]], list[Any], tuple[str, Any]]


class Unexpected(Exception):
    """A reply that no correct server gives to these commands."""


@dataclass(frozen=True, slots=True)
class Pause:
    """Yielded by a conversation in place of commands: wait `ms` before the next round trip, and
    receive no replies. A watched read-modify-write thinks between its read and its write, as an
    application computes there; the longer its WATCH is held, the more often other clients'
    writes land inside it, several watchers at once, and must make its EXEC fail."""

    ms: int


def watch_think_ms(rng: random.Random) -> int:
    """A watched operation's pause: none half the time, else up to `WATCH_THINK_MS_MAX`."""
    return rng.randint(1, WATCH_THINK_MS_MAX) if rng.random() < 0.5 else 0


@dataclass(slots=True)
class Op:
    """One operation: what the history records, and the conversation that performs it."""

    f: str
    key: str
    value: Any
    conversation: Conversation
    replica: int | None = None  # served by a replica of the key's primary (this index into them), if it has any


def key_name(index: int) -> str:
    return f"k{index}"


def key_index(key: str) -> int:
    return int(key[1:])


def _ok(reply: Any) -> None:
    if reply != b"OK" or type(reply) is not bytes:
        _refused_or_unexpected(reply, "OK")


class Refused(Exception):
    """An error reply meaning the command was not executed: the operation fails."""


def _is_refusal(reply: Any) -> bool:
    return type(reply) is ReplyError and str(reply).startswith(REFUSALS)


def _refused_or_unexpected(reply: Any, wanted: str) -> None:
    if _is_refusal(reply):
        raise Refused(str(reply))
    raise Unexpected(f"wanted {wanted}, got {reply!r}")


def _int(reply: Any, what: str) -> int:
    if type(reply) is int:
        return reply
    if type(reply) is bytes:
        try:
            return int(reply)
        except ValueError:
            pass
    _refused_or_unexpected(reply, what)
    raise AssertionError("unreachable")


def _int_or_none(reply: Any) -> int | None:
    return None if reply is None else _int(reply, "an integer or nil")


def _ints(reply: Any) -> list[int]:
    if type(reply) is not list:
        _refused_or_unexpected(reply, "an array")
    return [_int(item, "an integer element") for item in reply]


# -- register ---------------------------------------------------------------


def _register_read(key: bytes) -> Conversation:
    (value,) = yield [[b"GET", key]]
    return ("ok", _int_or_none(value))


def _register_write(key: bytes, value: int) -> Conversation:
    (reply,) = yield [[b"SET", key, b"%d" % value, b"EX", b"%d" % REGISTER_TTL_S]]
    _ok(reply)
    return ("ok", value)


def _register_delete(key: bytes) -> Conversation:
    """DEL: a write of no value (whether the key existed is not judged)."""
    (reply,) = yield [[b"DEL", key]]
    if reply not in (0, 1):
        _refused_or_unexpected(reply, "0 or 1")
    return ("ok", None)


def _register_create(key: bytes, new: int) -> Conversation:
    """A cas from no value: SET NX, which writes only a key that does not exist."""
    (reply,) = yield [[b"SET", key, b"%d" % new, b"NX", b"EX", b"%d" % REGISTER_TTL_S]]
    if reply is None:
        return ("fail", None)
    _ok(reply)
    return ("ok", [None, new])


def _register_swap(key: bytes, new: int) -> Conversation:
    """SET ... GET: writes the value and returns the one it replaced."""
    (old,) = yield [[b"SET", key, b"%d" % new, b"GET", b"EX", b"%d" % REGISTER_TTL_S]]
    return ("ok", _int_or_none(old))


def _register_cas(key: bytes, expected: int, new: int, think_ms: int) -> Conversation:
    watched, current = yield [[b"WATCH", key], [b"GET", key]]
    _ok(watched)
    if _int_or_none(current) != expected:
        (reply,) = yield [[b"UNWATCH"]]
        _ok(reply)
        return ("fail", None)
    if think_ms:
        yield Pause(think_ms)
    multi, queued, done = yield [[b"MULTI"], [b"SET", key, b"%d" % new, b"EX", b"%d" % REGISTER_TTL_S], [b"EXEC"]]
    _ok(multi)
    if queued != b"QUEUED":
        _refused_or_unexpected(queued, "QUEUED")
    if done is None:
        return ("fail", None)  # the key changed since WATCH: aborted
    if type(done) is not list or len(done) != 1:
        _refused_or_unexpected(done, "[OK] or nil")
    _ok(done[0])
    return ("ok", [expected, new])


# -- counter ------------------------------------------------------------------


# Ways to add delta to a counter: INCRBY, DECRBY of its negation, INCR (delta 1), INCRBYFLOAT (an
# integer sum stays an integer, spelled without a point, and is logged as a SET).
INCREMENTS = {
    "INCRBY": lambda key, delta: [b"INCRBY", key, b"%d" % delta],
    "DECRBY": lambda key, delta: [b"DECRBY", key, b"%d" % -delta],
    "INCR": lambda key, delta: [b"INCR", key] if delta == 1 else [b"INCRBY", key, b"%d" % delta],
    "INCRBYFLOAT": lambda key, delta: [b"INCRBYFLOAT", key, b"%d" % delta],
}


def _counter_incr(key: bytes, delta: int, form: str) -> Conversation:
    (reply,) = yield [INCREMENTS[form](key, delta)]
    _int(reply, "an integer")
    return ("ok", delta)


def _counter_read(key: bytes) -> Conversation:
    (value,) = yield [[b"GET", key]]
    seen = _int_or_none(value)
    return ("ok", 0 if seen is None else seen)


# -- set ----------------------------------------------------------------------


def _set_add(key: bytes, element: int) -> Conversation:
    (reply,) = yield [[b"SADD", key, b"%d" % element]]
    if _int(reply, "an integer") != 1:
        raise Unexpected(f"SADD of a new element replied {reply!r}")
    return ("ok", element)


def _set_read(key: bytes) -> Conversation:
    (reply,) = yield [[b"SMEMBERS", key]]
    return ("ok", sorted(_ints(reply)))


# -- hash ---------------------------------------------------------------------


# Ways to add a new field (or member) whose value (or score) is itself, each with the reply it gives.
HASH_ADDS = {
    "HSET": (lambda key, e: [b"HSET", key, e, e], 1),
    "HSETNX": (lambda key, e: [b"HSETNX", key, e, e], 1),
    "HMSET": (lambda key, e: [b"HMSET", key, e, e], b"OK"),
    "HINCRBY": (lambda key, e: [b"HINCRBY", key, e, e], "element"),
}
ZSET_ADDS = {
    "ZADD": (lambda key, e: [b"ZADD", key, e, e], 1),
    "ZADD NX": (lambda key, e: [b"ZADD", key, b"NX", e, e], 1),
    "ZADD CH": (lambda key, e: [b"ZADD", key, b"CH", e, e], 1),
    "ZINCRBY": (lambda key, e: [b"ZINCRBY", key, e, e], "element"),
}


def _add_new(key: bytes, element: int, form: tuple) -> Conversation:
    """Add a new field or member (`HASH_ADDS`, `ZSET_ADDS`); its reply must be the form's."""
    build, expected = form
    (reply,) = yield [build(key, b"%d" % element)]
    if expected == "element":
        expected = element
        reply = _int(reply, "the element")
    if reply != expected:
        _refused_or_unexpected(reply, repr(expected))
    return ("ok", element)


def _hash_read(key: bytes) -> Conversation:
    (reply,) = yield [[b"HGETALL", key]]
    items = _ints(reply)
    fields, values = items[0::2], items[1::2]
    if fields != values:
        raise Unexpected(f"HGETALL gave fields with values other than those written: {reply!r}")
    return ("ok", sorted(fields))


# -- zset ---------------------------------------------------------------------


def _zset_read(key: bytes) -> Conversation:
    (reply,) = yield [[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]]
    items = _ints(reply)
    members, scores = items[0::2], items[1::2]
    if members != scores or members != sorted(members):
        raise Unexpected(f"ZRANGE gave members out of score order or with other scores: {reply!r}")
    return ("ok", members)


# -- append -------------------------------------------------------------------


def _append(key: bytes, element: int) -> Conversation:
    (reply,) = yield [[b"RPUSH", key, b"%d" % element]]
    _int(reply, "an integer")
    return ("ok", element)


def _list_read(key: bytes) -> Conversation:
    (reply,) = yield [[b"LRANGE", key, b"0", b"-1"]]
    return ("ok", _ints(reply))


# -- queue ----------------------------------------------------------------------


# Ways to take the head of a queue, each a command (with its timeout when it blocks) and how its
# reply names the element: as itself, in [key, element] (BLPOP), or in [key, [element]] (LMPOP).
# LMOVE and BLMOVE move it to a list of taken elements beside the queue.
DEQUEUES = {
    "LPOP": lambda key: [b"LPOP", key],
    "LMPOP": lambda key: [b"LMPOP", b"1", key, b"LEFT"],
    "LMOVE": lambda key: [b"LMOVE", key, _taken(key), b"LEFT", b"RIGHT"],
}
BLOCKING_DEQUEUES = {
    "BLPOP": lambda key: [b"BLPOP", key, QUEUE_BLOCK_S],
    "BLMPOP": lambda key: [b"BLMPOP", QUEUE_BLOCK_S, b"1", key, b"LEFT"],
    "BLMOVE": lambda key: [b"BLMOVE", key, _taken(key), b"LEFT", b"RIGHT", QUEUE_BLOCK_S],
}


def _taken(key: bytes) -> bytes:
    """The list of a queue's taken elements: tagged with the queue's name, so in its cluster slot."""
    return b"{%s}:taken" % key

DEQUEUE_FORMS = {**DEQUEUES, **BLOCKING_DEQUEUES}


def _dequeue(key: bytes, form: str) -> Conversation:
    """Take the queue's head in one of `DEQUEUES` or `BLOCKING_DEQUEUES` (nil: empty, or timed out)."""
    command = DEQUEUE_FORMS[form](key)
    (reply,) = yield [command]
    if reply is None or form in ("LPOP", "LMOVE", "BLMOVE"):
        return ("ok", _int_or_none(reply))
    if type(reply) is not list or len(reply) != 2 or reply[0] != key:
        _refused_or_unexpected(reply, "[key, element] or nil")
    element = reply[1]
    if form in ("LMPOP", "BLMPOP"):
        if type(element) is not list or len(element) != 1:
            _refused_or_unexpected(reply, "[key, [element]]")
        element = element[0]
    return ("ok", _int(element, "an integer element"))


# -- stream -------------------------------------------------------------------

STREAM_GROUP = b"g"
STREAM_FIELD = b"e"
STREAM_BLOCK_MS = b"%d" % int(float(QUEUE_BLOCK_S) * 1000)  # XREADGROUP BLOCK waits as BLPOP does


def _stream_add(key: bytes, element: int) -> Conversation:
    (reply,) = yield [[b"XADD", key, b"*", STREAM_FIELD, b"%d" % element]]
    if type(reply) is not bytes or b"-" not in reply:
        _refused_or_unexpected(reply, "an entry ID")
    return ("ok", element)


def _stream_take(key: bytes, consumer: bytes, block: bool) -> Conversation:
    """One new entry for the group (made first: BUSYGROUP when it is there), then its XACK.

    An XACK refused (-MISCONF after a failed log write, say) leaves the entry
    delivered but pending: the take's outcome is unknown, as for a lost reply.
    """
    waiting = [b"BLOCK", STREAM_BLOCK_MS] if block else []
    created, reply = yield [[b"XGROUP", b"CREATE", key, STREAM_GROUP, b"0", b"MKSTREAM"],
                            [b"XREADGROUP", b"GROUP", STREAM_GROUP, consumer, b"COUNT", b"1", *waiting,
                             b"STREAMS", key, b">"]]
    if type(created) is ReplyError and not str(created).startswith("BUSYGROUP"):
        _refused_or_unexpected(created, "OK or BUSYGROUP")  # nothing was read: the read failed likewise
    entries = _stream_entries(reply, key)
    if not entries:
        return ("ok", None)
    if len(entries) != 1:
        raise Unexpected(f"XREADGROUP COUNT 1 gave {len(entries)} entries")
    ident, element = entries[0]
    (acked,) = yield [[b"XACK", key, STREAM_GROUP, ident]]
    if _is_refusal(acked):
        return ("info", element)  # delivered (no longer new to the group) but not acknowledged: taken, or not
    if acked != 1:
        _refused_or_unexpected(acked, "1")
    return ("ok", element)


def _stream_rest(key: bytes) -> Conversation:
    """The elements past the group's last delivered ID (all of them before there is a group)."""
    (groups,) = yield [[b"XINFO", b"GROUPS", key]]
    last = b"-"
    if type(groups) is ReplyError and str(groups).startswith("ERR no such key"):
        return ("ok", [])
    if type(groups) is not list:
        _refused_or_unexpected(groups, "a list of groups")
    for group in groups:
        fields = dict(zip(group[::2], group[1::2])) if type(group) is list else group
        if fields.get(b"name") == STREAM_GROUP:
            last = b"(" + fields[b"last-delivered-id"]
    (reply,) = yield [[b"XRANGE", key, last, b"+"]]
    if type(reply) is not list:
        _refused_or_unexpected(reply, "a list of entries")
    return ("ok", [element for _, element in _entries(reply)])


def _stream_entries(reply: Any, key: bytes) -> list[tuple[bytes, int]]:
    """XREADGROUP's entries of ``key``: nil, [[key, entries]] (RESP2) or {key: entries} (RESP3)."""
    if reply is None:
        return []
    if type(reply) is dict:
        reply = list(reply.items())
    if type(reply) is not list or len(reply) != 1 or type(reply[0]) not in (list, tuple) or reply[0][0] != key:
        _refused_or_unexpected(reply, f"the entries of {key!r} or nil")
    return _entries(reply[0][1])


def _entries(entries: Any) -> list[tuple[bytes, int]]:
    """(ID, element) of each entry, from [[id, [field, value]], ...]."""
    out = []
    for entry in entries:
        if type(entry) is not list or len(entry) != 2 or entry[1] is None or list(entry[1][:1]) != [STREAM_FIELD]:
            raise Unexpected(f"a stream entry is [id, [{STREAM_FIELD!r}, element]], not {entry!r}")
        out.append((entry[0], _int(entry[1][1], "an integer element")))
    return out


# -- expiry -------------------------------------------------------------------


def _in_transaction(commands: list[list[bytes]], watched: bool = False) -> Conversation:
    """Run commands and TIME in one MULTI/EXEC (one server time for all); their replies, then
    that time in milliseconds. With `watched` (a WATCH before), an aborted EXEC gives None."""
    replies = yield [[b"MULTI"], *commands, [b"TIME"], [b"EXEC"]]
    _ok(replies[0])
    for queued in replies[1:-1]:
        if queued != b"QUEUED":
            _refused_or_unexpected(queued, "QUEUED")
    done = replies[-1]
    if done is None and watched:
        return None
    if type(done) is not list or len(done) != len(commands) + 1:
        _refused_or_unexpected(done, f"{len(commands) + 1} replies")
    return done[:-1], _time_ms(done[-1])


def _time_ms(time) -> int:
    """TIME's reply in milliseconds."""
    if type(time) is not list or len(time) != 2:
        raise Unexpected(f"TIME replied {time!r}")
    seconds, micros = (_int(part, "TIME's integers") for part in time)
    return seconds * 1000 + micros // 1000


OLD_VALUE = "a value or nil"  # the reply GETSET gives: what the key held


def _n(number: int) -> bytes:
    return b"%d" % number


# Redis's ways of storing a value with a TTL of ms milliseconds: (key, value, ms) -> each command
# with the reply it must give. Some give the TTL in two steps, with PEXPIRE's NX, XX, GT or LT
# options, or SET's KEEPTTL; all end with the TTL ms.
EXPIRY_FORMS = {
    "set-px": lambda k, v, ms: [([b"SET", k, v, b"PX", _n(ms)], b"OK")],
    "set-ex": lambda k, v, ms: [([b"SET", k, v, b"EX", _n(ms // 1000)], b"OK")],
    "psetex": lambda k, v, ms: [([b"PSETEX", k, _n(ms), v], b"OK")],
    "setex": lambda k, v, ms: [([b"SETEX", k, _n(ms // 1000), v], b"OK")],
    "set-pexpire": lambda k, v, ms: [([b"SET", k, v], b"OK"), ([b"PEXPIRE", k, _n(ms)], 1)],
    "set-expire": lambda k, v, ms: [([b"SET", k, v], b"OK"), ([b"EXPIRE", k, _n(ms // 1000)], 1)],
    "set-px-pexpire-gt": lambda k, v, ms: [([b"SET", k, v, b"PX", _n((ms + 1) // 2)], b"OK"),
                                           ([b"PEXPIRE", k, _n(ms), b"GT"], int(ms > (ms + 1) // 2))],
    "set-px-pexpire-lt": lambda k, v, ms: [([b"SET", k, v, b"PX", _n(2 * ms)], b"OK"),
                                           ([b"PEXPIRE", k, _n(ms), b"LT"], 1)],
    "set-px-pexpire-nx": lambda k, v, ms: [([b"SET", k, v, b"PX", _n(ms)], b"OK"),
                                           ([b"PEXPIRE", k, _n(2 * ms), b"NX"], 0)],
    "set-px-pexpire-xx": lambda k, v, ms: [([b"SET", k, v, b"PX", _n(2 * ms)], b"OK"),
                                           ([b"PEXPIRE", k, _n(ms), b"XX"], 1)],
    "set-pexpire-lt": lambda k, v, ms: [([b"SET", k, v], b"OK"), ([b"PEXPIRE", k, _n(ms), b"LT"], 1)],
    "set-px-keepttl": lambda k, v, ms: [([b"SET", k, b"0", b"PX", _n(ms)], b"OK"), ([b"SET", k, v, b"KEEPTTL"], b"OK")],
    "set-getex-px": lambda k, v, ms: [([b"SET", k, v], b"OK"), ([b"GETEX", k, b"PX", _n(ms)], v)],
    # and of storing one without a TTL, whatever TTL the key had (a key without one counts as
    # never expiring for GT, and has none for XX to change):
    "set": lambda k, v, ms: [([b"SET", k, v], b"OK")],
    "getset": lambda k, v, ms: [([b"GETSET", k, v], OLD_VALUE)],
    "mset": lambda k, v, ms: [([b"MSET", k, v], b"OK")],
    "set-px-persist": lambda k, v, ms: [([b"SET", k, v, b"PX", _n(ms)], b"OK"), ([b"PERSIST", k], 1)],
    "set-px-getex-persist": lambda k, v, ms: [([b"SET", k, v, b"PX", _n(ms)], b"OK"), ([b"GETEX", k, b"PERSIST"], v)],
    "set-pexpire-xx": lambda k, v, ms: [([b"SET", k, v], b"OK"), ([b"PEXPIRE", k, _n(ms), b"XX"], 0)],
    "set-pexpire-gt": lambda k, v, ms: [([b"SET", k, v], b"OK"), ([b"PEXPIRE", k, _n(ms), b"GT"], 0)],
}
SECONDS_FORMS = ("set-ex", "setex", "set-expire")  # their TTLs are whole seconds
PERSISTENT_FORMS = ("set", "getset", "mset", "set-px-persist", "set-px-getex-persist", "set-pexpire-xx",
                    "set-pexpire-gt")  # they leave the key no TTL
NO_TTL = -1  # the TTL the history gives a write of a persistent form (jepsen_like.expiry)


def _expiry_write(key: bytes, element: int, ttl_ms: int, form: str) -> Conversation:
    steps = EXPIRY_FORMS[form](key, b"%d" % element, ttl_ms)
    replies, at = yield from _in_transaction([command for command, _ in steps])
    for (command, expected), reply in zip(steps, replies):
        if expected is OLD_VALUE:
            if reply is not None and type(reply) is not bytes:
                _refused_or_unexpected(reply, OLD_VALUE)
        elif type(reply) is ReplyError:
            _refused_or_unexpected(reply, repr(expected))
        elif reply != expected or type(reply) is not type(expected):
            raise Unexpected(f"{command[0].decode()} in the expiry form {form} replied {reply!r}, not {expected!r}")
    return ("ok", [element, NO_TTL if form in PERSISTENT_FORMS else ttl_ms, at])


def _expiry_watched_write(key: bytes, element: int, ttl_ms: int, wait_percent: int) -> Conversation:
    """WATCH the key and read its TTL and the server time, wait `wait_percent` of that TTL (so
    about half the time past the key's deadline, when it is near), then SET PX in MULTI/EXEC,
    which must fail if the key changed, or expired, since the WATCH."""
    watched, pttl, time = yield [[b"WATCH", key], [b"PTTL", key], [b"TIME"]]
    _ok(watched)
    pttl, watched_at = _int(pttl, "an integer"), _time_ms(time)
    if 0 <= pttl <= EXPIRY_WATCH_WAIT_MS_MAX:
        yield Pause(pttl * wait_percent // 100 + 1)
    done = yield from _in_transaction([[b"SET", key, b"%d" % element, b"PX", _n(ttl_ms)]], watched=True)
    if done is None:
        return ("fail", None)  # the key changed or expired since WATCH: nothing written
    (reply,), at = done
    _ok(reply)
    return ("ok", [element, ttl_ms, at, watched_at, pttl])


def _expiry_read(key: bytes, aim_early_ms: int | None = None) -> Conversation:
    """GET and PTTL with TIME. With `aim_early_ms`, the key's PTTL is read first and, if its deadline
    is near, the read waits until then, less that many ms for the round trip: reads land on the
    deadline's own millisecond (the last that serves the value) and the next (the first that must not)."""
    if aim_early_ms is not None:
        (remaining,) = yield [[b"PTTL", key]]
        remaining = _int(remaining, "an integer")
        if 0 <= remaining <= EXPIRY_AIM_MS_MAX:
            yield Pause(max(0, remaining - aim_early_ms))
    (value, pttl), at = yield from _in_transaction([[b"GET", key], [b"PTTL", key]])
    return ("ok", [_int_or_none(value), _int(pttl, "an integer"), at])


# -- cache --------------------------------------------------------------------


def workload_options(workload: str, seed: int) -> dict[str, str]:
    """The server options a workload runs under, before the user's own (`--config`): the cache's
    maxmemory and policy, the reference workload's encoding limits; none for the others."""
    if workload == "cache":
        return cache_options(seed)
    if workload == "reference":
        return reference_ops.encoding_options(seed)
    return {}


def cache_options(seed: int) -> dict[str, str]:
    """The cache workload's server: little room over an empty server, and a policy the seed draws."""
    return {"maxmemory": str(BASE_BYTES + CACHE_ROOM_BYTES),
            "maxmemory-policy": derive(seed, "cache/policy").choice(CACHE_POLICIES)}


def cache_key_volatile(key: bytes) -> bool:
    return key_index(key.decode()) % 2 == 1


def _cache_write(key: bytes, element: int) -> Conversation:
    value = b"%d:" % element
    set_command = [b"SET", key, value.ljust(CACHE_VALUE_BYTES, b".")]
    if cache_key_volatile(key):
        set_command += [b"EX", b"%d" % REGISTER_TTL_S]
    stored, info = yield [set_command, [b"INFO", b"memory"]]
    _ok(stored)
    if type(info) is not bytes:
        _refused_or_unexpected(info, "INFO memory")
    fields = dict(line.split(b":", 1) for line in info.splitlines() if b":" in line)
    try:
        figures = [int(fields[b"used_memory"]), int(fields[b"maxmemory"]), fields[b"maxmemory_policy"].decode()]
    except (KeyError, ValueError):
        raise Unexpected(f"INFO memory without used_memory, maxmemory and maxmemory_policy: {info!r}") from None
    return ("ok", figures)


def _cache_read(key: bytes) -> Conversation:
    (value,) = yield [[b"GET", key]]
    if value is None:
        return ("ok", None)
    if _is_refusal(value):
        raise Refused(str(value))
    element, colon, _ = value.partition(b":") if type(value) is bytes else (b"", b"", b"")
    if not colon or not element.isdigit():
        raise Unexpected(f"a cache value is its element and padding, not {value!r}")
    return ("ok", int(element))


# -- mixed --------------------------------------------------------------------


def _mixed(commands: list[list[bytes]]) -> Conversation:
    replies = yield commands
    for command, reply in zip(commands, replies):
        for each in reply if command[0] == b"EXEC" and type(reply) is list else (reply,):
            if type(each) is ReplyError and not str(each).startswith(mixed.ALLOWED_ERRORS):
                _refused_or_unexpected(each, "no error")
    return ("ok", None)


def _mixed_types(key: bytes) -> Conversation:
    """Every key of the family holds its family's type, or nothing."""
    k = key.decode()
    replies = yield mixed.types_read(k)
    for suffix, reply in zip(mixed.KEY_SUFFIXES, replies):
        if reply not in (mixed.expected_type(suffix).encode(), b"none"):
            _refused_or_unexpected(reply, f"TYPE {mixed.expected_type(suffix)} or none for {suffix} of {k}")
    return ("ok", None)


# -- bank ---------------------------------------------------------------------


def bank_accounts(key: bytes) -> list[bytes]:
    """A bank's accounts: one hash tag, so that transactions over them are one slot's."""
    return [b"{%s}:%d" % (key, i) for i in range(BANK_ACCOUNTS)]


def _bank_read(key: bytes) -> Conversation:
    (reply,) = yield [[b"MGET", *bank_accounts(key)]]
    if type(reply) is not list:
        _refused_or_unexpected(reply, "an array of balances")
    return ("ok", [0 if balance is None else _int(balance, "a balance") for balance in reply])


def _blind_transfer(source: bytes, target: bytes, amount: int) -> Conversation:
    """DECRBY and INCRBY in one transaction: all or nothing, whatever the balances."""
    replies = yield [[b"MULTI"], [b"DECRBY", source, b"%d" % amount], [b"INCRBY", target, b"%d" % amount],
                     [b"EXEC"]]
    _ok(replies[0])
    for queued in replies[1:3]:
        if queued != b"QUEUED":
            _refused_or_unexpected(queued, "QUEUED")
    done = replies[3]
    if type(done) is not list or len(done) != 2:
        _refused_or_unexpected(done, "[balance, balance]")
    _int(done[0], "a balance")
    _int(done[1], "a balance")
    return ("ok", None)


def _watched_transfer(source: bytes, target: bytes, amount: int, think_ms: int) -> Conversation:
    """Read both balances under WATCH, think, then write both in a transaction if the source has the
    amount; if it has not, a transaction setting a poisoned balance is discarded."""
    watched, balances = yield [[b"WATCH", source, target], [b"MGET", source, target]]
    _ok(watched)
    if type(balances) is not list or len(balances) != 2:
        _refused_or_unexpected(balances, "two balances")
    have, other = (0 if balance is None else _int(balance, "a balance") for balance in balances)
    if think_ms:
        yield Pause(think_ms)
    if have < amount:
        multi, queued, discarded = yield [[b"MULTI"], [b"SET", source, b"%d" % (have - BANK_POISON)], [b"DISCARD"]]
        _ok(multi)
        _ok(discarded)
        return ("fail", None)
    replies = yield [[b"MULTI"], [b"SET", source, b"%d" % (have - amount)], [b"SET", target, b"%d" % (other + amount)],
                     [b"EXEC"]]
    _ok(replies[0])
    done = replies[3]
    if done is None:
        return ("fail", None)  # a balance changed since WATCH: aborted
    if type(done) is not list or len(done) != 2:
        _refused_or_unexpected(done, "[OK, OK] or nil")
    _ok(done[0])
    _ok(done[1])
    return ("ok", None)


# -- pubsub -------------------------------------------------------------------


def _publish(channel: bytes, message: int, kind: bytes) -> Conversation:
    (reply,) = yield [[kind, channel, b"%d" % message]]
    return ("ok", _int(reply, "a receiver count"))


def _numsub(channel: bytes) -> Conversation:
    (reply,) = yield [[b"PUBSUB", b"NUMSUB", channel]]
    if type(reply) is not list or len(reply) != 2 or reply[0] != channel:
        _refused_or_unexpected(reply, "[channel, count]")
    return ("ok", _int(reply[1], "a subscriber count"))


# -- reference ----------------------------------------------------------------


def _reference_scan(argv: list[str]) -> Conversation:
    """A whole iteration (SCAN, SSCAN, HSCAN, ZSCAN): from cursor 0 until the server returns 0; everything
    it returned."""
    cursor, found = "0", []
    while True:
        (reply,) = yield [[arg.encode() for arg in reference_ops.scan_next(argv, cursor)]]
        if _is_refusal(reply):
            raise Refused(str(reply))
        if type(reply) is not list or len(reply) != 2 or type(reply[1]) is not list:
            raise Unexpected(f"{argv[0]} replied {reply!r}")
        cursor, found = as_json(reply[0]), found + as_json(reply[1])
        if cursor == "0":
            return ("ok", found)


def _reference_command(argv: list[str], way: str) -> Conversation:
    """`argv` sent `way` (`reference_ops.sent`): its reply, or for ``aborted`` EXEC's."""
    if argv[0] in reference_ops.ITERATIONS:
        return (yield from _reference_scan(argv))
    replies = yield [[arg.encode() for arg in command] for command in reference_ops.sent(argv, way)]
    if way in ("multi", "aborted"):
        _ok(replies[0])
        if replies[1] != b"QUEUED":
            _refused_or_unexpected(replies[1], "QUEUED")
    if way == "aborted":
        if not isinstance(replies[2], ReplyError):
            raise Unexpected(f"{' '.join(reference_ops.REFUSED_WHEN_QUEUED)} in MULTI replied {replies[2]!r}")
        done = replies[3]
        if _is_refusal(done) and not str(done).startswith("EXECABORT"):
            raise Refused(str(done))
        return ("ok", as_json(done))
    if way == "multi":
        if type(replies[2]) is not list or len(replies[2]) != 1:
            _refused_or_unexpected(replies[2], "one reply")
        replies = replies[2]
    if way == "resp3" and len(replies) == 3:
        return ("ok", as_json(_resp3_reply(argv, replies)))
    reply = replies[-1]
    if _is_refusal(reply):
        raise Refused(str(reply))
    return ("ok", as_json(reply))


def _resp3_reply(argv: list[str], replies: list) -> Any:
    """The reply of `argv` sent between HELLO 3 and HELLO 2, in its RESP2 form (`sim.resp3_replies`)."""
    for hello, shape in ((replies[0], dict), (replies[2], list)):
        if type(hello) is not shape:
            _refused_or_unexpected(hello, f"HELLO's {shape.__name__}")
    if _is_refusal(replies[1]):
        raise Refused(str(replies[1]))
    try:
        return as_resp2(argv, replies[1])
    except WrongShape as exc:
        raise Unexpected(f"{argv[0]} on a RESP3 connection: {exc}") from None


def _reference_read(commands: list[list[str]]) -> Conversation:
    replies = yield [[arg.encode() for arg in argv] for argv in commands]
    for reply in replies:
        if _is_refusal(reply):
            raise Refused(str(reply))
    return ("ok", [as_json(reply) for reply in replies])


# -- the table ----------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """A workload's name, its operation mix, and the checkers that judge its history."""

    name: str
    mix: tuple[tuple[str, float], ...]  # (f, cumulative probability)
    checkers: tuple[str, ...]
    subscribers: int = 0  # listening clients besides the others (sim.subscriber)
    cluster: bool = False  # run against a cluster (sim.cluster): database 0 only

    def next_op(self, rng: random.Random, client: int, serial: int, now_ms: int) -> Op:
        """The next operation of `client` (its `serial`-th), on a key in use at `now_ms`."""
        if self.subscribers:  # the channels stay: subscribers listen to them the whole run
            key = key_name(rng.randrange(PUBSUB_CHANNELS))
        elif self.name == "cache":  # each client's own keys, kept the whole run: they fill the memory
            key = key_name(client * CACHE_KEYS_PER_CLIENT + rng.randrange(CACHE_KEYS_PER_CLIENT))
        elif self.name == "reference":  # each client's own group of keys, a new one every epoch
            key = key_name((now_ms // REFERENCE_EPOCH_MS) * REFERENCE_CLIENTS_MAX + client)
        else:
            key = key_name((now_ms // KEY_EPOCH_MS) * KEYS_PER_EPOCH + rng.randrange(KEYS_PER_EPOCH))
        roll = rng.random()
        f = next(name for name, upto in self.mix if roll < upto)
        return self._op(f, key, rng, (client + 1) * UID_STRIDE + serial)

    def _op(self, f: str, key: str, rng: random.Random, uid: int) -> Op:
        raw = key.encode()
        if f == "read" and self.name == "expiry":
            return Op(f, key, None, _expiry_read(raw, rng.choice(EXPIRY_AIMS_MS)))
        if f == "read":
            return self.final_read(key)
        if f == "replica-read":  # the expiry workload's: any replica, never one that lags behind its deadlines
            return Op(f, key, None, _expiry_read(raw), replica=rng.randrange(REPLICAS_INDEX_MAX))
        if self.name == "mixed":
            name, commands = mixed.operation(rng, key, databases=not self.cluster)
            return Op(f, key, name, _mixed(commands))
        if self.name == "reference":
            argv, way = reference_ops.operation(rng, key), rng.choice(reference_ops.WAYS)
            if argv[0] in reference_ops.ITERATIONS:
                way = "alone"  # a whole iteration, sent one call at a time
            return Op("aborted" if way == "aborted" else f, key, argv, _reference_command(argv, way))
        if f == "write" and self.name == "cache":
            return Op(f, key, [uid, cache_key_volatile(raw)], _cache_write(raw, uid))
        if f == "write" and self.name == "expiry" and rng.random() < EXPIRY_WATCHED_SHARE:
            ttl_ms = rng.randint(1, EXPIRY_TTL_MS_MAX)
            return Op("watched-write", key, [uid, ttl_ms], _expiry_watched_write(raw, uid, ttl_ms, rng.randint(0, 200)))
        if f == "write" and self.name == "expiry":
            form = rng.choice(tuple(EXPIRY_FORMS))
            ttl_ms = rng.randint(1, EXPIRY_TTL_MS_SHORT if rng.random() < 0.2 else EXPIRY_TTL_MS_MAX)
            if form in SECONDS_FORMS:
                ttl_ms = max(1, ttl_ms // 1000) * 1000
            written = NO_TTL if form in PERSISTENT_FORMS else ttl_ms
            return Op(f, key, [uid, written], _expiry_write(raw, uid, ttl_ms, form))
        if f == "write":
            if rng.random() < REGISTER_DELETE_SHARE:
                return Op(f, key, None, _register_delete(raw))
            value = rng.randrange(REGISTER_VALUES)
            return Op(f, key, value, _register_write(raw, value))
        if f == "cas":
            expected, new = rng.randrange(REGISTER_VALUES), rng.randrange(REGISTER_VALUES)
            if rng.random() < REGISTER_CREATE_SHARE:
                return Op(f, key, [None, new], _register_create(raw, new))
            return Op(f, key, [expected, new], _register_cas(raw, expected, new, watch_think_ms(rng)))
        if f == "swap":
            new = rng.randrange(REGISTER_VALUES)
            return Op(f, key, new, _register_swap(raw, new))
        if f == "incr":
            delta = rng.randint(1, COUNTER_DELTA_MAX)
            return Op(f, key, delta, _counter_incr(raw, delta, rng.choice(tuple(INCREMENTS))))
        if f == "add" and self.name in ("hash", "zset"):
            forms = HASH_ADDS if self.name == "hash" else ZSET_ADDS
            return Op(f, key, uid, _add_new(raw, uid, forms[rng.choice(tuple(forms))]))
        if f == "add":
            return Op(f, key, uid, _set_add(raw, uid))
        if f == "transfer":
            source, target = rng.sample(range(BANK_ACCOUNTS), 2)
            amount = rng.randint(1, BANK_AMOUNT_MAX)
            accounts = bank_accounts(raw)
            if rng.random() < 0.5:
                transfer = _watched_transfer(accounts[source], accounts[target], amount, watch_think_ms(rng))
            else:
                transfer = _blind_transfer(accounts[source], accounts[target], amount)
            return Op(f, key, [source, target, amount], transfer)
        if f == "publish":
            kind = b"SPUBLISH" if rng.random() < 1 / 3 else b"PUBLISH"
            return Op(f, key, [uid, kind.decode()], _publish(raw, uid, kind))
        if f == "enqueue" and self.name == "stream":
            return Op(f, key, uid, _stream_add(raw, uid))
        if f == "enqueue":
            return Op(f, key, uid, _append(raw, uid))
        if f == "dequeue" and self.name == "stream":
            return Op(f, key, None, _stream_take(raw, b"c%d" % (uid // UID_STRIDE), rng.random() < 0.5))
        if f == "dequeue":
            forms = DEQUEUES if rng.random() < 0.5 else BLOCKING_DEQUEUES
            return Op(f, key, None, _dequeue(raw, rng.choice(tuple(forms))))
        return Op(f, key, uid, _append(raw, uid))

    def final_read(self, key: str) -> Op:
        if self.name == "reference":
            commands = reference_ops.snapshot(key)
            return Op("read", key, commands, _reference_read(commands))
        return Op("read", key, None, _READERS[self.name](key.encode()))


_READERS = {"register": _register_read, "counter": _counter_read, "set": _set_read, "append": _list_read,
            "hash": _hash_read, "zset": _zset_read, "expiry": _expiry_read, "queue": _list_read, "mixed": _mixed_types,
            "pubsub": _numsub, "bank": _bank_read, "cache": _cache_read, "stream": _stream_rest}


WORKLOADS: dict[str, Workload] = {
    workload.name: workload
    for workload in (
        Workload("register", (("read", 0.45), ("write", 0.7), ("cas", 0.85), ("swap", 1.0)),
                 ("linearizability", "durability")),
        Workload("counter", (("read", 0.3), ("incr", 1.0)), ("linearizability",)),
        Workload("set", (("add", 1.0),), ("set", "durability")),
        Workload("append", (("read", 0.3), ("append", 1.0)), ("list-append", "durability")),
        Workload("hash", (("add", 1.0),), ("set", "durability")),
        Workload("zset", (("add", 1.0),), ("set", "durability")),
        Workload("queue", (("enqueue", 0.55), ("dequeue", 1.0)), ("queue",)),
        Workload("stream", (("enqueue", 0.55), ("dequeue", 1.0)), ("queue",)),
        Workload("expiry", (("read", 0.45), ("replica-read", 0.6), ("write", 1.0)), ("expiry",)),
        Workload("bank", (("read", 0.3), ("transfer", 1.0)), ("bank",)),
        Workload("reference", (("read", 0.03), ("cmd", 1.0)), ("reference",)),
        Workload("cache", (("read", 0.4), ("write", 1.0)), ("cache",)),
        Workload("mixed", (("write", 1.0),), ()),
        Workload("pubsub", (("publish", 1.0),), ("pubsub",), subscribers=2 * PUBSUB_CHANNELS),
    )
}
