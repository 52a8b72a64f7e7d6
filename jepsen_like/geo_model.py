"""Geo commands in the sequential reference (`jepsen_like.redis_model`): points as sorted-set scores.

A point is stored as Redis stores it: a 52-bit geohash score (latitude bits
even, longitude bits odd, latitude over the Mercator limits +-85.05112878), so
GEOADD's members read back, from ZRANGE too, as the centres of their cells.
Distances are Redis's haversine on a sphere of 6372797.560856 m, in the same
floating-point steps (so Python's libm gives the same doubles as redis-server's
on this machine), printed with four fixed decimals rounded as ``llrint``
rounds; coordinates as ``%.17Lf`` without trailing zeros (`long_double`). A search keeps every
point within the radius (or the box) of its centre, nearest first or last:
the workload always sorts, and its points are far from ties and from the edges.
"""

from __future__ import annotations

import math
from typing import Any

from jepsen_like.long_double import fixed17
from jepsen_like.zset_model import Scores

STEP = 26
LAT_MIN, LAT_MAX = -85.05112878, 85.05112878
LON_MIN, LON_MAX = -180.0, 180.0
EARTH_RADIUS_M = 6372797.560856
DEG_TO_RAD = math.pi / 180.0
UNITS = {"m": 1.0, "km": 1000.0, "mi": 1609.34, "ft": 0.3048}
ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"


def _spread(value: int) -> int:
    """The 32 bits of `value` at the even bit positions of a 64-bit word."""
    out = 0
    for bit in range(32):
        out |= ((value >> bit) & 1) << (2 * bit)
    return out


def _gather(word: int) -> int:
    """The bits at the even positions of `word`, packed."""
    return sum(((word >> (2 * bit)) & 1) << bit for bit in range(32))


def encode(lon: float, lat: float, lat_min: float = LAT_MIN, lat_max: float = LAT_MAX) -> int:
    """geohashEncode at 26 steps: each offset scaled to 2**26 and truncated, interleaved."""
    lat_cell = int((lat - lat_min) / (lat_max - lat_min) * float(1 << STEP))
    lon_cell = int((lon - LON_MIN) / (LON_MAX - LON_MIN) * float(1 << STEP))
    return _spread(lat_cell) | (_spread(lon_cell) << 1)


def decode(score: int) -> tuple[float, float]:
    """The centre of a score's cell (clamped to the limits): (longitude, latitude)."""
    lat_cell, lon_cell = _gather(score), _gather(score >> 1)
    lat_scale, lon_scale, cells = LAT_MAX - LAT_MIN, LON_MAX - LON_MIN, float(1 << STEP)
    lat = (LAT_MIN + (lat_cell * 1.0 / cells) * lat_scale + LAT_MIN + ((lat_cell + 1) * 1.0 / cells) * lat_scale) / 2
    lon = (LON_MIN + (lon_cell * 1.0 / cells) * lon_scale + LON_MIN + ((lon_cell + 1) * 1.0 / cells) * lon_scale) / 2
    return min(max(lon, LON_MIN), LON_MAX), min(max(lat, LAT_MIN), LAT_MAX)


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """geohashGetDistance, step by step."""
    lon1r, lon2r = lon1 * DEG_TO_RAD, lon2 * DEG_TO_RAD
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return EARTH_RADIUS_M * abs(lat2 * DEG_TO_RAD - lat1 * DEG_TO_RAD)
    lat1r, lat2r = lat1 * DEG_TO_RAD, lat2 * DEG_TO_RAD
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def fixed4(value: float) -> str:
    """fixedpoint_d2string with four decimals: the value times 10**4, rounded half to even."""
    scaled = round(value * 10000.0)
    sign, digits = ("-" if scaled < 0 else ""), str(abs(scaled)).rjust(5, "0")
    return f"{sign}{digits[:-4]}.{digits[-4:]}"


def geohash_text(score: int) -> str:
    """GEOHASH's 11 characters: the cell's centre encoded again over latitudes +-90, 5 bits a character
    (the eleventh, past the 52 bits, always '0')."""
    bits = encode(*decode(score), lat_min=-90.0, lat_max=90.0)
    return "".join(ALPHABET[(bits >> (52 - (i + 1) * 5)) & 0x1F] for i in range(10)) + "0"


