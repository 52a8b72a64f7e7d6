"""A machine's disk: files with a durable part and a volatile cache.

Writes land in the cache (the OS page cache); `fsync` makes a file's cache
durable. A process kill keeps the cache (the OS still has it); a power loss
drops it, and may keep a random prefix of the last unsynced write (a torn
write). Rename is atomic. Faults: slow fsync, fsync error, disk full.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

FSYNC_MS_MIN = 1
FSYNC_MS_MAX = 4


class File:
    """Durable bytes, then the writes made since the last fsync, in order."""

    __slots__ = ("durable", "unsynced")

    def __init__(self) -> None:
        self.durable = bytearray()
        self.unsynced: list[bytes] = []

    def content(self) -> bytes:
        """What a reader sees now: durable bytes followed by the cached ones."""
        return bytes(self.durable) + b"".join(self.unsynced)


@dataclass
class DiskFaults:
    """The disk faults in force (each a count of the faults holding it, as they may overlap)."""

    fsync_delay_ms: int = 0  # extra latency of every fsync
    fsync_errors: int = 0  # fsyncs fail while > 0
    full: int = 0  # writes fail while > 0


class Disk:
    """Files of one machine, with its page cache and its faults."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.files: dict[str, File] = {}
        self.faults = DiskFaults()
        self.on_write: Callable[[], None] | None = None  # called once, after the next write (a power cut waiting)

    def append(self, name: str, data: bytes) -> bool:
        """Append to the cache of `name` (created if missing); False when the disk is full."""
        if self.faults.full:
            return False
        self.files.setdefault(name, File()).unsynced.append(bytes(data))
        self._written()
        return True

    def replace(self, name: str, data: bytes) -> bool:
        """Truncate `name` and write `data` to its cache; False when the disk is full."""
        if self.faults.full:
            return False
        file = self.files[name] = File()
        file.unsynced.append(bytes(data))
        self._written()
        return True

    def unsynced(self) -> bool:
        """Whether some write is still in the cache only."""
        return any(file.unsynced for file in self.files.values())

    def _written(self) -> None:
        hook, self.on_write = self.on_write, None
        if hook is not None:
            hook()

    def touch(self, name: str) -> bool:
        """Create `name` empty if it is missing (its directory entry is durable at once, like rename)."""
        if name not in self.files:
            if self.faults.full:
                return False
            self.files[name] = File()
        return True

    def truncate(self, name: str, size: int) -> None:
        """Cut `name` to `size` bytes (a metadata change, durable at once like rename)."""
        file = self.files.get(name)
        if file is None:
            return
        content = file.content()[:size]
        kept = min(len(file.durable), size)
        file.durable = bytearray(content[:kept])
        file.unsynced = [content[kept:]] if len(content) > kept else []

    def fsync(self, name: str) -> bool:
        """Make the cache of `name` durable; False on an fsync error (the cache stays dirty)."""
        if self.faults.fsync_errors:
            return False
        file = self.files.get(name)
        if file is not None and file.unsynced:
            file.durable += b"".join(file.unsynced)
            file.unsynced.clear()
        return True

    def fsync_ms(self) -> int:
        """How long the next fsync takes, slow-fsync faults included."""
        return self.rng.randint(FSYNC_MS_MIN, FSYNC_MS_MAX) + self.faults.fsync_delay_ms

    def rename(self, src: str, dst: str) -> None:
        """Atomically replace `dst` by `src`."""
        self.files[dst] = self.files.pop(src)

    def remove(self, name: str) -> None:
        """Unlink `name` if it exists (atomic, like rename)."""
        self.files.pop(name, None)

    def size(self, name: str) -> int:
        file = self.files.get(name)
        return 0 if file is None else len(file.durable) + sum(len(chunk) for chunk in file.unsynced)

    def read(self, name: str) -> bytes | None:
        file = self.files.get(name)
        return None if file is None else file.content()

    def durable(self, name: str) -> bytes | None:
        file = self.files.get(name)
        return None if file is None else bytes(file.durable)

    def power_loss(self, torn_write_probability: float) -> int:
        """Drop every cache; a file may keep a torn prefix of its last write. Returns bytes kept."""
        kept = 0
        for file in self.files.values():
            if not file.unsynced:
                continue
            if self.rng.random() < torn_write_probability:
                last = file.unsynced[-1]
                survivor = b"".join(file.unsynced[:-1]) + last[: self.rng.randrange(len(last) + 1)]
                file.durable += survivor
                kept += len(survivor)
            file.unsynced = []
        return kept
