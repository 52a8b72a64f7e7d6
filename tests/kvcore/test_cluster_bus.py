"""The cluster bus on real kvcore nodes wired by an in-memory network, time advanced by hand:
meeting by gossip, slot ownership, redirections, failure detection, shard pub/sub."""

from __future__ import annotations

import hiredis

from kvcore.cluster import ClusterState, key_slot
from kvcore.cluster_bus import BUS_CONNS
from kvcore.effects import Close, Connect, Send
from tests.kvcore.harness import encode_request, make_node

BASE_PORT = 7000
TIMEOUT_MS = 500


class BusNetwork:
    """Cluster nodes whose bus connections and clients' requests go through memory. A node
    `stopped` (as by SIGSTOP) neither ticks nor hears anything; what is sent to it is lost."""

    def __init__(self, count: int) -> None:
        self.nodes = [make_node(seed=i, port=str(BASE_PORT + i), cluster_enabled="yes",
                                cluster_node_timeout=str(TIMEOUT_MS)) for i in range(count)]
        self.now = self.nodes[0].now
        self.peers: dict[tuple[int, int], tuple[int, int]] = {}  # (node, conn) -> (node, conn)
        self.next_accepted = BUS_CONNS
        self.stopped: set[int] = set()
        self.readers: dict[tuple[int, int], hiredis.Reader] = {}
        self.replies: dict[tuple[int, int], list] = {}
        for i, node in enumerate(self.nodes):
            node.open(1, self.now, addr="127.0.0.1:50000", laddr=f"127.0.0.1:{BASE_PORT + i}")
            self.readers[(i, 1)] = hiredis.Reader()
        self.pump()

    def index_of_bus_port(self, port: int) -> int | None:
        index = port - 10000 - BASE_PORT
        return index if 0 <= index < len(self.nodes) else None

    def pump(self) -> None:
        """Carry out every node's effects until none are left."""
        busy = True
        while busy:
            busy = False
            for i, node in enumerate(self.nodes):
                effects = node.take_effects()
                busy = busy or bool(effects)
                for effect in effects:
                    self._carry(i, effect)

    def _carry(self, i: int, effect) -> None:
        node = self.nodes[i]
        if type(effect) is Connect:
            target = self.index_of_bus_port(effect.port)
            if target is None or target in self.stopped:
                node.connect_failed(effect.conn, self.now, "Connection refused")
                return
            accepted = self.next_accepted = self.next_accepted + 1
            self.peers[(i, effect.conn)] = (target, accepted)
            self.peers[(target, accepted)] = (i, effect.conn)
            self.nodes[target].bus_accepted(accepted, self.now, "127.0.0.1:40000", f"127.0.0.1:{effect.port}")
            node.connected(effect.conn, self.now, "127.0.0.1:40000")
        elif type(effect) is Send:
            if (i, effect.conn) in self.readers:
                reader = self.readers[(i, effect.conn)]
                reader.feed(effect.data)
                while (reply := reader.gets()) is not False:
                    self.replies.setdefault((i, effect.conn), []).append(reply)
                return
            peer = self.peers.get((i, effect.conn))
            if peer is not None and peer[0] not in self.stopped:
                self.nodes[peer[0]].receive(peer[1], effect.data, self.now)
        elif type(effect) is Close:
            peer = self.peers.pop((i, effect.conn), None)
            if peer is not None:
                self.peers.pop(peer, None)
                self.nodes[peer[0]].closed(peer[1], self.now)

    def call(self, i: int, *args):
        self.nodes[i].receive(1, encode_request(*args), self.now)
        self.pump()
        return self.replies.pop((i, 1)).pop(0)

    def advance(self, ms: int) -> None:
        """Let ``ms`` pass, the cron of each running node every 100 ms."""
        for _ in range(ms // 100):
            self.now += 100
            for i, node in enumerate(self.nodes):
                if i not in self.stopped:
                    node.tick(self.now)
            self.pump()

    def info(self, i: int) -> dict[str, str]:
        text = self.call(i, "CLUSTER", "INFO").decode()
        return dict(line.split(":", 1) for line in text.split("\r\n") if line)

    def myid(self, i: int) -> bytes:
        return self.call(i, "CLUSTER", "MYID")


def joined(count: int) -> BusNetwork:
    """``count`` masters joined by node 0 meeting node 1 and each node meeting the next: the rest
    is learned by gossip."""
    net = BusNetwork(count)
    for i in range(count - 1):
        assert net.call(i, "CLUSTER", "MEET", "127.0.0.1", BASE_PORT + i + 1) == b"OK"
    net.advance(2000)
    return net


def with_slots(count: int) -> BusNetwork:
    """Three masters (of ``count`` nodes) with the slots split in three."""
    net = joined(count)
    for i, (first, last) in enumerate([(0, 5460), (5461, 10922), (10923, 16383)]):
        assert net.call(i, "CLUSTER", "ADDSLOTSRANGE", first, last) == b"OK"
    net.advance(1000)
    return net


def test_one_meet_each_and_gossip_join_every_node():
    net = joined(4)
    for i in range(4):
        assert net.info(i)["cluster_known_nodes"] == "4"
        nodes = net.call(i, "CLUSTER", "NODES").decode()
        assert "handshake" not in nodes and nodes.count("connected") == 4, nodes
        assert f"127.0.0.1:{BASE_PORT + i}@{BASE_PORT + i + 10000} myself,master" in nodes  # its own IP, learned
    assert net.call(0, "CLUSTER", "MYID") in net.call(3, "CLUSTER", "NODES")  # 3 never met 0 itself


def test_masters_take_distinct_config_epochs():
    net = joined(4)
    epochs = {net.info(i)["cluster_my_epoch"] for i in range(4)}
    assert len(epochs) == 4, epochs


def test_every_node_agrees_on_the_slots_and_redirects_to_their_owner():
    net = with_slots(3)
    slots = [net.call(i, "CLUSTER", "SLOTS") for i in range(3)]
    assert slots[0] == slots[1] == slots[2]
    assert [(first, last, owner[1]) for first, last, owner in slots[0]] == [
        (0, 5460, BASE_PORT), (5461, 10922, BASE_PORT + 1), (10923, 16383, BASE_PORT + 2)]
    assert all(net.info(i)["cluster_state"] == "ok" and net.info(i)["cluster_size"] == "3" for i in range(3))
    assert key_slot(b"foo") == 12182
    assert str(net.call(0, "SET", "foo", "bar")) == f"MOVED 12182 127.0.0.1:{BASE_PORT + 2}"
    assert net.call(2, "SET", "foo", "bar") == b"OK"
    assert net.call(2, "GET", "foo") == b"bar"


def test_a_migrating_slot_asks_for_missing_keys_and_the_importer_serves_asking_clients():
    net = with_slots(3)
    source, target = net.myid(2), net.myid(0)
    net.call(2, "SET", "foo", "here")
    assert net.call(0, "CLUSTER", "SETSLOT", 12182, "IMPORTING", source) == b"OK"
    assert net.call(2, "CLUSTER", "SETSLOT", 12182, "MIGRATING", target) == b"OK"
    assert net.call(2, "GET", "foo") == b"here"  # still here: served
    assert str(net.call(2, "GET", "{foo}x")) == f"ASK 12182 127.0.0.1:{BASE_PORT}"
    assert str(net.call(2, "MGET", "foo", "{foo}x")) == "TRYAGAIN Multiple keys request during rehashing of slot"
    assert str(net.call(0, "GET", "{foo}x")).startswith("MOVED 12182")  # without ASKING
    assert net.call(0, "ASKING") == b"OK"
    assert net.call(0, "SET", "{foo}x", "new") == b"OK"
    assert str(net.call(0, "GET", "{foo}x")).startswith("MOVED")  # ASKING is for one command
    assert net.call(0, "CLUSTER", "SETSLOT", 12182, "NODE", target) == b"OK"
    net.advance(500)
    assert str(net.call(1, "GET", "{foo}x")) == f"MOVED 12182 127.0.0.1:{BASE_PORT}"  # the new epoch won


def test_a_stopped_master_is_failed_by_the_majority_and_the_cluster_goes_down():
    net = with_slots(3)
    net.call(2, "SET", "foo", "bar")
    net.stopped.add(2)
    net.advance(3000)
    lost = net.myid(2).decode()
    for i in (0, 1):
        line = next(line for line in net.call(i, "CLUSTER", "NODES").decode().splitlines() if line.startswith(lost))
        assert "master,fail" in line, line
        assert net.info(i)["cluster_state"] == "fail"
    assert str(net.call(0, "GET", "x")) == "CLUSTERDOWN The cluster is down"
    net.stopped.clear()
    net.advance(3000)
    assert all(net.info(i)["cluster_state"] == "ok" for i in range(3))


def test_a_minority_only_suspects_and_is_down():
    net = with_slots(3)
    net.stopped.update((1, 2))  # node 0 alone: no majority to agree that the others failed
    net.advance(3000)
    info = net.info(0)
    assert (info["cluster_slots_pfail"], info["cluster_slots_fail"]) == ("10923", "0")
    assert info["cluster_state"] == "fail"  # it reaches 1 master of 3


def test_a_replica_is_known_everywhere_but_not_offered_before_it_has_data():
    net = with_slots(4)
    master = net.myid(0)
    assert net.call(3, "CLUSTER", "REPLICATE", master) == b"OK"
    net.advance(1000)
    replica = net.myid(3)
    for i in range(4):  # its link to its master is never made here: offset 0, as while loading
        first = net.call(i, "CLUSTER", "SLOTS")[0]
        assert first[2][2] == master and len(first) == 3
        shard = next(s for s in net.call(i, "CLUSTER", "SHARDS") if s[3][0][1] == master)
        assert [node[node.index(b"health") + 1] for node in shard[3]] == [b"online", b"loading"]
    assert net.call(1, "CLUSTER", "REPLICAS", master)[0].startswith(replica + b" 127.0.0.1:7003@17003 slave " + master)
    assert str(net.call(3, "CLUSTER", "REPLICATE", net.myid(3))) == "ERR Can't replicate myself"
    assert str(net.call(1, "CLUSTER", "REPLICATE", master)) == \
        "ERR To set a master the node must be empty and without assigned slots."


def test_publish_reaches_every_node_and_spublish_the_shard():
    net = with_slots(4)
    net.call(3, "CLUSTER", "REPLICATE", net.myid(2))
    net.advance(1000)
    for i in range(4):
        net.nodes[i].open(2, net.now, addr="127.0.0.1:50001", laddr="127.0.0.1:7000")
        net.readers[(i, 2)] = hiredis.Reader()
        net.nodes[i].receive(2, encode_request("SUBSCRIBE", "news") + encode_request("SSUBSCRIBE", "foo"), net.now)
    net.pump()
    for i in range(4):
        net.replies.pop((i, 2))
    net.call(0, "PUBLISH", "news", "hello")
    assert all(net.replies.pop((i, 2)) == [[b"message", b"news", b"hello"]] for i in range(4))
    assert net.call(2, "SPUBLISH", "foo", "shard") == 1  # foo's slot is node 2's: its replica hears it too
    assert net.replies.pop((3, 2)) == [[b"smessage", b"foo", b"shard"]]
    assert (0, 2) not in net.replies and (1, 2) not in net.replies


def test_a_forgotten_node_does_not_come_back_by_gossip():
    net = joined(3)
    gone = net.myid(2)
    assert net.call(0, "CLUSTER", "FORGET", gone) == b"OK"
    net.advance(2000)
    assert gone not in net.call(0, "CLUSTER", "NODES")
    assert net.info(0)["cluster_known_nodes"] == "2"
    assert str(net.call(0, "CLUSTER", "FORGET", net.myid(0))) == "ERR I tried hard but I can't forget myself..."


def test_nodes_conf_keeps_the_other_nodes():
    net = with_slots(3)
    text = net.nodes[0].cluster.config_text()
    loaded = ClusterState(make_node(seed=9, cluster_enabled="yes", port=str(BASE_PORT)))
    assert loaded.load_at_start(text)[0]
    assert set(loaded.nodes) == set(net.nodes[0].cluster.nodes)
    assert loaded.ranges(loaded.nodes[net.myid(2).decode()]) == [(10923, 16383)]

    def lasting(conf: bytes) -> list[list[str]]:  # without the ping and pong times and the link state
        return [fields[:4] + fields[6:7] + fields[8:] for fields in map(str.split, conf.decode().splitlines())]

    assert lasting(loaded.config_text()) == lasting(text)


def test_nodes_conf_keeps_the_slots_migrating_and_importing():
    """A node restarted in the middle of a slot's move resumes it (Redis writes and reads them as
    ``[slot->-id]`` and ``[slot-<-id]``)."""
    net = with_slots(3)
    assert net.call(0, "CLUSTER", "SETSLOT", 7, "MIGRATING", net.myid(1)) == b"OK"
    assert net.call(0, "CLUSTER", "SETSLOT", 6000, "IMPORTING", net.myid(1)) == b"OK"
    text = net.nodes[0].cluster.config_text()
    loaded = ClusterState(make_node(seed=9, cluster_enabled="yes", port=str(BASE_PORT)))
    assert loaded.load_at_start(text)[0]
    assert {slot: member.id for slot, member in loaded.migrating.items()} == {7: net.myid(1).decode()}
    assert {slot: member.id for slot, member in loaded.importing.items()} == {6000: net.myid(1).decode()}
    mine = next(line for line in loaded.config_text().decode().splitlines() if "myself" in line)
    assert mine.endswith(f"[7->-{net.myid(1).decode()}] [6000-<-{net.myid(1).decode()}]")


def test_cluster_links_and_killing_one():
    net = joined(3)
    links = net.call(0, "CLUSTER", "LINKS")
    assert len(links) == 4
    other = net.myid(1)
    assert net.call(0, "DEBUG", "CLUSTERLINK", "KILL", "to", other) == b"OK"
    assert len(net.call(0, "CLUSTER", "LINKS")) == 3
    net.advance(200)
    assert len(net.call(0, "CLUSTER", "LINKS")) == 4
    assert str(net.call(0, "DEBUG", "CLUSTERLINK", "KILL", "sideways", other)) == "ERR Unknown direction sideways"


def test_a_link_whose_send_buffer_passes_the_limit_is_freed_and_made_again():
    """cluster-link-sendbuf-limit, as Redis's 24-links: the runtime reports a link's unsent bytes
    (a peer that stopped reading); past the limit the cron frees it and connects again."""
    net = joined(2)
    peer = net.myid(1)

    def link(direction: str) -> dict:
        rows = [dict(zip(row[::2], row[1::2])) for row in net.call(0, "CLUSTER", "LINKS")]
        return next(row for row in rows if row[b"node"] == peer and row[b"direction"] == direction)

    to_before, from_before = link(b"to"), link(b"from")
    conn = next(c for c, bus_link in net.nodes[0].cluster.bus.links.items() if bus_link.outbound)
    net.nodes[0].output_backlog(conn, 300 * 1024, net.now)
    assert link(b"to")[b"send-buffer-used"] == 300 * 1024
    net.advance(200)
    assert net.info(0)["total_cluster_links_buffer_limit_exceeded"] == "0"  # no limit by default
    assert net.call(0, "CONFIG", "SET", "cluster-link-sendbuf-limit", 256 * 1024) == b"OK"
    net.advance(100)
    net.now += 1  # the new link is made at a later millisecond
    net.advance(100)
    assert net.info(0)["total_cluster_links_buffer_limit_exceeded"] == "1"
    assert link(b"to")[b"create-time"] > to_before[b"create-time"]
    assert link(b"to")[b"send-buffer-used"] == 0
    assert link(b"from")[b"create-time"] == from_before[b"create-time"]


def shard_with_replica() -> BusNetwork:
    """Three masters with the slots, node 3 a replica of node 2."""
    net = with_slots(4)
    net.call(3, "CLUSTER", "REPLICATE", net.myid(2))
    net.advance(1000)
    return net


def role_of(net: BusNetwork, seen_by: int, member: int) -> str:
    member_id = net.myid(member).decode()
    line = next(line for line in net.call(seen_by, "CLUSTER", "NODES").decode().splitlines()
                if line.startswith(member_id))
    return line.split()[2]


def test_the_replica_of_a_failed_master_is_elected_and_the_old_master_follows_it():
    net = shard_with_replica()
    old_epoch = int(net.info(2)["cluster_my_epoch"])
    net.stopped.add(2)
    net.advance(5000)
    assert role_of(net, 0, 3) == "master" and role_of(net, 1, 3) == "master"
    assert [row[2][2] for row in net.call(0, "CLUSTER", "SLOTS") if row[0] == 10923] == [net.myid(3)]
    assert int(net.info(3)["cluster_my_epoch"]) > old_epoch
    assert all(net.info(i)["cluster_state"] == "ok" for i in (0, 1, 3))
    net.stopped.clear()
    net.advance(3000)
    assert role_of(net, 2, 2) == "myself,slave" and role_of(net, 0, 2) == "slave"
    assert net.call(2, "CLUSTER", "NODES").decode().count("slave " + net.myid(3).decode()) == 1


def test_no_election_without_a_majority_of_masters_voting():
    net = shard_with_replica()
    net.stopped.add(2)
    while "fail" not in role_of(net, 3, 2).split(","):
        net.advance(100)
    net.stopped.add(1)  # the masters agreed node 2 failed; now one of the two left can vote
    net.advance(8000)
    assert role_of(net, 3, 3) == "myself,slave"


def test_cluster_failover_by_hand_and_its_refusals():
    net = shard_with_replica()
    assert str(net.call(2, "CLUSTER", "FAILOVER")) == "ERR You should send CLUSTER FAILOVER to a replica"
    assert str(net.call(3, "CLUSTER", "FAILOVER", "SOFTLY")) == "ERR syntax error"
    assert net.call(3, "CLUSTER", "FAILOVER") == b"OK"  # the master pauses writes, the replica is level: elected
    net.advance(1500)
    assert role_of(net, 3, 3) == "myself,master" and role_of(net, 3, 2) == "slave"
    assert net.nodes[2].pause.purposes == {}  # the old master's pause ended as it turned replica
    assert net.call(2, "CLUSTER", "FAILOVER", "FORCE") == b"OK"  # and back, without the master's pause
    net.advance(1500)
    assert role_of(net, 0, 2) == "master" and role_of(net, 0, 3) == "slave"


def test_a_failover_by_hand_whose_master_stopped_is_held_at_once_when_the_master_fails():
    """The master stopped before it could pause for the manual failover: the failover cannot
    start, but as Redis (mf_end alone decides), once the master is failed the election has no
    delay (an automatic one waits 500-1000 ms)."""
    net = shard_with_replica()
    net.stopped.add(2)
    assert net.call(3, "CLUSTER", "FAILOVER") == b"OK"
    while "fail" not in role_of(net, 3, 2).split(","):
        net.advance(100)
    net.advance(300)
    assert role_of(net, 3, 3) == "myself,master"


def _keys_in_slots(first: int, last: int, count: int) -> list[bytes]:
    keys = (b"key:%d" % i for i in range(100_000))
    return [key for key in keys if first <= key_slot(key) <= last][:count]


def test_a_master_that_a_takeover_turns_into_a_replica_keeps_its_keys():
    """A master that loses its slots to its replica follows it and keeps its data for the partial
    resync (Redis drops a lost slot's keys only on a master that stays one); dropping them would
    leave a replica at its master's offset without them."""
    net = shard_with_replica()
    keys = _keys_in_slots(10923, 16383, 5)
    for key in keys:
        assert net.call(2, "SET", key, "v") == b"OK"
    assert net.call(3, "CLUSTER", "FAILOVER", "TAKEOVER") == b"OK"
    net.advance(1000)
    assert role_of(net, 2, 2) == "myself,slave"
    assert net.call(2, "DBSIZE") == len(keys)


def test_a_master_that_loses_some_of_its_slots_drops_their_keys():
    net = with_slots(3)
    lost, kept = _keys_in_slots(10923, 10923, 1)[0], _keys_in_slots(10924, 16383, 1)[0]
    for key in (lost, kept):
        assert net.call(2, "SET", key, "v") == b"OK"
    logged = []
    net.nodes[2].propagate = lambda db_index, argv: logged.append(argv)
    assert net.call(1, "CLUSTER", "SETSLOT", key_slot(lost), "IMPORTING", net.myid(2)) == b"OK"
    assert net.call(1, "CLUSTER", "SETSLOT", key_slot(lost), "NODE", net.myid(1)) == b"OK"  # a newer epoch: it wins
    net.advance(1000)
    assert role_of(net, 2, 2) == "myself,master"
    assert net.call(2, "DBSIZE") == 1 and net.call(2, "EXISTS", kept) == 1
    assert logged == [[b"DEL", lost]]  # to the log and the replicas, as Redis 7.2 (7.0 dropped it here only)


def test_a_replica_failed_over_twice_in_a_row_holds_a_new_election_the_second_time():
    """Node 3 takes over, hands back to node 2, takes over again, each within the election retry
    time: its second win comes from a new election, under an epoch newer than node 2's (Redis 7.0
    counted the first election's votes again and kept its epoch, redis/redis#8753)."""
    net = shard_with_replica()
    won = []
    for replica in (3, 2, 3):
        assert net.call(replica, "CLUSTER", "FAILOVER") == b"OK"
        net.advance(1000)
        assert role_of(net, replica, replica) == "myself,master"
        assert role_of(net, 0, replica) == "master"
        won.append(int(net.info(replica)["cluster_my_epoch"]))
    assert won[0] < won[1] < won[2]
    assert len({int(net.info(i)["cluster_my_epoch"]) for i in (0, 1, 3)}) == 3


def test_a_master_back_with_an_old_claim_is_told_by_update_who_serves_its_slots_now():
    net = shard_with_replica()
    net.stopped.add(2)
    net.advance(5000)  # node 3 elected in its place
    net.stopped = {3}  # the new master away, the old one back: only nodes 0 and 1 can tell it
    net.advance(1000)
    assert role_of(net, 2, 2) == "myself,slave"
    assert net.call(2, "CLUSTER", "NODES").decode().count("myself,slave " + net.myid(3).decode()) == 1


def test_a_master_left_without_replicas_gets_one_from_the_master_with_most():
    net = with_slots(6)
    for replica, master in ((3, 0), (4, 0), (5, 1)):
        net.call(replica, "CLUSTER", "REPLICATE", net.myid(master))
    net.advance(1000)
    net.stopped.add(5)  # node 1 loses its only replica
    net.advance(10000)
    moved = min((3, 4), key=lambda i: net.myid(i))
    stayed = ({3, 4} - {moved}).pop()
    assert net.call(moved, "CLUSTER", "NODES").decode().count("myself,slave " + net.myid(1).decode()) == 1
    assert net.call(stayed, "CLUSTER", "NODES").decode().count("myself,slave " + net.myid(0).decode()) == 1


def test_bytes_that_are_not_a_bus_message_close_that_link_only():
    net = joined(2)
    node = net.nodes[0]
    node.bus_accepted(BUS_CONNS - 1, net.now, "127.0.0.1:1", "127.0.0.1:17000")
    node.receive(BUS_CONNS - 1, b"RCmb\x00\x01binary header of redis-server's bus", net.now)
    assert Close(BUS_CONNS - 1) in node.take_effects()
    node.bus_accepted(BUS_CONNS - 2, net.now, "127.0.0.1:1", "127.0.0.1:17000")
    node.receive(BUS_CONNS - 2, b"*2\r\n$4\r\nping\r\n$1\r\nx\r\n", net.now)  # RESP, but not a message
    assert Close(BUS_CONNS - 2) in node.take_effects()
    assert net.info(0)["cluster_known_nodes"] == "2" and net.call(0, "PING") == b"PONG"


def test_flags_shown_as_redis_shows_them_nofailover_travels_and_pfail_is_fail_question_mark():
    net = shard_with_replica()
    assert net.call(3, "CONFIG", "SET", "cluster-replica-no-failover", "yes") == b"OK"
    net.advance(2000)
    assert role_of(net, 0, 3) == "slave,nofailover" and role_of(net, 3, 3) == "myself,slave,nofailover"
    net.stopped.update((1, 2))  # node 0 suspects them, no majority to agree
    net.advance(2000)
    assert role_of(net, 0, 1) == "master,fail?"
    net.stopped.clear()
    net.advance(2000)
    assert role_of(net, 0, 2) == "master"  # never failed, and no failover either


def test_subscribers_of_a_shard_channel_are_unsubscribed_when_its_slot_leaves():
    net = with_slots(3)
    node = net.nodes[2]
    node.open(2, net.now, addr="127.0.0.1:50001", laddr="127.0.0.1:7002")
    net.readers[(2, 2)] = hiredis.Reader()
    node.receive(2, encode_request("SSUBSCRIBE", "foo"), net.now)  # slot 12182, node 2's
    net.pump()
    assert net.replies.pop((2, 2)) == [[b"ssubscribe", b"foo", 1]]
    assert net.call(2, "CLUSTER", "SETSLOT", 12182, "NODE", net.myid(0)) == b"OK"
    assert net.replies.pop((2, 2)) == [[b"sunsubscribe", b"foo", 0]]
    assert node.pubsub_shard_channels == {}


def test_announced_hostnames_travel_and_serve_as_the_preferred_endpoint():
    net = with_slots(3)
    assert net.call(2, "CONFIG", "SET", "cluster-announce-hostname", "them.com") == b"OK"
    net.advance(2000)
    assert f"127.0.0.1:{BASE_PORT + 2}@{BASE_PORT + 10002},them.com " in net.call(0, "CLUSTER", "NODES").decode()
    row = net.call(0, "CLUSTER", "SLOTS")[2]
    assert row[2][0] == b"127.0.0.1" and row[2][3] == [b"hostname", b"them.com"]
    assert str(net.call(0, "GET", "foo")) == f"MOVED 12182 127.0.0.1:{BASE_PORT + 2}"
    assert net.call(0, "CONFIG", "SET", "cluster-preferred-endpoint-type", "hostname") == b"OK"
    row = net.call(0, "CLUSTER", "SLOTS")[2]
    assert row[2][0] == b"them.com" and row[2][3] == [b"ip", b"127.0.0.1"]
    assert str(net.call(0, "GET", "foo")) == f"MOVED 12182 them.com:{BASE_PORT + 2}"
    assert str(net.call(0, "GET", "{user1}.a")) == f"MOVED 8106 ?:{BASE_PORT + 1}"  # node 1 has no hostname
    assert "Hostnames may only contain" in str(net.call(0, "CONFIG", "SET", "cluster-announce-hostname", "?.com"))


def test_the_replica_of_a_master_that_gave_away_its_last_slot_follows_its_new_master():
    """Node 2 hands its one slot to node 1 and becomes its replica; node 3, node 2's replica, must
    not stay a replica of a replica: it follows node 1 too (Redis's sub-replica safeguard)."""
    net = joined(4)
    for i, (first, last) in enumerate([(0, 16381), (16382, 16382), (16383, 16383)]):
        assert net.call(i, "CLUSTER", "ADDSLOTSRANGE", first, last) == b"OK"
    net.advance(1000)
    net.call(3, "CLUSTER", "REPLICATE", net.myid(2))
    net.advance(1000)
    assert net.call(1, "CLUSTER", "SETSLOT", 16383, "IMPORTING", net.myid(2)) == b"OK"
    assert net.call(2, "CLUSTER", "SETSLOT", 16383, "MIGRATING", net.myid(1)) == b"OK"
    assert net.call(2, "CLUSTER", "SETSLOT", 16383, "NODE", net.myid(1)) == b"OK"
    net.advance(1000)  # node 3 hears node 2 is a replica (its slot unserved) before node 1 claims it
    assert role_of(net, 3, 2) == "slave"
    assert net.call(1, "CLUSTER", "SETSLOT", 16383, "NODE", net.myid(1)) == b"OK"
    net.advance(3000)
    for replica in (2, 3):
        assert role_of(net, replica, replica) == "myself,slave"
        assert role_of(net, 0, replica) == "slave"
        assert net.call(replica, "ROLE")[1] == b"127.0.0.1" and net.call(replica, "ROLE")[2] == BASE_PORT + 1
    assert b"connected_slaves:0" in net.call(2, "INFO", "replication")
