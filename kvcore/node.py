"""The node: the whole server state, driven by inputs, answering with effects.

Inputs (each with ``now`` in integer milliseconds): `open`, `receive`,
`closed`, `tick`, `job_done`, `files_read`, `output_backlog` from runtimes
whose sockets can fall behind, and `connected` / `connect_failed` for the
connections the node opens itself (`Connect`: a replica's link to its master). Outputs: `take_effects()` returns the effects
accumulated since the last call, in the order the runtime must carry them
out. Replies are batched per connection per drain, and replies produced with
log records are held until the log job that carries them is done (the
durability barrier).

The node never reads a clock, a socket, a file or a global random source: the
runtime passes ``now`` in, and a seeded ``random.Random``-like ``rng`` at
construction.
"""

from __future__ import annotations

from collections import deque
from contextlib import contextmanager

from kvcore import client_memory, errors, notifications, querybuf, replybuf
from kvcore.acl_file import AclFile
from kvcore.acl_users import Users
from kvcore.aof import CLIENT_ID_AOF, encode_command, timestamp_annotation
from kvcore.appendonly import AppendOnly
from kvcore.blocking import Blocking, HeldReply
from kvcore.child_info import ChildInfo
from kvcore.client import Client, ReplyMode
from kvcore.cluster import ClusterState
from kvcore.commands import TABLE
from kvcore.commands.server import slowlog_record
from kvcore.commands.table import Flag, node_table, rename_commands
from kvcore.config import Config
from kvcore.dispatch import run_requests
from kvcore.effects import AppendLog, Close, Listen, LogMessage, Send, Shutdown
from kvcore.eviction import Evictor
from kvcore.failover import Failover
from kvcore.functions import Functions
from kvcore.keyspace import Database, drop_watches
from kvcore.latency import LatencyMonitor
from kvcore.migrate import Migrations
from kvcore.output_limits import OutputLimits, counted
from kvcore.pause import Pause
from kvcore.protocol import Limits
from kvcore.replica import LINK_CONNS, MasterLink
from kvcore.replication import ReplicationStream
from kvcore.reply import OK, Error
from kvcore.scripting import PROPAGATE_ALL, PROPAGATE_LOG, PROPAGATE_REPLICAS, Scripts, declared_flags
from kvcore.shutdown import ShutdownWait
from kvcore.snapshots import Snapshots
from kvcore.stats import Stats
from kvcore.types_list import PACKED_THRESHOLD

VERSION = "7.0.15"
MIN_CLIENT_EVICTION_LIMIT = 128 * 1024  # a maxmemory-clients below is taken as this (the server stays reachable)
OUTPUT_LIMIT_CLOSE = "scheduled to be closed ASAP for overcoming of output buffer limits."
_NOT_WRITES = (b"#", b"*2\r\n$6\r\nSELECT\r\n")  # log records that are no write: annotations, SELECT
# Commands that run code, each with the one whose declared flags say what its code may do.
_CODE_COMMANDS = {"eval": b"eval", "eval_ro": b"eval", "evalsha": b"evalsha", "evalsha_ro": b"evalsha",
                  "fcall": b"fcall", "fcall_ro": b"fcall"}


class ServerInfo:
    """Facts about the process that only the runtime knows (for INFO)."""

    def __init__(
        self,
        pid: int = 0,
        executable: str = "",
        config_file: str = "",
        tcp_port: int = 0,
        os_name: str = "",
        arch_bits: int = 64,
        total_memory: int = 0,
    ) -> None:
        self.pid = pid
        self.executable = executable
        self.config_file = config_file
        self.tcp_port = tcp_port
        self.os_name = os_name  # INFO's os: "Linux 6.1.0 x86_64"
        self.arch_bits = arch_bits
        self.total_memory = total_memory  # the machine's RAM in bytes (INFO total_system_memory), 0: unknown


