"""MIGRATE's transfers: DUMP payloads RESTOREd on another server over cached connections.

As Redis 7.0's migrateCommand: the payloads (and each key's remaining TTL)
are taken when MIGRATE runs; they go, with AUTH and a SELECT when the
database differs from the one the connection last selected, in one write;
the client waits for every reply, then its keys that were restored go here
unless COPY (a DEL in the log), and it is answered +OK or with the first
error the target gave ("Target instance replied with error: ...").
A connection is kept per host and port and closed once it has been idle for
SOCKET_TTL_MS (INFO's migrate_cached_sockets counts them); one that fails or
times out is dropped, and the client gets Redis's -IOERR. As Redis's timeout
bounds each socket operation (the connect, each reply awaited), not the
serializing before them, a transfer's clock starts at the first tick after
it was asked for and starts again when the connection is made and when
replies come.

Redis's MIGRATE does its socket I/O synchronously: nothing else runs on the
server until the transfer ends. So while a transfer is in flight every other
client's commands are held (a pause of ALL for `MIGRATION`, `kvcore.pause`):
no command meets a key that has already been restored on the target, nor
writes one whose old value is on its way there (a DEL that ran meanwhile would
be undone by the RESTORE).

Connections are the node's own (`Connect`, ids from `kvcore.replica.LINK_CONNS`
up); the node routes their inputs here (`owns`).
"""

from __future__ import annotations

import hiredis

from kvcore import rdb
from kvcore.aof import encode_command
from kvcore.blocking import HeldReply
from kvcore.effects import Close, Connect, Send
from kvcore.pause import FOREVER
from kvcore.reply import OK, Error

SOCKET_TTL_MS = 10_000  # MIGRATE_SOCKET_CACHE_TTL
MIGRATION = "migration"  # the purpose of the pause that holds other clients while a transfer is in flight
CONNECT_ERROR = "IOERR error or timeout connecting to the client"
READ_ERROR = "IOERR error or timeout reading to target instance"


class Transfer:
    """One MIGRATE waiting for its replies."""

    __slots__ = ("waiter", "db", "keys", "copy", "replies_due", "timeout_ms", "deadline_ms", "selects", "request",
                 "error")

    def __init__(self, waiter: HeldReply, db, keys: list[bytes], copy: bool, request: bytes, replies_due: int,
                 timeout_ms: int, selects: int | None) -> None:
        self.waiter = waiter
        self.db = db
        self.keys = keys  # in the order of their RESTOREs
        self.copy = copy
        self.request = request  # every command, in one write
        self.replies_due = replies_due
        self.timeout_ms = timeout_ms
        self.deadline_ms: int | None = None  # set by the first tick (`Migrations.tick`)
        self.selects = selects  # the database the connection selects now, if it does
        self.error: str | None = None  # the first error the target gave


class Socket:
    """A cached connection to a target."""

    __slots__ = ("conn", "ready", "last_db", "last_use_ms", "reader", "transfer", "replies")

    def __init__(self, conn: int, now: int) -> None:
        self.conn = conn
        self.ready = False
        self.last_db: int | None = None
        self.last_use_ms = now
        self.reader = hiredis.Reader()
        self.transfer: Transfer | None = None
        self.replies: list = []


