"""Effects: what the core asks its runtime to do, drained in order.

Foreground effects finish before the next starts; a background one
(`Fsync` under everysec, a background `WriteFiles`) runs alongside. Effects that carry a
``job`` are reported back with `Node.job_done(job, ok, now)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class Send:
    """Write bytes to a connection (all replies of one drain, batched).

    A plain slotted class rather than a frozen dataclass: one is made per
    connection per drain, and a frozen dataclass's __init__ costs three times
    as much. Treat it as immutable all the same.
    """

    __slots__ = ("conn", "data")

    def __init__(self, conn: int, data: bytes) -> None:
        self.conn = conn
        self.data = data

    def __eq__(self, other: object) -> bool:
        return type(other) is Send and other.conn == self.conn and other.data == self.data

    def __hash__(self) -> int:
        return hash((self.conn, self.data))

    def __repr__(self) -> str:
        return f"Send(conn={self.conn!r}, data={self.data!r})"


@dataclass(frozen=True, slots=True)
class Connect:
    """Open a TCP connection to ``host``:``port`` (a replica's link to its master).

    ``conn`` is an id the node chose from its own range (`kvcore.replica.LINK_CONNS`); the
    runtime reports ``node.connected(conn, now, laddr)`` or ``node.connect_failed(conn, now,
    error)``, then the connection's bytes with ``node.receive`` and its end with
    ``node.closed``, as for an accepted one; `Send` and `Close` name it by ``conn``.
    """

    conn: int
    host: str
    port: int
    source: str = ""  # the local address to connect from (bind-source-addr); "": the system's choice


@dataclass(frozen=True, slots=True)
class Close:
    """Close a connection after everything sent to it before; with ``discard``, at once,
    dropping what it has not read (a client over its output buffer limit)."""

    conn: int
    discard: bool = False


@dataclass(frozen=True, slots=True)
class AppendLog:
    """Append records to the log file ``path`` (created if missing), then fsync if ``fsync``.

    Replies produced with these records are held until the job is done. When
    ``path`` differs from the file of the previous append, the runtime fsyncs
    and closes that one first (the log moved to a new incremental file).
    """

    job: int
    data: bytes
    fsync: bool
    path: str


@dataclass(frozen=True, slots=True)
class Fsync:
    """A background fsync of the log file ``path`` (appendfsync everysec)."""

    job: int
    path: str



@dataclass(frozen=True, slots=True)
class WriteFiles:
    """File operations in order: a snapshot, an AOF base, a manifest and its switch.

    ``steps`` (see `kvcore.snapshots.write_steps`) are, in order,
    ``("write", name)`` (create or truncate ``name`` and write ``data``),
    ``("truncate", name)`` (create or empty ``name``), ``("touch", name)``
    (create ``name`` if missing, keep its bytes), ``("fsync", name)``,
    ``("rename", src, dst)`` (atomic), ``("fsync-dir",)`` (the directory of
    the files), ``("mkdir", name)`` (if missing) and ``("remove", name)``
    (if present; never fails). The runtime stops at the
    first that fails, removes a temp file left behind, and reports
    ``job_done(job, False, error, written)``. A foreground one (SAVE, SHUTDOWN)
    finishes before the next effect, and ``data`` is its bytes. A background
    one (BGSAVE, the save schedule, an AOF rewrite's base) runs alongside, and
    ``data`` is a function that makes the point-in-time image: the runtime
    calls it as it carries out the effect (net in a forked child, as Redis
    forks; sim at once), then reports ``node.image_taken(now)``; until then
    the node changes nothing in its dataset, so the image is the dataset at
    the instant the job started. ``written`` is the size of the image.
    In a background job's file names, CHILD_ID stands for the id of the
    process writing them (`with_child_id`): net's forked child puts in its
    pid, as Redis names a child's temp file temp-<pid>.rdb; sim the job.
    """

    job: int
    path: str
    data: bytes | Callable[[], bytes]
    background: bool
    steps: tuple[tuple[str, ...], ...]
    kind: str = "rdb"  # what the files are: "rdb", "aof-base", "aof-manifest" (for the runtime's log)


CHILD_ID = "{child}"


def with_child_id(steps: tuple[tuple[str, ...], ...], ident: int) -> tuple[tuple[str, ...], ...]:
    """`WriteFiles` steps with CHILD_ID in their file names replaced by ``ident``."""
    return tuple(tuple(part.replace(CHILD_ID, str(ident)) for part in step) for step in steps)


@dataclass(frozen=True, slots=True)
class Listen:
    """Listen for clients on ``port`` at the ``bind`` addresses (redis.conf's syntax) instead of
    where the server listens now (CONFIG SET port/bind), keeping the unix socket; if that cannot
    be done, keep listening where it did. Reported by ``job_done(job, ok, error)``."""

    job: int
    bind: str
    port: int


@dataclass(frozen=True, slots=True)
class ReadFiles:
    """Read the files at ``paths`` whole (foreground, before the next effect).

    The runtime reports their contents with
    ``node.files_read(job, {path: bytes or None for a missing file}, now)``.
    """

    job: int
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StepLoading:
    """A load began in the core (``node.loading_file``, a replica's full sync): call its ``step(now)``
    until it is ``done``, serving connections between steps and sleeping ``key-load-delay``
    microseconds a key read, as the start-up load is run."""


@dataclass(frozen=True, slots=True)
class Pause:
    """The server stops for ``ms`` milliseconds before the next effect (DEBUG SLEEP): net blocks
    its loop, as redis-server blocks; sim keeps the node busy that long."""

    ms: int


SIGABRT, SIGSEGV = 6, 11  # the signals a crash ends the process by (Linux's numbers)


@dataclass(frozen=True, slots=True)
class Crash:
    """The process dies as a crashed redis-server does (DEBUG SEGFAULT, DEBUG PANIC, a failed
    assertion): its bug report in the log, then killed by ``signal``. ``reason``: a panic's
    words; ``details``: lines the report starts with (an assertion's, a hex dump's). A panic or
    an assertion (either given) exits with status 1 instead under ``use-exit-on-panic``."""

    signal: int
    reason: str = ""
    details: tuple[str, ...] = ()

    @property
    def panic(self) -> bool:
        return bool(self.reason or self.details)


REPLICAS_GONE = "every replica hung up"  # a `SendImage` child's error when it has no one left to send to


@dataclass(frozen=True, slots=True)
class SendImage:
    """A full sync's payload for replicas, written to their connections by a forked child as
    redis-server's child writes it, so a slow replica stalls the child, not the server: to each
    conn of ``targets`` its own first bytes then ``payload``, spread over ``delay_s`` seconds
    (rdb-key-save-delay). Nothing else is sent to those connections until the job is reported
    by ``job_done(job, ok, error)`` (the error `REPLICAS_GONE` when every target hung up); a
    `CancelJob` kills the child. Not ``diskless``: the file a disk-based sync saved (Redis's
    parent sends it itself, and logs no child). A diskless sync's ``payload`` is a function that
    makes it from the point-in-time image, as `WriteFiles`'s ``data``: the runtime calls it where
    it takes the image (net in the forked child, as Redis's child serializes), then reports
    ``node.image_taken``."""

    job: int
    targets: tuple[tuple[int, bytes], ...]
    payload: bytes | Callable[[], bytes]
    delay_s: float = 0.0
    diskless: bool = True


@dataclass(frozen=True, slots=True)
class LogMessage:
    """A line for the server log about a decision the core made, in redis-server's words
    (test harnesses wait for some of them). ``level``: a loglevel name ("verbose", "notice", "warning")."""

    level: str
    text: str


@dataclass(frozen=True, slots=True)
class CancelJob:
    """Stop the background `WriteFiles` job ``job`` (net kills its child, as Redis's
    killRDBChild); the node has forgotten it, so whatever it still reports is ignored."""

    job: int


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Stop the process after the effects before this one."""

    exit_code: int = 0


@dataclass(frozen=True, slots=True)
class RewriteConfig:
    """CONFIG REWRITE: update the config file at ``path`` with ``text``.

    ``text`` holds one redis.conf line per option whose value differs from
    its default, and the ACL users as ``user`` lines unless there is an ACL
    file. The runtime rewrites the file as Redis does: each of these
    lines replaces the file's line for the same option, or is appended; an
    option the file names but ``text`` does not is back at its default
    (``kvcore.config.BY_NAME[name].default``), and ``user`` lines go;
    comments and unknown lines stay. Failures cannot reach the client: the reply (OK) is already sent.
    """

    path: str
    text: str
