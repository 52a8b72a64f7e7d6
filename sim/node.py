"""A simulated server: a real kvcore node on a simulated machine.

Owns the node's runtime: it feeds the core its inputs (connections accepted,
bytes, closes, the cron tick) with the machine's clock as ``now``, and carries
out the core's effects in order against the simulated network and disk; a
foreground effect (a log append, with its fsync) blocks the node for the
simulated time it takes, as it blocks Redis's event loop.

Inputs that arrive at the same instant are handled in one batch before the
effects are drained, like one iteration of Redis's event loop.

Connections go both ways: clients connect to the node, and the node opens
its own (`Connect`: a replica's link to its master, a cluster bus link) under
the ids the core chose; both are kept by the core's id, and carried by the
same pipes. Cluster-enabled, the node also listens on `BUS_PORT`: what its
peers open there goes to the core's cluster bus, under an id from
`BUS_CONNS` up (as kvserver numbers them).

Lifecycle faults: `kill` (the process dies: its connections are reset, the
disk cache survives), `power_off`/`power_on` (the machine dies: connections go
silent, the disk cache is lost), `pause`/`resume` (the process stops, its
input queues up), and `restart`. A (re)start builds the core with the
`recover(disk, boot)` hook (`recover_empty`, or `sim.persistence.recover_from_disk`);
a start whose recovery fails (`RecoveryFailed`: a corrupt snapshot) leaves the
node down, as redis-server refuses to start.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from simpy.events import Timeout

from kvcore.cluster_bus import BUS_CONNS
from kvcore.config import Config
from kvcore.effects import (
    AppendLog,
    CancelJob,
    Close,
    Connect,
    Crash,
    Fsync,
    Listen,
    Pause,
    ReadFiles,
    Send,
    SendImage,
    Shutdown,
    StepLoading,
    WriteFiles,
)
from kvcore.node import Node, ServerInfo
from sim import persistence
from sim.clock import Clock
from sim.disk import Disk
from sim.net import BUS_PORT, FIN, RST, SERVICE_PORT, SYN, SYN_ACK, Conn, Network
from sim.rng import derive
from sim.trace import Trace

PID_BASE = 1000
PORT = SERVICE_PORT

_OPEN, _DATA, _CLOSED, _TICK, _JOB, _CONNECTED, _CONNECT_FAILED, _LOAD_STEP, _BUS_OPEN = 0, 1, 2, 3, 4, 5, 6, 7, 8


@dataclass(frozen=True)
class Boot:
    """What a (re)starting process knows besides its disk."""

    name: str
    config: dict[str, str]
    rng: random.Random
    now_ms: int
    info: ServerInfo


Recover = Callable[[Disk, Boot], Node]


def recover_empty(disk: Disk, boot: Boot) -> Node:
    """Until persistence lands, a restarted node comes back empty whatever its disk holds."""
    return Node(Config(boot.config), rng=boot.rng, info=boot.info, now=boot.now_ms)


class SimNode:
    """One machine running one kvcore node."""

    def __init__(
        self, env, net: Network, trace: Trace, seed: int, name: str, address: str,
        config: dict[str, str], recover: Recover = recover_empty,
    ) -> None:
        self.env = env
        self.net = net
        self.trace = trace
        self.seed = seed
        self.name = name
        # Clients reach a node over the simulated network, not loopback: as a deployment would,
        # it runs without protected mode (which refuses them when no password is set).
        self.config = {"protected-mode": "no", **config}
        self.recover = recover
        self.disk = Disk(derive(seed, f"disk/{name}"))
        self.clock = Clock(env)
        self.core: Node | None = None
        self.machine_on = True
        self.paused = False
        self.busy = False  # a foreground effect is in progress
        self.stalled: tuple | None = None  # a foreground effect that finished while paused: (effects, index, ok)
        self.scheduled = False
        self.incarnation = 0  # bumped by every stop: stale timers see a different one
        self.inbox: deque[tuple] = deque()
        self.conns: dict[int, Conn] = {}  # by the core's id: an accepted one's is the network's
        self.outgoing: dict[int, int] = {}  # the network's id of a connection the node opened -> the core's
        self.connecting: set[int] = set()  # the core's ids of those not yet accepted
        self.log_path = ""  # the log file the process appends to (fsynced when it moves on)
        self.background_jobs: dict[int, object] = {}  # job -> its running sim.persistence.SnapshotJob
        net.add_host(name, self, address)

    # -- lifecycle -----------------------------------------------------------
    @property
    def up(self) -> bool:
        return self.core is not None

    def start(self) -> None:
        """Start the server process: recover the core from the disk."""
        assert self.machine_on and self.core is None
        self.incarnation += 1
        boot = Boot(
            self.name, self.config, derive(self.seed, f"node/{self.name}/core/{self.incarnation}"),
            self.clock.now(), ServerInfo(pid=PID_BASE + self.incarnation, tcp_port=PORT, os_name="Linux 6.1.0 x86_64"),
        )
        try:
            self.core = self.recover(self.disk, boot)
        except persistence.RecoveryFailed as exc:
            self.trace.add(("node", self.env.now, self.name, "start-failed", str(exc)))
            return
        self.paused = False
        self.trace.add(("node", self.env.now, self.name, "start", self.incarnation))
        self._arm_tick()
        self._schedule()  # the effects recovery left (the log's files at start) run at once

    def kill(self) -> bool:
        """The process dies: peers get a reset; the OS keeps the disk cache."""
        if self.core is None:
            return False
        for conn in self.conns.values():
            self.net.send(conn, self.name, RST)
        self._stop("kill")
        return True

    def power_off(self, torn_write_probability: float) -> bool:
        """The machine dies: connections go silent and the disk cache is lost."""
        if not self.machine_on:
            return False
        if self.core is not None:
            self._stop("power-off")
        self.machine_on = False
        kept = self.disk.power_loss(torn_write_probability)
        self.trace.add(("node", self.env.now, self.name, "power-loss", kept))
        return True

    def power_on(self) -> None:
        if not self.machine_on:
            self.machine_on = True
            self.start()

    def restart(self) -> None:
        """Bring the node back if it is down, whatever took it down."""
        if not self.machine_on:
            self.power_on()
        elif self.core is None:
            self.start()

    def terminate(self) -> None:
        """SIGTERM: the core stops as redis-server does on it (a final save first, if one is due)."""
        if self.core is not None:
            self.core.snapshots.shutdown_on_signal(self.clock.now())
            self._schedule()

    def pause(self) -> bool:
        if self.core is None or self.paused:
            return False
        self.paused = True
        self.trace.add(("node", self.env.now, self.name, "pause", len(self.inbox)))
        return True

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self.trace.add(("node", self.env.now, self.name, "resume", len(self.inbox)))
            if self.stalled is not None:
                effects, index, ok = self.stalled
                self.stalled = None
                self._finish_log(effects, index, ok)
            self._schedule()

    def _stop(self, why: str) -> None:
        self.trace.add(("node", self.env.now, self.name, why, self.incarnation))
        self.core = None
        self.conns = {}
        self.outgoing = {}
        self.connecting = set()
        self.inbox.clear()
        self.busy = False
        self.stalled = None
        self.paused = False
        self.log_path = ""
        self.background_jobs = {}  # they die with the process (net's child dies with its parent)
        self.incarnation += 1

    # -- network input -------------------------------------------------------
    def receive(self, conn: Conn, item: bytes | str) -> None:
        """A segment or control word arrived from the network."""
        if not self.machine_on:
            return  # nobody home: the packet is lost
        if item is SYN:
            self._accept(conn)
            return
        core_id = self.outgoing.get(conn.id) if conn.a == self.name else _accepted_id(conn)
        if core_id not in self.conns:
            if type(item) is bytes or item is SYN_ACK:
                self.net.send(conn, self.name, RST)  # a stale connection: the kernel resets it
            return
        if type(item) is bytes:
            self.inbox.append((_DATA, core_id, item))
        elif core_id in self.connecting:
            self.connecting.discard(core_id)
            if item is SYN_ACK:
                self.inbox.append((_CONNECTED, core_id, conn))
            else:
                self.conns.pop(core_id)
                self.inbox.append((_CONNECT_FAILED, core_id, "Connection refused"))
        else:
            self.inbox.append((_CLOSED, core_id, item))
        if not self.scheduled:
            self._schedule()

    def _accept(self, conn: Conn) -> None:
        bus = conn.port == BUS_PORT
        if self.core is None or (bus and self.core.cluster is None):
            self.trace.add(("conn", self.env.now, "refuse", conn.id, conn.a, self.name))
            self.net.send(conn, self.name, RST)
            return
        core_id = _accepted_id(conn)
        self.conns[core_id] = conn
        self.net.send(conn, self.name, SYN_ACK)  # the kernel accepts even while the process is paused
        self.inbox.append((_BUS_OPEN if bus else _OPEN, core_id, conn))
        if not self.scheduled:
            self._schedule()

    # -- the event loop --------------------------------------------------------
    def _schedule(self) -> None:
        if not self.scheduled and not self.busy and not self.paused and self.core is not None:
            self.scheduled = True
            Timeout(self.env, 0, self).callbacks.append(_run)

    def _arm_tick(self) -> None:
        hz = self.core.config["hz"] or 1
        Timeout(self.env, max(1, 1000 // hz), (self, self.incarnation)).callbacks.append(_tick)

    def tick(self, incarnation: int) -> None:
        if incarnation != self.incarnation:
            return
        if not self.paused:
            self.inbox.append((_TICK, None, None))
            self._schedule()
        self._arm_tick()

    def run(self) -> None:
        """One loop iteration: every queued input, then every effect."""
        self.scheduled = False
        core = self.core
        if self.busy or self.paused or core is None:
            return
        now = self.clock.now()
        inbox = self.inbox
        net = self.net
        while inbox:
            kind, conn_id, data = inbox.popleft()
            if kind == _DATA:
                core.receive(conn_id, data, now)
            elif kind == _OPEN:
                core.open(conn_id, now, net.address(data.a, data), net.address(self.name, data))
            elif kind == _BUS_OPEN:
                core.bus_accepted(conn_id, now, net.address(data.a, data), net.address(self.name, data))
            elif kind == _CLOSED:
                conn = self.conns.pop(conn_id, None)
                if conn is not None:
                    self.outgoing.pop(conn.id, None)
                    core.closed(conn_id, now)
                    if data is FIN:
                        net.send(conn, self.name, FIN)  # the node closes its side on EOF
            elif kind == _TICK:
                core.tick(now)
            elif kind == _CONNECTED:
                core.connected(conn_id, now, net.address(self.name, data))
            elif kind == _CONNECT_FAILED:
                core.connect_failed(conn_id, now, data)
            elif kind == _LOAD_STEP:
                loading = core.loading_file
                if loading is not None and not loading.done:
                    loading.step(now)
                    if not loading.done:
                        self._next_load_step()
            else:
                core.job_done(conn_id, data[0], now, data[1], data[2])
        self._execute(core.take_effects(), 0)

    def _execute(self, effects: list, start: int) -> None:
        """Carry out effects in order; a foreground one that takes time suspends the rest."""
        for index in range(start, len(effects)):
            effect = effects[index]
            kind = type(effect)
            if kind is Send:
                conn = self.conns.get(effect.conn)
                self.trace.add(("effect", self.env.now, self.name, "send", effect.conn, len(effect.data)))
                if conn is not None:
                    conn.pipe_from(self.name).push(effect.data)
            elif kind is SendImage:  # the child's sending: the simulated network takes it as one send
                payload = effect.payload
                if callable(payload):  # the image is taken at once (where net forks)
                    payload = payload()
                    self.core.image_taken(self.clock.now())
                    self.schedule_run()
                for conn_id, first in effect.targets:
                    conn = self.conns.get(conn_id)
                    self.trace.add(("effect", self.env.now, self.name, "send", conn_id, len(first) + len(payload)))
                    if conn is not None:
                        conn.pipe_from(self.name).push(first + payload)
                self.job_finished(self.incarnation, effect.job, True, "")
            elif kind is Close:
                conn = self.conns.pop(effect.conn, None)
                self.trace.add(("effect", self.env.now, self.name, "close", effect.conn, 0))
                if conn is not None:
                    self.outgoing.pop(conn.id, None)
                    self.connecting.discard(effect.conn)
                    self.net.send(conn, self.name, FIN)
            elif kind is AppendLog:
                self._append_log(effects, index, effect)
                return
            elif kind is WriteFiles:
                if persistence.write_snapshot(self, effects, index):
                    return  # foreground: the rest waits for it (finish_foreground)
            elif kind is Pause:  # DEBUG SLEEP: the process stops; the rest waits (_paused_done)
                self.trace.add(("effect", self.env.now, self.name, "pause", effect.ms, 0))
                self.busy = True
                Timeout(self.env, effect.ms, (self, self.incarnation, effects, index)).callbacks.append(_paused_done)
                return
            elif kind is Crash:  # DEBUG SEGFAULT / PANIC: the process dies as a kill fault kills it
                self.kill()
                return
            elif kind is Connect:
                self._connect(effect)
            elif kind is StepLoading:
                self._next_load_step()
            elif kind is ReadFiles:  # reading what is in the page cache takes no simulated time
                self.core.files_read(effect.job, {path: self.disk.read(path) for path in effect.paths}, self.clock.now())
            else:
                self._background(effect)
        if self.inbox:
            self._schedule()

    def _next_load_step(self) -> None:
        """A load's next step runs in a later loop iteration, after the input that came meanwhile
        (steps take no simulated time)."""
        Timeout(self.env, 0, (self, self.incarnation)).callbacks.append(_load_step)

    def load_step(self, incarnation: int) -> None:
        if incarnation == self.incarnation:
            self.inbox.append((_LOAD_STEP, None, None))
            self._schedule()

    def _connect(self, effect: Connect) -> None:
        """Open a connection the core asked for; the answer comes back as input (`receive`)."""
        self.trace.add(("effect", self.env.now, self.name, "connect", effect.conn, 0))
        peer = self.net.host_named(effect.host)
        if peer is None or effect.port not in (PORT, BUS_PORT):
            error = "Name or service not known" if peer is None else "Connection refused"
            self.inbox.append((_CONNECT_FAILED, effect.conn, error))
            return
        conn = self.net.connect(self.name, peer, effect.port)
        self.conns[effect.conn] = conn
        self.outgoing[conn.id] = effect.conn
        self.connecting.add(effect.conn)

    def _append_log(self, effects: list, index: int, effect: AppendLog) -> None:
        if effect.path != self.log_path:
            if self.log_path:
                self.disk.fsync(self.log_path)  # closing the previous file, as net does
            self.log_path = effect.path
        size = self.disk.size(effect.path)
        ok = self.disk.append(effect.path, effect.data)
        delay_ms = self.disk.fsync_ms() if effect.fsync and ok else 0
        self.trace.add(("effect", self.env.now, self.name, "append-log", effect.job, len(effect.data)))
        self.busy = True
        Timeout(self.env, delay_ms, (self, self.incarnation, effects, index, ok, size)).callbacks.append(_log_done)

    def log_done(self, incarnation: int, effects: list, index: int, ok: bool, size: int) -> None:
        """The append (and its fsync) finished; a failed one is cut off the file, as net does."""
        if incarnation != self.incarnation:
            return  # the process died meanwhile: the fsync never completed
        path = effects[index].path
        if ok and effects[index].fsync:
            ok = self.disk.fsync(path)
            if not ok:
                self.disk.truncate(path, size)
        if self.paused:
            self.stalled = (effects, index, ok)  # the disk is done; the stopped process is not
            return
        self._finish_log(effects, index, ok)

    def sleep_done(self, incarnation: int, effects: list, index: int) -> None:
        """DEBUG SLEEP is over: the effects after it go on."""
        if incarnation != self.incarnation:
            return  # the process died while it slept
        self.busy = False
        self._execute(effects, index + 1)
        self._schedule()

    def finish_foreground(self, effects: list, index: int, ok: bool) -> None:
        """A foreground effect other than a log append is done (a snapshot): go on as after one."""
        self._finish_log(effects, index, ok)

    def _finish_log(self, effects: list, index: int, ok: bool) -> None:
        effect = effects[index]
        self.busy = False
        error = "" if ok else "disk error"
        self.trace.add(("effect", self.env.now, self.name, "log-done", effect.job, int(ok)))
        self.core.job_done(effect.job, ok, self.clock.now(), error)
        self._execute(effects, index + 1)
        self._schedule()  # takes the replies the job released

    def _background(self, effect) -> None:
        """Fsync, shutdown, a stopped snapshot and listening anew: alongside the loop."""
        kind = type(effect)
        name = kind.__name__.lower()
        self.trace.add(("effect", self.env.now, self.name, name, getattr(effect, "job", None), 0))
        if kind is CancelJob:
            persistence.cancel_snapshot(self, effect.job)
        elif kind is Fsync:
            delay_ms = self.disk.fsync_ms()
            Timeout(self.env, delay_ms, (self, self.incarnation, effect)).callbacks.append(_fsync_done)
        elif kind is Shutdown:
            Timeout(self.env, 0, (self, self.incarnation)).callbacks.append(_shutdown)
        elif kind is Listen:  # the simulated network has no ports: a node is reached by its name
            self.job_finished(self.incarnation, effect.job, True, "")

    def job_finished(self, incarnation: int, job: int, ok: bool, error: str, written: int = 0) -> None:
        """A background job ended: the loop hears of it in turn with its other input."""
        if incarnation == self.incarnation:
            self.inbox.append((_JOB, job, (ok, error, written)))
            self._schedule()

    def schedule_run(self) -> None:
        """The core has effects of its own to hand out (it ran what waited for an image)."""
        self._schedule()

    def shutdown(self, incarnation: int) -> None:
        """The core asked to stop: close every connection cleanly and exit."""
        if incarnation != self.incarnation or self.core is None:
            return
        for conn in self.conns.values():
            self.net.send(conn, self.name, FIN)
        self._stop("shutdown")


def _accepted_id(conn: Conn) -> int:
    """The core's id of a connection the node accepted: the network's, past `BUS_CONNS` on the bus port."""
    return conn.id + BUS_CONNS if conn.port == BUS_PORT else conn.id


def _run(event: Timeout) -> None:
    event._value.run()


def _tick(event: Timeout) -> None:
    node, incarnation = event._value
    node.tick(incarnation)


def _load_step(event: Timeout) -> None:
    node, incarnation = event._value
    node.load_step(incarnation)


def _log_done(event: Timeout) -> None:
    node, incarnation, effects, index, ok, size = event._value
    node.log_done(incarnation, effects, index, ok, size)


def _paused_done(event: Timeout) -> None:
    node, incarnation, effects, index = event._value
    node.sleep_done(incarnation, effects, index)


def _fsync_done(event: Timeout) -> None:
    node, incarnation, effect = event._value
    if incarnation != node.incarnation:
        return  # the process died: its fsync never completed
    ok = node.disk.fsync(effect.path)
    node.job_finished(incarnation, effect.job, ok, "" if ok else "fsync error")


def _shutdown(event: Timeout) -> None:
    node, incarnation = event._value
    node.shutdown(incarnation)
