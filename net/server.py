"""The event loop around one kvcore Node: sockets, timers, the log file.

Every readable connection's bytes go straight into the node; the first one in
a loop iteration schedules one drain (``call_soon``), which runs after all of
that iteration's reads and carries out every effect the node produced: log
writes first (the node orders them), then replies, then closes. No command
logic lives here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
import traceback

from kvcore.cluster_bus import BUS_CONNS
from kvcore.config import Config
from kvcore.effects import (
    AppendLog,
    CancelJob,
    Close,
    Connect,
    Crash,
    Fsync,
    Listen,
    LogMessage,
    Pause,
    ReadFiles,
    RewriteConfig,
    Send,
    SendImage,
    Shutdown,
    StepLoading,
    WriteFiles,
)
from kvcore.node import Node, ServerInfo
from kvcore.rdb import RdbError
from net import child, disk, oom, proctitle
from net.busy import BusyServing
from net.conffile import VERSION, rewrite_file
from net.listen import open_listeners
from net.log import LEVELS, WARNING, Log
from net.logfile import LogFile
from net.persistence import log_loaded, log_rdb_error, read_or_none
from net.sync_watch import SyncWatch
from net.watchdog import Watchdog

READ_PAUSE_BYTES = 64 * 1024 * 1024  # unsent output past which a client's requests are not read (Redis never stops: a guard against a runaway)
BACKLOG_HIGH = 64 * 1024  # unsent output past which the node hears of it (Node.output_backlog)...
BACKLOG_LOW = 16 * 1024  # ...until it is back under this
HZ_MAX = 500
BACKGROUND_WAIT_S = 120  # at shutdown, for background disk jobs (a snapshot may be large)
LOG_GATHER_TURNS = 2  # appendfsync always: loop turns a log job may wait for more requests (`Server._log_turn`)
_time_ns = time.time_ns


def now_ms() -> int:
    return _time_ns() // 1_000_000


class ClientConnection(asyncio.Protocol):
    """One accepted socket: its bytes go to the node, the node's replies come back."""

    __slots__ = ("server", "node", "conn", "transport", "reading_paused")

    def __init__(self, server: Server) -> None:
        self.server = server
        self.node = server.node
        self.conn = 0
        self.transport = None
        self.reading_paused = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(BACKLOG_HIGH, BACKLOG_LOW)
        self.server.opened(self)

    def data_received(self, data: bytes) -> None:
        server = self.server
        if server.drain_pending:
            now = server.now  # read by the first connection of this loop iteration
        else:
            server.now = now = _time_ns() // 1_000_000
            server.drain_pending = True
            server.loop.call_soon(server.drain)
        server.inputs += 1
        try:
            self.node.receive(self.conn, data, now)
        except Exception:  # a bug in the core: drop this client, keep serving the others
            server.log.warning(f"Closing a client after an internal error:\n{traceback.format_exc()}")
            self.transport.abort()

    def eof_received(self) -> bool:
        # The peer sent its last bytes: answer them before the transport closes.
        if self.server.drain_pending:
            self.server.drain()
        return False

    def connection_lost(self, exc) -> None:
        self.server.lost(self)

    def pause_writing(self) -> None:
        # The client is slow to read its replies: the node hears how far behind it is
        # after each write to it and at each tick, until `resume_writing`.
        self.server.backlogged[self.conn] = self

    def resume_writing(self) -> None:
        self.server.backlogged.pop(self.conn, None)
        self.node.output_backlog(self.conn, 0, now_ms())
        if self.reading_paused and not self.transport.is_closing():
            self.reading_paused = False
            self.transport.resume_reading()

    def report_backlog(self) -> None:
        """Tell the node what is still unsent; past READ_PAUSE_BYTES stop reading requests."""
        size = self.transport.get_write_buffer_size()
        self.node.output_backlog(self.conn, size, now_ms())
        if size > READ_PAUSE_BYTES and not self.reading_paused and not self.transport.is_closing():
            self.reading_paused = True
            self.transport.pause_reading()


class KnownConnection(ClientConnection):
    """A connection whose id was chosen before the loop made its transport; `joined` says what then."""

    __slots__ = ()

    def __init__(self, server: Server, conn: int) -> None:
        super().__init__(server)
        self.conn = conn

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(BACKLOG_HIGH, BACKLOG_LOW)
        self.joined()

    def joined(self) -> None:
        raise NotImplementedError


