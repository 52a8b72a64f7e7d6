"""Differential strategies for the HyperLogLog family.

GET of the keys after PFADD / PFMERGE / PFCOUNT proves the stored strings are
byte-identical to redis-server's (sparse opcodes, promotion to dense, cached
cardinality). Bulk PFADDs cross the sparse-to-dense threshold within one
example; hand-made strings cover corrupt and foreign values.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.kvcore.differential.common import keys, values, word

COMPARE: dict[bytes, str] = {}

HEADER_SPARSE = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
HEADER_DENSE = b"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
CRAFTED = [
    HEADER_SPARSE + b"\x00\x7f\xff",  # valid empty sparse, cache valid
    HEADER_SPARSE + b"\x80\x7f\xff",  # valid empty sparse, cache stale
    HEADER_SPARSE + b"\x80\x7f\xfe",  # one register short
    HEADER_SPARSE + b"\x80\x7f\xfe\x80",  # one register short, then a VAL
    HEADER_SPARSE + b"\x80\x7f\xff\x00",  # one register too many
    HEADER_SPARSE + b"\x80",  # no opcodes at all
    HEADER_SPARSE + b"\x80\x80\x00\xbf\x7f\xf9",  # v:1,1 z:1 v:16,4 Z:16378: valid, VALs to split
    HEADER_SPARSE + b"\x05\x00\x00\x00\x00\x00\x00\x00\x7f\xff",  # cached 5 on an empty HLL
    HEADER_DENSE + b"\x80" + b"\x00" * 12288,  # valid empty dense
    HEADER_DENSE + b"\x80" + b"\xff" * 12288,  # every register 63
    HEADER_DENSE + b"\x80" + b"\x00" * 100,  # dense of the wrong size
    b"HYLL\x02" + b"\x00" * 11 + b"\x7f\xff",  # unknown encoding
    b"HYLX\x01" + b"\x00" * 11 + b"\x7f\xff",  # bad magic
    b"HYLL\x01\x00\x00",  # shorter than a header
]

elements = st.one_of(st.binary(max_size=10), st.sampled_from([b"a", b"b", b"c", b"", b"hello", b"x" * 40]))


@st.composite
def bulk(draw):
    """Many distinct elements from one of a few ranges, so sets overlap across keys."""
    start = draw(st.sampled_from([0, 500, 1000, 100_000]))
    count = draw(st.sampled_from([20, 300, 1000, 2500]))
    return [b"e%d" % i for i in range(start, start + count)]


@st.composite
def commands(draw):
    k, k2, k3 = draw(keys), draw(keys), draw(keys)
    choice = draw(st.integers(0, 13))
    return [
        lambda: [b"PFADD", k, *draw(st.lists(elements, max_size=6))],
        lambda: [b"PFADD", k, *draw(bulk())],
        lambda: [b"PFCOUNT", k],
        lambda: [b"PFCOUNT", k, k2, *draw(st.lists(keys, max_size=2))],
        lambda: [b"PFMERGE", k, *draw(st.lists(keys, max_size=3))],
        lambda: [b"GET", k],
        lambda: [b"GET", k2],
        lambda: [b"PFDEBUG", draw(st.one_of(word("ENCODING"), word("DECODE"), word("TODENSE"))), k],
        lambda: [b"PFDEBUG", draw(st.sampled_from([b"GETREG", b"nope", b"getreg\x00x"])), k],
        lambda: [b"PFDEBUG", b"ENCODING"],
        lambda: [b"SET", k3, draw(st.sampled_from(CRAFTED))],
        lambda: [b"SET", k3, draw(values)],
        lambda: [b"APPEND", k, draw(st.sampled_from([b"\x80", b"\x00", b"\x7f\xff", b"\xbf"]))],
        lambda: [b"PFADD", k],
    ][choice]()
