"""kvcore.listpack_walk: listpack.c's cursor moves over blobs as they are."""

from __future__ import annotations

import pytest

from kvcore import listpack
from kvcore.listpack_walk import NOT_NULL, STRING2LL, Assertion, NullRead, Walker

ITEMS = [5, b"item", -300, b"x" * 70, 1 << 40, b"12", 0]


def test_walking_forward_and_back_meets_every_entry():
    blob = listpack.encode(ITEMS)
    lp = Walker(blob)
    forward, at = [], lp.first()
    while at is not None:
        forward.append(at)
        at = lp.next(at)
    backward, at = [], lp.last()
    while at is not None:
        backward.append(at)
        at = lp.prev(at)
    assert len(forward) == len(ITEMS) and backward == forward[::-1]
    assert [lp.integer(at) for at in forward if at != forward[1] and at != forward[3]] == [5, -300, 1 << 40, 12, 0]
    with pytest.raises(Assertion, match=STRING2LL):
        lp.integer(forward[1])


def test_a_wrong_backlen_sends_prev_where_redis_arithmetic_goes():
    """The last entry (7, one byte and its backlen) claims a size of 5: lpPrev goes back 5 + 1 - 1
    bytes from that backlen, onto the entry 2 (checked, as lpAssertValidEntry)."""
    blob = bytearray(listpack.encode([1, 2, 3, 7]))
    blob[-2] = 5  # the last entry's backlen
    lp = Walker(bytes(blob))
    assert lp.last() == len(blob) - 1 - 1 - 5
    assert lp.integer(lp.last()) == 2


def test_landing_inside_an_entry_or_outside_the_blob_fails_the_assertion():
    blob = bytearray(listpack.encode([b"abcdef", 7]))
    blob[-2] = 3  # lands inside the string
    with pytest.raises(Assertion, match="lpValidateNext"):
        Walker(bytes(blob)).last()
    blob[-2] = 100  # before the header
    with pytest.raises(Assertion, match="lpValidateNext"):
        Walker(bytes(blob)).last()
    with pytest.raises(Assertion) as failed:
        Walker(bytes(blob)).prev(None)
    assert failed.value.expression == NOT_NULL
    with pytest.raises(NullRead):
        Walker(bytes(blob)).integer(None)


def test_a_five_byte_garbage_backlen_wraps_as_uint64_arithmetic():
    """lpDecodeBacklen gives UINT64_MAX for five bytes with bit 7 set; adding its own size (5)
    wraps to 4, so lpPrev goes back only 3 bytes: onto 0x80, an empty string whose backlen 0x81
    reads (backwards, through the bytes before it) as 1, which checks."""
    blob = bytes.fromhex("0d000000" "0100" "00" "80" "80818283" "ff")
    assert Walker(blob).last() == len(blob) - 1 - 1 - 3
