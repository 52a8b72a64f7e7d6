"""A client for a pure kvcore Node: encodes requests, decodes replies, no sockets."""

from __future__ import annotations

import dataclasses
import random
import tracemalloc

import hiredis

from kvcore.config import Config
from kvcore.effects import Close, Send, SendImage, StepLoading, WriteFiles
from kvcore.node import Node


def encode_request(*args) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        arg = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


class CoreClient:
    """One connection to a Node; `call` returns the decoded reply.

    Errors come back as ``hiredis.ReplyError`` values (not raised) so tests
    can compare them with redis-server's replies.
    """

    def __init__(self, node: Node, conn: int | None = None) -> None:
        self.node = node
        self.conn = conn if conn is not None else max(node.clients, default=0) + 1
        self.closed = False
        self._reader = hiredis.Reader()
        self._resp3 = False
        take_images_at_once(node)
        node.open(self.conn, node.now, addr=f"127.0.0.1:{40000 + self.conn}", laddr="127.0.0.1:6379")
        self._replies = []
        # Every harness client of a node, so effects for one reach it whoever triggered them.
        if not hasattr(node, "harness_clients"):
            node.harness_clients = {}
        node.harness_clients[self.conn] = self
        self._deliver(node.take_effects())

    def send_raw(self, data: bytes) -> list:
        """Feed raw bytes; return every reply they produced."""
        self.node.receive(self.conn, data, self.node.now)
        self._deliver(self.node.take_effects())
        replies, self._replies = self._replies, []
        return replies

    def call(self, *args):
        replies = self.send_raw(encode_request(*args))
        assert len(replies) == 1, replies
        return replies[0]

    def _feed(self, data: bytes) -> None:
        self._reader.feed(data)
        while True:
            reply = self._reader.gets()
            if reply is False:
                break
            self._replies.append(reply)

    def _deliver(self, effects) -> None:
        for effect in effects:
            target = self.node.harness_clients.get(getattr(effect, "conn", None))
            if isinstance(effect, Send) and target is not None:
                target._feed(effect.data)
            elif isinstance(effect, Close) and target is not None:
                target.closed = True
            elif isinstance(effect, SendImage):  # a full sync's payload (net's child sends it): whole, at once
                for conn, first in effect.targets:
                    receiver = self.node.harness_clients.get(conn)
                    if receiver is not None:
                        receiver._feed(first + effect.payload)
                self.node.job_done(effect.job, True, self.node.now)
                self._deliver(self.node.take_effects())
            elif isinstance(effect, StepLoading):
                load_to_end(self.node)
                self._deliver(self.node.take_effects())


def load_to_end(node: Node) -> None:
    """Step the node's load (`StepLoading`) to its end at once, as a runtime with nothing else to serve."""
    loading = node.loading_file
    while loading is not None and not loading.done:
        loading.step(node.now)


def make_node(seed: int = 0, now: int = 1_700_000_000_000, **options: str) -> Node:
    """A node with the given options (underscores for dashes); DEBUG is allowed unless they say otherwise."""
    config = Config({"enable-debug-command": "yes", **{name.replace("_", "-"): value for name, value in options.items()}})
    return take_images_at_once(Node(config, rng=random.Random(seed), now=now))


def take_images_at_once(node: Node) -> Node:
    """Make ``node.take_effects`` act as a runtime does for a background job (net forks, sim copies):
    the image is made at once and the node told so; the effect then carries the image's bytes."""
    if getattr(node, "takes_images_at_once", False):
        return node
    take_effects = node.take_effects

    def taking(start_log: bool = True) -> list:
        effects = take_effects(start_log)
        for index, effect in enumerate(effects):
            if type(effect) is WriteFiles and callable(effect.data):
                effects[index] = dataclasses.replace(effect, data=effect.data())
            elif type(effect) is SendImage and callable(effect.payload):
                effects[index] = dataclasses.replace(effect, payload=effect.payload())
            else:
                continue
            node.image_taken(node.now)
            effects += take_effects(start_log)
        return effects

    node.take_effects = taking
    node.takes_images_at_once = True
    return node


def bytes_per_key(client: CoreClient, payload: bytes, keys: int) -> float:
    """Memory Python allocates per key while ``client`` sends ``payload`` (which creates ``keys`` keys)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        client.send_raw(payload)
        return (tracemalloc.get_traced_memory()[0] - before) / keys
    finally:
        tracemalloc.stop()
