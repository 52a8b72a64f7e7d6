"""maxmemory: what the dataset weighs, and the keys evicted to keep it under the limit.

The weight is a model, not a measurement. Python's own memory neither shrinks
when keys go nor is it what users size ``maxmemory`` against, and a measure
taken by the runtime would make the core's decisions depend on the machine.
So every key counts roughly as redis-server 7.0 stores it: `KEY_BYTES` for its
table entry and headers, plus its name, plus its string's bytes or, for a
collection, a per-element figure (`value_bytes`). `kvcore.keyspace.Database`
keeps each database's sum (``used``) up to date on every write, so
``used_memory`` is the same in every runtime and every run, and drops as soon
as a key is evicted. The runtime's measure of the process is reported beside
it as ``used_memory_rss``.

Eviction follows Redis's evict.c in outline. Before each command while
``maxmemory`` is set (`perform`), keys are evicted by ``maxmemory-policy``
until the model is under the limit; an eviction is a DEL for the log and the
replicas, an ``evicted`` keyspace event and INFO ``evicted_keys``. The LRU,
LFU and TTL policies sample ``maxmemory-samples`` keys of each database into a
pool of the `POOL_SIZE` best candidates and evict the best; the random ones
take a random key from the databases in turn. Per-key access clocks (last
access in seconds for LRU; Redis's logarithmic counter with its decay for LFU)
are kept only while an LRU or LFU policy is selected: they would cost every
read otherwise.
"""

from __future__ import annotations

BASE_BYTES = 1024 * 1024
"""What an empty server weighs (redis-server 7.0 starts at about 0.9 MB)."""
KEY_BYTES = 64
"""A key's hash table entry, its name's and its value's headers."""
COLLECTION_BYTES = 64
ELEMENT_BYTES = 48
POOL_SIZE = 16
LFU_INIT_VAL = 5
LFU_MAX = 255
_MINUTES_MASK = 0xFFFF


def value_bytes(value) -> int:
    """A value's modelled weight: a string's length; a collection's size times `ELEMENT_BYTES`
    (or what its ``weight()`` says, for those whose length would cost a decode)."""
    if type(value) is bytes:
        return len(value)
    try:
        return COLLECTION_BYTES + value.weight()
    except AttributeError:  # a JSON document: one element's worth (walking it would cost every write)
        return COLLECTION_BYTES + ELEMENT_BYTES


def used_memory(node) -> int:
    """``used_memory``: the empty server, every database's modelled keys, and what the clients
    hold (unread output, half-sent requests: Redis counts them too, and they can make keys go)."""
    return BASE_BYTES + sum(db.used for db in node.dbs) + node.client_memory()


def _clock_mode(config) -> str | None:
    policy = config["maxmemory-policy"]
    return "lfu" if "lfu" in policy else "lru" if "lru" in policy else None


