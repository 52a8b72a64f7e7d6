"""`kvserver --check-aof`: redis-check-aof on real files, as a subprocess."""

from __future__ import annotations

import subprocess
import sys

from tests.kvcore.harness import encode_request

GOOD = encode_request("SET", "a", "1") + encode_request("SET", "b", "2")


def check(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "net.main", "--check-aof", *args],
        input=stdin, capture_output=True, text=True, timeout=60,
    )


def test_a_valid_file_is_reported_valid(tmp_path):
    path = tmp_path / "appendonly.aof"
    path.write_bytes(GOOD)
    result = check(str(path))
    assert result.returncode == 0
    assert "is valid" in result.stdout


def test_a_truncated_tail_is_reported_and_fixed_to_the_last_complete_command(tmp_path):
    path = tmp_path / "appendonly.aof"
    path.write_bytes(GOOD + encode_request("SET", "c", "3")[:-4])
    result = check(str(path))
    assert result.returncode == 1
    fixed = check("--fix", str(path), stdin="y\n")
    assert fixed.returncode == 0, fixed.stdout
    assert path.read_bytes() == GOOD
    assert check(str(path)).returncode == 0


def test_a_missing_file_is_an_error(tmp_path):
    result = check(str(tmp_path / "nope.aof"))
    assert result.returncode == 1
    assert "Cannot open file" in result.stdout
