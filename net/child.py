"""Background snapshots, AOF rewrites and full syncs' sending in a forked child, as redis-server does them.

The child shares the parent's memory copy-on-write, so the image it makes
(the effect's image function, `kvcore.effects.WriteFiles`) is the dataset at
the instant of the fork, while the parent goes on serving. The child makes
the image, carries out the job's file steps (`net.disk.run_steps`), reports
the image's size and any error on a pipe, and exits. The parent waits for it
in a thread (`wait`). Before that report, about once a second, the child
reports its progress on the same pipe as Redis's does on its child info pipe:
the share of its work done and what copy-on-write has cost it (`kvcore.child_info`).
"""

from __future__ import annotations

import ctypes
import gc
import os
import select
import signal
import time
from collections.abc import Callable

from kvcore.effects import REPLICAS_GONE, with_child_id
from net import disk

_PR_SET_PDEATHSIG = 1
_MAX_FD = os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 65536
PROGRESS_INTERVAL_S = 1.0  # as Redis's child sends its current info
LEAD_BYTES = 64 * 1024  # how far a full sync's fastest replica may get ahead of its slowest (`_send_all`)
_PROGRESS = b"~"  # starts a progress line on the report pipe: "~<share done> <cow bytes>\n"


def start(make_image: Callable[[], bytes], steps: tuple[tuple[str, ...], ...],
          delay_s: float = 0.0, in_child: Callable[[], object] | None = None) -> tuple[int, int, int]:
    """Fork a child that writes the image; its pid, the read end of its report pipe, and the
    microseconds the fork took (the parent's pause, INFO's latest_fork_usec).

    ``delay_s``: how long the child pauses once the image is written (`key_save_delay_s`);
    ``in_child``: run first in the child (its OOM score). Raises OSError when the fork fails
    (the pipe is closed then).
    """
    parent = os.getpid()
    pid, read_fd, write_fd, fork_usec = _fork_with_pipe()
    if pid == 0:
        steps = with_child_id(steps, os.getpid())

        def write_image() -> tuple[int, str]:
            data = make_image()
            error = disk.run_steps(steps, data, delay_s, lambda seconds: _pause_reporting(write_fd, seconds))
            _report_progress(write_fd, 1.0)
            return len(data), error

        _live_as_child(parent, write_fd, (), in_child, write_image)  # never returns
    os.close(write_fd)
    return pid, read_fd, fork_usec


def _fork_with_pipe() -> tuple[int, int, int, int]:
    """fork() with a report pipe: (pid, read end, write end, microseconds the fork took); the child
    has closed the read end. Raises OSError when the fork fails (the pipe is closed then)."""
    read_fd, write_fd = os.pipe()
    started = time.perf_counter_ns()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:
        os.close(read_fd)
    return pid, read_fd, write_fd, (time.perf_counter_ns() - started) // 1000


def stop(pid: int) -> None:
    """Kill a child whose work is no longer wanted (SIGUSR1, as Redis kills its children)."""
    try:
        os.kill(pid, signal.SIGUSR1)
    except ProcessLookupError:
        pass


def wait(pid: int, report_fd: int, steps: tuple[tuple[str, ...], ...],
         on_progress: Callable[[float, int], object] | None = None) -> tuple[int, str]:
    """Block until the child exits: the size of its image, and the error text ("" for success);
    ``on_progress(share done, cow bytes)`` hears its progress reports meanwhile.

    A child killed by a signal may leave its temp file: it is removed, as
    Redis's parent removes a killed child's temp file.
    """
    report = b""
    while chunk := os.read(report_fd, 65536):  # until the child exits (or dies): its end of the pipe closes
        report += chunk
        while report.startswith(_PROGRESS) and b"\n" in report:
            line, report = report.split(b"\n", 1)
            done, cow = line[1:].split()
            if on_progress is not None:
                on_progress(float(done), int(cow))
    os.close(report_fd)
    _, status = os.waitpid(pid, 0)
    size, _, error = report.decode("utf-8", "replace").partition("\n")
    if os.WIFSIGNALED(status):
        remove_written(pid, steps)
        return 0, f"child process terminated by signal {os.WTERMSIG(status)}"
    if not size:
        return 0, f"child process exited with status {os.WEXITSTATUS(status)} without a report"
    return int(size), error


def remove_written(pid: int, steps: tuple[tuple[str, ...], ...]) -> None:
    """Remove the files child ``pid`` writes (its temp files): it was killed before renaming them."""
    for step in with_child_id(steps, pid):
        if step[0] == "write":
            disk.remove_quietly(step[1])


