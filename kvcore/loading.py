"""Loading a snapshot while serving clients, as redis-server loads its dump at start-up.

Redis reads the file in its event loop's stead, but every
``loading-process-events-interval-bytes`` it stops to serve clients: they are
answered ``-LOADING`` for every command not flagged as allowed while loading
(INFO, CONFIG, SELECT...; `kvcore.node`'s write gate), a few options may not
change (``DENY_LOADING``), and INFO shows the progress (`info_fields`).

The runtime makes a `Loading` for the file's bytes, then calls `step` from its
loop until it is done; `step` reads whole keys up to the interval's byte
budget and says how many it read, for the runtime to sleep ``key-load-delay``
microseconds per key as Redis's debugging option does (the core never sleeps).
At the end the keys go in at once (`kvcore.rdb.install`). A file that turns
out corrupt raises `kvcore.rdb.RdbError` from `step`: the runtime gives up the
start, as redis-server exits.
"""

from __future__ import annotations

from kvcore import rdb

DENY_LOADING = frozenset({"dir", "appendonly"})  # Redis 7.0's DENY_LOADING_CONFIG options


class Loading:
    """One file being loaded; while it is, the node refuses what Redis refuses while loading."""

    def __init__(self, node, data: bytes, now: int) -> None:
        self.node = node
        self.reader = rdb.RdbReader(data, node.config, len(node.dbs), node.config["rdbchecksum"])
        self.started_ms = now
        self.result: rdb.LoadResult | None = None
        node.now = now
        node.loading = True
        node.loading_file = self
        node.update_write_gate()

    def step(self, now: int) -> int:
        """Read the next keys (all that end within the interval's budget); how many were read.
        Once the end is read the keys are installed and `result` says what loaded."""
        node = self.node
        node.now = now
        parsed = self.reader.parsed
        before = parsed.keys_read
        try:
            if self.reader.step(node.config["loading-process-events-interval-bytes"]):
                self.result = rdb.install(node, self.reader.snapshot())
        except rdb.RdbError:
            self._end()
            raise
        if self.result is not None:
            self._end()
            self.installed(self.result)
        return parsed.keys_read - before

    def installed(self, result: rdb.LoadResult) -> None:
        """The keys are in (the node no longer loading): the file becomes the last save."""
        self.node.snapshots.loaded(result)

    @property
    def done(self) -> bool:
        return self.result is not None

    def _end(self) -> None:
        self.node.loading = False
        self.node.loading_file = None
        self.node.update_write_gate()

    def info_fields(self, now: int) -> list[tuple[str, object]]:
        """INFO persistence's loading_* fields, as Redis shows them while it loads."""
        reader = self.reader
        return progress_fields(self.started_ms, now, reader.size, reader.position, rdb_used_mem(reader.parsed))


def rdb_used_mem(parsed: rdb.Snapshot | None) -> int:
    """loading_rdb_used_mem: the used-mem AUX field of the file being loaded, once read (else 0)."""
    used_mem = parsed.aux.get(b"used-mem", b"0") if parsed is not None else b"0"
    return int(used_mem) if used_mem.isdigit() else 0


def progress_fields(started_ms: int, now: int, total: int, loaded: int, used_mem: int = 0) -> list[tuple[str, object]]:
    """The loading_* fields of a load begun at ``started_ms`` (``total`` 0: its size unknown)."""
    elapsed_s = (now - started_ms) / 1000
    rate = loaded / elapsed_s if elapsed_s > 0 else 0
    return [
        ("loading_start_time", started_ms // 1000),
        ("loading_total_bytes", total),
        ("loading_rdb_used_mem", used_mem),
        ("loading_loaded_bytes", loaded),
        ("loading_loaded_perc", "%.2f" % (loaded * 100 / total if total else 0)),
        ("loading_eta_seconds", int((total - loaded) / rate) if rate and total else 1),
    ]
