"""Publish/subscribe against the pure core, RESP2 and RESP3."""

from __future__ import annotations

from tests.kvcore.harness import CoreClient, encode_request, make_node


def test_subscribers_receive_messages_and_publish_counts_them():
    node = make_node()
    sub, pat, pub = CoreClient(node), CoreClient(node), CoreClient(node)
    assert sub.send_raw(encode_request("SUBSCRIBE", "news", "sport")) == [
        [b"subscribe", b"news", 1],
        [b"subscribe", b"sport", 2],
    ]
    assert pat.call("PSUBSCRIBE", "n*") == [b"psubscribe", b"n*", 1]
    assert pub.call("PUBLISH", "news", "hi") == 2
    assert sub.send_raw(b"") == [[b"message", b"news", b"hi"]]
    assert pat.send_raw(b"") == [[b"pmessage", b"n*", b"news", b"hi"]]
    assert pub.call("PUBLISH", "nobody", "x") == 1  # the pattern only


def test_resp2_subscriber_may_only_run_pubsub_commands():
    c = CoreClient(make_node())
    c.call("SUBSCRIBE", "a")
    reply = c.call("GET", "k")
    assert str(reply).startswith("ERR Can't execute 'get': only (P|S)SUBSCRIBE")
    assert c.call("PING") == [b"pong", b""]


def test_unsubscribe_without_arguments_leaves_everything():
    c = CoreClient(make_node())
    c.send_raw(encode_request("SUBSCRIBE", "a", "b"))
    assert c.send_raw(encode_request("UNSUBSCRIBE")) == [[b"unsubscribe", b"a", 1], [b"unsubscribe", b"b", 0]]
    assert c.call("UNSUBSCRIBE") == [b"unsubscribe", None, 0]
    assert c.call("GET", "k") is None


def test_pubsub_introspection():
    node = make_node()
    a, b = CoreClient(node), CoreClient(node)
    a.send_raw(encode_request("SUBSCRIBE", "x", "y"))
    b.call("PSUBSCRIBE", "*")
    observer = CoreClient(node)
    assert sorted(observer.call("PUBSUB", "CHANNELS")) == [b"x", b"y"]
    assert observer.call("PUBSUB", "CHANNELS", "x*") == [b"x"]
    assert observer.call("PUBSUB", "NUMSUB", "x", "z") == [b"x", 1, b"z", 0]
    assert observer.call("PUBSUB", "NUMPAT") == 1
    for sub in ("CHANNELS", "SHARDCHANNELS"):  # one pattern at most
        assert str(observer.call("PUBSUB", sub, "x*", "y*")) == \
            f"ERR unknown subcommand or wrong number of arguments for '{sub}'. Try PUBSUB HELP."


def test_disconnect_drops_subscriptions():
    node = make_node()
    a, pub = CoreClient(node), CoreClient(node)
    a.call("SUBSCRIBE", "x")
    node.closed(a.conn, 1)
    assert pub.call("PUBLISH", "x", "m") == 0


def test_keyspace_notifications_follow_the_configured_classes():
    node = make_node()
    listener, writer = CoreClient(node), CoreClient(node)
    assert writer.call("CONFIG", "SET", "notify-keyspace-events", "KEA") == b"OK"
    assert writer.call("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events", b"AKE"]
    listener.call("PSUBSCRIBE", "__key*__:*")
    writer.call("SET", "k", "v", "EX", "100")
    writer.call("INCR", "n")
    assert listener.send_raw(b"") == [
        [b"pmessage", b"__key*__:*", b"__keyspace@0__:k", b"set"],
        [b"pmessage", b"__key*__:*", b"__keyevent@0__:set", b"k"],
        [b"pmessage", b"__key*__:*", b"__keyspace@0__:k", b"expire"],
        [b"pmessage", b"__key*__:*", b"__keyevent@0__:expire", b"k"],
        [b"pmessage", b"__key*__:*", b"__keyspace@0__:n", b"incrby"],
        [b"pmessage", b"__key*__:*", b"__keyevent@0__:incrby", b"n"],
    ]
    writer.call("CONFIG", "SET", "notify-keyspace-events", "El")
    writer.call("SET", "k", "v")
    writer.call("LPUSH", "l", "a")
    assert listener.send_raw(b"") == [[b"pmessage", b"__key*__:*", b"__keyevent@0__:lpush", b"l"]]


def test_invalid_notification_flags_are_refused_with_redis_text():
    c = CoreClient(make_node())
    reply = c.call("CONFIG", "SET", "notify-keyspace-events", "q")
    assert str(reply) == (
        "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - "
        "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
    )


def test_shard_channels_are_a_namespace_of_their_own():
    node = make_node()
    sub, pub = CoreClient(node), CoreClient(node)
    sub.call("SUBSCRIBE", "c")
    assert sub.call("SSUBSCRIBE", "c") == [b"ssubscribe", b"c", 1]
    assert pub.call("SPUBLISH", "c", "m") == 1
    assert sub.send_raw(b"") == [[b"smessage", b"c", b"m"]]
    assert pub.call("PUBSUB", "SHARDNUMSUB", "c") == [b"c", 1]
    assert sub.call("SUNSUBSCRIBE") == [b"sunsubscribe", b"c", 0]
    assert pub.call("PUBLISH", "c", "m2") == 1
