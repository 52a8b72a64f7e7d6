"""The pubsub checker: every anomaly it names, each shown on a history that has it."""

from __future__ import annotations

from jepsen_like import history, pubsub


def publish(process, message, at, until, kind="PUBLISH", outcome="ok", count=1, channel="c"):
    return [
        {"process": process, "type": "invoke", "f": "publish", "key": channel, "value": [message, kind], "time": at},
        {"process": process, "type": outcome, "f": "publish", "key": channel,
         "value": count if outcome == "ok" else None, "time": until},
    ]


def subscription(process, at, until, messages, mode="channel", ended="unsubscribed", channel="c"):
    heard = {"confirmed": at + 1, "leaving": until - 1 if ended == "unsubscribed" else None, "ended": ended,
             "messages": messages}
    return [
        {"process": process, "type": "invoke", "f": "subscribe", "key": channel, "value": mode, "time": at},
        {"process": process, "type": "ok", "f": "subscribe", "key": channel, "value": heard, "time": until},
    ]


def judge(*parts):
    rows = sorted((row for part in parts for row in part), key=lambda row: row["time"])
    return pubsub.check(history.pair(history.from_dicts(rows)))


def anomaly_types(verdict) -> dict[str, int]:
    assert verdict.valid is False, verdict
    return verdict.evidence["anomaly_counts"]


def test_messages_heard_once_in_order_by_every_listener_are_valid():
    verdict = judge(
        subscription("s0", 0, 1000, [1, 2]),
        subscription("s1", 5, 1000, [1, 2], mode="pattern"),
        subscription("s2", 5, 1000, [3], mode="shard"),
        publish(0, 1, 100, 110, count=2),
        publish(0, 2, 200, 210, count=2),
        publish(1, 3, 300, 310, kind="SPUBLISH", count=1),
    )
    assert verdict.valid is True and verdict.evidence == {"subscriptions": 3, "heard": 5}


def test_a_subscription_that_broke_or_began_late_may_miss_messages():
    verdict = judge(
        subscription("s0", 0, 150, [1], ended="broken"),  # broke: the rest never came
        publish(0, 1, 100, 110, count=2),
        subscription("s1", 105, 1000, [2]),  # confirmed after message 1 was published
        publish(0, 2, 200, 210, count=2),  # s0 may still be listening as far as the server knows
    )
    assert verdict.valid is True


def test_a_message_nobody_published_or_of_the_other_kind_is_unexpected():
    verdict = judge(
        subscription("s0", 0, 1000, [7, 1]),
        publish(0, 1, 100, 110, kind="SPUBLISH", count=0),
    )
    assert anomaly_types(verdict) == {"unexpected": 2, "miscounted": 1}  # a count of 0, yet heard


def test_a_failed_publish_heard_is_aborted_and_a_message_heard_twice_is_duplicated():
    verdict = judge(
        subscription("s0", 0, 1000, [1, 2, 2]),
        publish(0, 1, 100, 110, outcome="fail"),
        publish(0, 2, 200, 210),
    )
    assert anomaly_types(verdict) == {"aborted": 1, "duplicated": 1}


def test_a_message_heard_before_it_was_published_is_early():
    verdict = judge(
        subscription("s0", 0, 50, [1], ended="broken"),
        publish(0, 1, 100, 110),
    )
    assert anomaly_types(verdict) == {"early": 1}


def test_messages_heard_against_real_time_or_in_two_orders_are_reordered():
    real_time = judge(
        subscription("s0", 0, 1000, [2, 1]),
        publish(0, 1, 100, 110),
        publish(0, 2, 200, 210),
    )
    assert anomaly_types(real_time) == {"reordered": 1}
    two_orders = judge(  # concurrent publishes: either order, but the same for everyone
        subscription("s0", 0, 1000, [1, 2]),
        subscription("s1", 0, 1000, [2, 1], mode="pattern"),
        publish(0, 1, 100, 300, count=2),
        publish(1, 2, 200, 400, count=2),
    )
    assert anomaly_types(two_orders) == {"reordered": 1}
    assert two_orders.evidence["anomalies"][0]["messages"] == [1, 2]


def test_an_acknowledged_message_missing_while_listening_is_lost():
    verdict = judge(
        subscription("s0", 0, 1000, [1]),
        publish(0, 1, 100, 110),
        publish(0, 2, 200, 210, count=0),
    )
    assert anomaly_types(verdict) == {"lost": 1}
    assert verdict.evidence["anomalies"][0]["message"] == 2


def test_a_receiver_count_outside_what_was_heard_and_who_listened_is_miscounted():
    verdict = judge(
        subscription("s0", 0, 1000, [1, 2]),
        publish(0, 1, 100, 110, count=0),  # heard by one
        publish(0, 2, 200, 210, count=3),  # only one subscription could hear it
    )
    assert anomaly_types(verdict) == {"miscounted": 2}


def test_a_subscription_never_confirmed_may_have_been_a_receiver():
    unconfirmed = [
        {"process": "s0", "type": "invoke", "f": "subscribe", "key": "c", "value": "channel", "time": 0},
        {"process": "s0", "type": "info", "f": "subscribe", "key": "c", "value": None, "time": 500},
    ]
    verdict = judge(unconfirmed, subscription("s1", 0, 1000, [1]), publish(0, 1, 100, 110, count=2))
    assert verdict.valid is True
    assert judge(unconfirmed, publish(0, 1, 100, 110, count=1)).valid is None  # no confirmed subscription
