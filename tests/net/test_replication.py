"""SYNC on a real kvserver, side by side with redis-server 7.0: the RDB image, then the same
replication stream for the same writes (relative expiries made absolute, GETDEL and SPOP
as what they did, SELECT when the database changes, MULTI/EXEC only around groups)."""

from __future__ import annotations

import contextlib
import random
import re
import socket
import time

import pytest
import redis

from kvcore import rdb
from kvcore.config import Config
from kvcore.node import Node
from tests.net.test_loading import RawClient
from tests.net.util import connect, encode, read_until_eof, wait_until
from tests.servers import kvserver, measured_on_both, redis_server_in_dir, redis_server_or_skip

WRITES = [
    "SET foo bar", "SET k v EX 100", "SELECT 9", "INCR n", "MULTI", "SET a 1", "GET a", "EXEC",
    "MULTI", "SET a 1", "SET b 1", "SELECT 3", "INCR n", "EXEC", "GETDEL a", "SELECT 9", "GETDEL a",
    "EXPIRE k 50", "SELECT 0", "DEL foo", "DEL nothing", "SADD s x y z", "SPOP s 3", "SADD t 1 2 3 4 5 6",
    "SPOP t", "LPUSH l a b c", "RPOPLPUSH l l2", "INCRBYFLOAT f 1.5", "SETEX e 100 v", "PEXPIRE e 5000",
]


