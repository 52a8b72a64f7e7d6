"""Stream commands on entries: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID.

Streams are `StreamValue`s (kvcore.types_stream); unlike other collections an
emptied stream stays. What a write logs is what replays it exactly: XADD's
``*`` and ``ms-*`` become the ID it made, and an approximate trim (``~``)
becomes the exact one it amounted to (``=`` with the length, or the first ID,
it left), as Redis rewrites them. XREAD and the consumer-group commands live in
`kvcore.commands.stream_reads` and `kvcore.commands.stream_groups`.
"""

from __future__ import annotations

from dataclasses import dataclass

from kvcore import errors
from kvcore.blocking import signal_key_ready
from kvcore.commands.args import parse_int
from kvcore.commands.key_specs import Index, KeySpec
from kvcore.commands.sets import notify, typed
from kvcore.commands.table import Flag, Registry
from kvcore.reply import NULL_ARRAY, OK, Error
from kvcore.stream_args import interval_end, interval_start, parse_id, strict_id
from kvcore.types_stream import ID_MAX, SEQ_BITS, SEQ_MAX, StreamValue, format_id

REGISTRY = Registry("stream")
command = REGISTRY.command

R = Flag.READONLY

ZERO_ID = "ERR The ID specified in XADD must be greater than 0-0"
ID_TOO_SMALL = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
EXHAUSTED = "ERR The stream has exhausted the last possible ID, unable to add more items"
TOO_LARGE = "ERR Elements are too large to be stored"
MAXLEN_NEGATIVE = "ERR The MAXLEN argument must be >= 0."
LIMIT_NEGATIVE = "ERR The LIMIT argument must be >= 0."
BOTH_STRATEGIES = "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
LIMIT_WITHOUT_STRATEGY = "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
XTRIM_WITHOUT_STRATEGY = "ERR syntax error, XTRIM must be called with a trimming strategy"
LIMIT_WITHOUT_APPROX = "ERR syntax error, LIMIT cannot be used without the special ~ option"
SETID_TOO_SMALL = "ERR The ID specified in XSETID is smaller than the target stream top item"
SETID_BELOW_GIVEN_DELETED = "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
ENTRIES_ADDED_NEGATIVE = "ERR entries_added must be positive"
ENTRIES_ADDED_TOO_SMALL = "ERR The entries_added specified in XSETID is smaller than the target stream length"


# -- shared pieces (the other stream modules use them too) -------------------------
def read_stream(client, key: bytes) -> StreamValue | None:
    """The stream at key for a read (hit/miss counted), None if missing, WRONGTYPE if another type."""
    return typed(client.db.lookup_read(key), StreamValue)


def entry_reply(ident: int, flat: tuple) -> list:
    return [format_id(ident), list(flat)]


def entries_reply(stream: StreamValue, start: int, end: int, count: int = 0, reverse: bool = False) -> list:
    return [entry_reply(ident, flat) for ident, flat in stream.range(start, end, count, reverse)]


# -- trimming options (XADD and XTRIM) -----------------------------------------------
@dataclass
class TrimArgs:
    """What streamParseAddOrTrimArgsOrReply finds: the trim strategy and, for XADD, the ID."""

    maxlen: int | None = None
    minid: int | None = None
    approx: bool = False
    limit: int = 0
    threshold_at: int = 0  # argv index of the MAXLEN/MINID threshold
    id_at: int = 0  # argv index of XADD's ID
    ident: int | None = None  # None for '*'
    seq_given: bool = True
    nomkstream: bool = False

    @property
    def trims(self) -> bool:
        return self.maxlen is not None or self.minid is not None


def _approx_marker(argv: list[bytes], i: int, args: TrimArgs) -> int:
    """Skip an '=' or '~' after MAXLEN/MINID (when a threshold follows it); the threshold's index."""
    if len(argv) - 1 - i >= 2 and argv[i + 1] in (b"~", b"="):
        args.approx = argv[i + 1] == b"~"
        return i + 2
    return i + 1


