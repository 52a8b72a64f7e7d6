"""Simulated Redis clients: they run a workload over simulated connections and record a history.

A client keeps one connection per node it has talked to, runs one operation
at a time (a conversation of pipelined round trips, see `sim.workloads`), and
gives up on an operation after `OP_TIMEOUT_MS`: the operation is recorded as
`info` (it may or may not have happened), the connection is closed, and the
client continues as a new process (Jepsen's convention) on a new connection.
A reset or closed connection does the same to the operation in flight.

A reply that no correct server would give (a wrong type, an unexpected error,
a reply to nothing) is an anomaly: the world reports them through the
`client` checker, and the client drops the connection, as a real client would.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import hiredis
from simpy.events import Timeout

from sim.net import FIN, RST, SYN_ACK, Conn
from sim.workloads import Op, Pause, Refused, Unexpected

OP_TIMEOUT_MS = 1000
CONNECT_TIMEOUT_MS = 1000
RECONNECT_MS_MIN = 20
RECONNECT_MS_MAX = 500



def encode(commands: list[list[bytes]]) -> bytes:
    """Commands as RESP multibulk requests, pipelined."""
    out = []
    for argv in commands:
        out.append(b"*%d\r\n" % len(argv))
        for arg in argv:
            out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


@dataclass(slots=True, eq=False)
class Session:
    """A client's connection to one node."""

    conn: Conn
    node: str
    reader: hiredis.Reader
    established: bool = False


