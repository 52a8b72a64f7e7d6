"""kvcore.keyspace: the scan order, SCAN's guarantee under churn, lazy and active expiry."""

from __future__ import annotations

import random

import hiredis
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kvcore.effects import AppendLog
from kvcore.keyspace import _COMPACT_MIN, Database, ScanOrder
from tests.kvcore.harness import make_node

NOW = 1_700_000_000_000


def key(i: int) -> bytes:
    return b"key:%d" % i


def fill(db: Database, keys) -> None:
    for k in keys:
        db.set(k, b"v")


def scan_all(db: Database, count: int, accept=lambda k: True) -> list[bytes]:
    cursor, out = 0, []
    while True:
        cursor, found = db.scan(cursor, count, accept)
        out.extend(found)
        if cursor == 0:
            return out


def logged_commands(node) -> list[list[bytes]]:
    reader = hiredis.Reader()
    for effect in node.take_effects():
        if isinstance(effect, AppendLog):
            reader.feed(effect.data)
    commands = []
    while (record := reader.gets()) is not False:
        commands.append(record)
    return commands


@pytest.fixture
def db():
    return make_node(now=NOW).dbs[0]


# -- ScanOrder ---------------------------------------------------------------------
def test_positions_are_absolute_and_compaction_waits_for_enough_garbage():
    order = ScanOrder()
    for i in range(_COMPACT_MIN):
        order.append(key(i))
    live = {key(i): None for i in range(_COMPACT_MIN // 2 + 1)}
    order.compact(live)  # more than half live: nothing happens
    assert (order.base, len(order.keys)) == (0, _COMPACT_MIN)
    small = ScanOrder()
    small.append(b"a")
    small.append(b"b")
    small.compact({})  # below the minimum size: nothing happens
    assert small.keys == [b"a", b"b"]


def test_compaction_renumbers_survivors_past_every_old_position():
    order = ScanOrder()
    for i in range(_COMPACT_MIN):
        order.append(key(i))
    live = {key(i): None for i in range(0, _COMPACT_MIN, 4)}
    order.compact(live)
    assert order.base == _COMPACT_MIN
    assert order.keys == list(live)
    # A cursor pointing at old position 401 resumes at the first survivor at or after it (404).
    assert order.keys[order.translate(401) - order.base] == key(404)
    assert order.keys[order.translate(404) - order.base] == key(404)
    assert order.translate(0) == order.base
    assert order.translate(order.base + 3) == order.base + 3  # a current cursor is kept


def test_translation_chains_through_several_compactions():
    order = ScanOrder()
    for i in range(4 * _COMPACT_MIN):
        order.append(key(i))
    live = {key(i): None for i in range(4 * _COMPACT_MIN)}
    old_cursor = 2 * _COMPACT_MIN + 1
    for _ in range(3):
        for k in list(live)[::2]:  # drop half of the survivors each time
            del live[k]
        for j in range(_COMPACT_MIN):  # and grow the list so compaction is due again
            order.append(b"new:%d:%d" % (order.end(), j))
        order.compact(live)
    remaining = order.keys[order.translate(old_cursor) - order.base :]
    expected = [k for k in live if int(k.split(b":")[1]) >= old_cursor]
    assert [k for k in remaining if k in live] == expected


def test_a_cursor_older_than_the_remembered_compactions_restarts_the_scan():
    order = ScanOrder()
    live: dict[bytes, None] = {}
    for round_ in range(6):
        for i in range(_COMPACT_MIN):
            order.append(b"%d:%d" % (round_, i))
        live = {order.keys[-1]: None}
        order.compact(live)
    assert order.translate(5) == order.base  # duplicates are allowed, misses are not


# -- Database.scan ---------------------------------------------------------------
def test_scan_counts_live_keys_and_skips_stale_entries(db):
    fill(db, [key(i) for i in range(30)])
    for i in range(0, 30, 2):
        db.delete(key(i))
    cursor, found = db.scan(0, 5, lambda k: True)
    assert found == [key(1), key(3), key(5), key(7), key(9)]
    cursor, found = db.scan(cursor, 100, lambda k: True)
    assert cursor == 0 and found == [key(i) for i in range(11, 30, 2)]


def test_scan_filters_before_expiring(db):
    node = db.node
    fill(db, [b"a", b"b"])
    db.set_expire(b"a", NOW + 10)
    db.set_expire(b"b", NOW + 10)
    node.now = NOW + 11
    assert db.scan(0, 10, lambda k: k == b"b") == (0, [])
    assert b"a" in db.data and b"b" not in db.data  # only the key that passed the filter was expired


def test_scan_of_a_reinserted_key_is_not_duplicated_within_a_call(db):
    fill(db, [b"a", b"b"])
    db.delete(b"a")
    db.set(b"a", b"again")
    assert db.scan(0, 10, lambda k: True) == (0, [b"a", b"b"])


def test_scan_survives_compaction_caused_by_its_own_lazy_expiry(db):
    """Expiring keys inside one SCAN call may compact the order mid-call."""
    volatile = [key(i) for i in range(700)]
    stable = [key(i) for i in range(700, 1200)]
    fill(db, volatile + stable)
    for k in volatile:
        db.set_expire(k, NOW + 5)
    db.node.now = NOW + 6
    assert set(scan_all(db, 100)) == set(stable)
    assert db.order.base > 0  # the scan did compact


def _apply(db: Database, op, state) -> None:
    kind, n = op
    if kind == "insert":
        for _ in range(n):
            state["next"] += 1
            db.set(b"new:%d" % state["next"], b"v")
    elif kind == "delete":
        for k in list(state["churn"])[:n]:
            db.delete(k)
            del state["churn"][k]
    elif kind == "reinsert":
        for k in list(state["churn"])[:n]:
            db.delete(k)
            db.set(k, b"v")
    elif kind == "expire":
        for k in list(state["churn"])[:n]:
            db.set_expire(k, db.node.now)
            del state["churn"][k]
        db.node.now += 1


ops = st.tuples(st.sampled_from(["insert", "delete", "reinsert", "expire"]), st.integers(1, 800))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    n_stable=st.integers(0, 300),
    n_churn=st.integers(_COMPACT_MIN, 3 * _COMPACT_MIN // 2),
    count=st.integers(1, 60),
    schedule=st.lists(ops, min_size=1, max_size=40),
)
def test_a_key_present_for_the_whole_scan_is_returned(n_stable, n_churn, count, schedule):
    db = make_node(now=NOW).dbs[0]
    stable = [b"stable:%d" % i for i in range(n_stable)]
    churn = {b"churn:%d" % i: None for i in range(n_churn)}
    # Stable keys are spread among the churning ones, so compaction moves them around.
    order = list(churn)
    for i, k in enumerate(stable):
        order.insert((i * 7919) % (len(order) + 1), k)
    fill(db, order)
    state = {"churn": churn, "next": 0}
    base_before = db.order.base
    cursor, seen, steps = 0, set(), 0
    while True:
        cursor, found = db.scan(cursor, count, lambda k: True)
        seen.update(found)
        if cursor == 0:
            break
        if steps < len(schedule):
            _apply(db, schedule[steps], state)
        steps += 1
    assert set(stable) <= seen
    event("compacted during the scan" if db.order.base > base_before else "no compaction")


def test_the_churn_schedule_does_compact_during_a_scan():
    """Guard for the property above: its schedules really reach compaction."""
    db = make_node(now=NOW).dbs[0]
    fill(db, [b"stable:%d" % i for i in range(10)] + [b"churn:%d" % i for i in range(_COMPACT_MIN)])
    cursor, found = db.scan(0, 5, lambda k: True)
    state = {"churn": {b"churn:%d" % i: None for i in range(_COMPACT_MIN)}, "next": 0}
    _apply(db, ("delete", 600), state)
    assert db.order.base > 0
    rest = scan_all_from(db, cursor, 5)
    assert {b"stable:%d" % i for i in range(10)} <= set(found) | set(rest)


def scan_all_from(db: Database, cursor: int, count: int) -> list[bytes]:
    out = []
    while True:
        cursor, found = db.scan(cursor, count, lambda k: True)
        out.extend(found)
        if cursor == 0:
            return out


# -- random_key ----------------------------------------------------------------------
def test_random_key_only_returns_live_keys(db):
    rng = random.Random(1)
    assert db.random_key(rng) is None
    fill(db, [key(i) for i in range(50)])
    for i in range(49):
        db.delete(key(i))
    assert {db.random_key(rng) for _ in range(20)} == {key(49)}
    db.set_expire(key(49), NOW - 1)
    assert db.random_key(rng) is None
    assert len(db) == 0


def test_random_key_on_a_replica_whose_keys_all_expired_terminates(db):
    node = db.node
    fill(db, [b"a", b"b"])
    db.set_expire(b"a", NOW - 1)
    db.set_expire(b"b", NOW - 1)
    node.is_replica = True
    assert db.random_key(random.Random(3)) in (b"a", b"b")
    assert len(db) == 2  # a replica hides expired keys but never deletes them


# -- expiry --------------------------------------------------------------------------
def test_lazy_expiry_deletes_and_propagates_del_without_dirtying():
    node = make_node(now=NOW, appendonly="yes")
    db = node.dbs[0]
    fill(db, [b"a"])
    db.set_expire(b"a", NOW + 100)
    node.take_effects()
    dirty = node.stats.dirty
    node.now = NOW + 100  # at the deadline the key still lives (Redis: expired when now > when)
    assert db.get(b"a") == b"v"
    node.now = NOW + 101
    assert db.get(b"a") is None
    assert node.stats.dirty == dirty and node.stats.expired_keys == 1
    assert logged_commands(node) == [[b"SELECT", b"0"], [b"DEL", b"a"]]


def test_active_expiry_removes_expired_keys_and_propagates():
    node = make_node(now=NOW, appendonly="yes")
    db = node.dbs[0]
    fill(db, [key(i) for i in range(100)])
    for i in range(0, 100, 2):
        db.set_expire(key(i), NOW + 10)
    node.take_effects()
    assert db.active_expire(1000) == 0
    node.now = NOW + 11
    assert db.active_expire(1000) == 50
    assert len(db) == 50 and not db.expires
    assert node.stats.expired_keys == 50
    dels = [cmd for cmd in logged_commands(node) if cmd[0] == b"DEL"]
    assert sorted(dels) == sorted([b"DEL", key(i)] for i in range(0, 100, 2))


def test_active_expiry_stops_when_few_keys_in_a_batch_had_expired():
    node = make_node(now=NOW)
    db = node.dbs[0]
    fill(db, [key(i) for i in range(200)])
    for i in range(200):
        db.set_expire(key(i), NOW + (10 if i == 0 else 10_000))
    node.now = NOW + 11
    assert db.active_expire(1000) == 1  # one batch of 20 with 1 expired: not worth going on
    assert db.expire_cursor == 20


def test_active_expiry_cursor_walks_the_whole_volatile_set():
    node = make_node(now=NOW)
    db = node.dbs[0]
    fill(db, [key(i) for i in range(100)])
    for i in range(100):
        db.set_expire(key(i), NOW + (10 if i == 95 else 10_000))
    node.now = NOW + 11
    for _ in range(5):
        db.active_expire(20)
    assert key(95) not in db.data


def test_the_server_cron_expires_keys_and_a_replica_does_not():
    node = make_node(now=NOW)
    db = node.dbs[0]
    fill(db, [b"a", b"b"])
    db.set_expire(b"a", NOW + 10)
    node.is_replica = True
    node.tick(NOW + 20)
    assert b"a" in db.data
    node.is_replica = False
    node.tick(NOW + 30)
    assert list(db.data) == [b"b"]