class Evictor:
    """A node's eviction state: the candidate pool, the next database for random picks,
    and the access clocks the selected policy needs."""

    def __init__(self, node) -> None:
        self.node = node
        self.pool: list[tuple[int, int, bytes]] = []  # (score, db index, key), best last
        self.next_db = 0
        self.mode: str | None = None  # "lru", "lfu" or None: what the databases' clocks hold
        self.started_s = 0  # when the clocks started: the last access of keys older than that
        self.peak = BASE_BYTES

    # -- access clocks -----------------------------------------------------
    def policy_changed(self) -> None:
        """Start, switch or stop the per-key clocks the new policy needs."""
        self.pool = []
        mode = _clock_mode(self.node.config)
        if mode != self.mode:
            self._start_clocks(mode, self.node.now // 1000)

    def _start_clocks(self, mode: str | None, started_s: int) -> None:
        """Keep ``mode``'s clocks from now on; keys not accessed since count as accessed at ``started_s``."""
        self.mode = mode
        self.started_s = started_s
        hook = self.lru_access if mode == "lru" else self.lfu_access if mode == "lfu" else None
        for db in self.node.dbs:
            db.count_accesses(hook)

    def lru_access(self, db, key: bytes) -> None:
        db.clock[key] = self.node.now // 1000

    def lfu_access(self, db, key: bytes) -> None:
        """Redis's updateLFU: decay the counter by the minutes gone, then a logarithmic increment."""
        counter = self._lfu_decayed(db, key)
        if counter < LFU_MAX:
            base = max(counter - LFU_INIT_VAL, 0)
            if self.node.rng.random() < 1.0 / (base * self.node.config["lfu-log-factor"] + 1):
                counter += 1
        db.clock[key] = counter | self._minutes() << 8

    def created(self, db, key: bytes) -> None:
        """A new key: accessed now (LRU), or a new counter at LFU_INIT_VAL."""
        if self.mode == "lru":
            db.clock[key] = self.node.now // 1000
        else:
            db.clock[key] = LFU_INIT_VAL | self._minutes() << 8

    def overwritten(self, db, key: bytes) -> None:
        """A new value at an existing key: a fresh access time (LRU); the counter stays (LFU), as Redis."""
        if self.mode == "lru":
            db.clock[key] = self.node.now // 1000

    def restored(self, db, key: bytes, idle_s: int | None, freq: int | None) -> None:
        """RESTORE's IDLETIME (under LRU) or FREQ (under LFU): the key's clock as given."""
        if self.mode == "lru" and idle_s is not None:
            db.clock[key] = self.node.now // 1000 - idle_s
        elif self.mode == "lfu" and freq is not None:
            db.clock[key] = freq | self._minutes() << 8

    def _minutes(self) -> int:
        return (self.node.now // 60000) & _MINUTES_MASK

    def _lfu_decayed(self, db, key: bytes) -> int:
        """Redis's LFUDecrAndReturn: the counter less one per ``lfu-decay-time`` minutes unaccessed."""
        packed = db.clock.get(key)
        if packed is None:
            return LFU_INIT_VAL
        counter, then = packed & 0xFF, packed >> 8
        now = self._minutes()
        elapsed = now - then if now >= then else _MINUTES_MASK - then + now
        period = self.node.config["lfu-decay-time"]
        return max(counter - elapsed // period, 0) if period else counter

    def idle_seconds(self, db, key: bytes) -> int:
        """OBJECT IDLETIME: seconds since the last access (0 under LFU, whose clocks count accesses).

        Redis times every key's accesses; here that costs every read, so a
        policy that does not evict by them keeps no clocks until IDLETIME is
        first asked for. They start then: a key not accessed since counts as
        idle since the server started, its access time not having been kept.
        """
        if self.mode is None:
            self._start_clocks("lru", self.node.start_ms // 1000)
        if self.mode != "lru":
            return 0
        return max(self.node.now // 1000 - db.clock.get(key, self.started_s), 0)

    def frequency(self, db, key: bytes) -> int:
        """OBJECT FREQ: the LFU counter, decayed, without counting this look."""
        return self._lfu_decayed(db, key)

    # -- eviction ----------------------------------------------------------
    def used(self) -> int:
        used = used_memory(self.node)
        if used > self.peak:
            self.peak = used
        return used

    def perform(self) -> bool:
        """Evict until used memory is under ``maxmemory``; False when it stays over (Redis's EVICT_FAIL)."""
        node = self.node
        config = node.config.values
        limit = config["maxmemory"]
        if not limit or node.paused or (node.is_replica and config["replica-ignore-maxmemory"]):
            return True
        used = self.used() - node.not_counted_for_evict()
        if used <= limit:
            return True
        if config["maxmemory-policy"] == "noeviction":
            return False
        while used > limit:
            picked = self._pick(config["maxmemory-policy"])
            if picked is None:
                return False
            db, key = picked
            before = db.used
            self._evict(db, key)
            used -= before - db.used
        return True

    def _evict(self, db, key: bytes) -> None:
        node = self.node
        db.delete(key)
        node.stats.dirty -= 1  # the DEL is propagated here, not with a command
        node.stats.evicted_keys += 1
        node.propagate(db.index, [b"DEL", key])
        node.notify_keyspace_event("evicted", key, db.index)

    def _pick(self, policy: str):
        """The next key to evict under ``policy``: (database, key), or None when none may go."""
        volatile = policy.startswith("volatile-")
        if policy.endswith("-random"):
            dbs = self.node.dbs
            for _ in range(len(dbs)):
                self.next_db = (self.next_db + 1) % len(dbs)
                db = dbs[self.next_db]
                keys = _sample(db, volatile, 1, self.node.rng)
                if keys:
                    return db, keys[0]
            return None
        while True:
            candidates = 0
            for db in self.node.dbs:
                source = db.expires if volatile else db.data
                if source:
                    candidates += len(source)
                    self._populate(db, volatile, policy)
            if not candidates:
                return None
            while self.pool:
                _, index, key = self.pool.pop()
                db = self.node.dbs[index]
                if key in (db.expires if volatile else db.data):
                    return db, key
                # a ghost: the key went since it was sampled; try the next best

    def _populate(self, db, volatile: bool, policy: str) -> None:
        """Redis's evictionPoolPopulate: sample keys, keep the POOL_SIZE best scores."""
        pool = self.pool
        for key in _sample(db, volatile, self.node.config["maxmemory-samples"], self.node.rng):
            score = self._score(db, key, policy)
            if len(pool) >= POOL_SIZE and score <= pool[0][0]:
                continue
            if any(entry[1] == db.index and entry[2] == key for entry in pool):
                continue
            pool.append((score, db.index, key))
            pool.sort(key=lambda entry: entry[0])
            if len(pool) > POOL_SIZE:
                del pool[0]

    def _score(self, db, key: bytes, policy: str) -> int:
        """Higher goes first: idle seconds (LRU), 255 less the counter (LFU), nearness of expiry (TTL)."""
        if policy.endswith("-ttl"):
            return -db.expires[key]
        if self.mode == "lfu":
            return LFU_MAX - self._lfu_decayed(db, key)
        return self.node.now // 1000 - db.clock.get(key, self.started_s)


def _sample(db, volatile: bool, count: int, rng) -> list[bytes]:
    """Up to ``count`` random keys of the database (only keys with a TTL when ``volatile``).

    Drawn from the scan order (never hash order, which would depend on
    PYTHONHASHSEED); when few keys have a TTL, from the list of those instead.
    """
    source = db.expires if volatile else db.data
    if not source:
        return []
    keys = db.order.keys
    picked = []
    for _ in range(count * 10):
        key = keys[rng.randrange(len(keys))]
        if key in source:
            picked.append(key)
            if len(picked) == count:
                return picked
    if picked:
        return picked
    members = list(source)
    return [members[rng.randrange(len(members))] for _ in range(min(count, len(members)))]
