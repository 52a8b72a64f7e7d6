"""The convergence checker: identical replicas, or the first differing key."""

import pytest

from jepsen_like import convergence


def test_identical_dumps_converge():
    dump = {b"a": b"1", b"b": [1, 2]}
    verdict = convergence.check({"r1": dump, "r2": dict(dump), "r3": dict(dump)})
    assert verdict.valid is True


def test_the_first_differing_key_in_sorted_order_is_reported():
    leader = {"a": 1, "b": 2, "c": 3, "d": 4}
    verdict = convergence.check({
        "leader": leader,
        "r1": {"a": 1, "b": 2, "c": 30, "d": 40},
        "r2": {"a": 1, "c": 3, "d": 4},
    }, reference="leader")
    assert verdict.valid is False
    assert verdict.evidence["first_key"] == "b"
    assert verdict.evidence["values"] == {"leader": 2, "r1": 2, "r2": "<missing>"}
    assert verdict.evidence["differing_key_count"] == 3
    assert verdict.evidence["differing_replicas"] == ["r1", "r2"]


def test_bytes_keys_and_values_are_shown_as_text():
    verdict = convergence.check({"r1": {b"k": b"\xff"}, "r2": {b"k": b"v"}})
    assert verdict.evidence["first_key"] == "k"
    assert verdict.evidence["values"] == {"r1": "\\xff", "r2": "v"}


def test_digests_are_compared_whole():
    assert convergence.check({"r1": "abc", "r2": "abc"}).valid is True
    verdict = convergence.check({"r1": "abc", "r2": "abd", "r3": "abc"})
    assert verdict.valid is False
    assert verdict.evidence["differing_replicas"] == ["r2"]
    assert verdict.evidence["digests"] == {"abc": ["r1", "r3"], "abd": ["r2"]}


def test_no_replicas_is_unknown_and_one_replica_converges():
    assert convergence.check({}).valid is None
    assert convergence.check({"only": {"a": 1}}).valid is True


def test_mixing_dumps_and_digests_is_refused():
    with pytest.raises(TypeError, match="not a mix"):
        convergence.check({"r1": {"a": 1}, "r2": "digest"})


def test_an_unknown_reference_is_refused():
    with pytest.raises(ValueError, match="reference"):
        convergence.check({"r1": {}}, reference="leader")
