"""The `check` command: judge a history file with one checker.

    check --model register|counter|set|append|queue|expiry|cache|pubsub|bank|reference HISTORY.jsonl [--time-limit S] [--json]

Prints the verdict and its evidence (readable text, or one JSON object with
--json) and exits 0 valid, 1 invalid, 2 unknown, 3 malformed history (or an
unreadable file). Click's own usage errors (say, an unknown option) exit 2,
as they always do in click.

`check` is a click command for the kvsim group to mount (`kvsim check`);
`main` is a group holding it, for `python -m jepsen_like check ...`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from jepsen_like import bank, cache, expiry, history, linearizability, list_append, pubsub, queue, reference, sets
from jepsen_like.verdict import EXIT_MALFORMED, Verdict

MODELS = ("register", "counter", "set", "append", "queue", "expiry", "cache", "pubsub", "bank", "reference")
TIME_LIMIT_S_DEFAULT = 60.0


def judge(model: str, ops: Sequence[history.Operation], time_limit_s: float | None = None,
          disruptions: Sequence[int] = ()) -> Verdict:
    """Run the checker that `--model` names (`disruptions`: the nemesis's, for expiry, cache and reference)."""
    if model in ("register", "counter"):
        return linearizability.check(ops, model, time_limit_s)
    if model == "set":
        return sets.check(ops)
    if model == "append":
        return list_append.check(ops)
    if model == "queue":
        return queue.check(ops)
    if model == "expiry":
        return expiry.check(ops, disruptions)
    if model == "cache":
        return cache.check(ops, disruptions)
    if model == "pubsub":
        return pubsub.check(ops)
    if model == "bank":
        return bank.check(ops)
    if model == "reference":
        return reference.check(ops, disruptions)
    raise ValueError(f"unknown model {model!r} (known: {', '.join(MODELS)})")


@click.command("check")
@click.option("--model", type=click.Choice(MODELS), required=True, help="What the history exercised.")
@click.argument("history_path", metavar="HISTORY.jsonl", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--time-limit", "time_limit_s", type=click.FloatRange(min=0), default=TIME_LIMIT_S_DEFAULT,
              show_default=True, help="Seconds the search may take before the verdict is unknown; 0: no limit.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object.")
@click.pass_context
def check(ctx: click.Context, model: str, history_path: Path, time_limit_s: float, as_json: bool) -> None:
    """Check a JSON Lines history: exit 0 valid, 1 invalid, 2 unknown, 3 malformed."""
    try:
        events = history.load(history_path)
        # A clock step changes nothing the reference workload does: its deadlines are decades away.
        disruptions = expiry.disruptions(events, clocks=model != "reference")
        verdict = judge(model, history.pair(events), time_limit_s or None, disruptions)
    except (history.HistoryError, OSError, UnicodeDecodeError) as exc:
        _malformed(history_path, exc, as_json)
        ctx.exit(EXIT_MALFORMED)
    if as_json:
        click.echo(json.dumps(verdict.to_json(), indent=2))
    else:
        click.echo(render(verdict))
    ctx.exit(verdict.exit_code)


def _malformed(path: Path, exc: Exception, as_json: bool) -> None:
    message = f"{path}: {exc}"
    if as_json:
        click.echo(json.dumps({"outcome": "malformed", "valid": None, "error": message}, indent=2))
    else:
        click.echo(f"MALFORMED {message}", err=True)


def render(verdict: Verdict) -> str:
    """A verdict as readable text: outcome, reason, then the evidence indented."""
    lines = [f"{verdict.outcome.upper()} ({verdict.checker})", verdict.reason]
    if verdict.evidence:
        lines.append("evidence:")
        lines += _render(verdict.evidence, 1)
    return "\n".join(lines)


def _render(value: Any, depth: int) -> list[str]:
    pad = "  " * depth
    if isinstance(value, dict):
        lines = []
        for name, item in value.items():
            if _inline(item):
                lines.append(f"{pad}{name}: {_scalar(item)}")
            else:
                lines += [f"{pad}{name}:", *_render(item, depth + 1)]
        return lines
    if isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        lines = []
        for item in value:
            lines += [f"{pad}- {_scalar(item)}"] if _inline(item) else [f"{pad}-", *_render(item, depth + 1)]
        return lines
    return [f"{pad}{_scalar(value)}"]


def _inline(value: Any) -> bool:
    """Whether a value fits on its line: an operation, a scalar, or a list of scalars."""
    if _is_op(value) or not isinstance(value, (dict, list)) or not value:
        return True
    return isinstance(value, list) and not any(isinstance(item, (dict, list)) for item in value)


def _is_op(value: Any) -> bool:
    return isinstance(value, dict) and {"process", "f", "lines"} <= value.keys()


def _scalar(value: Any) -> str:
    if _is_op(value):
        return _op_line(value)
    return json.dumps(value)


def _op_line(op: dict[str, Any]) -> str:
    """One operation on one line: process, call, outcome, lines and times."""
    call = " ".join(json.dumps(part) if not isinstance(part, str) else part
                    for part in (op["f"], op.get("key"), op.get("value")) if part is not None)
    outcome = op["type"] if "result" not in op else f"{op['type']} {json.dumps(op['result'])}"
    first, last = op["lines"]
    start, end = op["times"]
    where = f"line {first}, never completed" if last is None else f"lines {first}-{last}"
    when = f"t={start}ns" if end is None else f"t={start}..{end}ns"
    return f"process {op['process']}: {call} -> {outcome}  ({where}, {when})"


@click.group()
def main() -> None:
    """Histories and the checkers that judge them."""


main.add_command(check)
