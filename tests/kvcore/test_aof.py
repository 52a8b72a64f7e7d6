"""The append-only log's pure parts: parsing, loading into a node, redis-check-aof, rewriting.

Expected log texts, offsets and datasets come from redis-server 7.0.15 and
redis-check-aof 7.0.15 (each case says what it reproduces); the differential
tests at the end re-run random corrupted files through the real tools.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import tempfile
import time

import hiredis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvcore import aof, rdb
from kvcore.aof_manifest import parse_manifest
from tests.kvcore.harness import CoreClient, make_node
from tests.servers import free_port

FILE = "appendonly.aof.1.incr.aof"


def cmd(*args) -> bytes:
    return aof.encode_command([a if isinstance(a, bytes) else str(a).encode() for a in args])


def dataset(node) -> dict:
    """Every live key of every db: (db, key) -> (type, value, expiry ms)."""
    out = {}
    for db in node.dbs:
        for key, value in db.data.items():
            when = db.expires.get(key)
            if when is not None and when <= node.now:
                continue
            kind = "string" if type(value) is bytes else value.TYPE
            if kind == "list":
                value = list(value)
            elif kind == "set":
                value = sorted(value)
            elif kind == "hash":
                value = dict(value)
            elif kind == "zset":
                value = sorted(value.scores.items())
            elif kind == "ReJSON-RL":
                value = repr(value.root)
            out[(db.index, key)] = (kind, value, when)
    return out


def loaded(data: bytes, **options) -> tuple[aof.LoadResult, object]:
    node = make_node()
    return aof.load_commands(node, data, filename=FILE, **options), node


# -- records and parsing ---------------------------------------------------------
def test_records_are_resp_multibulks():
    assert cmd("SET", "a", "") == b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$0\r\n\r\n"
    assert aof.timestamp_annotation(1700000000) == b"#TS:1700000000\r\n"
    assert aof.is_rdb(b"REDIS0010\xfa") and not aof.is_rdb(b"*1\r\n")


def test_every_cut_of_a_log_is_a_truncation_after_the_last_whole_command():
    """Except inside an annotation: Redis skips what it read of it and meets a clean end."""
    records = [cmd("SELECT", 0), b"#TS:5\r\n", cmd("SET", "k", "v\r\n"), cmd("RPUSH", "l", "a", "b" * 2000)]
    data = b"".join(records)
    ends = [len(b"".join(records[: i + 1])) for i in range(len(records))]
    for cut in range(len(data) + 1):
        parsed = aof.parse_commands(data[:cut])
        whole = [end for end in ends if end <= cut]
        if cut in ends or cut == 0 or ends[0] < cut < ends[1]:  # a cut annotation is still skipped
            assert parsed.status == aof.OK, cut
        else:
            assert parsed.status == aof.TRUNCATED, cut
        assert [end for _, end in parsed.commands] == [end for end in whole if end != ends[1]], cut


@pytest.mark.parametrize(
    ("data", "status", "offset"),
    [
        (cmd("SELECT", 0) + b"xx" + cmd("SET", "a", "b"), aof.FAILED, 23),  # not a '*' line
        (cmd("SELECT", 0) + b"*0\r\n", aof.FAILED, 23),  # argc < 1
        (cmd("SELECT", 0) + b"*1\r\n+3\r\n", aof.FAILED, 23),  # not a '$' line
        (cmd("SELECT", 0) + b"*1\r\n$-1\r\n", aof.FAILED, 23),  # negative length
        (cmd("SELECT", 0) + b"*\0\r\n", aof.FAILED, 23),  # Redis: an unrecoverable read error
        (b"*1\r\n$5\r\nMULTIx\n", aof.OK, 15),  # the CRLF after a string is skipped unchecked
        (b"*1\r\n$5\r\nMULT", aof.TRUNCATED, 0),
        (b"*", aof.TRUNCATED, 0),
        (b"#TS:1", aof.OK, 5),
    ],
)
def test_parse_rules(data, status, offset):
    parsed = aof.parse_commands(data)
    assert (parsed.status, parsed.offset) == (status, offset)


# -- loading ------------------------------------------------------------------------
def test_load_replays_commands_transactions_and_selects():
    """A file redis-server 7.0.15 loaded to db0 a=1 b=3 and db3 c=3."""
    data = (
        b"#TS:1700000000\r\n"
        + cmd("SELECT", 0)
        + cmd("SET", "a", 1)
        + cmd("MULTI")
        + cmd("SET", "b", 2)
        + cmd("INCR", "b")
        + cmd("EXEC")
        + cmd("SELECT", 3)
        + cmd("set", "c", 3)
    )
    result, node = loaded(data)
    assert (result.status, result.commands, result.loaded_bytes, result.log) == (aof.OK, 8, len(data), [])
    assert dataset(node) == {
        (0, b"a"): ("string", b"1", None),
        (0, b"b"): ("string", b"3", None),
        (3, b"c"): ("string", b"3", None),
    }
    assert node.stats.dirty == 4  # as rdb_changes_since_last_save after the load


def test_load_answers_nobody_and_logs_nothing():
    node = make_node(appendonly="yes")
    client = CoreClient(node)
    result = aof.load_commands(node, cmd("SELECT", 0) + cmd("SET", "a", 1) + cmd("GET", "a") + cmd("LPUSH", "a", "x"))
    assert result.status == aof.OK
    assert node.take_effects() == [] and node._log_records == []
    assert not node.loading
    assert client.call("GET", "a") == b"1"


def test_nothing_expires_while_loading():
    """redis-server 7.0.15: APPEND meets the key set with a past PXAT, which then expires."""
    data = cmd("SELECT", 0) + cmd("SET", "k", "v", "PXAT", 5) + cmd("APPEND", "k", "x") + cmd("SET", "z", 1)
    data += cmd("PEXPIREAT", "z", 6)
    result, node = loaded(data)
    assert result.status == aof.OK
    assert node.dbs[0].data == {b"k": b"vx", b"z": b"1"}  # both kept, with their past TTLs
    assert node.dbs[0].expires == {b"k": 5, b"z": 6}
    assert dataset(node) == {}


def test_truncated_tail_is_cut_after_the_last_whole_command():
    """redis-server 7.0.15 logged these lines and truncated the file to 124 bytes."""
    data = cmd("SELECT", 0) + cmd("SET", "k", "v", "PXAT", 5) + cmd("APPEND", "k", "x") + cmd("SET", "z", 1)
    assert len(data) == 124
    result, node = loaded(data + b"*2\r\n$3\r\nDEL")
    assert (result.status, result.truncate_to, result.loaded_bytes) == (aof.TRUNCATED, 124, 124)
    assert result.log == [
        f"!!! Warning: short read while loading the AOF file {FILE}!!!",
        f"!!! Truncating the AOF {FILE} at offset 124 !!!",
        f"AOF {FILE} loaded anyway because aof-load-truncated is enabled",
    ]
    assert dataset(node) == {(0, b"z"): ("string", b"1", None)}


def test_truncated_tail_with_aof_load_truncated_no_fails():
    result, _ = loaded(cmd("SET", "a", 1) + b"*2\r\n$3\r\nDE", load_truncated=False)
    assert (result.status, result.truncate_to, result.offset) == (aof.FAILED, None, 27)
    assert result.error == (
        f"Unexpected end of file reading the append only file {FILE}. You can: 1) Make a backup of your AOF "
        "file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the "
        "'aof-load-truncated' configuration option to yes and restart the server."
    )


def test_unfinished_multi_at_the_end_is_reverted():
    head = cmd("SELECT", 0) + cmd("SET", "a", 1)
    data = head + cmd("MULTI") + cmd("SET", "b", 2) + cmd("INCR", "a")
    result, node = loaded(data)
    assert (result.status, result.truncate_to) == (aof.TRUNCATED, len(head))
    assert result.log[0] == f"Revert incomplete MULTI/EXEC transaction in AOF file {FILE}"
    assert dataset(node) == {(0, b"a"): ("string", b"1", None)}


def test_unfinished_multi_with_aof_load_truncated_no_fails():
    """redis-server 7.0.15 logged these two lines and exited."""
    result, _ = loaded(cmd("SELECT", 0) + cmd("MULTI"), load_truncated=False)
    assert result.status == aof.FAILED
    assert result.log[0] == f"Revert incomplete MULTI/EXEC transaction in AOF file {FILE}"
    assert result.error.startswith(f"Unexpected end of file reading the append only file {FILE}.")


def test_a_cut_inside_a_multi_truncates_before_the_multi():
    """Not Redis 7.0's offset (after the last whole command, leaving the MULTI open in the file):
    a transaction appended after the restart would close it at the next load, running the torn
    transaction's first half. kvsim's expiry sweep found that (a SET whose PEXPIREAT was cut)."""
    head = cmd("SET", "a", 1)
    torn = head + cmd("MULTI") + cmd("SET", "b", 2) + b"*3\r\n$3"
    result, node = loaded(torn)
    assert (result.status, result.truncate_to) == (aof.TRUNCATED, len(head))
    assert dataset(node) == {(0, b"a"): ("string", b"1", None)}
    appended = torn[: result.truncate_to] + cmd("MULTI") + cmd("SET", "c", 3) + cmd("EXEC")
    result, node = loaded(appended)
    assert result.status != aof.TRUNCATED
    assert dataset(node) == {(0, b"a"): ("string", b"1", None), (0, b"c"): ("string", b"3", None)}


def test_a_read_only_replica_runs_the_writes_of_its_logs_scripts():
    """The loading client is obeyed, as Redis's mustObeyClient (Redis's integration/aof 'EVAL can
    process writes from AOF in read-only replicas')."""
    node = make_node(replicaof="127.0.0.1 1", replica_read_only="yes")
    data = cmd("SELECT", 9) + cmd("EVAL", "redis.call('set',KEYS[1],'100')", 1, "foo") \
        + cmd("EVAL", "redis.call('incr',KEYS[1])", 1, "foo") + cmd("EVAL", "redis.call('incr',KEYS[1])", 1, "foo")
    assert aof.load_commands(node, data, filename=FILE).status == aof.OK
    assert node.is_replica and dataset(node) == {(9, b"foo"): ("string", b"102", None)}


