"""Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN...): who waits, and waking them.

A blocking command that finds no data calls `block`: the client gets a
`Blocked` record and is listed, first come first served, under every
(db index, key) it waits on. A command that adds data to a key calls
`signal_key_ready`, and the database signals every key it creates
(Database.added: RENAME, COPY, MOVE, SORT STORE, RESTORE...); after the
command that did it has finished (and been propagated), the node calls
`Blocking.serve_ready`, which offers each ready key to its waiters in
arrival order through their ``resume`` function, as Redis's
handleClientsBlockedOnKeys does; a waiter whose ``resume`` finds nothing
for it (the data ran out, or the key holds another type) waits on.
Served clients then run the requests they sent while blocked.

Deadlines are absolute milliseconds on the node's clock (0: wait forever);
`Blocking.time_out` answers the clients whose deadline has passed.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

from kvcore import errors
from kvcore.reply import NULL_ARRAY, Error

_LLONG_LIMIT = 2**63
FORCED_UNBLOCK = "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"


class Blocked:
    """What a blocked client waits for: its keys, deadline and how to serve it.

    ``resume(client, key)`` tries to serve the client from ``key``; it replies
    and returns True when it did, and returns False to leave it waiting.
    """

    __slots__ = ("db_index", "keys", "deadline_ms", "resume", "timeout_reply", "request")

    def __init__(self, db_index: int, keys: list[bytes], deadline_ms: int, resume, timeout_reply,
                 request: list[bytes] | None = None) -> None:
        self.db_index = db_index
        self.keys = keys
        self.deadline_ms = deadline_ms
        self.resume = resume
        self.timeout_reply = timeout_reply
        self.request = request  # the command that blocked: the slow log shows it once it is done


class Blocking:
    """The node's registry of blocked clients and of keys ready to serve them."""

    def __init__(self, node) -> None:
        self.node = node
        self.waiting: dict[tuple[int, bytes], dict] = {}  # key -> {client: None}, in arrival order
        self.ready: dict[tuple[int, bytes], None] = {}
        self._deadlines: list = []  # heap of (deadline_ms, seq, client, Blocked)
        self._seq = 0
        self._served: deque = deque()
        self._draining = False
        self.request: list[bytes] | None = None  # the argv the node is running for a client, if any

    def block(self, client, keys: list[bytes], deadline_ms: int, resume, timeout_reply=NULL_ARRAY) -> None:
        """Mark ``client`` blocked on ``keys`` (duplicates count once) until served or timed out."""
        unique = list(dict.fromkeys(keys))
        record = Blocked(client.db.index, unique, deadline_ms, resume, timeout_reply, self.request)
        client.blocked = record
        for key in unique:
            self.waiting.setdefault((record.db_index, key), {})[client] = None
        if deadline_ms:
            self._seq += 1
            heapq.heappush(self._deadlines, (deadline_ms, self._seq, client, record))
            if len(self._deadlines) > 64 + 2 * len(self.node.clients):
                self._drop_stale_deadlines()

    def _drop_stale_deadlines(self) -> None:
        """Forget the deadlines of clients served (or gone) before their time."""
        self._deadlines = [entry for entry in self._deadlines if entry[2].blocked is entry[3]]
        heapq.heapify(self._deadlines)

    def signal(self, db_index: int, key: bytes) -> None:
        """Note that data arrived at a key someone may wait on."""
        slot = (db_index, key)
        if slot in self.waiting:
            self.ready[slot] = None

    def serve_ready(self) -> None:
        """Serve every ready key, then let the served clients run their queued requests
        (not while a busy script runs: its writes are served once it ends, as Redis does)."""
        if self.node.scripts.busy is not None:
            return
        while self.ready:
            ready, self.ready = self.ready, {}
            for db_index, key in ready:
                self._serve_key(db_index, key)
        if self._draining:
            return
        self._draining = True
        try:
            while self._served:
                client = self._served.popleft()
                self.node.unblock(client)
                self.serve_ready()
        finally:
            self._draining = False

    def _serve_key(self, db_index: int, key: bytes) -> None:
        waiters = self.waiting.get((db_index, key))
        if not waiters:
            return
        for client in list(waiters):
            record = client.blocked
            if record is None or (db_index, key) not in self.waiting:
                continue
            tracking = self.node.tracking  # client-side caching: the served client is the running one
            served = record.resume(client, key) if tracking is None else tracking.serve(record.resume, client, key)
            if self.node.expiry_block is not None:  # a DEL of the lookup goes with what the served command wrote
                self.node.close_expiry_block()
            if served:
                self.release(client)
                self._done(client, record)
                self._served.append(client)

    def time_out(self, now_ms: int) -> None:
        """Answer (with their timeout reply) the clients whose deadline has passed."""
        heap = self._deadlines
        while heap and heap[0][0] < now_ms:
            _, _, client, record = heapq.heappop(heap)
            if client.blocked is record and self.node.clients.get(client.conn) is client:
                self.wake(client, record.timeout_reply)

    def wake(self, client, reply) -> None:
        """Unblock a client with a given reply (timeout, CLIENT UNBLOCK) and run its queue."""
        self.release(client)
        self._done(client, client.blocked, reply)
        client.reply(reply)
        self.node.unblock(client)
        if self.ready:
            self.serve_ready()

    def _done(self, client, record: Blocked, reply=None) -> None:
        """A blocking command is done, as Redis's updateStatsOnUnblock counts it: an error
        ending it (CLIENT UNBLOCK ... ERROR) in errorstats and its failed_calls, and the
        slow log's entry, of the command as sent (BLPOP, not the LPOP it propagates)."""
        if record is None or not record.request:
            return
        # imported here: the dispatcher imports the command families, which import this module
        from kvcore.dispatch import count_error, lookup

        cmd = lookup(self.node.table, record.request)
        if type(cmd) is Error:
            return
        if type(reply) is Error:
            count_error(self.node, reply)
            cmd.failed_calls += 1
        hook = self.node.slowlog_hook
        if hook is not None:
            hook(client, cmd, record.request)

    def forget(self, client) -> None:
        """A blocked client disconnected: drop every trace of its wait."""
        self.release(client)
        client.blocked = None

    def disconnect_all(self) -> None:
        """A master becomes a replica: every client in a blocking command (on keys, or WAIT) is
        refused and closed, as Redis's disconnectAllBlockedClients: its wait would otherwise be
        served by writes the new master streams. A client held by CLIENT PAUSE is not."""
        node = self.node
        for client in list(node.clients.values()):
            if type(client.blocked) is Blocked:
                node.close_after_reply(client)
                self.wake(client, Error(FORCED_UNBLOCK))

    def release(self, client) -> None:
        """Take a client off every key it waits on (it stays marked blocked)."""
        record = client.blocked
        if record is None:
            return
        for key in record.keys:
            slot = (record.db_index, key)
            waiters = self.waiting.get(slot)
            if waiters is not None:
                waiters.pop(client, None)
                if not waiters:
                    del self.waiting[slot]
                    self.ready.pop(slot, None)


