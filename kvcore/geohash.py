"""Geohashes as Redis computes them: 52-bit interleaved scores, distances, search boxes.

A position is stored as a sorted-set score: latitude (in Redis's
-85.05112878..85.05112878) and longitude (-180..180), each as 26 bits, the
latitude's bits in the even positions. A search around a point covers the
geohash box of a step chosen from the radius and its eight neighbours,
trimmed of those outside the search's bounding box, exactly as Redis's
geohash_helper.c does, so a search visits members in Redis's order.
"""

from __future__ import annotations

import math

LAT_MIN, LAT_MAX = -85.05112878, 85.05112878
LON_MIN, LON_MAX = -180.0, 180.0
STEP_MAX = 26
EARTH_RADIUS_M = 6372797.560856
MERCATOR_MAX = 20037726.37
_D_R = math.pi / 180.0
_ALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"
_EVEN = 0x5555555555555555  # latitude's bits
_ODD = 0xAAAAAAAAAAAAAAAA  # longitude's bits


def _spread(value: int) -> int:
    """The 32 bits of value in the even bit positions of a 64-bit word."""
    value &= 0xFFFFFFFF
    value = (value | (value << 16)) & 0x0000FFFF0000FFFF
    value = (value | (value << 8)) & 0x00FF00FF00FF00FF
    value = (value | (value << 4)) & 0x0F0F0F0F0F0F0F0F
    value = (value | (value << 2)) & 0x3333333333333333
    return (value | (value << 1)) & _EVEN


def _squash(value: int) -> int:
    """The even bits of a 64-bit word, packed into 32."""
    value &= _EVEN
    value = (value | (value >> 1)) & 0x3333333333333333
    value = (value | (value >> 2)) & 0x0F0F0F0F0F0F0F0F
    value = (value | (value >> 4)) & 0x00FF00FF00FF00FF
    value = (value | (value >> 8)) & 0x0000FFFF0000FFFF
    return (value | (value >> 16)) & 0xFFFFFFFF


def valid(lon: float, lat: float) -> bool:
    return LON_MIN <= lon <= LON_MAX and LAT_MIN <= lat <= LAT_MAX


def encode(lon: float, lat: float, step: int = STEP_MAX, lat_min: float = LAT_MIN, lat_max: float = LAT_MAX) -> int:
    """The geohash bits (2 * step of them) of a position (geohashEncode)."""
    lat_offset = (lat - lat_min) / (lat_max - lat_min) * (1 << step)
    lon_offset = (lon - LON_MIN) / (LON_MAX - LON_MIN) * (1 << step)
    return _spread(int(lat_offset)) | (_spread(int(lon_offset)) << 1)


def area(bits: int, step: int) -> tuple[float, float, float, float]:
    """The box a geohash stands for: (lon min, lon max, lat min, lat max) (geohashDecode)."""
    ilat, ilon = _squash(bits), _squash(bits >> 1)
    lat_scale, lon_scale = LAT_MAX - LAT_MIN, LON_MAX - LON_MIN
    cells = float(1 << step)
    return (LON_MIN + (ilon / cells) * lon_scale, LON_MIN + ((ilon + 1) / cells) * lon_scale,
            LAT_MIN + (ilat / cells) * lat_scale, LAT_MIN + ((ilat + 1) / cells) * lat_scale)


def decode(score: int) -> tuple[float, float]:
    """The position a 52-bit score stands for: its box's centre, held in range."""
    lon_min, lon_max, lat_min, lat_max = area(score, STEP_MAX)
    lon = min(max((lon_min + lon_max) / 2, LON_MIN), LON_MAX)
    lat = min(max((lat_min + lat_max) / 2, LAT_MIN), LAT_MAX)
    return lon, lat


def text(score: int) -> bytes:
    """GEOHASH's 11-character string: the position re-encoded in the standard -90..90 range."""
    lon, lat = decode(score)
    bits = encode(lon, lat, STEP_MAX, -90.0, 90.0)
    return bytes(_ALPHABET[(bits >> (52 - (i + 1) * 5)) & 0x1F] if i < 10 else _ALPHABET[0] for i in range(11))


def lat_distance(lat1: float, lat2: float) -> float:
    return EARTH_RADIUS_M * abs(lat2 * _D_R - lat1 * _D_R)


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Metres between two positions (haversine, Redis's earth radius and shortcut)."""
    v = math.sin((lon2 * _D_R - lon1 * _D_R) / 2)
    if v == 0.0:
        return lat_distance(lat1, lat2)
    lat1r, lat2r = lat1 * _D_R, lat2 * _D_R
    u = math.sin((lat2r - lat1r) / 2)
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(u * u + math.cos(lat1r) * math.cos(lat2r) * v * v))


