"""Differential strategies for the geospatial family.

Positions cluster in a few places (near the equator, mid-latitudes, a pole's
edge, the antimeridian) so that searches of every size find members, and
every reply is compared exactly: unsorted searches too, since kvcore walks
the geohash boxes in Redis's order.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.kvcore.differential.common import keys, word

COMPARE: dict[bytes, str] = {}

CENTRES = [(0.0, 0.0), (13.36, 38.11), (-122.4, 37.77), (179.9, 84.9), (-179.95, -60.0)]
members = st.sampled_from([b"a", b"b", b"c", b"d", b"e", b"f", b"Palermo", b""])
units = st.sampled_from([b"m", b"km", b"ft", b"mi", b"KM", b"parsec"])


@st.composite
def positions(draw):
    lon, lat = draw(st.sampled_from(CENTRES))
    return (str(round(max(min(lon + draw(st.floats(-2, 2)), 180), -180), 6)).encode(),
            str(round(max(min(lat + draw(st.floats(-2, 2)), 85), -85), 6)).encode())


radii = st.sampled_from([b"0", b"1", b"50", b"200", b"1000", b"5000", b"-1", b"abc"])
options = st.lists(st.one_of(word("WITHDIST"), word("WITHCOORD"), word("WITHHASH"), word("ASC"), word("DESC"),
                             st.just([b"COUNT", b"2"]), st.just([b"COUNT", b"3", b"ANY"]), word("ANY")), max_size=3)


def _flat(parts) -> list[bytes]:
    out = []
    for part in parts:
        out += part if isinstance(part, list) else [part]
    return out


@st.composite
def commands(draw):
    k, k2 = draw(keys), draw(keys)
    lon, lat = draw(positions())
    choice = draw(st.integers(0, 9))
    return [
        lambda: [b"GEOADD", k, *draw(st.lists(st.sampled_from([b"NX", b"XX", b"CH"]), max_size=1)),
         *_flat([[*draw(positions()), draw(members)] for _ in range(draw(st.integers(1, 4)))])],
        lambda: [b"GEOPOS", k, *draw(st.lists(members, max_size=3))],
        lambda: [b"GEODIST", k, draw(members), draw(members), *draw(st.lists(units, max_size=1))],
        lambda: [b"GEOHASH", k, *draw(st.lists(members, max_size=3))],
        lambda: [b"GEORADIUS", k, lon, lat, draw(radii), draw(units), *_flat(draw(options))],
        lambda: [b"GEORADIUSBYMEMBER", k, draw(members), draw(radii), draw(units), *_flat(draw(options))],
        lambda: [b"GEOSEARCH", k, b"FROMLONLAT", lon, lat, b"BYBOX", draw(radii), draw(radii), draw(units),
                 *_flat(draw(options))],
        lambda: [b"GEOSEARCH", k, b"FROMMEMBER", draw(members), b"BYRADIUS", draw(radii), draw(units),
                 *_flat(draw(options))],
        lambda: [b"GEOSEARCHSTORE", k2, k, b"FROMLONLAT", lon, lat, b"BYRADIUS", draw(radii), draw(units),
                 *draw(st.lists(word("STOREDIST"), max_size=1))],
        lambda: [b"ZRANGE", k2, b"0", b"-1", b"WITHSCORES"],
    ][choice]()
