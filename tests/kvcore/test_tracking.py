"""Client-side caching (CLIENT TRACKING): invalidation messages, redirects, BCAST, errors.

Each scenario is a list of steps run by named connections; after every step each
connection is flushed with a PING (so every message a step caused has arrived) and
the transcript records what each connection received. `test_scenario_on_redis`
replays the scenarios on redis-server 7.0.15 and compares transcripts, so the
expected behaviour is Redis's. Client ids differ between the two servers: a step
names a client's id as ``"@name"`` and transcripts show ids as ``"@name"`` too.
"""

from __future__ import annotations

import socket
import time

import hiredis
import pytest

from tests.kvcore.harness import CoreClient, encode_request, make_node

CLIENTS = ("r", "rd", "sg", "x")
SLEEP = "sleep"  # a step ("sleep", ms): time passes (the core's clock; a real pause on redis)

SCENARIOS = {
    "resp2 redirect to a subscribed client": [
        ("rd", ["SUBSCRIBE", "__redis__:invalidate"]),
        ("r", ["CLIENT", "TRACKING", "on", "REDIRECT", "@rd"]),
        ("r", ["SET", "a", "1"]), ("r", ["SET", "b", "1"]), ("r", ["GET", "a"]),
        ("r", ["INCR", "b"]), ("r", ["INCR", "a"]), ("r", ["INCR", "a"]),
        ("r", ["MGET", "a", "b", "c"]), ("sg", ["MSET", "c", "1", "b", "2", "a", "3"]),
        ("r", ["CLIENT", "GETREDIR"]), ("r", ["CLIENT", "TRACKINGINFO"]),
        ("r", ["CLIENT", "TRACKING", "off"]), ("r", ["CLIENT", "GETREDIR"]), ("r", ["CLIENT", "TRACKINGINFO"]),
    ],
    "resp2 without redirect gets nothing, redirect to an unsubscribed client neither": [
        ("r", ["CLIENT", "TRACKING", "on"]), ("r", ["GET", "k"]), ("sg", ["SET", "k", "1"]),
        ("r", ["CLIENT", "TRACKING", "on", "REDIRECT", "@rd"]), ("r", ["GET", "k"]), ("sg", ["SET", "k", "2"]),
        ("r", ["CLIENT", "TRACKINGINFO"]),
    ],
    "bcast with prefixes, in a transaction": [
        ("rd", ["SUBSCRIBE", "__redis__:invalidate"]),
        ("r", ["CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "@rd", "PREFIX", "b:", "PREFIX", "a:"]),
        ("r", ["MULTI"]), ("r", ["INCR", "a:1"]), ("r", ["INCR", "b:2"]), ("r", ["INCR", "b:1"]),
        ("r", ["INCR", "a:2"]), ("r", ["INCR", "c:1"]), ("r", ["EXEC"]),
        ("r", ["CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "@rd", "PREFIX", "c:"]), ("r", ["INCR", "c:1234"]),
        ("r", ["CLIENT", "TRACKINGINFO"]),
    ],
    "bcast with no prefix, noloop": [
        ("r", ["HELLO", "3"]),
        ("r", ["CLIENT", "TRACKING", "on", "BCAST", "NOLOOP"]),
        ("r", ["MSET", "x", "1", "y", "2"]), ("sg", ["SET", "other", "1"]),
        ("r", ["SET", "mine", "1"]), ("sg", ["DEL", "mine", "other"]),
        ("r", ["CLIENT", "TRACKINGINFO"]),
    ],
    "scripts track the keys they declare, once they read": [
        ("rd", ["SUBSCRIBE", "__redis__:invalidate"]),
        ("r", ["CLIENT", "TRACKING", "on", "REDIRECT", "@rd"]),
        ("r", ["EVAL", "redis.call('set', 'k3', 'bar')", "2", "k1", "k2"]), ("sg", ["MSET", "k2", "2", "k1", "2"]),
        ("r", ["EVAL", "redis.call('get', 'k3')", "2", "k1", "k2"]), ("sg", ["MSET", "k2", "2", "k1", "2"]),
        ("r", ["EVAL_RO", "redis.call('ping')", "2", "k1", "k2"]), ("sg", ["MSET", "k2", "3", "k1", "3"]),
        ("r", ["EVAL_RO", "redis.call('get', 'k1')", "2", "k1", "k2"]), ("sg", ["MSET", "k2", "4", "k1", "4"]),
    ],
    "a script's writes are its caller's under noloop": [
        ("r", ["HELLO", "3"]), ("r", ["CLIENT", "TRACKING", "on", "NOLOOP"]),
        ("r", ["SET", "key1", "1"]), ("r", ["GET", "key1"]),
        ("r", ["EVAL", "return redis.call('set', 'key1', '2')", "1", "key1"]), ("r", ["GET", "key1"]),
        ("sg", ["SET", "key1", "3"]),
    ],
    "noloop in default mode": [
        ("rd", ["SUBSCRIBE", "__redis__:invalidate"]),
        ("r", ["CLIENT", "TRACKING", "on", "REDIRECT", "@rd", "NOLOOP"]),
        ("r", ["MGET", "other1", "loop", "other2"]),
        ("sg", ["SET", "other1", "1"]), ("r", ["SET", "loop", "1"]), ("sg", ["SET", "other2", "1"]),
        ("sg", ["SET", "loop", "2"]),
    ],
    "resp3 invalidations come after the reply of the command that caused them": [
        ("r", ["HELLO", "3"]), ("r", ["CLIENT", "TRACKING", "on"]),
        ("r", ["HSET", "h", "f", "1"]), ("r", ["HGET", "h", "f"]), ("r", ["HDEL", "h", "f"]),
        ("r", ["MSET", "a", "1", "b", "2"]), ("r", ["GET", "a"]),
        ("r", ["MULTI"]), ("r", ["INCR", "a"]), ("r", ["GET", "b"]), ("r", ["EXEC"]),
        ("sg", ["SET", "b", "3"]), ("r", ["GET", "b"]), ("r", ["LPUSH", "b", "x"]),
    ],
    "optin and optout with client caching": [
        ("rd", ["SUBSCRIBE", "__redis__:invalidate"]),
        ("r", ["CLIENT", "TRACKING", "on", "OPTIN", "REDIRECT", "@rd"]),
        ("r", ["GET", "k1"]), ("sg", ["SET", "k1", "1"]),
        ("r", ["CLIENT", "CACHING", "yes"]), ("r", ["CLIENT", "TRACKINGINFO"]), ("r", ["GET", "k2"]),
        ("r", ["GET", "k3"]), ("sg", ["MSET", "k2", "1", "k3", "1"]),
        ("r", ["CLIENT", "CACHING", "yes"]), ("r", ["MULTI"]), ("r", ["GET", "k4"]), ("r", ["GET", "k5"]),
        ("r", ["EXEC"]), ("r", ["GET", "k6"]), ("sg", ["MSET", "k4", "1", "k5", "1", "k6", "1"]),
        ("r", ["CLIENT", "CACHING", "no"]), ("r", ["CLIENT", "TRACKING", "on", "OPTOUT"]),
        ("r", ["CLIENT", "TRACKING", "off"]), ("r", ["CLIENT", "TRACKING", "on", "OPTOUT", "REDIRECT", "@rd"]),
        ("r", ["GET", "k7"]), ("r", ["CLIENT", "CACHING", "no"]), ("r", ["CLIENT", "TRACKINGINFO"]),
        ("r", ["GET", "k8"]), ("sg", ["MSET", "k7", "1", "k8", "1"]),
    ],
    "flushes invalidate everything with a null": [
        ("rd", ["SUBSCRIBE", "__redis__:invalidate"]),
        ("r", ["CLIENT", "TRACKING", "on", "REDIRECT", "@rd"]), ("r", ["GET", "k"]),
        ("sg", ["FLUSHALL"]), ("sg", ["FLUSHDB"]),
        ("x", ["HELLO", "3"]), ("x", ["CLIENT", "TRACKING", "on"]), ("x", ["SET", "a", "1"]), ("x", ["GET", "a"]),
        ("x", ["MULTI"]), ("x", ["FLUSHDB"]), ("x", ["EXEC"]), ("x", ["FLUSHALL"]),
        ("r", ["HELLO", "3"]), ("sg", ["FLUSHDB", "ASYNC"]),
    ],
    "resp3 redirect target and a broken redirect": [
        ("rd", ["HELLO", "3"]), ("r", ["HELLO", "3"]),
        ("r", ["CLIENT", "TRACKING", "on", "REDIRECT", "@rd"]), ("r", ["GET", "k"]), ("sg", ["SET", "k", "1"]),
        ("rd", ["SUBSCRIBE", "__redis__:invalidate"]), ("r", ["GET", "k"]), ("sg", ["SET", "k", "2"]),
        ("r", ["GET", "k"]), ("rd", ["QUIT"]), ("sg", ["SET", "k", "3"]),
        ("r", ["CLIENT", "TRACKINGINFO"]), ("r", ["CLIENT", "GETREDIR"]),
    ],
    "switching to bcast forgets the keys read before": [
        ("r", ["HELLO", "3"]), ("r", ["CLIENT", "TRACKING", "on"]), ("r", ["GET", "key1"]),
        ("r", ["CLIENT", "TRACKING", "off"]), ("r", ["CLIENT", "TRACKING", "on", "BCAST"]),
        ("sg", ["INCR", "key1"]),
    ],
    "reset and tracking off end tracking": [
        ("r", ["HELLO", "3"]), ("r", ["CLIENT", "TRACKING", "on"]), ("r", ["GET", "k"]), ("r", ["RESET"]),
        ("r", ["HELLO", "3"]), ("sg", ["SET", "k", "1"]), ("r", ["CLIENT", "TRACKINGINFO"]),
    ],
    "an unblocked blmove gets its invalidation after its reply": [
        ("sg", ["RPUSH", "list2", "a"]), ("r", ["HELLO", "3"]), ("r", ["CLIENT", "TRACKING", "on"]),
        ("r", ["LRANGE", "list2", "0", "-1"]), ("r", ["BLMOVE", "list1", "list2", "LEFT", "LEFT", "0"]),
        ("sg", ["RPUSH", "list1", "foo"]),
    ],
    "lazy expiry invalidates": [
        ("r", ["HELLO", "3"]), ("r", ["CLIENT", "TRACKING", "on"]), ("sg", ["SET", "k", "v", "PX", "200"]),
        ("r", ["GET", "k"]), (SLEEP, 250), ("sg", ["GET", "k"]),
    ],
    "client tracking errors": [
        ("r", ["CLIENT", "TRACKING", "maybe"]), ("r", ["CLIENT", "TRACKING"]), ("r", ["CLIENT", "TRACKING", "on", "foo"]),
        ("r", ["CLIENT", "TRACKING", "on", "REDIRECT"]), ("r", ["CLIENT", "TRACKING", "on", "REDIRECT", "x1"]),
        ("r", ["CLIENT", "TRACKING", "on", "REDIRECT", "0"]), ("r", ["CLIENT", "TRACKING", "on", "REDIRECT", "-3"]),
        ("r", ["CLIENT", "TRACKING", "on", "REDIRECT", "99999999"]),
        ("r", ["CLIENT", "TRACKING", "on", "REDIRECT", "@rd", "REDIRECT", "@rd"]),
        ("r", ["CLIENT", "TRACKING", "on", "PREFIX", "a"]), ("r", ["CLIENT", "TRACKING", "on", "PREFIX"]),
        ("r", ["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"]), ("r", ["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"]),
        ("r", ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOOBAR", "PREFIX", "FOO"]),
        ("r", ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOO", "PREFIX", "FOOBAR"]),
        ("r", ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOO", "PREFIX", "BAR"]),
        ("r", ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FO"]),
        ("r", ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "BARB"]),
        ("r", ["CLIENT", "TRACKING", "on"]), ("r", ["CLIENT", "TRACKINGINFO"]), ("r", ["CLIENT", "TRACKING", "off"]),
        ("r", ["CLIENT", "CACHING", "yes"]), ("r", ["CLIENT", "CACHING"]), ("r", ["CLIENT", "TRACKING", "on"]),
        ("r", ["CLIENT", "CACHING", "yes"]), ("r", ["CLIENT", "CACHING", "no"]), ("r", ["CLIENT", "CACHING", "x"]),
        ("r", ["CLIENT", "TRACKING", "on", "OPTIN"]), ("r", ["CLIENT", "CACHING", "no"]),
        ("r", ["CLIENT", "TRACKING", "on", "OPTOUT"]), ("r", ["CLIENT", "TRACKING", "on", "BCAST"]),
        ("r", ["CLIENT", "TRACKING", "off"]), ("r", ["CLIENT", "TRACKING", "off", "BCAST", "OPTIN", "OPTOUT"]),
        ("r", ["CLIENT", "GETREDIR", "x"]), ("r", ["CLIENT", "TRACKINGINFO", "x"]),
    ],
    "overlap after the first prefix: an error, then OK and tracking on": [
        ("r", ["HELLO", "3"]),
        ("r", ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "b", "PREFIX", "bc"]),
        ("r", ["CLIENT", "TRACKINGINFO"]), ("sg", ["SET", "bcd", "1"]),
    ],
}


# -- running a scenario ------------------------------------------------------------


def _normalise(reply, ids: dict[int, str]):
    if isinstance(reply, list):
        return [_normalise(item, ids) for item in reply]
    if isinstance(reply, dict):
        return {_normalise(k, ids): _normalise(v, ids) for k, v in reply.items()}
    if isinstance(reply, int) and reply in ids:
        return ids[reply]
    if isinstance(reply, hiredis.ReplyError):
        return ("error", str(reply))
    return reply


def _argv(step_argv: list[str], ids: dict[str, int]) -> list[bytes]:
    return [str(ids[arg[1:]]).encode() if arg.startswith("@") else arg.encode() for arg in step_argv]


def _busy(steps, index: int) -> set[str]:
    """The clients that would not answer a PING after step ``index``: inside MULTI (it would be
    queued), blocked by that step (the scenarios unblock it in the next step) or gone (QUIT)."""
    who, argv = steps[index]
    inside: set[str] = set()
    if who != SLEEP and (argv[0].upper() == "QUIT" or argv[0].upper().startswith(("BL", "BR", "BZ"))):
        inside.add(who)
    for who, argv in steps[: index + 1]:
        if who != SLEEP and argv[0].upper() == "MULTI":
            inside.add(who)
        elif who != SLEEP and argv[0].upper() in ("EXEC", "DISCARD"):
            inside.discard(who)
    return inside


def _is_pong(reply) -> bool:
    return reply == b"PONG" or reply == [b"pong", b""]


def run_on_core(steps) -> list:
    node = make_node()
    node.next_client_id = 5000  # far from the small integers replies hold
    clients = {name: CoreClient(node) for name in CLIENTS}
    ids = {name: client.call("CLIENT", "ID") for name, client in clients.items()}
    names = {number: f"@{name}" for name, number in ids.items()}
    transcript = []
    for index, (who, argv) in enumerate(steps):
        if who == SLEEP:
            node.now += argv
            continue
        got = {who: clients[who].send_raw(encode_request(*_argv(argv, ids)))}
        busy = _busy(steps, index)
        for name, client in clients.items():
            if client.closed or name in busy:
                continue
            replies = got.get(name, []) + client.send_raw(encode_request("PING"))
            assert _is_pong(replies[-1]), replies
            got[name] = replies[:-1]
        transcript.append({name: _normalise(replies, names) for name, replies in got.items() if replies})
    return transcript


class _RedisConnection:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.reader = hiredis.Reader()
        self.closed = False

    def send(self, argv: list[bytes]) -> None:
        self.sock.sendall(encode_request(*argv))

    def read_one(self):
        reply = self.reader.gets()
        while reply is False:
            self.reader.feed(self.sock.recv(65536))
            reply = self.reader.gets()
        return reply

    def read_until_pong(self) -> list:
        replies = []
        while not replies or not _is_pong(replies[-1]):
            reply = self.reader.gets()
            if reply is False:
                data = self.sock.recv(65536)
                if not data:
                    self.closed = True
                    return replies
                self.reader.feed(data)
                continue
            replies.append(reply)
        return replies[:-1]


def run_on_redis(port: int, steps) -> list:
    clients = {name: _RedisConnection(port) for name in CLIENTS}
    try:
        ids = {}
        for name, client in clients.items():
            client.send([b"CLIENT", b"ID"])
            client.send([b"PING"])
            ids[name] = client.read_until_pong()[0]
        clients["r"].send([b"FLUSHALL"])
        clients["r"].send([b"PING"])
        clients["r"].read_until_pong()
        names = {number: f"@{name}" for name, number in ids.items()}
        transcript = []
        for index, (who, argv) in enumerate(steps):
            if who == SLEEP:
                time.sleep(argv / 1000)
                continue
            clients[who].send(_argv(argv, ids))
            got = {}
            busy = _busy(steps, index)
            # `who` first: its PONG means the pass that ran the step (and its broadcast) is done
            for name, client in sorted(clients.items(), key=lambda item: item[0] != who):
                if client.closed:
                    continue
                if name in busy:  # QUEUED or OK, or nothing yet if blocked
                    if name == who and not steps[index][1][0].upper().startswith(("BL", "BR", "BZ")):
                        got[name] = [client.read_one()]
                        client.closed = steps[index][1][0].upper() == "QUIT"
                    continue
                client.send([b"PING"])
                got[name] = client.read_until_pong()
            transcript.append({name: _normalise(replies, names) for name, replies in got.items() if replies})
        return transcript
    finally:
        for client in clients.values():
            client.sock.close()


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_on_redis(name, redis_port):
    assert run_on_core(SCENARIOS[name]) == run_on_redis(redis_port, SCENARIOS[name])


# -- INFO fields and CLIENT LIST, compared with redis-server ----------------------------

INFO_FIELDS = (b"tracking_clients", b"tracking_total_keys", b"tracking_total_items", b"tracking_total_prefixes")
STATE_STEPS = [
    ("x", ["SET", "key1", "1"]),
    ("r", ["CLIENT", "TRACKING", "on", "REDIRECT", "@rd"]), ("r", ["GET", "key1"]), ("r", ["MGET", "key2", "key1"]),
    ("sg", ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "p:", "PREFIX", "q:"]),
    ("x", ["CLIENT", "TRACKING", "on", "BCAST"]), ("x", ["GET", "key3"]),
    ("rd", ["QUIT"]), ("x", ["SET", "key1", "2"]),
]


def _state(info: bytes, client_list: bytes, ids: dict[str, int]) -> tuple:
    fields = dict(line.split(b":", 1) for line in info.splitlines() if b":" in line)
    names = {b"redir=%d" % number: b"redir=@" + name.encode() for name, number in ids.items()}
    flags = [
        [names.get(part, part) for part in line.split() if part.startswith((b"flags=", b"redir="))]
        for line in client_list.splitlines()
    ]
    return tuple(fields[name] for name in INFO_FIELDS), flags


def test_info_and_client_list_on_redis(redis_port):
    """INFO's tracking fields and CLIENT LIST's flags/redir after STATE_STEPS (r, sg and x
    listed in that order; rd is gone, so r's redirect is broken)."""
    core = _core_state()
    redis = _redis_state(redis_port)
    assert core == redis
    assert core == (
        (b"3", b"1", b"1", b"3"),  # key1 was invalidated by the last SET: key2 is left
        [[b"flags=tR", b"redir=@rd"], [b"flags=tB", b"redir=0"], [b"flags=tB", b"redir=0"]],
    )


def _core_state() -> tuple:
    node = make_node()
    node.next_client_id = 5000
    clients = {name: CoreClient(node) for name in CLIENTS}
    ids = {name: client.call("CLIENT", "ID") for name, client in clients.items()}
    for who, argv in STATE_STEPS:
        clients[who].send_raw(encode_request(*_argv(argv, ids)))
    listed = b"".join(clients["r"].call("CLIENT", "LIST", "ID", ids[name]) for name in ("r", "sg", "x"))
    return _state(clients["r"].call("INFO"), listed, ids)


def _redis_state(port: int) -> tuple:
    clients = {name: _RedisConnection(port) for name in CLIENTS}
    try:
        ids = {}
        for name, client in clients.items():
            client.send([b"CLIENT", b"ID"])
            ids[name] = client.read_one()
        clients["r"].send([b"FLUSHALL"])
        clients["r"].read_one()
        for who, argv in STATE_STEPS:
            clients[who].send(_argv(argv, ids))
            if argv[0] == "QUIT":
                clients[who].read_one()
                continue
            clients[who].send([b"PING"])
            clients[who].read_until_pong()
        r = clients["r"]
        listed = b""
        for name in ("r", "sg", "x"):
            r.send([b"CLIENT", b"LIST", b"ID", str(ids[name]).encode()])
            listed += r.read_one()
        r.send([b"INFO"])
        return _state(r.read_one(), listed, ids)
    finally:
        for client in clients.values():
            client.sock.close()


# -- the core alone ----------------------------------------------------------------------


def test_table_limit_invalidates_random_keys_until_within_it():
    node = make_node()
    r, sub = CoreClient(node), CoreClient(node)
    sub_id = sub.call("CLIENT", "ID")
    sub.call("SUBSCRIBE", "__redis__:invalidate")
    r.call("CLIENT", "TRACKING", "on", "REDIRECT", sub_id)
    for i in range(250):
        r.call("GET", f"key{i}")
    assert node.tracking.items == 250
    r.call("CONFIG", "SET", "tracking-table-max-keys", "1")
    messages = sub.send_raw(b"")
    assert len(messages) == 100  # Redis's effort: 100 keys at first
    node.tick(node.now + 100)  # the cron goes on, with 200
    messages += sub.send_raw(b"")
    assert len(messages) == 249  # all but one key, one message each
    assert all(m[:2] == [b"message", b"__redis__:invalidate"] and len(m[2]) == 1 for m in messages)
    assert len({m[2][0] for m in messages}) == 249 and len(node.tracking.table) == 1


def test_closing_a_tracking_client_ends_its_tracking():
    node = make_node()
    r, w = CoreClient(node), CoreClient(node)
    r.call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a")
    assert node.tracking_clients == 1 and list(node.tracking.prefixes) == [b"a"]
    node.closed(r.conn, node.now)
    assert node.tracking_clients == 0 and not node.tracking.prefixes
    assert w.call("SET", "a1", "v") == b"OK"


def test_bcast_batches_the_keys_of_one_input_sorted():
    node = make_node()
    r, w = CoreClient(node), CoreClient(node)
    r.call("HELLO", "3")
    r.call("CLIENT", "TRACKING", "on", "BCAST")
    w.send_raw(encode_request("SET", "b", "1") + encode_request("SET", "a", "1") + encode_request("DEL", "b"))
    assert r.send_raw(b"") == [[b"invalidate", [b"a", b"b"]]]


def test_client_help_lists_the_tracking_subcommands():
    lines = CoreClient(make_node()).call("CLIENT", "HELP")
    for line in (b"CACHING (YES|NO)", b"GETREDIR", b"TRACKINGINFO", b"         [OPTIN] [OPTOUT] [NOLOOP]"):
        assert line in lines
