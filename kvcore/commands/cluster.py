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
    """READONLY: as a replica, serve reads of the slots of its master"""
    _cluster(client)
    client.read_from_replica = True
    return OK


@command("readwrite", 1, Flag.LOADING | Flag.STALE | Flag.FAST, categories=CONNECTION, since="3.0.0")
def readwrite(client, argv):
    """READWRITE"""
    _cluster(client)
    client.read_from_replica = False
    return OK


@command("asking", 1, Flag.FAST, categories=CONNECTION, since="3.0.0")
def asking(client, argv):
    """ASKING: the next command may use a slot being imported here"""
    _cluster(client)
    client.asking = True
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
        if adding and cluster.owners[slot] is not None:
            raise Error(f"ERR Slot {slot} is already busy")
        if not adding and cluster.owners[slot] is None:
            raise Error(f"ERR Slot {slot} is already unassigned")
    for slot in slots:
        cluster.importing.pop(slot, None)
        cluster.assign(slot, cluster.myself if adding else None)
    cluster.changed()
    return OK


def cluster_flushslots(client, argv):
    """CLUSTER FLUSHSLOTS"""
    cluster = _cluster(client)
    if len(client.node.dbs[0]):
        raise Error("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")
    for slot in cluster.slots_of(cluster.myself):
        cluster.assign(slot, None)
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
    return Verbatim(_cluster(client).nodes_text().encode())


def _endpoint(cluster, member) -> list:
    """A node as CLUSTER SLOTS shows it (addNodeToNodeReply): its preferred endpoint, port, ID, and
    the other endpoints it has (IP, hostname) as metadata."""
    port = cluster.announced_port() if member is cluster.myself else member.port
    preferred = cluster.preferred_endpoint(member)
    kind = cluster.node.config["cluster-preferred-endpoint-type"]
    hostname = cluster.hostname_of(member)
    metadata = [(b"ip", cluster.ip_of(member).encode())] if kind != "ip" else []
    if kind != "hostname" and hostname:
        metadata.append((b"hostname", hostname.encode()))
    return [None if preferred is None else preferred.encode(), port, member.id.encode(), Map(metadata)]


def cluster_slots(client, argv):
    """CLUSTER SLOTS: each run of slots with one owner, in slot order: the owner, then its replicas
    not failed."""
    cluster = _cluster(client)
    rows = []
    for owner in [n for n in cluster.nodes.values() if cluster.has_slots(n)]:
        replicas = [_endpoint(cluster, r) for r in cluster.replicas_of(owner)
                    if "fail" not in r.flags and cluster.offset_of(r)]  # loading, or never synced: not shown
        for first, last in cluster.ranges(owner):
            rows.append([first, last, _endpoint(cluster, owner), *replicas])
    return sorted(rows, key=lambda row: row[0])


def cluster_shards(client, argv):
    """CLUSTER SHARDS: each master's slots, then it and its replicas."""
    cluster = _cluster(client)
    shards = []
    for master in sorted(cluster.masters_of(), key=lambda m: m.id):
        members = [master] + cluster.replicas_of(master)
        slots = [bound for run in cluster.ranges(master) for bound in run]
        shards.append(Map([(b"slots", slots), (b"nodes", [_shard_member(cluster, m) for m in members])]))
    return shards


def _shard_member(cluster, member) -> Map:
    me = member is cluster.myself
    offset = cluster.offset_of(member)
    preferred = cluster.preferred_endpoint(member)
    hostname = cluster.hostname_of(member)
    fields = [(b"id", member.id.encode()), (b"port", cluster.announced_port() if me else member.port),
              (b"ip", cluster.ip_of(member).encode()), (b"endpoint", (preferred or "").encode())]
    if hostname:
        fields.append((b"hostname", hostname.encode()))
    fields += [(b"role", b"master" if member.is_master else b"replica"), (b"replication-offset", offset),
               (b"health", b"fail" if member.failing else b"online" if offset or member.is_master else b"loading")]
    return Map(fields)


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
    greatest = max(member.config_epoch for member in cluster.nodes.values())
    if cluster.config_epoch and cluster.config_epoch == greatest:
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
    if len(cluster.nodes) > 1:
        raise Error("ERR The user can assign a config epoch only when the node does not know any other node.")
    if cluster.config_epoch:
        raise Error("ERR Node config epoch is already non-zero")
    cluster.config_epoch = epoch
    cluster.current_epoch = max(cluster.current_epoch, epoch)
    cluster.changed()
    return OK


