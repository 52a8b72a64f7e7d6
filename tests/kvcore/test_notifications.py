"""Keyspace notifications of the key commands: generic ('g') events and new-key ('n') events.

Every case below was checked with redis-server 7.0.15 (PSUBSCRIBE '__key*__:*' in one
client, the commands in another); `test_case_on_redis` replays them there, so the expected
events are Redis's, in Redis's order: for each event the __keyspace@<db>__:<key> message,
then the __keyevent@<db>__:<event> one.
"""

from __future__ import annotations

import socket

import hiredis
import pytest

from tests.kvcore.harness import CoreClient, encode_request, make_node

PATTERN = b"__key*__:*"
END = [b"PUBLISH", b"__keyend__:case", b"done"]  # matches PATTERN: marks the end of a case's events
PAYLOAD = b"\x00\x01v\n\x00\x91\x08\xce\xb2\x198\x8a\xce"  # DUMP of the string "v", from redis-server 7.0.15
FAR = b"4000000000"  # an EXPIREAT in the year 2096

# (name, flags, setup commands, commands, expected events as (event, key) or (event, key, db))
CASES = [
    (
        "general events (unit/pubsub)", "KEg",
        [], [["SET", "foo", "bar"], ["EXPIRE", "foo", "1"], ["DEL", "foo"]],
        [("expire", "foo"), ("del", "foo")],
    ),
    (
        "del and unlink count live keys only", "KEg",
        [["SET", "a", "1"], ["SET", "b", "2"], ["SET", "c", "3"]],
        [["DEL", "a", "nokey", "b"], ["UNLINK", "c", "a"]],
        [("del", "a"), ("del", "b"), ("del", "c")],
    ),
    (
        "expire family and persist", "KEg",
        [["SET", "k", "v"]],
        [["EXPIRE", "k", "100"], ["PEXPIRE", "k", "100000"], ["EXPIREAT", "k", FAR], ["PEXPIREAT", "k", FAR + b"000"],
         ["EXPIRE", "k", "100", "NX"], ["EXPIRE", "nokey", "10"], ["PERSIST", "k"], ["PERSIST", "k"],
         ["PEXPIRE", "k", "-1"]],
        [("expire", "k"), ("expire", "k"), ("expire", "k"), ("expire", "k"), ("persist", "k"), ("del", "k")],
    ),
    (
        "expire events of SET and GETEX", "KEA",
        [],
        [["SET", "k", "v", "EX", "100"], ["GETEX", "k", "PERSIST"], ["GETEX", "k", "PX", "100000"],
         ["GETEX", "k", "PX", "-5"]],
        [("set", "k"), ("expire", "k"), ("persist", "k"), ("expire", "k")],
    ),
    (
        "rename and renamenx", "KEgn",
        [["RPUSH", "l", "a"], ["SET", "s", "v"]],
        [["RENAME", "l", "l2"], ["RENAME", "l2", "s"], ["RENAMENX", "s", "s"], ["RENAME", "s", "s"],
         ["RENAMENX", "s", "t"], ["SET", "u", "1"], ["RENAMENX", "t", "u"], ["RENAME", "nokey", "x"]],
        [("new", "l2"), ("rename_from", "l"), ("rename_to", "l2"),
         ("new", "s"), ("rename_from", "l2"), ("rename_to", "s"),
         ("new", "t"), ("rename_from", "s"), ("rename_to", "t"),
         ("new", "u")],
    ),
    (
        "copy and move between databases", "KEgn",
        [["SET", "a", "1"]],
        [["COPY", "a", "c"], ["COPY", "a", "c"], ["COPY", "a", "c", "REPLACE"], ["COPY", "a", "c", "DB", "1"],
         ["MOVE", "c", "1"], ["MOVE", "a", "1"], ["MOVE", "nokey", "1"]],
        [("new", "c"), ("copy_to", "c"), ("new", "c"), ("copy_to", "c"), ("new", "c", 1), ("copy_to", "c", 1),
         ("new", "a", 1), ("move_from", "a", 0), ("move_to", "a", 1)],
    ),
    (
        "sort store: sortstore is a list event", "KEA",
        [["RPUSH", "l", "3", "1", "2"]],
        [["SORT", "l", "STORE", "s"], ["SORT", "l", "STORE", "s"], ["SORT", "nokey", "STORE", "s"],
         ["SORT", "nokey", "STORE", "s"]],
        [("sortstore", "s"), ("sortstore", "s"), ("del", "s")],
    ),
    (
        "sort store under the generic class only", "KEg",
        [["RPUSH", "l", "3", "1", "2"]],
        [["SORT", "l", "STORE", "s"], ["SORT", "nokey", "STORE", "s"]],
        [("del", "s")],
    ),
    (
        "restore", "KEgn",
        [],
        [["RESTORE", "k", "0", PAYLOAD], ["RESTORE", "k", "0", PAYLOAD], ["RESTORE", "k", "0", PAYLOAD, "REPLACE"],
         ["RESTORE", "k", "1", PAYLOAD, "REPLACE", "ABSTTL"], ["RESTORE", "k", "1", PAYLOAD, "ABSTTL"]],
        [("new", "k"), ("restore", "k"), ("new", "k"), ("restore", "k"), ("del", "k")],
    ),
    (
        "new key test (unit/pubsub)", "En",
        [], [["SET", "foo", "bar"], ["SET", "foo", "baz"], ["SET", "bar", "bar"]],
        [("new", "foo"), ("new", "bar")],
    ),
    (
        "n next to A: CONFIG GET says AKE, new keys are still published", "KEAn",
        [],
        [["SET", "foo", "bar"], ["MSET", "m1", "1", "m2", "2", "m1", "3"], ["LPUSH", "l", "a"], ["HSET", "h", "f", "v"],
         ["SADD", "s", "x"], ["SMOVE", "s", "d", "x"]],
        [("new", "foo"), ("set", "foo"), ("new", "m1"), ("set", "m1"), ("new", "m2"), ("set", "m2"), ("set", "m1"),
         ("new", "l"), ("lpush", "l"), ("new", "h"), ("hset", "h"), ("new", "s"), ("sadd", "s"),
         ("srem", "s"), ("del", "s"), ("new", "d"), ("sadd", "d")],
    ),
    (
        "flushdb and flushall publish nothing per key", "KEAn",
        [["SET", "a", "1"], ["RPUSH", "l", "x"]],
        [["FLUSHDB"], ["SET", "b", "1"], ["FLUSHALL"]],
        [("new", "b"), ("set", "b")],
    ),
]