def test_nested_multi_is_dropped_as_exec_would_refuse_it():
    """redis-server 7.0.15 loaded this to a=1 n=1 (the inner MULTI errors inside EXEC)."""
    data = (
        cmd("INCR", "n") + cmd("MULTI") + cmd("MULTI") + cmd("DEL", "a") + cmd("EXEC") + cmd("SET", "a", 1)
    )
    result, node = loaded(data)
    assert result.status == aof.OK
    assert dataset(node) == {(0, b"a"): ("string", b"1", None), (0, b"n"): ("string", b"1", None)}


@pytest.mark.parametrize(
    ("data", "message", "offset"),
    [
        (
            cmd("SELECT", 0) + cmd("FOOO"),  # redis-server 7.0.15's log line
            f"Unknown command 'FOOO' reading the append only file {FILE}",
            23,
        ),
        (cmd("CONFIG", "NOSUCH"), f"Unknown command 'CONFIG' reading the append only file {FILE}", 0),
        (
            cmd("SELECT", 0) + b"xx" + cmd("SET", "a", "b"),
            f"Bad file format reading the append only file {FILE}: make a backup of your AOF file, then use "
            "./redis-check-aof --fix <filename.manifest>",
            23,
        ),
        (
            cmd("SELECT", 0) + b"*\0\r\n",
            f"Unrecoverable error reading the append only file {FILE}: NUL byte after '*'",
            23,
        ),
    ],
)
def test_load_failures(data, message, offset):
    result, _ = loaded(data)
    assert (result.status, result.error, result.offset) == (aof.FAILED, message, offset)


