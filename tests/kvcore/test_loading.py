"""Loading a snapshot while serving (kvcore.loading): -LOADING for most, INFO's progress, then the keys."""

from __future__ import annotations

import pytest

from kvcore import rdb
from kvcore.loading import Loading
from tests.kvcore.harness import CoreClient, make_node

NOW = 1_700_000_000_000
LOADING = "LOADING Redis is loading the dataset in memory"


def snapshot_of(keys: int) -> bytes:
    node = make_node(now=NOW)
    client = CoreClient(node)
    client.call("DEBUG", "POPULATE", keys, "key", 100)
    client.call("SET", "ttl", "v", "PX", 100_000)
    return rdb.write(node)


def loading_node(data: bytes, interval: int = 1024):
    node = make_node(now=NOW, loading_process_events_interval_bytes=str(interval))
    Loading(node, data, NOW)
    return node, CoreClient(node)


def test_clients_are_answered_loading_but_for_what_redis_allows():
    node, client = loading_node(snapshot_of(200))
    for command in (("PING",), ("GET", "key:1"), ("SET", "k", "v"), ("FLUSHALL",), ("REPLICAOF", "NO", "ONE")):
        assert str(client.call(*command)) == LOADING
    assert client.call("SELECT", 1) == b"OK"
    assert client.call("CONFIG", "SET", "loglevel", "debug") == b"OK"
    assert str(client.call("CONFIG", "SET", "dir", "x")).endswith("can't set protected config")  # that first
    node.config.load("enable-protected-configs", "yes")
    for option in ("dir", "appendonly", "DIR"):
        assert str(client.call("CONFIG", "SET", option, "x")) == LOADING
    info = client.call("INFO", "persistence").decode()
    assert "loading:1\r\n" in info and "loading_loaded_bytes:9\r\n" in info  # the header: nothing loaded yet
    assert info.index("module_fork_last_cow_size") < info.index("loading_start_time:1700000000\r\n")


def test_steps_read_the_file_and_the_keys_go_in_at_the_end():
    data = snapshot_of(300)
    node, client = loading_node(data)
    loading = node.loading_file
    steps = keys = 0
    while not loading.done:
        keys += loading.step(NOW + steps)
        steps += 1
        if not loading.done:
            assert "loading_loaded_bytes:%d\r\n" % loading.reader.position in client.call("INFO").decode()
    assert steps >= 5 and keys == 301  # about a kilobyte a step
    assert node.loading_file is None and node.loading is False
    assert client.call("PING") == b"PONG"
    assert client.call("DBSIZE") == 301 and client.call("PTTL", "ttl") > 0
    assert "loading:0\r\n" in client.call("INFO", "persistence").decode()
    assert "rdb_last_load_keys_loaded:301" in client.call("INFO", "persistence").decode()


@pytest.mark.parametrize("budget", [1, 50, 4096, None])
def test_a_file_read_in_steps_is_the_file_read_whole(budget):
    data = snapshot_of(100)
    reader = rdb.RdbReader(data)
    while not reader.step(budget):
        pass
    assert reader.snapshot().entries() == rdb.parse(data).entries()


def test_a_corrupt_file_ends_the_load_with_the_error():
    data = bytearray(snapshot_of(100))
    data[len(data) // 2:] = b"\xff" * (len(data) - len(data) // 2)
    node, _ = loading_node(bytes(data))
    with pytest.raises(rdb.RdbError):
        while not node.loading_file.done:
            node.loading_file.step(NOW)
    assert node.loading_file is None


def test_shutdown_while_loading_saves_nothing():
    node, client = loading_node(snapshot_of(50))
    node.receive(client.conn, b"SHUTDOWN\r\n", NOW)
    kinds = [type(effect).__name__ for effect in node.take_effects()]
    assert "Shutdown" in kinds and "WriteFiles" not in kinds
