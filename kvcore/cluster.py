"""A cluster node's state (``cluster-enabled yes``): hash slots, their owners, and the checks on keys.

Redis Cluster splits the keyspace in 16384 hash slots (CRC16 of the key, or
of its ``{hash tag}``, modulo 16384). A node knows every node of the cluster
(which it meets and hears from over the cluster bus, `kvcore.cluster_bus`),
the slots each master serves, and serves the keys of its own; it refuses as
a cluster node does every other request with keys: ``-MOVED`` to the slot's
owner, ``-ASK`` during a migration, ``-CROSSSLOT`` for keys in different
slots, ``-CLUSTERDOWN`` for a slot no one serves or while the cluster is
down. The node's ID, epochs and view of the cluster are kept in
``cluster-config-file`` (nodes.conf, in Redis's format), written whenever
they change and read at start.
"""

from __future__ import annotations

from kvcore.commands.table import Flag
from kvcore.effects import LogMessage, WriteFiles
from kvcore.reply import Error

SLOTS = 16384
TRYAGAIN = "TRYAGAIN Multiple keys request during rehashing of slot"
SHARD_PUBSUB = ("ssubscribe", "sunsubscribe", "spublish")  # a replica serves them for its master's slots
CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"
DOWN = "CLUSTERDOWN The cluster is down"
DOWN_READ_ONLY = "CLUSTERDOWN The cluster is down and only accepts read commands"
UNBOUND = "CLUSTERDOWN Hash slot not served"
SCRIPT_CROSSSLOT = "ERR Script attempted to access keys that do not hash to the same slot"
_END = object()  # past the last slot: ends the last run
WRITABLE_DELAY_MS = 2000  # a master's state stays fail this long after the first update (Redis's)
MIN_REJOIN_DELAY_MS, MAX_REJOIN_DELAY_MS = 500, 5000  # the node timeout, clamped: a master back from
# the minority side of a partition waits so long before it serves again
_FLAG_NAMES = {"pfail": "fail?"}


def _crc16_table() -> list[int]:
    """CRC-16/XMODEM (polynomial 0x1021), the checksum the cluster spec names, one byte at a time."""
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return table


_CRC16 = _crc16_table()


def crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


