"""A run's directory: arguments, trace, history and verdicts, and reading them back.

Layout::

    args.json       the RunConfig and the trace hash (what replay needs)
    summary.json    the JSON summary (`Result.summary`)
    trace.jsonl     every record of the trace (`sim.trace.FIELDS`)
    history.jsonl   the jepsen_like history (`kvsim check` reads it)
    verdicts.json   each checker's verdict with its evidence
    faults.json     the fault schedule, by index
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from jepsen_like import history
from sim import trace
from sim.world import Result, RunConfig

ARGS = "args.json"
SUMMARY = "summary.json"
TRACE = "trace.jsonl"
HISTORY = "history.jsonl"
VERDICTS = "verdicts.json"
FAULTS = "faults.json"


def write(result: Result, directory: str | Path) -> Path:
    """Write every file of the run into `directory` (created if needed)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    _json(out / ARGS, {"config": result.config.to_json(), "trace_hash": result.trace_hash})
    _json(out / SUMMARY, result.summary())
    _json(out / VERDICTS, {name: verdict.to_json() for name, verdict in result.verdicts.items()})
    _json(out / FAULTS, [dict(index=i, **dataclasses.asdict(event)) for i, event in enumerate(result.fault_events)])
    with open(out / HISTORY, "w", encoding="utf-8") as fp:
        history.dump(result.history, fp)
    if result.records is not None:
        with open(out / TRACE, "w", encoding="utf-8") as fp:
            trace.dump(result.records, fp)
    return out


def read_args(directory: str | Path) -> tuple[RunConfig, str]:
    """The config and trace hash a run directory recorded."""
    with open(Path(directory) / ARGS, encoding="utf-8") as fp:
        obj = json.load(fp)
    return RunConfig.from_json(obj["config"]), obj["trace_hash"]


def _json(path: Path, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as fp:
        json.dump(obj, fp, indent=2, default=str)
        fp.write("\n")
