"""The append-only log of a running node: its files, its fsyncs, its rewrites, its INFO fields.

Redis 7's multi-part layout (`kvcore.aof_manifest`): a directory
(``appenddirname``) holding a manifest, one base file and incremental files.
The node (`kvcore.node`) turns writes into log records and holds replies
until the records are durable; this module decides which file they go to,
when that file is fsynced (``appendfsync everysec``), and how the files
change:

- at start (`open_at_start`, after the runtime loaded what the manifest
  lists): an empty base when the dataset has none, the incr file to append
  to, the manifest persisted if it changed;
- a rewrite (BGREWRITEAOF, or automatic past ``auto-aof-rewrite-percentage``):
  with the log on, pending records go to the current incr, then the manifest
  switches writes to a new incr; the point-in-time image of that instant
  (taken by the runtime while the node waits: net forks) is written to a
  temp file in the background; when it is durable it becomes the
  new base and the manifest that makes it visible replaces the old one, listing
  the old files as history until they are deleted (a start deletes what a crash
  left listed there). A failed rewrite leaves the old files valid;
- ``CONFIG SET appendonly yes`` (state WAIT_REWRITE): records go to a temp
  incr file while a rewrite writes the base; its end renames both into the
  manifest. ``appendonly no`` stops logging and abandons a rewrite.

Every manifest change goes through a temp file, fsync, rename, fsync of the
directory (`WriteFiles` effects carry these steps). File names in effects are
relative to the working directory (``dir``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kvcore import aof, aof_manifest, rdb
from kvcore.blocking import HeldReply
from kvcore.effects import CancelJob, Fsync, LogMessage, ReadFiles, WriteFiles
from kvcore.reply import OK, Error, Simple

OFF, ON, WAIT_REWRITE = "off", "on", "wait-rewrite"
FSYNC_INTERVAL_MS = 1000
FSYNC_POSTPONE_MAX_MS = 2000  # everysec: a write waits this long for a running fsync, then goes on
REWRITE_RETRY_MS = 1000
REWRITE_LIMIT_FAILURES = 3  # consecutive failed rewrites after which automatic ones are put off...
REWRITE_LIMIT_MAX_MINUTES = 60  # ...for 1 minute, then twice as long each time, up to an hour

REWRITE_STARTED = Simple("Background append only file rewriting started")
REWRITE_SCHEDULED = Simple("Background append only file rewriting scheduled")
REWRITE_IN_PROGRESS = "ERR Background append only file rewriting already in progress"


def manifest_steps(temp: str, path: str) -> tuple[tuple[str, ...], ...]:
    """How a new manifest replaces ``path``: whole and durable in ``temp`` before the rename."""
    return (("write", temp), ("fsync", temp), ("rename", temp, path), ("fsync-dir",))


class Rewrite:
    """One rewrite in flight: its jobs and the files it will put in place."""

    __slots__ = ("image_job", "done_job", "switch_job", "temp", "size", "started_ms", "aborted", "undo", "before_on",
                 "manifest_after")

    def __init__(self, temp: str, started_ms: int) -> None:
        self.image_job: int | None = None
        self.done_job: int | None = None
        self.switch_job: int | None = None  # the manifest listing the new incr
        self.temp = temp
        self.size = 0
        self.started_ms = started_ms
        self.aborted = False
        self.undo: tuple | None = None  # (manifest, incr) before the switch
        self.before_on: tuple | None = None  # (manifest, incr) before this rewrite turned the log on
        self.manifest_after: aof_manifest.Manifest | None = None


class AppendOnly:
    """A node's log files and their life cycle (``node.aof``)."""

    def __init__(self, node) -> None:
        self.node = node
        config = node.config
        self.dirname = config["appenddirname"]
        self.filename = config["appendfilename"]
        self.state = ON if config["appendonly"] else OFF
        # Until the runtime tells what is on disk (`recover`), as on an empty disk.
        plan = aof_manifest.start(aof_manifest.Manifest(), self.filename, config["aof-use-rdb-preamble"])
        self.manifest = plan.manifest if self.state == ON else aof_manifest.Manifest()
        self.incr = plan.append_to  # the file records go to, in the directory
        self.rewrite: Rewrite | None = None
        self.scheduled = False
        self.rewrites = 0
        self.consecutive_failures = 0
        self.limit_minutes = 0  # the last delay the rewrite limit set (`_rewrite_limited`)
        self.limit_until_ms = 0  # automatic rewrites wait until then (0: not limited now)
        self.last_rewrite_ok = True
        self.last_rewrite_time_s = -1
        self.last_rewrite_try_ms = -REWRITE_RETRY_MS
        self.waiting_for_log = False  # a rewrite waits for the log write in flight
        self.current_size = 0
        self.last_cow_bytes = 0  # what copy-on-write cost the last rewrite's child
        self.base_size = 0
        self.incr_size = 0  # written to the current incr
        self.fsync_job: int | None = None
        self.last_fsync_ms = node.now
        self.unsynced = False  # written since the last fsync
        self.postponed_since: int | None = None
        self.delayed_fsyncs = 0
        self.fsync_error = ""
        self.reload: tuple[int, HeldReply] | None = None  # DEBUG LOADAOF's read job and its client
        self._start_jobs: set[int] = set()  # fatal if they fail, as Redis exits
        self._cleanup_jobs: set[int] = set()  # best effort

    # -- names ----------------------------------------------------------------------
    def path(self, name: str) -> str:
        return f"{self.dirname}/{name}"

    def log_path(self) -> str:
        """Where records go now: the current incr, or the temp incr while turning on."""
        if self.state == WAIT_REWRITE:
            return self.path(aof_manifest.temp_incr_name(self.filename))
        return self.path(self.incr)

    def manifest_path(self) -> str:
        return self.path(aof_manifest.manifest_name(self.filename))

    # -- start -----------------------------------------------------------------------
    def open_at_start(self, manifest: aof_manifest.Manifest, loaded_bytes: int, moves: tuple = ()) -> None:
        """The runtime loaded the files ``manifest`` lists (``loaded_bytes`` in all): open the log.

        As aofOpenIfNeededOnServerStart: with an empty dataset on disk, an
        empty base is created; the incr to append to is the last listed (or a
        new one); a changed manifest is persisted before any record is written
        (after ``moves``, the rename steps that bring an old single-file log
        into the directory); then history files a crash left listed are
        deleted (aofDelHistoryFiles).
        """
        if self.state == OFF:
            self.manifest = manifest  # what a later CONFIG SET appendonly yes builds on
            return
        node = self.node
        preamble = node.config["aof-use-rdb-preamble"]
        plan = aof_manifest.start(manifest, self.filename, preamble)
        self.manifest, self.incr = plan.manifest, plan.append_to
        self.current_size = self.base_size = loaded_bytes
        self.incr_size = 0
        steps: list[tuple[str, ...]] = [("mkdir", self.dirname), *moves]
        if plan.create_base is not None:
            temp = self.path(aof_manifest.temp_rewrite_name(node.info.pid))
            steps += [("write", temp), ("fsync", temp), ("rename", temp, self.path(plan.create_base))]
            self._emit_start(self._image(), steps, "aof-base")
            steps = []
        if plan.dirty or steps:
            self._emit_start(b"", steps + [("touch", self.path(self.incr))], "aof-manifest")
        if plan.dirty:
            self._start_jobs.add(self._persist(self.manifest))
        self._delete_history()

    def _emit_start(self, data: bytes, steps: list[tuple[str, ...]], kind: str) -> None:
        job = self.node.new_job()
        self._start_jobs.add(job)
        self.node.emit(WriteFiles(job, steps[-1][-1], data, False, tuple(steps), kind))

    # -- jobs -------------------------------------------------------------------------
    def owns(self, job: int) -> bool:
        rewrite = self.rewrite
        if job == self.fsync_job or job in self._start_jobs or job in self._cleanup_jobs:
            return True
        return rewrite is not None and job in (rewrite.image_job, rewrite.done_job, rewrite.switch_job)

    def job_done(self, job: int, ok: bool, error: str, written: int = 0) -> None:
        """``written``: the size of a rewrite's image (the new base)."""
        node = self.node
        if job == self.fsync_job:
            self._fsync_done(ok, error)
        elif job in self._start_jobs:
            self._start_jobs.discard(job)
            if not ok:  # Redis cannot open its log at start and exits
                node.halt()
        elif job in self._cleanup_jobs:
            self._cleanup_jobs.discard(job)
        else:
            self._rewrite_job_done(job, ok, written)
        node.update_write_gate()

    def written(self, size: int) -> None:
        """A log write of ``size`` bytes succeeded."""
        self.current_size += size
        self.incr_size += size
        self.unsynced = True
        self.postponed_since = None
        self._maybe_fsync()
        if self.waiting_for_log:  # now, not at the next retry: under load the cron always finds a write in flight
            self.waiting_for_log = False
            if self.rewrite is None and not self.node.snapshots.in_progress():
                self.start_rewrite()

    def may_write_now(self) -> bool:
        """Whether a log write may start (everysec: not while an fsync runs, for up to 2 s)."""
        if self.fsync_job is None or self.node.config["appendfsync"] != "everysec":
            return True
        now = self.node.now
        if self.postponed_since is None:
            self.postponed_since = now
        if now - self.postponed_since < FSYNC_POSTPONE_MAX_MS:
            return False
        self.delayed_fsyncs += 1
        self.postponed_since = None
        return True

    def write_error(self) -> str:
        """The error that refuses writes: the last fsync failed (everysec)."""
        return self.fsync_error

    # -- the cron ----------------------------------------------------------------------
    def tick(self) -> None:
        self._maybe_fsync()
        node = self.node
        if self.rewrite is not None or node.snapshots.in_progress():
            return
        if self.scheduled or self.state == WAIT_REWRITE:
            if node.now - self.last_rewrite_try_ms >= REWRITE_RETRY_MS:
                self.start_rewrite()
            return
        if self.state == ON and self._grown_enough() and not self._rewrite_limited():
            node.emit(LogMessage("notice", f"Starting automatic rewriting of AOF on {self._growth()}% growth"))
            self.start_rewrite()

    def _rewrite_limited(self) -> bool:
        """Redis 7.0's aofRewriteLimited: after REWRITE_LIMIT_FAILURES failures in a row an
        automatic rewrite waits 1 minute, then 2, 4... up to an hour (BGREWRITEAOF does not)."""
        node = self.node
        if self.consecutive_failures < REWRITE_LIMIT_FAILURES:
            self.limit_minutes = self.limit_until_ms = 0
            return False
        if self.limit_until_ms:
            if node.now < self.limit_until_ms:
                return True
            self.limit_until_ms = 0
            return False
        self.limit_minutes = min(max(1, self.limit_minutes * 2), REWRITE_LIMIT_MAX_MINUTES)
        self.limit_until_ms = node.now + self.limit_minutes * 60_000
        node.emit(LogMessage("warning", "Background AOF rewrite has repeatedly failed and triggered the limit, "
                                        f"will retry in {self.limit_minutes} minutes"))
        return True

    def _grown_enough(self) -> bool:
        config = self.node.config
        percentage = config["auto-aof-rewrite-percentage"]
        if not percentage or self.current_size <= config["auto-aof-rewrite-min-size"]:
            return False
        if not self.last_rewrite_ok and self.node.now - self.last_rewrite_try_ms < REWRITE_RETRY_MS:
            return False
        return self._growth() >= percentage

    def _growth(self) -> int:
        """How much the log grew since the last rewrite, in percent of the base."""
        base = self.base_size or 1
        return (self.current_size - base) * 100 // base

    def _maybe_fsync(self) -> None:
        node = self.node
        if self.state == OFF or node.config["appendfsync"] != "everysec" or self.fsync_job is not None:
            return
        if not (self.unsynced or self.fsync_error) or node.now - self.last_fsync_ms < FSYNC_INTERVAL_MS:
            return
        self.fsync_job = node.new_job()
        self.unsynced = False
        node.emit(Fsync(self.fsync_job, self.log_path()))

    def _fsync_done(self, ok: bool, error: str) -> None:
        self.fsync_job = None
        self.last_fsync_ms = self.node.now
        if ok:
            self.fsync_error = ""
        else:
            self.fsync_error = error or "Input/output error"
            self.unsynced = True

    # -- rewrite -------------------------------------------------------------------------
    def bgrewriteaof(self, in_exec: bool):
        """BGREWRITEAOF: start now, or schedule while a snapshot runs (or inside EXEC)."""
        if self.rewrite is not None:
            raise Error(REWRITE_IN_PROGRESS)
        if self.node.snapshots.in_progress() or in_exec:
            self.scheduled = True
            return REWRITE_SCHEDULED
        if not self.start_rewrite():
            return REWRITE_SCHEDULED
        return REWRITE_STARTED

    def in_progress(self) -> bool:
        return self.rewrite is not None

    def start_rewrite(self) -> bool:
        """Start a rewrite; False when it must wait (a log write failed or is in flight)."""
        node = self.node
        self.last_rewrite_try_ms = node.now
        if self.state != OFF and not node.flush_log():
            self.scheduled = self.waiting_for_log = True
            return False
        self.scheduled = self.waiting_for_log = False
        temp = self.path(aof_manifest.temp_rewrite_name(node.info.pid))
        rewrite = self.rewrite = Rewrite(temp, node.now)
        if self.state == ON:
            self._switch_incr(rewrite)
        elif self.state == WAIT_REWRITE:
            self._restart_temp_incr()
        rewrite.image_job = node.new_job()
        node.child_info.started(rewrite.image_job, node.dbs)
        steps = (("mkdir", self.dirname), ("write", temp), ("fsync", temp))
        node.image_pending()  # the runtime takes the image of this instant (net: in a forked child)
        node.emit(WriteFiles(rewrite.image_job, temp, self._image, True, steps, "aof-base"))
        return True

    def _restart_temp_incr(self) -> None:
        """Turning on: the temp incr holds only what follows this rewrite's image."""
        temp_incr = self.log_path()
        self.incr_size = 0
        self.node.restart_log_file()
        self._cleanup(temp_incr, (("mkdir", self.dirname), ("truncate", temp_incr)))

    def _switch_incr(self, rewrite: Rewrite) -> None:
        """Records from now go to a new incr, listed in the manifest before the first is written.

        The old incr is fsynced first, whatever ``appendfsync`` says: once a
        later file has records, a torn tail in an earlier one would make the
        log refuse to load ("the truncated file is not the last file").
        """
        old = self.path(self.incr)
        rewrite.undo = (self.manifest, self.incr)
        self.manifest, self.incr = aof_manifest.rewrite_started(self.manifest, self.filename)
        self.incr_size = 0
        self.node.restart_log_file()
        rewrite.switch_job = self._persist(self.manifest, (("fsync", old), ("touch", self.path(self.incr))))

    def _image(self) -> bytes:
        node = self.node
        config = node.config
        if config["aof-use-rdb-preamble"]:
            return rdb.write(node, aof_base=True)
        stamp = node.now // 1000 if config["aof-timestamp-enabled"] else None
        return aof.rewrite_dataset(node, stamp)

    def _rewrite_job_done(self, job: int, ok: bool, written: int) -> None:
        rewrite = self.rewrite
        if job == rewrite.switch_job:
            if not ok:  # writes stay in the old incr, which the manifest on disk lists
                self.manifest, self.incr = rewrite.undo
                self.node.restart_log_file()
                rewrite.aborted = True
        elif job == rewrite.image_job:
            rewrite.size = written
            self.last_cow_bytes = self.node.child_info.ended(job)
            if ok and not rewrite.aborted:
                self._install(rewrite)
                return
            self._rewrite_failed(rewrite.temp)
        elif job == rewrite.done_job:
            if not ok and rewrite.before_on is not None:
                self._not_enabled(rewrite)
            if ok:
                self.manifest = rewrite.manifest_after
                self.base_size = rewrite.size
                self.current_size = rewrite.size + self.incr_size
                self.rewrites += 1
                self.consecutive_failures = 0
                self.last_rewrite_ok = True
                self.last_rewrite_time_s = (self.node.now - rewrite.started_ms) // 1000
                self.rewrite = None
                self._delete_history()
                return
            self._rewrite_failed(None)

    def _install(self, rewrite: Rewrite) -> None:
        """The image is durable: make it the base, by a new manifest."""
        preamble = self.node.config["aof-use-rdb-preamble"]
        steps: list[tuple[str, ...]] = []
        if self.state == WAIT_REWRITE:
            manifest, base, incr = aof_manifest.enable_done(self.manifest, self.filename, preamble)
            temp_incr = self.log_path()
            rewrite.before_on = (self.manifest, self.incr)  # the log is on once the manifest is: see `_not_enabled`
            self.state, self.incr = ON, incr
            steps.append(("rename", temp_incr, self.path(incr)))
            self.node.restart_log_file()
        else:
            manifest, base = aof_manifest.rewrite_done(self.manifest, self.filename, preamble, aof_on=self.state == ON)
        steps.insert(0, ("rename", rewrite.temp, self.path(base)))
        rewrite.manifest_after = manifest  # listing the history files until they are deleted
        rewrite.done_job = self._persist(manifest, tuple(steps))

    def _not_enabled(self, rewrite: Rewrite) -> None:
        """The manifest that would have turned the log on failed: still turning on (Redis sets
        AOF_ON only once that manifest is persisted), so the next rewrite retries and a shutdown
        is refused meanwhile; records go to the temp incr again, which that rewrite's image covers."""
        self.manifest, self.incr = rewrite.before_on
        self.state = WAIT_REWRITE
        self.node.restart_log_file()

    def _delete_history(self) -> None:
        """aofDelHistoryFiles: the history files, then the manifest without them.

        In that order, so that a crash in between leaves no file unlisted: the
        next start finds the history in the manifest and deletes it then.
        With ``aof-disable-auto-gc yes`` the history stays (until set to no).
        """
        if not self.manifest.history or self.node.config["aof-disable-auto-gc"]:
            return
        self.manifest, obsolete = aof_manifest.drop_history(self.manifest)
        removals = tuple(("remove", self.path(name)) for name in obsolete)
        self._cleanup_jobs.add(self._persist(self.manifest, removals))

    def _rewrite_failed(self, temp: str | None) -> None:
        self.rewrite = None
        self.rewrites += 1
        self.consecutive_failures += 1
        self.last_rewrite_ok = False
        if temp is not None:
            self._cleanup(temp, (("remove", temp),))
        if self.state == WAIT_REWRITE:  # what it holds is in the next rewrite's image
            temp_incr = self.log_path()
            self.node.emit(LogMessage("notice", f"Removing the temp incr aof file {temp_incr.rsplit('/', 1)[-1]} "
                                                "in the background"))
            self._cleanup(temp_incr, (("remove", temp_incr),))

    # -- DEBUG LOADAOF -------------------------------------------------------------------
    def debug_loadaof(self, client) -> None:
        """Write what is pending, then read the manifest, then the files it lists, in place of the dataset.

        As Redis: the manifest on disk replaces the one in memory (so the
        next incr is numbered from it), history files go, then the files
        load. The reply waits for the runtime's `ReadFiles`; a manifest or a
        log that no longer loads stops the server, as Redis exits.
        """
        node = self.node
        if self.state == ON:
            node.flush_log()
        job = node.new_job()
        self.reload = (job, HeldReply(client, "reload"), False)
        node.emit(ReadFiles(job, (self.manifest_path(),)))

    def files_read(self, job: int, contents: dict[str, bytes | None], now: int) -> None:
        """The runtime read the files of a `ReadFiles` effect: DEBUG LOADAOF's manifest, then its files."""
        node = self.node
        node.now = now
        if self.reload is None or self.reload[0] != job:
            return
        _, waiter, manifest_read = self.reload
        if not manifest_read:
            self._reload_manifest(contents.get(self.manifest_path()), waiter)
            return
        self.reload = None
        for db in node.dbs:
            db.clear()
        files = {info.name: contents.get(self.path(info.name)) for info in self.manifest.load_order()}
        result = aof.load_files(node, self.manifest, {name: data for name, data in files.items() if data is not None})
        if not result.ok and result.status != aof.NOT_EXIST:
            node.halt()
            return
        node.stats.dirty = 0  # as Redis: the loaded data is not a change to propagate or save
        waiter.release(node, OK)

    def _reload_manifest(self, text: bytes | None, waiter: HeldReply) -> None:
        node = self.node
        try:
            manifest = aof_manifest.parse_manifest(text) if text is not None else aof_manifest.Manifest()
        except aof_manifest.ManifestError:
            self.reload = None
            node.halt()
            return
        self.manifest = manifest
        self._delete_history()
        job = node.new_job()
        self.reload = (job, waiter, True)
        node.emit(ReadFiles(job, tuple(self.path(info.name) for info in self.manifest.load_order())))

    # -- turning on and off ------------------------------------------------------------------
    def auto_gc_changed(self, disabled: bool) -> None:
        """CONFIG SET aof-disable-auto-gc no: the history kept meanwhile goes now."""
        if not disabled:
            self._delete_history()

    def config_changed(self, on: bool) -> None:
        """CONFIG SET appendonly: start logging through a rewrite, or stop."""
        if on and self.state == OFF:
            self.state = WAIT_REWRITE
            self.node.restart_log_file()
            # A rewrite in flight did not take the log's records into account: it goes.
            if self.node.snapshots.in_progress() or self.node.in_exec:
                if self.rewrite is not None:
                    self.rewrite.aborted = True
                self.scheduled = True
                if self.node.snapshots.in_progress():
                    reason = "AOF was enabled but there is already another background operation."
                else:
                    reason = "AOF was enabled during a transaction."
                self.node.emit(LogMessage("warning", f"{reason} An AOF background was scheduled to start when possible."))
            else:
                if self.rewrite is not None:
                    self._stop_rewrite()
                self.start_rewrite()
        elif not on and self.state != OFF:
            self.node.flush_log()
            self.state = OFF
            self.scheduled = False
            if self.rewrite is not None:
                self._stop_rewrite()

    def _stop_rewrite(self) -> None:
        """Kill the rewrite's child (`CancelJob`), as Redis's killAppendOnlyChild: not a failure."""
        rewrite, self.rewrite = self.rewrite, None
        self.node.emit(CancelJob(rewrite.image_job))
        self.node.child_info.ended(rewrite.image_job)

    # -- files ----------------------------------------------------------------------------------
    def _persist(self, manifest, before: tuple = ()) -> int:
        """Replace the manifest (foreground): ``before`` steps, temp file, fsync, rename,
        directory fsync. Returns the job."""
        temp = self.path(aof_manifest.temp_manifest_name(self.filename))
        final = self.manifest_path()
        steps = before + manifest_steps(temp, final)
        job = self.node.new_job()
        text = aof_manifest.format_manifest(manifest).encode("utf-8", "surrogateescape")
        self.node.emit(WriteFiles(job, final, text, False, steps, "aof-manifest"))
        return job

    def _cleanup(self, path: str, steps: tuple) -> None:
        job = self.node.new_job()
        self._cleanup_jobs.add(job)
        self.node.emit(WriteFiles(job, path, b"", False, steps, "aof-manifest"))

    # -- INFO -----------------------------------------------------------------------------------
    def info_fields(self) -> list[tuple[str, object]]:
        """INFO persistence's aof fields, as Redis 7.0 lists them."""
        node = self.node
        rewrite = self.rewrite
        fields = [
            ("aof_enabled", int(self.state != OFF)),
            ("aof_rewrite_in_progress", int(rewrite is not None)),
            ("aof_rewrite_scheduled", int(self.scheduled)),
            ("aof_last_rewrite_time_sec", self.last_rewrite_time_s),
            ("aof_current_rewrite_time_sec", (node.now - rewrite.started_ms) // 1000 if rewrite else -1),
            ("aof_last_bgrewrite_status", "ok" if self.last_rewrite_ok else "err"),
            ("aof_rewrites", self.rewrites),
            ("aof_rewrites_consecutive_failures", self.consecutive_failures),
            ("aof_last_write_status", "err" if node.aof_write_error else "ok"),
            ("aof_last_cow_size", self.last_cow_bytes),
            ("module_fork_in_progress", 0),
            ("module_fork_last_cow_size", 0),
        ]
        if self.state != OFF:
            fields += [
                ("aof_current_size", self.current_size),
                ("aof_base_size", self.base_size),
                ("aof_pending_rewrite", int(self.scheduled)),
                ("aof_buffer_length", node.pending_log_bytes()),
                ("aof_pending_bio_fsync", int(self.fsync_job is not None)),
                ("aof_delayed_fsync", self.delayed_fsyncs),
            ]
        return fields


# -- loading at start ------------------------------------------------------------------------
@dataclass(slots=True)
class Recovery:
    """What loading the log at start did: ``ok`` (else the server exits), the lines to log,
    and ``truncate``: (path, size), a truncated tail the runtime cuts off before serving."""

    ok: bool
    log: list[str]
    truncate: tuple[str, int] | None = None
    commands: int = 0


def recover(node, read: Callable[[str], bytes | None]) -> Recovery:
    """Read the manifest; with ``appendonly yes`` load the log and open it for appending.

    ``read(path)`` is the runtime's file reader (None for a missing file).
    As redis-server: the manifest is read even with the log off (a corrupt
    one refuses the start); with it on, loadAppendOnlyFiles: its base and
    incr files in order, a truncated tail accepted or refused by
    ``aof-load-truncated``, a corrupt file refusing the start.
    """
    log_files = node.aof
    text = read(log_files.manifest_path())
    try:
        manifest = aof_manifest.parse_manifest(text) if text is not None else aof_manifest.Manifest()
    except aof_manifest.ManifestError as exc:
        return Recovery(False, exc.log_lines())
    if log_files.state == OFF:
        log_files.open_at_start(manifest, 0)
        return Recovery(True, [])
    files = {}
    name = log_files.filename
    old_style = read(name)  # a Redis < 7 log: one file in the working directory
    moves: tuple = ()
    if old_style is not None and aof_manifest.needs_upgrade(
        manifest, name, dir_exists=text is not None, in_dir=read(log_files.path(name)) is not None
    ):
        manifest, files[name] = aof_manifest.upgrade(name), old_style
        moves = (("rename", name, log_files.path(name)),)
    for info in manifest.load_order():
        data = files.get(info.name) if moves else read(log_files.path(info.name))
        if data is not None:
            files[info.name] = data
    result = aof.load_files(node, manifest, files)
    if result.status == aof.FAILED:
        return Recovery(False, result.log, commands=result.commands)
    size = sum(len(data) for data in files.values())
    truncate = None
    if result.status == aof.TRUNCATED:
        truncate = (result.file if moves else log_files.path(result.file), result.truncate_to)
        size -= len(files[result.file]) - result.truncate_to
    log_files.open_at_start(manifest, size, moves)
    return Recovery(True, result.log, truncate, result.commands)
