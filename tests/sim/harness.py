"""A small world for unit tests: an environment, a network, and hosts that record what reaches them."""

from __future__ import annotations

import simpy

from sim.net import Conn, Network
from sim.node import SimNode, recover_empty
from sim.trace import Trace


class Recorder:
    """A host that records every segment and control word it is handed."""

    def __init__(self, net: Network, name: str, address: str = "10.0.9.1") -> None:
        self.net = net
        self.name = name
        self.items: list[tuple[int, int, bytes | str]] = []
        net.add_host(name, self, address)

    def receive(self, conn: Conn, item: bytes | str) -> None:
        self.items.append((self.net.env.now, conn.id, item))

    def data(self, conn: Conn | None = None) -> bytes:
        return b"".join(item for _, cid, item in self.items if type(item) is bytes and (conn is None or cid == conn.id))

    def controls(self) -> list[str]:
        return [item for _, _, item in self.items if type(item) is str]


class Lab:
    """An environment with a network, some recorders and optionally nodes."""

    def __init__(self, seed: int = 1) -> None:
        self.env = simpy.Environment()
        self.trace = Trace(keep=True)
        self.net = Network(self.env, seed, self.trace)
        self.seed = seed

    def recorder(self, name: str) -> Recorder:
        return Recorder(self.net, name, f"10.0.9.{len(self.net.hosts) + 1}")

    def node(self, name: str = "n1", config: dict[str, str] | None = None, recover=recover_empty) -> SimNode:
        node = SimNode(self.env, self.net, self.trace, self.seed, name, "10.0.0.1", config or {}, recover)
        node.start()
        return node

    def run(self, ms: int) -> None:
        self.env.run(until=self.env.now + ms)
