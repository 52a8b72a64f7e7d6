"""The watchdog (``watchdog-period``, redis-server's debugging aid): the stack in the log when the loop is stuck.

Each cron tick arms a one-shot SIGALRM ``watchdog-period`` milliseconds ahead;
a loop that keeps ticking keeps pushing it back, so it goes off only when the
server is held longer than that: a long script, DEBUG SLEEP, a stuck write,
or a load (Redis's cron does not run while it loads, so its alarm is not
pushed back then either: `Server._tick` does the same). It then logs
"--- WATCHDOG TIMER EXPIRED ---" and the main thread's Python stack where the
signal found it, as redis-server logs its C stack. The handler is installed
with `signal.signal`, not the loop's, so that it runs while the loop is held.
A period under two cron intervals is raised to that, as Redis raises it.
"""

from __future__ import annotations

import signal
import traceback

from net.log import Log


class Watchdog:
    def __init__(self, log: Log) -> None:
        self.log = log
        self.period_ms = 0

    def configure(self, period_ms: int, hz: int) -> None:
        """``watchdog-period`` (0: off) at ``hz`` cron ticks a second."""
        if not period_ms:
            if self.period_ms:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, signal.SIG_IGN)
            self.period_ms = 0
            return
        if not self.period_ms:
            signal.signal(signal.SIGALRM, self._expired)
        self.period_ms = max(period_ms, 2 * (1000 // hz))
        self.rearm()

    def rearm(self) -> None:
        if self.period_ms:
            signal.setitimer(signal.ITIMER_REAL, self.period_ms / 1000)

    def _expired(self, _signum, frame) -> None:
        self.log.warning("\n--- WATCHDOG TIMER EXPIRED ---")
        for entry in traceback.format_stack(frame):
            self.log.warning(entry.rstrip("\n"))
        self.log.warning("--------\n")