def test_empty_file():
    result, _ = loaded(b"")
    assert result.status == aof.EMPTY and result.ok


def test_blocking_commands_do_not_block_the_loader():
    result, node = loaded(cmd("BLPOP", "l", 0) + cmd("RPUSH", "l", "a") + cmd("BLPOP", "l", 0))
    assert result.status == aof.OK and dataset(node) == {}


def fake_rdb(image: bytes, keys: dict):
    """An RDB reader for tests: the image is ``image``; loading sets ``keys`` in db 0."""

    def load(node, data: bytes) -> int:
        if not data.startswith(image):
            raise ValueError("bad RDB image")
        for key, value in keys.items():
            node.dbs[0].set(key, value)
        return len(image)

    return load


def test_rdb_preamble_then_tail():
    image = b"REDIS0010-image-"
    result, node = loaded(image + cmd("SET", "b", 2), rdb_loader=fake_rdb(image, {b"a": b"1"}))
    assert (result.status, result.commands) == (aof.OK, 1)
    assert set(dataset(node)) == {(0, b"a"), (0, b"b")}


def test_rdb_errors_abort_the_load():
    result, _ = loaded(b"REDIS0010-broken", rdb_loader=fake_rdb(b"REDIS0010-image-", {}))
    assert result.status == aof.FAILED
    assert result.log == ["bad RDB image", f"Error reading the RDB base file {FILE}, AOF loading aborted"]
    node = make_node()
    old_style = aof.load_commands(node, b"REDIS0010-broken", filename="appendonly.aof", rdb_loader=fake_rdb(b"x", {}))
    assert old_style.error == "Error reading the RDB preamble of the AOF file appendonly.aof, AOF loading aborted"


def test_a_partial_command_after_an_rdb_image_truncates_the_whole_file():
    """Redis 7.0.15 truncated a base .rdb with "*3\\r\\n$3" appended to 0 bytes: its offset starts at 0."""
    image = b"REDIS0010-image-"
    result, node = loaded(image + b"*3\r\n$3", rdb_loader=fake_rdb(image, {b"a": b"1"}))
    assert (result.status, result.truncate_to) == (aof.TRUNCATED, 0)
    assert set(dataset(node)) == {(0, b"a")}


# -- loading a manifest's files ---------------------------------------------------------
MANIFEST = parse_manifest(
    "file appendonly.aof.1.base.aof seq 1 type b\n"
    "file appendonly.aof.1.incr.aof seq 1 type i\n"
    "file appendonly.aof.2.incr.aof seq 2 type i\n"
)
BASE = "appendonly.aof.1.base.aof"
INCR1, INCR2 = "appendonly.aof.1.incr.aof", "appendonly.aof.2.incr.aof"


