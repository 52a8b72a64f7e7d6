"""CONFIG GET/SET of Redis 7.0's special options against the pure core: hidden debugging options,
multi-flag enums (shutdown-on-sigint), ``N%`` memory values (maxmemory-clients), protected and
immutable options, renamed commands. Every case is also replayed on redis-server 7.0.15
(whose defaults match the core's: enable-protected-configs no) and must give the same replies."""

from __future__ import annotations

import random

import hiredis
import pytest

from kvcore.config import Config
from kvcore.effects import Listen
from kvcore.node import Node
from tests.kvcore.harness import CoreClient, encode_request, make_node

SET_FAILED = "ERR CONFIG SET failed (possibly related to argument '{}') - {}"
SHUTDOWN_CHOICES = "argument(s) must be one of the following: default, save, nosave, now, force"

CASES = {
    "hidden options are found by exact name only": [
        ["CONFIG", "GET", "key-load-delay"],
        ["CONFIG", "GET", "key-load-*"],
        ["CONFIG", "GET", "loading-process-events-interval-bytes", "watchdog-period", "use-exit-on-panic"],
        ["CONFIG", "GET", "lua-enable-deprecated-api", "rdb-key-save-delay"],
        ["CONFIG", "SET", "key-load-delay", "-5"],
        ["CONFIG", "GET", "key-load-delay"],
        ["CONFIG", "SET", "key-load-delay", "2147483648"],
        ["CONFIG", "SET", "loading-process-events-interval-bytes", "1023"],
        ["CONFIG", "SET", "watchdog-period", "-1"],
        ["CONFIG", "SET", "use-exit-on-panic", "maybe"],
        ["CONFIG", "SET", "lua-enable-deprecated-api", "no"],
        ["CONFIG", "SET", "key-load-delay", "0"],
    ],
    "shutdown-on-sigint takes several flags": [
        ["CONFIG", "SET", "shutdown-on-sigint", "NOW Force"],
        ["CONFIG", "GET", "shutdown-on-sigint"],
        ["CONFIG", "SET", "shutdown-on-sigint", "force nosave now"],
        ["CONFIG", "GET", "shutdown-on-sigint"],
        ["CONFIG", "SET", "shutdown-on-sigint", "default save"],
        ["CONFIG", "GET", "shutdown-on-sigint"],
        ["CONFIG", "SET", "shutdown-on-sigint", "save nosave"],
        ["CONFIG", "SET", "shutdown-on-sigint", "nosave  now"],
        ["CONFIG", "SET", "shutdown-on-sigint", ""],
        ["CONFIG", "SET", "shutdown-on-sigterm", "later"],
        ["CONFIG", "SET", "shutdown-on-sigint", "default"],
        ["CONFIG", "GET", "shutdown-on-sigint"],
    ],
    "maxmemory-clients takes a percentage": [
        ["CONFIG", "SET", "maxmemory-clients", "7%"],
        ["CONFIG", "GET", "maxmemory-clients"],
        ["CONFIG", "SET", "maxmemory-clients", "100%"],
        ["CONFIG", "SET", "maxmemory-clients", "101%"],
        ["CONFIG", "SET", "maxmemory-clients", "%"],
        ["CONFIG", "SET", "maxmemory-clients", "+5%"],
        ["CONFIG", "SET", "maxmemory-clients", "05%"],
        ["CONFIG", "SET", "maxmemory-clients", "-5%"],
        ["CONFIG", "SET", "maxmemory-clients", "0%"],
        ["CONFIG", "GET", "maxmemory-clients"],
        ["CONFIG", "SET", "maxmemory-clients", "1k"],
        ["CONFIG", "GET", "maxmemory-clients"],
        ["CONFIG", "SET", "maxmemory", "10000001", "maxmemory-clients", "200%", "client-query-buffer-limit", "x"],
        ["CONFIG", "GET", "maxmemory"],
        ["CONFIG", "SET", "maxmemory-clients", "0"],
    ],
    "protected and immutable options": [
        ["CONFIG", "SET", "dir", "."],
        ["CONFIG", "SET", "dbfilename", "x.rdb"],
        ["CONFIG", "SET", "hz", "11", "dir", "."],
        ["CONFIG", "GET", "hz"],
        ["CONFIG", "SET", "enable-protected-configs", "yes"],
        ["CONFIG", "SET", "replicaof", "no one"],
        ["CONFIG", "SET", "rdbchecksum", "yes"],
        ["CONFIG", "SET", "syslog-facility", "local0"],
        ["CONFIG", "SET", "unixsocketperm", "0"],
        ["CONFIG", "GET", "enable-protected-configs", "enable-module-command", "oom-score-adj"],
    ],
    "enum options and the lua-time-limit alias": [
        ["CONFIG", "SET", "oom-score-adj", "maybe"],
        ["CONFIG", "SET", "oom-score-adj", "ABSOLUTE"],
        ["CONFIG", "GET", "oom-score-adj"],
        ["CONFIG", "SET", "sanitize-dump-payload", "sometimes"],
        ["CONFIG", "SET", "repl-diskless-load", "never"],
        ["CONFIG", "SET", "lua-time-limit", "100"],
        ["CONFIG", "GET", "busy-reply-threshold", "lua-time-limit"],
        ["CONFIG", "SET", "busy-reply-threshold", "-1"],
        ["CONFIG", "SET", "lua-time-limit", "5000", "oom-score-adj", "no"],
    ],
}