class GeoCommands:
    """GEOADD, GEODIST, GEOPOS, GEOHASH, GEOSEARCH and GEOSEARCHSTORE on a model's sorted sets."""

    data: dict[str, Any]  # RedisModel's, as are `zadd` and `_stored`

    def geoadd(self, args):
        """GEOADD key [NX|XX] [CH] lon lat member...: members added (and, with CH, moved)."""
        key, flags, rest = args[0], set(), args[1:]
        while rest[0].upper() in ("NX", "XX", "CH"):
            flags.add(rest[0].upper())
            rest = rest[1:]
        triples = [(float(rest[i]), float(rest[i + 1]), rest[i + 2]) for i in range(0, len(rest), 3)]
        return self.zadd([key, *sorted(flags), *[part for lon, lat, member in triples
                                                   for part in (str(encode(lon, lat)), member)]])

    def geodist(self, args):
        scores = self.data.get(args[0], {})
        if args[1] not in scores or args[2] not in scores:
            return None
        meters = distance(*decode(scores[args[1]]), *decode(scores[args[2]]))
        return fixed4(meters / UNITS[args[3].lower() if len(args) > 3 else "m"])

    def geopos(self, args):
        scores = self.data.get(args[0], {})
        return [[fixed17(part) for part in decode(scores[member])] if member in scores else None
                for member in args[1:]]

    def geohash(self, args):
        scores = self.data.get(args[0], {})
        return [geohash_text(scores[member]) if member in scores else None for member in args[1:]]

    def _found(self, key: str, options: list[str]) -> list[tuple[float, str, int]] | Any:
        """GEOSEARCH's points as (distance in the unit, member, score), sorted; or the error reply."""
        scores = self.data.get(key)
        if scores is None:
            return []
        words = [option.upper() for option in options]
        if "FROMMEMBER" in words:
            member = options[words.index("FROMMEMBER") + 1]
            if member not in scores:
                return {"error": "ERR could not decode requested zset member"}
            center = decode(scores[member])
        else:
            at = words.index("FROMLONLAT")
            center = (float(options[at + 1]), float(options[at + 2]))
        if "BYRADIUS" in words:
            at = words.index("BYRADIUS")
            unit = UNITS[words[at + 2].lower()]
            radius = float(options[at + 1]) * unit
            found = [(meters, member, score) for member, score in scores.items()
                     if (meters := distance(*center, *decode(score))) <= radius]
        else:
            at = words.index("BYBOX")
            unit = UNITS[words[at + 3].lower()]
            width, height = float(options[at + 1]) * unit, float(options[at + 2]) * unit
            found = []
            for member, score in scores.items():
                lon, lat = decode(score)
                if EARTH_RADIUS_M * abs(center[1] * DEG_TO_RAD - lat * DEG_TO_RAD) <= height / 2 \
                        and distance(lon, lat, center[0], lat) <= width / 2:
                    found.append((distance(*center, lon, lat), member, score))
        found.sort(reverse="DESC" in words)
        if "COUNT" in words:
            found = found[:int(options[words.index("COUNT") + 1])]
        return [(meters / unit, member, score) for meters, member, score in found]

    def geosearch(self, args):
        """GEOSEARCH key FROMMEMBER m|FROMLONLAT lon lat BYRADIUS r unit|BYBOX w h unit ASC|DESC [COUNT n]
        [WITHCOORD] [WITHDIST] [WITHHASH]: members, or each with its distance, hash, coordinates."""
        found = self._found(args[0], args[1:])
        if type(found) is dict:
            return found
        words = {word.upper() for word in args[1:]}
        if not words & {"WITHCOORD", "WITHDIST", "WITHHASH"}:
            return [member for _, member, _ in found]
        reply = []
        for in_unit, member, score in found:
            entry = [member]
            if "WITHDIST" in words:
                entry.append(fixed4(in_unit))
            if "WITHHASH" in words:
                entry.append(score)
            if "WITHCOORD" in words:
                entry.append([fixed17(part) for part in decode(score)])
            reply.append(entry)
        return reply

    def geosearchstore(self, args):
        """GEOSEARCHSTORE destination source ...: the points found, with their scores, as a sorted set."""
        found = self._found(args[1], args[2:])
        if type(found) is dict:
            return found
        return self._stored(args[0], Scores({member: score for _, member, score in found}))
