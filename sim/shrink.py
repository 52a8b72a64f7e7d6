"""Shrinking a failing run: fewer clients, fewer faults, a shorter run, that still fail.

A candidate counts as failing when one of the checkers that failed the
original run fails it too. The search is greedy, in an order that keeps each
step meaningful: clients first (the schedule's targets depend on them), then
the fault events (delta debugging over schedule indices, via
`RunConfig.only_faults`), then the duration, bisected down toward the last
kept event (a shorter fault phase keeps a prefix of the schedule, so the kept
indices still name the same events).
Every step is bounded by `max_runs` runs in all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from sim.world import Result, RunConfig, fault_schedule, run

DURATION_MS_MIN = 1000
DURATION_STEP_MS = 250  # the bisection stops this close


@dataclass
class Shrunk:
    """The smallest failing config found, its result, and how many runs it took."""

    config: RunConfig
    result: Result
    runs: int


class _Search:
    def __init__(self, original: Result, max_runs: int, on_try: Callable[[RunConfig, bool], None] | None) -> None:
        self.wanted = set(original.failed_checkers)
        self.best = original
        self.runs = 0
        self.max_runs = max_runs
        self.on_try = on_try

    def attempt(self, config: RunConfig) -> bool:
        """Run a candidate; keep it if it fails the same way."""
        if self.runs >= self.max_runs:
            return False
        self.runs += 1
        result = run(config)
        fails = bool(self.wanted & set(result.failed_checkers))
        if self.on_try is not None:
            self.on_try(config, fails)
        if fails:
            self.best = result
        return fails


def shrink(original: Result, max_runs: int = 100, on_try: Callable[[RunConfig, bool], None] | None = None) -> Shrunk:
    """Search for a smaller config that fails like `original` (which must have failed)."""
    if original.valid is not False:
        raise ValueError("only a failing run can be shrunk")
    search = _Search(original, max_runs, on_try)
    _clients(search)
    _faults(search)
    _duration(search)
    return Shrunk(search.best.config, search.best, search.runs)


def _clients(search: _Search) -> None:
    config = search.best.config
    for clients in sorted({1, config.clients // 2, config.clients - 1}):
        if 1 <= clients < search.best.config.clients and search.attempt(dataclasses.replace(config, clients=clients)):
            return


def _faults(search: _Search) -> None:
    """ddmin over the schedule's indices: drop chunks while the run still fails."""
    config = search.best.config
    kept = list(config.only_faults) if config.only_faults is not None else list(range(len(fault_schedule(config))))
    chunk = max(1, len(kept) // 2)
    while kept and chunk >= 1:
        start = 0
        while start < len(kept):
            candidate = kept[:start] + kept[start + chunk:]
            if search.attempt(dataclasses.replace(search.best.config, only_faults=tuple(candidate))):
                kept = candidate
            else:
                start += chunk
        if chunk == 1:
            break
        chunk //= 2


def _duration(search: _Search) -> None:
    """Bisect the duration between the last kept event's time and the current duration."""
    config = search.best.config
    events = fault_schedule(config)
    kept = range(len(events)) if config.only_faults is None else config.only_faults
    low = max([DURATION_MS_MIN - 1] + [events[index].at_ms + 1 for index in kept if index < len(events)])
    high = config.duration_ms  # fails
    while high - low > DURATION_STEP_MS:
        middle = (low + high) // 2
        if search.attempt(dataclasses.replace(search.best.config, duration_ms=middle)):
            high = middle
        else:
            low = middle
