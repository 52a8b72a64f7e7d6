"""The cluster bus: how cluster nodes meet, gossip, agree on who serves each slot, and notice a failure.

Every node keeps a connection to each node it knows (``ClusterNode.link``, to
the node's bus port) and accepts one from each (``inbound``). A message starts
with the sender's header, as Redis's clusterMsg: its ID, epochs, role, master,
the slots its shard serves, its announced address and the replication offset,
then a gossip section about the other nodes it knows. From those, as the
cluster spec describes:

- CLUSTER MEET makes a node in handshake (a made-up ID) and sends it MEET; the
  PONG tells its real ID. A node that hears of an unknown node in gossip
  meets it the same way, so one MEET joins a node to the whole cluster.
- Each header carries the sender's announced hostname.
- A master's claim on a slot wins when the slot has no owner or its owner's
  config epoch is older (an older claim gets the claimant an UPDATE about the
  owner); two masters with the same config epoch resolve it as Redis does
  (the smaller ID takes a new epoch). A master that loses its last slot to
  another follows it as its replica, keeping its keys; one that keeps others
  deletes the keys of those it lost (logged and replicated).
- A node whose PONG is late by cluster-node-timeout is PFAIL; when a majority
  of the masters serving slots say so in their gossip, it is FAIL, and that
  is broadcast. A failing node's slots make the cluster down.
- PUBLISH reaches every node, SPUBLISH the nodes of the publisher's shard.

A replica's election, and replica migration to orphaned masters, are
`kvcore.cluster_failover`'s. The messages are RESP arrays, not Redis's binary
layout: kvserver nodes form a cluster among themselves.
"""

from __future__ import annotations

from collections import Counter

import hiredis

from kvcore.cluster import SLOTS, ClusterNode, new_node_id
from kvcore.cluster_failover import AUTH_ACK, AUTH_REQUEST, MFSTART
from kvcore.effects import Close, Connect, LogMessage, Send
from kvcore.resp import encode

MEET, PING, PONG, FAIL, PUBLISH, PUBLISHSHARD = b"meet", b"ping", b"pong", b"fail", b"publish", b"publishshard"
UPDATE = b"update"
PAUSED, NOFAILOVER = 1, 2  # a header's flags: a master paused for a manual failover; no failover for this replica
TYPE_NUMBERS = {PING: 0, PONG: 1, MEET: 2, FAIL: 3, PUBLISH: 4, AUTH_REQUEST: 5, AUTH_ACK: 6, UPDATE: 7,
                MFSTART: 8, b"module": 9, PUBLISHSHARD: 10}  # Redis's, as DEBUG DROP-CLUSTER-PACKET-FILTER names them
BUS_CONNS = 1 << 50  # the first id a runtime gives a connection accepted on the bus port (past every
# id the node gives its own connections, kvcore.replica.LINK_CONNS: node.receive's rare branch)
CRON_MS = 100  # clusterCron's period
FAIL_UNDO_FACTOR = 2  # a failed master with slots is cleared when reachable this many node timeouts after


class Link:
    """A bus connection: ``outbound`` from this node to ``node``, or accepted from it."""

    __slots__ = ("conn", "node", "outbound", "created", "up", "reader", "addr", "laddr", "unsent")

    def __init__(self, conn: int, member: ClusterNode | None, outbound: bool, now: int) -> None:
        self.conn = conn
        self.node = member
        self.outbound = outbound
        self.created = now
        self.up = not outbound  # an accepted one is up; an outbound one once connected
        self.reader = hiredis.Reader()
        self.addr = self.laddr = ""  # the peer's address and this end's (host:port)
        self.unsent = 0  # bytes sent to it that the runtime still holds (its send buffer)


