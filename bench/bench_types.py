"""kvserver against redis-server on the collection commands (issue 3), measured in the same run.

Tests: redis-benchmark's LPUSH, LPOP, SADD, HSET and ZADD (``-t`` names), and
two 100-element reads run as custom commands: ``LRANGE bench:l 0 99`` on a
600-element list of 3-byte items (what ``-t lrange_100`` sends, without the
LPUSH prefill phase redis-benchmark would run with the same ``-n`` and count
in the CPU time) and ``ZRANGE bench:z 0 99`` on a 100-member sorted set.
Each runs with ``-c 50``, without pipelining and with ``-P 16``, on both
servers in turn, round after round (the first server alternates), and the
medians are printed: ops/s of each, kvserver/redis-server, and each server's
CPU time per request (user+system from /proc/<pid>/stat, before and after).

Target: kvserver >= 0.5x redis-server's ops/s without pipelining.
``--quick`` makes a short, noisy smoke run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass

from common import REPO, median, redis_and_kvserver, redis_benchmark, require, table


@dataclass(frozen=True)
class Test:
    """One benchmark: a redis-benchmark ``-t`` name or a custom command, and the CSV row it reports."""

    name: str  # what --tests selects
    row: str  # redis-benchmark's CSV test name
    command: tuple[str, ...] = ()  # a custom command instead of the built-in test
    weight: float = 1.0  # share of the request count (100-element replies are slow)


ZSET_MEMBERS = 100
LIST_ITEMS = 600
TESTS = [
    Test("lpush", "LPUSH"),
    Test("lpop", "LPOP"),
    Test("sadd", "SADD"),
    Test("hset", "HSET"),
    Test("zadd", "ZADD"),
    Test("zrange_100", "ZRANGE bench:z 0 99", ("ZRANGE", "bench:z", "0", "99"), 0.25),
    Test("lrange_100", "LRANGE bench:l 0 99", ("LRANGE", "bench:l", "0", "99"), 0.25),
]
LPOP_LIST = "mylist"  # the list redis-benchmark's LPUSH and LPOP use
PIPELINES = [1, 16]
REQUESTS = {1: 100_000, 16: 400_000}
QUICK_REQUESTS = {1: 10_000, 16: 40_000}
KEYSPACE = 100_000
THROUGHPUT_TARGET_UNPIPELINED = 0.5


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench_types", description=__doc__.split("\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("--quick", action="store_true", help="few requests per run (a smoke test, noisy)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tests", default=",".join(t.name for t in TESTS), help="comma-separated test names")
    parser.add_argument("--pipelines", default=",".join(map(str, PIPELINES)))
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--keyspace", type=int, default=KEYSPACE, help="redis-benchmark -r for the built-ins")
    parser.add_argument("--requests", type=int, default=0, help="requests per run before weighting")
    parser.add_argument("--kv-tree", default=REPO, help="run kvserver from this checkout (default: this one)")
    args, ignored = parser.parse_known_args(argv)
    if ignored:  # bench/run.py passes every option on to every benchmark
        print(f"{parser.prog}: ignoring {' '.join(ignored)}", file=sys.stderr)
    return args


def selected(names: str) -> list[Test]:
    """The tests named, in `TESTS` order (LPUSH fills the list LPOP drains)."""
    wanted = {name.strip().lower() for name in names.split(",") if name.strip()}
    unknown = wanted - {t.name for t in TESTS}
    if unknown:
        sys.exit(f"unknown test(s): {', '.join(sorted(unknown))}; known: {', '.join(t.name for t in TESTS)}")
    return [t for t in TESTS if t.name in wanted]


# -- talking to a server outside the measured runs ------------------------------------
def cli(port: int, *args: str) -> str:
    """One command through redis-cli; its raw reply text."""
    done = subprocess.run([require("redis-cli"), "-h", "127.0.0.1", "-p", str(port), *args],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def prefill(port: int) -> None:
    """The sorted set and the list the custom range commands read."""
    cli(port, "DEL", "bench:z", "bench:l")
    zadd = ["ZADD", "bench:z"]
    for index in range(ZSET_MEMBERS):
        zadd += [str(index), f"member:{index:03d}"]
    cli(port, *zadd)
    cli(port, "RPUSH", "bench:l", *(["xxx"] * LIST_ITEMS))
    sizes = cli(port, "ZCARD", "bench:z"), cli(port, "LLEN", "bench:l")
    if sizes != (str(ZSET_MEMBERS), str(LIST_ITEMS)):
        raise RuntimeError(f"prefill on port {port} left sizes {sizes}")


def top_up_list(port: int, items: int) -> None:
    """Make sure LPOP pops a real item on every request, whatever ran before."""
    missing = items - int(cli(port, "LLEN", LPOP_LIST))
    for start in range(0, max(missing, 0), 10_000):
        cli(port, "RPUSH", LPOP_LIST, *(["xxx"] * min(10_000, missing - start)))


# -- measuring -------------------------------------------------------------------------
def requests_for(test: Test, pipeline: int, args: argparse.Namespace) -> int:
    base = args.requests or (QUICK_REQUESTS if args.quick else REQUESTS)[pipeline]
    return max(1000, int(base * test.weight))


def measure(server, test: Test, pipeline: int, requests: int, args: argparse.Namespace) -> tuple[float, float]:
    """One redis-benchmark run: (ops/s, CPU microseconds per request of the server)."""
    if test.name == "lpop":
        top_up_list(server.port, requests)
    keyspace = 0 if test.command else args.keyspace
    before = server.cpu_seconds()
    results = redis_benchmark(server.port, test.name, requests, args.clients, pipeline, keyspace,
                              list(test.command))
    cpu_s = server.cpu_seconds() - before
    if test.row not in results:
        raise RuntimeError(f"redis-benchmark reported {sorted(results)} for {test.name}, not {test.row!r}")
    return results[test.row], cpu_s * 1e6 / requests


def run(tests: list[Test], args: argparse.Namespace) -> list[dict]:
    """Measure every (test, pipeline) on both servers; one result row per pair."""
    pipelines = [int(p) for p in args.pipelines.split(",")]
    samples: dict[tuple, dict[str, list[float]]] = {}
    with redis_and_kvserver(kv_tree=args.kv_tree) as servers:
        for server in servers:
            prefill(server.port)
        for round_index in range(args.rounds):
            order = servers if round_index % 2 == 0 else servers[::-1]
            for test in tests:
                for pipeline in pipelines:
                    requests = requests_for(test, pipeline, args)
                    for server in order:
                        ops, cpu_us = measure(server, test, pipeline, requests, args)
                        entry = samples.setdefault((test.name, pipeline, server.name), {"ops": [], "cpu_us": []})
                        entry["ops"].append(ops)
                        entry["cpu_us"].append(cpu_us)
            print(f"round {round_index + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    rows = []
    for test in tests:
        for pipeline in pipelines:
            redis = samples[(test.name, pipeline, "redis-server")]
            kv = samples[(test.name, pipeline, "kvserver")]
            rows.append({
                "test": test.name, "pipeline": pipeline, "requests": requests_for(test, pipeline, args),
                "redis_ops": median(redis["ops"]), "kv_ops": median(kv["ops"]),
                "redis_cpu_us": median(redis["cpu_us"]), "kv_cpu_us": median(kv["cpu_us"]),
            })
    return rows


# -- reporting -------------------------------------------------------------------------
def verdict(row: dict) -> str:
    if row["pipeline"] != 1:
        return ""
    met = row["kv_ops"] / row["redis_ops"] >= THROUGHPUT_TARGET_UNPIPELINED
    return "ok" if met else f"MISSED (target >={THROUGHPUT_TARGET_UNPIPELINED}x)"


def report(rows: list[dict]) -> str:
    headers = ["test", "-P", "-n", "redis ops/s", "kvserver ops/s", "kv/redis", "redis us/req", "kv us/req",
               "cpu kv/redis", "target"]
    lines = []
    for row in rows:
        cpu_ratio = row["kv_cpu_us"] / row["redis_cpu_us"] if row["redis_cpu_us"] else float("inf")
        lines.append([
            row["test"], str(row["pipeline"]), str(row["requests"]), f"{row['redis_ops']:.0f}",
            f"{row['kv_ops']:.0f}", f"{row['kv_ops'] / row['redis_ops']:.2f}", f"{row['redis_cpu_us']:.2f}",
            f"{row['kv_cpu_us']:.2f}", f"{cpu_ratio:.2f}", verdict(row),
        ])
    return table(headers, lines)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    tests = selected(args.tests)
    print(f"bench_types: redis-benchmark -c {args.clients} -r {args.keyspace} (built-ins), {args.rounds} rounds, "
          f"pipelines {args.pipelines}{' (quick)' if args.quick else ''}", flush=True)
    print(report(run(tests, args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
