"""Histories: the events a client records and the operations they pair into.

Owns the JSON Lines format (one event per line, in Jepsen's vocabulary)::

    {"process": 3, "type": "invoke", "f": "write", "key": "k1", "value": 7, "time": 1200000}

`time` is integer nanoseconds since the start; `key` may be absent for a
single-object history; a `cas` value is `[expected, new]`; a read's `invoke`
carries `"value": null` and its `ok` carries what was read. Events whose process
is "nemesis" (fault injection) are kept out of the operations.

Also owns pairing (every completion with its invocation) and validation; every
error names the offending line. Checkers read `Operation`s and never parse JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

from jepsen_like.gcpause import paused

EVENT_TYPES = ("invoke", "ok", "fail", "info")
COMPLETION_TYPES = ("ok", "fail", "info")
NEMESIS = "nemesis"


class HistoryError(ValueError):
    """The history is malformed; `line` is the 1-based line that shows it."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


class Event(NamedTuple):
    """One line of a history: an invocation or a completion."""

    process: int | str
    type: str
    f: str
    key: Any
    value: Any
    time: int
    line: int

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"process": self.process, "type": self.type, "f": self.f}
        if self.key is not None:
            out["key"] = self.key
        out["value"] = self.value
        out["time"] = self.time
        return out


class Operation(NamedTuple):
    """An invocation paired with its completion.

    `type` is the completion's type; an invocation never completed is "info"
    (its outcome is unknown) with `complete` None. `value` is what was invoked,
    `result` what the completion carried (what a read saw).
    """

    process: int | str
    f: str
    key: Any
    value: Any
    type: str
    result: Any
    invoke: Event
    complete: Event | None

    @property
    def ok(self) -> bool:
        return self.type == "ok"

    @property
    def complete_line(self) -> int | None:
        return None if self.complete is None else self.complete.line

    def to_json(self, items_max: int = 20) -> dict[str, Any]:
        """The operation as evidence: compact, JSON-ready, with its lines and times.
        A list result longer than `items_max` keeps only its first and last items."""
        out: dict[str, Any] = {"process": self.process, "f": self.f}
        if self.key is not None:
            out["key"] = self.key
        out["value"] = self.value
        out["type"] = self.type
        result = self.result
        if self.complete is not None and result is not None and result != self.value:
            if isinstance(result, list) and len(result) > items_max:
                half = items_max // 2
                result = [*result[:half], f"... {len(result) - 2 * half} more ...", *result[-half:]]
            out["result"] = result
        end = self.complete
        out["lines"] = [self.invoke.line, None if end is None else end.line]
        out["times"] = [self.invoke.time, None if end is None else end.time]
        return out


def parse_event(obj: Any, line: int) -> Event:
    """Validate one decoded JSON object as an event."""
    if type(obj) is not dict:
        raise HistoryError(line, "an event must be a JSON object")
    process, kind, f, key, time = obj.get("process"), obj.get("type"), obj.get("f"), obj.get("key"), obj.get("time")
    if type(process) not in _PROCESS_TYPES:
        raise HistoryError(line, f"'process' must be an integer or a string, not {process!r}")
    if kind not in EVENT_TYPES:
        raise HistoryError(line, f"'type' must be one of {', '.join(EVENT_TYPES)}, not {kind!r}")
    if type(f) is not str or not f:
        raise HistoryError(line, f"'f' must be a non-empty string, not {f!r}")
    if type(key) not in _KEY_TYPES:
        raise HistoryError(line, f"'key' must be a string or an integer, not {key!r}")
    if type(time) is not int or time < 0:
        raise HistoryError(line, f"'time' must be a non-negative integer (ns), not {time!r}")
    return Event(process, kind, f, key, obj.get("value"), time, line)


_PROCESS_TYPES = (int, str)  # exact types: a JSON true is not a process
_KEY_TYPES = (int, str, type(None))


@paused
def parse_lines(lines: Iterable[str]) -> list[Event]:
    """Parse JSON Lines text; blank lines are skipped but still counted."""
    events = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HistoryError(number, f"not valid JSON: {exc.msg}") from None
        events.append(parse_event(obj, number))
    return events


@paused
def from_dicts(objs: Iterable[dict[str, Any]]) -> list[Event]:
    """Events from already-decoded dicts; line numbers are 1-based positions."""
    return [parse_event(obj, number) for number, obj in enumerate(objs, start=1)]