class Bus:
    """``node.cluster.bus``: the links, the messages on them and the cluster's cron."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self.node = cluster.node
        self.links: dict[int, Link] = {}
        self.sent: Counter = Counter()
        self.received: Counter = Counter()
        self.last_cron = 0
        self.iteration = 0
        self._dirty = False  # the nodes' table changed: nodes.conf is written once the message is handled
        self.drop_filter = -1  # DEBUG DROP-CLUSTER-PACKET-FILTER: the type of message to ignore (-1: none)
        self.links_freed_over_limit = 0  # total_cluster_links_buffer_limit_exceeded

    def owns(self, conn: int) -> bool:
        return conn in self.links

    # -- the runtime's reports ------------------------------------------------------------
    def accepted(self, conn: int, addr: str, laddr: str) -> None:
        link = Link(conn, None, False, self.node.now)
        link.addr, link.laddr = addr, laddr
        self.links[conn] = link

    def connected(self, conn: int, laddr: str) -> None:
        link = self.links[conn]
        link.up = True
        link.laddr = laddr
        member = link.node
        ping_sent = member.ping_sent
        self._send(link, MEET if "meet" in member.flags else PING)
        member.flags.discard("meet")
        if ping_sent:  # a PING still unanswered keeps its time, so that the node can still time out
            member.ping_sent = ping_sent

    def connect_failed(self, conn: int) -> None:
        member = self.links[conn].node
        if member is not None and not member.ping_sent:
            member.ping_sent = self.node.now  # as if a PING went: an unreachable node times out too
        self.drop(self.links[conn], close=False)

    def closed(self, conn: int) -> None:
        self.drop(self.links[conn], close=False)

    def output_backlog(self, conn: int, size: int) -> None:
        """The runtime holds ``size`` bytes sent on a link (its send buffer, for CLUSTER LINKS and
        cluster-link-sendbuf-limit)."""
        self.links[conn].unsent = size

    def drop(self, link: Link, close: bool = True, discard: bool = False) -> None:
        """Forget a link (and close it; with ``discard``, what it has yet to send dropped): an
        outbound one is made again by the cron."""
        self.links.pop(link.conn, None)
        member = link.node
        if member is not None:
            if member.link is link:
                member.link = None
            if member.inbound is link:
                member.inbound = None
        if close:
            self.node.emit(Close(link.conn, discard))

    def receive(self, conn: int, data: bytes) -> None:
        link = self.links.get(conn)
        if link is None:
            return
        link.reader.feed(data)
        try:
            while (message := link.reader.gets()) is not False:
                if conn not in self.links:
                    return
                self._handle(link, message)
        except (hiredis.ProtocolError, ValueError, IndexError, TypeError, UnicodeDecodeError):
            self.drop(link)  # not a kvserver's bus message: the link goes, as Redis drops a bad one
        if self._dirty:
            self._dirty = False
            self.cluster.changed()

    # -- sending ----------------------------------------------------------------------------
    def _header(self, kind: bytes) -> list:
        cluster = self.cluster
        me = cluster.myself
        runs = [bound for run in cluster.ranges(cluster.master_of(me)) for bound in run]
        return [kind, me.id.encode(), cluster.current_epoch, cluster.epoch_of(me), me.master_id.encode(), runs,
                self.node.config["cluster-announce-ip"].encode(), cluster.announced_port(),
                cluster.announced_cport(), b"ok" if cluster.ok else b"fail", cluster.my_offset(),
                (PAUSED if cluster.failover.paused_for_manual() else 0)
                | (NOFAILOVER if self.node.config["cluster-replica-no-failover"] else 0),
                self.node.config["cluster-announce-hostname"].encode()]

    def _gossip(self) -> list:
        now = self.node.now
        return [[n.id.encode(), n.ip.encode(), n.port, n.cport, n.flag_text().encode(),
                 n.ping_sent and now - n.ping_sent, n.pong_received and now - n.pong_received]
                for n in self.cluster.nodes.values()
                if n is not self.cluster.myself and not n.flags & {"handshake", "noaddr"}]

    def _send(self, link: Link, kind: bytes, payload: list | None = None) -> None:
        message = self._header(kind) + [self._gossip() if kind in (MEET, PING, PONG) else [], payload or []]
        self.node.emit(Send(link.conn, encode(message, False)))
        self.sent[kind] += 1
        if kind in (PING, MEET) and link.node is not None:
            link.node.ping_sent = self.node.now

    def send_to(self, member: ClusterNode, kind: bytes, payload: list | None = None) -> None:
        """A message to one node, if this node's link to it is up."""
        if member.link is not None and member.link.up:
            self._send(member.link, kind, payload)

    def broadcast(self, kind: bytes, payload: list, members=None) -> None:
        """Send to every node with a link up (or to ``members``)."""
        for member in members if members is not None else list(self.cluster.nodes.values()):
            link = member.link
            if link is not None and link.up and "handshake" not in member.flags:
                self._send(link, kind, payload)

    def publish(self, channel: bytes, message: bytes, shard: bool) -> None:
        """PUBLISH to every node; SPUBLISH to the other nodes of this node's shard."""
        if not shard:
            self.broadcast(PUBLISH, [channel, message])
            return
        cluster = self.cluster
        master = cluster.master_of(cluster.myself)
        shard_members = [master] + cluster.replicas_of(master)
        self.broadcast(PUBLISHSHARD, [channel, message], [m for m in shard_members if m is not cluster.myself])

    # -- receiving --------------------------------------------------------------------------
    def _handle(self, link: Link, message: list) -> None:
        (kind, sender_id, current_epoch, config_epoch, master_id, runs, ip, port, cport, _state, offset,
         header_flags, hostname, gossip, payload) = message
        cluster = self.cluster
        now = self.node.now
        self.received[kind] += 1
        if TYPE_NUMBERS.get(kind) == self.drop_filter:
            return
        sender_id = sender_id.decode()
        sender = cluster.nodes.get(sender_id)
        if sender is not None and "handshake" in sender.flags:
            sender = None
        if sender is not None and not link.outbound and link.node is None:
            if sender.inbound is not None:
                self.drop(sender.inbound)
            link.node, sender.inbound = sender, link
        if kind in (PING, MEET):
            if (kind == MEET or not cluster.myself.ip) and not self.node.config["cluster-announce-ip"]:
                my_ip = link.laddr.rpartition(":")[0]
                if my_ip and my_ip != cluster.myself.ip:
                    cluster.myself.ip = my_ip
                    self._dirty = True
            if sender is None and kind == MEET:
                sender = ClusterNode(sender_id, ip.decode() or link.addr.rpartition(":")[0], port, cport, now)
                cluster.nodes[sender_id] = sender
                link.node, sender.inbound = sender, link
                self._dirty = True
            self._send(link, PONG)
        if kind == PONG and link.outbound:
            sender = self._ponged(link, sender_id, sender)
        if sender is None:
            return  # from a node not known (yet): only a MEET or a handshake's PONG are heard
        if current_epoch > cluster.current_epoch:
            cluster.current_epoch = current_epoch
            self._dirty = True
        sender.repl_offset = offset
        sender.data_received = now
        if hostname.decode() != sender.hostname:
            sender.hostname = hostname.decode()
            self._dirty = True
        if bool(header_flags & NOFAILOVER) != ("nofailover" in sender.flags):
            sender.flags ^= {"nofailover"}
            self._dirty = True
        if sender.id == cluster.myself.master_id:
            cluster.failover.heard_master_offset(bool(header_flags & PAUSED), offset)
        if kind in (PING, PONG, MEET):
            self._update_sender(sender, link, ip.decode(), port, cport, master_id.decode(), config_epoch, runs)
            self._gossip_heard(sender, gossip)
        elif kind == FAIL:
            failing = cluster.nodes.get(payload[0].decode())
            if failing is not None and failing is not cluster.myself and "fail" not in failing.flags:
                self._mark_failed(failing, broadcast=False)
        elif kind == UPDATE:
            self._updated(*payload)
        elif kind == AUTH_REQUEST:
            cluster.failover.vote_if_allowed(sender, current_epoch, config_epoch, runs, bool(payload[0]))
        elif kind == AUTH_ACK:
            cluster.failover.voted(sender, current_epoch)
        elif kind == MFSTART:
            cluster.failover.manual_requested(sender)
        elif kind == PUBLISH:
            from kvcore.commands.pubsub import publish_message

            publish_message(self.node, payload[0], payload[1])
        elif kind == PUBLISHSHARD:
            from kvcore.commands.pubsub import publish_shard_message

            publish_shard_message(self.node, payload[0], payload[1])

    def _ponged(self, link: Link, sender_id: str, sender: ClusterNode | None) -> ClusterNode | None:
        """A PONG on this node's own link: the node is alive; a handshake learns the node's ID."""
        cluster = self.cluster
        member = link.node
        if "handshake" in member.flags:
            if sender is not None:  # a node already known by that ID: the handshake was needless
                self.forget(member)
                return sender
            del cluster.nodes[member.id]
            member.id = sender_id
            member.flags.discard("handshake")
            cluster.nodes[sender_id] = member
            self._dirty = True
            sender = member
        if member is not sender:
            return sender
        member.pong_received = self.node.now
        member.ping_sent = 0
        if "pfail" in member.flags:
            member.flags.discard("pfail")
            cluster.update_state()
        elif "fail" in member.flags and self._may_clear_fail(member):
            member.flags.discard("fail")
            self._dirty = True
        return sender

    def _may_clear_fail(self, member: ClusterNode) -> bool:
        """clearNodeFailureIfNeeded: a replica or a master without slots at once; a master with
        slots once nobody took them over for a while."""
        if not member.is_master or not self.cluster.has_slots(member):
            return True
        return self.node.now - member.fail_time > FAIL_UNDO_FACTOR * self.node.config["cluster-node-timeout"]

    def _update_sender(self, sender: ClusterNode, link: Link, ip: str, port: int, cport: int, master_id: str,
                       config_epoch: int, runs: list) -> None:
        cluster = self.cluster
        if (port, cport) != (sender.port, sender.cport) or (ip and ip != sender.ip):
            moved = cport != sender.cport or (ip and ip != sender.ip)
            sender.port, sender.cport = port, cport
            sender.ip = ip or sender.ip
            if moved and sender.link is not None and link is not sender.link:
                self.drop(sender.link)  # reconnect to where it says it is
            self._dirty = True
        if master_id != sender.master_id:
            if master_id and sender.is_master:
                for slot in cluster.slots_of(sender):
                    cluster.assign(slot, None)
            elif not master_id and sender is not cluster.myself:
                sender.flags.add("migrate_to")  # a replica turned master: worth a replica of its own
            sender.master_id = master_id
            if master_id in cluster.nodes:
                cluster.nodes[master_id].flags.add("migrate_to")
            self._dirty = True
        if sender.is_master and config_epoch != sender.config_epoch:
            sender.config_epoch = config_epoch
            self._dirty = True
        if sender.is_master:
            self._claims(sender, runs, link)
            self._epoch_collision(sender)

    def _claims(self, sender: ClusterNode, runs: list, link: Link | None = None) -> None:
        """clusterUpdateSlotsConfigWith: the sender's slots are its own where no one serves them
        or their owner's config epoch is older. A claim on a slot whose owner is newer gets the
        sender (on ``link``) an UPDATE about that owner."""
        cluster = self.cluster
        me = cluster.myself
        ours = cluster.master_of(me)  # the master of this node's shard
        had_slots = cluster.has_slots(ours)
        newer = None
        claimed = migrated = 0  # the sender's slots, and those of them that were this shard's
        lost = []  # slots this node served and the sender takes (dirty, while this node has their keys)
        for first, last in zip(runs[::2], runs[1::2]):
            for slot in range(first, min(last, SLOTS - 1) + 1):
                claimed += 1
                owner = cluster.owners[slot]
                if owner is sender or slot in cluster.importing:
                    continue
                if owner is None or owner.config_epoch < sender.config_epoch:
                    migrated += owner is ours
                    if cluster.assign(slot, sender):
                        lost.append(slot)
                    cluster.migrating.pop(slot, None)
                    self._dirty = True
                elif owner.config_epoch > sender.config_epoch and newer is None:
                    newer = owner
        if newer is not None and link is not None:
            runs_of_newer = [bound for run in cluster.ranges(newer) for bound in run]
            self._send(link, UPDATE, [newer.id.encode(), newer.config_epoch, runs_of_newer])
        if had_slots and not cluster.has_slots(ours) and (self.node.config["cluster-allow-replica-migration"]
                                                          or claimed == migrated):
            cluster.lost_all_slots_to(sender)  # a failover or a reshard took the shard's slots: follow the new master
        elif (grandmaster := self._grandmaster()) is not None:  # as Redis 7.0 guards against sub-replicas
            cluster.reconfigure_as_replica_of(
                grandmaster, f"I'm a sub-replica! Reconfiguring myself as a replica of grandmaster {grandmaster.id}")
        elif lost:  # not following the sender (still a master): its keys must match its slots
            cluster.drop_keys_in(lost)

    def _grandmaster(self) -> ClusterNode | None:
        """The master of this replica's master, when its master lost its last slot and became a
        replica itself (one whose master is not this node)."""
        cluster = self.cluster
        me = cluster.myself
        master = cluster.nodes.get(me.master_id)
        if master is None or not master.master_id or master.master_id == me.id:
            return None
        return cluster.nodes.get(master.master_id)

    def _updated(self, node_id: bytes, config_epoch: int, runs: list) -> None:
        """UPDATE: another node's newer view of a master's epoch and slots, taken if it is newer."""
        member = self.cluster.nodes.get(node_id.decode())
        if member is None or member.config_epoch >= config_epoch:
            return
        member.master_id = ""
        member.config_epoch = config_epoch
        self._dirty = True
        self._claims(member, runs)

    def _epoch_collision(self, sender: ClusterNode) -> None:
        """clusterHandleConfigEpochCollision: of two masters with one config epoch, the one with
        the smaller ID takes a new one."""
        cluster = self.cluster
        me = cluster.myself
        if sender.config_epoch != me.config_epoch or not me.is_master or sender.id <= me.id:
            return
        cluster.current_epoch += 1
        me.config_epoch = cluster.current_epoch
        self._dirty = True

    def _gossip_heard(self, sender: ClusterNode, gossip: list) -> None:
        """clusterProcessGossipSection: failure reports, and nodes to meet."""
        cluster = self.cluster
        now = self.node.now
        for gossip_id, gossip_ip, gossip_port, gossip_cport, flags, _ping_age, _pong_age in gossip:
            gossip_id = gossip_id.decode()
            if gossip_id == cluster.myself.id:
                continue
            flags = flags.decode().split(",")
            known = cluster.nodes.get(gossip_id)
            if known is not None:
                if sender.is_master:
                    if "fail" in flags or "fail?" in flags:
                        known.fail_reports[sender.id] = now
                        self._fail_if_agreed(known)
                    else:
                        known.fail_reports.pop(sender.id, None)
                continue
            if "noaddr" in flags or cluster.forgotten.get(gossip_id, 0) > now:
                continue
            self.meet(gossip_ip.decode(), gossip_port, gossip_cport, meet=False)

    # -- meeting and forgetting ---------------------------------------------------------------
    def meet(self, ip: str, port: int, cport: int, meet: bool = True) -> None:
        """clusterStartHandshake: a node in handshake at that address (none if one is already)."""
        cluster = self.cluster
        for member in cluster.nodes.values():
            if "handshake" in member.flags and (member.ip, member.port, member.cport) == (ip, port, cport):
                return
        member = ClusterNode(new_node_id(self.node.rng), ip, port, cport, self.node.now)
        member.flags.add("handshake")
        if meet:
            member.flags.add("meet")
        cluster.nodes[member.id] = member

    def forget(self, member: ClusterNode) -> None:
        """Remove a node: its links, its slots, the reports it made."""
        cluster = self.cluster
        for link in (member.link, member.inbound):
            if link is not None:
                self.drop(link)
        cluster.nodes.pop(member.id, None)
        for slot in cluster.slots_of(member):
            cluster.assign(slot, None)
        for other in cluster.nodes.values():
            other.fail_reports.pop(member.id, None)

    # -- failure detection --------------------------------------------------------------------
    def _fail_if_agreed(self, member: ClusterNode) -> None:
        """markNodeAsFailingIfNeeded: PFAIL here and reported by a majority of the masters → FAIL."""
        if "pfail" not in member.flags or "fail" in member.flags:
            return
        cluster = self.cluster
        timeout = self.node.config["cluster-node-timeout"]
        now = self.node.now
        member.fail_reports = {who: when for who, when in member.fail_reports.items()
                               if now - when <= timeout * 2 and who in cluster.nodes}
        agreeing = len(member.fail_reports) + (1 if cluster.myself.is_master else 0)
        if agreeing >= cluster.size() // 2 + 1:
            self._mark_failed(member, broadcast=True)

    def _mark_failed(self, member: ClusterNode, broadcast: bool) -> None:
        member.flags.discard("pfail")
        member.flags.add("fail")
        member.fail_time = self.node.now
        if broadcast:
            self.broadcast(FAIL, [member.id.encode()])
        self._dirty = True

    # -- the cron ---------------------------------------------------------------------------------
    def cron(self) -> None:
        """clusterCron, every 100 ms: links made again, pings, timeouts, the state."""
        now = self.node.now
        if now - self.last_cron < CRON_MS:
            return
        self.last_cron = now
        self.iteration += 1
        cluster = self.cluster
        timeout = self.node.config["cluster-node-timeout"]
        self._free_links_over_limit()
        for member in list(cluster.nodes.values()):
            if member is cluster.myself or "noaddr" in member.flags:
                continue
            if "handshake" in member.flags and now - member.created > max(timeout, 1000):
                self.forget(member)
                continue
            if member.link is None:
                conn = self.node.new_link_conn()
                link = Link(conn, member, True, now)
                self.links[conn] = link
                member.link = link
                self.node.emit(Connect(conn, member.ip, member.cport))
        if self.iteration % 10 == 0:
            self._ping_oldest()
        for member in list(cluster.nodes.values()):
            if member is cluster.myself or member.flags & {"handshake", "noaddr"}:
                continue
            link = member.link
            silent = now - member.data_received
            if link is not None and link.up and member.ping_sent and now - link.created > timeout \
                    and now - member.ping_sent > timeout // 2 and silent > timeout // 2:
                self.drop(link)  # a link that may be stuck: made again
                link = None
            if link is not None and link.up and not member.ping_sent and now - member.pong_received > timeout // 2:
                self._send(link, PING)
            if member.ping_sent and min(now - member.ping_sent, silent) > timeout and not member.failing:
                member.flags.add("pfail")
            if "pfail" in member.flags:
                self._fail_if_agreed(member)
        me = cluster.myself
        master = cluster.nodes.get(me.master_id)
        if master is not None and self.node.master_link is None and master.ip:
            self.node.set_master(master.ip, master.port)  # a replica (restarted, say) not replicating yet
        cluster.failover.cron()
        cluster.failover.migrate_if_orphans()
        if self._dirty:
            self._dirty = False
            cluster.changed()
        else:
            cluster.update_state()
        if self.node.blocking.waiting:
            cluster.redirect_blocked()

    def _ping_oldest(self) -> None:
        """Once a second, of five nodes picked at random, PING the one heard from longest ago."""
        candidates = [m for m in self.cluster.nodes.values() if m is not self.cluster.myself
                      and m.link is not None and m.link.up and not m.ping_sent and not m.flags & {"handshake"}]
        if not candidates:
            return
        picked = [candidates[self.node.rng.randrange(len(candidates))] for _ in range(5)]
        oldest = min(picked, key=lambda m: m.pong_received)
        self._send(oldest.link, PING)

    # -- what CLUSTER INFO and LINKS show -------------------------------------------------------
    def stats_lines(self) -> list[str]:
        lines = [f"cluster_stats_messages_{kind.decode()}_sent:{count}" for kind, count in sorted(self.sent.items())]
        lines.append(f"cluster_stats_messages_sent:{sum(self.sent.values())}")
        lines += [f"cluster_stats_messages_{kind.decode()}_received:{count}"
                  for kind, count in sorted(self.received.items())]
        lines.append(f"cluster_stats_messages_received:{sum(self.received.values())}")
        return lines

    def _free_links_over_limit(self) -> None:
        """clusterNodeCronFreeLinkOnBufferLimitReached: a link whose send buffer grew past
        cluster-link-sendbuf-limit (a peer that stopped reading) is freed; the cron makes an
        outbound one again."""
        limit = self.node.config["cluster-link-sendbuf-limit"]
        if not limit:
            return
        for link in [link for link in self.links.values() if link.unsent > limit and link.node is not None]:
            self.links_freed_over_limit += 1
            self.node.emit(LogMessage("warning", f"Freeing cluster link({'to' if link.outbound else 'from'} node "
                                                 f"{link.node.id}, used memory: {link.unsent}) due to exceeding "
                                                 "send buffer memory limit."))
            self.drop(link, discard=True)

    def link_rows(self) -> list[tuple[Link, str]]:
        """(link, direction) of every link joined to a known node."""
        rows = []
        for member in self.cluster.nodes.values():
            if member.link is not None and member.link.up:
                rows.append((member.link, "to"))
            if member.inbound is not None:
                rows.append((member.inbound, "from"))
        return rows
