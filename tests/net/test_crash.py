"""A crashing kvserver leaves Redis's bug report in its log and dies by the signal (integration/logging.tcl)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys

import redis

from tests.kvcore.test_dump import HASH_DUPLICATE
from tests.net.util import resp2, wait_until
from tests.servers import free_port, running


@contextlib.contextmanager
def logged_server(tmp_path, *options: str):
    port = free_port()
    log = tmp_path / "server.log"
    args = [sys.executable, "-m", "net.main", "--port", str(port), "--save", "", "--logfile", str(log),
            "--enable-debug-command", "yes", *options]
    with running(args, port, cwd=str(tmp_path)) as proc:
        yield port, proc, log


def test_debug_segfault_logs_the_bug_report_and_dies_by_sigsegv(tmp_path):
    with logged_server(tmp_path) as (port, proc, log):
        with contextlib.suppress(redis.ConnectionError):
            resp2(port).execute_command("DEBUG", "SEGFAULT")
        assert proc.wait(10) == -signal.SIGSEGV
    text = log.read_text()
    assert "=== REDIS BUG REPORT START: Cut & paste starting from here ===" in text
    assert "crashed by signal: 11" in text


def test_debug_panic_logs_the_guru_meditation_and_aborts(tmp_path):
    with logged_server(tmp_path) as (port, proc, log):
        with contextlib.suppress(redis.ConnectionError):
            resp2(port).execute_command("DEBUG", "PANIC")
        assert proc.wait(10) == -signal.SIGABRT
    assert "Guru Meditation: DEBUG PANIC called at Unix time" in log.read_text()


def test_sigabrt_from_outside_logs_the_bug_report(tmp_path):
    with logged_server(tmp_path) as (port, proc, log):
        assert resp2(port).ping()
        os.kill(proc.pid, signal.SIGABRT)
        assert proc.wait(10) == -signal.SIGABRT
        assert wait_until(lambda: "crashed by signal: 6" in log.read_text())


def test_a_failed_assertion_exits_with_status_1_under_use_exit_on_panic(tmp_path):
    """corrupt-dump.tcl's servers: a corrupt value read, the assertion in the log, no signal."""
    with logged_server(tmp_path, "--use-exit-on-panic", "yes") as (port, proc, log):
        client = resp2(port)
        assert client.restore("key", 0, HASH_DUPLICATE) == b"OK"  # sanitize-dump-payload no: taken as it is
        with contextlib.suppress(redis.ConnectionError):
            client.hgetall("key")
        assert proc.wait(10) == 1
    text = log.read_text()
    assert "=== ASSERTION FAILED ===" in text
    assert "crashed by signal" not in text
