"""The server log, in redis-server's line format.

``pid:role dd Mon yyyy hh:mm:ss.mmm mark message``, where the role is ``C``
before the server is set up and ``M`` after, and the mark tells the level:
``.`` debug, ``-`` verbose, ``*`` notice, ``#`` warning.
"""

from __future__ import annotations

import os
import sys
import time

DEBUG, VERBOSE, NOTICE, WARNING, NOTHING = range(5)
LEVELS = {"debug": DEBUG, "verbose": VERBOSE, "notice": NOTICE, "warning": WARNING, "nothing": NOTHING}
_MARKS = ".-*#"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def timestamp(now_s: float) -> str:
    """``25 Nov 2026 21:17:56.229`` in local time, month names never localised."""
    local = time.localtime(now_s)
    millis = int(now_s * 1000) % 1000
    month = _MONTHS[local.tm_mon - 1]
    return (f"{local.tm_mday:02d} {month} {local.tm_year} "
            f"{local.tm_hour:02d}:{local.tm_min:02d}:{local.tm_sec:02d}.{millis:03d}")


class Log:
    """Writes lines at or above ``level`` to a file (appended) or stdout."""

    def __init__(self, level: str = "notice", path: str = "") -> None:
        self.level = LEVELS[level]
        self.role = "C"
        self.pid = os.getpid()
        self.path = path
        self._stream = open(path, "a", encoding="utf-8", errors="replace") if path else sys.stdout

    def set_level(self, level: str) -> None:
        self.level = LEVELS[level]

    def write(self, level: int, message: str) -> None:
        if level < self.level or self.level == NOTHING:
            return
        line = f"{self.pid}:{self.role} {timestamp(time.time())} {_MARKS[level]} {message}\n"
        try:
            self._stream.write(line)
            self._stream.flush()
        except (OSError, ValueError):
            pass

    def raw(self, level: int, text: str) -> None:
        """Text as it is, without the line prefix (redis-server's logo)."""
        if level < self.level or self.level == NOTHING:
            return
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            pass

    def debug(self, message: str) -> None:
        self.write(DEBUG, message)

    def verbose(self, message: str) -> None:
        self.write(VERBOSE, message)

    def notice(self, message: str) -> None:
        self.write(NOTICE, message)

    def warning(self, message: str) -> None:
        self.write(WARNING, message)

    def close(self) -> None:
        if self.path:
            self._stream.close()
