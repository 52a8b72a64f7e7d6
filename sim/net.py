"""The simulated network: hosts, directed links, and TCP-like connections.

Owns delivery. A connection is two pipes (one per direction), each a reliable
ordered byte stream: a send is cut into randomly sized segments, each due
after its link's latency (never before the segment ahead of it). A link may be
cut (a partition, either direction alone): its segments are held, in order,
and the connections across it stall until a side gives up; healing releases
them. Lag adds latency to a link for a while.

Control words travel in the same pipes as the bytes, in order: `SYN` (connect),
`SYN_ACK` (accepted), `FIN` (the sender closed), `RST` (refused or reset). The
network knows nothing of what hosts do with them: each host's `receive(conn,
item)` decides (a dead process answers RST, a powered-off machine drops).
"""

from __future__ import annotations

import random
from collections import deque
from typing import Protocol

from simpy.events import Timeout

from sim.rng import derive
from sim.trace import Trace

SYN, SYN_ACK, FIN, RST = "SYN", "SYN-ACK", "FIN", "RST"

SERVICE_PORT = 6379  # every node listens here, on its own address
BUS_PORT = SERVICE_PORT + 10000  # and, cluster-enabled, for its peers' cluster bus links (Redis's default)
SEGMENT_BYTES_MAX = 1460
SEGMENT_WHOLE_PROBABILITY = 0.9  # a send small enough goes out as one segment
SEGMENT_CUTS_MAX = 3
LATENCY_MS_BASE_MAX = 2  # each link's own base latency is drawn from 0..this
JITTER_PROBABILITY = 0.3
JITTER_MS_MAX = 3
SPIKE_PROBABILITY = 0.002
SPIKE_MS_MAX = 100


class Host(Protocol):
    def receive(self, conn: Conn, item: bytes | str) -> None: ...


class Link:
    """One direction between two hosts: latency, lag, cuts, and its own random stream."""

    __slots__ = ("src", "dst", "rng", "latency_ms_base", "lag_ms", "cuts", "pipes")

    def __init__(self, src: str, dst: str, rng: random.Random) -> None:
        self.src = src
        self.dst = dst
        self.rng = rng
        self.latency_ms_base = rng.randint(0, LATENCY_MS_BASE_MAX)
        self.lag_ms = 0  # extra latency (up to this many ms) while a lag fault holds
        self.cuts = 0  # partitions currently cutting this link
        self.pipes: dict[Pipe, None] = {}  # open pipes over this link, in creation order

    def latency_ms(self) -> int:
        """One segment's latency: the base, maybe jitter, rarely a spike, plus any lag."""
        rng = self.rng
        ms = self.latency_ms_base
        roll = rng.random()  # one draw decides jitter and spike, and their sizes
        if roll < JITTER_PROBABILITY:
            ms += 1 + int(roll * JITTER_MS_MAX / JITTER_PROBABILITY)
            if roll < SPIKE_PROBABILITY:
                ms += 1 + int(roll * SPIKE_MS_MAX / SPIKE_PROBABILITY)
        if self.lag_ms:
            ms += int(rng.random() * (self.lag_ms + 1))
        return ms

    def whole(self, data: bytes) -> bool:
        """Whether `data` goes out as one segment (else `split` cuts it)."""
        return len(data) <= SEGMENT_BYTES_MAX and (len(data) < 2 or self.rng.random() < SEGMENT_WHOLE_PROBABILITY)

    def split(self, data: bytes) -> list[bytes]:
        """Cut `data` (two bytes or more) at random offsets, and at every SEGMENT_BYTES_MAX."""
        size = len(data)
        rng = self.rng
        cuts = {rng.randrange(1, size) for _ in range(rng.randint(1, SEGMENT_CUTS_MAX))}
        cuts.update(range(SEGMENT_BYTES_MAX, size, SEGMENT_BYTES_MAX))
        edges = [0, *sorted(cuts), size]
        return [data[start:end] for start, end in zip(edges, edges[1:])]


