"""A simulated node: a real kvcore node behind the simulated network and disk, and its lifecycle faults."""

from __future__ import annotations

from kvcore.node import Node
from sim.net import FIN, RST, SYN_ACK
from sim.node import recover_empty
from tests.kvcore.harness import encode_request as request
from tests.sim.harness import Lab, replies

LOG_FILE = "appendonlydir/appendonly.aof.1.incr.aof"  # where a node that loaded no manifest appends
DEBUG_ALLOWED = {"enable-debug-command": "yes"}  # redis-server refuses DEBUG by default, and so do nodes


def test_a_request_is_answered_over_the_network():
    lab = Lab()
    lab.node()
    client = lab.recorder("c0")
    conn = lab.net.connect("c0", "n1")
    lab.net.send(conn, "c0", request("SET", "k", "v") + request("GET", "k") + request("CLIENT", "INFO"))
    lab.run(100)
    ok, value, info = replies(client.data())
    assert (ok, value) == (b"OK", b"v")
    assert b"addr=10.0.9.2:" in info and b"laddr=10.0.0.1:6379" in info
    assert client.controls() == [SYN_ACK]


def test_inputs_arriving_together_are_one_batch():
    lab = Lab()
    node = lab.node()
    batches = []
    take_effects = node.core.take_effects
    node.core.take_effects = lambda: batches.append(len(node.inbox)) or take_effects()
    conns = []
    for index in range(3):
        lab.recorder(f"c{index}")
        conns.append(lab.net.connect(f"c{index}", "n1"))
    lab.run(100)
    node.pause()
    for conn in conns:
        lab.net.send(conn, conn.a, request("INCR", "n"))
    lab.run(100)
    before = len(batches)
    node.resume()
    lab.run(100)
    assert len(batches) == before + 1  # three connections' requests, one drain of effects


def test_kill_resets_connections_refuses_new_ones_and_restarts_empty():
    lab = Lab()
    node = lab.node()
    client = lab.recorder("c0")
    conn = lab.net.connect("c0", "n1")
    lab.net.send(conn, "c0", request("SET", "k", "v"))
    lab.run(100)
    assert node.kill()
    assert not node.kill()  # already down
    lab.run(100)
    assert client.controls() == [SYN_ACK, RST]
    refused = lab.net.connect("c0", "n1")
    lab.run(100)
    assert client.controls()[-1] == RST
    node.start()
    again = lab.net.connect("c0", "n1")
    lab.net.send(again, "c0", request("GET", "k"))
    lab.run(100)
    assert replies(client.data(again)) == [None]
    assert refused.id != again.id


def test_debug_segfault_kills_the_node_as_a_kill_fault_does():
    lab = Lab()
    node = lab.node(config=DEBUG_ALLOWED)
    client = lab.recorder("c0")
    conn = lab.net.connect("c0", "n1")
    lab.net.send(conn, "c0", request("SET", "k", "v"))
    lab.run(100)
    lab.net.send(conn, "c0", request("DEBUG", "SEGFAULT"))
    lab.run(100)
    assert replies(client.data()) == [b"OK"]
    assert client.controls() == [SYN_ACK, RST]
    assert node.core is None and not node.kill()  # down already


def test_power_loss_is_silent_and_loses_the_disk_cache():
    lab = Lab()
    node = lab.node(config={"appendonly": "yes", "appendfsync": "no"})
    client = lab.recorder("c0")
    conn = lab.net.connect("c0", "n1")
    lab.net.send(conn, "c0", request("SET", "k", "v"))
    lab.run(100)
    assert b"SET" in node.disk.read(LOG_FILE)
    node.power_off(torn_write_probability=0.0)
    lab.net.send(conn, "c0", request("GET", "k"))
    lab.run(1000)
    assert client.controls() == [SYN_ACK]  # nothing came back: no reset, no reply
    assert node.disk.read(LOG_FILE) == b""
    node.power_on()
    lab.net.send(conn, "c0", request("GET", "k"))
    lab.run(100)
    assert client.controls() == [SYN_ACK, RST]  # the rebooted machine does not know the connection


