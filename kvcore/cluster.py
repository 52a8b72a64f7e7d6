"""A cluster node of one (``cluster-enabled yes``): hash slots, their owner, and the checks on keys.

Redis Cluster splits the keyspace in 16384 hash slots (CRC16 of the key, or
of its ``{hash tag}``, modulo 16384). kvserver's cluster mode is a single
shard: its node owns the slots assigned to it (CLUSTER ADDSLOTS and the
like) and serves the keys in them, and refuses as a cluster node does every
other request with keys: ``-CROSSSLOT`` for keys in different slots,
``-CLUSTERDOWN`` for a slot no one serves or while not every slot is served
(``cluster-require-full-coverage``). Nodes do not meet (there is no cluster
bus yet): CLUSTER MEET and the commands naming another node answer as for
an unknown node. The node's ID, epochs and slots are kept in
``cluster-config-file`` (nodes.conf, in Redis's format), written whenever
they change and read at start.
"""

from __future__ import annotations

from kvcore.commands.table import Flag
from kvcore.effects import WriteFiles
from kvcore.reply import Error

SLOTS = 16384
CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"
DOWN = "CLUSTERDOWN The cluster is down"
DOWN_READ_ONLY = "CLUSTERDOWN The cluster is down and only accepts read commands"
UNBOUND = "CLUSTERDOWN Hash slot not served"
SCRIPT_CROSSSLOT = "ERR Script attempted to access keys that do not hash to the same slot"


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


class ClusterState:
    """``node.cluster``: this node's ID, its epochs and the slots it serves."""

    def __init__(self, node) -> None:
        self.node = node
        self.myid = "%040x" % node.rng.getrandbits(160)
        self.current_epoch = 0
        self.config_epoch = 0
        self.slots = bytearray(SLOTS)  # 1: served here

    # -- state -------------------------------------------------------------------------
    @property
    def assigned(self) -> int:
        return self.slots.count(1)

    @property
    def ok(self) -> bool:
        return self.assigned == SLOTS or (not self.node.config["cluster-require-full-coverage"] and self.assigned > 0)

    def ranges(self) -> list[tuple[int, int]]:
        """The slots served here, as (first, last) runs."""
        runs = []
        start = None
        for slot in range(SLOTS + 1):
            served = slot < SLOTS and self.slots[slot]
            if served and start is None:
                start = slot
            elif not served and start is not None:
                runs.append((start, slot - 1))
                start = None
        return runs

    # -- what CLUSTER shows ------------------------------------------------------------
    def info(self) -> str:
        assigned = self.assigned
        lines = [
            f"cluster_state:{'ok' if self.ok else 'fail'}",
            f"cluster_slots_assigned:{assigned}",
            f"cluster_slots_ok:{assigned}",
            "cluster_slots_pfail:0",
            "cluster_slots_fail:0",
            "cluster_known_nodes:1",
            f"cluster_size:{1 if assigned else 0}",
            f"cluster_current_epoch:{self.current_epoch}",
            f"cluster_my_epoch:{self.config_epoch}",
            "cluster_stats_messages_sent:0",
            "cluster_stats_messages_received:0",
            "total_cluster_links_buffer_limit_exceeded:0",
        ]
        return "\r\n".join(lines) + "\r\n"

    def nodes_line(self) -> str:
        """This node's CLUSTER NODES line (it knows no IP of its own until another node tells it)."""
        port = self.node.config["port"]
        bus_port = self.node.config["cluster-port"] or port + 10000
        slots = " ".join(str(a) if a == b else f"{a}-{b}" for a, b in self.ranges())
        return (f"{self.myid} :{port}@{bus_port} myself,master - 0 0 {self.config_epoch} connected"
                + (f" {slots}" if slots else "") + "\n")

    # -- nodes.conf -------------------------------------------------------------------
    def config_text(self) -> bytes:
        return (self.nodes_line() + f"vars currentEpoch {self.current_epoch} lastVoteEpoch 0\n").encode()

    def changed(self) -> None:
        """Write nodes.conf (to a temporary file, fsynced, renamed over it), as Redis saves it on every change."""
        node = self.node
        path = node.config["cluster-config-file"]
        job = node.new_job()
        temp = f"{path}.tmp-{job}"
        steps = (("write", temp), ("fsync", temp), ("rename", temp, path))
        node.emit(WriteFiles(job, path, self.config_text(), False, steps, kind="nodes.conf"))

    def load_at_start(self, text: bytes | None) -> tuple[bool, str]:
        """nodes.conf as the server starts (None: there is none, and it is written now): whether
        it could be read, and the line to log. Only this node's line and the vars line matter to
        a node of one."""
        if text is None:
            self.changed()
            return True, f"No cluster configuration found, I'm {self.myid}"
        try:
            for line in text.decode().splitlines():
                fields = line.split()
                if not fields:
                    continue
                if fields[0] == "vars":
                    values = dict(zip(fields[1::2], fields[2::2]))
                    self.current_epoch = int(values.get("currentEpoch", 0))
                elif "myself" in fields[2].split(","):
                    self.myid, self.config_epoch = fields[0], int(fields[6])
                    for run in fields[8:]:
                        if run.startswith("["):
                            continue  # a slot migrating or importing
                        first, _, last = run.partition("-")
                        self.slots[int(first) : int(last or first) + 1] = b"\x01" * (int(last or first) - int(first) + 1)
        except (ValueError, IndexError, UnicodeDecodeError):
            return False, "Unrecoverable error: corrupted cluster config file."
        return True, f"Node configuration loaded, I'm {self.myid}"

    # -- the checks on a request -------------------------------------------------------
    def refusal(self, client, cmd, argv: list[bytes]) -> Error | None:
        """getNodeByQuery for a node of one: the error for a request whose keys it may not serve
        (EXEC: for the keys of every command queued)."""
        requests = (client.multi or []) if cmd.name == "exec" else [(cmd, argv)]
        return self._route(requests)[0]

    def _route(self, requests) -> tuple[Error | None, int | None]:
        """The refusal for requests (or None) and the slot of their keys (None without keys)."""
        slot = None
        writes = False
        for queued, queued_argv in requests:
            for index in queued.key_positions(queued_argv):
                this = key_slot(queued_argv[index])
                if slot is None:
                    slot = this
                    if not self.slots[slot]:
                        return Error(UNBOUND), slot
                elif this != slot:
                    return Error(CROSSSLOT), slot
            writes = writes or bool(queued.flags & Flag.WRITE)
        if slot is not None and not self.ok:
            if not self.node.config["cluster-allow-reads-when-down"]:
                return Error(DOWN), slot
            if writes:
                return Error(DOWN_READ_ONLY), slot
        return None, slot

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
