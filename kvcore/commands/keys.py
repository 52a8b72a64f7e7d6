"""Generic key commands: existence, deletion, renaming, copying, expiry, SCAN, OBJECT.

These work on a key whatever its type: strings are ``bytes`` and every other
value is an object of a family's class with a ``TYPE``; COPY duplicates a
mutable value through its ``copy()`` method when it has one (else
``copy.deepcopy``), and OBJECT ENCODING asks a value's ``encoding(config)``.

Per-key access times and LFU counters are kept only while an LRU or LFU
maxmemory policy is selected (kvcore.eviction; they would cost every read):
under other policies OBJECT IDLETIME answers 0. Each answers only under the
policies where Redis answers at all.
"""

from __future__ import annotations

import copy

from kvcore import errors, lazyfree
from kvcore.commands.args import LLONG_MAX, parse_int
from kvcore.commands.key_specs import Index, KeySpec, Range
from kvcore.commands.table import Flag, Registry
from kvcore.glob import glob_match
from kvcore.keyspace import type_name
from kvcore.reply import OK, Error, Simple

REGISTRY = Registry("generic")
command = REGISTRY.command

W = Flag.WRITE
R = Flag.READONLY
F = Flag.FAST

INVALID_CURSOR = "ERR invalid cursor"
NX_INCOMPATIBLE = "ERR NX and XX, GT or LT options at the same time are not compatible"
GT_LT_INCOMPATIBLE = "ERR GT and LT options at the same time are not compatible"
NO_LFU = (
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when "
    "switching between policies at runtime LRU and LFU data will take some time to adjust."
)
LFU_NO_IDLETIME = (
    "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
    "switching between policies at runtime LRU and LFU data will take some time to adjust."
)
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
INT_RANGE = "ERR value is out of range, value must between -2147483648 and 2147483647"
ULONG_RANGE = 1 << 64
SHARED_INTEGERS = 10000
SHARED_REFCOUNT = INT_MAX
OBJECT_HELP = [
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
]


# -- existence and deletion ----------------------------------------------------
def _delete_live(db, keys: list[bytes]) -> int:
    """Delete each key that is live (an expired one is expired, not counted), publishing ``del``."""
    deleted = 0
    notify = db.node.notify_keyspace_event
    for key in keys:
        if db.get(key) is not None and db.delete(key):
            deleted += 1
            notify("del", key, db.index)
    return deleted


@command(
    "del", -2, W, (1, -1, 1),
    key_specs=(KeySpec("RM DELETE", Index(1), Range(-1)),),
    tips=("request_policy:multi_shard", "response_policy:agg_sum"),
)
def del_(client, argv):
    """DEL key [key ...]"""
    if client.node.config["lazyfree-lazy-user-del"]:
        lazyfree.unlinked(client.db, argv[1:])
    return _delete_live(client.db, argv[1:])


@command(
    "unlink", -2, W | F, (1, -1, 1), since="4.0.0",
    key_specs=(KeySpec("RM DELETE", Index(1), Range(-1)),),
    tips=("request_policy:multi_shard", "response_policy:agg_sum"),
)
def unlink(client, argv):
    """UNLINK key [key ...]"""
    lazyfree.unlinked(client.db, argv[1:])
    return _delete_live(client.db, argv[1:])


@command(
    "exists", -2, R | F, (1, -1, 1),
    key_specs=(KeySpec("RO", Index(1), Range(-1)),),
    tips=("request_policy:multi_shard", "response_policy:agg_sum"),
)
def exists(client, argv):
    """EXISTS key [key ...]"""
    lookup = client.db.lookup_read_untouched
    return sum(1 for key in argv[1:] if lookup(key) is not None)


@command(
    "touch", -2, R | F, (1, -1, 1), since="3.2.1",
    key_specs=(KeySpec("RO", Index(1), Range(-1)),),
    tips=("request_policy:multi_shard", "response_policy:agg_sum"),
)
def touch(client, argv):
    """TOUCH key [key ...]: EXISTS, but an access to each key found."""
    lookup = client.db.lookup_read
    return sum(1 for key in argv[1:] if lookup(key) is not None)