def replies(call, commands: list[list[str]]) -> list:
    out = []
    for argv in commands:
        reply = call([arg.encode() for arg in argv])
        if isinstance(reply, hiredis.ReplyError):
            reply = ("error", str(reply))
        elif argv[1] == "GET":  # redis-server lists them in its dict's order
            reply = dict(zip(reply[::2], reply[1::2], strict=True))
        out.append(reply)
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_config_cases_reply_as_redis(name, redis_conn):
    core = CoreClient(make_node())
    assert replies(lambda argv: core.call(*argv), CASES[name]) == replies(redis_conn.call, CASES[name])


def test_hidden_option_is_not_in_glob_listings(c):
    names = c.call("CONFIG", "GET", "*")[::2]
    assert b"key-load-delay" not in names and b"rdb-key-save-delay" not in names
    assert c.call("CONFIG", "GET", "key-load-delay") == [b"key-load-delay", b"0"]


def test_config_set_errors_checked_with_redis(c):
    def error(*argv: str) -> str:
        return str(c.call("CONFIG", "SET", *argv))

    assert error("dir", "/tmp") == SET_FAILED.format("dir", "can't set protected config")
    assert error("shutdown-on-sigint", "save nosave") == SET_FAILED.format(
        "shutdown-on-sigint", "shutdown options SAVE and NOSAVE can't be used simultaneously")
    assert error("shutdown-on-sigterm", "") == SET_FAILED.format("shutdown-on-sigterm", SHUTDOWN_CHOICES)
    assert error("maxmemory-clients", "200%") == SET_FAILED.format(
        "maxmemory-clients", "percentage argument must be less or equal to 100")
    assert error("maxmemory-clients", "x") == SET_FAILED.format(
        "maxmemory-clients", "argument must be a memory or percent value")


@pytest.mark.parametrize("setting, allowed", [("no", False), ("yes", True), ("local", True)])
def test_enable_protected_configs(setting, allowed):
    c = CoreClient(make_node(enable_protected_configs=setting))
    reply = c.call("CONFIG", "SET", "dbfilename", "other.rdb")
    assert (reply == b"OK") is allowed
    assert c.call("CONFIG", "GET", "dbfilename")[1] == (b"other.rdb" if allowed else b"dump.rdb")


def test_renamed_and_removed_commands():
    node = Node(Config(renamed_commands=[("flushdb", "badger"), ("GET", ""), ("set", "Put")]), rng=random.Random(0))
    c = CoreClient(node)
    assert str(c.call("FLUSHDB")).startswith("ERR unknown command 'FLUSHDB'")
    assert str(c.call("GET", "k")).startswith("ERR unknown command 'GET'")
    assert c.call("PUT", "k", "v") == b"OK"
    assert c.call("badger") == b"OK"
    assert c.call("DBSIZE") == 0
    assert str(c.call("badger", "x")) == "ERR syntax error"


# -- CONFIG SET port / bind: the runtime listens anew ---------------------------------------------
def listen_effects(node) -> list:
    return [effect for effect in node.take_effects() if type(effect) is Listen]


def test_config_set_port_asks_the_runtime_to_listen_and_answers_when_it_has():
    node = make_node()
    client = CoreClient(node)
    node.receive(client.conn, encode_request("CONFIG", "SET", "port", "7001"), node.now)
    [listen] = listen_effects(node)
    assert (listen.bind, listen.port) == ("* -::*", 7001)
    assert client.send_raw(b"") == []  # the reply waits for the runtime
    node.job_done(listen.job, True, node.now)
    client._deliver(node.take_effects())
    assert client.send_raw(b"") == [b"OK"]
    assert client.call("CONFIG", "GET", "port") == [b"port", b"7001"]


@pytest.mark.parametrize(("argv", "argument", "reason"), [
    (["port", "7001"], "port", "Unable to listen on this port. Check server logs."),
    (["maxmemory", "123", "bind", "192.0.2.9"], "bind", "Failed to bind to specified addresses."),
])
def test_when_the_runtime_cannot_listen_every_option_of_that_config_set_goes_back(argv, argument, reason):
    node = make_node()
    client = CoreClient(node)
    node.receive(client.conn, encode_request("CONFIG", "SET", *argv), node.now)
    [listen] = listen_effects(node)
    node.job_done(listen.job, False, node.now, "bind")
    client._deliver(node.take_effects())
    [reply] = client.send_raw(b"")
    assert str(reply) == f"ERR CONFIG SET failed (possibly related to argument '{argument}') - {reason}"
    assert client.call("CONFIG", "GET", "port") == [b"port", b"6379"]
    assert client.call("CONFIG", "GET", "bind") == [b"bind", b"* -::*"]
    assert client.call("CONFIG", "GET", "maxmemory") == [b"maxmemory", b"0"]


def test_config_set_of_the_same_port_does_not_listen_anew():
    node = make_node()
    client = CoreClient(node)
    assert client.call("CONFIG", "SET", "port", "6379") == b"OK"
    assert listen_effects(node) == []
