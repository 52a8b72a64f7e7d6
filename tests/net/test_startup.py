"""Starting and stopping kvserver: options, config files, the log, signals, listeners."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import redis

from tests.net.util import connect, read_exactly, read_until_eof, resp2, skip_if_missing, wait_until
from tests.servers import free_port, kvserver, running

LOG_LINE = re.compile(r"^\d+:[CM] \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} [.\-*#] .+$")


def start_fails(args: list[str], cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "net.main", *args], capture_output=True, text=True,
                          timeout=30, cwd=cwd)


def redis_start_fails(args: list[str], cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run([shutil.which("redis-server"), *args], capture_output=True, text=True, timeout=30, cwd=cwd)


@pytest.mark.parametrize("args", [
    ["--port", "0", "--foo", "bar"],
    ["--port", "abc"],
    ["--databases", "0"],
    ["--save", "60"],
    ["--protected-mode", "maybe"],
])
def test_bad_option_exits_1_with_redis_message(args, tmp_path):
    done = start_fails(args, str(tmp_path))
    assert done.returncode == 1
    assert "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***" in done.stderr
    if shutil.which("redis-server"):
        assert done.stderr.strip() == redis_start_fails(args, str(tmp_path)).stderr.strip()


def test_bad_line_in_config_file(tmp_path):
    conf = tmp_path / "kv.conf"
    conf.write_text("port 0\n# comment\nhz lots\n")
    done = start_fails([str(conf)], str(tmp_path))
    assert done.returncode == 1
    assert "Reading the configuration file, at line 3\n>>> 'hz lots'\n" in done.stderr


def test_config_file_then_command_line(tmp_path):
    port = free_port()
    conf = tmp_path / "kv.conf"
    conf.write_text('# test\nport 1\ndatabases 4\nlogfile "kv.log"\nloglevel verbose\nbind 127.0.0.1\n')
    args = [sys.executable, "-m", "net.main", str(conf), "--port", str(port)]
    with running(args, port, cwd=str(tmp_path)):
        client = resp2(port)
        assert client.select(3)
        with pytest.raises(redis.ResponseError, match="DB index is out of range"):
            client.select(4)
        client.close()
    log = (tmp_path / "kv.log").read_text()
    assert "Configuration loaded" in log
    assert re.search(r" - Event loop: (uvloop|asyncio)", log)


def test_log_format_and_sigterm_shutdown(tmp_path):
    with kvserver(["--logfile", str(tmp_path / "kv.log")]) as (port, proc):
        assert resp2(port).ping()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    lines = (tmp_path / "kv.log").read_text().splitlines()
    assert lines and all(LOG_LINE.match(line) for line in lines), lines
    text = "\n".join(lines)
    assert f"pid={proc.pid}" in text
    assert f"port={port}" in text
    assert lines[0].startswith(f"{proc.pid}:C ")
    assert "* Ready to accept connections" in text
    assert "# Received SIGTERM scheduling shutdown..." in text
    assert lines[-1].endswith("ready to exit, bye bye...")


def test_always_show_logo_shows_the_pid_where_redis_test_harnesses_look_for_it(tmp_path):
    """Redis's Tcl harness waits for " PID: <pid>" in the server's output (its logo)."""
    with kvserver(["--logfile", str(tmp_path / "kv.log"), "--always-show-logo", "yes"]) as (port, proc):
        assert resp2(port).ping()
    text = (tmp_path / "kv.log").read_text()
    assert f" PID: {proc.pid}\n" in text and f" Port: {port}\n" in text
    assert "Running mode=standalone" not in text


def test_sigint_shutdown_exits_0():
    with kvserver() as (port, proc):
        assert resp2(port).ping()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0


def test_shutdown_closes_clients():
    with kvserver() as (port, proc):
        client = resp2(port=port, socket_timeout=5)
        client.ping()
        proc.terminate()
        assert proc.wait(10) == 0
        with pytest.raises(redis.ConnectionError):
            client.ping()


def test_port_0_without_unixsocket_does_not_start(tmp_path):
    done = start_fails(["--port", "0"], str(tmp_path))
    assert done.returncode == 1
    assert "Configured to not listen anywhere, exiting." in done.stdout


def test_unix_socket(tmp_path):
    path = str(tmp_path / "kv.sock")
    with kvserver(["--unixsocket", path]) as (port, _):
        client = resp2(unix_socket_path=path)
        assert client.set("via-unix", "1")
        assert resp2(port).get("via-unix") == b"1"
        client.close()


def outside_address() -> str | None:
    """An address of this machine other than loopback, if it has one (what a remote client reaches)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def first_reply(host: str, port: int) -> bytes:
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"PING\r\n")
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def test_by_default_kvserver_listens_everywhere_and_protected_mode_refuses_outside_clients():
    address = outside_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    with kvserver() as (port, _), redis_server_default_bind() as redis_port:
        assert resp2(port).config_get("bind") == {"bind": "* -::*"}
        denied = first_reply(address, port)
        assert denied.startswith(b"-DENIED Redis is running in protected mode")
        assert denied == first_reply(address, redis_port)
        assert first_reply("127.0.0.1", port) == b"+PONG\r\n"
        assert resp2(port).info("stats")["rejected_connections"] == 1


