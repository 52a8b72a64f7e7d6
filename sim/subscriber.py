"""Simulated subscribers: the pubsub workload's listeners, each recording what it heard.

A subscriber listens to one channel in one mode (SUBSCRIBE, PSUBSCRIBE with a
pattern that matches only that channel, or SSUBSCRIBE), in RESP2 or RESP3
(HELLO 3 first: confirmations and messages come as push frames), one
subscription at a time, each on a new connection. A subscription is one operation in the
history: invoked when the subscribe request is sent, completed ``ok`` once it
was confirmed and is over, with what it heard: when it was confirmed, when the
subscriber began to leave, how it ended ("unsubscribed": the server confirmed
the unsubscribe, so everything published before it was heard; "broken": the
connection broke or a confirmation timed out, and the end may be missing) and
the messages in the order they came. A subscription never confirmed ends
``info``. The pubsub checker (`jepsen_like.pubsub`) judges them against the
publishes.

A push that no correct server sends (another channel, another kind, a reply
out of turn) is an anomaly, reported as the other clients' are.
"""

from __future__ import annotations

import random

import hiredis
from simpy.events import Timeout

from jepsen_like.pubsub import BROKEN, UNSUBSCRIBED
from sim.client import CONNECT_TIMEOUT_MS, OP_TIMEOUT_MS, RECONNECT_MS_MAX, RECONNECT_MS_MIN, encode
from sim.net import FIN, RST, SYN_ACK, Conn

MODES = ("channel", "pattern", "shard")
SUBSCRIBE = {"channel": b"SUBSCRIBE", "pattern": b"PSUBSCRIBE", "shard": b"SSUBSCRIBE"}
UNSUBSCRIBE = {"channel": b"UNSUBSCRIBE", "pattern": b"PUNSUBSCRIBE", "shard": b"SUNSUBSCRIBE"}
MESSAGE = {"channel": b"message", "pattern": b"pmessage", "shard": b"smessage"}
LISTEN_MS_MIN = 500
LISTEN_MS_MAX = 6000

IDLE, CONNECTING, SUBSCRIBING, LISTENING, LEAVING = "idle", "connecting", "subscribing", "listening", "leaving"


def pattern_for(channel: str) -> str:
    """A glob that matches `channel` and no other of the workload's: its last character as a class."""
    return f"{channel[:-1]}[{channel[-1]}]"


