"""Run every benchmark: each ``bench/bench_*.py`` module's ``main(argv)``, in name order.

``python bench/run.py [--only server,types] [--quick] [other options passed on]``.
Every module takes ``--quick``; other options are passed on to each module, so
use them with ``--only``. A benchmark that fails is reported and the others run.
"""

from __future__ import annotations

import argparse
import glob
import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def discover() -> list[str]:
    """Module names of the benchmarks beside this file."""
    return sorted(os.path.basename(path)[:-3] for path in glob.glob(os.path.join(HERE, "bench_*.py")))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="comma-separated benchmark names (server for bench_server)")
    args, passed_on = parser.parse_known_args(argv)
    sys.path.insert(0, HERE)
    sys.path.insert(1, os.path.dirname(HERE))
    wanted = {name if name.startswith("bench_") else "bench_" + name for name in args.only.split(",") if name}
    failures = 0
    for name in discover():
        if wanted and name not in wanted:
            continue
        print(f"== {name} ==", flush=True)
        module = importlib.import_module(name)
        try:
            failures += 1 if module.main(list(passed_on)) else 0
        except SystemExit as exc:  # e.g. an option this benchmark does not take
            if exc.code:
                print(f"{name} stopped: exit {exc.code}", flush=True)
                failures += 1
        except Exception as exc:  # one broken benchmark should not hide the others
            print(f"{name} failed: {exc!r}", flush=True)
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
