"""CLIENT LIST's qbuf and qbuf-free follow Redis's query buffer (kvcore.querybuf); the figures
are redis-server 7.0.15's for the same bytes."""

from __future__ import annotations

import re

from tests.kvcore.harness import CoreClient, encode_request, make_node

NOW = 1_700_000_000_000


def query_buffer(client: CoreClient) -> tuple[int, int]:
    line = client.call("CLIENT", "INFO").decode()
    return int(re.search(r" qbuf=(\d+)", line).group(1)), int(re.search(r"qbuf-free=(\d+)", line).group(1))


def room(observer: CoreClient, name: str) -> int:
    """qbuf + qbuf-free of the client called ``name``, as Redis's querybuf.tcl reads them."""
    for line in observer.call("CLIENT", "LIST").decode().splitlines():
        if f" name={name} " in line:
            return sum(int(value) for value in re.findall(r" qbuf(?:-free)?=(\d+)", line))
    raise AssertionError(f"no client {name}")


def test_a_first_read_makes_sixteen_kilobytes_of_room_and_a_big_argument_its_own_size():
    client = CoreClient(make_node(now=NOW))
    assert query_buffer(client) == (26, 20448)  # its own 26 bytes, in 20474 (20461 + 13 inline)
    client.send_raw(encode_request("SET", "x", "A" * 400_000))
    assert sum(query_buffer(client)) == 458_742


def test_an_idle_client_gives_its_room_back_and_a_busy_one_shrinks_to_its_peak():
    node = make_node(now=NOW)
    observer, idle, busy = CoreClient(node, 1), CoreClient(node, 2), CoreClient(node, 3)
    idle.call("CLIENT", "SETNAME", "idle")
    busy.call("CLIENT", "SETNAME", "busy")
    busy.send_raw(encode_request("SET", "x", "A" * 400_000))
    assert 16384 <= room(observer, "idle") < 32768 and room(observer, "busy") > 400_000
    node.tick(NOW + 100)
    busy.call("SET", "x", "A" * 100)
    node.tick(NOW + 200)
    assert 0 < room(observer, "busy") < 400_000  # trimmed to the peak of the last reads
    node.tick(NOW + 3100)
    assert room(observer, "idle") == 0


def test_a_big_argument_has_the_same_room_however_its_bytes_were_cut():
    """Redis makes room for the whole argument at its header and reads only into it, so a
    header that came alone does not make the rest grow the buffer greedily."""
    node = make_node(now=NOW)
    observer, whole, split = CoreClient(node, 1), CoreClient(node, 2), CoreClient(node, 3)
    whole.call("CLIENT", "SETNAME", "whole")
    split.call("CLIENT", "SETNAME", "split")
    header, body = b"*2\r\n$131072\r\n", b"v" * 131072
    whole.send_raw(header + body)
    split.send_raw(header)
    split.send_raw(body[:100])
    split.send_raw(body[100:])
    assert room(observer, "split") == room(observer, "whole") >= 131072
