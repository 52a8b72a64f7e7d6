"""Faults as data: one frozen options struct per kind, and the schedule they produce.

`--faults partition,kill,power,lag,pause,disk,clock,failover` enables kinds; each enabled
kind's options (how often, how long, how hard; units last in every name) are
drawn from the run's seed within the kind's `BOUNDS`, and then its events are
drawn, each kind from its own random stream, so enabling one kind never moves
another's events. `swarm` also draws which kinds are enabled.

A schedule is a list of `FaultEvent`s sorted by time; its indices name events
for `--only-faults` (the shrinker keeps a subset). Every enabled kind gets at
least one event. `sim.nemesis` carries the events out.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import ClassVar

from sim.rng import derive

FAULT_DURATION_MS_MIN = 100


@dataclass(frozen=True)
class FaultEvent:
    """One fault: what, when, where, for how long, and how hard.

    `target` names nodes, or directed links as ``"src>dst"``; `mode` and
    `amount` are kind-specific (partition: both/one-way; lag: delay ms; disk:
    slow-fsync/fsync-error/full and the extra fsync ms; power: now/mid-write;
    clock: the jump in ms; failover: the TIMEOUT in ms).
    """

    at_ms: int
    kind: str
    target: tuple[str, ...]
    duration_ms: int
    mode: str = ""
    amount: int = 0


@dataclass(frozen=True)
class Shape:
    """What faults can hit: the nodes and the clients' hosts."""

    nodes: tuple[str, ...]
    clients: tuple[str, ...]


class FaultOptions:
    """Base of the option structs: drawing from `BOUNDS`, and the event stream."""

    KIND: ClassVar[str]
    BOUNDS: ClassVar[dict[str, tuple]]
    interval_ms_mean: int

    @classmethod
    def draw(cls, rng: random.Random) -> FaultOptions:
        values = {}
        for field in dataclasses.fields(cls):
            low, high = cls.BOUNDS[field.name]
            values[field.name] = rng.randint(low, high) if isinstance(low, int) else round(rng.uniform(low, high), 3)
        return cls(**values)

    def events(self, rng: random.Random, duration_ms: int, shape: Shape) -> list[FaultEvent]:
        """This kind's events over the fault phase, at least one."""
        events = []
        t = 0.0
        while True:  # time and event drawn in turn: a shorter phase keeps a prefix of the events
            t += rng.expovariate(1.0 / self.interval_ms_mean)
            if t >= duration_ms:
                break
            events.append(self.event(rng, int(t), shape))
        return events or [self.event(rng, rng.randrange(duration_ms), shape)]

    def event(self, rng: random.Random, at_ms: int, shape: Shape) -> FaultEvent:
        raise NotImplementedError


def _duration_ms(rng: random.Random, duration_ms_max: int) -> int:
    return rng.randint(FAULT_DURATION_MS_MIN, max(FAULT_DURATION_MS_MIN, duration_ms_max))


def _island(rng: random.Random, shape: Shape) -> tuple[set[str], set[str]]:
    """Split the hosts in two non-empty sides, with a node on at least one of them."""
    hosts = list(shape.nodes + shape.clients)
    rng.shuffle(hosts)
    size = rng.randint(1, len(hosts) - 1)
    return set(hosts[:size]), set(hosts[size:])


def _links_between(shape: Shape, side: set[str], other: set[str]) -> list[str]:
    """Directed links from `side` to `other` that carry traffic (one end is a node)."""
    hosts = shape.nodes + shape.clients
    nodes = set(shape.nodes)
    return [
        f"{src}>{dst}" for src in hosts if src in side for dst in hosts
        if dst in other and (src in nodes or dst in nodes)
    ]


@dataclass(frozen=True)
class PartitionFault(FaultOptions):
    """Cut the links between two sides of the hosts, both ways or one way."""

    KIND = "partition"
    BOUNDS = {"interval_ms_mean": (2000, 15000), "duration_ms_max": (500, 5000), "one_way_probability": (0.0, 0.5)}
    interval_ms_mean: int
    duration_ms_max: int
    one_way_probability: float

    def event(self, rng: random.Random, at_ms: int, shape: Shape) -> FaultEvent:
        side, other = _island(rng, shape)
        mode = "one-way" if rng.random() < self.one_way_probability else "both"
        links = _links_between(shape, side, other)
        if mode == "both":
            links += _links_between(shape, other, side)
        return FaultEvent(at_ms, self.KIND, tuple(links), _duration_ms(rng, self.duration_ms_max), mode)


