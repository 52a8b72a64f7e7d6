"""Server commands against the pure core; expected replies checked with redis-server 7.0.15."""

from __future__ import annotations

import hashlib
import random

import hiredis
import pytest

from kvcore import info
from kvcore.config import Config
from kvcore.effects import Close, RewriteConfig, Send, Shutdown
from kvcore.node import Node, ServerInfo
from tests.kvcore.differential.runner import stored_form
from tests.kvcore.harness import CoreClient, encode_request, make_node


def err(text: str) -> tuple[str, str]:
    return ("error", text)


def normalized(reply):
    return err(str(reply)) if isinstance(reply, hiredis.ReplyError) else reply


LATENCY_DISABLED = (
    b"I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use "
    b'"CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable it. If we weren\'t in a deep '
    b"space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n"
)
MEMORY_EMPTY = (
    b"Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in "
    b"these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and "
    b"I will be back to our programming as soon as I finished rebooting.\n"
)

# One command on a fresh node, its reply as redis-server 7.0.15 gives it.
CASES = [
    (["DBSIZE"], 0),
    (["DBSIZE", "x"], err("ERR wrong number of arguments for 'dbsize' command")),
    (["FLUSHDB"], b"OK"),
    (["FLUSHDB", "SYNC"], b"OK"),
    (["FLUSHDB", "foo"], err("ERR syntax error")),
    (["FLUSHDB", "async", "sync"], err("ERR syntax error")),
    (["FLUSHALL", "async"], b"OK"),
    (["FLUSHALL", "x", "y"], err("ERR syntax error")),
    (["SWAPDB"], err("ERR wrong number of arguments for 'swapdb' command")),
    (["SWAPDB", "0", "1", "2"], err("ERR wrong number of arguments for 'swapdb' command")),
    (["SWAPDB", "a", "1"], err("ERR invalid first DB index")),
    (["SWAPDB", "0", "b"], err("ERR invalid second DB index")),
    (["SWAPDB", "9999999999", "0"], err("ERR invalid first DB index")),
    (["SWAPDB", "0", "16"], err("ERR DB index is out of range")),
    (["SWAPDB", "-1", "0"], err("ERR DB index is out of range")),
    (["SWAPDB", "0", "0"], b"OK"),
    (["ROLE"], [b"master", 0, []]),
    (["TIME", "x"], err("ERR wrong number of arguments for 'time' command")),
    (["LASTSAVE", "x"], err("ERR wrong number of arguments for 'lastsave' command")),
    (["MONITOR", "x"], err("ERR wrong number of arguments for 'monitor' command")),
    (["SHUTDOWN", "foo"], err("ERR syntax error")),
    (["SHUTDOWN", "ABORT"], err("ERR No shutdown in progress.")),
    (["SHUTDOWN", "save", "nosave"], err("ERR syntax error")),
    (["SHUTDOWN", "abort", "now"], err("ERR syntax error")),
    (["INFO", "foo"], b""),
    (["INFO", "modules"], b"# Modules\r\n"),
    (["CONFIG"], err("ERR wrong number of arguments for 'config' command")),
    (["CONFIG", "foo"], err("ERR unknown subcommand 'foo'. Try CONFIG HELP.")),
    (["CONFIG", "GET"], err("ERR wrong number of arguments for 'config|get' command")),
    (["CONFIG", "GET", "hz"], [b"hz", b"10"]),
    (["CONFIG", "GET", "HZ"], [b"HZ", b"10"]),
    (["CONFIG", "GET", "hz", "HZ"], [b"hz", b"10"]),
    (["CONFIG", "GET", "nonexist"], []),
    (["CONFIG", "GET", "maxmemory-policy"], [b"maxmemory-policy", b"noeviction"]),
    (["CONFIG", "SET", "foo", "bar"], err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'")),
    (["CONFIG", "SET", "hz", "abc"],
     err("ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer")),
    (["CONFIG", "SET", "HZ", "abc"],
     err("ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer")),
    (["CONFIG", "SET", "hz", "10", "maxmemory"], err("ERR syntax error")),
    (["CONFIG", "SET", "hz", "10", "HZ", "20"],
     err("ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter")),
    (["CONFIG", "SET", "databases", "5"],
     err("ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config")),
    (["CONFIG", "SET", "hz", "5", "foo", "1"], err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'")),
    (["CONFIG", "SET", "databases", "1", "foo", "1"],
     err("ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config")),
    (["CONFIG", "SET", "protected-mode", "maybe"],
     err("ERR CONFIG SET failed (possibly related to argument 'protected-mode') - argument must be 'yes' or 'no'")),
    (["CONFIG", "SET", "maxmemory", "10x"],
     err("ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value")),
    (["CONFIG", "SET", "maxmemory", "0", "hz", "10"], b"OK"),
    (["CONFIG", "RESETSTAT", "x"], err("ERR wrong number of arguments for 'config|resetstat' command")),
    (["CONFIG", "REWRITE"], err("ERR The server is running without a config file")),
    (["SLOWLOG"], err("ERR wrong number of arguments for 'slowlog' command")),
    (["SLOWLOG", "foo"], err("ERR unknown subcommand 'foo'. Try SLOWLOG HELP.")),
    (["SLOWLOG", "GET"], []),
    (["SLOWLOG", "GET", "abc"], err("ERR count should be greater than or equal to -1")),
    (["SLOWLOG", "GET", "-2"], err("ERR count should be greater than or equal to -1")),
    (["SLOWLOG", "GET", "-1"], []),
    (["SLOWLOG", "get", "1", "2"], err("ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP.")),
    (["SLOWLOG", "LEN"], 0),
    (["SLOWLOG", "LEN", "x"], err("ERR wrong number of arguments for 'slowlog|len' command")),
    (["SLOWLOG", "RESET"], b"OK"),
    (["DEBUG"], err("ERR wrong number of arguments for 'debug' command")),
    (["DEBUG", "foo"], err("ERR unknown subcommand or wrong number of arguments for 'foo'. Try DEBUG HELP.")),
    (["DEBUG", "sleep"], err("ERR unknown subcommand or wrong number of arguments for 'sleep'. Try DEBUG HELP.")),
    (["DEBUG", "jmap"], err("ERR unknown subcommand or wrong number of arguments for 'jmap'. Try DEBUG HELP.")),
    (["DEBUG", "SLEEP", "0"], b"OK"),
    (["DEBUG", "SLEEP", "abc"], b"OK"),
    (["DEBUG", "SET-ACTIVE-EXPIRE", "1"], b"OK"),
    (["DEBUG", "OBJECT", "nokey"], err("ERR no such key")),
    (["MEMORY"], err("ERR wrong number of arguments for 'memory' command")),
    (["MEMORY", "USAGE"], err("ERR wrong number of arguments for 'memory|usage' command")),
    (["MEMORY", "USAGE", "nokey"], None),
    (["MEMORY", "USAGE", "k", "SAMPLES"], err("ERR syntax error")),
    (["MEMORY", "USAGE", "k", "SAMPLES", "abc"], err("ERR value is not an integer or out of range")),
    (["MEMORY", "USAGE", "k", "SAMPLES", "-1"], err("ERR syntax error")),
    (["MEMORY", "USAGE", "k", "foo", "1"], err("ERR syntax error")),
    (["MEMORY", "DOCTOR"], MEMORY_EMPTY),
    (["MEMORY", "PURGE"], b"OK"),
    (["LATENCY"], err("ERR wrong number of arguments for 'latency' command")),
    (["LATENCY", "LATEST"], []),
    (["LATENCY", "RESET"], 0),
    (["LATENCY", "RESET", "foo"], 0),
    (["LATENCY", "HISTORY", "foo"], []),
    (["LATENCY", "GRAPH", "foo"], err("ERR No samples available for event 'foo'")),
    (["LATENCY", "DOCTOR"], LATENCY_DISABLED),
    (["LATENCY", "HISTOGRAM", "get"], []),
    (["LATENCY", "HISTOGRAM", "foo"], []),
]


@pytest.mark.parametrize(("argv", "expected"), CASES, ids=[" ".join(argv) for argv, _ in CASES])
def test_single_command(c, argv, expected):
    assert normalized(c.call(*argv)) == expected


def drive(node, conn: int, *argv) -> list:
    """Run a request on a connection; every effect it produced, for every connection."""
    node.receive(conn, encode_request(*argv), node.now)
    return node.take_effects()


# -- INFO --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "titles"), [
    ([], ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules",
          "Errorstats", "Cluster", "Keyspace"]),
    (["default"], ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules",
                   "Errorstats", "Cluster", "Keyspace"]),
    (["all"], ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules",
               "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"]),
    (["everything"], ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules",
                      "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"]),
    (["cpu", "CLIENTS"], ["Clients", "CPU"]),
    (["keyspace", "foo", "server"], ["Server", "Keyspace"]),
    (["default", "commandstats"], ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                                   "Modules", "Commandstats", "Errorstats", "Cluster", "Keyspace"]),
])
def test_info_sections_in_redis_order(c, args, titles):
    text = c.call("INFO", *args).decode()
    assert [line[2:] for line in text.split("\r\n") if line.startswith("# ")] == titles


