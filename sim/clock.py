"""A node's clock: simulated time plus an offset that clock faults move.

The node's ``now`` is its clock reading, so TTLs meet skew and jumps exactly
as they would on a machine whose clock is stepped (forward or backward).
"""

from __future__ import annotations

EPOCH_MS = 1_700_000_000_000  # what every clock reads at simulated time 0, before its offset


class Clock:
    """Wall clock of one machine, in integer milliseconds since the Unix epoch."""

    __slots__ = ("env", "offset_ms")

    def __init__(self, env, offset_ms: int = 0) -> None:
        self.env = env
        self.offset_ms = offset_ms

    def now(self) -> int:
        return EPOCH_MS + self.env.now + self.offset_ms

    def jump(self, delta_ms: int) -> None:
        """Step the clock by `delta_ms` (negative: backward)."""
        self.offset_ms += delta_ms
