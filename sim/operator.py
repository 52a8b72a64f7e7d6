"""The cluster's operator: moves hash slots between shards while clients use them, as
``redis-cli --cluster reshard`` does (the ``reshard`` fault, `sim.cluster` worlds only).

For each slot: the destination master imports it (CLUSTER SETSLOT IMPORTING),
the source master migrates it (SETSLOT MIGRATING), the source's keys in it go
over in batches (CLUSTER GETKEYSINSLOT, then MIGRATE ... REPLACE KEYS), and
both masters, then the others, are told the destination owns it (SETSLOT NODE).
Meanwhile the source serves the keys it still has and answers ``-ASK`` for the
others, and the slot's clients follow the ``-MOVED`` that comes after.

Each MIGRATE is recorded in the history as it answers: the keys it moved carry
what was left of their TTLs (as Redis's MIGRATE sends them), so their deadlines
came later by the transfer's time, and the expiry and reference checkers stop
judging across it (`jepsen_like.expiry.CRASH_FAULTS`).

Faults interrupt it (a node down, a link cut, a failover changing a shard's
master): a step that fails is tried again from the start after
`RETRY_MS`, against the shards' masters of the moment, until the slot has
moved; every step is one the state it meets allows (a destination that owns
the slot already goes straight to telling the others). A slot whose move has
not ended when the run is judged is left out of the `placement` verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import hiredis
from simpy.events import Event

from sim.client import encode
from sim.net import FIN, RST, SERVICE_PORT, SYN_ACK, Conn

HOST, ADDRESS = "operator", "10.0.255.1"
CALL_TIMEOUT_MS = 2000
RETRY_MS = 500
MIGRATE_BATCH = 10
MIGRATE_TIMEOUT_MS = 1000


@dataclass(eq=False)
class _Link:
    conn: Conn
    reader: hiredis.Reader = field(default_factory=hiredis.Reader)
    waiting: Event | None = None  # succeeds with the replies, or None if the link fails
    replies: list = field(default_factory=list)
    expected: int = 0


class Operator:
    """A host of the simulated network that talks to the nodes as an administrator."""

    def __init__(self, world) -> None:
        self.world = world
        self.env = world.env
        self.links: dict[str, _Link] = {}
        self.moving: set[int] = set()  # slots whose move has begun and not ended
        world.net.add_host(HOST, self, ADDRESS)

    # -- moving slots --------------------------------------------------------------------
    def move(self, slots: list[int], source_shard: int, target_shard: int):
        """Move `slots` (a SimPy process body) from one shard to another, slot by slot."""
        self.moving.update(slots)
        for slot in slots:
            while not (yield from self._move_slot(slot, source_shard, target_shard)):
                yield self.env.timeout(RETRY_MS)
            self.moving.discard(slot)
            self.world.slot_moved(slot, target_shard)

    def _move_slot(self, slot: int, source_shard: int, target_shard: int):
        """One attempt; True once every master has been told the target owns the slot."""
        source, target = self.world.shard_master(source_shard), self.world.shard_master(target_shard)
        if source is None or target is None:
            return False
        ids = {name: self.world.nodes[name].core.cluster.myself.id.encode() for name in (source, target)}
        slot_arg = b"%d" % slot
        reply = yield from self.call(target, [b"CLUSTER", b"SETSLOT", slot_arg, b"IMPORTING", ids[source]])
        owned = _error(reply, "ERR I'm already the owner")
        if not owned:
            if reply != b"OK":
                return False
            reply = yield from self.call(source, [b"CLUSTER", b"SETSLOT", slot_arg, b"MIGRATING", ids[target]])
            if reply != b"OK" and not _error(reply, "ERR I'm not the owner"):
                return False
            if reply == b"OK" and not (yield from self._migrate_keys(slot_arg, source, target)):
                return False
        for name in (target, source, *self.world.masters()):
            reply = yield from self.call(name, [b"CLUSTER", b"SETSLOT", slot_arg, b"NODE", ids[target]])
            if reply != b"OK" and name in (target, source):
                return False
        return True

    def _migrate_keys(self, slot_arg: bytes, source: str, target: str):
        address = self.world.net.addresses[target].encode()
        while True:
            keys = yield from self.call(source, [b"CLUSTER", b"GETKEYSINSLOT", slot_arg, b"%d" % MIGRATE_BATCH])
            if type(keys) is not list:
                return False
            if not keys:
                return True
            reply = yield from self.call(source, [b"MIGRATE", address, b"%d" % SERVICE_PORT, b"", b"0",
                                                  b"%d" % MIGRATE_TIMEOUT_MS, b"REPLACE", b"KEYS", *keys])
            self.world.record_nemesis("reshard", {"event": f"start migrate {len(keys)} keys of slot {slot_arg.decode()}"})
            if reply != b"OK":
                return False

    # -- talking to nodes ------------------------------------------------------------------
    def call(self, node: str, command: list[bytes]):
        """`command`'s reply from `node` (a SimPy process body), or None if the node cannot be
        reached or does not answer within `CALL_TIMEOUT_MS`."""
        link = self.links.get(node)
        if link is None:
            link = self.links[node] = _Link(self.world.net.connect(HOST, node))
            if (yield from self._wait(node, link)) is None:
                return None
        link.replies, link.expected = [], 1
        link.conn.ab.push(encode([command]))
        replies = yield from self._wait(node, link)
        return None if replies is None else replies[0]

    def _wait(self, node: str, link: _Link):
        """What `link` is waiting for (True once connected, the replies), or None if it failed or
        timed out (it is dropped then)."""
        link.waiting = Event(self.env)
        done = yield link.waiting | self.env.timeout(CALL_TIMEOUT_MS)
        value = done[link.waiting] if link.waiting in done else None
        if value is None:
            self._drop(node)
        return value

    def _drop(self, node: str) -> None:
        link = self.links.pop(node, None)
        if link is not None:
            self.world.net.send(link.conn, HOST, FIN)

    def receive(self, conn: Conn, item: bytes | str) -> None:
        link = self.links.get(conn.b)
        if link is None or link.conn is not conn:
            return
        if item is SYN_ACK:
            _succeed(link.waiting, True)
        elif item in (FIN, RST):
            self.links.pop(conn.b, None)
            _succeed(link.waiting, None)
        elif type(item) is bytes:
            link.reader.feed(item)
            while (reply := link.reader.gets()) is not False:
                link.replies.append(reply)
            if link.expected and len(link.replies) >= link.expected:
                _succeed(link.waiting, link.replies)


def _succeed(event: Event | None, value) -> None:
    if event is not None and not event.triggered:
        event.succeed(value)


def _error(reply, prefix: str) -> bool:
    return type(reply) is hiredis.ReplyError and str(reply).startswith(prefix)
