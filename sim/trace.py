"""The trace of a run: every delivered segment, fault, effect and client operation.

Records are compact tuples ``(kind, t_ms, *fields)``; `FIELDS` names the fields
of each kind for the JSON form. The trace hash is computed incrementally:
records are gathered in chunks and each chunk's marshal serialization is fed
to the hash, so a run that keeps nothing still proves what happened, at little
cost per record. Marshal format 0 has no references and no interning marks,
so equal records give equal bytes whatever the objects' identities (fields
are ints, strings, bytes, None, and lists or tuples of them). A run asked to keep its records (``keep=True``) can write
them as JSON Lines. Two runs with the same seed and arguments give the same
hash, in any process.
"""

from __future__ import annotations

import hashlib
import json
import marshal
from collections.abc import Iterable
from typing import IO, Any

FIELDS: dict[str, tuple[str, ...]] = {
    "seg": ("conn", "src", "dst", "data"),  # a segment delivered; data is bytes or a control word
    "conn": ("event", "conn", "src", "dst"),  # connect, refuse
    "effect": ("node", "effect", "arg", "size"),  # an effect carried out by a node's runtime
    "node": ("node", "event", "detail"),  # start, kill, power-off, power-loss, pause, resume, shutdown
    "fault": ("fault", "index", "target", "detail"),  # a fault injected (or ended) by the nemesis
    "op": ("process", "type", "f", "key", "value"),  # a client operation's invocation or completion
    "phase": ("name",),  # the run's phases: faults, liveness, final, end
}
CHUNK_RECORDS = 4096
MARSHAL_FORMAT = 0  # the one without references or interning flags


class Trace:
    """Hash (always) and records (when kept) of everything a run did."""

    __slots__ = ("_hash", "_chunk", "_room", "records")

    def __init__(self, keep: bool = False) -> None:
        self._hash = hashlib.blake2b(digest_size=16)
        self._chunk: list[tuple] = []
        self._room = CHUNK_RECORDS
        self.records: list[tuple] | None = [] if keep else None

    def add(self, record: tuple) -> None:
        """One record ``(kind, t_ms, *fields)``, fields as `FIELDS` names them."""
        self._chunk.append(record)
        self._room -= 1
        if not self._room:
            self._flush()

    def _flush(self) -> None:
        chunk = self._chunk
        self._hash.update(marshal.dumps(chunk, MARSHAL_FORMAT))
        if self.records is not None:
            self.records.extend(chunk)
        self._chunk = []
        self._room = CHUNK_RECORDS

    def hexdigest(self) -> str:
        self._flush()
        return self._hash.hexdigest()

    def kept(self) -> list[tuple]:
        """Every record so far (the trace must keep them)."""
        assert self.records is not None, "this trace keeps no records"
        self._flush()
        return self.records


def to_json(record: tuple) -> dict[str, Any]:
    """One record as a JSON-ready dict; bytes become latin-1 text."""
    kind, t, *fields = record
    out: dict[str, Any] = {"t": t, "kind": kind}
    for name, value in zip(FIELDS[kind], fields):
        out[name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def dump(records: Iterable[tuple], fp: IO[str]) -> None:
    for record in records:
        fp.write(json.dumps(to_json(record), separators=(",", ":")) + "\n")


def around(records: Iterable[dict[str, Any]], t_ms: int, window_ms: int) -> list[dict[str, Any]]:
    """The JSON records within `window_ms` of `t_ms`."""
    return [record for record in records if abs(record["t"] - t_ms) <= window_ms]