@contextlib.contextmanager
def redis_server_default_bind():
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed")
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir, \
            running([binary, "--port", str(port), "--save", "", "--dir", workdir], port):
        yield port


def test_config_set_port_and_bind_listen_anew_or_keep_listening_where_they_did():
    with kvserver() as (port, _), redis_server_default_bind() as redis_port:
        for server_port in (port, redis_port):
            moved = free_port()
            assert resp2(server_port).config_set("port", moved)
            assert resp2(moved).ping()
            client = resp2(moved)
            answers = []
            for name, value in (("port", str(redis_port if server_port == port else port)), ("bind", "192.0.2.9")):
                with pytest.raises(redis.ResponseError) as refused:
                    client.config_set(name, value)
                answers.append(str(refused.value))
            assert client.ping() and client.config_get("port") == {"port": str(moved)}
            assert client.config_get("bind") == {"bind": "* -::*"}
            assert answers == [
                "CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. "
                "Check server logs.",
                "CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses."]
            assert client.config_set("bind", "127.0.0.1")  # overlapping the old addresses on the same port
            assert resp2(moved).ping()
            client.config_set("port", server_port)  # back, so that the fixtures stop them


def test_several_bind_addresses():
    with kvserver(["--bind", "127.0.0.1", "127.0.0.2"]) as (port, _):
        for host in ("127.0.0.1", "127.0.0.2"):
            assert resp2(host=host, port=port).ping()


def test_optional_bind_address_may_fail():
    with kvserver(["--bind", "127.0.0.1", "-192.0.2.1"]) as (port, proc):
        assert resp2(port).ping()
        assert proc.poll() is None


def test_busy_port_fails(tmp_path):
    with kvserver() as (port, _):
        done = start_fails(["--port", str(port)], str(tmp_path))
    assert done.returncode == 1
    assert "Could not create server TCP listening socket" in done.stdout


def test_pidfile(tmp_path):
    pidfile = tmp_path / "kv.pid"
    with kvserver(["--pidfile", str(pidfile)]) as (_, proc):
        assert wait_until(pidfile.exists, 5)  # written just after the port is bound, as Redis's: a client may be faster
        assert pidfile.read_text().strip() == str(proc.pid)
        proc.terminate()
        proc.wait(10)
    assert not pidfile.exists()


def test_version_flag(tmp_path):
    done = start_fails(["--version"], str(tmp_path))
    assert done.returncode == 0
    assert "v=7.0.15" in done.stdout


def test_idle_timeout_closes_clients():
    with kvserver(["--timeout", "1", "--hz", "50"]) as (port, _):
        with contextlib.closing(connect(port)) as sock:
            sock.sendall(b"PING\r\n")
            assert read_exactly(sock, 7) == b"+PONG\r\n"
            started = time.monotonic()
            assert read_until_eof(sock, timeout_s=5) == (b"", True)
            assert time.monotonic() - started > 0.5


