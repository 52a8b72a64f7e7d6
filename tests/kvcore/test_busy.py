"""A script past busy-reply-threshold with a busy runtime (kvcore.busy): other clients' requests
arrive from the script's hook and get Redis's answers; in memory, with a runtime that hands the
node one request per hook (tests/net/test_busy_scripts.py does it with real processes)."""

from __future__ import annotations

from collections import deque

import hiredis

from kvcore import aof
from kvcore.busy import BUSY_EVAL, UNKILLABLE
from tests.kvcore.harness import CoreClient, encode_request, make_node

SPIN = "while true do end"


class InMemoryRuntime:
    """The clock moves a millisecond per reading; each serve hands the node the next arrival."""

    def __init__(self, node, arrivals: list[tuple[CoreClient, tuple]]) -> None:
        self.node = node
        self.ms = node.now
        self.arrivals = deque(arrivals)
        self.served_during = []  # (hook number, client conn, its replies so far) after each serve
        self.serves = self.ended = 0

    def now(self) -> int:
        self.ms += 1
        return self.ms

    def serve(self) -> None:
        self.serves += 1
        if self.arrivals:
            client, args = self.arrivals.popleft()
            self.node.receive(client.conn, encode_request(*args), self.ms)
        some_client = next(iter(self.node.harness_clients.values()))
        some_client._deliver(self.node.busy_effects())

    def done(self) -> None:
        self.ended += 1


def busy_node(arrivals_for, **options):
    node = make_node(**{"lua-time-limit": "5", **options})
    caller, other, third = CoreClient(node), CoreClient(node), CoreClient(node)
    node.busy_runtime = runtime = InMemoryRuntime(node, arrivals_for(caller, other, third))
    return node, runtime, caller, other, third


def replies_of(client: CoreClient) -> list:
    replies, client._replies = client._replies, []
    return [str(reply) if isinstance(reply, hiredis.ReplyError) else reply for reply in replies]


def test_other_clients_get_busy_until_script_kill_ends_the_script():
    node, runtime, caller, other, third = busy_node(lambda caller, other, third: [
        (other, ("GET", "k")), (other, ("FUNCTION", "KILL")), (third, ("SCRIPT", "KILL"))])
    replies = caller.send_raw(encode_request("PING") + encode_request("EVAL", SPIN, "0") + encode_request("PING"))
    assert replies[0] == b"PONG" and replies[2] == b"PONG"  # the caller's own pipeline, in order around it
    assert str(replies[1]).startswith("ERR Script killed by user with SCRIPT KILL... script: ")
    assert replies_of(other) == [BUSY_EVAL, BUSY_EVAL]
    assert replies_of(third) == [b"OK"]
    assert node.scripts.busy is None and runtime.ended == 1 and node.write_gate is None
    assert other.call("GET", "k") is None


def test_a_script_that_wrote_is_unkillable():
    node, runtime, caller, other, third = busy_node(lambda caller, other, third: [
        (other, ("SCRIPT", "KILL")), (other, ("SCRIPT", "KILL"))])
    script = "redis.call('set', 'x', '1') for i = 1, 500000 do end return 'done'"
    assert caller.call("EVAL", script, "0") == b"done"
    assert replies_of(other) == [UNKILLABLE, UNKILLABLE]
    assert caller.call("GET", "x") == b"1"


def test_function_stats_shows_the_running_function():
    node, runtime, caller, other, third = busy_node(lambda caller, other, third: [
        (other, ("FUNCTION", "STATS")), (other, ("FUNCTION", "KILL"))])
    library = "#!lua name=lib\nredis.register_function('spin', function() while true do end end)"
    assert caller.call("FUNCTION", "LOAD", library) == b"lib"
    assert str(caller.call("FCALL", "spin", "0")).startswith("ERR Script killed by user with SCRIPT KILL... script: spin")
    stats, killed = replies_of(other)
    running = dict(zip(stats[1][::2], stats[1][1::2]))
    assert running[b"name"] == b"spin" and running[b"command"] == [b"FCALL", b"spin", b"0"]
    assert running[b"duration_ms"] > 0 and killed == b"OK"


def test_a_client_blocked_on_a_key_the_script_pushed_is_served_after_it():
    node, runtime, caller, other, third = busy_node(lambda caller, other, third: [(third, ("PING",))] * 3)
    assert other.send_raw(encode_request("BLPOP", "q", "0")) == []
    script = "redis.call('rpush', KEYS[1], 'v') for i = 1, 300000 do end return 1"
    served = []
    serve = runtime.serve
    runtime.serve = lambda: (serve(), served.append(list(other._replies)))
    assert caller.call("EVAL", script, "1", "q") == 1
    assert served and all(replies == [] for replies in served)  # nothing for it while the script ran
    caller._deliver(node.take_effects())
    assert replies_of(other) == [[b"q", b"v"]]
    assert replies_of(third)[0] == BUSY_EVAL


def test_without_a_busy_runtime_a_long_script_ends_itself():
    node = make_node(**{"lua-time-limit": "5"})
    client = CoreClient(node)
    assert "busy-reply-threshold" in str(client.call("EVAL", SPIN, "0"))
    assert node.scripts.busy is None


def test_a_slow_script_replayed_from_the_log_makes_others_wait_with_loading():
    """As Redis checks loading before a busy script (its aof.tcl: EVAL timeout from the AOF)."""
    node, runtime, caller, other, third = busy_node(lambda caller, other, third: [
        (other, ("PING",)), (third, ("SCRIPT", "KILL"))] + [(other, ("PING",))] * 50)
    script = "redis.call('set', KEYS[1], 'y'); for i = 1, 300000 do redis.call('ping') end return 'ok'"
    aof.load_commands(node, encode_request("EVAL", script, "1", "x"))
    loading = "LOADING Redis is loading the dataset in memory"
    assert replies_of(other)[:1] == replies_of(third) == [loading]
    assert other.call("GET", "x") == b"y" and other.call("PING") == b"PONG"
