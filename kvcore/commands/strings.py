"""String commands: SET and friends, counters, ranges, LCS.

Strings are stored as ``bytes``. Integer and float counters are parsed from
and written back as their decimal text, as Redis does.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction

from kvcore import errors
from kvcore.commands.args import LLONG_MAX, LLONG_MIN, Cursor, parse_int
from kvcore.commands.key_specs import Index, KeyFlag, KeySpec, Range
from kvcore.commands.table import Flag, Registry
from kvcore.reply import OK, Error, Map

REGISTRY = Registry("string")
command = REGISTRY.command

W = Flag.WRITE | Flag.DENYOOM
R = Flag.READONLY


def notify(client, event: str, key: bytes) -> None:
    if client.node.keyspace_events:
        client.node.notify_keyspace_event(event, key, client.db.index)


def check_length(client, size: int) -> None:
    if size > client.node.config["proto-max-bulk-len"]:
        raise Error(errors.STRING_TOO_LONG)


def parse_expiry(client, unit: bytes, arg: bytes, name: str) -> int:
    """An absolute expiry in ms from EX/PX/EXAT/PXAT and its argument."""
    value = parse_int(arg)
    if value <= 0:
        raise Error(errors.invalid_expire(name))
    if unit in (b"EX", b"EXAT"):
        if value > LLONG_MAX // 1000:
            raise Error(errors.invalid_expire(name))
        value *= 1000
    if unit in (b"EX", b"PX"):
        value += client.node.now
        if value > LLONG_MAX:
            raise Error(errors.invalid_expire(name))
    return value


def set_key_flags(argv: list[bytes]) -> list[tuple[int, KeyFlag]]:
    """SET's key flags: with GET it reads the old value too (Redis's setGetKeys)."""
    if any(arg.lower() == b"get" for arg in argv[3:]):
        return [(1, KeyFlag.RW | KeyFlag.ACCESS | KeyFlag.UPDATE)]
    return [(1, KeyFlag.OW | KeyFlag.UPDATE)]


@command(
    "set", -3, W, (1, 1, 1),
    key_specs=(
        KeySpec("RW ACCESS UPDATE VARIABLE_FLAGS", Index(1), notes="RW and ACCESS due to the optional `GET` argument"),
    ),
    flagged_keys_fn=set_key_flags,
)
def set_(client, argv):
    """SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ms-ts | KEEPTTL]"""
    if len(argv) == 3:  # the common case, without building an option parser
        db, key = client.db, argv[1]
        if db.expires:
            db.get(key)  # as lookupKeyWrite: an expired old value is deleted first
        db.set(key, argv[2])
        if client.node.keyspace_events:
            notify(client, "set", key)
        return OK
    cursor = Cursor(argv, 3)
    condition = expiry_unit = None
    expiry_arg = b""
    get = keep_ttl = False
    while cursor.more():
        option = cursor.next_upper()
        # As Redis, repeating an option is allowed (the last value wins); mixing
        # conflicting ones is a syntax error.
        if option in (b"NX", b"XX") and condition in (None, option):
            condition = option
        elif option == b"GET":
            get = True
        elif option == b"KEEPTTL" and expiry_unit is None:
            keep_ttl = True
        elif option in (b"EX", b"PX", b"EXAT", b"PXAT") and expiry_unit in (None, option) and not keep_ttl and cursor.more():
            expiry_unit, expiry_arg = option, cursor.next()
        else:
            raise Error(errors.SYNTAX)
    when = parse_expiry(client, expiry_unit, expiry_arg, "set") if expiry_unit else None
    db, key = client.db, argv[1]
    old = db.read_string(key) if get else db.get(key)
    if (condition == b"NX" and old is not None) or (condition == b"XX" and old is None):
        return old if get else None
    db.set(key, argv[2], keep_ttl=keep_ttl)
    notify(client, "set", key)
    if when is not None:
        db.set_expire(key, when)
        notify(client, "expire", key)
        client.propagate_as = [[b"SET", key, argv[2], b"PXAT", b"%d" % when]]
    elif get:  # logged and replicated without GET, as Redis (the old value is the caller's only)
        client.propagate_as = [argv[:3] + [arg for arg in argv[3:] if arg.lower() != b"get"]]
    return old if get else OK


@command("get", 2, R | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RO ACCESS", Index(1)),))
def get(client, argv):
    """GET key"""
    value = client.db.lookup_read(argv[1])
    if value is not None and type(value) is not bytes:
        raise Error(errors.WRONGTYPE)
    return value


@command("getset", 3, W | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW ACCESS UPDATE", Index(1)),))
def getset(client, argv):
    """GETSET key value"""
    old = client.db.read_string(argv[1])
    client.db.set(argv[1], argv[2])
    notify(client, "set", argv[1])
    client.propagate_as = [[b"SET", argv[1], argv[2]]]  # as Redis logs and replicates it
    return old


@command("getdel", 2, Flag.WRITE | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW ACCESS DELETE", Index(1)),))
def getdel(client, argv):
    """GETDEL key"""
    value = client.db.read_string(argv[1])
    if value is not None:
        client.db.delete(argv[1])
        notify(client, "del", argv[1])
        # logged and replicated as a deletion, as Redis rewrites it
        client.propagate_as = [[b"UNLINK" if client.node.config["lazyfree-lazy-user-del"] else b"DEL", argv[1]]]
    return value


@command(
    "getex", -2, Flag.WRITE | Flag.FAST, (1, 1, 1),
    key_specs=(KeySpec("RW ACCESS UPDATE", Index(1), notes="RW and UPDATE because it changes the TTL"),),
)
def getex(client, argv):
    """GETEX key [EX s | PX ms | EXAT ts | PXAT ms-ts | PERSIST]"""
    cursor = Cursor(argv, 2)
    unit = None
    arg = b""
    while cursor.more():
        option = cursor.next_upper()
        if option in (b"EX", b"PX", b"EXAT", b"PXAT") and unit in (None, option) and cursor.more():
            unit, arg = option, cursor.next()
        elif option == b"PERSIST" and unit in (None, option):
            unit = option
        else:
            raise Error(errors.SYNTAX)
    db, key = client.db, argv[1]
    value = db.read_string(key)
    if value is None or unit is None:
        return value
    if unit == b"PERSIST":
        if db.persist(key):
            notify(client, "persist", key)
            client.propagate_as = [[b"PERSIST", key]]
        return value
    when = parse_expiry(client, unit, arg, "getex")
    if when <= client.node.now:
        db.delete(key)
        notify(client, "del", key)
        client.propagate_as = [[b"DEL", key]]
    else:
        db.set_expire(key, when)
        notify(client, "expire", key)
        client.propagate_as = [[b"PEXPIREAT", key, b"%d" % when]]
    return value


@command("setnx", 3, W | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("OW INSERT", Index(1)),))
def setnx(client, argv):
    """SETNX key value"""
    if client.db.get(argv[1]) is not None:
        return 0
    client.db.set(argv[1], argv[2])
    notify(client, "set", argv[1])
    return 1


def _set_with_ttl(client, argv, unit: bytes, name: str):
    when = parse_expiry(client, unit, argv[2], name)
    client.db.set(argv[1], argv[3])
    client.db.set_expire(argv[1], when)
    notify(client, "set", argv[1])
    notify(client, "expire", argv[1])
    client.propagate_as = [[b"SET", argv[1], argv[3], b"PXAT", b"%d" % when]]
    return OK


@command("setex", 4, W, (1, 1, 1), key_specs=(KeySpec("OW UPDATE", Index(1)),))
def setex(client, argv):
    """SETEX key seconds value"""
    return _set_with_ttl(client, argv, b"EX", "setex")


@command("psetex", 4, W, (1, 1, 1), key_specs=(KeySpec("OW UPDATE", Index(1)),))
def psetex(client, argv):
    """PSETEX key milliseconds value"""
    return _set_with_ttl(client, argv, b"PX", "psetex")


@command(
    "mget", -2, R | Flag.FAST, (1, -1, 1),
    key_specs=(KeySpec("RO ACCESS", Index(1), Range(-1)),),
    tips=("request_policy:multi_shard",),
)
def mget(client, argv):
    """MGET key [key ...]"""
    db = client.db
    out = []
    for key in argv[1:]:
        value = db.lookup_read(key)
        out.append(value if type(value) is bytes else None)
    return out


@command(
    "mset", -3, W, (1, -1, 2),
    key_specs=(KeySpec("OW UPDATE", Index(1), Range(-1, 2)),),
    tips=("request_policy:multi_shard", "response_policy:all_succeeded"),
)
def mset(client, argv):
    """MSET key value [key value ...]"""
    if len(argv) % 2 == 0:
        raise Error(errors.wrong_arity("mset"))
    db = client.db
    if client.node.keyspace_events:  # "new" (for a new key) then "set", key by key, as Redis
        for i in range(1, len(argv), 2):
            db.set(argv[i], argv[i + 1])
            notify(client, "set", argv[i])
    else:
        db.set_pairs(argv)
    return OK


@command(
    "msetnx", -3, W, (1, -1, 2),
    key_specs=(KeySpec("OW INSERT", Index(1), Range(-1, 2)),),
    tips=("request_policy:multi_shard", "response_policy:agg_min"),
)
def msetnx(client, argv):
    """MSETNX key value [key value ...]"""
    if len(argv) % 2 == 0:
        raise Error(errors.wrong_arity("msetnx"))
    db = client.db
    if any(db.get(argv[i]) is not None for i in range(1, len(argv), 2)):
        return 0
    for i in range(1, len(argv), 2):
        db.set(argv[i], argv[i + 1])
        notify(client, "set", argv[i])
    return 1


@command("append", 3, W | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW INSERT", Index(1)),))
def append(client, argv):
    """APPEND key value"""
    db, key = client.db, argv[1]
    old = db.get_string(key)
    if old is None:
        db.set(key, argv[2])
    else:
        check_length(client, len(old) + len(argv[2]))
        db.replace(key, old + argv[2])
        db.mark_raw(key)
    notify(client, "append", key)
    return len(old or b"") + len(argv[2])


@command("strlen", 2, R | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RO", Index(1)),))
def strlen(client, argv):
    """STRLEN key"""
    value = client.db.read_string(argv[1])
    return 0 if value is None else len(value)


def _incr(client, key: bytes, delta: int):
    db = client.db
    old = db.get(key)
    if old is None:
        current = 0
    elif type(old) is not bytes:
        raise Error(errors.WRONGTYPE)
    elif (current := _SMALL_INT_VALUE.get(old)) is None:
        if old.isdigit() and len(old) < 19 and (old[0] != 0x30 or len(old) == 1):
            current = int(old)
        else:
            current = parse_int(old)
    result = current + delta
    if result < LLONG_MIN or result > LLONG_MAX:
        raise Error(errors.OVERFLOW)
    text = _SMALL_INT_TEXT[result] if 0 <= result < _SMALL_INTS else b"%d" % result
    if old is None:
        db.set(key, text)
    else:
        db.replace(key, text)
        if db.raw_strings:  # the result is a new integer object, whatever the old string's form
            db.raw_strings.pop(key, None)
    if client.node.keyspace_events:
        notify(client, "incrby", key)
    return result


# Counters are mostly small: their text is shared, and parsed by a lookup.
_SMALL_INTS = 10000
_SMALL_INT_TEXT = [b"%d" % i for i in range(_SMALL_INTS)]
_SMALL_INT_VALUE = {text: i for i, text in enumerate(_SMALL_INT_TEXT)}


@command("incr", 2, W | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW ACCESS UPDATE", Index(1)),))
def incr(client, argv):
    """INCR key"""
    return _incr(client, argv[1], 1)


@command("decr", 2, W | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW ACCESS UPDATE", Index(1)),))
def decr(client, argv):
    """DECR key"""
    return _incr(client, argv[1], -1)


@command("incrby", 3, W | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW ACCESS UPDATE", Index(1)),))
def incrby(client, argv):
    """INCRBY key increment"""
    return _incr(client, argv[1], parse_int(argv[2]))


@command("decrby", 3, W | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW ACCESS UPDATE", Index(1)),))
def decrby(client, argv):
    """DECRBY key decrement"""
    delta = parse_int(argv[2])
    if delta == LLONG_MIN:
        raise Error("ERR decrement would overflow")
    return _incr(client, argv[1], -delta)


LONG_DOUBLE_MANTISSA_BITS = 64
LONG_DOUBLE_MAX_EXPONENT = 16384


def round_to_long_double(value: Fraction) -> Fraction:
    """The x87 80-bit long double nearest to value (64-bit mantissa, ties to even)."""
    if value == 0:
        return Fraction(0)
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    exponent = magnitude.numerator.bit_length() - magnitude.denominator.bit_length() - LONG_DOUBLE_MANTISSA_BITS
    while magnitude >= Fraction(2) ** (exponent + LONG_DOUBLE_MANTISSA_BITS):
        exponent += 1
    while magnitude < Fraction(2) ** (exponent + LONG_DOUBLE_MANTISSA_BITS - 1):
        exponent -= 1
    mantissa = round(magnitude / Fraction(2) ** exponent)  # round() on Fraction is half-even
    return sign * mantissa * Fraction(2) ** exponent


def parse_long_double(arg: bytes, error: str = errors.NOT_FLOAT):
    """A number as strtold reads it: an exact Fraction, or +-inf as a float."""
    if not arg or arg[:1].isspace() or arg[-1:].isspace() or b"_" in arg:
        raise Error(error)
    lower = arg.lower().lstrip(b"+-")
    if lower in (b"inf", b"infinity"):
        return float("-inf") if arg[:1] == b"-" else float("inf")
    try:
        if lower.startswith(b"0x"):
            exact = Fraction(float.fromhex(arg.decode("ascii")))
        else:
            exact = Fraction(Decimal(arg.decode("ascii")))
    except (InvalidOperation, UnicodeDecodeError, ValueError, OverflowError):
        raise Error(error) from None
    value = round_to_long_double(exact)
    if value != 0 and abs(value) >= Fraction(2) ** LONG_DOUBLE_MAX_EXPONENT:
        raise Error(error)  # overflow (ERANGE)
    if value == 0 and exact != 0:
        raise Error(error)  # underflow (ERANGE)
    return value


def format_long_double(value: Fraction) -> bytes:
    """Redis's human-friendly long double text: %.17Lf without trailing zeros."""
    scaled = round(abs(value) * 10**17)
    digits = str(scaled).rjust(18, "0")
    text = (digits[:-17] + "." + digits[-17:]).rstrip("0").rstrip(".")
    if value < 0 and text != "0":
        text = "-" + text
    return text.encode()


