"""Redis's CRC-64 (Jones polynomial, reflected, no final xor), as in its crc64.c.

``crc64(0, b"123456789") == 0xe9c6d914c4b8d9ca``. RDB files end with this
checksum of everything before it, and DUMP payloads with the checksum of the
type, value and version. Both little-endian.

`crc64` is crcmod's C function where crcmod was built with its extension
(about 450 MB/s here, six times `crc64_python`: a 200 MB full sync or
snapshot spends 0.4 s on its checksum, not 2.7 s); `crc64_python` otherwise.

Pure Python cannot run a byte-at-a-time table loop much faster than 5 MB/s, so
long inputs are cut into chunks and each chunk into ``K`` lanes of
``LANE_BYTES`` bytes checksummed side by side, one byte of every lane per
step, with the lanes' states kept as byte vectors: ``bytes.translate`` does
the table lookups for all lanes at once and ``int`` xor combines the vectors.
A step needs only the lane index bytes of the last eight steps:
``i_t = d_t ^ T0[i_(t-1)] ^ T1[i_(t-2)] ^ ... ^ T7[i_(t-8)]`` where ``Tj`` is
byte ``j`` of the 256-entry table. The lanes' checksums are then folded
pairwise, and chunks joined, with the linearity of the CRC:
``crc(A + B) = shift(crc(A), len(B)) ^ crc(B)``, where ``shift`` (running
zero bytes through the CRC) is a fixed linear map, applied with byte tables.
"""

from __future__ import annotations

POLY = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9 bit-reversed
LANE_BYTES = 128
LANES_MAX = 16384  # 2 MB chunks
LANES_MIN = 64  # shorter inputs (under 8 KB) take the plain loop


def _byte_table() -> list[int]:
    table = []
    for index in range(256):
        crc = index
        for _ in range(8):
            crc = (crc >> 1) ^ POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


TABLE = _byte_table()
_PLANES = [bytes((entry >> (8 * j)) & 0xFF for entry in TABLE) for j in range(8)]


def _crcmod_function():
    """crcmod's C function for this CRC, or None (crcmod missing, or installed without its
    extension: its pure-Python fallback is slower than `crc64_python`)."""
    try:
        import crcmod
        from crcmod.crcmod import _usingExtension
    except ImportError:
        return None
    return crcmod.mkCrcFun((1 << 64) | 0xAD93D23594C935A9, initCrc=0, rev=True, xorOut=0) if _usingExtension else None


_CRCMOD = _crcmod_function()


def crc64(crc: int, data) -> int:
    """The CRC-64 of ``data`` continuing from ``crc`` (0 to start), as Redis's crc64()."""
    if _CRCMOD is not None:
        return _CRCMOD(data, crc)
    return crc64_python(crc, data)