@command("type", 2, R | F, (1, 1, 1), key_specs=(KeySpec("RO", Index(1)),))
def type_(client, argv):
    """TYPE key"""
    value = client.db.lookup_read_untouched(argv[1])
    return Simple("none" if value is None else type_name(value))


# -- listing -------------------------------------------------------------------
@command(
    "keys", 2, R, categories=("keyspace", "dangerous"),
    tips=("request_policy:all_shards", "nondeterministic_output_order"),
)
def keys(client, argv):
    """KEYS pattern"""
    db, pattern = client.db, argv[1]
    expires, now = db.expires, client.node.now
    everything = pattern == b"*"
    return [
        key
        for key in db.data
        if (everything or glob_match(pattern, key)) and (key not in expires or expires[key] >= now)
    ]


def parse_cursor(arg: bytes) -> int:
    """A SCAN cursor as C's strtoul reads it, else Redis's 'invalid cursor'."""
    if not arg:
        return 0
    digits = arg[1:] if arg[:1] in (b"+", b"-") else arg
    if not digits.isdigit():
        raise Error(INVALID_CURSOR)
    value = int(digits)
    if value >= ULONG_RANGE:
        raise Error(INVALID_CURSOR)
    return (-value) % ULONG_RANGE if arg[:1] == b"-" else value


def _scan_options(argv: list[bytes]) -> tuple[int, bytes | None, bytes | None]:
    """COUNT, MATCH and TYPE of a SCAN; the last of each repeated option wins."""
    count, pattern, wanted = 10, None, None
    i = 2
    while i < len(argv):
        option = argv[i].lower()
        if i + 1 >= len(argv) or option not in (b"count", b"match", b"type"):
            raise Error(errors.SYNTAX)
        arg = argv[i + 1]
        if option == b"count":
            count = parse_int(arg)
            if count < 1:
                raise Error(errors.SYNTAX)
        elif option == b"match":
            pattern = None if arg == b"*" else arg
        else:
            wanted = arg.lower()
        i += 2
    return count, pattern, wanted


@command("scan", -2, R, since="2.8.0", tips=("nondeterministic_output", "request_policy:special"))
def scan(client, argv):
    """SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]"""
    cursor = parse_cursor(argv[1])
    count, pattern, wanted = _scan_options(argv)
    db = client.db

    def accept(key: bytes) -> bool:
        if pattern is not None and not glob_match(pattern, key):
            return False
        if wanted is None:
            return True
        value = db.lookup_read_untouched(key)
        return value is not None and type_name(value).encode() == wanted

    with client.node.expiry_unwrapped():
        cursor, found = db.scan(cursor, count, accept)
    return [b"%d" % cursor, found]


@command("randomkey", 1, R, tips=("request_policy:all_shards", "nondeterministic_output"))
def randomkey(client, argv):
    """RANDOMKEY"""
    with client.node.expiry_unwrapped():
        return client.db.random_key(client.node.rng)


# -- renaming, copying, moving -------------------------------------------------
def _rename(client, argv, nx: bool):
    db, src, dst = client.db, argv[1], argv[2]
    value = db.get(src)
    if value is None:
        raise Error(errors.NO_SUCH_KEY)
    if src == dst:
        return 0 if nx else OK
    if db.get(dst) is not None:
        if nx:
            return 0
        db.delete(dst)
    when = db.ttl_ms(src)
    db.set(dst, value)
    carry_raw(db, src, db, dst)
    if when is not None:
        db.set_expire(dst, when)
    db.delete(src)
    notify = client.node.notify_keyspace_event
    notify("rename_from", src, db.index)
    notify("rename_to", dst, db.index)
    return 1 if nx else OK


def carry_raw(src_db, src: bytes, dst_db, dst: bytes) -> None:
    """A string moved or copied keeps its raw or embstr form (Redis moves or duplicates the object)."""
    form = src_db.raw_strings.get(src)
    if form is not None:
        dst_db.raw_strings[dst] = form


@command("rename", 3, W, (1, 2, 1), key_specs=(KeySpec("RW ACCESS DELETE", Index(1)), KeySpec("OW UPDATE", Index(2))))
def rename(client, argv):
    """RENAME key newkey"""
    return _rename(client, argv, nx=False)


