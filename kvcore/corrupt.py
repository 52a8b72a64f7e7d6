"""Values RESTORE or a load took in unsanitized whose content does not decode.

With ``sanitize-dump-payload no`` redis-server checks only a payload's
headers (a listpack's size and terminator, a stream node's first entry); a
blob whose entries are broken is kept, and the first command that reads it
fails an assertion that ends the server. kvsim keeps such a value as the
payload it came in: TYPE, EXISTS, DEL, RENAME, DUMP and a rewrite see a value
of its type, and a command that needs its content ends the server with
Redis's assertion report rather than answering from a guess. Every typed
lookup refuses a `CorruptValue` as another type, so the one place that tells
the two apart is the WRONGTYPE path (`touched`: a command of the value's
family reads it, any other meets another type), which costs nothing while no
error happens; code that reaches into the value any other way (SORT, DEBUG
DIGEST) finds every attribute of its content raising `Fatal`.

A value that decodes forward but not backward (a stream entry's element
count, a listpack backlen) is kept decoded, as Redis reads it forward; a
backward read raises `Fatal`.
"""

from __future__ import annotations

from kvcore.allocation import ROBJ_BYTES, allocation
from kvcore.effects import SIGABRT, Crash
from kvcore.reply import Error

FOOTER_SIZE = 10  # a DUMP payload ends with the RDB version (2 bytes) and a CRC64 (8)


class CorruptValue:
    """The value of a ``payload`` (as DUMP made it) of type ``TYPE``, kept undecoded;
    ``crash_on_read``: how the server dies when a command reads it; ``crash_reading_back``: a
    stream's when XREAD does, walking back from its end first (streamLastValidID), if that fails."""

    __slots__ = ("TYPE", "payload", "_encoding", "crash_on_read", "crash_reading_back")

    def __init__(self, type_name: str, encoding: str, payload: bytes, crash_on_read: Crash,
                 crash_reading_back: Crash | None = None) -> None:
        self.TYPE = type_name
        self._encoding = encoding
        self.payload = payload
        self.crash_on_read = crash_on_read
        self.crash_reading_back = crash_reading_back

    def crash_of(self, command: str) -> Crash:
        """How the server dies when ``command`` reads this value."""
        if command == "xread" and self.crash_reading_back is not None:
            return self.crash_reading_back
        return self.crash_on_read

    @property
    def kind(self) -> int:
        return self.payload[0]

    @property
    def body(self) -> bytes:
        """The RDB encoding of the value after its type byte, as the payload holds it."""
        return self.payload[1:-FOOTER_SIZE]

    def encoding(self, config) -> str:
        return self._encoding

    def weight(self) -> int:
        return len(self.payload)

    def copy(self) -> CorruptValue:
        return self  # never changed in place: a command that would change it ends the server

    def memory_usage(self) -> int:
        return ROBJ_BYTES + allocation(len(self.payload))

    # Anything else is its content: code that reaches for it (SORT, DEBUG DIGEST...) is a read.
    def __getattr__(self, name: str):
        raise Fatal(self.crash_on_read)

    def __iter__(self):
        raise Fatal(self.crash_on_read)

    def __len__(self) -> int:
        raise Fatal(self.crash_on_read)


def panic(reason: str, *details: str) -> Crash:
    """A serverPanic with ``reason`` (``details`` logged first), ending the server."""
    return Crash(SIGABRT, reason, details)


def assertion_failed(expression: str) -> Crash:
    """The report of a serverAssert that fails (as `_serverAssert` logs it), ending the server."""
    return Crash(SIGABRT, details=("=== ASSERTION FAILED ===", f"==> '{expression}' is not true"))


_READ_BY = {"list": "list", "hash": "hash", "zset": ("sorted-set", "geo"), "stream": "stream"}  # command groups


def touched(db, argv: list[bytes], group: str) -> CorruptValue | None:
    """The first `CorruptValue` in ``db`` at a key the arguments of a command of ``group`` (its
    family) name, that such a command reads; to any other it is a value of another type."""
    data = db.data
    for arg in argv[1:]:
        value = data.get(arg)
        if type(value) is CorruptValue and group in _READ_BY[value.TYPE]:
            return value
    return None


class Fatal(Error):
    """Raised by a handler that reads what redis-server cannot: the dispatcher ends the server
    with ``crash`` instead of replying."""

    def __init__(self, crash: Crash) -> None:
        super().__init__("ERR server crashed")
        self.crash = crash
