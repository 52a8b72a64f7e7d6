"""The event loop around one kvcore Node: sockets, timers, the log file.

Every readable connection's bytes go straight into the node; the first one in
a loop iteration schedules one drain (``call_soon``), which runs after all of
that iteration's reads and carries out every effect the node produced: log
writes first (the node orders them), then replies, then closes. No command
logic lives here.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time

from kvcore.config import Config
from kvcore.effects import AppendLog, Close, Connect, Fsync, RewriteConfig, Send, Shutdown, Snapshot
from kvcore.node import Node, ServerInfo
from net.conffile import rewrite_file
from net.log import Log

WRITE_BUFFER_HIGH = 8 * 1024 * 1024
WRITE_BUFFER_LOW = 1024 * 1024
AOF_INCR_PATH = "appendonly.aof.incr"
HZ_MAX = 500
_time_ns = time.time_ns


def now_ms() -> int:
    return _time_ns() // 1_000_000


class ClientConnection(asyncio.Protocol):
    """One accepted socket: its bytes go to the node, the node's replies come back."""

    __slots__ = ("server", "node", "conn", "transport")

    def __init__(self, server: Server) -> None:
        self.server = server
        self.node = server.node
        self.conn = 0
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(WRITE_BUFFER_HIGH, WRITE_BUFFER_LOW)
        self.server.opened(self)

    def data_received(self, data: bytes) -> None:
        self.node.receive(self.conn, data, _time_ns() // 1_000_000)
        server = self.server
        if not server.drain_pending:
            server.drain_pending = True
            server.loop.call_soon(server.drain)

    def eof_received(self) -> bool:
        # The peer sent its last bytes: answer them before the transport closes.
        if self.server.drain_pending:
            self.server.drain()
        return False

    def connection_lost(self, exc) -> None:
        self.server.lost(self)

    def pause_writing(self) -> None:
        # The client is not reading its replies: stop reading its requests.
        if not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if not self.transport.is_closing():
            self.transport.resume_reading()


class Server:
    """Listens, feeds the node, carries out its effects, ticks its cron."""

    def __init__(self, config: Config, log: Log, info: ServerInfo, rng) -> None:
        self.config = config
        self.log = log
        self.node = Node(config, rng=rng, info=info, now=now_ms())
        self.conns: dict[int, ClientConnection] = {}
        self.next_conn = 1
        self.drain_pending = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.listeners: list[asyncio.base_events.Server] = []
        self.exit_code: asyncio.Future | None = None
        self.aof_fd = -1
        self.tick_handle: asyncio.TimerHandle | None = None
        self.background: set[asyncio.Future] = set()
        self._statm_fd = _open_statm()
        config.listeners.append(self._config_changed)

    # -- running -----------------------------------------------------------
    async def serve(self) -> int:
        """Listen, run until a shutdown is asked for, then stop; the exit code."""
        self.loop = asyncio.get_running_loop()
        self.exit_code = self.loop.create_future()
        if not await self._listen():
            return 1
        for signum in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(signum, self._signalled, signum)
        self.log.notice("Ready to accept connections")
        self._tick()
        code = await self.exit_code
        await self._stop()
        return code

    async def _listen(self) -> bool:
        port = self.config["port"]
        backlog = max(self.config["tcp-backlog"], 1)
        path = self.config["unixsocket"]
        if port:
            for address in self.config["bind"].split():
                optional = address.startswith("-")
                host = _bind_host(address.lstrip("-"))
                try:
                    listener = await self.loop.create_server(
                        self._protocol, host, port, backlog=backlog, reuse_address=True)
                except OSError as exc:
                    self.log.warning(f"Warning: Could not create server TCP listening socket {address}:{port}: "
                                     f"bind: {exc.strerror}")
                    if optional:
                        continue
                    self.log.warning(f"Failed listening on port {port} (TCP), aborting.")
                    return False
                self.listeners.append(listener)
        if path:
            try:
                if os.path.exists(path):
                    os.unlink(path)
                listener = await self.loop.create_unix_server(self._protocol, path, backlog=backlog)
            except OSError as exc:
                self.log.warning(f"Failed opening Unix socket: {exc.strerror}")
                return False
            self.listeners.append(listener)
            self.log.notice(f"The server is now ready to accept connections at {path}")
        if not self.listeners:
            self.log.warning("Configured to not listen anywhere, exiting.")
            return False
        return True

    def _protocol(self) -> ClientConnection:
        return ClientConnection(self)

    def _signalled(self, signum: int) -> None:
        name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
        self.log.warning(f"Received {name} scheduling shutdown...")
        self.request_stop(0)

    def request_stop(self, code: int) -> None:
        if self.exit_code is not None and not self.exit_code.done():
            self.exit_code.set_result(code)

    async def _stop(self) -> None:
        self.log.warning("User requested shutdown...")
        if self.tick_handle is not None:
            self.tick_handle.cancel()
        for listener in self.listeners:
            listener.close()
        self.drain()
        if self.background:
            await asyncio.wait(self.background, timeout=5)
        self._close_aof()
        for client in list(self.conns.values()):
            client.transport.close()
        await asyncio.sleep(0)
        if self.config["unixsocket"]:
            _remove_quietly(self.config["unixsocket"])
        self.log.warning("kvserver is now ready to exit, bye bye...")

    # -- connections -------------------------------------------------------
    def opened(self, client: ClientConnection) -> None:
        conn = self.next_conn
        self.next_conn += 1
        client.conn = conn
        self.conns[conn] = client
        transport = client.transport
        sock = transport.get_extra_info("socket")
        addr = _format_addr(transport.get_extra_info("peername"), sock)
        laddr = _format_addr(transport.get_extra_info("sockname"), sock)
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            _tune_socket(sock, self.config["tcp-keepalive"])
        self.node.open(conn, now_ms(), addr, laddr)
        self.schedule_drain()

    def lost(self, client: ClientConnection) -> None:
        if self.conns.pop(client.conn, None) is not None:
            self.node.closed(client.conn, now_ms())
            self.schedule_drain()

    # -- effects -----------------------------------------------------------
    def schedule_drain(self) -> None:
        if not self.drain_pending:
            self.drain_pending = True
            self.loop.call_soon(self.drain)

    def drain(self) -> None:
        """Carry out every effect the node has; again if a finished job released more."""
        self.drain_pending = False
        node = self.node
        conns = self.conns
        again = True
        while again:
            again = False
            for effect in node.take_effects():
                kind = type(effect)
                if kind is Send:
                    client = conns.get(effect.conn)
                    if client is not None:
                        client.transport.write(effect.data)
                elif kind is Close:
                    client = conns.get(effect.conn)
                    if client is not None:
                        client.transport.close()
                elif self._perform(effect):
                    again = True

    def _perform(self, effect) -> bool:
        """The rarer effects; True when the node may have released more effects."""
        kind = type(effect)
        if kind is AppendLog:
            self._append_log(effect)
            return True
        if kind is Fsync:
            self._background_fsync(effect.job)
            return False
        if kind is Shutdown:
            self.request_stop(effect.exit_code)
            return False
        if kind is RewriteConfig:
            self._rewrite_config(effect)
            return False
        if kind is Snapshot or kind is Connect:
            self.log.warning(f"{kind.__name__} is not supported by this runtime yet")
            self.node.job_done(effect.job, False, now_ms(), "not supported by this runtime yet")
            return True
        self.log.warning(f"Unknown effect {effect!r} ignored")
        return False

    def _append_log(self, effect: AppendLog) -> None:
        try:
            if self.aof_fd < 0:
                self.aof_fd = os.open(AOF_INCR_PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            view = memoryview(effect.data)
            while view:
                written = os.write(self.aof_fd, view)
                view = view[written:]
            if effect.fsync:
                os.fsync(self.aof_fd)
        except OSError as exc:
            self.log.warning(f"Error writing to the AOF file: {exc.strerror}")
            self.node.job_done(effect.job, False, now_ms(), exc.strerror or str(exc))
            return
        self.node.job_done(effect.job, True, now_ms())

    def _rewrite_config(self, effect: RewriteConfig) -> None:
        try:
            rewrite_file(effect.path, effect.text)
        except OSError as exc:
            self.log.warning(f"CONFIG REWRITE failed: {exc.strerror or exc}")
        else:
            self.log.notice("CONFIG REWRITE executed with success.")

    def _background_fsync(self, job: int) -> None:
        fd = self.aof_fd
        future = self.loop.run_in_executor(None, _fsync, fd)
        self.background.add(future)

        def finished(done: asyncio.Future) -> None:
            self.background.discard(done)
            error = done.result()
            self.node.job_done(job, not error, now_ms(), error)
            self.schedule_drain()

        future.add_done_callback(finished)

    def _close_aof(self) -> None:
        if self.aof_fd >= 0:
            error = _fsync(self.aof_fd)
            if error:
                self.log.warning(f"Fail to fsync the AOF file: {error}")
            os.close(self.aof_fd)
            self.aof_fd = -1

    # -- time ------------------------------------------------------------------
    def _tick(self) -> None:
        hz = min(max(self.config["hz"], 1), HZ_MAX)
        self.tick_handle = self.loop.call_later(1 / hz, self._tick)
        self.node.tick(now_ms(), used_memory=self.rss_bytes())
        self.schedule_drain()

    def rss_bytes(self) -> int | None:
        if self._statm_fd < 0:
            return None
        try:
            fields = os.pread(self._statm_fd, 256, 0).split()
            return int(fields[1]) * _PAGE_SIZE
        except (OSError, IndexError, ValueError):
            return None

    def _config_changed(self, name: str, value) -> None:
        if name == "loglevel":
            self.log.set_level(value)
        elif name == "dir":
            try:
                os.chdir(value)
            except OSError as exc:
                self.log.warning(f"Can't chdir to '{value}': {exc.strerror}")


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _open_statm() -> int:
    try:
        return os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return -1


def _fsync(fd: int) -> str:
    if fd < 0:
        return ""
    try:
        os.fsync(fd)
    except OSError as exc:
        return exc.strerror or str(exc)
    return ""


def _bind_host(address: str) -> str:
    """redis.conf's ``*`` and ``::*`` wildcards as socket addresses."""
    if address == "*":
        return "0.0.0.0"
    if address == "::*":
        return "::"
    return address


def _format_addr(name, sock) -> str:
    """``ip:port`` (``[ip6]:port``) as Redis's CLIENT LIST shows it; ``path:0`` for Unix sockets."""
    if isinstance(name, tuple) and len(name) >= 2:
        host, port = name[0], name[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(name, str | bytes):
        text = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
        return f"{text}:0"
    return "?:0"


def _tune_socket(sock, keepalive_s: int) -> None:
    """TCP_NODELAY, and keepalive probes as Redis's anetKeepAlive sets them."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if keepalive_s > 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if hasattr(socket, "TCP_KEEPIDLE"):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, keepalive_s)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(keepalive_s // 3, 1))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    except OSError:
        pass


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