def cluster_links(client, argv):
    """CLUSTER LINKS: each bus connection to or from a known node."""
    cluster = _cluster(client)
    return [Map([(b"direction", direction.encode()), (b"node", link.node.id.encode()),
                 (b"create-time", link.created), (b"events", b"rw" if direction == "to" else b"r"),
                 (b"send-buffer-allocated", link.unsent), (b"send-buffer-used", link.unsent)])
            for link, direction in cluster.bus.link_rows()]


def _known(cluster, arg: bytes):
    member = cluster.nodes.get(arg.decode("utf-8", "replace"))
    if member is None:
        raise Error(UNKNOWN_NODE % arg.decode("utf-8", "replace"))
    return member


def cluster_count_failure_reports(client, argv):
    """CLUSTER COUNT-FAILURE-REPORTS node-id"""
    cluster = _cluster(client)
    return len(_known(cluster, argv[2]).fail_reports)


def cluster_forget(client, argv):
    """CLUSTER FORGET node-id: the node goes, and gossip may not bring it back for a minute."""
    cluster = _cluster(client)
    member = _known(cluster, argv[2])
    if member is cluster.myself:
        raise Error("ERR I tried hard but I can't forget myself...")
    if cluster.myself.master_id == member.id:
        raise Error("ERR Can't forget my master!")
    cluster.forgotten[member.id] = client.node.now + 60_000
    cluster.bus.forget(member)
    cluster.changed()
    return OK


def cluster_replicate(client, argv):
    """CLUSTER REPLICATE node-id: this node becomes a replica of that master."""
    cluster = _cluster(client)
    member = _known(cluster, argv[2])
    if member is cluster.myself:
        raise Error("ERR Can't replicate myself")
    if not member.is_master:
        raise Error("ERR I can only replicate a master, not a replica.")
    me = cluster.myself
    if me.is_master and (cluster.has_slots(me) or len(client.node.dbs[0])):
        raise Error("ERR To set a master the node must be empty and without assigned slots.")
    cluster.set_my_master(member)
    return OK


def cluster_replicas(client, argv):
    """CLUSTER REPLICAS / SLAVES node-id: the CLUSTER NODES lines of its replicas."""
    cluster = _cluster(client)
    member = _known(cluster, argv[2])
    if not member.is_master:
        raise Error("ERR The specified node is not a master")
    return [cluster.node_line(replica).rstrip("\n").encode() for replica in cluster.replicas_of(member)]


def cluster_setslot(client, argv):
    """CLUSTER SETSLOT slot IMPORTING|MIGRATING|NODE node-id | STABLE"""
    cluster = _cluster(client)
    if not cluster.myself.is_master:
        raise Error("ERR Please use SETSLOT only with masters.")
    slot = _slot(argv[2], "ERR Invalid slot")
    action = argv[3].lower()
    if action == b"stable" and len(argv) == 4:
        cluster.migrating.pop(slot, None)
        cluster.importing.pop(slot, None)
        cluster.changed()
        return OK
    if action not in (b"importing", b"migrating", b"node") or len(argv) != 5:
        raise Error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")
    node_id = argv[4].decode("utf-8", "replace")
    member = cluster.nodes.get(node_id)
    if action == b"migrating":
        if not cluster.serves(slot):
            raise Error("ERR I'm not the owner of hash slot %d" % slot)
        if member is None:
            raise Error(f"ERR I don't know about node {node_id}")
        if not member.is_master:
            raise Error("ERR Target node is not a master")
        cluster.migrating[slot] = member
    elif action == b"importing":
        if cluster.serves(slot):
            raise Error("ERR I'm already the owner of hash slot %d" % slot)
        if member is None:
            raise Error(f"ERR I don't know about node {node_id}")
        if not member.is_master:
            raise Error("ERR Target node is not a master")
        cluster.importing[slot] = member
    else:
        _set_slot_node(client, cluster, slot, member, node_id)
    cluster.changed()
    return OK


def _set_slot_node(client, cluster, slot: int, member, node_id: str) -> None:
    """SETSLOT NODE: the slot's owner from now on; a slot imported here takes a new config epoch,
    so that this node's claim wins (clusterBumpConfigEpochWithoutConsensus)."""
    if member is None:
        raise Error(UNKNOWN_NODE % node_id)
    if not member.is_master:
        raise Error("ERR Target node is not a master")
    if cluster.serves(slot) and member is not cluster.myself \
            and any(key_slot(key) == slot for key in client.node.dbs[0].data):
        raise Error(f"ERR Can't assign hashslot {slot} to a different node while I still hold keys for this "
                    "hash slot.")
    if member is not cluster.myself:
        cluster.migrating.pop(slot, None)
    imported = member is cluster.myself and cluster.importing.pop(slot, None) is not None
    was_mine = cluster.serves(slot)
    cluster.assign(slot, member)
    if was_mine and member is not cluster.myself and not cluster.has_slots(cluster.myself) \
            and client.node.config["cluster-allow-replica-migration"]:
        cluster.lost_all_slots_to(member)  # a master left without slots: a replica of who took them
    if imported:
        greatest = max(m.config_epoch for m in cluster.nodes.values())
        if cluster.config_epoch == 0 or cluster.config_epoch != greatest:
            cluster.current_epoch += 1
            cluster.config_epoch = cluster.current_epoch


