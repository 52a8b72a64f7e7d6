"""A model of Redis 7.0's per-client reply buffer, for CLIENT LIST's ``rbs`` and ``rbp``.

Redis writes a client's replies into a buffer of its own first (16 KB when
the client connects), the rest into a list of blocks; the buffer's peak use
is remembered. Its client cron (clientsCronResizeOutputBuffer) halves and
more a buffer whose peak stayed under half of it (down to the peak, at least
1 KB), doubles one that was filled (up to 16 KB), and every
``reply-buffer-peak-reset-time`` (5 s; set by DEBUG REPLYBUFFER) starts the
peak over. A new client's peak is its whole buffer, and its first reset is
due at once (Redis sets the reset time in seconds, compares in ms), so an idle
client's buffer shrinks on the cron's second visit. INFO counts the resizes
(reply_buffer_shrinks, reply_buffer_expands).

kvserver sends a client's replies once per input: the bytes of one such batch,
up to the buffer's size, are what the buffer would have held.
"""

from __future__ import annotations

from kvcore.allocation import allocation

CHUNK = 16 * 1024  # PROTO_REPLY_CHUNK_BYTES: a new client's buffer, and the most it grows to
MIN = 1024  # PROTO_REPLY_MIN_BYTES
PEAK_RESET_MS = 5000  # the default reply-buffer-peak-reset-time


class ReplyBufferPolicy:
    """``node.reply_buffers``: DEBUG REPLYBUFFER's settings."""

    __slots__ = ("peak_reset_ms", "resizing")

    def __init__(self) -> None:
        self.peak_reset_ms = PEAK_RESET_MS  # -1: never
        self.resizing = True


def cron(client, node, now: int) -> None:
    """Resize the buffer by its peak, then start the peak over if it is time."""
    policy = node.reply_buffers
    if not policy.resizing:
        return
    size, peak = client.rbuf_size, client.rbuf_peak
    if size // 2 >= MIN and peak < size // 2:
        client.rbuf_size = allocation(max(MIN, peak + 1))
        node.stats.reply_buffer_shrinks += 1
    elif size * 2 < CHUNK * 2 and peak == size:
        client.rbuf_size = allocation(min(CHUNK, size * 2))
        node.stats.reply_buffer_expands += 1
    if policy.peak_reset_ms >= 0 and now - client.rbuf_reset_ms >= policy.peak_reset_ms:
        client.rbuf_peak = 0  # what the buffer holds between inputs: everything was sent
        client.rbuf_reset_ms = now
