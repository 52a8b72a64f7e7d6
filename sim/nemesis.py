"""The nemesis: carries out a fault schedule against the world, and heals it all at the end.

Each event is injected at its time and, if it lasts, reverted after its
duration. An injection that finds nothing to do (killing a node already down,
pausing a dead process) is skipped and not counted. `heal_all` ends the fault
phase: it reverts every fault still in force and brings every node back up.
"""

from __future__ import annotations

from simpy.events import Timeout

from kvcore.failover import NO_FAILOVER
from sim.cluster import key_slot
from sim.faults import FaultEvent, FaultOptions, PowerFault
from sim.node import PORT

MID_WRITE_WAIT_MS_MAX = 500  # a mid-write power cut that sees no write this long strikes anyway
FAILOVER_POLL_MS = 10
FAILOVER_FINISH_MS_MAX = 10_000  # after its TIMEOUT, a failover's PSYNC FAILOVER may still be answered


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
        self.failing_over: set[str] = set()  # the primaries whose failover `_follow_failover` follows: one at a time
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

    def _inject_failover(self, event: FaultEvent) -> bool:
        """FAILOVER TO a replica of the named node's group (the node itself, if a replica), when the
        group's primary is up and not failing over already, through kvcore's own failover (as the
        command starts it); `_follow_failover` tells the world once the replica is the primary
        (until it knows how this one ended, the group gets no other). Not with subscribers: a
        PUBLISH counts only the receivers on the node that runs it, and subscribers stay on the
        node they subscribed on. Not with clock faults: a primary whose clock was set back months
        replicates TTLs as deadlines already past by a replica's right clock (as Redis does), so
        promoting that replica loses the keys."""
        world = self.world
        group = world.convergence.group_of(event.target[0])
        if group is None or world.subscribers or "clock" in self.options:
            return False
        if world.routing is not None:
            return self._inject_cluster_failover(event, [group[0], *group[1]])
        primary, replicas = world.nodes[group[0]], group[1]
        up = [name for name in replicas if world.nodes[name].up]
        target = event.target[0] if event.target[0] in up else up[0] if up else None
        core = primary.core
        if target is None or core is None or core.is_replica or core.failover.state != NO_FAILOVER \
                or primary.name in self.failing_over:
            return False
        core.failover.start(world.net.addresses[target], PORT, event.amount, force=False)
        primary.schedule_run()
        self.failing_over.add(primary.name)
        self.env.process(self._follow_failover(primary, world.nodes[target], event.amount))
        return True

    def _inject_cluster_failover(self, event: FaultEvent, shard: list[str]) -> bool:
        """CLUSTER FAILOVER on a replica of the shard (the named node, if one) whose master is up
        and linked to it: the master pauses writes until the replica has them all, the replica
        wins an election, and the cluster tells everyone (clients learn it by ``-MOVED``, the
        convergence check from the nodes' roles at the end). Only with the cluster at rest
        (`World.cluster_settled`): a replica that has not heard of a slot moved away (gossip
        carries slots only in the headers of direct pings) would claim it under a newer epoch,
        and the keys moved with it would be dropped where they went, as in Redis."""
        nodes = [self.world.nodes[name] for name in shard]
        if any(node.core is None for node in nodes) or not self.world.cluster_settled():
            return False
        replicas = [node for node in nodes if node.core.is_replica]
        target = next((node for node in replicas if node.name == event.target[0]), replicas[0] if replicas else None)
        if target is None or len(replicas) != len(nodes) - 1:
            return False
        cluster = target.core.cluster
        master = cluster.nodes.get(cluster.myself.master_id)
        if master is None or master.link is None or not master.link.up or "fail" in master.flags:
            return False
        cluster.failover.start_manual(force=False)
        target.schedule_run()
        return True

    def _inject_reshard(self, event: FaultEvent) -> bool:
        """Move `event.amount` slots from the named node's shard to the next (`sim.operator`), once
        the cluster is at rest (`World.cluster_settled`): the slots of the keys in use that the
        shard serves, the first ones of its range where they are too few. Not with subscribers
        (a shard channel's subscribers are unsubscribed when its slot moves, and PUBLISH counts
        only the receivers on its own node), as the failover fault; nor with the expiry workload,
        which holds deadlines to the millisecond (a moved key's comes later by the transfer's
        time, as MIGRATE sends what is left of a TTL)."""
        world = self.world
        if world.operator is None or world.config.nodes < 2 or world.subscribers or world.config.workload == "expiry" \
                or not world.cluster_settled():
            return False
        source = world.shards.index[event.target[0]]
        target = (source + 1) % world.config.nodes
        owned = world.shards.slots(source)
        keyed = sorted({slot for slot in (key_slot(key.encode()) for key in world.keys) if slot in owned})
        slots = list(dict.fromkeys(keyed + sorted(owned)))[: event.amount]
        if not slots:
            return False
        self.env.process(world.operator.move(slots, source, target))
        return True

    def _follow_failover(self, primary, target, timeout_ms: int):
        """The orchestrator's side of a failover (a SimPy process body), until it ends: once `target`
        is a primary, the world promotes it. A restart that races the failover undoes it instead,
        so that one node stays the primary: a `primary` restarted (as a primary, by its config)
        may have taken writes, so a `target` that then turns primary (its PSYNC FAILOVER held by a
        partition) follows it again; a `target` restarted (as a replica of `primary`, by its config)
        while `primary` follows it makes `primary` abort."""
        try:
            yield from self._await_failover(primary, target, timeout_ms)
        finally:
            self.failing_over.discard(primary.name)

    def _await_failover(self, primary, target, timeout_ms: int):
        started = primary.incarnation, target.incarnation
        world = self.world
        deadline_ms = self.env.now + timeout_ms + FAILOVER_FINISH_MS_MAX
        while self.env.now < deadline_ms:
            yield Timeout(self.env, FAILOVER_POLL_MS)
            primary_restarted, target_restarted = primary.incarnation != started[0], target.incarnation != started[1]
            if target.core is not None and not target.core.is_replica:
                if primary_restarted:
                    target.core.set_master(world.net.addresses[primary.name], PORT)
                    target.schedule_run()
                else:
                    world.promote(primary.name, target.name)
                return
            core = primary.core
            if core is None:
                continue
            if target_restarted and core.is_replica and target.core is not None:
                if core.failover.state != NO_FAILOVER:
                    core.failover.abort("the target restarted")
                else:  # it had finished on this side: the target turned primary, and went down at once
                    core.unset_master()
                primary.schedule_run()
                return
            if not primary_restarted and not core.is_replica and core.failover.state == NO_FAILOVER:
                return  # aborted: the target did not catch up in time, or refused


def _inject(event: Timeout) -> None:
    nemesis, index = event._value
    nemesis.inject(index)


def _revert(event: Timeout) -> None:
    nemesis, index = event._value
    nemesis.revert(index)
