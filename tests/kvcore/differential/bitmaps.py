"""Differential strategies for the bitmap family.

Writes stay at small offsets (a 512 MB string per example would swamp both
servers); reads and argument errors use the whole offset range and its edges.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.kvcore.differential.common import int_args, keys, number_args, word

COMPARE: dict[bytes, str] = {}

small_offsets = st.integers(0, 200).map(lambda n: b"%d" % n)
edge_offsets = st.sampled_from(
    [b"4294967295", b"4294967296", b"-1", b"abc", b"", b"1.5", b"+3", b"01", b"9223372036854775807"]
)
read_offsets = st.one_of(small_offsets, small_offsets, edge_offsets)
bits = st.sampled_from([b"0", b"1", b"2", b"-1", b"x", b"01", b"1 "])
ranges = st.one_of(
    st.integers(-30, 30).map(lambda n: b"%d" % n),
    st.sampled_from([b"-9223372036854775808", b"9223372036854775807", b"x"]),
)
units = st.one_of(word("BIT"), word("BYTE"), st.just(b"bits"))
field_types = st.sampled_from(
    [b"i1", b"i5", b"i8", b"i16", b"i63", b"i64", b"u1", b"u7", b"u8", b"u16", b"u63",
     b"u64", b"i0", b"i65", b"x8", b"U8", b"u", b"u-1", b"u08"]
)
field_offsets = st.one_of(
    small_offsets,
    st.integers(0, 20).map(lambda n: b"#%d" % n),
    st.sampled_from([b"#-1", b"#", b"4294967295", b"#536870912", b"#1152921504606846976", b"x"]),
)
field_values = st.one_of(
    int_args,
    st.sampled_from([b"127", b"128", b"-128", b"-129", b"255", b"256", b"-9223372036854775808", b"1.5", b"z"]),
)


@st.composite
def field_op(draw):
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return [draw(word("GET")), draw(field_types), draw(field_offsets)]
    if kind in (1, 2):
        name = draw(word("SET")) if kind == 1 else draw(word("INCRBY"))
        return [name, draw(field_types), draw(field_offsets.filter(_small_write)), draw(field_values)]
    if kind == 3:
        return [draw(word("OVERFLOW")), draw(st.one_of(word("WRAP"), word("SAT"), word("FAIL"), st.just(b"BAD")))]
    return draw(st.sampled_from([[b"GET", b"u8"], [b"SET", b"u8", b"0"], [b"OVERFLOW"], [b"NOPE"]]))


def _small_write(offset: bytes) -> bool:
    """Writes never reach past a few hundred bytes (bad offsets still test errors)."""
    return offset not in (b"4294967295", b"#536870912")


def _flatten(parts):
    return [arg for part in parts for arg in part]


@st.composite
def commands(draw):
    k, k2, k3 = draw(keys), draw(keys), draw(keys)
    choice = draw(st.integers(0, 14))
    return [
        lambda: [b"SETBIT", k, draw(st.one_of(small_offsets, edge_offsets.filter(lambda o: o != b"4294967295"))),
                 draw(bits)],
        lambda: [b"SETBIT", k, draw(small_offsets), draw(st.sampled_from([b"0", b"1"]))],
        lambda: [b"GETBIT", k, draw(read_offsets)],
        lambda: [b"BITCOUNT", k],
        lambda: [b"BITCOUNT", k, *draw(st.lists(st.one_of(ranges, units), min_size=1, max_size=4))],
        lambda: [b"BITCOUNT", k, draw(ranges), draw(ranges), draw(units)],
        lambda: [b"BITPOS", k, draw(bits)],
        lambda: [b"BITPOS", k, draw(st.sampled_from([b"0", b"1"])),
                 *draw(st.lists(st.one_of(ranges, ranges, units), min_size=1, max_size=4))],
        lambda: [b"BITPOS", k, draw(st.sampled_from([b"0", b"1"])), draw(ranges), draw(ranges), draw(units)],
        lambda: [b"BITOP", draw(st.one_of(word("AND"), word("OR"), word("XOR"), st.just(b"NAND"))), k, k2,
                 *draw(st.lists(keys, max_size=2))],
        lambda: [b"BITOP", draw(word("NOT")), k, *draw(st.lists(keys, min_size=1, max_size=2))],
        lambda: [b"BITFIELD", k, *_flatten(draw(st.lists(field_op(), max_size=4)))],
        lambda: [b"BITFIELD_RO", k, *_flatten(draw(st.lists(field_op(), max_size=3)))],
        lambda: [b"BITFIELD_RO", k, *_flatten(draw(st.lists(
            st.tuples(word("GET"), field_types, field_offsets), max_size=3)))],
        lambda: [b"SET", k3, draw(st.sampled_from([b"\xff\xf0\x00", b"\x00\x00\x01", b"", b"\xff" * 40,
                                                   b"1234", b"foobar", draw(number_args)]))],
    ][choice]()
