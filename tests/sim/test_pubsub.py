"""The pubsub workload: subscribers in every mode hear what publishers send, through faults."""

from __future__ import annotations

from collections import Counter

from jepsen_like.history import pair
from sim.subscriber import MODES, pattern_for
from sim.world import RunConfig, World, run


def subscriptions(result) -> list:
    return [op for op in pair(result.history) if op.f == "subscribe"]


def test_every_mode_hears_its_messages_and_the_run_is_valid():
    result = run(RunConfig(seed=2, workload="pubsub", clients=3, duration_ms=10_000))
    assert result.verdicts["pubsub"].valid is True, result.verdicts["pubsub"]
    heard = Counter()
    for op in subscriptions(result):
        heard[op.value] += len(op.result["messages"])
    assert set(heard) == {"channel", "pattern", "shard"} and min(heard.values()) > 20
    kinds = Counter(op.value[1] for op in pair(result.history) if op.f == "publish")
    assert set(kinds) == {"PUBLISH", "SPUBLISH"}


def test_a_kill_breaks_subscriptions_and_they_come_back():
    result = run(RunConfig(seed=3, workload="pubsub", clients=3, duration_ms=20_000, faults=("kill",)))
    assert result.faults["kill"] > 0 and result.verdicts["pubsub"].valid is True
    ended = Counter(op.result["ended"] for op in subscriptions(result) if op.ok)
    assert ended["broken"] > 0 and ended["unsubscribed"] > 0


def test_half_the_subscribers_speak_resp3():
    world = World(RunConfig(seed=1, workload="pubsub", clients=1, duration_ms=1000))
    assert {(s.mode, s.resp3) for s in world.subscribers} == {(mode, resp3) for mode in MODES for resp3 in (0, 1)}


def test_patterns_match_their_channel_only():
    assert pattern_for("k1") == "k[1]"


def test_a_push_for_another_channel_is_an_anomaly():
    world = World(RunConfig(seed=1, workload="pubsub", clients=1, duration_ms=2000))
    subscriber = world.subscribers[0]
    original = subscriber._reply

    def misdelivered(reply):
        if type(reply) is list and reply[0] == b"message":
            reply = [reply[0], b"elsewhere", reply[2]]
        original(reply)

    subscriber._reply = misdelivered
    result = world.run()
    assert result.verdicts["client"].valid is False
    assert "another subscription" in str(result.verdicts["client"].evidence)