def info_fields(c, *sections) -> dict[str, str]:
    text = c.call("INFO", *sections).decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if line and not line.startswith("#"))


HIT_AND_MISS_CASES = [
    # (keys made first, the command): how many hits and misses it counts, as redis-server does
    ([], ["STRLEN", "s"]),
    (["s"], ["STRLEN", "s"]),
    (["l"], ["STRLEN", "l"]),
    (["s"], ["GETRANGE", "s", "0", "1"]),
    (["l"], ["SUBSTR", "l", "0", "1"]),
    (["x"], ["XAUTOCLAIM", "x", "g", "c", "0", "bad-id"]),  # looked up before its arguments are read
    (["l"], ["XAUTOCLAIM", "l", "g", "c", "0", "0", "JUSTID"]),
    (["x"], ["XREAD", "STREAMS", "x", "0-0"]),  # each key looked up twice: to read its ID, to serve it
    ([], ["XREAD", "STREAMS", "x", "y", "0-0", "$"]),
    (["s"], ["MEMORY", "USAGE", "s"]),  # found in the dictionary directly: neither
    (["t"], ["SPOP", "t", "5"]),  # the whole set, read through SUNION: a hit
    (["t"], ["SPOP", "t", "1"]),
    ([], ["MEMORY", "USAGE", "s"]),
]
MAKE = {"s": ["SET", "s", "hello"], "l": ["RPUSH", "l", "a"], "x": ["XADD", "x", "1-1", "f", "v"],
        "t": ["SADD", "t", "a", "b"]}


