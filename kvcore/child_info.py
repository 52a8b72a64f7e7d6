"""What the running child says of its progress, for INFO persistence (Redis's child info pipe).

Redis's child reports, about once a second, how many keys it has saved and how much memory
copy-on-write has cost it so far, and its copy-on-write once more as it ends: INFO shows the
current figures while it runs (``current_cow_size``, ``current_fork_perc``...) and the last
one after (``rdb_last_cow_size``, ``aof_last_cow_size``). The runtime relays the reports
(`Node.child_progress`); a runtime that sends none leaves them at 0.
"""

from __future__ import annotations


class ChildInfo:
    """The reports of the child of one background job (a snapshot or a log rewrite)."""

    def __init__(self) -> None:
        self.job: int | None = None
        self.used_at_fork: list[tuple[int, int]] = []  # each database's keys and TTLs when it forked
        self.keys_total = 0
        self.keys_processed = 0
        self.cow_bytes = 0
        self.cow_peak = 0
        self.cow_updated_ms: int | None = None

    def started(self, job: int, dbs) -> None:
        """A child was asked for, of ``dbs`` as they are: its figures start from nothing."""
        self.__init__()
        self.job = job
        self.used_at_fork = [(len(db.data), len(db.expires)) for db in dbs]
        self.keys_total = sum(keys for keys, _ in self.used_at_fork)

    def progress(self, job: int, done: float, cow_bytes: int, now_ms: int) -> None:
        """The child of ``job`` has done this share of its work, at this copy-on-write cost."""
        if job != self.job:
            return
        self.keys_processed = min(self.keys_total, int(self.keys_total * done))
        self.cow_bytes = cow_bytes
        self.cow_peak = max(self.cow_peak, cow_bytes)
        self.cow_updated_ms = now_ms

    def ended(self, job: int) -> int:
        """The child of ``job`` is gone: its last copy-on-write (0 if another job's)."""
        if job != self.job:
            return 0
        cow = self.cow_bytes
        self.__init__()
        return cow

    def info_fields(self, now_ms: int) -> list[tuple[str, object]]:
        age_s = (now_ms - self.cow_updated_ms) // 1000 if self.cow_updated_ms is not None else 0
        percent = self.keys_processed * 100 / self.keys_total if self.keys_total else 0.0
        return [
            ("current_cow_peak", self.cow_peak),
            ("current_cow_size", self.cow_bytes),
            ("current_cow_size_age", age_s),
            ("current_fork_perc", "%.2f" % percent),
            ("current_save_keys_processed", self.keys_processed),
            ("current_save_keys_total", self.keys_total),
        ]
