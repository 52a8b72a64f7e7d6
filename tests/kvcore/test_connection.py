"""Connection commands against the pure core; expected replies checked with redis-server 7.0.15."""

from __future__ import annotations

import hiredis
import pytest

from kvcore import errors
from kvcore.effects import Close, Send
from kvcore.reply import NULL_ARRAY
from tests.kvcore.harness import CoreClient, encode_request, make_node

NO_PASSWORD = (
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?"
)
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
HELLO_NOAUTH = (
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> "
    "<pass> option can be used to authenticate the client and select the RESP protocol version at the "
    "same time"
)
BAD_NAME = "ERR Client names cannot contain spaces, newlines or special characters."


def err(text: str) -> tuple[str, str]:
    return ("error", text)


def normalized(reply):
    return err(str(reply)) if isinstance(reply, hiredis.ReplyError) else reply


# One command on a fresh connection, its reply as redis-server 7.0.15 gives it.
CASES = [
    (["PING"], b"PONG"),
    (["PING", "hi"], b"hi"),
    (["PING", "a", "b"], err("ERR wrong number of arguments for 'ping' command")),
    (["ECHO", "x"], b"x"),
    (["ECHO"], err("ERR wrong number of arguments for 'echo' command")),
    (["SELECT", "1"], b"OK"),
    (["SELECT", "16"], err("ERR DB index is out of range")),
    (["SELECT", "-1"], err("ERR DB index is out of range")),
    (["SELECT", "a"], err("ERR value is not an integer or out of range")),
    (["SELECT", "01"], err("ERR value is not an integer or out of range")),
    (["SELECT", "2147483648"], err("ERR value is out of range, value must between -2147483648 and 2147483647")),
    (["HELLO", "4"], err("NOPROTO unsupported protocol version")),
    (["HELLO", "1"], err("NOPROTO unsupported protocol version")),
    (["HELLO", "abc"], err("ERR Protocol version is not an integer or out of range")),
    (["HELLO", "2", "foo"], err("ERR Syntax error in HELLO option 'foo'")),
    (["HELLO", "3", "auth", "a"], err("ERR Syntax error in HELLO option 'auth'")),
    (["HELLO", "2", "setname"], err("ERR Syntax error in HELLO option 'setname'")),
    (["HELLO", "2", "setname", "a b"], err(BAD_NAME)),
    (["HELLO", "3", "AUTH", "x", "y"], err(WRONGPASS)),
    (["AUTH", "x"], err(NO_PASSWORD)),
    (["AUTH", "default", "anything"], b"OK"),
    (["AUTH", "foo", "x"], err(WRONGPASS)),
    (["AUTH", "a", "b", "c"], err("ERR syntax error")),
    (["AUTH"], err("ERR wrong number of arguments for 'auth' command")),
    (["QUIT"], b"OK"),
    (["RESET"], b"RESET"),
    (["CLIENT"], err("ERR wrong number of arguments for 'client' command")),
    (["CLIENT", "foo"], err("ERR unknown subcommand 'foo'. Try CLIENT HELP.")),
    (["CLIENT", "no-touch", "on"], err("ERR unknown subcommand 'no-touch'. Try CLIENT HELP.")),
    (["CLIENT", "setinfo", "lib-name", "x"], err("ERR unknown subcommand 'setinfo'. Try CLIENT HELP.")),
    (["CLIENT", "ID"], 1),
    (["CLIENT", "ID", "x"], err("ERR wrong number of arguments for 'client|id' command")),
    (["CLIENT", "GETNAME"], None),
    (["CLIENT", "SETNAME"], err("ERR wrong number of arguments for 'client|setname' command")),
    (["CLIENT", "SETNAME", "é"], err(BAD_NAME)),
    (["CLIENT", "SETNAME", "a\nb"], err(BAD_NAME)),
    (["CLIENT", "SETNAME", "ok"], b"OK"),
    (["CLIENT", "SETNAME", ""], b"OK"),
    (["CLIENT", "NO-EVICT", "on"], b"OK"),
    (["CLIENT", "NO-EVICT", "OFF"], b"OK"),
    (["CLIENT", "NO-EVICT", "maybe"], err("ERR syntax error")),
    (["CLIENT", "LIST", "TYPE", "foo"], err("ERR Unknown client type 'foo'")),
    (["CLIENT", "LIST", "TYPE"], err("ERR syntax error")),
    (["CLIENT", "LIST", "ID"], err("ERR syntax error")),
    (["CLIENT", "LIST", "ID", "1", "2", "abc"], err("ERR Invalid client ID")),
    (["CLIENT", "LIST", "ID", "99999"], b""),
    (["CLIENT", "LIST", "ID", "-5"], b""),
    (["CLIENT", "LIST", "foo"], err("ERR syntax error")),
    (["CLIENT", "KILL"], err("ERR wrong number of arguments for 'client|kill' command")),
    (["CLIENT", "KILL", "1.2.3.4:5"], err("ERR No such client")),
    (["CLIENT", "KILL", "id"], err("ERR No such client")),
    (["CLIENT", "KILL", "id", "abc"], err("ERR client-id should be greater than 0")),
    (["CLIENT", "KILL", "id", "0"], err("ERR client-id should be greater than 0")),
    (["CLIENT", "KILL", "id", "99999"], 0),
    (["CLIENT", "KILL", "addr", "1.1.1.1:1"], 0),
    (["CLIENT", "KILL", "foo", "bar"], err("ERR syntax error")),
    (["CLIENT", "KILL", "type", "foo"], err("ERR Unknown client type 'foo'")),
    (["CLIENT", "KILL", "skipme", "maybe"], err("ERR syntax error")),
    (["CLIENT", "KILL", "id", "5", "skipme"], err("ERR syntax error")),
    (["CLIENT", "KILL", "user", "foo"], err("ERR No such user 'foo'")),
    (["CLIENT", "KILL", "user", "default", "skipme", "yes"], 0),
    (["CLIENT", "PAUSE"], err("ERR wrong number of arguments for 'client|pause' command")),
    (["CLIENT", "PAUSE", "10", "foo"], err("ERR CLIENT PAUSE mode must be WRITE or ALL")),
    (["CLIENT", "PAUSE", "abc"], err("ERR timeout is not an integer or out of range")),
    (["CLIENT", "PAUSE", "-1"], err("ERR timeout is negative")),
    (["CLIENT", "PAUSE", "10", "write", "extra"],
     err("ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.")),
    (["CLIENT", "PAUSE", "0", "write"], b"OK"),
    (["CLIENT", "UNPAUSE"], b"OK"),
    (["CLIENT", "UNPAUSE", "x"], err("ERR wrong number of arguments for 'client|unpause' command")),
    (["CLIENT", "REPLY"], err("ERR wrong number of arguments for 'client|reply' command")),
    (["CLIENT", "REPLY", "foo"], err("ERR syntax error")),
    (["CLIENT", "REPLY", "on"], b"OK"),
    (["CLIENT", "UNBLOCK", "abc"], err("ERR value is not an integer or out of range")),
    (["CLIENT", "UNBLOCK", "1", "foo"], err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")),
    (["CLIENT", "UNBLOCK", "99999"], 0),
    (["CLIENT", "UNBLOCK", "1", "error"], 0),
    (["CLIENT", "UNBLOCK", "1", "2", "3"],
     err("ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT HELP.")),
]


@pytest.mark.parametrize(("argv", "expected"), CASES, ids=[" ".join(argv) for argv, _ in CASES])
def test_single_command(c, argv, expected):
    assert normalized(c.call(*argv)) == expected


def drive(node, conn: int, *argv) -> tuple[dict[int, list], list[int]]:
    """Run a request; the replies every connection got, and the connections closed."""
    node.receive(conn, encode_request(*argv), node.now)
    replies: dict[int, list] = {}
    readers: dict[int, hiredis.Reader] = {}
    closed = []
    for effect in node.take_effects():
        if isinstance(effect, Send):
            reader = readers.setdefault(effect.conn, hiredis.Reader())
            reader.feed(effect.data)
            while (reply := reader.gets()) is not False:
                replies.setdefault(effect.conn, []).append(normalized(reply))
        elif isinstance(effect, Close):
            closed.append(effect.conn)
    return replies, closed


def raw_reply(node, conn: int, *argv) -> bytes:
    """The bytes a request produced on a connection (to see RESP3 types)."""
    node.receive(conn, encode_request(*argv), node.now)
    return b"".join(e.data for e in node.take_effects() if isinstance(e, Send) and e.conn == conn)


# -- HELLO and the protocol version ---------------------------------------------------------


def test_hello_reply_and_protocol_switch(node, c):
    expected = [b"server", b"redis", b"version", b"7.0.15", b"proto", 2, b"id", 1,
                b"mode", b"standalone", b"role", b"master", b"modules", []]
    assert c.call("HELLO") == expected
    reply3 = raw_reply(node, c.conn, "HELLO", "3")
    assert reply3.startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n")
    assert node.clients[c.conn].resp3
    assert raw_reply(node, c.conn, "CONFIG", "GET", "hz") == b"%1\r\n$2\r\nhz\r\n$2\r\n10\r\n"
    assert raw_reply(node, c.conn, "HELLO", "2").startswith(b"*14\r\n")
    assert not node.clients[c.conn].resp3


def test_hello_setname_and_failed_options_change_nothing(c):
    assert c.call("HELLO", "2", "SETNAME", "first")[13] == []
    assert c.call("CLIENT", "GETNAME") == b"first"
    assert normalized(c.call("HELLO", "3", "SETNAME", "bad name")) == err(BAD_NAME)
    assert c.call("CLIENT", "GETNAME") == b"first"
    assert c.call("PING") == b"PONG"  # still RESP2: HELLO failed before switching


def test_hello_in_cluster_mode_says_cluster():
    c = CoreClient(make_node(cluster_enabled="yes"))
    assert c.call("HELLO")[9] == b"cluster"


# -- authentication ------------------------------------------------------------------------


@pytest.fixture
def locked():
    """A client of a node with requirepass set."""
    return CoreClient(make_node(requirepass="pw"))


def test_requirepass_gates_commands_until_auth(locked):
    assert normalized(locked.call("PING")) == err("NOAUTH Authentication required.")
    assert normalized(locked.call("AUTH", "bad")) == err(WRONGPASS)
    assert locked.call("AUTH", "pw") == b"OK"
    assert locked.call("PING") == b"PONG"
    assert normalized(locked.call("AUTH", "bad")) == err(WRONGPASS)
    assert locked.call("PING") == b"PONG"  # a failed AUTH does not log out


@pytest.mark.parametrize(("argv", "expected"), [
    (["AUTH", "default", "pw"], b"OK"),
    (["AUTH", "default", "x"], err(WRONGPASS)),
    (["AUTH", "foo", "pw"], err(WRONGPASS)),
    (["HELLO", "3"], err(HELLO_NOAUTH)),
    (["HELLO"], err(HELLO_NOAUTH)),
    (["HELLO", "2", "SETNAME", "x"], err(HELLO_NOAUTH)),
    (["HELLO", "2", "AUTH", "default", "bad"], err(WRONGPASS)),
])
def test_auth_forms_with_requirepass(locked, argv, expected):
    assert normalized(locked.call(*argv)) == expected


def test_hello_auth_logs_in_and_names(locked):
    reply = locked.call("HELLO", "2", "AUTH", "default", "pw", "SETNAME", "x")
    assert reply[:6] == [b"server", b"redis", b"version", b"7.0.15", b"proto", 2]
    assert locked.call("CLIENT", "GETNAME") == b"x"


def test_reset_logs_out_when_a_password_is_required(locked):
    assert locked.call("AUTH", "pw") == b"OK"
    assert locked.call("RESET") == b"RESET"
    assert normalized(locked.call("PING")) == err("NOAUTH Authentication required.")


# -- RESET ----------------------------------------------------------------------------------


def test_reset_restores_a_fresh_connection(node, c):
    other = CoreClient(node)
    for argv in (["SELECT", "3"], ["CLIENT", "SETNAME", "n"], ["CLIENT", "NO-EVICT", "on"], ["WATCH", "k"],
                 ["HELLO", "3"], ["SUBSCRIBE", "ch"], ["MULTI"]):
        raw_reply(node, c.conn, *argv)
    assert node.clients[c.conn].multi == [] and node.pubsub_channels
    raw = raw_reply(node, c.conn, "RESET")
    assert raw == b"+RESET\r\n"
    client = node.clients[c.conn]
    assert (client.db.index, client.name, client.resp3, client.multi, client.watched) == (0, b"", False, None, [])
    assert (client.no_evict, client.channels, node.pubsub_channels) == (False, {}, {})
    assert node.dbs[3].watchers == {} and node.dbs[0].watchers == {}
    assert other.call("PUBLISH", "ch", "m") == 0


def test_reset_ends_monitor_mode(node, c):
    other = CoreClient(node)
    assert c.call("MONITOR") == b"OK"
    assert drive(node, other.conn, "SET", "a", "b")[0][c.conn][0].endswith(b'"SET" "a" "b"')
    assert c.call("RESET") == b"RESET"
    assert node.monitors == [] and not node.clients[c.conn].monitor
    assert c.conn not in drive(node, other.conn, "SET", "a", "b")[0]


# -- CLIENT subcommands ----------------------------------------------------------------------


def test_client_info_describes_the_caller(node, c):
    c.call("SELECT", "2")
    c.call("CLIENT", "SETNAME", "me")
    line = c.call("CLIENT", "INFO").decode()
    assert line.endswith("\n")
    fields = dict(part.split("=", 1) for part in line.split())
    assert (fields["id"], fields["name"], fields["db"], fields["cmd"], fields["resp"]) == ("1", "me", "2", "client|info", "2")
    assert fields["addr"] == node.clients[c.conn].addr


def test_client_info_and_list_are_verbatim_in_resp3(node, c):
    c.call("HELLO", "3")
    assert raw_reply(node, c.conn, "CLIENT", "INFO").split(b"\r\n", 1)[1].startswith(b"txt:id=1 ")
    assert raw_reply(node, c.conn, "CLIENT", "LIST").startswith(b"=")


def test_client_list_filters(node, c):
    subscriber = CoreClient(node)
    subscriber.call("SUBSCRIBE", "ch")
    third = CoreClient(node)

    def ids(*argv):
        lines = c.call("CLIENT", "LIST", *argv).decode().splitlines()
        return [int(line.split()[0].split("=")[1]) for line in lines]

    assert ids() == [1, 2, 3]
    assert ids("TYPE", "normal") == [1, 3]
    assert ids("TYPE", "pubsub") == [2]
    assert ids("TYPE", "replica") == ids("TYPE", "master") == []
    assert ids("ID", "3", "1", "42", "3") == [3, 1, 3]
    assert third.call("CLIENT", "ID") == 3


def test_client_kill_closes_another_client(node, c):
    victim = CoreClient(node)
    assert drive(node, c.conn, "CLIENT", "KILL", "ID", "2") == ({c.conn: [1]}, [victim.conn])
    assert victim.conn not in node.clients
    assert drive(node, victim.conn, "PING") == ({}, [])


def test_client_kill_drops_what_the_victim_was_not_sent(node, c):
    """As Redis's freeClient: a message published to it in the same transaction never leaves
    (a replica killed in a MULTI likewise misses the writes after it, and must resync)."""
    victim = CoreClient(node)
    victim.call("SUBSCRIBE", "ch")
    node.receive(c.conn, b"".join(encode_request(*argv) for argv in (
        ("MULTI",), ("PUBLISH", "ch", "lost"), ("CLIENT", "KILL", "ID", "2"), ("EXEC",))), node.now)
    effects = node.take_effects()
    assert [e for e in effects if isinstance(e, Send) and e.conn == victim.conn] == []
    assert [(e.conn, e.discard) for e in effects if isinstance(e, Close)] == [(victim.conn, True)]


def test_client_kill_old_form_by_address_and_self(node, c):
    victim = CoreClient(node)
    assert drive(node, c.conn, "CLIENT", "KILL", node.clients[victim.conn].addr) == ({c.conn: [b"OK"]}, [victim.conn])
    own = node.clients[c.conn].addr
    assert drive(node, c.conn, "CLIENT", "KILL", own) == ({c.conn: [b"OK"]}, [c.conn])  # the reply, then the close


def test_client_kill_filters_and_skipme(node, c):
    others = [CoreClient(node) for _ in range(2)]
    others[0].call("SUBSCRIBE", "ch")
    assert drive(node, c.conn, "CLIENT", "KILL", "TYPE", "pubsub") == ({c.conn: [1]}, [others[0].conn])
    # LADDR matches everyone, but SKIPME defaults to yes
    assert drive(node, c.conn, "CLIENT", "KILL", "LADDR", "127.0.0.1:6379") == ({c.conn: [1]}, [others[1].conn])
    assert drive(node, c.conn, "CLIENT", "KILL", "USER", "default", "SKIPME", "no") == ({c.conn: [1]}, [c.conn])


def test_client_reply_off_skip_on(c):
    assert c.send_raw(encode_request("CLIENT", "REPLY", "OFF") + encode_request("PING")) == []
    assert c.send_raw(encode_request("CLIENT", "REPLY", "SKIP") + encode_request("PING")) == []
    assert c.call("CLIENT", "REPLY", "ON") == b"OK"
    pipeline = [("CLIENT", "REPLY", "SKIP"), ("ECHO", "skipped"), ("ECHO", "seen"), ("GET", "nokey")]
    assert c.send_raw(b"".join(encode_request(*argv) for argv in pipeline)) == [b"seen", None]


def test_client_reply_skip_then_on_answers_on(c):
    replies = c.send_raw(encode_request("CLIENT", "REPLY", "SKIP") + encode_request("CLIENT", "REPLY", "ON"))
    assert replies == [b"OK"]


def test_client_reply_skip_skips_errors_too(c):
    replies = c.send_raw(encode_request("CLIENT", "REPLY", "SKIP") + encode_request("NOSUCH") + encode_request("PING"))
    assert replies == [b"PONG"]


def _block(node, conn: int) -> None:
    node.blocking.block(node.clients[conn], [b"k"], 0, lambda client, key: False, NULL_ARRAY)


@pytest.mark.parametrize(("reason", "expected"), [
    ([], None),
    (["TIMEOUT"], None),
    (["ERROR"], err("UNBLOCKED client unblocked via CLIENT UNBLOCK")),
])
def test_client_unblock(node, c, reason, expected):
    blocked = CoreClient(node)
    _block(node, blocked.conn)
    replies, _ = drive(node, c.conn, "CLIENT", "UNBLOCK", "2", *reason)
    assert replies == {blocked.conn: [expected], c.conn: [1]}
    assert node.clients[blocked.conn].blocked is None
    assert c.call("CLIENT", "UNBLOCK", "2") == 0


def test_client_help_lists_subcommands(c):
    lines = c.call("CLIENT", "HELP")
    assert lines[0] == b"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert b"REPLY (ON|OFF|SKIP)" in lines and lines[-1] == b"    Prints this help."


def test_quit_closes_after_reply(c):
    assert c.send_raw(encode_request("QUIT") + encode_request("PING")) == [b"OK"]
    assert c.closed


def test_select_in_cluster_mode():
    c = CoreClient(make_node(cluster_enabled="yes"))
    assert normalized(c.call("SELECT", "1")) == err("ERR SELECT is not allowed in cluster mode")
    assert c.call("SELECT", "0") == b"OK"


def test_ping_while_subscribed_in_resp2(c):
    c.call("SUBSCRIBE", "ch")
    assert c.call("PING") == [b"pong", b""]
    assert c.call("PING", "x") == [b"pong", b"x"]




# -- protected mode ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("addr", "options", "denied"), [
    ("192.0.2.7:5000", {}, True),
    ("[2001:db8::7]:5000", {}, True),
    ("127.0.0.1:5000", {}, False),
    ("[::1]:5000", {}, False),
    ("/tmp/kv.sock:0", {}, False),  # a unix-socket client
    ("192.0.2.7:5000", {"requirepass": "secret"}, False),
    ("192.0.2.7:5000", {"protected_mode": "no"}, False),
])
def test_protected_mode_refuses_outside_clients_while_there_is_no_password(addr, options, denied):
    node = make_node(**options)
    node.open(7, node.now, addr=addr, laddr="192.0.2.1:6379")
    effects = node.take_effects()
    if denied:
        assert [type(e) for e in effects] == [Send, Close]
        assert effects[0].data == b"-" + errors.PROTECTED_MODE.encode() + b"\r\n"
        assert node.stats.rejected_connections == 1 and 7 not in node.clients
    else:
        assert effects == [] and 7 in node.clients