@command(
    "renamenx", 3, W | F, (1, 2, 1),
    key_specs=(
        KeySpec("RW ACCESS DELETE", Index(1)),
        KeySpec("OW INSERT", Index(2)),
    ),
)
def renamenx(client, argv):
    """RENAMENX key newkey"""
    return _rename(client, argv, nx=True)


def parse_db_index(client, arg: bytes):
    """The database an argument names (an int), or Redis's errors."""
    index = parse_int(arg)
    if index < INT_MIN or index > INT_MAX:
        raise Error(INT_RANGE)
    if not 0 <= index < len(client.node.dbs):
        raise Error(errors.DB_INDEX)
    return client.node.dbs[index]


def duplicate(value):
    """An independent copy of a value: strings are immutable, the rest copy themselves.

    A ``copy()`` inherited from dict or set returns a plain dict or set, losing
    the class (and its slots): such values are deep-copied instead.
    """
    if type(value) is bytes:
        return value
    own_copy = getattr(value, "copy", None)
    if own_copy is not None:
        copied = own_copy()
        if type(copied) is type(value):
            return copied
    return copy.deepcopy(value)


@command(
    "copy", -3, W | Flag.DENYOOM, (1, 2, 1), since="6.2.0",
    key_specs=(
        KeySpec("RO ACCESS", Index(1)),
        KeySpec("OW UPDATE", Index(2)),
    ),
)
def copy_(client, argv):
    """COPY source destination [DB destination-db] [REPLACE]"""
    src_db = dst_db = client.db
    replace = False
    i = 3
    while i < len(argv):
        option = argv[i].lower()
        if option == b"replace":
            replace = True
        elif option == b"db" and i + 1 < len(argv):
            dst_db = parse_db_index(client, argv[i + 1])
            i += 1
        else:
            raise Error(errors.SYNTAX)
        i += 1
    src, dst = argv[1], argv[2]
    if src_db is dst_db and src == dst:
        raise Error(errors.SAME_OBJECT)
    value = src_db.lookup_read(src)
    if value is None:
        return 0
    when = src_db.ttl_ms(src)
    if dst_db.get(dst) is not None:
        if not replace:
            return 0
        dst_db.delete(dst)
    dst_db.set(dst, duplicate(value))
    carry_raw(src_db, src, dst_db, dst)
    if type(value) is bytes and dst not in dst_db.raw_strings and int_encoded(value) is not None:
        dst_db.raw_strings[dst] = "int"  # Redis duplicates the integer: an object of its own, never a shared one
    if when is not None:
        dst_db.set_expire(dst, when)
    client.node.notify_keyspace_event("copy_to", dst, dst_db.index)
    return 1


@command("move", 3, W | F, (1, 1, 1), key_specs=(KeySpec("RW ACCESS UPDATE", Index(1)),))
def move(client, argv):
    """MOVE key db"""
    src_db, key = client.db, argv[1]
    dst_db = parse_db_index(client, argv[2])
    if dst_db is src_db:
        raise Error(errors.SAME_OBJECT)
    value = src_db.get(key)
    if value is None or dst_db.get(key) is not None:
        return 0
    when = src_db.ttl_ms(key)
    dst_db.set(key, value)
    carry_raw(src_db, key, dst_db, key)
    if when is not None:
        dst_db.set_expire(key, when)
    src_db.delete(key)
    notify = client.node.notify_keyspace_event
    notify("move_from", key, src_db.index)
    notify("move_to", key, dst_db.index)
    return 1


# -- expiry --------------------------------------------------------------------
def _expire_conditions(argv: list[bytes]) -> set[bytes]:
    """The NX / XX / GT / LT options after the time, checked for conflicts."""
    flags: set[bytes] = set()
    for arg in argv[3:]:
        option = arg.upper()
        if option not in (b"NX", b"XX", b"GT", b"LT"):
            raise Error("ERR Unsupported option " + arg.decode("utf-8", "replace"))
        flags.add(option)
    if b"NX" in flags and len(flags) > 1:
        raise Error(NX_INCOMPATIBLE)
    if b"GT" in flags and b"LT" in flags:
        raise Error(GT_LT_INCOMPATIBLE)
    return flags


