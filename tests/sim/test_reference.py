"""The reference workload: every reply judged while nothing is in doubt, less once faults put state in doubt."""

from sim.world import RunConfig, run


def test_without_faults_every_reply_is_judged_and_valid():
    result = run(RunConfig(workload="reference", clients=4, duration_ms=20_000, seed=3))
    verdict = result.verdicts["reference"]
    assert verdict.valid is True
    assert verdict.evidence["unjudged"] == 0
    assert verdict.evidence["judged"] == result.ops["ok"] > 100


def test_a_crash_without_persistence_leaves_later_replies_unjudged_not_failed():
    result = run(RunConfig(workload="reference", clients=4, duration_ms=20_000, seed=3, faults=("kill",)))
    verdict = result.verdicts["reference"]
    assert result.faults["kill"] > 0
    assert verdict.valid is True and verdict.evidence["unjudged"] > 0
