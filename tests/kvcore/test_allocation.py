"""jemalloc's size classes as MEMORY USAGE reckons them."""

import pytest

from kvcore.allocation import allocation, sds_bytes


@pytest.mark.parametrize("size, size_class", [
    (1, 8), (8, 8), (9, 16), (17, 32), (100, 112), (128, 128), (129, 160), (161, 192), (256, 256),
    (257, 320), (1025, 1280), (2048, 2048), (4097, 5120),
])
def test_size_classes(size, size_class):
    assert allocation(size) == size_class


def test_sds_headers_grow_with_the_length():
    assert sds_bytes(0) == 8  # 1-byte header, terminator
    assert sds_bytes(31) == 48  # 1 + 31 + 1 = 33
    assert sds_bytes(32) == 48  # 3-byte header from 32 on: 36
    assert sds_bytes(300) == 320  # 5-byte header from 256 on: 306
