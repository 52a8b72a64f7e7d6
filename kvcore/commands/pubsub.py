"""Publish/subscribe: channels and patterns, messages pushed to subscribers.

Subscriptions live in two places that must agree: each client's own
``channels``/``patterns`` (insertion-ordered dicts) and the node's maps from
channel or pattern to subscribing clients (also dicts, so delivery order is
subscription order, never hash order).
"""

from __future__ import annotations

from kvcore.commands.connection import subcommand_syntax_error
from kvcore.commands.key_specs import Index, KeySpec, Range
from kvcore.commands.table import Flag, Registry
from kvcore.dispatch import NO_REPLY
from kvcore.glob import glob_match
from kvcore.reply import Push, Simple
from kvcore.scripting import PROPAGATE_REPLICAS

REGISTRY = Registry("pubsub")
command = REGISTRY.command

SUBSCRIBE_FLAGS = Flag.PUBSUB | Flag.NOSCRIPT | Flag.LOADING | Flag.STALE


def _confirm(client, kind: bytes, name, count: int) -> None:
    client.push(Push([kind, name, count]))


CHANNEL, PATTERN, SHARD = "channel", "pattern", "shard"


def _maps(client, kind: str):
    """The client's own subscriptions of a kind, and the node's registry of them."""
    node = client.node
    if kind == PATTERN:
        return client.patterns, node.pubsub_patterns
    if kind == SHARD:
        return client.shard_channels, node.pubsub_shard_channels
    return client.channels, node.pubsub_channels


def _count(client, kind: str) -> int:
    """What a (un)subscribe confirmation counts: shard channels are counted apart."""
    return len(client.shard_channels) if kind == SHARD else len(client.channels) + len(client.patterns)


def subscribe_client(client, channel: bytes, kind: str) -> None:
    own, registry = _maps(client, kind)
    if channel not in own:
        own[channel] = None
        registry.setdefault(channel, {})[client] = None


def unsubscribe_client(client, channel: bytes, kind: str) -> bool:
    own, registry = _maps(client, kind)
    if channel not in own:
        return False
    del own[channel]
    subscribers = registry.get(channel)
    if subscribers is not None:
        subscribers.pop(client, None)
        if not subscribers:
            del registry[channel]
    return True


def unsubscribe_shard_channels_in_slot(node, slot: int, key_slot) -> None:
    """A cluster node no longer serves the slot: every client subscribed to a shard channel of it is
    unsubscribed and told so (sunsubscribe), as Redis's removeChannelsInSlot."""
    for channel in [channel for channel in node.pubsub_shard_channels if key_slot(channel) == slot]:
        for client in list(node.pubsub_shard_channels.get(channel, ())):
            unsubscribe_client(client, channel, SHARD)
            _confirm(client, b"sunsubscribe", channel, _count(client, SHARD))


@command("subscribe", -2, SUBSCRIBE_FLAGS)
def subscribe(client, argv):
    """SUBSCRIBE channel [channel ...]"""
    return _subscribe(client, argv, CHANNEL, b"subscribe")


def _subscribe(client, argv, kind: str, confirmation: bytes):
    for channel in argv[1:]:
        subscribe_client(client, channel, kind)
        _confirm(client, confirmation, channel, _count(client, kind))
    return NO_REPLY


@command("psubscribe", -2, SUBSCRIBE_FLAGS)
def psubscribe(client, argv):
    """PSUBSCRIBE pattern [pattern ...]"""
    return _subscribe(client, argv, PATTERN, b"psubscribe")


def _unsubscribe(client, argv, kind: str, confirmation: bytes):
    own, _ = _maps(client, kind)
    names = argv[1:] or list(own)
    if not names:
        _confirm(client, confirmation, None, _count(client, kind))
    for name in names:
        unsubscribe_client(client, name, kind)
        _confirm(client, confirmation, name, _count(client, kind))
    return NO_REPLY


@command("unsubscribe", -1, SUBSCRIBE_FLAGS)
def unsubscribe(client, argv):
    """UNSUBSCRIBE [channel [channel ...]]"""
    return _unsubscribe(client, argv, CHANNEL, b"unsubscribe")


@command("punsubscribe", -1, SUBSCRIBE_FLAGS)
def punsubscribe(client, argv):
    """PUNSUBSCRIBE [pattern [pattern ...]]"""
    return _unsubscribe(client, argv, PATTERN, b"punsubscribe")


def publish_message(node, channel: bytes, message: bytes) -> int:
    """Deliver to channel subscribers, then to matching patterns; count receivers."""
    receivers = 0
    for subscriber in node.pubsub_channels.get(channel, ()):
        subscriber.push(Push([b"message", channel, message]))
        receivers += 1
    for pattern, subscribers in node.pubsub_patterns.items():
        if glob_match(pattern, channel):
            for subscriber in subscribers:
                subscriber.push(Push([b"pmessage", pattern, channel, message]))
                receivers += 1
    return receivers


