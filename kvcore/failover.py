"""FAILOVER: a master hands its role to one of its replicas, as Redis 7.0 does.

    no-failover ──FAILOVER──▶ waiting-for-sync ──a replica acked every write──▶ failover-in-progress
         ▲                      │ (timeout: abort, or with FORCE go on anyway)      │ PSYNC ... FAILOVER
         └──────────────────────┴──── ABORT, or the target refused the PSYNC ───────┤ answered
                                                                                     ▼
                                                                        no-failover, as a replica

While it waits, writes are paused (a pause of its own, kvcore.pause) so the
master's offset stands still for the replicas to catch up with (no GETACK
goes into the stream meanwhile, nor, under a TIMEOUT, a PING). Once a replica (the one
named with TO, else the first found) has acknowledged the whole stream, the
master becomes a replica of it, and its PSYNC carries a FAILOVER argument:
the target, seeing its own replication id, becomes a master before
answering (kvcore.commands.replication), so the old master continues from
it by partial resync. That answer ends the failover (and the pause); any
other answer aborts it and the node is a master again.
"""

from __future__ import annotations

from kvcore import pause
from kvcore.effects import LogMessage

NO_FAILOVER = "no-failover"
WAIT_FOR_SYNC = "waiting-for-sync"
IN_PROGRESS = "failover-in-progress"


class Failover:
    """``node.failover``: the failover under way, if any (INFO's master_failover_state)."""

    def __init__(self, node) -> None:
        self.node = node
        self.state = NO_FAILOVER
        self.host: str | None = None  # the target (None: any replica, until one is caught up)
        self.port = 0
        self.end_ms = 0  # TIMEOUT's deadline (node ms); 0: none
        self.force = False

    def start(self, host: str | None, port: int, timeout_ms: int, force: bool) -> None:
        """FAILOVER's arguments, checked: wait for the target to catch up, writes paused."""
        node = self.node
        self.host, self.port, self.force = host, port, force
        if host is not None:
            self._log(f"FAILOVER requested to {host}:{port}.")
        else:
            self._log("FAILOVER requested to any replica.")
        self.end_ms = node.now + timeout_ms if timeout_ms else 0
        self.state = WAIT_FOR_SYNC
        node.pause.start(pause.FOREVER, writes_only=True, purpose=pause.FAILOVER)

    def update(self) -> None:
        """While waiting: give up (or go on, with FORCE) at the timeout, else fail over to a
        replica that has acknowledged the whole stream (Redis's updateFailoverStatus)."""
        if self.state != WAIT_FOR_SYNC:
            return
        node = self.node
        if self.end_ms and self.end_ms <= node.now:
            if self.force:
                self._log(f"FAILOVER to {self.host}:{self.port} time out exceeded, failing over.")
                self._fail_over()
            else:
                self.abort("Replica never caught up before timeout")
            return
        stream = node.replication
        for client in stream.replicas:
            link = stream.links[client]
            if link.ack_offset != stream.offset:
                continue
            address = (stream.replica_ip(client), link.listening_port)
            if self.host is None:
                self.host, self.port = address
            elif not _same_replica(address, self.host, self.port):
                continue
            self._log(f"Failover target {self.host}:{self.port} is synced, failing over.")
            self._fail_over()
            return

    def psync_answered(self, accepted: bool) -> None:
        """The target answered the PSYNC that carried FAILOVER: done, or aborted if it refused."""
        if self.state != IN_PROGRESS:
            return
        if accepted:
            self._clear()
        else:
            self.abort("Failover target rejected psync request")

    def abort(self, reason: str) -> None:
        """FAILOVER ABORT, a timeout, or a refusal: a master again, writes go on."""
        if self.state == NO_FAILOVER:
            return
        target = f"{self.host}:{self.port}" if self.host is not None else "any replica"
        self._log(f"FAILOVER to {target} aborted: {reason}")
        if self.state == IN_PROGRESS:
            self.node.unset_master()
        self._clear()

    @property
    def pings_held(self) -> bool:
        """Whether the master keeps from pinging its replicas while their offsets are compared:
        as Redis 7.0, only when the failover has a TIMEOUT (without one, a ping a period
        moves the offset, and the replicas' next acknowledgements catch up with it)."""
        return self.state == WAIT_FOR_SYNC and bool(self.end_ms)

    def _fail_over(self) -> None:
        self.state = IN_PROGRESS
        self.node.set_master(self.host, self.port)

    def _clear(self) -> None:
        self.state = NO_FAILOVER
        self.host, self.port, self.end_ms, self.force = None, 0, 0, False
        self.node.pause.end(pause.FAILOVER)

    def _log(self, text: str) -> None:
        self.node.emit(LogMessage("notice", text))


def find_replica(stream, host: str, port: int):
    """The replica at host:port as it announced itself, online or still syncing, or None
    (Redis's findReplica)."""
    for client in stream.attached():
        if _same_replica((stream.replica_ip(client), stream.links[client].listening_port), host, port):
            return client
    return None


def _same_replica(address: tuple[str, int], host: str, port: int) -> bool:
    return address[0].lower() == host.lower() and address[1] == port
