"""Set commands: membership, random members, moves, the set algebra and SSCAN.

Sets are `SetValue`s (see `kvcore.types_set`): insertion-ordered members, or
numeric order while Redis would keep them in an intset. An emptied set is
deleted, as in Redis. SPOP is propagated as the SREM (or DEL) that replays
it; SRANDMEMBER and SPOP draw from the node's seeded RNG.
"""

from __future__ import annotations

from kvcore import errors
from kvcore.commands.args import LLONG_MAX, parse_int
from kvcore.commands.key_specs import Index, Keynum, KeySpec, Range
from kvcore.commands.keys import parse_cursor
from kvcore.commands.table import Flag, Registry
from kvcore.dict_model import FAIR_RANDOM_STEPS
from kvcore.glob import glob_match
from kvcore.output_limits import draws_within_limit
from kvcore.reply import Error, SetReply
from kvcore.types_set import INTSET_CAP, SetValue, is_int64_text

REGISTRY = Registry("set")
command = REGISTRY.command

W = Flag.WRITE | Flag.DENYOOM
R = Flag.READONLY
F = Flag.FAST

POSITIVE = "ERR value is out of range, must be positive"
COUNT_RANGE = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
NUMKEYS_RANGE = "ERR numkeys should be greater than 0"
NUMKEYS_TOO_MANY = "ERR Number of keys can't be greater than number of args"
LIMIT_NEGATIVE = "ERR LIMIT can't be negative"

SPOP_MOVE_STRATEGY_MUL = 5  # Redis's thresholds between its random-pick strategies
SRANDMEMBER_SUB_STRATEGY_MUL = 3


# -- shared pieces (zsets use some of these too) --------------------------------
def notify(client, event: str, key: bytes) -> None:
    client.node.notify_keyspace_event(event, key, client.db.index)


def typed(value, cls):
    """``value`` if it is missing or a ``cls``; WRONGTYPE otherwise."""
    if value is not None and type(value) is not cls:
        raise Error(errors.WRONGTYPE)
    return value


def record_changes(client, key: bytes, changes: int, emptied: bool) -> None:
    """Account ``changes`` in-place changes to the value at key; delete the key if it emptied.

    The dirty counter moves by ``changes`` either way, as Redis's does.
    """
    db = client.db
    if not emptied:
        db.written(key, changes)
        return
    if changes > 1:
        db.written(key, changes - 1)
    db.delete(key)
    notify(client, "del", key)


def store_result(client, key: bytes, value, event: str) -> int:
    """Store a computed collection at key (dropping any TTL), or delete key when it is empty."""
    db = client.db
    if len(value):
        db.set(key, value)
        notify(client, event, key)
        return len(value)
    if db.delete(key):
        notify(client, "del", key)
    return 0


def parse_range_long(arg: bytes, low: int, high: int, error: str) -> int:
    """Redis's getRangeLongFromObjectOrReply with a custom message (used for both failures)."""
    try:
        value = parse_int(arg)
    except Error:
        raise Error(error) from None
    if not low <= value <= high:
        raise Error(error)
    return value


def parse_numkeys(argv: list[bytes], index: int) -> int:
    """SINTERCARD / ZMPOP style numkeys: 1 .. LONG_MAX."""
    return parse_range_long(argv[index], 1, LLONG_MAX, NUMKEYS_RANGE)


def numkeys_positions(numkeys_index: int, lead: tuple[int, ...] = ()):
    """Key positions of a command whose keys follow a numkeys argument, ``lead``
    ones before it. None at all when numkeys is not a count of the arguments
    left, as Redis's genericGetKeys: the command will reply with an error."""

    def positions(argv: list[bytes]) -> list[int]:
        try:
            numkeys = parse_int(argv[numkeys_index])
        except (Error, IndexError):
            return []
        first = numkeys_index + 1
        if numkeys < 1 or numkeys > len(argv) - first:
            return []
        return [*lead, *range(first, first + numkeys)]

    return positions


