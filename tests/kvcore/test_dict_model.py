"""kvcore.dict_model: Redis's scan cursors, table sizes and incremental rehashing of a set's dict."""

from __future__ import annotations

import re

from kvcore.dict_model import RankedMembers, RehashingTable, slot_hash, table_size
from tests.kvcore.harness import CoreClient, make_node

MASK64 = (1 << 64) - 1


def _reversed64(value: int) -> int:
    return int(f"{value:064b}"[::-1], 2)


def redis_next_cursor(cursor: int, size: int) -> int:
    """dictScan's cursor step: set the bits above the mask, then add one to the reversed cursor."""
    cursor |= ~(size - 1) & MASK64
    return _reversed64((_reversed64(cursor) + 1) & MASK64)


def _ranked(members: list[bytes]) -> tuple[RankedMembers, dict[bytes, int]]:
    seq = {member: number for number, member in enumerate(members, 1)}
    return RankedMembers(seq, len(members) + 1), seq


def test_cursors_step_as_redis_and_each_page_is_whole_slots():
    members = [b"m%d" % i for i in range(2000)]
    ranked, seq = _ranked(members)
    size, cursor, seen = 64, 0, []
    while True:
        following, page = ranked.scan_slots(seq, cursor, 1, size)
        assert {slot_hash(member) & (size - 1) for member in page} == {cursor}  # one slot, all of it
        assert len(page) == sum(slot_hash(member) & (size - 1) == cursor for member in members)
        assert following == redis_next_cursor(cursor, size) or following == 0
        seen += page
        cursor = following
        if cursor == 0:
            break
    assert sorted(seen) == sorted(members)


def test_a_sparse_table_is_walked_ten_slots_a_member_asked_for():
    """SSCAN stops after 10 x COUNT more dictScan calls, empty slots included."""
    members = [b"m%d" % i for i in range(5)]
    ranked, seq = _ranked(members)
    size = 1 << 16
    cursor, page = ranked.scan_slots(seq, 0, 2, size)
    assert cursor != 0 and len(page) < 2
    probe = 0
    for _ in range(2 * 10 + 1):  # the first call, then ten a member asked for
        probe = redis_next_cursor(probe, size)
    assert cursor == probe


def test_removed_and_added_members_are_caught_up():
    members = [b"m%d" % i for i in range(300)]
    ranked, seq = _ranked(members)
    for member in members[:100]:
        del seq[member]
    for number, member in enumerate([b"new%d" % i for i in range(10)] + [members[0]], 301):
        seq[member] = number
    ranked = ranked.catch_up(seq, 312)
    seen, cursor = [], 0
    while True:
        cursor, page = ranked.scan_slots(seq, cursor, 10, 512)
        seen += page
        if cursor == 0:
            break
    assert sorted(seen) == sorted(seq)


def test_table_sizes_follow_redis_growth_and_shrinking():
    members: list[bytes] = []
    table = RehashingTable(1)
    sizes = []
    for i in range(40):
        table.before_add(members, False)
        members.append(b"m%d" % i)
        sizes.append(table.target or table.size)
    assert sizes[:5] == [4, 4, 4, 4, 8] and sizes[16] == 32 and sizes[32] == 64
    while table.rehashing:
        table.step(False)
    assert table.size == 64
    while len(members) > 6:  # 6 * 100 // 64 < 10: shrink to the smallest table that holds them
        member = members.pop()
        table.step(False)
        table.removed(member, members, False)
    assert table.target == 8 and table.rehashing


def test_a_rehash_waits_for_the_child_unless_the_sizes_are_far_apart():
    members = [b"m%d" % i for i in range(8)]
    table = RehashingTable(8)
    table.before_add(members, False)  # 8 in 8 slots: grows to 16
    assert (table.size, table.target) == (8, 16)
    table.step(True, 100)
    assert table.rehashing  # 16 / 8 < 5: no step while a child runs
    table.step(False, 100)
    assert not table.rehashing and table.size == 16


def _htstats(client, key: str) -> str:
    return client.call("DEBUG", "HTSTATS-KEY", key).decode()


def _rehashing(client, key: str) -> bool:
    return "rehashing target" in _htstats(client, key)


def _remove_first_scanned(client, key: str, n: int) -> None:
    cursor, members = b"0", []
    while len(members) < n:
        cursor, page = client.call("SSCAN", key, cursor)
        members += page
        if cursor == b"0":
            break
    client.call("SREM", key, *members[:n])


def test_a_set_left_with_one_long_chain():
    """set.tcl's "SRANDMEMBER with a dict containing long chain", at a fifth of its size: removing
    members in scan order empties whole slot ranges, so what is left crowds into one slot of the
    smaller table."""
    node = make_node(enable_debug_command="yes", set_max_intset_entries="0", save="")
    c = CoreClient(node)
    c.call("SADD", "myset", *[b"m:%d" % i for i in range(20000)])
    while _rehashing(c, "myset"):
        c.call("SRANDMEMBER", "myset", "100")
    c.call("BGSAVE")
    _remove_first_scanned(c, "myset", 20000 - 500)
    assert c.call("SCARD", "myset") == 500
    assert not _rehashing(c, "myset")  # no shrinking while the child runs
    node.job_done(node.snapshots.job, False, node.now)
    c.call("SPOP", "myset", "1")
    assert _rehashing(c, "myset")
    c.call("BGSAVE")
    rounds = 0
    while _rehashing(c, "myset"):  # 32768 -> 512 slots: far apart, so it goes on beside the child
        c.call("SRANDMEMBER", "myset", "1")
        rounds += 1
    assert 0 < rounds < 32768
    node.job_done(node.snapshots.job, False, node.now)
    _remove_first_scanned(c, "myset", 499 - 30)
    stats = _htstats(c, "myset")
    assert "rehashing target" in stats
    assert re.search(r"different slots: (\d+)", stats).group(1) == "1"
    assert re.search(r"max chain length: (\d+)", stats).group(1) == "30"
    drawn = set()
    for _ in range(200):
        drawn.update(c.call("SRANDMEMBER", "myset", "-10"))
    assert drawn == set(c.call("SMEMBERS", "myset"))


def test_table_size_is_the_power_of_two_at_least_the_count():
    assert [table_size(n) for n in (0, 1, 4, 5, 100000)] == [4, 4, 4, 8, 131072]
