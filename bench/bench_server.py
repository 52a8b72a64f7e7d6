"""kvserver against redis-server under redis-benchmark, measured in the same run.

For every test in `TESTS` (redis-benchmark ``-t`` names), without pipelining
and with ``-P 16``, both servers are run in turn, round after round, so a
noisy moment hurts both alike. Printed per test: the median ops/s of each,
kvserver/redis-server, and each server's CPU time per request (user+system
from /proc/<pid>/stat, read before and after each run).

Other benchmarks extend the set by adding ``-t`` names to `TESTS` or by
calling `run()` with their own list.
"""

from __future__ import annotations

import argparse
import sys

from common import REPO, median, redis_and_kvserver, redis_benchmark, table

TESTS = ["ping_mbulk", "set", "get", "incr", "mset"]
PIPELINES = [1, 16]
REQUESTS = {1: 100_000, 16: 800_000}
QUICK_REQUESTS = {1: 10_000, 16: 50_000}
KEYSPACE = 100_000

THROUGHPUT_TARGET_UNPIPELINED = 0.9
THROUGHPUT_TARGET_PIPELINED = 0.4  # for SET and GET
PIPELINED_TARGET_TESTS = {"SET", "GET"}
CPU_TARGET_PIPELINED = 2.5


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench_server", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few requests per run (a smoke test, noisy)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tests", default=",".join(TESTS), help="comma-separated redis-benchmark -t names")
    parser.add_argument("--pipelines", default=",".join(map(str, PIPELINES)))
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--keyspace", type=int, default=KEYSPACE, help="redis-benchmark -r (0: one key)")
    parser.add_argument("--requests", type=int, default=0, help="requests per run (default: by pipeline)")
    parser.add_argument("--kv-tree", default=REPO, help="run kvserver from this checkout (default: this one)")
    return parser.parse_args(argv)


def run(tests: list[str], args: argparse.Namespace) -> list[dict]:
    """Measure every (test, pipeline) on both servers; one result row per pair."""
    pipelines = [int(p) for p in args.pipelines.split(",")]
    samples: dict[tuple, dict[str, list[float]]] = {}
    labels: dict[str, str] = {}
    with redis_and_kvserver(kv_tree=args.kv_tree) as servers:
        for round_index in range(args.rounds):
            for test in tests:
                for pipeline in pipelines:
                    requests = args.requests or (QUICK_REQUESTS if args.quick else REQUESTS)[pipeline]
                    order = servers if round_index % 2 == 0 else servers[::-1]
                    for server in order:
                        before = server.cpu_seconds()
                        results = redis_benchmark(server.port, test, requests, args.clients, pipeline, args.keyspace)
                        cpu_s = server.cpu_seconds() - before
                        labels[test] = next(iter(results))
                        entry = samples.setdefault((test, pipeline, server.name), {"ops": [], "cpu_us": []})
                        entry["ops"].append(sum(results.values()))
                        entry["cpu_us"].append(cpu_s * 1e6 / requests)
            print(f"round {round_index + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    rows = []
    for test in tests:
        for pipeline in pipelines:
            redis = samples[(test, pipeline, "redis-server")]
            kv = samples[(test, pipeline, "kvserver")]
            rows.append({
                "test": labels[test], "pipeline": pipeline,
                "redis_ops": median(redis["ops"]), "kv_ops": median(kv["ops"]),
                "redis_cpu_us": median(redis["cpu_us"]), "kv_cpu_us": median(kv["cpu_us"]),
            })
    return rows


def verdicts(row: dict) -> list[str]:
    """Which targets this row is held to, and whether it meets them."""
    ratio = row["kv_ops"] / row["redis_ops"]
    cpu_ratio = row["kv_cpu_us"] / row["redis_cpu_us"] if row["redis_cpu_us"] else float("inf")
    notes = []
    if row["pipeline"] == 1:
        notes.append(("ops", ratio, THROUGHPUT_TARGET_UNPIPELINED, ratio >= THROUGHPUT_TARGET_UNPIPELINED))
    else:
        if row["test"] in PIPELINED_TARGET_TESTS:
            notes.append(("ops", ratio, THROUGHPUT_TARGET_PIPELINED, ratio >= THROUGHPUT_TARGET_PIPELINED))
        notes.append(("cpu", cpu_ratio, CPU_TARGET_PIPELINED, cpu_ratio <= CPU_TARGET_PIPELINED))
    words = []
    for name, _, target, met in notes:
        bound = ">=" if name == "ops" else "<="
        words.append(f"{name} ok" if met else f"{name} MISSED (target {bound}{target:.1f}x)")
    return words


def report(rows: list[dict]) -> str:
    headers = ["test", "-P", "redis ops/s", "kvserver ops/s", "kv/redis", "redis us/req", "kv us/req",
               "cpu kv/redis", "targets"]
    lines = []
    for row in rows:
        cpu_ratio = row["kv_cpu_us"] / row["redis_cpu_us"] if row["redis_cpu_us"] else float("inf")
        lines.append([
            row["test"], str(row["pipeline"]), f"{row['redis_ops']:.0f}", f"{row['kv_ops']:.0f}",
            f"{row['kv_ops'] / row['redis_ops']:.2f}", f"{row['redis_cpu_us']:.2f}", f"{row['kv_cpu_us']:.2f}",
            f"{cpu_ratio:.2f}", ", ".join(verdicts(row)),
        ])
    return table(headers, lines)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    tests = [name.strip() for name in args.tests.split(",") if name.strip()]
    print(f"bench_server: redis-benchmark -c {args.clients} -r {args.keyspace}, {args.rounds} rounds, "
          f"pipelines {args.pipelines}{' (quick)' if args.quick else ''}", flush=True)
    print(report(run(tests, args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