def test_load_files_in_manifest_order():
    files = {BASE: cmd("SET", "a", 1), INCR1: b"", INCR2: cmd("INCR", "a")}
    node = make_node()
    result = aof.load_files(node, MANIFEST, files)
    assert (result.status, result.commands) == (aof.OK, 2)
    assert dataset(node) == {(0, b"a"): ("string", b"2", None)}


def test_only_the_last_file_may_be_truncated():
    files = {BASE: cmd("SET", "a", 1), INCR1: cmd("INCR", "a") + b"*1", INCR2: cmd("INCR", "a")}
    result = aof.load_files(make_node(), MANIFEST, files)
    assert (result.status, result.file, result.truncate_to) == (aof.FAILED, INCR1, len(cmd("INCR", "a")))
    assert result.log[-1] == "Fatal error: the truncated file is not the last file"
    files[INCR1], files[INCR2] = files[INCR2], files[INCR1]
    result = aof.load_files(make_node(), MANIFEST, files)
    assert (result.status, result.file, result.truncate_to) == (aof.TRUNCATED, INCR2, len(cmd("INCR", "a")))


def test_load_files_edge_cases():
    assert aof.load_files(make_node(), parse_manifest("# nothing\n"), {}).status == aof.NOT_EXIST
    assert aof.load_files(make_node(), MANIFEST, {BASE: b"", INCR1: b"", INCR2: b""}).status == aof.EMPTY
    missing = aof.load_files(make_node(), MANIFEST, {BASE: b"", INCR1: b""})
    assert (missing.status, missing.error) == (
        aof.FAILED,
        f"Unable to obtain the AOF file {INCR2} length. stat: No such file or directory",
    )
    failed = aof.load_files(make_node(), MANIFEST, {BASE: b"junk", INCR1: b"", INCR2: b""})
    assert (failed.status, failed.file, failed.offset) == (aof.FAILED, BASE, 0)


# -- redis-check-aof ----------------------------------------------------------------------
class MemoryIO(aof.CheckIO):
    def __init__(self, files: dict[str, bytes], answer: bool = True) -> None:
        self.files = dict(files)
        self.answer = answer
        self.out: list[str] = []

    def write(self, text: str) -> None:
        self.out.append(text)

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)

    def truncate(self, path: str, size: int) -> bool:
        self.files[path] = self.files[path][:size]
        return True

    def confirm(self) -> bool:
        return self.answer


def check(files: dict[str, bytes], *args: str, answer: bool = True) -> tuple[int, str, dict]:
    io = MemoryIO(files, answer)
    code = aof.run_check_aof(io, ["redis-check-aof", *args])
    return code, "".join(io.out), io.files


# Files and outputs of redis-check-aof 7.0.15.
T1 = cmd("SELECT", 0) + cmd("SET", "a", "b") + b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1"
T2 = cmd("SELECT", 0) + cmd("MULTI") + cmd("SET", "a", "b")
CHECKS = [
    (
        T1,
        "0x              46: Expected \\r\\n, got: 0000\n"
        "AOF analyzed: filename=f.aof, size=72, ok_up_to=50, ok_up_to_line=18, diff=22\n",
    ),
    (
        T2,
        "0x              3e: Reached EOF before reading EXEC for MULTI\n"
        "AOF analyzed: filename=f.aof, size=65, ok_up_to=23, ok_up_to_line=16, diff=42\n",
    ),
    (
        cmd("SELECT", 0) + b"xx" + cmd("SET", "a", "b"),
        "AOF f.aof format error\nAOF analyzed: filename=f.aof, size=52, ok_up_to=23, ok_up_to_line=6, diff=29\n",
    ),
    (
        b"#TS:123\r\n" + cmd("SELECT", 0) + b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nbXX",
        "0x              38: Expected \\r\\n, got: 5858\n"
        "AOF analyzed: filename=f.aof, size=59, ok_up_to=32, ok_up_to_line=12, diff=27\n",
    ),
    (
        cmd("MULTI") + cmd("multi"),
        "0x              17: Unexpected MULTI in AOF f.aof\n"
        "AOF analyzed: filename=f.aof, size=30, ok_up_to=0, ok_up_to_line=7, diff=30\n",
    ),
    (
        cmd("EXEC"),
        "0x               8: Unexpected EXEC in AOF f.aof\n"
        "AOF analyzed: filename=f.aof, size=14, ok_up_to=0, ok_up_to_line=4, diff=14\n",
    ),
    (
        b"*1\r\n$-3\r\nEXEC\r\n",
        "0x               4: Expected to read string of -3 bytes, which is not in the suitable range\n"
        "AOF analyzed: filename=f.aof, size=15, ok_up_to=0, ok_up_to_line=3, diff=15\n",
    ),
    (
        b"*1\r\n+3\r\nEXEC\r\n",
        "0x               4: Expected prefix '$', got: '+'\n"
        "AOF analyzed: filename=f.aof, size=14, ok_up_to=0, ok_up_to_line=2, diff=14\n",
    ),
    (
        b"*1\r\n$4\r\nEXEC\xff\xfe",
        "0x               8: Expected \\r\\n, got: fffffffffffffffe\n"
        "AOF analyzed: filename=f.aof, size=14, ok_up_to=0, ok_up_to_line=3, diff=14\n",
    ),
]


