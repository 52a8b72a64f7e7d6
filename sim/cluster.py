"""A world in cluster mode (``RunConfig.cluster``): every node cluster-enabled, the slots split
among the primaries, each primary's replicas its shard's.

The nodes meet through their cluster bus (`sim.net.BUS_PORT`), over the same
simulated links clients use, so partitions, lag and pauses reach the gossip too.
The cluster is made as ``redis-cli --cluster create`` leaves it, but written
down before the first start: each node's ``nodes.conf`` names every node (ids
drawn from the seed), the slot ranges of each primary and the master of each
replica, so the run starts from an agreed configuration instead of a meeting
phase. ``cluster-node-timeout`` (`NODE_TIMEOUT_MS`) outlasts every fault, so no
node is failed over on its own: a failover would lose acknowledged writes,
which Redis Cluster allows and the checkers do not. For that reason too a
cluster gets no clock faults (`sim.world.fault_plan`): a clock jumping ahead
of the timeout makes a node take its peers for failed. Failovers come by
hand, as the ``failover`` fault: CLUSTER FAILOVER on a replica, which waits
until it has every write of its master.

Clients find a key's node as a cluster client does: from the slot of its hash
tag (computed here, apart from kvcore's), and from the ``-MOVED`` replies that
correct them (`Routing`); a ``-MOVED`` naming another slot than the key's is a
reply no correct server gives. Slots move between shards by the ``reshard``
fault (`sim.operator`); `Shards` follows the moves that ended. Once the run is
over, every node must hold only keys of its own shard's slots (`placement`): a
node that took a key in the wrong slot (a hash slot computed wrongly, a key
left behind by a move) is caught even if every reply was right.
"""

from __future__ import annotations

import binascii
import hashlib

from jepsen_like.verdict import Verdict, invalid, unknown, valid
from sim.net import BUS_PORT, SERVICE_PORT

SLOTS = 16384
NODE_TIMEOUT_MS = 30_000  # longer than any fault lasts (sim.faults: at most 5 s), overlaps included
OPTIONS = {"cluster-enabled": "yes", "cluster-node-timeout": str(NODE_TIMEOUT_MS), "cluster-config-file": "nodes.conf"}
CHECKER = "placement"


