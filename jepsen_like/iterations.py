"""Whole iterations in the sequential reference (`jepsen_like.redis_model`): SSCAN, HSCAN and ZSCAN.

The reference workload sends an iteration from cursor 0 until the server returns 0 as one
operation, so its reply is every element present for the whole iteration (a group's keys have
one client, so that is all of them) that the MATCH pattern matches; an element may come more
than once (`redis_model.normalize` keeps one of each). The workload's patterns have only ``*``
and ``?`` in them, which fnmatch reads as Redis's glob does.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase


def matching(names: Iterable[str], args: list[str]) -> list[str]:
    """The names ``key cursor [MATCH pattern] [COUNT n]`` returns over a whole iteration."""
    words = [arg.upper() for arg in args]
    pattern = args[words.index("MATCH") + 1] if "MATCH" in words else "*"
    return [name for name in names if fnmatchcase(name, pattern)]
