"""The mixed workload: many commands of every type, judged by what they leave behind."""

from __future__ import annotations

import random

import pytest
from hiredis import ReplyError

from sim import mixed
from sim.workloads import WORKLOADS, Unexpected
from sim.world import RunConfig, World


def conversation_outcome(op, replies):
    """Drive an operation's one round trip with `replies`; its outcome."""
    next(op.conversation)
    with pytest.raises(StopIteration) as done:
        op.conversation.send(replies)
    return done.value.value


def test_operations_cover_every_family_and_are_the_seeds():
    ops = [mixed.operation(random.Random(seed), "k1") for seed in range(3000)]
    assert ops == [mixed.operation(random.Random(seed), "k1") for seed in range(3000)]
    commands = [argv for _, cmds in ops for argv in cmds]
    keys = {argv[1].decode() for argv in commands if len(argv) > 1 and argv[1].startswith(b"{k1}:")}
    assert {key.split(":")[1].rstrip("23") for key in keys} == set(mixed.TYPES)
    names = {name for name, _ in ops}
    assert {"multi", "eval", "select", "pexpire", "json", "spop", "xadd", "blmove", "zunionstore"} <= names


def test_a_run_executes_them_without_errors_and_restarts_with_its_data():
    world = World(RunConfig(seed=4, workload="mixed", replicas=1, clients=4, duration_ms=10_000))
    result = world.run()
    assert {name: verdict.valid for name, verdict in result.verdicts.items()} == {
        "liveness": True, "client": True, "convergence": True, "restart": True}
    assert result.ops["ok"] > 200 and result.ops["fail"] == 0


def test_an_error_no_command_allows_is_unexpected_even_inside_exec():
    workload = WORKLOADS["mixed"]
    allowed = ReplyError("ERR no such key")
    op = workload.final_read("k1")
    replies = [expected.encode() for expected in map(mixed.expected_type, mixed.KEY_SUFFIXES)]
    assert conversation_outcome(op, replies) == ("ok", None)
    op = workload.final_read("k1")
    next(op.conversation)
    with pytest.raises(Unexpected, match="TYPE list or none"):
        op.conversation.send([b"none"] * mixed.KEY_SUFFIXES.index("l") + [b"string"] + [b"none"] * 99)
    rng = random.Random(0)
    while (op := workload._op("write", "k1", rng, 1)).value != "multi":
        pass
    next(op.conversation)
    with pytest.raises(Unexpected, match="syntax error"):
        op.conversation.send([b"OK", b"QUEUED", b"QUEUED", [allowed, ReplyError("ERR syntax error")]])
    while (op := workload._op("write", "k1", rng, 1)).value != "rename":
        pass
    assert conversation_outcome(op, [allowed]) == ("ok", None)  # RENAME of a missing key may say so
    while (op := workload._op("write", "k1", rng, 1)).value != "rename":
        pass
    next(op.conversation)
    with pytest.raises(Unexpected, match="WRONGTYPE"):
        op.conversation.send([ReplyError("WRONGTYPE Operation against a key holding the wrong kind of value")])