@pytest.mark.parametrize(("data", "report"), CHECKS)
def test_check_reports_as_redis_check_aof(data, report):
    code, out, _ = check({"f.aof": data}, "f.aof")
    assert (code, out) == (
        1,
        "Start checking Old-Style AOF\n" + report + "AOF f.aof is not valid. Use the --fix option to try fixing it.\n",
    )
    ok, ok_up_to, message = aof.check_aof(data, "f.aof")
    assert not ok and report.startswith(message + "\n")
    assert f"ok_up_to={ok_up_to}," in report
    assert aof.fix_aof(data) == data[:ok_up_to]
    assert aof.check_aof(aof.fix_aof(data))[0]


def test_check_valid_and_empty_files():
    assert check({"f.aof": cmd("SET", "a", 1)}, "f.aof") == (
        0,
        "Start checking Old-Style AOF\nAOF analyzed: filename=f.aof, size=27, ok_up_to=27, ok_up_to_line=8, diff=0\n"
        "AOF f.aof is valid\n",
        {"f.aof": cmd("SET", "a", 1)},
    )
    assert check({"f.aof": b""}, "f.aof")[:2] == (0, "Start checking Old-Style AOF\nAOF f.aof is empty\n")
    assert aof.check_aof(cmd("SET", "a", 1)) == (True, 27, "")
    assert check({}, "nope")[:2] == (1, "Cannot open file nope: No such file or directory\n")
    assert check({}, "--fox", "f")[:2] == (
        1,
        "Usage: redis-check-aof [--fix|--truncate-to-timestamp $timestamp] <file.manifest|file.aof>\n",
    )


def multi_part() -> dict[str, bytes]:
    return {
        "appendonly.aof.manifest": (
            b"file appendonly.aof.1.base.aof seq 1 type b\n"
            b"file appendonly.aof.1.incr.aof seq 1 type i\n"
            b"file appendonly.aof.2.incr.aof seq 2 type i\n"
        ),
        "./appendonly.aof.1.base.aof": cmd("SELECT", 0),
        "./appendonly.aof.1.incr.aof": b"",
        "./appendonly.aof.2.incr.aof": b"#TS:100\r\n" + cmd("MULTI") + cmd("EXEC") + b"#TS:200\r\n"
        + b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb",
    }


HEAD = (
    "Start checking Multi Part AOF\nStart to check BASE AOF (RESP format).\n"
    "AOF analyzed: filename=appendonly.aof.1.base.aof, size=23, ok_up_to=23, ok_up_to_line=6, diff=0\n"
    "BASE AOF appendonly.aof.1.base.aof is valid\nStart to check INCR files.\n"
    "INCR AOF appendonly.aof.1.incr.aof is empty\n"
    "0x              47: Expected to read 3 bytes, got 1 bytes\n"
    "AOF analyzed: filename=appendonly.aof.2.incr.aof, size=72, ok_up_to=47, ok_up_to_line=18, diff=25\n"
)


def test_check_multi_part_and_fix_the_last_file():
    """redis-check-aof 7.0.15's outputs on these files, without and with --fix (answered y)."""
    code, out, _ = check(multi_part(), "appendonly.aof.manifest")
    assert (code, out) == (1, HEAD + "AOF appendonly.aof.2.incr.aof is not valid. Use the --fix option to try fixing it.\n")
    code, out, files = check(multi_part(), "--fix", "appendonly.aof.manifest")
    assert (code, out) == (
        0,
        HEAD + "This will shrink the AOF appendonly.aof.2.incr.aof from 72 bytes, with 25 bytes, to 47 bytes\n"
        "Continue? [y/N]: Successfully truncated AOF appendonly.aof.2.incr.aof\nAll AOF files and manifest are valid\n",
    )
    assert len(files["./appendonly.aof.2.incr.aof"]) == 47
    code, out, files = check(multi_part(), "--fix", "appendonly.aof.manifest", answer=False)
    assert (code, out.splitlines()[-1], len(files["./appendonly.aof.2.incr.aof"])) == (1, "Continue? [y/N]: Aborting...", 72)


