"""DUMP and RESTORE: the commands on the pure core, and payloads exchanged with redis-server."""

from __future__ import annotations

import socket

import hiredis
import pytest

from kvcore.crc64 import crc64
from tests.kvcore.harness import CoreClient, encode_request, make_node
from tests.kvcore.test_propagation import LogClient, logging_node, records
from tests.kvcore.test_rdb import NOW, describe, populate

BUSYKEY = "BUSYKEY Target key name already exists."
BAD_PAYLOAD = "DUMP payload version or checksum are wrong"


class RawClient:
    """A plain RESP connection whose replies hiredis decodes as the core tests' CoreClient does."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.reader = hiredis.Reader()

    def call(self, *args):
        self.sock.sendall(encode_request(*args))
        while True:
            reply = self.reader.gets()
            if reply is not False:
                return reply
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("server closed the connection")
            self.reader.feed(data)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def redis_client(redis_port):
    client = RawClient(redis_port)
    client.call("SELECT", 9)
    client.call("FLUSHDB")
    yield client
    client.call("SELECT", 9)
    client.call("FLUSHDB")
    client.close()


def error_text(reply) -> str:
    assert isinstance(reply, hiredis.ReplyError), reply
    return str(reply)


def with_crc(body: bytes) -> bytes:
    return body + crc64(0, body).to_bytes(8, "little")


# -- the commands on the core ----------------------------------------------------------


def test_dump_of_a_missing_key_is_null(c):
    assert c.call("DUMP", "nothing") is None


def test_every_key_restores_to_an_equal_key():
    node = make_node(now=NOW)
    c = CoreClient(node)
    populate(c)
    before = describe(c.call, [0])
    for _, key in before:
        assert c.call("RESTORE", b"copy:" + key, 0, c.call("DUMP", key)) == b"OK"
    after = describe(c.call, [0])
    for (_, key), (kind, value, encoding, _) in before.items():
        assert after[(0, b"copy:" + key)] == (kind, value, encoding, -1)


def test_ttl_relative_absolute_and_already_past(c):
    c.node.now = NOW
    c.call("SET", "a", "v")
    payload = c.call("DUMP", "a")
    assert c.call("RESTORE", "rel", 5000, payload) == b"OK"
    assert c.call("PTTL", "rel") == 5000
    assert c.call("RESTORE", "abs", NOW + 7000, payload, "ABSTTL") == b"OK"
    assert c.call("PTTL", "abs") == 7000
    assert c.call("RESTORE", "past", NOW - 1, payload, "ABSTTL") == b"OK"
    assert c.call("EXISTS", "past") == 0
    assert c.call("RESTORE", "a", NOW, payload, "ABSTTL", "REPLACE") == b"OK"
    assert c.call("EXISTS", "a") == 0  # REPLACE deleted it; the TTL had passed
    assert c.call("RESTORE", "huge", 2**63 - 1, payload) == b"OK"  # now + ttl wraps around, as in C
    assert c.call("EXISTS", "huge") == 0


def test_replace_drops_the_old_ttl(c):
    c.call("SET", "a", "v", "PX", 10000)
    assert c.call("RESTORE", "a", 0, c.call("DUMP", "a"), "REPLACE") == b"OK"
    assert c.call("PTTL", "a") == -1


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["a", 0, "PAYLOAD"], BUSYKEY),  # before the TTL and the payload are looked at
        (["b", "x", "PAYLOAD"], "value is not an integer or out of range"),
        (["b", -1, "PAYLOAD"], "Invalid TTL value, must be >= 0"),
        (["b", 0, "PAYLOAD", "REPLACE", "bogus"], "syntax error"),
        (["a", 0, "PAYLOAD", "IDLETIME"], "syntax error"),
        (["a", 0, "PAYLOAD", "IDLETIME", -1], "Invalid IDLETIME value, must be >= 0"),
        (["a", 0, "PAYLOAD", "IDLETIME", "x"], "value is not an integer or out of range"),
        (["a", 0, "PAYLOAD", "FREQ", 256], "Invalid FREQ value, must be >= 0 and <= 255"),
        (["a", 0, "PAYLOAD", "FREQ", 1, "IDLETIME", 1], "syntax error"),
        (["a", 0, "PAYLOAD", "IDLETIME", 1, "FREQ", 1], "syntax error"),
        (["b", 0, b"garbage"], BAD_PAYLOAD),
        (["b", 0, b"123456789"], BAD_PAYLOAD),
    ],
)
def test_restore_errors(c, args, error):
    c.call("SET", "a", "v")
    payload = c.call("DUMP", "a")
    args = [payload if arg == "PAYLOAD" else arg for arg in args]
    assert error_text(c.call("RESTORE", *args)).endswith(error)


def test_payload_checks(c):
    c.call("SET", "a", "hello")
    payload = c.call("DUMP", "a")
    assert payload[-10:-8] == b"\x0a\x00"  # RDB version 10
    assert payload[-8:] == crc64(0, payload[:-8]).to_bytes(8, "little")
    wrong_crc = payload[:-1] + bytes([payload[-1] ^ 1])
    assert error_text(c.call("RESTORE", "b", 0, wrong_crc)).endswith(BAD_PAYLOAD)
    newer = with_crc(payload[:-10] + b"\x0b\x00")
    assert error_text(c.call("RESTORE", "b", 0, newer)).endswith(BAD_PAYLOAD)
    older = with_crc(payload[:-10] + b"\x01\x00")
    assert c.call("RESTORE", "b", 0, older) == b"OK"
    unknown_type, stream, empty_list = b"\x08" + payload[1:-8], b"\x13" + payload[1:-8], b"\x12\x00\x0a\x00"
    for body in (unknown_type, stream, empty_list):
        assert error_text(c.call("RESTORE", "c", 0, with_crc(body))) == "ERR Bad data format"
    assert c.call("EXISTS", "c") == 0


def test_idletime_and_freq_are_accepted(c):
    c.call("SET", "a", "v")
    payload = c.call("DUMP", "a")
    assert c.call("RESTORE", "b", 0, payload, "IDLETIME", 100, "IDLETIME", 5) == b"OK"
    assert c.call("RESTORE", "c", 0, payload, "FREQ", 255) == b"OK"


def test_propagation_rewrites_relative_ttls_and_expired_replaces():
    node = logging_node(now=NOW)
    c = LogClient(node)
    c.call("SET", "a", "v")
    payload = c.call("DUMP", "a")
    c.call("RESTORE", "b", 1000, payload, "REPLACE")
    c.call("RESTORE", "c", 0, payload)
    c.call("RESTORE", "a", 1, payload, "ABSTTL", "REPLACE")
    c.call("RESTORE", "d", 1, payload, "ABSTTL")  # nothing happened: nothing to propagate
    assert records(node)[2:] == [
        [b"RESTORE", b"b", b"%d" % (NOW + 1000), payload, b"REPLACE", b"ABSTTL"],
        [b"RESTORE", b"c", b"0", payload],
        [b"DEL", b"a"],
    ]


def test_restoring_a_list_serves_a_blocked_client():
    node = make_node(now=NOW)
    waiter, writer = CoreClient(node), CoreClient(node)
    writer.call("RPUSH", "src", "x")
    payload = writer.call("DUMP", "src")
    assert waiter.send_raw(encode_request("BLPOP", "dst", 0)) == []
    assert writer.call("RESTORE", "dst", 0, payload) == b"OK"
    assert waiter.send_raw(b"") == [[b"dst", b"x"]]
    assert writer.call("EXISTS", "dst") == 0


# -- payloads exchanged with redis-server 7.0 ------------------------------------------


COMMANDS = [
    ("SET", "str", "hello"),
    ("SET", "int", "-129"),
    ("SET", "zero", "0"),
    ("SET", "notint", "007"),
    ("SET", "lzf", "abcdefabcdefXabcdefabcdef123456" * 4),
    ("SET", "noise", bytes(range(256)) * 2),
    ("SET", "run", "x" * 100000),  # LZF past its first batch of hash slots, matches skipping them
    ("SET", "words", b" ".join(b"w%d" % (i * 7919 % 1000) for i in range(3000))),
    ("RPUSH", "list", "a", "12", "-5", "99999999999", "x" * 70, "007"),
    ("RPUSH", "biglist", *[b"item-%d" % i * 9 for i in range(1500)]),
    ("HSET", "hash", "f", "v", "n", "12", "long", "y" * 60),
    ("SADD", "intset", 5, -3, 1000000, 70000),
    ("SADD", "int16", 1, 2, 3),
    ("SADD", "narrowed", 1, 10000000000),  # an intset keeps the width of the widest it held
    ("SREM", "narrowed", 10000000000),
    ("ZADD", "zset", 1, "a", 2.5, "b", 1e17, "c", "inf", "d", 0.1, "e", -0.0, "f", 5e18, "g"),
    ("JSON.SET", "doc", "$", '{"a":1}'),
]
# Encodings whose layout depends on hash order in Redis: compared by value, not by bytes.
UNORDERED = [
    ("HSET", "bighash", *[part for i in range(600) for part in (b"f%d" % i, b"v%d" % i)]),
    ("SADD", "set", "a", "b", "c", "d"),
    ("SADD", "bigset", *range(600)),
    ("ZADD", "bigzset", *[part for i in range(300) for part in (i / 7, b"m%d" % i)]),
]


def run_all(call, commands) -> None:
    for command in commands:
        reply = call(*command)
        assert not isinstance(reply, hiredis.ReplyError) or command[0] == "JSON.SET", reply


def test_dump_payloads_equal_redis_byte_for_byte(redis_client):
    node = make_node(now=NOW)
    c = CoreClient(node)
    run_all(c.call, COMMANDS)
    run_all(redis_client.call, COMMANDS)
    for command in COMMANDS:
        key = command[1]
        if command[0] == "JSON.SET":
            continue  # redis-server has no RedisJSON
        assert c.call("DUMP", key) == redis_client.call("DUMP", key), key


def test_redis_payloads_restore_here(redis_client):
    node = make_node(now=NOW)
    c = CoreClient(node)
    commands = [cmd for cmd in COMMANDS + UNORDERED if cmd[0] != "JSON.SET"]
    run_all(redis_client.call, commands)
    for key in dict.fromkeys(command[1] for command in commands):
        assert c.call("RESTORE", key, 0, redis_client.call("DUMP", key)) == b"OK", key
    assert c.call("DUMP", "narrowed") == redis_client.call("DUMP", "narrowed")  # loaded as wide as it came
    assert describe(c.call, [0]) == {(0, k): v for (_, k), v in describe(redis_client.call, [9]).items()}


def test_payloads_from_here_restore_in_redis(redis_client):
    node = make_node(now=NOW)
    c = CoreClient(node)
    commands = [cmd for cmd in COMMANDS + UNORDERED if cmd[0] != "JSON.SET"]
    run_all(c.call, commands)
    for key in dict.fromkeys(command[1] for command in commands):
        assert redis_client.call("RESTORE", key, 0, c.call("DUMP", key)) == b"OK", key
    assert describe(c.call, [0]) == {(0, k): v for (_, k), v in describe(redis_client.call, [9]).items()}


def test_redis_rejects_what_we_reject(redis_client):
    redis_client.call("SET", "a", "v")
    payload = redis_client.call("DUMP", "a")
    c = CoreClient(make_node(now=NOW))
    c.call("SET", "a", "v")
    cases = [
        ("a", 0, payload),
        ("b", -5, payload),
        ("b", 0, payload[:-1] + bytes([payload[-1] ^ 1])),
        ("b", 0, with_crc(b"\x08" + payload[1:-8])),
        ("b", 0, payload, "FREQ", 1, "IDLETIME", 2),
    ]
    for args in cases:
        assert str(c.call("RESTORE", *args)) == str(redis_client.call("RESTORE", *args))