class Node:
    """One server. See the module docstring for its inputs and outputs."""

    def __init__(self, config: Config | None = None, rng=None, info: ServerInfo | None = None, now: int = 0) -> None:
        if rng is None:
            raise ValueError("a seeded rng must be passed in")
        self.config = config or Config()
        self.rng = rng
        self.info = info or ServerInfo()
        self.now = now
        self.start_ms = now
        self._steady_ms = 0  # `steady()`: the time seen to pass, and the clock reading it was last taken at
        self._steady_at = now
        self.run_id = "%040x" % rng.getrandbits(160)
        self.table = rename_commands(node_table(TABLE), self.config.renamed_commands)
        self.dbs = [Database(i, self) for i in range(self.config["databases"])]
        self.acl = Users(self)  # ACL users; clients point at theirs
        self.acl_file = AclFile(self)  # ACL LOAD / ACL SAVE jobs
        self.clients: dict[int, Client] = {}
        self.clients_with_output: list[Client] = []
        self.stats = Stats()
        self.is_replica = False
        self.next_client_id = 1
        self.last_save_s = now // 1000
        self.slowlog: deque = deque()
        self.slowlog_next_id = 0
        self.packed_threshold = PACKED_THRESHOLD  # DEBUG QUICKLIST-PACKED-THRESHOLD: list elements this large get plain nodes
        self._set_slowlog_hook(self.config["slowlog-log-slower-than"])
        self.monitors: list[Client] = []
        self.blocking = Blocking(self)
        self.pubsub_channels: dict[bytes, dict[Client, None]] = {}
        self.pubsub_patterns: dict[bytes, dict[Client, None]] = {}
        self.pubsub_shard_channels: dict[bytes, dict[Client, None]] = {}
        self.tracking = None  # kvcore.tracking.Tracking, from the first CLIENT TRACKING ON
        self.tracking_clients = 0  # clients with tracking on
        self.pause = Pause(self)  # CLIENT PAUSE, and the pauses of a shutdown or failover
        self.failover = Failover(self)  # FAILOVER
        self.reply_buffers = replybuf.ReplyBufferPolicy()  # DEBUG REPLYBUFFER
        self.shutdown_wait = ShutdownWait(self)  # a shutdown waiting for the replicas to catch up
        self.migrations = Migrations(self)  # MIGRATE's cached connections and transfers
        self.paused = False  # a pause is on: every request takes the dispatcher's checked path
        self.active_expire_enabled = True  # DEBUG SET-ACTIVE-EXPIRE
        self.cron_paused = False  # DEBUG PAUSE-CRON
        self.latency = LatencyMonitor()  # LATENCY LATEST/HISTORY: events over latency-monitor-threshold
        self.command_usec = 0  # the time the running command took, when it took any (kvcore.latency)
        self.skip_checksum_validation = False  # DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE skips the CRC-64
        self.shutdown_requested = None
        self.shutdown_asap = False  # a signal asked for a shutdown: the cron makes it
        self._relisten = None  # (job, waiting client, options before, argument) of a CONFIG SET port/bind
        self.loading = False  # replaying a log or snapshot: no expiry, no propagation (kvcore.aof)
        self.loading_file = None  # a snapshot loading while clients are served (kvcore.loading, kvcore.replica)
        self.async_loading = False  # a replica loads its master's payload while serving the old dataset
        self._effects: list = []
        self._log_records: list[bytes] = []
        self._log_db = -1
        self._log_second = 0  # of the last timestamp annotation
        # The durability barrier: replies wait in _held until the records produced
        # before them are durable; records count from the start of the process.
        self._held: deque = deque()  # (records needed durable, [(conn, data)], [conns to close])
        self._durable_records = 0
        self._log_job: int | None = None
        self._log_job_records = 0
        self._log_job_bytes = 0
        self.aof_write_error = ""
        self.write_gate = None
        self._closing: list[Client] = []
        self.halted = False  # a fatal disk error: nothing more leaves the node but its Shutdown
        # A background job's point-in-time image is taken by the runtime as it
        # carries out the job's effect (net forks). Until it reports
        # `image_taken`, nothing may change the dataset: every input waits, in order.
        self.images_pending = 0
        self._waiting_inputs: deque = deque()  # (input method, its arguments)
        self._resumes_waiting = 0  # requests cut off by the freeze go first, in the order cut
        self.in_exec = False  # EXEC is running its queue: a background image must wait for the cron
        self.replication = ReplicationStream(self)  # the stream, its backlog, the replicas fed it
        self.master_link: MasterLink | None = None  # REPLICAOF host port: the link to the master
        self.cluster = ClusterState(self) if self.config["cluster-enabled"] else None  # cluster-enabled: one node
        self.master_executing = False  # the master client is running its stream (it sees expired keys)
        self._next_link_conn = LINK_CONNS
        self._propagation_depth = 0
        self.expiry_block: int | None = None  # the block a command's lazy expiry opened (`open_expiry_block`)
        self.expiry_wrapped = True  # off while SCAN or RANDOMKEY runs (`expiry_unwrapped`)
        self._next_job = 1
        self.snapshots = Snapshots(self)  # RDB snapshots: SAVE, BGSAVE, the save schedule
        self.child_info = ChildInfo()  # what the child of a background save or rewrite reports
        self.aof = AppendOnly(self)  # the log's files, fsyncs and rewrites
        self._limits = Limits(self.config["proto-max-bulk-len"], True)
        self.default_user_changed()
        self.config.listeners.append(self._config_changed)
        self.keyspace_events = notifications.enabled(self.config["notify-keyspace-events"])
        self.evictor = Evictor(self)  # maxmemory: the memory model's limit, eviction, access clocks
        self.output_limits = OutputLimits(self)  # client-output-buffer-limit
        self.client_output = 0  # the clients' unsent output, as Redis counts it (counted omem), in used_memory
        self.partial_inputs: dict[Client, None] = {}  # clients holding part of a request (in used_memory too)
        self.scripts = Scripts(self)  # EVAL's script cache and Lua interpreter
        self.busy_runtime = None  # set by a runtime that serves clients while a script runs long (kvcore.busy)
        self.propagation_targets = PROPAGATE_ALL  # a script's redis.set_repl narrows it
        self.functions = Functions(self)  # FUNCTION LOAD's libraries, called by FCALL
        self.evictor.policy_changed()
        if self.config["replicaof"] and self.config["replicaof"].lower() != "no one":
            # connected by the first tick, as by Redis's replication cron
            host, port = self.config["replicaof"].split()
            self.master_link = MasterLink(self, host, int(port))
            self.master_link.full_sync_failed = True  # no cached master, unless a snapshot loaded says otherwise
            self.is_replica = True
            self.replication.demoted()
        self.update_write_gate()

    # -- inputs ------------------------------------------------------------
    def open(self, conn: int, now: int, addr: str = "", laddr: str = "") -> None:
        """A client connected; refused with Redis's error past maxclients."""
        if self.images_pending:
            self._waiting_inputs.append((self.open, (conn, now, addr, laddr)))
            return
        self.now = now
        self.stats.total_connections_received += 1
        limits = Limits(self._limits.max_bulk_len, self._limits.authenticated)
        client = Client(conn, self.next_client_id, self, addr, laddr, limits)
        self.next_client_id += 1
        if len(self.clients) >= self.config["maxclients"]:
            self.stats.rejected_connections += 1
            self._effects.append(Send(conn, b"-" + errors.MAX_CLIENTS.encode() + b"\r\n"))
            self._effects.append(Close(conn))
            return
        if self.config["protected-mode"] and self.acl.default.nopass and not client.is_local:
            self.stats.rejected_connections += 1  # no password: only loopback and unix-socket clients
            self._effects.append(Send(conn, b"-" + errors.PROTECTED_MODE.encode() + b"\r\n"))
            self._effects.append(Close(conn))
            return
        self.clients[conn] = client

    def bus_accepted(self, conn: int, now: int, addr: str = "", laddr: str = "") -> None:
        """Another cluster node connected to this one's cluster bus port (``conn`` from the runtime's
        `BUS_CONNS` range)."""
        if self.images_pending:
            self._waiting_inputs.append((self.bus_accepted, (conn, now, addr, laddr)))
            return
        self.now = now
        if self.cluster is None:
            self._effects.append(Close(conn))
            return
        self.cluster.bus.accepted(conn, addr, laddr)

    def receive(self, conn: int, data: bytes, now: int) -> None:
        """Bytes arrived on a connection: parse and run every complete request."""
        if self.images_pending:
            self._waiting_inputs.append((self.receive, (conn, data, now)))
            return
        self.now = now
        if conn >= LINK_CONNS:  # a connection of the node's own: to its master, or a MIGRATE target
            self.stats.total_net_input_bytes += len(data)
            link = self.master_link
            if link is not None and conn == link.conn:
                link.receive(data)
            elif self.migrations.owns(conn):
                self.migrations.receive(conn, data)
            elif self.cluster is not None and self.cluster.bus.owns(conn):
                self.cluster.bus.receive(conn, data)
            return
        client = self.clients.get(conn)
        if client is None or client.closing:
            return
        stats = self.stats
        size = len(data)
        stats.total_net_input_bytes += size
        stats.total_reads_processed += 1
        client.last_ms = now
        if self.paused:
            self.pause.check(now)
        reader = client.reader
        held = reader.buffered() if reader.partial else 0
        requests, error = reader.feed(data)
        if held or size > client.qbuf_alloc or client.qbuf_peak < _READ_LEN:  # else the model stays as it is
            querybuf.read(client, held, size)
        if requests and held + size >= _BIG_ARG:  # else no argument was big
            querybuf.processed(client, requests)
        if reader.partial and (reader.buffered() >= querybuf.BIG_HEADER_SEEN or not reader.in_fast):
            querybuf.reading(client)
        if requests and self.config.values["maxmemory-clients"]:  # what it read counts before they run
            self._evict_clients()
            if client.closing:
                return
        if client.ldb is not None:  # a Lua debugging session reads them (kvcore.ldb)
            client.ldb.feed(requests)
        elif client.blocked is not None or client.pending:
            client.pending.extend(requests)
        else:
            run_requests(self, client, requests)
        if error is not None:
            self.stats.total_error_replies += 1
            client.reply(Error("ERR " + error))
            self.close_after_reply(client)
        elif reader.partial:
            if reader.buffered() > self.config.values["client-query-buffer-limit"]:
                self.close_after_reply(client)
            else:  # part of a request held: it counts as the client's memory until it completes
                self.partial_inputs[client] = None
                if self.config.values["maxmemory-clients"]:
                    self._evict_clients()
        elif self.partial_inputs:
            self.partial_inputs.pop(client, None)

    def closed(self, conn: int, now: int) -> None:
        """The peer closed (or the runtime dropped) a connection."""
        if self.images_pending:
            self._waiting_inputs.append((self.closed, (conn, now)))
            return
        self.now = now
        link = self.master_link
        if link is not None and conn == link.conn:
            link.closed()
            return
        if self.migrations.owns(conn):
            self.migrations.closed(conn)
            return
        if self.cluster is not None and self.cluster.bus.owns(conn):
            self.cluster.bus.closed(conn)
            return
        client = self.clients.pop(conn, None)
        if client is not None:
            self._forget(client)

    def connected(self, conn: int, now: int, laddr: str = "") -> None:
        """A connection the node asked for (`Connect`) is established."""
        if self.images_pending:
            self._waiting_inputs.append((self.connected, (conn, now, laddr)))
            return
        self.now = now
        link = self.master_link
        if link is not None and conn == link.conn:
            link.connected(laddr)
        elif self.migrations.owns(conn):
            self.migrations.connected(conn)
        elif self.cluster is not None and self.cluster.bus.owns(conn):
            self.cluster.bus.connected(conn, laddr)
        else:  # REPLICAOF changed its mind meanwhile
            self._effects.append(Close(conn))

    def connect_failed(self, conn: int, now: int, error: str) -> None:
        """A connection the node asked for (`Connect`) could not be made: ``error`` says why."""
        if self.images_pending:
            self._waiting_inputs.append((self.connect_failed, (conn, now, error)))
            return
        self.now = now
        link = self.master_link
        if link is not None and conn == link.conn:
            link.connect_failed(error)
        elif self.migrations.owns(conn):
            self.migrations.connect_failed(conn)
        elif self.cluster is not None and self.cluster.bus.owns(conn):
            self.cluster.bus.connect_failed(conn)

    def files_read(self, job: int, contents: dict[str, bytes | None], now: int) -> None:
        """The runtime read the files a `ReadFiles` effect named (None for a missing one)."""
        if self.images_pending:
            self._waiting_inputs.append((self.files_read, (job, contents, now)))
            return
        self.now = now
        if self.snapshots.owns(job):
            self.snapshots.files_read(job, contents)
        elif self.replication.owns_read(job):
            self.replication.files_read(contents)
        elif self.acl_file.owns(job):
            self.acl_file.files_read(job, contents)
        else:
            self.aof.files_read(job, contents, now)

    def output_backlog(self, conn: int, size: int, now: int) -> None:
        """The runtime holds ``size`` bytes sent to a connection and not yet taken by the
        kernel (it reports when that starts, changes and ends, and at each tick while it
        lasts): CLIENT LIST's omem, and the output buffer limits (a cluster bus link's send
        buffer, `kvcore.cluster_bus`)."""
        if self.images_pending:
            self._waiting_inputs.append((self.output_backlog, (conn, size, now)))
            return
        self.now = now
        client = self.clients.get(conn)
        if client is None or client.closing:
            if self.cluster is not None and self.cluster.bus.owns(conn):
                self.cluster.bus.output_backlog(conn, size)
            return
        self.client_output += counted(size) - counted(client.obuf)
        client.obuf = size
        if self.output_limits.exceeded(client, size):
            self._drop(client, OUTPUT_LIMIT_CLOSE)
        elif self.config.values["maxmemory-clients"]:
            self._evict_clients()

    def child_progress(self, job: int, done: float, cow_bytes: int, now: int) -> None:
        """The child of a background job reported: ``done``, the share of its work done (0 to 1),
        and what copy-on-write has cost it so far (kvcore.child_info)."""
        if self.images_pending:
            self._waiting_inputs.append((self.child_progress, (job, done, cow_bytes, now)))
            return
        self.now = now
        self.child_info.progress(job, done, cow_bytes, now)

    def sync_payload_taken(self, conn: int, now: int) -> None:
        """The runtime saw the replica on ``conn`` take bytes of its full sync's payload (a diskless
        one that takes none for repl-timeout is dropped, as Redis drops a stuck replica that
        would hold its child up)."""
        if self.images_pending:
            self._waiting_inputs.append((self.sync_payload_taken, (conn, now)))
            return
        self.now = now
        client = self.clients.get(conn)
        if client is not None:
            self.replication.payload_taken(client)

    def client_memory(self) -> int:
        """What the clients hold beyond their fixed buffers: unread output and partial requests."""
        return self.client_output + sum(client.reader.held() for client in self.partial_inputs)

    def not_counted_for_evict(self) -> int:
        """Memory in used_memory that maxmemory leaves out (Redis's freeMemoryGetNotCountedMemory):
        what the replicas have yet to read, or evicting keys would only make it grow."""
        return sum(counted(client.obuf) for client in self.replication.replicas)

    def _evict_clients(self) -> None:
        """maxmemory-clients: while the normal and pub/sub clients' memory (CLIENT LIST's tot-mem,
        kvcore.client_memory) reaches it, close the one using the most that may be evicted (not
        CLIENT NO-EVICT), as Redis 7.0's client eviction. A client about to run a request is
        measured as Redis last measured it, without that request's arguments (their bytes were
        its query buffer's). Every client is measured each time (Redis keeps them in size
        buckets): the setting is off unless set."""
        setting = self.config.values["maxmemory-clients"]
        limit = setting if setting > 0 else self.config.values["maxmemory"] * -setting // 100
        if limit:
            limit = max(limit, MIN_CLIENT_EVICTION_LIMIT)
        while limit:
            usages = {client: client_memory.usage(client) for client in self.clients.values()
                      if not self.is_replication_link(client)}
            if sum(usages.values()) < limit:
                return
            candidates = [client for client in usages if not client.no_evict]
            if not candidates:
                return
            victim = max(candidates, key=usages.__getitem__)
            self.stats.evicted_clients += 1
            self._effects.append(LogMessage("verbose", f"Evicting client: {victim.info_line()}"))
            self._drop(victim, None)

    def drop_over_output_limit(self, client: Client) -> None:
        """Close a client whose output passed its class's limit (client-output-buffer-limit)."""
        self._drop(client, OUTPUT_LIMIT_CLOSE)

    def is_replication_link(self, client: Client) -> bool:
        """A replica's connection, or this replica's master's: never evicted, nor counted
        among the clients maxmemory-clients limits."""
        return client.is_replica_link or self.obeys(client)

    def kill(self, client: Client) -> None:
        """Close another client at once, what it was not sent yet dropped (CLIENT KILL, as Redis's
        freeClient: a replica killed in a transaction gets none of the writes after the kill)."""
        self._drop(client, None)

    def _drop(self, client: Client, reason: str | None) -> None:
        """Close a client at once, unread output and all (Redis's freeClientAsync), saying why."""
        if reason is not None:
            self._effects.append(LogMessage("warning", f"Client {client.info_line()} {reason}"))
        client.closing = True
        client.out = []
        self._forget(self.clients.pop(client.conn))
        self._effects.append(Close(client.conn, discard=True))
        link = self.master_link
        if link is not None and link.client is client:  # as Redis frees its master: the link is down from now
            link.closed()

    def tick(self, now: int, rss: int | None = None) -> None:
        """The server cron: active expiry, client timeouts, stats sampling.

        ``rss``: the process's memory as the runtime measures it, for INFO
        (used_memory is the core's own model: kvcore.eviction).
        """
        if self.images_pending:
            self._waiting_inputs.append((self.tick, (now, rss)))
            return
        if self.cron_paused:
            return
        self.now = now
        if rss is not None:
            self.stats.rss = rss
        if self.loading_file is not None:  # while it loads, Redis runs no cron but its loading one
            link = self.master_link
            if link is not None and link.loading is self.loading_file:  # reading the payload times out
                link.tick()
            return
        self._sample_ops()
        if self.shutdown_asap:
            self.snapshots.shutdown_if_asked()
        if self.shutdown_wait.waiting:
            self.shutdown_wait.tick()
        if self.paused:
            self.pause.check(now)
        budget = 25 * self.config["active-expire-effort"] * 10
        for db in self.dbs:
            if db.expires and self.active_expire_enabled and not self.paused:
                db.active_expire(budget)
        self._clients_cron()
        if self.tracking_clients:
            self.tracking.limit()  # tracking-table-max-keys, also while no command runs
        self.unblock_timed_out()
        self.failover.update()
        if self.master_link is not None:
            self.master_link.tick()
        self.replication.tick()
        self._resume_log_write()
        self.aof.tick()
        self.snapshots.tick()
        if self.migrations.sockets:
            self.migrations.tick()
        if self.cluster is not None:
            self.cluster.bus.cron()

    def steady(self) -> int:
        """Milliseconds seen to pass on this node's clock, never going back: a clock stepped
        backward counts as no time, so timers measured with this (replication's) do not
        wait out the step, as they would with the wall clock."""
        now = self.now
        if now > self._steady_at:
            self._steady_ms += now - self._steady_at
        self._steady_at = now
        return self._steady_ms

    def listen_again(self, client: Client, before: dict[str, str], argument: str) -> None:
        """CONFIG SET port/bind: the runtime listens as now configured; the client's reply waits.

        If it cannot, every option of that CONFIG SET (``before``: their
        earlier values) goes back, as Redis rolls back a failed apply.
        """
        job = self.new_job()
        self._relisten = (job, HeldReply(client, "rebinding"), before, argument)
        self._effects.append(Listen(job, self.config["bind"], self.config["port"]))

    def _listened(self, ok: bool) -> None:
        _, waiter, before, argument = self._relisten
        self._relisten = None
        if ok:
            waiter.release(self, OK)
            return
        self.config.set_many(list(before.items()))
        reason = LISTEN_FAILED.get(argument.lower(), LISTEN_FAILED["port"])
        waiter.release(self, Error(f"ERR CONFIG SET failed (possibly related to argument '{argument}') - {reason}"))

    def job_done(self, job: int, ok: bool, now: int, error: str = "", written: int = 0) -> None:
        """A job the core asked for has finished; release what waited on it.

        ``written``: the bytes a background `WriteFiles` wrote (its image's size).
        A failed log write keeps its records for a retry on the next tick and
        refuses writes with -MISCONF until a write succeeds, so no reply ever
        acknowledges a write that is not in the log.
        """
        if self.images_pending:
            self._waiting_inputs.append((self.job_done, (job, ok, now, error, written)))
            return
        self.now = now
        if self.halted:
            return
        if self._relisten is not None and job == self._relisten[0]:
            self._listened(ok)
            return
        if self.snapshots.owns(job):
            self.snapshots.job_done(job, ok, error)
            return
        if self.aof.owns(job):
            self.aof.job_done(job, ok, error, written)
            return
        if self.acl_file.owns(job):
            self.acl_file.job_done(job, ok, error)
            return
        if self.replication.owns(job):
            self.replication.transfer_done(job, ok, error)
            return
        if job != self._log_job:
            return
        self._log_job = None
        if not ok:
            self.aof_write_error = error or "Input/output error"
            self.update_write_gate()
            return
        del self._log_records[: self._log_job_records]
        self._durable_records += self._log_job_records
        self.aof_write_error = ""
        self.aof.written(self._log_job_bytes)
        self.update_write_gate()
        held = self._held
        durable = self._durable_records
        if not held or held[0][0] > durable:
            return
        _, sends, closes = held.popleft()
        if held and held[0][0] <= durable:  # several batches
            sends, closes = list(sends), list(closes)
            while held and held[0][0] <= durable:
                _, held_sends, held_closes = held.popleft()
                sends += held_sends
                closes += held_closes
            if len({conn for conn, _ in sends}) < len(sends):  # one Send per connection, its replies in order
                released: dict[int, list[bytes]] = {}
                for conn, data in sends:
                    released.setdefault(conn, []).append(data)
                sends = [(conn, b"".join(parts)) for conn, parts in released.items()]
        self._effects += [Send(conn, data) for conn, data in sends]
        self._effects += [Close(conn) for conn in closes]

    # -- outputs -----------------------------------------------------------
    def take_effects(self, start_log: bool = True) -> list:
        """Every effect since the last call: log writes first, then replies.

        Replies wait while any record produced before them is not yet durable
        (a read may have seen that write). One log job is in flight at a time;
        records produced meanwhile go together in the next (group commit).
        ``start_log=False``: start no log job now (the runtime gathers more
        records for it first); the records wait, and so do their replies.
        """
        if self.expiry_block is not None:  # a lookup outside the dispatcher and the blocked-client server
            self.close_expiry_block()
        effects, self._effects = self._effects, []
        if self.halted:
            return [effect for effect in effects if type(effect) is Shutdown]
        if self.tracking is not None:
            self.tracking.broadcast()  # BCAST invalidations, once per drain
        sends, closes = self._collect_output()
        if self._effects:  # clients dropped over their output limits (`_drop`) while collecting
            effects += self._effects
            self._effects = []
        if start_log and self._log_records and self._log_job is None and not self.aof_write_error \
                and self.aof.may_write_now():
            self._start_log_job(effects)
        produced = self._durable_records + len(self._log_records)
        if produced > self._durable_records:
            if sends or closes:
                self._held.append((produced, sends, closes))
        else:
            effects += [Send(conn, data) for conn, data in sends]
            if closes:
                effects += [Close(conn) for conn in closes]
        return effects

    def busy_effects(self) -> list:
        """What a busy runtime carries out while a script runs long (kvcore.busy): the replies to
        every client but the script's caller, closes, log lines and a shutdown; log writes wait.

        A reply goes at once (nothing a client may do meanwhile reads what the script wrote),
        unless an earlier reply to its client still waits for the log: then after it, in order.
        """
        caller = self.scripts.busy.caller
        keep = [caller] if caller in self.clients_with_output else []
        others = [client for client in self.clients_with_output if client is not caller]
        self.clients_with_output = others
        sends, closes = self._collect_output()
        self.clients_with_output = keep
        waiting = set()
        for _, held_sends, held_closes in self._held:
            waiting.update(conn for conn, _ in held_sends)
            waiting.update(held_closes)
        if waiting:
            late = [(conn, data) for conn, data in sends if conn in waiting]
            late_closes = [conn for conn in closes if conn in waiting]
            if late or late_closes:
                self._held.append((self._durable_records + len(self._log_records), late, late_closes))
            sends = [(conn, data) for conn, data in sends if conn not in waiting]
            closes = [conn for conn in closes if conn not in waiting]
        effects = [effect for effect in self._effects if type(effect) in (LogMessage, Shutdown)]
        self._effects = [effect for effect in self._effects if type(effect) not in (LogMessage, Shutdown)]
        return effects + [Send(conn, data) for conn, data in sends] + [Close(conn) for conn in closes]

    def _start_log_job(self, effects: list) -> None:
        self._log_job = self._next_job
        self._next_job += 1
        self._log_job_records = len(self._log_records)
        data = b"".join(self._log_records)
        self._log_job_bytes = len(data)
        effects.append(AppendLog(self._log_job, data, self.config["appendfsync"] == "always", self.aof.log_path()))

    def _resume_log_write(self) -> None:
        """Records waiting after a failed write, or for an everysec fsync: try again from the cron."""
        if self._log_records and self._log_job is None and self.aof.may_write_now():
            self._start_log_job(self._effects)

    def flush_log(self) -> bool:
        """Start writing the pending records now (before the log moves to another file).

        False when that cannot happen now: a log write is in flight or failed.
        """
        if not self._log_records:
            return True
        if self._log_job is not None or self.aof_write_error:
            return False
        self._start_log_job(self._effects)
        return True

    def restart_log_file(self) -> None:
        """The log moves to a new file: its first record selects the database again."""
        self._log_db = -1

    def pending_log_bytes(self) -> int:
        return sum(len(record) for record in self._log_records)

    @property
    def log_records_waiting(self) -> bool:
        """Records wait for a log job: the cheap test (`pending_log_bytes` sums them all)."""
        return len(self._log_records) > (self._log_job_records if self._log_job is not None else 0)

    @property
    def shutting_down(self) -> bool:
        """A shutdown was asked for and is neither done nor given up (Redis's shutdown_asap, or a
        shutdown waiting for replicas or saving): a second SIGINT then exits at once."""
        return self.shutdown_asap or self.shutdown_wait.waiting or self.shutdown_requested is not None

    def update_write_gate(self) -> None:
        """Check every command while a maxmemory is set (evictions first), or the log or
        the last background save failed."""
        failing = self.aof_write_error or self.aof.write_error() or not self.snapshots.last_bgsave_ok
        values = self.config.values
        read_only = self.is_replica and (values["replica-read-only"] or not values["replica-serve-stale-data"])
        min_replicas = values["min-replicas-to-write"] and values["min-replicas-max-lag"]
        busy = self.scripts.busy is not None or self.loading_file is not None or self.async_loading
        self.write_gate = self._refuse_writes if failing or read_only or min_replicas or values["maxmemory"] or busy \
            or self.cluster is not None else None

    def _refuse_writes(self, client: Client, cmd, argv: list[bytes]) -> Error | None:
        """-LOADING while the dataset loads (before -BUSY, as Redis checks them) and -BUSY while a
        script runs long; evictions, then -OOM, -MISCONF, -NOREPLICAS, -READONLY and -MASTERDOWN,
        in redis-server's processCommand order; none for the master client (a replica obeys its
        master)."""
        if (self.loading or self.loading_file is not None) and not cmd.flags & Flag.LOADING:  # a slow script
            return Error(errors.LOADING)  # replayed from the log makes others wait with -LOADING, not -BUSY
        if self.async_loading and cmd.flags & Flag.NO_ASYNC_LOADING:
            return Error(errors.LOADING)
        busy = self.scripts.busy
        if busy is not None and not cmd.flags & Flag.ALLOW_BUSY:
            return Error(busy.refusal)
        if self.obeys(client):
            return None
        if self.cluster is not None:
            refusal = self.cluster.refusal(client, cmd, argv)
            if refusal is not None:
                return refusal
        if not self.evictor.perform() and _uses_memory(client, cmd):
            return Error(errors.OOM)
        if cmd.flags & Flag.WRITE or argv[0].lower() == b"ping" or _declares_writes(self, cmd, argv):
            refusal = self.disk_error()
            if refusal is not None:
                return refusal
        if _writes(client, cmd):
            refusal = self.replication_refusal(client)
            if refusal is not None:
                return refusal
        if self.stale() and _denies_stale(client, cmd, argv):
            return Error(errors.MASTERDOWN)
        return None

    def obeys(self, client: Client) -> bool:
        """Whether ``client`` is this replica's master, whose commands are not refused (mustObeyClient)."""
        link = self.master_link
        return link is not None and client is link.client

    def disk_error(self) -> Error | None:
        """-MISCONF while the last background save or log write failed (writes are refused)."""
        if self.snapshots.refuses_writes():
            return Error(errors.MISCONF)
        aof_error = self.aof_write_error or self.aof.write_error()
        if aof_error:
            return Error(errors.MISCONF_AOF % aof_error)
        return None

    def _collect_output(self) -> tuple[list[tuple[int, bytes]], list[int]]:
        sends = []
        waiting = self.clients_with_output
        if waiting:
            self.clients_with_output = []
            sent = 0
            limit = self.output_limits.smallest
            for client in waiting:
                out = client.out
                if out:
                    data = b"".join(out)  # of a single part: that part, not a copy
                    client.out = []
                    if len(data) > client.rbuf_peak:  # the reply buffer's peak (kvcore.replybuf)
                        client.rbuf_peak = min(len(data), client.rbuf_size)
                    if limit and client.obuf + len(data) >= limit and not client.closing \
                            and self.output_limits.exceeded(client, client.obuf + len(data)):
                        self._drop(client, OUTPUT_LIMIT_CLOSE)
                        continue
                    sent += len(data)
                    sends.append((client.conn, data))
            self.stats.total_net_output_bytes += sent
            self.stats.total_writes_processed += len(sends)
        closes = []
        if self._closing:
            for client in self._closing:
                if self.clients.get(client.conn) is client:
                    closes.append(client.conn)
                    self._forget(self.clients.pop(client.conn))
            self._closing = []
        return sends, closes

    # -- services used by commands -------------------------------------------
    def replica_replied(self, client: Client, reply) -> None:
        """A command of a replica's connection made a reply: a master never answers its replicas,
        so the connection is closed, as Redis's logInvalidUseAndFreeClientAsync does (an error
        is logged too: the replica may have expected the command to change its data)."""
        command = "<unknown>" if client.last_command == "NULL" else client.last_command
        effects = self._effects
        effects.append(LogMessage("warning", f"Replica generated a reply to command '{command}', "
                                             f"disconnecting it: {client.info_line()}"))
        if type(reply) is Error:
            effects.append(LogMessage("warning", errors.critical_error_line("master", "replica", reply.text, command)))
        client.reply_mode = ReplyMode.OFF
        client.out = []
        self.close_after_reply(client)

    def close_after_reply(self, client: Client) -> None:
        """Close a client once the replies queued for it so far are sent."""
        if not client.closing:
            client.closing = True
            self._closing.append(client)

    def new_job(self) -> int:
        """A fresh number for a job that reports back with `job_done`."""
        job = self._next_job
        self._next_job += 1
        return job

    def image_pending(self) -> None:
        """A background job's effect asks the runtime for a point-in-time image: freeze until it is taken."""
        if not self.images_pending:
            self._resumes_waiting = 0
        self.images_pending += 1

    def image_taken(self, now: int, fork_usec: int = 0) -> None:
        """The runtime took an image (net forked in ``fork_usec``, sim copied it): what waited runs, in order."""
        self.images_pending -= 1
        self.stats.total_forks += 1
        self.stats.latest_fork_usec = fork_usec
        waiting = self._waiting_inputs
        while waiting and not self.images_pending:
            method, args = waiting.popleft()
            method(*args)

    def defer_requests(self, client: Client, requests: list[list[bytes]]) -> None:
        """Requests a freeze cut off run once the image is taken, before any input that came later."""
        self._waiting_inputs.insert(self._resumes_waiting, (self._resume_requests, (client, requests)))
        self._resumes_waiting += 1

    def _resume_requests(self, client: Client, requests: list[list[bytes]]) -> None:
        if self.clients.get(client.conn) is not client:
            return
        if client.blocked is not None or client.pending:
            client.pending.extend(requests)
        else:
            run_requests(self, client, requests)

    # -- replication ---------------------------------------------------------------
    def set_master(self, host: str, port: int) -> None:
        """REPLICAOF host port: follow that master, connecting now."""
        if self.master_link is not None:  # its stream goes on from the new master: in the same database
            self.master_link.stop()
            db_index = self.master_link.db_index
        else:  # as Redis's master cached from this node itself
            self.emit(LogMessage("notice", "Before turning into a replica, using my own master parameters to "
                                           "synthesize a cached master: I may be able to synchronize with the new "
                                           "master with just a partial transfer."))
            self.replication.demoted()
            db_index = self.replication.selected_db()
        self.blocking.disconnect_all()
        self.is_replica = True
        self.config.changed("replicaof", f"{host} {port}")
        self.master_link = MasterLink(self, host, port, db_index)
        self.master_link.connect()
        self.update_write_gate()

    def unset_master(self) -> None:
        """REPLICAOF NO ONE: a master again, its stream going on under a new replication id."""
        link = self.master_link
        if link is None:
            return
        link.stop()
        if not link.full_sync_failed:  # the history it could have continued from with that master
            self.emit(LogMessage("notice", "Discarding previously cached master state."))
        self.master_link = None
        self.is_replica = False
        self.config.changed("replicaof", "")
        self.replication.promoted()
        self.update_write_gate()

    def stale(self) -> bool:
        """A replica whose link to its master is down, under replica-serve-stale-data no."""
        link = self.master_link
        return link is not None and link.client is None and not self.config.values["replica-serve-stale-data"]

    def replication_refusal(self, client: Client) -> Error | None:
        """Why a write by ``client`` may not run now: -NOREPLICAS (too few good replicas for
        min-replicas-to-write) or -READONLY (a read-only replica); None when it may."""
        values = self.config.values
        if client.id == CLIENT_ID_AOF:  # the log being loaded is obeyed, its scripts' writes too (mustObeyClient)
            return None
        if self.is_replica:
            link = self.master_link
            if values["replica-read-only"] and (link is None or client is not link.client):
                return Error(errors.READONLY)
        elif values["min-replicas-to-write"] and values["min-replicas-max-lag"] \
                and self.replication.good_replicas() < values["min-replicas-to-write"]:
            return Error(errors.NOREPLICAS)
        return None

    def new_link_conn(self) -> int:
        """An id for a connection the node opens itself, apart from those the runtime gives."""
        self._next_link_conn += 1
        return self._next_link_conn

    def forget_master_client(self, client: Client) -> None:
        """The link to the master dropped: its client goes (the runtime closes the connection)."""
        if self.clients.get(client.conn) is client:
            del self.clients[client.conn]
            self._forget(client)

    def halt(self) -> None:
        """Stop as Redis exits on a fatal disk error: no reply held or pending leaves, then exit 1."""
        self.halted = True
        self._held.clear()
        self._effects.append(Shutdown(1))

    def emit(self, effect) -> None:
        """Queue an effect that is not a reply (`Shutdown`, `RewriteConfig`) for the runtime."""
        self._effects.append(effect)

    def reset_client(self, client: Client) -> None:
        """Drop a client's watched keys, MONITOR mode and subscriptions, silently (RESET)."""
        self._forget(client)
        client.channels = {}
        client.patterns = {}
        client.shard_channels = {}
        client.monitor = False

    def _log_slow(self, client: Client, cmd, argv: list[bytes]) -> None:
        """SLOWLOG's recorder, the dispatcher's ``slowlog_hook`` while it logs every command."""
        usec, self.command_usec = self.command_usec, 0
        self.log_slow(client, cmd, argv, usec)

    def log_slow(self, client: Client, cmd, argv: list[bytes], usec: int) -> None:
        if not cmd.flags & Flag.SKIP_SLOWLOG:
            slowlog_record(self, client, argv, usec)

    def _set_slowlog_hook(self, threshold_us: int) -> None:
        """Only DEBUG SLEEP takes time here (`kvcore.latency`, which logs it itself over a
        threshold); ``slowlog-log-slower-than 0`` logs every command, through this hook in
        the dispatcher; otherwise the dispatcher finds no hook and pays nothing."""
        self.slowlog_hook = self._log_slow if threshold_us == 0 else None

    def propagate(self, db_index: int, argv: list[bytes], targets: int = PROPAGATE_ALL) -> None:
        """Record a write for the log and the replicas (``targets`` narrows that: PUBLISH goes to
        replicas only), as Redis's propagate().

        With aof-timestamp-enabled, the first record of each second is preceded
        by a ``#TS:`` annotation, as feedAppendOnlyFile writes it.
        """
        if self.loading:
            return
        if self.replication.active and targets & self.propagation_targets & PROPAGATE_REPLICAS:
            self.replication.propagate(db_index, argv)
        values = self.config.values
        if not values["appendonly"] or not targets & self.propagation_targets & PROPAGATE_LOG:
            return
        if values["aof-timestamp-enabled"] and self.now // 1000 > self._log_second:
            self._log_second = self.now // 1000
            self._log_records.append(timestamp_annotation(self._log_second))
        if db_index != self._log_db:
            self._log_records.append(encode_command([b"SELECT", b"%d" % db_index]))
            self._log_db = db_index
        self._log_records.append(encode_command(argv))

    def begin_propagation_block(self) -> int:
        """Mark where a group of propagated writes starts (EXEC, a command logged as several)."""
        self._propagation_depth += 1
        if self._propagation_depth == 1 and self.replication.active:
            self.replication.begin_group()
        return len(self._log_records)

    def open_expiry_block(self) -> None:
        """A command is deleting a key it found expired: unless a block is open already, open one
        so that the DEL and the command's writes are wrapped together; the dispatcher closes it
        when the command is done (`close_expiry_block`). Not for SCAN and RANDOMKEY run on their
        own (Redis's CMD_TOUCHES_ARBITRARY_KEYS): their DELs go out one by one."""
        if self.expiry_block is None and not self._propagation_depth and self.expiry_wrapped:
            self.expiry_block = self.begin_propagation_block()

    @contextmanager
    def expiry_unwrapped(self):
        """While SCAN or RANDOMKEY runs on its own: the DELs of the keys it finds expired go out
        one by one (Redis's CMD_TOUCHES_ARBITRARY_KEYS)."""
        self.expiry_wrapped = False
        try:
            yield
        finally:
            self.expiry_wrapped = True

    def close_expiry_block(self) -> None:
        marker, self.expiry_block = self.expiry_block, None
        self.end_propagation_block(marker)

    def end_propagation_block(self, marker: int) -> None:
        """Wrap the group begun at ``marker`` in MULTI ... EXEC if it has more than one write.

        As Redis 7.0's propagatePendingCommands: one write alone is not
        wrapped, the SELECT goes before the MULTI, and a group inside a
        group (a command of an EXEC) is wrapped only with the outer one.
        """
        self._propagation_depth -= 1
        if self._propagation_depth:
            return
        self.replication.end_group()
        records = self._log_records
        writes = [i for i in range(marker, len(records)) if not records[i].startswith(_NOT_WRITES)]
        if len(writes) > 1:
            records.insert(writes[0], encode_command([b"MULTI"]))
            records.append(encode_command([b"EXEC"]))

    def notify_keyspace_event(self, event: str, key: bytes, db_index: int) -> None:
        """Publish a keyspace notification if `notify-keyspace-events` asks for it."""
        if self.keyspace_events:
            notifications.notify(self, self.config["notify-keyspace-events"], event, key, db_index)

    def unblock_timed_out(self) -> None:
        """Answer the blocked clients whose timeout has passed (see kvcore.blocking)."""
        self.blocking.time_out(self.now)

    def unblock(self, client: Client) -> None:
        """A blocked client was served or timed out: run what it sent meanwhile."""
        client.blocked = None
        pending, client.pending = client.pending, []
        run_requests(self, client, pending)

    def forget_blocked_hook(self, client: Client) -> None:
        """A blocked client went away: stop waiting for keys on its behalf."""
        self.blocking.forget(client)

    def new_clients_authenticated(self) -> bool:
        return self._limits.authenticated

    def default_user_changed(self) -> None:
        """New connections start authenticated as ``default`` while it is on and has ``nopass``."""
        default = self.acl.default
        self._limits.authenticated = default.enabled and default.nopass

    def find_client(self, client_id: int) -> Client | None:
        for client in self.clients.values():
            if client.id == client_id:
                return client
        return None

    # -- internals ---------------------------------------------------------
    def _forget(self, client: Client) -> None:
        self.client_output -= counted(client.obuf)
        client.obuf = 0
        self.partial_inputs.pop(client, None)
        drop_watches(client)
        if client.tracking is not None:
            self.tracking.disable(client)
        self.replication.detach(client)
        if client.monitor and client in self.monitors:
            self.monitors.remove(client)
        for own, registry in (
            (client.channels, self.pubsub_channels),
            (client.patterns, self.pubsub_patterns),
            (client.shard_channels, self.pubsub_shard_channels),
        ):
            for name in own:
                subscribers = registry.get(name)
                if subscribers is not None:
                    subscribers.pop(client, None)
                    if not subscribers:
                        del registry[name]
        forget_blocked = getattr(self, "forget_blocked_hook", None)
        if forget_blocked is not None and client.blocked is not None:
            forget_blocked(client)

    def _sample_ops(self) -> None:
        stats = self.stats
        elapsed = self.now - stats.last_sample_ms
        if elapsed >= 100:
            done = stats.total_commands_processed - stats.last_sample_commands
            stats.ops_samples.append(done * 1000 // elapsed)
            del stats.ops_samples[:-16]
            stats.last_sample_ms = self.now
            stats.last_sample_commands = stats.total_commands_processed

    def _clients_cron(self) -> None:
        """Each client: closed past ``timeout`` idle; its query and reply buffer models resized
        (kvcore.querybuf, kvcore.replybuf)."""
        timeout_ms = self.config["timeout"] * 1000
        now = self.now
        for client in self.clients.values():
            querybuf.cron(client, now)
            replybuf.cron(client, self, now)
            if timeout_ms and client.blocked is None and not client.subscriptions and now - client.last_ms > timeout_ms:
                self.close_after_reply(client)

    def _config_changed(self, name: str, value) -> None:
        if name == "notify-keyspace-events":
            self.keyspace_events = notifications.enabled(value)
        if name == "requirepass":
            self.acl.requirepass_changed(value)
            self.acl.replaced(self.acl.default, self.acl.default)  # its clients stay; new ones may have to log in
        elif name == "proto-max-bulk-len":
            self._limits.max_bulk_len = value
            for client in self.clients.values():
                client.reader.limits.max_bulk_len = value
        elif name == "slowlog-log-slower-than":
            self._set_slowlog_hook(value)
        elif name == "appendonly":
            self.aof.config_changed(value)
        elif name == "aof-disable-auto-gc":
            self.aof.auto_gc_changed(value)
        elif name in ("replica-read-only", "replica-serve-stale-data", "min-replicas-to-write", "min-replicas-max-lag"):
            self.update_write_gate()
        elif name == "maxmemory":
            self.update_write_gate()
            if value:  # as Redis's updateMaxmemory: evict now, not at the next command...
                used = self.evictor.used()
                if value < used:
                    self._effects.append(LogMessage("warning", (
                        f"WARNING: the new maxmemory value set via CONFIG SET ({value}) is smaller than the current "
                        f"memory usage ({used}). This will result in key eviction and/or the inability to accept "
                        "new write commands depending on the maxmemory-policy.")))
                if not self.in_exec and not self.scripts.running:  # not in the middle of a transaction
                    self.evictor.perform()  # or script: the next command's gate evicts, as Redis
        elif name == "maxmemory-policy":
            self.evictor.policy_changed()
        elif name == "client-output-buffer-limit":
            self.output_limits.configure(value)


_OOM_ALLOWED_IN_MULTI = ("exec", "discard", "quit", "reset")
_READ_LEN, _BIG_ARG = querybuf.READ_LEN, querybuf.BIG_ARG  # module globals for the hot path
LISTEN_FAILED = {  # why CONFIG SET port/bind failed, as Redis says it
    "port": "Unable to listen on this port. Check server logs.",
    "bind": "Failed to bind to specified addresses.",
}


def _declares_writes(node, cmd, argv: list[bytes]) -> bool:
    """A script or function whose declared flags allow writes (Redis counts it a write command)."""
    flags = declared_flags(node, cmd, argv)
    return flags is not None and "no-writes" not in flags


def _writes(client: Client, cmd) -> bool:
    """A write command, or an EXEC whose queue holds one, a script whose shebang allows writes
    counting as one (Redis's is_write_command)."""
    if cmd.flags & Flag.WRITE:
        return True
    return cmd.name == "exec" and client.multi is not None and any(
        queued.flags & Flag.WRITE or _declares_writes(client.node, queued, argv) for queued, argv in client.multi)


def _denies_stale(client: Client, cmd, argv: list[bytes]) -> bool:
    """What a replica whose link is down refuses with replica-serve-stale-data no: a command not
    flagged stale, a script or function that does not declare allow-stale, or an EXEC whose
    queue holds one (Redis's is_denystale_command)."""
    if not cmd.flags & Flag.STALE or _code_without_allow_stale(client.node, cmd, argv):
        return True
    return cmd.name == "exec" and client.multi is not None and any(
        not queued.flags & Flag.STALE or _code_without_allow_stale(client.node, queued, queued_argv)
        for queued, queued_argv in client.multi)


def _code_without_allow_stale(node, cmd, argv: list[bytes]) -> bool:
    """EVAL and FCALL are flagged stale for the scripts that declare allow-stale; Redis refuses
    the others (those without a shebang too) on a stale replica."""
    declaring = _CODE_COMMANDS.get(cmd.name)
    if declaring is None:
        return False
    flags = declared_flags(node, node.table[declaring], argv)
    return flags is None or "allow-stale" not in flags


def _uses_memory(client: Client, cmd) -> bool:
    """What Redis refuses when out of memory: commands flagged denyoom, anything queued in MULTI
    but EXEC, DISCARD, QUIT and RESET, and an EXEC whose queue holds a denyoom command."""
    if cmd.flags & Flag.DENYOOM:
        return True
    if client.multi is None:
        return False
    if cmd.name != "exec":
        return cmd.name not in _OOM_ALLOWED_IN_MULTI
    return any(queued.flags & Flag.DENYOOM for queued, _ in client.multi)
