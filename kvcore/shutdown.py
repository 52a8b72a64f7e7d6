"""A shutdown that waits for the replicas to have every write, as Redis 7.0's.

SHUTDOWN (or SIGTERM/SIGINT, made by the cron) with replicas that have not
acknowledged the whole stream does not exit at once, unless NOW or
``shutdown-timeout 0``: writes are paused, the replicas are asked for their
offsets (REPLCONF GETACK), INFO server shows ``shutdown_in_milliseconds``,
and the cron finishes the shutdown (the save, then the exit: kvcore.snapshots)
as soon as every replica caught up or the time is up, logging the replicas
still behind. SHUTDOWN callers wait meanwhile; another SHUTDOWN waits with
them. SHUTDOWN ABORT cancels it: the callers get an error and writes go on.

Every shutdown, waited for or not, finishes here (`_finish`): the replicas
still behind are logged with how many are in sync, and one that would lose
an initial AOF being written fails (unless FORCE), as finishShutdown does.

The writes are held with CLIENT PAUSE's machinery (kvcore.pause), under a
purpose of their own: CLIENT UNPAUSE does not lift them.
"""

from __future__ import annotations

from kvcore import pause
from kvcore.appendonly import WAIT_REWRITE
from kvcore.blocking import HeldReply
from kvcore.effects import LogMessage
from kvcore.reply import Error

ABORTED = "ERR Errors trying to SHUTDOWN. Check logs."
FAILED = "Errors trying to shut down the server. Check the logs for more information."


class ShutdownWait:
    """``node.shutdown_wait``: the shutdown waiting for replicas, if one is."""

    def __init__(self, node) -> None:
        self.node = node
        self.deadline_ms = 0  # 0: no shutdown is waiting
        self.options: list[str] = []
        self.callers: list[HeldReply] = []

    @property
    def waiting(self) -> bool:
        return bool(self.deadline_ms)

    def request(self, client, options: list[str]) -> None:
        """SHUTDOWN (``client``, its options) or a signal's (None, no options): it waits for the
        replicas (another SHUTDOWN while one waits joins it), or finishes now (NOW, no
        shutdown-timeout, nothing to wait for)."""
        if self.waiting:
            self._hold(client)
        elif not self._begin(client, options):
            self._finish(client, options)

    def tick(self) -> None:
        """The cron's part: finish once the replicas caught up or the time is up."""
        node = self.node
        if not self.waiting or (node.now < self.deadline_ms and not self._replicas_caught_up()):
            return
        callers = self._stop_waiting()
        if not self._finish(None, self.options):
            for caller in callers:
                caller.release(node, Error(ABORTED))
            return
        for caller in callers:
            if caller.live(node):
                caller.client.blocked = None
                node.close_after_reply(caller.client)

    def abort(self) -> bool:
        """SHUTDOWN ABORT: False when no shutdown waits."""
        if not self.waiting:
            return False
        for caller in self._stop_waiting():
            caller.release(self.node, Error(ABORTED))
        return True

    def remaining_ms(self) -> int:
        return max(self.deadline_ms - self.node.now, 0)

    def _begin(self, client, options: list[str]) -> bool:
        """True when the shutdown waits for the replicas (writes paused, the caller held)."""
        node = self.node
        timeout_s = node.config["shutdown-timeout"]
        if "now" in options or not timeout_s or self._replicas_caught_up():
            return False
        self.deadline_ms = node.now + timeout_s * 1000
        self.options = options
        self._hold(client)
        if not node.paused:
            node.replication.request_acks()
        node.pause.start(pause.FOREVER, writes_only=True, purpose=pause.SHUTDOWN)
        node.emit(LogMessage("notice", "Waiting for replicas before shutting down."))
        return True

    def _hold(self, client) -> None:
        if client is not None:
            self.callers.append(HeldReply(client, "shutdown"))

    def _stop_waiting(self) -> list[HeldReply]:
        """The wait ends (finished or aborted): writes go on; the callers, to answer."""
        callers, self.callers = self.callers, []
        self.deadline_ms = 0
        self.node.pause.end(pause.SHUTDOWN)
        return callers

    def _finish(self, client, options: list[str]) -> bool:
        """The shutdown itself (``client``: the SHUTDOWN caller that did not wait, if any): the
        replicas logged, then the save and the exit (kvcore.snapshots). False when it cannot."""
        node = self.node
        self._log_replicas()
        if node.aof.state == WAIT_REWRITE:  # the log being turned on has no file yet
            if "force" not in options:
                node.emit(LogMessage("warning", "Writing initial AOF, can't exit."))
                node.emit(LogMessage("warning", FAILED))
                if client is not None:
                    client.reply(Error(ABORTED))
                return False
            node.emit(LogMessage("warning", "Writing initial AOF. Exit anyway."))
        node.shutdown_requested = options
        node.snapshots.shutdown(client)
        return True

    def _replicas_caught_up(self) -> bool:
        stream = self.node.replication
        return all(stream.links[client].ack_offset == stream.offset for client in stream.replicas)

    def _log_replicas(self) -> None:
        """Each replica behind (by how many bytes), then how many are in sync, as finishShutdown."""
        node, stream = self.node, self.node.replication
        lagging = 0
        for client in stream.replicas:
            link = stream.links[client]
            if link.ack_offset != stream.offset:
                lagging += 1
                lag = (node.steady() - link.ack_ms) // 1000
                node.emit(LogMessage("warning", f"Lagging replica {stream.replica_ip(client)}:{link.listening_port} "
                                                f"reported offset {stream.offset - link.ack_offset} behind master, "
                                                f"lag={lag}, state=online."))
        if stream.replicas:
            count = len(stream.replicas)
            node.emit(LogMessage("notice", f"{count - lagging} of {count} replicas are in sync when shutting down."))
