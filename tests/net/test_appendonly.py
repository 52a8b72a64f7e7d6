"""The append-only log of a real kvserver process: crashes, damaged files, files exchanged with redis-server 7.0.

- Twenty SIGKILLs under concurrent writers (appendfsync always, BGREWRITEAOF and automatic rewrites
  between and during the kills): every acknowledged write is there after each restart on the same dir,
  nothing else appeared, and no file a rewrite made obsolete is left behind.
- The last command of the log cut at each of its byte offsets: kvserver starts with exactly the prefix
  and cuts the file back, logging and leaving the file as redis-server does for the same directory; with
  aof-load-truncated no, or garbage in the middle of the incr file, it refuses to start as redis-server does.
- Multi-part directories (base + incr, RDB or AOF base) written by redis-server load into kvserver, and
  kvserver's load into redis-server, with every type, TTLs and several databases; redis-check-aof accepts
  kvserver's manifest.
- CONFIG SET appendonly yes at run time, then a crash; INFO persistence names the fields redis-server does.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from tests.kvcore.harness import encode_request
from tests.kvcore.test_rdb import describe
from tests.net.test_rdb_interop import DATABASES, connect, same_dataset
from tests.net.util import resp2, wait_until
from tests.servers import free_port, running

AOF_DIR = "appendonlydir"
MANIFEST = "appendonly.aof.manifest"
LOG_LINE = re.compile(r"^\d+:[A-Z] \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} [.\-*#] (.*)$")
FILE_SEQ = re.compile(r"\.(\d+)\.(base|incr)\.(?:rdb|aof)$")
LOAD_MESSAGES = ("!!! ", "AOF ", "Unexpected end of file", "Bad file format", "Unknown command", "Revert incomplete")

if shutil.which("redis-server") is None:
    pytest.skip("redis-server not installed", allow_module_level=True)


# -- processes --------------------------------------------------------------------------------------------
def server_args(kind: str, workdir: Path, port: int, *extra: str) -> list[str]:
    """kvserver or redis-server on ``workdir`` with the same options, logging to server.log there."""
    binary = [sys.executable, "-m", "net.main"] if kind == "kv" else [shutil.which("redis-server")]
    return [*binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir), "--save", "",
            "--logfile", str(workdir / "server.log"), *extra]


@contextlib.contextmanager
def serving(kind: str, workdir: Path, *extra: str):
    """A server of ``kind`` ("kv" or "redis") running on ``workdir``; yields (port, process)."""
    port = free_port()
    with running(server_args(kind, workdir, port, *extra), port, cwd=str(workdir)) as proc:
        yield port, proc


def start_refused(kind: str, workdir: Path, *extra: str) -> int:
    """Start a server that must refuse to start; its exit code."""
    args = server_args(kind, workdir, free_port(), *extra)
    return subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60).returncode


def ready(port: int) -> redis.Redis:
    """A client of a server that has finished loading its dataset."""
    client = resp2(port, socket_timeout=30)
    assert wait_until(lambda: _loaded(client), timeout_s=30)
    return client


def _loaded(client: redis.Redis) -> bool:
    try:
        return client.ping()
    except redis.BusyLoadingError:
        return False


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    assert proc.wait(30) == 0


def log_messages(workdir: Path) -> list[str]:
    """The messages of server.log, without pid, time and level."""
    lines = (workdir / "server.log").read_text(errors="replace").splitlines()
    return [match.group(1) for line in lines if (match := LOG_LINE.match(line))]


def load_messages(workdir: Path) -> list[str]:
    """What the server logged about damage in the log files it loaded."""
    return [message for message in log_messages(workdir) if message.startswith(LOAD_MESSAGES)]


# -- files ------------------------------------------------------------------------------------------------
def manifest_files(workdir: Path) -> list[tuple[str, str]]:
    """(file name, type) of each line of the manifest, in order."""
    text = (workdir / AOF_DIR / MANIFEST).read_text()
    return re.findall(r"^file (\S+) seq \d+ type ([bhi])$", text, re.MULTILINE)


def last_incr(workdir: Path) -> Path:
    return workdir / AOF_DIR / [name for name, kind in manifest_files(workdir) if kind == "i"][-1]


def stray_files(workdir: Path) -> list[str]:
    """Base and incr files that the manifest does not list and that no later rewrite will reuse.

    A crash between creating a file and listing it leaves one with the next
    sequence number, which the next rewrite overwrites (Redis too); an older
    unlisted file is one that a rewrite made obsolete and nobody deletes.
    """
    listed = [name for name, _ in manifest_files(workdir)]
    highest: dict[str, int] = {}
    for name in listed:
        if match := FILE_SEQ.search(name):
            highest[match[2]] = max(highest.get(match[2], 0), int(match[1]))
    return [name for name in os.listdir(workdir / AOF_DIR) if name not in listed
            and (match := FILE_SEQ.search(name)) and int(match[1]) <= highest.get(match[2], 0)]


def copy_log(source: Path, target: Path) -> Path:
    """A fresh directory holding a copy of ``source``'s appendonlydir."""
    target.mkdir()
    shutil.copytree(source / AOF_DIR, target / AOF_DIR)
    return target


