"""The cluster's commands.

Without ``cluster-enabled`` (the default), as redis-server without it: CLUSTER
(every subcommand), READONLY, READWRITE and ASKING exist (clients send them to
learn the server's mode, ACL rules and scripts name them) and answer that
cluster support is disabled. With it, the node is a cluster of one
(`kvcore.cluster`): its slots are assigned and shown as Redis's are, and the
subcommands that name other nodes answer as for a node it does not know.
"""

from __future__ import annotations

from kvcore.cluster import SLOTS, key_slot
from kvcore.commands.args import parse_int
from kvcore.commands.table import Flag, Registry
from kvcore.reply import OK, Error, Map, Simple, Verbatim

REGISTRY = Registry("cluster")
command = REGISTRY.command

DISABLED = "ERR This instance has cluster support disabled"
CONNECTION = ("connection",)


def _cluster(client):
    """The node's cluster state, or Redis's error when cluster mode is off."""
    cluster = client.node.cluster
    if cluster is None:
        raise Error(DISABLED)
    return cluster


@command("readonly", 1, Flag.LOADING | Flag.STALE | Flag.FAST, categories=CONNECTION, since="3.0.0")
def readonly(client, argv):
    """READONLY (a node of one has no replicas to read from: nothing changes)"""
    _cluster(client)
    return OK


@command("readwrite", 1, Flag.LOADING | Flag.STALE | Flag.FAST, categories=CONNECTION, since="3.0.0")
def readwrite(client, argv):
    """READWRITE"""
    _cluster(client)
    return OK


@command("asking", 1, Flag.FAST, categories=CONNECTION, since="3.0.0")
def asking(client, argv):
    """ASKING (no slot migrates to a node of one)"""
    _cluster(client)
    return OK


CLUSTER = command("cluster", -2, since="3.0.0")(None)
_ADMIN = Flag.ADMIN | Flag.STALE
_ADMIN_ONLINE = _ADMIN | Flag.NO_ASYNC_LOADING
_VARYING = ("nondeterministic_output",)
# (subcommand, arity, flags, tips, since), as Redis 7.0 declares them
SUBCOMMANDS = [
    ("addslots", -3, _ADMIN_ONLINE, (), "3.0.0"),
    ("addslotsrange", -4, _ADMIN_ONLINE, (), "7.0.0"),
    ("bumpepoch", 2, _ADMIN_ONLINE, _VARYING, "3.0.0"),
    ("count-failure-reports", 3, _ADMIN, _VARYING, "3.0.0"),
    ("countkeysinslot", 3, Flag.STALE, (), "3.0.0"),
    ("delslots", -3, _ADMIN_ONLINE, (), "3.0.0"),
    ("delslotsrange", -4, _ADMIN_ONLINE, (), "7.0.0"),
    ("failover", -2, _ADMIN_ONLINE, (), "3.0.0"),
    ("flushslots", 2, _ADMIN_ONLINE, (), "3.0.0"),
    ("forget", 3, _ADMIN_ONLINE, (), "3.0.0"),
    ("getkeysinslot", 4, Flag.STALE, _VARYING, "3.0.0"),
    ("help", 2, Flag.LOADING | Flag.STALE, (), "5.0.0"),
    ("info", 2, Flag.STALE, _VARYING, "3.0.0"),
    ("keyslot", 3, Flag.STALE, (), "3.0.0"),
    ("links", 2, Flag.STALE, _VARYING, "7.0.0"),
    ("meet", -4, _ADMIN_ONLINE, (), "3.0.0"),
    ("myid", 2, Flag.STALE, (), "3.0.0"),
    ("nodes", 2, Flag.STALE, _VARYING, "3.0.0"),
    ("replicas", 3, _ADMIN, _VARYING, "5.0.0"),
    ("replicate", 3, _ADMIN_ONLINE, (), "3.0.0"),
    ("reset", -2, _ADMIN | Flag.NOSCRIPT, (), "3.0.0"),
    ("saveconfig", 2, _ADMIN_ONLINE, (), "3.0.0"),
    ("set-config-epoch", 3, _ADMIN_ONLINE, (), "3.0.0"),
    ("setslot", -4, _ADMIN_ONLINE, (), "3.0.0"),
    ("shards", 2, Flag.STALE, _VARYING, "7.0.0"),
    ("slaves", 3, _ADMIN, _VARYING, "3.0.0"),
    ("slots", 2, Flag.STALE, _VARYING, "3.0.0"),
]


