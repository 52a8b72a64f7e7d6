"""jepsen_like: histories of client operations, and the checkers that judge them.

Modules (each owns one thing; checkers are one module per property):

- `history`: the JSON Lines event format, pairing invocations with
  completions into `Operation`s, validation that names the offending line.
- `verdict`: `Verdict` (valid / invalid / unknown, reason, evidence) and the
  exit codes of the `check` command.
- `linearizability`: registers and counters, per key; built on `models`
  (the sequential specifications) and `wgl` (the Wing–Gong–Lowe search).
- `sets`, `list_append`: the set and Elle-style list-append workloads.
- `durability`: acknowledged writes lost by a crash, and when.
- `convergence`: replicas' final dumps or digests are identical.
- `generate`: valid histories from random sequential schedules (with a
  Hypothesis strategy), and planted violations, for tests and benchmarks.
- `cli`: the `check` command; `gcpause`: bulk work without the cyclic GC.

Every checker returns a `Verdict`; malformed input raises `HistoryError`.
"""

from jepsen_like.history import HistoryError, Operation, pair, read
from jepsen_like.verdict import Verdict

__all__ = ["HistoryError", "Operation", "Verdict", "pair", "read"]