class AdoptedConnection(KnownConnection):
    """A connection accepted while a script was busy (net.busy), taken over by the loop: the node
    knows it already."""

    __slots__ = ()

    def joined(self) -> None:
        server = self.server
        if self.conn in server.conns:
            server.conns[self.conn] = self
            server.writers[self.conn] = self.transport.write
        else:  # the node closed it meanwhile
            self.transport.close()


class OutgoingConnection(KnownConnection):
    """A connection the node opened (`Connect`: a replica's link to its master), under the id it chose."""

    __slots__ = ()

    def joined(self) -> None:
        self.server.connected(self)

    def data_received(self, data: bytes) -> None:
        link = self.node.master_link
        keys_before = link.payload_keys_read if link is not None else 0
        super().data_received(data)
        if self.reading_paused or self.transport.is_closing():
            return
        delay_us = self.server.config["key-load-delay"]
        keys = link.payload_keys_read - keys_before if link is not None else 0
        if delay_us > 0 and keys > 0:
            # A replica loading its master's payload as it comes (repl-diskless-load) under the
            # debugging option key-load-delay: redis-server sleeps so long a key while it parses,
            # reading the socket no faster; here the socket is not read for the keys' delay, so
            # that its master's sending child is held up as redis-server's is.
            self.reading_paused = True
            self.transport.pause_reading()
            self.server.loop.call_later(keys * delay_us / 1_000_000, self._read_again)

    def _read_again(self) -> None:
        if self.reading_paused and not self.transport.is_closing():
            self.reading_paused = False
            self.transport.resume_reading()

    def eof_received(self) -> bool:
        # The peer (a master) ended the link: the node hears it now, in the order the loop read
        # it, not after the loop's deferred connection_lost (a replica must not answer a request
        # read in the same pass as still linked).
        super().eof_received()
        self.server.lost(self)
        return False


class BusConnection(ClientConnection):
    """A cluster node connected to this one's cluster bus port: its messages go to the node's bus
    (`kvcore.cluster_bus`), under an id from `BUS_CONNS`."""

    __slots__ = ()

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(BACKLOG_HIGH, BACKLOG_LOW)
        self.server.opened_bus(self)


