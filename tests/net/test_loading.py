"""A real kvserver loading its dump serves clients meanwhile, as redis-server 7.0 does: -LOADING
for most commands, INFO's progress, CONFIG SET dir refused, then the data (kvcore.loading)."""

from __future__ import annotations

import signal
import time

import hiredis

from tests.net.test_snapshots import kvserver_in
from tests.net.util import connect, encode, resp2, wait_until
from tests.servers import kvserver, redis_server_in_dir, redis_server_or_skip

KEYS = 10_000
SLOW_LOAD = ["--key-load-delay", "200", "--loading-process-events-interval-bytes", "1024"]  # 2 s for the keys
LOADING = "LOADING Redis is loading the dataset in memory"


def write_dump(path) -> bytes:
    with kvserver_in(path, "--save", "", "--rdbcompression", "no") as (client, _):
        client.execute_command("DEBUG", "POPULATE", KEYS, "key", 100)
        client.save()
    return (path / "dump.rdb").read_bytes()


class RawClient:
    """Replies as they are (redis-py turns -LOADING into a connection error)."""

    def __init__(self, port: int) -> None:
        self.sock = connect(port, 30)
        self.reader = hiredis.Reader()

    def __call__(self, *command):
        self.sock.sendall(encode(*command))
        while (reply := self.reader.gets()) is False:
            self.reader.feed(self.sock.recv(65536))
        return str(reply) if isinstance(reply, hiredis.ReplyError) else reply


def while_loading(port: int) -> dict:
    """What a client sees while the server loads, then once it has."""
    raw = RawClient(port)
    client = resp2(port, socket_timeout=30)
    seen = {
        "loading": client.info("persistence")["loading"],
        "ping": raw("PING"),
        "get": raw("GET", "key:1"),
        "config set dir": raw("CONFIG", "SET", "dir", "/nonexistent"),
        "config set loglevel": raw("CONFIG", "SET", "loglevel", "debug"),
        "fields": sorted(name for name in client.info("persistence") if name.startswith("loading_")),
    }
    assert wait_until(lambda: client.info("persistence")["loading"] == 0, 30)
    seen["dbsize"] = client.dbsize()
    return seen


def test_clients_see_what_redis_servers_see_while_the_dump_loads(tmp_path):
    write_dump(tmp_path)
    with redis_server_or_skip():
        pass
    options = [*SLOW_LOAD, "--enable-protected-configs", "yes"]  # as Redis's suite runs: dir may change
    with redis_server_in_dir(str(tmp_path), options) as port:
        expected = while_loading(port)
    with kvserver(["--dir", str(tmp_path), *options], cwd=str(tmp_path)) as (port, _):
        got = while_loading(port)
    assert got == expected
    assert got["loading"] == 1 and got["ping"] == LOADING and got["config set dir"] == LOADING
    assert got["config set loglevel"] == b"OK" and got["dbsize"] == KEYS


def test_a_signal_while_loading_exits_without_saving(tmp_path):
    dump = write_dump(tmp_path)
    logfile = tmp_path / "server.log"
    with kvserver(["--dir", str(tmp_path), "--logfile", str(logfile), *SLOW_LOAD], cwd=str(tmp_path)) as (port, proc):
        assert resp2(port).info("persistence")["loading"] == 1
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0 and time.monotonic() - started < 2
    assert (tmp_path / "dump.rdb").read_bytes() == dump
    log = logfile.read_text()
    assert "Received shutdown signal during loading, scheduling shutdown." in log
    assert "Ready to accept connections" not in log
