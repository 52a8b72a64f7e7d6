"""List commands: pushes and pops at both ends, ranges, moves, and the blocking pops.

Lists are `ListValue`s (a deque, and the quicklist nodes Redis would hold it in). An emptied
list is deleted, as in Redis.
Every push signals the key to `kvcore.blocking`, which serves clients
blocked on it (BLPOP...) once the pushing command has finished. Commands
whose effect depends on what was there (the blocking pops, LMPOP) are
propagated as the plain commands that replay them.
"""

from __future__ import annotations

from kvcore import errors
from kvcore.blocking import block, may_block, parse_timeout, signal_key_ready
from kvcore.commands.args import LLONG_MIN, Cursor, index_range, parse_int
from kvcore.commands.key_specs import Index, Keynum, KeySpec, Range
from kvcore.commands.table import Flag, Registry
from kvcore.dispatch import NO_REPLY
from kvcore.reply import NULL_ARRAY, OK, Error
from kvcore.types_list import ListValue, layout

REGISTRY = Registry("list")
command = REGISTRY.command

W = Flag.WRITE | Flag.DENYOOM
R = Flag.READONLY
BLOCKING = Flag.WRITE | Flag.NOSCRIPT | Flag.BLOCKING

POP_COUNT_RANGE = "ERR value is out of range, must be positive"
RANK_ZERO = (
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
    "or use negative to start from the end of the list"
)
COUNT_NEGATIVE = "ERR COUNT can't be negative"
MAXLEN_NEGATIVE = "ERR MAXLEN can't be negative"
NUMKEYS_RANGE = "ERR numkeys should be greater than 0"
MPOP_COUNT_RANGE = "ERR count should be greater than 0"

_SIDES = {b"LEFT": True, b"RIGHT": False}


# -- shared pieces ------------------------------------------------------------
def _notify(client, event: str, key: bytes) -> None:
    client.node.notify_keyspace_event(event, key, client.db.index)


def _read_list(client, key: bytes) -> ListValue | None:
    value = client.db.lookup_read(key)
    if value is not None and type(value) is not ListValue:
        raise Error(errors.WRONGTYPE)
    return value


def _push_into(client, key: bytes, items, left: bool, target: ListValue | None = None) -> ListValue:
    """Push ``items`` at one end of the list at key, creating it if needed."""
    db = client.db
    count = len(items)
    fill, large = layout(client.node)
    if target is None:
        target = ListValue()
        target.push(items, left, fill, large)
        db.set(key, target)
        if count > 1:
            db.written(key, count - 1)
    else:
        target.push(items, left, fill, large)
        db.written(key, count)
    _notify(client, "lpush" if left else "rpush", key)
    signal_key_ready(db, key)
    return target


def _pop_from(client, key: bytes, source: ListValue, left: bool, count: int) -> list[bytes]:
    """Pop ``count`` (at most the length) elements; delete the list if it empties."""
    values = [source.pop_end(left) for _ in range(min(count, len(source)))]
    _notify(client, "lpop" if left else "rpop", key)
    _written_or_deleted(client, key, source, len(values))
    return values


def _written_or_deleted(client, key: bytes, value: ListValue, changes: int) -> None:
    """Record ``changes`` in-place changes to the list at key; delete it if it emptied."""
    db = client.db
    if value:
        db.written(key, changes)
        return
    if changes > 1:
        db.written(key, changes - 1)
    db.delete(key)
    _notify(client, "del", key)


def _side(arg: bytes) -> bool:
    """LEFT or RIGHT (any case); True for LEFT."""
    side = _SIDES.get(arg.upper())
    if side is None:
        raise Error(errors.SYNTAX)
    return side


def _normalize(index: int, size: int) -> int | None:
    if index < 0:
        index += size
    return index if 0 <= index < size else None


# -- pushes -------------------------------------------------------------------
def _push(client, argv, left: bool, create: bool):
    key = argv[1]
    target = client.db.get_typed(key, ListValue)
    if target is None and not create:
        return 0
    return len(_push_into(client, key, argv[2:], left, target))