class Server:
    """Listens, feeds the node, carries out its effects, ticks its cron."""

    def __init__(self, config: Config, log: Log, info: ServerInfo, rng) -> None:
        self.config = config
        self.log = log
        self.node = Node(config, rng=rng, info=info, now=now_ms())
        self.node.busy_runtime = BusyServing(self)
        self.conns: dict[int, ClientConnection] = {}
        self.writers: dict[int, object] = {}  # conn -> its transport's write
        self.backlogged: dict[int, ClientConnection] = {}  # conns with output unsent past BACKLOG_HIGH
        self.next_conn = 1
        self.drain_pending = False
        self.now = now_ms()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.listeners: list[asyncio.base_events.Server] = []
        self.exit_code: asyncio.Future | None = None
        self.log_file = LogFile()
        self.oom = oom.OomScore()
        self.inputs = 0  # data_received calls so far: tells whether more requests came in (`_log_turn`)
        self._log_due = False  # the next drain may start a log job (see `_log_turn`)
        self._log_turn_pending = False
        self._log_turns = 0
        self._inputs_seen = 0  # self.inputs when the log job last put off its start
        self.tick_handle: asyncio.TimerHandle | None = None
        self.background: set[asyncio.Future] = set()
        self.connecting: set[asyncio.Task] = set()  # outgoing connections under way (`Connect`)
        self.children: dict[int, tuple[int, str, tuple]] = {}  # job -> (pid, kind, steps) of the child writing
        self.sync_watch = SyncWatch()  # whether the replicas of the children sending full syncs take them
        self.watchdog = Watchdog(self.log)
        self.signalled = False
        self._port, self._bind = config["port"], config["bind"]  # where the server listens (`_listen_again`)
        self._statm_fd = _open_statm()
        config.listeners.append(self._config_changed)
        self.adjust_oom_score()  # at start, before the port is open (Redis: before loading)

    # -- running -----------------------------------------------------------
    async def serve(self, sockets: list[socket.socket], early_signals: list[int],
                    bus_sockets: list[socket.socket] = ()) -> int:
        """Serve on the listening ``sockets`` (`net.listen`) until a shutdown is asked for, then stop; the exit code.

        ``early_signals``: SIGTERM/SIGINT that arrived before the loop ran (during the load): handled now.
        """
        self.loop = asyncio.get_running_loop()
        self.exit_code = self.loop.create_future()
        self.loop.set_exception_handler(self._loop_error)
        self.watch_signals()  # before listening: a client may signal once it connects
        self.watchdog.configure(self.config["watchdog-period"], self._hz())
        self.loop.add_signal_handler(signal.SIGABRT, self.crash, signal.SIGABRT)
        for signum in early_signals:
            self._signalled(signum)
        await self._listen(sockets)
        for sock in bus_sockets:  # cluster-enabled: the cluster bus port
            self.listeners.append(await self.loop.create_server(lambda: BusConnection(self), sock=sock))
        if self.node.loading_file is not None and not await self._load_snapshot():
            self.request_stop(1)
        if not self.exit_code.done():  # else a signal ended the load
            self.log.notice("Ready to accept connections")
            self._tick()
        code = await self.exit_code
        await self._stop()
        return code

    async def _load_snapshot(self) -> bool:
        """Load the snapshot a step at a time, serving clients between steps (`kvcore.loading`);
        False if the file turned out corrupt. A signal meanwhile ends the load, and the server."""
        started = time.perf_counter()
        try:
            loading = await self._step_loading()
        except RdbError as exc:
            log_rdb_error(self.log, exc)
            return False
        if loading.done:
            log_loaded(self.node, self.log, loading.result, time.perf_counter() - started)
        return True

    async def _step_loading(self):
        """Step ``node.loading_file`` until it is done or a signal stops the server, sleeping
        ``key-load-delay`` microseconds a key as redis-server's debugging option does and giving
        the loop a turn after each step (`StepLoading`)."""
        loading = self.node.loading_file
        while not loading.done and not self.exit_code.done():
            keys = loading.step(now_ms())
            delay_us = self.config["key-load-delay"]
            if delay_us > 0 and keys:
                time.sleep(keys * delay_us / 1_000_000)
            self.schedule_drain()
            await asyncio.sleep(0)  # one turn of the loop: clients are served
        return loading

    async def _listen(self, sockets: list[socket.socket]) -> None:
        for sock in sockets:
            if sock.family == socket.AF_UNIX:
                listener = await self.loop.create_unix_server(self._protocol, sock=sock)
            else:
                listener = await self.loop.create_server(self._protocol, sock=sock)
            self.listeners.append(listener)

    async def _listen_again(self, effect: Listen) -> None:
        """CONFIG SET port/bind: listen as asked, then stop listening where the server did (its
        unix socket stays). When the addresses overlap the old ones on the same port, the old
        sockets must go first; if the new ones still cannot be had, the old ones come back."""
        tcp = [listener for listener in self.listeners if listener.sockets and
               listener.sockets[0].family in (socket.AF_INET, socket.AF_INET6)]
        backlog = self.config["tcp-backlog"]
        sockets = open_listeners(effect.port, effect.bind, "", backlog, self.log, required=False)
        if sockets is None and tcp and effect.port == self._port:
            await self._close_listeners(tcp)
            tcp = []
            sockets = open_listeners(effect.port, effect.bind, "", backlog, self.log, required=False)
            if sockets is None:  # back to where it was
                await self._listen(open_listeners(self._port, self._bind, "", backlog, self.log, required=False) or [])
        if sockets is not None:
            await self._close_listeners(tcp)
            await self._listen(sockets)
            self._port, self._bind = effect.port, effect.bind
        self.node.job_done(effect.job, sockets is not None, now_ms(), "" if sockets is not None else "bind")
        self.schedule_drain()

    async def _close_listeners(self, listeners: list) -> None:
        for listener in listeners:
            listener.close()
            self.listeners.remove(listener)
        await asyncio.sleep(0)  # the loop lets their sockets go

    def _loop_error(self, loop, context: dict) -> None:
        """Errors the event loop catches go to our log, never to stderr."""
        error = context.get("exception")
        detail = "".join(traceback.format_exception(error)) if error is not None else ""
        self.log.warning(f"Event loop error: {context.get('message', '')}\n{detail}".rstrip())

    def _protocol(self) -> ClientConnection:
        return ClientConnection(self)

    def watch_signals(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(signum, self._signalled, signum)

    def signalled_while_busy(self, signum: int) -> None:
        """A signal a busy script's runtime heard (net.busy), already logged: its shutdown, as `_signalled`'s."""
        if not self.signalled:
            self.signalled = True
            self.log.warning("User requested shutdown...")
            self.node.snapshots.shutdown_on_signal(now_ms())
            self.schedule_drain()

    def _signalled(self, signum: int) -> None:
        """SIGTERM/SIGINT: the core decides (a final save first if one is due), as SHUTDOWN."""
        name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
        if self.node.shutting_down and signum == signal.SIGINT:
            self.log.warning("You insist... exiting now.")
            self.request_stop(1)
            return
        self.signalled = True
        if self.node.loading_file is not None:  # the core saves nothing then: the data are not all in
            self.log.warning("Received shutdown signal during loading, scheduling shutdown.")
        else:
            self.log.warning(f"Received {name} scheduling shutdown...")
        self.log.warning("User requested shutdown...")
        self.node.snapshots.shutdown_on_signal(now_ms())  # ends with a Shutdown effect, or an error logged
        self.schedule_drain()

    def crash(self, signum: int, reason: str = "", details: tuple[str, ...] = ()) -> None:
        """Die as a crashed redis-server dies: the bug report in the log, then killed by ``signum``
        (DEBUG SEGFAULT, or a SIGABRT from outside). A panic (``reason``) or a failed assertion
        (``details``) is reported by the server itself, not by its signal handler, and exits with
        status 1 under use-exit-on-panic."""
        log = self.log
        panic = bool(reason or details)
        if panic:
            log.warning("------------------------------------------------")
        if reason:
            log.warning("!!! Software Failure. Press left mouse button to continue")
            log.warning(f"Guru Meditation: {reason}")
        for line in details:
            log.warning(line)
        log.raw(WARNING, "\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===")
        if not panic:
            log.warning(f"kvserver {VERSION} crashed by signal: {signum}, si_code: 0")
        log.raw(WARNING, "\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n")
        if panic and self.node.config["use-exit-on-panic"]:
            os._exit(1)
        if self.loop is not None:
            self.loop.remove_signal_handler(signum)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    def request_stop(self, code: int) -> None:
        if self.exit_code is not None and not self.exit_code.done():
            self.exit_code.set_result(code)

    async def _stop(self) -> None:
        if not self.signalled:
            self.log.warning("User requested shutdown...")
        if self.tick_handle is not None:
            self.tick_handle.cancel()
        for pid, _, steps in self.children.values():  # the core no longer needs what they write
            child.stop(pid)
            child.remove_written(pid, steps)  # before the port closes, as Redis removes a killed child's file
        for listener in self.listeners:
            listener.close()
        for task in list(self.connecting):
            task.cancel()
        self.drain()
        if self.background:
            self.log.warning("Waiting for background disk jobs to finish...")
            await asyncio.wait(self.background, timeout=BACKGROUND_WAIT_S)
        self._close_aof()
        closing = list(self.conns.values())
        self.conns.clear()  # the node hears of no more connections: a replica does not reconnect now
        self.writers.clear()
        for client in closing:
            client.transport.close()
        await asyncio.sleep(0)
        if self.config["unixsocket"]:
            disk.remove_quietly(self.config["unixsocket"])
        self.log.warning("kvserver is now ready to exit, bye bye...")

    # -- connections -------------------------------------------------------
    def opened(self, client: ClientConnection) -> None:
        conn = client.conn = self.new_conn_id()
        self.conns[conn] = client
        transport = client.transport
        self.writers[conn] = transport.write
        sock = transport.get_extra_info("socket")
        if sock is None:
            addr = laddr = "?:0"
        else:
            addr, laddr = accepted_addresses(sock, self.config["tcp-keepalive"])
        self.node.open(conn, now_ms(), addr, laddr)
        self.schedule_drain()

    def opened_bus(self, link: BusConnection) -> None:
        conn = link.conn = BUS_CONNS + self.next_conn
        self.next_conn += 1
        self.conns[conn] = link
        self.writers[conn] = link.transport.write
        sock = link.transport.get_extra_info("socket")
        addr, laddr = ("?:0", "?:0") if sock is None else accepted_addresses(sock, self.config["tcp-keepalive"])
        self.node.bus_accepted(conn, now_ms(), addr, laddr)
        self.schedule_drain()

    def new_conn_id(self) -> int:
        conn = self.next_conn
        self.next_conn += 1
        return conn

    def adopt(self, raw) -> None:
        """A connection accepted while a script was busy (net.busy) joins the loop under its id."""
        async def adopt() -> None:
            try:
                await self.loop.connect_accepted_socket(lambda: AdoptedConnection(self, raw.conn), raw.sock)
            except OSError:  # closed before the loop took it
                if self.conns.get(raw.conn) is raw:
                    self.conns.pop(raw.conn)
                    self.writers.pop(raw.conn, None)
                    self.node.closed(raw.conn, now_ms())
                    self.schedule_drain()

        self._start_task(adopt())

    def exit_now(self, code: int) -> None:
        """End the process where it stands (SHUTDOWN NOSAVE while a script is busy): what the log
        file holds is fsynced, the pid file and unix socket removed, nothing else saved. The ports
        close first, so that a client that saw its connection end cannot connect again."""
        for listener in self.listeners:
            for sock in listener.sockets or ():
                try:
                    os.close(sock.fileno())
                except OSError:
                    pass
        self.log.warning("User requested shutdown...")
        error = self.log_file.close()
        if error:
            self.log.warning(f"Fail to fsync the AOF file: {error}")
        for path in (self.config["unixsocket"], self.config["pidfile"]):
            if path:
                disk.remove_quietly(path)
        self.log.warning("kvserver is now ready to exit, bye bye...")
        os._exit(code)

    def connected(self, link: OutgoingConnection) -> None:
        conn = link.conn
        self.conns[conn] = link
        self.writers[conn] = link.transport.write
        sock = link.transport.get_extra_info("socket")
        if sock is not None:
            _tune_socket(sock, self.config["tcp-keepalive"])
        self.node.connected(conn, now_ms(), _format_addr(link.transport.get_extra_info("sockname"), sock))
        self.schedule_drain()

    def _connect(self, effect: Connect) -> None:
        """Open the connection in the background; the node hears of it as `connected` or `connect_failed`."""
        async def connect() -> None:
            try:
                await self.loop.create_connection(lambda: OutgoingConnection(self, effect.conn), effect.host,
                                                  effect.port, local_addr=(effect.source, 0) if effect.source else None)
            except OSError as exc:
                self.node.connect_failed(effect.conn, now_ms(), exc.strerror or str(exc))
                self.schedule_drain()

        task = self.loop.create_task(connect())
        self.connecting.add(task)
        task.add_done_callback(self.connecting.discard)

    def lost(self, client: ClientConnection) -> None:
        self.writers.pop(client.conn, None)
        self.backlogged.pop(client.conn, None)
        if self.conns.pop(client.conn, None) is not None:
            self.node.closed(client.conn, now_ms())
            self.schedule_drain()

    # -- effects -----------------------------------------------------------
    def schedule_drain(self) -> None:
        """Drain after this loop iteration's inputs; they are given the time read now (`data_received`)."""
        if not self.drain_pending:
            self.now = now_ms()
            self.drain_pending = True
            self.loop.call_soon(self.drain)

    def drain(self) -> None:
        """Carry out every effect the node has; again if a finished job released more."""
        self.drain_pending = False
        try:
            self._drain()
        except Exception:  # a bug in the core or here: log it, keep the server up
            self.log.warning(f"Error while carrying out effects:\n{traceback.format_exc()}")

    def _drain(self) -> None:
        node = self.node
        conns = self.conns
        writers = self.writers
        backlogged = self.backlogged
        again = True
        start_log = self._log_due or self.config["appendfsync"] != "always" or self.loop is None
        self._log_due = False
        while again:
            again = False
            effects = node.take_effects(start_log)
            for effect in effects:
                kind = type(effect)
                if kind is Send:
                    write = writers.get(effect.conn)
                    if write is not None:
                        write(effect.data)
                        if effect.conn in backlogged:
                            backlogged[effect.conn].report_backlog()
                            again = True  # the node may have dropped the client
                elif kind is Close:
                    client = conns.get(effect.conn)
                    if client is not None:
                        if effect.discard:  # killed, or over its output limit: what it has not read goes too
                            writers.pop(effect.conn, None)
                            _end_now(client.transport)
                            client.transport.abort()
                        else:
                            client.transport.close()
                elif self._perform(effect):
                    again = True
        if not start_log and not self._log_turn_pending and node.log_records_waiting:
            self._log_turn_pending = True
            self._inputs_seen = self.inputs
            self.loop.call_soon(self._log_turn)

    def _perform(self, effect) -> bool:
        """The rarer effects; True when the node may have released more effects."""
        kind = type(effect)
        if kind is AppendLog:
            self._append_log(effect)
            return True
        if kind is Fsync:
            self._background_fsync(effect)
            return False
        if kind is Shutdown:
            self.request_stop(effect.exit_code)
            return False
        if kind is WriteFiles:
            return self._write_files(effect)
        if kind is SendImage:
            self._send_image(effect)
            return True  # a diskless payload's image was taken: what waited for it may have run
        if kind is RewriteConfig:
            self._rewrite_config(effect)
            return False
        if kind is CancelJob:
            running = self.children.get(effect.job)
            if running is not None:
                pid, kind, _ = running
                self.log.notice(f"Killing running {_CHILD_NAMES.get(kind, 'background')} child: {pid}")
                child.stop(pid)
            return False
        if kind is Crash:
            self.crash(effect.signal, effect.reason, effect.details)
        if kind is Listen:
            self._start_task(self._listen_again(effect))
            return False
        if kind is Pause:  # DEBUG SLEEP: the whole server stops, as redis-server's usleep
            time.sleep(effect.ms / 1000)
            return False
        if kind is LogMessage:
            self.log.role = "S" if self.node.is_replica else "M"  # as Redis marks a replica's lines
            self.log.write(LEVELS.get(effect.level, WARNING), effect.text)
            return False
        if kind is Connect:
            self._connect(effect)
            return False
        if kind is StepLoading:
            self._start_task(self._step_loading())
            return False
        if kind is ReadFiles:
            self.node.files_read(effect.job, {path: read_or_none(path) for path in effect.paths}, now_ms())
            return True
        # An effect this runtime does not know: a job fails, anything else is ignored.
        self.log.warning(f"{kind.__name__} is not supported by this runtime yet")
        job = getattr(effect, "job", None)
        if job is None:
            return False
        self.node.job_done(job, False, now_ms(), "not supported by this runtime yet")
        return True

    def _start_task(self, coroutine) -> None:
        """Run ``coroutine`` beside the loop's other work, held until it ends."""
        task = self.loop.create_task(coroutine)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def _append_log(self, effect: AppendLog) -> None:
        """Write (and under always fsync) the records; a failed write leaves no partial record."""
        self._log_written(effect, self.log_file.append(effect.path, effect.data, effect.fsync))

    def _log_turn(self) -> None:
        """Start the log job of the records waiting, unless requests came in since it was put off.

        Under ``appendfsync always`` a drain starts no log job itself: the
        loop polls its sockets once more first (a ``call_soon`` runs after the
        next poll), and again while that brings requests (up to
        LOG_GATHER_TURNS more times), so that the clients answered by the last
        fsync join the next one (one fsync for them all, rather than one per
        half of them). Their replies wait for that fsync in any case.
        """
        self._log_turn_pending = False
        if self.inputs != self._inputs_seen and self._log_turns < LOG_GATHER_TURNS:
            self._inputs_seen = self.inputs
            self._log_turns += 1
            self._log_turn_pending = True
            self.loop.call_soon(self._log_turn)
            return
        self._log_turns = 0
        self._log_due = True
        self.drain()

    def _log_written(self, effect: AppendLog, outcome: tuple[str, list[str]]) -> None:
        error, lines = outcome
        for line in lines:
            self.log.warning(line)
        if error:
            self.node.job_done(effect.job, False, now_ms(), error)
        else:
            self.node.job_done(effect.job, True, now_ms())

    def _write_files(self, effect: WriteFiles) -> bool:
        """Foreground: write now, before the next effect. Background: in a forked child.

        The node waits (frozen) until the fork has taken its image, then runs
        what arrived meanwhile: True, it has effects again.
        """
        if not effect.background:
            delay_s = self._key_save_delay_s() if effect.kind == "rdb" else 0.0  # rdbSaveRio sleeps here too
            with self._signals_during(effect.steps):
                error = disk.run_steps(effect.steps, effect.data, delay_s)
            self._files_written(effect, error, len(effect.data))
            return True
        try:
            delay_s = self._key_save_delay_s()
            pid, report_fd, fork_usec = child.start(effect.data, effect.steps, delay_s,
                                                    lambda: self.oom.apply(self.config, oom.CHILD))
        except OSError as exc:
            self.node.image_taken(now_ms())
            self.log.warning(f"Can't start a background job: fork: {disk.error_text(exc)}")
            self._files_written(effect, f"fork: {disk.error_text(exc)}", 0)
            return True
        self.node.image_taken(now_ms(), fork_usec)
        self.children[effect.job] = (pid, effect.kind, effect.steps)
        self.log.notice(f"{_STARTED.get(effect.kind, 'Background job started')} by pid {pid}")
        self._in_background(child.wait, (pid, report_fd, effect.steps, self._progress_reporter(effect.job)),
                            lambda result: self._child_done(effect, *result))
        return True

    def _progress_reporter(self, job: int):
        """What a child's waiting thread calls with its progress reports: they reach the node on the loop."""
        loop = self.loop

        def reported(done: float, cow_bytes: int) -> None:
            loop.call_soon_threadsafe(self._child_progress, job, done, cow_bytes)

        return reported

    def _child_progress(self, job: int, done: float, cow_bytes: int) -> None:
        self.node.child_progress(job, done, cow_bytes, now_ms())

    def _send_image(self, effect: SendImage) -> None:
        """A full sync's payload, written to the replicas' sockets by a forked child (as Redis's
        child writes it): the loop serves on while they take it at their pace."""
        targets = []
        for conn, first in effect.targets:
            fd = self._fd_of(conn)
            if fd is not None:
                targets.append((fd, first))
        takes_image = callable(effect.payload)  # made by the child: the node waits for the fork
        try:
            pid, report_fd, fork_usec = child.start_sending(targets, effect.payload, effect.delay_s,
                                                            lambda: self.oom.apply(self.config, oom.CHILD))
        except OSError as exc:
            if takes_image:
                self.node.image_taken(now_ms())
            self.log.warning(f"Can't start a background job: fork: {disk.error_text(exc)}")
            self.node.job_done(effect.job, False, now_ms(), f"fork: {disk.error_text(exc)}")
            return
        if takes_image:
            self.node.image_taken(now_ms(), fork_usec)
        self.children[effect.job] = (pid, "sync", ())
        self.sync_watch.start(effect.job, [conn for conn, _ in effect.targets])
        if effect.diskless:  # a disk-based sync's file is sent by Redis's parent: it logs nothing of it
            self.log.notice(f"Background RDB transfer started by pid {pid}")

        def sent(result: tuple[int, str]) -> None:
            self.children.pop(effect.job, None)
            self.sync_watch.stop(effect.job)
            error = result[1] if isinstance(result, tuple) else str(result)
            if error and effect.diskless:
                self.log.warning(f"Background transfer error: {error}")
            elif effect.diskless:
                self.log.notice("Background RDB transfer terminated with success")
            self.node.job_done(effect.job, not error, now_ms(), error)

        self._in_background(child.wait, (pid, report_fd, ()), sent)

    def _key_save_delay_s(self) -> float:
        """``rdb-key-save-delay`` for an image of the whole dataset."""
        return child.key_save_delay_s(self.config["rdb-key-save-delay"], sum(len(db.data) for db in self.node.dbs))

    @contextlib.contextmanager
    def _signals_during(self, steps: tuple[tuple[str, ...], ...]):
        """A foreground write blocks the loop, not signals, as in redis-server: a SIGINT after a
        shutdown was asked for (before or during the write) ends the process at once, without
        the temp file it was writing ("You insist"). The loop still hears of every signal once
        the write is done (the wakeup fd)."""
        asked: list[int] = []

        def handler(signum, _frame) -> None:
            if signum == signal.SIGINT and (self.node.shutting_down or asked):
                self.log.warning("You insist... exiting now.")
                for step in steps:
                    if step[0] == "write":
                        disk.remove_quietly(step[1])
                os._exit(1)
            asked.append(signum)

        previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)

    def _child_done(self, effect: WriteFiles, written: int, error: str) -> None:
        del self.children[effect.job]
        self._files_written(effect, error, written)

    def _files_written(self, effect: WriteFiles, error: str, written: int) -> None:
        if error:
            self.log.warning(f"{_FAILED.get(effect.kind, 'Failed writing')} {effect.path}: {error}")
        elif effect.kind == "rdb":
            self.log.notice("Background saving terminated with success" if effect.background else "DB saved on disk")
        elif effect.kind == "aof-base":
            self.log.notice("Background AOF rewrite terminated with success" if effect.background
                            else f"Creating AOF base file {effect.path} on server start")
        self.node.job_done(effect.job, not error, now_ms(), error, written)

    def _in_background(self, work, args: tuple, done) -> None:
        """Run work(*args) in a thread; done(its result) back on the loop, then drain."""
        future = self.loop.run_in_executor(None, work, *args)
        self.background.add(future)

        def finished(future: asyncio.Future) -> None:
            self.background.discard(future)
            try:
                result = future.result()
            except Exception as exc:  # the work's own errors come back as text
                result = repr(exc)
            done(result)
            self.schedule_drain()

        future.add_done_callback(finished)

    def _rewrite_config(self, effect: RewriteConfig) -> None:
        try:
            rewrite_file(effect.path, effect.text)
        except OSError as exc:
            self.log.warning(f"CONFIG REWRITE failed: {exc.strerror or exc}")
        else:
            self.log.notice("CONFIG REWRITE executed with success.")

    def _background_fsync(self, effect: Fsync) -> None:
        self._in_background(disk.fsync_file, (effect.path,),
                            lambda error: self.node.job_done(effect.job, not error, now_ms(), error))

    def _close_aof(self) -> None:
        """Write the records still gathering, then fsync and close the log file (the server stops)."""
        if self.node.pending_log_bytes():
            self._log_due = True
            self.drain()
        error = self.log_file.close()
        if error:
            self.log.warning(f"Fail to fsync the AOF file: {error}")

    # -- time ------------------------------------------------------------------
    def _hz(self) -> int:
        return min(max(self.config["hz"], 1), HZ_MAX)

    def _tick(self) -> None:
        self.tick_handle = self.loop.call_later(1 / self._hz(), self._tick)
        if not (self.node.loading or self.node.async_loading):  # as Redis's cron, which a load holds up
            self.watchdog.rearm()
        try:
            for client in list(self.backlogged.values()):
                client.report_backlog()
            for conn in self.sync_watch.taken(self._fd_of):
                self.node.sync_payload_taken(conn, now_ms())
            self.node.tick(now_ms(), rss=self.rss_bytes())
        except Exception:
            self.log.warning(f"Error in the server cron:\n{traceback.format_exc()}")
        self.schedule_drain()

    def _fd_of(self, conn: int) -> int | None:
        connection = self.conns.get(conn)
        sock = None if connection is None else connection.transport.get_extra_info("socket")
        return None if sock is None else sock.fileno()

    def rss_bytes(self) -> int | None:
        if self._statm_fd < 0:
            return None
        try:
            fields = os.pread(self._statm_fd, 256, 0).split()
            return int(fields[1]) * _PAGE_SIZE
        except (OSError, IndexError, ValueError):
            return None

    def adjust_oom_score(self) -> None:
        """oom-score-adj for this process's class (net.oom), now (at start, and as it changes)."""
        error = self.oom.apply(self.config, oom.REPLICA if self.node.is_replica else oom.MASTER)
        if error:
            self.log.warning(error)

    def _config_changed(self, name: str, value) -> None:
        if name == "loglevel":
            self.log.set_level(value)
        elif name in ("proc-title-template", "port", "bind", "unixsocket"):
            proctitle.update(self.config, self.node.info.config_file)
        elif name in ("oom-score-adj", "oom-score-adj-values", "replicaof"):
            self.adjust_oom_score()
        elif name == "watchdog-period":
            self.watchdog.configure(value, self._hz())
        elif name == "dir":
            try:
                os.chdir(value)
            except OSError as exc:
                self.log.warning(f"Can't chdir to '{value}': {exc.strerror}")
                return
            self.config.values["dir"] = os.getcwd()  # CONFIG GET dir is absolute, as Redis's getcwd()


