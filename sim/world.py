"""The world: one SimPy environment holding every node, client, link and fault of a run.

`RunConfig` is everything that decides a run (with the seed); `World` builds
the run from it and `run()` plays its phases:

1. faults: clients run the workload while the nemesis plays the schedule;
2. liveness: every fault is healed and every node restarted; each client must
   complete an operation within `liveness_ms_max`;
3. final: clients stop; once they are idle (and subscribers, if any, have
   heard what was published and left), one reader reads every key used;
4. converge (with replicas): every replica must catch up with its primary
   (`sim.replication`);
5. restart: every node that keeps its data on disk is stopped cleanly and
   started again, and must come back with the data it held (`sim.restart`);
   in a cluster (`RunConfig.cluster`, `sim.cluster`), every key must then be
   on a node of its slot's shard.

It then checks the history and returns a `Result`. Time is integer simulated
milliseconds; history times are nanoseconds, as jepsen_like wants.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import simpy

from jepsen_like.history import NEMESIS, Event
from jepsen_like.verdict import Judged, Verdict
from sim import checks, cluster, halt, replication, restart
from sim.client import OP_TIMEOUT_MS, FinalReader, SimClient
from sim.faults import FaultEvent, Shape, plan, schedule
from sim.nemesis import Nemesis
from sim.net import Network
from sim.node import PORT, Recover, SimNode
from sim.operator import Operator
from sim.persistence import log_options, recover_from_disk
from sim.rng import derive
from sim.subscriber import MODES, Subscriber
from sim.trace import Trace
from sim.workloads import PUBSUB_CHANNELS, WORKLOADS, Op, key_index, key_name, workload_options

NS_PER_MS = 1_000_000
POLL_MS = 50
IDLE_WAIT_MS_MAX = 2 * OP_TIMEOUT_MS
SETTLE_MS = 500  # the healed network delivers what is in flight well within this
FINAL_MS_MAX = 30_000


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run."""

    seed: int = 0
    workload: str = "register"
    nodes: int = 1  # primaries: keys are spread over them
    replicas: int = 0  # per primary
    clients: int = 5
    duration_ms: int = 60_000
    faults: tuple[str, ...] = ()  # fault kinds, or ("swarm",)
    only_faults: tuple[int, ...] | None = None  # keep only these schedule indices (shrinking)
    think_ms_mean: int = 200
    liveness_ms_max: int = 10_000
    config: tuple[tuple[str, str], ...] = ()  # kvcore options, e.g. (("appendonly", "yes"),)
    cluster: bool = False  # cluster-enabled nodes, the slots split among the primaries (sim.cluster)

    def __post_init__(self) -> None:
        if self.workload not in WORKLOADS:
            raise ValueError(f"unknown workload {self.workload!r} (known: {', '.join(WORKLOADS)})")
        if self.nodes < 1 or self.clients < 1 or self.duration_ms < 1:
            raise ValueError("nodes, clients and duration must be positive")
        if self.replicas < 0:
            raise ValueError("replicas must not be negative")

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["faults"] = list(self.faults)
        out["only_faults"] = None if self.only_faults is None else list(self.only_faults)
        out["config"] = [list(pair) for pair in self.config]
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> RunConfig:
        obj = dict(obj)
        obj["faults"] = tuple(obj.get("faults", ()))
        only = obj.get("only_faults")
        obj["only_faults"] = None if only is None else tuple(only)
        obj["config"] = tuple(tuple(pair) for pair in obj.get("config", ()))
        return cls(**obj)


