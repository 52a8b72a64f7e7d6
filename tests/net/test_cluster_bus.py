"""kvserver processes forming a cluster over their real bus ports: they meet, share out the slots,
redirect, replicate a shard, carry PUBLISH, and a cluster client (redis-py's) uses them."""

from __future__ import annotations

import contextlib
import signal

import redis
import redis.cluster

from tests.net.util import wait_until
from tests.servers import free_port, kvserver

OPTIONS = ["--cluster-enabled", "yes", "--cluster-node-timeout", "500", "--save", "", "--repl-diskless-sync-delay", "0"]
RANGES = [(0, 5460), (5461, 10922), (10923, 16383)]


@contextlib.contextmanager
def cluster_of(count: int):
    """``count`` kvservers (each with its own bus port), met through the first: [(port, bus port, process)]."""
    with contextlib.ExitStack() as stack:
        nodes = []
        for _ in range(count):
            bus_port = free_port()
            port, proc = stack.enter_context(kvserver([*OPTIONS, "--cluster-port", str(bus_port)]))
            nodes.append((port, bus_port, proc))
        first = redis.Redis(port=nodes[0][0], socket_timeout=10)
        for port, bus_port, _ in nodes[1:]:
            assert first.execute_command("CLUSTER", "MEET", "127.0.0.1", port, bus_port) == b"OK"
        yield nodes


def info(client: redis.Redis) -> dict[str, str]:
    text = client.execute_command("CLUSTER", "INFO").decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if line)


def test_nodes_meet_share_the_slots_redirect_and_serve_a_cluster_client():
    with cluster_of(3) as nodes:
        clients = [redis.Redis(port=port, socket_timeout=10) for port, _, _ in nodes]
        for client, (first, last) in zip(clients, RANGES):
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
        assert wait_until(lambda: all(info(c)["cluster_state"] == "ok" and info(c)["cluster_known_nodes"] == "3"
                                      for c in clients), 10)
        assert wait_until(lambda: len({str(c.execute_command("CLUSTER", "SLOTS")) for c in clients}) == 1, 10)
        slots = clients[1].execute_command("CLUSTER", "SLOTS")
        assert [(row[0], row[1], row[2][1]) for row in slots] == [
            (first, last, port) for (first, last), (port, _, _) in zip(RANGES, nodes)]
        try:
            clients[0].set("foo", "bar")  # slot 12182: the third node's
            raise AssertionError("no redirection")
        except redis.exceptions.MovedError as exc:  # redis-py's for -MOVED, the word itself taken off
            assert str(exc) == f"12182 127.0.0.1:{nodes[2][0]}"
        cluster = redis.cluster.RedisCluster(host="127.0.0.1", port=nodes[0][0], socket_timeout=10)
        for i in range(50):
            cluster.set(f"key:{i}", i)
        assert [int(cluster.get(f"key:{i}")) for i in range(50)] == list(range(50))
        assert sum(c.dbsize() for c in clients) == 50 and all(c.dbsize() for c in clients)
        cluster.close()


def test_a_replica_copies_its_master_and_a_stopped_master_fails_the_cluster():
    with cluster_of(4) as nodes:
        clients = [redis.Redis(port=port, socket_timeout=10) for port, _, _ in nodes]
        for client, (first, last) in zip(clients, RANGES):
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
        owner = clients[2].execute_command("CLUSTER", "MYID")
        assert wait_until(lambda: owner in clients[3].execute_command("CLUSTER", "NODES"), 10)
        assert clients[3].execute_command("CLUSTER", "REPLICATE", owner) == b"OK"
        assert wait_until(lambda: all(info(c)["cluster_state"] == "ok" for c in clients), 10)
        clients[2].set("foo", "bar")
        reader = redis.Redis(port=nodes[3][0], socket_timeout=10, single_connection_client=True)
        assert reader.execute_command("READONLY")
        assert wait_until(lambda: reader.get("foo") == b"bar", 15)
        replica = clients[3].execute_command("CLUSTER", "MYID").decode()

        def seen_as_replica(client) -> bool:
            lines = client.execute_command("CLUSTER", "NODES").decode().splitlines()
            fields = next(line.split() for line in lines if line.startswith(replica))
            return "slave" in fields[2].split(",") and fields[3] == owner.decode()

        assert wait_until(lambda: all(seen_as_replica(c) for c in clients), 10)

        def offered(client) -> bool:
            row = next(row for row in client.execute_command("CLUSTER", "SLOTS") if row[0] == 10923)
            return [node[2].decode() for node in row[3:]] == [replica]

        assert wait_until(lambda: all(offered(c) for c in clients), 10)  # it has data: offered for reads

        subscriber = clients[1].pubsub()
        subscriber.subscribe("news")
        assert subscriber.get_message(timeout=5)["type"] == "subscribe"
        clients[0].publish("news", "hello")
        message = subscriber.get_message(timeout=5)
        assert (message["type"], message["data"]) == ("message", b"hello")
        subscriber.close()

        proc = nodes[1][2]
        proc.send_signal(signal.SIGSTOP)
        try:
            assert wait_until(lambda: info(clients[0])["cluster_state"] == "fail", 15)
            try:
                clients[0].get("{a}")
                raise AssertionError("served while down")
            except redis.exceptions.ClusterDownError as exc:  # -CLUSTERDOWN, its first word taken off
                assert str(exc) == "The cluster is down"
        finally:
            proc.send_signal(signal.SIGCONT)
        assert wait_until(lambda: info(clients[0])["cluster_state"] == "ok", 15)
