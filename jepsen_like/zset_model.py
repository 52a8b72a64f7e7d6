"""Sorted sets in the sequential reference (`jepsen_like.redis_model`): member -> integer score.

Members rank by score, then by member (bytewise, as Redis orders them). Scores
are integers, so every reply's score text is the integer's (``3``, not
``3.0``). Ranges come by rank or (``BYSCORE``) by score, with exclusive bounds
(``(3``) and infinities, forward or reversed, with LIMIT; or (``BYLEX``) by
member, between ``[a``/``(a`` ends, ``-`` and ``+``, on keys whose members all
have one score (else Redis's answer hangs on its encoding). The set operations
(union, intersection, difference) reply in rank order or store their result;
pops take from the first non-empty key, and the blocking ones answer nil when
every key is empty (a reference group's keys have one client, so no push can
come while it waits). Where Redis draws at random (ZRANDMEMBER), the reply
observed is taken if Redis could have given it (`jepsen_like.random_draws`).
"""

from __future__ import annotations

from typing import Any

from jepsen_like.iterations import matching
from jepsen_like.random_draws import drawn

NOT_LEX_RANGE = {"error": "ERR min or max not valid string range item"}
INFINITIES = {"-inf": float("-inf"), "+inf": float("inf"), "inf": float("inf")}


class Scores(dict):
    """A sorted set: member -> integer score (a dict subclass, so TYPE tells it from a hash)."""


def span(length: int, start: int, end: int) -> range:
    """The positions LRANGE, ZRANGE, LTRIM and ZREMRANGEBYRANK mean by start and end (written
    apart from kvcore's `index_range`, which the model must not share to check it)."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    start = max(start, 0)
    if start > end or start >= length:
        return range(0)
    return range(start, min(end, length - 1) + 1)


def _bound(text: str) -> tuple[float, bool]:
    """A score bound: (value, exclusive)."""
    if text.lower() in INFINITIES:
        return INFINITIES[text.lower()], False
    return (int(text[1:]), True) if text[0] == "(" else (int(text), False)


def _within(score: int, low: str, high: str) -> bool:
    (low_value, low_open), (high_value, high_open) = _bound(low), _bound(high)
    above = score > low_value if low_open else score >= low_value
    below = score < high_value if high_open else score <= high_value
    return above and below


def _lex_end(text: str) -> tuple[str | None, bool] | None:
    """A lex range's end: (member text, exclusive), (None, _) for ``-`` or ``+``; None if it is no end."""
    if text in ("-", "+"):
        return None, False
    if text[:1] in ("[", "("):
        return text[1:], text[0] == "("
    return None


def _bad_lex_range(start: str, stop: str, options: list[str]) -> bool:
    """Whether a BYLEX range has an end that is none (Redis refuses the command)."""
    return "BYLEX" in (word.upper() for word in options) and (_lex_end(start) is None or _lex_end(stop) is None)


def _lex_within(member: str, low: str, high: str) -> bool:
    """Whether `member` lies between two valid lex ends (``-`` is below everything, ``+`` above)."""
    if low == "+" or high == "-":
        return False
    (low_text, low_open), (high_text, high_open) = _lex_end(low), _lex_end(high)
    above = low_text is None or (member > low_text if low_open else member >= low_text)
    below = high_text is None or (member < high_text if high_open else member <= high_text)
    return above and below


def _flat(entries: list[tuple[int, str]], with_scores: bool) -> list[str]:
    """(score, member) entries as a reply: members, or member, score pairs."""
    if with_scores:
        return [text for score, member in entries for text in (member, str(score))]
    return [member for _, member in entries]


def _options(args: list[str]) -> tuple[set[str], tuple[int, int] | None]:
    """ZRANGE's flags (BYSCORE, REV, WITHSCORES) and its LIMIT (offset, count)."""
    flags, limit, i = set(), None, 0
    while i < len(args):
        word = args[i].upper()
        if word == "LIMIT":
            limit, i = (int(args[i + 1]), int(args[i + 2])), i + 3
        else:
            flags.add(word)
            i += 1
    return flags, limit