UNKNOWN_NODE = "ERR Unknown node %s"
BAD_SLOT = "ERR Invalid or out of range slot"


def _slot(arg: bytes, error: str = BAD_SLOT) -> int:
    try:
        slot = int(arg)
    except ValueError:
        raise Error(error) from None
    if not 0 <= slot < SLOTS:
        raise Error(error)
    return slot


def _slot_list(argv: list[bytes], ranges: bool) -> list[int]:
    """The slots ADDSLOTS/DELSLOTS (or their RANGE forms, by pairs) name, each once."""
    if not ranges:
        slots = [_slot(arg) for arg in argv[2:]]
    else:
        if len(argv) % 2:
            raise Error(f"ERR wrong number of arguments for 'cluster|{argv[1].lower().decode()}' command")
        slots = []
        for first, last in zip(argv[2::2], argv[3::2]):
            start, end = _slot(first), _slot(last)
            if start > end:
                raise Error(f"ERR start slot number {start} is greater than end slot number {end}")
            slots.extend(range(start, end + 1))
    seen = set()
    for slot in slots:
        if slot in seen:
            raise Error(f"ERR Slot {slot} specified multiple times")
        seen.add(slot)
    return slots


def cluster_assign(client, argv):
    """CLUSTER ADDSLOTS / ADDSLOTSRANGE / DELSLOTS / DELSLOTSRANGE"""
    cluster = _cluster(client)
    sub = argv[1].lower()
    slots = _slot_list(argv, sub.endswith(b"range"))
    adding = sub.startswith(b"add")
    for slot in slots:
        if adding and cluster.slots[slot]:
            raise Error(f"ERR Slot {slot} is already busy")
        if not adding and not cluster.slots[slot]:
            raise Error(f"ERR Slot {slot} is already unassigned")
    for slot in slots:
        cluster.slots[slot] = 1 if adding else 0
    cluster.changed()
    return OK


def cluster_flushslots(client, argv):
    """CLUSTER FLUSHSLOTS"""
    cluster = _cluster(client)
    if len(client.node.dbs[0]):
        raise Error("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")
    cluster.slots[:] = bytes(SLOTS)
    cluster.changed()
    return OK


def cluster_info(client, argv):
    """CLUSTER INFO"""
    return Verbatim(_cluster(client).info().encode())


def cluster_myid(client, argv):
    """CLUSTER MYID"""
    return _cluster(client).myid.encode()


def cluster_nodes(client, argv):
    """CLUSTER NODES"""
    return Verbatim(_cluster(client).nodes_line().encode())


def cluster_slots(client, argv):
    """CLUSTER SLOTS: each run of slots, served here (with no IP known, Redis shows an empty one)."""
    cluster = _cluster(client)
    me = [b"", client.node.config["port"], cluster.myid.encode(), Map([])]  # the last: no hostname to announce
    return [[first, last, me] for first, last in cluster.ranges()]


def cluster_shards(client, argv):
    """CLUSTER SHARDS: the one shard, this node its master."""
    cluster = _cluster(client)
    me = Map([(b"id", cluster.myid.encode()), (b"port", client.node.config["port"]), (b"ip", b""),
              (b"endpoint", b""), (b"role", b"master"), (b"replication-offset", client.node.replication.offset),
              (b"health", b"online")])
    slots = [bound for run in cluster.ranges() for bound in run]
    return [Map([(b"slots", slots), (b"nodes", [me])])]


def cluster_keyslot(client, argv):
    """CLUSTER KEYSLOT key"""
    _cluster(client)
    return key_slot(argv[2])


def cluster_countkeysinslot(client, argv):
    """CLUSTER COUNTKEYSINSLOT slot"""
    _cluster(client)
    slot = _slot(argv[2], "ERR Invalid slot")
    return sum(1 for key in client.node.dbs[0].data if key_slot(key) == slot)


