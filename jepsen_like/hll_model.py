"""HyperLogLogs in the sequential reference (`jepsen_like.redis_model`): the members added.

A HyperLogLog's count is an estimate, but for the reference workload's twelve
members it is exact: each falls in a register of its own, so a member not yet
added always raises its register (PFADD answers 1) and PFCOUNT, of one key or
the union of several, is the number of distinct members
(tests/jepsen_like/test_redis_model.py holds this to redis-server). A
HyperLogLog is a string to TYPE, and PFMERGE makes its destination even when
it merges nothing.
"""

from __future__ import annotations

from typing import Any


class HyperLogLog(set):
    """The members added to a HyperLogLog (a set subclass, so TYPE tells it from a set)."""


class HyperLogLogCommands:
    """PFADD, PFCOUNT and PFMERGE on a model's keys."""

    data: dict[str, Any]  # RedisModel's

    def pfadd(self, args):
        """PFADD key [member...]: 1 if the key was made or a member is new."""
        registers = self.data.get(args[0])
        made = registers is None
        if made:
            registers = self.data[args[0]] = HyperLogLog()
        new = set(args[1:]) - registers
        registers |= new
        return int(made or bool(new))

    def pfcount(self, args):
        return len(set().union(*(self.data.get(key, ()) for key in args)))

    def pfmerge(self, args):
        """PFMERGE destination [source...]: the destination (made if missing, keeping its deadline if
        not) takes every source's members."""
        registers = self.data.setdefault(args[0], HyperLogLog())
        for key in args[1:]:
            registers |= self.data.get(key, set())
        return "OK"
