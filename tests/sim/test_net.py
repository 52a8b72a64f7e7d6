"""The network: ordered streams in random segments, partitions that hold, lag, per-link randomness."""

from __future__ import annotations

import random

from sim.net import FIN, SYN
from tests.sim.harness import Lab


def _messages(count: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    return [bytes(rng.randrange(256) for _ in range(rng.randint(1, 4000))) for _ in range(count)]


def test_a_stream_arrives_whole_and_in_order_whatever_the_segments():
    lab = Lab()
    a, b = lab.recorder("a"), lab.recorder("b")
    conn = lab.net.connect("a", "b")
    sent = _messages(200)
    for message in sent:
        lab.net.send(conn, "a", message)
        lab.run(1)
    lab.run(1000)
    assert b.data() == b"".join(sent)
    segments = [item for _, _, item in b.items if type(item) is bytes]
    assert len(segments) > len(sent)  # some sends were cut in pieces
    assert all(len(segment) <= 1460 for segment in segments)
    assert b.items[0][2] == SYN and a.items == []


def test_segments_are_delivered_after_latency_and_never_overtake():
    lab = Lab()
    lab.recorder("a")
    b = lab.recorder("b")
    conn = lab.net.connect("a", "b")
    for index in range(500):
        lab.net.send(conn, "a", b"%d;" % index)
    lab.run(1000)
    times = [t for t, _, _ in b.items]
    assert times == sorted(times)
    assert b.data() == b"".join(b"%d;" % index for index in range(500))


def test_a_cut_link_holds_traffic_until_healed():
    lab = Lab()
    lab.recorder("a")
    b = lab.recorder("b")
    conn = lab.net.connect("a", "b")
    lab.run(10)
    lab.net.cut("a", "b")
    lab.net.send(conn, "a", b"held")
    lab.net.send(conn, "a", FIN)
    lab.run(5000)
    assert b.data() == b"" and b.controls() == [SYN]
    lab.net.heal("a", "b")
    lab.run(100)
    assert b.data() == b"held" and b.controls() == [SYN, FIN]


def test_a_one_way_cut_lets_the_other_direction_through():
    lab = Lab()
    a, b = lab.recorder("a"), lab.recorder("b")
    conn = lab.net.connect("a", "b")
    lab.run(10)
    lab.net.cut("a", "b")
    lab.net.send(conn, "a", b"to b")
    lab.net.send(conn, "b", b"to a")
    lab.run(100)
    assert a.data() == b"to a" and b.data() == b""


def test_overlapping_cuts_heal_only_when_the_last_one_ends():
    lab = Lab()
    lab.recorder("a")
    b = lab.recorder("b")
    conn = lab.net.connect("a", "b")
    lab.run(10)
    lab.net.cut("a", "b")
    lab.net.cut("a", "b")
    lab.net.send(conn, "a", b"x")
    lab.net.heal("a", "b")
    lab.run(100)
    assert b.data() == b""
    lab.net.heal("a", "b")
    lab.run(100)
    assert b.data() == b"x"


def _mean_latency_ms(lag_ms: int) -> float:
    lab = Lab()
    lab.recorder("a")
    b = lab.recorder("b")
    conn = lab.net.connect("a", "b")
    lab.run(100)
    lab.net.link("a", "b").lag_ms = lag_ms
    start = lab.env.now
    delays = []
    for _ in range(200):
        before = len(b.items)
        lab.net.send(conn, "a", b"x")
        lab.run(1000)
        delays.append(b.items[before][0] - lab.env.now + 1000)
    assert lab.env.now > start
    return sum(delays) / len(delays)


def test_lag_adds_latency():
    assert _mean_latency_ms(0) < 5
    assert 100 < _mean_latency_ms(300) < 200


def test_each_link_draws_from_its_own_stream():
    def arrivals(extra_traffic: bool) -> list[tuple[int, int, bytes | str]]:
        lab = Lab(seed=7)
        lab.recorder("a")
        b = lab.recorder("b")
        lab.recorder("c")
        conn = lab.net.connect("a", "b")
        other = lab.net.connect("c", "b")
        for index in range(50):
            lab.net.send(conn, "a", b"message %d" % index)
            if extra_traffic:
                lab.net.send(other, "c", b"noise")
            lab.run(3)
        lab.run(100)
        return [(t, item) for t, cid, item in b.items if cid == conn.id]

    assert arrivals(False) == arrivals(True)
