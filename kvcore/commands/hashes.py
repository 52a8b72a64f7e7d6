"""Hash commands: fields and values, counters, random fields and HSCAN.

Hashes are `HashValue`s (insertion-ordered, packed while small: see
`kvcore.types_hash`); an emptied hash is deleted, as in Redis. HINCRBYFLOAT
is propagated as the HSET of its result, and HRANDFIELD draws from the
node's seeded rng.
"""

from __future__ import annotations

from itertools import islice

from kvcore import errors
from kvcore.commands.args import LLONG_MAX, LLONG_MIN, parse_int
from kvcore.commands.key_specs import Index, KeySpec
from kvcore.commands.strings import incr_by_float, parse_long_double
from kvcore.commands.table import Flag, Registry
from kvcore.glob import glob_match
from kvcore.output_limits import draws_within_limit
from kvcore.reply import OK, Error, Map
from kvcore.types_hash import HashValue

REGISTRY = Registry("hash")
command = REGISTRY.command

W = Flag.WRITE | Flag.DENYOOM
R = Flag.READONLY

HASH_NOT_INTEGER = "ERR hash value is not an integer"
HASH_NOT_FLOAT = "ERR hash value is not a float"
INCR_NAN_OR_INF = "ERR value is NaN or Infinity"
COUNT_RANGE = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
WITHVALUES_RANGE = "ERR value is out of range"
INVALID_CURSOR = "ERR invalid cursor"
_ULONG_RANGE = 2**64


# -- shared pieces ------------------------------------------------------------
def _notify(client, event: str, key: bytes) -> None:
    client.node.notify_keyspace_event(event, key, client.db.index)


def _read_hash(client, key: bytes) -> HashValue | None:
    value = client.db.lookup_read(key)
    if value is not None and type(value) is not HashValue:
        raise Error(errors.WRONGTYPE)
    return value


def _store(client, key: bytes, target: HashValue | None, pairs: list[bytes], event: str = "hset") -> int:
    """Set field/value ``pairs`` (flat) in the hash at key, creating it; how many fields were new."""
    db = client.db
    created = target is None
    if created:
        target = HashValue()
    added = target.store(pairs, client.node.config)
    changes = len(pairs) // 2
    if created:
        db.set(key, target)
        changes -= 1
    if changes:
        db.written(key, changes)
    _notify(client, event, key)
    return added


# -- writes -----------------------------------------------------------------------
def _hset(client, argv) -> int:
    if len(argv) % 2 == 1:
        raise Error(errors.wrong_arity(argv[0].decode("utf-8", "replace").lower()))
    target = client.db.get_typed(argv[1], HashValue)
    return _store(client, argv[1], target, argv[2:])