# -- INFO -------------------------------------------------------------------------------------------------
def info_fields(text: bytes) -> dict[str, str]:
    lines = text.decode().splitlines()
    return dict(line.split(":", 1) for line in lines if line and not line.startswith("#"))


def rewrite_finished(call) -> bool:
    fields = info_fields(call("INFO", "persistence"))
    return fields["aof_rewrite_in_progress"] == "0" and fields["aof_rewrite_scheduled"] == "0"


def wait_for_rewrite(call) -> None:
    assert wait_until(lambda: rewrite_finished(call), timeout_s=30)


# -- 1. SIGKILL under concurrent writers ------------------------------------------------------------------
COUNTERS = ("counter:a", "counter:b", "counter:c")
TX_KEYS = ("tx:a", "tx:b")  # incremented together in MULTI/EXEC: always equal
EVENTS = "events"
WRITERS = 3
KILLS = 20
CRASH_OPTIONS = ("--appendonly", "yes", "--appendfsync", "always",
                 "--auto-aof-rewrite-min-size", "20kb", "--auto-aof-rewrite-percentage", "50")


class Writer(threading.Thread):
    """One connection writing until the server dies: what it attempted, and what was acknowledged."""

    def __init__(self, port: int, writer: int, round_no: int, seed: int, killed: threading.Event) -> None:
        super().__init__(daemon=True)
        self.client = resp2(port, socket_timeout=20)
        self.killed = killed  # set just before the SIGKILL: a connection lost earlier is an error
        self.writer, self.round_no = writer, round_no
        self.rng = random.Random(seed)
        self.attempted: collections.Counter[str] = collections.Counter()  # INCRs per counter key
        self.acked: collections.Counter[str] = collections.Counter()
        self.highest: dict[str, int] = {}  # the highest INCR reply per key
        self.strings_attempted: dict[bytes, bytes] = {}
        self.strings_acked: dict[bytes, bytes] = {}
        self.pushed: list[str] = []  # acknowledged RPUSHes, in order
        self.in_flight: str | None = None  # the RPUSH sent when the server died
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for n in range(1, 10**9):
                self.step(n)
        except redis.ConnectionError as exc:
            if not self.killed.is_set():
                self.error = exc
        except BaseException as exc:  # reported by the test's thread
            self.error = exc
        finally:
            self.client.close()

    def step(self, n: int) -> None:
        roll = self.rng.random()
        if roll < 0.3:
            key = self.rng.choice(COUNTERS)
            self.attempted[key] += 1
            self._acked_incr(key, self.client.incr(key))
        elif roll < 0.65:
            key = b"s:%d:%d:%d" % (self.round_no, self.writer, n)
            value = self.rng.randbytes(self.rng.randrange(1, 400))
            self.strings_attempted[key] = value
            assert self.client.set(key, value) is True
            self.strings_acked[key] = value
        elif roll < 0.9:
            self.in_flight = f"{self.writer}:{self.round_no}:{n}"
            self.client.rpush(EVENTS, self.in_flight)
            self.pushed.append(self.in_flight)
            self.in_flight = None
        else:
            pipe = self.client.pipeline(transaction=True)
            for key in TX_KEYS:
                self.attempted[key] += 1
                pipe.incr(key)
            for key, value in zip(TX_KEYS, pipe.execute()):
                self._acked_incr(key, value)

    def _acked_incr(self, key: str, value: int) -> None:
        self.acked[key] += 1
        self.highest[key] = max(self.highest.get(key, 0), value)


