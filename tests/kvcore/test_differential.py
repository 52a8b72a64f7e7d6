"""kvcore against redis-server 7.0: random command sequences, every reply equal and every key stored alike."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tests.kvcore.differential as differential_pkg
from kvcore.keyspace import Database
from tests.kvcore.differential.runner import Differential

FAMILIES = sorted(
    name for _, name, _ in pkgutil.iter_modules(differential_pkg.__path__) if name not in ("runner", "common")
)


@pytest.fixture(scope="module", params=[2, 3], ids=["resp2", "resp3"])
def differential(request, redis_port):
    diff = Differential(redis_port, protocol=request.param)
    yield diff
    diff.close()


@pytest.mark.parametrize("family", FAMILIES)
def test_family_matches_redis(family, differential):
    module = importlib.import_module(f"tests.kvcore.differential.{family}")
    # Mix in string commands so keys of other types meet each family (WRONGTYPE paths).
    strings = importlib.import_module("tests.kvcore.differential.strings")
    step = st.one_of(module.commands(), module.commands(), module.commands(), strings.commands())

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.lists(step, min_size=1, max_size=25))
    def check(commands):
        differential.run(commands, module.COMPARE)

    check()


def test_a_key_stored_differently_is_caught(differential, monkeypatch):
    """The check after the replies: a planted bug that leaves every reply right (APPEND no longer
    makes its string raw) is caught by how the key is stored."""
    commands = [[b"SET", b"k1", b"12"], [b"APPEND", b"k1", b"3"]]
    differential.run(commands, {})
    monkeypatch.setattr(Database, "mark_raw", lambda db, key: None)
    with pytest.raises(AssertionError, match="stored differently"):
        differential.run(commands, {})