def parse_scan_options(argv: list[bytes], start: int = 3) -> tuple[int, bytes | None]:
    """COUNT and MATCH of SSCAN/ZSCAN (the last of each wins); TYPE is a syntax error here."""
    count, pattern = 10, None
    i = start
    while i < len(argv):
        option = argv[i].lower()
        if i + 1 >= len(argv) or option not in (b"count", b"match"):
            raise Error(errors.SYNTAX)
        if option == b"count":
            count = parse_int(argv[i + 1])
            if count < 1:
                raise Error(errors.SYNTAX)
        else:
            pattern = None if argv[i + 1] == b"*" else argv[i + 1]
        i += 2
    return count, pattern


def matching(pattern: bytes | None, member: bytes) -> bool:
    return pattern is None or glob_match(pattern, member)


def _read(client, key: bytes) -> SetValue | None:
    return typed(client.db.lookup_read(key), SetValue)


def _for_write(client, key: bytes) -> SetValue | None:
    return typed(client.db.get(key), SetValue)


def _intset_limit(config) -> int:
    return min(config["set-max-intset-entries"], INTSET_CAP)


# -- a set's Redis dict, once observed (kvcore.dict_model) ---------------------------
def _child_running(client) -> bool:
    return client.node.child_info.job is not None


def _rehash_step(client, value: SetValue, steps: int = 1) -> None:
    """A lookup or random pick in Redis's dict takes rehash steps."""
    if value.table is not None:
        value.table.step(_child_running(client), steps)


def _add(client, value: SetValue, member: bytes) -> bool:
    """setTypeAdd: whether ``member`` is new (Redis's dict may start growing first)."""
    if value.table is not None:
        value.table.before_add(value, _child_running(client))
    return value.add(member)


def _remove(client, value: SetValue, member: bytes) -> bool:
    """setTypeRemove: whether ``member`` was there (Redis's dict may start shrinking after)."""
    table = value.table
    if table is None:
        return value.discard(member)
    child_running = _child_running(client)
    table.step(child_running)
    if not value.discard(member):
        return False
    table.removed(member, value, child_running)
    return True


def _random(client, value: SetValue) -> bytes:
    """setTypeRandomElement: dictGetFairRandomKey samples (no more than there are members), a rehash step a sample."""
    _rehash_step(client, value, min(FAIR_RANDOM_STEPS, len(value)))
    return value.random(client.node.rng)


# -- membership ------------------------------------------------------------------
@command("sadd", -3, W | F, (1, 1, 1), key_specs=(KeySpec("RW INSERT", Index(1)),))
def sadd(client, argv):
    """SADD key member [member ...]"""
    db, key, members = client.db, argv[1], argv[2:]
    value = _for_write(client, key)
    if value is None:
        value = SetValue.built(members, client.node.config)
        added = len(value)
        db.set(key, value)
        if added > 1:
            db.written(key, added - 1)
    else:
        if value.table is None:
            added = sum(map(value.add, members))
        else:
            added = sum(_add(client, value, member) for member in members)
        if added:
            value.note_added(client.node.config, members)
            db.written(key, added)
    if added:
        notify(client, "sadd", key)
    return added


@command("srem", -3, Flag.WRITE | F, (1, 1, 1), key_specs=(KeySpec("RW DELETE", Index(1)),))
def srem(client, argv):
    """SREM key member [member ...]"""
    key = argv[1]
    value = _for_write(client, key)
    if value is None:
        return 0
    removed = 0
    for member in argv[2:]:
        if _remove(client, value, member):
            removed += 1
            if not value:
                break
    if removed:
        notify(client, "srem", key)
        record_changes(client, key, removed, not value)
    return removed


