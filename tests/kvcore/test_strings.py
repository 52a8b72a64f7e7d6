"""String commands' edges that the differential test's random inputs rarely reach."""

from __future__ import annotations

from tests.kvcore.harness import CoreClient, make_node


def test_lcs_refuses_a_table_past_proto_max_bulk_len_as_redis():
    """Redis sizes LCS's table of uint32 before building it (found by a differential hunt: two
    12 KB strings, where redis-server refused and kvcore ground through 150 million cells)."""
    client = CoreClient(make_node(proto_max_bulk_len="1mb"))
    client.call("SET", "a", "x" * 600)
    client.call("SET", "b", "x" * 400)
    assert str(client.call("LCS", "a", "a", "IDX")) == \
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
    assert client.call("LCS", "b", "b", "LEN") == 400  # 401 * 401 * 4 bytes fit in a megabyte
    assert str(client.call("LCS", "a", "b", "LEN", "IDX")).startswith("ERR If you want both")  # checked first
