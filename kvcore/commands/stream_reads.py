"""XREAD and XREADGROUP: reading new entries from several streams, blocking until some arrive.

A read answers at once with every stream that has something for it; else,
with BLOCK, the client waits (`kvcore.blocking`) and is served by the first
XADD to one of its keys, with that stream alone. A client waiting in a
consumer group always waits for entries past the group's last-delivered ID
as it is when the entries arrive, and is answered with an error when the
group, or the key, goes (Redis 7.0's ``-NOGROUP`` and ``-UNBLOCKED``). Where a
client may not block (MULTI) BLOCK reads as a timeout at once; a script may not
use BLOCK at all.

XREADGROUP is never logged itself. It changes group state, and logs what
replays that change as Redis 7.0 does: an ``XCLAIM ... FORCE JUSTID LASTID``
per entry it put in the PEL; with NOACK, which puts none, an ``XGROUP
CREATECONSUMER`` for a consumer it made and an ``XGROUP SETID ...
ENTRIESREAD`` for the group's new position. (A consumer made by a plain
history read is not logged, in Redis 7.0 either.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kvcore import errors
from kvcore.blocking import block, may_block
from kvcore.commands.args import parse_int
from kvcore.commands.key_specs import KeySpec, Keyword, Range
from kvcore.commands.sets import notify
from kvcore.commands.streams import entry_reply, read_stream
from kvcore.commands.table import Flag, Registry
from kvcore.dispatch import NO_REPLY, count_error, propagate_records
from kvcore.reply import NULL_ARRAY, Error, Map
from kvcore.stream_args import strict_id
from kvcore.types_stream import ID_MAX, Consumer, ConsumerGroup, StreamValue, format_id

REGISTRY = Registry("stream")
command = REGISTRY.command

BLOCKED_DEFAULT_COUNT = 1000  # XREAD_BLOCKED_DEFAULT_COUNT: what a blocked read without COUNT gets at most
TIMEOUT_NOT_INTEGER = "ERR timeout is not an integer or out of range"
GROUP_IN_XREAD = "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."
NOACK_IN_XREAD = "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."
MISSING_GROUP = "ERR Missing GROUP option for XREADGROUP"
DOLLAR_IN_GROUP = (
    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer "
    "by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."
)
GT_IN_XREAD = "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."
UNBALANCED = "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."  # XREADGROUP too
BLOCK_IN_SCRIPT = "ERR %s command is not allowed with BLOCK option from scripts"
GROUP_GONE = "NOGROUP the consumer group this client was blocked on no longer exists"
KEY_GONE = "UNBLOCKED the stream key no longer exists"
NEW_ENTRIES = ID_MAX  # the '>' ID: entries never delivered to the group



def no_group(key: bytes, group: bytes) -> str:
    return "NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP option" % (
        key.decode("utf-8", "replace"), group.decode("utf-8", "replace"))


def stream_keys(start: int):
    """The key positions of XREAD (``start`` 1) or XREADGROUP (4), as their key specs find them:
    the first half of what follows the first STREAMS from ``start`` on."""

    def keys(argv: list[bytes]) -> list[int]:
        for i in range(start, len(argv)):
            if argv[i].upper() == b"STREAMS":
                return list(range(i + 1, i + 1 + (len(argv) - i - 1) // 2))
        return []

    return keys


@dataclass
class ReadArgs:
    count: int = 0
    timeout_ms: int = -1  # -1: no BLOCK
    keys: list[bytes] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    group: bytes | None = None
    consumer: bytes = b""
    noack: bool = False


def _parse_options(client, argv: list[bytes], grouped: bool) -> tuple[ReadArgs, int]:
    args, streams_at = ReadArgs(), 0
    i = 1
    while i < len(argv):
        more = len(argv) - i - 1
        option = argv[i].upper()
        if option == b"BLOCK" and more:
            if client.node.scripts.running:
                raise Error(BLOCK_IN_SCRIPT % argv[0].decode("utf-8", "replace"))
            i += 1
            args.timeout_ms = parse_int(argv[i], TIMEOUT_NOT_INTEGER)
            if args.timeout_ms < 0:
                raise Error(errors.TIMEOUT_NEGATIVE)
        elif option == b"COUNT" and more:
            i += 1
            args.count = max(parse_int(argv[i]), 0)
        elif option == b"STREAMS" and more:
            streams_at = i + 1
            if (len(argv) - streams_at) % 2:
                raise Error(UNBALANCED)
            break
        elif option == b"GROUP" and more >= 2:
            if not grouped:
                raise Error(GROUP_IN_XREAD)
            args.group, args.consumer = argv[i + 1], argv[i + 2]
            i += 2
        elif option == b"NOACK":
            if not grouped:
                raise Error(NOACK_IN_XREAD)
            args.noack = True
        else:
            raise Error(errors.SYNTAX)
        i += 1
    if not streams_at:
        raise Error(errors.SYNTAX)
    if grouped and args.group is None:
        raise Error(MISSING_GROUP)
    return args, streams_at


def parse_read(client, argv: list[bytes], grouped: bool) -> tuple[ReadArgs, list]:
    """The options, keys and IDs of a read, and each key's stream (None if missing) and group."""
    args, streams_at = _parse_options(client, argv, grouped)
    half = (len(argv) - streams_at) // 2
    args.keys = argv[streams_at : streams_at + half]
    found = []
    for key, arg in zip(args.keys, argv[streams_at + half :]):
        stream = read_stream(client, key)
        group = None
        if args.group is not None:
            group = None if stream is None else stream.groups.get(args.group)
            if group is None:
                raise Error(no_group(key, args.group))
        found.append((stream, group))
        if arg == b"$":
            if grouped:
                raise Error(DOLLAR_IN_GROUP)
            args.ids.append(0 if stream is None else stream.last_id)
        elif arg == b">":
            if not grouped:
                raise Error(GT_IN_XREAD)
            args.ids.append(NEW_ENTRIES)
        else:
            args.ids.append(strict_id(arg))
    return args, found


