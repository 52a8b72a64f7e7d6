"""Replication commands: REPLICAOF/SLAVEOF and ROLE, a master's SYNC, PSYNC and REPLCONF, and WAIT.

The stream and backlog are `kvcore.replication`'s, the replica's link to its
master `kvcore.replica`'s; these handlers check arguments as Redis 7.0 does
and hand over.
"""

from __future__ import annotations

from kvcore import errors
from kvcore.blocking import Blocked
from kvcore.client import ReplyMode
from kvcore.commands.args import parse_int
from kvcore.commands.connection import TIMEOUT_NOT_INTEGER
from kvcore.commands.table import Flag, Registry
from kvcore.dispatch import NO_REPLY
from kvcore.effects import LogMessage
from kvcore.failover import NO_FAILOVER, find_replica
from kvcore.reply import OK, Error, Simple

REGISTRY = Registry("server")
command = REGISTRY.command
_GENERIC = Registry("generic")

PENDING_OUTPUT = "ERR SYNC and PSYNC are invalid with pending output"
NO_MASTER_LINK = "NOMASTERLINK Can't SYNC while not connected with my master"
INVALID_PORT = "ERR Invalid master port"
SYNC_WHILE_FAILING_OVER = "NOMASTERLINK Can't SYNC while failing over"
WAIT_ON_REPLICA = (
    "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica "
    "is configured to be writable (which is not the default) writes to replicas are just local and are "
    "not propagated."
)
SYNC_FLAGS = Flag.ADMIN | Flag.NOSCRIPT | Flag.NO_ASYNC_LOADING | Flag.NO_MULTI
REPLICAOF_FLAGS = Flag.ADMIN | Flag.NOSCRIPT | Flag.STALE | Flag.NO_ASYNC_LOADING
DANGEROUS = ("admin", "dangerous")


# -- a replica's side --------------------------------------------------------------

@command("replicaof", 3, REPLICAOF_FLAGS, categories=DANGEROUS, since="5.0.0")
def replicaof(client, argv):
    """REPLICAOF host port | NO ONE"""
    node = client.node
    if node.config["cluster-enabled"]:
        raise Error("ERR REPLICAOF not allowed in cluster mode.")
    if node.failover.state != NO_FAILOVER:
        raise Error("ERR REPLICAOF not allowed while failing over.")
    host, port_text = argv[1], argv[2]
    if host.lower() == b"no" and port_text.lower() == b"one":
        if node.is_replica:
            node.unset_master()
            node.emit(LogMessage("notice", f"MASTER MODE enabled (user request from '{client.info_line(argv)}')"))
        return OK
    if "S" in client.flags_extra:
        raise Error("ERR Command is not valid when client is a replica.")
    try:
        port = int(port_text)
    except ValueError:
        raise Error(INVALID_PORT) from None
    if not 0 <= port <= 65535:
        raise Error(INVALID_PORT)
    name = host.decode("utf-8", "replace")
    link = node.master_link
    if link is not None and link.host.lower() == name.lower() and link.port == port:
        node.emit(LogMessage("notice", "REPLICAOF would result into synchronization with the master we are "
                                       "already connected with. No operation performed."))
        return Simple("OK Already connected to specified master")
    node.set_master(name, port)
    node.emit(LogMessage("notice", f"REPLICAOF {name}:{port} enabled (user request from '{client.info_line(argv)}')"))
    return OK