def _expiry_allowed(flags: set[bytes], when: int, current: int | None) -> bool:
    """Whether NX / XX / GT / LT let an expiry at ``when`` replace ``current``."""
    if b"NX" in flags and current is not None:
        return False
    if b"XX" in flags and current is None:
        return False
    if b"GT" in flags and (current is None or when <= current):
        return False
    return not (b"LT" in flags and current is not None and when >= current)


def _expire(client, argv, basetime: int, unit_ms: int):
    """EXPIRE and its three siblings: set, refuse, or delete if already past."""
    name = argv[0].lower().decode()
    flags = _expire_conditions(argv)
    when = parse_int(argv[2])
    if unit_ms == 1000:
        if when > LLONG_MAX // 1000 or when < -(LLONG_MAX // 1000):
            raise Error(errors.invalid_expire(name))
        when *= 1000
    if when > LLONG_MAX - basetime:
        raise Error(errors.invalid_expire(name))
    when += basetime
    db, key = client.db, argv[1]
    if db.get(key) is None:
        return 0
    if flags and not _expiry_allowed(flags, when, db.ttl_ms(key)):
        return 0
    node = client.node
    if when <= node.now and not node.is_replica and not node.loading:
        db.delete(key)
        client.propagate_as = [[b"UNLINK" if node.config["lazyfree-lazy-expire"] else b"DEL", key]]
        node.notify_keyspace_event("del", key, db.index)
        return 1
    db.set_expire(key, when)
    if name != "pexpireat":
        client.propagate_as = [[b"PEXPIREAT", key, b"%d" % when, *argv[3:]]]
    node.notify_keyspace_event("expire", key, db.index)
    return 1


@command("expire", -3, W | F, (1, 1, 1), key_specs=(KeySpec("RW UPDATE", Index(1)),))
def expire(client, argv):
    """EXPIRE key seconds [NX | XX | GT | LT]"""
    return _expire(client, argv, client.node.now, 1000)


@command("pexpire", -3, W | F, (1, 1, 1), since="2.6.0", key_specs=(KeySpec("RW UPDATE", Index(1)),))
def pexpire(client, argv):
    """PEXPIRE key milliseconds [NX | XX | GT | LT]"""
    return _expire(client, argv, client.node.now, 1)


@command("expireat", -3, W | F, (1, 1, 1), since="1.2.0", key_specs=(KeySpec("RW UPDATE", Index(1)),))
def expireat(client, argv):
    """EXPIREAT key unix-time-seconds [NX | XX | GT | LT]"""
    return _expire(client, argv, 0, 1000)


@command("pexpireat", -3, W | F, (1, 1, 1), since="2.6.0", key_specs=(KeySpec("RW UPDATE", Index(1)),))
def pexpireat(client, argv):
    """PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]"""
    return _expire(client, argv, 0, 1)


def _ttl(client, key: bytes, in_ms: bool, absolute: bool) -> int:
    db = client.db
    if db.lookup_read_untouched(key) is None:
        return -2
    when = db.ttl_ms(key)
    if when is None:
        return -1
    ttl = max(when if absolute else when - client.node.now, 0)
    return ttl if in_ms else (ttl + 500) // 1000


@command("ttl", 2, R | F, (1, 1, 1), key_specs=(KeySpec("RO ACCESS", Index(1)),), tips=("nondeterministic_output",))
def ttl(client, argv):
    """TTL key"""
    return _ttl(client, argv[1], in_ms=False, absolute=False)


@command(
    "pttl", 2, R | F, (1, 1, 1), since="2.6.0",
    key_specs=(KeySpec("RO ACCESS", Index(1)),),
    tips=("nondeterministic_output",),
)
def pttl(client, argv):
    """PTTL key"""
    return _ttl(client, argv[1], in_ms=True, absolute=False)


