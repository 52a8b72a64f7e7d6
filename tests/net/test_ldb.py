"""The Lua debugger through redis-cli --ldb, on a real kvserver and a real redis-server: the same
session gives the same console, and the dataset after it (rolled back when forked, kept when sync)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.servers import kvserver, redis_server_or_skip

SCRIPT = "local foo = redis.call('ping')\nredis.call('set', KEYS[1], ARGV[1])\nreturn foo\n"
# No step or next: this debugger runs a script to its end where Redis's stops at the next line.
COMMANDS = ["help", "print KEYS", "print ARGV", "print nothing", "redis get x", "redis set y 1", "redis blah",
            "redis incr y z", "eval 1+2", "eval {1,2}", "list", "list 2 1", "whole", "maxlen 10", "redis ping",
            'eval "' + "a" * 80 + '"', "maxlen 0", "break", "trace", "hello", "continue"]


def session(port: int, tmp_path, sync: bool) -> tuple[str, str]:
    script = tmp_path / "script.lua"
    script.write_text(SCRIPT)
    mode = ["--ldb-sync-mode"] if sync else ["--ldb"]
    done = subprocess.run(["redis-cli", "-p", str(port), "--no-raw", *mode, "--eval", str(script), "x", ",", "v"],
                          input="\n".join(COMMANDS) + "\n", capture_output=True, text=True, timeout=30)
    after = subprocess.run(["redis-cli", "-p", str(port), "mget", "x", "y"], capture_output=True, text=True, timeout=10)
    return done.stdout, after.stdout


@pytest.mark.parametrize("sync", [False, True])
def test_a_debugging_session_as_redis_server(tmp_path, sync):
    if shutil.which("redis-cli") is None:
        pytest.skip("redis-cli not installed")
    with redis_server_or_skip() as redis_port, kvserver(["--save", ""]) as (kv_port, _):
        expected = session(redis_port, tmp_path, sync)
        got = session(kv_port, tmp_path, sync)
    assert got == expected
    assert "<redis> get x" in got[0] and "Unknown Redis Lua debugger command" in got[0]
    assert ("v" in got[1]) == sync  # a forked session's SET is rolled back