@dataclass
class Result(Judged):
    """What a run did and what the checkers said."""

    config: RunConfig
    trace_hash: str
    sim_ms: int
    wall_s: float  # simulating only (checking is `check_s`)
    cpu_s: float  # the process's CPU time while simulating: what a loaded machine does not inflate
    check_s: float
    ops: dict[str, int]
    faults: dict[str, int]
    verdicts: dict[str, Verdict]
    history: list[Event] = field(repr=False)
    records: list[tuple] | None = field(repr=False)
    fault_events: list = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """The JSON summary: seed, faults, ops, verdicts, trace hash, times."""
        return {
            "seed": self.config.seed,
            "valid": self.valid,
            "config": self.config.to_json(),
            "faults": self.faults,
            "ops": self.ops,
            "verdicts": {name: verdict.to_json() for name, verdict in self.verdicts.items()},
            "trace_hash": self.trace_hash,
            "sim_seconds": self.sim_ms / 1000,
            "wall_seconds": round(self.wall_s, 3),
            "check_seconds": round(self.check_s, 3),
        }


DURABLE = {"appendonly": "yes", "appendfsync": "always"}  # the nodes' persistence, unless the user chooses one
PERSISTENCE_CHOICES = {"appendonly", "save"}  # --config options that choose it (`DURABLE`)


