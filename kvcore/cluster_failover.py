"""Replica failover in a cluster: a replica of a failed master asks the masters for their votes and,
with a majority, takes its master's slots; CLUSTER FAILOVER does it by hand.

As the cluster spec describes it:

- A replica whose master is FAIL (and serves slots), and whose data is not too
  old (cluster-replica-validity-factor), schedules an election
  500-1000 ms ahead, one second later per replica of the same master with a
  greater replication offset (its rank), so the most up to date goes first.
- At election time it takes a new current epoch and asks every node for its
  vote (FAILOVER_AUTH_REQUEST). A master serving slots votes once per epoch,
  for a replica whose master is FAIL, not twice for replicas of the same master
  within two node timeouts, and not when one of the slots claimed has an owner
  with a newer config epoch.
- With a majority of the masters' votes (FAILOVER_AUTH_ACK) before the
  election times out (twice the node timeout, 2 s at least), the replica is
  a master with its master's slots under the election's epoch, and tells
  everyone; the old master and its other replicas follow it when they hear.
  Else it tries again after twice that.

Replica migration: a master left without working replicas gets one from the
master with the most (`migrate_if_orphans`).

CLUSTER FAILOVER: FORCE holds an election whatever the master's state (the
masters vote though the master is not failed); the default first has the
master stop writes (MFSTART) and waits until the replica has processed the
master's offset; TAKEOVER takes the slots under a new epoch with no votes.
"""

from __future__ import annotations

from kvcore.effects import LogMessage

AUTH_REQUEST, AUTH_ACK, MFSTART = b"failover_auth_request", b"failover_auth_ack", b"mfstart"
MANUAL_TIMEOUT_MS = 5000  # CLUSTER_MF_TIMEOUT
MANUAL_PAUSE_MS = 2 * MANUAL_TIMEOUT_MS  # how long the master stops writes for a manual failover
PAUSE_PURPOSE = "cluster-failover"
MIGRATION_DELAY_MS = 5000  # CLUSTER_SLAVE_MIGRATION_DELAY: an orphan waits this long for a replica