@command("hset", -4, W | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW UPDATE", Index(1)),))
def hset(client, argv):
    """HSET key field value [field value ...]"""
    return _hset(client, argv)


@command("hmset", -4, W | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW UPDATE", Index(1)),))
def hmset(client, argv):
    """HMSET key field value [field value ...]"""
    _hset(client, argv)
    return OK


@command("hsetnx", 4, W | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW INSERT", Index(1)),))
def hsetnx(client, argv):
    """HSETNX key field value"""
    target = client.db.get_typed(argv[1], HashValue)
    if target is not None and argv[2] in target:
        return 0
    return _store(client, argv[1], target, argv[2:4])


@command("hdel", -3, Flag.WRITE | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW DELETE", Index(1)),))
def hdel(client, argv):
    """HDEL key field [field ...]"""
    db, key = client.db, argv[1]
    target = db.get_typed(key, HashValue)
    if target is None:
        return 0
    deleted = target.delete(argv[2:])
    if deleted:
        _notify(client, "hdel", key)
        if target:
            db.written(key, deleted)
        else:
            if deleted > 1:
                db.written(key, deleted - 1)
            db.delete(key)
            _notify(client, "del", key)
    return deleted


@command("hincrby", 4, W | Flag.FAST, (1, 1, 1), since="2.0.0", key_specs=(KeySpec("RW ACCESS UPDATE", Index(1)),))
def hincrby(client, argv):
    """HINCRBY key field increment"""
    delta = parse_int(argv[3])
    key, field = argv[1], argv[2]
    target = client.db.get_typed(key, HashValue)
    old = None if target is None else target.get(field)
    current = 0 if old is None else parse_int(old, HASH_NOT_INTEGER)
    result = current + delta
    if result < LLONG_MIN or result > LLONG_MAX:
        raise Error(errors.OVERFLOW)
    _store(client, key, target, [field, b"%d" % result], "hincrby")
    return result


@command("hincrbyfloat", 4, W | Flag.FAST, (1, 1, 1), since="2.6.0", key_specs=(KeySpec("RW ACCESS UPDATE", Index(1)),))
def hincrbyfloat(client, argv):
    """HINCRBYFLOAT key field increment"""
    if isinstance(parse_long_double(argv[3]), float):  # +-inf
        raise Error(INCR_NAN_OR_INF)
    key, field = argv[1], argv[2]
    target = client.db.get_typed(key, HashValue)
    old = None if target is None else target.get(field)
    if old is not None:
        parse_long_double(old, HASH_NOT_FLOAT)
    text = incr_by_float(old, argv[3])
    _store(client, key, target, [field, text], "hincrbyfloat")
    client.propagate_as = [[b"HSET", key, field, text]]
    return text


# -- reads --------------------------------------------------------------------------
@command("hget", 3, R | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RO ACCESS", Index(1)),))
def hget(client, argv):
    """HGET key field"""
    value = _read_hash(client, argv[1])
    return None if value is None else value.get(argv[2])


@command("hmget", -3, R | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RO ACCESS", Index(1)),))
def hmget(client, argv):
    """HMGET key field [field ...]"""
    value = _read_hash(client, argv[1])
    if value is None:
        return [None] * (len(argv) - 2)
    get = value.get
    return [get(field) for field in argv[2:]]


@command("hlen", 2, R | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RO", Index(1)),))
def hlen(client, argv):
    """HLEN key"""
    value = _read_hash(client, argv[1])
    return 0 if value is None else len(value)


@command("hstrlen", 3, R | Flag.FAST, (1, 1, 1), since="3.2.0", key_specs=(KeySpec("RO", Index(1)),))
def hstrlen(client, argv):
    """HSTRLEN key field"""
    value = _read_hash(client, argv[1])
    found = None if value is None else value.get(argv[2])
    return 0 if found is None else len(found)


@command("hexists", 3, R | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RO", Index(1)),))
def hexists(client, argv):
    """HEXISTS key field"""
    value = _read_hash(client, argv[1])
    return int(value is not None and argv[2] in value)


@command("hkeys", 2, R, (1, 1, 1), key_specs=(KeySpec("RO ACCESS", Index(1)),), tips=("nondeterministic_output_order",))
def hkeys(client, argv):
    """HKEYS key"""
    value = _read_hash(client, argv[1])
    return [] if value is None else list(value)


@command("hvals", 2, R, (1, 1, 1), key_specs=(KeySpec("RO ACCESS", Index(1)),), tips=("nondeterministic_output_order",))
def hvals(client, argv):
    """HVALS key"""
    value = _read_hash(client, argv[1])
    return [] if value is None else list(value.values())


@command(
    "hgetall", 2, R, (1, 1, 1),
    key_specs=(KeySpec("RO ACCESS", Index(1)),),
    tips=("nondeterministic_output_order",),
)
def hgetall(client, argv):
    """HGETALL key"""
    value = _read_hash(client, argv[1])
    return Map([]) if value is None else Map(value.items())


# -- random fields -----------------------------------------------------------------
def _parse_hrandfield(argv) -> tuple[int, bool]:
    count = parse_int(argv[2])
    if count == LLONG_MIN:
        raise Error(COUNT_RANGE)
    if len(argv) > 4 or (len(argv) == 4 and argv[3].upper() != b"WITHVALUES"):
        raise Error(errors.SYNTAX)
    withvalues = len(argv) == 4
    if withvalues and abs(count) > LLONG_MAX // 2:
        raise Error(WITHVALUES_RANGE)
    return count, withvalues


@command(
    "hrandfield", -2, R, (1, 1, 1), since="6.2.0",
    key_specs=(KeySpec("RO ACCESS", Index(1)),),
    tips=("nondeterministic_output",),
)
def hrandfield(client, argv):
    """HRANDFIELD key [count [WITHVALUES]]"""
    if len(argv) == 2:
        value = _read_hash(client, argv[1])
        if value is None:
            return None
        return next(islice(value, client.node.rng.randrange(len(value)), None))
    count, withvalues = _parse_hrandfield(argv)
    value = _read_hash(client, argv[1])
    if value is None or count == 0:
        return []
    if count < 0:
        count = -draws_within_limit(client, -count)
    fields = _random_fields(value, count, client.node.rng)
    if not withvalues:
        return fields
    table = value.table()
    if client.resp3:
        return [[field, table[field]] for field in fields]
    return [item for field in fields for item in (field, table[field])]


def _random_fields(value: HashValue, count: int, rng) -> list[bytes]:
    """``count`` distinct fields (all of them if fewer), or -count draws with repeats."""
    if count >= len(value):
        return list(value)
    fields = list(value)
    if count < 0:
        size = len(fields)
        return [fields[rng.randrange(size)] for _ in range(-count)]
    return [fields[i] for i in rng.sample(range(len(fields)), count)]


# -- HSCAN -------------------------------------------------------------------------
def _parse_cursor(arg: bytes) -> int:
    """A cursor as strtoul reads it (sign allowed, no spaces), else 'invalid cursor'."""
    digits = arg[1:] if arg[:1] in (b"+", b"-") else arg
    if digits and not digits.isdigit():
        raise Error(INVALID_CURSOR)
    value = int(digits or b"0")
    if value >= _ULONG_RANGE:
        raise Error(INVALID_CURSOR)
    return (-value) % _ULONG_RANGE if arg[:1] == b"-" else value


def _scan_options(argv) -> tuple[int, bytes | None]:
    """HSCAN's COUNT (10 by default) and MATCH pattern (None for all)."""
    count, pattern = 10, None
    i = 3
    while i < len(argv):
        option = argv[i].upper()
        if i + 1 >= len(argv) or option not in (b"COUNT", b"MATCH"):
            raise Error(errors.SYNTAX)
        if option == b"COUNT":
            count = parse_int(argv[i + 1])
            if count < 1:
                raise Error(errors.SYNTAX)
        else:
            pattern = None if argv[i + 1] == b"*" else argv[i + 1]
        i += 2
    return count, pattern


@command(
    "hscan", -3, R, (1, 1, 1), since="2.8.0",
    key_specs=(KeySpec("RO ACCESS", Index(1)),),
    tips=("nondeterministic_output",),
)
def hscan(client, argv):
    """HSCAN key cursor [MATCH pattern] [COUNT count]

    A listpack hash comes back whole with cursor 0, as Redis returns it; a
    hashtable is walked COUNT fields a call in the order of its scan
    positions (`HashValue.scan_order`), with cursors that survive changes.
    """
    cursor = _parse_cursor(argv[2])
    value = _read_hash(client, argv[1])
    if value is None:
        return [b"0", []]
    count, pattern = _scan_options(argv)
    if value.hashtable:
        table = value.table()
        cursor, fields = value.scan_order().walk(cursor, count, table)
        pairs = ((field, table[field]) for field in fields)
    else:
        cursor, pairs = 0, value.items()
    found = []
    for field, item in pairs:
        if pattern is None or glob_match(pattern, field):
            found.append(field)
            found.append(item)
    return [b"%d" % cursor, found]
