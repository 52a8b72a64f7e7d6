"""Differential strategies for SORT and SORT_RO.

Sources are lists (``sl1`` and a shared key), a set (``ss1``) and
a sorted set (``sz1``), built by the lists, sets and zsets commands when
those families exist (each builder is left out until its module imports).
BY and GET read string keys ``w_<element>`` / ``o_<element>`` and hash
fields ``h_<element>->f``; LRANGE of the STORE destinations checks what was stored.

Only what Redis leaves to hash order is compared loosely: SORT of the set
BY a constant (no sorting) is compared as a set, or by shape under LIMIT.
ALPHA with a BY pattern orders ties by the source order, which for sets and
sorted sets is Redis's hash order and under LIMIT an unstable partial
quicksort, so the strategy only draws it on lists and without LIMIT.
Scores are never out of a double's range: Redis does not clear errno before
its strtod, so one ERANGE can fail later valid SORTs on the connection.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.kvcore.differential.common import KEYS, word
from tests.kvcore.differential.keys import family_exists
from tests.kvcore.differential.runner import EXACT, SHAPE, UNORDERED, ByArgv

LIST_KEYS = [b"sl1", KEYS[0]]
SET_KEYS = [b"ss1"]
ZSET_KEYS = [b"sz1"]
DESTINATIONS = [b"sdst", b"sl1", KEYS[1]]
NUMBERS = [b"1", b"2", b"10", b"-3", b"2.5", b"0", b"01", b"3", b"7", b" 7", b"0x1A", b"1e2", b"-inf", b""]
WORDS = [b"a", b"b", b"B", b"nan", b"a\x00z", b"\xff", b"a\x00"]
WEIGHTS = [b"3", b"1", b"-2", b"1.5", b"abc", b"", b"10", b"2", b"a", b"Z"]
SCORES = [b"1", b"2", b"2", b"-1", b"0.5", b"3"]


def _c_string(arg: bytes) -> bytes:
    return arg.split(b"\0", 1)[0]


def sort_mode(argv: list[bytes]):
    """Exact, except an unsorted set: its order is Redis's hash order."""
    upper = [arg.upper() for arg in argv]
    by = [argv[i + 1] for i in range(2, len(argv) - 1) if upper[i] == b"BY"]
    unsorted = any(b"*" not in _c_string(pattern) for pattern in by)
    if argv[1] not in SET_KEYS or not unsorted or b"STORE" in upper[2:]:
        return EXACT
    return SHAPE if b"LIMIT" in upper[2:] else UNORDERED


COMPARE = {b"sort": ByArgv(sort_mode), b"sort_ro": ByArgv(sort_mode)}

elements = st.one_of(st.sampled_from(NUMBERS), st.sampled_from(NUMBERS), st.sampled_from(WORDS))
some_elements = st.lists(elements, min_size=1, max_size=6)
by_patterns = st.sampled_from([b"w_*", b"h_*->f", b"w_*->", b"nosort", b"h_*->", b"#", b"w_\x00*"])
get_patterns = st.sampled_from([b"#", b"o_*", b"w_*", b"h_*->f", b"h_*->g", b"nostar"])
limits = st.tuples(
    st.sampled_from([b"-1", b"0", b"0", b"1", b"2", b"5"]), st.sampled_from([b"-1", b"0", b"1", b"2", b"3", b"10"])
)


def _builders(draw) -> list[list[bytes]]:
    """The commands that can fill sources and lookups, given the families present."""
    e = draw(elements)
    built = [[b"SET", b"w_" + e, draw(st.sampled_from(WEIGHTS))], [b"SET", b"o_" + e, b"obj-" + e]]
    if family_exists("lists"):
        key = draw(st.sampled_from(LIST_KEYS))
        built += [[b"RPUSH", key, *draw(some_elements)], [b"LPUSH", key, *draw(some_elements)]] * 2
    if family_exists("sets"):
        built.append([b"SADD", SET_KEYS[0], *draw(some_elements)])
    if family_exists("zsets"):
        pairs = draw(st.lists(st.tuples(st.sampled_from(SCORES), elements), min_size=1, max_size=4))
        built.append([b"ZADD", ZSET_KEYS[0], *[part for pair in pairs for part in pair]])
    if family_exists("hashes"):
        built.append([b"HSET", b"h_" + e, draw(st.sampled_from([b"f", b"g"])), draw(st.sampled_from(WEIGHTS))])
    return built


def _sort(draw) -> list[bytes]:
    source = draw(st.sampled_from(LIST_KEYS + LIST_KEYS[:1] + SET_KEYS + ZSET_KEYS))
    name = draw(st.sampled_from([b"SORT", b"SORT", b"SORT_RO"]))
    by = draw(st.one_of(st.none(), by_patterns))
    limit = draw(st.one_of(st.none(), st.none(), limits))
    alpha = draw(st.booleans())
    if alpha and by is not None and b"*" in _c_string(by) and (source not in LIST_KEYS or limit is not None):
        alpha = False  # ties would be ordered by hash order or an unstable partial sort
    options = [[draw(word("GET")), pattern] for pattern in draw(st.lists(get_patterns, max_size=2))]
    if by is not None:
        options.append([draw(word("BY")), by])
    if limit is not None:
        options.append([draw(word("LIMIT")), *limit])
    if alpha:
        options.append([draw(word("ALPHA"))])
    if draw(st.booleans()):
        options.append([draw(word(draw(st.sampled_from(["ASC", "DESC"]))))])
    if name == b"SORT" and draw(st.integers(0, 4)) == 0:
        options.append([draw(word("STORE")), draw(st.sampled_from(DESTINATIONS))])
    return [name, source, *[part for option in draw(st.permutations(options)) for part in option]]


def _malformed(draw) -> list[bytes]:
    source = draw(st.sampled_from(LIST_KEYS))
    tail = draw(
        st.sampled_from(
            [[b"LIMIT"], [b"LIMIT", b"0"], [b"BY"], [b"GET"], [b"STORE"], [b"foo"], [b"LIMIT", b"a", b"1"]]
        )
    )
    return [draw(st.sampled_from([b"SORT", b"SORT_RO"])), source, *tail]


@st.composite
def commands(draw):
    choice = draw(st.integers(0, 21))
    if choice < 11:
        return draw(st.sampled_from(_builders(draw)))
    if choice < 19:
        return _sort(draw)
    if choice == 19:
        destination = draw(st.sampled_from(DESTINATIONS))
        return [b"LRANGE", destination, b"0", b"-1"] if family_exists("lists") else [b"TYPE", destination]
    if choice == 20:
        return _malformed(draw)
    return [b"SORT_RO", draw(st.sampled_from(DESTINATIONS)), b"STORE", b"x"]