class Migrations:
    """``node.migrations``: the cached connections and the transfers on them."""

    def __init__(self, node) -> None:
        self.node = node
        self.sockets: dict[tuple[str, int], Socket] = {}
        self.by_conn: dict[int, tuple[str, int]] = {}

    def owns(self, conn: int) -> bool:
        return conn in self.by_conn

    def start(self, client, host: str, port: int, db_index: int, timeout_ms: int, keys: list[bytes], options) -> None:
        """Send ``keys`` (live, in ``client``'s database) to host:port with MIGRATE's ``options``
        (`kvcore.commands.dump.MigrateOptions`); the client waits for the outcome."""
        node = self.node
        socket = self._socket(host, port)
        db = client.db
        commands = [[b"AUTH", *options.auth]] if options.auth else []
        selects = None
        if socket.last_db != db_index:
            commands.append([b"SELECT", b"%d" % db_index])
            selects = db_index
        restore = b"RESTORE-ASKING" if node.cluster is not None else b"RESTORE"  # the target may be importing the slot
        for key in keys:
            expires_at = db.expires.get(key)
            ttl = 0 if expires_at is None else max(expires_at - node.now, 1)
            payload = rdb.dump_payload(db.data[key], node.config)
            commands.append([restore, key, b"%d" % ttl, payload, *([b"REPLACE"] if options.replace else [])])
        request = b"".join(encode_command(argv) for argv in commands)
        socket.transfer = Transfer(HeldReply(client, "migration"), db, keys, options.copy, request, len(commands),
                                   timeout_ms, selects)
        socket.replies = []
        socket.last_use_ms = node.now
        node.pause.start(FOREVER, writes_only=False, purpose=MIGRATION)
        if socket.ready:
            node.emit(Send(socket.conn, request))

    def _socket(self, host: str, port: int) -> Socket:
        socket = self.sockets.get((host, port))
        if socket is None:
            node = self.node
            socket = self.sockets[(host, port)] = Socket(node.new_link_conn(), node.now)
            self.by_conn[socket.conn] = (host, port)
            node.emit(Connect(socket.conn, host, port))
        return socket

    # -- the runtime's reports ----------------------------------------------------------
    def connected(self, conn: int) -> None:
        socket = self.sockets[self.by_conn[conn]]
        socket.ready = True
        if socket.transfer is not None:
            socket.transfer.deadline_ms = self.node.now + socket.transfer.timeout_ms
            self.node.emit(Send(conn, socket.transfer.request))

    def connect_failed(self, conn: int) -> None:
        self._drop(conn, CONNECT_ERROR)

    def closed(self, conn: int) -> None:
        self._drop(conn, READ_ERROR)

    def receive(self, conn: int, data: bytes) -> None:
        socket = self.sockets[self.by_conn[conn]]
        transfer = socket.transfer
        if transfer is None:  # nothing asked: the target is not speaking RESP to us
            self._drop(conn, READ_ERROR)
            return
        socket.reader.feed(data)
        transfer.deadline_ms = self.node.now + transfer.timeout_ms
        while (reply := socket.reader.gets()) is not False:
            socket.replies.append(reply)
        if len(socket.replies) >= transfer.replies_due:
            self._finish(socket)

    def tick(self) -> None:
        """Time out transfers past their deadline; close connections idle past SOCKET_TTL_MS."""
        now = self.node.now
        for socket in list(self.sockets.values()):
            if socket.transfer is not None:
                if socket.transfer.deadline_ms is None:
                    socket.transfer.deadline_ms = now + socket.transfer.timeout_ms
                elif now > socket.transfer.deadline_ms:
                    self._drop(socket.conn, CONNECT_ERROR if not socket.ready else READ_ERROR)
            elif now - socket.last_use_ms > SOCKET_TTL_MS:
                self._drop(socket.conn, None)

    # -- outcomes -------------------------------------------------------------------------
    def _finish(self, socket: Socket) -> None:
        """Every reply is in: as Redis, an AUTH or SELECT refused makes every key fail; the
        first error is the client's answer; the keys restored go here unless COPY."""
        transfer, socket.transfer = socket.transfer, None
        replies, socket.replies = socket.replies, []
        restores = replies[-len(transfer.keys):]
        failed = [reply for reply in replies if isinstance(reply, hiredis.ReplyError)]
        setup_failed = any(isinstance(reply, hiredis.ReplyError) for reply in replies[:len(replies) - len(restores)])
        moved = [] if setup_failed else [key for key, reply in zip(transfer.keys, restores)
                                         if not isinstance(reply, hiredis.ReplyError)]
        node = self.node
        if moved and not transfer.copy:
            transfer.db.drop(moved)  # one DEL in the log
        socket.last_db = None if failed else transfer.selects if transfer.selects is not None else socket.last_db
        socket.last_use_ms = node.now
        transfer.waiter.release(node, Error(f"ERR Target instance replied with error: {failed[0]}") if failed else OK)
        self._unpause()

    def _drop(self, conn: int, error: str | None) -> None:
        address = self.by_conn.pop(conn, None)
        if address is None:
            return
        socket = self.sockets.pop(address)
        self.node.emit(Close(conn))
        if socket.transfer is not None and error is not None:
            socket.transfer.waiter.release(self.node, Error(error))
        self._unpause()

    def _unpause(self) -> None:
        """The other clients run again once no transfer is in flight."""
        if not any(socket.transfer is not None for socket in self.sockets.values()):
            self.node.pause.end(MIGRATION)

