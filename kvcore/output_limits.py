"""client-output-buffer-limit: closing clients that do not read what they are sent.

A client's output is what the core has produced for it and the runtime has
not yet handed to the kernel: the replies of the current drain, plus what the
runtime reports still waiting from earlier ones (`Node.output_backlog`). It
counts as Redis counts it (CLIENT LIST's omem): the first `STATIC_BUFFER` bytes
not at all (Redis's fixed per-client buffer), the rest in whole reply blocks of
`REPLY_BLOCK` bytes (16 KB chunks as jemalloc sizes them). Past
its class's hard limit, or past the soft limit for longer than the soft
seconds, the client is dropped with whatever it has not read, and a warning is
logged, as redis-server's checkClientOutputBufferLimits does. The classes are
Redis's: replicas (SYNC), subscribers (pubsub), everyone else (normal).
"""

from __future__ import annotations

import re

from kvcore.config import ConfigError, parse_memory

CLASSES = ("normal", "slave", "pubsub")
STATIC_BUFFER = 16 * 1024
REPLY_BLOCK = 20480 - 16  # a 16 KB reply chunk plus its header, in jemalloc's 20 KB class
_CLASS_NAMES = {"normal": "normal", "slave": "slave", "replica": "slave", "pubsub": "pubsub"}
_SECONDS = re.compile(r"[+-]?[0-9]+")  # what strtoll reads whole (words hold no spaces)


def parse(text: str) -> dict[str, tuple[int, int, int]]:
    """The classes a CONFIG SET value names, each with (hard, soft, soft seconds); Redis's errors."""
    words = text.split()
    if len(words) % 4:
        raise ConfigError("Wrong number of arguments in buffer limit configuration.")
    limits = {}
    for index in range(0, len(words), 4):
        name = _CLASS_NAMES.get(words[index].lower())
        if name is None:
            raise ConfigError("Invalid client class specified in buffer limit configuration.")
        hard_text, soft_text, seconds_text = words[index + 1 : index + 4]
        try:
            hard, soft = parse_memory(hard_text), parse_memory(soft_text)
        except ConfigError:
            hard = soft = -1
        seconds = int(seconds_text) if _SECONDS.fullmatch(seconds_text) else -1
        if hard < 0 or soft < 0 or seconds < 0:
            raise ConfigError("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        limits[name] = (hard, soft, seconds)
    return limits


def merge(current: str, text: str) -> str:
    """The full setting after a change that names some classes (the others keep their limits)."""
    limits = parse(current)
    limits.update(parse(text))
    return " ".join(f"{name} {limits[name][0]} {limits[name][1]} {limits[name][2]}" for name in CLASSES)


def counted(unsent: int) -> int:
    """The output that counts against the limits (and shows as omem): past the static buffer,
    in reply blocks."""
    if unsent <= STATIC_BUFFER:
        return 0
    return -(-(unsent - STATIC_BUFFER) // REPLY_BLOCK) * REPLY_BLOCK


def draws_within_limit(client, draws: int) -> int:
    """How many of ``draws`` random elements to make for a reply (HRANDFIELD, SRANDMEMBER and
    ZRANDMEMBER with a negative count): all, unless fewer already pass the hard limit of the
    client's class, which then drops it unanswered; Redis stops such loops there too."""
    node = client.node
    hard = node.output_limits.by_class[client_class(node, client)][0]
    if not hard:
        return draws
    room = max(hard + STATIC_BUFFER - client.obuf, 0)
    return min(draws, room // _SMALLEST_ELEMENT + 1)


_SMALLEST_ELEMENT = 4  # bytes of the shortest element of a reply (RESP3 null: "_\r\n", RESP2's "$0\r\n\r\n" is 6)


def client_class(node, client) -> str:
    if client.is_replica_link:  # from its SYNC on, still loading its payload too, as Redis's CLIENT_SLAVE
        return "slave"
    if client.channels or client.patterns or client.shard_channels:
        return "pubsub"
    return "normal"


class OutputLimits:
    """The node's limits by class, and the check each client's output goes through."""

    def __init__(self, node) -> None:
        self.node = node
        self.by_class: dict[str, tuple[int, int, int]] = {}
        self.smallest = 0  # output under this needs no look (0: no class has a limit)
        self.configure(node.config["client-output-buffer-limit"])

    def configure(self, setting: str) -> None:
        self.by_class = parse(setting)
        limits = [limit for hard, soft, _ in self.by_class.values() for limit in (hard, soft) if limit]
        self.smallest = min(limits) - REPLY_BLOCK + STATIC_BUFFER if limits else 0

    def exceeded(self, client, unsent: int) -> bool:
        """Whether ``unsent`` bytes of output end the client (Redis's checkClientOutputBufferLimits).

        The soft limit counts from the first time it was seen reached, in whole seconds.
        """
        size = counted(unsent)
        kind = client_class(self.node, client)
        hard, soft, seconds = self.by_class[kind]
        if kind == "slave" and hard:  # a replica's output is the backlog's: never held to less (as Redis)
            hard = max(hard, self.node.config["repl-backlog-size"])
        if hard and size >= hard:
            return True
        now_s = self.node.now // 1000
        if soft and size >= soft:
            if client.obuf_soft_since is None:
                client.obuf_soft_since = now_s
                return False
            return now_s - client.obuf_soft_since > seconds
        client.obuf_soft_since = None
        return False
