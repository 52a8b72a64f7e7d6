"""The command table's consistency, and COMMAND's replies generated from it."""

from __future__ import annotations

import socket

import hiredis
import pytest

from kvcore.commands import TABLE
from kvcore.commands.server import acl_categories, all_commands, command_info
from kvcore.commands.table import Command, Flag
from kvcore.effects import Send
from kvcore.resp import encode
from tests.kvcore.harness import encode_request

EVERY_COMMAND = all_commands(TABLE)


def err(text: str) -> tuple[str, str]:
    return ("error", text)


def normalized(reply):
    return err(str(reply)) if isinstance(reply, hiredis.ReplyError) else reply


def decoded(reply) -> list:
    reader = hiredis.Reader()
    reader.feed(encode(reply, False))
    return reader.gets()


# -- the table itself ----------------------------------------------------------------------


@pytest.mark.parametrize("cmd", EVERY_COMMAND, ids=[cmd.fullname for cmd in EVERY_COMMAND])
def test_every_command_can_run(cmd: Command):
    assert cmd.handler is not None or cmd.subcommands, "neither a handler nor subcommands"
    assert all(sub.handler is not None and not sub.subcommands for sub in cmd.subcommands.values())
    assert cmd.name == cmd.name.lower() and "|" not in cmd.name


@pytest.mark.parametrize("cmd", EVERY_COMMAND, ids=[cmd.fullname for cmd in EVERY_COMMAND])
def test_arity_fits_the_key_positions(cmd: Command):
    assert cmd.arity != 0
    if cmd.subcommands:
        assert cmd.arity <= -1
    if cmd.first_key == 0:
        assert (cmd.last_key, cmd.key_step) == (0, 0) or cmd.flags & Flag.MOVABLE_KEYS
        return
    least_args = abs(cmd.arity)
    assert cmd.key_step >= 1
    optional_keys = cmd.arity < 0 and cmd.last_key < 0  # SUNSUBSCRIBE [shardchannel ...]
    assert cmd.first_key < least_args or optional_keys, "the first key lies beyond the minimum arity"
    if cmd.last_key >= 0:
        assert cmd.first_key <= cmd.last_key
        assert cmd.arity < 0 or cmd.last_key < cmd.arity
    if cmd.container is not None:
        assert cmd.first_key >= 2, "a subcommand's keys come after its name"


def test_command_names_are_unique():
    names = [cmd.fullname for cmd in EVERY_COMMAND]
    assert len(names) == len(set(names))


# ACL categories as redis-server 7.0.15's COMMAND INFO shows them.
CATEGORIES = [
    ("get", ["read", "string", "fast"]),
    ("set", ["write", "string", "slow"]),
    ("mset", ["write", "string", "slow"]),
    ("ping", ["fast", "connection"]),
    ("auth", ["fast", "connection"]),
    ("client", ["slow"]),
    ("client|list", ["admin", "slow", "dangerous", "connection"]),
    ("client|getname", ["slow", "connection"]),
    ("config|get", ["admin", "slow", "dangerous"]),
    ("config|help", ["slow"]),
    ("command|info", ["slow", "connection"]),
    ("info", ["slow", "dangerous"]),
    ("time", ["fast"]),
    ("lastsave", ["admin", "fast", "dangerous"]),
    ("dbsize", ["keyspace", "read", "fast"]),
    ("flushall", ["keyspace", "write", "slow", "dangerous"]),
    ("swapdb", ["keyspace", "write", "fast", "dangerous"]),
    ("memory|usage", ["read", "slow"]),
    ("del", ["keyspace", "write", "slow"]),
]


def by_name(name: str) -> Command:
    container, _, sub = name.partition("|")
    cmd = TABLE[container.encode()]
    return cmd.subcommands[sub.encode()] if sub else cmd


@pytest.mark.parametrize(("name", "categories"), CATEGORIES, ids=[name for name, _ in CATEGORIES])
def test_acl_categories_match_redis(name, categories):
    assert acl_categories(by_name(name)) == categories


# COMMAND INFO's first seven fields as redis-server 7.0.15 gives them.
INFOS = [
    [b"get", 2, [b"readonly", b"fast"], 1, 1, 1, [b"@read", b"@string", b"@fast"]],
    [b"set", -3, [b"write", b"denyoom"], 1, 1, 1, [b"@write", b"@string", b"@slow"]],
    [b"mset", -3, [b"write", b"denyoom"], 1, -1, 2, [b"@write", b"@string", b"@slow"]],
    [b"hello", -1, [b"noscript", b"loading", b"stale", b"fast", b"no_auth", b"allow_busy"], 0, 0, 0,
     [b"@fast", b"@connection"]],
    [b"memory|usage", -3, [b"readonly"], 2, 2, 1, [b"@read", b"@slow"]],
    [b"shutdown", -1, [b"admin", b"noscript", b"loading", b"stale", b"no_multi", b"allow_busy"], 0, 0, 0,
     [b"@admin", b"@slow", b"@dangerous"]],
    [b"restore-asking", -4, [b"write", b"denyoom", b"asking"], 1, 1, 1, [b"@keyspace", b"@write", b"@slow", b"@dangerous"]],
    [b"failover", -1, [b"admin", b"noscript", b"stale"], 0, 0, 0, [b"@admin", b"@slow", b"@dangerous"]],
]


@pytest.mark.parametrize("expected", INFOS, ids=[info[0].decode() for info in INFOS])
def test_command_info_matches_redis(expected):
    reply = decoded(command_info(by_name(expected[0].decode())))
    assert reply[:7] == expected  # tips, key specs: tests/kvcore/test_key_specs.py


