"""DEBUG PROTOCOL, HTSTATS, QUICKLIST-PACKED-THRESHOLD and the other DEBUG subcommands Redis's test
suite uses; CLIENT LIST's qbuf; MONITOR around EXEC.

Every expected byte string below was read from redis-server 7.0.15 (raw socket, RESP2 then after
HELLO 3), except where a comment says the value is ours (hash-table chain layout).
"""

from __future__ import annotations

import re

import pytest

from kvcore.effects import SIGABRT, Crash, LogMessage, Pause, RewriteConfig, Send
from kvcore.node import ServerInfo
from tests.kvcore.harness import CoreClient, encode_request, make_node

PROTOCOL_TYPES = (
    b"ERR Wrong protocol type name. Please use one of the following: "
    b"string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"
)


def wrong_args(sub: str) -> bytes:
    return b"-ERR unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP.\r\n" % sub.encode()


ONE_ELEMENT_TABLE = (
    b"Hash table 0 stats (main hash table):\n table size: 4\n number of elements: 1\n different slots: 1\n"
    b" max chain length: 1\n avg chain length (counted): 1.00\n avg chain length (computed): 1.00\n"
    b" Chain length distribution:\n   0: 3 (75.00%)\n   1: 1 (25.00%)\n"
)
EMPTY_TABLE = b"Hash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n"
PACKED_THRESHOLD = b"-ERR argument must be a memory value bigger than 1 and smaller than 4gb\r\n"


def bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


def verbatim(data: bytes) -> bytes:
    return b"=%d\r\ntxt:%s\r\n" % (len(data) + 4, data)


