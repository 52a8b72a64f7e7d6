"""RDB snapshots on a real kvserver: SAVE, BGSAVE and SHUTDOWN SAVE write ``dir/dbfilename``
(BGSAVE and BGREWRITEAOF from a forked child), a restart loads it, redis-server 7.0 and kvserver read each other's files, a
corrupt file stops the start with the offset where it went wrong, and a
failing background save refuses writes with -MISCONF instead of crashing.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import redis

from kvcore import errors
from tests.net.util import resp2, wait_until
from tests.servers import free_port, kvserver, redis_server_in_dir

NO_SCHEDULE = ["--save", ""]


@contextlib.contextmanager
def kvserver_in(path, *extra: str):
    """A kvserver whose dir is ``path``; yields a RESP2 client."""
    with kvserver(["--dir", str(path), *extra], cwd=str(path)) as (port, proc):
        client = resp2(port, socket_timeout=30)
        yield client, proc
        client.close()


def fill(client: redis.Redis) -> None:
    client.set("s", "hello")
    client.set("n", 12345)
    client.rpush("l", "a", "b", "c")
    client.hset("h", mapping={"f": "v", "g": "w"})
    client.sadd("set", 1, 2, 3)
    client.zadd("z", {"m": 1.5, "o": -2})
    client.set("ttl", "v", ex=10_000)
    client.select(3)
    client.set("in3", "x")
    client.select(0)


def assert_filled(client: redis.Redis) -> None:
    assert client.get("s") == b"hello" and client.get("n") == b"12345"
    assert client.lrange("l", 0, -1) == [b"a", b"b", b"c"]
    assert client.hgetall("h") == {b"f": b"v", b"g": b"w"}
    assert client.smembers("set") == {b"1", b"2", b"3"}
    assert client.zrange("z", 0, -1, withscores=True) == [(b"o", -2.0), (b"m", 1.5)]
    assert 9_000 < client.ttl("ttl") <= 10_000
    client.select(3)
    assert client.get("in3") == b"x"
    client.select(0)


def bgsave_done(client: redis.Redis) -> bool:
    return client.info("persistence")["rdb_bgsave_in_progress"] == 0


def test_save_then_restart_loads_the_data(tmp_path):
    with kvserver_in(tmp_path, *NO_SCHEDULE) as (client, proc):
        fill(client)
        before = client.lastsave()
        assert client.save()
        assert client.lastsave() >= before
        assert client.info("persistence")["rdb_changes_since_last_save"] == 0
        proc.terminate()
        assert proc.wait(10) == 0
    assert not list(tmp_path.glob("temp-*.rdb"))
    with kvserver_in(tmp_path, *NO_SCHEDULE) as (client, _):
        assert_filled(client)
        assert client.info("persistence")["rdb_last_load_keys_loaded"] == 8


def test_bgsave_writes_a_file_redis_server_loads(tmp_path):
    with kvserver_in(tmp_path, *NO_SCHEDULE) as (client, _):
        fill(client)
        assert client.bgsave()
        assert wait_until(lambda: bgsave_done(client))
        assert client.info("persistence")["rdb_last_bgsave_status"] == "ok"
    with redis_server_in_dir(str(tmp_path)) as port:
        assert_filled(resp2(port))


def test_a_dump_written_by_redis_server_loads_at_start(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed")
    with redis_server_in_dir(str(tmp_path)) as port:
        client = resp2(port)
        fill(client)
        assert client.save()
        client.close()
    with kvserver_in(tmp_path, *NO_SCHEDULE) as (client, _):
        assert_filled(client)


def test_shutdown_save_saves_before_exiting(tmp_path):
    with kvserver_in(tmp_path, *NO_SCHEDULE) as (client, proc):
        client.set("k", "v")
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown(save=True)
        assert proc.wait(10) == 0
    with kvserver_in(tmp_path, *NO_SCHEDULE) as (client, proc):
        assert client.get("k") == b"v"
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown(nosave=True)
        assert proc.wait(10) == 0


def test_a_corrupt_dump_refuses_to_start(tmp_path):
    with kvserver_in(tmp_path, *NO_SCHEDULE) as (client, _):
        fill(client)
        assert client.save()
    image = (tmp_path / "dump.rdb").read_bytes()
    (tmp_path / "dump.rdb").write_bytes(image[: len(image) // 2])
    done = subprocess.run([sys.executable, "-m", "net.main", "--port", "0", "--unixsocket", str(tmp_path / "s"),
                           "--dir", str(tmp_path)], capture_output=True, text=True, timeout=30, cwd=str(tmp_path))
    assert done.returncode == 1
    assert "# Short read or OOM loading DB. Unrecoverable error, aborting now." in done.stdout
    assert "Internal error in RDB reading offset " in done.stdout
    assert "Ready to accept connections" not in done.stdout


def test_a_failing_bgsave_refuses_writes_and_keeps_serving(tmp_path):
    missing = tmp_path / "gone"
    missing.mkdir()
    with kvserver_in(missing, "--save", "3600 1") as (client, proc):
        os.rmdir(missing)  # the temp file cannot be created any more
        client.set("k", "v")
        assert client.bgsave()
        assert wait_until(lambda: bgsave_done(client))
        assert client.info("persistence")["rdb_last_bgsave_status"] == "err"
        with pytest.raises(redis.ResponseError) as refused:
            client.set("k", "w")
        assert str(refused.value) == errors.MISCONF
        assert client.get("k") == b"v"
        with pytest.raises(redis.ResponseError, match="^$"):
            client.save()  # a bare -ERR, as redis-server
        with pytest.raises(redis.ResponseError, match="Errors trying to SHUTDOWN"):
            client.shutdown()  # the final save fails too: the server keeps running
        assert client.get("k") == b"v"
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown(nosave=True)
        assert proc.wait(10) == 0


def child_pid(log_path, started: str) -> int | None:
    """The pid in the log's "<started> by pid N" line, once it is there."""
    if not log_path.exists():
        return None
    found = re.findall(re.escape(started) + r" by pid (\d+)", log_path.read_text())
    return int(found[-1]) if found else None


