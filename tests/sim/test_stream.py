"""The stream workload: a queue over one consumer group, judged by the queue checker."""

from collections import Counter

import pytest
from hiredis import ReplyError

from jepsen_like.history import pair
from sim.dataset import key_state
from sim.workloads import STREAM_GROUP, Unexpected, _stream_rest, _stream_take
from sim.world import RunConfig, run
from tests.kvcore.harness import CoreClient, make_node


def test_entries_are_added_taken_once_and_left_and_the_queue_checker_agrees():
    result = run(RunConfig(seed=2, workload="stream", clients=4, duration_ms=8000,
                           config=(("appendonly", "yes"),)))
    assert result.valid is True, result.failed_checkers
    ops = pair(result.history)
    taken = Counter("empty" if op.result is None else "took" for op in ops if op.f == "dequeue" and op.ok)
    assert taken["took"] > 20 and taken["empty"] > 0
    assert any(op.result for op in ops if op.f == "read" and op.ok)  # some were left at the end
    assert result.verdicts["restart"].valid is True


def test_a_take_reads_one_new_entry_then_acknowledges_it():
    conversation = _stream_take(b"k1", b"c1", block=True)
    create, read = next(conversation)
    assert create == [b"XGROUP", b"CREATE", b"k1", STREAM_GROUP, b"0", b"MKSTREAM"]
    assert read[:6] == [b"XREADGROUP", b"GROUP", STREAM_GROUP, b"c1", b"COUNT", b"1"]
    assert read[6:8] == [b"BLOCK", b"300"] and read[-3:] == [b"STREAMS", b"k1", b">"]
    assert conversation.send([b"OK", [[b"k1", [[b"5-0", [b"e", b"42"]]]]]]) == [[b"XACK", b"k1", STREAM_GROUP, b"5-0"]]
    with pytest.raises(StopIteration) as done:
        conversation.send([1])
    assert done.value.value == ("ok", 42)


def test_a_take_whose_acknowledgement_is_refused_has_an_unknown_outcome():
    """The entry was delivered (the group's last delivered ID moved past it) but is still pending:
    a failed take would make the queue checker call it lost."""
    conversation = _stream_take(b"k1", b"c1", block=False)
    next(conversation)
    conversation.send([b"OK", [[b"k1", [[b"5-0", [b"e", b"42"]]]]]])
    with pytest.raises(StopIteration) as done:
        conversation.send([ReplyError("MISCONF Errors writing to the AOF file: disk error")])
    assert done.value.value == ("info", 42)


def test_a_take_of_two_entries_is_unexpected():
    conversation = _stream_take(b"k1", b"c1", block=False)
    next(conversation)
    with pytest.raises(Unexpected):
        conversation.send([b"OK", {b"k1": [[b"5-0", [b"e", b"1"]], [b"6-0", [b"e", b"2"]]]}])


def test_the_final_read_lists_the_entries_past_the_groups_last_delivered_id():
    conversation = _stream_rest(b"k1")
    assert next(conversation) == [[b"XINFO", b"GROUPS", b"k1"]]
    groups = [[b"name", b"other", b"last-delivered-id", b"9-0"], [b"name", STREAM_GROUP, b"last-delivered-id", b"5-0"]]
    assert conversation.send([groups]) == [[b"XRANGE", b"k1", b"(5-0", b"+"]]
    with pytest.raises(StopIteration) as done:
        conversation.send([[[b"6-0", [b"e", b"7"]], [b"7-0", [b"e", b"8"]]]])
    assert done.value.value == ("ok", [7, 8])


def test_a_streams_state_tells_where_its_groups_are():
    node = make_node()
    client = CoreClient(node)
    client.call("XADD", "s", "1-0", "e", "1")
    client.call("XADD", "s", "2-0", "e", "2")
    client.call("XGROUP", "CREATE", "s", "g", "0")
    before = key_state(node.dbs[0], b"s")
    client.call("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">")
    delivered = key_state(node.dbs[0], b"s")
    client.call("XACK", "s", "g", "1-0")
    acked = key_state(node.dbs[0], b"s")
    assert len({before, delivered, acked}) == 3  # DEBUG DIGEST-VALUE alone sees none of it
    assert client.call("DEBUG", "DIGEST-VALUE", "s") == [before.split()[0].encode()]


def test_what_a_history_read_changes_is_not_part_of_a_streams_state():
    """Redis 7.0 logs neither the consumer a history read makes nor the deliveries it counts:
    a replica or a reload may differ there."""
    node = make_node()
    client = CoreClient(node)
    client.call("XADD", "s", "1-0", "e", "1")
    client.call("XGROUP", "CREATE", "s", "g", "0")
    before = key_state(node.dbs[0], b"s")
    assert client.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0") == [[b"s", []]]
    assert key_state(node.dbs[0], b"s") == before
    client.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    delivered = key_state(node.dbs[0], b"s")
    assert delivered != before
    assert client.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0")[0][1] == [[b"1-0", [b"e", b"1"]]]
    assert key_state(node.dbs[0], b"s") == delivered
    client.call("XCLAIM", "s", "g", "d", "0", "1-0", "JUSTID")
    assert key_state(node.dbs[0], b"s") != delivered  # the owner is part of it


def test_a_pending_entry_whose_stream_entry_is_gone_is_not_part_of_a_streams_state():
    """A log rewritten as commands recreates pending entries with XCLAIM, which skips entries
    the stream no longer holds (Redis 7.0's rewrite loses them the same way)."""
    def delivered_then(*commands: tuple[str, ...]) -> str:
        node = make_node()
        client = CoreClient(node)
        client.call("XADD", "s", "1-0", "e", "1")
        client.call("XADD", "s", "2-0", "e", "2")
        client.call("XGROUP", "CREATE", "s", "g", "0")
        client.call("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">")
        for command in commands:
            client.call(*command)
        return key_state(node.dbs[0], b"s")

    assert delivered_then() != delivered_then(("XACK", "s", "g", "1-0"))
    assert delivered_then(("XDEL", "s", "1-0")) == delivered_then(("XACK", "s", "g", "1-0"), ("XDEL", "s", "1-0"))