class Durable:
    """What the test knows is in the log: seen after a restart, or acknowledged before the kill."""

    def __init__(self) -> None:
        self.counters = dict.fromkeys(COUNTERS + TX_KEYS, 0)
        self.strings: dict[bytes, bytes] = {}
        self.events: dict[int, list[str]] = {writer: [] for writer in range(WRITERS)}

    def check(self, client: redis.Redis, writers: list[Writer], round_no: int) -> None:
        """After a restart: every acknowledged write of ``writers`` is there, nothing else appeared."""
        self._check_counters(client, writers, round_no)
        self._check_strings(client, writers, round_no)
        self._check_events(client, writers, round_no)

    def _check_counters(self, client, writers, round_no) -> None:
        for key in self.counters:
            got = int(client.get(key) or 0)
            acked = self.counters[key] + sum(writer.acked[key] for writer in writers)
            low = max([acked] + [writer.highest.get(key, 0) for writer in writers])
            high = self.counters[key] + sum(writer.attempted[key] for writer in writers)
            assert low <= got <= high, f"restart {round_no}: {key}={got}, acknowledged {low}, attempted {high}"
            self.counters[key] = got
        assert self.counters["tx:a"] == self.counters["tx:b"], f"restart {round_no}: half a MULTI/EXEC"

    def _check_strings(self, client, writers, round_no) -> None:
        expected = dict(self.strings)
        attempted = {}
        for writer in writers:
            expected.update(writer.strings_acked)
            attempted.update(writer.strings_attempted)
        keys = list(expected)
        values = [value for at in range(0, len(keys), 2000) for value in client.mget(keys[at : at + 2000])]
        wrong = [key for key, value in zip(keys, values) if value != expected[key]]
        assert not wrong, f"restart {round_no}: {len(wrong)} acknowledged SETs lost or changed, e.g. {wrong[:3]}"
        for key in set(client.keys("s:*")) - expected.keys():  # sent, but killed before the reply
            assert key in attempted and client.get(key) == attempted[key], f"restart {round_no}: {key!r}"
            expected[key] = attempted[key]
        self.strings = expected

    def _check_events(self, client, writers, round_no) -> None:
        elements = [element.decode() for element in client.lrange(EVENTS, 0, -1)]
        assert len(set(elements)) == len(elements), f"restart {round_no}: an RPUSH replayed twice"
        by_writer = collections.defaultdict(list)
        for element in elements:
            by_writer[int(element.split(":")[0])].append(element)
        for writer in writers:
            got = by_writer.pop(writer.writer, [])
            acked = self.events[writer.writer] + writer.pushed
            assert got in (acked, acked + [writer.in_flight]), f"restart {round_no}: writer {writer.writer}'s list"
            self.events[writer.writer] = got
        assert not by_writer, f"restart {round_no}: elements no writer pushed"


def test_sigkill_under_writers_loses_no_acknowledged_write(tmp_path):
    rng = random.Random()
    durable = Durable()
    writers: list[Writer] = []
    manual_rewrites = 0
    for round_no in range(KILLS + 1):
        with serving("kv", tmp_path, *CRASH_OPTIONS) as (port, proc):
            client = resp2(port, socket_timeout=30)
            durable.check(client, writers, round_no)
            assert not stray_files(tmp_path), (round_no, sorted(os.listdir(tmp_path / AOF_DIR)))
            if round_no == KILLS:
                break
            killed = threading.Event()
            writers = [Writer(port, writer, round_no, rng.randrange(2**32), killed) for writer in range(WRITERS)]
            for writer in writers:
                writer.start()
            if round_no % 2 == 1:  # the kill lands during (or just after) a rewrite, which takes a few ms
                time.sleep(rng.uniform(0.1, 0.5))
                with contextlib.suppress(redis.ResponseError):  # an automatic one may be running
                    assert client.bgrewriteaof()
                    manual_rewrites += 1
                time.sleep(rng.uniform(0, 0.02))
            else:
                time.sleep(rng.uniform(0.15, 0.8))
            killed.set()
            proc.kill()
            proc.wait()
            client.close()
        for writer in writers:
            writer.join(30)
            assert not writer.is_alive() and writer.error is None, writer.error
    rewrites = sum("rewriting started" in message for message in log_messages(tmp_path))
    assert rewrites > manual_rewrites, "no automatic rewrite happened"
    assert all(durable.counters.values()) and durable.strings and all(durable.events.values())