def test_bgsave_forks_a_child_that_saves_the_instant_it_started(tmp_path):
    log = tmp_path / "server.log"
    with kvserver_in(tmp_path, *NO_SCHEDULE, "--logfile", str(log)) as (client, proc):
        client.execute_command("DEBUG", "POPULATE", 20_000)
        pipe = client.pipeline(transaction=False)  # one write: the server reads it in one go
        pipe.set("k", "before").bgsave().set("k", "after").delete("key:0").set("new", "x")
        assert pipe.execute() == [True, True, True, 1, True]
        assert wait_until(lambda: bgsave_done(client))
        assert client.info("persistence")["rdb_last_bgsave_status"] == "ok"
        pid = child_pid(log, "Background saving started")
        assert pid is not None and pid != proc.pid
        stats = client.info("stats")
        assert stats["total_forks"] == 1 and stats["latest_fork_usec"] > 0
        assert client.get("k") == b"after"
    with kvserver_in(tmp_path, *NO_SCHEDULE) as (client, _):
        assert client.get("k") == b"before"
        assert client.exists("key:0", "new") == 1
        assert client.dbsize() == 20_001


def test_a_killed_child_fails_the_save_leaves_no_temp_file_and_the_server_serves_on(tmp_path):
    log = tmp_path / "server.log"
    slow = ["--rdb-key-save-delay", "1000000"]  # a second per key: the child is still there when killed
    with kvserver_in(tmp_path, "--save", "3600 1", "--logfile", str(log), *slow) as (client, proc):
        client.mset({"a": 1, "b": 2})
        assert client.bgsave()
        assert wait_until(lambda: list(tmp_path.glob("temp-*.rdb")))  # written, not renamed yet
        child = child_pid(log, "Background saving started")
        assert (tmp_path / f"temp-{child}.rdb").exists()  # the child's own, named by its pid as Redis names it
        os.kill(child, signal.SIGKILL)
        assert wait_until(lambda: bgsave_done(client))
        assert client.info("persistence")["rdb_last_bgsave_status"] == "err"
        with pytest.raises(redis.ResponseError) as refused:
            client.set("a", 3)  # stop-writes-on-bgsave-error, as after any failed save
        assert str(refused.value) == errors.MISCONF
        assert client.get("a") == b"1"
        assert not list(tmp_path.glob("temp-*.rdb")) and not (tmp_path / "dump.rdb").exists()
        assert "terminated by signal 9" in log.read_text()
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown(nosave=True)
        assert proc.wait(10) == 0


