"""The JSON Lines history format: parsing, pairing, validation errors that name the line."""

import io
import json

import pytest

from jepsen_like import history
from jepsen_like.history import HistoryError


def lines(*events):
    return [json.dumps(event) for event in events]


def ev(process, kind, f, value=None, time=0, key="k1"):
    event = {"process": process, "type": kind, "f": f, "value": value, "time": time}
    if key is not None:
        event["key"] = key
    return event


def test_pairs_invocations_with_completions_in_invocation_order():
    events = history.parse_lines(lines(
        ev(3, "invoke", "write", 7, 1200000),
        ev(4, "invoke", "read", None, 1300000),
        ev(4, "ok", "read", 7, 1400000),
        ev(3, "ok", "write", 7, 1500000),
    ))
    ops = history.pair(events)
    assert [(op.process, op.f, op.type, op.value, op.result) for op in ops] == [
        (3, "write", "ok", 7, 7),
        (4, "read", "ok", None, 7),
    ]
    assert ops[0].invoke.line == 1 and ops[0].complete_line == 4
    assert ops[0].invoke.time == 1200000 and ops[0].complete.time == 1500000


def test_an_invocation_never_completed_is_info():
    ops = history.pair(history.parse_lines(lines(ev(1, "invoke", "write", 1, 5))))
    assert len(ops) == 1 and ops[0].type == "info" and ops[0].complete is None
    assert ops[0].to_json()["lines"] == [1, None]


def test_key_may_be_absent_and_completion_may_omit_it():
    events = history.parse_lines(lines(ev(0, "invoke", "read", key=None), ev(0, "ok", "read", 3, 1, key=None)))
    assert history.pair(events)[0].key is None
    events = history.parse_lines(lines(ev(0, "invoke", "read"), ev(0, "ok", "read", 3, 1, key=None)))
    assert history.pair(events)[0].key == "k1"


def test_blank_lines_are_skipped_but_counted():
    events = history.parse_lines(["", lines(ev(0, "invoke", "read"))[0], "  "])
    assert events[0].line == 2


def test_nemesis_events_are_not_operations():
    events = history.from_dicts([
        {"process": "nemesis", "type": "info", "f": "start-partition", "value": None, "time": 0},
        ev(0, "invoke", "read", time=1),
        ev(0, "ok", "read", 1, 2),
        {"process": "nemesis", "type": "info", "f": "stop-partition", "value": None, "time": 3},
    ])
    assert [op.f for op in history.pair(events)] == ["read"]


@pytest.mark.parametrize(("events", "line", "words"), [
    ([ev(0, "ok", "read", 1)], 1, "has no invocation"),
    ([ev(0, "invoke", "read"), ev(0, "invoke", "write", 1)], 2, "still in flight"),
    ([ev(0, "invoke", "read"), ev(0, "ok", "write", 1)], 2, "does not match"),
    ([ev(0, "invoke", "read"), ev(0, "ok", "read", 1, key="k2")], 2, "does not match"),
    ([ev(0, "invoke", "read", time=5), ev(0, "ok", "read", 1, time=4)], 2, "before the previous"),
    ([ev(0, "invoke", "read"), ev(0, "done", "read")], 2, "'type' must be one of"),
    ([ev(0, "invoke", "read"), {"process": 0, "type": "ok", "f": "read"}], 2, "'time'"),
    ([ev(0, "invoke", "read", time=-1)], 1, "non-negative"),
    ([ev(True, "invoke", "read")], 1, "'process'"),
    ([ev(0, "invoke", "")], 1, "'f'"),
    ([ev(0, "invoke", "read", key=[1])], 1, "'key'"),
    ([[1, 2]], 1, "JSON object"),
])
def test_malformed_histories_name_the_offending_line(events, line, words):
    with pytest.raises(HistoryError) as raised:
        history.pair(history.parse_lines(lines(*events)))
    assert raised.value.line == line
    assert str(raised.value).startswith(f"line {line}: ")
    assert words in str(raised.value)


def test_bad_json_names_its_line():
    with pytest.raises(HistoryError, match=r"^line 2: not valid JSON"):
        history.parse_lines([lines(ev(0, "invoke", "read"))[0], "{not json"])


def test_dump_and_read_round_trip(tmp_path):
    events = history.from_dicts([ev(0, "invoke", "cas", [1, 2]), ev(0, "fail", "cas", [1, 2], 9, key=None)])
    buffer = io.StringIO()
    history.dump(events, buffer)
    path = tmp_path / "h.jsonl"
    path.write_text(buffer.getvalue())
    assert history.load(path) == events
    op = history.read(path)[0]
    assert (op.f, op.type, op.value) == ("cas", "fail", [1, 2])


def test_from_text_reads_the_terse_table():
    events = history.from_text("""
        0 invoke cas [0,1] k=a   # a comment
        0 fail   cas [0,1] k=a
        nemesis info kill
    """)
    assert [(e.process, e.type, e.f, e.value, e.key, e.time) for e in events] == [
        (0, "invoke", "cas", [0, 1], "a", 0),
        (0, "fail", "cas", [0, 1], "a", 10),
        ("nemesis", "info", "kill", None, None, 20),
    ]


def test_canonical_keeps_json_types_apart():
    values = [1, 1.0, True, "1", None, [1], {"a": 1}]
    assert len({history.canonical(value) for value in values}) == len(values)
    assert history.canonical({"b": [1, None], "a": "é"}) == '{"a":"\\u00e9","b":[1,null]}'


def test_by_key_orders_keys_deterministically():
    ops = history.pair(history.from_text("""
        0 invoke read k=b
        0 ok read 1 k=b
        1 invoke read
        1 ok read 1
        0 invoke read k=a
        0 ok read 1 k=a
    """))
    assert [key for key, _ in history.by_key(ops)] == [None, "a", "b"]
