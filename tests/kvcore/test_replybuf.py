"""CLIENT LIST's rbs and rbp follow Redis 7.0's reply buffer (kvcore.replybuf): a new client's
16 KB buffer shrinks once idle and grows back while its replies fill it."""

from __future__ import annotations

import re

from tests.kvcore.harness import CoreClient, make_node

NOW = 1_700_000_000_000


def reply_buffer(observer: CoreClient, name: str) -> tuple[int, int]:
    """(rbs, rbp) of the client called ``name``."""
    for line in observer.call("CLIENT", "LIST").decode().splitlines():
        if f" name={name} " in line:
            return int(re.search(r" rbs=(\d+)", line).group(1)), int(re.search(r" rbp=(\d+)", line).group(1))
    raise AssertionError(f"no client {name}")


def ticks(node, count: int, step_ms: int = 100) -> None:
    for _ in range(count):
        node.tick(node.now + step_ms)


def stats(observer: CoreClient) -> tuple[int, int]:
    text = observer.call("INFO", "stats").decode()
    return tuple(int(re.search(rf"{field}:(\d+)", text).group(1))
                 for field in ("reply_buffer_shrinks", "reply_buffer_expands"))


def setup():
    node = make_node(now=NOW)
    observer, client = CoreClient(node), CoreClient(node)
    client.call("CLIENT", "SETNAME", "c")
    return node, observer, client


def test_a_new_client_has_sixteen_kilobytes_shrunk_on_the_crons_second_visit():
    node, observer, _ = setup()
    assert reply_buffer(observer, "c") == (16384, 16384)
    ticks(node, 1)
    assert reply_buffer(observer, "c") == (16384, 0)  # the first visit starts the peak over
    ticks(node, 1)
    assert reply_buffer(observer, "c")[0] == 1024
    assert stats(observer)[0] >= 1


def test_a_full_buffer_doubles_up_to_sixteen_kilobytes_while_the_peak_is_kept():
    node, observer, client = setup()
    observer.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100")
    observer.call("SET", "big", "x" * 32768)
    ticks(node, 3)
    assert reply_buffer(observer, "c")[0] == 1024
    observer.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "never")
    sizes = []
    for _ in range(6):
        client.call("GET", "big")
        ticks(node, 1)
        sizes.append(reply_buffer(observer, "c")[0])
    assert sizes == [2048, 4096, 8192, 16384, 16384, 16384]
    assert stats(observer)[1] == 4


def test_resizing_off_leaves_the_buffer_alone():
    node, observer, _ = setup()
    assert observer.call("DEBUG", "REPLYBUFFER", "RESIZING", "0") == b"OK"
    ticks(node, 5)
    assert reply_buffer(observer, "c") == (16384, 16384)
    assert stats(observer) == (0, 0)