@command("publish", 3, Flag.PUBSUB | Flag.LOADING | Flag.STALE | Flag.FAST | Flag.MAY_REPLICATE)
def publish(client, argv):
    """PUBLISH channel message (replicated, so that the replicas' subscribers hear it too)"""
    _replicate(client, argv)
    return publish_message(client.node, argv[1], argv[2])


def _replicate(client, argv: list[bytes], shard: bool = False) -> None:
    """PUBLISH and SPUBLISH reach the replicas' subscribers: into the replication stream, not the
    log; on a cluster node, over the cluster bus instead (PUBLISH to every node, SPUBLISH to the
    nodes of the shard)."""
    node = client.node
    if node.cluster is None:
        node.propagate(client.db.index, argv, PROPAGATE_REPLICAS)
    elif not node.obeys(client):
        node.cluster.bus.publish(argv[1], argv[2], shard)


@command(
    "ssubscribe", -2, SUBSCRIBE_FLAGS, (1, -1, 1), since="7.0.0",
    key_specs=(KeySpec("NOT_KEY", Index(1), Range(-1)),),
)
def ssubscribe(client, argv):
    """SSUBSCRIBE shardchannel [shardchannel ...]"""
    return _subscribe(client, argv, SHARD, b"ssubscribe")


@command(
    "sunsubscribe", -1, SUBSCRIBE_FLAGS, (1, -1, 1), since="7.0.0",
    key_specs=(KeySpec("NOT_KEY", Index(1), Range(-1)),),
)
def sunsubscribe(client, argv):
    """SUNSUBSCRIBE [shardchannel [shardchannel ...]]"""
    return _unsubscribe(client, argv, SHARD, b"sunsubscribe")


@command(
    "spublish", 3, Flag.PUBSUB | Flag.LOADING | Flag.STALE | Flag.FAST | Flag.MAY_REPLICATE, (1, 1, 1), since="7.0.0",
    key_specs=(KeySpec("NOT_KEY", Index(1)),),
)
def spublish(client, argv):
    """SPUBLISH shardchannel message"""
    _replicate(client, argv, shard=True)
    return publish_shard_message(client.node, argv[1], argv[2])


def publish_shard_message(node, channel: bytes, message: bytes) -> int:
    """Deliver to a shard channel's subscribers; count them."""
    receivers = 0
    for subscriber in node.pubsub_shard_channels.get(channel, ()):
        subscriber.push(Push([b"smessage", channel, message]))
        receivers += 1
    return receivers


def _active(registry: dict, argv: list[bytes]) -> list[bytes]:
    """The channels of a registry with subscribers, matching argv's optional pattern."""
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    pattern = argv[2] if len(argv) > 2 else None
    return [ch for ch in registry if pattern is None or glob_match(pattern, ch)]


def _subscriber_counts(registry: dict, argv: list[bytes]) -> list:
    """[channel, count, ...] for the channels argv names."""
    out = []
    for channel in argv[2:]:
        out += [channel, len(registry.get(channel, ()))]
    return out


PUBSUB = REGISTRY.container("pubsub", -2, summary="A container for Pub/Sub commands")


@command("channels", -2, Flag.PUBSUB | Flag.LOADING | Flag.STALE, parent=PUBSUB)
def pubsub_channels(client, argv):
    """PUBSUB CHANNELS [pattern]"""
    return _active(client.node.pubsub_channels, argv)


@command("numsub", -2, Flag.PUBSUB | Flag.LOADING | Flag.STALE, parent=PUBSUB)
def pubsub_numsub(client, argv):
    """PUBSUB NUMSUB [channel [channel ...]]"""
    return _subscriber_counts(client.node.pubsub_channels, argv)


@command("numpat", 2, Flag.PUBSUB | Flag.LOADING | Flag.STALE, parent=PUBSUB)
def pubsub_numpat(client, argv):
    """PUBSUB NUMPAT"""
    return len(client.node.pubsub_patterns)


@command("shardchannels", -2, Flag.PUBSUB | Flag.LOADING | Flag.STALE, parent=PUBSUB)
def pubsub_shardchannels(client, argv):
    """PUBSUB SHARDCHANNELS [pattern]"""
    return _active(client.node.pubsub_shard_channels, argv)


@command("shardnumsub", -2, Flag.PUBSUB | Flag.LOADING | Flag.STALE, parent=PUBSUB)
def pubsub_shardnumsub(client, argv):
    """PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]]"""
    return _subscriber_counts(client.node.pubsub_shard_channels, argv)


@command("help", 2, Flag.LOADING | Flag.STALE, parent=PUBSUB)
def pubsub_help(client, argv):
    """PUBSUB HELP"""
    lines = [
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    ]
    return [Simple(line) for line in lines]