@command("lpush", -3, W | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW INSERT", Index(1)),))
def lpush(client, argv):
    """LPUSH key element [element ...]"""
    return _push(client, argv, True, True)


@command("rpush", -3, W | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW INSERT", Index(1)),))
def rpush(client, argv):
    """RPUSH key element [element ...]"""
    return _push(client, argv, False, True)


@command("lpushx", -3, W | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW INSERT", Index(1)),))
def lpushx(client, argv):
    """LPUSHX key element [element ...]"""
    return _push(client, argv, True, False)


@command("rpushx", -3, W | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW INSERT", Index(1)),))
def rpushx(client, argv):
    """RPUSHX key element [element ...]"""
    return _push(client, argv, False, False)


@command("linsert", 5, W, (1, 1, 1), key_specs=(KeySpec("RW INSERT", Index(1)),))
def linsert(client, argv):
    """LINSERT key BEFORE | AFTER pivot element"""
    where = argv[2].upper()
    if where not in (b"BEFORE", b"AFTER"):
        raise Error(errors.SYNTAX)
    db, key = client.db, argv[1]
    target = db.get_typed(key, ListValue)
    if target is None:
        return 0
    try:
        index = target.index(argv[3])
    except ValueError:
        return -1
    target.insert_beside(index, where == b"AFTER", argv[4], *layout(client.node))
    db.written(key)
    _notify(client, "linsert", key)
    return len(target)


# -- pops -----------------------------------------------------------------------
def _pop(client, argv, left: bool):
    if len(argv) > 3:
        raise Error(errors.wrong_arity(argv[0].decode("utf-8", "replace").lower()))
    count = None
    if len(argv) == 3:
        count = parse_int(argv[2], POP_COUNT_RANGE)
        if count < 0:
            raise Error(POP_COUNT_RANGE)
    key = argv[1]
    source = client.db.get_typed(key, ListValue)
    if source is None:
        return None if count is None else NULL_ARRAY
    if count is None:
        return _pop_from(client, key, source, left, 1)[0]
    if count == 0:
        return []
    return _pop_from(client, key, source, left, count)


@command("lpop", -2, Flag.WRITE | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW ACCESS DELETE", Index(1)),))
def lpop(client, argv):
    """LPOP key [count]"""
    return _pop(client, argv, True)


@command("rpop", -2, Flag.WRITE | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW ACCESS DELETE", Index(1)),))
def rpop(client, argv):
    """RPOP key [count]"""
    return _pop(client, argv, False)


def _move(client, src: bytes, dst: bytes, from_left: bool, to_left: bool):
    """LMOVE's work once the arguments are read: the moved element, or None."""
    db = client.db
    source = db.get_typed(src, ListValue)
    if source is None:
        return None
    target = db.get_typed(dst, ListValue)
    value = source.pop_end(from_left)
    _push_into(client, dst, [value], to_left, target)
    _notify(client, "lpop" if from_left else "rpop", src)
    if src != dst:
        _written_or_deleted(client, src, source, 1)
    return value


@command(
    "rpoplpush", 3, W, (1, 2, 1),
    key_specs=(
        KeySpec("RW ACCESS DELETE", Index(1)),
        KeySpec("RW INSERT", Index(2)),
    ),
)
def rpoplpush(client, argv):
    """RPOPLPUSH source destination"""
    return _move(client, argv[1], argv[2], False, True)


@command(
    "lmove", 5, W, (1, 2, 1), since="6.2.0",
    key_specs=(
        KeySpec("RW ACCESS DELETE", Index(1)),
        KeySpec("RW INSERT", Index(2)),
    ),
)
def lmove(client, argv):
    """LMOVE source destination LEFT | RIGHT LEFT | RIGHT"""
    from_left, to_left = _side(argv[3]), _side(argv[4])
    return _move(client, argv[1], argv[2], from_left, to_left)


def _mpop_keys(numkeys_index: int):
    """The key positions of LMPOP-shaped commands (numkeys at ``numkeys_index``);
    none when numkeys does not count the arguments left, as Redis's genericGetKeys."""

    def positions(argv: list[bytes]) -> list[int]:
        try:
            numkeys = parse_int(argv[numkeys_index])
        except (Error, IndexError):
            return []
        first = numkeys_index + 1
        if numkeys < 1 or numkeys > len(argv) - first:
            return []
        return list(range(first, first + numkeys))

    return positions


def _parse_mpop(argv, numkeys_index: int) -> tuple[list[bytes], bool, int]:
    """numkeys key [key ...] LEFT | RIGHT [COUNT count] -> (keys, left, count)."""
    numkeys = parse_int(argv[numkeys_index], NUMKEYS_RANGE)
    if numkeys < 1:
        raise Error(NUMKEYS_RANGE)
    where_index = numkeys_index + numkeys + 1
    if where_index >= len(argv):
        raise Error(errors.SYNTAX)
    left = _side(argv[where_index])
    cursor = Cursor(argv, where_index + 1)
    count = None
    while cursor.more():
        if count is None and cursor.next_upper() == b"COUNT" and cursor.more():
            count = cursor.next_int(MPOP_COUNT_RANGE)
            if count < 1:
                raise Error(MPOP_COUNT_RANGE)
        else:
            raise Error(errors.SYNTAX)
    return argv[numkeys_index + 1 : where_index], left, count or 1


def _first_list(client, keys: list[bytes]) -> tuple[bytes, ListValue] | None:
    """The first key holding a list (WRONGTYPE at the first other value met)."""
    db = client.db
    for key in keys:
        value = db.get_typed(key, ListValue)
        if value:
            return key, value
    return None


def _mpop_from(client, key: bytes, source: ListValue, left: bool, count: int) -> list:
    values = _pop_from(client, key, source, left, count)
    return [key, values]


@command(
    "lmpop", -4, Flag.WRITE, keys_fn=_mpop_keys(1), since="7.0.0",
    key_specs=(KeySpec("RW ACCESS DELETE", Index(1), Keynum(0, 1, 1)),),
)
def lmpop(client, argv):
    """LMPOP numkeys key [key ...] LEFT | RIGHT [COUNT count]"""
    keys, left, count = _parse_mpop(argv, 1)
    found = _first_list(client, keys)
    if found is None:
        return NULL_ARRAY
    key, source = found
    reply = _mpop_from(client, key, source, left, count)
    client.propagate_as = [[b"LPOP" if left else b"RPOP", key, b"%d" % len(reply[1])]]
    return reply


# -- reads and in-place edits -------------------------------------------------
@command("llen", 2, R | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RO", Index(1)),))
def llen(client, argv):
    """LLEN key"""
    value = _read_list(client, argv[1])
    return 0 if value is None else len(value)


@command("lindex", 3, R, (1, 1, 1), key_specs=(KeySpec("RO ACCESS", Index(1)),))
def lindex(client, argv):
    """LINDEX key index"""
    value = _read_list(client, argv[1])
    if value is None:
        return None
    index = _normalize(parse_int(argv[2]), len(value))
    return None if index is None else value[index]


@command("lrange", 4, R, (1, 1, 1), key_specs=(KeySpec("RO ACCESS", Index(1)),))
def lrange(client, argv):
    """LRANGE key start stop"""
    start, end = parse_int(argv[2]), parse_int(argv[3])
    value = _read_list(client, argv[1])
    if value is None:
        return []
    span = index_range(start, end, len(value))
    return [] if span is None else value.span(*span)


@command("lset", 4, W, (1, 1, 1), key_specs=(KeySpec("RW UPDATE", Index(1)),))
def lset(client, argv):
    """LSET key index element"""
    db, key = client.db, argv[1]
    target = db.get_typed(key, ListValue)
    if target is None:
        raise Error(errors.NO_SUCH_KEY)
    index = _normalize(parse_int(argv[2]), len(target))
    if index is None:
        raise Error(errors.OUT_OF_RANGE)
    target.replace(index, argv[3], *layout(client.node))
    db.written(key)
    _notify(client, "lset", key)
    return OK


@command("lrem", 4, Flag.WRITE, (1, 1, 1), key_specs=(KeySpec("RW DELETE", Index(1)),))
def lrem(client, argv):
    """LREM key count element"""
    count = parse_int(argv[2])
    key = argv[1]
    target = client.db.get_typed(key, ListValue)
    if target is None:
        return 0
    removed = target.remove_matches(argv[3], count)
    if removed:
        _notify(client, "lrem", key)
        _written_or_deleted(client, key, target, removed)
    return removed


@command("ltrim", 4, Flag.WRITE, (1, 1, 1), key_specs=(KeySpec("RW DELETE", Index(1)),))
def ltrim(client, argv):
    """LTRIM key start stop"""
    start, end = parse_int(argv[2]), parse_int(argv[3])
    key = argv[1]
    target = client.db.get_typed(key, ListValue)
    if target is None:
        return OK
    size = len(target)
    span = index_range(start, end, size)
    target.trim(*(span or (0, -1)))  # no span: every element goes
    _notify(client, "ltrim", key)
    _written_or_deleted(client, key, target, size - len(target))
    return OK


def _parse_lpos(argv) -> tuple[int, int | None, int]:
    """LPOS's options: (rank, count or None, maxlen)."""
    rank, count, maxlen = 1, None, 0
    cursor = Cursor(argv, 3)
    while cursor.more():
        option = cursor.next_upper()
        if not cursor.more():
            raise Error(errors.SYNTAX)
        if option == b"RANK":
            rank = cursor.next_int()
            if rank == 0:
                raise Error(RANK_ZERO)
        elif option == b"COUNT":
            count = _non_negative(cursor.next(), COUNT_NEGATIVE)
        elif option == b"MAXLEN":
            maxlen = _non_negative(cursor.next(), MAXLEN_NEGATIVE)
        else:
            raise Error(errors.SYNTAX)
    return rank, count, maxlen


def _non_negative(arg: bytes, error: str) -> int:
    value = parse_int(arg, error)
    if value < 0:
        raise Error(error)
    return value


@command("lpos", -3, R, (1, 1, 1), since="6.0.6", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def lpos(client, argv):
    """LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]"""
    rank, count, maxlen = _parse_lpos(argv)
    value = _read_list(client, argv[1])
    if value is None:
        return None if count is None else []
    found = _positions(value, argv[2], rank, 1 if count is None else count, maxlen)
    if count is None:
        return found[0] if found else None
    return found


def _positions(value: ListValue, element: bytes, rank: int, count: int, maxlen: int) -> list[int]:
    """Indexes of matches, skipping the first |rank|-1, at most ``count`` (0: all).

    A rank of LLONG_MIN overflows in Redis: it counts from the tail and never
    reaches ``count``, so it returns every match.
    """
    size = len(value)
    backwards = rank < 0
    skip = 0 if rank == LLONG_MIN else abs(rank) - 1
    if rank == LLONG_MIN:
        count = 0
    source = reversed(value) if backwards else iter(value)
    found: list[int] = []
    for index, item in enumerate(source):
        if maxlen and index >= maxlen:
            break
        if item == element:
            if skip:
                skip -= 1
                continue
            found.append(size - 1 - index if backwards else index)
            if len(found) == count:
                break
    return found


# -- blocking variants --------------------------------------------------------
def _block_or_null(client, argv, keys: list[bytes], deadline: int, resume, null):
    """Block (returning NO_REPLY), or answer ``null`` where blocking is not allowed."""
    if not may_block(client, argv):
        return null
    block(client, keys, deadline, resume)
    return NO_REPLY


def _blocking_pop(client, argv, left: bool):
    deadline = parse_timeout(client, argv[-1])
    keys = argv[1:-1]
    found = _first_list(client, keys)
    if found is not None:
        key, source = found
        client.propagate_as = [[b"LPOP" if left else b"RPOP", key]]
        return [key, _pop_from(client, key, source, left, 1)[0]]
    return _block_or_null(client, argv, keys, deadline, _serve_pop(left), NULL_ARRAY)


def _serve_pop(left: bool):
    def resume(client, key: bytes) -> bool:
        source = client.db.get(key)
        if type(source) is not ListValue:
            return False
        client.reply([key, _pop_from(client, key, source, left, 1)[0]])
        client.node.propagate(client.db.index, [b"LPOP" if left else b"RPOP", key])
        return True

    return resume


@command("blpop", -3, BLOCKING, (1, -2, 1), key_specs=(KeySpec("RW ACCESS DELETE", Index(1), Range(-2)),))
def blpop(client, argv):
    """BLPOP key [key ...] timeout"""
    return _blocking_pop(client, argv, True)


@command("brpop", -3, BLOCKING, (1, -2, 1), key_specs=(KeySpec("RW ACCESS DELETE", Index(1), Range(-2)),))
def brpop(client, argv):
    """BRPOP key [key ...] timeout"""
    return _blocking_pop(client, argv, False)


def _blocking_move(client, argv, from_left: bool, to_left: bool, timeout: bytes):
    deadline = parse_timeout(client, timeout)
    src, dst = argv[1], argv[2]
    if client.db.get_typed(src, ListValue) is not None:
        client.propagate_as = [[b"RPOPLPUSH", src, dst] if argv[0].lower() == b"brpoplpush" else
                               [b"LMOVE", src, dst, argv[3], argv[4]]]  # its sides as the client spelled them
        return _move(client, src, dst, from_left, to_left)
    return _block_or_null(client, argv, [src], deadline, _serve_move(argv, dst, from_left, to_left), None)


def _served_move_record(argv, src: bytes, dst: bytes, from_left: bool, to_left: bool) -> list[bytes]:
    """How a BLMOVE/BRPOPLPUSH served after it blocked replays: RPOPLPUSH, or LMOVE with its
    sides as Redis's shared "left" and "right"."""
    if argv[0].lower() == b"brpoplpush":
        return [b"RPOPLPUSH", src, dst]
    return [b"LMOVE", src, dst, b"left" if from_left else b"right", b"left" if to_left else b"right"]


def _serve_move(argv, dst: bytes, from_left: bool, to_left: bool):
    def resume(client, key: bytes) -> bool:
        db = client.db
        if type(db.get(key)) is not ListValue:
            return False
        target = db.get(dst)
        if target is not None and type(target) is not ListValue:
            client.reply(Error(errors.WRONGTYPE))
            return True
        client.reply(_move(client, key, dst, from_left, to_left))
        client.node.propagate(db.index, _served_move_record(argv, key, dst, from_left, to_left))
        return True

    return resume


@command(
    "brpoplpush", 4, W | Flag.NOSCRIPT | Flag.BLOCKING, (1, 2, 1), since="2.2.0",
    key_specs=(
        KeySpec("RW ACCESS DELETE", Index(1)),
        KeySpec("RW INSERT", Index(2)),
    ),
)
def brpoplpush(client, argv):
    """BRPOPLPUSH source destination timeout"""
    return _blocking_move(client, argv, False, True, argv[3])


@command(
    "blmove", 6, W | Flag.NOSCRIPT | Flag.BLOCKING, (1, 2, 1), since="6.2.0",
    key_specs=(
        KeySpec("RW ACCESS DELETE", Index(1)),
        KeySpec("RW INSERT", Index(2)),
    ),
)
def blmove(client, argv):
    """BLMOVE source destination LEFT | RIGHT LEFT | RIGHT timeout"""
    from_left, to_left = _side(argv[3]), _side(argv[4])
    return _blocking_move(client, argv, from_left, to_left, argv[5])


@command(
    "blmpop", -5, Flag.WRITE | Flag.BLOCKING, keys_fn=_mpop_keys(2), since="7.0.0",
    key_specs=(KeySpec("RW ACCESS DELETE", Index(2), Keynum(0, 1, 1)),),
)
def blmpop(client, argv):
    """BLMPOP timeout numkeys key [key ...] LEFT | RIGHT [COUNT count]"""
    keys, left, count = _parse_mpop(argv, 2)
    deadline = parse_timeout(client, argv[1])
    found = _first_list(client, keys)
    if found is not None:
        key, source = found
        reply = _mpop_from(client, key, source, left, count)
        client.propagate_as = [[b"LPOP" if left else b"RPOP", key, b"%d" % len(reply[1])]]
        return reply
    return _block_or_null(client, argv, keys, deadline, _serve_mpop(left, count), NULL_ARRAY)


def _serve_mpop(left: bool, count: int):
    def resume(client, key: bytes) -> bool:
        source = client.db.get(key)
        if type(source) is not ListValue:
            return False
        reply = _mpop_from(client, key, source, left, count)
        client.reply(reply)
        client.node.propagate(client.db.index, [b"LPOP" if left else b"RPOP", key, b"%d" % len(reply[1])])
        return True

    return resume