def test_check_truncates_to_a_timestamp():
    """redis-check-aof 7.0.15 --truncate-to-timestamp 150, then 50, on these files."""
    code, out, files = check(multi_part(), "--truncate-to-timestamp", "150", "appendonly.aof.manifest")
    assert (code, out) == (
        0,
        "Start checking Multi Part AOF\nStart to check BASE AOF (RESP format).\n"
        "Truncate nothing in AOF appendonly.aof.1.base.aof to timestamp 150\n"
        "BASE AOF appendonly.aof.1.base.aof is valid\nStart to check INCR files.\n"
        "INCR AOF appendonly.aof.1.incr.aof is empty\n"
        "Successfully truncated AOF appendonly.aof.2.incr.aof to timestamp 150\n"
        "All AOF files and manifest are valid\n",
    )
    assert len(files["./appendonly.aof.2.incr.aof"]) == 38
    code, out, _ = check(multi_part(), "--truncate-to-timestamp", "50", "appendonly.aof.manifest")
    assert (code, out.splitlines()[-1]) == (1, "AOF ./appendonly.aof.2.incr.aof has nothing before timestamp 50, aborting...")


def test_check_refuses_to_fix_a_file_that_is_not_the_last():
    files = multi_part()
    files["./appendonly.aof.1.incr.aof"] = b"*1"
    code, out, _ = check(files, "--fix", "appendonly.aof.manifest")
    assert (code, out.splitlines()[-1]) == (1, "Failed to truncate AOF appendonly.aof.1.incr.aof because it is not the last file")


def test_check_reports_manifest_errors_and_missing_files():
    code, out, _ = check({"m": b"file a seq 1 type b\nfile b seq 1 type b\n"}, "m")
    assert (code, out.splitlines()[-1]) == (1, "Found duplicate base file information")
    code, out, _ = check({"m": b'file "a b" seq 1 type b\n'}, "m")  # redis-check-aof 7.0.15's words
    assert (code, out) == (1, "Start checking Multi Part AOF\nCannot open file ./a b: No such file or directory\n")


def test_check_rdb_preamble_goes_to_the_rdb_checker():
    image = b"REDIS0010-image-"

    def rdb_check(io, data, path):
        io.write("[rdb checked]\n")
        return len(image) if data.startswith(image) else -1

    for data, code, tail in [
        (image + cmd("SET", "a", 1), 0, "[rdb checked]\nRDB preamble is OK, proceeding with AOF tail...\n"),
        (b"REDIS0010-bad", 1, "[rdb checked]\nRDB preamble of AOF file is not sane, aborting.\n"),
    ]:
        io = MemoryIO({"f.aof": data})
        assert aof.run_check_aof(io, ["redis-check-aof", "f.aof"], rdb_check=rdb_check) == code
        out = "".join(io.out)
        assert out.startswith("Start checking Old-Style AOF\n" + tail)
        assert code or out.endswith("AOF f.aof is valid\n")


def test_check_reads_real_rdb_preambles():
    node = make_node()
    CoreClient(node).call("SET", "a", 1)
    image = rdb.write(node)
    io = MemoryIO({"f.aof": image + cmd("SET", "b", 2)})
    assert aof.run_check_aof(io, ["redis-check-aof", "f.aof"]) == 0
    size = len(image) + 27
    assert "".join(io.out) == (
        "Start checking Old-Style AOF\nRDB preamble is OK, proceeding with AOF tail...\n"
        f"AOF analyzed: filename=f.aof, size={size}, ok_up_to={size}, ok_up_to_line=8, diff=0\nAOF f.aof is valid\n"
    )
    io = MemoryIO({"f.aof": image[:-3]})
    assert aof.run_check_aof(io, ["redis-check-aof", "f.aof"]) == 1
    assert "".join(io.out).endswith("RDB preamble of AOF file is not sane, aborting.\n")


def test_load_reads_real_rdb_preambles():
    node = make_node()
    client = CoreClient(node)
    client.call("SET", "a", 1, "PXAT", 5)  # already expired: kept for the log to replay on
    client.call("RPUSH", "l", "x")
    data = rdb.write(node, aof_base=True) + cmd("SELECT", 0) + cmd("APPEND", "a", 2) + cmd("RPUSH", "l", "y")
    result, fresh = loaded(data)
    assert result.status == aof.OK
    assert {key: bytes(value) if type(value) is bytes else list(value) for key, value in fresh.dbs[0].data.items()} == {
        b"a": b"12",
        b"l": [b"x", b"y"],
    }
    assert fresh.dbs[0].expires == {b"a": 5}


