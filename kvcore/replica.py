"""A replica's link to its master (REPLICAOF host port), as Redis 7.0's replica runs it.

The link's states, named as ROLE names them::

    connect ──Connect──▶ connecting ──connected──▶ handshake ──+FULLRESYNC──▶ sync ──payload──▶ connected
       ▲                                               └──────────+CONTINUE────────────────────────┘
       └─────────── any failure, a timeout, the connection lost (retried from the cron) ◀──────────┘

The handshake is Redis's: PING; then AUTH (with masteruser/masterauth, if set), REPLCONF
listening-port and REPLCONF capa eof capa psync2 in one write, their replies read in order;
then PSYNC with the replication id and offset the node holds (a partial resync if the
master's backlog still has what follows), or PSYNC ? -1 after a failed transfer. The
payload of a full resync is ``$<len>\\r\\n<rdb>`` or the diskless ``$EOF:<mark>\\r\\n<rdb><mark>``;
it replaces the dataset. From then on the master's stream runs as the master client: no
replies (REPLCONF GETACK is answered with REPLCONF ACK <offset>), every byte of a command
counted into the offset once the command ran, and the same bytes passed on to the node's
own backlog and replicas (`ReplicationStream.feed`), so that the whole chain shares one
offset. The cron sends REPLCONF ACK every second and drops a link that stays silent past
repl-timeout; a link that drops is retried on the next tick.
"""

from __future__ import annotations

from kvcore import errors, rdb
from kvcore.aof import encode_command
from kvcore.client import Client, ReplyMode
from kvcore.effects import Close, Connect, LogMessage, Send, StepLoading
from kvcore.failover import IN_PROGRESS
from kvcore.loading import Loading, progress_fields, rdb_used_mem
from kvcore.protocol import Limits
from kvcore.rdb_feed import RdbFeed

CONNECT, CONNECTING, HANDSHAKE, SYNC, CONNECTED = "connect", "connecting", "handshake", "sync", "connected"
LINK_CONNS = 1 << 48  # the first connection id the node gives its own outgoing connections
ACK_PERIOD_MS = 1000
RETRY_MS = 1000  # between attempts to connect
FAILOVER_RETRY_MS = 100  # while failing over to this master (Redis runs its replication cron 10 times faster)
EOF_MARK_LEN = 40
_PING_ACCEPTED = (b"-NOAUTH", b"-NOPERM", b"-ERR operation not permitted")


class StreamError(Exception):
    """The master sent bytes that are no request (the link is dropped)."""


def split_stream(buffer: bytearray, pos: int = 0) -> tuple[list[tuple[list[bytes], int]], int]:
    """The complete multibulk requests in ``buffer`` from ``pos``, each with its size in
    bytes, and where they end; a partial one stays for the next call."""
    try:
        return _split(buffer, pos)
    except ValueError:
        raise StreamError("Protocol error: invalid multibulk length") from None


def _split(buffer: bytearray, pos: int) -> tuple[list[tuple[list[bytes], int]], int]:
    found = []
    end = len(buffer)
    while pos < end:
        if buffer[pos] != 0x2A:  # '*'
            raise StreamError(f"Protocol error: expected '*', got '{chr(buffer[pos])}'")
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            break
        count = int(buffer[pos + 1:line_end])
        cursor = line_end + 2
        argv = []
        for _ in range(count):
            line_end = buffer.find(b"\r\n", cursor)
            if line_end < 0 or buffer[cursor] != 0x24:  # '$'
                if line_end >= 0:
                    raise StreamError("Protocol error: expected '$'")
                break
            size = int(buffer[cursor + 1:line_end])
            start = line_end + 2
            if start + size + 2 > end:
                break
            argv.append(bytes(buffer[start:start + size]))
            cursor = start + size + 2
        if len(argv) < count:
            break
        found.append((argv, cursor - pos))
        pos = cursor
    return found, pos


