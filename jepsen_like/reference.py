"""The reference checker: every reply is the one a sequential Redis gives (`jepsen_like.redis_model`).

Owns the checker for histories where each key stands for a group of Redis
keys that one client uses alone, one command at a time (the reference
workload, `sim.reference_ops`). Functions:

- ``cmd``: invoked with the command (a list of strings); its ``ok`` carries
  the reply in `redis_model.as_json`'s form.
- ``read``: invoked with the commands that read the whole group (a list of
  lists); its ``ok`` carries their replies.
- ``aborted``: invoked with a command queued in MULTI beside one refused when
  queued; its ``ok`` carries EXEC's reply, which must be EXECABORT, and the
  command must have done nothing.

Per key, in history order, the checker runs each operation through a fresh
model and compares. It judges a key only while the model knows the state: an
operation of unknown outcome (``info``: it may land later, even after the
next ones), or a disruption (a crash or disk fault, when a node may have lost
what it held: `disruptions`, as `jepsen_like.expiry.disruptions` finds them),
ends the judging of that key for the rest of the history. A ``fail`` (refused)
operation did nothing. The first reply that differs is the key's anomaly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jepsen_like.expiry import disrupted_between
from jepsen_like.history import HistoryError, Operation, by_key
from jepsen_like.redis_model import RedisModel, normalize
from jepsen_like.verdict import Verdict, invalid, unknown, valid

CHECKER = "reference"
FUNCTIONS = ("cmd", "read", "aborted")
EXEC_ABORTED = {"error": "EXECABORT Transaction discarded because of previous errors."}
SHOWN_MAX = 20


def check(ops: Sequence[Operation], disruptions: Sequence[int] = ()) -> Verdict:
    """Judge a reference history; `disruptions`: sorted times at which a node may have lost its data."""
    anomalies: list[dict[str, Any]] = []
    judged = unjudged = 0
    for key, key_ops in by_key(ops):
        key_ops = sorted(key_ops, key=lambda op: op.invoke.line)
        model, known, known_at = RedisModel(), True, key_ops[0].invoke.time  # a group starts empty
        for op in key_ops:
            _validate(op)
            end = op.invoke.time if op.complete is None else op.complete.time
            known = known and not disrupted_between(disruptions, known_at, end)
            known_at = end
            if not known:
                unjudged += 1
            elif not op.ok:
                known = op.type == "fail"  # refused: it did nothing; of unknown outcome: it may land any time
            else:
                judged += 1
                difference = _compare(model, op)
                if difference is not None:
                    anomalies.append({"key": key, **difference, "op": op.to_json()})
                    known = False  # the model no longer follows the server
    summary = {"judged": judged, "unjudged": unjudged}
    if anomalies:
        first = anomalies[0]
        return invalid(CHECKER, f"{len(anomalies)} keys got a reply Redis would not give; first: "
                                f"{' '.join(first['command'])} replied {first['got']!r}, expected "
                                f"{first['expected']!r}", anomalies=anomalies[:SHOWN_MAX], **summary)
    if not judged:
        return unknown(CHECKER, "no reply could be judged", **summary)
    return valid(CHECKER, f"all {judged} replies judged are Redis's ({unjudged} after an unknown outcome or a "
                          f"crash were not)", **summary)


def _compare(model: RedisModel, op: Operation) -> dict[str, Any] | None:
    if op.f == "aborted":
        if op.result != EXEC_ABORTED:
            return {"command": ["MULTI", *op.value, "...", "EXEC"], "got": op.result, "expected": EXEC_ABORTED}
        return None
    commands = [op.value] if op.f == "cmd" else op.value
    replies = [op.result] if op.f == "cmd" else op.result
    for argv, got in zip(commands, replies):
        expected = model.apply(argv, got)
        got = normalize(argv, got)
        if got != expected:
            return {"command": argv, "got": got, "expected": expected}
    return None


def _validate(op: Operation) -> None:
    if op.f not in FUNCTIONS:
        raise HistoryError(op.invoke.line, f"the reference workload has no function {op.f!r} (it knows {', '.join(FUNCTIONS)})")
    commands = op.value if op.f == "read" else [op.value]
    if not isinstance(commands, list) or not all(isinstance(argv, list) and argv for argv in commands):
        raise HistoryError(op.invoke.line, f"a reference {op.f} is invoked with "
                                           f"{'a list of commands' if op.f == 'read' else 'a command'}, not {op.value!r}")
    if op.ok and op.f == "read" and not (isinstance(op.result, list) and len(op.result) == len(commands)):
        raise HistoryError(op.complete.line, f"a reference read completes with one reply per command, not {op.result!r}")
