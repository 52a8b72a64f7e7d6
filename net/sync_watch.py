"""Whether the replicas of a full sync take its bytes, for the core's timeout of stuck ones.

A forked child writes the payload (`net.child.start_sending`), so the server never sees its
writes; but the sockets are shared, and one whose send queue (SIOCOUTQ: bytes the peer has not
acknowledged) stays non-empty and unchanged belongs to a replica that stopped reading. Redis's
parent writes the child's pipe to the sockets itself, and drops such a replica after
repl-timeout (`kvcore.replication`: Node.sync_payload_taken).
"""

from __future__ import annotations

import fcntl
import struct
import termios
from collections.abc import Callable


def unsent(fd: int) -> int | None:
    """Bytes in the socket's send queue the peer has not acknowledged, or None if unknown."""
    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.TIOCOUTQ, b"\0\0\0\0"))[0]
    except OSError:
        return None


class SyncWatch:
    """The connections each running full sync sends to, and their send queues when last seen."""

    def __init__(self) -> None:
        self._jobs: dict[int, dict[int, int | None]] = {}

    def start(self, job: int, conns: list[int]) -> None:
        self._jobs[job] = dict.fromkeys(conns)

    def stop(self, job: int) -> None:
        self._jobs.pop(job, None)

    def taken(self, fd_of: Callable[[int], int | None]) -> list[int]:
        """The connections that took bytes since the last look: their queue changed, or is empty."""
        moved = []
        for queues in self._jobs.values():
            for conn, before in queues.items():
                fd = fd_of(conn)
                now = None if fd is None else unsent(fd)
                if now is not None and (now == 0 or now != before):
                    queues[conn] = now
                    moved.append(conn)
        return moved
