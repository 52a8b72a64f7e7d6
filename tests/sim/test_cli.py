"""`kvsim`: run, replay, sweep, shrink and check, through click's runner."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import DURATION, command, main
from sim.world import RunConfig

ROOT = Path(__file__).resolve().parents[2]
SHORT = ["--duration", "5s", "--clients", "3"]


def _kvsim(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_run_prints_a_json_summary_and_exits_zero_when_valid():
    result = _kvsim("run", "--seed", "1", "--faults", "partition,lag,pause", *SHORT, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    for field in ("seed", "faults", "ops", "verdicts", "trace_hash", "sim_seconds", "wall_seconds"):
        assert field in summary
    assert set(summary["ops"]) == {"ok", "fail", "info"}
    assert summary["verdicts"]["linearizability"]["outcome"] == "valid"
    assert set(summary["faults"]) == {"partition", "lag", "pause"}


def test_a_failing_run_prints_its_replay_command_which_reproduces_it():
    result = _kvsim("run", "--seed", "2", "--faults", "kill", "--config", "appendonly=no", *SHORT)  # kills lose data
    assert result.exit_code == 1
    assert "durability       invalid" in result.output
    replay = result.output.split("Replay with:\n", 1)[1].strip()
    args = shlex.split(replay)
    assert args[:2] == ["kvsim", "replay"]
    again = _kvsim(*args[1:])
    assert again.exit_code == 0, again.output
    assert "trace hash identical" in again.output


def test_the_table_shows_operations_faults_verdicts_times_and_hash():
    result = _kvsim("run", "--seed", "3", "--faults", "pause", *SHORT)
    for text in ("operations  ok", "faults      pause", "checker", "liveness", "simulated", "wall", "trace "):
        assert text in result.output


def test_out_dir_holds_trace_history_verdicts_and_args_and_replays(tmp_path):
    out = tmp_path / "run"
    result = _kvsim("run", "--seed", "4", "--faults", "partition", *SHORT, "--out", str(out))
    assert result.exit_code == 0
    for name in ("args.json", "summary.json", "trace.jsonl", "history.jsonl", "verdicts.json", "faults.json"):
        assert (out / name).is_file(), name
    kinds = {json.loads(line)["kind"] for line in (out / "trace.jsonl").read_text().splitlines()}
    assert {"seg", "effect", "op", "fault", "node", "phase"} <= kinds
    replayed = _kvsim("replay", str(out))
    assert replayed.exit_code == 0 and "trace hash identical" in replayed.output
    near = _kvsim("replay", str(out), "--around", "1s", "--window", "200ms")
    lines = [json.loads(line) for line in near.output.splitlines() if line.startswith("{")]
    assert lines and all(800 <= line["t"] <= 1200 for line in lines)


def test_replay_notices_a_different_hash():
    result = _kvsim("replay", "--seed", "1", *SHORT, "--expect-hash", "0" * 32)
    assert result.exit_code == 1 and "DIFFERS" in result.output


def test_check_judges_the_written_history(tmp_path):
    out = tmp_path / "run"
    _kvsim("run", "--seed", "2", "--faults", "kill", "--config", "appendonly=no", *SHORT, "--out", str(out))
    verdict = _kvsim("check", "--model", "register", str(out / "history.jsonl"))
    assert verdict.exit_code == 1 and "INVALID" in verdict.output


def test_sweep_lists_failing_seeds_with_replay_commands():
    result = _kvsim("sweep", "--seeds", "1-4", "--jobs", "2", "--faults", "kill", "--config", "appendonly=no", *SHORT)
    assert result.exit_code == 1
    assert "4 seeds: 4 failing" in result.output
    assert result.output.count("kvsim replay --seed") == 4


def test_sweep_passes_when_every_seed_does():
    result = _kvsim("sweep", "--seeds", "1,2", "--jobs", "1", "--faults", "pause", *SHORT, "--json")
    assert result.exit_code == 0
    assert json.loads(result.output.splitlines()[-1]) == {"seeds": 2, "failing": [], "unknown": 0}


def test_shrink_prints_a_smaller_failing_run():
    result = _kvsim("shrink", "--seed", "2", "--faults", "kill,pause", "--config", "appendonly=no", "--duration", "10s",
                    "--clients", "4", "--max-runs", "30")
    assert result.exit_code == 1
    assert "shrunk in" in result.output and "-> 1 clients" in result.output
    assert "--only-faults" in result.output


def test_a_replicated_run_judges_convergence():
    result = _kvsim("run", "--seed", "4", "--replicas", "2", "--faults", "partition,pause", *SHORT, "--json")
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)["verdicts"]["convergence"]
    assert verdict["outcome"] == "valid" and "all 2 replicas caught up" in verdict["reason"]


@pytest.mark.parametrize("cluster", [False, True])
def test_command_round_trips_a_config(cluster):
    config = RunConfig(seed=9, workload="set", nodes=2, replicas=1, clients=3, duration_ms=1500, faults=("kill", "lag"),
                       only_faults=(1, 4), think_ms_mean=50, config=(("appendonly", "yes"),), cluster=cluster)
    result = _kvsim(*command(config)[1:], "--json")
    assert json.loads(result.output)["config"] == config.to_json()


@pytest.mark.parametrize("text, ms", [("60s", 60_000), ("500ms", 500), ("2m", 120_000), ("1.5s", 1500), ("3", 3000)])
def test_durations(text, ms):
    assert DURATION.convert(text, None, None) == ms


def test_python_dash_m_sim_is_kvsim():
    done = subprocess.run([sys.executable, "-m", "sim", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0
    for name in ("run", "replay", "sweep", "shrink", "check"):
        assert name in done.stdout
