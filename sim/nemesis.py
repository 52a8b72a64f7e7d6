"""The nemesis: carries out a fault schedule against the world, and heals it all at the end.

Each event is injected at its time and, if it lasts, reverted after its
duration. An injection that finds nothing to do (killing a node already down,
pausing a dead process) is skipped and not counted. `heal_all` ends the fault
phase: it reverts every fault still in force and brings every node back up.
"""

from __future__ import annotations

from simpy.events import Timeout

from sim.faults import FaultEvent, FaultOptions, PowerFault

MID_WRITE_WAIT_MS_MAX = 500  # a mid-write power cut that sees no write this long strikes anyway


class Nemesis:
    """Fault injection for one world."""

    def __init__(self, world, events: list[FaultEvent], options: dict[str, FaultOptions], only: set[int] | None) -> None:
        self.world = world
        self.env = world.env
        self.events = events
        self.options = options
        self.only = only
        self.counts: dict[str, int] = {kind: 0 for kind in options}
        self.active: dict[int, FaultEvent] = {}  # injected, not reverted yet
        self.healed = False

    def start(self) -> None:
        for index, event in enumerate(self.events):
            if self.only is None or index in self.only:
                Timeout(self.env, event.at_ms, (self, index)).callbacks.append(_inject)

    def inject(self, index: int) -> None:
        if self.healed:
            return
        event = self.events[index]
        if not getattr(self, "_inject_" + event.kind)(event):
            return
        self.counts[event.kind] += 1
        self._record(index, event, "start")
        if event.duration_ms:
            self.active[index] = event
            Timeout(self.env, event.duration_ms, (self, index)).callbacks.append(_revert)

    def revert(self, index: int) -> None:
        event = self.active.pop(index, None)
        if event is not None:
            getattr(self, "_revert_" + event.kind)(event)
            self._record(index, event, "end")

    def heal_all(self) -> None:
        """End of the fault phase: every fault reverted, every node up."""
        self.healed = True
        for index in list(self.active):
            self.revert(index)
        for node in self.world.nodes.values():
            node.restart()

    def _record(self, index: int, event: FaultEvent, what: str) -> None:
        detail = f"{what} {event.mode} {event.amount}".strip() if what == "start" else what
        self.world.trace.add(("fault", self.env.now, event.kind, index, event.target, detail))
        self.world.record_nemesis(event.kind, {"index": index, "target": list(event.target), "event": detail})

    # -- one pair per kind -------------------------------------------------------
    def _links(self, event: FaultEvent) -> list[tuple[str, str]]:
        return [tuple(link.split(">")) for link in event.target]

    def _inject_partition(self, event: FaultEvent) -> bool:
        for src, dst in self._links(event):
            self.world.net.cut(src, dst)
        return True

    def _revert_partition(self, event: FaultEvent) -> None:
        for src, dst in self._links(event):
            self.world.net.heal(src, dst)

    def _inject_lag(self, event: FaultEvent) -> bool:
        for src, dst in self._links(event):
            self.world.net.link(src, dst).lag_ms += event.amount
        return True

    def _revert_lag(self, event: FaultEvent) -> None:
        for src, dst in self._links(event):
            self.world.net.link(src, dst).lag_ms -= event.amount

    def _node(self, event: FaultEvent):
        return self.world.nodes[event.target[0]]

    def _inject_kill(self, event: FaultEvent) -> bool:
        return self._node(event).kill()

    def _revert_kill(self, event: FaultEvent) -> None:
        node = self._node(event)
        if node.machine_on and not node.up:
            node.start()

    def _inject_power(self, event: FaultEvent) -> bool:
        options = self.options["power"]
        assert isinstance(options, PowerFault)
        node = self._node(event)
        if event.mode == "mid-write" and node.machine_on and not node.disk.unsynced():
            # Strike once the event that writes is done, before the write's fsync can finish; or,
            # with no write by then, after `MID_WRITE_WAIT_MS_MAX` (or half the downtime) all the same.
            def written() -> None:
                Timeout(self.env, 0).callbacks.append(lambda _: self._strike(event))

            def waited(_) -> None:
                if node.disk.on_write is written:
                    node.disk.on_write = None
                    self._strike(event)

            node.disk.on_write = written
            Timeout(self.env, min(MID_WRITE_WAIT_MS_MAX, event.duration_ms // 2)).callbacks.append(waited)
            return True
        return node.power_off(options.torn_write_probability)

    def _strike(self, event: FaultEvent) -> None:
        """A mid-write power cut's moment, if the fault is still in force."""
        if any(active is event for active in self.active.values()):
            self._node(event).power_off(self.options["power"].torn_write_probability)

    def _revert_power(self, event: FaultEvent) -> None:
        node = self._node(event)
        node.disk.on_write = None  # a mid-write cut that found no write: it never struck
        node.power_on()

    def _inject_pause(self, event: FaultEvent) -> bool:
        return self._node(event).pause()

    def _revert_pause(self, event: FaultEvent) -> None:
        self._node(event).resume()

    def _inject_disk(self, event: FaultEvent) -> bool:
        self._disk_fault(event, 1)
        return True

    def _revert_disk(self, event: FaultEvent) -> None:
        self._disk_fault(event, -1)

    def _disk_fault(self, event: FaultEvent, sign: int) -> None:
        faults = self._node(event).disk.faults
        if event.mode == "slow-fsync":
            faults.fsync_delay_ms += sign * event.amount
        elif event.mode == "fsync-error":
            faults.fsync_errors += sign
        else:
            faults.full += sign

    def _inject_clock(self, event: FaultEvent) -> bool:
        self._node(event).clock.jump(event.amount)
        return True


def _inject(event: Timeout) -> None:
    nemesis, index = event._value
    nemesis.inject(index)


def _revert(event: Timeout) -> None:
    nemesis, index = event._value
    nemesis.revert(index)
