"""Keyspace notifications of the key commands: generic ('g') events and new-key ('n') events.

Every case below was checked with redis-server 7.0.15 (PSUBSCRIBE '__key*__:*' in one
client, the commands in another); `test_case_on_redis` replays them there, so the expected
events are Redis's, in Redis's order: for each event the __keyspace@<db>__:<key> message,
then the __keyevent@<db>__:<event> one.
"""

from __future__ import annotations

import socket
import time

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
        "keymiss on every read that finds nothing, not on writes", "KEm",
        [["SET", "here", "1"]],
        [["GET", "nokey"], ["MGET", "here", "gone"], ["EXISTS", "x"], ["TYPE", "t"], ["TTL", "ttl"], ["HGET", "h", "f"],
         ["SET", "s", "v", "GET"], ["GETSET", "g", "v"], ["DEL", "nothing"], ["INCR", "counter"]],
        [("keymiss", "nokey"), ("keymiss", "gone"), ("keymiss", "x"), ("keymiss", "t"), ("keymiss", "ttl"),
         ("keymiss", "h"), ("keymiss", "s"), ("keymiss", "g")],
    ),
    (
        "geo stores are sorted-set events", "KEz",
        [["GEOADD", "g", "13.361389", "38.115556", "Palermo"]],
        [["GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
         ["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "dst2"]],
        [("geosearchstore", "dst"), ("georadiusstore", "dst2")],
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


OVERWRITES = [["MSET", "k", "v"], ["SETEX", "k", "100", "v"], ["SINTERSTORE", "k", "nokey"], ["BITOP", "OR", "k", "b"]]


def _events_overwriting_an_expired_key(call, wait, listen) -> list:
    """What each write publishes over a key whose time is up (active expiry off)."""
    out = []
    for argv in OVERWRITES:
        call("SET", "b", "x")
        call("SET", "k", "1", "PX", "20")
        wait()
        out.append(listen(lambda argv=argv: call(*argv)))
    return out


def test_a_write_over_an_expired_key_expires_it_first(redis_port):
    """expired, then new (Redis's lookupKeyWrite deletes it), counted in expired_keys: as redis-server."""
    node = make_node()
    listener, writer = CoreClient(node), CoreClient(node)
    writer.call("CONFIG", "SET", "notify-keyspace-events", "KEAn")
    writer.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")

    def core_listen(action) -> list:
        listener.call("PSUBSCRIBE", b"__keyevent@0__:*")
        action()
        messages = listener.send_raw(encode_request("PUNSUBSCRIBE"))
        return [m[2:] for m in messages if m[0] == b"pmessage"]

    def core_wait() -> None:
        node.now += 50

    ours = _events_overwriting_an_expired_key(writer.call, core_wait, core_listen)
    assert ours[0][:2] == [[b"__keyevent@0__:expired", b"k"], [b"__keyevent@0__:new", b"k"]]

    reader = hiredis.Reader()
    listener_sock, writer_sock = (socket.create_connection(("127.0.0.1", redis_port)) for _ in range(2))

    def read_one(sock):
        while (reply := reader.gets()) is False:
            reader.feed(sock.recv(65536))
        return reply

    def redis_call(*argv):
        writer_sock.sendall(encode_request(*argv))
        return read_one(writer_sock)

    def redis_listen(action) -> list:
        listener_sock.sendall(encode_request("PSUBSCRIBE", b"__keyevent@0__:*"))
        read_one(listener_sock)
        action()
        listener_sock.sendall(encode_request("PUNSUBSCRIBE"))
        messages = []
        while (message := read_one(listener_sock))[0] != b"punsubscribe":
            messages.append(message[2:])
        return messages

    try:
        redis_call("FLUSHALL")
        redis_call("CONFIG", "SET", "notify-keyspace-events", "KEAn")
        redis_call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        theirs = _events_overwriting_an_expired_key(redis_call, lambda: time.sleep(0.05), redis_listen)
    finally:
        redis_call("CONFIG", "SET", "notify-keyspace-events", "")
        redis_call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        redis_call("FLUSHALL")
        listener_sock.close()
        writer_sock.close()
    assert ours == theirs