class ZsetCommands:
    """The sorted-set commands, on a model's keys."""

    data: dict[str, Any]  # RedisModel's, as are `observed`, `_collection`, `_stored`, `_remove_entries`,
    # `_drop_if_empty` and `_first_filled`

    def _ranked(self, key: str) -> list[tuple[int, str]]:
        return sorted((score, member) for member, score in self.data.get(key, {}).items())

    def _selected(self, key: str, start: str, stop: str, options: list[str]) -> tuple[list[tuple[int, str]], set[str]]:
        """What ZRANGE key start stop [BYSCORE] [REV] [LIMIT offset count] picks, in reply order; its flags."""
        flags, limit = _options(options)
        ranked = self._ranked(key)
        if "REV" in flags:
            ranked.reverse()
        if flags & {"BYSCORE", "BYLEX"}:
            low, high = (stop, start) if "REV" in flags else (start, stop)
            if "BYSCORE" in flags:
                picked = [entry for entry in ranked if _within(entry[0], low, high)]
            else:
                picked = [entry for entry in ranked if _lex_within(entry[1], low, high)]
            if limit is not None:
                offset, count = limit
                picked = picked[offset:] if count < 0 else picked[offset:offset + count]
        else:
            picked = [ranked[i] for i in span(len(ranked), int(start), int(stop))]
        return picked, flags

    def zadd(self, args):
        key, flags, rest = args[0], set(), args[1:]
        while rest and rest[0].upper() in ("NX", "XX", "GT", "LT", "CH", "INCR"):
            flags.add(rest[0].upper())
            rest = rest[1:]
        scores = self.data.get(key, Scores())
        if "INCR" in flags:
            return self._zadd_incr(key, flags, int(rest[0]), rest[1])
        added = changed = 0
        for score_text, member in zip(rest[::2], rest[1::2]):
            score, old = int(score_text), scores.get(member)
            if old is None:
                if "XX" in flags:
                    continue
                scores[member] = score
                added += 1
            elif "NX" not in flags and old != score and not ("GT" in flags and score < old) \
                    and not ("LT" in flags and score > old):
                scores[member] = score
                changed += 1
        if scores:
            self.data[key] = scores
        return added + changed if "CH" in flags else added

    def _zadd_incr(self, key: str, flags: set[str], increment: int, member: str) -> str | None:
        """ZADD ... INCR: the member's new score, or nil where NX, XX, GT or LT holds the update back."""
        old = self.data.get(key, {}).get(member)
        if ("XX" in flags and old is None) or ("NX" in flags and old is not None):
            return None
        score = increment if old is None else old + increment
        if old is not None and (("GT" in flags and score <= old) or ("LT" in flags and score >= old)):
            return None
        self._collection(key, Scores)[member] = score
        return str(score)

    def zincrby(self, args):
        scores = self._collection(args[0], Scores)
        scores[args[2]] = scores.get(args[2], 0) + int(args[1])
        return str(scores[args[2]])

    def zrem(self, args):
        return self._remove_entries(args)

    def zscore(self, args):
        score = self.data.get(args[0], {}).get(args[1])
        return None if score is None else str(score)

    def zrank(self, args):
        members = [member for _, member in self._ranked(args[0])]
        return members.index(args[1]) if args[1] in members else None

    def zrevrank(self, args):
        members = [member for _, member in self._ranked(args[0])][::-1]
        return members.index(args[1]) if args[1] in members else None

    def zcard(self, args):
        return len(self.data.get(args[0], {}))

    def zremrangebyrank(self, args):
        ranked = self._ranked(args[0])
        removed = span(len(ranked), int(args[1]), int(args[2]))
        for i in removed:
            del self.data[args[0]][ranked[i][1]]
        self._drop_if_empty(args[0])
        return len(removed)

    def zmscore(self, args):
        scores = self.data.get(args[0], {})
        return [None if member not in scores else str(scores[member]) for member in args[1:]]

    # -- ranges ------------------------------------------------------------------
    def zrange(self, args):
        if _bad_lex_range(args[1], args[2], args[3:]):
            return NOT_LEX_RANGE
        picked, flags = self._selected(args[0], args[1], args[2], args[3:])
        return _flat(picked, "WITHSCORES" in flags)

    def zrevrange(self, args):
        return self.zrange([*args[:3], "REV", *args[3:]])

    def zrangebyscore(self, args):
        return self.zrange([*args[:3], "BYSCORE", *args[3:]])

    def zrevrangebyscore(self, args):
        return self.zrange([*args[:3], "BYSCORE", "REV", *args[3:]])

    def zrangestore(self, args):
        if _bad_lex_range(args[2], args[3], args[4:]):
            return NOT_LEX_RANGE
        picked, _ = self._selected(args[1], args[2], args[3], args[4:])
        return self._stored(args[0], Scores({member: score for score, member in picked}))

    def zcount(self, args):
        return len(self.zrangebyscore(args))

    def zremrangebyscore(self, args):
        removed = self.zrangebyscore(args)
        for member in removed:
            del self.data[args[0]][member]
        self._drop_if_empty(args[0])
        return len(removed)

    # -- lex ranges (members of one score) -----------------------------------------
    def _lex_range(self, args, reverse: bool):
        """ZRANGEBYLEX key min max [LIMIT offset count] (ZREVRANGEBYLEX: max min)."""
        return self.zrange([*args[:3], "BYLEX", *(["REV"] if reverse else []), *args[3:]])

    def zrangebylex(self, args):
        return self._lex_range(args, False)

    def zrevrangebylex(self, args):
        return self._lex_range(args, True)

    def zlexcount(self, args):
        reply = self._lex_range(args, False)
        return reply if type(reply) is dict else len(reply)

    def zremrangebylex(self, args):
        removed = self._lex_range(args, False)
        if type(removed) is dict:
            return removed
        for member in removed:
            del self.data[args[0]][member]
        self._drop_if_empty(args[0])
        return len(removed)

    # -- set operations ----------------------------------------------------------
    def _zset_combination(self, kind: str, keys: list[str], options: list[str]) -> Scores:
        """ZUNION, ZINTER or ZDIFF of `keys` under [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] (other words ignored)."""
        sources = [self.data.get(key, {}) for key in keys]
        weights, aggregate, i = [1] * len(keys), "SUM", 0
        while i < len(options):
            word = options[i].upper()
            if word == "WEIGHTS":
                weights, i = [int(weight) for weight in options[i + 1:i + 1 + len(keys)]], i + 1 + len(keys)
            elif word == "AGGREGATE":
                aggregate, i = options[i + 1].upper(), i + 2
            else:
                i += 1
        if kind == "diff":
            return Scores({member: score for member, score in sources[0].items()
                           if not any(member in source for source in sources[1:])})
        members = set().union(*sources) if kind == "union" else set(sources[0]).intersection(*sources[1:])
        combine = {"SUM": sum, "MIN": min, "MAX": max}[aggregate]
        return Scores({member: combine([source[member] * weight for source, weight in zip(sources, weights)
                                        if member in source]) for member in members})

    def _zset_combination_reply(self, kind: str, args) -> list[str]:
        count = int(args[0])
        options = args[1 + count:]
        result = self._zset_combination(kind, args[1:1 + count], options)
        ranked = sorted((score, member) for member, score in result.items())
        return _flat(ranked, any(word.upper() == "WITHSCORES" for word in options))

    def _zset_combination_stored(self, kind: str, args) -> int:
        count = int(args[1])
        return self._stored(args[0], self._zset_combination(kind, args[2:2 + count], args[2 + count:]))

    def zunion(self, args):
        return self._zset_combination_reply("union", args)

    def zinter(self, args):
        return self._zset_combination_reply("inter", args)

    def zdiff(self, args):
        return self._zset_combination_reply("diff", args)

    def zunionstore(self, args):
        return self._zset_combination_stored("union", args)

    def zinterstore(self, args):
        return self._zset_combination_stored("inter", args)

    def zdiffstore(self, args):
        return self._zset_combination_stored("diff", args)

    def zintercard(self, args):
        """ZINTERCARD numkeys key... [LIMIT n]: the intersection's size, at most n (0: no limit)."""
        count = int(args[0])
        size = len(self._zset_combination("inter", args[1:1 + count], []))
        limit = int(args[2 + count]) if len(args) > 2 + count else 0
        return min(size, limit) if limit else size

    # -- pops --------------------------------------------------------------------
    def _popped(self, key: str, lowest: bool, count: int) -> list[tuple[int, str]]:
        ranked = self._ranked(key)
        taken = (ranked if lowest else ranked[::-1])[:count]
        for _, member in taken:
            del self.data[key][member]
        self._drop_if_empty(key)
        return taken

    def zpopmin(self, args):
        return _flat(self._popped(args[0], True, int(args[1]) if len(args) > 1 else 1), True)

    def zpopmax(self, args):
        return _flat(self._popped(args[0], False, int(args[1]) if len(args) > 1 else 1), True)

    def zmpop(self, args):
        """ZMPOP numkeys key... MIN|MAX [COUNT n]: [key, [[member, score]...]] from the first non-empty key."""
        count = int(args[0])
        key, where, rest = self._first_filled(args[1:1 + count]), args[1 + count].upper(), args[2 + count:]
        if key is None:
            return None
        taken = self._popped(key, where == "MIN", int(rest[1]) if rest else 1)
        return [key, [[member, str(score)] for score, member in taken]]

    def bzmpop(self, args):
        return self.zmpop(args[1:])

    def _bzpop(self, args, lowest: bool):
        """BZPOPMIN/BZPOPMAX key... timeout: [key, member, score], or nil once the time is up."""
        key = self._first_filled(args[:-1])
        if key is None:
            return None
        return [key, *_flat(self._popped(key, lowest, 1), True)]

    def bzpopmin(self, args):
        return self._bzpop(args, True)

    def bzpopmax(self, args):
        return self._bzpop(args, False)

    def zscan(self, args):
        """A whole ZSCAN (`jepsen_like.iterations`): every member matching, with its score."""
        scores = self.data.get(args[0], {})
        return [text for member in matching(scores, args) for text in (member, str(scores[member]))]

    def zrandmember(self, args):
        """ZRANDMEMBER key [count [WITHSCORES]] (`jepsen_like.random_draws`)."""
        return drawn(self.data.get(args[0], {}), args, self.observed, "members")
