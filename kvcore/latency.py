"""Command durations and the latency monitor.

The core measures no time: a command counts as taking 1 us, except DEBUG
SLEEP, which takes the time it sleeps (the runtime really stops for it);
freeing an expired collection is modelled from its size (`freeing_ms`).
That duration reaches everything Redis derives from a command's duration:
INFO commandstats ``usec``, INFO latencystats percentiles, LATENCY HISTOGRAM
buckets, the slow log, and the latency monitor's ``command`` event (one
sample a second, the last 160 kept, as Redis's latency.c).
"""

from __future__ import annotations

from collections import deque

SAMPLES_KEPT = 160  # LATENCY_TS_LEN


class Event:
    """One event's samples: (unix seconds, ms), one a second, and the all-time maximum."""

    __slots__ = ("samples", "max_ms")

    def __init__(self) -> None:
        self.samples: deque[list[int]] = deque(maxlen=SAMPLES_KEPT)
        self.max_ms = 0


class LatencyMonitor:
    """``node.latency``: the events above ``latency-monitor-threshold`` (LATENCY LATEST/HISTORY/RESET)."""

    def __init__(self) -> None:
        self.events: dict[str, Event] = {}

    def add(self, name: str, now_s: int, ms: int) -> None:
        event = self.events.setdefault(name, Event())
        if event.samples and event.samples[-1][0] == now_s:
            event.samples[-1][1] = max(event.samples[-1][1], ms)
        else:
            event.samples.append([now_s, ms])
        event.max_ms = max(event.max_ms, ms)

    def latest(self) -> list[list]:
        return [[name.encode(), event.samples[-1][0], event.samples[-1][1], event.max_ms]
                for name, event in self.events.items()]

    def history(self, name: str) -> list[list[int]]:
        event = self.events.get(name)
        return [list(sample) for sample in event.samples] if event else []

    def reset(self, names: list[str]) -> int:
        """Forget the named events (every event when none is named); how many there were."""
        if not names:
            count = len(self.events)
            self.events.clear()
            return count
        return sum(self.events.pop(name, None) is not None for name in dict.fromkeys(names))


FREE_NS_PER_ELEMENT = 30  # the modelled time freeing one element of a collection takes the main thread


def freeing_ms(elements: int) -> int:
    """The whole milliseconds freeing ``elements`` is modelled to take: the core measures no time,
    yet a big value expiring is what Redis's ``expire-cycle`` and ``expire-del`` events report."""
    return elements * FREE_NS_PER_ELEMENT // 1_000_000


def sample(node, event: str, ms: int) -> None:
    """latencyAddSampleIfNeeded: ``event`` took ``ms``, kept when at least latency-monitor-threshold."""
    threshold_ms = node.config.values["latency-monitor-threshold"]
    if threshold_ms and ms >= threshold_ms:
        node.latency.add(event, node.now // 1000, ms)


def command_took(node, client, cmd, argv: list[bytes], usec: int) -> None:
    """A command took ``usec`` (DEBUG SLEEP): count it where Redis counts a command's duration."""
    cmd.usec += usec
    cmd.slow_usecs[usec] = cmd.slow_usecs.get(usec, 0) + 1
    sample(node, "command", usec // 1000)
    slower_than = node.config.values["slowlog-log-slower-than"]
    if slower_than == 0:
        node.command_usec = usec  # the dispatcher's hook logs every command: this one with its time
    elif 0 < slower_than <= usec:
        node.log_slow(client, cmd, argv, usec)


def histogram_buckets(cmd) -> dict[int, int]:
    """LATENCY HISTOGRAM's buckets: calls by the power of two above their duration (1 us each
    here, but DEBUG SLEEP's own)."""
    buckets: dict[int, int] = {}
    slow_calls = 0
    for usec, count in sorted(cmd.slow_usecs.items()):
        bucket = 1 << max(usec - 1, 0).bit_length()
        buckets[bucket] = buckets.get(bucket, 0) + count
        slow_calls += count
    if cmd.calls > slow_calls:
        buckets = {1: cmd.calls - slow_calls, **buckets}
    return buckets


def percentiles(cmd, wanted: list[float]) -> str:
    """INFO latencystats' ``p50=...,p99=...`` for a command: the duration below which that share of calls fell."""
    fast = cmd.calls - sum(cmd.slow_usecs.values())
    durations = [(1, fast)] + sorted(cmd.slow_usecs.items())
    parts = []
    for share in wanted:
        needed = max(1, -(-cmd.calls * share // 100))  # the rank of that percentile, at least the first call
        seen, value = 0, 1
        for usec, count in durations:
            seen += count
            value = usec
            if seen >= needed:
                break
        parts.append(f"p{share:g}={value:.3f}")
    return ",".join(parts)
