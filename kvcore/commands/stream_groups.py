"""Consumer groups: XGROUP, XACK, XPENDING, XCLAIM and XAUTOCLAIM.

Group changes are writes (logged, counted) that Redis 7.0 does not signal:
no WATCH fails and no client-side cache is told, as for XREADGROUP.

A group's PEL holds the entries delivered and not yet acknowledged, each with
its owner, last delivery time and delivery count (`kvcore.types_stream`).
XCLAIM and XAUTOCLAIM change owners; they log, as Redis does, one
``XCLAIM ... FORCE JUSTID LASTID`` per entry they touched (which replays the
entry's exact state, even its removal when the entry was deleted from the
stream) instead of themselves, and an ``XGROUP SETID`` when only XCLAIM's
LASTID moved the group.
"""

from __future__ import annotations

from dataclasses import dataclass

from kvcore import errors
from kvcore.blocking import signal_key_ready
from kvcore.commands.args import parse_int
from kvcore.commands.connection import help_reply, subcommand_syntax_error
from kvcore.commands.key_specs import Index, KeySpec
from kvcore.commands.sets import notify, typed
from kvcore.commands.stream_reads import active_consumer, setid_record, xclaim_record
from kvcore.commands.streams import entry_reply, read_stream
from kvcore.commands.table import Flag, Registry
from kvcore.reply import NULL_ARRAY, OK, Error
from kvcore.stream_args import interval_end, interval_start, parse_id, strict_id
from kvcore.types_stream import ID_MAX, INVALID_ENTRIES_READ, ConsumerGroup, PendingEntry, StreamValue, format_id

REGISTRY = Registry("stream")
command = REGISTRY.command

W = Flag.WRITE
KEY_REQUIRED = (
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the "
    "MKSTREAM option to create an empty stream automatically."
)
BUSYGROUP = "BUSYGROUP Consumer Group name already exists"
ENTRIESREAD_RANGE = "ERR value for ENTRIESREAD must be positive or -1"
COUNT_POSITIVE = "ERR COUNT must be > 0"
XGROUP_HELP = [
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
]


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def no_such_group(key: bytes, group: bytes) -> Error:
    return Error("NOGROUP No such consumer group '%s' for key name '%s'" % (_text(group), _text(key)))


def no_key_or_group(key: bytes, group: bytes) -> Error:
    return Error("NOGROUP No such key '%s' or consumer group '%s'" % (_text(key), _text(group)))


def stream_group(client, key: bytes, name: bytes) -> tuple[StreamValue | None, ConsumerGroup | None]:
    stream = read_stream(client, key)
    return stream, None if stream is None else stream.groups.get(name)


# -- XGROUP ---------------------------------------------------------------------------
XGROUP = REGISTRY.container("xgroup", summary="A container for consumer groups commands")


def _group_options(argv: list[bytes], create: bool) -> tuple[bool, int]:
    """MKSTREAM (CREATE only) and ENTRIESREAD after the ID."""
    mkstream, entries_read = False, INVALID_ENTRIES_READ
    i = 5
    while i < len(argv):
        option = argv[i].upper()
        if create and option == b"MKSTREAM":
            mkstream = True
            i += 1
        elif option == b"ENTRIESREAD" and i + 1 < len(argv):
            entries_read = parse_int(argv[i + 1])
            if entries_read < 0 and entries_read != INVALID_ENTRIES_READ:
                raise Error(ENTRIESREAD_RANGE)
            i += 2
        else:
            raise subcommand_syntax_error(argv)
    return mkstream, entries_read


def _existing_group(client, argv) -> tuple[StreamValue, ConsumerGroup]:
    stream = client.db.get_typed(argv[2], StreamValue)
    if stream is None:
        raise Error(KEY_REQUIRED)
    group = stream.groups.get(argv[3])
    if group is None:
        raise no_such_group(argv[2], argv[3])
    return stream, group


