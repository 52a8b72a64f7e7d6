"""How fast the jepsen_like checkers judge generated histories.

``python bench/bench_checkers.py [--quick] [--seed N]`` (or through
``bench/run.py``). Each row generates a valid history (1% of operations time
out as info, 1% fail), then times parsing (events to paired operations) and
checking separately, in wall-clock and CPU seconds. Targets from the issue:
10,000 operations over 10 keys and 20 processes in 2 s; 100,000 in 20 s.
A last row plants a stale read at the end of a long history and times its
refutation. Returns non-zero if any verdict is wrong; a missed target is
only reported (shared machines make wall-clock time noisy).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from jepsen_like import generate, history, linearizability, list_append, sets  # noqa: E402
from jepsen_like.verdict import Verdict  # noqa: E402

CHECKERS: dict[str, Callable[[list[history.Operation]], Verdict]] = {
    "register": lambda ops: linearizability.check(ops, "register", 120),
    "counter": lambda ops: linearizability.check(ops, "counter", 120),
    "set": sets.check,
    "append": list_append.check,
}


@dataclass(frozen=True)
class Case:
    workload: str
    ops: int
    keys: int
    processes: int
    target_s: float | None = None
    stale_read: bool = False  # plant a violation at the very end


CASES = [
    Case("register", 10_000, 10, 20, 2.0),
    Case("counter", 10_000, 10, 20, 2.0),
    Case("register", 100_000, 10, 20, 20.0),
    Case("counter", 100_000, 10, 20, 20.0),
    Case("register", 10_000, 1, 10),
    Case("counter", 10_000, 1, 10),
    Case("set", 100_000, 10, 20),
    Case("append", 100_000, 1000, 20),  # reads return whole lists: keep lists short, as Elle rotates keys
    Case("register", 100_000, 10, 20, stale_read=True),
]
QUICK_OPS_MAX = 10_000


def plant_stale_read(events: list[dict]) -> list[dict]:
    """Append: write 100, write 101, then a read of 100, one after another on key k0."""
    time_ns = events[-1]["time"] + 1
    process = max(event["process"] for event in events) + 1
    tail = [("invoke", "write", 100), ("ok", "write", 100), ("invoke", "write", 101), ("ok", "write", 101),
            ("invoke", "read", None), ("ok", "read", 100)]
    return events + [{"process": process, "type": kind, "f": f, "key": "k0", "value": value, "time": time_ns + i}
                     for i, (kind, f, value) in enumerate(tail)]


def run_case(case: Case, seed: int) -> bool:
    events = generate.generate(case.workload, case.ops, case.keys, case.processes, seed)
    if case.stale_read:
        events = plant_stale_read(events)
    wall = time.perf_counter()
    ops = history.pair(history.from_dicts(events))
    parse_wall = time.perf_counter() - wall
    wall, cpu = time.perf_counter(), time.process_time()
    verdict = CHECKERS[case.workload](ops)
    check_wall, check_cpu = time.perf_counter() - wall, time.process_time() - cpu
    expected = "invalid" if case.stale_read else "valid"
    target = "-" if case.target_s is None else f"{case.target_s:g}"
    met = "" if case.target_s is None else ("met" if parse_wall + check_wall <= case.target_s else "MISSED")
    print(f"{case.workload + (' +stale' if case.stale_read else ''):16} {case.ops:>7} {case.keys:>4} "
          f"{case.processes:>5}  {verdict.outcome:8} {parse_wall:>7.2f} {check_wall:>7.2f} {check_cpu:>7.2f} "
          f"{parse_wall + check_wall:>7.2f} {target:>6} {met}", flush=True)
    if verdict.outcome != expected:
        print(f"  wrong verdict, expected {expected}: {verdict.reason}", flush=True)
    return verdict.outcome == expected


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"only histories of at most {QUICK_OPS_MAX} operations")
    parser.add_argument("--seed", type=int, default=1)
    args, _ = parser.parse_known_args(argv)
    print(f"{'workload':16} {'ops':>7} {'keys':>4} {'procs':>5}  {'verdict':8} {'parse_s':>7} {'check_s':>7} "
          f"{'cpu_s':>7} {'total_s':>7} {'target':>6}")
    wrong = 0
    for case in CASES:
        if not args.quick or case.ops <= QUICK_OPS_MAX:
            wrong += not run_case(case, args.seed)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