def test_kill_keeps_the_disk_cache_and_recover_reads_the_disk():
    seen = []

    def recover(disk, boot):
        seen.append(disk.read(LOG_FILE))
        return recover_empty(disk, boot)

    lab = Lab()
    node = lab.node(config={"appendonly": "yes", "appendfsync": "no"}, recover=recover)
    client = lab.recorder("c0")
    conn = lab.net.connect("c0", "n1")
    lab.net.send(conn, "c0", request("SET", "k", "v"))
    lab.run(100)
    assert replies(client.data()) == [b"OK"]
    node.kill()
    node.start()
    assert seen[0] is None and b"$1\r\nk\r\n$1\r\nv\r\n" in seen[1]
    assert isinstance(node.core, Node)


def test_pause_queues_input_and_resume_answers_it():
    lab = Lab()
    node = lab.node()
    client = lab.recorder("c0")
    conn = lab.net.connect("c0", "n1")
    lab.run(50)
    node.pause()
    lab.net.send(conn, "c0", request("PING"))
    lab.run(2000)
    assert client.data() == b""
    node.resume()
    lab.run(100)
    assert replies(client.data()) == [b"PONG"]


def test_under_appendfsync_always_the_reply_waits_for_the_fsync():
    lab = Lab()
    node = lab.node(config={"appendonly": "yes", "appendfsync": "always"})
    client = lab.recorder("c0")
    conn = lab.net.connect("c0", "n1")
    lab.run(50)
    node.disk.faults.fsync_delay_ms = 700
    lab.net.send(conn, "c0", request("SET", "k", "v"))
    lab.run(500)
    assert client.data() == b"" and node.disk.durable(LOG_FILE) in (None, b"")
    lab.run(1000)
    assert replies(client.data()) == [b"OK"]
    assert b"SET" in node.disk.durable(LOG_FILE)


def test_the_node_sees_its_clock_and_ttls_meet_jumps():
    lab = Lab()
    node = lab.node()
    client = lab.recorder("c0")
    conn = lab.net.connect("c0", "n1")
    lab.net.send(conn, "c0", request("SET", "k", "v", "PX", "5000") + request("SET", "j", "w", "PX", "5000"))
    lab.run(100)
    node.clock.jump(-3_600_000)  # an hour back: the keys live longer
    lab.net.send(conn, "c0", request("GET", "k"))
    lab.run(100)
    node.clock.jump(3_600_000 + 10_000)  # then past their deadline
    lab.net.send(conn, "c0", request("GET", "j") + request("TIME"))
    lab.run(100)
    ok1, ok2, k, j, (seconds, _) = replies(client.data())
    assert (k, j) == (b"v", None)
    assert abs(int(seconds) - node.clock.now() // 1000) <= 1  # TIME reads the jumped clock


def test_the_server_closes_its_side_when_the_client_leaves():
    lab = Lab()
    node = lab.node()
    client = lab.recorder("c0")
    conn = lab.net.connect("c0", "n1")
    lab.run(50)
    lab.net.send(conn, "c0", FIN)
    lab.run(50)
    assert client.controls() == [SYN_ACK, FIN]
    assert node.conns == {} and node.core.clients == {}


def test_a_pause_during_an_fsync_holds_the_reply_until_resume():
    lab = Lab()
    node = lab.node(config={"appendonly": "yes", "appendfsync": "always"})
    client = lab.recorder("c0")
    conn = lab.net.connect("c0", "n1")
    lab.run(50)
    node.disk.faults.fsync_delay_ms = 100
    lab.net.send(conn, "c0", request("SET", "k", "v"))
    lab.run(20)
    assert node.busy
    node.pause()
    lab.run(1000)
    assert b"SET" in node.disk.durable(LOG_FILE)  # the disk finished
    assert client.data() == b""  # the stopped process did not
    node.resume()
    lab.run(100)
    assert replies(client.data()) == [b"OK"]


def test_debug_sleep_stops_the_node_for_its_time_and_others_wait():
    """DEBUG SLEEP's Pause: the node answers nobody meanwhile (redis-server blocks as well)."""
    lab = Lab()
    lab.node(config=DEBUG_ALLOWED)
    sleeper, other = lab.recorder("c0"), lab.recorder("c1")
    to_sleeper, to_other = lab.net.connect("c0", "n1"), lab.net.connect("c1", "n1")
    lab.run(10)
    lab.net.send(to_sleeper, "c0", request("DEBUG", "SLEEP", "0.5"))
    lab.run(50)
    lab.net.send(to_other, "c1", request("PING"))
    lab.run(300)
    assert replies(sleeper.data()) == [] and replies(other.data()) == []
    lab.run(300)
    assert replies(sleeper.data()) == [b"OK"] and replies(other.data()) == [b"PONG"]
