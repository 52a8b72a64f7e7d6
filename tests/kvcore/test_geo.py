"""Geospatial commands in the core: scores as Redis computes them, and GEOADD logged as ZADD.

Replies are compared with redis-server's by the differential tests
(tests/kvcore/differential/geo.py), including the order of unsorted searches.
"""

from __future__ import annotations

import pytest

from kvcore import geohash
from tests.kvcore.differential.runner import RedisConnection
from tests.kvcore.harness import CoreClient, encode_request, make_node
from tests.kvcore.test_keyspace import logged_commands

PALERMO = (13.361389, 38.115556)
PALERMO_SCORE = 3479099956230698  # ZSCORE after GEOADD on redis-server 7.0.15


def test_scores_and_positions_are_redis_s():
    assert geohash.encode(*PALERMO) == PALERMO_SCORE
    lon, lat = geohash.decode(PALERMO_SCORE)
    assert abs(lon - PALERMO[0]) < 1e-5 and abs(lat - PALERMO[1]) < 1e-5
    assert geohash.text(PALERMO_SCORE) == b"sqc8b49rny0"


def test_distances_use_redis_s_earth():
    catania = geohash.decode(geohash.encode(15.087269, 37.502669))
    assert round(geohash.distance(*geohash.decode(PALERMO_SCORE), *catania), 4) == 166274.1516


def test_a_huge_radius_visits_no_box_twice():
    shape = geohash.Shape(0.0, 0.0, 1000.0, radius=20000.0)
    boxes = shape.boxes()
    assert all(a != b for a, b in zip(boxes, boxes[1:]))


def test_geoadd_is_logged_as_the_zadd_it_made():
    node = make_node(appendonly="yes")
    client = CoreClient(node)
    node.take_effects()
    node.receive(client.conn, encode_request("GEOADD", "Sicily", "CH", *map(str, PALERMO), "Palermo"), node.now)
    assert logged_commands(node)[-1] == [b"zadd", b"Sicily", b"CH", b"%d" % PALERMO_SCORE, b"Palermo"]


HUGE_RADII = [  # past a double's range once squared or turned to degrees: Redis's C gets inf and NaN
    ("GEOSEARCH", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "inf", "km"),
    ("GEORADIUS", "g", "0", "0", "1e308", "km"),
    ("GEOSEARCH", "g", "FROMLONLAT", "0", "0", "BYBOX", "1e300", "1", "m"),
    ("GEORADIUSBYMEMBER", "g", "a", "inf", "m"),
    ("GEOSEARCH", "g", "FROMLONLAT", "0", "0", "BYBOX", "inf", "inf", "m", "ASC", "WITHDIST"),
]


def test_huge_radii_search_everything_as_redis(redis_port):
    """They used to drop the connection (Python raises where C overflows quietly)."""
    redis = RedisConnection(redis_port)
    try:
        redis.call([b"FLUSHALL"])
        redis.call([b"GEOADD", b"g", b"0", b"0", b"a", b"100", b"50", b"b"])
        expected = [redis.call([arg.encode() for arg in argv]) for argv in HUGE_RADII]
    finally:
        redis.call([b"FLUSHALL"])
        redis.close()
    c = CoreClient(make_node())
    c.call("GEOADD", "g", "0", "0", "a", "100", "50", "b")
    assert [c.call(*argv) for argv in HUGE_RADII] == expected


@pytest.mark.parametrize("argv", [("GEOADD", "g", "nx", "ch", "ch"), ("GEOADD", "g", "1", "1", "a", "2"),
                                  ("GEOADD", "g", "GT", "1", "1", "x"), ("GEOADD", "g", "nx", "xx", "1", "1", "a")])
def test_geoadd_syntax_errors_are_redis_s_plain_one(argv, redis_port):
    redis = RedisConnection(redis_port)
    try:
        expected = str(redis.call([arg.encode() for arg in argv]))
    finally:
        redis.call([b"FLUSHALL"])
        redis.close()
    assert str(CoreClient(make_node()).call(*argv)) == expected == "ERR syntax error"
