"""The replication stream a node produces, its backlog, and the replicas it feeds.

What is propagated is what the log gets (`Node.propagate`: deterministic
commands, relative expiries made absolute, expired keys as DEL), encoded as
RESP arrays, with a SELECT whenever the database differs from the last one
sent (forced again when a replica attaches with a full sync, as Redis resets
slaveseldb), and a group of more than one write (an EXEC, or a command
propagated as several) wrapped in MULTI ... EXEC, the SELECT before the MULTI.
One write alone is not wrapped, as Redis 7.0's propagatePendingCommands does.

The stream has an id (``replid``, 40 hex characters) and an offset (the bytes
produced under it, master_repl_offset). Once a first replica attached, the
last ``repl-backlog-size`` bytes are kept in a backlog, so that a replica
that comes back with ``PSYNC <replid> <offset>`` gets ``+CONTINUE`` and only
what it missed. A promoted replica keeps its former master's id as
``replid2`` (valid up to ``second_offset``), so its former siblings can
continue with it too.

A replica attaches with SYNC (``$<length>\\r\\n`` and an RDB image of the dataset
at that instant, no CRLF after it, then the stream) or PSYNC (``+FULLRESYNC
<replid> <offset>`` before the same, or ``+CONTINUE``). Replies to what a
replica sends are not sent. With ``repl-diskless-sync`` (Redis's default) a
replica that can read a diskless payload (REPLCONF capa eof) waits, as in
Redis, ``repl-diskless-sync-delay`` seconds for others to join its transfer
(or until ``repl-diskless-sync-max-replicas`` are waiting), sent a newline
each second meanwhile; they all then get the same image, as
``$EOF:<mark>\\r\\n<image><mark>``. The image is made at once; a forked child
sends it (`SendImage`), so a slow replica holds up that child, not the
server, and `rdb_bgsave_in_progress` is 1 meanwhile. A node that is itself a
replica produces no stream of its own: it passes on its master's, byte for
byte (`feed`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from kvcore import rdb
from kvcore.aof import encode_command
from kvcore.effects import REPLICAS_GONE, CancelJob, LogMessage, ReadFiles, SendImage

NO_REPLID = "0" * 40
_PING = encode_command([b"PING"])
_GETACK = encode_command([b"REPLCONF", b"GETACK", b"*"])


class ReplicaLink:
    """What a master knows of one replica connection (INFO's slaveN line, WAIT)."""

    __slots__ = ("client", "listening_port", "ip", "capa", "online", "psync", "ack_offset", "ack_ms",
                 "functions_only")

    def __init__(self, client) -> None:
        self.client = client
        self.listening_port = 0
        self.ip = ""  # REPLCONF ip-address (replica-announce-ip)
        self.capa: set[bytes] = set()
        self.online = False
        self.psync = False  # attached with PSYNC: it sends ACKs, and is timed out without them
        self.ack_offset = 0
        self.ack_ms = client.node.steady()
        self.functions_only = False  # REPLCONF rdb-filter-only functions: an image of the libraries only


class Transfer:
    """The replicas a child is sending one full sync's payload to (``diskless``: as ``$EOF:``),
    each with when it last took some of it (Redis's repl_last_partial_write: a diskless one that
    takes nothing for repl-timeout is dropped)."""

    __slots__ = ("clients", "diskless")

    def __init__(self, clients: list, diskless: bool, now_ms: int) -> None:
        self.clients: dict = dict.fromkeys(clients, now_ms)  # client -> node.steady() it last took bytes
        self.diskless = diskless


class DiskSync:
    """The replicas of a disk-based full sync while its image is saved as a snapshot (Redis's BGSAVE
    for replication, `kvcore.snapshots`), then read back (``read_job``) to be sent; those asking
    meanwhile share it. ``offset``: the stream's offset at the image."""

    __slots__ = ("clients", "offset", "read_job")

    def __init__(self, offset: int) -> None:
        self.clients: list = []
        self.offset = offset
        self.read_job: int | None = None


class ReplicationStream:
    """A node's stream, backlog and replicas (``node.replication``)."""

    def __init__(self, node) -> None:
        self.node = node
        self.replicas: list = []  # clients fed the stream
        self.links: dict = {}  # client -> ReplicaLink, from its first REPLCONF or SYNC
        self.replid = new_replid(node.rng)
        self.replid2 = NO_REPLID
        self.second_offset = -1
        self.offset = 0  # master_repl_offset: the bytes of stream produced so far
        self.backlog: bytearray | None = None  # the stream's last bytes, once a replica attached
        self.active = False  # writes are propagated into the stream (a master with a backlog)
        self.last_ping_ms = node.steady()
        self.waits: list[tuple] = []  # WAIT: (client, its Blocked record, offset, replicas wanted, deadline ms or 0)
        self.acks_wanted = False  # a GETACK put off by a pause (`request_acks`)
        self.delayed: list[tuple] = []  # (client, psync): full syncs waiting for a diskless transfer to start
        self.unacked: dict = {}  # client -> (psync, offset of its image): its image on its way (or, diskless, not ACKed)
        self.transfers: dict[int, Transfer] = {}  # job -> a full sync's payload a child is sending (SendImage)
        self.disk_sync: DiskSync | None = None  # a disk-based sync's snapshot being saved, or read back
        self.waiting_bgsave: list[tuple] = []  # (client, psync): disk-based syncs waiting for another child to end
        self.delayed_since = 0  # node.steady() when the first of them asked
        self.last_newline_ms = 0
        self._db = -1  # the database the stream last selected
        self._group: list[tuple[int, list[bytes]]] | None = None

    # -- the backlog -------------------------------------------------------------
    def histlen(self) -> int:
        """repl_backlog_histlen: the backlog's size, or more while a replica still needs older bytes."""
        return min(len(self.backlog), self._kept()) if self.backlog is not None else 0

    def _kept(self) -> int:
        """How much of the stream's end the backlog keeps: repl-backlog-size, or, as Redis 7.0's
        shared replication buffer, back to the image of a replica loading its diskless payload
        (what follows the image is sent from here once it has loaded)."""
        size = self.node.config["repl-backlog-size"]
        if self.unacked:
            return max(size, self.offset - min(image for _, image in self.unacked.values()))
        return size

    def held_for(self, client) -> int:
        """The stream bytes kept for a replica loading its payload (its output, as Redis counts it)."""
        entry = self.unacked.get(client)
        return self.offset - entry[1] if entry is not None else 0

    def first_byte_offset(self) -> int:
        return self.offset - self.histlen() + 1 if self.backlog is not None else 0

    def _create_backlog(self) -> None:
        self.backlog = bytearray()
        self.active = not self.node.is_replica

    def feed(self, data: bytes) -> None:
        """Bytes of stream: into the backlog and to every replica."""
        self.offset += len(data)
        backlog = self.backlog
        if backlog is not None:
            backlog += data
            size = self.node.config["repl-backlog-size"]
            if len(backlog) > 2 * size:  # trimmed in steps: a write does not move the whole backlog
                kept = self._kept()
                if len(backlog) > kept:
                    del backlog[:len(backlog) - kept]
        for client in self.replicas:
            self._write(client, data)

    # -- snapshots ---------------------------------------------------------------
    def selected_db(self) -> int:
        """The database the stream is in (its last SELECT), 0 before any."""
        return max(self._db, 0)

    def save_info(self) -> list[tuple[bytes, bytes]]:
        """The AUX fields a snapshot records of the stream (repl-stream-db, repl-id, repl-offset),
        so that a replica restarted from it can continue with PSYNC; none without a stream."""
        node = self.node
        link = node.master_link
        if link is not None:
            if link.client is None:
                return []
            db_index = link.client.db.index
        elif self.backlog is not None:
            db_index = self.selected_db()
        else:
            return []
        return [(b"repl-stream-db", b"%d" % db_index), (b"repl-id", self.replid.encode()),
                (b"repl-offset", b"%d" % self.offset)]

    def snapshot_loaded(self, aux: dict[bytes, bytes], dropped: list[tuple[int, bytes]] = ()) -> None:
        """A node started from a snapshot with these fields. A replica's PSYNC continues from them.
        A master continues the saved stream under a new id, as Redis 7.0's loadDataFromDisk: the
        saved id is its second one (valid up to the saved offset), and the backlog starts there
        with the deletions of the keys that expired while it was down (``dropped``), so that its
        replicas continue with it."""
        link = self.node.master_link
        if b"repl-id" not in aux or b"repl-offset" not in aux:
            return
        saved_id, saved_offset = aux[b"repl-id"].decode("latin-1"), int(aux[b"repl-offset"])
        if link is not None:
            self.replid, self.offset = saved_id, saved_offset
            link.db_index = int(aux.get(b"repl-stream-db", b"0"))
            link.full_sync_failed = False  # the snapshot's stream is a master to continue from
            return
        self.replid2, self.second_offset, self.offset = saved_id, saved_offset + 1, saved_offset
        self._create_backlog()
        self._db = -1
        deletion = b"UNLINK" if self.node.config["lazyfree-lazy-expire"] else b"DEL"
        if dropped:
            self._send([(db_index, [deletion, key]) for db_index, key in dropped])

    # -- roles -------------------------------------------------------------------
    def new_history(self, replid: str) -> None:
        """A new id for the stream from this offset on; the old one stays valid up to here
        (a promotion, or a master that continued us under its new id)."""
        self.replid2 = self.replid
        self.second_offset = self.offset + 1
        self.replid = replid
        self.drop_replicas()

    def change_id(self) -> None:
        """DEBUG CHANGE-REPL-ID: a new id, the old one forgotten."""
        self.replid, self.replid2, self.second_offset = new_replid(self.node.rng), NO_REPLID, -1

    def inject(self, argv: list[bytes]) -> None:
        """DEBUG REPLICATE: a command into the stream (in the database it selected last), run nowhere here."""
        if self.active:
            self.feed(encode_command(argv))

    def promoted(self) -> None:
        """REPLICAOF NO ONE: this node's stream goes on under a new id (Redis's shiftReplicationId)."""
        self.new_history(new_replid(self.node.rng))
        self.node.emit(LogMessage("warning", f"Setting secondary replication ID to {self.replid2}, valid up to "
                                             f"offset: {self.second_offset}. New replication ID is {self.replid}"))
        self.active = self.backlog is not None
        self._db = -1

    def demoted(self) -> None:
        """REPLICAOF host port: the node stops producing a stream of its own."""
        self.active = False

    def full_sync_loaded(self, replid: str, offset: int) -> None:
        """A replica loaded its master's image: the master's stream, from its offset."""
        self.replid, self.offset = replid, offset
        self.replid2, self.second_offset = NO_REPLID, -1
        self.backlog = bytearray()
        self.drop_replicas()  # they follow a history that is gone: they must sync again

    def syncing(self) -> list:
        """The replicas not online yet: loading a payload sent them, or waiting for one."""
        return [*self.unacked, *(client for client, _ in (*self.delayed, *self.waiting_bgsave))]

    def sync_state(self, client) -> str:
        """A syncing replica's state in INFO, as Redis names it: sent a saved file (send_bulk), sent
        its whole diskless payload (online: Redis waits for its ACK only to stream), or waiting."""
        for transfer in self.transfers.values():
            if client in transfer.clients:
                return "wait_bgsave" if transfer.diskless else "send_bulk"
        link = self.links.get(client)
        return "online" if client in self.unacked and link is not None and link.online else "wait_bgsave"

    def attached(self) -> list:
        """Every replica, online or syncing (Redis's server.slaves)."""
        return [*self.replicas, *self.syncing()]

    def drop_replicas(self) -> None:
        """Disconnect every replica, those still syncing too (they reconnect and learn of the new
        history)."""
        attached, self.replicas = self.attached(), []
        for client in attached:
            self.node.close_after_reply(client)

    # -- attaching ------------------------------------------------------------------
    def link(self, client) -> ReplicaLink:
        link = self.links.get(client)
        if link is None:
            link = self.links[client] = ReplicaLink(client)
        return link

    def attach(self, client, psync: bool = False) -> None:
        """A full sync: the image of this instant, then every write from now on; or, diskless
        with a delay, the same once the delay is over (`tick`)."""
        node = self.node
        node.stats.sync_full += 1  # counted when asked for, as Redis's syncCommand
        _mark_replica(client)
        if self.backlog is None:  # from the first full sync on, a delayed one too (Redis's syncCommand)
            self.replid, self.replid2, self.second_offset = new_replid(node.rng), NO_REPLID, -1
            self._create_backlog()
            node.emit(LogMessage("notice", f"Replication backlog created, my new replication IDs are "
                                           f"'{self.replid}' and '{self.replid2}'"))
        link = self.link(client)
        # a replica asking for the libraries only gets them through a socket, as in Redis
        diskless = (node.config["repl-diskless-sync"] or link.functions_only) and b"eof" in link.capa
        if not diskless:
            self._sync_through_disk([(client, psync)])
            return
        if not node.config["repl-diskless-sync-delay"]:
            self._full_sync([(client, psync)])
            return
        if not self.delayed:
            self.delayed_since = self.last_newline_ms = node.steady()
            node.emit(LogMessage("notice", "Delay next BGSAVE for diskless SYNC"))
        self.delayed.append((client, psync))

    def _start_delayed(self) -> None:
        """Every delayed replica's transfer, of one image."""
        waiting, self.delayed = self.delayed, []
        self._full_sync(waiting)

    def _sync_through_disk(self, replicas: list[tuple]) -> None:
        """A disk-based full sync: the image is saved as a snapshot first, as Redis's BGSAVE for
        replication (which then counts as the last save), read back once saved and sent
        (`snapshot_saved`, `files_read`). While that BGSAVE runs, replicas asking share its
        image; while another child runs, they wait for it to end (`tick`)."""
        node = self.node
        sync = self.disk_sync
        if sync is not None and sync.read_job is None:
            node.emit(LogMessage("notice", "Waiting for end of BGSAVE for SYNC"))
            self._await_image(sync, replicas)
            return
        if sync is not None or node.snapshots.job is not None or node.aof.in_progress():
            node.emit(LogMessage("notice", "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE "
                                           "for SYNC" if node.snapshots.in_progress() else
                                 "No BGSAVE in progress, but another BG operation is active. BGSAVE for replication "
                                 "delayed"))
            self.waiting_bgsave += replicas
            return
        node.emit(LogMessage("notice", "Starting BGSAVE for SYNC with target: disk"))
        self.disk_sync = sync = DiskSync(self.offset)
        node.snapshots.save_for_replication()
        self._await_image(sync, replicas)
        self._db = -1

    def _await_image(self, sync: DiskSync, replicas: list[tuple]) -> None:
        for client, psync in replicas:
            if psync:
                self._write(client, b"+FULLRESYNC %s %d\r\n" % (self.replid.encode(), sync.offset))
            sync.clients.append(client)
            self.unacked[client] = (psync, sync.offset)

    def snapshot_saved(self, ok: bool) -> None:
        """The BGSAVE of a disk-based sync ended: its file is read back to be sent, or, if it
        failed, its replicas are dropped (they sync again)."""
        sync = self.disk_sync
        if sync is None:
            return
        if not ok or not sync.clients:
            self.disk_sync = None
            self._drop_disk_sync(sync, "SYNC failed. BGSAVE child returned an error")
            return
        sync.read_job = self.node.new_job()
        self.node.emit(ReadFiles(sync.read_job, (self.node.config["dbfilename"],)))

    def owns_read(self, job: int) -> bool:
        return self.disk_sync is not None and self.disk_sync.read_job == job

    def files_read(self, contents: dict[str, bytes | None]) -> None:
        """The snapshot of a disk-based sync, read back: sent by a child (Redis's parent sends
        the file itself) to each of its replicas."""
        sync, self.disk_sync = self.disk_sync, None
        node = self.node
        image = contents.get(node.config["dbfilename"])
        if image is None:
            self._drop_disk_sync(sync, "SYNC failed. Can't open/stat DB after BGSAVE: No such file or directory")
            return
        if not sync.clients:  # they all left while it was read
            return
        targets = []
        for client in sync.clients:
            first, client.out = b"".join(client.out), []  # what it still had to be sent goes first, in order
            targets.append((client.conn, first))
        job = node.new_job()
        self.transfers[job] = Transfer(sync.clients, False, node.steady())
        node.emit(SendImage(job, tuple(targets), b"$%d\r\n%s" % (len(image), image), 0.0, False))

    def _drop_disk_sync(self, sync: DiskSync, reason: str) -> None:
        for client in sync.clients:
            self.node.emit(LogMessage("warning", reason))
            self.unacked.pop(client, None)
            self.node.close_after_reply(client)

    def _full_sync(self, replicas: list[tuple]) -> None:
        """A diskless full sync: send the replicas the image (one for all, and one of the libraries
        for those asking), each through a child (`SendImage`) writing to their sockets; their stream
        waits meanwhile (`unacked`) from the image's offset."""
        node = self.node
        node.emit(LogMessage("notice", "Starting BGSAVE for SYNC with target: replicas sockets"))
        aux = [(b"repl-stream-db", b"0"), (b"repl-id", self.replid.encode()), (b"repl-offset", b"%d" % self.offset)]
        payloads: dict[bool, Callable[[], bytes]] = {}
        targets: dict[bool, list[tuple[int, bytes]]] = {}
        receivers: dict[bool, list] = {}
        for client, psync in replicas:
            functions_only = self.link(client).functions_only
            if functions_only not in payloads:
                mark = b"%040x" % node.rng.getrandbits(160)
                payloads[functions_only] = partial(_diskless_payload, node, aux, functions_only, mark)
            header = b"+FULLRESYNC %s %d\r\n" % (self.replid.encode(), self.offset) if psync else b""
            first, client.out = b"".join(client.out), []  # what it still had to be sent goes first, in order
            targets.setdefault(functions_only, []).append((client.conn, first + header))
            receivers.setdefault(functions_only, []).append(client)
            self.unacked[client] = (psync, self.offset)
        keys = sum(len(db.data) for db in node.dbs)
        delay_s = max(node.config["rdb-key-save-delay"], 0) * keys / 1e6  # the child sleeps so long a key
        for functions_only, payload in payloads.items():
            job = node.new_job()
            self.transfers[job] = Transfer(receivers[functions_only], True, node.steady())
            node.image_pending()  # the runtime makes the payload of this instant (net: in the forked child)
            node.emit(SendImage(job, tuple(targets[functions_only]), payload, delay_s))
        self._db = -1

    def owns(self, job: int) -> bool:
        return job in self.transfers

    def transfer_done(self, job: int, ok: bool, error: str) -> None:
        """A child sent a full sync's payload (or died): a disk-based sync's replica is online now,
        a diskless one once it ACKs what it loaded; when the child died, its replicas are dropped
        (they sync again), as Redis drops them when its child fails."""
        transfer = self.transfers.pop(job)
        node = self.node
        alive = list(transfer.clients)  # those gone meanwhile were taken out (`detach`)
        if error == REPLICAS_GONE and transfer.diskless:
            # The child saw the last one go before the node heard of it: what Redis's parent,
            # which writes to the replicas itself, sees first (`detach`).
            node.emit(LogMessage("warning", "Diskless rdb transfer, last replica dropped, killing fork child."))
            for client in alive:
                self.unacked.pop(client, None)
                node.close_after_reply(client)
            return
        if ok and transfer.diskless:
            node.emit(LogMessage("warning", f"Diskless rdb transfer, done reading from pipe, {len(alive)} replicas still up."))
        for client in alive:
            if not ok:
                if client in self.unacked:  # (not a diskless replica that acked its load already)
                    node.emit(LogMessage("warning", f"Diskless rdb transfer to {client.addr} failed: {error}"
                                         if transfer.diskless else "SYNC failed. BGSAVE child returned an error"))
                    self.unacked.pop(client)
                    node.close_after_reply(client)
                continue
            name = self.replica_name(client)
            if transfer.diskless:
                node.emit(LogMessage("notice", f"Streamed RDB transfer with replica {name} succeeded (socket). "
                                               f"Waiting for REPLCONF ACK from slave to enable streaming"))
            node.emit(LogMessage("notice", f"Synchronization with replica {name} succeeded"))
            if not transfer.diskless and client in self.unacked:  # a diskless one: once it acks its load
                self._stream_from_image(client)
            elif client in self.unacked:
                self.links[client].online = True  # INFO says so; the stream waits for its ACK

    def stop_transfers(self) -> None:
        """FLUSHALL: the children making an image of what was just flushed (a diskless transfer's,
        a disk-based sync's BGSAVE, stopped by Snapshots.flushed) are killed and their replicas
        dropped (they sync again), as Redis kills its RDB child. A saved file being sent goes on,
        as Redis's parent sends it: the FLUSHALL follows it in the stream."""
        for job, transfer in list(self.transfers.items()):
            if transfer.diskless:
                self.node.emit(CancelJob(job))
                self.transfer_done(job, False, "child killed")
        sync, self.disk_sync = self.disk_sync, None  # its BGSAVE was stopped (Snapshots.flushed)
        if sync is not None:
            self._drop_disk_sync(sync, "SYNC failed. BGSAVE child returned an error")

    def try_continue(self, client, replid: bytes, offset: int) -> bool:
        """PSYNC <replid> <offset>: +CONTINUE and the missing bytes when the backlog has them."""
        wanted = replid.decode("latin-1")
        known = wanted == self.replid or (wanted == self.replid2 and offset <= self.second_offset)
        refusal = None
        if not known:
            if wanted == "?":
                refusal = f"Full resync requested by replica {self.replica_name(client)}"
            elif wanted in (self.replid, self.replid2):
                refusal = (f"Partial resynchronization not accepted: Requested offset for second ID was {offset}, "
                           f"but I can reply up to {self.second_offset}")
            else:
                refusal = (f"Partial resynchronization not accepted: Replication ID mismatch (Replica asked for "
                           f"'{wanted}', my replication IDs are '{self.replid}' and '{self.replid2}')")
        elif self.backlog is None or not self.first_byte_offset() <= offset <= self.offset + 1:
            refusal = (f"Unable to partial resync with replica {self.replica_name(client)} for lack of backlog "
                       f"(Replica request was: {offset}).")
        if refusal is not None:
            self.node.emit(LogMessage("notice", refusal))
            if known and offset > self.offset:
                self.node.emit(LogMessage("warning", f"Warning: replica {self.replica_name(client)} tried to PSYNC "
                                                     f"with an offset that is greater than the master replication offset."))
            if wanted != "?":
                self.node.stats.sync_partial_err += 1
            return False
        self.node.stats.sync_partial_ok += 1
        psync2 = b"psync2" in self.link(client).capa
        reply = b"+CONTINUE %s\r\n" % self.replid.encode() if psync2 else b"+CONTINUE\r\n"
        missing = self.offset + 1 - offset
        self.node.emit(LogMessage("notice", f"Partial resynchronization request from {self.replica_name(client)} "
                                            f"accepted. Sending {missing} bytes of backlog starting from offset {offset}."))
        self._write(client, reply + (bytes(self.backlog[len(self.backlog) - missing:]) if missing else b""))
        self._online(client, True)
        return True

    def _online(self, client, psync: bool) -> None:
        link = self.link(client)
        link.online, link.psync = True, psync
        link.ack_ms = self.node.steady()
        _mark_replica(client)
        self.replicas.append(client)

    def replica_ip(self, client) -> str:
        """The address shown for a replica: the one it announced (replica-announce-ip), else
        the one it connected from."""
        link = self.links.get(client)
        if link is not None and link.ip:
            return link.ip
        return client.addr.rsplit(":", 1)[0].strip("[]")

    def replica_name(self, client) -> str:
        """How the log names a replica (Redis's replicationGetSlaveName): its address and the
        port it listens on."""
        link = self.links.get(client)
        port = link.listening_port if link is not None else 0
        return f"{self.replica_ip(client)}:{port or '<unknown-replica-port>'}"

    def detach(self, client) -> None:
        """A replica's connection closed (or a client that never was one)."""
        if client.is_replica_link:
            self.node.emit(LogMessage("warning", f"Connection with replica {self.replica_name(client)} lost."))
        if client in self.replicas:
            self.replicas.remove(client)
        self.unacked.pop(client, None)
        for job, transfer in list(self.transfers.items()):
            if client in transfer.clients:
                del transfer.clients[client]
                if not transfer.clients:  # a child sending to no one: killed, as Redis kills a useless one
                    del self.transfers[job]
                    if transfer.diskless:
                        self.node.emit(LogMessage("warning", "Diskless rdb transfer, last replica dropped, "
                                                             "killing fork child."))
                    self.node.emit(CancelJob(job))
        self.delayed = [entry for entry in self.delayed if entry[0] is not client]
        self.waiting_bgsave = [entry for entry in self.waiting_bgsave if entry[0] is not client]
        sync = self.disk_sync
        if sync is not None and client in sync.clients:
            sync.clients.remove(client)
            # a BGSAVE no replica waits for is stopped, unless saves are configured (then it is wanted)
            if not sync.clients and sync.read_job is None and not self.node.snapshots.save_params():
                self.disk_sync = None
                self.node.snapshots.stop_for_replication()
        self.links.pop(client, None)

    # -- what replicas say ----------------------------------------------------------
    def acked(self, client, offset: int) -> None:
        if client in self.unacked:  # loaded its diskless payload: online now, the stream since its image sent
            self._stream_from_image(client)
        link = self.links.get(client)
        if link is not None:
            link.ack_offset = max(link.ack_offset, offset)
            link.ack_ms = self.node.steady()
            if self.waits:
                self._serve_waits(timed_out=False)

    def _stream_from_image(self, client) -> None:
        """A replica has its image: online, sent the stream since the image's offset."""
        held = self.held_for(client)
        psync, _ = self.unacked.pop(client)
        self._write(client, bytes(self.backlog[len(self.backlog) - held:]) if held else b"")
        self._online(client, psync)

    def replicas_acked(self, offset: int) -> int:
        """How many online replicas acknowledged ``offset`` (WAIT)."""
        return sum(1 for client in self.replicas if self.links[client].ack_offset >= offset)

    def good_replicas(self) -> int:
        """Replicas that acknowledged within min-replicas-max-lag seconds (min-replicas-to-write)."""
        node = self.node
        max_lag_s = node.config["min-replicas-max-lag"]
        return sum(1 for client in self.replicas if (node.steady() - self.links[client].ack_ms) // 1000 <= max_lag_s)

    def request_acks(self) -> None:
        """REPLCONF GETACK * into the stream: every replica answers with its offset. Not while
        clients are paused (it would move the offset a failover waits on): when the pause ends,
        if this node is a master still (`acks_after_pause`), as Redis's beforeSleep."""
        if self.node.paused:
            self.acks_wanted = True
        elif self.replicas:
            self.feed(_GETACK)

    def acks_after_pause(self) -> None:
        if self.acks_wanted:
            self.acks_wanted = False
            if not self.node.is_replica:
                self.request_acks()

    def _serve_waits(self, timed_out: bool) -> None:
        """Answer the WAITs their replicas acknowledged (or, from the cron, whose time is up)."""
        node = self.node
        waiting = []
        for entry in self.waits:
            client, record, offset, wanted, deadline = entry
            if node.clients.get(client.conn) is not client or client.blocked is not record:
                continue  # gone, or unblocked otherwise (CLIENT UNBLOCK)
            acked = self.replicas_acked(offset)
            if acked >= wanted or (timed_out and deadline and deadline <= node.now):
                node.blocking.wake(client, acked)
            else:
                waiting.append(entry)
        self.waits = waiting

    # -- the cron -------------------------------------------------------------------
    def tick(self) -> None:
        """Ping the replicas every repl-ping-replica-period; drop the silent ones past repl-timeout
        (both timed with node.steady(): a stepped clock stalls neither)."""
        node = self.node
        now = node.steady()
        if self.waits:
            self._serve_waits(timed_out=True)
        if self.delayed:
            self._tick_delayed(now)
        if self.waiting_bgsave and self.disk_sync is None and node.snapshots.job is None \
                and not node.aof.in_progress():
            waiting, self.waiting_bgsave = self.waiting_bgsave, []
            self._sync_through_disk(waiting)
        self._keep_presync_alive(now)
        for client in [client for client in self.unacked if node.output_limits.exceeded(client, self.held_for(client))]:
            node.drop_over_output_limit(client)  # what it has yet to be sent is its output, as in Redis
        if not self.replicas or node.is_replica:  # a replica's replicas get its master's pings
            self.last_ping_ms = now
        elif now - self.last_ping_ms >= node.config["repl-ping-replica-period"] * 1000 \
                and not node.failover.pings_held:
            self.last_ping_ms = now
            self.feed(_PING)
        timeout_ms = node.config["repl-timeout"] * 1000
        for client in list(self.replicas):
            link = self.links[client]
            if link.psync and now - link.ack_ms > timeout_ms:
                node.emit(LogMessage("warning", f"Disconnecting timedout replica (streaming sync): "
                                                f"{self.replica_name(client)}"))
                node.close_after_reply(client)
        for transfer in list(self.transfers.values()):
            if transfer.diskless:  # a stuck disk-based one would not hold the child up, in Redis
                for client in [client for client, taken_ms in transfer.clients.items() if now - taken_ms > timeout_ms]:
                    node.emit(LogMessage("warning", f"Disconnecting timedout replica (full sync): "
                                                    f"{self.replica_name(client)}"))
                    node.kill(client)

    def payload_taken(self, client) -> None:
        """The replica took bytes of its full sync's payload (the runtime sees it)."""
        for transfer in self.transfers.values():
            if client in transfer.clients:
                transfer.clients[client] = self.node.steady()

    def _tick_delayed(self, now: int) -> None:
        """Start the delayed transfer once its delay is over or enough replicas wait."""
        config = self.node.config
        enough = config["repl-diskless-sync-max-replicas"]
        if now - self.delayed_since >= config["repl-diskless-sync-delay"] * 1000 \
                or (enough and len(self.delayed) >= enough):
            self._start_delayed()

    def _keep_presync_alive(self, now: int) -> None:
        """A newline a second to the replicas waiting for their image to be made (a delayed
        diskless transfer, a disk-based sync's BGSAVE) keeps them from timing out, as Redis's
        replicationCron sends."""
        if now - self.last_newline_ms < 1000:
            return
        self.last_newline_ms = now
        saving = self.disk_sync.clients if self.disk_sync is not None and self.disk_sync.read_job is None else []
        for client in [*(client for client, _ in (*self.delayed, *self.waiting_bgsave)), *saving]:
            self._write(client, b"\n")

    # -- propagation -----------------------------------------------------------------
    def propagate(self, db_index: int, argv: list[bytes]) -> None:
        if self._group is not None:
            self._group.append((db_index, argv))
        else:
            self._send([(db_index, argv)])

    def begin_group(self) -> None:
        self._group = []

    def end_group(self) -> None:
        writes, self._group = self._group, None
        if not writes:
            return
        if len(writes) > 1:
            writes = [(writes[0][0], [b"MULTI"]), *writes, (writes[-1][0], [b"EXEC"])]
        self._send(writes)

    def _send(self, writes: list[tuple[int, list[bytes]]]) -> None:
        parts = []
        for db_index, argv in writes:
            if db_index != self._db:
                parts.append(encode_command([b"SELECT", b"%d" % db_index]))
                self._db = db_index
            parts.append(encode_command(argv))
        self.feed(b"".join(parts))

    def _write(self, client, data: bytes) -> None:
        """Stream bytes go out whatever the replica's reply mode (its own replies do not)."""
        if not client.out:
            self.node.clients_with_output.append(client)
        client.out.append(data)


def _mark_replica(client) -> None:
    """A replica from its SYNC on (CLIENT LIST flags=S, CLIENT KILL TYPE replica), its transfer too."""
    if "S" not in client.flags_extra:
        client.flags_extra += "S"


def new_replid(rng) -> str:
    return "%040x" % rng.getrandbits(160)


def _diskless_payload(node, aux: list, functions_only: bool, mark: bytes) -> bytes:
    """A diskless full sync's payload: the RDB of the dataset (or its libraries) between EOF marks."""
    return b"$EOF:%s\r\n%s%s" % (mark, rdb.write(node, aux, functions_only=functions_only), mark)