@command(
    "smove", 4, Flag.WRITE | F, (1, 2, 1),
    key_specs=(
        KeySpec("RW ACCESS DELETE", Index(1)),
        KeySpec("RW INSERT", Index(2)),
    ),
)
def smove(client, argv):
    """SMOVE source destination member"""
    db, src, dst, member = client.db, argv[1], argv[2], argv[3]
    source, target = db.get(src), db.get(dst)
    if source is None:
        return 0
    typed(source, SetValue)
    typed(target, SetValue)
    if source is target:
        _rehash_step(client, source)
        return int(member in source)
    if not _remove(client, source, member):
        return 0
    notify(client, "srem", src)
    record_changes(client, src, 1, not source)
    config = client.node.config
    if target is None:
        db.set(dst, SetValue.built([member], config))
    elif _add(client, target, member):
        target.note_added(config, [member])
        db.written(dst)
    else:
        return 1
    notify(client, "sadd", dst)
    return 1


@command(
    "smembers", 2, R, (1, 1, 1),
    key_specs=(KeySpec("RO ACCESS", Index(1)),),
    tips=("nondeterministic_output_order",),
)
def smembers(client, argv):
    """SMEMBERS key"""
    value = _read(client, argv[1])
    return SetReply([] if value is None else list(value))


@command("sismember", 3, R | F, (1, 1, 1), key_specs=(KeySpec("RO", Index(1)),))
def sismember(client, argv):
    """SISMEMBER key member"""
    value = _read(client, argv[1])
    if value is None:
        return 0
    _rehash_step(client, value)
    return int(argv[2] in value)


