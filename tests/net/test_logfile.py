"""The log-writing path of kvserver: net.logfile.LogFile, net.disk.write_synced, and the
server gathering requests into one fsync under ``appendfsync always`` (Server._log_turn),
which rests on the core's ``take_effects(start_log=False)``."""

from __future__ import annotations

import errno
import os
import random
import threading

import pytest

from kvcore.config import Config
from kvcore.effects import AppendLog, Send
from kvcore.node import Node
from net import disk
from net.logfile import LogFile
from tests.kvcore.harness import encode_request
from tests.net.test_appendonly import last_incr, ready, serving, stop

NOW = 1_700_000_000_000
RECORD = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"


@pytest.fixture
def log_path(tmp_path):
    return str(tmp_path / "appendonly.aof.1.incr.aof")


def read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


# -- LogFile ----------------------------------------------------------------------------------------
def test_a_removed_file_is_created_again_at_the_next_append(log_path):
    log = LogFile()
    log.append(log_path, RECORD, True)
    os.unlink(log_path)  # the core removed it (a failed first rewrite's temp incr)
    assert log.append(log_path, RECORD * 2, True) == ("", [])
    assert read(log_path) == RECORD * 2


@pytest.mark.parametrize("fsync", [True, False])
def test_append_writes_the_records_at_the_end(log_path, fsync):
    log = LogFile()
    assert log.append(log_path, RECORD, fsync) == ("", [])
    assert log.append(log_path, RECORD * 2, fsync) == ("", [])
    assert read(log_path) == RECORD * 3
    assert log.close() == ""


def test_a_short_write_then_an_error_is_cut_back_to_whole_records(log_path, monkeypatch):
    log = LogFile()
    log.append(log_path, RECORD, True)

    def half_then_full(fd, data):
        os.write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(disk, "write_synced", half_then_full)
    error, lines = log.append(log_path, RECORD * 4, True)
    assert error == "No space left on device"
    assert lines == ["Error writing to the AOF file: No space left on device"]
    assert read(log_path) == RECORD
    monkeypatch.undo()
    assert log.append(log_path, RECORD, True) == ("", [])  # the retry appends whole records
    assert read(log_path) == RECORD * 2


def test_a_failed_fsync_is_cut_back_too(log_path, monkeypatch):
    log = LogFile()
    log.append(log_path, RECORD, False)  # unsynced bytes: the next fsync'd append is write + fdatasync

    def failing_sync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(disk, "sync_data", failing_sync)
    error, _ = log.append(log_path, RECORD, True)
    assert error == "Input/output error"
    assert read(log_path) == RECORD


def test_after_unsynced_appends_an_fsyncd_append_syncs_the_whole_file(log_path, monkeypatch):
    """RWF_DSYNC makes only its own bytes durable: earlier unsynced ones need an fdatasync."""
    synced = []
    monkeypatch.setattr(disk, "sync_data", lambda fd: synced.append(fd))
    log = LogFile()
    log.append(log_path, RECORD, False)
    log.append(log_path, RECORD, True)
    assert len(synced) == 1
    log.append(log_path, RECORD, True)  # nothing unsynced before it: one RWF_DSYNC write (where there is one)
    assert len(synced) == (1 if disk._DSYNC else 2)
    assert read(log_path) == RECORD * 3


def test_a_new_path_fsyncs_and_closes_the_old_file(tmp_path, monkeypatch):
    fsynced = []
    real_fsync = disk.fsync
    monkeypatch.setattr(disk, "fsync", lambda fd: fsynced.append(fd) or real_fsync(fd))
    log = LogFile()
    first, second = str(tmp_path / "a.aof"), str(tmp_path / "b.aof")
    log.append(first, RECORD, False)
    old_fd = log.fd
    log.append(second, RECORD * 2, True)
    assert fsynced == [old_fd]
    assert (read(first), read(second)) == (RECORD, RECORD * 2)
    assert log.path == second and os.fstat(log.fd).st_size == len(RECORD * 2)


def test_an_unopenable_path_reports_the_error(tmp_path):
    error, lines = LogFile().append(str(tmp_path / "missing" / "x.aof"), RECORD, True)
    assert error == "No such file or directory"
    assert lines == ["Error writing to the AOF file: No such file or directory"]


# -- write_synced ------------------------------------------------------------------------------------
def test_write_synced_falls_back_to_write_and_fdatasync_without_rwf_dsync(log_path, monkeypatch):
    def unsupported(*args):
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

    synced = []
    real_sync = disk.sync_data
    monkeypatch.setattr(disk, "_DSYNC", 2)
    monkeypatch.setattr(os, "pwritev", unsupported)
    monkeypatch.setattr(disk, "sync_data", lambda fd: synced.append(fd) or real_sync(fd))
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        disk.write_synced(fd, RECORD)
        disk.write_synced(fd, RECORD)
    finally:
        os.close(fd)
    assert read(log_path) == RECORD * 2
    assert synced == [fd, fd] and disk._DSYNC == 0


def test_write_synced_finishes_a_short_pwritev(log_path, monkeypatch):
    real_pwritev = os.pwritev
    monkeypatch.setattr(disk, "_DSYNC", getattr(os, "RWF_DSYNC", 2))
    monkeypatch.setattr(os, "pwritev", lambda fd, buffers, offset, flags: real_pwritev(fd, [buffers[0][:5]], offset))
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        disk.write_synced(fd, RECORD)
    finally:
        os.close(fd)
    assert read(log_path) == RECORD


# -- the core's side: start_log=False ----------------------------------------------------------------
def test_take_effects_without_start_log_holds_replies_and_gathers_records():
    node = Node(Config({"appendonly": "yes", "appendfsync": "always"}), rng=random.Random(0), now=NOW)
    for conn in (1, 2):
        node.open(conn, node.now)
    node.take_effects()
    node.receive(1, encode_request("SET", "a", "1"), node.now)
    assert node.take_effects(start_log=False) == []  # no log job, and the OK waits
    node.receive(2, encode_request("GET", "a"), node.now)
    assert node.take_effects(start_log=False) == []  # a read after the write waits for it too
    node.receive(2, encode_request("SET", "b", "2"), node.now)
    effects = node.take_effects()
    logs = [effect for effect in effects if type(effect) is AppendLog]
    assert len(logs) == 1 and not [effect for effect in effects if type(effect) is Send]
    assert logs[0].data.endswith(encode_request("SET", "a", "1") + encode_request("SET", "b", "2"))
    node.job_done(logs[0].job, True, node.now)
    sends = node.take_effects()
    assert sends == [Send(1, b"+OK\r\n"), Send(2, b"$1\r\n1\r\n+OK\r\n")]


# -- the server ------------------------------------------------------------------------------------------
def test_concurrent_writers_get_replies_only_for_records_in_the_file(tmp_path):
    """Under always, with requests gathered across loop turns, every acknowledged SET is in the log
    when its reply arrives (the file is read after the reply), and no client waits for ever."""
    with serving("kv", tmp_path, "--appendonly", "yes", "--appendfsync", "always") as (port, proc):
        ready(port).close()
        incr = last_incr(tmp_path)
        errors: list[str] = []

        def writer(index: int) -> None:
            client = ready(port)
            for n in range(40):
                key, value = f"w{index}:{n}", "x" * (n % 7)
                client.set(key, value)
                if encode_request("SET", key, value) not in incr.read_bytes():
                    errors.append(f"{key} acknowledged before it was written")
            client.close()

        threads = [threading.Thread(target=writer, args=(index,)) for index in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads)
        assert errors == []
        client = ready(port)
        assert client.dbsize() == 12 * 40
        client.close()
        stop(proc)
