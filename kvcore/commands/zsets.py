"""Sorted set commands: ZADD and scores, ranks, the range family, pops, the
set algebra (sets count as sorted sets with score 1), ZRANDMEMBER, ZSCAN and
the blocking pops.

Sorted sets are `ZSetValue`s (see `kvcore.types_zset`). Scores reply as
`Double` (``,`` in RESP3, ``%.17g`` text in RESP2); replies WITHSCORES are flat
in RESP2 and nested pairs in RESP3, as Redis 7.0 sends them. Every command
that creates a sorted set signals the key to `kvcore.blocking`, so clients in
BZPOPMIN, BZPOPMAX or BZMPOP are served; pops that depend on what was there
(ZMPOP, the blocking pops) propagate as ZPOPMIN/ZPOPMAX.
"""

from __future__ import annotations

import math
import re

from kvcore import errors
from kvcore.blocking import block, may_block, parse_timeout, signal_key_ready
from kvcore.commands.args import LLONG_MAX, index_range, parse_float, parse_int
from kvcore.commands.key_specs import Index, Keynum, KeySpec, Range
from kvcore.commands.keys import parse_cursor
from kvcore.commands.sets import (
    POSITIVE,
    matching,
    notify,
    numkeys_positions,
    parse_count,
    parse_numkeys,
    parse_range_long,
    parse_scan_options,
    record_changes,
    store_result,
    typed,
)
from kvcore.commands.table import Flag, Registry
from kvcore.dispatch import NO_REPLY
from kvcore.output_limits import draws_within_limit
from kvcore.reply import NULL_ARRAY, Double, Error
from kvcore.resp import format_double
from kvcore.types_set import SetValue
from kvcore.types_zset import ListpackTracker, PackedView, SortedScores, ZSetValue, stays_listpack

View = PackedView | SortedScores  # what ZSetValue.view gives: the reads of a sorted set

REGISTRY = Registry("sorted-set")
command = REGISTRY.command

W = Flag.WRITE | Flag.DENYOOM
R = Flag.READONLY
F = Flag.FAST
BLOCKING = Flag.WRITE | Flag.BLOCKING

NAN_SCORE = "ERR resulting score is not a number (NaN)"
XX_AND_NX = "ERR XX and NX options at the same time are not compatible"
GT_LT_NX = "ERR GT, LT, and/or NX options at the same time are not compatible"
INCR_PAIRS = "ERR INCR option supports a single increment-element pair"
NOT_FLOAT_RANGE = "ERR min or max is not a float"
NOT_LEX_RANGE = "ERR min or max not valid string range item"
LIMIT_NEEDS_BY = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
WITHSCORES_BYLEX = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
WEIGHT_NOT_FLOAT = "ERR weight value is not a float"
LIMIT_NEGATIVE = "ERR LIMIT can't be negative"
MPOP_COUNT_RANGE = "ERR count should be greater than 0"
RANDOM_WITHSCORES_RANGE = "ERR value is out of range"

ZRANDMEMBER_SUB_STRATEGY_MUL = 3
_HALF_LONG = LLONG_MAX // 2
_LISTPACK_INT = float(2**62)  # zzlInsertAt stores integral scores within +-(LLONG_MAX/2) as integers
_INF = math.inf


def _read(client, key: bytes) -> ZSetValue | None:
    return typed(client.db.lookup_read(key), ZSetValue)


def _for_write(client, key: bytes) -> ZSetValue | None:
    return typed(client.db.get(key), ZSetValue)


def _with_scores(client, pairs, withscores: bool) -> list:
    """Members, or members and scores: flat in RESP2, [member, score] pairs in RESP3."""
    if not withscores:
        return [member for _, member in pairs]
    if client.resp3:
        return [[member, Double(score)] for score, member in pairs]
    return _flat(pairs)


def _flat(pairs) -> list:
    """member, score, member, score... (RESP2 WITHSCORES, and every ZPOPMIN without a count)."""
    out = []
    for score, member in pairs:
        out.append(member)
        out.append(Double(score))
    return out


def _store(client, key: bytes, value: ZSetValue, event: str) -> int:
    """Store a computed sorted set (or delete key if it is empty) and wake its waiters."""
    stored = store_result(client, key, value, event)
    if stored:
        signal_key_ready(client.db, key)
    return stored


# -- ZADD and single members -------------------------------------------------------
_ZADD_FLAGS = (b"nx", b"xx", b"ch", b"incr", b"gt", b"lt")


def _parse_zadd(argv: list[bytes], incr: bool) -> tuple[set, list[tuple[float, bytes]]]:
    """ZADD's flags (ZINCRBY is ZADD with INCR) and its score-member pairs, Redis's checks in order."""
    flags = {b"incr"} if incr else set()
    index = 2
    while index < len(argv) and argv[index].lower() in _ZADD_FLAGS:
        flags.add(argv[index].lower())
        index += 1
    rest = len(argv) - index
    if rest % 2 or not rest:
        raise Error(errors.SYNTAX)
    if flags:
        _check_zadd_flags(flags, rest)
    pairs = [(parse_score(argv[i]), argv[i + 1]) for i in range(index, len(argv), 2)]
    return flags, pairs


def _check_zadd_flags(flags: set, rest: int) -> None:
    if {b"nx", b"xx"} <= flags:
        raise Error(XX_AND_NX)
    if len(flags & {b"gt", b"lt", b"nx"}) > 1:
        raise Error(GT_LT_NX)
    if b"incr" in flags and rest > 2:
        raise Error(INCR_PAIRS)


_PLAIN_NUMBER = re.compile(rb"[+-]?[0-9]{1,15}(?:\.[0-9]{0,15})?")


