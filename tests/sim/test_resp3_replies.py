"""RESP3 replies read back into RESP2's shape, and replies in the wrong shape refused.

That redis-server's RESP3 replies convert to its RESP2 ones for every reference
command is shown by tests/jepsen_like/test_redis_model.py (the ``resp3`` way).
"""

from __future__ import annotations

import pytest
from hiredis import ReplyError

from sim.resp3_replies import WrongShape, as_resp2


@pytest.mark.parametrize(("argv", "resp3", "resp2"), [
    (["ZSCORE", "z", "a"], 2.0, b"2"),
    (["ZSCORE", "z", "a"], -2.5, b"-2.5"),
    (["ZINCRBY", "z", "1", "a"], float("inf"), b"inf"),
    (["ZADD", "z", "XX", "INCR", "2", "a"], 3.0, b"3"),
    (["ZADD", "z", "NX", "INCR", "2", "a"], None, None),
    (["ZADD", "z", "CH", "1", "a"], 1, 1),
    (["ZMSCORE", "z", "a", "q"], [1.0, None], [b"1", None]),
    (["ZRANGE", "z", "0", "-1", "withscores"], [[b"a", 1.0], [b"b", 3.0]], [b"a", b"1", b"b", b"3"]),
    (["ZRANGE", "z", "0", "-1"], [b"a", b"b"], [b"a", b"b"]),
    (["HRANDFIELD", "h", "2", "WITHVALUES"], [[b"f", b"v"]], [b"f", b"v"]),
    (["ZPOPMIN", "z"], [b"a", 1.0], [b"a", b"1"]),
    (["ZPOPMIN", "z"], [], []),
    (["ZPOPMAX", "z", "2"], [[b"b", 3.0], [b"a", 1.0]], [b"b", b"3", b"a", b"1"]),
    (["BZPOPMIN", "z", "z2", "0.01"], [b"z2", b"a", 0.0], [b"z2", b"a", b"0"]),
    (["ZMPOP", "2", "z", "z2", "MIN"], [b"z", [[b"a", -1.0]]], [b"z", [[b"a", b"-1"]]]),
    (["HGETALL", "h"], {b"f": b"1", b"g": b"2"}, [b"f", b"1", b"g", b"2"]),
    (["XREAD", "STREAMS", "x", "0"], {b"x": [[b"0-1", [b"f", b"v"]]]}, [[b"x", [[b"0-1", [b"f", b"v"]]]]]),
    (["SMEMBERS", "t"], [b"1", b"a"], [b"1", b"a"]),
    (["ZSCORE", "z", "q"], None, None),
])
def test_a_resp3_reply_reads_as_its_resp2_form(argv, resp3, resp2):
    assert as_resp2(argv, resp3) == resp2


def test_errors_pass_as_they_are():
    error = ReplyError("WRONGTYPE Operation against a key holding the wrong kind of value")
    assert as_resp2(["ZSCORE", "h", "a"], error) is error


@pytest.mark.parametrize(("argv", "resp3"), [
    (["ZSCORE", "z", "a"], b"2"),  # a score as text, as RESP2 sends it
    (["ZADD", "z", "INCR", "1", "a"], b"2"),  # ZADD's INCR: a score
    (["ZRANGE", "z", "0", "-1", "WITHSCORES"], [b"a", b"1"]),  # flat, as RESP2
    (["ZRANGE", "z", "0", "-1", "WITHSCORES"], [[b"a", b"1"]]),  # nested, but the score as text
    (["ZPOPMAX", "z", "2"], [b"b", 3.0]),  # a count given: pairs, even for one
    (["HGETALL", "h"], [b"f", b"1"]),  # an array where a map belongs
    (["XREAD", "STREAMS", "x", "0"], [[b"x", []]]),
    (["GET", "s"], 1.5),  # a double where both protocols send a bulk string
    (["LRANGE", "l", "0", "-1"], {b"a": b"b"}),
    (["BZPOPMIN", "z", "0.01"], [b"z", b"a"]),
])
def test_a_reply_not_in_resp3_shape_is_refused(argv, resp3):
    with pytest.raises(WrongShape):
        as_resp2(argv, resp3)