@pytest.mark.parametrize(("made", "argv"), HIT_AND_MISS_CASES, ids=lambda case: " ".join(case))
def test_keyspace_hits_and_misses_as_redis(c, redis_conn, made, argv):
    redis_conn.call([b"FLUSHALL"])
    for key in made:
        c.call(*MAKE[key])
        redis_conn.call([arg.encode() for arg in MAKE[key]])
    redis_conn.call([b"CONFIG", b"RESETSTAT"])
    before = info_fields(c, "stats")
    c.call(*argv)
    redis_conn.call([arg.encode() for arg in argv])
    after = info_fields(c, "stats")
    theirs = dict(line.split(":", 1) for line in redis_conn.call([b"INFO", b"stats"]).decode().split("\r\n")
                  if line and not line.startswith("#"))
    for field in ("keyspace_hits", "keyspace_misses"):
        assert int(after[field]) - int(before[field]) == int(theirs[field]), field


def test_info_server_facts_come_from_the_runtime():
    node = Node(Config(), rng=random.Random(1), now=5_000_000,
                info=ServerInfo(pid=42, executable="/bin/kvserver", config_file="/etc/kv.conf", tcp_port=7000,
                                os_name="Linux 6.1 x86_64"))
    c = CoreClient(node)
    node.now += 90_061_000
    fields = info_fields(c, "server")
    assert fields["redis_version"] == "7.0.15" and fields["redis_mode"] == "standalone"
    assert (fields["process_id"], fields["tcp_port"], fields["executable"], fields["config_file"]) == (
        "42", "7000", "/bin/kvserver", "/etc/kv.conf")
    assert (fields["os"], fields["arch_bits"], fields["run_id"]) == ("Linux 6.1 x86_64", "64", node.run_id)
    assert (fields["uptime_in_seconds"], fields["uptime_in_days"], fields["hz"]) == ("90061", "1", "10")
    assert fields["server_time_usec"] == str(node.now * 1000)


def test_info_counts_clients_keys_errors_and_commands(node, c):
    other = CoreClient(node)
    c.call("SET", "a", "1")
    c.call("SET", "b", "2", "EX", "100")
    c.call("SELECT", "3")
    c.call("SET", "c", "3")
    c.call("GET", "c")
    c.call("GET", "nokey")
    c.call("NOSUCHCOMMAND")
    c.call("HELLO", "9")
    other.call("INCR", "a")
    fields = info_fields(c, "everything")
    assert fields["connected_clients"] == "2"
    assert (fields["db0"], fields["db3"]) == ("keys=2,expires=1,avg_ttl=0", "keys=1,expires=0,avg_ttl=0")
    assert (fields["keyspace_hits"], fields["keyspace_misses"]) == ("1", "1")
    assert (fields["errorstat_ERR"], fields["errorstat_NOPROTO"]) == ("count=1", "count=1")
    assert fields["total_error_replies"] == "2"
    assert fields["cmdstat_get"] == "calls=2,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0"
    assert fields["cmdstat_hello"] == "calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1"
    assert fields["role"] == "master" and fields["used_memory_human"] == "1.00M"


