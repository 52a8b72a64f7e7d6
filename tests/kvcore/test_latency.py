"""Command durations (only DEBUG SLEEP takes time in the core) and the latency monitor.

Shapes and texts checked with redis-server 7.0.15 (its own durations differ: it measures them).
"""

from __future__ import annotations

from tests.kvcore.harness import CoreClient, make_node


def test_debug_sleep_reaches_the_slowlog_with_its_duration_over_the_threshold():
    node = make_node(slowlog_log_slower_than="100000")
    client = CoreClient(node, 1)
    client.call("PING")
    assert client.call("SLOWLOG", "LEN") == 0
    client.call("CLIENT", "SETNAME", "sleeper")
    client.call("DEBUG", "SLEEP", "0.2")
    (entry,) = client.call("SLOWLOG", "GET")
    assert entry[2] == 200_000 and entry[3] == [b"DEBUG", b"SLEEP", b"0.2"] and entry[5] == b"sleeper"
    client.send_raw(b"MULTI\r\nDEBUG SLEEP 0.2\r\nEXEC\r\n")  # the command inside EXEC is logged, not EXEC
    assert client.call("SLOWLOG", "LEN") == 2 and client.call("SLOWLOG", "GET", "1")[0][3][0] == b"DEBUG"


def test_logging_every_command_logs_debug_sleep_once_with_its_duration():
    node = make_node(slowlog_log_slower_than="0")
    client = CoreClient(node, 1)
    client.call("DEBUG", "SLEEP", "0.05")
    client.call("PING")
    assert [(entry[2], entry[3][0]) for entry in client.call("SLOWLOG", "GET")] == [(0, b"PING"), (50_000, b"DEBUG")]


def test_latency_monitor_keeps_one_sample_a_second_and_the_maximum():
    node = make_node(latency_monitor_threshold="200")
    client = CoreClient(node, 1)
    client.call("DEBUG", "SLEEP", "0.1")  # under the threshold
    assert client.call("LATENCY", "LATEST") == []
    client.call("DEBUG", "SLEEP", "0.3")
    first = node.now // 1000
    node.now += 1100
    client.call("DEBUG", "SLEEP", "0.5")
    assert client.call("LATENCY", "HISTORY", "command") == [[first, 300], [node.now // 1000, 500]]
    assert client.call("LATENCY", "LATEST") == [[b"command", node.now // 1000, 500, 500]]
    assert b"command - high 500 ms, low 300 ms" in client.call("LATENCY", "GRAPH", "command")
    assert client.call("LATENCY", "RESET", "blabla") == 0 and client.call("LATENCY", "HISTORY", "blabla") == []
    assert client.call("LATENCY", "RESET") == 1 and client.call("LATENCY", "LATEST") == []


def test_latencystats_and_histogram_count_the_sleep():
    node = make_node()
    client = CoreClient(node, 1)
    client.call("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99.9")
    client.call("SET", "a", "b")
    client.call("DEBUG", "SLEEP", "0.05")
    text = client.call("INFO", "latencystats").decode()
    assert "latency_percentiles_usec_debug:p50=50000.000,p99.9=50000.000\r\n" in text
    assert "latency_percentiles_usec_set:p50=1.000,p99.9=1.000\r\n" in text
    assert client.call("LATENCY", "HISTOGRAM", "debug") == [b"debug", [b"calls", 1, b"histogram_usec", [65536, 1]]]
    client.call("CONFIG", "SET", "latency-tracking", "no")
    assert client.call("INFO", "latencystats") == b"# Latencystats\r\n"
    assert b"Latencystats" not in client.call("INFO")  # not a default section


def test_percentiles_config_is_checked_as_redis():
    client = CoreClient(make_node(), 1)
    assert str(client.call("CONFIG", "SET", "latency-tracking-info-percentiles", "10.0 50.0 101.0")) == (
        "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - "
        "Invalid latency-tracking-info-percentiles parameters")
    assert client.call("CONFIG", "SET", "latency-tracking-info-percentiles", "0.0 50.0 100.0") == b"OK"
    assert client.call("CONFIG", "GET", "latency-tracking-info-percentiles") == [
        b"latency-tracking-info-percentiles", b"0 50 100"]


def test_a_big_collection_expiring_is_an_expire_cycle_and_expire_del_event():
    node = make_node()
    c = CoreClient(node)
    c.call("CONFIG", "SET", "latency-monitor-threshold", 1)
    c.call("SADD", "big", *range(40_000))  # modelled at 30 ns an element: over 1 ms to free
    c.call("SADD", "small", *range(100))
    c.call("PEXPIRE", "big", 1)
    c.call("PEXPIRE", "small", 1)
    node.tick(node.now + 100)
    assert c.call("DBSIZE") == 0
    assert sorted(event[0] for event in c.call("LATENCY", "LATEST")) == [b"expire-cycle", b"expire-del"]
    c.call("LATENCY", "RESET")
    c.call("CONFIG", "SET", "lazyfree-lazy-expire", "yes")  # freed in the background: no latency
    c.call("SADD", "big", *range(40_000))
    c.call("PEXPIRE", "big", 1)
    node.tick(node.now + 100)
    assert c.call("LATENCY", "LATEST") == []