def _die_with(parent: int) -> None:
    """The child is killed when its parent dies (Linux's PR_SET_PDEATHSIG), so a killed server's
    child never renames a file after a new server started; the simulator's jobs die the same way."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the child may outlive its parent
        return
    if os.getppid() != parent:  # the parent died before the prctl
        os._exit(1)


def _close_inherited(*keep: int) -> None:
    """Close every descriptor the child inherited but those it uses (``keep``) and stdio: a client
    socket the parent closes must close (its peer sees the end) without waiting for the
    child, and the listening sockets must not outlive the server."""
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, _MAX_FD)


def start_sending(targets: list[tuple[int, bytes]], payload: bytes | Callable[[], bytes], delay_s: float,
                  in_child: Callable[[], object] | None = None) -> tuple[int, int, int]:
    """Fork a child that writes to each socket of ``targets`` its first bytes then ``payload``
    (a full sync's, `kvcore.effects.SendImage`; made in the child when a function), no faster
    than ``delay_s`` allows; its pid, the read end of its report pipe (`wait` reads it) and how
    long the fork took (us). Raises OSError when the fork fails."""
    parent = os.getpid()
    pid, read_fd, write_fd, fork_usec = _fork_with_pipe()
    if pid == 0:
        _live_as_child(parent, write_fd, tuple(fd for fd, _ in targets), in_child,
                       lambda: _send_all(targets, payload() if callable(payload) else payload, delay_s))  # never returns
    os.close(write_fd)
    return pid, read_fd, fork_usec


def _send_all(targets: list[tuple[int, bytes]], payload: bytes, delay_s: float) -> tuple[int, str]:
    """Write to every socket (non-blocking: they are the server's) as it can take it: the bytes
    sent, and an error when no replica got all of them. A replica that hangs up is left out.

    No replica gets more than `LEAD_BYTES` of the payload ahead of the slowest, as Redis's
    parent writes each piece its child made to every replica before it reads the next: the
    whole transfer goes at the pace of the slowest replica.
    """
    pending = {fd: [memoryview(first + payload), 0, len(first)] for fd, first in targets}
    started = time.monotonic()
    sent = 0
    done = 0
    while pending:
        elapsed = time.monotonic() - started
        allowed = len(payload) if delay_s <= 0 else int(len(payload) * min(1.0, elapsed / delay_s))
        allowed = min(allowed, min(pos - first for _, pos, first in pending.values()) + LEAD_BYTES)
        writable = [fd for fd, (data, pos, first) in pending.items() if pos < first + allowed]
        if not writable:
            time.sleep(0.01)
            continue
        _, ready, _ = select.select([], writable, [], 0.1)
        for fd in ready:
            data, pos, first = pending[fd]
            try:
                written = os.write(fd, data[pos : first + allowed])
            except BlockingIOError:
                continue
            except OSError:
                del pending[fd]
                continue
            pending[fd][1] = pos + written
            sent += written
            if pos + written == len(data):
                del pending[fd]
                done += 1
    return sent, "" if done else REPLICAS_GONE


def _quiet_signals() -> None:
    """The child's signals: its own, not the parent's loop's (a signal to it must not wake the
    parent); Ctrl-C reaches the whole process group, and the parent decides."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)  # `stop`
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pause_reporting(report_fd: int, seconds: float) -> None:
    """Sleep (rdb-key-save-delay: the keys are being saved), reporting progress meanwhile."""
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        _report_progress(report_fd, elapsed / seconds)
        time.sleep(min(PROGRESS_INTERVAL_S, seconds - elapsed))


def _report_progress(report_fd: int, done: float) -> None:
    disk.write_all(report_fd, b"%s%.6f %d\n" % (_PROGRESS, done, _cow_bytes()))


def _cow_bytes() -> int:
    """What copy-on-write has cost this child so far: its private dirty memory (as Redis's
    zmalloc_get_private_dirty reads it; 0 where /proc does not tell)."""
    try:
        with open("/proc/self/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def key_save_delay_s(delay_us: int, keys: int) -> float:
    """``rdb-key-save-delay`` for a whole image: Redis's child sleeps that many us per key
    (a negative n: 1 us with probability 1/-n)."""
    if delay_us >= 0:
        return delay_us * keys / 1e6
    return keys / -delay_us / 1e6


def _live_as_child(parent: int, report_fd: int, keep: tuple[int, ...], in_child: Callable[[], object] | None,
                   work: Callable[[], tuple[int, str]]) -> None:
    """A child's whole life: it never returns to the event loop it inherited. ``keep``: the
    descriptors its work uses; ``in_child``: run first (its OOM score); ``work()``: the size of
    what it made or sent, and an error text ("" for none), reported on the pipe."""
    code = 1
    try:
        if in_child is not None:
            in_child()
        _die_with(parent)
        _close_inherited(report_fd, *keep)
        _quiet_signals()
        gc.disable()  # a collection would touch (and copy) every page of the heap
        size, error = work()
        disk.write_all(report_fd, f"{size}\n{error}".encode())
        code = 1 if error else 0
    except BaseException as exc:  # noqa: BLE001 - whatever happens, the child reports and exits
        try:
            disk.write_all(report_fd, f"0\n{exc!r}".encode())
        except OSError:
            pass
    finally:
        os._exit(code)
