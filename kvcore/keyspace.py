"""One logical database: keys, values, expiry, and a stable order for SCAN.

Values are ``bytes`` for strings and objects of the families' classes for the
other types (each has a ``TYPE`` name). Expiry times are absolute integer
milliseconds. Iteration order is insertion order everywhere (dicts), never
hash order, so nothing a client sees depends on ``PYTHONHASHSEED``.

Every write keeps ``used``, the database's modelled weight for maxmemory
(`kvcore.eviction`), up to date: a string's weight is read off the old value
it replaces; a collection's, which changes in place, is remembered in
``sizes``, and `written` marks it for a recount the next time ``used`` is read
(a pipeline of writes to one hash counts it once). `recount` gives the same
figure from scratch.
"""

from __future__ import annotations

from bisect import bisect_left

from kvcore import errors, latency
from kvcore.eviction import ELEMENT_BYTES, KEY_BYTES, value_bytes
from kvcore.reply import Error

_COMPACT_MIN = 1024


def type_name(value) -> str:
    return "string" if type(value) is bytes else value.TYPE


class ScanOrder:
    """Positions for cursor iteration that survive inserts and deletes.

    Every new key is appended to a list and keeps its absolute position;
    deleted keys leave stale entries that are skipped and compacted away.
    Compaction renumbers survivors past every old position and remembers how
    to map an old cursor forward, so a key present for a whole scan is never
    missed (duplicates, as SCAN allows, are possible).
    """

    def __init__(self) -> None:
        self.keys: list[bytes] = []
        self.base = 0
        self._moves: list[tuple[int, list[int], int]] = []  # (old_base, old positions of survivors, new_base)

    def append(self, key: bytes) -> None:
        self.keys.append(key)

    def end(self) -> int:
        return self.base + len(self.keys)

    def compact(self, live: dict) -> None:
        if len(self.keys) < _COMPACT_MIN or len(self.keys) < 2 * len(live):
            return
        seen: set[bytes] = set()
        positions: list[int] = []
        survivors: list[bytes] = []
        for index, key in enumerate(self.keys):
            if key in live and key not in seen:
                seen.add(key)
                positions.append(self.base + index)
                survivors.append(key)
        new_base = self.end()
        self._moves.append((self.base, positions, new_base))
        self._moves = self._moves[-4:]
        self.keys = survivors
        self.base = new_base

    def walk(self, cursor: int, count: int, live) -> tuple[int, list[bytes]]:
        """From ``cursor``, the names met that ``live`` still holds (each once in a call), until
        ``count`` were met or ten times as many positions visited, as Redis's dictScan stops; and
        the next cursor, 0 at the end."""
        base, names = self.base, self.keys
        position = self.translate(cursor) - base
        met: list[bytes] = []
        seen: set[bytes] = set()
        end = min(len(names), position + 10 * max(count, 1))
        while position < end and len(seen) < count:
            name = names[position]
            position += 1
            if name in seen or name not in live:
                continue
            seen.add(name)
            met.append(name)
        return (0 if position >= len(names) else base + position), met

    def translate(self, cursor: int) -> int:
        """Map a cursor from before compactions onto the current positions."""
        if cursor >= self.base:
            return cursor
        for old_base, positions, new_base in self._moves:
            if old_base <= cursor < new_base:
                cursor = new_base + bisect_left(positions, cursor)
        return max(cursor, self.base)