def key_slot(key: bytes) -> int:
    """The cluster spec's hash slot: CRC16 (XMODEM) of the hash tag, or of the key if it has none."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return binascii.crc_hqx(key, 0) % SLOTS


def slot_ranges(primaries: int) -> list[tuple[int, int]]:
    """Each primary's slots, first to last, as equal as they divide."""
    return [(i * SLOTS // primaries, (i + 1) * SLOTS // primaries - 1) for i in range(primaries)]


def home_shard(slot: int, shards: int) -> int:
    """The shard whose range (`slot_ranges`) holds `slot` at the start."""
    return next(shard for shard, (first, last) in enumerate(slot_ranges(shards)) if first <= slot <= last)


def node_id(seed: int, name: str) -> str:
    return hashlib.sha1(f"kvsim/{seed}/{name}".encode()).hexdigest()


def nodes_conf(seed: int, layout: list[tuple[str, str, str | None]], me: str) -> bytes:
    """The ``nodes.conf`` node `me` starts from: every node of `layout` (`sim.replication.layout`),
    its address, role, master and (primaries) slots; epochs as after a cluster's creation."""
    primaries = [(name, address) for name, address, primary in layout if primary is None]
    by_address = {address: name for name, address, _ in layout}
    ranges = dict(zip((name for name, _ in primaries), slot_ranges(len(primaries))))
    lines = []
    for name, address, primary in layout:
        flags = ("myself," if name == me else "") + ("master" if primary is None else "slave")
        master = "-" if primary is None else node_id(seed, by_address[primary])
        epoch = [p for p, _ in primaries].index(name) + 1 if primary is None else 0
        slots = "%d-%d" % ranges[name] if primary is None else ""
        lines.append(f"{node_id(seed, name)} {address}:{SERVICE_PORT}@{BUS_PORT} {flags} {master} 0 0 {epoch} connected {slots}".rstrip())
    lines.append(f"vars currentEpoch {len(primaries)} lastVoteEpoch 0")
    return ("\n".join(lines) + "\n").encode()


class Routing:
    """Which node clients send a slot's keys to: its primary at the start, then wherever a
    ``-MOVED`` said it is."""

    def __init__(self, primaries: list[str], addresses: dict[str, str]) -> None:
        self.primaries = primaries
        self.by_address = {f"{address}:{SERVICE_PORT}": name for name, address in addresses.items()}
        self.moved: dict[int, str] = {}

    def node_for(self, key: bytes) -> str:
        slot = key_slot(key)
        moved = self.moved.get(slot)
        return moved if moved is not None else self.primaries[home_shard(slot, len(self.primaries))]

    def redirected(self, key: bytes, refusal: str) -> str | None:
        """A refusal of an operation on `key`: after ``MOVED <slot> <ip:port>`` the slot's keys go
        there. What no correct server says, if it did: a slot that is not the key's, or a node
        that is none of the cluster's."""
        words = refusal.split()
        if not words or words[0] != "MOVED":
            return None
        if len(words) != 3 or words[2] not in self.by_address or words[1] != str(key_slot(key)):
            return f"{refusal!r} for {key!r}, whose slot is {key_slot(key)}"
        self.moved[key_slot(key)] = self.by_address[words[2]]
        return None


class Shards:
    """The world's shards (a primary of the layout and its replicas, by index) and which slots
    each should serve: its range at the start, changed by every slot move that ended (`moved`)."""

    def __init__(self, layout: list[tuple[str, str, str | None]]) -> None:
        primaries = [name for name, _, primary in layout if primary is None]
        by_address = {address: name for name, address, _ in layout}
        self.index = {name: primaries.index(name if primary is None else by_address[primary])
                      for name, _, primary in layout}
        self.members = [[name for name in self.index if self.index[name] == shard] for shard in range(len(primaries))]
        self.moves: dict[int, int] = {}  # slot -> the shard it moved to (set by `sim.world.World.slot_moved`)

    def of_slot(self, slot: int) -> int:
        moved = self.moves.get(slot)
        return moved if moved is not None else home_shard(slot, len(self.members))

    def slots(self, shard: int) -> set[int]:
        first, last = slot_ranges(len(self.members))[shard]
        slots = {slot for slot in range(first, last + 1) if self.moves.get(slot, shard) == shard}
        return slots | {slot for slot, to in self.moves.items() if to == shard}


def placement(cores: dict, shards: Shards, unfinished: dict | None = None) -> Verdict:
    """Every slot move has ended (`unfinished`: slot -> `sim.operator.Stuck`, why its last try
    failed; unknown if only because a node was unavailable), and every key every node holds is in
    a slot of its shard."""
    if unfinished:
        wrong = {slot: stuck for slot, stuck in unfinished.items() if not stuck.unavailable}
        slot, stuck = next(iter((wrong or unfinished).items()))
        text = f"{len(unfinished)} slot moves never ended after the faults healed; slot {slot}: {stuck.why}"
        evidence = {str(slot): stuck.why for slot, stuck in unfinished.items()}
        return invalid(CHECKER, text, unfinished=evidence) if wrong else unknown(CHECKER, text, unfinished=evidence)
    misplaced = []
    for name, core in cores.items():
        if core is None:
            continue
        shard = shards.index[name]
        for db in core.dbs:
            misplaced += [(name, db.index, key) for key in db.data if shards.of_slot(key_slot(key)) != shard]
    if misplaced:
        name, db, key = misplaced[0]
        return invalid(CHECKER, f"{len(misplaced)} keys held outside their node's slots; first: {key!r} (slot {key_slot(key)}) "
                       f"on {name}, db {db}", misplaced=len(misplaced))
    return valid(CHECKER, f"every key of {len(cores)} nodes in one of its shard's slots")