@command("smismember", -3, R | F, (1, 1, 1), since="6.2.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def smismember(client, argv):
    """SMISMEMBER key member [member ...]"""
    value = _read(client, argv[1])
    if value is None:
        return [0] * (len(argv) - 2)
    _rehash_step(client, value, len(argv) - 2)
    return [int(member in value) for member in argv[2:]]


@command("scard", 2, R | F, (1, 1, 1), key_specs=(KeySpec("RO", Index(1)),))
def scard(client, argv):
    """SCARD key"""
    value = _read(client, argv[1])
    return 0 if value is None else len(value)


# -- random members ----------------------------------------------------------------
@command(
    "spop", -2, Flag.WRITE | F, (1, 1, 1),
    key_specs=(KeySpec("RW ACCESS DELETE", Index(1)),),
    tips=("nondeterministic_output",),
)
def spop(client, argv):
    """SPOP key [count]"""
    if len(argv) > 3:
        raise Error(errors.SYNTAX)
    if len(argv) == 3:
        return _spop_count(client, argv[1], parse_range_long(argv[2], 0, LLONG_MAX, POSITIVE))
    key = argv[1]
    value = _for_write(client, key)
    if value is None:
        return None
    member = _random(client, value)
    _remove(client, value, member)
    notify(client, "spop", key)
    client.propagate_as = [[b"SREM", key, member]]
    record_changes(client, key, 1, not value)
    return member


def _spop_count(client, key: bytes, count: int) -> SetReply:
    """SPOP with a count: Redis's three strategies, propagated as DEL or as one SREM.

    Redis 7.0 logs one SREM per popped member inside MULTI/EXEC; a single
    SREM of them all makes the same change, as atomically, in one record.
    """
    value = _for_write(client, key)
    if value is None or count == 0:
        return SetReply([])
    size = len(value)
    notify(client, "spop", key)
    if count >= size:
        client.db.lookup_read(key)  # Redis replies through SUNION, whose read lookup counts a hit
        popped = list(SetValue.built(value, client.node.config))  # (a fresh set, built as SUNION builds it)
        client.propagate_as = [[b"UNLINK" if client.node.config["lazyfree-lazy-server-del"] else b"DEL", key]]
        record_changes(client, key, size, True)
        return SetReply(popped)
    rng = client.node.rng
    remaining = size - count
    if remaining * SPOP_MOVE_STRATEGY_MUL > count:
        popped = []
        for _ in range(count):
            member = _random(client, value)
            _remove(client, value, member)
            popped.append(member)
        client.db.written(key, count)
    else:
        kept = []
        for _ in range(remaining):
            member = value.random(rng)
            value.discard(member)
            kept.append(member)
        popped = list(value)
        client.db.replace(key, SetValue.built(kept, client.node.config))
        if count > 1:
            client.db.written(key, count - 1)
    client.propagate_as = [[b"SREM", key, member] for member in popped]  # one each, as Redis 7.0
    return SetReply(popped)


@command(
    "srandmember", -2, R, (1, 1, 1),
    key_specs=(KeySpec("RO ACCESS", Index(1)),),
    tips=("nondeterministic_output",),
)
def srandmember(client, argv):
    """SRANDMEMBER key [count]"""
    if len(argv) > 3:
        raise Error(errors.SYNTAX)
    if len(argv) == 3:
        return _srandmember_count(client, argv[1], parse_count(argv[2]))
    value = _read(client, argv[1])
    return None if value is None else _random(client, value)


def parse_count(arg: bytes) -> int:
    """A random-members count: -LONG_MAX .. LONG_MAX, as Redis 7.0.15 checks it."""
    count = parse_int(arg)
    if count < -LLONG_MAX:
        raise Error(COUNT_RANGE)
    return count


def _srandmember_count(client, key: bytes, count: int) -> list[bytes]:
    value = _read(client, key)
    if value is None or count == 0:
        return []
    rng = client.node.rng
    if count < 0 or count == 1:
        return [_random(client, value) for _ in range(draws_within_limit(client, abs(count)))]
    size = len(value)
    if count >= size:
        return list(value)
    if count * SRANDMEMBER_SUB_STRATEGY_MUL > size:
        members = list(value)
        return [members[i] for i in sorted(rng.sample(range(size), count))]
    chosen: dict[bytes, None] = {}
    while len(chosen) < count:
        chosen[_random(client, value)] = None
    return list(chosen)


# -- set algebra --------------------------------------------------------------------
def _sources(client, keys: list[bytes]) -> list[SetValue | None]:
    """The sets at keys (None where missing); WRONGTYPE if any holds another type."""
    return [_read(client, key) for key in keys]


def _intersection(sets: list[SetValue | None], limit: int = 0) -> list[bytes]:
    """Members in every set, in the order of the smallest (at most ``limit`` when set)."""
    if not sets or any(s is None for s in sets):
        return []
    ordered = sorted(sets, key=len)
    first, rest = ordered[0], [s for s in ordered[1:] if s is not ordered[0]]
    found = []
    for member in first:
        if all(member in other for other in rest):
            found.append(member)
            if len(found) == limit:
                break
    return found


def _union(sets: list[SetValue | None], config) -> SetValue:
    members: dict[bytes, None] = {}
    for value in sets:
        if value is not None:
            members.update(dict.fromkeys(value))
    return SetValue.built(members, config)


def _difference(sets: list[SetValue | None], config) -> SetValue:
    """SDIFF's result, encoded as Redis's chosen algorithm would leave it."""
    first = sets[0]
    if first is None:
        return SetValue()
    others = [s for s in sets[1:] if s is not None]
    if any(other is first for other in others):
        return SetValue.built([], config)
    result = SetValue.built([m for m in first if not any(m in other for other in others)], config)
    present = [s for s in sets if s is not None]
    if len(first) * len(present) // 2 > sum(map(len, present)):
        # Algorithm 2 adds the whole first set before removing: that decides the encoding.
        result.intset = len(first) <= _intset_limit(config) and all(map(is_int64_text, first))
        if result.intset:
            result.widen_intset(first)
    return result


@command(
    "sinter", -2, R, (1, -1, 1),
    key_specs=(KeySpec("RO ACCESS", Index(1), Range(-1)),),
    tips=("nondeterministic_output_order",),
)
def sinter(client, argv):
    """SINTER key [key ...]"""
    return SetReply(_intersection(_sources(client, argv[1:])))


@command(
    "sintercard", -3, R, keys_fn=numkeys_positions(1), since="7.0.0",
    key_specs=(KeySpec("RO ACCESS", Index(1), Keynum(0, 1, 1)),),
)
def sintercard(client, argv):
    """SINTERCARD numkeys key [key ...] [LIMIT limit]"""
    numkeys = parse_numkeys(argv, 1)
    if numkeys > len(argv) - 2:
        raise Error(NUMKEYS_TOO_MANY)
    limit = 0
    i = 2 + numkeys
    while i < len(argv):
        if argv[i].lower() == b"limit" and i + 1 < len(argv):
            limit = parse_range_long(argv[i + 1], 0, LLONG_MAX, LIMIT_NEGATIVE)
            i += 2
        else:
            raise Error(errors.SYNTAX)
    return len(_intersection(_sources(client, argv[2 : 2 + numkeys]), limit))


@command(
    "sinterstore", -3, W, (1, -1, 1),
    key_specs=(
        KeySpec("RW UPDATE", Index(1)),
        KeySpec("RO ACCESS", Index(2), Range(-1)),
    ),
)
def sinterstore(client, argv):
    """SINTERSTORE destination key [key ...]"""
    members = _intersection(_sources(client, argv[2:]))
    return store_result(client, argv[1], SetValue.built(members, client.node.config), "sinterstore")


@command(
    "sunion", -2, R, (1, -1, 1),
    key_specs=(KeySpec("RO ACCESS", Index(1), Range(-1)),),
    tips=("nondeterministic_output_order",),
)
def sunion(client, argv):
    """SUNION key [key ...]"""
    return SetReply(list(_union(_sources(client, argv[1:]), client.node.config)))


@command(
    "sunionstore", -3, W, (1, -1, 1),
    key_specs=(
        KeySpec("OW UPDATE", Index(1)),
        KeySpec("RO ACCESS", Index(2), Range(-1)),
    ),
)
def sunionstore(client, argv):
    """SUNIONSTORE destination key [key ...]"""
    result = _union(_sources(client, argv[2:]), client.node.config)
    return store_result(client, argv[1], result, "sunionstore")


@command(
    "sdiff", -2, R, (1, -1, 1),
    key_specs=(KeySpec("RO ACCESS", Index(1), Range(-1)),),
    tips=("nondeterministic_output_order",),
)
def sdiff(client, argv):
    """SDIFF key [key ...]"""
    return SetReply(list(_difference(_sources(client, argv[1:]), client.node.config)))


@command(
    "sdiffstore", -3, W, (1, -1, 1),
    key_specs=(
        KeySpec("OW UPDATE", Index(1)),
        KeySpec("RO ACCESS", Index(2), Range(-1)),
    ),
)
def sdiffstore(client, argv):
    """SDIFFSTORE destination key [key ...]"""
    result = _difference(_sources(client, argv[2:]), client.node.config)
    return store_result(client, argv[1], result, "sdiffstore")


# -- SSCAN ----------------------------------------------------------------------------
@command(
    "sscan", -3, R, (1, 1, 1), since="2.8.0",
    key_specs=(KeySpec("RO ACCESS", Index(1)),),
    tips=("nondeterministic_output",),
)
def sscan(client, argv):
    """SSCAN key cursor [MATCH pattern] [COUNT count]

    An intset comes back whole with cursor 0, as Redis returns it; a hashtable
    set is walked slot by slot, as Redis's dictScan walks it.
    """
    cursor = parse_cursor(argv[2])
    value = _read(client, argv[1])
    if value is None:
        return [b"0", []]
    count, pattern = parse_scan_options(argv)
    if value.intset:
        cursor, members = 0, list(value)
    else:
        cursor, members = value.scan(cursor, count)
    return [b"%d" % cursor, [m for m in members if matching(pattern, m)]]
