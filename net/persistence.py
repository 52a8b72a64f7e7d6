"""Loading at start-up: the ACL users (``user`` directives, ``aclfile``), then the dataset: the
log if ``appendonly yes``, before serving; else the snapshot, while serving (`kvcore.loading`:
clients are answered -LOADING until it is in; `net.server` runs its steps).

The process runs in ``dir``. With the log on, `kvcore.appendonly.recover`
reads the manifest and the files it lists (from ``appenddirname``) and
replays them; a truncated tail is cut off the file here, as Redis truncates
it, and a corrupt file stops the start. Without it, ``dbfilename`` is loaded;
a file that does not exist means an empty dataset; one that cannot be read
or parsed stops the start, logged as redis-server logs it (with the offset
where the file went wrong, `log_rdb_error`). A stopped start exits with code 1. Writing files
(`WriteFiles` effects) is carried out by `net.server` with `net.disk.run_steps`.
"""

from __future__ import annotations

import os
import time

from kvcore import appendonly, rdb
from kvcore.loading import Loading
from net.log import WARNING

SHORT_READ = "Short read or OOM loading DB. Unrecoverable error, aborting now."


def load_acl_at_start(node, log) -> bool:
    """The config's users and the ACL file; False (the server must exit 1) on any error."""
    path = node.config["aclfile"]
    problems = node.acl.load_at_start(read_or_none(path) if path else None)
    for line in problems:
        log.warning(line)
    return not problems


def load_cluster_at_start(node, log) -> bool:
    """cluster-enabled: the node's nodes.conf (written now if there is none); False (the server
    must exit 1) if it cannot be read."""
    if node.cluster is None:
        return True
    ok, line = node.cluster.load_at_start(read_or_none(node.config["cluster-config-file"]))
    (log.notice if ok else log.warning)(line)
    return ok


def load_at_start(node, log, now: int) -> bool:
    """Load the log, or start loading the snapshot (`node.loading_file`); False (the server
    must exit 1) if the dataset cannot be loaded."""
    if not _load_log(node, log):
        return False
    return node.config["appendonly"] or _open_snapshot(node, log, now)


def _load_log(node, log) -> bool:
    """The manifest always (a corrupt one stops the start), the files it lists with the log on."""
    started = time.perf_counter()
    recovery = appendonly.recover(node, read_or_none)
    for line in recovery.log:
        log.warning(line.rstrip("\n"))
    if not recovery.ok:
        return False
    if recovery.truncate is not None:
        path, size = recovery.truncate
        try:
            os.truncate(path, size)
        except OSError as exc:
            log.warning(f"Error truncating the AOF file {path}: {exc.strerror}")
            return False
    if recovery.commands or node.aof.current_size:
        log.notice(f"DB loaded from append only file: {time.perf_counter() - started:.3f} seconds")
    return True


def read_or_none(path: str) -> bytes | None:
    """A whole file, or None if it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _open_snapshot(node, log, now: int) -> bool:
    """Read ``dbfilename`` if it exists and start loading it (its header checked)."""
    path = node.config["dbfilename"]
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return True
    except OSError as exc:
        log.warning(f"Fatal error loading the DB: {exc.strerror}. Exiting.")
        return False
    try:
        Loading(node, data, now)
    except rdb.RdbError as exc:
        log_rdb_error(log, exc)
        return False
    return True


def log_rdb_error(log, exc: rdb.RdbError) -> None:
    """A snapshot that cannot be loaded, as redis-server reports it before it exits."""
    if exc.message == rdb.EOF_ERROR:
        log.warning(SHORT_READ)
    error = f"Internal error in RDB reading offset {exc.offset}, function at rdb.c:0 -> {exc.message}"
    log.warning(error)
    log.raw(WARNING, f"--- RDB ERROR DETECTED ---\n[offset {exc.offset}] {error}\n")  # redis-check-rdb's report
    log.warning("Terminating server after rdb file reading failure.")


def log_loaded(node, log, result: rdb.LoadResult, took_s: float) -> None:
    aux = result.aux
    if b"redis-ver" in aux:
        log.notice(f"Loading RDB produced by version {aux[b'redis-ver'].decode('utf-8', 'replace')}")
    if aux.get(b"ctime", b"").isdigit():
        log.notice(f"RDB age {max(node.now // 1000 - int(aux[b'ctime']), 0)} seconds")
    if aux.get(b"used-mem", b"").isdigit():
        log.notice(f"RDB memory usage when created {int(aux[b'used-mem']) / 1024 / 1024:.2f} Mb")
    for key in result.empty_keys[:10]:  # rdbLoadRio logs the first ten
        log.warning(f"rdbLoadObject skipping empty key: {key.decode('utf-8', 'replace')}")
    if result.empty_keys:
        log.warning(f"Done loading RDB, keys loaded: {result.keys_loaded}, keys expired: {result.keys_expired}, "
                    f"empty keys skipped: {len(result.empty_keys)}.")
    else:
        log.notice(f"Done loading RDB, keys loaded: {result.keys_loaded}, keys expired: {result.keys_expired}.")
    log.notice(f"DB loaded from disk: {took_s:.3f} seconds")
