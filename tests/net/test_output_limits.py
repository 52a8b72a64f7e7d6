"""client-output-buffer-limit end to end, on kvserver and on redis-server: the procedures of
Redis's own tests (tests/unit/obuf-limits.tcl), with a subscriber that never reads."""

from __future__ import annotations

import pytest
import redis

from tests.net.util import connect, encode, wait_until


@pytest.fixture
def r(either_server):
    client = redis.Redis(port=either_server, protocol=2, socket_timeout=30)
    yield client
    client.config_set("client-output-buffer-limit", "normal 0 0 0 pubsub 33554432 8388608 60")
    client.close()


def subscriber_line(r: redis.Redis, name: str) -> str | None:
    return next((line for line in r.execute_command("CLIENT", "LIST").decode().splitlines()
                 if f" name={name} " in line), None)


def test_a_subscriber_that_does_not_read_is_dropped_at_the_hard_limit(r, either_server):
    r.config_set("client-output-buffer-limit", "pubsub 100000 0 0")
    subscriber = connect(either_server)
    subscriber.sendall(encode("CLIENT", "SETNAME", "slow") + encode("SUBSCRIBE", "foo"))
    assert wait_until(lambda: r.pubsub_numsub("foo")[0][1] == 1)
    omem = 0
    for _ in range(100_000):
        r.publish("foo", "x" * 1000)
        line = subscriber_line(r, "slow")
        if line is None:
            break
        omem = int(line.split(" omem=")[1].split(" ")[0])
        assert omem < 200_000
    assert 70_000 <= omem < 200_000  # seen growing, then gone at the limit
    assert r.pubsub_numsub("foo")[0][1] == 0
    assert r.ping()
    subscriber.close()


def test_a_reply_past_the_normal_hard_limit_closes_the_connection_unanswered(r, either_server):
    r.delete("big")
    r.rpush("big", *["x" * 1000] * 200)
    r.config_set("client-output-buffer-limit", "normal 100000 0 0")
    sock = connect(either_server)
    sock.sendall(encode("LRANGE", "big", "0", "-1"))
    sock.settimeout(10)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    sock.close()
    assert len(received) < 100_000  # never the whole reply
    r.config_set("client-output-buffer-limit", "normal 0 0 0")
    assert len(r.lrange("big", 0, -1)) == 200