_CHILD_NAMES = {"rdb": "RDB", "sync": "RDB", "aof-base": "AOF rewrite"}  # "Killing running AOF rewrite child: <pid>", as Redis
_STARTED = {"rdb": "Background saving started", "aof-base": "Background append only file rewriting started"}
_FAILED = {"rdb": "Failed saving the DB:", "aof-base": "Background AOF rewrite failed:"}
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _open_statm() -> int:
    try:
        return os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return -1


def accepted_addresses(sock, keepalive_s: int) -> tuple[str, str]:
    """An accepted socket's peer and local addresses as Redis shows them (tuning a TCP one)."""
    laddr = _format_addr(sock.getsockname(), sock)
    if sock.family == socket.AF_UNIX:  # a unix-socket client has no name of its own: Redis shows the path for both
        return laddr, laddr
    _tune_socket(sock, keepalive_s)
    try:
        return _format_addr(sock.getpeername(), sock), laddr
    except OSError:
        return "?:0", laddr


def _format_addr(name, sock) -> str:
    """``ip:port`` (``[ip6]:port``) as Redis's CLIENT LIST shows it; ``path:0`` for Unix sockets."""
    if isinstance(name, tuple) and len(name) >= 2:
        host, port = name[0], name[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(name, str | bytes):
        text = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
        return f"{text}:0"
    return "?:0"


def _end_now(transport) -> None:
    """End the connection before the next effect goes out, as Redis's freeClient closes at once
    (the loop's own close happens only at the end of its iteration: a reply written meanwhile,
    to another client, could reach that client before this peer saw its connection end)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    try:
        with socket.socket(fileno=os.dup(sock.fileno())) as own:  # the transport's socket refuses shutdown()
            own.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


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