def parse_trim_args(client, argv: list[bytes], xadd: bool) -> TrimArgs:
    args = TrimArgs()
    limit_given = False
    i = 2
    while i < len(argv):
        more = len(argv) - 1 - i
        option = argv[i].upper()
        if xadd and argv[i] == b"*":
            break
        if option in (b"MAXLEN", b"MINID") and more:
            if args.trims:
                raise Error(BOTH_STRATEGIES)
            args.approx = False
            i = _approx_marker(argv, i, args)
            if option == b"MAXLEN":
                args.maxlen = parse_int(argv[i])
                if args.maxlen < 0:
                    raise Error(MAXLEN_NEGATIVE)
            else:
                args.minid = strict_id(argv[i])
            args.threshold_at = i
        elif option == b"LIMIT" and more:
            args.limit = parse_int(argv[i + 1])
            if args.limit < 0:
                raise Error(LIMIT_NEGATIVE)
            limit_given = True
            i += 1
        elif xadd and option == b"NOMKSTREAM":
            args.nomkstream = True
        elif xadd:
            args.ident, args.seq_given = parse_id(argv[i], strict=True, auto_seq=True)
            break
        else:
            raise Error(errors.SYNTAX)
        i += 1
    args.id_at = i
    _check_limit(client, args, xadd, limit_given)
    return args


def _check_limit(client, args: TrimArgs, xadd: bool, limit_given: bool) -> None:
    if args.limit and not args.trims:
        raise Error(LIMIT_WITHOUT_STRATEGY)
    if not xadd and not args.trims:
        raise Error(XTRIM_WITHOUT_STRATEGY)
    if client.node.loading:  # replaying the log: the threshold was rewritten to be exact
        args.limit = 0
    elif limit_given:
        if not args.approx:
            raise Error(LIMIT_WITHOUT_APPROX)
    elif args.approx:
        limit = 100 * int(client.node.config["stream-node-max-entries"])
        args.limit = limit if 0 < limit <= 10000 else 10000
    else:
        args.limit = 0


def apply_trim(client, key: bytes, stream: StreamValue, args: TrimArgs, argv: list[bytes]) -> int:
    """Trim as asked; notify ``xtrim`` if anything went, and rewrite an approximate trim as exact."""
    deleted = stream.trim(args.maxlen, args.minid, args.approx, args.limit)
    if deleted:
        notify(client, "xtrim", key)
    if args.approx:
        argv[args.threshold_at - 1] = b"="
        if args.maxlen is not None:
            argv[args.threshold_at] = b"%d" % len(stream)
        else:
            argv[args.threshold_at] = format_id(stream.nodes[0].master_id if stream.nodes else ID_MAX)
    return deleted


# -- XADD -----------------------------------------------------------------------------
def _next_id(stream: StreamValue, args: TrimArgs, now_ms: int) -> int:
    """The ID of a new entry: given, ``ms-*`` completed, or ``*`` from the clock; checked against the top."""
    last = stream.last_id
    if args.ident is None:
        ms = now_ms
        ident = ms << SEQ_BITS if ms > last >> SEQ_BITS else last + 1
    elif args.seq_given:
        ident = args.ident
    elif args.ident >> SEQ_BITS == last >> SEQ_BITS:
        if last & SEQ_MAX == SEQ_MAX:
            raise Error(TOO_LARGE)
        ident = last + 1
    else:
        ident = args.ident
    if ident <= last:
        raise Error(ID_TOO_SMALL)
    return ident


@command(
    "xadd", -5, Flag.WRITE | Flag.DENYOOM | Flag.FAST, (1, 1, 1), since="5.0.0",
    key_specs=(
        KeySpec("RW UPDATE", Index(1), notes="UPDATE instead of INSERT because of the optional trimming feature"),
    ),
    tips=("nondeterministic_output",),
)
def xadd(client, argv):
    """XADD key [NOMKSTREAM] [MAXLEN | MINID [= | ~] threshold [LIMIT count]] * | id field value [field value ...]"""
    args = parse_trim_args(client, argv, xadd=True)
    fields_at = args.id_at + 1
    pairs = len(argv) - fields_at
    if pairs < 2 or pairs % 2:
        raise Error(errors.wrong_arity("xadd"))
    if args.ident == 0 and args.seq_given:
        raise Error(ZERO_ID)
    db, key = client.db, argv[1]
    stream = db.get_typed(key, StreamValue)
    if stream is None and args.nomkstream:
        return None
    created = stream is None
    if created:
        stream = StreamValue()
    if stream.last_id == ID_MAX:
        raise Error(EXHAUSTED)
    ident = _next_id(stream, args, client.node.now)
    stream.append(ident, tuple(argv[fields_at:]), client.node.config)
    if created:
        db.set(key, stream)
    else:
        db.written(key)
    notify(client, "xadd", key)
    signal_key_ready(db, key)
    rewritten = list(argv)
    if args.ident is None or not args.seq_given:  # a generated ID (`*`, `ms-*`) goes out as the one made
        rewritten[args.id_at] = format_id(ident)
    if args.trims:
        apply_trim(client, key, stream, args, rewritten)
    client.propagate_as = [rewritten]
    return format_id(ident)