def incr_by_float(old: bytes | None, arg: bytes) -> bytes:
    """The new text of a float counter; raises Redis's errors."""
    current = Fraction(0) if old is None else parse_long_double(old)
    delta = parse_long_double(arg)
    if isinstance(current, float) or isinstance(delta, float):
        raise Error(errors.INCR_NAN_OR_INF)
    result = round_to_long_double(current + delta)
    if abs(result) >= Fraction(2) ** LONG_DOUBLE_MAX_EXPONENT:
        raise Error(errors.INCR_NAN_OR_INF)
    return format_long_double(result)


@command("incrbyfloat", 3, W | Flag.FAST, (1, 1, 1), key_specs=(KeySpec("RW ACCESS UPDATE", Index(1)),))
def incrbyfloat(client, argv):
    """INCRBYFLOAT key increment"""
    db, key = client.db, argv[1]
    old = db.get_string(key)
    text = incr_by_float(old, argv[2])
    if old is None:
        db.set(key, text)
    else:
        db.replace(key, text)
    db.mark_made_from_float(key)
    notify(client, "incrbyfloat", key)
    client.propagate_as = [[b"SET", key, text, b"KEEPTTL"]]
    return text


def clamp_range(start: int, end: int, length: int) -> tuple[int, int] | None:
    """Redis's inclusive range with negative indexes; None when empty."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    start = max(start, 0)
    end = max(end, 0)
    if end >= length:
        end = length - 1
    if start > end or length == 0:
        return None
    return start, end


@command("getrange", 4, R, (1, 1, 1), key_specs=(KeySpec("RO ACCESS", Index(1)),))
def getrange(client, argv):
    """GETRANGE key start end"""
    start, end = parse_int(argv[2]), parse_int(argv[3])
    value = client.db.read_string(argv[1])
    if value is None:
        return b""
    if start < 0 and end < 0 and start > end:
        return b""
    span = clamp_range(start, end, len(value))
    return b"" if span is None else value[span[0] : span[1] + 1]


@command("substr", 4, R, (1, 1, 1), key_specs=(KeySpec("RO ACCESS", Index(1)),))
def substr(client, argv):
    """SUBSTR key start end"""
    return getrange(client, argv)


@command("setrange", 4, W, (1, 1, 1), key_specs=(KeySpec("RW UPDATE", Index(1)),))
def setrange(client, argv):
    """SETRANGE key offset value"""
    offset = parse_int(argv[2])
    if offset < 0:
        raise Error("ERR offset is out of range")
    db, key, piece = client.db, argv[1], argv[3]
    old = db.get_string(key)
    if not piece:
        return 0 if old is None else len(old)
    check_length(client, offset + len(piece))
    base = old or b""
    if len(base) < offset:
        base += b"\0" * (offset - len(base))
    new = base[:offset] + piece + base[offset + len(piece) :]
    if old is None:
        db.set(key, new)
    else:
        db.replace(key, new)
    db.mark_raw(key)
    notify(client, "setrange", key)
    return len(new)


@command("lcs", -3, R, (1, 2, 1), since="7.0.0", key_specs=(KeySpec("RO ACCESS", Index(1), Range(1)),))
def lcs(client, argv):
    """LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]"""
    a, b = client.db.lookup_read(argv[1]), client.db.lookup_read(argv[2])
    if (a is not None and type(a) is not bytes) or (b is not None and type(b) is not bytes):
        raise Error("ERR The specified keys must contain string values")
    a, b = a or b"", b or b""
    cursor = Cursor(argv, 3)
    want_len = want_idx = with_match_len = False
    min_match = 0
    while cursor.more():
        option = cursor.next_upper()
        if option == b"LEN":
            want_len = True
        elif option == b"IDX":
            want_idx = True
        elif option == b"WITHMATCHLEN":
            with_match_len = True
        elif option == b"MINMATCHLEN" and cursor.more():
            min_match = max(cursor.next_int(), 0)
        else:
            raise Error(errors.SYNTAX)
    if want_len and want_idx:
        raise Error("ERR If you want both the length and indexes, please just use IDX.")
    if (len(a) + 1) * (len(b) + 1) * 4 > client.node.config["proto-max-bulk-len"]:  # Redis's uint32 table
        raise Error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    table = _lcs_table(a, b)
    if want_len:
        return table[len(a)][len(b)]
    text, matches = _lcs_walk(a, b, table, min_match, with_match_len)
    if want_idx:
        return Map([(b"matches", matches), (b"len", table[len(a)][len(b)])])
    return text


def _lcs_table(a: bytes, b: bytes) -> list[list[int]]:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        row, prev, ai = table[i], table[i - 1], a[i - 1]
        for j in range(1, len(b) + 1):
            row[j] = prev[j - 1] + 1 if ai == b[j - 1] else max(prev[j], row[j - 1])
    return table


def _lcs_walk(a: bytes, b: bytes, table, min_match: int, with_len: bool):
    """Walk back from the end as Redis does, collecting the text and its ranges."""
    i, j = len(a), len(b)
    chars: list[int] = []
    matches = []
    a_start = a_end = b_start = b_end = None
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            chars.append(a[i - 1])
            if a_start is None:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            else:
                a_start -= 1
                b_start -= 1
            if a_start == 0 or b_start == 0:
                emit = True
            i -= 1
            j -= 1
        else:
            if table[i - 1][j] > table[i][j - 1]:
                i -= 1
            else:
                j -= 1
            emit = a_start is not None
        if emit:
            size = a_end - a_start + 1
            if min_match == 0 or size >= min_match:
                match = [[a_start, a_end], [b_start, b_end]]
                if with_len:
                    match.append(size)
                matches.append(match)
            a_start = None
    return bytes(reversed(chars)), matches
