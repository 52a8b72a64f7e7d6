"""RDB snapshots: when to take one, the job in flight, and what the node knows of the last.

The core decides everything that changes what survives a crash: what the
image is (`kvcore.rdb.write` of the dataset at the instant of SAVE, BGSAVE or
the `save` schedule) and the file operations that put it on disk
(`write_steps`: temp file, fsync, rename, fsync of the directory, as
redis-server's rdbSave), handed to the runtime in a `WriteFiles` effect. A
foreground snapshot (SAVE, SHUTDOWN, DEBUG RELOAD) makes its bytes at once
and holds its client's reply until the job is done; a background one (BGSAVE,
the schedule) answers at once, and its image is made by the runtime (net
forks, as redis-server does) while the node is frozen (`Node.image_pending`).

State kept as redis-server keeps it: changes since the last save (the
node's ``dirty`` counter minus its value when the last saved image was
taken), the last save time (`Node.last_save_s`, what LASTSAVE returns), the
status of the last background save, which under
``stop-writes-on-bgsave-error yes`` with a save schedule refuses writes with
-MISCONF until a save succeeds, and a failed background save retried by the
schedule only after `RETRY_DELAY_S`.

One snapshot job is in flight at a time. SHUTDOWN and FLUSHALL stop a
background save (`CancelJob`), as Redis kills the saving child.
"""

from __future__ import annotations

from functools import partial

from kvcore import rdb
from kvcore.blocking import HeldReply
from kvcore.effects import CHILD_ID, CancelJob, LogMessage, ReadFiles, Shutdown, WriteFiles
from kvcore.reply import OK, Error, Simple

RETRY_DELAY_S = 5  # CONFIG_BGSAVE_RETRY_DELAY
IN_PROGRESS = "ERR Background save already in progress"
SHUTDOWN_FAILED = "ERR Errors trying to SHUTDOWN. Check logs."
RELOAD_OPTIONS = "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
RELOAD_LOAD_FAILED = "ERR Error trying to load the RDB dump, check server logs."
CHILD_ACTIVE = (
    "ERR Another child process is active (AOF?): can't BGSAVE right now. "
    "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible."
)
STARTED = Simple("Background saving started")
SCHEDULED = Simple("Background saving scheduled")

# What a foreground job does when it is done.
SAVE, SHUTDOWN, RELOAD, FLUSHED = "save", "shutdown", "reload", "flushed"
SYNC = "sync"  # a background save for a disk-based full sync (kvcore.replication)


def write_steps(temp: str, path: str) -> tuple[tuple[str, ...], ...]:
    """The file operations that replace ``path`` by a new image, in order.

    The image is complete and durable in ``temp`` before the atomic rename
    makes it the snapshot, and the directory is fsynced so that the rename
    itself survives a power loss: at every instant the old or the new image
    is on disk, whole.
    """
    return (("write", temp), ("fsync", temp), ("rename", temp, path), ("fsync-dir",))


def parse_save_params(text: str) -> list[tuple[int, int]]:
    """``"3600 1 300 100"`` -> [(3600, 1), (300, 100)]: seconds, changes. Malformed: none."""
    words = text.split()
    try:
        numbers = [int(word) for word in words]
    except ValueError:
        return []
    if len(numbers) % 2:
        return []
    return list(zip(numbers[::2], numbers[1::2], strict=True))


