"""What Redis's allocator hands out, for MEMORY USAGE's figures: jemalloc's size
classes, and the allocation an sds string of a given length takes."""

from __future__ import annotations

ROBJ_BYTES = 16  # a value's object header (redisObject)


def allocation(size: int) -> int:
    """The jemalloc size class that holds ``size`` bytes."""
    if size <= 8:
        return 8
    if size <= 128:
        return (size + 15) // 16 * 16
    step = 1 << ((size - 1).bit_length() - 3)
    return (size + step - 1) // step * step


def sds_header(length: int) -> int:
    """The header of an sds string of ``length`` bytes (sdshdr5, 8, 16 or 32)."""
    return 1 if length < 32 else 3 if length < 256 else 5 if length < 65536 else 9


def sds_bytes(length: int) -> int:
    return allocation(sds_header(length) + length + 1)


def sds_usable(length: int) -> int:
    """The room an sds made for ``length`` bytes has: its size class less header and NUL."""
    return sds_bytes(length) - sds_header(length) - 1
