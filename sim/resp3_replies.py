"""A reference command's RESP3 reply in its RESP2 form, so that one model judges both protocols.

Redis 7.0 answers a RESP3 connection with the same data in richer types: a
score is a double (``,2.5``, which hiredis reads as a float) where RESP2 sends
its ``%.17g`` text as a bulk string, a hash is a map, XREAD's keys map to their
entries, and the commands that return members with their scores (or fields with
their values) nest each pair where RESP2 lists them flat. `as_resp2` undoes
exactly these differences, and refuses (`WrongShape`) a reply that is not the
RESP3 one: a score sent as a bulk string, flat pairs, a map where there is
none, so that a server speaking RESP2 on a RESP3 connection is caught.
Errors and nils are alike in both. Commands whose replies carry other doubles
(GEOPOS's coordinates) or module types (JSON.*) are not sent this way
(`reference_ops.sent`).
"""

from __future__ import annotations

import math
from typing import Any

from hiredis import ReplyError

SCORE_REPLIES = {"ZSCORE", "ZINCRBY"}
PAIRED_WITH = {  # the commands that nest pairs in RESP3, given the word that asks for the second element
    "ZRANGE": "WITHSCORES", "ZRANGEBYSCORE": "WITHSCORES", "ZREVRANGEBYSCORE": "WITHSCORES", "ZREVRANGE": "WITHSCORES",
    "ZUNION": "WITHSCORES", "ZINTER": "WITHSCORES", "ZDIFF": "WITHSCORES", "ZRANDMEMBER": "WITHSCORES",
    "HRANDFIELD": "WITHVALUES",
}
MAPPED = {"XREAD", "XREADGROUP"}  # a map of key -> entries, where RESP2 has [key, entries] pairs


class WrongShape(Exception):
    """A reply that is not what Redis sends this command on a RESP3 connection."""


def as_resp2(argv: list[str], reply: Any) -> Any:
    """`argv`'s RESP3 reply (as hiredis parses it) as RESP2 would have given it."""
    if reply is None or type(reply) is ReplyError:
        return reply
    name, words = argv[0].upper(), {arg.upper() for arg in argv[1:]}
    if name in SCORE_REPLIES or (name == "ZADD" and "INCR" in words):
        return _score(reply)
    if name == "ZMSCORE":
        return [None if score is None else _score(score) for score in _list(reply)]
    if name in PAIRED_WITH and PAIRED_WITH[name] in words:
        return _flat_pairs(reply, name != "HRANDFIELD")
    if name in ("ZPOPMIN", "ZPOPMAX"):
        if len(argv) > 2:  # with a count: pairs
            return _flat_pairs(reply, True)
        return [] if reply == [] else _member_and_score(reply)
    if name in ("BZPOPMIN", "BZPOPMAX"):
        key, *pair = _list(reply, 3)
        return [_plain(key), *_member_and_score(pair)]
    if name in ("ZMPOP", "BZMPOP"):
        key, pairs = _list(reply, 2)
        return [_plain(key), [_member_and_score(pair) for pair in _list(pairs)]]
    if name == "HGETALL":
        return [_plain(item) for field, value in _map(reply).items() for item in (field, value)]
    if name in MAPPED:
        return [[_plain(key), _plain(entries)] for key, entries in _map(reply).items()]
    return _plain(reply)


def _score(reply: Any) -> bytes:
    if type(reply) is not float:
        raise WrongShape(f"a score as {reply!r}, not a double")
    if math.isinf(reply):
        return b"inf" if reply > 0 else b"-inf"
    return b"%.17g" % reply


def _member_and_score(pair: Any) -> list:
    member, score = _list(pair, 2)
    return [_plain(member), _score(score)]


def _flat_pairs(reply: Any, scored: bool) -> list:
    flat = []
    for pair in _list(reply):
        first, second = _list(pair, 2)
        flat += [_plain(first), _score(second) if scored else _plain(second)]
    return flat


def _list(reply: Any, length: int | None = None) -> list:
    if type(reply) is not list or (length is not None and len(reply) != length):
        raise WrongShape(f"{reply!r} where an array{'' if length is None else f' of {length}'} belongs")
    return reply


def _map(reply: Any) -> dict:
    if type(reply) is not dict:
        raise WrongShape(f"{reply!r} where a map belongs")
    return reply


def _plain(reply: Any) -> Any:
    """A reply with no RESP3-only type in it (no double, map, boolean), as it is."""
    if type(reply) is list:
        return [_plain(item) for item in reply]
    if reply is None or type(reply) in (bytes, int, ReplyError):
        return reply
    raise WrongShape(f"{reply!r} where RESP2 and RESP3 agree")
