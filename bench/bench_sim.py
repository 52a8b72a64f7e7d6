"""Simulator speed: client operations per wall second, simulated time per wall second, replay time.

``python bench/bench_sim.py [--quick] [--seeds 1,2,3]`` (or ``bench/run.py --only sim``).

The run measured: workload register, 50 clients, one node, partition, lag and
pause faults, 60 simulated seconds, the node without a log (``appendonly no``, as the
targets were set); the same runs with the simulator's default log (``appendonly yes``,
``appendfsync always``) are printed after, for what it costs. Wall time counts the simulation only (the
checkers' time is printed apart); CPU time is printed too, since a loaded
machine inflates wall time. Then a failing seed is replayed with the real
`kvsim replay` command, process start-up included. Targets: 20,000
operations per wall second, 100x faster than real time, replay under 10 s.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from sim.cli import replay_command  # noqa: E402 - after the path is set
from sim.world import RunConfig, run  # noqa: E402

OPS_PER_WALL_S_MIN = 20_000
SPEEDUP_MIN = 100
REPLAY_S_MAX = 10.0


NO_LOG = (("appendonly", "no"),)


def measure(seeds: list[int], duration_ms: int, options: tuple = NO_LOG) -> list[dict]:
    rows = []
    for seed in seeds:
        config = RunConfig(seed=seed, workload="register", clients=50, nodes=1, duration_ms=duration_ms,
                           faults=("partition", "lag", "pause"), config=options)
        result = run(config)
        ops = sum(result.ops.values())
        rows.append({
            "seed": seed, "ops": ops, "sim_s": result.sim_ms / 1000, "wall_s": result.wall_s, "cpu_s": result.cpu_s,
            "check_s": result.check_s, "valid": result.valid,
        })
    return rows


def replay_seconds(duration_ms: int) -> tuple[float, bool]:
    """Wall time of `kvsim replay` of a failing run (a killed node loses writes), and whether it matched."""
    failing = run(RunConfig(seed=1, workload="register", duration_ms=duration_ms, faults=("kill", "partition"),
                            config=NO_LOG))
    assert failing.valid is False
    args = shlex.split(replay_command(failing))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sim", *args[1:]], cwd=REPO, capture_output=True, text=True)
    return time.perf_counter() - started, done.returncode == 0 and "trace hash identical" in done.stdout


def print_rows(rows: list[dict]) -> None:
    print(f"{'seed':>5} {'ops':>7} {'sim s':>7} {'wall s':>7} {'cpu s':>7} {'ops/wall s':>11} {'ops/cpu s':>10} "
          f"{'sim/wall':>9} {'check s':>8} valid")
    for row in rows:
        print(f"{row['seed']:>5} {row['ops']:>7} {row['sim_s']:>7.1f} {row['wall_s']:>7.2f} {row['cpu_s']:>7.2f} "
              f"{row['ops'] / row['wall_s']:>11.0f} {row['ops'] / row['cpu_s']:>10.0f} "
              f"{row['sim_s'] / row['wall_s']:>8.0f}x {row['check_s']:>8.2f} {row['valid']}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 simulated seconds instead of 60")
    parser.add_argument("--seeds", default="1,2,3")
    args, _ = parser.parse_known_args(argv)
    duration_ms = 20_000 if args.quick else 60_000
    seeds = [int(seed) for seed in args.seeds.split(",")]
    rows = measure(seeds, duration_ms)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print_rows(rows)
    ops_rate = statistics.median(row["ops"] / row["wall_s"] for row in rows)
    speedup = statistics.median(row["sim_s"] / row["wall_s"] for row in rows)
    logged = measure(seeds, duration_ms, options=())
    print("the same with the simulator's default log (appendonly yes, appendfsync always):")
    print_rows(logged)
    replay_s, identical = replay_seconds(duration_ms)
    print(f"median: {ops_rate:,.0f} operations per wall second (target {OPS_PER_WALL_S_MIN:,}), "
          f"{speedup:.0f}x real time (target {SPEEDUP_MIN}x)")
    print(f"replay of a failing seed: {replay_s:.2f} s, trace hash {'identical' if identical else 'DIFFERENT'} "
          f"(target < {REPLAY_S_MAX:.0f} s)")
    met = ops_rate >= OPS_PER_WALL_S_MIN and speedup >= SPEEDUP_MIN and replay_s < REPLAY_S_MAX and identical
    print("targets met" if met else "targets MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