# -- 2. a damaged log --------------------------------------------------------------------------------------
PREFIX = [("k1", "one"), ("k2", "two" * 40), ("k3", "3"), ("k4", "four")]
LAST = encode_request("SET", "last", "v")  # 30 bytes: 30 places to cut it
AFTER = ("last", "again")  # written after the start on a cut file
BATCH = 6


@pytest.fixture(scope="module")
def written_log(tmp_path_factory) -> tuple[Path, bytes]:
    """A directory whose last incr file ends with LAST, written by kvserver; and that file's bytes."""
    workdir = tmp_path_factory.mktemp("written")
    with serving("kv", workdir, "--appendonly", "yes", "--appendfsync", "always") as (port, proc):
        client = resp2(port)
        for key, value in PREFIX:
            assert client.set(key, value)
        assert client.set("last", "v")
        client.close()
        stop(proc)
    data = last_incr(workdir).read_bytes()
    assert data.endswith(LAST)
    return workdir, data


def start_on_cut_log(kind: str, workdir: Path, size: int) -> dict:
    """Cut the last incr file at ``size``, start ``kind`` on it, read what it loaded, write once more."""
    incr = last_incr(workdir)
    with open(incr, "r+b") as handle:
        handle.truncate(size)
    with serving(kind, workdir, "--appendonly", "yes", "--appendfsync", "always") as (port, proc):
        client = ready(port)
        cut_to = len(incr.read_bytes())
        values = [client.get(key) for key, _ in PREFIX]
        last, keys = client.get("last"), client.dbsize()
        assert client.set(*AFTER)
        after_write = incr.read_bytes()
        client.close()
        stop(proc)
    return {"cut_to": cut_to, "values": values, "last": last, "keys": keys, "after_write": after_write,
            "messages": load_messages(workdir)}


def test_log_cut_at_each_offset_of_its_last_command_loads_the_prefix(written_log, tmp_path):
    source, data = written_log
    start = len(data) - len(LAST)
    jobs = [(kind, copy_log(source, tmp_path / f"{kind}-{size}"), size)
            for size in range(start, len(data)) for kind in ("kv", "redis")]
    with concurrent.futures.ThreadPoolExecutor(BATCH) as pool:
        results = list(pool.map(lambda job: start_on_cut_log(*job), jobs))
    outcomes = {(kind, size): result for (kind, _, size), result in zip(jobs, results)}
    for size in range(start, len(data)):
        ours, theirs = outcomes["kv", size], outcomes["redis", size]
        assert ours["values"] == [value.encode() for _, value in PREFIX], size
        assert ours["last"] is None and ours["keys"] == len(PREFIX), size
        assert ours["cut_to"] == start, size
        assert ours["after_write"] == data[:start] + encode_request("SELECT", "0") + encode_request("SET", *AFTER)
        truncating = f"!!! Truncating the AOF {last_incr(source).name} at offset {start} !!!"
        assert (truncating in ours["messages"]) == (size > start), (size, ours["messages"])
        assert ours == theirs, size  # the same data, messages, and bytes in the file as redis-server


def test_log_cut_with_aof_load_truncated_no_refuses_to_start(written_log, tmp_path):
    source, data = written_log
    size = len(data) - len(LAST) // 2
    codes, messages, sizes = [], [], []
    for kind in ("kv", "redis"):
        workdir = copy_log(source, tmp_path / kind)
        incr = last_incr(workdir)
        incr.write_bytes(data[:size])
        codes.append(start_refused(kind, workdir, "--appendonly", "yes", "--aof-load-truncated", "no"))
        messages.append(load_messages(workdir))
        sizes.append(len(incr.read_bytes()))
    assert codes == [1, 1]
    assert messages[0] == messages[1]
    assert messages[0] and messages[0][-1].startswith(f"Unexpected end of file reading the append only file "
                                                      f"{last_incr(source).name}. You can:")
    assert sizes == [size, size]  # not truncated


