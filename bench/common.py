"""What the benchmarks share: servers on free ports, redis-benchmark runs, CPU time, tables.

Benchmarks compare kvserver with a redis-server started in the same run, so
every number is printed next to Redis's and as a ratio.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from tests.servers import free_port, wait_for_port  # noqa: E402  (the same process helpers as the tests)

CLOCK_TICKS_S = os.sysconf("SC_CLK_TCK")


def require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        sys.exit(f"{binary} not found: install redis-server and redis-tools 7.x (make redis-server)")
    return path


class ServerProcess:
    """A started server: its name, port and process."""

    def __init__(self, name: str, port: int, proc: subprocess.Popen) -> None:
        self.name = name
        self.port = port
        self.proc = proc
        self.dir = ""

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far (/proc/<pid>/stat)."""
        with open(f"/proc/{self.proc.pid}/stat") as handle:
            text = handle.read()
        fields = text[text.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_S


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def start(name: str, args: list[str], port: int, cwd: str, env: dict | None = None):
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd, env=env)
    try:
        wait_for_port(port, proc)
        yield ServerProcess(name, port, proc)
    finally:
        _stop(proc)


@contextlib.contextmanager
def redis_and_kvserver(kvserver_args: list[str] | None = None, kv_tree: str = REPO, options: list[str] | None = None,
                       dirs: tuple[str, str] | None = None):
    """Both servers on free loopback ports: yields [redis, kvserver].

    No persistence unless ``options`` (given to both, after the defaults)
    asks for it; each server runs in its own directory (``dirs``: redis's,
    kvserver's; temporary ones by default). ``kv_tree`` runs kvserver from
    another checkout (to compare two versions).
    """
    redis = require("redis-server")
    with tempfile.TemporaryDirectory() as workdir:
        redis_dir, kv_dir = dirs or (os.path.join(workdir, "redis"), os.path.join(workdir, "kvserver"))
        os.makedirs(redis_dir, exist_ok=True)
        os.makedirs(kv_dir, exist_ok=True)
        redis_port, kv_port = free_port(), free_port()
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *(options or [])]
        redis_args = [redis, "--port", str(redis_port), "--dir", redis_dir, "--logfile", "server.log", *common]
        kv_args = [sys.executable, "-m", "net.main", "--port", str(kv_port), "--dir", kv_dir, "--logfile", "server.log",
                   *common, *(kvserver_args or [])]
        env = dict(os.environ, PYTHONPATH=kv_tree + os.pathsep + os.environ.get("PYTHONPATH", ""))
        with start("redis-server", redis_args, redis_port, redis_dir) as r, \
                start("kvserver", kv_args, kv_port, kv_dir, env) as k:
            r.dir, k.dir = redis_dir, kv_dir
            yield [r, k]


def redis_benchmark(port: int, test: str, requests: int, clients: int = 50, pipeline: int = 1,
                    keyspace: int = 0, extra: list[str] | None = None) -> dict[str, float]:
    """Run one redis-benchmark test; ops/s per reported test name."""
    args = [require("redis-benchmark"), "-h", "127.0.0.1", "-p", str(port), "-t", test,
            "-n", str(requests), "-c", str(clients), "-P", str(pipeline), "--csv"]
    if keyspace:
        args += ["-r", str(keyspace)]
    done = subprocess.run(args + (extra or []), capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"redis-benchmark failed: {done.stderr.strip()}")
    results = {}
    for row in csv.reader(io.StringIO(done.stdout)):
        if len(row) >= 2 and row[0] != "test":
            results[row[0]] = float(row[1])
    if not results:
        raise RuntimeError(f"redis-benchmark gave no result for {test}: {done.stdout!r} {done.stderr!r}")
    return results


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain text table, columns right-aligned but the first."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    lines = []
    for index, row in enumerate([headers, *rows]):
        cells = [str(cell).ljust(w) if i == 0 else str(cell).rjust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