def test_may_replicate_is_hidden():
    cmd = Command("x", lambda client, argv: None, 1, Flag.WRITE | Flag.MAY_REPLICATE)
    assert decoded(command_info(cmd))[2] == [b"write"]


# -- against the reference server ------------------------------------------------------------


def redis_call(port: int, *argv) -> object:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(encode_request(*argv))
        reader = hiredis.Reader()
        while (reply := reader.gets()) is False:
            reader.feed(sock.recv(1 << 20))
        return reply


OURS = [cmd for cmd in EVERY_COMMAND if cmd.group in ("connection", "server")]


def test_connection_and_server_commands_match_redis(redis_port):
    names = [cmd.fullname for cmd in OURS] + ["get", "set", "mset"]
    theirs = redis_call(redis_port, "COMMAND", "INFO", *names)
    mismatched = {}
    for name, reference in zip(names, theirs):
        mine = decoded(command_info(by_name(name)))
        if reference is None or mine[:7] != reference[:7]:
            mismatched[name] = (mine[:7], reference and reference[:7])
    assert mismatched == {}


# -- COMMAND and its subcommands ---------------------------------------------------------------


def test_command_count_and_all(c):
    count = c.call("COMMAND", "COUNT")
    assert count == len(TABLE)
    everything = c.call("COMMAND")
    assert len(everything) == count and everything[0][0] == next(iter(TABLE))
    assert c.call("COMMAND", "INFO") == everything


def test_command_info_names(c):
    reply = c.call("COMMAND", "INFO", "GET", "nosuch", "client|LIST", "config|nosuch")
    assert reply[0][0] == b"get" and reply[1] is None and reply[2][0] == b"client|list" and reply[3] is None
    client = c.call("COMMAND", "INFO", "client")[0]
    assert [sub[0] for sub in client[9]][:2] == [b"client|list", b"client|info"]


def test_command_info_uses_resp3_sets(node, c):
    c.call("HELLO", "3")
    node.receive(c.conn, encode_request("COMMAND", "INFO", "get"), node.now)
    data = b"".join(e.data for e in node.take_effects() if isinstance(e, Send))
    assert data == (b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
                    b"~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n"
                    b"~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n"
                    b"$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n"
                    b"$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n"
                    b"$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n")


def test_command_docs(c):
    docs = c.call("COMMAND", "DOCS", "get", "nosuch", "config")
    assert docs[0] == b"get" and docs[1][:6] == [b"summary", b"GET key", b"since", b"1.0.0", b"group", b"string"]
    assert docs[2] == b"config"
    config = dict(zip(docs[3][::2], docs[3][1::2]))
    assert config[b"group"] == b"server" and b"config|get" in config[b"subcommands"][::2]
    assert c.call("COMMAND", "DOCS", "nosuch") == []


def test_command_list_filters(c):
    everything = c.call("COMMAND", "LIST")
    assert len(everything) == len(EVERY_COMMAND) and b"client|list" in everything
    connection = c.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", "CONNECTION")
    assert b"ping" in connection and b"client|kill" in connection and b"client" not in connection
    assert c.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "CONFIG*") == [
        b"config", b"config|get", b"config|set", b"config|resetstat", b"config|rewrite", b"config|help"]
    assert c.call("COMMAND", "LIST", "FILTERBY", "MODULE", "x") == []
    assert c.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch") == []


@pytest.mark.parametrize(("argv", "expected"), [
    (["COMMAND", "LIST", "FILTERBY"], err("ERR syntax error")),
    (["COMMAND", "LIST", "foo"], err("ERR syntax error")),
    (["COMMAND", "LIST", "FILTERBY", "foo", "bar"], err("ERR syntax error")),
    (["COMMAND", "LIST", "FILTERBY", "PATTERN", "a", "b"], err("ERR syntax error")),
    (["COMMAND", "COUNT", "x"], err("ERR wrong number of arguments for 'command|count' command")),
    (["COMMAND", "foo"], err("ERR unknown subcommand 'foo'. Try COMMAND HELP.")),
    (["COMMAND", "GETKEYS"], err("ERR wrong number of arguments for 'command|getkeys' command")),
    (["COMMAND", "GETKEYS", "get"], err("ERR wrong number of arguments for 'command|getkeys' command")),
    (["COMMAND", "GETKEYS", "foo", "a"], err("ERR Invalid command specified")),
    (["COMMAND", "GETKEYS", "client", "foo"], err("ERR Invalid command specified")),
    (["COMMAND", "GETKEYS", "set", "a"], err("ERR Invalid number of arguments specified for command")),
    (["COMMAND", "GETKEYS", "get", "a", "b"], err("ERR Invalid number of arguments specified for command")),
    (["COMMAND", "GETKEYS", "ping", "x"], err("ERR The command has no key arguments")),
    (["COMMAND", "GETKEYS", "client", "list"], err("ERR The command has no key arguments")),
    (["COMMAND", "GETKEYS", "config", "get", "a"], err("ERR The command has no key arguments")),
    (["COMMAND", "GETKEYS", "get", "a"], [b"a"]),
    (["COMMAND", "GETKEYS", "mset", "a", "b", "c"], [b"a", b"c"]),
    (["COMMAND", "GETKEYS", "memory", "usage", "k"], [b"k"]),
    (["COMMAND", "GETKEYS", "sort", "k", "store", "d"], [b"k", b"d"]),
])
def test_command_subcommand_replies(c, argv, expected):
    assert normalized(c.call(*argv)) == expected


def test_command_help(c):
    lines = c.call("COMMAND", "HELP")
    assert lines[0] == b"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[-2:] == [b"HELP", b"    Prints this help."]