class Pipe:
    """One direction of a connection: segments in flight or held, delivered in order."""

    __slots__ = ("net", "conn", "link", "dst", "queue", "armed", "last_ready_ms", "done")

    def __init__(self, net: Network, conn: Conn, link: Link) -> None:
        self.net = net
        self.conn = conn
        self.link = link
        self.dst = net.hosts[link.dst]
        self.queue: deque[tuple[int, bytes | str]] = deque()
        self.armed = False
        self.last_ready_ms = 0
        self.done = False  # FIN or RST sent: nothing more will follow
        link.pipes[self] = None

    def push(self, item: bytes | str) -> None:
        """Send bytes (cut into segments) or a control word down the pipe."""
        if self.done:
            return
        link = self.link
        now = self.net.env.now
        if type(item) is not bytes:
            self.done = item is FIN or item is RST
            self._queue(item, now + link.latency_ms())
        elif link.whole(item):
            self._queue(item, now + link.latency_ms())
        else:
            for segment in link.split(item):
                self._queue(segment, now + link.latency_ms())
        if not self.armed and not link.cuts:
            self.arm(self.queue[0][0] - now)

    def _queue(self, segment: bytes | str, ready_ms: int) -> None:
        if ready_ms < self.last_ready_ms:
            ready_ms = self.last_ready_ms  # never before the segment ahead
        self.last_ready_ms = ready_ms
        self.queue.append((ready_ms, segment))

    def arm(self, delay_ms: int) -> None:
        self.armed = True
        Timeout(self.net.env, delay_ms, self).callbacks.append(_wake)

    def wake(self) -> None:
        """Deliver every segment that is due, in order, unless the link is cut."""
        self.armed = False
        link = self.link
        if link.cuts:
            return  # held: `Network.heal` re-arms
        now = self.net.env.now
        queue = self.queue
        record = self.net.trace.add
        conn, receive = self.conn, self.dst.receive
        while queue and queue[0][0] <= now:
            item = queue.popleft()[1]
            record(("seg", now, conn.id, link.src, link.dst, item))
            receive(conn, item)
        if queue:
            self.arm(queue[0][0] - now)
        elif self.done:
            link.pipes.pop(self, None)


def _wake(event: Timeout) -> None:
    event._value.wake()


class Conn:
    """A connection from host `a` (who connected) to host `b`, at its `port` (a node's client port,
    or its cluster bus port)."""

    __slots__ = ("id", "a", "b", "port", "ab", "ba")

    def __init__(self, net: Network, conn_id: int, a: str, b: str, port: int) -> None:
        self.id = conn_id
        self.a = a
        self.b = b
        self.port = port
        self.ab = Pipe(net, self, net.link(a, b))
        self.ba = Pipe(net, self, net.link(b, a))

    def pipe_from(self, host: str) -> Pipe:
        return self.ab if host == self.a else self.ba


class Network:
    """Every host, link and connection of the world."""

    def __init__(self, env, seed: int, trace: Trace) -> None:
        self.env = env
        self.seed = seed
        self.trace = trace
        self.hosts: dict[str, Host] = {}
        self.addresses: dict[str, str] = {}
        self.links: dict[tuple[str, str], Link] = {}
        self.next_conn_id = 1

    def add_host(self, name: str, host: Host, address: str) -> None:
        self.hosts[name] = host
        self.addresses[name] = address

    def link(self, src: str, dst: str) -> Link:
        link = self.links.get((src, dst))
        if link is None:
            link = self.links[(src, dst)] = Link(src, dst, derive(self.seed, f"link/{src}->{dst}"))
        return link

    def connect(self, src: str, dst: str, port: int = SERVICE_PORT) -> Conn:
        """Open a connection: its SYN is on the way to `dst`'s `port`."""
        conn = Conn(self, self.next_conn_id, src, dst, port)
        self.next_conn_id += 1
        self.trace.add(("conn", self.env.now, "connect", conn.id, src, dst))
        conn.ab.push(SYN)
        return conn

    def send(self, conn: Conn, src: str, item: bytes | str) -> None:
        """Bytes or a control word from host `src` to the other end of `conn`."""
        conn.pipe_from(src).push(item)

    def cut(self, src: str, dst: str) -> None:
        self.link(src, dst).cuts += 1

    def heal(self, src: str, dst: str) -> None:
        """Undo one cut of the link; when none is left, its held traffic is released."""
        link = self.link(src, dst)
        link.cuts -= 1
        assert link.cuts >= 0, (src, dst)
        if link.cuts:
            return
        for pipe in list(link.pipes):
            if pipe.queue and not pipe.armed:
                pipe.arm(link.latency_ms())

    def host_named(self, name: str) -> str | None:
        """The host a name or an address (as a node's configuration names it) stands for."""
        if name in self.hosts:
            return name
        return next((host for host, address in self.addresses.items() if address == name), None)

    def address(self, host: str, conn: Conn) -> str:
        """`host`'s address as its peer on `conn` sees it (ip:port)."""
        port = conn.port if host == conn.b else 32768 + conn.id % 28000
        return f"{self.addresses[host]}:{port}"