def test_a_known_command_refused_for_its_arity_counts_as_rejected(c):
    c.call("SET", "k")
    c.call("MULTI")
    c.call("GET")
    c.call("EXEC")
    c.call("CONFIG")
    c.call("CONFIG", "NOSUCH")  # no command to count it against, as in Redis
    fields = info_fields(c, "commandstats")
    assert fields["cmdstat_set"] == "calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"
    assert fields["cmdstat_get"] == "calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"
    assert fields["cmdstat_config"] == "calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"
    assert fields["cmdstat_exec"] == "calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1"


def test_info_counts_changes_since_the_last_save(c):
    for argv in (["SET", "a", "1"], ["SET", "b", "2"], ["INCR", "a"], ["DEL", "b"], ["GET", "a"]):
        c.call(*argv)
    assert info_fields(c, "persistence")["rdb_changes_since_last_save"] == "4"


def test_info_is_verbatim_in_resp3(node, c):
    c.call("HELLO", "3")
    data = b"".join(e.data for e in drive(node, c.conn, "INFO", "cluster") if isinstance(e, Send))
    assert data == b"=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n"


@pytest.mark.parametrize(("size", "text"), [
    (0, "0B"), (1023, "1023B"), (1024, "1.00K"), (1536, "1.50K"), (1048576, "1.00M"),
    (1563072, "1.49M"), (1024**3, "1.00G"), (5 * 1024**4, "5.00T"),
])
def test_bytes_to_human(size, text):
    assert info.bytes_to_human(size) == text


# -- CONFIG ------------------------------------------------------------------------------------


def test_config_set_is_all_or_nothing(c):
    expected = err("ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be "
                   "one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, "
                   "allkeys-lfu, allkeys-random, noeviction")
    assert normalized(c.call("CONFIG", "SET", "hz", "5", "maxmemory-policy", "bad")) == expected
    assert c.call("CONFIG", "GET", "hz") == [b"hz", b"10"]
    assert c.call("CONFIG", "SET", "hz", "5", "maxmemory-policy", "allkeys-lru") == b"OK"
    assert c.call("CONFIG", "GET", "hz", "maxmemory-policy") == [b"hz", b"5", b"maxmemory-policy", b"allkeys-lru"]


def test_config_get_globs_without_duplicates(c):
    names = c.call("CONFIG", "GET", "maxmemory*", "maxmemory")[::2]
    assert sorted(names) == [b"maxmemory", b"maxmemory-clients", b"maxmemory-eviction-tenacity", b"maxmemory-policy", b"maxmemory-samples"]


def test_config_resetstat_zeroes_stats(c):
    c.call("GET", "a")
    c.call("NOSUCH")
    assert c.call("CONFIG", "RESETSTAT") == b"OK"
    fields = info_fields(c, "everything")
    assert "cmdstat_get" not in fields and "errorstat_ERR" not in fields
    assert fields["keyspace_misses"] == "0"
    assert fields["total_commands_processed"] == "1"  # RESETSTAT itself, as in Redis
    assert fields["cmdstat_config|resetstat"] == "calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0"


def test_config_rewrite_emits_the_changed_options():
    node = Node(Config(), rng=random.Random(0), info=ServerInfo(config_file="/etc/kv.conf"))
    c = CoreClient(node)
    c.call("CONFIG", "SET", "hz", "20", "requirepass", "a b", "maxmemory", "1mb")
    effects = drive(node, c.conn, "CONFIG", "REWRITE")
    rewrites = [e for e in effects if isinstance(e, RewriteConfig)]
    default_user = f"user default on #{hashlib.sha256(b'a b').hexdigest()} ~* &* +@all\n"  # as Redis 7.0 writes it
    assert rewrites == [RewriteConfig("/etc/kv.conf", 'hz 20\nrequirepass "a b"\nmaxmemory 1048576\n' + default_user)]
    assert any(isinstance(e, Send) and e.data == b"+OK\r\n" for e in effects)


# -- TIME, LASTSAVE, DBSIZE, FLUSH*, SWAPDB ----------------------------------------------------