def test_bgrewriteaof_forks_and_the_base_size_is_what_the_child_wrote(tmp_path):
    log = tmp_path / "server.log"
    with kvserver_in(tmp_path, *NO_SCHEDULE, "--appendonly", "yes", "--logfile", str(log)) as (client, proc):
        client.execute_command("DEBUG", "POPULATE", 5_000)
        assert client.bgrewriteaof()
        assert wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0)
        fields = client.info("persistence")
        assert fields["aof_last_bgrewrite_status"] == "ok"
        pid = child_pid(log, "Background append only file rewriting started")
        assert pid is not None and pid != proc.pid
        bases = list((tmp_path / "appendonlydir").glob("*.base.rdb"))
        assert len(bases) == 1 and fields["aof_base_size"] == bases[0].stat().st_size


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie waiting for its reaper does not)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_child_dies_with_a_killed_server_and_renames_nothing(tmp_path):
    log = tmp_path / "server.log"
    slow = ["--rdb-key-save-delay", "1000000"]
    with kvserver_in(tmp_path, *NO_SCHEDULE, "--logfile", str(log), *slow) as (client, proc):
        client.mset({"a": 1, "b": 2})
        assert client.bgsave()
        assert wait_until(lambda: list(tmp_path.glob("temp-*.rdb")))
        pid = child_pid(log, "Background saving started")
        proc.kill()
        proc.wait(10)
        assert wait_until(lambda: not alive(pid))
        assert not (tmp_path / "dump.rdb").exists()


def test_shutdown_stops_a_slow_bgsave_child_and_saves_in_the_foreground(tmp_path):
    log = tmp_path / "server.log"
    slow = ["--rdb-key-save-delay", "10000000"]  # ten seconds a key: only a kill ends it soon
    with kvserver_in(tmp_path, "--save", "3600 1", "--logfile", str(log), *slow) as (client, proc):
        client.mset({"a": 1, "b": 2})
        assert client.bgsave()
        assert wait_until(lambda: child_pid(log, "Background saving started") is not None)
        pid = child_pid(log, "Background saving started")
        client.set("c", 3)  # after the child's image: only the final save has it
        client.config_set("rdb-key-save-delay", 0)  # the final save would sleep too, as Redis's does
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown()
        assert proc.wait(10) == 0
        assert not alive(pid)
    assert not list(tmp_path.glob("temp-*.rdb"))
    with kvserver_in(tmp_path, *NO_SCHEDULE) as (client, _):
        assert client.mget("a", "b", "c") == [b"1", b"2", b"3"]


def test_shutdown_nosave_removes_a_running_childs_temp_file_before_the_port_closes(tmp_path):
    log = tmp_path / "server.log"
    slow = ["--rdb-key-save-delay", "10000000"]
    with kvserver_in(tmp_path, *NO_SCHEDULE, "--logfile", str(log), *slow) as (client, proc):
        client.mset({"a": 1, "b": 2})
        assert client.bgsave()
        assert wait_until(lambda: child_pid(log, "Background saving started") is not None)
        temp = tmp_path / f"temp-{child_pid(log, 'Background saving started')}.rdb"
        assert wait_until(lambda: temp.exists())
        port = client.connection_pool.connection_kwargs["port"]
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown(nosave=True)
        assert wait_until(lambda: not _accepts(port), timeout_s=10, interval_s=0.0005)
        assert not temp.exists()  # as Redis: gone before the server stops answering (unit/shutdown.tcl)
        assert proc.wait(10) == 0


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def test_a_client_closed_during_a_bgsave_sees_the_end_at_once(tmp_path):
    """The child does not keep the server's sockets open."""
    slow = ["--rdb-key-save-delay", "10000000"]
    with kvserver_in(tmp_path, *NO_SCHEDULE, *slow) as (client, _):
        client.set("k", "v")
        leaving = socket.create_connection(("127.0.0.1", client.connection_pool.connection_kwargs["port"]))
        assert client.bgsave()
        assert wait_until(lambda: list(tmp_path.glob("temp-*.rdb")))  # the child is running
        leaving.sendall(b"QUIT\r\n")
        leaving.settimeout(5)
        assert leaving.recv(100) == b"+OK\r\n"
        assert leaving.recv(100) == b""  # the end, while the child still runs
        leaving.close()
        assert client.info("persistence")["rdb_bgsave_in_progress"] == 1


def test_a_client_connecting_during_the_load_is_answered_loading_then_served(tmp_path):
    """The port is bound before the dataset loads and clients are served meanwhile, as by
    redis-server (Redis's test harness connects as soon as the pid is printed)."""
    keys = 500_000
    with kvserver_in(tmp_path, *NO_SCHEDULE) as (client, _):
        client.execute_command("DEBUG", "POPULATE", keys)
        assert client.save()
    with loading_server(tmp_path, "again.log") as (port, _, still_loading):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(b"DBSIZE\r\n")
        assert sock.recv(100) == b"-%s\r\n" % errors.LOADING.encode()
        assert still_loading  # the connection was made while the load ran
        assert wait_until(lambda: resp2(port).dbsize() == keys if b"loading:0" in _info(port) else False, 60)
        sock.close()
    pidfile = tmp_path / "kv.pid"
    with loading_server(tmp_path, "third.log", "--pidfile", str(pidfile)) as (_, proc, still_loading):
        proc.terminate()  # SIGTERM during the load: an exit without saving, as redis-server
        assert proc.wait(30) == 0 and still_loading
    assert not pidfile.exists()


