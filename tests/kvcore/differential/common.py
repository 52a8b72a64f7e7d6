"""Strategies every family shares: keys, values, numbers, option spellings."""

from __future__ import annotations

from hypothesis import strategies as st

KEYS = [b"k1", b"k2", b"k3", b"{t}a", b"{t}b"]

keys = st.sampled_from(KEYS)
small_ints = st.integers(-5, 20)
edge_ints = st.sampled_from([0, 1, -1, 2**31, 2**63 - 1, -(2**63), 2**63, 10**20])
ints = st.one_of(small_ints, edge_ints)


def as_arg(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


int_args = ints.map(as_arg)
junk_numbers = st.sampled_from([b"", b"abc", b"1.5", b" 1", b"+1", b"01", b"-0", b"0x10", b"1e3", b"inf", b"nan"])
number_args = st.one_of(int_args, int_args, junk_numbers)
float_args = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: repr(f).encode()),
    st.sampled_from([b"0", b"1.5", b"-2.25", b"inf", b"-inf", b"+inf", b"1e3", b"abc", b"nan", b"", b"3"]),
)
values = st.one_of(
    st.binary(max_size=12),
    st.sampled_from([b"", b"0", b"1", b"-1", b"10", b"hello", b"9223372036854775807", b"3.5"]),
)
casing = st.sampled_from([str.upper, str.lower, str.title])


def word(text: str):
    """A keyword in a random case (Redis options are case-insensitive)."""
    return casing.map(lambda f: f(text).encode())
