"""Runs one command sequence on a fresh kvcore node and on redis-server, compares replies."""

from __future__ import annotations

import re
import socket
import time

import hiredis

from tests.kvcore.harness import CoreClient, encode_request, make_node

EXACT = "exact"
UNORDERED = "unordered"  # the reply is a set: compare sorted
SHAPE = "shape"  # random replies: compare types and lengths only
APPROX = "approx"  # time-dependent integers (PTTL): equal within a second
CLOSE_MS = "close_ms"  # time-dependent milliseconds: negatives exact, others within 1000 of each other
CLOSE_S = "close_s"  # time-dependent seconds: negatives exact, others within 1 of each other
SCAN = "scan"  # a [cursor, keys] reply: the cursor exact, the keys compared as a set
# A mode may also be a function (expected, actual) -> bool, and a COMPARE value a
# `ByArgv`, which picks the mode from the command's arguments.
_TOLERANCE = {CLOSE_MS: 1000, CLOSE_S: 1}


class ByArgv:
    """A COMPARE value whose mode depends on the arguments (OBJECT IDLETIME vs ENCODING...)."""

    def __init__(self, choose) -> None:
        self.choose = choose


class RedisConnection:
    """A minimal blocking RESP2 client for the reference server."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.reader = hiredis.Reader()

    def call(self, argv: list[bytes]):
        self.sock.sendall(encode_request(*argv))
        while True:
            reply = self.reader.gets()
            if reply is not False:
                return reply
            data = self.sock.recv(1 << 16)
            if not data:
                raise ConnectionError("redis-server closed the connection")
            self.reader.feed(data)

    def close(self) -> None:
        self.sock.close()


def typed(reply):
    """A reply with its RESP3 types made visible (True is not 1, 1.0 is not 1)."""
    if isinstance(reply, list):
        return [typed(item) for item in reply]
    if isinstance(reply, dict):
        return {typed_key(k): typed(v) for k, v in reply.items()}
    if isinstance(reply, hiredis.ReplyError):
        return ("error", str(reply))
    return (type(reply).__name__, reply)


def typed_key(key):
    return ("list", tuple(map(typed_key, key))) if isinstance(key, list) else (type(key).__name__, key)


def normalize(reply, mode: str):
    if isinstance(reply, hiredis.ReplyError):
        return ("error", str(reply))
    if isinstance(reply, list) and any(isinstance(item, (hiredis.ReplyError, list)) for item in reply):
        reply = [normalize(item, EXACT) for item in reply]  # errors in arrays (EXEC's), compared by text
    if mode == UNORDERED and isinstance(reply, list):
        return ("set", sorted(map(repr, reply)))
    if mode == SHAPE:
        return ("shape", _shape(reply))
    if mode == APPROX and isinstance(reply, int):
        return ("approx", reply if reply < 0 else reply // 2000)
    if mode == SCAN and isinstance(reply, list) and len(reply) == 2 and isinstance(reply[1], list):
        return ("scan", reply[0], sorted(reply[1]))
    return reply


def same(expected, actual, mode: str) -> bool:
    """Whether two replies agree under a comparison mode."""
    if callable(mode):
        return mode(expected, actual)
    tolerance = _TOLERANCE.get(mode)
    if tolerance is not None and type(expected) is int and type(actual) is int and min(expected, actual) >= 0:
        return abs(expected - actual) <= tolerance
    return normalize(expected, mode) == normalize(actual, mode)


def _shape(reply):
    if isinstance(reply, list):
        return ("list", len(reply))
    return type(reply).__name__


# The encodings whose DUMP payload is the same bytes on both servers (a hashtable's order is
# its hash function's, which differs).
ORDERED_ENCODINGS = {b"int", b"embstr", b"raw", b"listpack", b"intset", b"quicklist"}
_DEBUG_OBJECT_VOLATILE = re.compile(rb"^Value at:\S+ | lru:\d+ lru_seconds_idle:\d+")


def stored_form(call, key: bytes) -> list:
    """How a key is stored, as both servers must agree: its type, encoding, reference count,
    DEBUG OBJECT (less address and clock) and, for the encodings with one layout, its DUMP."""
    encoding = call([b"OBJECT", b"ENCODING", key])
    debug = call([b"DEBUG", b"OBJECT", key])
    form = [call([b"TYPE", key]), encoding, call([b"OBJECT", b"REFCOUNT", key]),
            _DEBUG_OBJECT_VOLATILE.sub(b"", debug) if isinstance(debug, bytes) else debug]
    if encoding in ORDERED_ENCODINGS:
        form.append(call([b"DUMP", key]))
    return [normalize(item, EXACT) for item in form]


class Differential:
    """Owns connections to redis-server; each `run` starts both sides empty and, once its
    replies agree, checks that every key ended up stored the same way (`stored_form`)."""

    def __init__(self, port: int, protocol: int = 2) -> None:
        self.redis = RedisConnection(port)
        self.probe = RedisConnection(port)  # RESP2, db 0: whatever state the run left its connection in
        self.protocol = protocol

    def run(self, commands: list[list[bytes]], compare: dict[bytes, str]) -> None:
        """Raise AssertionError at the first reply that differs."""
        self.redis.call([b"RESET"])  # out of a MULTI or a WATCH the last run left, in db 0, RESP2
        self.redis.call([b"FLUSHALL"])
        self.redis.call([b"HELLO", b"%d" % self.protocol])
        node = make_node(now=int(time.time() * 1000))
        core = CoreClient(node)
        if self.protocol == 3:
            core.call("HELLO", "3")
        transcript = []
        queued: list[list[bytes]] = []  # the commands MULTI queued, to compare EXEC's replies each by its own mode
        for argv in commands:
            node.now = int(time.time() * 1000)
            expected = self.redis.call(argv)
            actual = core.call(*argv)
            transcript.append((argv, expected))
            name = argv[0].lower()
            if name == b"exec" and isinstance(expected, list) and len(expected) == len(queued):
                differs = not isinstance(actual, list) or len(actual) != len(expected) or any(
                    not self._agree(command, e, a, compare) for command, e, a in zip(queued, expected, actual))
            else:
                differs = not self._agree(argv, expected, actual, compare)
            if expected == b"QUEUED":
                queued.append(argv)
            elif name in (b"exec", b"discard"):
                queued = []
            if differs:
                lines = "\n".join(f"  {a!r} -> {e!r}" for a, e in transcript[:-1])
                raise AssertionError(
                    f"reply differs for {argv!r}\n  redis-server: {expected!r}\n  kvcore:       {actual!r}\n"
                    f"after:\n{lines}"
                )
        self._compare_stored(node, transcript)

    def _agree(self, argv: list[bytes], expected, actual, compare: dict) -> bool:
        mode = compare.get(argv[0].lower(), EXACT)
        if isinstance(mode, ByArgv):
            mode = mode.choose(argv)
        if not same(expected, actual, mode):
            return False
        return self.protocol == 2 or mode != EXACT or typed(expected) == typed(actual)

    def _compare_stored(self, node, transcript) -> None:
        """Each key of db 0 without a TTL (one whose expiry could fall between the two reads
        is left out) is stored alike on both sides."""
        core = CoreClient(node)
        node.now = int(time.time() * 1000)
        keys = set(self.probe.call([b"KEYS", b"*"])) | set(core.call("KEYS", "*"))
        for key in sorted(keys):
            if self.probe.call([b"PTTL", key]) >= 0 or core.call("PTTL", key) >= 0:
                continue
            expected, actual = stored_form(self.probe.call, key), stored_form(lambda argv: core.call(*argv), key)
            if expected != actual:
                lines = "\n".join(f"  {a!r} -> {e!r}" for a, e in transcript)
                raise AssertionError(
                    f"{key!r} is stored differently\n  redis-server: {expected!r}\n  kvcore:       {actual!r}\n"
                    f"after:\n{lines}"
                )

    def close(self) -> None:
        self.redis.close()
        self.probe.close()
