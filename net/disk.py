"""File operations the core asks for: log appends, fsyncs, and snapshot writes.

Each function does the I/O and reports failure as the OS's error text (an
empty string for success), which the server passes back with `job_done`.
Paths are relative to the working directory, which is the ``dir`` option.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable


def error_text(exc: OSError) -> str:
    return exc.strerror or str(exc)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte (os.write may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def sync_data(fd: int) -> None:
    """Make a log file's appended bytes durable: fdatasync where there is one, as Redis's
    redis_fsync on Linux (the size change is flushed with the data; other metadata is not needed)."""
    (getattr(os, "fdatasync", None) or os.fsync)(fd)


def fsync(fd: int) -> str:
    if fd < 0:
        return ""
    try:
        os.fsync(fd)
    except OSError as exc:
        return error_text(exc)
    return ""


def run_steps(steps: tuple[tuple[str, ...], ...], data: bytes, write_delay_s: float = 0.0,
              pause: Callable[[float], object] = time.sleep) -> str:
    """Carry out a `WriteFiles`'s steps in order; stop at the first failure.

    ``("write", name)`` creates or truncates ``name`` with ``data``,
    ``("truncate", name)`` creates or empties it, ``("touch", name)`` creates
    it if missing, ``("fsync", name)``, ``("rename", src, dst)``,
    ``("fsync-dir",)`` syncs the directory of the files named so far,
    ``("mkdir", name)`` and ``("remove", name)`` (never fails). A file
    written but not renamed before a failure is removed. ``write_delay_s``:
    a pause after the write (``rdb-key-save-delay``), taken by ``pause`` (a child reports
    its progress meanwhile).
    """
    temp = None
    directory = "."
    try:
        for step in steps:
            op = step[0]
            if op == "write":
                temp = step[1]
                directory = os.path.dirname(temp) or "."
                _write_file(temp, data)
                if write_delay_s:
                    pause(write_delay_s)
            elif op == "truncate":
                _write_file(step[1], b"")
            elif op == "touch":
                os.close(os.open(step[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644))
            elif op == "fsync":
                _fsync_path(step[1], os.O_RDONLY)
            elif op == "rename":
                os.replace(step[1], step[2])
                directory = os.path.dirname(step[2]) or "."
                if step[1] == temp:
                    temp = None
            elif op == "fsync-dir":
                _fsync_path(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            elif op == "mkdir":
                os.makedirs(step[1], exist_ok=True)
            elif op == "remove":
                remove_quietly(step[1])
            else:
                raise OSError(0, f"unknown step {op!r}")
    except OSError as exc:
        if temp is not None:
            remove_quietly(temp)
        return error_text(exc)
    return ""


def fsync_file(path: str) -> str:
    """Fsync the file at ``path`` (the log, from a background thread); the error text or ""."""
    try:
        _fsync_path(path, os.O_RDONLY)
    except OSError as exc:
        return error_text(exc)
    return ""


def _write_file(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def _fsync_path(path: str, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


_DSYNC = getattr(os, "RWF_DSYNC", 0) if hasattr(os, "pwritev") else 0


def write_synced(fd: int, data: bytes) -> None:
    """`write_all` then `sync_data`, in one pwritev2(RWF_DSYNC) call where the kernel has it.

    A write with RWF_DSYNC returns once its bytes (and the size change) are
    durable, as write + fdatasync: one system call instead of two while the
    event loop waits. Only the bytes of this call are made durable: the
    caller syncs earlier unsynced writes itself (`sync_data`).
    """
    global _DSYNC
    if _DSYNC:
        try:
            written = os.pwritev(fd, [data], -1, _DSYNC)  # offset -1: the file position (O_APPEND: its end)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
            _DSYNC = 0  # an older kernel or a file system without it: as below from now on
        else:
            if written == len(data):
                return
            data = memoryview(data)[written:]
    write_all(fd, data)
    sync_data(fd)