def key_slot(key: bytes) -> int:
    """The key's hash slot: of the part between the first ``{`` and the next ``}`` when that is
    not empty, else of the whole key."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1 : end]
    return crc16(key) & (SLOTS - 1)


class ClusterNode:
    """A node of the cluster as this one sees it (itself too): its address, role, epoch and health."""

    __slots__ = ("id", "ip", "port", "cport", "master_id", "config_epoch", "flags", "ping_sent",
                 "pong_received", "link", "inbound", "fail_reports", "fail_time", "created", "repl_offset",
                 "voted_time", "data_received", "orphaned_time", "hostname")

    def __init__(self, node_id: str, ip: str = "", port: int = 0, cport: int = 0, now: int = 0) -> None:
        self.id = node_id
        self.ip = ip
        self.port = port
        self.cport = cport
        self.master_id = ""  # the master it replicates ("": it is a master)
        self.config_epoch = 0
        self.flags: set[str] = set()  # myself, handshake, meet, pfail, fail, noaddr, nofailover, migrate_to
        # (had replicas)
        self.ping_sent = 0  # ms of the PING not answered yet (0: none)
        self.pong_received = 0
        self.link = None  # kvcore.cluster_bus.Link: this node's connection to it
        self.inbound = None  # its connection to this node
        self.fail_reports: dict[str, int] = {}  # master id -> when it last said this node is failing
        self.fail_time = 0
        self.created = now
        self.repl_offset = 0
        self.voted_time = 0  # as a master this node knows: when this node last voted for a replica of it
        self.data_received = 0  # when it last sent this node a message: it is alive, whatever its PONGs
        self.orphaned_time = 0  # since when, as a master that had replicas, it has none working
        self.hostname = ""  # its cluster-announce-hostname

    @property
    def is_master(self) -> bool:
        return not self.master_id

    @property
    def failing(self) -> bool:
        return "pfail" in self.flags or "fail" in self.flags

    def flag_text(self) -> str:
        """The flags as CLUSTER NODES shows them (PFAIL is ``fail?``)."""
        names = [name for name in ("myself",) if name in self.flags]
        names.append("master" if self.is_master else "slave")
        names += [_FLAG_NAMES.get(name, name) for name in ("pfail", "fail", "handshake", "noaddr", "nofailover")
                  if name in self.flags]
        return ",".join(names)


def new_node_id(rng) -> str:
    return "%040x" % rng.getrandbits(160)


class ClusterState:
    """``node.cluster``: the nodes this one knows, who serves each slot, and the checks on keys.

    The nodes talk over the cluster bus (`kvcore.cluster_bus`); this holds what
    they agree on: every node's role and config epoch, each slot's owner, the
    slots migrating from or importing to this node.
    """

    def __init__(self, node) -> None:
        from kvcore.cluster_bus import Bus  # these read this module's names
        from kvcore.cluster_failover import Failover

        self.node = node
        self.myself = ClusterNode(new_node_id(node.rng), now=node.now)
        self.myself.flags.add("myself")
        self.nodes: dict[str, ClusterNode] = {self.myself.id: self.myself}
        self.current_epoch = 0
        self.last_vote_epoch = 0
        self.owners: list[ClusterNode | None] = [None] * SLOTS  # changed by set_owner / assign only
        self._runs_cache: dict[int, list[tuple[int, int]]] | None = None
        self.migrating: dict[int, ClusterNode] = {}
        self.importing: dict[int, ClusterNode] = {}
        self.forgotten: dict[str, int] = {}  # CLUSTER FORGET: node id -> until when gossip may not add it
        self.state_ok = False
        self.first_update_ms: int | None = None
        self.among_minority_ms: int | None = None  # when this node last saw too few masters for a majority
        self.bus = Bus(self)
        self.failover = Failover(self)

    # -- who is who ---------------------------------------------------------------------
    @property
    def myid(self) -> str:
        return self.myself.id

    @property
    def config_epoch(self) -> int:
        return self.myself.config_epoch

    @config_epoch.setter
    def config_epoch(self, epoch: int) -> None:
        self.myself.config_epoch = epoch

    def serves(self, slot: int) -> bool:
        return self.owners[slot] is self.myself

    @property
    def assigned(self) -> int:
        return SLOTS - self.owners.count(None)

    def _runs(self) -> dict[int, list[tuple[int, int]]]:
        """Every owner's slots as (first, last) runs, by id(owner): worked out in one pass over
        the slots after a change, as messages and CLUSTER NODES read them often."""
        if self._runs_cache is None:
            runs: dict[int, list[tuple[int, int]]] = {}
            owners = self.owners
            start, current = 0, owners[0]
            for slot in range(1, SLOTS + 1):
                owner = owners[slot] if slot < SLOTS else _END
                if owner is not current:
                    if current is not None:
                        runs.setdefault(id(current), []).append((start, slot - 1))
                    start, current = slot, owner
            self._runs_cache = runs
        return self._runs_cache

    def ranges(self, owner: ClusterNode | None = None) -> list[tuple[int, int]]:
        """The slots ``owner`` (this node by default) serves, as (first, last) runs."""
        return self._runs().get(id(owner or self.myself), [])

    def slots_of(self, owner: ClusterNode) -> list[int]:
        return [slot for first, last in self.ranges(owner) for slot in range(first, last + 1)]

    def has_slots(self, owner: ClusterNode) -> bool:
        return id(owner) in self._runs()

    def set_owner(self, slot: int, owner: ClusterNode | None) -> None:
        """Record a slot's owner (no more: `assign` also drops this node's keys in a slot it loses)."""
        self.owners[slot] = owner
        self._runs_cache = None

    def masters_of(self) -> list[ClusterNode]:
        return [n for n in self.nodes.values() if n.is_master and "handshake" not in n.flags]

    def replicas_of(self, master: ClusterNode) -> list[ClusterNode]:
        return sorted((n for n in self.nodes.values() if n.master_id == master.id), key=lambda n: n.id)

    def master_of(self, member: ClusterNode) -> ClusterNode:
        """The master of a node's shard (itself for a master, as far as this node knows)."""
        return self.nodes.get(member.master_id, member) if member.master_id else member

    def epoch_of(self, member: ClusterNode) -> int:
        return self.master_of(member).config_epoch

    def size(self) -> int:
        """Masters serving at least one slot."""
        return len(self._runs())

    def assign(self, slot: int, owner: ClusterNode | None) -> bool:
        """Give a slot to a node (None: to none), and on every node of the shard that served it,
        tell its shard channels' subscribers. True if this node served the slot and another takes
        it: a dirty slot, whose keys the caller drops (`drop_keys_in`) unless the node is about to
        follow the new owner as its replica."""
        before = self.owners[slot]
        self.set_owner(slot, owner)
        if before is None or owner is before:
            return False
        if self.node.pubsub_shard_channels and self.master_of(self.myself) is before:  # its shard served it
            from kvcore.commands.pubsub import unsubscribe_shard_channels_in_slot  # commands import this

            unsubscribe_shard_channels_in_slot(self.node, slot, key_slot)
        return before is self.myself and owner is not None

    def drop_keys_in(self, slots: list[int]) -> None:
        """Delete this node's keys in slots it lost and still serves others beside (Redis's dirty
        slots): its keys must match its slots. They go with a DEL in the log and to the replicas,
        as in Redis 7.2 (7.0 deleted them here only, so a restart from the log or a replica
        promoted brought them back)."""
        wanted = set(slots)
        db = self.node.dbs[0]
        db.drop([key for key in db.data if key_slot(key) in wanted])

    def update_state(self) -> None:
        """clusterUpdateState: ok while every slot is served by a node not failing (or when full
        coverage is not required) and the masters this node can reach are a majority.

        As Redis, a master turns ok no sooner than WRITABLE_DELAY_MS after the first update (a
        rebooted master gives the cluster time to reconfigure it before it takes writes), nor
        sooner than the rejoin delay after it was on the minority side.
        """
        node = self.node
        now = node.steady()
        if node.config["cluster-replica-no-failover"]:  # clusterUpdateMyselfFlags
            self.myself.flags.add("nofailover")
        else:
            self.myself.flags.discard("nofailover")
        if self.first_update_ms is None:
            self.first_update_ms = now
        is_master = not self.myself.master_id
        if is_master and not self.state_ok and now - self.first_update_ms < WRITABLE_DELAY_MS:
            return
        masters = [n for n in self.nodes.values() if self.has_slots(n)]
        covered = not node.config["cluster-require-full-coverage"] or (
            self.assigned == SLOTS and not any("fail" in n.flags for n in masters))
        majority = sum(1 for n in masters if not n.failing) >= len(masters) // 2 + 1
        if not majority:
            self.among_minority_ms = now
        new_state = covered and majority
        if new_state == self.state_ok:
            return
        rejoin_delay = min(max(node.config["cluster-node-timeout"], MIN_REJOIN_DELAY_MS), MAX_REJOIN_DELAY_MS)
        lately_in_minority = self.among_minority_ms is not None and now - self.among_minority_ms < rejoin_delay
        if new_state and is_master and lately_in_minority:
            return
        node.emit(LogMessage("warning", f"Cluster state changed: {'ok' if new_state else 'fail'}"))
        self.state_ok = new_state

    @property
    def ok(self) -> bool:
        return self.state_ok

    def redirect_blocked(self) -> None:
        """clusterRedirectBlockedClientIfNeeded: a client blocked on keys of a slot this node no
        longer serves gets -MOVED (or -CLUSTERDOWN), not an endless wait."""
        from kvcore.blocking import Blocked

        for client in list(self.node.clients.values()):
            record = client.blocked
            if type(record) is not Blocked or not record.keys:
                continue
            if not self.ok:
                self.node.blocking.wake(client, Error(DOWN))
                continue
            slot = key_slot(record.keys[0])
            owner = self.owners[slot]
            cmd = self.node.table.get(record.request[0].lower()) if record.request else None
            if client.read_from_replica and owner is not None and owner.id == self.myself.master_id \
                    and cmd is not None and not cmd.flags & Flag.WRITE:
                continue  # a READONLY client of a replica may wait on its master's keys
            if owner is not self.myself and slot not in self.importing:
                error = UNBOUND if owner is None else f"MOVED {slot} {self._endpoint(owner)}"
                self.node.blocking.wake(client, Error(error))

    def my_offset(self) -> int:
        """replicationGetSlaveOffset for a replica (0 while a full sync's payload is on its way or
        loading: such a replica is not offered to clients), the stream's offset for a master."""
        link = self.node.master_link
        if link is None:
            return self.node.replication.offset
        if link.state == "sync" or self.node.loading_file is not None:
            return 0
        return link.processed_offset

    def offset_of(self, member: ClusterNode) -> int:
        return self.my_offset() if member is self.myself else member.repl_offset

    # -- role changes -----------------------------------------------------------------
    def set_my_master(self, master: ClusterNode) -> None:
        """clusterSetMaster: replicate that master (its slots are no longer this node's)."""
        me = self.myself
        for slot in self.slots_of(me):
            self.set_owner(slot, None)
        self.migrating.clear()
        self.importing.clear()
        me.master_id = master.id
        master.flags.add("migrate_to")
        self.node.set_master(master.ip, master.port)
        self.changed()

    def take_over(self) -> None:
        """CLUSTER FAILOVER TAKEOVER: the shard's master now, under a new epoch and without votes."""
        self.current_epoch += 1
        self.become_shard_master(self.current_epoch)

    def become_shard_master(self, config_epoch: int) -> None:
        """This replica is the master of its shard from now on: its master's slots, under
        ``config_epoch`` (newer than the old master's, so the claim wins everywhere), told to all."""
        me = self.myself
        old = self.nodes[me.master_id]
        me.master_id = ""
        me.config_epoch = config_epoch
        for slot in self.slots_of(old):
            self.set_owner(slot, me)
        self.node.unset_master()
        self.failover.reset_manual()
        self.failover.reset_election()
        self.changed()
        self.bus.broadcast(b"pong", [])

    def lost_all_slots_to(self, winner: ClusterNode) -> None:
        """A master (or this replica's master) whose last slot another master took: its replica now
        (as a master failed over comes back)."""
        self.reconfigure_as_replica_of(
            winner, f"Configuration change detected. Reconfiguring myself as a replica of {winner.id}")

    def reconfigure_as_replica_of(self, winner: ClusterNode, message: str) -> None:
        """Replicate ``winner`` from now on, saying why in the log."""
        self.node.emit(LogMessage("warning", message))
        self.myself.master_id = winner.id
        self.migrating.clear()
        self.importing.clear()
        self.failover.reset_manual()
        self.node.set_master(winner.ip, winner.port)

    def reset(self, hard: bool) -> None:
        """CLUSTER RESET: forget every other node and every slot; a replica becomes an empty master;
        HARD: a new ID and epochs from zero."""
        me = self.myself
        if not me.is_master:
            me.master_id = ""
            self.node.unset_master()
            for db in self.node.dbs:
                db.clear()
        for member in [n for n in self.nodes.values() if n is not me]:
            self.bus.forget(member)
        for slot in range(SLOTS):
            if self.owners[slot] is not None:
                self.assign(slot, None)  # shard channels' subscribers told, as for any slot lost
        self.migrating.clear()
        self.importing.clear()
        if hard:
            self.current_epoch = self.last_vote_epoch = me.config_epoch = 0
            del self.nodes[me.id]
            me.id = new_node_id(self.node.rng)
            self.nodes[me.id] = me
        self.changed()

    # -- what CLUSTER shows ------------------------------------------------------------
    def info(self) -> str:
        assigned = self.assigned
        pfail = sum(len(self.slots_of(n)) for n in self.nodes.values() if "pfail" in n.flags)
        fail = sum(len(self.slots_of(n)) for n in self.nodes.values() if "fail" in n.flags)
        lines = [
            f"cluster_state:{'ok' if self.ok else 'fail'}",
            f"cluster_slots_assigned:{assigned}",
            f"cluster_slots_ok:{assigned - pfail - fail}",
            f"cluster_slots_pfail:{pfail}",
            f"cluster_slots_fail:{fail}",
            f"cluster_known_nodes:{len(self.nodes)}",
            f"cluster_size:{self.size()}",
            f"cluster_current_epoch:{self.current_epoch}",
            f"cluster_my_epoch:{self.epoch_of(self.myself)}",
        ]
        lines += self.bus.stats_lines()
        lines.append(f"total_cluster_links_buffer_limit_exceeded:{self.bus.links_freed_over_limit}")
        return "\r\n".join(lines) + "\r\n"

    def announced_port(self) -> int:
        return self.node.config["cluster-announce-port"] or self.node.config["port"]

    def announced_cport(self) -> int:
        config = self.node.config
        return config["cluster-announce-bus-port"] or config["cluster-port"] or config["port"] + 10000

    def announced_ip(self) -> str:
        return self.node.config["cluster-announce-ip"] or self.myself.ip

    def hostname_of(self, member: ClusterNode) -> str:
        return self.node.config["cluster-announce-hostname"] if member is self.myself else member.hostname

    def ip_of(self, member: ClusterNode) -> str:
        return self.announced_ip() if member is self.myself else member.ip

    def preferred_endpoint(self, member: ClusterNode) -> str | None:
        """cluster-preferred-endpoint-type: the node's IP, its hostname ("?" without one), or
        None (unknown-endpoint)."""
        kind = self.node.config["cluster-preferred-endpoint-type"]
        if kind == "ip":
            return self.ip_of(member)
        if kind == "hostname":
            return self.hostname_of(member) or "?"
        return None

    def node_line(self, member: ClusterNode) -> str:
        """A node's CLUSTER NODES line (nodes.conf's too)."""
        if member is self.myself:
            ip, port, cport = self.announced_ip(), self.announced_port(), self.announced_cport()
        else:
            ip, port, cport = member.ip, member.port, member.cport
        hostname = self.hostname_of(member)
        connected = member is self.myself or (member.link is not None and member.link.up)
        fields = [member.id, f"{ip}:{port}@{cport}" + (f",{hostname}" if hostname else ""), member.flag_text(),
                  member.master_id or "-",
                  str(member.ping_sent), str(member.pong_received), str(self.epoch_of(member)),
                  "connected" if connected else "disconnected"]
        fields += [str(a) if a == b else f"{a}-{b}" for a, b in self.ranges(member)]
        if member is self.myself:
            fields += [f"[{slot}->-{to.id}]" for slot, to in sorted(self.migrating.items())]
            fields += [f"[{slot}-<-{source.id}]" for slot, source in sorted(self.importing.items())]
        return " ".join(fields) + "\n"

    def nodes_text(self) -> str:
        members = [self.myself] + [n for n in self.nodes.values() if n is not self.myself]
        return "".join(self.node_line(member) for member in members)

    # -- nodes.conf -------------------------------------------------------------------
    def config_text(self) -> bytes:
        members = [n for n in self.nodes.values() if "handshake" not in n.flags]
        return ("".join(self.node_line(member) for member in members)
                + f"vars currentEpoch {self.current_epoch} lastVoteEpoch {self.last_vote_epoch}\n").encode()

    def changed(self) -> None:
        """Write nodes.conf (to a temporary file, fsynced, renamed over it), as Redis saves it on
        every change; the cluster's state is worked out again."""
        self.update_state()
        node = self.node
        path = node.config["cluster-config-file"]
        job = node.new_job()
        temp = f"{path}.tmp-{job}"
        steps = (("write", temp), ("fsync", temp), ("rename", temp, path))
        node.emit(WriteFiles(job, path, self.config_text(), False, steps, kind="nodes.conf"))

    def load_at_start(self, text: bytes | None) -> tuple[bool, str]:
        """nodes.conf as the server starts (None: there is none, and it is written now): whether
        it could be read, and the line to log."""
        if text is None:
            self.changed()
            return True, f"No cluster configuration found, I'm {self.myid}"
        try:
            self._load(text.decode())
        except (ValueError, IndexError, UnicodeDecodeError):
            return False, "Unrecoverable error: corrupted cluster config file."
        self.update_state()
        master = self.nodes.get(self.myself.master_id)
        if master is not None and master.ip:  # a replica before its data loads: expired keys stay, as Redis's
            self.node.set_master(master.ip, master.port)
        return True, f"Node configuration loaded, I'm {self.myid}"

    def _load(self, text: str) -> None:
        lines = [line.split() for line in text.splitlines() if line.split()]
        moving: list[tuple[str, int, str]] = []  # this node's slots migrating (->) or importing (<-), by node id
        for fields in lines:
            if fields[0] == "vars":
                values = dict(zip(fields[1::2], fields[2::2]))
                self.current_epoch = int(values.get("currentEpoch", 0))
                self.last_vote_epoch = int(values.get("lastVoteEpoch", 0))
                continue
            flags = fields[2].split(",")
            address, _, cport = fields[1].partition("@")
            cport, _, hostname = cport.partition(",")
            ip, _, port = address.rpartition(":")
            if "myself" in flags:
                member = self.myself
                del self.nodes[member.id]
                member.id = fields[0]
                member.ip = ip
            else:
                member = ClusterNode(fields[0], ip, int(port), int(cport or 0), self.node.now)
                member.hostname = hostname
                member.flags.update(flag for flag in flags if flag in ("fail", "noaddr", "nofailover"))
            self.nodes[member.id] = member
            member.master_id = "" if fields[3] == "-" else fields[3]
            member.config_epoch = int(fields[6])
            for run in fields[8:]:
                if run.startswith("["):  # [slot->-id] migrating to, [slot-<-id] importing from
                    slot, direction, node_id = run[1:-1].partition("->-" if "->-" in run else "-<-")
                    moving.append((direction, int(slot), node_id))
                    continue
                first, _, last = run.partition("-")
                for slot in range(int(first), int(last or first) + 1):
                    self.set_owner(slot, member)
        for direction, slot, node_id in moving:
            if node_id in self.nodes:
                (self.migrating if direction == "->-" else self.importing)[slot] = self.nodes[node_id]
        for member in list(self.nodes.values()):
            if member.master_id in self.nodes:
                self.nodes[member.master_id].flags.add("migrate_to")

    # -- the checks on a request -------------------------------------------------------
    def refusal(self, client, cmd, argv: list[bytes]) -> Error | None:
        """getNodeByQuery: the error for a request whose keys this node may not serve (EXEC: for
        the keys of every command queued): -MOVED to their slot's owner, -ASK for a key missing
        from a slot migrating away, -CROSSSLOT, -CLUSTERDOWN."""
        asking = client.asking
        if cmd.name != "asking":
            client.asking = False  # ASKING is good for the one command after it
        requests = (client.multi or []) if cmd.name == "exec" else [(cmd, argv)]
        return self._route(requests, client, asking)[0]

    def _route(self, requests, client=None, asking: bool = False) -> tuple[Error | None, int | None]:
        """The refusal for requests (or None) and the slot of their keys (None without keys)."""
        slot = None
        writes = False
        keys = []
        shard_pubsub = all(queued.name in SHARD_PUBSUB for queued, _ in requests)
        for queued, queued_argv in requests:
            for index in queued.key_positions(queued_argv):
                this = key_slot(queued_argv[index])
                if slot is None:
                    slot = this
                    if self.owners[slot] is None:
                        return Error(UNBOUND), slot
                elif this != slot:
                    return Error(CROSSSLOT), slot
                keys.append(queued_argv[index])
            writes = writes or bool(queued.flags & Flag.WRITE) or self._script_writes(queued, queued_argv)
        if slot is None:
            return None, None
        if not self.ok and not (shard_pubsub and self.node.config["cluster-allow-pubsubshard-when-down"]):
            if not self.node.config["cluster-allow-reads-when-down"]:
                return Error(DOWN), slot
            if writes:
                return Error(DOWN_READ_ONLY), slot
        owner = self.owners[slot]
        migrating = owner is self.myself and slot in self.migrating
        importing = not migrating and slot in self.importing
        if (migrating or importing) and not shard_pubsub:
            db = self.node.dbs[0]
            present = sum(1 for key in keys if db.peek(key) is not None)
            missing = len(keys) - present
            if migrating and missing:
                if present:
                    return Error(TRYAGAIN), slot
                return Error(f"ASK {slot} {self._endpoint(self.migrating[slot])}"), slot
            if importing and (asking or any(queued.flags & Flag.ASKING for queued, _ in requests)):
                return (Error(TRYAGAIN) if len(keys) > 1 and missing else None), slot
        if owner is self.myself:
            return None, slot
        if client is not None and (client.read_from_replica or shard_pubsub) and not writes \
                and self.myself.master_id == owner.id:
            return None, slot
        return Error(f"MOVED {slot} {self._endpoint(owner)}"), slot

    def _script_writes(self, cmd, argv: list[bytes]) -> bool:
        """A script or function declared (shebang, flags) without no-writes: a write to Redis."""
        from kvcore.scripting import declared_flags  # scripting imports this module

        flags = declared_flags(self.node, cmd, argv)
        return flags is not None and "no-writes" not in flags

    def _endpoint(self, member: ClusterNode) -> str:
        return f"{self.preferred_endpoint(member) or ''}:{member.port}"

    def script_refusal(self, script, cmd, argv: list[bytes]) -> Error | None:
        """scriptVerifyClusterState: a command a script runs must have keys this node serves, and
        a script that may use one slot only (a shebang or a function without allow-cross-slot-keys)
        keys of the slot of those it used (or declared) first."""
        error, slot = self._route([(cmd, argv)])
        if error is not None:
            return Error(SCRIPT_REFUSALS.get(error.text, SCRIPT_NOT_LOCAL))
        if slot is not None and script.one_slot:
            if script.slot is None:
                script.slot = slot
            elif slot != script.slot:
                return Error(SCRIPT_CROSSSLOT)
        return None


SCRIPT_NOT_LOCAL = "ERR Script attempted to access a non local key in a cluster node script"
SCRIPT_REFUSALS = {
    DOWN: "ERR Script attempted to execute a command while the cluster is down",
    DOWN_READ_ONLY: "ERR Script attempted to execute a write command while the cluster is down and readonly",
}