def cluster_meet(client, argv):
    """CLUSTER MEET ip port [cluster-bus-port]: a handshake with that node begins."""
    cluster = _cluster(client)
    for arg in argv[3:5]:
        if not arg.isdigit() or int(arg) > 65535:
            raise Error(f"ERR Invalid TCP base port specified: {arg.decode('utf-8', 'replace')}")
    if len(argv) > 5:
        raise Error("ERR syntax error")
    ip = argv[2].decode("utf-8", "replace")
    port = int(argv[3])
    cport = int(argv[4]) if len(argv) == 5 else port + 10000
    if not _valid_ip(ip):
        raise Error(f"ERR Invalid node address specified: {ip}:{port}")
    cluster.bus.meet(ip, port, cport)
    return OK


def _valid_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def cluster_failover(client, argv):
    """CLUSTER FAILOVER [FORCE|TAKEOVER]: this replica becomes its master's master (kvcore.cluster_failover)."""
    cluster = _cluster(client)
    option = argv[2].lower() if len(argv) == 3 else None
    if len(argv) > 3 or option not in (None, b"force", b"takeover"):
        raise Error("ERR syntax error")
    if cluster.myself.is_master:
        raise Error("ERR You should send CLUSTER FAILOVER to a replica")
    master = cluster.nodes.get(cluster.myself.master_id)
    if master is None:
        raise Error("ERR I'm a replica but my master is unknown to me")
    if option is None and ("fail" in master.flags or master.link is None or not master.link.up):
        raise Error("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")
    if option == b"takeover":
        cluster.take_over()
    else:
        cluster.failover.start_manual(force=option == b"force")
    return OK


def cluster_reset(client, argv):
    """CLUSTER RESET [HARD|SOFT]"""
    cluster = _cluster(client)
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"hard", b"soft")):
        raise Error("ERR syntax error")
    if cluster.myself.is_master and len(client.node.dbs[0]):
        raise Error("ERR CLUSTER RESET can't be called with master nodes containing keys")
    cluster.reset(hard=len(argv) == 3 and argv[2].lower() == b"hard")
    return OK


def cluster_saveconfig(client, argv):
    """CLUSTER SAVECONFIG"""
    _cluster(client).changed()
    return OK


def debug_clusterlink(client, argv):
    """DEBUG CLUSTERLINK KILL to|from|all node-id: close this node's bus links with that node."""
    cluster = client.node.cluster
    if cluster is None:
        raise Error("ERR Debug option only available for cluster mode enabled setup!")
    if argv[2].lower() != b"kill":
        raise Error("ERR Unknown subcommand or wrong number of arguments for 'clusterlink'. Try DEBUG HELP.")
    member = cluster.nodes.get(argv[4].decode("utf-8", "replace"))
    if member is None:
        raise Error(f"ERR Unknown node {argv[4].decode('utf-8', 'replace')}")
    direction = argv[3].lower()
    if direction not in (b"to", b"from", b"all"):
        raise Error(f"ERR Unknown direction {argv[3].decode('utf-8', 'replace')}")
    links = {b"to": [member.link], b"from": [member.inbound], b"all": [member.link, member.inbound]}[direction]
    for link in links:
        if link is not None:
            cluster.bus.drop(link)
    return OK


def debug_drop_cluster_packet_filter(client, argv):
    """DEBUG DROP-CLUSTER-PACKET-FILTER type: ignore the bus messages of that type (-1: none)."""
    cluster = client.node.cluster
    if cluster is None:
        raise Error("ERR Debug option only available for cluster mode enabled setup!")
    cluster.bus.drop_filter = parse_int(argv[2])
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
    "count-failure-reports": cluster_count_failure_reports, "forget": cluster_forget,
    "replicate": cluster_replicate, "replicas": cluster_replicas, "slaves": cluster_replicas,
    "setslot": cluster_setslot, "meet": cluster_meet, "failover": cluster_failover, "reset": cluster_reset,
    "saveconfig": cluster_saveconfig, "help": cluster_help,
}

for _name, _arity, _flags, _tips, _since in SUBCOMMANDS:
    command(_name, _arity, _flags, parent=CLUSTER, tips=_tips, since=_since)(HANDLERS[_name])