def test_maxclients_is_refused_with_redis_error():
    with kvserver(["--maxclients", "2"]) as (port, _):
        first, second = resp2(port), resp2(port)
        assert first.ping() and second.ping()
        third = resp2(port)
        with pytest.raises(redis.ConnectionError, match="max number of clients reached"):
            third.ping()
        first.close()
        assert wait_until(lambda: _ping_ok(port))


def _ping_ok(port: int) -> bool:
    try:
        return resp2(port).ping()
    except redis.RedisError:
        return False


def test_shutdown_command_stops_the_server(tmp_path):
    with kvserver(["--logfile", str(tmp_path / "kv.log")]) as (port, proc):
        client = resp2(port)
        skip_if_missing(client, "COMMAND", "INFO", "SHUTDOWN")
        with contextlib.suppress(redis.ConnectionError):
            client.execute_command("SHUTDOWN", "NOSAVE")
        assert proc.wait(10) == 0
    assert "ready to exit, bye bye" in (tmp_path / "kv.log").read_text()


def test_config_rewrite_edits_the_file(tmp_path):
    port = free_port()
    conf = tmp_path / "kv.conf"
    conf.write_text("# kept comment\nport 1\nhz 20\nmaxclients 100\n")
    args = [sys.executable, "-m", "net.main", str(conf), "--port", str(port)]
    with running(args, port, cwd=str(tmp_path)):
        client = resp2(port)
        skip_if_missing(client, "CONFIG", "GET", "hz")
        assert client.config_set("maxclients", "77")
        assert client.config_set("hz", "10")  # back to its default
        assert client.execute_command("CONFIG", "REWRITE")
        client.close()
        text = conf.read_text()
    lines = text.splitlines()
    assert lines[0] == "# kept comment"
    assert "maxclients 77" in lines
    assert f"port {port}" in lines
    assert "hz 10" in lines and "hz 20" not in lines