class Shape:
    """A search: around (lon, lat), a radius or a width and height, in metres once ``conversion`` applies."""

    def __init__(self, lon: float, lat: float, conversion: float, radius: float | None = None,
                 width: float = 0.0, height: float = 0.0) -> None:
        self.lon, self.lat = lon, lat
        self.conversion = conversion
        self.radius, self.width, self.height = radius, width, height

    def contains(self, lon: float, lat: float) -> float | None:
        """The distance in metres to a position inside the shape, None outside."""
        if self.radius is not None:
            metres = distance(self.lon, self.lat, lon, lat)
            return None if metres > self.radius * self.conversion else metres
        if lat_distance(lat, self.lat) > self.height * self.conversion / 2:
            return None
        if distance(lon, lat, self.lon, lat) > self.width * self.conversion / 2:
            return None
        return distance(self.lon, self.lat, lon, lat)

    def bounds(self) -> tuple[float, float, float, float]:
        """(lon min, lat min, lon max, lat max) around the shape (geohashBoundingBox)."""
        half_height = self.conversion * (self.radius if self.radius is not None else self.height / 2)
        half_width = self.conversion * (self.radius if self.radius is not None else self.width / 2)
        lat_delta = (half_height / EARTH_RADIUS_M) / _D_R
        top = (half_width / EARTH_RADIUS_M / _cos((self.lat + lat_delta) * _D_R)) / _D_R
        bottom = (half_width / EARTH_RADIUS_M / _cos((self.lat - lat_delta) * _D_R)) / _D_R
        delta = bottom if self.lat < 0 else top
        return self.lon - delta, self.lat - lat_delta, self.lon + delta, self.lat + lat_delta

    def boxes(self) -> list[tuple[int, int]]:
        """The (bits, step) geohash boxes to search, in Redis's order, trimmed and without repeats."""
        min_lon, min_lat, max_lon, max_lat = self.bounds()
        if self.radius is not None:
            metres = self.radius * self.conversion
        else:
            metres = math.hypot(self.width / 2, self.height / 2) * self.conversion  # inf past a double's range
        step = _steps(metres, self.lat)
        centre, neighbours = _around(self.lon, self.lat, step)
        north, south, east, west = (area(neighbours[name], step) for name in ("north", "south", "east", "west"))
        if step > 1 and (north[3] < max_lat or south[2] > min_lat or east[1] < max_lon or west[0] > min_lon):
            step -= 1
            centre, neighbours = _around(self.lon, self.lat, step)
        lon_lo, lon_hi, lat_lo, lat_hi = area(centre, step)
        dropped = set()
        if step >= 2:
            if lat_lo < min_lat:
                dropped |= {"south", "south_west", "south_east"}
            if lat_hi > max_lat:
                dropped |= {"north", "north_east", "north_west"}
            if lon_lo < min_lon:
                dropped |= {"west", "south_west", "north_west"}
            if lon_hi > max_lon:
                dropped |= {"east", "south_east", "north_east"}
        boxes, last = [], None
        for name in ("centre", "north", "south", "east", "west", "north_east", "north_west", "south_east",
                     "south_west"):
            if name in dropped:
                continue
            bits = centre if name == "centre" else neighbours[name]
            if last is not None and bits == last:
                continue  # a huge radius makes neighbours repeat
            boxes.append((bits, step))
            last = bits
        return boxes


def _cos(radians: float) -> float:
    """C's cos: NaN for an infinite angle (a radius past a double's range), where Python raises."""
    return math.cos(radians) if math.isfinite(radians) else math.nan


def box_scores(bits: int, step: int) -> tuple[int, int]:
    """The scores a box covers: min inclusive, max exclusive."""
    shift = 52 - step * 2
    return bits << shift, (bits + 1) << shift


def _steps(metres: float, lat: float) -> int:
    if metres == 0:
        return STEP_MAX
    step = 1
    while metres < MERCATOR_MAX:
        metres *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return min(max(step, 1), STEP_MAX)


def _around(lon: float, lat: float, step: int) -> tuple[int, dict[str, int]]:
    bits = encode(lon, lat, step)
    moves = {"east": (1, 0), "west": (-1, 0), "south": (0, -1), "north": (0, 1), "north_west": (-1, 1),
             "south_west": (-1, -1), "north_east": (1, 1), "south_east": (1, -1)}
    return bits, {name: _move_y(_move_x(bits, dx, step), dy, step) for name, (dx, dy) in moves.items()}


def _move_x(bits: int, d: int, step: int) -> int:
    if d == 0:
        return bits
    x, y = bits & _ODD, bits & _EVEN
    zz = _EVEN >> (64 - step * 2)
    x = (x + (zz + 1)) if d > 0 else ((x | zz) - (zz + 1))
    return ((x & (_ODD >> (64 - step * 2))) | y) & 0xFFFFFFFFFFFFFFFF


def _move_y(bits: int, d: int, step: int) -> int:
    if d == 0:
        return bits
    x, y = bits & _ODD, bits & _EVEN
    zz = _ODD >> (64 - step * 2)
    y = (y + (zz + 1)) if d > 0 else ((y | zz) - (zz + 1))
    return (x | (y & (_EVEN >> (64 - step * 2)))) & 0xFFFFFFFFFFFFFFFF
