"""Serving clients while a script runs long, as redis-server's processEventsWhileBlocked.

A script runs inside one of the event loop's callbacks, so the loop cannot
run until it returns. Once the script is past busy-reply-threshold, the core
calls `BusyServing.serve` from the script's instruction hook (kvcore.busy):
it polls the sockets itself (the listening ones, and every client's but the
script's caller, whose requests wait as Redis leaves them unread), hands
what it reads to the node, which answers -BUSY to all but a few commands,
and writes the node's replies at once. New connections are accepted on
copies of the listening sockets and handed to the loop when the script ends
(`done`). A SHUTDOWN NOSAVE meanwhile ends the process there and then, and so
does a second SIGINT, as redis-server's "You insist"; a first SIGTERM or SIGINT
is logged and its shutdown made once the script ends.

A connection the loop accepted in the very iteration the script started is not
yet known to the server (the loop tells it on its next turn): it is served
once the script ends.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket

from kvcore.effects import Close, LogMessage, Send, Shutdown
from net.log import LEVELS, WARNING

READ_BYTES = 64 * 1024


class RawConnection:
    """A connection accepted while a script was busy, until the loop adopts it (`AdoptedConnection`)."""

    __slots__ = ("conn", "sock", "transport")

    def __init__(self, conn: int, sock: socket.socket) -> None:
        self.conn = conn
        self.sock = sock
        self.transport = self  # the server closes a client through its transport

    def write(self, data: bytes) -> None:
        try:
            self.sock.setblocking(True)
            self.sock.sendall(data)
            self.sock.setblocking(False)
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()

    abort = close

    def is_closing(self) -> bool:
        return self.sock.fileno() < 0


class BusyServing:
    """The node's ``busy_runtime`` in kvserver."""

    def __init__(self, server) -> None:
        self.server = server
        self.selector: selectors.BaseSelector | None = None
        self.listening: list[socket.socket] = []  # copies of the listening sockets
        self.accepted: dict[int, RawConnection] = {}
        self.polled: dict[int, object] = {}  # conn -> what the selector has for it
        self.signals: list[int] = []  # SIGTERM/SIGINT received while the script ran

    def now(self) -> int:
        from net.server import now_ms

        return now_ms()

    def serve(self) -> None:
        """Read what came, let the node answer it, write the answers."""
        if self.selector is None:
            self._start()
        server = self.server
        if self.signals:
            self._signalled()
        now = self.now()
        for key, _ in self.selector.select(0):
            key.data(key.fileobj, now)
        for effect in server.node.busy_effects():
            kind = type(effect)
            if kind is Send:
                write = server.writers.get(effect.conn)
                if write is not None:
                    write(effect.data)
            elif kind is Close:
                self._close(effect.conn)
            elif kind is LogMessage:
                server.log.write(LEVELS.get(effect.level, WARNING), effect.text)
            elif kind is Shutdown:
                self._exit(effect.exit_code)

    def done(self) -> None:
        """The script ended: the loop takes over again, with the connections accepted meanwhile."""
        if self.selector is None:
            return
        self.selector.close()
        self.selector = None
        self.polled = {}
        for sock in self.listening:
            sock.close()
        self.listening = []
        accepted, self.accepted = self.accepted, {}
        for raw in accepted.values():
            if not raw.is_closing():
                self.server.adopt(raw)
        self.server.watch_signals()  # the loop's handlers again
        signals, self.signals = self.signals, []
        for signum in signals[:1]:  # the shutdown it asked for, now that the loop runs
            self.server.loop.call_soon(self.server.signalled_while_busy, signum)

    # -- polling -------------------------------------------------------------------
    def _start(self) -> None:
        server = self.server
        self.selector = selectors.DefaultSelector()
        for signum in (signal.SIGTERM, signal.SIGINT):  # the loop cannot run its handlers now
            signal.signal(signum, lambda number, _: self.signals.append(number))
        caller = server.node.scripts.busy.caller
        for listener in server.listeners:
            for listening in listener.sockets or ():
                copy = socket.socket(fileno=os.dup(listening.fileno()))
                copy.setblocking(False)
                self.listening.append(copy)
                self.selector.register(copy, selectors.EVENT_READ, self._accept)
        for conn, client in server.conns.items():
            if conn == caller.conn or getattr(client, "reading_paused", False) or client.transport is None:
                continue
            sock = client.transport.get_extra_info("socket")
            if sock is not None and sock.fileno() >= 0 and conn in server.node.clients:
                self.polled[conn] = sock.fileno()
                self.selector.register(sock.fileno(), selectors.EVENT_READ, self._reader(conn))

    def _accept(self, listening: socket.socket, now: int) -> None:
        from net.server import accepted_addresses

        server = self.server
        while True:
            try:
                sock, _ = listening.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            conn = server.new_conn_id()
            raw = self.accepted[conn] = RawConnection(conn, sock)
            server.conns[conn] = raw
            server.writers[conn] = raw.write
            addr, laddr = accepted_addresses(sock, server.config["tcp-keepalive"])
            server.node.open(conn, now, addr, laddr)
            self.polled[conn] = sock
            self.selector.register(sock, selectors.EVENT_READ, self._reader(conn))

    def _reader(self, conn: int):
        def read(fileobj, now: int) -> None:
            fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
            try:
                data = os.read(fd, READ_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:  # the peer left: the node hears of it now (a script may wait for a replica to go)
                self._unpoll(conn)
                server = self.server
                client = server.conns.pop(conn, None)
                server.writers.pop(conn, None)
                self.accepted.pop(conn, None)
                if client is not None:
                    client.transport.close()
                server.node.closed(conn, now)
                return
            self.server.node.receive(conn, data, now)

        return read

    def _unpoll(self, conn: int) -> None:
        fileobj = self.polled.pop(conn, None)
        if fileobj is not None:
            self.selector.unregister(fileobj)

    def _close(self, conn: int) -> None:
        """The node closed a connection: ours goes now, the loop's when it runs again (`Server.lost`)."""
        server = self.server
        self._unpoll(conn)
        raw = self.accepted.pop(conn, None)
        if raw is not None:
            server.conns.pop(conn, None)
            server.writers.pop(conn, None)
            raw.close()
            return
        client = server.conns.get(conn)
        if client is not None:
            client.transport.close()

    def _signalled(self) -> None:
        """A signal while the script runs: a second SIGINT ends the process (no save), as Redis's."""
        log = self.server.log
        if self.signals[-1] == signal.SIGINT and (len(self.signals) > 1 or self.server.signalled):
            log.warning("You insist... exiting now.")
            self._exit(1)
        if len(self.signals) == 1:
            name = "SIGTERM" if self.signals[0] == signal.SIGTERM else "SIGINT"
            log.warning(f"Received {name} scheduling shutdown...")

    def _exit(self, code: int) -> None:
        """SHUTDOWN NOSAVE while the script runs: the process ends now, as redis-server's does."""
        server = self.server
        for sock in self.listening:
            sock.close()
        server.exit_now(code)