def test_time_and_lastsave_come_from_the_node_clock(node, c):
    assert c.call("LASTSAVE") == node.last_save_s == 1_700_000_000
    node.now = 1_700_000_123_456
    assert c.call("TIME") == [b"1700000123", b"456000"]


def test_flushdb_only_touches_the_selected_db(node, c):
    c.call("MSET", "a", "1", "b", "2")
    c.call("SELECT", "1")
    c.call("SET", "c", "3")
    assert c.call("DBSIZE") == 1
    assert c.call("FLUSHDB") == b"OK"
    assert (len(node.dbs[0]), len(node.dbs[1])) == (2, 0)
    assert c.call("FLUSHALL") == b"OK"
    assert len(node.dbs[0]) == 0


def test_flushdb_of_an_empty_db_is_still_propagated():
    node = make_node(appendonly="yes")
    c = CoreClient(node)
    node.receive(c.conn, encode_request("FLUSHDB"), node.now)
    logs = [e.data for e in node.take_effects() if type(e).__name__ == "AppendLog"]
    assert logs == [b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*1\r\n$7\r\nFLUSHDB\r\n"]


def test_swapdb_swaps_contents_under_connected_clients(node, c):
    other = CoreClient(node)
    c.call("SET", "k", "zero")
    c.call("SET", "t", "ttl", "EX", "100")
    other.call("SELECT", "1")
    other.call("SET", "k", "one")
    assert c.call("SWAPDB", "0", "1") == b"OK"
    assert c.call("GET", "k") == b"one"
    assert other.call("GET", "k") == b"zero"
    assert other.call("TTL", "t") == 100
    assert c.call("DBSIZE") == 1
    assert node.dbs[0].index == 0 and node.clients[c.conn].db is node.dbs[0]


def test_swapdb_fails_transactions_watching_swapped_keys(node, c):
    other = CoreClient(node)
    other.call("SELECT", "1")
    other.call("SET", "k", "v")
    c.call("WATCH", "k")
    c.call("MULTI")
    c.call("PING")
    CoreClient(node).call("SWAPDB", "0", "1")
    assert c.call("EXEC") is None


def test_swapdb_wakes_clients_blocked_on_keys_that_arrive(node, c):
    other = CoreClient(node)
    other.call("SELECT", "1")
    other.call("RPUSH", "q", "job")
    node.receive(c.conn, encode_request("BLPOP", "q", "0"), node.now)
    assert node.take_effects() == []
    effects = drive(node, other.conn, "SWAPDB", "0", "1")
    sends = {e.conn: e.data for e in effects if isinstance(e, Send)}
    assert sends == {c.conn: b"*2\r\n$1\r\nq\r\n$3\r\njob\r\n", other.conn: b"+OK\r\n"}


def test_swapdb_is_not_allowed_in_cluster_mode():
    c = CoreClient(make_node(cluster_enabled="yes"))
    assert normalized(c.call("SWAPDB", "0", "1")) == err("ERR SWAPDB is not allowed in cluster mode")


# -- SHUTDOWN and MONITOR -----------------------------------------------------------------------


def test_shutdown_emits_the_effect_and_no_reply(node, c):
    effects = drive(node, c.conn, "SHUTDOWN", "NOSAVE", "NOW")
    assert effects == [Shutdown(0), Close(c.conn)]
    assert node.shutdown_requested == ["nosave", "now"]


def test_shutdown_is_refused_in_multi(c):
    c.call("MULTI")
    assert normalized(c.call("SHUTDOWN")) == err("ERR Command not allowed inside a transaction")


def test_monitor_feeds_other_clients_commands(node, c):
    other = CoreClient(node)
    assert c.call("MONITOR") == b"OK"
    assert c.send_raw(encode_request("MONITOR")) == []  # a second MONITOR is ignored
    node.now = 1_700_000_000_250
    effects = drive(node, other.conn, "SET", "a", "b c")
    lines = [e.data for e in effects if isinstance(e, Send) and e.conn == c.conn]
    assert lines == [b'+1700000000.250000 [0 127.0.0.1:40002] "SET" "a" "b c"\r\n']
    assert "O" in c.call("CLIENT", "INFO").decode().split("flags=")[1].split()[0]


# -- SLOWLOG ------------------------------------------------------------------------------------


def test_slowlog_records_nothing_by_default(c):
    c.call("SET", "a", "b")
    assert c.call("SLOWLOG", "LEN") == 0


def test_slowlog_records_every_command_at_threshold_zero(node, c):
    assert c.call("CONFIG", "SET", "slowlog-log-slower-than", "0") == b"OK"
    c.call("CLIENT", "SETNAME", "nm")
    c.call("SET", "x" * 130, "v")
    c.call("DEL", *[str(i) for i in range(1, 41)])
    node.now += 5000
    entries = c.call("SLOWLOG", "GET", "3")
    assert [entry[0] for entry in entries] == [3, 2, 1]
    assert entries[2] == [1, 1_700_000_000, 0, [b"CLIENT", b"SETNAME", b"nm"], b"127.0.0.1:40001", b"nm"]
    assert entries[1][3] == [b"SET", b"x" * 128 + b"... (2 more bytes)", b"v"]
    assert entries[0][3] == [b"DEL", *[str(i).encode() for i in range(1, 31)], b"... (10 more arguments)"]
    assert c.call("SLOWLOG", "LEN") == 5  # SLOWLOG GET itself is logged too
    assert len(c.call("SLOWLOG", "GET")) == 6
    assert c.call("SLOWLOG", "RESET") == b"OK"
    assert [entry[3] for entry in c.call("SLOWLOG", "GET", "-1")] == [[b"SLOWLOG", b"RESET"]]


SECRETS = [
    (["AUTH", "default", "x"], [b"AUTH", b"(redacted)", b"(redacted)"]),
    (["AUTH", "x"], [b"AUTH", b"(redacted)"]),
    (["HELLO", "3", "AUTH", "default", "x", "SETNAME", "n"],
     [b"HELLO", b"3", b"AUTH", b"(redacted)", b"(redacted)", b"SETNAME", b"n"]),
    (["CONFIG", "SET", "requirepass", "", "hz", "10"], [b"CONFIG", b"SET", b"requirepass", b"(redacted)", b"hz", b"10"]),
]


@pytest.mark.parametrize(("argv", "logged"), SECRETS[:3])  # CONFIG, an admin command, is never fed
def test_monitor_hides_passwords(node, c, argv, logged):
    other = CoreClient(node)
    c.call("MONITOR")
    effects = drive(node, other.conn, *argv)
    [line] = [e.data for e in effects if isinstance(e, Send) and e.conn == c.conn]
    assert line.split(b"] ", 1)[1] == b" ".join(b'"%s"' % arg for arg in logged) + b"\r\n"


@pytest.mark.parametrize(("argv", "logged"), SECRETS)
def test_slowlog_hides_passwords(c, argv, logged):
    c.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    c.send_raw(encode_request(*argv))
    assert c.call("SLOWLOG", "GET", "1")[0][3] == logged


def test_slowlog_records_a_blocking_command_as_sent_once_it_is_done(node, c):
    waiter = CoreClient(node)
    c.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    waiter.send_raw(encode_request("BLPOP", "l", "0"))
    waiter.send_raw(encode_request("BLPOP", "other", "0.01"))  # queued behind the first
    c.call("MULTI")
    c.call("LPUSH", "l", "foo")
    c.call("SLOWLOG", "RESET")
    c.call("EXEC")
    assert c.call("SLOWLOG", "GET", "1")[0][3] == [b"BLPOP", b"l", b"0"]  # served: not its LPOP
    node.tick(node.now + 100)
    c._deliver(node.take_effects())
    assert c.call("SLOWLOG", "GET", "1")[0][3] == [b"BLPOP", b"other", b"0.01"]  # timed out


def test_an_error_ending_a_blocking_command_counts_as_its_failure(node, c):
    waiter = CoreClient(node)
    waiter.send_raw(encode_request("BLPOP", "l", "0"))
    c.call("CONFIG", "RESETSTAT")
    assert c.call("CLIENT", "UNBLOCK", str(node.clients[waiter.conn].id), "ERROR") == 1
    assert str(waiter.send_raw(b"")[0]).startswith("UNBLOCKED")
    fields = info_fields(c, "everything")
    assert fields["errorstat_UNBLOCKED"] == "count=1" and fields["total_error_replies"] == "1"
    assert fields["cmdstat_blpop"].endswith("rejected_calls=0,failed_calls=1")


def test_slowlog_keeps_the_newest_entries(c):
    c.call("CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "2")
    for value in ("1", "2", "3"):
        c.call("ECHO", value)
    assert [entry[3] for entry in c.call("SLOWLOG", "GET")] == [[b"ECHO", b"3"], [b"ECHO", b"2"]]


# -- DEBUG and MEMORY -----------------------------------------------------------------------------


def test_debug_object_of_strings(c):
    c.call("SET", "s", "v")
    c.call("SET", "n", "123")
    c.call("SET", "r", "x" * 45)
    assert c.call("DEBUG", "OBJECT", "s") == b"Value at:0x0 refcount:1 encoding:embstr serializedlength:2 lru:0 lru_seconds_idle:0"
    assert b"encoding:int " in c.call("DEBUG", "OBJECT", "n")
    assert b"encoding:raw " in c.call("DEBUG", "OBJECT", "r")


def test_debug_object_and_refcount_as_redis(c, redis_conn):
    """Refcount, encoding, serialized length and a list's quicklist fields, for values of every
    layout: shared and copied integers, compressed strings, multi-node lists, hashtables."""
    setup = [
        ("SET", "shared", "5"), ("COPY", "shared", "copied"), ("SET", "long", "x" * 100),
        ("SET", "huge", "70000"), ("RPUSH", "list", *[f"element-{i}" for i in range(1000)]),
        ("RPUSH", "short", "a", "1", "-7"), ("SADD", "ints", *range(10)),
        ("SADD", "table", *[f"m{i}" for i in range(600)]), ("HSET", "hash", "f", "v", "g", "12"),
        ("ZADD", "zset", 1, "a", 2.5, "b"), ("XADD", "stream", "1-1", "f", "v"),
    ]
    redis_conn.call([b"FLUSHALL"])
    for argv in setup:
        c.call(*argv)
        redis_conn.call([str(arg).encode() for arg in argv])
    for argv in setup:
        key = argv[2].encode() if argv[0] == "COPY" else argv[1].encode()
        ours = stored_form(lambda command: c.call(*command), key)
        assert ours == stored_form(redis_conn.call, key), key
    redis_conn.call([b"FLUSHALL"])


def test_debug_populate_as_redis(c):
    """Replies and values checked with redis-server 7.0.15."""
    c.call("SET", "key:1", "mine")
    assert c.call("DEBUG", "POPULATE", "3") == b"OK"
    assert [c.call("GET", f"key:{n}") for n in range(3)] == [b"value:0", b"mine", b"value:2"]
    assert c.call("DEBUG", "POPULATE", "2", "p", "12") == b"OK"
    assert c.call("GET", "p:1") == b"value:1\0\0\0\0\0"
    assert c.call("DEBUG", "POPULATE", "2", "q", "3") == b"OK"
    assert c.call("GET", "q:1") == b"val"
    assert c.call("DBSIZE") == 7
    assert b"rdb_changes_since_last_save:1\r\n" in c.call("INFO", "persistence")  # only the SET counts
    for bad in (["-1"], ["x"], ["2", "q", "-3"]):
        assert str(c.call("DEBUG", "POPULATE", *bad)) == "ERR value is out of range, must be positive"
    assert str(c.call("DEBUG", "POPULATE", "1", "a", "b", "c")).startswith(
        "ERR unknown subcommand or wrong number of arguments for 'POPULATE'")


def test_debug_set_active_expire_stops_the_cron_expiring(node, c):
    c.call("SET", "a", "1", "PX", "10")
    assert c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"OK"
    node.tick(node.now + 1000)
    assert len(node.dbs[0]) == 1
    assert c.call("DEBUG", "SET-ACTIVE-EXPIRE", "2") == b"OK"
    node.tick(node.now + 1000)
    assert len(node.dbs[0]) == 0


@pytest.mark.parametrize(("setting", "addr", "allowed"), [
    ("yes", "10.0.0.1:5", True), ("no", "127.0.0.1:5", False), ("local", "127.0.0.1:5", True),
    ("local", "10.0.0.1:5", False),
])
def test_debug_follows_enable_debug_command(setting, addr, allowed):
    node = make_node(enable_debug_command=setting, protected_mode="no")
    node.open(1, node.now, addr=addr)
    node.take_effects()
    node.receive(1, encode_request("DEBUG", "SLEEP", "0"), node.now)
    data = node.take_effects()[0].data
    assert data.startswith(b"+OK" if allowed else b"-ERR DEBUG command not allowed.")


def test_debug_is_refused_by_default_as_redis_7_refuses_it():
    assert Config()["enable-debug-command"] == "no"
    node = Node(Config(), rng=random.Random(0))
    node.open(1, node.now, addr="127.0.0.1:5")
    node.take_effects()
    node.receive(1, encode_request("DEBUG", "HELP"), node.now)
    assert node.take_effects()[0].data.startswith(b"-ERR DEBUG command not allowed.")


@pytest.mark.parametrize(("key", "value", "usage"), [
    ("k", "v", 64), ("n", "123", 48), ("kk", "", 64), ("kk", "x" * 12, 64), ("kk", "x" * 13, 80),
    ("kk", "x" * 28, 80), ("kk", "x" * 29, 96), ("kk", "x" * 44, 96), ("kk", "x" * 45, 112),
    ("kk", "x" * 60, 112), ("kk", "x" * 100, 160), ("kk", "x" * 200, 272), ("kk", "x" * 300, 368),
    ("a" * 36, "1", 88),
])
def test_memory_usage_of_strings_matches_redis(c, key, value, usage):
    c.call("SET", key, value)
    assert c.call("MEMORY", "USAGE", key) == usage
    assert c.call("MEMORY", "USAGE", key, "SAMPLES", "0") == usage


def test_memory_usage_of_other_types_is_an_estimate(c):
    c.call("RPUSH", "l", "a", "b")
    assert 50 < c.call("MEMORY", "USAGE", "l") < 1000


def test_memory_stats_lists_redis_fields_in_redis_order(c, redis_conn):
    redis_conn.call([b"FLUSHALL"])
    for client_call in (c.call, lambda *argv: redis_conn.call([arg.encode() for arg in argv])):
        client_call("SET", "a", "1")
        client_call("SET", "b", "2", "EX", "100")
    ours, theirs = c.call("MEMORY", "STATS"), redis_conn.call([b"MEMORY", b"STATS"])
    redis_conn.call([b"FLUSHALL"])
    assert ours[::2] == theirs[::2]
    ours, theirs = dict(zip(ours[::2], ours[1::2])), dict(zip(theirs[::2], theirs[1::2]))
    assert ours[b"db.0"] == theirs[b"db.0"]  # the table overheads are Redis's arithmetic
    assert ours[b"keys.count"] == theirs[b"keys.count"] == 2
    assert ours[b"total.allocated"] == int(c.call("INFO", "memory").split(b"used_memory:")[1].split(b"\r\n")[0])


# -- LATENCY ----------------------------------------------------------------------------------------


def test_latency_histogram_counts_calls(c):
    c.call("SET", "a", "1")
    c.call("SET", "a", "2")
    c.call("CONFIG", "GET", "hz")
    assert c.call("LATENCY", "HISTOGRAM", "set", "config") == [
        b"set", [b"calls", 2, b"histogram_usec", [1, 2]],
        b"config|get", [b"calls", 1, b"histogram_usec", [1, 1]],
    ]


def test_latency_doctor_when_monitoring_is_on(c):
    c.call("CONFIG", "SET", "latency-monitor-threshold", "100")
    assert c.call("LATENCY", "DOCTOR").startswith(b"Dave, no latency spike was observed")


@pytest.mark.parametrize("text", ["abc", "100", "100 -1", "100 1 50", "0 1", "1.5 2", "1 2x", "100 1  60 0", " 100 1"])
def test_config_set_save_refuses_what_redis_refuses(c, text):
    reply = c.call("CONFIG", "SET", "save", text)
    assert str(reply) == "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"


def test_config_set_save_keeps_the_numbers(c):
    assert c.call("CONFIG", "SET", "save", "+100 1 060 0") == b"OK"
    assert c.call("CONFIG", "GET", "save") == [b"save", b"100 1 60 0"]
    assert c.call("CONFIG", "SET", "save", "") == b"OK"
    assert c.call("CONFIG", "GET", "save") == [b"save", b""]


# -- MODULE --------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["MODULE", "LIST"], ["MODULE", "HELP"], ["MODULE", "LOAD", "/nonexistent.so"], ["MODULE", "UNLOAD", "m"],
    ["MODULE", "LOADEX", "/nonexistent.so"], ["MODULE", "NOSUCH"], ["MODULE"],
])
def test_module_answers_as_redis_does_with_no_module_loaded(c, redis_conn, argv):
    assert normalized(c.call(*argv)) == normalized(redis_conn.call([arg.encode() for arg in argv]))


def test_with_module_command_enabled_loading_fails_and_nothing_unloads():
    client = CoreClient(make_node(enable_module_command="yes"))
    assert str(client.call("MODULE", "LOAD", "/x.so")) == "ERR Error loading the extension. Please check the server logs."
    assert str(client.call("MODULE", "UNLOAD", "x")) == "ERR Error unloading module: no such module with that name"
    assert client.call("MODULE", "LIST") == []