# -- rewriting ------------------------------------------------------------------------------
def test_rewrite_writes_what_redis_writes():
    """redis-server 7.0.15's base file after BGREWRITEAOF (aof-use-rdb-preamble no) of this dataset."""
    node = make_node()
    client = CoreClient(node)
    for db, args in [
        (0, ["RPUSH", "l", *range(70)]),
        (1, ["HSET", "h", "f", "v", "g", "w"]),
        (2, ["ZADD", "z", "1.5", "a", "0.1", "b", "inf", "c"]),
        (3, ["SADD", "s", 3, 1, 2]),
        (4, ["SET", "k", "v", "PXAT", 4000000000000]),
    ]:
        client.call("SELECT", db)
        client.call(*args)
    expected = (
        cmd("SELECT", 0)
        + cmd("RPUSH", "l", *range(64))
        + cmd("RPUSH", "l", *range(64, 70))
        + cmd("SELECT", 1)
        + cmd("HMSET", "h", "f", "v", "g", "w")
        + cmd("SELECT", 2)
        + cmd("ZADD", "z", "0.10000000000000001", "b", "1.5", "a", "inf", "c")
        + cmd("SELECT", 3)
        + cmd("SADD", "s", 1, 2, 3)
        + cmd("SELECT", 4)
        + cmd("SET", "k", "v")
        + cmd("PEXPIREAT", "k", 4000000000000)
    )
    assert aof.rewrite_dataset(node) == expected
    assert aof.rewrite_dataset(node, timestamp_s=7).startswith(b"#TS:7\r\n" + cmd("SELECT", 0))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["RPUSH", "SADD", "HSET", "ZADD", "SET", "PEXPIREAT", "SELECT", "JSON.SET"]),
            st.sampled_from(["a", "b", "c"]),
            st.lists(st.sampled_from(["1", "2", "x", "3.25", "-inf", "é"]), min_size=1, max_size=90),
        ),
        max_size=12,
    )
)
def test_rewrite_then_load_rebuilds_the_dataset(steps):
    node = make_node()
    client = CoreClient(node)
    for name, key, items in steps:
        if name == "SELECT":
            client.call("SELECT", len(items) % 3)
        elif name in ("HSET", "ZADD"):
            client.call(name, key, *[part for item in items for part in (("1", item) if name == "ZADD" else (item, item))])
        elif name == "SET":
            client.call(name, key, items[0])
        elif name == "PEXPIREAT":
            client.call(name, key, node.now + len(items) * 1000)
        elif name == "JSON.SET":
            client.call(name, key, "$", '{"k": [1, 2.5, "%s"]}' % items[0])
        else:
            client.call(name, key, *items)
    fresh = make_node(seed=7)
    assert aof.load_commands(fresh, aof.rewrite_dataset(node)).ok
    assert dataset(fresh) == dataset(node)


# -- differential: the real tools on random corrupted files ------------------------------
def random_log(rng: random.Random) -> bytes:
    pieces = [
        cmd("SET", "a", 1), cmd("RPUSH", "l", "x", "y"), cmd("SADD", "s", "m"), cmd("HSET", "h", "f", "v"),
        cmd("SELECT", 1), cmd("SELECT", 0), cmd("INCR", "n"), cmd("MULTI"), cmd("EXEC"), cmd("DEL", "a"),
    ]
    out = b""
    for _ in range(rng.randint(1, 10)):
        out += b"#TS:%d\r\n" % rng.randint(80, 220) if rng.random() < 0.1 else rng.choice(pieces)
    return out


def corrupt(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(data) + 1)
        roll = rng.random()
        if roll < 0.45:
            data = data[:i]
        elif roll < 0.75 and i < len(data):
            data[i] = rng.choice(b"\r\n\0*$#x0123\xff")
        elif roll < 0.95:
            data[i:i] = bytes(rng.choice(b"\r\n\0*$#x0123") for _ in range(rng.randint(1, 3)))
    return bytes(data)


# After a line cut by the end of the file, redis-check-aof prints a stale stack byte.
STALE = re.compile(r"(?<=got: 00)[0-9a-f]{2}$", re.MULTILINE)


@pytest.mark.skipif(shutil.which("redis-check-aof") is None, reason="redis-check-aof not installed")
def test_check_matches_redis_check_aof_on_random_files(tmp_path):
    rng = random.Random(2024)
    for _ in range(300):
        data = corrupt(rng, random_log(rng))
        mode = rng.choice([[], ["--fix"], ["--truncate-to-timestamp", str(rng.randint(70, 230))]])
        answer = rng.random() < 0.8
        path = tmp_path / "f.aof"
        path.write_bytes(data)
        done = subprocess.run(
            ["redis-check-aof", *mode, str(path)], input=b"y\n" if answer else b"n\n", capture_output=True, check=False
        )
        code, out, files = check({str(path): data}, *mode, str(path), answer=answer)
        theirs = (done.returncode, STALE.sub("00", done.stdout.decode("utf-8", "surrogateescape")), path.read_bytes())
        assert (code, STALE.sub("00", out), files[str(path)]) == theirs, data


