"""CLIENT PAUSE: commands held until the pause ends, and a dataset kept still meanwhile.

As Redis 7.0 does it: a pause has an end time and a mode, WRITE or ALL; a
new pause keeps the later end and the stricter mode. While it lasts, a
command of a client other than a replica link is held (the client counts
as blocked, ``flags=b``) if the pause is ALL, or if the command may change
the dataset or feed the replication stream: a write, a may-replicate
command (PUBLISH, PFCOUNT), a script or function whose declared flags
allow writes (one without a shebang may write), an EXEC whose queue holds
any of those, and, inside MULTI, such a command being queued. The check
comes after every refusal (arity, auth, OOM...), so those errors still
come at once. When the pause ends (CLIENT UNPAUSE, or its time passed,
seen at the next input or tick) the held clients run what they sent, in
the order they were held, through every check again.

Keys do not expire while paused: a read finds an expired key missing, but
it is not deleted (no DEL is logged or replicated) until the pause ends;
active expiry and eviction wait too, and a replica runs nothing of its
master's stream (it reads it: slave_read_repl_offset grows, slave_repl_offset
does not).
"""

from __future__ import annotations

from kvcore.blocking import Blocked
from kvcore.commands.table import Flag
from kvcore.scripting import declared_flags

_MAY_CHANGE = Flag.WRITE | Flag.MAY_REPLICATE

# What a pause is for (Redis's pause_purpose).
CLIENT_COMMAND = "client"
SHUTDOWN = "shutdown"
FAILOVER = "failover"
FOREVER = 2**63 - 1  # the end of a pause that lasts until its purpose ends it


class Pause:
    """``node.pause``: the pauses in force, by purpose, and the clients they hold.

    As Redis 7.0's pauseClients, each purpose (CLIENT PAUSE, a SHUTDOWN waiting
    for its replicas, a FAILOVER) has its own end and mode and is ended on its
    own: CLIENT UNPAUSE does not lift a failover's pause. What holds clients is
    their union: the strictest mode, until the last of them ends.
    """

    def __init__(self, node) -> None:
        self.node = node
        self.purposes: dict[str, tuple[int, bool]] = {}  # purpose -> (end in node ms, WRITE only)
        self.writes_only = False  # WRITE (else ALL)
        self.held: list = []  # clients waiting for the end, in the order they were held

    def start(self, until: int, writes_only: bool, purpose: str = CLIENT_COMMAND) -> None:
        """A pause for ``purpose``: a later end and a stricter mode than it had, if it had one."""
        current = self.purposes.get(purpose)
        if current is not None:
            until, writes_only = max(current[0], until), current[1] and writes_only
        self.purposes[purpose] = (until, writes_only)
        self._update()

    def check(self, now: int) -> None:
        """End the pauses whose time has passed (at an input or a tick, never inside a command)."""
        ended = [purpose for purpose, (until, _) in self.purposes.items() if now >= until]
        if ended:
            for purpose in ended:
                del self.purposes[purpose]
            self._update()

    def end(self, purpose: str = CLIENT_COMMAND) -> None:
        """CLIENT UNPAUSE, the end of a shutdown's wait or of a failover."""
        if self.purposes.pop(purpose, None) is not None:
            self._update()

    def _update(self) -> None:
        """The union of the pauses; when it ends or loosens (ALL to WRITE) the held clients run
        what they sent (those still paused are held again)."""
        node = self.node
        was_writes_only = self.writes_only
        self.writes_only = all(writes_only for _, writes_only in self.purposes.values())
        node.paused = bool(self.purposes)
        if node.paused and (self.writes_only == was_writes_only or not self.writes_only):
            return
        held, self.held = self.held, []
        for client in held:
            if node.clients.get(client.conn) is client and type(client.blocked) is PausedCommand:
                node.unblock(client)
        if not node.paused:
            node.replication.acks_after_pause()
            if node.master_link is not None:
                node.master_link.unpaused()

    def holds(self, client, cmd, argv: list[bytes]) -> bool:
        """Whether this request waits for the end of the pause."""
        if client.is_replica_link:  # a replica is never paused
            return False
        if not self.writes_only:
            return True
        if client.multi is not None and cmd.name == "exec":
            return any(_may_change(self.node, queued, queued_argv) for queued, queued_argv in client.multi)
        return _may_change(self.node, cmd, argv)

    def hold(self, client, argv: list[bytes]) -> None:
        """Block ``client`` with ``argv`` first in its queue, to run again at the end."""
        client.blocked = PausedCommand(client.db.index)
        client.pending = [argv, *client.pending]
        self.held.append(client)


class PausedCommand(Blocked):
    """A client held by the pause; CLIENT UNBLOCK leaves it be (Redis 7.0's unblock of such a
    client crashes the server; later versions refuse it, as this does)."""

    __slots__ = ()

    def __init__(self, db_index: int) -> None:
        super().__init__(db_index, [], 0, None, None)


def _may_change(node, cmd, argv: list[bytes]) -> bool:
    """Whether a command may write or replicate, scripts judged by their declared flags."""
    flags = declared_flags(node, cmd, argv)
    if flags is not None:
        return "no-writes" not in flags
    return bool(cmd.flags & _MAY_CHANGE)
