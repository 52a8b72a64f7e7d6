"""kvcore.crc64 against a bit-by-bit CRC-64/Jones and Redis's own check value."""

from __future__ import annotations

import random

import pytest

from kvcore import crc64 as crc64_module
from kvcore.crc64 import LANE_BYTES, LANES_MAX, LANES_MIN

# Both implementations: crcmod's C function (where built) and the pure-Python one.
IMPLEMENTATIONS = [crc64_module.crc64_python]
if crc64_module._CRCMOD is not None:
    IMPLEMENTATIONS.append(crc64_module.crc64)


@pytest.fixture(params=IMPLEMENTATIONS, ids=lambda fn: fn.__name__)
def crc64(request):
    return request.param

JONES_REFLECTED = 0x95AC9329AC4BC9B5


def bitwise_crc64(crc: int, data: bytes) -> int:
    """The definition: reflected input and output, no final xor, one bit at a time."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ JONES_REFLECTED if crc & 1 else crc >> 1
    return crc


def test_redis_check_value(crc64):
    # crc64.c's self test in redis-server: crc64(0, "123456789") == 0xe9c6d914c4b8d9ca
    assert crc64(0, b"123456789") == 0xE9C6D914C4B8D9CA


def test_empty_input_keeps_the_crc(crc64):
    assert crc64(0, b"") == 0
    assert crc64(12345, b"") == 12345


SIZES = [
    1, 7, 255,
    LANE_BYTES * LANES_MIN - 1,  # the last size the plain loop takes whole
    LANE_BYTES * LANES_MIN,  # the first that takes the lanes
    LANE_BYTES * LANES_MIN + 1,
    LANE_BYTES * LANES_MIN * 3 + 77,  # two lane chunks of different sizes and a tail
    LANE_BYTES * LANES_MAX + LANE_BYTES * LANES_MIN + 5,  # a full 2 MB chunk, a small one, a tail
]


@pytest.mark.parametrize("size", SIZES)
def test_matches_the_definition(crc64, size):
    data = random.Random(size).randbytes(size)
    expected = bitwise_crc64(0, data) if size < 100_000 else None
    got = crc64(0, data)
    if expected is not None:
        assert got == expected
    # continuing from a crc is the crc of the concatenation, wherever the cut
    cut = size // 3
    assert crc64(crc64(0, data[:cut]), data[cut:]) == got


def test_large_input_agrees_with_chunked_plain_computation(crc64):
    data = random.Random(1).randbytes(LANE_BYTES * LANES_MAX + 12345)
    # the plain loop over pieces of less than one lane chunk each must agree
    crc = 0
    piece = LANE_BYTES * LANES_MIN - 1
    for start in range(0, len(data), piece):
        crc = crc64(crc, data[start : start + piece])
    assert crc64(0, data) == crc


def test_continuation_from_nonzero_crc_through_lanes(crc64):
    data = random.Random(2).randbytes(LANE_BYTES * LANES_MIN * 2 + 3)
    start = bitwise_crc64(0, b"prefix")
    assert crc64(start, data) == bitwise_crc64(start, data)


def test_accepts_bytearray_and_memoryview(crc64):
    data = bytes(range(256)) * 40
    expected = bitwise_crc64(0, data)
    assert crc64(0, bytearray(data)) == expected
    assert crc64(0, memoryview(data)) == expected


def test_the_c_function_is_used_where_crcmod_has_its_extension():
    crcmod = pytest.importorskip("crcmod.crcmod")
    assert (crc64_module._CRCMOD is not None) == crcmod._usingExtension