@command("failover", -1, Flag.ADMIN | Flag.NOSCRIPT | Flag.STALE, categories=DANGEROUS, since="6.2.0")
def failover(client, argv):
    """FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]"""
    node = client.node
    if node.config["cluster-enabled"]:
        raise Error("ERR FAILOVER not allowed in cluster mode.")
    if len(argv) == 2 and argv[1].lower() == b"abort":
        if node.failover.state == NO_FAILOVER:
            raise Error("ERR No failover in progress.")
        node.failover.abort("Failover manually aborted")
        return OK
    timeout_ms, force, host, port = 0, False, None, 0
    index = 1
    while index < len(argv):
        word = argv[index].lower()
        if word == b"timeout" and index + 1 < len(argv) and not timeout_ms:
            timeout_ms = parse_int(argv[index + 1])
            if timeout_ms <= 0:
                raise Error("ERR FAILOVER timeout must be greater than 0")
            index += 2
        elif word == b"to" and index + 2 < len(argv) and host is None:
            port = parse_int(argv[index + 2])
            host = argv[index + 1].decode("utf-8", "replace")
            index += 3
        elif word == b"force" and not force:
            force = True
            index += 1
        else:
            raise Error(errors.SYNTAX)
    if node.failover.state != NO_FAILOVER:
        raise Error("ERR FAILOVER already in progress.")
    if node.is_replica:
        raise Error("ERR FAILOVER is not valid when server is a replica.")
    stream = node.replication
    if not stream.attached():
        raise Error("ERR FAILOVER requires connected replicas.")
    if force and not (timeout_ms and host is not None):
        raise Error("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
    if host is not None:
        target = find_replica(stream, host, port)
        if target is None:
            raise Error("ERR FAILOVER target HOST and PORT is not a replica.")
        if target not in stream.replicas:
            raise Error("ERR FAILOVER target replica is not online.")
    node.failover.start(host, port, timeout_ms, force)
    return OK


@command("slaveof", 3, REPLICAOF_FLAGS, categories=DANGEROUS)
def slaveof(client, argv):
    """SLAVEOF host port | NO ONE"""
    return replicaof(client, argv)


@command("role", 1, Flag.NOSCRIPT | Flag.LOADING | Flag.STALE | Flag.FAST, categories=DANGEROUS, since="2.8.12")
def role(client, argv):
    """ROLE"""
    node = client.node
    link = node.master_link
    if link is not None:
        offset = link.processed_offset if link.client is not None else -1
        return [b"slave", link.host.encode(), link.port, link.state.encode(), offset]
    stream = node.replication
    replicas = []
    for replica in stream.replicas:
        info = stream.links[replica]
        replicas.append([stream.replica_ip(replica).encode(), b"%d" % info.listening_port, b"%d" % info.ack_offset])
    return [b"master", stream.offset, replicas]


# -- a master's side -----------------------------------------------------------------

def _may_sync(client, argv: list[bytes]) -> bool:
    """SYNC and PSYNC's checks; False when the client is a replica already (nothing is sent).

    A PSYNC whose fourth argument is FAILOVER comes from a master handing over
    its role (kvcore.failover): with this node's replication id, this node
    becomes a master first, and the PSYNC goes on as any other.
    """
    node = client.node
    if client in node.replication.replicas:
        return False
    if len(argv) > 3 and argv[0].lower() == b"psync" and argv[3].lower() == b"failover":
        node.emit(LogMessage("warning", f"Failover request received for replid {argv[1].decode('utf-8', 'replace')}."))
        if not node.is_replica:
            raise Error("ERR PSYNC FAILOVER can't be sent to a master.")
        if argv[1].decode("latin-1").lower() != node.replication.replid.lower():
            raise Error("ERR PSYNC FAILOVER replid must match my replid.")
        node.unset_master()
        node.emit(LogMessage("notice", f"MASTER MODE enabled (failover request from '{client.info_line(argv)}')"))
    if node.failover.state != NO_FAILOVER:
        raise Error(SYNC_WHILE_FAILING_OVER)
    link = node.master_link
    if link is not None and link.client is None:
        raise Error(NO_MASTER_LINK)
    if client.out:
        raise Error(PENDING_OUTPUT)
    name = node.replication.replica_name(client)
    node.emit(LogMessage("notice", f"Replica {name} asks for synchronization"))
    return True


@command("sync", 1, SYNC_FLAGS, categories=DANGEROUS, summary="Internal command used for replication")
def sync(client, argv):
    """SYNC: the dataset as an RDB image, then every write, as Redis feeds a replica.

    Nothing the replica sends is answered after this: a command that would be
    closes the connection (`Node.replica_replied`), as Redis does.
    """
    if _may_sync(client, argv):
        client.node.replication.attach(client)
        client.reply_mode = ReplyMode.REPLICA
    return NO_REPLY


@command("psync", -3, SYNC_FLAGS, categories=DANGEROUS, summary="Internal command used for replication",
         since="2.8.0")
def psync(client, argv):
    """PSYNC replicationid offset: +CONTINUE from the backlog, else +FULLRESYNC and the image."""
    if _may_sync(client, argv):
        stream = client.node.replication
        try:
            offset = parse_int(argv[2])
        except Error:
            name = stream.replica_name(client)
            client.node.emit(LogMessage("warning", f"Replica {name} asks for synchronization but with a wrong offset"))
            raise
        if not stream.try_continue(client, argv[1], offset):
            stream.attach(client, psync=True)
        client.reply_mode = ReplyMode.REPLICA
    return NO_REPLY


@command("replconf", -1, Flag.ADMIN | Flag.NOSCRIPT | Flag.LOADING | Flag.STALE | Flag.ALLOW_BUSY,
         categories=("admin",), since="3.0.0")
def replconf(client, argv):
    """REPLCONF option value [option value ...]"""
    if len(argv) % 2 == 0:
        raise Error("ERR syntax error")
    node = client.node
    stream = node.replication
    for index in range(1, len(argv), 2):
        option, value = argv[index].lower(), argv[index + 1]
        if option == b"listening-port":
            stream.link(client).listening_port = parse_int(value)
        elif option == b"ip-address":
            stream.link(client).ip = value.decode("utf-8", "replace")
        elif option == b"capa":
            stream.link(client).capa.add(value.lower())
        elif option == b"ack":
            if client in stream.replicas or client in stream.unacked:
                stream.acked(client, parse_int(value))
                node.failover.update()
            return NO_REPLY
        elif option == b"getack":
            link = node.master_link
            if link is not None and link.client is client:
                link.send_ack()
            return NO_REPLY
        elif option == b"rdb-filter-only":
            filters = value.lower().split()
            unknown = [word for word in filters if word != b"functions"]
            if unknown:
                raise Error(f"ERR Unsupported rdb-filter-only option: {unknown[0].decode('utf-8', 'replace')}")
            stream.link(client).functions_only = bool(filters)
        elif option != b"rdb-only":
            raise Error(f"ERR Unrecognized REPLCONF option: {argv[index].decode('utf-8', 'replace')}")
    return OK


@_GENERIC.command("wait", 3, Flag.NOSCRIPT, categories=("connection",), since="3.0.0",
                  tips=("request_policy:all_shards", "response_policy:agg_min"))
def wait(client, argv):
    """WAIT numreplicas timeout"""
    node = client.node
    if node.is_replica:
        raise Error(WAIT_ON_REPLICA)
    wanted = parse_int(argv[1])
    timeout_ms = _timeout_ms(argv[2])
    stream = node.replication
    offset = stream.offset
    acked = stream.replicas_acked(offset)
    if acked >= wanted or client.multi is not None or node.scripts.running:
        return acked
    deadline = node.now + timeout_ms if timeout_ms else 0
    client.blocked = Blocked(client.db.index, [], 0, None, 0)
    node.replication.waits.append((client, client.blocked, offset, wanted, deadline))
    stream.request_acks()
    return NO_REPLY


def _timeout_ms(arg: bytes) -> int:
    value = parse_int(arg, TIMEOUT_NOT_INTEGER)
    if value < 0:
        raise Error(errors.TIMEOUT_NEGATIVE)
    return value


REGISTRY.commands += _GENERIC.commands
