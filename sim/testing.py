"""Property-based simulation: a Hypothesis strategy that draws worlds, and helpers that judge them.

    from hypothesis import given, settings
    from sim.testing import assert_valid, worlds

    @settings(max_examples=25, deadline=None)
    @given(worlds(workloads=("register", "counter"), faults=("partition", "pause", "lag")))
    def test_no_anomaly_without_crashes(world):
        assert_valid(world)

`worlds` draws a `RunConfig` (seed, workload, nodes, replicas, clients,
duration and a subset of fault kinds); Hypothesis shrinks a failing one toward fewer
clients, fewer faults, a shorter run and a smaller seed. The helpers run it
and raise `AssertionError` with the summary and the command that replays it.
Hypothesis is a test dependency: import this module from tests only.
"""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import strategies as st

from sim.cli import format_summary, replay_command
from sim.faults import KINDS
from sim.workloads import WORKLOADS
from sim.world import Result, RunConfig, run

DURATION_STEP_MS = 500


def worlds(
    workloads: Iterable[str] = tuple(WORKLOADS),
    faults: Iterable[str] = tuple(KINDS),
    nodes: tuple[int, int] = (1, 1),
    replicas: tuple[int, int] = (0, 0),
    clients: tuple[int, int] = (1, 5),
    duration_ms: tuple[int, int] = (1000, 5000),
    seeds: tuple[int, int] = (0, 2**32 - 1),
    config: tuple[tuple[str, str], ...] = (),
) -> st.SearchStrategy[RunConfig]:
    """Worlds to simulate: every field drawn within the given choices and (inclusive) ranges; the
    nodes' options (`config`, as ``--config`` gives them) fixed."""
    kinds = [kind for kind in KINDS if kind in tuple(faults)]
    return st.builds(
        RunConfig,
        seed=st.integers(*seeds),
        workload=st.sampled_from(tuple(workloads)),
        nodes=st.integers(*nodes),
        replicas=st.integers(*replicas),
        clients=st.integers(*clients),
        duration_ms=st.integers(duration_ms[0] // DURATION_STEP_MS, duration_ms[1] // DURATION_STEP_MS).map(
            lambda steps: max(1, steps) * DURATION_STEP_MS
        ),
        faults=st.lists(st.sampled_from(kinds), unique=True).map(lambda chosen: tuple(sorted(chosen, key=kinds.index)))
        if kinds else st.just(()),
        config=st.just(tuple(config)),
    )


def _explain(result: Result) -> str:
    return f"{format_summary(result)}\nreplay: {replay_command(result)}"


def assert_valid(config: RunConfig, checkers: Iterable[str] | None = None) -> Result:
    """Run `config`; fail unless every checker (or every one named) says valid."""
    result = run(config)
    names = list(result.verdicts) if checkers is None else list(checkers)
    bad = [name for name in names if result.verdicts[name].valid is not True]
    if bad:
        raise AssertionError(f"checkers not valid: {', '.join(bad)}\n{_explain(result)}")
    return result


def assert_fails(config: RunConfig, checker: str | None = None) -> Result:
    """Run `config`; fail unless some checker (or the one named) finds a violation."""
    result = run(config)
    failed = result.failed_checkers
    if not failed or (checker is not None and checker not in failed):
        wanted = checker or "some checker"
        raise AssertionError(f"expected {wanted} to find a violation\n{_explain(result)}")
    return result