@command("expiretime", 2, R | F, (1, 1, 1), since="7.0.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def expiretime(client, argv):
    """EXPIRETIME key"""
    return _ttl(client, argv[1], in_ms=False, absolute=True)


@command("pexpiretime", 2, R | F, (1, 1, 1), since="7.0.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def pexpiretime(client, argv):
    """PEXPIRETIME key"""
    return _ttl(client, argv[1], in_ms=True, absolute=True)


@command("persist", 2, W | F, (1, 1, 1), since="2.2.0", key_specs=(KeySpec("RW UPDATE", Index(1)),))
def persist(client, argv):
    """PERSIST key"""
    db, key = client.db, argv[1]
    if db.get(key) is None or not db.persist(key):
        return 0
    client.node.notify_keyspace_event("persist", key, db.index)
    return 1


# -- OBJECT --------------------------------------------------------------------
def int_encoded(value: bytes) -> int | None:
    """The integer a string would be stored as (Redis's "int" encoding), else None."""
    if len(value) > 20:
        return None
    try:
        return parse_int(value)
    except Error:
        return None


def string_encoding(value: bytes, form: str | None = None) -> str:
    """OBJECT ENCODING of a string: the form Redis keeps it in whatever its contents, if any
    (``Database.raw_strings``: raw when modified in place, embstr from INCRBYFLOAT, int when a
    COPY made an integer object of its own), else int,
    embstr (up to 44 bytes) or raw by its contents."""
    if form is not None:
        return form
    if int_encoded(value) is not None:
        return "int"
    return "embstr" if len(value) <= 44 else "raw"


def _uses_shared_integers(config) -> bool:
    policy = config["maxmemory-policy"]
    return config["maxmemory"] == 0 or not ("lru" in policy or "lfu" in policy)


def _lfu_policy(config) -> bool:
    return "lfu" in config["maxmemory-policy"]


OBJECT = REGISTRY.container("object", -2, summary="A container for object introspection commands")


def _object_value(client, argv):
    """The key's value as OBJECT looks it up: a keyspace hit or miss, but no access counted
    (Redis's LOOKUP_NOTOUCH) and no keymiss event (LOOKUP_NONOTIFY)."""
    value = client.db.peek(argv[2])
    stats = client.node.stats
    if value is None:
        stats.keyspace_misses += 1
    else:
        stats.keyspace_hits += 1
    return value


@command(
    "encoding", 3, R, (2, 2, 1), parent=OBJECT, since="2.2.3",
    key_specs=(KeySpec("RO", Index(2)),),
    tips=("nondeterministic_output",),
)
def object_encoding(client, argv):
    """OBJECT ENCODING key"""
    value = _object_value(client, argv)
    if value is None:
        return None
    if type(value) is bytes:
        return string_encoding(value, client.db.raw_strings.get(argv[2])).encode()
    return value.encoding(client.node.config).encode()


@command(
    "refcount", 3, R, (2, 2, 1), parent=OBJECT, since="2.2.3",
    key_specs=(KeySpec("RO", Index(2)),),
    tips=("nondeterministic_output",),
)
def object_refcount(client, argv):
    """OBJECT REFCOUNT key"""
    value = _object_value(client, argv)
    return None if value is None else refcount(client, argv[2], value)


def refcount(client, key: bytes, value) -> int:
    """The reference count Redis reports for a key's value: its shared object's for a small
    integer made from its contents, else 1."""
    if type(value) is bytes and key not in client.db.raw_strings and _uses_shared_integers(client.node.config):
        number = int_encoded(value)
        if number is not None and 0 <= number < SHARED_INTEGERS:
            return SHARED_REFCOUNT
    return 1


@command(
    "idletime", 3, R, (2, 2, 1), parent=OBJECT, since="2.2.3",
    key_specs=(KeySpec("RO", Index(2)),),
    tips=("nondeterministic_output",),
)
def object_idletime(client, argv):
    """OBJECT IDLETIME key"""
    value = _object_value(client, argv)
    if value is None:
        return None
    if _lfu_policy(client.node.config):
        raise Error(LFU_NO_IDLETIME)
    return client.node.evictor.idle_seconds(client.db, argv[2])


@command(
    "freq", 3, R, (2, 2, 1), parent=OBJECT, since="4.0.0",
    key_specs=(KeySpec("RO", Index(2)),),
    tips=("nondeterministic_output",),
)
def object_freq(client, argv):
    """OBJECT FREQ key"""
    value = _object_value(client, argv)
    if value is None:
        return None
    if not _lfu_policy(client.node.config):
        raise Error(NO_LFU)
    return client.node.evictor.frequency(client.db, argv[2])


@command("help", 2, Flag.LOADING | Flag.STALE, parent=OBJECT, since="6.2.0")
def object_help(client, argv):
    """OBJECT HELP"""
    return [Simple(line) for line in OBJECT_HELP]
