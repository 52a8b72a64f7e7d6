"""Verdicts: what every checker returns.

Owns the `Verdict` value (valid, invalid or unknown, a one-line reason and a
JSON-ready evidence dict) and its mapping to the `check` command's exit codes.
A checker never raises to say "invalid": it returns a verdict. It raises
`HistoryError` only when the input itself is malformed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNKNOWN = 2
EXIT_MALFORMED = 3


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