def parse_score(arg: bytes) -> float:
    """A score as getDoubleFromObject reads it; short plain decimals take a fast path."""
    if _PLAIN_NUMBER.fullmatch(arg):
        return float(arg)
    return parse_float(arg)


class ZaddOutcome:
    """What a ZADD did: the scores to store, who was added, how many updated, the encoding after."""

    __slots__ = ("changes", "added", "updated", "processed", "last", "listpack")

    def __init__(self) -> None:
        self.changes: dict[bytes, float] = {}
        self.added: list[bytes] = []
        self.updated = 0
        self.processed = 0
        self.last = 0.0
        self.listpack: bool | None = None  # None: decide from the members added


def _zadd_steps(flags: set, pairs, value: ZSetValue | None, view: View | None, config) -> ZaddOutcome:
    """ZADD pair by pair, as zsetAdd sees each one (a member may appear twice)."""
    out = ZaddOutcome()
    incr = b"incr" in flags
    current = {} if view is None else view.scores
    if value is None:
        tracker = ListpackTracker.for_new(config, pairs[0][1])
    else:
        tracker = ListpackTracker(config, len(view), value.listpack)
    for score, member in pairs:
        old = out.changes.get(member)
        if old is None:
            old = current.get(member)
        if old is None:
            if b"xx" in flags:
                continue
            tracker.admit(member)
            out.added.append(member)
        else:
            if b"nx" in flags:
                continue
            if incr:
                score += old
                if math.isnan(score):
                    raise Error(NAN_SCORE)
            if (b"lt" in flags and score >= old) or (b"gt" in flags and score <= old):
                continue
            if score == old:
                out.processed += 1
                out.last = score
                continue
            out.updated += 1
        out.changes[member] = tracker.stored(score)
        out.processed += 1
        out.last = score
    out.listpack = tracker.listpack
    return out


def _zadd_plain(pairs, current: dict[bytes, float]) -> ZaddOutcome | None:
    """ZADD without conditions over distinct members with no zero score, in bulk; else None."""
    if len(pairs) == 1:
        return _zadd_one(*pairs[0], current)
    scores = {member: score for score, member in pairs}
    if len(scores) != len(pairs) or 0.0 in scores.values():
        return None
    out = ZaddOutcome()
    get = current.get
    out.changes = {member: score for member, score in scores.items() if get(member) != score}
    out.added = [member for member in out.changes if member not in current]
    out.updated = len(out.changes) - len(out.added)
    return out


def _zadd_one(score: float, member: bytes, current: dict[bytes, float]) -> ZaddOutcome | None:
    """`_zadd_plain` for the commonest ZADD: one pair."""
    if score == 0.0:
        return None
    out = ZaddOutcome()
    old = current.get(member)
    if old != score:
        out.changes = {member: score}
        if old is None:
            out.added = [member]
        else:
            out.updated = 1
    return out


def _zadd(client, argv, incr: bool):
    flags, pairs = _parse_zadd(argv, incr)
    incr = b"incr" in flags
    key = argv[1]
    value = _for_write(client, key)
    if value is None and b"xx" in flags:
        return None if incr else 0
    view = None if value is None else value.view()
    out = _zadd_plain(pairs, {} if view is None else view.scores) if flags <= {b"ch"} else None
    if out is None:
        out = _zadd_steps(flags, pairs, value, view, client.node.config)
    _apply_zadd(client, key, value, view, out, "zincr" if incr else "zadd")
    if incr:
        return Double(out.last) if out.processed else None
    return len(out.added) + out.updated if b"ch" in flags else len(out.added)


def _apply_zadd(client, key: bytes, value: ZSetValue | None, view: View | None, out: ZaddOutcome, event: str) -> None:
    """Write ZADD's changes, creating the key if needed (``view``: the value's, read before)."""
    db, config = client.db, client.node.config
    changes, added, updated = out.changes, out.added, out.updated
    if not changes:
        return
    listpack = out.listpack
    if listpack is None:
        listpack = (value is None or value.listpack) and stays_listpack(config, _size(view) + len(added), added)
    if value is None:
        value = ZSetValue(changes, listpack)
        db.set(key, value)
        if len(added) + updated > 1:
            db.written(key, len(added) + updated - 1)
        signal_key_ready(db, key)
    else:
        value.apply(changes, listpack, view)
        db.written(key, len(added) + updated)
    notify(client, event, key)


@command("zadd", -4, W | F, (1, 1, 1), since="1.2.0", key_specs=(KeySpec("RW UPDATE", Index(1)),))
def zadd(client, argv):
    """ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]"""
    return _zadd(client, argv, False)


@command("zincrby", 4, W | F, (1, 1, 1), since="1.2.0", key_specs=(KeySpec("RW ACCESS UPDATE", Index(1)),))
def zincrby(client, argv):
    """ZINCRBY key increment member"""
    return _zadd(client, argv, True)


@command("zrem", -3, Flag.WRITE | F, (1, 1, 1), since="1.2.0", key_specs=(KeySpec("RW DELETE", Index(1)),))
def zrem(client, argv):
    """ZREM key member [member ...]"""
    key = argv[1]
    value = _for_write(client, key)
    if value is None:
        return 0
    removed = value.remove_all(argv[2:])
    if removed:
        notify(client, "zrem", key)
        record_changes(client, key, removed, not value)
    return removed


@command("zcard", 2, R | F, (1, 1, 1), since="1.2.0", key_specs=(KeySpec("RO", Index(1)),))
def zcard(client, argv):
    """ZCARD key"""
    value = _read(client, argv[1])
    return 0 if value is None else len(value)


