"""What one client connection holds, as Redis 7.0's getClientMemoryUsage counts it.

CLIENT LIST's ``tot-mem`` (and ``qbuf``, ``argv-mem``, ``multi-mem``) and the
figure ``maxmemory-clients`` evicts by. (INFO's memory figures keep their own,
smaller model, kvcore.info: used_memory counts only what clients hold beyond
their fixed buffers.) The parts, each from a model of the buffer Redis would
hold (figures checked against redis-server 7.0.15):

- the client structure itself (`CLIENT_STRUCT`) and its reply buffer
  (``rbs``: kvcore.replybuf);
- the query buffer's allocation (kvcore.querybuf: jemalloc's size class of
  the sds; while a big argument is read, the room made for all of it);
- the arguments of the request being read or run (``argv-mem``: their bytes,
  and a pointer each);
- MULTI's queue (``multi-mem``: the queued arguments the same way, and the
  array of queued commands, grown by doubling from 2), and 56 bytes a
  watched key;
- the reply blocks not yet sent (``omem``);
- 24 bytes a channel or shard channel subscribed (with their dictionaries'
  slots, 8 bytes each) and a pattern, and 32 a node of the radix tree of tracking
  prefixes (Redis multiplies sizeof(raxNode) by a pointer's size).
"""

from __future__ import annotations

from kvcore.allocation import allocation, sds_header
from kvcore.output_limits import counted

CLIENT_STRUCT = 768  # zmalloc_size(client)
POINTER = 8
MULTI_CMD = 24  # sizeof(multiCmd)
WATCHED_KEY = 56  # a list node and a watchedKey
LIST_NODE = 24
DICT_ENTRY = 24
RAX_NODE = 32


def usage(client, running: list[bytes] | None = None) -> int:
    """tot-mem: everything below; ``running``: the request the client is executing."""
    return (CLIENT_STRUCT + client.rbuf_size + query_buffer_bytes(client) + argv_bytes(client, running)
            + multi_bytes(client) + len(client.watched) * WATCHED_KEY + counted(client.obuf)
            + subscription_bytes(client) + tracking_bytes(client))


def query_buffer_bytes(client) -> int:
    """sdsZmallocSize of the query buffer: its room, header and terminator, in a size class."""
    room = client.qbuf_alloc
    return allocation(sds_header(room) + room + 1)


def unparsed(client) -> int:
    """CLIENT LIST's qbuf for a request half read: the bytes not yet taken as arguments."""
    return client.reader.partial_state()[0] if client.reader.partial else client.reader.buffered()


def _arguments(client, running: list[bytes] | None) -> tuple[int, int]:
    """(bytes, count) of the arguments of the request being run, else of those parsed of one being read."""
    if running is not None:
        return sum(map(len, running)), len(running)
    if not client.reader.partial:
        return 0, 0
    _, size, count, _ = client.reader.partial_state()
    return size, count


def argv_bytes(client, running: list[bytes] | None = None) -> int:
    """The arguments' memory: their bytes and a pointer each."""
    size, count = _arguments(client, running)
    return size + count * POINTER


def argv_shown(client, running: list[bytes] | None = None) -> int:
    """CLIENT LIST's argv-mem: the arguments' bytes alone."""
    return _arguments(client, running)[0]


def multi_queued(client) -> int:
    """multi-mem: the queued commands' arguments, their bytes and a pointer each."""
    if not client.multi:
        return 0
    return sum(sum(map(len, argv)) + len(argv) * POINTER for _, argv in client.multi)


def multi_bytes(client) -> int:
    """multi-mem and the queue's array (it doubles from 2 commands)."""
    if not client.multi:
        return 0
    slots = 2
    while slots < len(client.multi):
        slots *= 2
    return multi_queued(client) + slots * MULTI_CMD


def subscription_bytes(client) -> int:
    """Channels and shard channels in dictionaries, patterns in a list."""
    return _dict_bytes(len(client.channels)) + _dict_bytes(len(client.shard_channels)) \
        + len(client.patterns) * LIST_NODE


def _dict_bytes(entries: int) -> int:
    """A dict's entries and its slots (a power of two, at least 4, once it holds any)."""
    slots = 0 if not entries else max(4, 1 << (entries - 1).bit_length())
    return entries * DICT_ENTRY + slots * POINTER


def tracking_bytes(client) -> int:
    """The radix tree of BCAST prefixes: a head, a node a prefix, and one where they branch
    (prefixes of one shape share a single branching point)."""
    tracking = client.tracking
    count = len(tracking.prefixes) if tracking is not None else 0
    if not count:
        return 0
    return (1 + count + (count > 1)) * RAX_NODE
