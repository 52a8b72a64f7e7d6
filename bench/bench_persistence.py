"""Durability costs, kvserver against redis-server in the same run.

1. SET throughput with ``appendonly yes``, ``appendfsync always`` (``-c 50``,
   without pipelining and with ``-P 16``), both servers in turn, round after
   round (target: >= 0.9x redis-server's ``always`` figure).
2. Loading at start: an AOF of ``--keys`` SETs (one incr file, no base) and
   an RDB of as many small string keys (written by redis-server with DEBUG
   POPULATE), each loaded by both servers; the time is what each logs
   ("DB loaded from append only file: ...", "DB loaded from disk: ...").
   Targets: AOF load rate >= 0.5x redis-server's, RDB >= 0.3x.
3. File sizes: the AOF each server wrote for the same SETs, and the RDB each
   saves for the same dataset.
4. BGSAVE of ``--keys`` small keys (DEBUG POPULATE): how long it runs, and the
   longest a client waited for a PING meanwhile (both fork a child: the
   parent stalls only for the fork).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import redis
from common import REPO, median, redis_and_kvserver, redis_benchmark, require, table

KEYS = 1_000_000
QUICK_KEYS = 100_000
REQUESTS = {1: 100_000, 16: 400_000}
QUICK_REQUESTS = {1: 10_000, 16: 40_000}
ALWAYS = ["--appendonly", "yes", "--appendfsync", "always", "--auto-aof-rewrite-percentage", "0"]  # sizes: no rewrite
SET_TARGET = 0.9
AOF_LOAD_TARGET = 0.5
RDB_LOAD_TARGET = 0.3
LOADED = re.compile(rb"DB loaded from (?:append only file|disk): ([0-9.]+) seconds")
LOAD_WAIT_S = 600


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench_persistence", description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_KEYS} keys, few requests (a smoke test)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keys", type=int, default=0, help=f"keys to load (default {KEYS})")
    parser.add_argument("--parts", default="set,load,bgsave", help="comma-separated: set,load,bgsave")
    parser.add_argument("--kv-tree", default=REPO, help="run kvserver from this checkout (default: this one)")
    args, ignored = parser.parse_known_args(argv)
    if ignored:  # bench/run.py passes every option on to every benchmark
        print(f"{parser.prog}: ignoring {' '.join(ignored)}", file=sys.stderr)
    return args


# -- SET under appendfsync always ------------------------------------------------------------------
def set_always(args: argparse.Namespace) -> list[list[str]]:
    samples: dict[tuple[int, str], list[float]] = {}
    sizes = {}
    with redis_and_kvserver(kv_tree=args.kv_tree, options=ALWAYS) as servers:
        for round_index in range(args.rounds):
            for pipeline in (1, 16):
                requests = (QUICK_REQUESTS if args.quick else REQUESTS)[pipeline]
                for server in servers if round_index % 2 == 0 else servers[::-1]:
                    ops = redis_benchmark(server.port, "set", requests, 50, pipeline, 100_000)
                    samples.setdefault((pipeline, server.name), []).append(sum(ops.values()))
        for server in servers:
            sizes[server.name] = _dir_bytes(os.path.join(server.dir, "appendonlydir"))
    rows = []
    for pipeline in (1, 16):
        redis, kv = median(samples[(pipeline, "redis-server")]), median(samples[(pipeline, "kvserver")])
        rows.append([f"SET always -P {pipeline}", f"{redis:.0f} ops/s", f"{kv:.0f} ops/s", f"{kv / redis:.2f}",
                     _verdict(kv / redis, SET_TARGET)])
    rows.append(["AOF bytes after the SETs", str(sizes["redis-server"]), str(sizes["kvserver"]),
                 f"{sizes['kvserver'] / max(sizes['redis-server'], 1):.2f}", ""])
    return rows


# -- loading at start ----------------------------------------------------------------------------------
def load_times(args: argparse.Namespace) -> list[list[str]]:
    keys = args.keys or (QUICK_KEYS if args.quick else KEYS)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        aof_dir = os.path.join(workdir, "aof")
        _write_set_aof(aof_dir, keys)
        redis_s, kv_s = _load_both(args, aof_dir, ["--appendonly", "yes"])
        rows.append([f"AOF load, {keys} SETs", f"{redis_s:.2f} s", f"{kv_s:.2f} s", f"{redis_s / kv_s:.2f}",
                     _verdict(redis_s / kv_s, AOF_LOAD_TARGET)])
        rdb_dir = os.path.join(workdir, "rdb")
        _write_populated_rdb(rdb_dir, keys)
        redis_s, kv_s = _load_both(args, rdb_dir, [])
        rows.append([f"RDB load, {keys} keys", f"{redis_s:.2f} s", f"{kv_s:.2f} s", f"{redis_s / kv_s:.2f}",
                     _verdict(redis_s / kv_s, RDB_LOAD_TARGET)])
        rows.append(_rdb_sizes(args, rdb_dir))
    return rows


# -- BGSAVE beside the clients ---------------------------------------------------------------------
def bgsave_stalls(args: argparse.Namespace) -> list[list[str]]:
    keys = args.keys or (QUICK_KEYS if args.quick else KEYS)
    stalls, durations = {}, {}
    with redis_and_kvserver(kv_tree=args.kv_tree, options=["--save", "", "--enable-debug-command", "yes"]) as servers:
        for server in servers:
            client = redis.Redis(port=server.port)
            client.execute_command("DEBUG", "POPULATE", keys)
            durations[server.name], stalls[server.name] = _bgsave_beside_pings(client, server.port)
    redis_stall, kv_stall = stalls["redis-server"], stalls["kvserver"]
    redis_s, kv_s = durations["redis-server"], durations["kvserver"]
    return [
        [f"BGSAVE, {keys} keys, duration", f"{redis_s:.2f} s", f"{kv_s:.2f} s", f"{redis_s / kv_s:.2f}", ""],
        ["longest PING wait during it", f"{redis_stall:.1f} ms", f"{kv_stall:.1f} ms",
         f"{kv_stall / max(redis_stall, 0.001):.1f} (kv/redis)", ""],
    ]


def _bgsave_beside_pings(client, port: int) -> tuple[float, float]:
    """BGSAVE while another connection PINGs: the save's seconds and the longest PING in ms."""
    done = threading.Event()
    longest = [0.0]

    def ping() -> None:
        pinger = redis.Redis(port=port)
        while not done.is_set():
            started = time.perf_counter()
            pinger.ping()
            longest[0] = max(longest[0], (time.perf_counter() - started) * 1000)
            time.sleep(0.001)

    thread = threading.Thread(target=ping)
    thread.start()
    time.sleep(0.2)
    started = time.perf_counter()
    client.bgsave()
    while client.info("persistence")["rdb_bgsave_in_progress"]:
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    done.set()
    thread.join()
    return seconds, longest[0]


