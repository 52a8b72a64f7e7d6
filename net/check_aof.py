"""`kvserver --check-aof [--fix | --truncate-to-timestamp ts] FILE`: redis-check-aof.

The checking and its messages are kvcore.aof's; this module only gives them
real files and a terminal.
"""

from __future__ import annotations

import os
import sys

from kvcore.aof import CheckIO, run_check_aof


class FileCheckIO(CheckIO):
    """The real world for redis-check-aof: stdout, files, a y/N prompt on stdin."""

    def write(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    def read(self, path: str) -> bytes | None:
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError:
            return None

    def truncate(self, path: str, size: int) -> bool:
        try:
            os.truncate(path, size)
        except OSError:
            return False
        return True

    def confirm(self) -> bool:
        answer = sys.stdin.readline()
        return answer[:1].lower() == "y"


def run(argv: list[str]) -> int:
    """Check (and with --fix, repair) an AOF or manifest; returns the exit code."""
    return run_check_aof(FileCheckIO(), ["kvserver --check-aof", *argv])
