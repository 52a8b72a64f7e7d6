"""client-output-buffer-limit: Redis's setting, and clients dropped past their class's limits."""

from __future__ import annotations

import pytest

from kvcore.effects import Close, LogMessage
from tests.kvcore.harness import CoreClient, make_node

CONFIG_ERROR = "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - "
DEFAULT = b"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"


def setting(client: CoreClient) -> bytes:
    return client.call("CONFIG", "GET", "client-output-buffer-limit")[1]


@pytest.mark.parametrize("value, error", [  # redis-server 7.0.15's replies
    ("wrong number", "Wrong number of arguments in buffer limit configuration."),
    ("invalid_class 10mb 10mb 60", "Invalid client class specified in buffer limit configuration."),
    ("master 10mb 10mb 60", "Invalid client class specified in buffer limit configuration."),
    ("normal 10mbs 10mb 60", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
    ("replica 10mb 10mbs 60", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
    ("pubsub 10mb 10mb 60s", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
    ("pubsub 1 2 -1", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
    ("normal 1.5mb 0 0", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
])
def test_bad_settings_get_redis_errors_and_change_nothing(c, value, error):
    assert str(c.call("CONFIG", "SET", "client-output-buffer-limit", value)) == CONFIG_ERROR + error
    assert setting(c) == DEFAULT


@pytest.mark.parametrize("value, shown", [  # as redis-server 7.0.15 shows them after the set
    ("normal 1mb 2mb 60 replica 3mb 4mb 70 pubsub 5mb 6mb 80",
     b"normal 1048576 2097152 60 slave 3145728 4194304 70 pubsub 5242880 6291456 80"),
    ("NORMAL 1k 1K +5", b"normal 1000 1000 5 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
    ("normal 10mb 10mb 60 normal 1 2 3", b"normal 1 2 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
    ("", DEFAULT),
])
def test_a_setting_changes_only_the_classes_it_names(c, value, shown):
    assert c.call("CONFIG", "SET", "client-output-buffer-limit", value) == b"OK"
    assert setting(c) == shown


def _effects_after(node, client: CoreClient, *args) -> list:
    from tests.kvcore.harness import encode_request

    node.receive(client.conn, encode_request(*args), node.now)
    return node.take_effects()


def test_a_reply_past_the_normal_hard_limit_is_never_sent():
    node = make_node()
    client = CoreClient(node)
    client.call("CONFIG", "SET", "client-output-buffer-limit", "normal 100000 0 0")
    client.call("RPUSH", "big", *["x" * 1000] * 200)
    effects = _effects_after(node, client, "LRANGE", "big", "0", "-1")
    assert Close(client.conn, discard=True) in effects
    assert not [effect for effect in effects if getattr(effect, "conn", None) == client.conn and
                type(effect).__name__ == "Send"]
    warning = next(effect for effect in effects if type(effect) is LogMessage)
    assert warning.level == "warning" and "for overcoming of output buffer limits." in warning.text
    assert client.conn not in node.clients


def test_a_reply_under_the_limit_is_sent():
    node = make_node()
    client = CoreClient(node)
    client.call("CONFIG", "SET", "client-output-buffer-limit", "normal 1000000 0 0")
    client.call("RPUSH", "big", *["x" * 1000] * 200)
    assert len(client.call("LRANGE", "big", "0", "-1")) == 200


def test_a_subscriber_that_does_not_read_is_dropped_at_the_pubsub_hard_limit():
    node = make_node()
    publisher, subscriber = CoreClient(node), CoreClient(node)
    publisher.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 100000 0 0")
    subscriber.call("SUBSCRIBE", "foo")
    node.output_backlog(subscriber.conn, 16384 + 60000, node.now)  # what the runtime holds unsent
    line = next(line for line in publisher.call("CLIENT", "LIST").decode().splitlines()
                if f"id={subscriber.conn}" in line)
    # Redis's static 16 KB buffer does not count; the rest counts in reply blocks of 20464 bytes
    assert " omem=61392 " in line and " oll=3 " in line
    assert publisher.call("PUBLISH", "foo", "x" * 1000) == 1  # 77 KB unsent: still under
    node.output_backlog(subscriber.conn, 16384 + 80000, node.now)  # 4 blocks: 81856
    assert subscriber.conn in node.clients
    node.output_backlog(subscriber.conn, 16384 + 81857, node.now)  # 5 blocks: 102320
    assert Close(subscriber.conn, discard=True) in node.take_effects()
    assert publisher.call("PUBLISH", "foo", "bar") == 0  # no longer subscribed


def test_a_normal_client_has_no_limit_by_default():
    node = make_node()
    client = CoreClient(node)
    node.output_backlog(client.conn, 10**9, node.now)
    assert client.call("PING") == b"PONG"


def test_the_soft_limit_must_hold_longer_than_its_seconds():
    node = make_node(now=1_700_000_000_000)
    publisher, subscriber = CoreClient(node), CoreClient(node)
    publisher.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 100000 3")
    subscriber.call("SUBSCRIBE", "foo")
    node.output_backlog(subscriber.conn, 170000, node.now)  # first seen over: the clock starts
    node.now += 3000
    node.output_backlog(subscriber.conn, 170000, node.now)  # 3 s: not more than the soft seconds
    assert subscriber.conn in node.clients
    node.output_backlog(subscriber.conn, 30000, node.now)  # under it again: the clock stops
    node.now += 1000
    node.output_backlog(subscriber.conn, 170000, node.now)
    node.now += 3000
    node.output_backlog(subscriber.conn, 170000, node.now)
    assert subscriber.conn in node.clients
    node.now += 1000
    node.output_backlog(subscriber.conn, 170000, node.now)  # 4 s over: dropped
    assert subscriber.conn not in node.clients


@pytest.mark.parametrize("command", [
    ("HSET", "HRANDFIELD", ["a", "b"]), ("SADD", "SRANDMEMBER", ["a"]), ("ZADD", "ZRANDMEMBER", ["1", "a"]),
])
def test_huge_random_draws_stop_at_the_hard_limit(command):
    """Redis's 'HRANDFIELD with huge count stopped mid-run': the client is dropped, the server is not
    held up making a reply of a billion elements."""
    create, draw, members = command
    node = make_node()
    client = CoreClient(node)
    client.call("CONFIG", "SET", "client-output-buffer-limit", "normal 1000000 0 0")
    client.call(create, "k", *members)
    effects = _effects_after(node, client, draw, "k", "-999999999")
    assert Close(client.conn, discard=True) in effects


def test_unread_output_counts_in_used_memory_and_can_make_keys_go():
    """maxmemory.tcl's 'eviction due to output buffers ..., client eviction: false'."""
    node = make_node()
    client, reader = CoreClient(node), CoreClient(node)
    client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    for i in range(50):
        client.call("SETRANGE", f"k{i}", "100000", "x")
    before = int(dict(line.split(":", 1) for line in client.call("INFO", "memory").decode().split("\r\n")
                      if ":" in line)["used_memory"])
    client.call("CONFIG", "SET", "maxmemory", str(before + 1_000_000))
    node.output_backlog(reader.conn, 16384 + 3_000_000, node.now)  # a reader 3 MB behind
    client.call("PING")
    assert client.call("DBSIZE") < 50


def test_maxmemory_clients_evicts_the_client_furthest_behind():
    node = make_node()
    admin, slow, slower = CoreClient(node), CoreClient(node), CoreClient(node)
    admin.call("CLIENT", "NO-EVICT", "on")
    admin.call("CONFIG", "SET", "maxmemory-clients", "3mb")
    node.output_backlog(admin.conn, 16384 + 2_900_000, node.now)  # the most behind, but no-evict
    node.output_backlog(slow.conn, 16384 + 50_000, node.now)
    node.output_backlog(slower.conn, 16384 + 200_000, node.now)  # over 3 MB in all: this one goes
    effects = node.take_effects()
    assert Close(slower.conn, discard=True) in effects and Close(admin.conn, discard=True) not in effects
    assert slow.conn in node.clients
    assert b"evicted_clients:1" in admin.call("INFO", "stats")


def test_a_request_held_half_read_counts_as_client_memory():
    """maxmemory.tcl's 'eviction due to input buffer of a dead client': 249 KB of a request that
    never ends is the client's memory until it is closed."""
    node = make_node()
    admin, dead = CoreClient(node), CoreClient(node)
    admin.call("CLIENT", "NO-EVICT", "on")
    admin.call("CONFIG", "SET", "maxmemory-clients", "200kb")
    partial = b"*250\r\n" + b"$1000\r\n" + b"x" * 1000 + b"\r\n"
    dead.send_raw(partial * 1)
    assert dead.conn in node.clients
    for _ in range(248):
        node.receive(dead.conn, b"$1000\r\n" + b"x" * 1000 + b"\r\n", node.now)
    assert dead.conn not in node.clients
    assert b"evicted_clients:1" in admin.call("INFO", "stats")