class SimClient:
    """One client: a host with connections, running operations one at a time."""

    def __init__(self, world, index: int, rng: random.Random, process: int | str, think_ms_mean: int) -> None:
        self.world = world
        self.env = world.env
        self.net = world.net
        self.index = index
        self.rng = rng
        self.host = f"c{index}"
        self.process = process
        self.think_ms_mean = think_ms_mean
        self.sessions: dict[str, Session] = {}
        self.op: Op | None = None
        self.op_session: Session | None = None
        self.replies: list = []
        self.expected = 0
        self.pending: Op | None = None  # chosen, waiting for its connection
        self.token = 0  # the live "next operation" timer's token; others are stale
        self.deadline_ms: int | None = None  # when the operation or connect in progress times out
        self.deadline_armed = False
        self.serial = 0
        self.running = False
        self.last_ok_ms = -1
        self.last_refusal: str | None = None  # the error that refused its last operation, if it was refused
        world.net.add_host(self.host, self, f"10.0.1.{index + 1}")

    # -- driving -------------------------------------------------------------
    def start(self) -> None:
        self.running = True
        self._schedule_next(self._think_ms())

    def stop(self) -> None:
        """Start no new operation; the one in flight ends as it will."""
        self.running = False

    @property
    def idle(self) -> bool:
        return self.op is None and self.pending is None

    def choose(self) -> Op:
        self.serial += 1
        return self.world.workload.next_op(self.rng, self.index, self.serial, self.env.now)

    def _think_ms(self) -> int:
        return int(self.rng.expovariate(1.0 / self.think_ms_mean)) if self.think_ms_mean > 0 else 0

    def _schedule_next(self, delay_ms: int) -> None:
        self.token += 1
        Timeout(self.env, delay_ms, (self, self.token)).callbacks.append(_next)

    def next_timer(self, token: int) -> None:
        if token == self.token:
            self._next()

    def _set_deadline(self, delay_ms: int | None) -> None:
        """Time out what is in progress after `delay_ms` (None: nothing is).

        One timer per client serves every deadline: when it fires early (its
        operation ended and another began) it re-arms for the current one.
        """
        if delay_ms is None:
            self.deadline_ms = None
            return
        self.deadline_ms = self.env.now + delay_ms
        if not self.deadline_armed:
            self.deadline_armed = True
            Timeout(self.env, delay_ms, self).callbacks.append(_deadline)

    def deadline(self) -> None:
        self.deadline_armed = False
        due = self.deadline_ms
        if due is None:
            return
        now = self.env.now
        if now < due:
            self.deadline_armed = True
            Timeout(self.env, due - now, self).callbacks.append(_deadline)
        elif self.op is not None:
            self._give_up("timeout")
        elif self.pending is not None:
            self._connect_failed(self.pending_session(), "connect timeout")

    def _next(self) -> None:
        if not self.running:
            return
        op = self.choose()
        node = self.world.server_for(op)
        session = self.sessions.get(node)
        if session is not None and session.established:
            self._invoke(op, session)
            return
        self.pending = op
        if session is None:
            conn = self.net.connect(self.host, node)
            session = self.sessions[node] = Session(conn, node, hiredis.Reader())
        self._set_deadline(CONNECT_TIMEOUT_MS)

    def pending_session(self) -> Session | None:
        return None if self.pending is None else self.sessions.get(self.world.server_for(self.pending))

    # -- operations ------------------------------------------------------------
    def _invoke(self, op: Op, session: Session) -> None:
        self.op = op
        self.op_session = session
        self.world.record(self.process, "invoke", op.f, op.key, op.value)
        self._set_deadline(OP_TIMEOUT_MS)
        self._send(next(op.conversation))

    def _send(self, commands: list[list[bytes]] | Pause) -> None:
        self.replies = []
        if type(commands) is Pause:
            self.expected = 0  # a reply now answers no request
            Timeout(self.env, commands.ms, (self, self.op)).callbacks.append(_resume)
            return
        self.expected = len(commands)
        self.op_session.conn.ab.push(encode(commands))  # a client is always the connecting end

    def resume(self, op: Op) -> None:
        """A pause is over: the operation goes on, unless it has ended meanwhile (timed out, or its
        connection died)."""
        if self.op is op:
            self._advance()

    def _advance(self) -> None:
        op = self.op
        try:
            self._send(op.conversation.send(self.replies))
        except StopIteration as done:
            kind, value = done.value
            self._complete(kind, value)
        except Refused as refusal:
            self._complete("fail", None, str(refusal))
        except Unexpected as exc:
            self._anomaly(self.op_session, str(exc))

    def _complete(self, kind: str, value, refusal: str | None = None) -> None:
        op = self.op
        self.world.record(self.process, kind, op.f, op.key, value)
        self.op = self.op_session = None
        self._set_deadline(None)
        self.last_refusal = refusal
        wrong = None if refusal is None else self.world.refused(op.key, refusal)
        if wrong is not None:
            self.world.anomaly(self.process, wrong)
        if kind == "ok":
            self.last_ok_ms = self.env.now
        elif kind == "info":
            self.process = self.world.next_process(self.process)
        self.completed(op, kind)
        self._schedule_next(self._think_ms() if kind != "info" else self._backoff_ms())

    def completed(self, op: Op, kind: str) -> None:
        """Hook for subclasses: an operation ended with `kind`."""

    def _give_up(self, why: str) -> None:
        """The operation in flight timed out, or its connection died: outcome unknown."""
        session = self.op_session
        self._drop(session, FIN if why == "timeout" else None)
        self._complete("info", None)

    def _anomaly(self, session: Session, what: str) -> None:
        self.world.anomaly(self.process, what)
        in_flight = self.op is not None and self.op_session is session
        self._drop(session, FIN)
        if in_flight:
            self._complete("info", None)

    def _backoff_ms(self) -> int:
        return self.rng.randint(RECONNECT_MS_MIN, RECONNECT_MS_MAX)

    # -- connections -------------------------------------------------------------
    def _drop(self, session: Session | None, farewell: str | None) -> None:
        if session is None or self.sessions.get(session.node) is not session:
            return
        del self.sessions[session.node]
        if farewell is not None:
            self.net.send(session.conn, self.host, farewell)

    def _connect_failed(self, session: Session | None, why: str) -> None:
        self._drop(session, FIN)
        self.pending = None
        self._set_deadline(None)
        self._schedule_next(self._backoff_ms())

    def receive(self, conn: Conn, item: bytes | str) -> None:
        """A segment or control word from the network."""
        session = self.sessions.get(conn.b)
        if session is None or session.conn is not conn:
            return  # a connection this client already gave up
        if type(item) is bytes:
            self._data(session, item)
        elif item is SYN_ACK:
            session.established = True
            if self.pending is not None and self.world.server_for(self.pending) == session.node:
                op, self.pending = self.pending, None
                self._invoke(op, session)
        elif item in (FIN, RST):
            self._closed(session, item)

    def _closed(self, session: Session, item: str) -> None:
        if not session.established:
            self._connect_failed(session, item)
        elif self.op is not None and self.op_session is session:
            self._give_up(item)
        else:
            self._drop(session, FIN if item is FIN else None)

    def _data(self, session: Session, data: bytes) -> None:
        reader = session.reader
        reader.feed(data)
        while self.sessions.get(session.node) is session:
            try:
                reply = reader.gets()
            except hiredis.ProtocolError as exc:
                self._anomaly(session, f"unparsable reply: {exc}")
                return
            if reply is False:
                return
            if self.op is None or self.op_session is not session or not self.expected:
                self._anomaly(session, f"a reply to no request: {reply!r}")
                return
            self.replies.append(reply)
            if len(self.replies) == self.expected:
                self._advance()


def _next(event: Timeout) -> None:
    client, token = event._value
    client.next_timer(token)


def _deadline(event: Timeout) -> None:
    event._value.deadline()


def _resume(event: Timeout) -> None:
    client, op = event._value
    client.resume(op)


class FinalReader(SimClient):
    """After the run: reads every key once, retrying a key until a read of it succeeds."""

    def __init__(self, world, index: int, rng: random.Random, keys: list[str], on_done) -> None:
        super().__init__(world, index, rng, "final", 0)
        self.keys = keys
        self.position = 0
        self.on_done = on_done

    def start(self) -> None:
        if not self.keys:
            self.on_done()
            return
        super().start()

    def choose(self) -> Op:
        return self.world.workload.final_read(self.keys[self.position])

    def completed(self, op: Op, kind: str) -> None:
        if kind == "ok":
            self.position += 1
            if self.position == len(self.keys):
                self.running = False
                self.on_done()
