"""The `check` command: one test per exit code, readable and JSON output."""

import json

import pytest
from click.testing import CliRunner

from jepsen_like import generate
from jepsen_like.cli import check, main


def write(path, events):
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    return str(path)


def ev(process, kind, f, value=None, key="k1"):
    return {"process": process, "type": kind, "f": f, "key": key, "value": value}


def timed(*events):
    return [dict(event, time=index * 100) for index, event in enumerate(events)]


STALE_READ = timed(
    ev(0, "invoke", "write", 1), ev(0, "ok", "write", 1),
    ev(1, "invoke", "write", 2), ev(1, "ok", "write", 2),
    ev(2, "invoke", "read"), ev(2, "ok", "read", 1),
)


def run(*args):
    return CliRunner().invoke(check, [str(arg) for arg in args])


def test_valid_history_exits_0(tmp_path):
    path = write(tmp_path / "h.jsonl", generate.generate("register", 200, keys=2, workers=4, seed=1))
    result = run("--model", "register", path)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("VALID (linearizability)")


def test_invalid_history_exits_1_with_evidence(tmp_path):
    result = run("--model", "register", write(tmp_path / "h.jsonl", STALE_READ))
    assert result.exit_code == 1
    assert result.output.startswith("INVALID (linearizability)")
    assert "op: process 2: read k1 -> ok 1  (lines 5-6, t=400..500ns)" in result.output
    assert "window:" in result.output and "prefix:" in result.output


def test_invalid_history_as_json(tmp_path):
    result = run("--model", "register", write(tmp_path / "h.jsonl", STALE_READ), "--json")
    assert result.exit_code == 1
    verdict = json.loads(result.output)
    assert (verdict["outcome"], verdict["valid"]) == ("invalid", False)
    assert verdict["evidence"]["op"]["lines"] == [5, 6]


def test_unknown_exits_2(tmp_path):
    path = write(tmp_path / "h.jsonl", timed(ev(0, "invoke", "add", 1), ev(0, "ok", "add", 1)))
    result = run("--model", "set", path, "--json")
    assert result.exit_code == 2
    assert json.loads(result.output)["outcome"] == "unknown"


def test_out_of_time_exits_2(tmp_path):
    path = write(tmp_path / "h.jsonl", generate.generate("counter", 20000, keys=1, workers=10, seed=2))
    result = run("--model", "counter", path, "--time-limit", "0.000001")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("UNKNOWN")


@pytest.mark.parametrize(("content", "words"), [
    ('{"process": 0, "type": "ok", "f": "read", "value": 1, "time": 0}\n', "line 1: ok completion"),
    ("not json\n", "line 1: not valid JSON"),
])
def test_malformed_history_exits_3(tmp_path, content, words):
    path = tmp_path / "h.jsonl"
    path.write_text(content)
    result = run("--model", "register", path)
    assert result.exit_code == 3
    assert words in result.output


def test_malformed_as_json_and_missing_file_exit_3(tmp_path):
    result = run("--model", "append", tmp_path / "absent.jsonl", "--json")
    assert result.exit_code == 3
    assert json.loads(result.output)["outcome"] == "malformed"


def test_a_model_mismatch_is_malformed(tmp_path):
    result = run("--model", "set", write(tmp_path / "h.jsonl", STALE_READ))
    assert result.exit_code == 3
    assert "line 1: the set workload has no function 'write'" in result.output


@pytest.mark.parametrize(("workload", "model"), [("set", "set"), ("append", "append"), ("counter", "counter")])
def test_every_model_is_reachable(tmp_path, workload, model):
    path = write(tmp_path / "h.jsonl", generate.generate(workload, 100, keys=2, workers=3, seed=4))
    assert run("--model", model, path).exit_code == 0


def test_group_mounts_check(tmp_path):
    result = CliRunner().invoke(main, ["check", "--model", "register", write(tmp_path / "h.jsonl", STALE_READ)])
    assert result.exit_code == 1


def test_expiry_hears_the_nemesis_in_the_file(tmp_path):
    """A kill between a write and the read that misses its key excuses it; without it, early."""
    write_then_miss = [
        ev(0, "invoke", "write", [7, 100]), ev(0, "ok", "write", [7, 100, 1000]),
        ev(1, "invoke", "read"), ev(1, "ok", "read", [None, -2, 1050]),
    ]
    killed = write_then_miss[:2] + [ev("nemesis", "info", "kill", {"event": "start"}, None)] + write_then_miss[2:]
    assert run("--model", "expiry", write(tmp_path / "a.jsonl", timed(*write_then_miss))).exit_code == 1
    result = run("--model", "expiry", write(tmp_path / "b.jsonl", timed(*killed)))
    assert result.exit_code == 0, result.output


def test_queue_is_reachable(tmp_path):
    out_of_order = timed(
        ev(0, "invoke", "enqueue", 1), ev(0, "ok", "enqueue", 1),
        ev(0, "invoke", "enqueue", 2), ev(0, "ok", "enqueue", 2),
        ev(1, "invoke", "dequeue"), ev(1, "ok", "dequeue", 2),
        ev(2, "invoke", "read"), ev(2, "ok", "read", [1]),
    )
    result = run("--model", "queue", write(tmp_path / "q.jsonl", out_of_order))
    assert result.exit_code == 1 and result.output.startswith("INVALID (queue)"), result.output


def test_reference_is_reachable_and_a_clock_jump_excuses_nothing(tmp_path):
    """The reference workload sets no TTL: a clock step between a SET and a GET that misses it excuses nothing."""
    set_then_miss = [
        ev(0, "invoke", "cmd", ["SET", "s", "1"]), ev(0, "ok", "cmd", "OK"),
        ev("nemesis", "info", "clock", {"event": "start"}, None),
        ev(0, "invoke", "cmd", ["GET", "s"]), ev(0, "ok", "cmd", None),
    ]
    assert run("--model", "reference", write(tmp_path / "a.jsonl", timed(*set_then_miss))).exit_code == 1
    kept = set_then_miss[:4] + [ev(0, "ok", "cmd", "1")]
    assert run("--model", "reference", write(tmp_path / "b.jsonl", timed(*kept))).exit_code == 0
