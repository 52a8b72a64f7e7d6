"""Publish/subscribe: each subscription hears every message once, in one order, none missed.

Owns the pubsub checker. Per channel (the operation's key):

- ``publish`` operations: value ``[message, kind]``, kind "PUBLISH" (heard by
  "channel" and "pattern" subscriptions) or "SPUBLISH" (heard by "shard"
  ones); an ``ok`` one's result is the receiver count the server replied.
- ``subscribe`` operations: value the mode ("channel", "pattern", "shard");
  an ``ok`` one's result is ``{"confirmed": t, "leaving": t or null,
  "ended": "unsubscribed" or "broken", "messages": [...]}`` (times in ns, the
  messages in the order heard). "unsubscribed": the server confirmed the
  unsubscribe sent at ``leaving``, so everything published before then was
  heard; "broken": the connection broke, and the end may be missing. A
  subscription never confirmed (not ``ok``) is left out, but the server may
  have made it: it may count as a receiver.

Anomalies, each naming the operations that prove it:

- unexpected: a message heard that no publish of a kind for the mode sent;
- aborted: a message heard whose publish failed (it never took effect);
- duplicated: one subscription heard a message twice;
- early: a message heard by a subscription that ended before its publish began;
- reordered: two subscriptions heard two messages in opposite orders, or one
  heard a message before another published entirely before it;
- lost: an unsubscribed subscription missing a message whose acknowledged publish
  began after the subscription was confirmed and ended before it began to leave;
- miscounted: a publish's receiver count below the subscriptions that heard
  it, or above the subscriptions that may have been listening meanwhile.

Redis promises no more: messages published while a subscriber is away are
gone, and so is what was in flight when its connection broke.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jepsen_like.history import Operation, by_key
from jepsen_like.verdict import Verdict, anomaly_counts, invalid, shown, unknown, valid

CHECKER = "pubsub"
FUNCTIONS = ("publish", "subscribe")
UNSUBSCRIBED, BROKEN = "unsubscribed", "broken"
REACHES = {"PUBLISH": ("channel", "pattern"), "SPUBLISH": ("shard",)}


def check(ops: Sequence[Operation]) -> Verdict:
    """Judge a pubsub history; see the module docstring for the anomalies."""
    anomalies: list[dict[str, Any]] = []
    heard_total = subscriptions_total = 0
    for channel, channel_ops in by_key(op for op in ops if op.f in FUNCTIONS):
        publishes = {op.value[0]: op for op in channel_ops if op.f == "publish"}
        attempts = [op for op in channel_ops if op.f == "subscribe"]
        subscriptions = [op for op in attempts if op.ok]
        subscriptions_total += len(subscriptions)
        heard_total += sum(len(op.result["messages"]) for op in subscriptions)
        for sub in subscriptions:
            anomalies += _heard(channel, sub, publishes)
            if _unsubscribed(sub):
                anomalies += _lost(channel, sub, publishes)
        anomalies += _reordered(channel, subscriptions)
        anomalies += _miscounted(channel, publishes, subscriptions, attempts)
    if anomalies:
        counts = anomaly_counts(anomalies)
        return invalid(CHECKER, ", ".join(f"{n} {kind}" for kind, n in counts.items()),
                       anomaly_counts=counts, anomalies=shown(anomalies))
    if not subscriptions_total:
        return unknown(CHECKER, "no subscription was confirmed")
    return valid(CHECKER, f"{subscriptions_total} subscriptions heard {heard_total} messages, each once, in one "
                 "order, none missed", subscriptions=subscriptions_total, heard=heard_total)


def _heard(channel, sub: Operation, publishes: dict) -> list[dict[str, Any]]:
    """unexpected, aborted, duplicated, early and real-time-reordered messages of one subscription."""
    out = []
    seen: set = set()
    latest_start = None  # the latest invocation among the publishes heard so far, and which
    for message in sub.result["messages"]:
        publish = publishes.get(message)
        where = {"channel": channel, "message": message, "subscription": sub.invoke.line}
        if publish is None or sub.value not in REACHES.get(publish.value[1], ()):
            out.append({"type": "unexpected", **where})
            continue
        where["publish"] = publish.invoke.line
        if message in seen:
            out.append({"type": "duplicated", **where})
        seen.add(message)
        if publish.type == "fail":
            out.append({"type": "aborted", **where})
        if sub.complete is not None and sub.complete.time < publish.invoke.time:
            out.append({"type": "early", **where})
        if publish.ok and latest_start is not None and publish.complete.time < latest_start[0]:
            out.append({"type": "reordered", **where, "heard_after": latest_start[1],
                        "why": "heard after a message whose publish began once this one's had ended"})
        if latest_start is None or publish.invoke.time > latest_start[0]:
            latest_start = (publish.invoke.time, message)
    return out


def _lost(channel, sub: Operation, publishes: dict) -> list[dict[str, Any]]:
    heard = set(sub.result["messages"])
    confirmed, leaving = sub.result["confirmed"], sub.result["leaving"]
    return [
        {"type": "lost", "channel": channel, "message": message, "subscription": sub.invoke.line,
         "publish": publish.invoke.line}
        for message, publish in publishes.items()
        if publish.ok and sub.value in REACHES[publish.value[1]] and message not in heard
        and publish.invoke.time > confirmed and publish.complete.time < leaving
    ]


def _reordered(channel, subscriptions: list[Operation]) -> list[dict[str, Any]]:
    """Every two subscriptions hear the messages they share in the same order."""
    out = []
    positions = [{message: i for i, message in enumerate(sub.result["messages"])} for sub in subscriptions]
    for a in range(len(subscriptions)):
        for b in range(a + 1, len(subscriptions)):
            shared = sorted(positions[a].keys() & positions[b].keys(), key=positions[a].__getitem__)
            for first, second in zip(shared, shared[1:]):
                if positions[b][first] > positions[b][second]:
                    out.append({"type": "reordered", "channel": channel, "messages": [first, second],
                                "subscriptions": [subscriptions[a].invoke.line, subscriptions[b].invoke.line]})
                    break
    return out


def _miscounted(channel, publishes: dict, subscriptions: list[Operation],
                attempts: list[Operation]) -> list[dict[str, Any]]:
    """Counts between those that heard and those that may have been listening (`attempts`: every
    subscribe, confirmed or not: the server may have run one whose confirmation was lost)."""
    out = []
    for message, publish in publishes.items():
        if not publish.ok:
            continue
        modes = REACHES[publish.value[1]]
        heard = sum(message in sub.result["messages"] for sub in subscriptions)
        # A broken subscription may live on in the server for a while: its end is not known.
        possible = sum(
            sub.value in modes and sub.invoke.time <= publish.complete.time
            and (not _unsubscribed(sub) or sub.complete.time >= publish.invoke.time)
            for sub in attempts
        )
        if not heard <= publish.result <= possible:
            out.append({"type": "miscounted", "channel": channel, "message": message,
                        "publish": publish.invoke.line, "count": publish.result, "heard_by": heard,
                        "possible": possible})
    return out


def _unsubscribed(sub: Operation) -> bool:
    return sub.ok and sub.result["ended"] == UNSUBSCRIBED
