"""DUMP and RESTORE: a key's value as a DUMP payload (see kvcore.rdb), and back.

Payloads are Redis 7.0's, byte for byte where the value's encoding allows
(kvcore.rdb writes what Redis writes for each encoding), so a payload DUMPed
here RESTOREs in redis-server and the other way round. IDLETIME and FREQ set
the key's access clock when the maxmemory policy keeps one (kvcore.eviction),
as Redis's objectSetLRUOrLFU; they are checked and ignored otherwise.
"""

from __future__ import annotations

from kvcore import errors, rdb
from kvcore.commands.args import LLONG_MAX, parse_int
from kvcore.commands.key_specs import Index, KeyFlag, KeySpec, Keyword, Range
from kvcore.commands.table import Flag, Registry
from kvcore.dispatch import NO_REPLY
from kvcore.effects import LogMessage
from kvcore.redaction import MIGRATE_OPTIONS_START
from kvcore.reply import OK, Error, Simple

REGISTRY = Registry("generic")
command = REGISTRY.command

BUSYKEY = "BUSYKEY Target key name already exists."
INVALID_TTL = "ERR Invalid TTL value, must be >= 0"
BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_FORMAT = "ERR Bad data format"
INVALID_IDLETIME = "ERR Invalid IDLETIME value, must be >= 0"
INVALID_FREQ = "ERR Invalid FREQ value, must be >= 0 and <= 255"
CORRUPT_LOG = "Internal error in RDB reading offset 0, function at rdb.c:0 -> %s"
_ULLONG = 2**64


@command(
    "dump", 2, Flag.READONLY, (1, 1, 1), since="2.6.0",
    key_specs=(KeySpec("RO ACCESS", Index(1)),),
    tips=("nondeterministic_output",),
)
def dump(client, argv):
    """DUMP key"""
    value = client.db.lookup_read(argv[1])
    if value is None:
        return None
    return rdb.dump_payload(value, client.node.config)


class RestoreOptions:
    """RESTORE's options after the payload, checked as restoreCommand checks them."""

    __slots__ = ("replace", "absttl", "idle", "freq")

    def __init__(self, argv: list[bytes]) -> None:
        self.replace = self.absttl = False
        self.idle: int | None = None
        self.freq: int | None = None
        idle = freq = False
        i = 4
        while i < len(argv):
            option = argv[i].lower()
            more = i + 1 < len(argv)
            if option == b"replace":
                self.replace = True
            elif option == b"absttl":
                self.absttl = True
            elif option == b"idletime" and more and not freq:
                self.idle = parse_int(argv[i + 1])
                if self.idle < 0:
                    raise Error(INVALID_IDLETIME)
                idle = True
                i += 1
            elif option == b"freq" and more and not idle:
                self.freq = parse_int(argv[i + 1])
                if not 0 <= self.freq <= 255:
                    raise Error(INVALID_FREQ)
                freq = True
                i += 1
            else:
                raise Error(errors.SYNTAX)
            i += 1


@command(
    "restore", -4, Flag.WRITE | Flag.DENYOOM, (1, 1, 1), categories=("keyspace", "dangerous"), since="2.6.0",
    key_specs=(KeySpec("OW UPDATE", Index(1)),),
)
def restore(client, argv):
    """RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]"""
    options = RestoreOptions(argv)
    db, key, payload = client.db, argv[1], argv[3]
    if not options.replace and db.get(key) is not None:
        raise Error(BUSYKEY)
    ttl = parse_int(argv[2])
    if ttl < 0:
        raise Error(INVALID_TTL)
    node = client.node
    if not rdb.payload_ok(payload, not node.skip_checksum_validation):
        raise Error(BAD_PAYLOAD)
    deep = deep_sanitize(node)
    try:
        value = rdb.restore_value(payload, node.config, deep)
    except rdb.RdbError as exc:
        if exc.crash is not None and not deep:  # unsanitized, the load trusted what it could not read
            node.emit(exc.crash)
            return NO_REPLY
        if exc.message not in (rdb.EOF_ERROR, rdb.EMPTY_KEY):  # rdbReportCorruptRDB, verbose under RESTORE
            node.emit(LogMessage("verbose", CORRUPT_LOG % exc.message))
        raise Error(BAD_FORMAT) from None
    if ttl and not options.absttl:
        ttl = (ttl + node.now + LLONG_MAX + 1) % _ULLONG - LLONG_MAX - 1  # a long long sum, as C wraps it
    if ttl and ttl <= node.now and not node.is_replica:
        return _restore_expired(client, key, options.replace)
    replaced = options.replace and key in db.data
    db.set(key, value)
    node.evictor.restored(db, key, options.idle, options.freq)
    if replaced:
        db.added(key)  # Redis deletes the old key and adds a new one: a "new" event all the same
    if ttl:
        db.set_expire(key, ttl)
        if not options.absttl:
            client.propagate_as = [[argv[0], key, b"%d" % ttl, *argv[3:], b"ABSTTL"]]
    node.notify_keyspace_event("restore", key, db.index)
    return OK


