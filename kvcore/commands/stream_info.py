"""XINFO: a stream's, its groups' and its consumers' state, as Redis 7.0 reports it.

Every reply is a map (a flat array in RESP2). Times are the node's clock:
XINFO CONSUMERS's ``idle`` counts from the consumer's last read or claim.
"""

from __future__ import annotations

from kvcore import errors
from kvcore.commands.args import parse_int
from kvcore.commands.connection import help_reply, subcommand_syntax_error
from kvcore.commands.key_specs import Index, KeySpec
from kvcore.commands.stream_groups import no_such_group
from kvcore.commands.streams import entries_reply, entry_reply, read_stream
from kvcore.commands.table import Flag, Registry
from kvcore.reply import Error, Map
from kvcore.types_stream import ID_MAX, INVALID_ENTRIES_READ, ConsumerGroup, StreamValue, format_id

REGISTRY = Registry("stream")
command = REGISTRY.command

FULL_DEFAULT_COUNT = 10
XINFO_HELP = [
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
]

XINFO = REGISTRY.container("xinfo", summary="A container for stream introspection commands")


def _existing_stream(client, key: bytes) -> StreamValue:
    stream = read_stream(client, key)
    if stream is None:
        raise Error(errors.NO_SUCH_KEY)
    return stream


def _entries_read(group: ConsumerGroup):
    return None if group.entries_read == INVALID_ENTRIES_READ else group.entries_read


def _full_count(argv: list[bytes]) -> int | None:
    """None for the summary form; else FULL's COUNT (0: every entry)."""
    if len(argv) == 3:
        return None
    if argv[3].upper() != b"FULL" or len(argv) not in (4, 6) or (len(argv) == 6 and argv[4].upper() != b"COUNT"):
        raise subcommand_syntax_error(argv)
    return max(parse_int(argv[5]), 0) if len(argv) == 6 else FULL_DEFAULT_COUNT


def _stream_header(stream: StreamValue) -> list:
    return [
        (b"length", len(stream)),
        (b"radix-tree-keys", len(stream.nodes)),
        (b"radix-tree-nodes", stream.radix_tree_nodes()),
        (b"last-generated-id", format_id(stream.last_id)),
        (b"max-deleted-entry-id", format_id(stream.max_deleted_id)),
        (b"entries-added", stream.entries_added),
        (b"recorded-first-entry-id", format_id(stream.first_id)),
    ]


def _edge_entry(stream: StreamValue, last: bool):
    found = stream.range(0, ID_MAX, 1, reverse=last)
    return entry_reply(*found[0]) if found else None


def _full_group(stream: StreamValue, group: ConsumerGroup, count: int) -> Map:
    pel = group.pending
    pending = [[format_id(ident), nack.consumer.name, nack.delivery_ms, nack.delivery_count]
               for ident in pel.between(0, ID_MAX, count) for nack in (pel.get(ident),)]
    consumers = []
    for consumer in group.sorted_consumers():
        own = consumer.pending
        consumers.append(Map([
            (b"name", consumer.name),
            (b"seen-time", consumer.seen_ms),
            (b"pel-count", len(own)),
            (b"pending", [[format_id(ident), nack.delivery_ms, nack.delivery_count]
                          for ident in own.between(0, ID_MAX, count) for nack in (own.get(ident),)]),
        ]))
    return Map([
        (b"name", group.name),
        (b"last-delivered-id", format_id(group.last_id)),
        (b"entries-read", _entries_read(group)),
        (b"lag", stream.lag(group)),
        (b"pel-count", len(pel)),
        (b"pending", pending),
        (b"consumers", consumers),
    ])


@command(
    "stream", -3, Flag.READONLY, (2, 2, 1), parent=XINFO, since="5.0.0",
    key_specs=(KeySpec("RO ACCESS", Index(2)),),
)
def xinfo_stream(client, argv):
    """XINFO STREAM key [FULL [COUNT count]]"""
    stream = _existing_stream(client, argv[2])
    count = _full_count(argv)
    pairs = _stream_header(stream)
    if count is None:
        pairs += [
            (b"groups", len(stream.groups)),
            (b"first-entry", _edge_entry(stream, last=False)),
            (b"last-entry", _edge_entry(stream, last=True)),
        ]
    else:
        groups = [stream.groups[name] for name in sorted(stream.groups)]
        pairs += [
            (b"entries", entries_reply(stream, 0, ID_MAX, count)),
            (b"groups", [_full_group(stream, group, count) for group in groups]),
        ]
    return Map(pairs)


@command(
    "groups", 3, Flag.READONLY, (2, 2, 1), parent=XINFO, since="5.0.0",
    key_specs=(KeySpec("RO ACCESS", Index(2)),),
)
def xinfo_groups(client, argv):
    """XINFO GROUPS key"""
    stream = _existing_stream(client, argv[2])
    return [
        Map([
            (b"name", group.name),
            (b"consumers", len(group.consumers)),
            (b"pending", len(group.pending)),
            (b"last-delivered-id", format_id(group.last_id)),
            (b"entries-read", _entries_read(group)),
            (b"lag", stream.lag(group)),
        ])
        for group in (stream.groups[name] for name in sorted(stream.groups))
    ]


@command(
    "consumers", 4, Flag.READONLY, (2, 2, 1), parent=XINFO, since="5.0.0",
    key_specs=(KeySpec("RO ACCESS", Index(2)),),
    tips=("nondeterministic_output",),
)
def xinfo_consumers(client, argv):
    """XINFO CONSUMERS key group"""
    stream = _existing_stream(client, argv[2])
    group = stream.groups.get(argv[3])
    if group is None:
        raise no_such_group(argv[2], argv[3])
    now = client.node.now
    return [
        Map([(b"name", consumer.name), (b"pending", len(consumer.pending)), (b"idle", max(now - consumer.seen_ms, 0))])
        for consumer in group.sorted_consumers()
    ]


@command("help", 2, Flag.LOADING | Flag.STALE, parent=XINFO, since="5.0.0")
def xinfo_help(client, argv):
    """XINFO HELP"""
    return help_reply(XINFO_HELP)
