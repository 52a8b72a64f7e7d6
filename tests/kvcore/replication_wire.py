"""Nodes joined in memory: a replica's `Connect` reaches another node as an accepted connection,
and the bytes either sends reach the other. No sockets, no clock: tests move ``now`` themselves."""

from __future__ import annotations

from kvcore.effects import CancelJob, Close, Connect, LogMessage, ReadFiles, Send, SendImage, StepLoading, WriteFiles
from kvcore.node import Node
from tests.kvcore.harness import CoreClient, load_to_end, make_node

ACCEPTED_CONNS = 1 << 40  # the ids a node gives the links accepted from its replicas (below LINK_CONNS)


class WiredClient(CoreClient):
    """A test's connection to one node of a `Wire`: what its requests make the nodes send each
    other is delivered too (a plain CoreClient would drop the stream to the replicas)."""

    def __init__(self, node: Node, wire: Wire) -> None:
        self.wire = wire
        conn = max((conn for conn in node.clients if conn < ACCEPTED_CONNS), default=0) + 1
        super().__init__(node, conn)

    def send_raw(self, data: bytes) -> list:
        self.node.receive(self.conn, data, self.node.now)
        self.wire.run()
        replies, self._replies = self._replies, []
        return replies


class Wire:
    """Every node of a test, by "host:port"; `run` delivers effects until none is left."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.routes: dict[tuple[int, int], tuple[Node, int]] = {}  # (node id, conn) -> (peer node, peer conn)
        self.logs: dict[int, list[str]] = {}
        self.files: dict[int, dict[str, bytes]] = {}  # each node's disk: its snapshots, written at once
        self.down: set[str] = set()  # addresses that refuse connections
        self.sending: list = []  # [node, SendImage, started ms, bytes sent to each target]: payloads on their way
        self._next = ACCEPTED_CONNS

    def add(self, port: int, seed: int = 0, **options: str) -> Node:
        """A node on the wire; full syncs start at once unless told (as Redis's test suite sets
        repl-diskless-sync-delay 0)."""
        node = make_node(seed=seed, port=str(port), **{"repl_diskless_sync_delay": "0", **options})
        node.info.tcp_port = port
        self.nodes[f"127.0.0.1:{port}"] = node
        self.logs[id(node)] = []
        self.files[id(node)] = {}
        return node

    def client(self, node: Node) -> WiredClient:
        return WiredClient(node, self)

    def call(self, node: Node, *args):
        """A request on a fresh connection, and its reply, after the wire is quiet."""
        return WiredClient(node, self).call(*args)

    def tick(self, ms: int = 100, times: int = 1) -> None:
        for _ in range(times):
            for node in self.nodes.values():
                node.now += ms
                node.tick(node.now)
            self._send_due()
            self.run()

    def run(self) -> None:
        busy = True
        while busy:
            busy = False
            for node in list(self.nodes.values()):
                effects = node.take_effects()
                busy = busy or bool(effects)
                for effect in effects:
                    self._carry(node, effect)

    def _carry(self, node: Node, effect) -> None:
        kind = type(effect)
        route = self.routes.get((id(node), getattr(effect, "conn", None)))
        if kind is Connect:
            address = f"{effect.host}:{effect.port}"
            peer = self.nodes.get(address)
            if peer is None or address in self.down:
                node.connect_failed(effect.conn, node.now, "Connection refused")
                return
            self._next += 1
            peer.open(self._next, peer.now, addr=f"127.0.0.1:{50000 + self._next % 10000}", laddr=address)
            self.routes[(id(node), effect.conn)] = (peer, self._next)
            self.routes[(id(peer), self._next)] = (node, effect.conn)
            node.connected(effect.conn, node.now, f"127.0.0.1:{50000 + self._next % 10000}")
        elif kind is LogMessage:
            self.logs[id(node)].append(effect.text)
        elif route is not None and kind is Send:
            peer, conn = route
            peer.receive(conn, effect.data, peer.now)
        elif kind is SendImage:  # a full sync's payload, as net's child sends it: spread over its delay
            self.sending.append([node, effect, node.now, [0] * len(effect.targets)])
            self._send_due()
        elif kind is StepLoading:
            load_to_end(node)
        elif kind is WriteFiles:  # as a runtime writes a snapshot (its image was taken: harness.take_images_at_once)
            files = self.files[id(node)]
            for step in effect.steps:
                if step[0] == "write":
                    files[step[1]] = effect.data
                elif step[0] == "rename":
                    files[step[2]] = files.pop(step[1])
            node.job_done(effect.job, True, node.now, "", len(effect.data))
        elif kind is ReadFiles:
            node.files_read(effect.job, {path: self.files[id(node)].get(path) for path in effect.paths}, node.now)
        elif kind is CancelJob:
            self.sending = [entry for entry in self.sending if entry[1].job != effect.job]
        elif route is not None and kind is Close:
            peer, conn = route
            del self.routes[(id(node), effect.conn)]
            self.routes.pop((id(peer), conn), None)
            peer.closed(conn, peer.now)
            node.closed(effect.conn, node.now)
        elif getattr(node, "harness_clients", None):  # replies to the test's clients
            next(iter(node.harness_clients.values()))._deliver([effect])

    def _send_due(self) -> None:
        """Deliver the share of each payload its delay allows by now; report the finished ones."""
        for entry in list(self.sending):
            node, effect, started, sent = entry
            delay_ms = effect.delay_s * 1000
            share = 1.0 if delay_ms <= 0 else min(1.0, (node.now - started) / delay_ms)
            for index, (conn, first) in enumerate(effect.targets):
                data = first + effect.payload
                end = len(first) + int(len(effect.payload) * share)
                chunk, sent[index] = data[sent[index] : end], max(sent[index], end)
                target = self.routes.get((id(node), conn))
                if chunk and target is not None:
                    target[0].receive(target[1], chunk, target[0].now)
                    node.sync_payload_taken(conn, node.now)
                elif chunk and conn in getattr(node, "harness_clients", {}):
                    node.harness_clients[conn]._feed(chunk)
            if share >= 1.0:
                self.sending.remove(entry)
                node.job_done(effect.job, True, node.now)

    def cut(self, node: Node) -> None:
        """Every connection of ``node`` to another node drops (a network failure)."""
        for (owner, conn), (peer, peer_conn) in list(self.routes.items()):
            if owner == id(node):
                del self.routes[(owner, conn)]
                self.routes.pop((id(peer), peer_conn), None)
                node.closed(conn, node.now)
                peer.closed(peer_conn, peer.now)
        self.run()
