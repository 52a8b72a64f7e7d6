"""kvcore.rdb_feed: an RDB payload read as it arrives reads as the whole file does."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvcore import rdb
from kvcore.rdb_feed import RdbFeed
from tests.kvcore.harness import CoreClient, make_node
from tests.kvcore.test_rdb import NOW, populate

AFTER = b"*1\r\n$4\r\nPING\r\n"  # what a master streams after the payload


@pytest.fixture(scope="module")
def payload() -> tuple[bytes, object]:
    node = make_node(now=NOW)
    populate(CoreClient(node))
    CoreClient(node).call("SET", "huge", "x" * 50_000 + "y" * 30_000)  # more than a read, not all one run
    return rdb.write(node), node.config


def described(parsed: rdb.Snapshot) -> list:
    return [(index, key, type(value).__name__, expire) for index, key, value, expire in parsed.entries()]


def feed_in(feed: RdbFeed, data: bytes, cuts: list[int]) -> bool:
    done = False
    pieces = [data[start:stop] for start, stop in zip([0, *cuts], [*cuts, len(data)])]
    for number, piece in enumerate(pieces):
        done = feed.feed(piece, last=number == len(pieces) - 1)
    return done


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_cutting_of_a_payload_reads_as_the_whole_file(payload, data):
    image, config = payload
    stream = image + AFTER
    cuts = sorted(data.draw(st.sets(st.integers(1, len(stream) - 1), max_size=40)))
    feed = RdbFeed(config, 16, True)
    assert feed_in(feed, stream, cuts)
    whole = rdb.parse(image, config)
    got = feed.snapshot()
    assert described(got) == described(whole)
    assert got.aux == whole.aux and got.keys_read == whole.keys_read
    assert got.end == len(image)
    assert feed.rest == AFTER


def test_the_keys_of_each_piece_are_read_as_it_comes(payload):
    image, config = payload
    feed = RdbFeed(config, 16, True)
    counts = []
    piece = 12_000
    for start in range(0, len(image), piece):
        feed.feed(image[start:start + piece], last=start + piece >= len(image))
        counts.append(feed.keys_read)
    assert counts[0] > 0 and counts == sorted(counts)
    assert feed.done and feed.keys_read == rdb.parse(image, config).keys_read


def test_a_cut_off_payload_waits_and_a_wrong_checksum_is_refused(payload):
    image, config = payload
    feed = RdbFeed(config, 16, True)
    assert not feed.feed(image[:-4], last=True)  # the checksum is not all there
    assert feed.keys_read == rdb.parse(image, config).keys_read
    bad = bytearray(image)
    bad[-1] ^= 1
    with pytest.raises(rdb.RdbError, match="RDB CRC error"):
        RdbFeed(config, 16, True).feed(bytes(bad))
    assert RdbFeed(config, 16, False).feed(bytes(bad))  # rdbchecksum no


def test_a_corrupt_record_is_refused_at_once_not_waited_on(payload):
    image, config = payload
    corrupt = image[:9] + bytes([0x42]) + image[10:200]  # an unknown type where the first record starts
    with pytest.raises(rdb.RdbError):
        RdbFeed(config, 16, True).feed(corrupt)
    with pytest.raises(rdb.RdbError, match="Wrong signature"):
        RdbFeed(config, 16, True).feed(b"RODIS0010" + image[9:])


def test_a_big_key_in_small_pieces_is_not_read_again_for_each(payload, monkeypatch):
    image, config = payload
    reads = []
    real = rdb.read_records
    monkeypatch.setattr(rdb, "read_records", lambda *args: reads.append(1) or real(*args))
    feed = RdbFeed(config, 16, True)
    pieces = range(0, len(image), 100)
    assert feed_in(feed, image, list(pieces)[1:])
    assert len(reads) < len(pieces) // 10