def cluster_getkeysinslot(client, argv):
    """CLUSTER GETKEYSINSLOT slot count"""
    _cluster(client)
    try:
        slot, count = int(argv[2]), int(argv[3])
    except ValueError:
        raise Error("ERR Invalid slot or number of keys") from None
    if not 0 <= slot < SLOTS or count < 0:
        raise Error("ERR Invalid slot or number of keys")
    keys = [key for key in client.node.dbs[0].data if key_slot(key) == slot]
    return sorted(keys)[:count]


def cluster_bumpepoch(client, argv):
    """CLUSTER BUMPEPOCH: a new config epoch, unless the node's is already the greatest there is."""
    cluster = _cluster(client)
    if cluster.config_epoch and cluster.config_epoch == max(cluster.config_epoch, cluster.current_epoch):
        return Simple(f"STILL {cluster.config_epoch}")
    cluster.current_epoch += 1
    cluster.config_epoch = cluster.current_epoch
    cluster.changed()
    return Simple(f"BUMPED {cluster.config_epoch}")


def cluster_set_config_epoch(client, argv):
    """CLUSTER SET-CONFIG-EPOCH epoch"""
    cluster = _cluster(client)
    epoch = parse_int(argv[2])
    if epoch < 0:
        raise Error(f"ERR Invalid config epoch specified: {epoch}")
    if cluster.config_epoch:
        raise Error("ERR Node config epoch is already non-zero")
    cluster.config_epoch = epoch
    cluster.current_epoch = max(cluster.current_epoch, epoch)
    cluster.changed()
    return OK


def cluster_links(client, argv):
    """CLUSTER LINKS: a node of one has no links to other nodes."""
    _cluster(client)
    return []


def cluster_unknown_node(client, argv):
    """CLUSTER COUNT-FAILURE-REPORTS / FORGET / REPLICATE / REPLICAS / SLAVES <node-id>: the only
    node known is this one."""
    cluster = _cluster(client)
    node_id = argv[2].decode("utf-8", "replace")
    sub = argv[1].lower()
    if node_id == cluster.myid and sub == b"forget":
        raise Error("ERR I tried hard but I can't forget myself...")
    if node_id == cluster.myid and sub == b"replicate":
        raise Error("ERR Can't replicate myself")
    if node_id == cluster.myid and sub in (b"replicas", b"slaves"):
        return []
    if node_id == cluster.myid and sub == b"count-failure-reports":
        return 0
    raise Error(UNKNOWN_NODE % node_id)


def cluster_setslot(client, argv):
    """CLUSTER SETSLOT slot IMPORTING|MIGRATING|NODE node-id | STABLE"""
    cluster = _cluster(client)
    _slot(argv[2], "ERR Invalid slot")
    action = argv[3].lower()
    if action == b"stable" and len(argv) == 4:
        return OK
    if action in (b"importing", b"migrating", b"node") and len(argv) == 5:
        node_id = argv[4].decode("utf-8", "replace")
        if node_id != cluster.myid:
            raise Error(UNKNOWN_NODE % node_id)
        slot = int(argv[2])
        if action == b"migrating" and not cluster.slots[slot]:
            raise Error("ERR I'm not the owner of hash slot %d" % slot)
        if action == b"importing" and cluster.slots[slot]:
            raise Error("ERR I'm already the owner of hash slot %d" % slot)
        if action == b"node":
            cluster.slots[slot] = 1
            cluster.changed()
        return OK  # migrating to itself or importing from itself: nothing moves
    raise Error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")


def cluster_meet(client, argv):
    """CLUSTER MEET ip port [cluster-bus-port]: nodes cannot meet yet (no cluster bus)."""
    _cluster(client)
    for arg in argv[3:5]:
        if not arg.isdigit() or int(arg) > 65535:
            raise Error(f"ERR Invalid TCP base port specified: {arg.decode('utf-8', 'replace')}")
    raise Error("ERR This node does not meet other nodes: kvserver's cluster mode has one node")