@pytest.mark.parametrize("garbage, message", [
    (b"garbage\r\n", "Bad file format"),
    (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\nvvvvv\r\n", "Bad file format"),
    (b"*2\r\nxx\r\n", "Bad file format"),
    (b"*1\r\n$3\r\nFOO\r\n", "Unknown command 'FOO'"),
])
def test_garbage_in_the_middle_of_the_log_refuses_to_start(written_log, tmp_path, garbage, message):
    source, data = written_log
    at = data.index(encode_request("SET", *PREFIX[2]))  # between two commands
    messages, checks = [], []
    for kind in ("kv", "redis"):
        workdir = copy_log(source, tmp_path / kind)
        last_incr(workdir).write_bytes(data[:at] + garbage + data[at:])
        assert start_refused(kind, workdir, "--appendonly", "yes") == 1, kind
        messages.append(load_messages(workdir))
        checks.append(check_aof(kind, workdir))
    assert messages[0] == messages[1]
    assert messages[0][-1].startswith(f"{message} ")
    assert checks[0] == checks[1]
    if message == "Bad file format":  # redis-server logs no offset for it: the checkers tell where
        assert checks[0][0] == 1 and f", ok_up_to={at}, " in checks[0][1]


def check_aof(kind: str, workdir: Path) -> tuple[int, str]:
    """redis-check-aof (or kvserver --check-aof) on the manifest: exit code and output."""
    tool = [sys.executable, "-m", "net.main", "--check-aof"] if kind == "kv" else [shutil.which("redis-check-aof")]
    done = subprocess.run([*tool, str(workdir / AOF_DIR / MANIFEST)], capture_output=True, text=True, timeout=60)
    report = "\n".join(line for line in done.stdout.splitlines() if not line.startswith(("[offset", "[info]")))
    return done.returncode, report


# -- 3. interop ----------------------------------------------------------------------------------------------
def build_first(call) -> None:
    """Every type in small and large encodings, TTLs, in several databases."""
    for index in DATABASES:
        call("SELECT", index)
        call("SET", "str", "hello %d" % index)
        call("SET", "int", 12345 + index)
        call("INCRBY", "counter", 40 + index)
        call("SET", "float", "1.5")
        call("INCRBYFLOAT", "float", "0.25")
        call("SET", "binary", bytes(range(256)))
        call("SET", "ttl", "v", "EX", 1000 + index)
        call("SET", "doomed", "x")
        call("RPUSH", "list", "a", "1", "-5", "x" * 70)
        call("LPUSH", "list", "first")
        call("RPUSH", "biglist", *[b"element-%d" % i for i in range(300)])
        call("HSET", "hash", "f", "v", "n", "12")
        call("HINCRBY", "hash", "n", 5)
        call("HSET", "bighash", *[p for i in range(200) for p in (b"f%d" % i, b"v%d" % i)])
        call("SADD", "intset", 5, -3, 1000000)
        call("SADD", "set", "a", "b", "c")
        call("SADD", "bigset", *range(600))
        call("ZADD", "zset", 1, "a", 2.5, "b", "-inf", "c", 0, "d")
        call("ZINCRBY", "zset", 2, "a")
        call("ZADD", "bigzset", *[p for i in range(200) for p in (i / 7, b"m%d" % i)])
        call("PEXPIRE", "bigzset", 2_000_000 + index)
        call("EXPIRE", "hash", 3000)
    call("SELECT", 0)


def build_second(call) -> None:
    """Changes on top of build_first: deletions, expiry changes, random pops, renames, a database swap."""
    for index in DATABASES:
        call("SELECT", index)
        call("APPEND", "str", " again")
        call("DEL", "int")
        call("INCR", "counter")
        call("EXPIRE", "doomed", 0)
        call("RPOP", "list")
        call("LTRIM", "biglist", 0, 199)
        call("HDEL", "hash", "f")
        call("SREM", "set", "a")
        call("SPOP", "bigset", 3)
        call("SPOP", "intset")
        call("ZREM", "zset", "c")
        call("PERSIST", "ttl")
        call("SET", "new", "x", "PX", 500_000)
        call("RENAME", "bighash", "renamed")
        call("MULTI")
        call("INCR", "in-multi")
        call("SADD", "set", "z")
        call("EXEC")
    call("SWAPDB", DATABASES[1], DATABASES[2])
    call("SELECT", 0)


def pipelined(client, *commands: tuple) -> list:
    """Send ``commands`` in one write on a RawClient; their replies."""
    client.sock.sendall(b"".join(encode_request(*argv) for argv in commands))
    replies: list = []
    while len(replies) < len(commands):
        reply = client.reader.gets()
        if reply is False:
            client.reader.feed(client.sock.recv(1 << 16))
        else:
            replies.append(reply)
    return replies


def dataset(port: int) -> dict:
    client = connect(port)
    try:
        return describe(client.call, DATABASES, json=False)
    finally:
        client.close()


def loaded(kind: str, workdir: Path, *options: str) -> dict:
    """What ``kind`` holds after starting on ``workdir`` with ``options``."""
    with serving(kind, workdir, *options) as (port, proc):
        data = dataset(port)
        stop(proc)
    return data


def values_only(data: dict) -> dict:
    """Without encodings: a running server keeps encodings a reload would not choose."""
    return {key: (kind, value, None, pttl) for key, (kind, value, _, pttl) in data.items()}


def assert_log_layout(workdir: Path, preamble: str) -> None:
    """A base (RDB or AOF) and a non-empty incr: the load replays both."""
    files = manifest_files(workdir)
    bases = [name for name, kind in files if kind == "b"]
    assert len(bases) == 1 and bases[0].endswith(".base.rdb" if preamble == "yes" else ".base.aof"), files
    assert last_incr(workdir).stat().st_size > 0, files


def aof_options(preamble: str) -> tuple[str, ...]:
    return ("--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", preamble)


def write_log(kind: str, workdir: Path, preamble: str) -> tuple[dict, dict]:
    """``kind`` writes its log: build_first, a copy of the log (base + incr), BGREWRITEAOF, build_second.

    Returns the datasets at both points; the copy is in ``workdir``/early.
    """
    with serving(kind, workdir, *aof_options(preamble)) as (port, proc):
        client = connect(port)
        build_first(client.call)
        early = dataset(port)
        copy_log(workdir, workdir / "early")
        assert client.call("BGREWRITEAOF") == b"Background append only file rewriting started"
        wait_for_rewrite(client.call)
        build_second(client.call)
        late = dataset(port)
        client.close()
        stop(proc)
    assert_log_layout(workdir, preamble)
    return early, late


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_redis_log_loads_into_kvserver(tmp_path, preamble):
    written = tmp_path / "written"
    written.mkdir()
    early, late = write_log("redis", written, preamble)
    for name, source, expected in (("early", written / "early", early), ("late", written, late)):
        ours = loaded("kv", copy_log(source, tmp_path / f"kv-{name}"), *aof_options(preamble))
        theirs = loaded("redis", copy_log(source, tmp_path / f"redis-{name}"), *aof_options(preamble))
        same_dataset(ours, theirs)
        same_dataset(values_only(ours), values_only(expected))


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_kvserver_log_loads_into_redis(tmp_path, preamble):
    written = tmp_path / "written"
    written.mkdir()
    early, late = write_log("kv", written, preamble)
    for name, source, expected in (("early", written / "early", early), ("late", written, late)):
        code, report = check_aof("redis", source)
        assert code == 0 and "All AOF files and manifest are valid" in report, report
        theirs = loaded("redis", copy_log(source, tmp_path / f"redis-{name}"), *aof_options(preamble))
        ours = loaded("kv", copy_log(source, tmp_path / f"kv-{name}"), *aof_options(preamble))
        same_dataset(ours, theirs)
        same_dataset(values_only(theirs), values_only(expected))


# -- 4. turning the log on at run time; INFO ----------------------------------------------------------------
def test_config_set_appendonly_yes_at_run_time_then_sigkill(tmp_path):
    with serving("kv", tmp_path, "--appendfsync", "always") as (port, proc):
        client = connect(port)
        build_first(client.call)
        # In one packet, so that the SET is logged while the first base is being written.
        replies = pipelined(client, ("CONFIG", "SET", "appendonly", "yes"), ("SET", "during-the-rewrite", "kept"),
                            ("INFO", "persistence"))
        assert replies[:2] == [b"OK", b"OK"]
        assert info_fields(replies[2])["aof_rewrite_in_progress"] == "1"
        wait_for_rewrite(client.call)
        assert info_fields(client.call("INFO", "persistence"))["aof_enabled"] == "1"
        build_second(client.call)
        expected = dataset(port)
        client.close()
        proc.kill()
        proc.wait()
    assert (tmp_path / AOF_DIR / MANIFEST).exists()
    theirs = loaded("redis", copy_log(tmp_path, tmp_path / "redis"), "--appendonly", "yes")
    ours = loaded("kv", tmp_path, "--appendonly", "yes")
    assert (0, b"during-the-rewrite") in ours
    same_dataset(values_only(ours), values_only(expected))
    same_dataset(ours, theirs)


@pytest.mark.parametrize("appendonly", ["yes", "no"])
def test_info_persistence_names_the_fields_redis_does(tmp_path, appendonly):
    names = []
    for kind in ("kv", "redis"):
        workdir = tmp_path / kind
        workdir.mkdir()
        with serving(kind, workdir, "--appendonly", appendonly) as (port, _):
            client = connect(port)
            names.append(list(info_fields(client.call("INFO", "persistence"))))
            client.close()
    assert names[0] == names[1]


def test_a_redis_6_single_file_log_is_moved_into_the_directory_as_redis_7_does(tmp_path):
    old = encode_request("SELECT", 0) + encode_request("SET", "k", "v") + encode_request("RPUSH", "l", "a")
    layouts = {}
    for kind in ("kv", "redis"):
        workdir = tmp_path / kind
        workdir.mkdir()
        (workdir / "appendonly.aof").write_bytes(old)
        with serving(kind, workdir, "--appendonly", "yes") as (port, proc):
            client = connect(port)
            assert (client.call("GET", "k"), client.call("LRANGE", "l", 0, -1)) == (b"v", [b"a"])
            client.close()
            stop(proc)
        layouts[kind] = (sorted(path.name for path in workdir.iterdir() if path.name != "server.log"),
                         manifest_files(workdir), (workdir / AOF_DIR / "appendonly.aof").read_bytes())
    assert layouts["kv"] == layouts["redis"]
    assert layouts["kv"][1] == [("appendonly.aof", "b"), ("appendonly.aof.1.incr.aof", "i")]


def on_both(tmp_path: Path, script, *options: str) -> dict:
    """``script(client, workdir)`` run against kvserver and redis-server, each on its own
    directory with the log on and ``options``; what it returned, by kind."""
    results = {}
    for kind in ("kv", "redis"):
        workdir = tmp_path / kind
        workdir.mkdir()
        with serving(kind, workdir, "--appendonly", "yes", "--enable-debug-command", "yes", *options) as (port, proc):
            client = connect(port)
            results[kind] = script(client, workdir)
            client.close()
            stop(proc)
    return results


def test_debug_loadaof_reloads_the_log_as_redis_does(tmp_path):
    def reload(client, _):
        client.call("SET", "k", "v")
        client.call("INCR", "n")
        digest = client.call("DEBUG", "DIGEST")
        answers = (client.call("DEBUG", "LOADAOF"), client.call("MGET", "k", "n"))
        assert client.call("DEBUG", "DIGEST") == digest
        return answers

    answers = on_both(tmp_path, reload)
    assert answers["kv"] == answers["redis"] == (b"OK", [b"v", b"1"])


def test_debug_loadaof_takes_the_manifest_from_disk_as_redis_does(tmp_path):
    """After a rewrite with the log off, the manifest on disk lists only a base: DEBUG LOADAOF
    makes it the manifest, so turning the log on numbers the new incr from 1 (Redis's
    aof-multi-part test "AOF rewrite doesn't open new aof when AOF turn off")."""
    def rewrite_off_reload_on(client, workdir):
        client.call("SET", "k", "v")
        for _ in range(2):
            client.call("BGREWRITEAOF")
            wait_for_rewrite(client.call)
        client.call("CONFIG", "SET", "appendonly", "no")
        client.call("BGREWRITEAOF")
        wait_for_rewrite(client.call)
        assert client.call("DEBUG", "LOADAOF") == b"OK"
        client.call("CONFIG", "SET", "appendonly", "yes")
        wait_for_rewrite(client.call)
        assert client.call("GET", "k") == b"v"
        return (workdir / AOF_DIR / MANIFEST).read_text()

    manifests = on_both(tmp_path, rewrite_off_reload_on)
    assert manifests["kv"] == manifests["redis"]
    assert "appendonly.aof.1.incr.aof seq 1 type i" in manifests["kv"]