class World:
    """One run's world. Build it, then `run()` it once.

    Nodes log every write and fsync it before replying (`DURABLE`) unless ``--config`` names
    ``appendonly`` or ``save``: so kills and power cuts test recovery, where Redis's defaults
    would lose everything since the start and every crash would fail the checkers."""

    def __init__(self, config: RunConfig, keep_trace: bool = False, recover: Recover | None = None) -> None:
        self.config = config
        self.env = simpy.Environment()
        self.trace = Trace(keep_trace)
        self.workload = replace(WORKLOADS[config.workload], cluster=config.cluster)
        self.net = Network(self.env, config.seed, self.trace)
        options = dict(config.config)
        if not PERSISTENCE_CHOICES & options.keys():
            options = {**DURABLE, **options}
        options = {**workload_options(config.workload, config.seed), **options}
        if options.get("appendonly") == "yes":
            options = {**log_options(config.seed), **options}
        if config.replicas:
            options = {**replication.TIMEOUTS, **replication.sync_mode(config.seed), **options}
            self.converge_ms_max = replication.converge_ms_max(options)
        recover = recover or recover_from_disk  # by default, what the nodes' disks hold
        self.layout = replication.layout(config.nodes, config.replicas)
        if config.cluster:  # a cluster's replicas follow the masters their nodes.conf names
            options = {**cluster.OPTIONS, **options}
        self.nodes = {
            name: SimNode(self.env, self.net, self.trace, config.seed, name, address,
                          options if primary is None or config.cluster else {**options, "replicaof": f"{primary} {PORT}"},
                          recover)
            for name, address, primary in self.layout
        }
        self.node_names = list(self.nodes)[: config.nodes]  # the primaries, which clients use (`promote`)
        self.routing: cluster.Routing | None = None
        self.shards: cluster.Shards | None = None
        self.operator: Operator | None = None
        if config.cluster:
            self.routing = cluster.Routing(self.node_names, {name: address for name, address, _ in self.layout})
            self.shards = cluster.Shards(self.layout)
            self.operator = Operator(self)
            for name, node in self.nodes.items():
                node.disk.replace(cluster.OPTIONS["cluster-config-file"], cluster.nodes_conf(config.seed, self.layout, name))
                node.disk.fsync(cluster.OPTIONS["cluster-config-file"])
        self.convergence = replication.Convergence(replication.groups(config.nodes, config.replicas))
        self.converged: Verdict | None = None
        self.restarted: Verdict | None = None
        self.placed: Verdict | None = None
        self.clients = [
            SimClient(self, i, derive(config.seed, f"client/{i}"), i, config.think_ms_mean) for i in range(config.clients)
        ]
        self.subscribers = [
            Subscriber(self, i, derive(config.seed, f"subscriber/{i}"), key_name(i % PUBSUB_CHANNELS),
                       MODES[(i + i // PUBSUB_CHANNELS) % len(MODES)], resp3=i // PUBSUB_CHANNELS % 2 == 1)
            for i in range(self.workload.subscribers)
        ]
        self.history: list[tuple] = []
        self.anomalies: list[dict[str, Any]] = []
        self.keys: dict[str, None] = {}
        self.fault_options = fault_plan(config)
        self.fault_events = fault_schedule(config)
        only = None if config.only_faults is None else set(config.only_faults)
        self.nemesis = Nemesis(self, self.fault_events, self.fault_options, only)
        self.served: dict[str, int | None] = {}
        self.refusals: dict[str, str | None] = {}  # each client's last refusal when the liveness wait ended
        self._reads_done = self.env.event()
        self._final_done = self.env.event()
        self._clock_skew()

    def _clock_skew(self) -> None:
        """With clock faults on, machines boot with their clocks apart."""
        clock = self.fault_options.get("clock")
        if clock is not None:
            for name, node in self.nodes.items():
                skew_ms_max = clock.jump_forward_ms_max
                node.clock.offset_ms = derive(self.config.seed, f"clock/{name}").randint(-skew_ms_max, skew_ms_max)

    # -- services for clients and the nemesis -------------------------------------
    def node_for(self, key: str) -> str:
        """The node that holds `key` (keys are spread over the nodes by index; in a cluster, by the
        slot of `key`, every key of an operation's hash tag)."""
        if self.routing is not None:
            return self.routing.node_for(key.encode())
        names = self.node_names
        return names[0] if len(names) == 1 else names[key_index(key) % len(names)]

    def server_for(self, op: Op) -> str:
        """The node that serves `op`: its key's primary, or one of the primary's replicas when the
        operation asks for one (`Op.replica`) and there are any (not in a cluster, whose replicas
        redirect clients that did not ask READONLY)."""
        primary = self.node_for(op.key)
        replicas = self.convergence.groups.get(primary)
        if op.replica is None or not replicas or self.routing is not None:
            return primary
        return replicas[op.replica % len(replicas)]

    # -- a cluster's shards (sim.cluster, sim.operator) ---------------------------------------
    def shard_master(self, shard: int) -> str | None:
        """The one node of the shard that is up and no replica, if there is one."""
        masters = [name for name in self.shards.members[shard] if name in self.masters()]
        return masters[0] if len(masters) == 1 else None

    def masters(self) -> list[str]:
        return [name for name, node in self.nodes.items() if node.core is not None and not node.core.is_replica]

    def cluster_settled(self) -> bool:
        """Whether the cluster is at rest, as an operator checks (``redis-cli --cluster check``)
        before a failover or a reshard: no slot moving, no failover under way, every node up
        agreeing on every slot's owner, and no two masters under one config epoch. A failover's
        election and a slot move's epoch bump (taken without agreement) that meet otherwise can
        collide, and the collision's loser loses what it took meanwhile, in Redis as here."""
        cores = [node.core for node in self.nodes.values() if node.core is not None]
        if self.operator.moving or any(core.cluster.failover.manual_end for core in cores):
            return False
        views = {tuple(None if owner is None else owner.id for owner in core.cluster.owners) for core in cores}
        epochs = [core.cluster.myself.config_epoch for core in cores if not core.is_replica]
        return len(views) == 1 and len(epochs) == len(set(epochs))

    def slot_moved(self, slot: int, shard: int) -> None:
        self.shards.moves[slot] = shard
        self.trace.add(("node", self.env.now, "operator", "slot-moved", f"{slot} {shard}"))

    def refused(self, key: str, refusal: str) -> str | None:
        """An operation on `key` was refused; a ``-MOVED`` tells a cluster's clients where to go
        (what is wrong with it, if something is: `cluster.Routing.redirected`)."""
        return None if self.routing is None else self.routing.redirected(key.encode(), refusal)

    def promote(self, old: str, new: str) -> None:
        """A failover made replica `new` the primary of `old`'s group, as an orchestrator records it:
        clients go to `new`; the group's other replicas follow it now (REPLICAOF), as they and `old`
        do when they start again; `new` starts as a primary."""
        self.node_names[self.node_names.index(old)] = new
        self.convergence.promote(old, new)
        address = self.net.addresses[new]
        self.nodes[new].config.pop("replicaof", None)
        for name in self.convergence.groups[new]:
            node = self.nodes[name]
            node.config["replicaof"] = f"{address} {PORT}"
            if name != old and node.core is not None and node.core.is_replica:
                node.core.set_master(address, PORT)
                node.schedule_run()
        self.trace.add(("node", self.env.now, new, "promoted", old))

    def record(self, process: int | str, kind: str, f: str, key: str, value: Any) -> None:
        self.history.append((process, kind, f, key, value, self.now_ns()))
        self.trace.add(("op", self.env.now, process, kind, f, key, value))
        if kind == "invoke":
            self.keys[key] = None

    def now_ns(self) -> int:
        return self.env.now * NS_PER_MS

    def record_nemesis(self, f: str, value: Any) -> None:
        self.history.append((NEMESIS, "info", f, None, value, self.now_ns()))

    def next_process(self, process: int | str) -> int | str:
        """A client's process after an info operation (Jepsen: a crashed process never returns)."""
        return process + self.config.clients if isinstance(process, int) else process

    def anomaly(self, process: int | str, what: str) -> None:
        self.anomalies.append({"process": process, "time": self.now_ns(), "what": what})
        self.trace.add(("op", self.env.now, process, "anomaly", "", None, what))

    # -- the run ----------------------------------------------------------------
    def run(self) -> Result:
        started, cpu_started = time.perf_counter(), time.process_time()
        self.env.process(self._phases())
        completion = None
        with halt.Watchdog(lambda: self.env.now, halt.STUCK_WALL_S):
            try:
                self.env.run(until=self._final_done)
            except Exception as exc:  # kvcore raised, or looped until the watchdog stopped it (halt.Stuck)
                completion = halt.halted(exc, self.env.now, halt.STUCK_WALL_S)
        wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
        return self._judge(self.env.now, wall_s, cpu_s, completion)

    def _phases(self):
        self.trace.add(("phase", 0, "faults"))
        for node in self.nodes.values():
            node.start()
        for client in [*self.clients, *self.subscribers]:
            client.start()
        self.nemesis.start()
        yield self.env.timeout(self.config.duration_ms)
        yield from self._liveness()
        yield from self._final()
        yield from self._converge()
        self.trace.add(("phase", self.env.now, "restart"))
        self.restarted = yield from restart.restart_all(self.env, self.nodes)
        if self.routing is not None:
            self.placed = cluster.placement({name: node.core for name, node in self.nodes.items()}, self.shards,
                                            self.operator.moving)
        self.trace.add(("phase", self.env.now, "end"))
        self._final_done.succeed()

    def _liveness(self):
        env = self.env
        self.trace.add(("phase", env.now, "liveness"))
        self.nemesis.heal_all()
        healed_ms = env.now
        deadline_ms = healed_ms + self.config.liveness_ms_max
        waiting = list(self.clients)
        while waiting and env.now < deadline_ms:
            yield env.timeout(POLL_MS)
            waiting = [client for client in waiting if client.last_ok_ms < healed_ms]
        for client in self.clients:
            late = client.last_ok_ms < healed_ms
            self.served[client.host] = None if late else client.last_ok_ms - healed_ms
            self.refusals[client.host] = client.last_refusal

    def _final(self):
        env = self.env
        for client in self.clients:
            client.stop()
        yield from self._until_idle(self.clients)
        if self.subscribers:  # what was published reaches them, then they leave
            yield env.timeout(SETTLE_MS)
            for subscriber in self.subscribers:
                subscriber.stop()
            yield from self._until_idle(self.subscribers)
        self.trace.add(("phase", env.now, "final"))
        keys = sorted(self.keys, key=key_index)
        reader = FinalReader(self, len(self.clients), derive(self.config.seed, "client/final"), keys, self._read_all)
        reader.start()
        yield self._reads_done | env.timeout(FINAL_MS_MAX)

    def _until_idle(self, group: list):
        """Wait until every member of `group` is idle, or `IDLE_WAIT_MS_MAX` has passed."""
        deadline_ms = self.env.now + IDLE_WAIT_MS_MAX
        while any(not member.idle for member in group) and self.env.now < deadline_ms:
            yield self.env.timeout(POLL_MS)

    def _read_all(self) -> None:
        if not self._reads_done.triggered:
            self._reads_done.succeed()

    def _converge(self):
        """Wait (up to `converge_ms_max`) for every replica to catch up, then judge them."""
        if not self.convergence.groups:
            return
        env = self.env
        self.trace.add(("phase", env.now, "converge"))
        started_ms = env.now
        cores = {name: node.core for name, node in self.nodes.items()}
        if self.routing is not None:
            self._follow_cluster_roles(cores)
        while self.convergence.lagging(cores) and env.now - started_ms < self.converge_ms_max:
            yield env.timeout(POLL_MS)
            cores = {name: node.core for name, node in self.nodes.items()}
        self.converged = self.convergence.verdict(cores, env.now - started_ms)

    def _follow_cluster_roles(self, cores: dict) -> None:
        """A cluster fails over on its own terms (CLUSTER FAILOVER): each shard's primary is the one
        node of it that is no replica, if there is one."""
        for primary, replicas in list(self.convergence.groups.items()):
            masters = [name for name in (primary, *replicas) if cores[name] is not None and not cores[name].is_replica]
            if len(masters) == 1 and masters[0] != primary:
                self.convergence.promote(primary, masters[0])

    # -- judging ------------------------------------------------------------------
    def _judge(self, sim_ms: int, wall_s: float, cpu_s: float, completion: Verdict | None) -> Result:
        started = time.perf_counter()
        events, counts, verdicts = checks.judge_history(self.workload.checkers, self.config.workload, self.history)
        if completion is None:  # a halted run never reached its liveness phase
            verdicts["liveness"] = checks.liveness(self.served, self.config.liveness_ms_max, self.refusals)
        verdicts["client"] = checks.client_anomalies(self.anomalies)
        if self.converged is not None:
            verdicts["convergence"] = self.converged
        if self.restarted is not None:
            verdicts[restart.CHECKER] = self.restarted
        if self.placed is not None:
            verdicts[cluster.CHECKER] = self.placed
        if completion is not None:
            verdicts[halt.CHECKER] = completion
        faults = {kind: self.nemesis.counts.get(kind, 0) for kind in self.fault_options}
        trace_hash = self.trace.hexdigest()
        records = None if self.trace.records is None else self.trace.kept()
        return Result(
            self.config, trace_hash, sim_ms, wall_s, cpu_s, time.perf_counter() - started, counts, faults,
            verdicts, events, records, self.fault_events,
        )


def fault_plan(config: RunConfig) -> dict:
    """Each fault kind in force, with its options: a cluster is spared clock faults (`sim.cluster`),
    and only a cluster is resharded."""
    options = plan(config.faults, config.seed)
    options.pop("clock" if config.cluster else "reshard", None)
    return options


def fault_schedule(config: RunConfig) -> list[FaultEvent]:
    """The run's fault events, by index (before `only_faults` keeps some)."""
    nodes = tuple(name for name, _, _ in replication.layout(config.nodes, config.replicas))
    shape = Shape(nodes, tuple(f"c{i}" for i in range(config.clients)))
    return schedule(fault_plan(config), config.seed, config.duration_ms, shape)


def run(config: RunConfig, keep_trace: bool = False, recover: Recover | None = None) -> Result:
    """Build and run one world."""
    return World(config, keep_trace, recover).run()