def crc64_python(crc: int, data) -> int:
    """`crc64` in pure Python."""
    data = bytes(data)
    size = len(data)
    pos = 0
    while size - pos >= LANE_BYTES * LANES_MIN:
        lanes = min(LANES_MAX, 1 << ((size - pos) // LANE_BYTES).bit_length() - 1)
        span = lanes * LANE_BYTES
        crc = _shift_map(span).apply(crc) ^ _lanes_crc(data[pos : pos + span], lanes)
        pos += span
    return _plain(crc, data[pos:] if pos else data)


def _plain(crc: int, data: bytes) -> int:
    table = TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def _lanes_crc(chunk: bytes, lanes: int) -> int:
    """The CRC (from 0) of a chunk of ``lanes * LANE_BYTES`` bytes."""
    fb = int.from_bytes
    t0, t1, t2, t3, t4, t5, t6, t7 = _PLANES
    h0 = h1 = h2 = h3 = h4 = h5 = h6 = h7 = bytes(lanes)  # lane index bytes of the last 8 steps
    span = len(chunk)
    for step in range(LANE_BYTES):
        mixed = (
            fb(chunk[step:span:LANE_BYTES], "little")
            ^ fb(h0.translate(t0), "little")
            ^ fb(h1.translate(t1), "little")
            ^ fb(h2.translate(t2), "little")
            ^ fb(h3.translate(t3), "little")
            ^ fb(h4.translate(t4), "little")
            ^ fb(h5.translate(t5), "little")
            ^ fb(h6.translate(t6), "little")
            ^ fb(h7.translate(t7), "little")
        )
        h7, h6, h5, h4, h3, h2, h1 = h6, h5, h4, h3, h2, h1, h0
        h0 = mixed.to_bytes(lanes, "little")
    planes = _lane_states([h0, h1, h2, h3, h4, h5, h6, h7], lanes)
    return _fold(planes, lanes)


def _lane_states(history: list[bytes], lanes: int) -> list[bytes]:
    """Every lane's CRC as 8 byte planes, from its last 8 index bytes.

    A lane's CRC is ``T[i_t] ^ T[i_(t-1)] >> 8 ^ ... ^ T[i_(t-7)] >> 56``, so
    its byte ``j`` is the xor of ``T(j+m)[i_(t-m)]`` for ``m`` in 0..7-j.
    """
    fb = int.from_bytes
    planes = []
    for j in range(8):
        value = 0
        for m in range(8 - j):
            value ^= fb(history[m].translate(_PLANES[j + m]), "little")
        planes.append(value.to_bytes(lanes, "little"))
    return planes


def _fold(planes: list[bytes], lanes: int) -> int:
    """Join the lanes' CRCs (as byte planes) into the CRC of the whole chunk, pairwise."""
    fb = int.from_bytes
    span = LANE_BYTES
    while lanes > 1:
        lanes //= 2
        tables = _shift_map(span).plane_tables
        joined = []
        for j in range(8):
            value = fb(planes[j][1::2], "little")
            for k in range(8):
                value ^= fb(planes[k][0::2].translate(tables[k][j]), "little")
            joined.append(value.to_bytes(lanes, "little"))
        planes = joined
        span *= 2
    return int.from_bytes(bytes(plane[0] for plane in planes), "little")


class _ShiftMap:
    """The linear map ``crc -> crc64(crc, bytes(n))``, as byte tables."""

    __slots__ = ("tables", "plane_tables")

    def __init__(self, columns: list[int]) -> None:
        self.tables = []  # tables[k][b]: the image of byte b at byte position k
        for k in range(8):
            table = [0] * 256
            for b in range(1, 256):
                low = b & -b
                table[b] = table[b ^ low] ^ columns[8 * k + low.bit_length() - 1]
            self.tables.append(table)
        self.plane_tables = [
            [bytes((entry >> (8 * j)) & 0xFF for entry in table) for j in range(8)] for table in self.tables
        ]

    def apply(self, crc: int) -> int:
        tables = self.tables
        return (
            tables[0][crc & 0xFF] ^ tables[1][(crc >> 8) & 0xFF] ^ tables[2][(crc >> 16) & 0xFF]
            ^ tables[3][(crc >> 24) & 0xFF] ^ tables[4][(crc >> 32) & 0xFF] ^ tables[5][(crc >> 40) & 0xFF]
            ^ tables[6][(crc >> 48) & 0xFF] ^ tables[7][crc >> 56]
        )


def _apply_columns(columns: list[int], value: int) -> int:
    out = 0
    while value:
        low = value & -value
        out ^= columns[low.bit_length() - 1]
        value ^= low
    return out


_COLUMNS: dict[int, list[int]] = {1: [_plain(1 << bit, b"\0") for bit in range(64)]}
_MAPS: dict[int, _ShiftMap] = {}


def _columns(size: int) -> list[int]:
    """The 64 columns of the shift map for ``size`` zero bytes (a power of two)."""
    columns = _COLUMNS.get(size)
    if columns is None:
        half = _columns(size // 2)
        columns = [_apply_columns(half, column) for column in half]
        _COLUMNS[size] = columns
    return columns


def _shift_map(size: int) -> _ShiftMap:
    shift = _MAPS.get(size)
    if shift is None:
        shift = _MAPS[size] = _ShiftMap(_columns(size))
    return shift