@dataclass(frozen=True)
class LagFault(FaultOptions):
    """Add up to `delay_ms_max` of latency to the links between two sides."""

    KIND = "lag"
    BOUNDS = {"interval_ms_mean": (1000, 10000), "duration_ms_max": (500, 5000), "delay_ms_max": (10, 400)}
    interval_ms_mean: int
    duration_ms_max: int
    delay_ms_max: int

    def event(self, rng: random.Random, at_ms: int, shape: Shape) -> FaultEvent:
        side, other = _island(rng, shape)
        links = _links_between(shape, side, other) + _links_between(shape, other, side)
        delay_ms = rng.randint(1, self.delay_ms_max)
        return FaultEvent(at_ms, self.KIND, tuple(links), _duration_ms(rng, self.duration_ms_max), amount=delay_ms)


@dataclass(frozen=True)
class KillFault(FaultOptions):
    """Crash a node's process; it restarts after the downtime."""

    KIND = "kill"
    BOUNDS = {"interval_ms_mean": (2000, 15000), "downtime_ms_max": (200, 3000)}
    interval_ms_mean: int
    downtime_ms_max: int

    def event(self, rng: random.Random, at_ms: int, shape: Shape) -> FaultEvent:
        return FaultEvent(at_ms, self.KIND, (rng.choice(shape.nodes),), _duration_ms(rng, self.downtime_ms_max))


POWER_MODES = ("now", "mid-write")


@dataclass(frozen=True)
class PowerFault(FaultOptions):
    """Cut a node's power: its disk cache is lost (maybe torn); it boots after the downtime.

    A ``mid-write`` cut waits for the node's next write to its disk (unless one is already
    unsynced), and strikes before its fsync can finish: the moment a torn write tests the
    loading of a log or snapshot cut short. With few writes a second, a cut at a random time
    rarely finds one in flight. A node that writes nothing for a while is cut all the same
    (`sim.nemesis.MID_WRITE_WAIT_MS_MAX`).
    """

    KIND = "power"
    BOUNDS = {"interval_ms_mean": (2000, 15000), "downtime_ms_max": (200, 3000), "torn_write_probability": (0.0, 1.0)}
    interval_ms_mean: int
    downtime_ms_max: int
    torn_write_probability: float

    def event(self, rng: random.Random, at_ms: int, shape: Shape) -> FaultEvent:
        node, duration_ms = rng.choice(shape.nodes), _duration_ms(rng, self.downtime_ms_max)
        return FaultEvent(at_ms, self.KIND, (node,), duration_ms, rng.choice(POWER_MODES))


@dataclass(frozen=True)
class PauseFault(FaultOptions):
    """Stop a node's process (SIGSTOP) for a while; its input queues up."""

    KIND = "pause"
    BOUNDS = {"interval_ms_mean": (1000, 10000), "duration_ms_max": (200, 3000)}
    interval_ms_mean: int
    duration_ms_max: int

    def event(self, rng: random.Random, at_ms: int, shape: Shape) -> FaultEvent:
        return FaultEvent(at_ms, self.KIND, (rng.choice(shape.nodes),), _duration_ms(rng, self.duration_ms_max))


DISK_MODES = ("slow-fsync", "fsync-error", "full")


@dataclass(frozen=True)
class DiskFault(FaultOptions):
    """Make a node's disk slow to fsync, fail fsyncs, or fill up, for a while."""

    KIND = "disk"
    BOUNDS = {"interval_ms_mean": (2000, 15000), "duration_ms_max": (200, 5000), "fsync_delay_ms_max": (10, 1000)}
    interval_ms_mean: int
    duration_ms_max: int
    fsync_delay_ms_max: int

    def event(self, rng: random.Random, at_ms: int, shape: Shape) -> FaultEvent:
        node = rng.choice(shape.nodes)
        mode = rng.choice(DISK_MODES)
        amount = rng.randint(1, self.fsync_delay_ms_max) if mode == "slow-fsync" else 0
        return FaultEvent(at_ms, self.KIND, (node,), _duration_ms(rng, self.duration_ms_max), mode, amount)