def _write_set_aof(directory: str, keys: int) -> None:
    """A multi-part AOF of ``keys`` SETs in one incr file (no base), as Redis would replay it."""
    os.makedirs(os.path.join(directory, "appendonlydir"))
    with open(os.path.join(directory, "appendonlydir", "appendonly.aof.1.incr.aof"), "wb") as handle:
        handle.write(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n")
        for start in range(0, keys, 10_000):
            chunk = []
            for i in range(start, min(start + 10_000, keys)):
                key, value = b"key:%d" % i, b"value:%d" % i
                chunk.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value))
            handle.write(b"".join(chunk))
    with open(os.path.join(directory, "appendonlydir", "appendonly.aof.manifest"), "w") as handle:
        handle.write("file appendonly.aof.1.incr.aof seq 1 type i\n")


def _write_populated_rdb(directory: str, keys: int) -> None:
    """dump.rdb of ``keys`` small strings, saved by redis-server after DEBUG POPULATE."""
    os.makedirs(directory)
    unused = os.path.join(directory, "unused")
    with redis_and_kvserver(dirs=(directory, unused), options=["--enable-debug-command", "yes"]) as (redis, _):
        cli = [require("redis-cli"), "-p", str(redis.port)]
        subprocess.run([*cli, "DEBUG", "POPULATE", str(keys)], check=True, capture_output=True)
        subprocess.run([*cli, "SAVE"], check=True, capture_output=True)


def _load_both(args: argparse.Namespace, source: str, options: list[str]) -> tuple[float, float]:
    """Each server started on a copy of ``source``: the load time it logs."""
    with tempfile.TemporaryDirectory() as workdir:
        dirs = (os.path.join(workdir, "redis"), os.path.join(workdir, "kvserver"))
        for target in dirs:
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("server.log", "unused"))
        with redis_and_kvserver(kv_tree=args.kv_tree, options=options, dirs=dirs) as servers:
            return tuple(_logged_load_s(server) for server in servers)


def _logged_load_s(server) -> float:
    deadline = time.monotonic() + LOAD_WAIT_S
    path = os.path.join(server.dir, "server.log")
    while time.monotonic() < deadline:
        with open(path, "rb") as handle:
            found = LOADED.search(handle.read())
        if found:
            return float(found.group(1))
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not log its load time in {LOAD_WAIT_S} s")


def _rdb_sizes(args: argparse.Namespace, source: str) -> list[str]:
    """The dump each server saves of the same dataset."""
    with tempfile.TemporaryDirectory() as workdir:
        dirs = (os.path.join(workdir, "redis"), os.path.join(workdir, "kvserver"))
        for target in dirs:
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("server.log", "unused"))
        with redis_and_kvserver(kv_tree=args.kv_tree, dirs=dirs) as servers:
            sizes = []
            for server in servers:
                _logged_load_s(server)
                os.unlink(os.path.join(server.dir, "dump.rdb"))
                subprocess.run([require("redis-cli"), "-p", str(server.port), "SAVE"], check=True, capture_output=True)
                sizes.append(os.path.getsize(os.path.join(server.dir, "dump.rdb")))
    return ["RDB bytes, same dataset", str(sizes[0]), str(sizes[1]), f"{sizes[1] / sizes[0]:.2f}", ""]


def _dir_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(path, name)) for name in os.listdir(path)) if os.path.isdir(path) else 0


def _verdict(ratio: float, target: float) -> str:
    return "ok" if ratio >= target else f"MISSED (target >={target:.1f}x)"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    parts = set(args.parts.split(","))
    rows = []
    if "set" in parts:
        rows += set_always(args)
    if "load" in parts:
        rows += load_times(args)
    if "bgsave" in parts:
        rows += bgsave_stalls(args)
    print(table(["measure", "redis-server", "kvserver", "kv/redis", "target"], rows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
