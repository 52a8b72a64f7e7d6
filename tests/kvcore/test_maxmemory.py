"""Over maxmemory under noeviction: writes refused with -OOM as redis-server 7.0.15 refuses them."""

from __future__ import annotations

import re

from tests.kvcore.harness import CoreClient, encode_request, make_node

OOM = "OOM command not allowed when used memory > 'maxmemory'."


def replies(client: CoreClient, *commands: str) -> list:
    return [str(reply) if isinstance(reply, Exception) else reply
            for command in commands for reply in [client.call(*command.split())]]


def test_writes_and_transactions_over_maxmemory_as_redis():
    """The same script against redis-server 7.0.15 gave these replies."""
    node = make_node()
    client, admin = CoreClient(node, 1), CoreClient(node, 2)
    assert replies(client, "SET x value", "MULTI", "SET x 1", "GET x") == [b"OK", b"OK", b"QUEUED", b"QUEUED"]
    assert admin.call("CONFIG", "SET", "maxmemory", "1") == b"OK"
    assert replies(client, "EXEC") == ["EXECABORT Transaction discarded because of: " + OOM]
    assert replies(client, "EXEC", "SET a 1", "GET x") == ["ERR EXEC without MULTI", OOM, b"value"]
    assert replies(client, "MULTI", "SET y 1", "DISCARD") == [b"OK", OOM, b"OK"]
    assert replies(client, "MULTI", "GET x", "EXEC") == [
        b"OK", OOM, "EXECABORT Transaction discarded because of previous errors."]
    admin.call("CONFIG", "SET", "maxmemory", "0")
    assert replies(client, "SET a 1", "MULTI", "SET a 2", "SAVE", "EXEC") == [
        b"OK", b"OK", b"QUEUED", "ERR Command not allowed inside a transaction",
        "EXECABORT Transaction discarded because of previous errors."]
    assert client.call("GET", "a") == b"1"


def test_read_only_transactions_still_run():
    node = make_node()
    client, admin = CoreClient(node, 1), CoreClient(node, 2)
    replies(client, "SET x value", "MULTI", "GET x", "PING")
    admin.call("CONFIG", "SET", "maxmemory", "1")
    assert client.call("EXEC") == [b"value", b"PONG"]


def test_the_limit_is_on_the_dataset_not_on_the_process():
    """used_memory is the core's model of the dataset (kvcore.eviction): what the runtime measures
    of the process (used_memory_rss) neither refuses nor admits a write."""
    node = make_node(maxmemory="2mb")
    client = CoreClient(node, 1)
    node.tick(node.now + 100, rss=20 * 1024 * 1024)
    assert client.call("SET", "k", "v") == b"OK"
    assert b"used_memory_rss:20971520" in client.call("INFO", "memory")
    assert str(client.call("SET", "big", "x" * 1024 * 1024)) != OOM  # admitted: the limit is checked before
    assert str(client.call("SET", "k", "v")) == OOM
    client.call("DEL", "big")
    assert client.call("SET", "k", "v") == b"OK"


# -- maxmemory-clients ------------------------------------------------------------------------------
LIMIT = 300_000


def evicting_node():
    node = make_node()
    CoreClient(node).call("CONFIG", "SET", "maxmemory-clients", str(LIMIT))
    return node


def test_a_big_argument_counts_in_full_from_its_header():
    """Redis makes room for a big argument when it reads its length (client-eviction.tcl's
    'client evicted due to percentage of maxmemory' reads tot-mem right after the write)."""
    node = evicting_node()
    small, half, whole = CoreClient(node), CoreClient(node), CoreClient(node)
    half.send_raw(b"*1\r\n$%d\r\n" % (LIMIT // 2) + b"v" * 1000)
    assert not half.closed
    tot_mem = [int(found) for found in re.findall(rb" tot-mem=(\d+) ", small.call("CLIENT", "LIST"))]
    assert LIMIT // 2 <= max(tot_mem) < LIMIT
    whole.send_raw(b"*1\r\n$%d\r\n" % LIMIT + b"v" * 1000)
    assert whole.closed and node.stats.evicted_clients == 1
    assert not half.closed
    assert small.call("PING") == b"PONG"


def test_a_request_whose_arguments_reach_the_limit_evicts_its_client_before_it_runs():
    node = evicting_node()
    client = CoreClient(node)
    # a big argument is held twice while it runs: itself, and the query buffer Redis makes as large
    assert client.call("MSET", "k", "v", "k2", "v" * (LIMIT // 3)) == b"OK"
    client.send_raw(encode_request("MSET", "k", "v", "k2", "v" * LIMIT))
    assert client.closed and node.stats.evicted_clients == 1
    assert CoreClient(node).call("STRLEN", "k2") == LIMIT // 3


def test_a_no_evict_client_is_kept():
    """The clients over the limit are all NO-EVICT (as client-eviction.tcl's control connection)."""
    node = make_node()
    admin = CoreClient(node)
    admin.call("CLIENT", "NO-EVICT", "on")
    admin.call("CONFIG", "SET", "maxmemory-clients", str(LIMIT))
    client = CoreClient(node)
    client.call("CLIENT", "NO-EVICT", "on")
    client.send_raw(b"*1\r\n$%d\r\n" % LIMIT + b"v" * LIMIT)
    assert not client.closed and node.stats.evicted_clients == 0


def info_memory(client: CoreClient) -> dict[str, str]:
    text = client.call("INFO", "memory").decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def test_what_a_replica_has_yet_to_read_is_its_own_and_not_counted_for_eviction():
    """Redis's maxmemory.tcl 'slave buffer are counted correctly': a stopped replica's unread stream
    shows as mem_clients_slaves and mem_not_counted_for_evict, and makes no key go."""
    node = make_node(maxmemory_policy="allkeys-random", repl_diskless_sync_delay="0")
    client = CoreClient(node, 1)
    for j in range(10):
        client.call("SET", f"key:{j}", "x" * 1000)
    node.open(2, node.now, "127.0.0.1:40002", "127.0.0.1:6379")  # a replica: what it is sent is not read here
    node.receive(2, encode_request("REPLCONF", "capa", "eof"), node.now)  # a diskless sync, sent at once
    node.take_effects()
    node.receive(2, encode_request("SYNC"), node.now)
    client.send_raw(b"")  # the payload sent
    node.receive(2, encode_request("REPLCONF", "ACK", "0"), node.now)  # and loaded: the stream flows
    assert node.replication.replicas == [node.clients[2]]
    before = info_memory(client)
    client.call("CONFIG", "SET", "maxmemory", int(before["used_memory"]) + 32 * 1024)
    node.output_backlog(2, 5_000_000, node.now)  # the runtime: five megabytes the replica has not read
    after = info_memory(client)
    assert int(after["mem_clients_slaves"]) > 4_900_000
    assert int(after["mem_not_counted_for_evict"]) > 4_900_000
    assert int(after["mem_clients_normal"]) < 100_000
    assert client.call("SET", "key:0", "y" * 1000) == b"OK" and client.call("DBSIZE") == 10


def test_lowering_maxmemory_inside_a_transaction_evicts_after_it():
    """Redis's 'propagation with eviction in MULTI': EXEC runs on; the next command evicts."""
    node = make_node(maxmemory_policy="allkeys-lru")
    client = CoreClient(node, 1)
    assert replies(client, "MULTI", "INCR x", "CONFIG SET maxmemory 1", "INCR x") == [
        b"OK", b"QUEUED", b"QUEUED", b"QUEUED"]
    assert client.call("EXEC") == [1, b"OK", 2]
    assert client.call("DBSIZE") == 0
