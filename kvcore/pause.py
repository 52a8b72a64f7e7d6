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


class Pause:
    """``node.pause``: the current pause, if any, and the clients it holds."""

    def __init__(self, node) -> None:
        self.node = node
        self.until = 0  # the end (node ms); 0: no pause
        self.writes_only = False  # WRITE (else ALL)
        self.held: list = []  # clients waiting for the end, in the order they were held

    def start(self, until: int, writes_only: bool) -> None:
        """CLIENT PAUSE: the later end and the stricter mode of this pause and the current one."""
        if self.until:
            self.writes_only = self.writes_only and writes_only
            self.until = max(self.until, until)
        else:
            self.writes_only = writes_only
            self.until = until
        self.node.paused = True

    def check(self, now: int) -> None:
        """End the pause if its time has passed (at an input or a tick, never inside a command)."""
        if self.until and now >= self.until:
            self.end()

    def end(self) -> None:
        """CLIENT UNPAUSE, or the end time passed: the held clients run what they sent."""
        node = self.node
        self.until = 0
        self.writes_only = False
        node.paused = False
        held, self.held = self.held, []
        for client in held:
            if node.clients.get(client.conn) is client and type(client.blocked) is PausedCommand:
                node.unblock(client)
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