class Subscriber:
    """One listening client (host ``s<index>``, process ``sub<index>``)."""

    def __init__(self, world, index: int, rng: random.Random, channel: str, mode: str, resp3: bool = False) -> None:
        self.world = world
        self.env = world.env
        self.net = world.net
        self.rng = rng
        self.host = f"s{index}"
        self.process = f"sub{index}"
        self.channel = channel
        self.mode = mode
        self.name = (pattern_for(channel) if mode == "pattern" else channel).encode()
        self.resp3 = resp3
        self.hello_pending = False
        self.state = IDLE
        self.conn: Conn | None = None
        self.reader = hiredis.Reader()
        self.heard: dict | None = None
        self.running = False
        self.token = 0  # the live timer's token; the others are stale
        world.net.add_host(self.host, self, f"10.0.2.{index + 1}")

    @property
    def idle(self) -> bool:
        return self.state == IDLE

    def start(self) -> None:
        self.running = True
        self._after(self.rng.randint(0, RECONNECT_MS_MAX), self._connect)

    def stop(self) -> None:
        """Leave the subscription (once it is confirmed) and start no other."""
        self.running = False
        if self.state == LISTENING:
            self._leave()

    # -- timers ------------------------------------------------------------------
    def _after(self, delay_ms: int, then) -> None:
        self.token += 1
        Timeout(self.env, delay_ms, (self, self.token, then)).callbacks.append(_fire)

    def fire(self, token: int, then) -> None:
        if token == self.token:
            then()

    # -- a subscription ----------------------------------------------------------
    def _connect(self) -> None:
        if not self.running:
            return
        self.state = CONNECTING
        self.conn = self.net.connect(self.host, self.world.node_for(self.channel))
        self.reader = hiredis.Reader()
        self._after(CONNECT_TIMEOUT_MS, self._timed_out)

    def _subscribe(self) -> None:
        self.state = SUBSCRIBING
        self.heard = None
        self.world.record(self.process, "invoke", "subscribe", self.channel, self.mode)
        self.hello_pending = self.resp3
        self.conn.ab.push(encode([*([[b"HELLO", b"3"]] if self.resp3 else []), [SUBSCRIBE[self.mode], self.name]]))
        self._after(OP_TIMEOUT_MS, self._timed_out)

    def _confirmed(self) -> None:
        self.state = LISTENING
        self.heard = {"confirmed": self.world.now_ns(), "leaving": None, "ended": BROKEN, "messages": []}
        if self.running:
            self._after(self.rng.randint(LISTEN_MS_MIN, LISTEN_MS_MAX), self._leave)
        else:
            self._leave()

    def _leave(self) -> None:
        self.state = LEAVING
        self.heard["leaving"] = self.world.now_ns()
        self.conn.ab.push(encode([[UNSUBSCRIBE[self.mode], self.name]]))
        self._after(OP_TIMEOUT_MS, self._timed_out)

    def _end(self, ended: str, farewell: str | None) -> None:
        """The subscription is over (`UNSUBSCRIBED` or `BROKEN`); the next one after a pause."""
        if self.state == SUBSCRIBING:
            self.world.record(self.process, "info", "subscribe", self.channel, None)
        elif self.state in (LISTENING, LEAVING):
            self.heard["ended"] = ended
            self.world.record(self.process, "ok", "subscribe", self.channel, self.heard)
        if farewell is not None and self.conn is not None:
            self.net.send(self.conn, self.host, farewell)
        self.conn = None
        self.state = IDLE
        if self.running:
            delay = self.rng.randint(RECONNECT_MS_MIN, RECONNECT_MS_MAX)
            self._after(delay, self._connect)
        else:
            self.token += 1  # no timer of this subscription may fire any more

    def _timed_out(self) -> None:
        self._end(BROKEN, FIN)

    def _anomaly(self, what: str) -> None:
        self.world.anomaly(self.process, what)
        self._end(BROKEN, FIN)

    # -- the network -------------------------------------------------------------
    def receive(self, conn: Conn, item: bytes | str) -> None:
        if conn is not self.conn:
            return  # a connection this subscriber already left
        if item is SYN_ACK:
            self._subscribe()
        elif item in (FIN, RST):
            self._end(BROKEN, FIN if item is FIN else None)
        elif type(item) is bytes:
            self.reader.feed(item)
            while self.conn is conn:
                try:
                    reply = self.reader.gets()
                except hiredis.ProtocolError as exc:
                    self._anomaly(f"unparsable reply: {exc}")
                    return
                if reply is False:
                    return
                self._reply(reply)

    def _reply(self, reply) -> None:
        """A confirmation or a message, in the states where a correct server sends them (push
        frames in RESP3, arrays in RESP2)."""
        if isinstance(reply, list) and (type(reply) is hiredis.PushNotification) != self.resp3:
            self._anomaly(f"{reply!r} {'not ' if self.resp3 else ''}as a push frame in RESP{3 if self.resp3 else 2}")
            return
        kind = reply[0] if isinstance(reply, list) and reply else None
        if self.state == SUBSCRIBING and self.hello_pending and type(reply) is dict and reply.get(b"proto") == 3:
            self.hello_pending = False
        elif self.state == SUBSCRIBING and not self.hello_pending \
                and reply == [SUBSCRIBE[self.mode].lower(), self.name, 1]:
            self._confirmed()
        elif self.state == LEAVING and reply == [UNSUBSCRIBE[self.mode].lower(), self.name, 0]:
            self._end(UNSUBSCRIBED, FIN)
        elif self.state in (LISTENING, LEAVING) and kind == MESSAGE[self.mode]:
            expected = [MESSAGE[self.mode], *([self.name] if self.mode == "pattern" else []), self.channel.encode()]
            if reply[:-1] != expected or not reply[-1].isdigit():
                self._anomaly(f"a message for another subscription: {reply!r}")
                return
            self.heard["messages"].append(int(reply[-1]))
        else:
            self._anomaly(f"{reply!r} while {self.state}")


def _fire(event: Timeout) -> None:
    subscriber, token, then = event._value
    subscriber.fire(token, then)