@dataclass(frozen=True)
class ClockFault(FaultOptions):
    """Step a node's clock forward or backward.

    Forward steps are at most a minute, so that even many of them stay well
    below the register workload's TTL (a month) and a correct node never
    expires a live key early; backward steps may be months long (a bad RTC),
    which a correct node survives (keys just live longer).
    """

    KIND = "clock"
    BOUNDS = {
        "interval_ms_mean": (1000, 10000),
        "jump_forward_ms_max": (1000, 60_000),
        "jump_backward_ms_max": (60 * 86_400_000, 120 * 86_400_000),
    }
    interval_ms_mean: int
    jump_forward_ms_max: int
    jump_backward_ms_max: int

    def event(self, rng: random.Random, at_ms: int, shape: Shape) -> FaultEvent:
        node = rng.choice(shape.nodes)
        if rng.random() < 0.5:
            return FaultEvent(at_ms, self.KIND, (node,), 0, "forward", rng.randint(1, self.jump_forward_ms_max))
        return FaultEvent(at_ms, self.KIND, (node,), 0, "backward", -rng.randint(1, self.jump_backward_ms_max))


@dataclass(frozen=True)
class FailoverFault(FaultOptions):
    """Hand a primary's role to one of its replicas with FAILOVER TO ... TIMEOUT, as an operator (or
    an orchestrator) does for maintenance: the primary pauses writes until the replica has all of
    them, then follows it. No acknowledged write may be lost. The target is the replica named,
    or another of the named node's group; `amount` is the TIMEOUT.
    """

    KIND = "failover"
    BOUNDS = {"interval_ms_mean": (3000, 15000), "timeout_ms_max": (200, 5000)}
    interval_ms_mean: int
    timeout_ms_max: int

    def event(self, rng: random.Random, at_ms: int, shape: Shape) -> FaultEvent:
        return FaultEvent(at_ms, self.KIND, (rng.choice(shape.nodes),), 0, amount=_duration_ms(rng, self.timeout_ms_max))


@dataclass(frozen=True)
class ReshardFault(FaultOptions):
    """Move `amount` hash slots from the named node's shard to the next shard, while clients use
    them, as an operator resharding a cluster does (`sim.operator`; cluster worlds only, and one
    move at a time). The slots are those of the keys in use, where there are some.
    """

    KIND = "reshard"
    BOUNDS = {"interval_ms_mean": (2000, 10000), "slots_max": (1, 6)}
    interval_ms_mean: int
    slots_max: int

    def event(self, rng: random.Random, at_ms: int, shape: Shape) -> FaultEvent:
        return FaultEvent(at_ms, self.KIND, (rng.choice(shape.nodes),), 0, amount=rng.randint(1, self.slots_max))


KINDS: dict[str, type[FaultOptions]] = {
    cls.KIND: cls for cls in (PartitionFault, KillFault, PowerFault, LagFault, PauseFault, DiskFault, ClockFault,
                              FailoverFault, ReshardFault)
}
ALIASES = {"crash": "kill"}  # a process crash is what a kill does to it
SWARM = "swarm"
SWARM_KIND_PROBABILITY = 0.5


def parse_kinds(text: str) -> tuple[str, ...]:
    """``"partition,kill"`` -> ("partition", "kill"); ``crash`` is ``kill``; ``swarm`` and
    ``none`` are allowed."""
    names = tuple(dict.fromkeys(ALIASES.get(name.strip(), name.strip()) for name in text.split(",") if name.strip()))
    for name in names:
        if name not in KINDS and name not in (SWARM, "none"):
            raise ValueError(f"unknown fault {name!r} (known: {', '.join(KINDS)}, crash, swarm, none)")
    return tuple(name for name in names if name != "none")


def enabled_kinds(kinds: tuple[str, ...], seed: int) -> tuple[str, ...]:
    """The kinds in force: as asked, or drawn from the seed for `swarm`."""
    if SWARM not in kinds:
        return tuple(kind for kind in KINDS if kind in kinds)
    rng = derive(seed, "faults/swarm")
    chosen = tuple(kind for kind in KINDS if rng.random() < SWARM_KIND_PROBABILITY)
    return chosen or (rng.choice(list(KINDS)),)


def plan(kinds: tuple[str, ...], seed: int) -> dict[str, FaultOptions]:
    """Each enabled kind's options, drawn from the seed."""
    return {kind: KINDS[kind].draw(derive(seed, f"faults/{kind}/options")) for kind in enabled_kinds(kinds, seed)}


def schedule(options: dict[str, FaultOptions], seed: int, duration_ms: int, shape: Shape) -> list[FaultEvent]:
    """Every event of the fault phase, by time (ties: in `KINDS` order)."""
    events = []
    for rank, (kind, opts) in enumerate(options.items()):
        for event in opts.events(derive(seed, f"faults/{kind}/events"), duration_ms, shape):
            events.append((event.at_ms, rank, len(events), event))
    events.sort(key=lambda item: item[:3])
    return [item[3] for item in events]