@command("zscore", 3, R | F, (1, 1, 1), since="1.2.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def zscore(client, argv):
    """ZSCORE key member"""
    value = _read(client, argv[1])
    score = None if value is None else value.view().score(argv[2])
    return None if score is None else Double(score)


@command("zmscore", -3, R | F, (1, 1, 1), since="6.2.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def zmscore(client, argv):
    """ZMSCORE key member [member ...]"""
    value = _read(client, argv[1])
    scores = {} if value is None else value.scores
    return [None if (score := scores.get(member)) is None else Double(score) for member in argv[2:]]


def _rank(client, argv, reverse: bool):
    value = _read(client, argv[1])
    if value is None:
        return None
    view = value.view()
    rank = view.rank(argv[2])
    if rank is None:
        return None
    return len(view) - 1 - rank if reverse else rank


@command("zrank", 3, R | F, (1, 1, 1), since="2.0.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def zrank(client, argv):
    """ZRANK key member"""
    return _rank(client, argv, False)


@command("zrevrank", 3, R | F, (1, 1, 1), since="2.0.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def zrevrank(client, argv):
    """ZREVRANK key member"""
    return _rank(client, argv, True)


# -- score and lex ranges ----------------------------------------------------------
_STRTOD = re.compile(
    rb"[ \t\n\v\f\r]*([+-]?(?:"
    rb"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    rb"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    rb"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?))"
)


def strtod_whole(arg: bytes) -> float | None:
    """C's strtod over the text up to its first NUL, or None unless it reads all of it.

    Leading white space is skipped, an empty text reads as 0, overflow gives
    an infinity; NaN is refused, as zslParseRange refuses it.
    """
    text = arg.split(b"\0", 1)[0]
    if not text.strip(b" \t\n\v\f\r"):
        return 0.0 if not text else None
    match = _STRTOD.fullmatch(text)
    if match is None:
        return None
    number = match.group(1)
    if b"x" not in number.lower():
        return float(number)
    try:
        return float.fromhex(number.decode("ascii"))
    except OverflowError:
        return -_INF if number.startswith(b"-") else _INF


class ScoreRange:
    """A score interval, each end open (exclusive) or closed."""

    __slots__ = ("low", "low_open", "high", "high_open")

    def __init__(self, low: float, low_open: bool, high: float, high_open: bool) -> None:
        self.low, self.low_open, self.high, self.high_open = low, low_open, high, high_open


def _score_bound(arg: bytes) -> tuple[float, bool]:
    is_open = arg[:1] == b"("
    value = strtod_whole(arg[1:] if is_open else arg)
    if value is None:
        raise Error(NOT_FLOAT_RANGE)
    return value, is_open


def parse_score_range(low: bytes, high: bytes) -> ScoreRange:
    """zslParseRange: ``[(]number`` at both ends, -inf/+inf allowed."""
    return ScoreRange(*_score_bound(low), *_score_bound(high))


def _first_above(value: View, score: float) -> int:
    """The rank of the first member scoring more than ``score``."""
    return len(value) if score == _INF else value.bisect(math.nextafter(score, _INF))


def _score_window(value: View, spec: ScoreRange) -> tuple[int, int]:
    """Ranks [lo, hi) of the members whose score lies in the range."""
    lo = _first_above(value, spec.low) if spec.low_open else value.bisect(spec.low)
    hi = value.bisect(spec.high) if spec.high_open else _first_above(value, spec.high)
    return lo, max(lo, hi)


_MIN_STRING, _PLAIN, _MAX_STRING = -1, 0, 1


class LexRange:
    """A member interval; each end is (kind, bytes, open): kind -1 is "-", +1 is "+"."""

    __slots__ = ("low", "low_open", "high", "high_open")

    def __init__(self, low: tuple[int, bytes], low_open: bool, high: tuple[int, bytes], high_open: bool) -> None:
        self.low, self.low_open, self.high, self.high_open = low, low_open, high, high_open

    def empty(self) -> bool:
        """Ranges that are always empty, as sdscmplex orders the ends."""
        return self.low > self.high or (self.low == self.high and (self.low_open or self.high_open))

    def above_low(self, member: bytes) -> bool:
        kind, text = self.low
        if kind != _PLAIN:
            return kind == _MIN_STRING
        return member > text if self.low_open else member >= text

    def below_high(self, member: bytes) -> bool:
        kind, text = self.high
        if kind != _PLAIN:
            return kind == _MAX_STRING
        return member < text if self.high_open else member <= text


def _lex_bound(arg: bytes) -> tuple[tuple[int, bytes], bool]:
    head = arg[:1]
    if head in (b"+", b"-") and arg[1:2] in (b"", b"\0"):
        return (_MAX_STRING if head == b"+" else _MIN_STRING, b""), True
    if head in (b"(", b"["):
        return (_PLAIN, arg[1:]), head == b"("
    raise Error(NOT_LEX_RANGE)


def parse_lex_range(low: bytes, high: bytes) -> LexRange:
    """zslParseLexRange: ``(text``, ``[text``, ``-`` or ``+`` at both ends."""
    return LexRange(*_lex_bound(low), *_lex_bound(high))


def _uniform(value: View) -> bool:
    """Whether every member has the same score (the case lex ranges are meant for)."""
    return value.at(0)[0] == value.at(-1)[0]


def _lex_rank(value: View, end: tuple[int, bytes], after: bool) -> int:
    """With uniform scores: the rank of the first member above (or at) a lex end."""
    kind, text = end
    if kind != _PLAIN:
        return 0 if kind == _MIN_STRING else len(value)
    return value.bisect(value.at(0)[0], text + b"\0" if after else text)


def _lex_window(value: View, spec: LexRange) -> tuple[int, int]:
    """Ranks [lo, hi) in range, for uniform scores."""
    lo = _lex_rank(value, spec.low, spec.low_open)
    hi = _lex_rank(value, spec.high, not spec.high_open)
    return lo, max(lo, hi)


def _lex_in_range(value: View, spec: LexRange) -> bool:
    """zslIsInLexRange: could anything be in range at all?"""
    if spec.empty() or not value:
        return False
    return spec.above_low(value.at(-1)[1]) and spec.below_high(value.at(0)[1])


def _lex_first(value: View, spec: LexRange) -> int | None:
    """With mixed scores, the listpack walk: first member at or above the low end, if in range."""
    if not _lex_in_range(value, spec):
        return None
    for rank, (_, member) in enumerate(value.order):
        if spec.above_low(member):
            return rank if spec.below_high(member) else None
    return None


def _lex_last(value: View, spec: LexRange) -> int | None:
    """With mixed scores, the listpack walk back: last member at or below the high end, if in range."""
    if not _lex_in_range(value, spec):
        return None
    size = len(value)
    for back, (_, member) in enumerate(reversed(value.order)):
        if spec.below_high(member):
            return size - 1 - back if spec.above_low(member) else None
    return None


def _lex_walk(value: View, spec: LexRange, reverse: bool, offset: int, limit: int) -> list:
    """ZRANGEBYLEX's pairs: with mixed scores, Redis's listpack walk step by step."""
    if not value:
        return []
    if _uniform(value):
        return _emit_window(value.window, *_lex_window(value, spec), reverse, offset, limit)
    start = _lex_last(value, spec) if reverse else _lex_first(value, spec)
    if start is None or offset < 0:
        return []
    step = -1 if reverse else 1
    rank = start + step * offset
    still_in = spec.above_low if reverse else spec.below_high
    found = []
    while 0 <= rank < len(value) and limit != 0:
        pair = value.at(rank)
        if not still_in(pair[1]):
            break
        found.append(pair)
        rank += step
        limit -= 1
    return found


def _lex_forward_window(value: View, spec: LexRange) -> tuple[int, int]:
    """Ranks [lo, hi) that ZLEXCOUNT counts and ZREMRANGEBYLEX removes."""
    if not value:
        return 0, 0
    if _uniform(value):
        return _lex_window(value, spec)
    first = _lex_first(value, spec)
    if first is None:
        return 0, 0
    stop = first
    for _, member in value.walk(first):
        if not spec.below_high(member):
            break
        stop += 1
    return first, stop


def _emit_window(fetch, lo: int, hi: int, reverse: bool, offset: int, limit: int) -> list:
    """What ``fetch(start, stop)`` gives for ranks [lo, hi), from the top when reversed, after LIMIT offset count."""
    if offset < 0 or hi <= lo:
        return []
    if reverse:
        top = hi - offset
        bottom = lo if limit < 0 else max(lo, top - limit)
        return fetch(bottom, top)[::-1] if top > bottom else []
    begin = lo + offset
    end = hi if limit < 0 else min(hi, begin + limit)
    return fetch(begin, end) if end > begin else []


def _rank_window(size: int, start: int, end: int) -> tuple[int, int] | None:
    """Redis's inclusive rank range with negative indexes, as ranks [lo, hi); None when empty."""
    span = index_range(start, end, size)
    return None if span is None else (span[0], span[1] + 1)


@command("zcount", 4, R | F, (1, 1, 1), since="2.0.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def zcount(client, argv):
    """ZCOUNT key min max"""
    spec = parse_score_range(argv[2], argv[3])
    value = _read(client, argv[1])
    if value is None:
        return 0
    lo, hi = _score_window(value.view(), spec)
    return hi - lo


@command("zlexcount", 4, R | F, (1, 1, 1), since="2.8.9", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def zlexcount(client, argv):
    """ZLEXCOUNT key min max"""
    spec = parse_lex_range(argv[2], argv[3])
    value = _read(client, argv[1])
    if value is None:
        return 0
    lo, hi = _lex_forward_window(value.view(), spec)
    return hi - lo


# -- ZRANGE and its older spellings --------------------------------------------------
BY_RANK, BY_SCORE, BY_LEX = "rank", "score", "lex"


class RangeQuery:
    """A parsed ZRANGE: what to select (``bounds``), in which direction, how much."""

    __slots__ = ("by", "reverse", "withscores", "offset", "limit", "bounds")

    def __init__(self) -> None:
        self.by: str | None = None
        self.reverse: bool | None = None
        self.withscores = False
        self.offset = 0
        self.limit = -1
        self.bounds = None


def parse_range_query(argv: list[bytes], key_index: int, store: bool, by=None, reverse=None) -> RangeQuery:
    """zrangeGenericCommand's parsing, errors in Redis's order; ``by``/``reverse`` fixed by older commands."""
    query = RangeQuery()
    query.by, query.reverse = by, reverse
    i = key_index + 3
    while i < len(argv):
        option = argv[i].lower()
        if not store and option == b"withscores":
            query.withscores = True
        elif option == b"limit" and len(argv) - i - 1 >= 2:
            query.offset, query.limit = parse_int(argv[i + 1]), parse_int(argv[i + 2])
            i += 2
        elif reverse is None and query.reverse is None and option == b"rev":
            query.reverse = True
        elif by is None and query.by is None and option in (b"bylex", b"byscore"):
            query.by = BY_LEX if option == b"bylex" else BY_SCORE
        else:
            raise Error(errors.SYNTAX)
        i += 1
    query.by = query.by or BY_RANK
    query.reverse = bool(query.reverse)
    if query.limit != -1 and query.by == BY_RANK:
        raise Error(LIMIT_NEEDS_BY)
    if query.withscores and query.by == BY_LEX:
        raise Error(WITHSCORES_BYLEX)
    low, high = argv[key_index + 1], argv[key_index + 2]
    if query.reverse and query.by != BY_RANK:
        low, high = high, low
    if query.by == BY_RANK:
        query.bounds = (parse_int(low), parse_int(high))
    elif query.by == BY_SCORE:
        query.bounds = parse_score_range(low, high)
    else:
        query.bounds = parse_lex_range(low, high)
    return query


def select_range(value: View, query: RangeQuery, members: bool = False) -> list:
    """What a range query selects, in reply order: the (score, member) pairs, or only the members."""
    fetch = value.members if members else value.window
    if query.by == BY_RANK:
        window = _rank_window(len(value), *query.bounds)
        if window is None:
            return []
        lo, hi = window
        if query.reverse:
            size = len(value)
            return fetch(size - hi, size - lo)[::-1]
        return fetch(lo, hi)
    if query.by == BY_SCORE:
        lo, hi = _score_window(value, query.bounds)
        return _emit_window(fetch, lo, hi, query.reverse, query.offset, query.limit)
    pairs = _lex_walk(value, query.bounds, query.reverse, query.offset, query.limit)
    return [member for _, member in pairs] if members else pairs


def _range_reply(client, argv, by=None, reverse=None):
    query = parse_range_query(argv, 1, False, by, reverse)
    value = _read(client, argv[1])
    if value is None:
        return []
    if not query.withscores:
        return select_range(value.view(), query, members=True)
    return _with_scores(client, select_range(value.view(), query), True)


@command("zrange", -4, R, (1, 1, 1), since="1.2.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def zrange(client, argv):
    """ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]"""
    return _range_reply(client, argv)


@command(
    "zrangestore", -5, W, (1, 2, 1), since="6.2.0",
    key_specs=(
        KeySpec("OW UPDATE", Index(1)),
        KeySpec("RO ACCESS", Index(2)),
    ),
)
def zrangestore(client, argv):
    """ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]"""
    query = parse_range_query(argv, 2, True)
    value = _read(client, argv[2])
    pairs = [] if value is None else select_range(value.view(), query)
    return _store(client, argv[1], ZSetValue.built_in_order(pairs, client.node.config), "zrangestore")


@command("zrevrange", -4, R, (1, 1, 1), since="1.2.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def zrevrange(client, argv):
    """ZREVRANGE key start stop [WITHSCORES]"""
    return _range_reply(client, argv, BY_RANK, True)


@command("zrangebyscore", -4, R, (1, 1, 1), since="1.0.5", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def zrangebyscore(client, argv):
    """ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]"""
    return _range_reply(client, argv, BY_SCORE, False)


@command("zrevrangebyscore", -4, R, (1, 1, 1), since="2.2.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def zrevrangebyscore(client, argv):
    """ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]"""
    return _range_reply(client, argv, BY_SCORE, True)


@command("zrangebylex", -4, R, (1, 1, 1), since="2.8.9", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def zrangebylex(client, argv):
    """ZRANGEBYLEX key min max [LIMIT offset count]"""
    return _range_reply(client, argv, BY_LEX, False)


@command("zrevrangebylex", -4, R, (1, 1, 1), since="2.8.9", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def zrevrangebylex(client, argv):
    """ZREVRANGEBYLEX key max min [LIMIT offset count]"""
    return _range_reply(client, argv, BY_LEX, True)


# -- removing ranges -------------------------------------------------------------------
def _remove_ranks(client, key: bytes, window_of, event: str) -> int:
    """Remove the ranks [lo, hi) that ``window_of(value)`` picks (None: nothing)."""
    value = _for_write(client, key)
    if value is None:
        return 0
    window = window_of(value.view())
    if window is None or window[1] <= window[0]:
        return 0
    removed = len(value.remove_window(*window))
    notify(client, event, key)
    record_changes(client, key, removed, not value)
    return removed


@command("zremrangebyrank", 4, Flag.WRITE, (1, 1, 1), since="2.0.0", key_specs=(KeySpec("RW DELETE", Index(1)),))
def zremrangebyrank(client, argv):
    """ZREMRANGEBYRANK key start stop"""
    start, end = parse_int(argv[2]), parse_int(argv[3])
    return _remove_ranks(client, argv[1], lambda value: _rank_window(len(value), start, end), "zremrangebyrank")


@command("zremrangebyscore", 4, Flag.WRITE, (1, 1, 1), since="1.2.0", key_specs=(KeySpec("RW DELETE", Index(1)),))
def zremrangebyscore(client, argv):
    """ZREMRANGEBYSCORE key min max"""
    spec = parse_score_range(argv[2], argv[3])
    return _remove_ranks(client, argv[1], lambda value: _score_window(value, spec), "zremrangebyscore")


@command("zremrangebylex", 4, Flag.WRITE, (1, 1, 1), since="2.8.9", key_specs=(KeySpec("RW DELETE", Index(1)),))
def zremrangebylex(client, argv):
    """ZREMRANGEBYLEX key min max"""
    spec = parse_lex_range(argv[2], argv[3])
    return _remove_ranks(client, argv[1], lambda value: _lex_forward_window(value, spec), "zremrangebylex")


# -- pops ----------------------------------------------------------------------------
def _pop(client, key: bytes, value: ZSetValue, highest: bool, count: int) -> list[tuple[float, bytes]]:
    """Take up to ``count`` members from one end, lowest (or highest) first."""
    size = len(value)
    taken = min(count, size)
    if highest:
        pairs = value.remove_window(size - taken, size)[::-1]
    else:
        pairs = value.remove_window(0, taken)
    notify(client, "zpopmax" if highest else "zpopmin", key)
    record_changes(client, key, taken, not value)
    return pairs


def _zpop(client, argv, highest: bool):
    if len(argv) > 3:
        raise Error(errors.SYNTAX)
    count = parse_range_long(argv[2], 0, LLONG_MAX, POSITIVE) if len(argv) == 3 else None
    value = _for_write(client, argv[1])
    if value is None or count == 0:
        return []
    pairs = _pop(client, argv[1], value, highest, 1 if count is None else count)
    return _flat(pairs) if count is None else _with_scores(client, pairs, True)


@command("zpopmin", -2, Flag.WRITE | F, (1, 1, 1), since="5.0.0", key_specs=(KeySpec("RW ACCESS DELETE", Index(1)),))
def zpopmin(client, argv):
    """ZPOPMIN key [count]"""
    return _zpop(client, argv, False)


@command("zpopmax", -2, Flag.WRITE | F, (1, 1, 1), since="5.0.0", key_specs=(KeySpec("RW ACCESS DELETE", Index(1)),))
def zpopmax(client, argv):
    """ZPOPMAX key [count]"""
    return _zpop(client, argv, True)


def _parse_mpop(argv: list[bytes], numkeys_index: int) -> tuple[list[bytes], bool, int]:
    """ZMPOP/BZMPOP: the keys, whether MAX, and the count (1 by default)."""
    numkeys = parse_numkeys(argv, numkeys_index)
    where = numkeys_index + numkeys + 1
    if where >= len(argv) or argv[where].lower() not in (b"min", b"max"):
        raise Error(errors.SYNTAX)
    count = None
    i = where + 1
    while i < len(argv):
        if count is None and argv[i].lower() == b"count" and i + 1 < len(argv):
            count = parse_range_long(argv[i + 1], 1, LLONG_MAX, MPOP_COUNT_RANGE)
            i += 2
        else:
            raise Error(errors.SYNTAX)
    return argv[numkeys_index + 1 : where], argv[where].lower() == b"max", count or 1


def _first_zset(client, keys: list[bytes]) -> tuple[bytes, ZSetValue] | None:
    """The first key holding a sorted set; WRONGTYPE if the first existing one holds another type."""
    for key in keys:
        value = client.db.get(key)
        if value is not None:
            return key, typed(value, ZSetValue)
    return None


def _pop_record(key: bytes, highest: bool, count: int | None) -> list[bytes]:
    """What a ZMPOP or blocking pop replays as: ZPOPMIN/ZPOPMAX key [count]."""
    record = [b"ZPOPMAX" if highest else b"ZPOPMIN", key]
    return record if count is None else [*record, b"%d" % count]


def _mpop_from(client, key: bytes, value: ZSetValue, highest: bool, count: int) -> tuple[list, list[bytes]]:
    """Pop for ZMPOP/BZMPOP: the reply [key, [[member, score] ...]] and its replay record."""
    pairs = _pop(client, key, value, highest, count)
    reply = [key, [[member, Double(score)] for score, member in pairs]]
    return reply, _pop_record(key, highest, len(pairs))


@command(
    "zmpop", -4, Flag.WRITE, keys_fn=numkeys_positions(1), since="7.0.0",
    key_specs=(KeySpec("RW ACCESS DELETE", Index(1), Keynum(0, 1, 1)),),
)
def zmpop(client, argv):
    """ZMPOP numkeys key [key ...] MIN | MAX [COUNT count]"""
    keys, highest, count = _parse_mpop(argv, 1)
    found = _first_zset(client, keys)
    if found is None:
        return NULL_ARRAY
    reply, record = _mpop_from(client, *found, highest, count)
    client.propagate_as = [record]
    return reply


def _single_pop(client, key: bytes, value: ZSetValue, highest: bool) -> list:
    """BZPOPMIN/BZPOPMAX's reply: [key, member, score]."""
    score, member = _pop(client, key, value, highest, 1)[0]
    return [key, member, Double(score)]


def _bzpop(client, argv, highest: bool):
    deadline = parse_timeout(client, argv[-1])
    keys = argv[1:-1]
    found = _first_zset(client, keys)
    if found is not None:
        client.propagate_as = [_pop_record(found[0], highest, None)]
        return _single_pop(client, *found, highest)
    if not may_block(client, argv):
        return NULL_ARRAY
    block(client, keys, deadline, _serve_single(highest))
    return NO_REPLY


def _serve_single(highest: bool):
    def resume(client, key: bytes) -> bool:
        value = client.db.get(key)
        if type(value) is not ZSetValue:
            return False
        client.reply(_single_pop(client, key, value, highest))
        client.node.propagate(client.db.index, _pop_record(key, highest, None))
        return True

    return resume


@command(
    "bzpopmin", -3, BLOCKING | Flag.NOSCRIPT | F, (1, -2, 1), since="5.0.0",
    key_specs=(KeySpec("RW ACCESS DELETE", Index(1), Range(-2)),),
)
def bzpopmin(client, argv):
    """BZPOPMIN key [key ...] timeout"""
    return _bzpop(client, argv, False)


@command(
    "bzpopmax", -3, BLOCKING | Flag.NOSCRIPT | F, (1, -2, 1), since="5.0.0",
    key_specs=(KeySpec("RW ACCESS DELETE", Index(1), Range(-2)),),
)
def bzpopmax(client, argv):
    """BZPOPMAX key [key ...] timeout"""
    return _bzpop(client, argv, True)


@command(
    "bzmpop", -5, BLOCKING, keys_fn=numkeys_positions(2), since="7.0.0",
    key_specs=(KeySpec("RW ACCESS DELETE", Index(2), Keynum(0, 1, 1)),),
)
def bzmpop(client, argv):
    """BZMPOP timeout numkeys key [key ...] MIN | MAX [COUNT count]"""
    keys, highest, count = _parse_mpop(argv, 2)
    deadline = parse_timeout(client, argv[1])
    found = _first_zset(client, keys)
    if found is not None:
        reply, record = _mpop_from(client, *found, highest, count)
        client.propagate_as = [record]
        return reply
    if not may_block(client, argv):
        return NULL_ARRAY
    block(client, keys, deadline, _serve_multi(highest, count))
    return NO_REPLY


def _serve_multi(highest: bool, count: int):
    def resume(client, key: bytes) -> bool:
        value = client.db.get(key)
        if type(value) is not ZSetValue:
            return False
        reply, record = _mpop_from(client, key, value, highest, count)
        client.reply(reply)
        client.node.propagate(client.db.index, record)
        return True

    return resume


# -- random members --------------------------------------------------------------------
@command(
    "zrandmember", -2, R, (1, 1, 1), since="6.2.0",
    key_specs=(KeySpec("RO ACCESS", Index(1)),),
    tips=("nondeterministic_output",),
)
def zrandmember(client, argv):
    """ZRANDMEMBER key [count [WITHSCORES]]"""
    if len(argv) >= 3:
        count = parse_count(argv[2])
        if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withscores"):
            raise Error(errors.SYNTAX)
        withscores = len(argv) == 4
        if withscores and not -_HALF_LONG <= count <= _HALF_LONG:
            raise Error(RANDOM_WITHSCORES_RANGE)
        return _with_scores(client, _random_pairs(client, argv[1], count), withscores)
    value = _read(client, argv[1])
    if value is None:
        return None
    view = value.view()
    return view.at(client.node.rng.randrange(len(view)))[1]


def _random_pairs(client, key: bytes, count: int) -> list[tuple[float, bytes]]:
    """Redis's four cases: repeats allowed, everything, drop extras, or draw distinct."""
    value = _read(client, key)
    if value is None or count == 0:
        return []
    value = value.view()
    rng, size = client.node.rng, len(value)
    if count < 0 or count == 1:
        return [value.at(rng.randrange(size)) for _ in range(draws_within_limit(client, abs(count)))]
    if count >= size:
        return value.window(0, size)[::-1]
    if count * ZRANDMEMBER_SUB_STRATEGY_MUL > size:
        pairs = value.window(0, size)[::-1]
        return [pairs[i] for i in sorted(rng.sample(range(size), count))]
    chosen: dict[int, None] = {}
    while len(chosen) < count:
        chosen[rng.randrange(size)] = None
    return [value.at(rank) for rank in chosen]


# -- set algebra -----------------------------------------------------------------------
UNION, INTER, DIFF = "union", "inter", "diff"


def _sources(client, keys: list[bytes]) -> list:
    """The sets, or views of the sorted sets, at keys (None where missing); WRONGTYPE for any other type.

    A key named twice gives the same view twice.
    """
    found, views = [], {}
    for key in keys:
        value = client.db.lookup_read(key)
        if type(value) is ZSetValue:
            view = views.get(id(value))
            if view is None:
                view = views[id(value)] = value.view()
            value = view
        elif value is not None and type(value) is not SetValue:
            raise Error(errors.WRONGTYPE)
        found.append(value)
    return found


def _size(value) -> int:
    return 0 if value is None else len(value)


def _members(value):
    """(member, score) pairs of a source, highest first as Redis iterates; sets score 1."""
    if type(value) is SetValue:
        return ((member, 1.0) for member in value)
    return ((member, score) for score, member in reversed(value.order))


def _find(value, member: bytes) -> float | None:
    if value is None:
        return None
    if type(value) is SetValue:
        return 1.0 if member in value else None
    return value.scores.get(member)


def _aggregate(how: bytes, target: float, value: float) -> float:
    """zunionInterAggregate: a sum that would be NaN (inf - inf) is 0."""
    if how == b"sum":
        total = target + value
        return 0.0 if math.isnan(total) else total
    if how == b"min":
        return value if value < target else target
    return value if value > target else target


class SetOp:
    """A parsed ZUNION/ZINTER/ZDIFF (and STORE, ZINTERCARD) request."""

    __slots__ = ("sources", "weights", "how", "withscores", "limit")

    def __init__(self, sources: list) -> None:
        self.sources = sources
        self.weights = [1.0] * len(sources)
        self.how = b"sum"
        self.withscores = False
        self.limit = 0


def parse_set_op(client, argv, numkeys_index: int, op: str, store: bool, card_only: bool) -> SetOp:
    """numkeys, then the keys (type-checked before any option), then the options."""
    setnum = parse_int(argv[numkeys_index])
    if setnum < 1:
        raise Error(f"ERR at least 1 input key is needed for '{argv[0].lower().decode()}' command")
    first = numkeys_index + 1
    if setnum > len(argv) - first:
        raise Error(errors.SYNTAX)
    request = SetOp(_sources(client, argv[first : first + setnum]))
    i = first + setnum
    while i < len(argv):
        option, remaining = argv[i].lower(), len(argv) - i
        if op != DIFF and not card_only and remaining >= setnum + 1 and option == b"weights":
            request.weights = [parse_float(arg, WEIGHT_NOT_FLOAT) for arg in argv[i + 1 : i + 1 + setnum]]
            i += 1 + setnum
        elif op != DIFF and not card_only and remaining >= 2 and option == b"aggregate":
            request.how = argv[i + 1].lower()
            if request.how not in (b"sum", b"min", b"max"):
                raise Error(errors.SYNTAX)
            i += 2
        elif not store and not card_only and option == b"withscores":
            request.withscores = True
            i += 1
        elif card_only and remaining >= 2 and option == b"limit":
            request.limit = parse_range_long(argv[i + 1], 0, LLONG_MAX, LIMIT_NEGATIVE)
            i += 2
        else:
            raise Error(errors.SYNTAX)
    return request


def _weighted(weight: float, score: float) -> float:
    product = weight * score
    return 0.0 if math.isnan(product) else product


def _inter(request: SetOp) -> dict[bytes, float]:
    """Members in every source, scores aggregated; sources smallest first, as Redis takes them."""
    ranked = sorted(zip(request.sources, request.weights), key=lambda pair: _size(pair[0]))
    (first, first_weight), rest = ranked[0], ranked[1:]
    result: dict[bytes, float] = {}
    if not _size(first):
        return result
    for member, score in _members(first):
        total = _weighted(first_weight, score)
        for value, weight in rest:
            found = score if value is first else _find(value, member)
            if found is None:
                break
            total = _aggregate(request.how, total, found * weight)
        else:
            result[member] = total
            if len(result) == request.limit:
                break
    return result


def _union(request: SetOp) -> dict[bytes, float]:
    result: dict[bytes, float] = {}
    for value, weight in sorted(zip(request.sources, request.weights), key=lambda pair: _size(pair[0])):
        if not _size(value):
            continue
        for member, score in _members(value):
            weighted = _weighted(weight, score)
            old = result.get(member)
            result[member] = weighted if old is None else _aggregate(request.how, old, weighted)
    return result


def _diff(request: SetOp) -> dict[bytes, float]:
    first, others = request.sources[0], [v for v in request.sources[1:] if v is not None]
    if not _size(first) or any(other is first for other in others):
        return {}
    return {m: s for m, s in _members(first) if all(_find(other, m) is None for other in others)}


_COMPUTE = {UNION: _union, INTER: _inter, DIFF: _diff}


def _set_op_reply(client, argv, op: str):
    request = parse_set_op(client, argv, 1, op, False, False)
    result = _COMPUTE[op](request)
    pairs = sorted((score, member) for member, score in result.items())
    return _with_scores(client, pairs, request.withscores)


def _set_op_store(client, argv, op: str):
    request = parse_set_op(client, argv, 2, op, True, False)
    result = ZSetValue.built(_COMPUTE[op](request), client.node.config)
    return _store(client, argv[1], result, f"z{op}store")


@command(
    "zunion", -3, R, keys_fn=numkeys_positions(1), since="6.2.0",
    key_specs=(KeySpec("RO ACCESS", Index(1), Keynum(0, 1, 1)),),
)
def zunion(client, argv):
    """ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]"""
    return _set_op_reply(client, argv, UNION)


@command(
    "zinter", -3, R, keys_fn=numkeys_positions(1), since="6.2.0",
    key_specs=(KeySpec("RO ACCESS", Index(1), Keynum(0, 1, 1)),),
)
def zinter(client, argv):
    """ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]"""
    return _set_op_reply(client, argv, INTER)


@command(
    "zdiff", -3, R, keys_fn=numkeys_positions(1), since="6.2.0",
    key_specs=(KeySpec("RO ACCESS", Index(1), Keynum(0, 1, 1)),),
)
def zdiff(client, argv):
    """ZDIFF numkeys key [key ...] [WITHSCORES]"""
    return _set_op_reply(client, argv, DIFF)


@command(
    "zunionstore", -4, W, (1, 1, 1), keys_fn=numkeys_positions(2, (1,)), since="2.0.0",
    key_specs=(
        KeySpec("OW UPDATE", Index(1)),
        KeySpec("RO ACCESS", Index(2), Keynum(0, 1, 1)),
    ),
)
def zunionstore(client, argv):
    """ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX]"""
    return _set_op_store(client, argv, UNION)


@command(
    "zinterstore", -4, W, (1, 1, 1), keys_fn=numkeys_positions(2, (1,)), since="2.0.0",
    key_specs=(
        KeySpec("OW UPDATE", Index(1)),
        KeySpec("RO ACCESS", Index(2), Keynum(0, 1, 1)),
    ),
)
def zinterstore(client, argv):
    """ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX]"""
    return _set_op_store(client, argv, INTER)


@command(
    "zdiffstore", -4, W, (1, 1, 1), keys_fn=numkeys_positions(2, (1,)), since="6.2.0",
    key_specs=(
        KeySpec("OW UPDATE", Index(1)),
        KeySpec("RO ACCESS", Index(2), Keynum(0, 1, 1)),
    ),
)
def zdiffstore(client, argv):
    """ZDIFFSTORE destination numkeys key [key ...]"""
    return _set_op_store(client, argv, DIFF)


@command(
    "zintercard", -3, R, keys_fn=numkeys_positions(1), since="7.0.0",
    key_specs=(KeySpec("RO ACCESS", Index(1), Keynum(0, 1, 1)),),
)
def zintercard(client, argv):
    """ZINTERCARD numkeys key [key ...] [LIMIT limit]"""
    return len(_inter(parse_set_op(client, argv, 1, INTER, False, True)))


# -- ZSCAN -------------------------------------------------------------------------------
@command(
    "zscan", -3, R, (1, 1, 1), since="2.8.0",
    key_specs=(KeySpec("RO ACCESS", Index(1)),),
    tips=("nondeterministic_output",),
)
def zscan(client, argv):
    """ZSCAN key cursor [MATCH pattern] [COUNT count]

    A listpack comes back whole, in rank order, with cursor 0, as Redis
    returns it; a skiplist is walked in insertion order with cursors that
    survive changes.
    """
    cursor = parse_cursor(argv[2])
    value = _read(client, argv[1])
    if value is None:
        return [b"0", []]
    count, pattern = parse_scan_options(argv)
    if value.listpack:
        cursor, text = 0, _listpack_text
        view = value.view()
        pairs = view.window(0, len(view))
    else:
        (cursor, members), text = value.scan(cursor, count), format_double
        pairs = [(value.scores[member], member) for member in members]
    found = []
    for score, member in pairs:
        if matching(pattern, member):
            found.append(member)
            found.append(text(score))
    return [b"%d" % cursor, found]


def _listpack_text(score: float) -> bytes:
    """A score as a listpack entry reads back: integral ones up to 2**62 as integers."""
    if score.is_integer() and -_LISTPACK_INT <= score <= _LISTPACK_INT:
        return b"%d" % score
    return format_double(score)
