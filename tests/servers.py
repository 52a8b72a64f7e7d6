"""Start real server processes (redis-server, kvserver) on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

_PORTS_FROM, _PORTS_TO = 20000, 32768  # below Linux's ephemeral range: no client socket takes one
_ports_given: set[int] = set()
_ports_lock = threading.Lock()


BUS_OFFSET = 10000  # a cluster node's bus port is its port + 10000


def free_port(bus: bool = False) -> int:
    """A loopback port no earlier call handed out, free now (with ``bus``, port + 10000 too,
    both below the ephemeral range, for a cluster node's bus).

    The kernel's port 0 would do for one server at a time, but tests start many
    at once: it may hand a just-closed port to two of them, and the client of
    one then talks to the other (and a test stops a server still starting up).
    The first port tried depends on the pid, so two test runs rarely meet.
    """
    span = _PORTS_TO - _PORTS_FROM - (BUS_OFFSET if bus else 0)
    with _ports_lock:
        start = os.getpid() * 97 % span
        for step in range(span):
            port = _PORTS_FROM + (start + step) % span
            wanted = (port, port + BUS_OFFSET) if bus else (port,)
            if not any(p in _ports_given for p in wanted) and all(_bindable(p) for p in wanted):
                _ports_given.update(wanted)
                return port
    raise RuntimeError("no free loopback port left")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("0.0.0.0", port))  # every interface: kvserver and redis-server bind '*' by default
        except OSError:
            return False
        return True


def wait_for_port(port: int, proc: subprocess.Popen, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.02)
    raise RuntimeError(f"server did not listen on {port}")


@contextlib.contextmanager
def running(args: list[str], port: int, cwd: str | None = None):
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    try:
        wait_for_port(port, proc)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()


@contextlib.contextmanager
def redis_server(extra: list[str] | None = None):
    """redis-server with no persistence on a free port, in a fresh directory; yields the port."""
    with tempfile.TemporaryDirectory() as workdir, redis_server_in_dir(workdir, extra) as port:
        yield port


@contextlib.contextmanager
def redis_server_in_dir(workdir: str, extra: list[str] | None = None):
    """redis-server with ``--dir workdir`` (it loads the dump.rdb found there, SAVE writes one); yields the port."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server")
    port = free_port(bus="--cluster-enabled" in (extra or []))
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", workdir, "--enable-debug-command", "yes", *(extra or [])]
    with running(args, port):
        yield port


@contextlib.contextmanager
def redis_server_or_skip(extra: list[str] | None = None):
    """As redis_server; skips the test when it is missing, except in CI where that fails."""
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is required in CI (make test installs it)")
        pytest.skip("redis-server not installed: run `make test` (installs it as root) to compare with Redis")
    with redis_server(extra) as port:
        yield port


@contextlib.contextmanager
def kvserver(extra: list[str] | None = None, cwd: str | None = None):
    """A real kvserver process on a free port, DEBUG allowed (as redis_server has it); yields (port, process)."""
    port = free_port(bus="--cluster-enabled" in (extra or []))
    args = [sys.executable, "-m", "net.main", "--port", str(port), "--enable-debug-command", "yes", *(extra or [])]
    with tempfile.TemporaryDirectory() as workdir, running(args, port, cwd=cwd or workdir) as proc:
        yield port, proc


def measured_on_both(measure, kv_extra: list[str] | None = None) -> tuple[object, object]:
    """``measure(port)`` on a fresh redis-server and on a fresh kvserver: (redis-server's, kvserver's)."""
    with redis_server_or_skip() as redis_port, kvserver(kv_extra or ["--save", ""]) as (kv_port, _):
        return measure(redis_port), measure(kv_port)
