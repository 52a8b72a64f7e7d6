"""The real-process harness: the simulator's workloads and checkers against real kvserver processes.

Starts `RealConfig.nodes` kvserver processes on loopback, each in a directory
of its own, puts a `jepsen_like.proxy.Proxy` in front of each, and runs
`RealConfig.clients` clients (asyncio tasks, hiredis parsers) that perform a
workload of `sim.workloads` through the proxies: the same conversations, key
choice and history format as the simulated clients, so `sim.checks` judges
the history with the same checkers. An operation still running after
`OP_TIMEOUT_S` is `info`, its connection is dropped, and the client goes on as
a new process.

A nemesis drawn from the seed injects one fault at a time: ``kill`` (SIGKILL,
then a restart from the node's directory: its log or snapshot), ``pause``
(SIGSTOP, then SIGCONT), ``partition`` (the node's proxy holds all traffic)
and ``lag`` (the proxy delays it), each recorded in the history as the
simulator records them. After the fault phase everything is healed, every key
is read once more (the final reads), and the history is judged. Real time and
real processes: the seed decides the operations and the faults, not their
interleaving, so a run is not reproducible as a simulated one is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import hiredis

from jepsen_like.history import NEMESIS, Event
from jepsen_like.proxy import Proxy
from jepsen_like.verdict import Judged, Verdict
from sim import checks
from sim.client import encode
from sim.rng import derive
from sim.workloads import WORKLOADS, Op, Pause, Refused, Unexpected, key_index, workload_options

FAULTS = ("kill", "pause", "partition", "lag")
OP_TIMEOUT_S = 1.0
START_TIMEOUT_S = 30.0
FAULT_S_MIN, FAULT_S_MAX = 0.3, 1.5  # how long one fault lasts
CALM_S_MIN, CALM_S_MAX = 0.3, 1.5  # between faults
LAG_S = 0.05
SETTLE_S = 1.0  # after the heal, before the final reads
FINAL_TRIES = 10
FINAL_RETRY_S = 0.2


@dataclass(frozen=True)
class RealConfig:
    """A real run's arguments (as `sim.world.RunConfig`'s, for the faults real processes can take)."""

    workload: str = "register"
    nodes: int = 1
    clients: int = 5
    duration_s: float = 20.0
    faults: tuple[str, ...] = ()
    config: tuple[tuple[str, str], ...] = ()  # kvserver options, as --name value
    seed: int = 0
    think_ms: int = 100

    def __post_init__(self) -> None:
        unknown = [kind for kind in self.faults if kind not in FAULTS]
        if unknown:
            raise ValueError(f"real processes take the faults {', '.join(FAULTS)}, not {', '.join(unknown)}")
        if WORKLOADS[self.workload].subscribers:
            raise ValueError(f"the {self.workload} workload needs the simulator's subscribers")


@dataclass
class RealResult(Judged):
    """What a real run did and what the checkers said."""

    config: RealConfig
    ops: dict[str, int]
    faults: dict[str, int]
    verdicts: dict[str, Verdict]
    history: list[Event] = field(repr=False)
    wall_s: float = 0.0


def run(config: RealConfig) -> RealResult:
    """Start the processes, run the workload under faults, read every key, judge."""
    with tempfile.TemporaryDirectory(prefix="kvsim-real-") as workdir:
        return asyncio.run(_Run(config, workdir).run())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Node:
    """One kvserver process, restartable from its directory."""

    def __init__(self, name: str, directory: str, options: dict[str, str]) -> None:
        self.name = name
        self.directory = directory
        self.port = _free_port()
        self.args = [sys.executable, "-m", "net.main", "--port", str(self.port), "--dir", directory,
                     "--logfile", "kvserver.log"]
        for option, value in options.items():
            self.args += [f"--{option}", value]
        self.proc: asyncio.subprocess.Process | None = None
        self.paused = False

    async def start(self) -> None:
        with open(os.path.join(self.directory, "stderr.log"), "ab") as stderr:
            self.proc = await asyncio.create_subprocess_exec(*self.args, stdout=asyncio.subprocess.DEVNULL,
                                                             stderr=stderr)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kvserver {self.name} did not start; its log ends:\n{self._log_tail()}")
            await asyncio.sleep(0.05)

    def _log_tail(self, lines: int = 10) -> str:
        """The end of what the process wrote to its log file and its stderr."""
        tail = []
        for name in ("kvserver.log", "stderr.log"):
            with contextlib.suppress(OSError), open(os.path.join(self.directory, name), errors="replace") as log:
                tail += log.readlines()[-lines:]
        return "".join(tail) or "(nothing)"

    async def kill(self) -> None:
        self.resume()
        self.proc.kill()
        await self.proc.wait()

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.paused:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.paused = False

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.resume()
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                await self.kill()


class _Run:
    """One run: its processes, proxies, clients, nemesis and history."""

    def __init__(self, config: RealConfig, workdir: str) -> None:
        self.config = config
        self.workload = WORKLOADS[config.workload]
        options = {"save": "", **workload_options(config.workload, config.seed), **dict(config.config)}
        self.nodes = []
        for i in range(config.nodes):
            directory = os.path.join(workdir, f"n{i + 1}")
            os.mkdir(directory)
            self.nodes.append(_Node(f"n{i + 1}", directory, options))
        self.proxies: dict[str, Proxy] = {}
        self.history: list[tuple] = []
        self.anomalies: list[dict[str, Any]] = []
        self.keys: dict[str, None] = {}
        self.fault_counts = {kind: 0 for kind in config.faults}
        self.started = 0.0

    # -- the run ---------------------------------------------------------------
    async def run(self) -> RealResult:
        try:
            for node in self.nodes:
                await node.start()
                proxy = Proxy(node.port)
                await proxy.start()
                self.proxies[node.name] = proxy
            self.started = time.monotonic()
            until = self.started + self.config.duration_s
            clients = [_Client(self, i) for i in range(self.config.clients)]
            await asyncio.gather(self._nemesis(until), *(client.run(until) for client in clients))
            await self._heal()
            await asyncio.sleep(SETTLE_S)
            await self._final_reads()
        finally:
            for proxy in self.proxies.values():
                await proxy.stop()
            for node in self.nodes:
                await node.stop()
        return self._judge(time.monotonic() - self.started)

    def now_ns(self) -> int:
        return int((time.monotonic() - self.started) * 1e9)

    def record(self, process: int | str, kind: str, f: str, key: str | None, value: Any) -> None:
        self.history.append((process, kind, f, key, value, self.now_ns()))
        if kind == "invoke" and process != NEMESIS:
            self.keys[key] = None

    def node_for(self, key: str) -> _Node:
        return self.nodes[key_index(key) % len(self.nodes)]

    # -- faults ----------------------------------------------------------------
    async def _nemesis(self, until: float) -> None:
        if not self.config.faults:
            return
        rng = derive(self.config.seed, "real/nemesis")
        while True:
            await asyncio.sleep(rng.uniform(CALM_S_MIN, CALM_S_MAX))
            lasts = rng.uniform(FAULT_S_MIN, FAULT_S_MAX)
            if time.monotonic() + lasts > until:
                return
            kind, node = rng.choice(self.config.faults), rng.choice(self.nodes)
            self.fault_counts[kind] += 1
            self.record(NEMESIS, "info", kind, None, {"event": "start", "node": node.name})
            await self._inject(kind, node)
            await asyncio.sleep(lasts)
            await self._undo(kind, node)
            self.record(NEMESIS, "info", kind, None, {"event": "end", "node": node.name})

    async def _inject(self, kind: str, node: _Node) -> None:
        proxy = self.proxies[node.name]
        if kind == "kill":
            await node.kill()
        elif kind == "pause":
            node.pause()
        elif kind == "partition":
            proxy.cut()
        else:
            proxy.lag(LAG_S)

    async def _undo(self, kind: str, node: _Node) -> None:
        proxy = self.proxies[node.name]
        if kind == "kill":
            await node.start()
        elif kind == "pause":
            node.resume()
        elif kind == "partition":
            proxy.heal()
        else:
            proxy.lag(0.0)

    async def _heal(self) -> None:
        for node in self.nodes:
            node.resume()
            self.proxies[node.name].heal()
            self.proxies[node.name].lag(0.0)

    # -- the end ---------------------------------------------------------------
    async def _final_reads(self) -> None:
        reader = _Client(self, "final")
        for key in sorted(self.keys, key=key_index):
            for _ in range(FINAL_TRIES):
                if await reader.perform(self.workload.final_read(key)) == "ok":
                    break
                await asyncio.sleep(FINAL_RETRY_S)  # a restarted node may still be loading its data

    def _judge(self, wall_s: float) -> RealResult:
        events, counts, verdicts = checks.judge_history(self.workload.checkers, self.config.workload, self.history)
        verdicts["client"] = checks.client_anomalies(self.anomalies)
        return RealResult(self.config, counts, dict(self.fault_counts), verdicts, events, wall_s)


class _Client:
    """A client: one connection per node (through its proxy), one operation at a time."""

    def __init__(self, run: _Run, index: int | str) -> None:
        self.runner = run
        self.index = index
        self.process = index
        self.rng = derive(run.config.seed, f"real/client/{index}")
        self.connections: dict[str, tuple[asyncio.StreamReader, asyncio.StreamWriter, hiredis.Reader]] = {}
        self.serial = 0

    async def run(self, until: float) -> None:
        think_s = self.runner.config.think_ms / 1000
        while True:
            await asyncio.sleep(self.rng.expovariate(1 / think_s) if think_s else 0)
            if time.monotonic() >= until:
                return
            self.serial += 1
            now_ms = int((time.monotonic() - self.runner.started) * 1000)
            await self.perform(self.runner.workload.next_op(self.rng, self.index, self.serial, now_ms))

    async def perform(self, op: Op) -> str:
        """Run one operation and record it; its outcome's type."""
        run = self.runner
        node = run.node_for(op.key)
        run.record(self.process, "invoke", op.f, op.key, op.value)
        try:
            kind, value = await asyncio.wait_for(self._converse(node, op), OP_TIMEOUT_S)
        except Refused:
            kind, value = "fail", None
        except Unexpected as exc:
            run.anomalies.append({"process": self.process, "time": run.now_ns(), "what": str(exc)})
            kind, value = "info", None
        except (TimeoutError, OSError, EOFError):
            kind, value = "info", None
        run.record(self.process, kind, op.f, op.key, value)
        if kind == "info":
            self._drop(node)
            if isinstance(self.process, int):
                self.process += run.config.clients  # Jepsen: a process that timed out never returns
        return kind

    async def _converse(self, node: _Node, op: Op) -> tuple[str, Any]:
        reader, writer, parser = await self._connection(node)
        conversation = op.conversation
        commands = next(conversation)
        while True:
            if type(commands) is Pause:
                await asyncio.sleep(commands.ms / 1000)
                replies = []
            else:
                writer.write(encode(commands))
                await writer.drain()
                replies = await self._replies(reader, parser, len(commands))
            try:
                commands = conversation.send(replies)
            except StopIteration as done:
                return done.value

    @staticmethod
    async def _replies(reader: asyncio.StreamReader, parser: hiredis.Reader, count: int) -> list:
        replies = []
        while len(replies) < count:
            reply = parser.gets()
            if reply is False:
                data = await reader.read(65536)
                if not data:
                    raise EOFError("the server closed the connection")
                parser.feed(data)
                continue
            replies.append(reply)
        return replies

    async def _connection(self, node: _Node):
        if node.name not in self.connections:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.runner.proxies[node.name].port)
            self.connections[node.name] = (reader, writer, hiredis.Reader())
        return self.connections[node.name]

    def _drop(self, node: _Node) -> None:
        connection = self.connections.pop(node.name, None)
        if connection is not None:
            connection[1].close()
