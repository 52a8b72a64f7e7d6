"""Snapshots in the simulated world: writing `WriteFiles` effects, and recovering from them.

`write_snapshot` carries out the file operations the core chose (the
effect's ``steps``) on the node's simulated disk, one after the other in
simulated time, so that a kill or a power loss can fall between any two:
``write`` puts the image in the page cache (its time grows with the size),
``fsync`` makes a file durable after the disk's fsync time (slow-fsync and
fsync-error faults apply), ``rename`` is atomic and immediate, and
``fsync-dir`` takes an fsync's time (the disk's renames are durable at once,
so it only waits and may fail). A step fails on a full disk or an fsync
error; a temp file written and not renamed is then removed. A step's effect
lands when its time is up, and only if the process that started it is still
alive (net's forked child dies with its parent). A paused process makes no
progress on a foreground job; a background one goes on, as a forked child
is not stopped with its parent.

`recover_from_disk` is the recovery hook (`sim.node.Recover`) of a node
whose dataset lives on its disk: the append-only log with ``appendonly yes``
(`kvcore.appendonly.recover` reads the manifest and its files; a truncated
tail is cut off the file, as redis-server does with aof-load-truncated),
else ``dbfilename``; after a power loss only the durable part of a file
survived. A file that cannot be loaded makes the start fail
(`RecoveryFailed`), as redis-server refuses to start on a corrupt dump or log.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from simpy.events import Timeout

from kvcore import appendonly, rdb
from kvcore.config import Config
from kvcore.effects import WriteFiles, with_child_id
from kvcore.node import Node
from sim.rng import derive

if TYPE_CHECKING:
    from sim.disk import Disk
    from sim.node import Boot, SimNode

REWRITE_MIN_SIZES = ("64mb", "16kb", "4kb")  # Redis's default (no run's log grows so big), and logs a run outgrows
WRITE_BYTES_PER_MS = 200_000  # page-cache copy speed: a few ms for a MB
PAUSED_POLL_MS = 10


class RecoveryFailed(Exception):
    """The disk holds a dataset the server refuses to start from."""


# -- recovery ------------------------------------------------------------------------------


def log_options(seed: int) -> dict[str, str]:
    """With the log on, how big it grows before it is rewritten (auto-aof-rewrite-min-size), drawn from the
    seed: never in a run, as by Redis's default, or every few seconds of writes, so that kills, power
    losses and disk faults meet rewrites under way and logs of a base and several incr files."""
    return {"auto-aof-rewrite-min-size": derive(seed, "persistence/rewrites").choice(REWRITE_MIN_SIZES)}


def recover_from_disk(disk: Disk, boot: Boot) -> Node:
    """A node with the dataset its disk holds, as redis-server starts.

    The ACL file (``aclfile``) loads first, as redis-server loads its users
    before the data, then (cluster-enabled) ``cluster-config-file``. The manifest is read next (`kvcore.appendonly.recover`); with
    ``appendonly yes`` the log is the dataset, and its files are loaded (a
    truncated tail cut off the file); otherwise ``dbfilename`` is (empty if
    there is none).
    """
    node = Node(Config(boot.config), rng=boot.rng, info=boot.info, now=boot.now_ms)
    aclfile = node.config["aclfile"]
    problems = node.acl.load_at_start(disk.read(aclfile) if aclfile else None)
    if problems:
        raise RecoveryFailed(problems[0])
    if node.cluster is not None:
        ok, line = node.cluster.load_at_start(disk.read(node.config["cluster-config-file"]))
        if not ok:
            raise RecoveryFailed(line)
    recovery = appendonly.recover(node, disk.read)
    if not recovery.ok:
        raise RecoveryFailed(recovery.log[-1].strip() if recovery.log else "the log cannot be loaded")
    if recovery.truncate is not None:
        disk.truncate(*recovery.truncate)
    if node.config["appendonly"]:
        return node
    path = node.config["dbfilename"]
    data = disk.read(path)
    if data is None:
        return node
    try:
        result = rdb.load(node, data)
    except rdb.RdbError as exc:
        raise RecoveryFailed(f"{path}: {exc}") from None
    node.snapshots.loaded(result)
    return node


# -- writing ---------------------------------------------------------------------------------


def write_snapshot(node: SimNode, effects: list, index: int) -> bool:
    """Start carrying out ``effects[index]``; True if it is foreground (the rest waits for it).

    A background job's image is taken at once (where net forks), and the
    node, frozen until then, is told so.
    """
    effect: WriteFiles = effects[index]
    effect = replace(effect, steps=with_child_id(effect.steps, effect.job))  # the "child" writing it: the job
    data = effect.data
    if callable(data):
        data = data()
        node.core.image_taken(node.clock.now())
        node.schedule_run()
    node.trace.add(("effect", node.env.now, node.name, "snapshot-start", effect.job, len(data)))
    job = SnapshotJob(node, effect, data, effects, index)
    if effect.background:
        node.background_jobs[effect.job] = job
    else:
        node.busy = True
    job.next_step()
    return not effect.background


def cancel_snapshot(node: SimNode, job: int) -> None:
    """`CancelJob`: the job takes no further step and reports nothing; its temp file goes (net kills the child)."""
    running = node.background_jobs.pop(job, None)
    if running is not None:
        running.cancel()


class SnapshotJob:
    """One snapshot's steps on a node's disk, each taking its simulated time."""

    def __init__(self, node: SimNode, effect: WriteFiles, data: bytes, effects: list, index: int) -> None:
        self.node = node
        self.effect = effect
        self.data = data
        self.effects = effects
        self.index = index
        self.incarnation = node.incarnation
        self.step = 0
        self.unrenamed: list[str] = []
        self.cancelled = False

    def next_step(self) -> None:
        steps = self.effect.steps
        if self.step == len(steps):
            self._done(True)
            return
        self._after(self._duration_ms(steps[self.step]), self._apply)

    def _duration_ms(self, step: tuple[str, ...]) -> int:
        op = step[0]
        if op == "write":
            return 1 + len(self.data) // WRITE_BYTES_PER_MS
        if op in ("fsync", "fsync-dir"):
            return self.node.disk.fsync_ms()
        return 0

    def _after(self, delay_ms: int, then) -> None:
        Timeout(self.node.env, delay_ms, (self, then)).callbacks.append(_fire)

    def fire(self, then) -> None:
        node = self.node
        if node.incarnation != self.incarnation or self.cancelled:
            return  # the process died (or the job was stopped): the rest of the job never happens
        if node.paused and not self.effect.background:
            self._after(PAUSED_POLL_MS, then)
            return
        then()

    def cancel(self) -> None:
        self.cancelled = True
        for name in self.unrenamed:
            self.node.disk.remove(name)

    def _apply(self) -> None:
        step = self.effect.steps[self.step]
        if self._perform(step):
            self.step += 1
            self.next_step()
        else:
            for name in self.unrenamed:
                self.node.disk.remove(name)
            self._done(False)

    def _perform(self, step: tuple[str, ...]) -> bool:
        disk = self.node.disk
        op = step[0]
        if op == "write":
            self.unrenamed.append(step[1])
            return disk.replace(step[1], self.data)
        if op == "truncate":
            return disk.replace(step[1], b"")
        if op == "touch":
            return disk.touch(step[1])
        if op == "remove":
            disk.remove(step[1])
            return True
        if op == "mkdir":
            return True  # the simulated disk has no directories: names carry them
        if op == "fsync":
            return disk.fsync(step[1])
        if op == "rename":
            if disk.read(step[1]) is None:
                return False
            disk.rename(step[1], step[2])
            if step[1] in self.unrenamed:
                self.unrenamed.remove(step[1])
            return True
        if op == "fsync-dir":
            return not disk.faults.fsync_errors
        return False

    def _done(self, ok: bool) -> None:
        node, effect = self.node, self.effect
        node.trace.add(("effect", node.env.now, node.name, "snapshot-done", effect.job, int(ok)))
        if effect.background:
            node.background_jobs.pop(effect.job, None)
            node.job_finished(self.incarnation, effect.job, ok, "" if ok else "disk error", len(self.data))
        else:
            node.finish_foreground(self.effects, self.index, ok)


def _fire(event: Timeout) -> None:
    job, then = event._value
    job.fire(then)
