"""A small world for unit tests: an environment, a network, and hosts that record what reaches them."""

from __future__ import annotations

import hiredis
import simpy

from jepsen_like.durability import writes_from_history
from jepsen_like.history import canonical, pair
from sim.net import Conn, Network
from sim.node import SimNode, recover_empty
from sim.trace import Trace
from tests.kvcore.harness import encode_request


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


def session(lab: Lab, *requests: list[str], ms: int = 200) -> list:
    """A new client connects to n1, sends ``requests`` at once and waits ``ms``: the replies it got."""
    client = lab.recorder(f"c{len(lab.net.hosts)}")
    conn = lab.net.connect(client.name, "n1")
    lab.net.send(conn, client.name, b"".join(encode_request(*argv) for argv in requests))
    if ms:
        lab.run(ms)
    return replies(client.data())


def replies(data: bytes) -> list:
    """Every RESP reply in ``data``, decoded by hiredis (errors as ReplyError values)."""
    reader = hiredis.Reader()
    reader.feed(data)
    out = []
    while (reply := reader.gets()) is not False:
        out.append(reply)
    return out


def lost_adds(result) -> list:
    """The acknowledged adds missing from the final reads (the set workload)."""
    ops = pair(result.history)
    finals = [op for op in ops if op.process == "final" and op.f == "read" and op.type == "ok"]
    assert finals, "the run has no final reads"
    recovered = {op.key: {canonical(value) for value in op.result} for op in finals}
    acknowledged, _ = writes_from_history(ops, min(op.invoke.time for op in finals))
    return [write for write in acknowledged if canonical(write.value) not in recovered.get(write.key, set())]