def _info(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"INFO persistence\r\n")
        return sock.recv(4096)


@contextlib.contextmanager
def loading_server(workdir, log_name: str, *extra: str):
    """A kvserver started on ``workdir``'s dump, yielded as soon as it printed its pid:
    (port, process, whether it was still loading then)."""
    port, log = free_port(), workdir / log_name
    args = [sys.executable, "-m", "net.main", "--port", str(port), "--dir", str(workdir), "--save", "",
            "--logfile", str(log), "--always-show-logo", "yes", *extra]
    proc = subprocess.Popen(args, cwd=str(workdir))
    try:
        assert wait_until(lambda: log.exists() and " PID: " in log.read_text(), timeout_s=30, interval_s=0.005)
        yield port, proc, "DB loaded from disk" not in log.read_text()
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(10)


def test_killing_a_rewrite_child_and_a_failed_final_save_are_logged_as_redis_logs_them(tmp_path):
    """Redis's aofrw.tcl waits for "Killing*AOF*child", shutdown.tcl for "Error trying to save the DB, can't exit"."""
    log = tmp_path / "server.log"
    slow = ["--rdb-key-save-delay", "10000000"]
    missing = tmp_path / "gone"
    missing.mkdir()
    with kvserver_in(missing, "--save", "3600 1", "--logfile", str(log), *slow) as (client, proc):
        client.set("k", "v")
        assert client.bgrewriteaof()
        assert wait_until(lambda: child_pid(log, "Background append only file rewriting started") is not None)
        client.config_set("appendonly", "yes")  # stops the rewrite that does not log, starts one that does
        assert wait_until(lambda: re.search(r"Killing running AOF rewrite child: \d+", log.read_text()))
        client.config_set("appendonly", "no")
        shutil.rmtree(missing)  # the final save cannot be written
        with pytest.raises(redis.ResponseError, match="Errors trying to SHUTDOWN"):
            client.shutdown()
        assert "Error trying to save the DB, can't exit." in log.read_text()
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown(nosave=True)
        assert proc.wait(10) == 0


def test_a_second_sigint_during_the_final_save_exits_at_once_without_its_temp_file(tmp_path):
    """Redis's shutdown.tcl: a SIGINT while the shutdown's save runs (slowed by rdb-key-save-delay,
    which the foreground save obeys too) ends the process, temp file removed ("You insist")."""
    log = tmp_path / "server.log"
    with kvserver_in(tmp_path, "--save", "3600 1", "--logfile", str(log)) as (client, proc):
        client.mset({str(i): i for i in range(20)})
        client.config_set("rdb-key-save-delay", 100_000)  # two seconds for the twenty keys
        proc.send_signal(signal.SIGINT)
        temp = tmp_path / f"temp-{proc.pid}.rdb"
        assert wait_until(temp.exists, 5, 0.01)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(5) == 1
    assert not temp.exists() and not (tmp_path / "dump.rdb").exists()
    text = log.read_text()
    assert text.index("Saving the final RDB snapshot before exiting.") < text.index("You insist... exiting now.")


def _child_progress_seen(port: int) -> tuple[bool, bool, bool]:
    """A two-second BGSAVE (at least), writes meanwhile: whether INFO showed the child's share of keys
    saved and its copy-on-write while it ran, and its copy-on-write after."""
    client = redis.Redis(port=port)
    client.execute_command("DEBUG", "POPULATE", 5000, "key", 500)
    client.config_set("rdb-key-save-delay", 400)
    client.bgsave()
    progress = cow = False
    while client.info("persistence")["rdb_bgsave_in_progress"]:
        fields = client.info("persistence")
        progress |= fields["current_fork_perc"] > 0 and 0 < fields["current_save_keys_processed"] < 5000
        cow |= fields["current_cow_size"] > 0
        client.setrange("key:1", 0, "B" * 500)
        time.sleep(0.2)
    return progress, cow, client.info("persistence")["rdb_last_cow_size"] > 0


def test_info_shows_the_child_s_progress_as_redis_server(tmp_path):
    with redis_server_in_dir(str(tmp_path)) as port:
        theirs = _child_progress_seen(port)
    with kvserver(["--save", ""]) as (port, _):
        assert _child_progress_seen(port) == theirs == (True, True, True)
