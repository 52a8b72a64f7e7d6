"""kvcore.lzf: round trips, errors, and redis-server's exact compressed bytes.

The expected streams below were taken from DUMP payloads of redis-server
7.0.15 (SET k <input>; DUMP k), whose strings past 20 bytes are LZF
compressed with out_len = len - 4. tests/kvcore/test_dump_restore.py
compares many more inputs with a live redis-server.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvcore import lzf
from kvcore.lzf import LzfError, compress, decompress

REDIS_STREAMS = [
    (b"a" * 100, "016161e05700016161"),
    (b"hello world " * 10, "0c68656c6c6f20776f726c642068e0600b016420"),
    (b"abcdefabcdefXabcdefabcdef123456", "0661626364656661600500588006800505313233343536"),
    (b"ododdoddddodododooddd", "036f646f64400240046001200e0064"),
    (
        bytes(range(64)) * 3,
        "1f000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f1f20212223242526"
        "2728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f0000e0743f013e3f",
    ),
]


@pytest.mark.parametrize(("data", "stream"), REDIS_STREAMS)
def test_compress_writes_redis_bytes(data, stream):
    assert compress(data, len(data) - 4) == bytes.fromhex(stream)
    assert decompress(bytes.fromhex(stream), len(data)) == data


def test_gives_up_where_redis_does():
    # 22 bytes that liblzf would squeeze into 17, but its running space checks
    # (out_len 18) fail first: redis-server stores this string uncompressed.
    assert compress(b"zcczzzvcczzzvczzzvvvcz", 18) is None
    assert compress(b"zcczzzvcczzzvczzzvvvcz", 40) is not None


def test_incompressible_and_empty_inputs():
    noise = random.Random(3).randbytes(1000)
    assert compress(noise, len(noise) - 4) is None
    assert compress(b"", 10) is None
    assert compress(b"abc", 0) is None


@given(st.binary(max_size=3000), st.integers(0, 200))
def test_round_trip(data, slack):
    packed = compress(data, len(data) + slack)
    if packed is not None:
        assert len(packed) <= len(data) + slack
        assert decompress(packed, len(data)) == data


@given(st.lists(st.sampled_from([b"ab", b"abc", b"x", b"hello", b"\x00\x00"]), max_size=400))
def test_round_trip_repetitive(parts):
    data = b"".join(parts)
    packed = compress(data, len(data) + 64)
    assert packed is not None or not data
    if packed is not None:
        assert decompress(packed, len(data)) == data


def test_long_repeats_and_far_references():
    rng = random.Random(5)
    block = rng.randbytes(5000)
    data = block + rng.randbytes(4000) + block + b"z" * 2000  # references beyond the 8 KB window too
    packed = compress(data, len(data) - 4)
    assert packed is not None and len(packed) < len(data)
    assert decompress(packed, len(data)) == data


@pytest.mark.parametrize("batch", [1, 3, 100])
def test_slots_computed_in_batches_change_nothing(monkeypatch, batch):
    rng = random.Random(9)
    inputs = [b"y" * 9000, rng.randbytes(700) * 12, b"".join(rng.choice([b"ab", b"cde", b"f"]) for _ in range(3000))]
    expected = [compress(data, len(data)) for data in inputs]
    monkeypatch.setattr(lzf, "SLOTS_AT_ONCE", batch)
    assert [compress(data, len(data)) for data in inputs] == expected


@pytest.mark.parametrize(
    ("stream", "size"),
    [
        (b"\x05abc", 6),  # literal run past the end of the input
        (b"\x00a\x20", 3),  # back reference without its offset byte
        (b"\x00a\x20\x05", 3),  # back reference before the start of the output
        (b"\x00a\x20\x00", 2),  # more output than announced
        (b"\x01ab", 3),  # less output than announced
    ],
)
def test_decompress_rejects_bad_streams(stream, size):
    with pytest.raises(LzfError):
        decompress(stream, size)