def attach(port: int) -> tuple[socket.socket, bytes]:
    """SYNC on a new connection: the socket, and the RDB image that came first (after the newlines
    a master sends each second while it prepares the image, as Redis does on a busy machine)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"SYNC\r\n")
    data = b""
    while b"\r\n" not in data.lstrip(b"\n"):
        data += sock.recv(65536)
    header, _, data = data.lstrip(b"\n").partition(b"\r\n")
    assert header.startswith(b"$")
    size = int(header[1:])
    while len(data) < size:
        data += sock.recv(65536)
    return sock, data[:size]


def stream_after(port: int, writes: list[str]) -> bytes:
    replica, _ = attach(port)
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(b"".join(write.encode() + b"\r\n" for write in writes))
    time.sleep(0.5)
    replica.settimeout(0.5)
    stream = b""
    try:
        while chunk := replica.recv(65536):
            stream += chunk
    except TimeoutError:
        pass
    client.close()
    replica.close()
    return stream


def commands(stream: bytes) -> list[list[bytes]]:
    """The stream as commands; absolute times (PXAT, PEXPIREAT) and random members made comparable."""
    import hiredis

    reader = hiredis.Reader()
    reader.feed(stream)
    found = []
    while (command := reader.gets()) is not False:
        found.append([re.sub(rb"^1\d{12}$", b"<ms>", arg) for arg in command])
    return found


def test_the_stream_is_redis_servers():
    with redis_server_or_skip() as redis_port, kvserver() as (kv_port, _):
        expected = commands(stream_after(redis_port, WRITES))
        got = commands(stream_after(kv_port, WRITES))
    assert got[0] == [b"SELECT", b"0"]
    # SPOP picks members at random: compare which key each SREM names, not the member
    assert [_without_spop_members(command) for command in got] == [_without_spop_members(c) for c in expected]


def _without_spop_members(command: list[bytes]) -> list[bytes]:
    return command[:2] if command[0] in (b"SREM", b"srem") else command


def test_the_image_is_the_dataset_at_sync():
    with kvserver() as (port, _):
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        client.sendall(b"SET a 1\r\nSELECT 2\r\nRPUSH l x y\r\n")
        time.sleep(0.2)
        replica, image = attach(port)
        node = Node(Config(), rng=random.Random(0))
        rdb.load(node, image)
        assert node.dbs[0].data[b"a"] == b"1" and list(node.dbs[2].data) == [b"l"]
        replica.sendall(b"PING\r\n")  # a replica gets no replies: one that asks for any is dropped
        replica.settimeout(5)
        assert replica.recv(100) == b""


# -- REPLICAOF: real replicas of real masters -----------------------------------------------------

REPLICA_FIELDS = [  # INFO replication on a replica whose link is up, in redis-server 7.0's order
    "role", "master_host", "master_port", "master_link_status", "master_last_io_seconds_ago",
    "master_sync_in_progress", "slave_read_repl_offset", "slave_repl_offset", "slave_priority",
    "slave_read_only", "replica_announced", "connected_slaves", "master_failover_state", "master_replid",
    "master_replid2", "master_repl_offset", "second_repl_offset", "repl_backlog_active", "repl_backlog_size",
    "repl_backlog_first_byte_offset", "repl_backlog_histlen",
]

MASTER_FIELDS = [  # on a master with one replica (checked on redis-server too: the test runs on both)
    "role", "connected_slaves", "slave0", "master_failover_state", "master_replid", "master_replid2",
    "master_repl_offset", "second_repl_offset", "repl_backlog_active", "repl_backlog_size",
    "repl_backlog_first_byte_offset", "repl_backlog_histlen",
]


def replication_info(client: redis.Redis) -> dict[str, str]:
    return {name: str(value) for name, value in client.info("replication").items()}


def wait_for_sync(master: redis.Redis, replica: redis.Redis) -> None:
    """As the Tcl suite: the link up (ROLE's state), then wait_for_ofs_sync (equal master_repl_offset)."""
    assert wait_until(lambda: replica.execute_command("ROLE")[3] == b"connected", 15)
    assert wait_until(lambda: replication_info(master)["master_repl_offset"]
                      == replication_info(replica)["master_repl_offset"], 15)


def fill_and_follow(master_port: int, replica_port: int) -> tuple[redis.Redis, redis.Redis]:
    master = redis.Redis(port=master_port, socket_timeout=10)
    replica = redis.Redis(port=replica_port, socket_timeout=10)
    master.set("before", "1")
    master.rpush("list", "a", "b", "c")
    master.hset("hash", mapping={"f": "v"})
    master.set("ttl", "v", ex=1000)
    assert replica.execute_command("REPLICAOF", "127.0.0.1", master_port) == b"OK"
    wait_for_sync(master, replica)
    pipe = master.pipeline(transaction=True)
    pipe.incr("counter").sadd("set", "x", "y")
    pipe.execute()
    master.expire("before", 500)
    wait_for_sync(master, replica)
    return master, replica


def same_data(master: redis.Redis, replica: redis.Redis) -> None:
    """The same keys, values and expiry times (DEBUG DIGEST, which ignores the order of members)."""
    assert sorted(replica.keys()) == sorted(master.keys())
    assert replica.execute_command("DEBUG", "DIGEST") == master.execute_command("DEBUG", "DIGEST")


@pytest.mark.parametrize("master_kind", ["kvserver", "redis-server"])
def test_kvserver_replicates_a_master(master_kind):
    master_server = kvserver(["--save", ""]) if master_kind == "kvserver" else \
        redis_server_or_skip(["--repl-diskless-sync-delay", "0"])  # a diskless $EOF: payload at once
    with master_server as master_port, kvserver(["--save", ""]) as (replica_port, _):
        master_port = master_port[0] if isinstance(master_port, tuple) else master_port
        master, replica = fill_and_follow(master_port, replica_port)
        same_data(master, replica)
        info = replication_info(replica)
        assert list(info) == REPLICA_FIELDS
        assert list(replication_info(master)) == MASTER_FIELDS
        slave0 = master.info("replication")["slave0"]
        assert slave0["port"] == replica_port and slave0["state"] == "online" and slave0["ip"] == "127.0.0.1"
        assert info["master_link_status"] == "up" and info["master_replid"] == replication_info(master)["master_replid"]
        with pytest.raises(redis.ReadOnlyError, match="You can't write against a read only replica."):
            replica.set("k", "v")
        assert master.execute_command("WAIT", 1, 5000) == 1
        role = master.execute_command("ROLE")
        assert role[0] == b"master" and role[2][0][1] == str(replica_port).encode()


def test_redis_server_replicates_kvserver():
    with kvserver(["--save", ""]) as (master_port, _), redis_server_or_skip() as replica_port:
        master, replica = fill_and_follow(master_port, replica_port)
        same_data(master, replica)
        assert replication_info(replica)["master_link_status"] == "up"
        assert list(replication_info(replica)) == REPLICA_FIELDS  # the list is redis-server's
        master.set("after", "x")
        assert master.execute_command("WAIT", 1, 5000) == 1
        assert replica.get("after") == b"x"


def test_a_replica_configured_at_start_and_its_chain():
    with kvserver(["--save", ""]) as (master_port, _), \
            kvserver(["--save", "", "--replicaof", f"127.0.0.1 {master_port}"]) as (middle_port, _), \
            kvserver(["--save", "", "--replicaof", f"127.0.0.1 {middle_port}"]) as (leaf_port, _):
        master = redis.Redis(port=master_port, socket_timeout=10)
        leaf = redis.Redis(port=leaf_port, socket_timeout=10)
        middle = redis.Redis(port=middle_port, socket_timeout=10)
        wait_for_sync(master, middle)
        wait_for_sync(middle, leaf)
        master.mset({"a": "1", "b": "2"})
        wait_for_sync(master, leaf)
        assert leaf.mget("a", "b") == [b"1", b"2"]
        assert middle.config_get("replicaof") == {"replicaof": f"127.0.0.1 {master_port}"}


def test_a_replica_configured_at_start_waits_out_a_diskless_sync_delay():
    """redis-server delays a diskless transfer (repl-diskless-sync-delay) and sends a newline a second
    meanwhile; a replica started with replicaof asks for a full sync (PSYNC ? -1) and waits for it."""
    with redis_server_or_skip(["--repl-diskless-sync-delay", "3"]) as master_port, \
            kvserver(["--save", "", "--replicaof", f"127.0.0.1 {master_port}"]) as (replica_port, _):
        master = redis.Redis(port=master_port, socket_timeout=10)
        replica = redis.Redis(port=replica_port, socket_timeout=10)
        master.set("k", "v")
        wait_for_sync(master, replica)
        assert replica.get("k") == b"v"
        stats = master.info("stats")
        assert (stats["sync_full"], stats["sync_partial_err"]) == (1, 0)


def _disk_based_sync_loading(replica_port: int) -> list:
    """A replica with repl-diskless-load disabled loads its master's 300 keys slowly (key-load-delay):
    what it answers meanwhile (INFO's loading, a GET, ROLE), then its keys once the link is up."""
    with kvserver(["--save", "", "--repl-diskless-sync-delay", "0"]) as (master_port, _):
        master = redis.Redis(port=master_port, socket_timeout=10)
        master.execute_command("DEBUG", "POPULATE", 300, "key", 1000)
        replica = redis.Redis(port=replica_port, socket_timeout=10)
        replica.config_set("repl-diskless-load", "disabled")
        replica.config_set("key-load-delay", 5000)
        replica.config_set("loading-process-events-interval-bytes", 1024)
        replica.replicaof("127.0.0.1", master_port)
        assert wait_until(lambda: replica.info("persistence")["loading"] == 1, 10)
        raw = RawClient(replica_port)
        seen = [raw("GET", "key:1"), raw("ROLE")[3], replica.info("replication")["master_link_status"]]
        assert wait_until(lambda: replica.info("replication")["master_link_status"] == "up", 20)
        master.set("after", "x")
        wait_for_sync(master, replica)
        return seen + [replica.dbsize(), replica.get("after"), replica.info("persistence")["loading"]]


def test_a_disk_based_sync_loads_in_steps_serving_clients_as_redis_server():
    """Redis's rdbLoad of the received file serves clients every loading-process-events-interval-bytes
    (-LOADING for most commands): kvserver steps the load as it does its start-up load."""
    redis_sees, kv_sees = measured_on_both(_disk_based_sync_loading)
    assert kv_sees == redis_sees
    assert kv_sees[0] == "LOADING Redis is loading the dataset in memory"
    assert kv_sees[3:] == [301, b"x", 0]


def _diskless_load(master_port: int, replica_port: int) -> list:
    """A replica loading a 20 MB diskless payload as it comes at 0.5 ms a key (key-load-delay):
    half a second in, whether its master's child still sends and the replica still loads; then
    whether it ends with the master's data."""
    master = redis.Redis(port=master_port, socket_timeout=10)
    master.config_set("repl-diskless-sync", "yes")
    master.config_set("repl-diskless-sync-delay", 0)
    master.config_set("rdbcompression", "no")  # DEBUG POPULATE's values are mostly padding
    master.execute_command("DEBUG", "POPULATE", 4000, "key", 5000)
    replica = redis.Redis(port=replica_port, socket_timeout=10)
    replica.config_set("repl-diskless-load", "swapdb")
    replica.config_set("key-load-delay", 500)
    replica.replicaof("127.0.0.1", master_port)
    assert wait_until(lambda: replica.info("persistence")["loading"] == 1, 10)
    time.sleep(0.5)
    midway = [master.info("persistence")["rdb_bgsave_in_progress"], replica.info("persistence")["loading"]]
    replica.config_set("key-load-delay", 0)
    wait_for_sync(master, replica)
    same_data(master, replica)
    return midway


@pytest.mark.parametrize("master_kind", ["kvserver", "redis-server"])
def test_a_diskless_load_reads_at_its_own_pace_holding_up_its_master(master_kind):
    """As Redis's replica parses the payload from the socket: a slow load (its master's child
    blocked on the socket meanwhile) rather than the whole payload read first."""
    master_server = kvserver(["--save", ""]) if master_kind == "kvserver" else redis_server_or_skip()
    with master_server as master_port, kvserver(["--save", ""]) as (replica_port, _):
        master_port = master_port[0] if isinstance(master_port, tuple) else master_port
        assert _diskless_load(master_port, replica_port) == [1, 1]


def _slow_and_fast(master_port: int, slow_port: int, fast_port: int) -> list:
    """Two replicas loading one diskless payload, one at 0.5 ms a key: half a second in, whether
    the fast one is still loading too (the transfer goes at the slowest one's pace)."""
    master = redis.Redis(port=master_port, socket_timeout=10)
    master.config_set("repl-diskless-sync", "yes")
    master.config_set("repl-diskless-sync-delay", 5)
    master.config_set("repl-diskless-sync-max-replicas", 2)  # one transfer for both
    master.config_set("rdbcompression", "no")
    master.execute_command("DEBUG", "POPULATE", 4000, "key", 5000)
    slow, fast = redis.Redis(port=slow_port, socket_timeout=10), redis.Redis(port=fast_port, socket_timeout=10)
    for replica in (slow, fast):
        replica.config_set("repl-diskless-load", "swapdb")
    slow.config_set("key-load-delay", 500)
    for replica in (slow, fast):
        replica.replicaof("127.0.0.1", master_port)
    assert wait_until(lambda: slow.info("persistence")["loading"] == 1, 10)
    time.sleep(0.5)
    midway = [fast.info("persistence")["loading"], master.info("persistence")["rdb_bgsave_in_progress"]]
    slow.config_set("key-load-delay", 0)
    for replica in (slow, fast):
        wait_for_sync(master, replica)
        replica.replicaof("no", "one")
    return midway


@pytest.mark.parametrize("master_kind", ["kvserver", "redis-server"])
def test_a_full_sync_goes_at_its_slowest_replicas_pace(master_kind):
    """As Redis's parent writes each piece of its child's payload to every replica before the next."""
    master_server = kvserver(["--save", ""]) if master_kind == "kvserver" else redis_server_or_skip()
    with master_server as master_port, kvserver(["--save", ""]) as (slow_port, _), \
            kvserver(["--save", ""]) as (fast_port, _):
        master_port = master_port[0] if isinstance(master_port, tuple) else master_port
        assert _slow_and_fast(master_port, slow_port, fast_port) == [1, 1]


def _delayed_full_sync(master_port: int, replica_ports: list[int]) -> list:
    """Two replicas ask for a full sync of a master delaying diskless transfers (3 s): what a
    raw PSYNC gets before the payload, the master's replica states meanwhile, then whether both
    are in sync after the delay and how many full syncs that took."""
    master = redis.Redis(port=master_port, socket_timeout=10)
    master.set("k", "v")
    raw = connect(master_port)
    raw.settimeout(5)
    raw.sendall(encode("REPLCONF", "capa", "eof", "capa", "psync2"))
    assert raw.recv(5) == b"+OK\r\n"
    raw.sendall(encode("PSYNC", "?", "-1"))
    seen = raw.recv(1)  # a keepalive newline a second while the transfer waits
    replicas = [redis.Redis(port=port, socket_timeout=10) for port in replica_ports]
    for replica in replicas:
        replica.replicaof("127.0.0.1", master_port)
    states = sorted(value["state"] for key, value in wait_for(lambda: master.info("replication"), 3).items()
                    if key.startswith("slave"))
    raw.close()
    for replica in replicas:
        wait_for_sync(master, replica)
    return [seen, states, [replica.get("k") for replica in replicas], master.info("stats")["sync_full"]]


def wait_for(read, slaves: int):
    """INFO replication once it lists ``slaves`` replicas."""
    assert wait_until(lambda: read()["connected_slaves"] == slaves)
    return read()


def test_a_master_delays_a_diskless_transfer_as_redis_server():
    extra = ["--repl-diskless-sync-delay", "3"]
    with redis_server_or_skip(extra) as redis_port, kvserver(["--save", "", *extra]) as (kv_port, _), \
            kvserver(["--save", ""]) as (first, _), kvserver(["--save", ""]) as (second, _):
        theirs = _delayed_full_sync(redis_port, [first, second])
        ours = _delayed_full_sync(kv_port, [first, second])
    assert theirs[1] == ["wait_bgsave"] * 3
    assert ours == theirs


def replies(port: int, requests: list[tuple], lines: int) -> list[bytes]:
    """The reply lines to pipelined requests, once ``lines`` of them came."""
    with contextlib.closing(connect(port)) as sock:
        sock.sendall(b"".join(encode(*request) for request in requests))
        data = b""
        while data.count(b"\r\n") < lines:
            data += sock.recv(65536)
        return data.split(b"\r\n")


def test_replicaof_replies_as_redis_server():
    requests = [("REPLICAOF", "127.0.0.1", "abc"), ("REPLICAOF", "127.0.0.1", "70000"), ("SLAVEOF", "no", "two"),
                ("REPLICAOF", "no", "one"), ("REPLICAOF", "a"), ("WAIT", "1", "-1"), ("WAIT", "x", "1"),
                ("REPLCONF", "nonsense", "1"), ("REPLCONF", "capa"), ("ROLE",), ("PSYNC", "a", "b")]
    with redis_server_or_skip() as redis_port, kvserver(["--save", ""]) as (kv_port, _):
        assert replies(kv_port, requests, 15) == replies(redis_port, requests, 15)


def _blocked_clients_when_demoted(port: int, master_port: int) -> list[tuple[bytes, bool]]:
    """What a client in BLPOP, one in WAIT and one in BLPOP with a request queued behind it
    get when the server is made a replica: the bytes, and whether the server closed."""
    waiting = [connect(port) for _ in range(3)]
    waiting[0].sendall(encode("BLPOP", "q", "0"))
    waiting[1].sendall(encode("WAIT", "1", "0"))
    waiting[2].sendall(encode("BLPOP", "q", "0") + encode("PING"))
    time.sleep(0.2)
    admin = connect(port)
    admin.sendall(encode("REPLICAOF", "127.0.0.1", str(master_port)))
    assert admin.recv(100) == b"+OK\r\n"
    seen = [read_until_eof(sock, 2.0) for sock in waiting]
    admin.sendall(encode("REPLICAOF", "NO", "ONE"))
    admin.recv(100)
    for sock in (*waiting, admin):
        sock.close()
    return seen


def test_a_master_made_replica_refuses_and_closes_its_blocked_clients():
    """As Redis's disconnectAllBlockedClients: -UNBLOCKED, then the connection closes."""
    with redis_server_or_skip() as redis_port, kvserver(["--save", ""]) as (kv_port, _):
        theirs = _blocked_clients_when_demoted(redis_port, kv_port)
        ours = _blocked_clients_when_demoted(kv_port, redis_port)
    assert theirs[0][0].startswith(b"-UNBLOCKED force unblock")
    assert ours == theirs


def test_writes_without_enough_replicas_as_redis_server():
    """min-replicas-to-write with no replica: writes, scripts that write and FUNCTION LOAD refused."""
    requests = [("SET", "a", "b"), ("GET", "a"), ("EVAL", "return redis.call('set','a','b')", "0"),
                ("EVAL", "return redis.pcall('set','a','b')", "0"), ("EVAL", "#!lua\nreturn redis.call('get','a')", "0"),
                ("EVAL", "return redis.call('get','a')", "0"), ("MULTI",), ("SET", "a", "b"), ("EXEC",),
                ("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)")]
    extra = ["--min-replicas-to-write", "1"]
    with redis_server_or_skip(extra) as redis_port, kvserver(["--save", "", *extra]) as (kv_port, _):
        assert replies(kv_port, requests, 10) == replies(redis_port, requests, 10)


def test_a_replica_connects_from_bind_source_addr():
    """As networking.tcl: the master sees the replica at the address it connected from."""
    with kvserver(["--save", "", "--protected-mode", "no"]) as (master_port, _), \
            kvserver(["--save", "", "--bind-source-addr", "127.0.0.2"]) as (replica_port, _):
        master = redis.Redis(port=master_port, socket_timeout=10)
        replica = redis.Redis(port=replica_port, socket_timeout=10)
        assert replica.execute_command("REPLICAOF", "127.0.0.1", master_port) == b"OK"
        wait_for_sync(master, replica)
        assert master.info("replication")["slave0"]["ip"] == "127.0.0.2"


def _rdb_dump(port: int, tmp_path, flag: str) -> tuple[dict, int]:
    """What redis-cli --rdb (or --functions-rdb) saves from a server with a key and a library."""
    import subprocess

    conn = redis.Redis(port=port, socket_timeout=10)
    conn.set("k", "v")
    conn.function_load("#!lua name=mylib\nredis.register_function('f', function() return 1 end)", replace=True)
    path = tmp_path / f"{port}.rdb"
    subprocess.run(["redis-cli", "-p", str(port), flag, str(path)], check=True, capture_output=True, timeout=30)
    parsed = rdb.parse(path.read_bytes())
    return {index: sorted(values) for index, (values, _) in parsed.databases.items()}, len(parsed.functions)


@pytest.mark.parametrize("flag", ["--rdb", "--functions-rdb"])
def test_redis_cli_dumps_an_rdb_as_from_redis_server(tmp_path, flag):
    """--functions-rdb asks for REPLCONF rdb-filter-only functions: the libraries without the keys."""
    with redis_server_or_skip() as redis_port, kvserver(["--save", ""]) as (kv_port, _):
        theirs, ours = _rdb_dump(redis_port, tmp_path, flag), _rdb_dump(kv_port, tmp_path, flag)
    assert theirs == (({} if flag == "--functions-rdb" else {0: [b"k"]}), 1)
    assert ours == theirs


def test_a_replica_logging_a_full_sync_comes_back_with_it(tmp_path):
    """With appendonly yes, a replica's full sync restarts its log through a rewrite (as Redis's
    restartAOFAfterSYNC): the old log does not hold the loaded data, the new base does."""
    with kvserver(["--save", ""]) as (master_port, _):
        with kvserver(["--save", "", "--appendonly", "yes"], cwd=str(tmp_path)) as (replica_port, _):
            master, replica = fill_and_follow(master_port, replica_port)
            assert wait_until(lambda: replica.info("persistence")["aof_rewrite_in_progress"] == 0, 10)
            master.set("after-sync", "x")
            wait_for_sync(master, replica)
            digest = replica.execute_command("DEBUG", "DIGEST")
            assert replica.info("persistence")["aof_rewrites"] == 1
        with kvserver(["--save", "", "--appendonly", "yes"], cwd=str(tmp_path)) as (restarted_port, _):
            restarted = redis.Redis(port=restarted_port, socket_timeout=10)
            assert restarted.get("after-sync") == b"x"
            assert restarted.execute_command("DEBUG", "DIGEST") == digest


def _backlog_while_a_sync_waits(master_port: int) -> tuple[int, int]:
    """repl_backlog_active before any replica, and while the first one waits out a diskless delay."""
    master = redis.Redis(port=master_port)
    master.config_set("repl-diskless-sync", "yes")
    master.config_set("repl-diskless-sync-delay", 5)
    before = master.info("replication")["repl_backlog_active"]
    with kvserver(["--save", ""]) as (replica_port, _):
        redis.Redis(port=replica_port).replicaof("127.0.0.1", master_port)
        assert wait_until(lambda: master.info("replication")["connected_slaves"] == 1)
        return before, master.info("replication")["repl_backlog_active"]


def test_the_backlog_is_made_at_the_first_sync_even_a_delayed_one_as_redis_server():
    theirs, ours = measured_on_both(_backlog_while_a_sync_waits)
    assert ours == theirs == (0, 1)


def _log_after_replicaof_no_one(kind: str, tmp_path) -> list[str]:
    """The lines a replica in sync logs when made a master, without times, ids and addresses."""
    log = str(tmp_path / f"{kind}.log")
    with contextlib.ExitStack() as stack:
        if kind == "redis-server":
            master_port = stack.enter_context(redis_server_or_skip())
            replica_port = stack.enter_context(redis_server_in_dir(str(tmp_path), ["--logfile", log]))
        else:
            master_port, _ = stack.enter_context(kvserver(["--save", ""]))
            replica_port, _ = stack.enter_context(kvserver(["--save", "", "--logfile", log]))
        replica = redis.Redis(port=replica_port)
        replica.replicaof("127.0.0.1", master_port)
        assert wait_until(lambda: replica.info("replication")["master_link_status"] == "up")
        replica.replicaof("no", "one")
        assert wait_until(lambda: "MASTER MODE enabled" in open(log).read())
        lines = open(log).read().splitlines()
    start = max(i for i, line in enumerate(lines) if "MASTER <-> REPLICA sync: Finished with success" in line
                or "Successful partial resynchronization" in line)
    return [re.sub(r"[0-9a-f]{40}", "<id>", line.split(" ", 5)[5]).split(" (user request from")[0]
            for line in lines[start + 1:]]


def test_a_replica_made_master_logs_as_redis_server(tmp_path):
    theirs = _log_after_replicaof_no_one("redis-server", tmp_path)
    assert _log_after_replicaof_no_one("kvserver", tmp_path) == theirs
    assert "# Connection with master lost." in theirs and "* Discarding previously cached master state." in theirs


_SYNC_LINES = ("asks for synchronization", "Partial resynchronization", "Full resync", "Starting BGSAVE for SYNC",
               "Background saving started", "Background RDB transfer started", "Diskless rdb transfer",
               "Streamed RDB transfer", "Synchronization with replica")


@contextlib.contextmanager
def _synced_pair(kind: str, workdir: str, master_options: list[str]):
    """A master (saving nothing by itself) in ``workdir`` and a replica in sync with it, both
    ``kind`` ("redis-server" or "kvserver"); yields (master, replica) clients."""
    with contextlib.ExitStack() as stack:
        if kind == "redis-server":
            master_port = stack.enter_context(redis_server_in_dir(workdir, master_options))
            replica_port = stack.enter_context(redis_server_or_skip())
        else:
            master_port, _ = stack.enter_context(kvserver(["--save", "", "--dir", workdir, *master_options]))
            replica_port, _ = stack.enter_context(kvserver(["--save", ""]))
        master, replica = redis.Redis(port=master_port), redis.Redis(port=replica_port)
        master.set("k", "v")
        replica.replicaof("127.0.0.1", master_port)
        assert wait_until(lambda: replica.info("replication")["master_link_status"] == "up")
        yield master, replica


def _master_log_of_a_sync(kind: str, diskless: str, tmp_path) -> list[str]:
    """The lines a master logs about a replica's full sync, without times, pids, ids and addresses."""
    log = str(tmp_path / f"{kind}-{diskless}.log")
    options = ["--logfile", log, "--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0"]
    with _synced_pair(kind, str(tmp_path), options):
        assert wait_until(lambda: "Synchronization with replica" in open(log).read())
        lines = open(log).read().splitlines()
    kept = [line.split(" ", 5)[5] for line in lines if any(text in line for text in _SYNC_LINES)]
    return [re.sub(r"127\.0\.0\.1:\d+|[0-9a-f]{40}|pid \d+", "<x>", line) for line in kept]


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_a_master_logs_a_full_sync_as_redis_server(diskless, tmp_path):
    theirs = _master_log_of_a_sync("redis-server", diskless, tmp_path)
    assert _master_log_of_a_sync("kvserver", diskless, tmp_path) == theirs
    assert any("Synchronization with replica" in line for line in theirs)


def _disk_sync_traces(kind: str, tmp_path) -> tuple:
    """A disk-based full sync of a master saving nothing by itself: what it leaves on disk and in INFO."""
    workdir = tmp_path / kind
    workdir.mkdir()
    with _synced_pair(kind, str(workdir), ["--repl-diskless-sync", "no"]) as (master, replica):
        assert replica.get("k") == b"v"
        fields = master.info("persistence")
        saved = rdb.parse((workdir / "dump.rdb").read_bytes())
        return ({index: sorted(values) for index, (values, _) in saved.databases.items()},
                fields["rdb_changes_since_last_save"], fields["rdb_saves"], fields["rdb_last_bgsave_status"])


def test_a_disk_based_sync_saves_dump_rdb_first_as_redis_server(tmp_path):
    theirs = _disk_sync_traces("redis-server", tmp_path)
    assert _disk_sync_traces("kvserver", tmp_path) == theirs
    assert theirs == ({0: [b"k"]}, 0, 1, "ok")
