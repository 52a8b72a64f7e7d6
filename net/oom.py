"""oom-score-adj: the kernel's OOM-killer preference for this process, as Redis sets it.

``oom-score-adj-values`` holds three values, for a master, a replica and a
background child. With ``oom-score-adj yes`` (or ``relative``) the process's
``/proc/self/oom_score_adj`` becomes the value of its class plus what it was
before kvserver first changed it; ``absolute`` writes the value itself; both
are clamped to -1000..1000. Turning it off writes the original score back.
"""

from __future__ import annotations

MASTER, REPLICA, CHILD = 0, 1, 2  # the classes, in oom-score-adj-values' order
PATH = "/proc/self/oom_score_adj"


class OomScore:
    """What this process changed of its OOM score, so that it can put it back."""

    def __init__(self) -> None:
        self.base: int | None = None  # the score before kvserver first adjusted it

    def apply(self, config, process_class: int) -> str:
        """Set the score ``config`` asks for the class; an error text for the log, or ""."""
        mode = config["oom-score-adj"]
        try:
            if mode != "no":
                if self.base is None:
                    self.base = _read()
                value = int(config["oom-score-adj-values"].split()[process_class])
                if mode != "absolute":
                    value += self.base
                _write(min(max(value, -1000), 1000))
            elif self.base is not None:
                base, self.base = self.base, None
                _write(base)
        except OSError as exc:
            return f"Unable to write oom_score_adj: {exc.strerror or exc}"
        return ""


def _read() -> int:
    with open(PATH) as f:
        return int(f.read().strip() or 0)


def _write(value: int) -> None:
    with open(PATH, "w") as f:
        f.write(f"{value}\n")