def expected_messages(flags: str, events) -> list[list[bytes]]:
    out = []
    for event, key, *rest in events:
        db = rest[0] if rest else 0
        if "K" in flags:
            out.append([b"pmessage", PATTERN, b"__keyspace@%d__:%s" % (db, key.encode()), event.encode()])
        if "E" in flags:
            out.append([b"pmessage", PATTERN, b"__keyevent@%d__:%s" % (db, event.encode()), key.encode()])
    return out


def run_on_core(flags, setup, commands) -> list:
    node = make_node()
    listener, writer = CoreClient(node), CoreClient(node)
    writer.call("CONFIG", "SET", "notify-keyspace-events", flags)
    for argv in setup:
        writer.call(*argv)
    listener.call("PSUBSCRIBE", PATTERN)
    for argv in [*commands, END]:
        writer.call(*argv)
    return listener.send_raw(b"")


def run_on_redis(port, flags, setup, commands) -> list:
    listener, writer = socket.create_connection(("127.0.0.1", port)), socket.create_connection(("127.0.0.1", port))
    listener.settimeout(5)
    writer.settimeout(5)
    reader = hiredis.Reader()

    def read_one(sock) -> object:
        while (reply := reader.gets()) is False:
            reader.feed(sock.recv(65536))
        return reply

    def call(*argv) -> None:
        writer.sendall(encode_request(*argv))
        read_one(writer)

    try:
        call("FLUSHALL")
        call("CONFIG", "SET", "notify-keyspace-events", flags)
        for argv in setup:
            call(*argv)
        listener.sendall(encode_request("PSUBSCRIBE", PATTERN))
        read_one(listener)
        for argv in [*commands, END]:
            call(*argv)
        messages = []
        while not messages or messages[-1][2] != END[1]:
            messages.append(read_one(listener))
        return messages
    finally:
        call("CONFIG", "SET", "notify-keyspace-events", "")
        call("FLUSHALL")
        listener.close()
        writer.close()


def end_marked(flags, events) -> list:
    return [*expected_messages(flags, events), [b"pmessage", PATTERN, END[1], END[2]]]


@pytest.mark.parametrize("name,flags,setup,commands,events", CASES, ids=[case[0] for case in CASES])
def test_case_on_core(name, flags, setup, commands, events):
    assert run_on_core(flags, setup, commands) == end_marked(flags, events)


@pytest.mark.parametrize("name,flags,setup,commands,events", CASES, ids=[case[0] for case in CASES])
def test_case_on_redis(name, flags, setup, commands, events, redis_port):
    assert run_on_redis(redis_port, flags, setup, commands) == end_marked(flags, events)


def test_config_keeps_redis_spelling_of_n_next_to_a():
    c = CoreClient(make_node())
    c.call("CONFIG", "SET", "notify-keyspace-events", "KEAn")
    assert c.call("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events", b"AKE"]
