"""Many seeds, in parallel processes: which fail, and how to replay them.

Each seed runs the same arguments otherwise. Workers return a small `Outcome`
(no history), so a sweep of thousands of seeds stays light. With one job the
seeds run in this process (a test's monkeypatches apply); with more, in a
fork-started pool, which inherits them too.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sim.world import RunConfig, run


@dataclass(frozen=True)
class Outcome:
    """One seed's result, as the sweep reports it."""

    seed: int
    valid: bool | None
    failed: tuple[str, ...]
    trace_hash: str
    ops: int
    wall_s: float


def run_seed(config: RunConfig) -> Outcome:
    result = run(config)
    return Outcome(
        config.seed, result.valid, tuple(result.failed_checkers), result.trace_hash,
        sum(result.ops.values()), result.wall_s,
    )


def outcomes(base: RunConfig, seeds: Iterable[int], jobs: int = 1) -> Iterator[Outcome]:
    """Each seed's outcome, as they finish (in seed order with one job)."""
    configs = (dataclasses.replace(base, seed=seed) for seed in seeds)
    if jobs <= 1:
        yield from map(run_seed, configs)
        return
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        yield from pool.imap_unordered(run_seed, configs)


def first_failure(
    base: RunConfig, seeds: Iterable[int], jobs: int = 1, on_outcome: Callable[[Outcome], None] | None = None
) -> Outcome | None:
    """The first failing seed found, stopping there; None if every seed passed."""
    for outcome in outcomes(base, seeds, jobs):
        if on_outcome is not None:
            on_outcome(outcome)
        if outcome.valid is False:
            return outcome
    return None


def parse_seeds(text: str) -> list[int]:
    """``"1-1000"``, ``"7"`` or ``"1,5,9-12"`` -> the seeds, in order."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            low, high = part.split("-", 1)
            seeds.extend(range(int(low), int(high) + 1))
        elif part:
            seeds.append(int(part))
    return seeds
