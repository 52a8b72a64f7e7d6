"""One connection's protocol state, as the core sees it."""

from __future__ import annotations

import enum

from kvcore import client_memory, replybuf
from kvcore.output_limits import REPLY_BLOCK, counted
from kvcore.protocol import Limits, RequestReader
from kvcore.resp import encode


class ReplyMode(enum.Enum):
    ON = "on"
    OFF = "off"
    SKIP = "skip"
    REPLICA = "replica"  # a replica's connection: anything answering it ends it (Node.replica_replied)


_REPLY_ON = ReplyMode.ON  # a module global: enum member access through the class is slow
_REPLY_REPLICA = ReplyMode.REPLICA
_LOCAL_PREFIXES = ("127.", "::1", "[::1]", "/")  # loopback addresses, and unix sockets' paths


class Client:
    """Selected db, RESP version, MULTI queue, subscriptions, output buffer."""

    __slots__ = (
        "conn", "id", "node", "db", "resp3", "name", "lib_name", "lib_ver", "addr", "laddr",
        "reader", "limits", "out", "reply_mode", "skip_next", "user", "closing", "propagate_as",
        "created_ms", "last_ms", "multi", "multi_error", "watched", "watch_dirty",
        "channels", "patterns", "shard_channels", "monitor", "no_evict", "no_touch", "last_command",
        "blocked", "pending", "flags_extra", "tracking", "obuf", "obuf_soft_since", "unrestricted",
        "ldb_mode", "ldb", "qbuf_alloc", "qbuf_peak", "rbuf_size", "rbuf_peak", "rbuf_reset_ms",
        "asking", "read_from_replica",
    )

    def __init__(self, conn: int, client_id: int, node, addr: str, laddr: str, limits: Limits) -> None:
        self.conn = conn
        self.id = client_id
        self.node = node
        self.db = node.dbs[0]
        self.resp3 = False
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.addr = addr
        self.laddr = laddr
        self.reader = RequestReader(limits)
        self.qbuf_alloc = 0  # what Redis's query buffer would have allocated (kvcore.querybuf)
        self.qbuf_peak = 0
        self.rbuf_size = self.rbuf_peak = replybuf.CHUNK  # Redis's reply buffer (kvcore.replybuf)
        self.rbuf_reset_ms = node.now // 1000
        self.limits = self.reader.limits  # authentication state and request limits
        self.out: list[bytes] = []
        self.reply_mode = ReplyMode.ON
        self.skip_next = False
        self.propagate_as: list[list[bytes]] | None = None
        self.user = node.acl.default  # kvcore.acl.User
        self.unrestricted = False  # authenticated as a user who may run anything (see refresh_access)
        self.refresh_access()
        self.closing = False
        self.created_ms = node.now
        self.last_ms = node.now
        self.multi: list | None = None
        self.multi_error = False
        self.watched: list[tuple[int, bytes, bool]] = []  # (db, key, expired at WATCH)
        self.watch_dirty = False
        self.channels: dict[bytes, None] = {}
        self.patterns: dict[bytes, None] = {}
        self.shard_channels: dict[bytes, None] = {}
        self.monitor = False
        self.no_evict = False
        self.no_touch = False
        self.asking = False  # cluster: ASKING was the command before
        self.read_from_replica = False  # cluster: READONLY (a replica serves its master's slots' reads)
        self.last_command = "NULL"
        self.blocked = None
        self.pending: list[list[bytes]] = []
        self.flags_extra = ""
        self.tracking = None  # kvcore.tracking.TrackingState while CLIENT TRACKING is on
        self.obuf = 0  # output the runtime holds unsent, as it last reported (Node.output_backlog)
        self.obuf_soft_since: int | None = None  # second the soft output limit was first reached
        self.ldb_mode: str | None = None  # SCRIPT DEBUG: "yes" (forked) or "sync" (kvcore.ldb)
        self.ldb = None  # the debugging session its requests go to, while one lasts

    def reply(self, value) -> None:
        """Queue a reply, honouring CLIENT REPLY OFF/SKIP."""
        if self.reply_mode is _REPLY_ON:
            out = self.out
            if not out:
                self.node.clients_with_output.append(self)
            out.append(encode(value, self.resp3))
        elif self.reply_mode is _REPLY_REPLICA:
            self.node.replica_replied(self, value)

    def push(self, value) -> None:
        """Queue an out-of-band message (pub/sub, MONITOR): never suppressed."""
        out = self.out
        if not out:
            self.node.clients_with_output.append(self)
        out.append(encode(value, self.resp3))

    @property
    def authenticated(self) -> bool:
        return self.limits.authenticated

    @authenticated.setter
    def authenticated(self, value: bool) -> None:
        self.limits.authenticated = value
        self.refresh_access()

    def refresh_access(self) -> None:
        """Whether the dispatcher may skip the ACL check: after AUTH, RESET, or a change of the user."""
        self.unrestricted = self.limits.authenticated and self.user.unrestricted

    @property
    def subscriptions(self) -> int:
        return len(self.channels) + len(self.patterns) + len(self.shard_channels)

    @property
    def is_local(self) -> bool:
        """Connected over the loopback interface or a unix socket (Redis's connIsLocal)."""
        return not self.addr or self.addr.startswith(_LOCAL_PREFIXES)

    @property
    def is_replica_link(self) -> bool:
        """The connection of one of this node's replicas (not a MONITOR): replication's own."""
        return "S" in self.flags_extra and not self.monitor

    def flags(self) -> str:
        text = ""
        if self.monitor:
            text += "O"
        elif "S" in self.flags_extra:  # a replica (kvcore.replication), or the master ("M")
            text += "S"
        if "M" in self.flags_extra:
            text += "M"
        if self.subscriptions:
            text += "P"
        if self.multi is not None:
            text += "x"
        if self.blocked is not None:
            text += "b"
        if self.tracking is not None:
            text += "t" + ("R" if self.tracking.broken else "") + ("B" if self.tracking.bcast else "")
        if self.closing:
            text += "c"
        if self.no_evict:
            text += "e"
        if self.no_touch:
            text += "T"
        return text or "N"

    def info_line(self, running: list[bytes] | None = None) -> str:
        """The CLIENT LIST / CLIENT INFO line for this connection.

        ``running`` is the request this client is executing (the one that
        asked for the line): Redis still has it in the query buffer, so
        ``qbuf`` counts it, as its multibulk encoding, with the unparsed bytes.
        """
        now = self.node.now
        omem = counted(self.obuf)
        # the running client's buffer still holds its request and everything after it, unparsed;
        # another's holds what its next request has not yet had parsed into arguments
        qbuf = self.reader.buffered() + request_size(running) if running else client_memory.unparsed(self)
        return (
            f"id={self.id} addr={self.addr} laddr={self.laddr} fd={self.conn} "
            f"name={self.name.decode('utf-8', 'replace')} age={(now - self.created_ms) // 1000} "
            f"idle={(now - self.last_ms) // 1000} flags={self.flags()} db={self.db.index} "
            f"sub={len(self.channels)} psub={len(self.patterns)} ssub={len(self.shard_channels)} "
            f"multi={len(self.multi) if self.multi is not None else -1} qbuf={qbuf} "
            f"qbuf-free={max(self.qbuf_alloc - qbuf, 0)} argv-mem={client_memory.argv_shown(self, running)} "
            f"multi-mem={client_memory.multi_queued(self)} rbs={self.rbuf_size} rbp={self.rbuf_peak} obl=0 "
            f"oll={omem // REPLY_BLOCK} omem={omem} tot-mem={client_memory.usage(self, running)} "
            f"events=r{'w' if self.obuf else ''} "
            f"cmd={self.last_command} user={self.user.name} "
            f"redir={self.tracking.redirect if self.tracking is not None else -1} "
            f"resp={3 if self.resp3 else 2}"
        )


def request_size(argv: list[bytes]) -> int:
    """The bytes of ``argv`` sent as a RESP multibulk request."""
    return len(b"*%d\r\n" % len(argv)) + sum(len(b"$%d\r\n" % len(arg)) + len(arg) + 2 for arg in argv)