def keyed_reply(client, pairs: list) -> object:
    """[[key, entries], ...] in RESP2; a map in RESP3."""
    return Map(pairs) if client.resp3 else [list(pair) for pair in pairs]


# -- serving a group reader ---------------------------------------------------------------
def active_consumer(client, key: bytes, group: ConsumerGroup, name: bytes) -> tuple[Consumer, bool]:
    """The consumer reading or claiming now (made, and announced, if missing), seen now; whether it was made."""
    now = client.node.now
    consumer, created = group.consumer(name, now)
    consumer.seen_ms = now
    if created:
        notify(client, "xgroup-createconsumer", key)
    return consumer, created


class GroupReader:
    """One XREADGROUP's view of a group: delivers entries and collects what to propagate."""

    def __init__(self, client, key: bytes, stream: StreamValue, group: ConsumerGroup, consumer_name: bytes,
                 noack: bool) -> None:
        self.client, self.key, self.stream, self.group, self.noack = client, key, stream, group, noack
        consumer, created = active_consumer(client, key, group, consumer_name)
        self.records: list[list[bytes]] = []
        if created:
            client.node.stats.dirty += 1
            if noack:  # no XCLAIM will make it on a replica
                self.records.append([b"XGROUP", b"CREATECONSUMER", key, group.name, consumer_name])
        self.consumer = consumer

    def new_entries(self, after: int, count: int) -> list:
        """Entries past ``after``: each moves the group on and, unless NOACK, joins the PEL."""
        stream, group, now = self.stream, self.group, self.client.node.now
        reply = []
        moved = False
        for ident, flat in stream.range(after + 1, ID_MAX, count):
            if ident > group.last_id:
                stream.advance_group(group, ident)
                moved = True
            reply.append(entry_reply(ident, flat))
            if not self.noack:
                nack = group.deliver(ident, self.consumer, now)
                self.records.append(xclaim_record(self.key, group, format_id(ident), nack))
        if moved and self.noack:  # else the XCLAIMs' LASTID moves a replica's group
            self.records.append(setid_record(self.key, group))
        return reply

    def history(self, after: int, count: int) -> list:
        """The consumer's own pending entries past ``after``; a deleted entry shows as [id, nil]."""
        stream, now = self.stream, self.client.node.now
        reply = []
        for ident in self.consumer.pending.between(after + 1, ID_MAX, count):
            flat = stream.get(ident)
            if flat is None:
                reply.append([format_id(ident), NULL_ARRAY])
                continue
            nack = self.consumer.pending.get(ident)
            nack.delivery_ms = now
            nack.delivery_count += 1
            reply.append(entry_reply(ident, flat))
        return reply


