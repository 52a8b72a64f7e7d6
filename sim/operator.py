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
the slot already goes straight to telling the others). Once the faults have
healed a move must end: one still under way when the run is judged fails the
`placement` verdict, with why its last try failed, unless a node was only
unavailable then (down, silent, or refusing as while faults last: the verdict
is unknown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import hiredis
from simpy.events import Event

from sim.client import encode
from sim.net import FIN, RST, SERVICE_PORT, SYN_ACK, Conn
from sim.workloads import REFUSALS

HOST, ADDRESS = "operator", "10.0.255.1"
CALL_TIMEOUT_MS = 2000
RETRY_MS = 500
MIGRATE_BATCH = 10
MIGRATE_TIMEOUT_MS = 1000
MIGRATE_TARGET_ERROR = "ERR Target instance replied with error: "
UNAVAILABLE = (*(refusal for refusal in REFUSALS if refusal not in ("MOVED", "ASK")), "IOERR")  # a redirection is
# no answer to an operator's command (nor to MIGRATE's RESTORE-ASKING): it is a wrong one


@dataclass(eq=False)
class _Link:
    conn: Conn
    reader: hiredis.Reader = field(default_factory=hiredis.Reader)
    waiting: Event | None = None  # succeeds with True once connected, then with the replies; None if the link fails
    replies: list = field(default_factory=list)


class Operator:
    """A host of the simulated network that talks to the nodes as an administrator."""

    def __init__(self, world) -> None:
        self.world = world
        self.env = world.env
        self.links: dict[str, _Link] = {}
        self.moving: dict[int, Stuck] = {}  # slots whose move has begun and not ended -> why the last try failed
        world.net.add_host(HOST, self, ADDRESS)

    # -- moving slots --------------------------------------------------------------------
    def move(self, slots: list[int], source_shard: int, target_shard: int):
        """Move `slots` (a SimPy process body) from one shard to another, slot by slot."""
        self.moving.update(dict.fromkeys(slots, Stuck("not tried yet", unavailable=True)))
        for slot in slots:
            while (stuck := (yield from self._move_slot(slot, source_shard, target_shard))) is not None:
                if stuck.unavailable == self.moving[slot].unavailable or not stuck.unavailable:
                    self.moving[slot] = stuck  # a wrong answer is kept over later unavailability
                yield self.env.timeout(RETRY_MS)
            del self.moving[slot]
            self.world.slot_moved(slot, target_shard)

    def _move_slot(self, slot: int, source_shard: int, target_shard: int):
        """One attempt: None once every master has been told the target owns the slot, else why not (`Stuck`)."""
        source, target = self.world.shard_master(source_shard), self.world.shard_master(target_shard)
        if source is None or target is None:
            return Stuck("a shard without one master up", unavailable=True)
        ids = {name: self.world.nodes[name].core.cluster.myself.id.encode() for name in (source, target)}
        slot_arg = b"%d" % slot
        reply = yield from self.call(target, [b"CLUSTER", b"SETSLOT", slot_arg, b"IMPORTING", ids[source]])
        owned = _error(reply, "ERR I'm already the owner")
        if not owned:
            if reply != b"OK":
                return _failed(f"SETSLOT IMPORTING on {target}", reply)
            reply = yield from self.call(source, [b"CLUSTER", b"SETSLOT", slot_arg, b"MIGRATING", ids[target]])
            if reply != b"OK" and not _error(reply, "ERR I'm not the owner"):
                return _failed(f"SETSLOT MIGRATING on {source}", reply)
            if reply == b"OK":
                why = yield from self._migrate_keys(slot_arg, source, target)
                if why is not None:
                    return why
        for name in (target, source, *self.world.masters()):
            reply = yield from self.call(name, [b"CLUSTER", b"SETSLOT", slot_arg, b"NODE", ids[target]])
            if reply != b"OK" and name in (target, source):
                return _failed(f"SETSLOT NODE on {name}", reply)
        return None

    def _migrate_keys(self, slot_arg: bytes, source: str, target: str):
        address = self.world.net.addresses[target].encode()
        while True:
            keys = yield from self.call(source, [b"CLUSTER", b"GETKEYSINSLOT", slot_arg, b"%d" % MIGRATE_BATCH])
            if type(keys) is not list:
                return _failed(f"GETKEYSINSLOT on {source}", keys)
            if not keys:
                return None
            reply = yield from self.call(source, [b"MIGRATE", address, b"%d" % SERVICE_PORT, b"", b"0",
                                                  b"%d" % MIGRATE_TIMEOUT_MS, b"REPLACE", b"KEYS", *keys])
            self.world.record_nemesis("reshard", {"event": f"start migrate {len(keys)} keys of slot {slot_arg.decode()}"})
            if reply != b"OK":
                return _failed(f"MIGRATE on {source}", reply)

    # -- talking to nodes ------------------------------------------------------------------
    def call(self, node: str, command: list[bytes]):
        """`command`'s reply from `node` (a SimPy process body), or None if the node cannot be
        reached or does not answer within `CALL_TIMEOUT_MS`."""
        link = self.links.get(node)
        if link is None:
            link = self.links[node] = _Link(self.world.net.connect(HOST, node))
            if (yield from self._wait(node, link)) is None:
                return None
        link.replies = []
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
            if link.replies:
                _succeed(link.waiting, link.replies)


class Stuck(NamedTuple):
    """Why a try to move a slot failed: `unavailable` when a node was down, silent or refusing
    as a node may while faults last (-CLUSTERDOWN, -MISCONF...), not when it gave a wrong answer."""

    why: str
    unavailable: bool


def _failed(step: str, reply) -> Stuck:
    """A step's failure: unavailable if the node (or MIGRATE's target) did not answer or refused as
    nodes do while faults last."""
    error = str(reply).removeprefix(MIGRATE_TARGET_ERROR) if type(reply) is hiredis.ReplyError else ""
    unavailable = reply is None or error.startswith(UNAVAILABLE)
    return Stuck(f"{step}: {'no answer' if reply is None else repr(reply)}", unavailable)


def _succeed(event: Event | None, value) -> None:
    if event is not None and not event.triggered:
        event.succeed(value)


def _error(reply, prefix: str) -> bool:
    return type(reply) is hiredis.ReplyError and str(reply).startswith(prefix)
