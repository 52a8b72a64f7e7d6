"""The disk: a cache until fsync, power loss (torn writes), faults, atomic rename."""

from __future__ import annotations

import random

from sim.disk import Disk


def _disk() -> Disk:
    return Disk(random.Random(3))


def test_fsync_makes_writes_survive_power_loss():
    disk = _disk()
    disk.append("log", b"one;")
    assert disk.fsync("log")
    disk.append("log", b"two;")
    assert disk.read("log") == b"one;two;"
    disk.power_loss(torn_write_probability=0.0)
    assert disk.read("log") == b"one;"


def test_a_torn_write_keeps_a_prefix_of_the_last_unsynced_write():
    kept = set()
    for seed in range(50):
        disk = Disk(random.Random(seed))
        disk.append("log", b"durable;")
        disk.fsync("log")
        disk.append("log", b"first;")
        disk.append("log", b"0123456789")
        disk.power_loss(torn_write_probability=1.0)
        content = disk.read("log")
        assert content.startswith(b"durable;first;")
        assert b"0123456789".startswith(content[len(b"durable;first;"):])
        kept.add(len(content))
    assert len(kept) > 3  # the cut falls at various offsets


def test_a_full_disk_refuses_writes():
    disk = _disk()
    disk.faults.full = 1
    assert not disk.append("log", b"x")
    assert not disk.replace("snap", b"x")
    assert disk.read("log") is None and disk.read("snap") is None


def test_a_failed_fsync_leaves_the_data_unsynced():
    disk = _disk()
    disk.append("log", b"x")
    disk.faults.fsync_errors = 1
    assert not disk.fsync("log")
    assert disk.durable("log") == b""
    disk.faults.fsync_errors = 0
    assert disk.fsync("log") and disk.durable("log") == b"x"


def test_slow_fsync_takes_longer():
    disk = _disk()
    normal = max(disk.fsync_ms() for _ in range(100))
    disk.faults.fsync_delay_ms = 500
    assert min(disk.fsync_ms() for _ in range(100)) >= 500 > normal


def test_rename_replaces_atomically():
    disk = _disk()
    disk.replace("dump.rdb", b"old")
    disk.fsync("dump.rdb")
    disk.replace("temp.rdb", b"new")
    disk.fsync("temp.rdb")
    disk.rename("temp.rdb", "dump.rdb")
    assert disk.read("dump.rdb") == b"new" and disk.read("temp.rdb") is None