@command(
    "create", -5, W | Flag.DENYOOM, (2, 2, 1), parent=XGROUP, since="5.0.0",
    key_specs=(KeySpec("RW INSERT", Index(2)),),
)
def xgroup_create(client, argv):
    """XGROUP CREATE key group id | $ [MKSTREAM] [ENTRIESREAD entries-read]"""
    mkstream, entries_read = _group_options(argv, create=True)
    if len(argv) > 8:
        raise subcommand_syntax_error(argv)
    db, key = client.db, argv[2]
    stream = db.get_typed(key, StreamValue)
    if stream is None and not mkstream:
        raise Error(KEY_REQUIRED)
    if argv[4] == b"$":
        ident = 0 if stream is None else stream.last_id
    else:
        ident = strict_id(argv[4])
    if stream is None:
        stream = StreamValue()
        db.set(key, stream)
    elif argv[3] in stream.groups:
        raise Error(BUSYGROUP)
    else:
        db.changed_silently(key)
    stream.groups[argv[3]] = ConsumerGroup(argv[3], ident, entries_read)
    notify(client, "xgroup-create", key)
    return OK


@command("setid", -5, W, (2, 2, 1), parent=XGROUP, since="5.0.0", key_specs=(KeySpec("RW UPDATE", Index(2)),))
def xgroup_setid(client, argv):
    """XGROUP SETID key group id | $ [ENTRIESREAD entries-read]"""
    _, entries_read = _group_options(argv, create=False)
    stream, group = _existing_group(client, argv)
    if len(argv) not in (5, 7):
        raise subcommand_syntax_error(argv)
    group.last_id = stream.last_id if argv[4] == b"$" else parse_id(argv[4])[0]
    group.entries_read = entries_read
    client.db.changed_silently(argv[2])
    notify(client, "xgroup-setid", argv[2])
    return OK


@command("destroy", 4, W, (2, 2, 1), parent=XGROUP, since="5.0.0", key_specs=(KeySpec("RW DELETE", Index(2)),))
def xgroup_destroy(client, argv):
    """XGROUP DESTROY key group"""
    db, key = client.db, argv[2]
    stream = db.get_typed(key, StreamValue)
    if stream is None:
        raise Error(KEY_REQUIRED)
    if stream.groups.pop(argv[3], None) is None:
        return 0
    db.changed_silently(key)
    notify(client, "xgroup-destroy", key)
    signal_key_ready(db, key)  # readers blocked in the group hear that it went
    return 1


@command(
    "createconsumer", 5, W | Flag.DENYOOM, (2, 2, 1), parent=XGROUP, since="6.2.0",
    key_specs=(KeySpec("RW INSERT", Index(2)),),
)
def xgroup_createconsumer(client, argv):
    """XGROUP CREATECONSUMER key group consumer"""
    _, group = _existing_group(client, argv)
    _, created = group.consumer(argv[4], client.node.now)
    if created:
        client.db.changed_silently(argv[2])
        notify(client, "xgroup-createconsumer", argv[2])
    return int(created)


@command("delconsumer", 5, W, (2, 2, 1), parent=XGROUP, since="5.0.0", key_specs=(KeySpec("RW DELETE", Index(2)),))
def xgroup_delconsumer(client, argv):
    """XGROUP DELCONSUMER key group consumer"""
    _, group = _existing_group(client, argv)
    if argv[4] not in group.consumers:
        return 0
    pending = group.delete_consumer(argv[4])
    client.db.changed_silently(argv[2])
    notify(client, "xgroup-delconsumer", argv[2])
    return pending


@command("help", 2, Flag.LOADING | Flag.STALE, parent=XGROUP, since="5.0.0")
def xgroup_help(client, argv):
    """XGROUP HELP"""
    return help_reply(XGROUP_HELP)


# -- XACK, XPENDING -------------------------------------------------------------------------
@command("xack", -4, W | Flag.FAST, (1, 1, 1), since="5.0.0", key_specs=(KeySpec("RW UPDATE", Index(1)),))
def xack(client, argv):
    """XACK key group id [id ...]"""
    _, group = stream_group(client, argv[1], argv[2])
    if group is None:
        return 0
    idents = [strict_id(arg) for arg in argv[3:]]
    acknowledged = sum(group.acknowledge(ident) for ident in idents)
    if acknowledged:
        client.db.changed_silently(argv[1], acknowledged)
    return acknowledged


def _pending_range(argv) -> tuple[int, int, int, int, bytes | None]:
    """XPENDING's extended form: min idle, start, end, count, consumer."""
    at, min_idle = 3, 0
    if argv[3].upper() == b"IDLE":
        min_idle = parse_int(argv[4])
        if len(argv) < 8:
            raise Error(errors.SYNTAX)
        at = 5
    count = max(parse_int(argv[at + 2]), 0)
    start = interval_start(argv[at])
    end = interval_end(argv[at + 1])
    consumer = argv[at + 3] if at + 3 < len(argv) else None
    return min_idle, start, end, count, consumer


