"""The log file: records appended whole, or not at all.

A failed write (or fsync) is cut back to the file's size before it, as Redis
does after a short write, so that the retry appends whole records. Each
append reports ``(error, log lines)``: the OS's error text ("" for success)
and the warnings for the server's log. Under ``appendfsync always`` the write
and its fdatasync are one pwritev2(RWF_DSYNC) call where the kernel has it
(`net.disk.write_synced`).
"""

from __future__ import annotations

import os

from net import disk

Outcome = tuple[str, list[str]]


class LogFile:
    """The log file records are appended to; it moves when a job names another path."""

    def __init__(self) -> None:
        self.fd = -1
        self.path = ""
        self.unsynced = False  # bytes were appended without an fsync since the last one

    def append(self, path: str, data: bytes, fsync: bool) -> Outcome:
        """Write (and fdatasync if ``fsync``) ``data`` at the end of ``path``, or nothing of it."""
        lines: list[str] = []
        size = -1
        try:
            if path != self.path:
                self._switch(path, lines)
            status = os.fstat(self.fd)
            if not status.st_nlink:  # the core had the file removed (a failed first rewrite's temp incr)
                self._switch(path, lines)
                status = os.fstat(self.fd)
            size = status.st_size
            if not fsync:
                disk.write_all(self.fd, data)
            elif self.unsynced:
                disk.write_all(self.fd, data)
                disk.sync_data(self.fd)
            else:
                disk.write_synced(self.fd, data)
        except OSError as exc:
            error = disk.error_text(exc)
            lines.append(f"Error writing to the AOF file: {error}")
            self.unsynced = True
            if size >= 0:
                try:
                    os.ftruncate(self.fd, size)
                except OSError:
                    lines.append("Could not remove the partial write from the AOF file")
            return error, lines
        self.unsynced = not fsync
        return "", lines

    def _switch(self, path: str, lines: list[str]) -> None:
        error = self.close()
        if error:
            lines.append(f"Fail to fsync the AOF file: {error}")
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.path = path

    def close(self) -> str:
        """Fsync and close the file (the log moved, or the server stops); the fsync's error or ""."""
        if self.fd < 0:
            return ""
        error = disk.fsync(self.fd)
        os.close(self.fd)
        self.fd = -1
        self.path = ""
        self.unsynced = False
        return error