def test_config_set_loglevel_and_dir_reach_the_runtime(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    with kvserver(["--logfile", str(tmp_path / "kv.log"), "--enable-protected-configs", "yes"]) as (port, proc):
        client = resp2(port)
        skip_if_missing(client, "CONFIG", "GET", "dir")
        assert client.config_set("loglevel", "warning")
        assert client.config_get("dir") == {"dir": os.readlink(f"/proc/{proc.pid}/cwd")}  # absolute: getcwd()
        assert client.config_set("dir", str(other))
        assert os.readlink(f"/proc/{proc.pid}/cwd") == str(other)
        assert client.config_get("dir") == {"dir": str(other)}
        proc.terminate()
        assert proc.wait(10) == 0
    text = (tmp_path / "kv.log").read_text()
    assert "Received SIGTERM" in text  # a warning: still logged
    assert "* " not in text.split("Received SIGTERM")[1]  # notices no longer are


def test_snapshots_are_written_in_dir(tmp_path):
    with kvserver(["--dir", str(tmp_path), "--save", "3600 1", "--dbfilename", "snap.rdb"]) as (port, proc):
        client = resp2(port)
        skip_if_missing(client, "LASTSAVE")
        client.set("k", "v")
        assert client.bgsave()
        assert wait_until(lambda: (tmp_path / "snap.rdb").exists())
        # the file is renamed before the server hears the child is done: SAVE would be refused till then
        assert wait_until(lambda: client.info("persistence")["rdb_bgsave_in_progress"] == 0)
        first = (tmp_path / "snap.rdb").read_bytes()
        assert first.startswith(b"REDIS")
        client.set("k2", "v2")
        assert client.save()
        assert (tmp_path / "snap.rdb").read_bytes() != first
        client.set("k3", "v3")
        proc.terminate()  # a save is due: SIGTERM saves first, as Redis does
        assert proc.wait(20) == 0
    assert b"k3" in (tmp_path / "snap.rdb").read_bytes()
    assert not list(tmp_path.glob("temp-*.rdb"))


def test_failed_snapshot_is_reported(tmp_path):
    with kvserver(["--dir", str(tmp_path), "--save", "", "--dbfilename", "no/such/dir/x.rdb"]) as (port, _):
        client = resp2(port)
        skip_if_missing(client, "LASTSAVE")
        with pytest.raises(redis.ResponseError):
            client.save()
        assert client.ping()


@pytest.mark.parametrize("fsync", ["always", "everysec", "no"])
def test_append_only_log_is_written_before_the_reply(tmp_path, fsync):
    with kvserver(["--dir", str(tmp_path), "--save", "", "--appendonly", "yes", "--appendfsync", fsync]) as (port, _):
        client = resp2(port)
        assert client.set("logged", "value")
        assert client.incr("logged-counter") == 1
        log = (tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof").read_bytes()  # before the replies
        assert b"$6\r\nlogged\r\n$5\r\nvalue\r\n" in log
        assert b"$4\r\nINCR\r\n$14\r\nlogged-counter\r\n" in log or b"logged-counter" in log
        assert client.get("logged") == b"value"


# -- redis-server 7.0's command-line rules (cases of Redis's "redis-server command line arguments" tests) ----

COMMAND_LINE_FAILURES = [
    ["--port"],
    ["--port", "6380", "--loglevel"],
    ["--port", "6379", "6380"],
    ["--port", "--loglevel", "verbose"],
    ["--port", "--bla", "--loglevel", "verbose"],
    ["--logfile", "--my--log--file", "--loglevel", "--bla"],
    ["--shutdown-on-sigint"],
    ["--shutdown-on-sigint", "now force", "--shutdown-on-sigterm"],
    ["--shutdown-on-sigint", "save nosave"],
    ["--replicaof", "127.0.0.1", "abc"],
    ["--replicaof", "--127.0.0.1", "abc"],
    ["--replicaof", "--127.0.0.1", "--abc"],
    ["--rename-command", "get"],
    ["--rename-command", "nosuch", "x"],
    ["--rename-command", "get", "set"],
    ["--maxmemory-clients", "200%"],
    ["--loading-process-events-interval-bytes", "10"],
    ["--enable-protected-configs", "maybe"],
    ["--port 1", "2"],
]


@pytest.mark.parametrize("args", COMMAND_LINE_FAILURES)
def test_command_line_errors_are_redis_servers(args, tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server not installed")
    conf = tmp_path / "base.conf"
    conf.write_text('port 0\nsave ""\n')
    done = start_fails([str(conf), *args], str(tmp_path))
    assert done.returncode == 1
    assert "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***" in done.stderr
    assert done.stderr.strip() == redis_start_fails([str(conf), *args], str(tmp_path)).stderr.strip()


COMMAND_LINE_STARTS = [
    ["--maxmemory 700mb", "--maxmemory-policy volatile-lru"],
    ["loglevel", "verbose", "--maxmemory '700mb'", "--maxmemory-policy 'volatile-lru'"],
    ["--proc-title-template", "--my--title--template", "--loglevel", "verbose"],
    ["--proc-title-template --my--title--template", "--loglevel verbose"],
    ["--save", "--loglevel", "verbose"],
    ["--loglevel", "verbose", "--save"],
    ["--proc-title-template", "--save", "--save", "", "--loglevel", "verbose"],
    ["--save", "100 1  200 2", "--save", "300", "3"],
    ["--shutdown-on-sigint", "nosave", "force", "now", "--shutdown-on-sigterm", "nosave force"],
    ["--maxmemory-clients", "5%", "--key-load-delay", "50", "--watchdog-period", "300"],
    ["--lua-time-limit", "100", "--list-max-ziplist-entries", "5"],
]
STARTED_OPTIONS = ["proc-title-template", "loglevel", "maxmemory", "maxmemory-policy", "save", "shutdown-on-sigint",
                   "shutdown-on-sigterm", "maxmemory-clients", "key-load-delay", "watchdog-period",
                   "busy-reply-threshold"]


def _options_after_start(binary: list[str], args: list[str], tmp_path) -> dict:
    port = free_port()
    conf = tmp_path / f"{port}.conf"
    conf.write_text(f'port {port}\nsave ""\n')
    with running([*binary, str(conf), *args], port, cwd=str(tmp_path)):
        client = resp2(port)
        values = {name: client.config_get(name)[name] for name in STARTED_OPTIONS}
        client.close()
    return values


@pytest.mark.parametrize("args", COMMAND_LINE_STARTS)
def test_command_line_options_start_as_redis_server(args, tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server not installed")
    ours = _options_after_start([sys.executable, "-m", "net.main"], args, tmp_path)
    assert ours == _options_after_start([shutil.which("redis-server")], args, tmp_path)


def test_rename_command_survives_config_rewrite(tmp_path):
    port = free_port()
    conf = tmp_path / "kv.conf"
    conf.write_text(f'port {port}\nrename-command flushdb badger\nrename-command get ""\n')
    args = [sys.executable, "-m", "net.main", str(conf)]
    for _ in range(2):  # before and after CONFIG REWRITE and a restart
        with running(args, port, cwd=str(tmp_path)):
            client = resp2(port)
            with pytest.raises(redis.ResponseError, match="(?i)unknown command 'flushdb'"):
                client.flushdb()
            with pytest.raises(redis.ResponseError, match="(?i)unknown command 'get'"):
                client.get("k")
            assert client.execute_command("badger") == b"OK"
            assert client.config_set("hash-max-ziplist-entries", "100")
            assert client.execute_command("CONFIG", "REWRITE")
            client.close()
    assert "rename-command flushdb badger" in conf.read_text().splitlines()


def test_config_rewrite_of_an_alias_survives_a_restart(tmp_path):
    port = free_port()
    conf = tmp_path / "kv.conf"
    conf.write_text(f"port {port}\nhash-max-ziplist-entries 20\nhash-max-listpack-entries 21\n")
    args = [sys.executable, "-m", "net.main", str(conf)]
    with running(args, port, cwd=str(tmp_path)):
        client = resp2(port)
        assert client.config_get("hash-max-ziplist-entries") == {"hash-max-ziplist-entries": "21"}
        assert client.config_set("hash-max-listpack-entries", "100")
        assert client.execute_command("CONFIG", "REWRITE")
        client.close()
    with running(args, port, cwd=str(tmp_path)):
        client = resp2(port)
        assert client.config_get("hash-max-listpack-entries") == {"hash-max-listpack-entries": "100"}
        client.close()


def test_protected_configs_refused_unless_enabled(tmp_path):
    refused = "CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
    with kvserver(["--enable-debug-command", "no"]) as (port, _):
        client = resp2(port)
        with pytest.raises(redis.ResponseError, match=re.escape(refused)):
            client.config_set("dir", str(tmp_path))
        with pytest.raises(redis.ResponseError, match="DEBUG command not allowed"):
            client.execute_command("DEBUG", "HELP")
    with kvserver(["--enable-protected-configs", "local"]) as (port, _):
        assert resp2(port).config_set("dir", str(tmp_path))


def test_process_title_follows_the_template():
    with kvserver(["--bind", "127.0.0.1"]) as (port, proc):
        cmdline = f"/proc/{proc.pid}/cmdline"
        assert wait_until(lambda: open(cmdline, "rb").read().split(b"\0")[0].endswith(b"127.0.0.1:%d" % port), 5)
        client = resp2(port)
        client.config_set("proc-title-template", "TEST {title} {listen-addr} {port} {tls-port}")
        title = open(cmdline, "rb").read().split(b"\0")[0].decode()
        assert title.split() == ["TEST", sys.executable, f"127.0.0.1:{port}", str(port), "0"]
        with pytest.raises(redis.ResponseError, match="template format is invalid or contains unknown variables"):
            client.config_set("proc-title-template", "{invalid-var}")