def from_text(text: str, time_step_ns: int = 10) -> list[Event]:
    """Events from a terse table, for hand-written histories in tests and docs.

    One event a line: `process type f [value] [key=K]`; the value is JSON
    without spaces (`7`, `null`, `[0,1]`, `"a"`); `#` starts a comment. The
    n-th event happens at n * time_step_ns.
    """
    rows = []
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        key = words.pop()[2:] if words[-1].startswith("k=") else None
        if len(words) not in (3, 4):
            raise ValueError(f"expected 'process type f [value] [k=key]', got {raw!r}")
        process = int(words[0]) if words[0].lstrip("-").isdigit() else words[0]
        value = json.loads(words[3]) if len(words) == 4 else None
        row = {"process": process, "type": words[1], "f": words[2], "value": value, "time": len(rows) * time_step_ns}
        if key is not None:
            row["key"] = key
        rows.append(row)
    return from_dicts(rows)


def load(path: str | Path) -> list[Event]:
    with open(path, encoding="utf-8") as fp:
        return parse_lines(fp)


def dump(events: Iterable[Event | dict[str, Any]], fp: IO[str]) -> None:
    """Write events as JSON Lines."""
    for event in events:
        obj = event.to_json() if isinstance(event, Event) else event
        fp.write(json.dumps(obj, separators=(",", ":")) + "\n")


@paused
def pair(events: Iterable[Event]) -> list[Operation]:
    """Pair invocations with completions, validating as it goes.

    Checks: times never go backwards; a process has one operation in flight;
    every completion has an invocation with the same f and key. Returns the
    operations in invocation order; invocations never completed become "info".
    """
    ops: list[Operation] = []
    in_flight: dict[int | str, Event] = {}
    last_time = 0
    for event in events:
        if event.time < last_time:
            raise HistoryError(event.line, f"time {event.time} is before the previous event's time {last_time}")
        last_time = event.time
        if event.process == NEMESIS:
            continue
        if event.type == "invoke":
            _invoke(in_flight, event)
        else:
            ops.append(_complete(in_flight, event))
    ops.extend(_pending(invocation) for invocation in in_flight.values())
    ops.sort(key=lambda op: op.invoke.line)
    return ops


def _invoke(in_flight: dict[int | str, Event], event: Event) -> None:
    previous = in_flight.get(event.process)
    if previous is not None:
        raise HistoryError(
            event.line,
            f"process {event.process!r} invokes while its operation from line {previous.line} is still in flight",
        )
    in_flight[event.process] = event


def _complete(in_flight: dict[int | str, Event], event: Event) -> Operation:
    invocation = in_flight.pop(event.process, None)
    if invocation is None:
        raise HistoryError(event.line, f"{event.type} completion for process {event.process!r} has no invocation")
    for field, seen, invoked in (("f", event.f, invocation.f), ("key", event.key, invocation.key)):
        if seen != invoked and not (field == "key" and seen is None):
            raise HistoryError(event.line, f"completion {field} {seen!r} does not match the invocation's "
                                           f"{invoked!r} (line {invocation.line})")
    result = event.value if event.type == "ok" else None
    return Operation(
        invocation.process, invocation.f, invocation.key, invocation.value, event.type, result, invocation, event
    )


def _pending(invocation: Event) -> Operation:
    return Operation(
        invocation.process, invocation.f, invocation.key, invocation.value, "info", None, invocation, None
    )


def read(path: str | Path) -> list[Operation]:
    """Load, validate and pair a JSON Lines history file."""
    return pair(load(path))


def by_key(ops: Iterable[Operation]) -> Iterator[tuple[Any, list[Operation]]]:
    """Group operations per key (P-compositionality), keys in a deterministic order."""
    groups: dict[Any, list[Operation]] = {}
    for op in ops:
        groups.setdefault(op.key, []).append(op)
    for key in sorted(groups, key=key_order):
        yield key, groups[key]


def final_read(ops: Iterable[Operation]) -> Operation | None:
    """The last `ok` read to complete: what a key held at the end (None if no read succeeded)."""
    reads = [op for op in ops if op.f == "read" and op.ok]
    return max(reads, key=lambda op: op.complete.line) if reads else None


def key_order(key: Any) -> tuple[int, Any]:
    """Sort key for history keys: None first, then integers, then strings."""
    if key is None:
        return (0, 0)
    if isinstance(key, int):
        return (1, key)
    return (2, key)


def canonical(value: Any) -> str:
    """A value's canonical JSON text: equal texts mean equal JSON values."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str:
        return _encode_string(value)
    if value is None:
        return "null"
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


_encode_string = json.encoder.encode_basestring_ascii  # what json.dumps uses for a str