@command(
    "xpending", -3, Flag.READONLY, (1, 1, 1), since="5.0.0",
    key_specs=(KeySpec("RO ACCESS", Index(1)),),
    tips=("nondeterministic_output",),
)
def xpending(client, argv):
    """XPENDING key group [[IDLE min-idle-time] start end count [consumer]]"""
    if len(argv) != 3 and not 6 <= len(argv) <= 9:
        raise Error(errors.SYNTAX)
    ranged = _pending_range(argv) if len(argv) >= 6 else None
    _, group = stream_group(client, argv[1], argv[2])
    if group is None:
        raise no_key_or_group(argv[1], argv[2])
    if ranged is None:
        return _pending_summary(group)
    min_idle, start, end, count, consumer_name = ranged
    pel = group.pending
    if consumer_name is not None:
        consumer = group.consumers.get(consumer_name)
        if consumer is None:
            return []
        pel = consumer.pending
    now, reply = client.node.now, []
    for ident in pel.between(start, end):
        if len(reply) >= count:
            break
        nack = pel.get(ident)
        idle = now - nack.delivery_ms
        if min_idle and idle < min_idle:
            continue
        reply.append([format_id(ident), nack.consumer.name, max(idle, 0), nack.delivery_count])
    return reply


def _pending_summary(group: ConsumerGroup) -> list:
    pel = group.pending
    if not len(pel):
        return [0, None, None, NULL_ARRAY]
    owners = [[consumer.name, b"%d" % len(consumer.pending)]
              for consumer in group.sorted_consumers() if len(consumer.pending)]
    return [len(pel), format_id(pel.ids[0]), format_id(pel.ids[-1]), owners]


# -- XCLAIM, XAUTOCLAIM --------------------------------------------------------------------
class Claim:
    """Claiming entries of one group for one consumer: the changes, the reply items, the log records."""

    def __init__(self, client, key: bytes, stream: StreamValue, group: ConsumerGroup, name: bytes,
                 justid: bool) -> None:
        self.client, self.key, self.stream, self.group, self.name = client, key, stream, group, name
        self.justid = justid
        self.consumer = None
        self.records: list[list[bytes]] = []
        self.changes = 0

    def drop_deleted(self, ident: int, nack: PendingEntry) -> None:
        """The entry left the stream: its PEL entry goes too (and the replicas are told so)."""
        self.records.append(xclaim_record(self.key, self.group, format_id(ident), nack))
        self.group.acknowledge(ident)
        self.changes += 1

    def take(self, ident: int, nack: PendingEntry, delivery_ms: int, retry_count: int | None):
        """Make the claiming consumer own the entry; its reply item."""
        if self.consumer is None:
            self.consumer, _ = active_consumer(self.client, self.key, self.group, self.name)
        self.group.transfer(ident, nack, self.consumer)
        nack.delivery_ms = delivery_ms
        if retry_count is not None:
            nack.delivery_count = retry_count
        elif not self.justid:
            nack.delivery_count += 1
        self.records.append(xclaim_record(self.key, self.group, format_id(ident), nack))
        self.changes += 1
        if self.justid:
            return format_id(ident)
        flat = self.stream.get(ident)
        return None if flat is None else entry_reply(ident, flat)

    def finish(self) -> None:
        if self.changes:
            self.client.db.changed_silently(self.key, self.changes)
        self.client.propagate_as = self.records


def _idle_arg(arg: bytes, command_name: str) -> int:
    return max(parse_int(arg, "ERR Invalid min-idle-time argument for %s" % command_name), 0)


@dataclass
class ClaimOptions:
    """XCLAIM's options after its IDs."""

    force: bool = False
    justid: bool = False
    delivery_ms: int | None = None  # from IDLE (now minus it) or TIME
    retry_count: int | None = None
    last_id: int = 0