class Database:
    """A numbered database: its keyspace and expiry, with lazy expiration."""

    def __init__(self, index: int, node) -> None:
        self.index = index
        self.node = node
        self.data: dict[bytes, object] = {}
        self.expires: dict[bytes, int] = {}
        self.raw_strings: dict[bytes, str] = {}  # strings Redis holds raw, embstr or as an unshared int whatever their contents
        self.order = ScanOrder()
        self.expire_cursor = 0  # in expire_walk: where active expiry goes on
        self.expire_walk: list[bytes] = []  # the volatile keys when active expiry's last walk ended
        self.watchers: dict[bytes, list] = {}
        self.avg_ttl = 0
        self._used = 0  # modelled bytes of this database's keys (kvcore.eviction), see `used`
        self.sizes: dict[bytes, int] = {}  # modelled bytes of each collection, as last counted
        self._stale: dict[bytes, None] = {}  # collections changed in place since they were counted
        self.clock: dict[bytes, int] | None = None  # per-key LRU/LFU data while a policy needs it

    def __len__(self) -> int:
        return len(self.data)

    # -- reading -----------------------------------------------------------
    def get(self, key: bytes):
        """The live value at key or None, expiring it lazily if its time passed.

        While an LRU/LFU policy keeps access clocks, `count_accesses` puts
        counting versions of this and `lookup_read` on the instance, so that
        the common case pays nothing for them.
        """
        expires = self.expires
        if expires and key in expires and expires[key] < self.node.now and self._expire_if_due(key):
            return None
        return self.data.get(key)

    peek = get  # without counting an access, whatever the policy (OBJECT, as Redis's LOOKUP_NOTOUCH)

    def count_accesses(self, on_access) -> None:
        """Start (a function of db and key) or stop (None) counting accesses (kvcore.eviction)."""
        self.clock = {} if on_access is not None else None
        if on_access is None:
            self.__dict__.pop("get", None)
            self.__dict__.pop("lookup_read", None)
            return
        plain_get, plain_lookup = Database.get.__get__(self), Database.lookup_read.__get__(self)

        def get(key: bytes):
            value = plain_get(key)
            if value is not None:
                on_access(self, key)
            return value

        def lookup_read(key: bytes):
            value = plain_lookup(key)
            if value is not None:
                on_access(self, key)
            return value

        self.get, self.lookup_read = get, lookup_read

    def get_typed(self, key: bytes, cls):
        value = self.get(key)
        if value is not None and type(value) is not cls:
            raise Error(errors.WRONGTYPE)
        return value

    def get_string(self, key: bytes):
        value = self.get(key)
        if value is not None and type(value) is not bytes:
            raise Error(errors.WRONGTYPE)
        return value

    def read_string(self, key: bytes):
        """`lookup_read` of a string (WRONGTYPE otherwise): GET's lookup, which GETSET, GETDEL,
        GETEX and SET ... GET share in Redis (keyspace hits and misses, ``keymiss``)."""
        value = self.lookup_read(key)
        if value is not None and type(value) is not bytes:
            raise Error(errors.WRONGTYPE)
        return value

    def lookup_read(self, key: bytes):
        """`get` plus keyspace hit/miss accounting and the ``keymiss`` event, as Redis's lookupKeyRead."""
        expires = self.expires
        if expires and key in expires and expires[key] < self.node.now and self._expire_if_due(key):
            value = None
        else:
            value = self.data.get(key)  # `get`, inline: this is the read path of every read command
        stats = self.node.stats
        if value is None:
            stats.keyspace_misses += 1
            if self.node.keyspace_events:
                self.node.notify_keyspace_event("keymiss", key, self.index)
        else:
            stats.keyspace_hits += 1
        return value

    def lookup_read_untouched(self, key: bytes):
        """`lookup_read` without counting an access under an LRU/LFU policy (Redis's
        LOOKUP_NOTOUCH: EXISTS, TYPE, TTL and SCAN's TYPE filter leave OBJECT IDLETIME as it was)."""
        return Database.lookup_read(self, key)

    def exists(self, key: bytes) -> bool:
        return self.get(key) is not None

    def ttl_ms(self, key: bytes) -> int | None:
        """Absolute expiry time, or None for a persistent (or missing) key."""
        return self.expires.get(key)

    # -- writing -----------------------------------------------------------
    def set(self, key: bytes, value, keep_ttl: bool = False) -> None:
        """Store a value, replacing any other, dropping its TTL unless told not to. A key whose
        time is up expires first (Redis's lookupKeyWrite): ``expired``, then ``new``."""
        data, node = self.data, self.node
        old = data.get(key)
        if old is not None and self.expires and self._due_for_write(key):
            self.expire_for_command(key)
            old = None
        if old is None:
            self.order.keys.append(key)  # ScanOrder.append, inline
            data[key] = value
            self._used += KEY_BYTES + len(key) + (len(value) if type(value) is bytes else self._sized(key, value))
            if self.clock is not None:
                node.evictor.created(self, key)
            if node.keyspace_events or node.blocking.waiting:
                self.added(key)
        else:
            if not keep_ttl and self.expires:
                self.expires.pop(key, None)
            if node.blocking.waiting:
                self._stream_gone(key, old)
            data[key] = value
            self._used -= len(old) if type(old) is bytes else self.sizes.pop(key, 0)
            self._used += len(value) if type(value) is bytes else self._sized(key, value)
            if self.clock is not None:
                node.evictor.overwritten(self, key)
        if self.raw_strings:
            self.raw_strings.pop(key, None)
        node.stats.dirty += 1
        if self.watchers:
            self.touch(key)
        if node.tracking is not None:  # client-side caching (kvcore.tracking)
            node.tracking.modified(key)

    def _stream_gone(self, key: bytes, old) -> None:
        """A stream was deleted or overwritten: readers blocked in its groups must hear of it
        (Redis 7.0's signalDeletedKeyAsReady)."""
        if type(old) is not bytes and old.TYPE == "stream":
            self.node.blocking.signal(self.index, key)

    def _streams_replaced(self, replacement: dict) -> None:
        """The whole keyspace is going (FLUSHDB) or being swapped for ``replacement`` (SWAPDB): signal
        the streams waited on that will not be streams any more (scanDatabaseForDeletedKeys)."""
        for db_index, key in list(self.node.blocking.waiting):
            if db_index == self.index and key in self.data:
                new = replacement.get(key)
                if new is None or type(new) is bytes or new.TYPE != "stream":
                    self._stream_gone(key, self.data[key])

    def added(self, key: bytes) -> None:
        """A key was created (Redis's dbAdd): clients blocked on it may be served, and a
        ``new`` event is published. Callers check first that either can matter."""
        node = self.node
        if node.blocking.waiting:
            node.blocking.signal(self.index, key)
        node.notify_keyspace_event("new", key, self.index)

    def mark_raw(self, key: bytes) -> None:
        """The string at ``key`` was modified in place (APPEND, SETRANGE, bit and HLL commands):
        Redis keeps such a string ``raw`` whatever its length, until a new value replaces it."""
        self.raw_strings[key] = "raw"

    def mark_made_from_float(self, key: bytes) -> None:
        """INCRBYFLOAT's result: Redis makes a new string object from the number's text, never
        int-encoded (embstr up to 44 bytes, else raw), until a new value replaces it."""
        self.raw_strings[key] = "embstr" if len(self.data[key]) <= 44 else "raw"

    def set_pairs(self, argv: list[bytes], start: int = 1) -> None:
        """`set` for each key, value pair in ``argv[start:]``, in order (MSET).

        Publishes no ``new`` events and wakes nobody (a string serves no blocked
        client): with notifications on, MSET calls `set` for each pair instead.
        """
        data = self.data
        expires = self.expires
        if expires:
            for i in range(start, len(argv), 2):
                if argv[i] in data and self._due_for_write(argv[i]):
                    self.expire_for_command(argv[i])
        order = self.order.keys
        used = self._used
        for i in range(start, len(argv), 2):
            key, value = argv[i], argv[i + 1]
            old = data.get(key)
            if old is None:
                order.append(key)
                used += KEY_BYTES + len(key) + len(value)
            else:
                if expires:
                    expires.pop(key, None)
                used += len(value) - (len(old) if type(old) is bytes else self.sizes.pop(key, 0))
            data[key] = value
        self._used = used
        if self.clock is not None:
            for i in range(start, len(argv), 2):
                self.node.evictor.created(self, argv[i])
        if self.raw_strings:
            for i in range(start, len(argv), 2):
                self.raw_strings.pop(argv[i], None)
        self.node.stats.dirty += (len(argv) - start) // 2
        if self.watchers:
            for i in range(start, len(argv), 2):
                self.touch(argv[i])
        if self.node.tracking is not None:  # client-side caching (kvcore.tracking)
            for i in range(start, len(argv), 2):
                self.node.tracking.modified(argv[i])

    def replace(self, key: bytes, value) -> None:
        """Overwrite the value of an existing key in place, keeping its TTL."""
        data = self.data
        old = data[key]
        data[key] = value
        if type(value) is bytes and type(old) is bytes:
            self._used += len(value) - len(old)
        else:
            self._used -= len(old) if type(old) is bytes else self.sizes.pop(key, 0)
            self._used += len(value) if type(value) is bytes else self._sized(key, value)
        self.node.stats.dirty += 1
        if self.watchers:
            self.touch(key)
        if self.node.tracking is not None:  # client-side caching (kvcore.tracking)
            self.node.tracking.modified(key)

    def written(self, key: bytes, changes: int = 1) -> None:
        """Record an in-place change to the value at key (a list push, a hash set...).

        Every mutation goes through `set`, `replace`, `delete` or this, so the
        change counter, WATCH, propagation and the memory model all see it.
        """
        self.node.stats.dirty += changes
        self._stale[key] = None  # recounted when `used` is next read: many changes, one count
        if self.watchers:
            self.touch(key)
        if self.node.tracking is not None:  # client-side caching (kvcore.tracking)
            self.node.tracking.modified(key)

    def reencoded(self, key: bytes) -> None:
        """The value at key changed its encoding only (SORT's skiplist): the memory model counts
        it again; nothing else hears of it, as nothing else does in Redis."""
        self._stale[key] = None

    def changed_silently(self, key: bytes, changes: int = 1) -> None:
        """An in-place change Redis does not signal (a stream's consumer groups, its last ID): counted
        for propagation and the memory model, but no WATCH fails and no client cache hears of it."""
        self.node.stats.dirty += changes
        self._stale[key] = None

    def delete(self, key: bytes) -> bool:
        old = self.data.pop(key, None)
        if old is None:
            return False
        if self.node.blocking.waiting:
            self._stream_gone(key, old)
        self._used -= KEY_BYTES + len(key) + (len(old) if type(old) is bytes else self.sizes.pop(key, 0))
        if self.clock is not None:
            self.clock.pop(key, None)
        if self.raw_strings:
            self.raw_strings.pop(key, None)
        self.node.stats.dirty += 1
        if self.expires:
            self.expires.pop(key, None)
        if self.watchers:
            self.touch(key)
        if self.node.tracking is not None:  # client-side caching (kvcore.tracking)
            self.node.tracking.modified(key)
        if len(self.order.keys) >= _COMPACT_MIN and len(self.order.keys) >= 2 * len(self.data):
            self.order.compact(self.data)
        return True

    def drop(self, keys: list[bytes]) -> None:
        """Delete keys outside any command (those MIGRATE moved away, those of a cluster slot this
        node lost): each notified and counted as a change, all logged and replicated as one DEL."""
        gone = [key for key in keys if self.delete(key)]
        for key in gone:
            self.node.notify_keyspace_event("del", key, self.index)
        if gone:
            self.node.propagate(self.index, [b"DEL", *gone])

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.expires[key] = when_ms
        self.node.stats.dirty += 1
        node = self.node
        link = node.master_link
        if link is not None and not node.master_executing and not node.config.values["replica-read-only"]:
            # a write to a writable replica (not the master's, nor a read-only replica's log
            # replayed at start: Redis's rememberSlaveKeyWithExpire)
            link.written_expires[(self.index, key)] = None
        if self.watchers:
            self.touch(key)
        if self.node.tracking is not None:  # client-side caching (kvcore.tracking)
            self.node.tracking.modified(key)

    def persist(self, key: bytes) -> bool:
        if self.expires.pop(key, None) is None:
            return False
        self.written(key)
        return True

    def clear(self) -> int:
        removed = len(self.data)
        if self.node.blocking.waiting:
            self._streams_replaced({})
        self.node.stats.dirty += removed
        if self.watchers:
            self.touch_all_watched()
        if self.node.tracking is not None:  # client-side caching: a flush invalidates every key
            self.node.tracking.flushed()
        self.data = {}
        self.expires = {}
        self.raw_strings = {}
        self.order = ScanOrder()
        self.expire_cursor = 0
        self.expire_walk = []
        self._used = 0
        self.sizes = {}
        self._stale = {}
        if self.clock is not None:
            self.clock = {}
        return removed

    @property
    def used(self) -> int:
        """The modelled bytes of this database's keys, the collections changed in place recounted."""
        if self._stale:
            data, sizes = self.data, self.sizes
            for key in self._stale:
                value = data.get(key)
                if value is not None and type(value) is not bytes:
                    weight = value_bytes(value)
                    self._used += weight - sizes.get(key, 0)
                    sizes[key] = weight
            self._stale = {}
        return self._used

    _CONTENTS = ("data", "expires", "raw_strings", "order", "expire_cursor", "expire_walk", "avg_ttl",
                 "_used", "sizes", "_stale", "clock")

    def swap_contents(self, other: Database) -> None:
        """SWAPDB: exchange keys, expiry, scan order and memory model (watchers stay with the numbers)."""
        if self.node.blocking.waiting:
            self._streams_replaced(other.data)
            other._streams_replaced(self.data)
        for name in self._CONTENTS:
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, theirs)
            setattr(other, name, mine)

    def _sized(self, key: bytes, value) -> int:
        """A collection's modelled bytes, remembered for when it changes in place."""
        size = self.sizes[key] = value_bytes(value)
        return size

    def recount(self) -> None:
        """The memory model from scratch (after a load replaced ``data`` wholesale)."""
        self.sizes = {key: value_bytes(value) for key, value in self.data.items() if type(value) is not bytes}
        self._stale = {}
        self._used = sum(KEY_BYTES + len(key) + (len(value) if type(value) is bytes else self.sizes[key])
                        for key, value in self.data.items())

    def touch(self, key: bytes) -> None:
        """Mark a key modified for every client WATCHing it (Redis's touchWatchedKey).

        A key already expired when WATCHed is remembered as such: its deletion (lazy,
        active or explicit) is no logical change and only makes it a plain missing key.
        A client marked dirty stops watching, as in Redis.
        """
        clients = self.watchers.get(key)
        if not clients:
            return
        missing = key not in self.data
        for client in list(clients):
            position = watch_position(client, self.index, key)
            if missing and client.watched[position][2]:
                client.watched[position] = (self.index, key, False)
                continue
            client.watch_dirty = True
            drop_watches(client)

    def touch_all_watched(self, replaced_with: Database | None = None) -> None:
        """Every watched key of this database is emptied (FLUSHDB/FLUSHALL) or replaced by
        the same key of ``replaced_with`` (SWAPDB): Redis's touchAllWatchedKeysInDb.

        A key missing on both sides is untouched; a key already expired when WATCHed that
        ends up missing, or expired again, is no change; a missing key replaced by an
        expired one is remembered as expired. Called while the keys are still in place.
        """
        for key, clients in self.watchers.items():
            here = key in self.data
            there = replaced_with is not None and key in replaced_with.data
            if not (here or there):
                continue
            stale_there = there and replaced_with.logically_expired(key)
            for client in clients:
                position = watch_position(client, self.index, key)
                if client.watched[position][2]:
                    if not there:
                        client.watched[position] = (self.index, key, False)
                        continue
                    if stale_there:
                        continue
                elif not here and stale_there:
                    client.watched[position] = (self.index, key, True)
                    continue
                client.watch_dirty = True

    def logically_expired(self, key: bytes) -> bool:
        """Whether key has a TTL in the past, deleted yet or not (Redis's keyIsExpired)."""
        when = self.expires.get(key)
        return when is not None and when < self.node.now and not self.node.loading

    # -- expiry ------------------------------------------------------------
    def _due_for_write(self, key: bytes) -> bool:
        """Whether a write finds ``key``'s time up and deletes it first (on a replica too, unless
        its master writes: Redis's EXPIRE_FORCE_DELETE_EXPIRED)."""
        when = self.expires.get(key)
        node = self.node
        return when is not None and when < node.now and not node.loading \
            and not (node.is_replica and node.master_executing)

    def _expire_if_due(self, key: bytes) -> bool:
        """Delete an expired key (a primary does; a replica only hides it, and not from its
        master's stream: it waits for the master's DEL)."""
        node = self.node
        if node.loading:
            return False  # nothing expires while loading (Redis's keyIsExpired)
        if node.is_replica:
            return not node.master_executing
        if node.paused:  # a paused server keeps its dataset still (kvcore.pause)
            return True
        self.expire_for_command(key)
        return True

    def expire_for_command(self, key: bytes) -> None:
        """A command found ``key``'s time up: delete it, its DEL going out with the command's
        own writes, in one MULTI ... EXEC when there are several (Redis 7.0's also_propagate)."""
        self.node.open_expiry_block()
        self.expire_now(key)

    def expire_now(self, key: bytes) -> int:
        """Delete a key whose time is up, as its expiry does: counted, logged as a DEL, notified.
        Returns the milliseconds freeing it is modelled to take (the ``expire-del`` latency event)."""
        node = self.node
        value = self.data.get(key)
        ms = 0 if type(value) is bytes or node.config.values["lazyfree-lazy-expire"] else \
            latency.freeing_ms(value_bytes(value) // ELEMENT_BYTES)
        self.delete(key)
        if node.tracking is not None:  # no client changed it: NOLOOP BCAST clients hear of it too
            node.tracking.expired(key)
        node.stats.dirty -= 1  # the DEL is propagated here, not with the command
        node.stats.expired_keys += 1
        node.propagate(self.index, [b"DEL", key])
        node.notify_keyspace_event("expired", key, self.index)
        if ms:
            latency.sample(node, "expire-del", ms)
        return ms

    def active_expire(self, budget: int) -> int:
        """One pass of Redis's active expiry over up to ``budget`` volatile keys.

        Like Redis 7.0's cycle it walks the volatile keys from a cursor in
        batches of 20 and goes on while more than 10% of a batch had expired.
        The walk goes over a list of the volatile keys taken when the last
        walk ended (not a new list each call: that cost the whole volatile
        set every tick); keys given a TTL since are met on the next walk.
        Returns how many keys it deleted.
        """
        if not self.expires or self.node.is_replica:
            return 0
        now = self.node.now
        deleted = checked = freeing_ms = 0
        while checked < budget:
            if self.expire_cursor >= len(self.expire_walk):
                self.expire_walk = list(self.expires)
                self.expire_cursor = 0
            batch = self.expire_walk[self.expire_cursor : self.expire_cursor + 20]
            self.expire_cursor += len(batch)
            expired = [k for k in batch if self.expires.get(k, now) < now]
            for key in expired:
                if not self.node.paused:
                    freeing_ms += self.expire_now(key)
            deleted += len(expired)
            checked += len(batch)
            if len(expired) * 10 <= len(batch) or not self.expires:
                break
        if freeing_ms:
            latency.sample(self.node, "expire-cycle", freeing_ms)
        return deleted

    # -- iteration ---------------------------------------------------------
    def scan(self, cursor: int, count: int, accept) -> tuple[int, list[bytes]]:
        """Visit positions from cursor until ``count`` live keys were met; keys passing ``accept``.

        Like Redis's dictScan, a call stops once it has met ``count`` keys
        (before filtering) or visited ten times as many positions, and a key
        is filtered by ``accept`` before it is checked for expiry. Returns the
        next cursor (0 when done) and the keys found.
        """
        # Expiring a key below may compact the order: the cursor returned is from before, and
        # `ScanOrder.translate` maps it onto the new numbering.
        cursor, met = self.order.walk(cursor, count, self.data)
        return cursor, [key for key in met if accept(key) and self.peek(key) is not None]  # expired or not, untouched

    def random_key(self, rng) -> bytes | None:
        """A random live key, found by sampling the scan order (never hash order)."""
        tries = 100
        while self.data:
            keys = self.order.keys
            key = keys[rng.randrange(len(keys))]
            if key in self.data:
                if self.get(key) is not None:
                    return key
                if self.node.is_replica and len(self.expires) == len(self.data):
                    tries -= 1
                    if tries == 0:
                        return key  # a replica never deletes: every key may be logically expired
            elif len(keys) > 2 * len(self.data) + 16:
                self.order.compact(self.data)
        return None


# -- WATCH bookkeeping -------------------------------------------------------
# A client's ``watched`` holds (db index, key, expired when WATCHed) entries; each
# database's ``watchers`` maps a key to the clients watching it there.

def watch_position(client, db_index: int, key: bytes) -> int:
    """Where (db_index, key) is in the client's watched list (it must be there)."""
    for position, (index, watched_key, _) in enumerate(client.watched):
        if index == db_index and watched_key == key:
            return position
    raise KeyError(key)


def drop_watches(client) -> None:
    """Stop watching every key, leaving the client's dirty flag as it is."""
    dbs = client.node.dbs
    for db_index, key, _ in client.watched:
        watchers = dbs[db_index].watchers
        clients = watchers.get(key)
        if clients and client in clients:
            clients.remove(client)
            if not clients:
                del watchers[key]
    client.watched = []