# (request, RESP2 bytes, RESP3 bytes); setup requests have None for both.
CASES = [
    ("debug protocol string", b"$11\r\nHello World\r\n", b"$11\r\nHello World\r\n"),
    ("debug protocol integer", b":12345\r\n", b":12345\r\n"),
    ("debug protocol double", b"$5\r\n3.141\r\n", b",3.141\r\n"),
    ("debug protocol bignum", b"$37\r\n1234567999999999999999999999999999999\r\n",
     b"(1234567999999999999999999999999999999\r\n"),
    ("debug protocol null", b"$-1\r\n", b"_\r\n"),
    ("debug protocol array", b"*3\r\n:0\r\n:1\r\n:2\r\n", b"*3\r\n:0\r\n:1\r\n:2\r\n"),
    ("debug protocol set", b"*3\r\n:0\r\n:1\r\n:2\r\n", b"~3\r\n:0\r\n:1\r\n:2\r\n"),
    ("debug protocol map", b"*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n", b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"),
    ("debug protocol attrib", b"$39\r\nSome real reply following the attribute\r\n",
     b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$39\r\nSome real reply following the attribute\r\n"),
    ("debug protocol push", b"-ERR RESP2 is not supported by this command\r\n",
     b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n$40\r\nSome real reply following the push reply\r\n"),
    ("debug protocol verbatim", b"$25\r\nThis is a verbatim\nstring\r\n", b"=29\r\ntxt:This is a verbatim\nstring\r\n"),
    ("debug protocol true", b":1\r\n", b"#t\r\n"),
    ("debug protocol FALSE", b":0\r\n", b"#f\r\n"),
    ("debug protocol foo", b"-" + PROTOCOL_TYPES + b"\r\n", b"-" + PROTOCOL_TYPES + b"\r\n"),
    ("debug protocol", wrong_args("protocol"), wrong_args("protocol")),
    ("debug protocol string x", wrong_args("protocol"), wrong_args("protocol")),
    ("debug quicklist-packed-threshold 1b", b"+OK\r\n", b"+OK\r\n"),
    ("debug quicklist-packed-threshold 0", b"+OK\r\n", b"+OK\r\n"),
    ("debug quicklist-packed-threshold b", b"+OK\r\n", b"+OK\r\n"),
    ("debug quicklist-packed-threshold 5KB", b"+OK\r\n", b"+OK\r\n"),
    ("debug quicklist-packed-threshold 4095mb", b"+OK\r\n", b"+OK\r\n"),
    ("debug quicklist-packed-threshold 4293918721", PACKED_THRESHOLD, PACKED_THRESHOLD),
    ("debug quicklist-packed-threshold 4gb", PACKED_THRESHOLD, PACKED_THRESHOLD),
    ("debug quicklist-packed-threshold -1", PACKED_THRESHOLD, PACKED_THRESHOLD),
    ("debug quicklist-packed-threshold 1.5k", PACKED_THRESHOLD, PACKED_THRESHOLD),
    ("debug quicklist-packed-threshold +5", PACKED_THRESHOLD, PACKED_THRESHOLD),
    ("debug quicklist-packed-threshold 1 2", wrong_args("quicklist-packed-threshold"),
     wrong_args("quicklist-packed-threshold")),
    ("debug htstats 1", bulk(b"[Dictionary HT]\n" + EMPTY_TABLE + b"[Expires HT]\n" + EMPTY_TABLE),
     verbatim(b"[Dictionary HT]\n" + EMPTY_TABLE + b"[Expires HT]\n" + EMPTY_TABLE)),
    ("debug htstats 16", b"-ERR Out of range database\r\n", b"-ERR Out of range database\r\n"),
    ("debug htstats x", b"-ERR value is not an integer or out of range\r\n",
     b"-ERR value is not an integer or out of range\r\n"),
    ("debug htstats 0 full", wrong_args("htstats"), wrong_args("htstats")),
    ("debug htstats-key nokey", b"-ERR no such key\r\n", b"-ERR no such key\r\n"),
    ("set k v ex 100", None, None),
    ("debug htstats 0", bulk(b"[Dictionary HT]\n" + ONE_ELEMENT_TABLE + b"[Expires HT]\n" + ONE_ELEMENT_TABLE),
     verbatim(b"[Dictionary HT]\n" + ONE_ELEMENT_TABLE + b"[Expires HT]\n" + ONE_ELEMENT_TABLE)),
    ("debug htstats-key k", b"-ERR The value stored at the specified key is not represented using an hash table\r\n",
     b"-ERR The value stored at the specified key is not represented using an hash table\r\n"),
    ("sadd s a", None, None),
    ("debug htstats-key s", bulk(ONE_ELEMENT_TABLE), verbatim(ONE_ELEMENT_TABLE)),
    ("sadd i 1", None, None),
    ("debug htstats-key i", b"-ERR The value stored at the specified key is not represented using an hash table\r\n",
     b"-ERR The value stored at the specified key is not represented using an hash table\r\n"),
    ("config set zset-max-listpack-entries 0", None, None),
    ("zadd z 1 a", None, None),
    ("debug htstats-key z", bulk(ONE_ELEMENT_TABLE), verbatim(ONE_ELEMENT_TABLE)),
    ("debug change-repl-id", b"+OK\r\n", b"+OK\r\n"),
    ("debug change-repl-id x", wrong_args("change-repl-id"), wrong_args("change-repl-id")),
    ("debug set-disable-deny-scripts 1", b"+OK\r\n", b"+OK\r\n"),
    ("debug set-disable-deny-scripts", wrong_args("set-disable-deny-scripts"), wrong_args("set-disable-deny-scripts")),
    ("debug replybuffer peak-reset-time never", b"+OK\r\n", b"+OK\r\n"),
    ("debug replybuffer peak-reset-time RESET", b"+OK\r\n", b"+OK\r\n"),
    ("debug replybuffer peak-reset-time 100", b"+OK\r\n", b"+OK\r\n"),
    ("debug replybuffer peak-reset-time abc", b"-ERR value is not an integer or out of range\r\n",
     b"-ERR value is not an integer or out of range\r\n"),
    ("debug replybuffer resizing x", b"+OK\r\n", b"+OK\r\n"),
    ("debug replybuffer foo x", wrong_args("replybuffer"), wrong_args("replybuffer")),
    ("debug replybuffer resizing", wrong_args("replybuffer"), wrong_args("replybuffer")),
    ("debug stringmatch-len", wrong_args("stringmatch-len"), wrong_args("stringmatch-len")),  # not in 7.0
    ("debug jmap", wrong_args("jmap"), wrong_args("jmap")),  # not in 7.0
    ("debug error LOADING", b"-LOADING\r\n", b"-LOADING\r\n"),
    ("debug error", wrong_args("error"), wrong_args("error")),
    ("debug error a b", wrong_args("error"), wrong_args("error")),
    ("lolwut", b"$18\r\nRedis ver. 7.0.15\n\r\n", b"=22\r\ntxt:Redis ver. 7.0.15\n\r\n"),
    ("lolwut version 5 x", b"-ERR value is not an integer or out of range\r\n",
     b"-ERR value is not an integer or out of range\r\n"),
    ("debug structsize", bulk(b"bits:64 robj:16 dictentry:24 sdshdr5:1 sdshdr8:3 sdshdr16:5 sdshdr32:9 sdshdr64:17 "),
     bulk(b"bits:64 robj:16 dictentry:24 sdshdr5:1 sdshdr8:3 sdshdr16:5 sdshdr32:9 sdshdr64:17 ")),
    ("debug stringmatch-test", b"+Apparently Redis did not crash: test passed\r\n",
     b"+Apparently Redis did not crash: test passed\r\n"),
    ("debug leak abc", b"+OK\r\n", b"+OK\r\n"),
    ("debug listpack nokey", b"-ERR no such key\r\n", b"-ERR no such key\r\n"),
    ("rpush list a b", None, None),
    ("hset hash f v", None, None),
    ("debug listpack hash", b"+Listpack structure printed on stdout\r\n", b"+Listpack structure printed on stdout\r\n"),
    ("debug listpack list", b"-ERR Not a listpack encoded object.\r\n", b"-ERR Not a listpack encoded object.\r\n"),
    ("debug quicklist list 1", b"+Quicklist structure printed on stdout\r\n",
     b"+Quicklist structure printed on stdout\r\n"),
    ("debug quicklist hash", b"-ERR Not a quicklist encoded object.\r\n", b"-ERR Not a quicklist encoded object.\r\n"),
    ("debug quicklist", wrong_args("quicklist"), wrong_args("quicklist")),
    ("debug config-rewrite-force-all", b"-ERR CONFIG-REWRITE-FORCE-ALL failed: Bad address\r\n",
     b"-ERR CONFIG-REWRITE-FORCE-ALL failed: Bad address\r\n"),  # no config file
]


def raw(node, conn: int, request: str) -> bytes:
    node.receive(conn, encode_request(*request.split()), node.now)
    return b"".join(e.data for e in node.take_effects() if isinstance(e, Send) and e.conn == conn)


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_debug_subcommands_reply_as_redis(resp3):
    node = make_node(enable_debug_command="yes")
    CoreClient(node)
    if resp3:
        raw(node, 1, "hello 3")
    for request, resp2_bytes, resp3_bytes in CASES:
        got = raw(node, 1, request)
        expected = resp3_bytes if resp3 else resp2_bytes
        if expected is not None:
            assert (request, got) == (request, expected)


def test_debug_error_replies_its_message_uncounted_as_an_error():
    """Clients fake server errors with it (redis-py's tests: LOADING, READONLY, OOM): Redis writes
    the message raw, newlines made spaces, and counts no error reply for it."""
    node = make_node(enable_debug_command="yes")
    CoreClient(node)
    node.receive(1, encode_request("DEBUG", "ERROR", "READONLY\r\nx"), node.now)
    assert [e.data for e in node.take_effects() if isinstance(e, Send)] == [b"-READONLY  x\r\n"]
    stats = raw(node, 1, "info stats")
    assert b"total_error_replies:0\r\n" in stats
    assert b"errorstat" not in raw(node, 1, "info errorstats")


def test_help_lists_the_new_subcommands_as_redis_words_them():
    c = CoreClient(make_node(enable_debug_command="yes"))
    lines = c.call("DEBUG", "HELP")
    start = lines.index(b"PROTOCOL <type>")
    assert lines[start : start + 4] == [  # redis-server 7.0.15 DEBUG HELP
        b"PROTOCOL <type>",
        b"    Reply with a test value of the specified type. <type> can be: string,",
        b"    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        b"    true, false.",
    ]
    for line in (b"HTSTATS <dbid>", b"HTSTATS-KEY <key>", b"QUICKLIST-PACKED-THRESHOLD <size>", b"CHANGE-REPL-ID",
                 b"CONFIG-REWRITE-FORCE-ALL", b"REPLYBUFFER RESIZING <0|1>"):
        assert line in lines


@pytest.mark.parametrize("count,size", [(3, 4), (4, 4), (5, 8), (10, 16), (16, 16), (17, 32), (4097, 8192)])
def test_htstats_table_size_grows_as_redis_dicts_do(count, size):
    """Sizes as redis-server showed them after DEBUG POPULATE (10 keys: table size 16); the chain
    layout is ours (CRC-32 slots), so only its consistency is checked."""
    c = CoreClient(make_node(enable_debug_command="yes"))
    c.call("DEBUG", "POPULATE", str(count))
    text = c.call("DEBUG", "HTSTATS", "0").decode()
    assert f" table size: {size}\n number of elements: {count}\n" in text
    slots = int(re.search(r"different slots: (\d+)", text).group(1))
    chains = {int(n): int(k) for n, k in re.findall(r"^   (\d+): (\d+) \(", text, re.M)}
    assert sum(chains.values()) == size and size - chains.get(0, 0) == slots
    assert sum(n * k for n, k in chains.items()) == count


def test_a_table_does_not_grow_while_a_child_runs_unless_far_too_full():
    """other.tcl's "Don't rehash if redis has child process": Redis spares the child copy-on-write."""
    node = make_node(enable_debug_command="yes")
    c = CoreClient(node)
    c.call("SELECT", "9")
    c.call("DEBUG", "POPULATE", "4096")

    def table_size() -> int:
        return int(re.search(r"table size: (\d+)", c.call("DEBUG", "HTSTATS", "9").decode()).group(1))

    c.call("BGSAVE")
    c.call("MSET", "k1", "v1", "k2", "v2")
    assert table_size() == 4096
    node.job_done(node.snapshots.job, True, node.now)
    c.call("SET", "k3", "v3")
    assert table_size() == 8192
    c.call("BGSAVE")
    c.call("DEBUG", "POPULATE", str(6 * 8192 - 4099), "more")  # six keys a slot: still not (Redis divides)
    assert table_size() == 8192
    c.call("SET", "k4", "v4")  # more: it grows all the same
    assert table_size() == 65536


def test_config_rewrite_force_all_writes_every_option_and_parses_back():
    from kvcore.config import OPTIONS, Config
    from net.conffile import overrides_from, parse_text

    node = make_node(enable_debug_command="yes", save="", maxmemory="100mb")
    node.info = ServerInfo(config_file="/tmp/redis.conf")
    c = CoreClient(node)
    node.take_effects()
    node.receive(c.conn, encode_request("DEBUG", "CONFIG-REWRITE-FORCE-ALL"), node.now)
    rewrites = [e for e in node.take_effects() if isinstance(e, RewriteConfig)]
    assert len(rewrites) == 1
    text = rewrites[0].text
    written = {line.split()[0] for line in text.splitlines()}
    # Redis writes replicaof only when set, and the ACL users as user lines (no aclfile)
    assert written == {o.name for o in OPTIONS} - {"replicaof"} | {"user"}
    assert Config(overrides_from(parse_text(text))).values == node.config.values


# -- CLIENT LIST / CLIENT INFO qbuf ----------------------------------------------------------


@pytest.mark.parametrize("sub", ["LIST", "INFO"])
def test_qbuf_counts_the_request_being_run(sub):
    """redis-server 7.0.15: `client list` / `client info` sent alone show qbuf=26 (their own 26 bytes)."""
    c = CoreClient(make_node())
    line = c.call("CLIENT", sub).decode()
    assert " qbuf=26 qbuf-free=" in line


def test_qbuf_adds_the_unparsed_bytes():
    c = CoreClient(make_node())
    line = c.send_raw(encode_request("CLIENT", "INFO") + b"*2\r\n$3\r\nGET\r\n$1")[0].decode()
    assert " qbuf=41 " in line  # 26 for CLIENT INFO + the 15 bytes of a request still arriving


def test_other_clients_qbuf_holds_only_their_unparsed_bytes():
    node = make_node()
    c, other = CoreClient(node), CoreClient(node)
    other.send_raw(b"*1\r\n$4\r\nPI")
    lines = c.call("CLIENT", "LIST").decode().splitlines()
    assert " qbuf=26 " in lines[0] and " qbuf=2 " in lines[1]  # its headers parsed, as redis-server 7.0.15 shows


# -- MONITOR and EXEC ---------------------------------------------------------------------------


def test_monitor_sees_exec_after_the_commands_it_ran():
    """redis-server 7.0.15 MONITOR output for MULTI; SET foo bar; GET foo; EXEC; MULTI; SET a (arity
    error, not shown); EXEC; INCR foo (an error, still shown); SELECT 2; SET x y: each command after it ran."""
    node = make_node()
    monitor, c = CoreClient(node), CoreClient(node)
    monitor.call("MONITOR")
    for request in (["MULTI"], ["SET", "foo", "bar"], ["GET", "foo"], ["EXEC"], ["MULTI"], ["SET", "a"], ["EXEC"],
                    ["INCR", "foo"], ["SELECT", "2"], ["SET", "x", "y"]):
        c.send_raw(encode_request(*request))
    lines = [re.sub(rb"^[0-9.]+ ", b"", line) for line in monitor.send_raw(b"")]
    assert lines == [
        b'[0 127.0.0.1:40002] "MULTI"',
        b'[0 127.0.0.1:40002] "SET" "foo" "bar"',
        b'[0 127.0.0.1:40002] "GET" "foo"',
        b'[0 127.0.0.1:40002] "EXEC"',
        b'[0 127.0.0.1:40002] "MULTI"',
        b'[0 127.0.0.1:40002] "EXEC"',
        b'[0 127.0.0.1:40002] "INCR" "foo"',
        b'[2 127.0.0.1:40002] "SELECT" "2"',
        b'[2 127.0.0.1:40002] "SET" "x" "y"',
    ]


def test_client_eviction_lists_the_evictable_clients_by_bucket():
    node = make_node(enable_debug_command="yes")
    c = CoreClient(node)
    assert str(c.call("DEBUG", "CLIENT-EVICTION")) == "ERR maxmemory-clients is disabled."
    assert c.call("CONFIG", "SET", "maxmemory-clients", "10mb") == b"OK"
    CoreClient(node, 2).call("SET", "k", "v")
    lines = c.call("DEBUG", "CLIENT-EVICTION").decode().splitlines()
    assert len(lines) == 19
    assert lines[0].startswith("bucket          0 -      32767: tot-mem: ")
    assert lines[-1].startswith("bucket 4294967296+            : tot-mem:          0, clients: 0")
    assert sum(int(line.rsplit("clients: ", 1)[1]) for line in lines) == 2


def test_help_is_redis_help(redis_port):
    import redis

    with redis.Redis(port=redis_port) as theirs:
        redis_lines = theirs.execute_command("DEBUG", "HELP")
    assert CoreClient(make_node(enable_debug_command="yes")).call("DEBUG", "HELP") == redis_lines


@pytest.mark.parametrize("sub, log", [
    ("ASSERT", ("=== ASSERTION FAILED ===", "==> '1 == 2' is not true")),
    ("OOM", "Redis aborting for OUT OF MEMORY. Allocating 9223372036854775807 bytes!"),
])
def test_debug_assert_and_oom_crash_the_server_as_a_panic(sub, log):
    node = make_node(enable_debug_command="yes")
    CoreClient(node)
    node.receive(1, encode_request("DEBUG", sub), node.now)
    (crash,) = [effect for effect in node.take_effects() if type(effect) is Crash]
    assert crash.signal == SIGABRT and crash.panic and log in (crash.reason, crash.details)


def test_debug_log_writes_a_warning_as_redis():
    node = make_node()
    client = CoreClient(node, 1)
    node.receive(1, encode_request("DEBUG", "LOG", "hello there"), node.now)
    effects = node.take_effects()
    assert LogMessage("warning", "DEBUG LOG: hello there") in effects
    assert client.call("DEBUG", "AOF-FLUSH-SLEEP", "500000") == b"OK"


def test_debug_pause_cron_stops_active_expiry_until_resumed():
    node = make_node()
    client = CoreClient(node, 1)
    client.call("SET", "k", "v", "PX", "10")
    client.call("DEBUG", "PAUSE-CRON", "1")
    node.tick(node.now + 1000)
    assert node.dbs[0].data.get(b"k") is not None  # still there: the cron did not run
    client.call("DEBUG", "PAUSE-CRON", "0")
    node.tick(node.now + 2000)
    assert b"k" not in node.dbs[0].data


def test_debug_sleep_pauses_the_runtime_and_moves_the_clock_for_what_follows_in_exec():
    """Redis's list.tcl: inside EXEC, `pexpire k 100; debug sleep 0.2` leaves k expired for the
    commands after it (and for the blocked clients served at the end)."""
    node = make_node()
    client = CoreClient(node, 1)
    client.call("SET", "k", "v")
    start = node.now
    node.receive(1, b"".join(encode_request(*argv) for argv in (
        ("MULTI",), ("PEXPIRE", "k", "100"), ("DEBUG", "SLEEP", "0.2"), ("GET", "k"), ("EXEC",))), node.now)
    effects = node.take_effects()
    assert Pause(200) in effects and node.now == start + 200
    assert effects.index(Pause(200)) < max(i for i, e in enumerate(effects) if type(e) is Send)  # before the reply
    assert client.call("EXISTS", "k") == 0
    assert client.call("DEBUG", "SLEEP", "0") == b"OK" and node.now == start + 200  # no pause for nothing


def test_lolwut_art_versions_end_with_redis_credit_line():
    c = CoreClient(make_node())
    assert c.call("LOLWUT", "VERSION", "5", "1").endswith(b"Georg Nees - schotter, plotter on paper, 1968. "
                                                          b"Redis ver. 7.0.15\n")
    assert c.call("LOLWUT", "VERSION", "6").endswith(b"Original 8 bit image from Plaguemon by hikikomori. "
                                                     b"Redis ver. 7.0.15\n")