def block(client, keys: list[bytes], deadline_ms: int, resume, timeout_reply=NULL_ARRAY) -> None:
    """Block ``client`` on ``keys`` until ``resume`` serves it or the deadline passes."""
    client.node.blocking.block(client, keys, deadline_ms, resume, timeout_reply)


def signal_key_ready(db, key: bytes) -> None:
    """Data was added at ``key``: clients blocked on it may be served after this command."""
    blocking = db.node.blocking
    if blocking.waiting:
        blocking.signal(db.index, key)


def may_block(client, argv: list[bytes]) -> bool:
    """Whether a blocking command may block: only when it is a client's own request.

    A command run by EXEC (or a script) has argv other than the request the
    node is running, and must answer at once as if its timeout had passed.
    """
    return client.multi is None and client.node.blocking.request is argv


def parse_timeout(client, arg: bytes) -> int:
    """A timeout in seconds as Redis reads it; the absolute deadline in ms, 0 for never.

    Like getTimeoutFromObjectOrReply: strtold, times 1000 in long double,
    rounded up (ceill) to a long long, where an overflow comes out negative.
    """
    from kvcore.commands.strings import parse_long_double, round_to_long_double

    seconds = parse_long_double(arg, errors.TIMEOUT_NOT_FLOAT)
    if isinstance(seconds, float):  # +-inf
        raise Error(errors.TIMEOUT_NEGATIVE)
    millis = math.ceil(round_to_long_double(seconds * 1000))
    if millis < 0 or millis >= _LLONG_LIMIT:
        raise Error(errors.TIMEOUT_NEGATIVE)
    return client.node.now + millis if millis else 0


class JobWait(Blocked):
    """A client waiting for a job's outcome (`HeldReply`): blocked here, though Redis runs the
    job in its own thread of control (SAVE) and blocks nobody."""

    __slots__ = ()


class HeldReply:
    """A client whose reply waits for a job the runtime carries out (SAVE, DEBUG RELOAD, DEBUG LOADAOF).

    The client is blocked meanwhile, so its later requests wait too; CLIENT
    UNBLOCK or a disconnection ends the wait, and the reply then goes nowhere.
    """

    __slots__ = ("client", "record")

    def __init__(self, client, what: str) -> None:
        client.blocked = JobWait(client.db.index, [], 0, None, Error(f"ERR the {what} was not finished"))
        self.client, self.record = client, client.blocked

    def live(self, node) -> bool:
        """Whether the client is still connected and still waiting for this job."""
        client = self.client
        return node.clients.get(client.conn) is client and client.blocked is self.record

    def release(self, node, reply) -> None:
        """Answer the client (if it still waits) and run what it sent meanwhile."""
        if self.live(node):
            self.client.reply(reply)
            node.unblock(self.client)