class Snapshots:
    """A node's snapshot state and decisions (``node.snapshots``)."""

    def __init__(self, node) -> None:
        self.node = node
        self.job: int | None = None
        self.background = False
        self.purpose = ""  # a foreground job's: SAVE, SHUTDOWN or RELOAD; SYNC, a full sync's background one
        self.reload_options = (True, False)  # DEBUG RELOAD's: (flush first, merge)
        self.data = b""  # the image in flight (DEBUG RELOAD loads it back)
        self.started_ms = 0
        self.dirty_at_start = 0
        self.waiter: HeldReply | None = None  # the client whose reply waits for the foreground job
        self.dirty_at_last_save = 0
        self.last_cow_bytes = 0  # what copy-on-write cost the last background save's child
        self.last_bgsave_ok = True
        self.last_try_s = 0
        self.last_bgsave_time_s = -1
        self.saves = 0
        self.scheduled = False
        self.shutdown_pending = False  # a SHUTDOWN waits for the background save in flight
        self.flushed_pending = False  # FLUSHALL's save waits for the background save in flight
        self.shutdown_force = False
        self.keys_loaded = 0
        self.keys_expired = 0
        self._params_text = None
        self._params: list[tuple[int, int]] = []

    # -- facts -------------------------------------------------------------------
    def save_params(self) -> list[tuple[int, int]]:
        text = self.node.config["save"]
        if text != self._params_text:
            self._params_text, self._params = text, parse_save_params(text)
        return self._params

    def changes(self) -> int:
        """rdb_changes_since_last_save."""
        return self.node.stats.dirty - self.dirty_at_last_save

    def in_progress(self) -> bool:
        return self.job is not None and self.background

    def refuses_writes(self) -> bool:
        """stop-writes-on-bgsave-error: the last background save failed and saves are configured."""
        node = self.node
        return not self.last_bgsave_ok and node.config["stop-writes-on-bgsave-error"] and bool(self.save_params())

    def owns(self, job: int) -> bool:
        return job == self.job

    # -- commands ------------------------------------------------------------------
    def save(self, client):
        """SAVE: a foreground snapshot; the client's reply waits for the job."""
        if self.job is not None:
            raise Error(IN_PROGRESS)
        self.saves += 1
        self._hold(client)
        self._start(background=False, purpose=SAVE)

    def bgsave(self, in_exec: bool, schedule: bool = False):
        """BGSAVE [SCHEDULE]: start a background snapshot now, or from the cron.

        It waits for the cron inside EXEC, or while a log rewrite runs if
        SCHEDULE says so (without it, that is an error, as Redis refuses a
        second child process).
        """
        if self.in_progress():
            raise Error(IN_PROGRESS)
        if self.node.aof.in_progress() and not schedule:
            raise Error(CHILD_ACTIVE)
        if self.job is not None or in_exec or self.node.aof.in_progress():
            self.scheduled = True
            return SCHEDULED
        self._start_background()
        return STARTED

    def shutdown(self, client) -> None:
        """SHUTDOWN (client) or a signal (None): save first if asked or scheduled, then exit.

        The options are in ``node.shutdown_requested``. A failed save keeps the
        server running (the client gets an error), unless FORCE.
        """
        options = self.node.shutdown_requested or []
        if "nosave" in options or ("save" not in options and not self.save_params()) \
                or self.node.loading_file is not None:  # half a dataset is not saved, as Redis
            self._exit(client)
            return
        self.shutdown_force = "force" in options
        if client is not None:
            self._hold(client)
        if self.in_progress():
            self._cancel_background()  # as Redis kills the saving child: the final save supersedes it
        if self.job is not None:
            self.shutdown_pending = True
            return
        self._start_final_save()

    def flushed(self) -> None:
        """FLUSHALL: a background save is stopped (its image is of what was just flushed), as
        Redis kills the child; with save points the empty dataset is saved at once, as rdbSave."""
        if self.in_progress():
            self._cancel_background()
        self.node.replication.stop_transfers()
        if not self.save_params():
            return
        if self.job is not None:
            self.flushed_pending = True
            return
        self._start(background=False, purpose=FLUSHED)

    def shutdown_on_signal(self, now: int) -> None:
        """SIGTERM/SIGINT: as SHUTDOWN with no options and no client, made by the cron as
        Redis's shutdown_asap: DEBUG PAUSE-CRON puts it off, SHUTDOWN ABORT cancels it."""
        node = self.node
        node.now = now
        node.shutdown_asap = True
        if not node.cron_paused:
            self.shutdown_if_asked()

    def shutdown_if_asked(self) -> None:
        """The cron's part: the shutdown a signal asked for, if it is still asked for."""
        node = self.node
        if node.shutdown_asap:
            node.shutdown_asap = False
            node.shutdown_wait.request(None, [])  # kvcore.shutdown

    def debug_reload(self, client, argv: list[bytes]) -> None:
        """DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save (unless NOSAVE), then load the file back,
        over the data (NOFLUSH) and replacing what it holds too (MERGE)."""
        options = {arg.upper() for arg in argv[2:]}
        if options - {b"MERGE", b"NOFLUSH", b"NOSAVE"}:
            raise Error(RELOAD_OPTIONS)
        if self.job is not None:
            raise Error(IN_PROGRESS)
        self.reload_options = (b"NOFLUSH" not in options, b"MERGE" in options)
        self._hold(client)
        if b"NOSAVE" in options:  # load what the file holds: the runtime reads it (`files_read`)
            self.job = self.node.new_job()
            self.background, self.purpose = False, RELOAD
            self.node.emit(ReadFiles(self.job, (self.node.config["dbfilename"],)))
            return
        self._start(background=False, purpose=RELOAD)

    def files_read(self, job: int, contents: dict[str, bytes | None]) -> None:
        """DEBUG RELOAD NOSAVE: the file, read; load it."""
        if job != self.job:
            return
        self.job = None
        data = contents.get(self.node.config["dbfilename"])
        self._release(Error(RELOAD_LOAD_FAILED) if data is None else self._reload(data))

    # -- inputs ----------------------------------------------------------------------
    def loaded(self, result: rdb.LoadResult) -> None:
        """The runtime loaded a snapshot at start: the data is as saved (no changes since)."""
        self.keys_loaded = result.keys_loaded
        self.keys_expired = result.keys_expired
        self.dirty_at_last_save = self.node.stats.dirty
        self.node.replication.snapshot_loaded(result.aux, result.dropped)

    def tick(self) -> None:
        """The cron: a scheduled BGSAVE, or the `save` schedule's (not while the log is rewritten)."""
        if self.job is not None or self.node.aof.in_progress():
            return
        node = self.node
        now_s = node.now // 1000
        may_retry = self.last_bgsave_ok or now_s - self.last_try_s > RETRY_DELAY_S
        if not may_retry:
            return
        if self.scheduled:
            self._start_background()
            return
        changes = self.changes()
        for seconds, needed in self.save_params():
            if changes >= needed and now_s - node.last_save_s > seconds:
                self._start_background()
                return

    def job_done(self, job: int, ok: bool, error: str) -> None:
        """The snapshot job finished: record it, answer who waited, go on with a pending shutdown."""
        node = self.node
        background, purpose, data = self.background, self.purpose, self.data
        self.job, self.data = None, b""
        if ok:
            self.dirty_at_last_save = self.dirty_at_start
            node.last_save_s = node.now // 1000
            self.last_bgsave_ok = True
        elif background:
            self.last_bgsave_ok = False
        if background:
            self.last_bgsave_time_s = (node.now - self.started_ms) // 1000
            self.last_cow_bytes = node.child_info.ended(job)
        node.update_write_gate()
        if self.flushed_pending and not self.shutdown_pending:
            self.flushed_pending = False
            self._start(background=False, purpose=FLUSHED)
            return
        if background:
            if purpose == SYNC:
                node.replication.snapshot_saved(ok)
            if self.shutdown_pending:
                self.shutdown_pending = False
                self._start_final_save()
            return
        if purpose == SHUTDOWN:
            self._shutdown_saved(ok)
        elif purpose == RELOAD:
            self._release(self._reload(data) if ok else Error("ERR"))
        else:
            self._release(OK if ok else Error("ERR"))

    # -- internals -------------------------------------------------------------------
    def _start_final_save(self) -> None:
        self.node.emit(LogMessage("notice", "Saving the final RDB snapshot before exiting."))
        self._start(background=False, purpose=SHUTDOWN)

    def save_for_replication(self) -> None:
        """A BGSAVE whose file a disk-based full sync sends (`ReplicationStream.snapshot_saved`)."""
        self._start_background(SYNC)

    def stop_for_replication(self) -> None:
        """The BGSAVE of a full sync no replica waits for any more: stopped, as Redis kills it."""
        if self.in_progress() and self.purpose == SYNC:
            self._cancel_background()

    def _start_background(self, purpose: str = "") -> None:
        self.saves += 1
        self.scheduled = False
        self.last_try_s = self.node.now // 1000
        self._start(background=True, purpose=purpose)

    def _cancel_background(self) -> None:
        """Forget the background save in flight (the last save's status stays as it was, and its
        child's reports go: Redis resets them when it kills the child)."""
        self.node.emit(CancelJob(self.job))
        self.node.child_info.ended(self.job)
        self.job = None
        self.background = False

    def _start(self, background: bool, purpose: str) -> None:
        node = self.node
        config = node.config
        aux = node.replication.save_info()
        if background:
            data = partial(rdb.write, node, aux)  # taken by the runtime (net: in a forked child)
            node.image_pending()
        else:
            data = rdb.write(node, aux)
        self.job = node.new_job()
        self.background, self.purpose = background, purpose
        self.data = data if purpose == RELOAD else b""
        self.started_ms = node.now
        self.dirty_at_start = node.stats.dirty
        if background:
            node.child_info.started(self.job, node.dbs)
        path = config["dbfilename"]
        # A background save's temp file is its child's (one stopped may still be removing its file).
        temp = "temp-%s.rdb" % (CHILD_ID if background else node.info.pid)
        node.emit(WriteFiles(self.job, path, data, background, write_steps(temp, path)))

    def _hold(self, client) -> None:
        """Hold a client's reply (and its later requests) until the job is done."""
        self.waiter = HeldReply(client, "snapshot")

    def _release(self, reply) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None:  # None: a signal asked
            waiter.release(self.node, reply)

    def _exit(self, client) -> None:
        node = self.node
        node.emit(Shutdown(0))
        if client is not None:
            node.close_after_reply(client)

    def _shutdown_saved(self, ok: bool) -> None:
        waiter, self.waiter = self.waiter, None
        live = waiter is not None and waiter.live(self.node)
        client = waiter.client if live else None
        if ok or self.shutdown_force:
            if live:
                client.blocked = None
            self._exit(client)
            return
        self.node.shutdown_requested = None
        self.node.emit(LogMessage("warning", "Error trying to save the DB, can't exit."))
        if live:
            client.reply(Error(SHUTDOWN_FAILED))
            self.node.unblock(client)

    def _reload(self, data: bytes):
        node = self.node
        flush, merge = self.reload_options
        try:
            rdb.load(node, data, flush=flush, merge=merge)
        except rdb.RdbError:
            return Error(RELOAD_LOAD_FAILED)
        self.dirty_at_last_save = node.stats.dirty
        return OK

    # -- INFO ------------------------------------------------------------------------
    def info_fields(self) -> list[tuple[str, object]]:
        """INFO persistence's loading and rdb fields, as Redis 7.0 lists them."""
        node = self.node
        running = self.in_progress()
        sending = any(transfer.diskless for transfer in node.replication.transfers.values())  # a child's socket target
        return [
            ("loading", int(node.loading)),
            ("async_loading", int(node.async_loading)),
            *node.child_info.info_fields(node.now),
            ("rdb_changes_since_last_save", self.changes()),
            ("rdb_bgsave_in_progress", int(running or sending)),
            ("rdb_last_save_time", node.last_save_s),
            ("rdb_last_bgsave_status", "ok" if self.last_bgsave_ok else "err"),
            ("rdb_last_bgsave_time_sec", self.last_bgsave_time_s),
            ("rdb_current_bgsave_time_sec", (node.now - self.started_ms) // 1000 if running else -1),
            ("rdb_saves", self.saves),
            ("rdb_last_cow_size", self.last_cow_bytes),
            ("rdb_last_load_keys_expired", self.keys_expired),
            ("rdb_last_load_keys_loaded", self.keys_loaded),
        ]
