"""A model of Redis's query buffer allocation, for CLIENT LIST's qbuf-free.

Python holds no such buffer, but Redis's clients (and its test suite) read
its size: ``qbuf`` + ``qbuf-free`` is what the connection's buffer has
allocated. As readQueryFromClient and clientsCronResizeQueryBuffer grow and
shrink it in Redis 7.0:

- a read asks for room for `READ_LEN` more bytes: the first allocation is
  exactly that, later ones double (greedy) up to a megabyte at a time, each
  rounded up to its jemalloc size class (16 KB: 20474 usable bytes, as
  redis-server's CLIENT LIST shows); the peak remembers the largest need;
- a request with an argument of `BIG_ARG` bytes or more leaves behind a
  buffer of that argument's size (Redis hands its buffer over to the argument
  and allocates a new one as large);
- the cron frees what a client idle for over 2 s does not use, and trims a
  buffer past `RESIZE_THRESHOLD` to its recent peak when it is twice that.
"""

from __future__ import annotations

from kvcore.allocation import sds_usable

READ_LEN = 16 * 1024  # PROTO_IOBUF_LEN
BIG_ARG = 32 * 1024  # PROTO_MBULK_BIG_ARG
RESIZE_THRESHOLD = 32 * 1024  # PROTO_RESIZE_THRESHOLD
SLACK_KEPT = 4 * 1024  # a buffer wasting less than this is left alone
GREEDY_MAX = 1024 * 1024  # SDS_MAX_PREALLOC
IDLE_S = 2
BIG_HEADER_SEEN = 256  # bytes hiredis holds of a request before `reading` looks for a big argument


def read(client, held: int, incoming: int) -> None:
    """Bytes arrived and were parsed: the room Redis made for them (``held``: bytes of a
    request that was incomplete before them).

    When they end inside an argument of `BIG_ARG` bytes or more, Redis made
    room for it at its header and read the rest only into that (however the
    bytes were cut into reads): no greedy growth.
    """
    client.qbuf_peak = max(client.qbuf_peak, held + READ_LEN)
    needed = held + max(incoming, READ_LEN) if client.qbuf_alloc < READ_LEN else held + incoming
    if needed <= client.qbuf_alloc or (client.reader.partial and reading(client)):
        return
    if client.qbuf_alloc < READ_LEN:
        client.qbuf_alloc = sds_usable(needed)
    else:
        client.qbuf_alloc = sds_usable(needed * 2 if needed < GREEDY_MAX else needed + GREEDY_MAX)


def reading(client) -> bool:
    """Part of a request is held: if it is in an argument of `BIG_ARG` bytes or more, Redis made
    room for all of it at its header (and its next reads ask for the rest, its peak). True if so."""
    length = client.reader.partial_state()[3]
    if length < BIG_ARG:
        return False
    client.qbuf_alloc = max(client.qbuf_alloc, sds_usable(length + 2))
    client.qbuf_peak = max(client.qbuf_peak, length + 2)
    return True


def processed(client, requests: list[list[bytes]]) -> None:
    """The requests read (from at least `BIG_ARG` bytes): one with a big argument leaves a
    buffer that argument's size."""
    big = [len(arg) for argv in requests for arg in argv if len(arg) >= BIG_ARG]
    if big:
        client.qbuf_alloc = sds_usable(big[-1] + 2)


def cron(client, now: int) -> None:
    """clientsCronResizeQueryBuffer: never below an argument being read, nor its peak."""
    used = client.reader.buffered()
    reading = client.reader.partial_state()[3] if client.reader.partial else -1
    if client.qbuf_alloc - used > SLACK_KEPT:
        if now - client.last_ms > IDLE_S * 1000:
            client.qbuf_alloc = used
        elif client.qbuf_alloc > RESIZE_THRESHOLD and client.qbuf_alloc // 2 > client.qbuf_peak:
            client.qbuf_alloc = max(used, client.qbuf_peak, reading)
    client.qbuf_peak = max(used, reading)