@command(
    "restore-asking", -4, Flag.WRITE | Flag.DENYOOM | Flag.ASKING, (1, 1, 1), categories=("keyspace", "dangerous"),
    since="3.0.0", key_specs=(KeySpec("OW UPDATE", Index(1)),), summary="An internal command for migrating keys in Redis Cluster",
)
def restore_asking(client, argv):
    """RESTORE-ASKING key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]: RESTORE
    as MIGRATE sends it to a cluster node importing the key's slot."""
    return restore(client, argv)


def deep_sanitize(node) -> bool:
    """sanitize-dump-payload: ``yes`` always, ``clients`` except while loading (a log being
    replayed); with ``no`` only Redis's shallow checks (plus what decoding needs) are made."""
    mode = node.config["sanitize-dump-payload"]
    return mode == "yes" or (mode == "clients" and not node.loading)


def _restore_expired(client, key: bytes, replace: bool):
    """A TTL already past: the key is not created (an old one under REPLACE is deleted)."""
    db = client.db
    if replace and db.delete(key):
        delete = b"UNLINK" if client.node.config["lazyfree-lazy-server-del"] else b"DEL"
        client.propagate_as = [[delete, key]]
        client.node.notify_keyspace_event("del", key, db.index)
    return OK


# -- MIGRATE ---------------------------------------------------------------------------------
MIGRATE_KEY_NOT_EMPTY = "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
NOKEY = Simple("NOKEY")


class MigrateOptions:
    """MIGRATE's options as Redis reads them, and where its keys start (KEYS, else the key argument)."""

    def __init__(self, argv: list[bytes]) -> None:
        self.copy = self.replace = False
        self.auth: list[bytes] = []  # [password] or [username, password]
        self.first_key = 3
        i = MIGRATE_OPTIONS_START
        while i < len(argv):
            option = argv[i].lower()
            if option in (b"copy", b"replace"):
                setattr(self, option.decode(), True)
                i += 1
            elif option == b"auth" and len(argv) - i > 1:
                self.auth = argv[i + 1:i + 2]
                i += 2
            elif option == b"auth2" and len(argv) - i > 2:
                self.auth = argv[i + 1:i + 3]
                i += 3
            elif option == b"keys":
                if argv[3]:
                    raise Error(MIGRATE_KEY_NOT_EMPTY)
                self.first_key = i + 1
                return
            else:
                raise Error(errors.SYNTAX)

    def keys(self, argv: list[bytes]) -> list[bytes]:
        return argv[self.first_key:] if self.first_key > 3 else argv[3:4]


def _migrate_keys(argv: list[bytes]) -> list[int]:
    """MIGRATE's key positions (COMMAND GETKEYS): the key argument, or what follows KEYS."""
    try:
        first = MigrateOptions(argv).first_key
    except Error:
        return [3]
    return [3] if first == 3 else list(range(first, len(argv)))


def _migrate_flagged_keys(argv: list[bytes]) -> list[tuple[int, KeyFlag]]:
    """MIGRATE's keys with their flags (its key specs cannot find them all: KEYS is INCOMPLETE)."""
    return [(i, _MIGRATED) for i in _migrate_keys(argv)]


_MIGRATED = KeyFlag.RW | KeyFlag.ACCESS | KeyFlag.DELETE


@command("migrate", -6, Flag.WRITE | Flag.MOVABLE_KEYS, (3, 3, 1), keys_fn=_migrate_keys,
         flagged_keys_fn=_migrate_flagged_keys,
         categories=("keyspace", "dangerous"), since="2.6.0", tips=("nondeterministic_output",),
         key_specs=(KeySpec("RW ACCESS DELETE", Index(3)),
                    KeySpec("RW ACCESS DELETE INCOMPLETE", Keyword("KEYS", -2), Range(-1, 1, 0))))
def migrate(client, argv):
    """MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password | AUTH2 username password]
    [KEYS key [key ...]]

    NOKEY when none of the keys exists (not an error: a key may just have
    expired), without connecting; else the client waits while kvcore.migrate
    RESTOREs their payloads on the target.
    """
    options = MigrateOptions(argv)
    timeout_ms = parse_int(argv[5])  # the timeout, then the database, as Redis checks them
    db_index = parse_int(argv[4])
    lookup = client.db.lookup_read
    keys = [key for key in options.keys(argv) if lookup(key) is not None]
    if not keys:
        return NOKEY
    client.node.migrations.start(client, argv[1].decode("utf-8", "replace"), parse_int(argv[2]), db_index,
                                 timeout_ms if timeout_ms > 0 else 1000, keys, options)
    return NO_REPLY