class PayloadLoading:
    """A payload read into the dataset as it arrives (``repl-diskless-load``), as a load:
    clients get -LOADING meanwhile (`Node._refuse_writes`) and INFO shows its progress. The
    old dataset stays until the payload is complete, so a transfer cut short leaves it
    whole (Redis's swapdb; on-empty-db loads this way only into an empty dataset)."""

    def __init__(self, link, now: int) -> None:
        self.link = link
        self.started_ms = now

    def info_fields(self, now: int) -> list[tuple[str, object]]:
        total = max(self.link.transfer_size, 0)  # unknown for an $EOF: payload
        feed = self.link.feed
        return progress_fields(self.started_ms, now, total, feed.position, rdb_used_mem(feed.parsed))


class SyncLoading(Loading):
    """A disk-based full sync's payload, loaded in steps as the start-up load is (the runtime
    steps it, serving clients and the cluster bus between steps), as Redis's rdbLoad of the
    received file is. The link reads no more of its master until it is loaded."""

    def __init__(self, link, payload: bytes, now: int) -> None:
        super().__init__(link.node, payload, now)
        self.link = link
        self.failed = False

    def step(self, now: int) -> int:
        try:
            return super().step(now)
        except rdb.RdbError as exc:
            self.failed = True
            self.link.sync_load_failed(exc)
            return 0

    @property
    def done(self) -> bool:
        return self.result is not None or self.failed

    def installed(self, result: rdb.LoadResult) -> None:
        link = self.link
        if link.sync_loading is not self:  # the link was dropped meanwhile: the data stay, unfollowed
            link.node.aof.config_changed(link.node.config["appendonly"])
            return
        link.sync_loading = None
        link.sync_loaded(result)
        if link.lost_while_loading:
            link.lost_while_loading = False
            link.closed()
        elif link.buffer:  # what the master streamed while the payload loaded
            link.receive(b"")


