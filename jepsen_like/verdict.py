"""Verdicts: what every checker returns.

Owns the `Verdict` value (valid, invalid or unknown, a one-line reason and a
JSON-ready evidence dict) and its mapping to the `check` command's exit codes.
A checker never raises to say "invalid": it returns a verdict. It raises
`HistoryError` only when the input itself is malformed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNKNOWN = 2
EXIT_MALFORMED = 3
ANOMALIES_SHOWN_MAX = 20  # per anomaly type in a verdict's evidence; the counts are always complete


@dataclass(frozen=True)
class Verdict:
    """A checker's judgement.

    `valid` is True (the property holds), False (it is violated; `evidence`
    holds the proof) or None (unknown: out of time, or not enough data).
    """

    valid: bool | None
    checker: str
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        if self.valid is None:
            return "unknown"
        return "valid" if self.valid else "invalid"

    @property
    def exit_code(self) -> int:
        if self.valid is None:
            return EXIT_UNKNOWN
        return EXIT_VALID if self.valid else EXIT_INVALID

    def to_json(self) -> dict[str, Any]:
        return {
            "checker": self.checker,
            "outcome": self.outcome,
            "valid": self.valid,
            "reason": self.reason,
            "evidence": self.evidence,
        }


def valid(checker: str, reason: str, **evidence: Any) -> Verdict:
    return Verdict(True, checker, reason, evidence)


def invalid(checker: str, reason: str, **evidence: Any) -> Verdict:
    return Verdict(False, checker, reason, evidence)


def unknown(checker: str, reason: str, **evidence: Any) -> Verdict:
    return Verdict(None, checker, reason, evidence)


class Judged:
    """A run's outcome from its checkers' `verdicts` (mixed into the simulated and the real run's results)."""

    verdicts: dict[str, Verdict]

    @property
    def valid(self) -> bool | None:
        """False if any checker found a violation; None if none did but some could not tell."""
        outcomes = [verdict.valid for verdict in self.verdicts.values()]
        if False in outcomes:
            return False
        return None if None in outcomes else True

    @property
    def failed_checkers(self) -> list[str]:
        return [name for name, verdict in self.verdicts.items() if verdict.valid is False]


def anomaly_counts(anomalies: list[dict[str, Any]]) -> dict[str, int]:
    """How many anomalies of each ``type``, by type name."""
    return dict(sorted(Counter(anomaly["type"] for anomaly in anomalies).items()))


def shown(anomalies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first `ANOMALIES_SHOWN_MAX` anomalies of each type, in their order."""
    out: list[dict[str, Any]] = []
    per_type: Counter[str] = Counter()
    for anomaly in anomalies:
        per_type[anomaly["type"]] += 1
        if per_type[anomaly["type"]] <= ANOMALIES_SHOWN_MAX:
            out.append(anomaly)
    return out
