"""Redis's listpack cursor over a blob as it is, for content only a deep check would refuse.

A value RESTORE took in unsanitized keeps its bytes (kvcore.corrupt); what
redis-server does when a command reads it depends on the path its cursor
takes: lpFirst, lpNext and lpPrev check each entry they land on
(lpAssertValidEntry), and lpPrev trusts the backlen it reads, so a broken
one sends it anywhere. `Walker` takes those steps the same way, raising
`Assertion` where one of Redis's fails, and `NullRead` where Redis reads
through the null pointer a step past either end gave it.
"""

from __future__ import annotations

from kvcore.listpack import EOF, HEADER_SIZE, _backlen_size
from kvcore.rdb import LP_VALID_ENTRY
from kvcore.types_set import is_int64_text

_INT_SIZES = {0xF1: 3, 0xF2: 4, 0xF3: 5, 0xF4: 9}  # encoding byte -> encoded size
_U64 = (1 << 64) - 1
NOT_NULL = "p"  # lpNext's and lpPrev's assert(p)
STRING2LL = "ret != 0"  # lpGetInteger's, on a string that is no number


class Assertion(Exception):
    """A serverAssert that fails; ``expression`` as Redis's report quotes it."""

    def __init__(self, expression: str) -> None:
        super().__init__(expression)
        self.expression = expression


class NullRead(Exception):
    """lpGet of a null cursor: Redis dies of SIGSEGV."""


class Walker:
    """The cursor moves of listpack.c over ``blob``: positions are offsets, None past either end."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self.size = len(blob)

    def first(self) -> int | None:
        return self._land(HEADER_SIZE)

    def next(self, at: int | None) -> int | None:
        if at is None:
            raise Assertion(NOT_NULL)
        size = self._encoded_size(at)
        return self._land(at + size + _backlen_size(size))  # lpSkip, then as lpFirst

    def _land(self, at: int) -> int | None:
        """The entry at ``at``, checked; None at the terminator."""
        if self.blob[at] == EOF:
            return None
        self._assert_valid(at)
        return at

    def prev(self, at: int | None) -> int | None:
        if at is None:
            raise Assertion(NOT_NULL)
        if at == HEADER_SIZE:
            return None
        at -= 1
        size = self._backlen_before(at)
        at -= ((size + _backlen_size(size)) & _U64) - 1  # as C's uint64_t: a 5-byte garbage backlen wraps
        self._assert_valid(at)
        return at

    def last(self) -> int | None:
        return self.prev(self.size - 1)

    def integer(self, at: int | None) -> int:
        """lpGetInteger: an integer entry's value, or a string's read by string2ll."""
        if at is None:
            raise NullRead
        blob, first = self.blob, self.blob[at]
        if first < 0x80:
            return first
        if 0xC0 <= first < 0xE0:
            value = ((first & 0x1F) << 8) | blob[at + 1]
            return value - 8192 if value >= 4096 else value
        if first in _INT_SIZES:
            return int.from_bytes(blob[at + 1 : at + _INT_SIZES[first]], "little", signed=True)
        text = bytes(blob[at + self._header_size(first) : at + self._encoded_size(at)])
        if not is_int64_text(text):
            raise Assertion(STRING2LL)
        return int(text)

    # -- listpack.c's checks ---------------------------------------------------------------
    def _assert_valid(self, at: int) -> None:
        """lpValidateNext: the entry at ``at`` lies inside the blob and its backlen matches its size."""
        last = self.size - 1
        if at < HEADER_SIZE or at > last:
            raise Assertion(LP_VALID_ENTRY)
        first = self.blob[at]
        if first == EOF:
            return
        header = self._header_size(first)
        if not header or at + header > last:
            raise Assertion(LP_VALID_ENTRY)
        size = self._encoded_size(at)
        backlen = _backlen_size(size)
        if at + size + backlen > last or self._backlen_before(at + size + backlen - 1) + backlen != size + backlen:
            raise Assertion(LP_VALID_ENTRY)

    @staticmethod
    def _header_size(first: int) -> int:
        """lpCurrentEncodedSizeBytes: the bytes that give the entry's size (0: no such encoding)."""
        if first < 0xE0 or first == EOF or first in _INT_SIZES:
            return 1
        if first < 0xF0:
            return 2
        return 5 if first == 0xF0 else 0

    def _encoded_size(self, at: int) -> int:
        """lpCurrentEncodedSizeUnsafe: encoding and data, without the backlen."""
        blob, first = self.blob, self.blob[at]
        if first < 0x80:
            return 1
        if first < 0xC0:
            return 1 + (first & 0x3F)
        if first < 0xE0:
            return 2
        if first < 0xF0:
            return 2 + (((first & 0x0F) << 8) | blob[at + 1])
        if first == 0xF0:
            return 5 + int.from_bytes(blob[at + 1 : at + 5], "little")
        return _INT_SIZES[first]

    def _backlen_before(self, at: int) -> int:
        """lpDecodeBacklen from ``at`` backwards: 7 bits a byte while bit 7 is set, 5 bytes at most."""
        value = shift = 0
        while True:
            byte = self.blob[at]
            value |= (byte & 127) << shift
            if not byte & 128:
                break
            shift += 7
            at -= 1
            if shift > 28:
                return (1 << 64) - 1
        return value