class Failover:
    """``node.cluster.failover``: this node's election as a replica, its votes as a master, and a
    manual failover on either side."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self.node = cluster.node
        self.auth_time = 0  # when the election is held (or was)
        self.auth_sent = False
        self.auth_epoch = 0
        self.auth_rank = 0
        self.voters: set[str] = set()
        self.manual_end = 0  # a manual failover under way until then (0: none)
        self.manual_can_start = False
        self.manual_force = False
        self.manual_master_offset = -1  # the offset the paused master reported
        self.manual_replica = None  # as a master: the replica failing over by hand

    # -- as a replica ------------------------------------------------------------------------
    def start_manual(self, force: bool) -> None:
        """CLUSTER FAILOVER [FORCE] on a replica."""
        self.reset_manual()
        self.manual_end = self.node.now + MANUAL_TIMEOUT_MS
        self.manual_force = force
        if force:
            self.manual_can_start = True
            return
        master = self.cluster.nodes[self.cluster.myself.master_id]
        if master.link is not None and master.link.up:
            self.cluster.bus.send_to(master, MFSTART)

    def reset_election(self) -> None:
        """The election is over (this node won it): a later one starts afresh. Redis 7.0 keeps
        the won election's votes and sent flag until its retry time has passed, so a second
        failover of the same replica within it wins at once under the old epoch, which may be a
        newer master's config epoch by then: the two collide and the loser's writes are lost
        (redis/redis#8753; Valkey resets it, as here)."""
        self.auth_time = 0
        self.auth_sent = False
        self.voters.clear()

    def reset_manual(self) -> None:
        if self.manual_replica is not None or self.node.pause.purposes.get(PAUSE_PURPOSE):
            self.node.pause.end(PAUSE_PURPOSE)
        self.manual_end = 0
        self.manual_can_start = self.manual_force = False
        self.manual_master_offset = -1
        self.manual_replica = None

    def heard_master_offset(self, paused: bool, offset: int) -> None:
        """A message from this replica's master: paused for our manual failover, at that offset."""
        if self.manual_end and paused and self.manual_master_offset < 0:
            self.manual_master_offset = offset

    def cron(self) -> None:
        """clusterHandleSlaveFailover and the manual failover's clock, every 100 ms."""
        now = self.node.now
        if self.manual_end and now > self.manual_end:
            self._log("warning", "Manual failover timed out.")
            self.reset_manual()
        if self.manual_end and not self.manual_can_start and self.manual_master_offset >= 0 \
                and self.cluster.my_offset() >= self.manual_master_offset:
            self.manual_can_start = True
            self._log("notice", "All master replication stream processed, manual failover can start.")
        self._election()

    def _election(self) -> None:
        cluster = self.cluster
        me = cluster.myself
        now = self.node.now
        config = self.node.config
        if me.is_master or me.master_id not in cluster.nodes:
            return
        master = cluster.nodes[me.master_id]
        manual_ready = bool(self.manual_end) and self.manual_can_start
        if not manual_ready and ("fail" not in master.flags or config["cluster-replica-no-failover"]):
            return
        if not cluster.has_slots(master):
            return
        timeout = config["cluster-node-timeout"]
        if not manual_ready and self._data_too_old(timeout):
            return
        auth_timeout = max(timeout * 2, 2000)
        # A manual failover under way (ready or not: the master may be gone) votes at once, asks
        # for votes a working master would not get, and keeps its place (Redis tests mf_end alone).
        manual_under_way = bool(self.manual_end)
        if now - self.auth_time > auth_timeout * 2:  # none scheduled, or the last one long over
            self.auth_rank = 0 if manual_under_way else self._rank(master)
            self.auth_time = now + (0 if manual_under_way else 500 + self.node.rng.randrange(500) + self.auth_rank * 1000)
            self.auth_sent = False
            self.voters.clear()
            self._log("notice", f"Start of election delayed for {self.auth_time - now} milliseconds "
                                f"(rank #{self.auth_rank}, offset {cluster.my_offset()}).")
            return
        if not self.auth_sent and not manual_under_way:  # replicas' offsets moved meanwhile: so does the delay
            rank = self._rank(master)
            if rank > self.auth_rank:
                self.auth_time += (rank - self.auth_rank) * 1000
                self.auth_rank = rank
        if now < self.auth_time or now - self.auth_time > auth_timeout:
            return
        if not self.auth_sent:
            cluster.current_epoch += 1
            self.auth_epoch = cluster.current_epoch
            self._log("notice", f"Starting a failover election for epoch {self.auth_epoch}.")
            cluster.bus.broadcast(AUTH_REQUEST, [1 if manual_under_way else 0])
            self.auth_sent = True
            cluster.changed()
            return
        if len(self.voters) >= cluster.size() // 2 + 1:
            self._log("notice", "Failover election won: I'm the new master.")
            cluster.become_shard_master(max(self.auth_epoch, cluster.current_epoch))

    def _data_too_old(self, timeout: int) -> bool:
        """cluster-replica-validity-factor: a replica cut off from its master for longer than the
        node timeout times that factor (plus the master's ping period) does not fail over."""
        factor = self.node.config["cluster-replica-validity-factor"]
        link = self.node.master_link
        if not factor or link is None:
            return False
        now = self.node.steady()  # the link's times are on the replication clock
        if link.client is not None:
            age = now - link.last_io_ms
        else:
            age = now - (link.down_since_ms if link.down_since_ms is not None else now)
        if age > timeout:
            age -= timeout
        return age > self.node.config["repl-ping-replica-period"] * 1000 + timeout * factor

    def migrate_if_orphans(self) -> None:
        """clusterHandleSlaveMigration: a master with slots left without a working replica (that
        had some) gets one from the master with the most, once it has been orphaned 5 s: the
        replica with the smallest ID among those masters' replicas goes, if its master keeps
        more than cluster-migration-barrier."""
        cluster = self.cluster
        me = cluster.myself
        config = self.node.config
        if me.is_master or not config["cluster-allow-replica-migration"] or not cluster.ok:
            return
        mine = cluster.nodes.get(me.master_id)
        if mine is None:
            return
        working = {m.id: [r for r in cluster.replicas_of(m) if "fail" not in r.flags]
                   for m in cluster.nodes.values() if m.is_master}
        most = max(len(replicas) for replicas in working.values())
        target = None
        for member in cluster.nodes.values():
            orphaned = member.is_master and "fail" not in member.flags and "migrate_to" in member.flags \
                and not working.get(member.id)
            if orphaned:
                member.orphaned_time = member.orphaned_time or self.node.now
                if target is None and cluster.has_slots(member):
                    target = member
            else:
                member.orphaned_time = 0
        if target is None or most < 2 or len(working[mine.id]) != most:
            return
        if sum(1 for r in working[mine.id] if "pfail" not in r.flags) <= config["cluster-migration-barrier"]:
            return
        candidate = min((r for replicas in working.values() if len(replicas) == most for r in replicas),
                        key=lambda r: r.id)
        if candidate is me and self.node.now - target.orphaned_time > MIGRATION_DELAY_MS:
            self._log("notice", f"Migrating to orphaned master {target.id}")
            cluster.set_my_master(target)

    def _rank(self, master) -> int:
        """How many other replicas of the master have processed more of its stream."""
        mine = self.cluster.my_offset()  # as the other replicas' headers report theirs
        return sum(1 for replica in self.cluster.replicas_of(master)
                   if replica is not self.cluster.myself and replica.repl_offset > mine)

    def voted(self, voter, voter_epoch: int) -> None:
        """FAILOVER_AUTH_ACK: a master's vote, counted if it is for this election."""
        if voter.is_master and self.cluster.has_slots(voter) and voter_epoch >= self.auth_epoch:
            self.voters.add(voter.id)

    # -- as a master -------------------------------------------------------------------------
    def vote_if_allowed(self, candidate, request_epoch: int, claimed_epoch: int, runs: list, force: bool) -> None:
        """clusterSendFailoverAuthIfNeeded: give this master's vote to a replica asking for it."""
        cluster = self.cluster
        me = cluster.myself
        now = self.node.now
        if not me.is_master or not cluster.has_slots(me):
            return
        if request_epoch < cluster.current_epoch or cluster.last_vote_epoch == cluster.current_epoch:
            return
        master = cluster.nodes.get(candidate.master_id)
        if candidate.is_master or master is None or ("fail" not in master.flags and not force):
            return
        if now - master.voted_time < self.node.config["cluster-node-timeout"] * 2:
            return
        for first, last in zip(runs[::2], runs[1::2]):
            for slot in range(first, last + 1):
                owner = cluster.owners[slot]
                if owner is not None and owner.config_epoch > claimed_epoch:
                    return  # a slot it claims has moved on since its master had it
        cluster.last_vote_epoch = cluster.current_epoch
        master.voted_time = now
        self._log("notice", f"Failover auth granted to {candidate.id} for epoch {cluster.current_epoch}")
        cluster.changed()
        cluster.bus.send_to(candidate, AUTH_ACK)

    def manual_requested(self, replica) -> None:
        """MFSTART from one of this master's replicas: stop writes so that it can catch up."""
        if replica.master_id != self.cluster.myself.id:
            return
        self.reset_manual()
        self.manual_replica = replica
        self.manual_end = self.node.now + MANUAL_TIMEOUT_MS
        self.node.pause.start(self.node.now + MANUAL_PAUSE_MS, writes_only=True, purpose=PAUSE_PURPOSE)
        self._log("notice", f"Manual failover requested by replica {replica.id}.")
        self.cluster.bus.send_to(replica, b"ping")  # its offset, paused, now

    def paused_for_manual(self) -> bool:
        return self.manual_replica is not None and PAUSE_PURPOSE in self.node.pause.purposes

    def _log(self, level: str, text: str) -> None:
        self.node.emit(LogMessage(level, text))
