"""A run that cannot go on: kvcore raised, or looped without end.

Either is a bug the simulator found, and the run's seed reproduces it. An
exception out of a node's step ends the run where it was raised. An endless
loop never gives the simulation back its thread, so a watcher thread looks at
the simulated clock every second and, once it has stood still for
`STUCK_WALL_S` of wall time, raises `Stuck` in the simulating thread, wherever
the loop is (CPython's PyThreadState_SetAsyncExc). No correct step takes that
long: a whole run of a minute of simulated time takes well under a second.

Either way the world judges what the clients saw up to there, and adds the
``completion`` verdict made here, which says where kvcore was (a run that
went through every phase has no such verdict).
"""

from __future__ import annotations

import ctypes
import threading
import traceback
from types import TracebackType

from jepsen_like.verdict import Verdict, invalid
from sim.node import SimNode

CHECKER = "completion"
STUCK_WALL_S = 20.0
POLL_S = 1.0


class Stuck(Exception):
    """Raised in the simulating thread when simulated time stood still too long."""


class Watchdog:
    """While entered, raises `Stuck` in the entering thread if ``clock()`` stops changing for ``stuck_s``."""

    def __init__(self, clock, stuck_s: float = STUCK_WALL_S) -> None:
        self.clock = clock
        self.stuck_s = stuck_s
        self.fired = False
        self._target = threading.get_ident()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="sim-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        with self._lock:
            self._stop.set()
            if self.fired:  # raised too late to stop the run: take it back if still pending
                _raise_in(self._target, None)
        self._thread.join()

    def _watch(self) -> None:
        last, still_s = self.clock(), 0.0
        while not self._stop.wait(POLL_S):
            now = self.clock()
            still_s = still_s + POLL_S if now == last else 0.0
            last = now
            if still_s >= self.stuck_s:
                with self._lock:
                    if not self._stop.is_set():
                        self.fired = True
                        _raise_in(self._target, Stuck)
                return


def _raise_in(thread_id: int, exc_type: type[BaseException] | None) -> None:
    """Raise ``exc_type`` in the thread at its next instruction; None takes back one not raised yet."""
    pending = None if exc_type is None else ctypes.py_object(exc_type)  # None: a NULL pointer
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), pending)


def halted(exc: BaseException, sim_ms: int, stuck_s: float) -> Verdict:
    """The verdict on a run that ``exc`` stopped at ``sim_ms``: what happened, and where."""
    place, node = _where(exc.__traceback__)
    on = f" on {node}" if node else ""
    if isinstance(exc, Stuck):
        return invalid(CHECKER, f"stuck at {sim_ms} ms{on}: simulated time stood still for {stuck_s:g} s of wall "
                                f"time, in {place} (an endless loop?)", at_ms=sim_ms, node=node, where=place)
    what = f"{type(exc).__name__}: {exc}"
    return invalid(CHECKER, f"{what} at {sim_ms} ms{on}, in {place}", at_ms=sim_ms, node=node, where=place,
                   exception=what, traceback=traceback.format_exception(exc)[-12:])


def _where(tb: TracebackType | None) -> tuple[str, str | None]:
    """The innermost frame in kvcore (else the innermost of all), and the simulated node whose step it was."""
    frames = list(traceback.walk_tb(tb))
    nodes = [frame.f_locals["self"].name for frame, _ in frames if isinstance(frame.f_locals.get("self"), SimNode)]
    inside = [(frame, line) for frame, line in frames if "/kvcore/" in frame.f_code.co_filename] or frames
    if not inside:
        return "?", None
    frame, line = inside[-1]
    return f"{_short(frame.f_code.co_filename)}:{line} {frame.f_code.co_name}", (nodes[-1] if nodes else None)


def _short(path: str) -> str:
    for package in ("kvcore/", "sim/", "jepsen_like/", "net/"):
        at = path.rfind("/" + package)
        if at >= 0:
            return path[at + 1:]
    return path