def cluster_failover(client, argv):
    """CLUSTER FAILOVER [FORCE|TAKEOVER]"""
    _cluster(client)
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"force", b"takeover")):
        raise Error("ERR syntax error")
    raise Error("ERR You should send CLUSTER FAILOVER to a replica")


def cluster_reset(client, argv):
    """CLUSTER RESET [HARD|SOFT]"""
    cluster = _cluster(client)
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"hard", b"soft")):
        raise Error("ERR syntax error")
    if len(client.node.dbs[0]):
        raise Error("ERR CLUSTER RESET can't be called with master nodes containing keys")
    cluster.slots[:] = bytes(SLOTS)
    if len(argv) == 3 and argv[2].lower() == b"hard":
        cluster.current_epoch = cluster.config_epoch = 0
        cluster.myid = "%040x" % client.node.rng.getrandbits(160)
    cluster.changed()
    return OK


def cluster_saveconfig(client, argv):
    """CLUSTER SAVECONFIG"""
    _cluster(client).changed()
    return OK


def cluster_help(client, argv):
    """CLUSTER HELP"""
    _cluster(client)
    return [Simple(line) for line in HELP]


HELP = [
    "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ADDSLOTS <slot> [<slot> ...]", "    Assign slots to current node.",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Assign slots which are between <start-slot> and <end-slot> to current node.",
    "BUMPEPOCH", "    Advance the cluster config epoch.",
    "COUNT-FAILURE-REPORTS <node-id>", "    Return number of failure reports for <node-id>.",
    "COUNTKEYSINSLOT <slot>", "    Return the number of keys in <slot>.",
    "DELSLOTS <slot> [<slot> ...]", "    Delete slots information from current node.",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
    "FAILOVER [FORCE|TAKEOVER]", "    Promote current replica node to being a master.",
    "FORGET <node-id>", "    Remove a node from the cluster.",
    "GETKEYSINSLOT <slot> <count>", "    Return key names stored by current node in a slot.",
    "FLUSHSLOTS", "    Delete current node own slots information.",
    "INFO", "    Return information about the cluster.",
    "KEYSLOT <key>", "    Return the hash slot for <key>.",
    "MEET <ip> <port> [<bus-port>]", "    Connect nodes into a working cluster.",
    "MYID", "    Return the node id.",
    "NODES", "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "REPLICATE <node-id>", "    Configure current node as replica to <node-id>.",
    "RESET [HARD|SOFT]", "    Reset current node (default: soft).",
    "SET-CONFIG-EPOCH <epoch>", "    Set config epoch of current node.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "    Set slot state.",
    "REPLICAS <node-id>", "    Return <node-id> replicas.",
    "SAVECONFIG", "    Force saving cluster configuration on disk.",
    "SLOTS", "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "SHARDS", "    Return information about slot range mappings and the nodes associated with them.",
    "LINKS", "    Return information about all network links between this node and its peers.",
    "    Output format is an array where each array element is a map containing attributes of a link",
    "HELP", "    Prints this help.",
]

HANDLERS = {
    "addslots": cluster_assign, "addslotsrange": cluster_assign, "delslots": cluster_assign,
    "delslotsrange": cluster_assign, "flushslots": cluster_flushslots, "info": cluster_info, "myid": cluster_myid,
    "nodes": cluster_nodes, "slots": cluster_slots, "shards": cluster_shards, "keyslot": cluster_keyslot,
    "countkeysinslot": cluster_countkeysinslot, "getkeysinslot": cluster_getkeysinslot,
    "bumpepoch": cluster_bumpepoch, "set-config-epoch": cluster_set_config_epoch, "links": cluster_links,
    "count-failure-reports": cluster_unknown_node, "forget": cluster_unknown_node,
    "replicate": cluster_unknown_node, "replicas": cluster_unknown_node, "slaves": cluster_unknown_node,
    "setslot": cluster_setslot, "meet": cluster_meet, "failover": cluster_failover, "reset": cluster_reset,
    "saveconfig": cluster_saveconfig, "help": cluster_help,
}

for _name, _arity, _flags, _tips, _since in SUBCOMMANDS:
    command(_name, _arity, _flags, parent=CLUSTER, tips=_tips, since=_since)(HANDLERS[_name])