class MasterLink:
    """The node's link to its master (``node.master_link``) while it is a replica."""

    def __init__(self, node, host: str, port: int, db_index: int = 0) -> None:
        self.node = node
        self.host = host
        self.port = port
        self.state = CONNECT
        self.conn = 0  # the connection of the current attempt (0: none)
        self.client: Client | None = None  # the master client, once in sync
        self.buffer = bytearray()
        self.uncounted = 0  # bytes at the start of the buffer run inside a MULTI not yet EXECuted
        self.running: list[bytes] = []  # the master's command being run (for the log of an error)
        self.db_index = db_index  # the database the master client had selected (kept for a partial resync)
        self.expected: list[str] = []  # the handshake replies still due, in order
        self.full_sync_failed = False  # ask for a full resync (PSYNC ? -1)
        self.transfer_size = -1  # the payload's length; -1 before its header, -2 for an $EOF: payload
        self.eof_mark = b""
        # Timers read node.steady(), not the wall clock (a stepped clock stalls none of them).
        self.last_io_ms = node.steady()  # of the last bytes read, or the start of the current state
        self.last_ack_ms = 0
        self.down_since_ms: int | None = None  # when a link that was up dropped (None: never up since REPLICAOF)
        self.retry_at_ms = 0  # in state connect: when the cron may try again (once a second, as Redis's)
        self.laddr = ""  # this end of the connection, once connected
        # Keys given a TTL by this replica's own clients (replica-read-only no): no master
        # will delete them, so the replica's cron does (INFO slave_expires_tracked_keys).
        self.written_expires: dict[tuple[int, bytes], None] = {}
        self.full_sync: tuple[str, int] = ("", 0)  # the replication id and offset a +FULLRESYNC announced
        self.loading: PayloadLoading | None = None  # the payload loads as it arrives (repl-diskless-load)
        self.feed: RdbFeed | None = None  # what reads that payload as it arrives
        self.payload_keys_read = 0  # keys it read, of this payload or the last (net's key-load-delay)
        self.payload_left = 0  # bytes of a $<size> payload still to come
        self.mark_seen = b""  # the last bytes of an $EOF: payload read so far (its end mark?)
        self.sync_loading: SyncLoading | None = None  # a disk-based payload, complete, loading in steps
        self.lost_while_loading = False  # the master closed the link meanwhile (heard once loaded)

    # -- ROLE and INFO -------------------------------------------------------
    @property
    def processed_offset(self) -> int:
        """The stream offset of the last command run (slave_repl_offset)."""
        return self.node.replication.offset

    def read_offset(self) -> int:
        """The stream offset read so far, run or not (slave_read_repl_offset)."""
        return self.node.replication.offset + (len(self.buffer) if self.state == CONNECTED else 0)

    # -- inputs ----------------------------------------------------------------
    def tick(self) -> None:
        """The replication cron: expire the keys this replica wrote, connect, time out, acknowledge."""
        node = self.node
        now = node.steady()
        timeout_ms = node.config["repl-timeout"] * 1000
        if self.written_expires and node.active_expire_enabled:
            self._expire_written_keys()
        if self.state == CONNECT:
            if now >= self.retry_at_ms:
                self.connect()
        elif self.state in (CONNECTING, HANDSHAKE) and now - self.last_io_ms > timeout_ms:  # as Redis: since the last I/O
            self._fail("Timeout connecting to the MASTER...")
        elif self.state == SYNC and now - self.last_io_ms > timeout_ms:
            self._fail("Timeout receiving bulk data from MASTER... If the problem persists "
                       "try to set the 'repl-timeout' parameter in redis.conf to a larger value.")
        elif self.state == CONNECTED:
            if now - self.last_io_ms > timeout_ms:
                self._fail("MASTER timeout: no data nor PING received...")
            elif now - self.last_ack_ms >= ACK_PERIOD_MS:
                self.send_ack()

    def _expire_written_keys(self) -> None:
        node = self.node
        for db_index, key in list(self.written_expires):
            db = node.dbs[db_index]
            when = db.expires.get(key)
            if when is None:
                del self.written_expires[(db_index, key)]
            elif when < node.now:
                db.expire_now(key)
                del self.written_expires[(db_index, key)]

    def connected(self, laddr: str) -> None:
        self.laddr = laddr
        self._log("notice", "Non blocking connect for SYNC fired the event.")
        self._enter(HANDSHAKE)
        self.expected = ["ping"]
        self._send([b"PING"])

    def connect_failed(self, error: str) -> None:
        self._log("warning", f"Error condition on socket for SYNC: {error}")
        self.conn = 0
        self._enter(CONNECT)
        self.retry_at_ms = self.node.steady() + self._retry_ms()

    def closed(self) -> None:
        """The master (or the network) ended the link (unread while a payload loads, as Redis's
        link is: the loss is heard once the replica is online)."""
        if self.sync_loading is not None:
            self.lost_while_loading = True
        elif self.state == CONNECTED:
            self._log("warning", "Connection with master lost.")
            self._log("notice", "Caching the disconnected master state.")
            self._reset()
            self._log("notice", f"Reconnecting to MASTER {self.host}:{self.port}")
            self.connect()  # at once, as Redis does when its master goes away
        elif self.payload_loading:
            self._cut_while_loading()
            self._reset()
        else:
            self._log("warning", "Master closed the connection during the handshake or the transfer.")
            self._reset()

    def receive(self, data: bytes) -> None:
        self.last_io_ms = self.node.steady()
        self.buffer += data
        if self.sync_loading is not None:
            return
        try:
            if self.state == HANDSHAKE:
                self._handshake()
            if self.state == SYNC:
                self._transfer()
            if self.state == CONNECTED and not self.node.paused:  # a paused replica holds its master's stream
                self._run_stream()
        except StreamError as exc:
            self._fail(str(exc))

    def unpaused(self) -> None:
        """CLIENT PAUSE ended: run what the master sent meanwhile."""
        if self.state == CONNECTED and self.buffer:
            try:
                self._run_stream()
            except StreamError as exc:
                self._fail(str(exc))

    # -- the handshake -----------------------------------------------------------
    def _handshake(self) -> None:
        while self.state == HANDSHAKE and self.expected:
            line = self._line()
            if line is None:
                return
            step = self.expected.pop(0)
            getattr(self, "_reply_to_" + step)(line)

    def _reply_to_ping(self, line: bytes) -> None:
        if line.startswith(b"-") and not line.startswith(_PING_ACCEPTED):
            self._fail(f"Error reply to PING from master: '{_text(line)}'")
            return
        self._log("notice", "Master replied to PING, replication can continue...")
        config = self.node.config
        requests = []
        if config["masterauth"]:
            auth = [b"AUTH", config["masteruser"].encode(), config["masterauth"].encode()]
            requests.append(auth if config["masteruser"] else [b"AUTH", auth[2]])
            self.expected.append("auth")
        port = config["replica-announce-port"] or self.node.info.tcp_port or config["port"]
        requests.append([b"REPLCONF", b"listening-port", b"%d" % port])
        self.expected.append("port")
        if config["replica-announce-ip"]:
            requests.append([b"REPLCONF", b"ip-address", config["replica-announce-ip"].encode()])
            self.expected.append("ip")
        requests.append([b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
        self.expected.append("capa")
        self._send(*requests)

    def _reply_to_auth(self, line: bytes) -> None:
        if line.startswith(b"-"):
            self._fail(f"Unable to AUTH to MASTER: {_text(line)}")

    def _reply_to_port(self, line: bytes) -> None:
        if line.startswith(b"-"):
            self._log("notice", f"(Non critical) Master does not understand REPLCONF listening-port: {_text(line)}")

    def _reply_to_ip(self, line: bytes) -> None:
        if line.startswith(b"-"):
            self._log("notice", f"(Non critical) Master does not understand REPLCONF ip-address: {_text(line)}")

    def _reply_to_capa(self, line: bytes) -> None:
        if line.startswith(b"-"):
            self._log("notice", f"(Non critical) Master does not understand REPLCONF capa: {_text(line)}")
        stream = self.node.replication
        if self.full_sync_failed:
            self._log("notice", "Partial resynchronization not possible (no cached master)")
            self._send([b"PSYNC", b"?", b"-1"])
        else:
            self._log("notice", "Trying a partial resynchronization (request %s:%d)." % (stream.replid, stream.offset + 1))
            self._send([b"PSYNC", stream.replid.encode(), b"%d" % (stream.offset + 1), *self._failover_argument()])
        self.expected.append("psync")

    def _failover_argument(self) -> list[bytes]:
        """FAILOVER after PSYNC's arguments when this node hands its master role to this master."""
        return [b"FAILOVER"] if self.node.failover.state == IN_PROGRESS else []

    def _reply_to_psync(self, line: bytes) -> None:
        if not line:  # a keepalive newline while the master waits to start the transfer (diskless sync delay)
            self.expected.insert(0, "psync")
            return
        words = line.split()
        accepted = True
        if words and words[0] == b"+FULLRESYNC" and len(words) == 3:
            replid, offset = words[1].decode(), int(words[2])
            self._log("notice", f"Full resync from master: {replid}:{offset}")
            self.full_sync_failed = True  # until the payload is loaded
            self.full_sync = (replid, offset)
            self.transfer_size = -1
            self._enter(SYNC)
        elif words and words[0] == b"+CONTINUE":
            self._continue(words[1].decode() if len(words) > 1 else "")
        elif line.startswith((b"-NOMASTERLINK", b"-LOADING")):
            self._fail(f"Master is currently unable to PSYNC but should be in the future: {_text(line)}", "notice")
            accepted = False
        elif line.startswith(b"-ERR"):
            self._fail(f"Master does not support PSYNC or is in error state (reply: {_text(line)})", "notice")
            accepted = False
        else:
            self._fail(f"Unexpected reply to PSYNC from master: {_text(line)}")
            accepted = False
        self.node.failover.psync_answered(accepted)

    def _continue(self, replid: str) -> None:
        """+CONTINUE: the master's backlog holds what follows our offset; a new id means it was promoted."""
        stream = self.node.replication
        self._log("notice", "Successful partial resynchronization with master.")
        if replid and replid != stream.replid:
            stream.new_history(replid)
            self._log("notice", f"Master replication ID changed to {replid}")
        self._log("notice", "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
        self._online()

    # -- the payload ---------------------------------------------------------------
    def _transfer(self) -> None:
        if self.transfer_size == -1 and not self._payload_header():
            return
        if self.feed is not None:
            self._feed_payload()
            return
        buffer = self.buffer
        if self.transfer_size >= 0:
            if len(buffer) < self.transfer_size:
                return
            payload = bytes(buffer[:self.transfer_size])
            del buffer[:self.transfer_size]
        else:
            if len(buffer) < EOF_MARK_LEN or buffer[-EOF_MARK_LEN:] != self.eof_mark:
                return
            payload = bytes(buffer[:-EOF_MARK_LEN])
            del buffer[:]
        self._load(payload)

    def _feed_payload(self) -> None:
        """A diskless load reads the payload as it comes (`kvcore.rdb_feed`); what follows its
        end (the $EOF: mark, then the master's stream) stays in the buffer."""
        buffer, feed = self.buffer, self.feed
        if self.transfer_size >= 0:
            chunk = bytes(buffer[:self.payload_left])
            self.payload_left -= len(chunk)
            last = not self.payload_left
        else:
            chunk = bytes(buffer)
            self.mark_seen = (self.mark_seen + chunk[-EOF_MARK_LEN:])[-EOF_MARK_LEN:]
            last = self.mark_seen == self.eof_mark
        del buffer[:len(chunk)]
        try:
            done = feed.feed(chunk, last)
            self.payload_keys_read = feed.keys_read
            if not done:
                if self.transfer_size >= 0 and last:  # all its bytes came, and it did not end
                    raise rdb.RdbError(rdb.EOF_ERROR, feed.position)
                return
            if self.transfer_size < 0:  # the mark must follow the payload at once
                if len(feed.rest) < EOF_MARK_LEN:
                    return
                if feed.rest[:EOF_MARK_LEN] != self.eof_mark:
                    raise rdb.RdbError("Replication stream EOF marker is broken", feed.position)
            if self.transfer_size < 0:  # the master's stream follows the mark (a $<size> payload's rest is its own)
                buffer[:0] = feed.rest[EOF_MARK_LEN:]
            snapshot = feed.snapshot()
        except rdb.RdbError as exc:
            self._stop_log()
            self._end_loading()
            self.sync_load_failed(exc)
            return
        self._stop_log()
        self._end_loading()
        self.sync_loaded(rdb.install(self.node, snapshot))

    def _payload_header(self) -> bool:
        while True:
            line = self._line()
            if line is None:
                return False
            if line:  # the master sends empty lines while it prepares the payload
                break
        if line.startswith(b"-"):
            raise StreamError(f"MASTER aborted replication with an error: {_text(line)}")
        diskless = self._diskless_load()
        target = "to parser" if diskless else "to disk"
        if line.startswith(b"$EOF:") and len(line) == 5 + EOF_MARK_LEN:
            self.eof_mark = line[5:]
            self.mark_seen = b""
            self.transfer_size = -2
            self._log("notice", f"MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {target}")
        elif line.startswith(b"$") and line[1:].isdigit():
            self.transfer_size = self.payload_left = int(line[1:])
            self._log("notice", f"MASTER <-> REPLICA sync: receiving {self.transfer_size} bytes from master {target}")
        else:
            raise StreamError(f"Bad protocol from MASTER, the first byte is not '$' (we received '{_text(line)}'), "
                              "are you sure the host and port are right?")
        if diskless:
            self._start_loading()
        return True

    def _diskless_load(self) -> bool:
        """repl-diskless-load swapdb, or on-empty-db with nothing to lose (Redis's useDisklessLoad)."""
        node = self.node
        mode = node.config["repl-diskless-load"]
        return mode == "swapdb" or (mode == "on-empty-db" and not any(db.data for db in node.dbs))

    def _start_loading(self) -> None:
        """The dataset is loading from now on, to clients: -LOADING, or, when the payload continues
        the replica's own history under swapdb, Redis 7.0's async loading (the old dataset served
        meanwhile, only a few commands refused)."""
        node = self.node
        self.feed = RdbFeed(node.config, len(node.dbs), node.config["rdbchecksum"])
        self.payload_keys_read = 0
        if node.config["repl-diskless-load"] == "swapdb" and self.full_sync[0] == node.replication.replid:
            node.async_loading = True
        else:
            self.loading = node.loading_file = PayloadLoading(self, node.now)
            node.loading = True
        node.update_write_gate()
        self._log("notice", "MASTER <-> REPLICA sync: Loading DB in memory")

    def _cut_while_loading(self) -> None:
        """The master went away mid-payload: the load fails as Redis's reading from the socket does."""
        self._log("warning", f"Internal error in RDB reading offset {self.feed.position} function at rdb.c:0 -> "
                             "Unexpected EOF reading RDB file")
        self._log("warning", "Failed trying to load the MASTER synchronization DB from socket, check server logs.")
        if self.node.config["repl-diskless-load"] == "swapdb":
            self._log("notice", "MASTER <-> REPLICA sync: Discarding temporary DB in background")

    @property
    def payload_loading(self) -> bool:
        """The payload arriving is loading as it comes (repl-diskless-load), asynchronously or not."""
        return self.node.async_loading or self.loading is not None

    def _end_loading(self) -> None:
        node = self.node
        self.feed = None
        if self.payload_loading:
            node.async_loading = False
            if self.loading is not None and node.loading_file is self.loading:
                node.loading_file = None
                node.loading = False
            self.loading = None
            node.update_write_gate()

    def _load(self, payload: bytes) -> None:
        """A disk-based payload, complete: loaded in steps, as Redis's rdbLoad of the file."""
        node = self.node
        self._stop_log()
        self._log("notice", "MASTER <-> REPLICA sync: Flushing old data")
        self._log("notice", "MASTER <-> REPLICA sync: Loading DB in memory")
        loading = self.sync_loading = SyncLoading(self, payload, node.now)
        loading.step(node.now)  # Redis serves nobody before the first interval's bytes are in
        if not loading.done:
            node.emit(StepLoading())

    def _stop_log(self) -> None:
        """As Redis: the log stops for the load (a rewrite in flight goes), and starts again
        through a rewrite, whose base is the loaded data: the old log does not hold them."""
        self.node.aof.config_changed(False)

    def sync_load_failed(self, exc: rdb.RdbError) -> None:
        self._fail(f"Failed trying to load the MASTER synchronization DB from socket: {exc}")
        self.node.aof.config_changed(self.node.config["appendonly"])

    def sync_loaded(self, result: rdb.LoadResult) -> None:
        """The payload is in: the replica is online, at the offset its +FULLRESYNC announced."""
        node = self.node
        self._log("notice", f"Done loading RDB, keys loaded: {result.keys_loaded}, keys expired: {result.keys_expired}.")
        replid, offset = self.full_sync
        node.replication.full_sync_loaded(replid, offset)
        self.db_index = 0  # the master selects a database before its first write
        node.stats.dirty += 1  # the dataset changed as a whole: the save schedule counts it
        self.full_sync_failed = False
        self._log("notice", "MASTER <-> REPLICA sync: Finished with success")
        self._online()
        node.aof.config_changed(node.config["appendonly"])
        self.send_ack()  # a master sending a diskless payload waits for it before streaming

    def _online(self) -> None:
        """The master client takes over the connection: its stream runs from here."""
        node = self.node
        limits = Limits(node.config["proto-max-bulk-len"], True)
        client = Client(self.conn, node.next_client_id, node, f"{self.host}:{self.port}", self.laddr, limits)
        node.next_client_id += 1
        client.flags_extra = "M"
        client.reply_mode = ReplyMode.OFF
        client.db = node.dbs[self.db_index]  # a partial resync goes on in the database it had selected
        node.clients[self.conn] = client
        self.client = client
        self.down_since_ms = None
        self._enter(CONNECTED)

    # -- the stream ----------------------------------------------------------------
    def _run_stream(self) -> None:
        """Run every complete command of the stream as the master client, counting its bytes, and
        serve the clients blocked on the keys each one wrote.

        Inside MULTI the bytes are run (queued) but not counted until EXEC, as Redis counts
        them: if the link drops before the EXEC, the master sends the whole transaction again.
        """
        from kvcore.dispatch import execute  # dispatch imports the commands, which import this module

        node = self.node
        requests, used = split_stream(self.buffer, self.uncounted)
        if not requests:
            return
        counted = 0
        position = self.uncounted
        client = self.client
        blocking = node.blocking
        for argv, size in requests:
            self.running = argv
            node.master_executing = True
            try:
                execute(node, client, argv)
            finally:
                node.master_executing = False
            if self.client is not client:  # the command ended the link (REPLICAOF NO ONE in a script...)
                return
            if blocking.ready:  # a replica's XREAD BLOCK is served after each command, as Redis's processCommand
                blocking.serve_ready()
            position += size
            if client.multi is None:
                node.replication.feed(bytes(self.buffer[counted:position]))
                counted = position
        del self.buffer[:counted]
        self.uncounted = position - counted

    def error_replied(self, error) -> None:
        """The master's stream made this replica answer with an error (propagation-error-behavior
        ignore: logged, as Redis logs it, and the stream goes on)."""
        cmd = self.node.table.get(self.running[0].lower()) if self.running else None
        name = cmd.name if cmd is not None else "<unknown>"
        self._log("warning", errors.critical_error_line("replica", "master", error.text, name))

    def send_ack(self) -> None:
        """REPLCONF ACK <offset>: how far this replica has run the stream."""
        self.last_ack_ms = self.node.steady()
        self._send([b"REPLCONF", b"ACK", b"%d" % self.processed_offset])

    # -- internals -------------------------------------------------------------------
    def connect(self) -> None:
        """Open a new connection to the master (REPLICAOF, and the cron's retries)."""
        node = self.node
        self._log("notice", f"Connecting to MASTER {self.host}:{self.port}")
        self._log("notice", "MASTER <-> REPLICA sync started")
        self.conn = node.new_link_conn()
        self.buffer = bytearray()
        self._enter(CONNECTING)
        node.emit(Connect(self.conn, self.host, self.port, node.config["bind-source-addr"]))

    def _enter(self, state: str) -> None:
        self.state = state
        self.last_io_ms = self.node.steady()

    def _line(self) -> bytes | None:
        """The next reply line of the handshake (without its CRLF), or None until it is whole."""
        buffer = self.buffer
        end = buffer.find(b"\n")
        if end < 0:
            return None
        line = bytes(buffer[:end]).rstrip(b"\r")
        del buffer[:end + 1]
        return line

    def _send(self, *requests: list[bytes]) -> None:
        self.node.emit(Send(self.conn, b"".join(encode_command(argv) for argv in requests)))

    def _fail(self, why: str, level: str = "warning") -> None:
        """Drop the connection of this attempt; the cron tries again."""
        self._log(level, why)
        if self.conn:
            self.node.emit(Close(self.conn))
        self._reset()

    def _reset(self) -> None:
        """Back to connect: forget this attempt and the master client."""
        node = self.node
        if self.client is not None:
            self.db_index = self.client.db.index
            node.forget_master_client(self.client)
            self.client = None
            self.down_since_ms = node.steady()
        self._end_loading()  # a payload cut short: the old dataset stays
        self.sync_loading = None
        self.lost_while_loading = False
        self.conn = 0
        self.buffer = bytearray()
        self.uncounted = 0
        self.expected = []
        self._enter(CONNECT)
        self.retry_at_ms = node.steady() + self._retry_ms()

    def stop(self) -> None:
        """REPLICAOF NO ONE or another master: close the link, whatever its state (a link in sync
        is kept as a cached master, for a partial resync, as Redis logs it)."""
        if self.client is not None:
            self._log("warning", "Connection with master lost.")
            self._log("notice", "Caching the disconnected master state.")
        if self.conn:
            self.node.emit(Close(self.conn))
        self._reset()

    def _retry_ms(self) -> int:
        return FAILOVER_RETRY_MS if self.node.failover.state == IN_PROGRESS else RETRY_MS

    def _log(self, level: str, text: str) -> None:
        self.node.emit(LogMessage(level, text))


def _text(line: bytes) -> str:
    return line.decode("utf-8", "replace")
