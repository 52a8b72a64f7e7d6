"""MIGRATE: its arguments, errors and key positions as Redis checks them, and NOKEY, compared with redis-server.

Moving existing keys (a connection to the target) is not done yet: it is refused
with an error that says so.
"""

from __future__ import annotations

import hiredis
import pytest

from tests.kvcore.harness import CoreClient, make_node

CASES = [
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100", "COPY", "REPLACE"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100", "AUTH"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100", "AUTH2", "user"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100", "AUTH", "pw", "AUTH2", "u", "pw"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100", "bogus"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "x", "100"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "x"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "-5"],
    ["MIGRATE", "127.0.0.1", "1", "k", "0", "100", "KEYS", "a"],
    ["MIGRATE", "127.0.0.1", "1", "", "0", "100", "KEYS", "a", "b"],
    ["MIGRATE", "127.0.0.1", "1", "", "0", "100", "COPY", "KEYS"],
    ["MIGRATE", "127.0.0.1", "1", "nokey", "0"],
    ["COMMAND", "GETKEYS", "MIGRATE", "h", "1", "", "0", "5", "KEYS", "a", "b"],
    ["COMMAND", "GETKEYS", "MIGRATE", "h", "1", "k", "0", "5", "COPY"],
    ["COMMAND", "GETKEYSANDFLAGS", "MIGRATE", "h", "1", "", "0", "5", "KEYS", "a", "b"],
    ["COMMAND", "GETKEYSANDFLAGS", "MIGRATE", "h", "1", "k", "0", "5"],
]


def plain(reply):
    return ("err", str(reply)) if isinstance(reply, hiredis.ReplyError) else reply


@pytest.mark.parametrize("argv", CASES, ids=[" ".join(argv) for argv in CASES])
def test_migrate_answers_as_redis(argv, redis_conn):
    redis_conn.call([b"FLUSHALL"])
    ours = CoreClient(make_node()).call(*argv)
    assert plain(ours) == plain(redis_conn.call([arg.encode() for arg in argv]))


def test_moving_an_existing_key_is_refused_and_keeps_it():
    client = CoreClient(make_node())
    client.call("SET", "k", "v")
    reply = client.call("MIGRATE", "127.0.0.1", "1", "k", "0", "100")
    assert str(reply) == "ERR MIGRATE of existing keys is not supported by kvserver yet"
    assert client.call("GET", "k") == b"v"


def test_monitor_hides_migrate_passwords():
    node = make_node()
    watcher, other = CoreClient(node), CoreClient(node)
    watcher.call("MONITOR")
    other.call("MIGRATE", "h", "1", "k", "0", "5", "COPY", "AUTH", "pw", "AUTH2", "user", "pw2")
    [line] = watcher.send_raw(b"")
    assert line.endswith(b'"COPY" "AUTH" "(redacted)" "AUTH2" "(redacted)" "(redacted)"')