# -- reads ------------------------------------------------------------------------------
@command("xlen", 2, R | Flag.FAST, (1, 1, 1), since="5.0.0", key_specs=(KeySpec("RO", Index(1)),))
def xlen(client, argv):
    """XLEN key"""
    stream = read_stream(client, argv[1])
    return 0 if stream is None else len(stream)


def _range(client, argv, reverse: bool):
    start = interval_start(argv[3] if reverse else argv[2])
    end = interval_end(argv[2] if reverse else argv[3])
    count = None
    i = 4
    while i < len(argv):
        if argv[i].upper() == b"COUNT" and i + 1 < len(argv):
            count = max(parse_int(argv[i + 1]), 0)
            i += 2
        else:
            raise Error(errors.SYNTAX)
    stream = read_stream(client, argv[1])
    if stream is None:
        return []
    if count == 0:
        return NULL_ARRAY
    return entries_reply(stream, start, end, count or 0, reverse)


@command("xrange", -4, R, (1, 1, 1), since="5.0.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def xrange(client, argv):
    """XRANGE key start end [COUNT count]"""
    return _range(client, argv, False)


@command("xrevrange", -4, R, (1, 1, 1), since="5.0.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def xrevrange(client, argv):
    """XREVRANGE key end start [COUNT count]"""
    return _range(client, argv, True)


# -- deleting ---------------------------------------------------------------------------
@command("xdel", -3, Flag.WRITE | Flag.FAST, (1, 1, 1), since="5.0.0", key_specs=(KeySpec("RW DELETE", Index(1)),))
def xdel(client, argv):
    """XDEL key id [id ...]"""
    db, key = client.db, argv[1]
    stream = db.get_typed(key, StreamValue)
    if stream is None:
        return 0
    idents = [strict_id(arg) for arg in argv[2:]]
    deleted = 0
    for ident in idents:
        if stream.delete(ident):
            stream.max_deleted_id = max(stream.max_deleted_id, ident)
            deleted += 1
    if deleted:
        db.written(key, deleted)
        notify(client, "xdel", key)
    return deleted


@command(
    "xtrim", -4, Flag.WRITE, (1, 1, 1), since="5.0.0",
    key_specs=(KeySpec("RW DELETE", Index(1)),),
    tips=("nondeterministic_output",),
)
def xtrim(client, argv):
    """XTRIM key MAXLEN | MINID [= | ~] threshold [LIMIT count]"""
    args = parse_trim_args(client, argv, xadd=False)
    db, key = client.db, argv[1]
    stream = db.get_typed(key, StreamValue)
    if stream is None:
        return 0
    rewritten = list(argv)
    deleted = apply_trim(client, key, stream, args, rewritten)
    if deleted:
        db.written(key, deleted)
        client.propagate_as = [rewritten]
    return deleted


@command(
    "xsetid", -3, Flag.WRITE | Flag.DENYOOM | Flag.FAST, (1, 1, 1), since="5.0.0",
    key_specs=(KeySpec("RW UPDATE", Index(1)),),
)
def xsetid(client, argv):
    """XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]"""
    ident = strict_id(argv[2])
    entries_added, max_deleted = -1, 0
    i = 3
    while i < len(argv):
        option = argv[i].upper()
        if option == b"ENTRIESADDED" and i + 1 < len(argv):
            entries_added = parse_int(argv[i + 1])
            if entries_added < 0:
                raise Error(ENTRIES_ADDED_NEGATIVE)
        elif option == b"MAXDELETEDID" and i + 1 < len(argv):
            max_deleted = strict_id(argv[i + 1])
            if ident < max_deleted:
                raise Error(SETID_BELOW_GIVEN_DELETED)
        else:
            raise Error(errors.SYNTAX)
        i += 2
    db, key = client.db, argv[1]
    stream = db.get_typed(key, StreamValue)
    if stream is None:
        raise Error(errors.NO_SUCH_KEY)
    if len(stream):
        if ident < stream.last_live_id:
            raise Error(SETID_TOO_SMALL)
        if entries_added != -1 and len(stream) > entries_added:
            raise Error(ENTRIES_ADDED_TOO_SMALL)
    stream.last_id = ident
    if entries_added != -1:
        stream.entries_added = entries_added
    if max_deleted:
        stream.max_deleted_id = max_deleted
    db.changed_silently(key)  # no WATCH fails, in Redis 7.0 either
    notify(client, "xsetid", key)
    return OK
