"""Start real server processes (redis-server, kvserver) on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    port = free_port()
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
    """A real kvserver process on a free port; yields (port, process)."""
    port = free_port()
    args = [sys.executable, "-m", "net.main", "--port", str(port), *(extra or [])]
    with tempfile.TemporaryDirectory() as workdir, running(args, port, cwd=cwd or workdir) as proc:
        yield port, proc