def xclaim_record(key: bytes, group: ConsumerGroup, ident: bytes, nack) -> list[bytes]:
    """streamPropagateXCLAIM: the XCLAIM that recreates one PEL entry exactly."""
    return [b"XCLAIM", key, group.name, nack.consumer.name, b"0", ident, b"TIME", b"%d" % nack.delivery_ms,
            b"RETRYCOUNT", b"%d" % nack.delivery_count, b"FORCE", b"JUSTID", b"LASTID", format_id(group.last_id)]


def setid_record(key: bytes, group: ConsumerGroup) -> list[bytes]:
    """streamPropagateGroupID: the XGROUP SETID that moves a replica's group to where this one is."""
    return [b"XGROUP", b"SETID", key, group.name, format_id(group.last_id), b"ENTRIESREAD",
            b"%d" % group.entries_read]


# -- the commands -----------------------------------------------------------------------------
def _read(client, argv, grouped: bool):
    args, found = parse_read(client, argv, grouped)
    served, records = [], []
    for key, ident, (_, group) in zip(args.keys, args.ids, found):
        stream = client.db.lookup_read(key)  # Redis looks each key up again to serve it: a second hit or miss
        if stream is None:
            continue
        if group is None:
            if stream.last_live_id > ident:
                served.append((key, [entry_reply(i, f) for i, f in stream.range(ident + 1, ID_MAX, args.count)]))
            continue
        if ident == NEW_ENTRIES and not (len(stream) and stream.last_live_id > group.last_id):
            continue
        reader = GroupReader(client, key, stream, group, args.consumer, args.noack)
        if ident != NEW_ENTRIES:
            served.append((key, reader.history(ident, args.count)))
        else:
            served.append((key, reader.new_entries(group.last_id, args.count)))
        client.db.changed_silently(key)
        records += reader.records
    if grouped:
        client.propagate_as = records
    if served:
        return keyed_reply(client, served)
    if args.timeout_ms < 0 or not may_block(client, argv):
        return NULL_ARRAY
    deadline = client.node.now + args.timeout_ms if args.timeout_ms else 0
    block(client, args.keys, deadline, _resume(args))
    return NO_REPLY


def _resume(args: ReadArgs):
    """How a blocked read is served when one of its keys is signalled."""
    waited: dict[bytes, int] = {}
    for key, ident in zip(args.keys, args.ids):
        waited.setdefault(key, ident)  # a key given twice waits with its first ID, as in Redis
    count = args.count or BLOCKED_DEFAULT_COUNT

    def resume(client, key: bytes) -> bool:
        stream = client.db.get(key)
        if type(stream) is not StreamValue:
            if args.group is None:
                return False
            _fail(client, KEY_GONE)
            return True
        after = waited[key]
        if args.group is not None:
            group = stream.groups.get(args.group)
            if group is None:
                _fail(client, GROUP_GONE)
                return True
            after = group.last_id
        if stream.last_id <= after:
            return False
        if args.group is None:
            entries = [entry_reply(i, f) for i, f in stream.range(after + 1, ID_MAX, count)]
        else:
            reader = GroupReader(client, key, stream, group, args.consumer, args.noack)
            entries = reader.new_entries(after, count)
            client.db.changed_silently(key)
            propagate_records(client.node, client.db.index, reader.records)
        client.reply(keyed_reply(client, [(key, entries)]))
        return True

    return resume


def _fail(client, text: str) -> None:
    """A blocked XREADGROUP ends in an error: counted where Redis counts it (errorstats,
    total_error_replies, the command's failed_calls)."""
    error = Error(text)
    count_error(client.node, error)
    client.node.table[b"xreadgroup"].failed_calls += 1
    client.reply(error)


@command(
    "xread", -4, Flag.READONLY | Flag.BLOCKING, keys_fn=stream_keys(1), since="5.0.0",
    key_specs=(KeySpec("RO ACCESS", Keyword("STREAMS", 1), Range(-1, 1, 2)),),
)
def xread(client, argv):
    """XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]"""
    return _read(client, argv, False)


@command(
    "xreadgroup", -7, Flag.WRITE | Flag.BLOCKING, keys_fn=stream_keys(4), since="5.0.0",
    key_specs=(KeySpec("RO ACCESS", Keyword("STREAMS", 4), Range(-1, 1, 2)),),
)
def xreadgroup(client, argv):
    """XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]"""
    return _read(client, argv, True)