def _claim_options(argv: list[bytes], at: int, now: int) -> ClaimOptions:
    options = ClaimOptions()
    while at < len(argv):
        more = len(argv) - 1 - at
        option = argv[at].upper()
        if option == b"FORCE":
            options.force = True
        elif option == b"JUSTID":
            options.justid = True
        elif option in (b"IDLE", b"TIME", b"RETRYCOUNT") and more:
            at += 1
            value = parse_int(argv[at], "ERR Invalid %s option argument for XCLAIM" % option.decode())
            if option == b"RETRYCOUNT":
                options.retry_count = value if value >= 0 else None
            else:
                options.delivery_ms = now - value if option == b"IDLE" else value
        elif option == b"LASTID" and more:
            at += 1
            options.last_id = strict_id(argv[at])
        else:
            raise Error("ERR Unrecognized XCLAIM option '%s'" % _text(argv[at]))
        at += 1
    return options


def _leading_ids(argv: list[bytes]) -> list[int]:
    """XCLAIM's IDs: the arguments from the fifth on that read as IDs; the options follow them."""
    idents = []
    for arg in argv[5:]:
        try:
            idents.append(strict_id(arg))
        except Error:
            break
    return idents


@command(
    "xclaim", -6, W | Flag.FAST, (1, 1, 1), since="5.0.0",
    key_specs=(KeySpec("RW UPDATE", Index(1)),),
    tips=("nondeterministic_output",),
)
def xclaim(client, argv):
    """XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-milliseconds]
    [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]"""
    stream, group = stream_group(client, argv[1], argv[2])
    if group is None:
        raise no_key_or_group(argv[1], argv[2])
    min_idle = _idle_arg(argv[4], "XCLAIM")
    idents = _leading_ids(argv)
    now = client.node.now
    options = _claim_options(argv, 5 + len(idents), now)
    claim = Claim(client, argv[1], stream, group, argv[3], options.justid)
    moved_group = options.last_id > group.last_id
    if moved_group:
        group.last_id = options.last_id
    delivery_ms = options.delivery_ms
    if delivery_ms is None or delivery_ms < 0 or delivery_ms > now:
        delivery_ms = now
    reply = []
    for ident in idents:
        nack = group.pending.get(ident)
        if stream.get(ident) is None:
            if nack is not None:
                claim.drop_deleted(ident, nack)
            continue
        if nack is None:
            if not options.force:
                continue
            nack = PendingEntry(None, now)  # a first delivery, that the claim then counts again
            group.pending.put(ident, nack)
        elif nack.consumer is not None and min_idle and now - nack.delivery_ms < min_idle:
            continue
        reply.append(claim.take(ident, nack, delivery_ms, options.retry_count))
    if moved_group and not claim.records:
        claim.records.append(setid_record(argv[1], group))
        claim.changes += 1
    claim.finish()
    return reply


@command(
    "xautoclaim", -6, W | Flag.FAST, (1, 1, 1), since="6.2.0",
    key_specs=(KeySpec("RW DELETE", Index(1)),),
    tips=("nondeterministic_output",),
)
def xautoclaim(client, argv):
    """XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]"""
    value = client.db.lookup_read(argv[1])  # as Redis: before the arguments (a hit or miss even when they are bad)
    min_idle = _idle_arg(argv[4], "XAUTOCLAIM")
    start = interval_start(argv[5])
    count, justid = 100, False
    at = 6
    while at < len(argv):
        option = argv[at].upper()
        if option == b"COUNT" and at + 1 < len(argv):
            count = parse_int(argv[at + 1], COUNT_POSITIVE)
            if not 1 <= count <= (2**63 - 1) // 10:
                raise Error(COUNT_POSITIVE)
            at += 1
        elif option == b"JUSTID":
            justid = True
        else:
            raise Error(errors.SYNTAX)
        at += 1
    stream = typed(value, StreamValue)
    group = None if stream is None else stream.groups.get(argv[2])
    if group is None:
        raise no_key_or_group(argv[1], argv[2])
    now = client.node.now
    claim = Claim(client, argv[1], stream, group, argv[3], justid)
    claimed, deleted = [], []
    attempts = count * 10
    ids = group.pending.between(start, ID_MAX)
    at = 0
    while attempts and count and at < len(ids):
        attempts -= 1
        ident = ids[at]
        at += 1
        nack = group.pending.get(ident)
        if stream.get(ident) is None:
            claim.drop_deleted(ident, nack)
            deleted.append(format_id(ident))
            count -= 1
            continue
        if min_idle and now - nack.delivery_ms < min_idle:
            continue
        claimed.append(claim.take(ident, nack, now, None))
        count -= 1
    claim.finish()
    cursor = format_id(ids[at]) if at < len(ids) else b"0-0"
    return [cursor, claimed, deleted]