def redis_load(data: bytes, load_truncated: bool) -> tuple[dict, int] | None:
    """Start redis-server on a one-file AOF: its dataset and the file's size after, None if it refused."""
    import redis

    with tempfile.TemporaryDirectory() as workdir:
        aofdir = os.path.join(workdir, "appendonlydir")
        os.mkdir(aofdir)
        with open(os.path.join(aofdir, "appendonly.aof.manifest"), "w") as f:
            f.write(f"file {FILE} seq 1 type i\n")
        with open(os.path.join(aofdir, FILE), "wb") as f:
            f.write(data)
        port = free_port()
        args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                "--dir", workdir, "--aof-load-truncated", "yes" if load_truncated else "no"]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            for line in proc.stdout:
                if b"Ready to accept connections" in line:
                    break
            else:
                proc.wait(10)
                return None
            conn = redis.Redis(port=port)
            found = {}
            for db in range(16):
                conn.execute_command("SELECT", db)
                for key in conn.keys("*"):
                    kind = conn.type(key).decode()
                    value = {
                        "string": lambda key=key: conn.get(key),
                        "list": lambda key=key: conn.lrange(key, 0, -1),
                        "set": lambda key=key: sorted(conn.smembers(key)),
                        "hash": lambda key=key: conn.hgetall(key),
                    }[kind]()
                    found[(db, key)] = (kind, value, None)
            size = os.path.getsize(os.path.join(aofdir, FILE))
            conn.close()
            return found, size
        finally:
            proc.kill()
            proc.wait(10)
            proc.stdout.close()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_load_matches_redis_server_on_random_files():
    pytest.importorskip("redis")
    rng = random.Random(7)
    for _ in range(25):
        data = corrupt(rng, random_log(rng))
        load_truncated = rng.random() < 0.7
        result, node = loaded(data, load_truncated=load_truncated)
        ours = None
        if result.status != aof.FAILED:
            ours = (dataset(node), len(data) if result.truncate_to is None else result.truncate_to)
        theirs = redis_load(data, load_truncated)
        if ours is not None and theirs is not None and ours[1] < theirs[1]:
            assert _open_multi(data[ours[1] : theirs[1]]), data  # cut before the torn transaction
            ours = (ours[0], theirs[1])
        assert ours == theirs, data


def _open_multi(tail: bytes) -> bool:
    """Whether ``tail`` is a MULTI and commands queued after it, without their EXEC: where
    kvsim cuts a log torn inside a transaction, and Redis 7.0 keeps (see above)."""
    reader = hiredis.Reader()
    reader.feed(tail)
    commands = []
    while (command := reader.gets()) is not False:
        commands.append(command[0].lower())
    return bool(commands) and commands[0] == b"multi" and b"exec" not in commands


def redis_dataset(conn) -> dict:
    found = {}
    for db in range(16):
        conn.execute_command("SELECT", db)
        for key in conn.keys("*"):
            kind = conn.type(key).decode()
            value = {
                "string": lambda key=key: conn.get(key),
                "list": lambda key=key: conn.lrange(key, 0, -1),
                "set": lambda key=key: sorted(conn.smembers(key)),
                "hash": lambda key=key: conn.hgetall(key),
                "zset": lambda key=key: sorted(conn.zrange(key, 0, -1, withscores=True)),
            }[kind]()
            when = conn.execute_command("PEXPIRETIME", key)
            found[(db, key)] = (kind, value, when if when > 0 else None)
    return found


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_load_files_of_redis_server(tmp_path, preamble):
    """redis-server's own manifest, base (RDB or AOF) and incr files load to its dataset."""
    redis = pytest.importorskip("redis")
    from tests.servers import redis_server_in_dir

    with redis_server_in_dir(str(tmp_path), ["--appendonly", "yes", "--aof-use-rdb-preamble", preamble]) as port:
        conn = redis.Redis(port=port)
        conn.set("s", "v", px=10**7)
        conn.rpush("l", *range(100))
        conn.hset("h", mapping={"a": 1, "b": "x" * 100})
        conn.zadd("z", {"a": 1.5, "b": -2})
        conn.sadd("set", 1, 2, 3)
        conn.execute_command("SELECT", 3)
        conn.incrbyfloat("f", 2.5)
        conn.bgrewriteaof()
        while conn.info("persistence")["aof_rewrite_in_progress"] or conn.info("persistence")["aof_rewrite_scheduled"]:
            time.sleep(0.02)
        time.sleep(0.1)
        conn.spop("set")
        conn.lpop("l")
        conn.set("gone", "v", pxat=1)  # already past: gone on both sides
        conn.execute_command("SELECT", 5)
        conn.set("x", "y", ex=1000)
        expected = redis_dataset(conn)
        conn.close()
    aofdir = tmp_path / "appendonlydir"
    manifest = parse_manifest((aofdir / "appendonly.aof.manifest").read_bytes())
    files = {info.name: (aofdir / info.name).read_bytes() for info in manifest.load_order()}
    assert aof.is_rdb(files[manifest.base.name]) == (preamble == "yes")
    node = make_node(now=int(time.time() * 1000))
    result = aof.load_files(node, manifest, files)
    assert result.status == aof.OK
    assert dataset(node) == expected
