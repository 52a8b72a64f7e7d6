"""SORT and SORT_RO: sorting lists, sets and sorted sets, with BY, GET, LIMIT and STORE.

SORT reads its source through a small protocol rather than the families'
internals: the value's ``TYPE`` is "list", "set" or "zset", and iterating it
yields its members in their natural order (a zset's by score). BY and GET
patterns substitute an element for the first ``*`` and read a string key, or
a hash field after ``->``, exactly as Redis's lookupKeyByPattern. STORE
writes a list (`ListValue`).

Comparisons follow redis-server run in the C (or C.UTF-8) locale: ALPHA
without STORE uses strcoll, which there is strcmp on the text up to the first
NUL byte; with STORE it is a binary comparison. Ties in a numeric sort are
broken by comparing the elements; ALPHA ties keep the source order, as the
stable sort of glibc's qsort does. Redis does not clear errno before its
strtod, so once a score was out of range it may reject valid non-integer
scores in later SORTs too; kvcore judges every score on its own. A sorted set
SORT reads is a skiplist afterwards (OBJECT ENCODING), as Redis converts it
for good before reading it.
"""

from __future__ import annotations

import re

from kvcore import errors
from kvcore.commands.args import parse_int
from kvcore.commands.key_specs import UNKNOWN, Index, KeyFlag, KeySpec
from kvcore.commands.table import Flag, Registry
from kvcore.keyspace import type_name
from kvcore.reply import Error
from kvcore.types_list import ListValue, layout

REGISTRY = Registry("generic")
command = REGISTRY.command

NOT_DOUBLE = "ERR One or more scores can't be converted into double"
SORTABLE = ("list", "set", "zset")
CATEGORIES = ("set", "sortedset", "list", "dangerous")
DBL_MIN = 2.2250738585072014e-308
_STRTOD = re.compile(
    rb"[ \t\n\v\f\r]*[+-]?(?:"
    rb"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    rb"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    rb"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?"
    rb"|[nN][aA][nN](?:\([0-9A-Za-z_]*\))?"
    rb")"
)


class SortSpec:
    """The options of one SORT, as parsed from its arguments."""

    __slots__ = ("desc", "alpha", "start", "count", "store", "by", "dontsort", "gets")

    def __init__(self) -> None:
        self.desc = False
        self.alpha = False
        self.start = 0
        self.count = -1
        self.store: bytes | None = None
        self.by: bytes | None = None
        self.dontsort = False
        self.gets: list[bytes] = []


def c_string(data: bytes) -> bytes:
    """What a C string function sees of an argument: the bytes before any NUL."""
    return data.split(b"\0", 1)[0]


BY_DENIED = "ERR BY option of SORT denied due to insufficient ACL permissions."
GET_DENIED = "ERR GET option of SORT denied due to insufficient ACL permissions."


def parse_spec(argv: list[bytes], readonly: bool, any_key: bool) -> SortSpec:
    """SORT's options; ``any_key``: the user may read every key, which BY patterns and GET need."""
    spec = SortSpec()
    j = 2
    while j < len(argv):
        option, left = argv[j].lower(), len(argv) - j - 1
        if option == b"asc":
            spec.desc = False
        elif option == b"desc":
            spec.desc = True
        elif option == b"alpha":
            spec.alpha = True
        elif option == b"limit" and left >= 2:
            spec.start, spec.count = parse_int(argv[j + 1]), parse_int(argv[j + 2])
            j += 2
        elif option == b"store" and left >= 1 and not readonly:
            spec.store = argv[j + 1]
            j += 1
        elif option == b"by" and left >= 1:
            spec.by = argv[j + 1]
            if b"*" not in c_string(spec.by):
                spec.dontsort = True  # sticky, as in Redis: a later BY pattern does not undo it
            elif not any_key:
                raise Error(BY_DENIED)
            j += 1
        elif option == b"get" and left >= 1:
            if not any_key:
                raise Error(GET_DENIED)
            spec.gets.append(argv[j + 1])
            j += 1
        else:
            raise Error(errors.SYNTAX)
        j += 1
    return spec


def sort_keys(argv: list[bytes]) -> list[int]:
    """Key positions of SORT: the source, and the last STORE destination (sortGetKeys)."""
    skips = {b"limit": 2, b"get": 1, b"by": 1}
    store = None
    i = 2
    while i < len(argv):
        option = argv[i].lower()
        if option in skips:
            i += skips[option]
        elif option == b"store" and i + 1 < len(argv):
            store = i + 1
        i += 1
    return [1] if store is None else [1, store]


def sort_key_flags(argv: list[bytes]) -> list[tuple[int, KeyFlag]]:
    """SORT's keys with their flags: its specs leave STORE 'unknown'."""
    return [(i, KeyFlag.RO | KeyFlag.ACCESS if i == 1 else KeyFlag.OW | KeyFlag.UPDATE) for i in sort_keys(argv)]


def lookup_by_pattern(db, pattern: bytes, element: bytes):
    """The string (or hash field) a BY/GET pattern names for an element, else None."""
    if pattern == b"#" or pattern[:2] == b"#\0":
        return element
    text = c_string(pattern)
    star = text.find(b"*")
    if star < 0:
        return None
    arrow = text.find(b"->", star + 1)
    field = None
    if arrow >= 0 and arrow + 2 < len(text):
        field = pattern[arrow + 2 :]
        key = pattern[:star] + element + pattern[star + 1 : arrow]
    else:
        key = pattern[:star] + element + pattern[star + 1 :]
    value = db.lookup_read(key)
    if value is None:
        return None
    if field is not None:
        return value.get(field) if type_name(value) == "hash" else None
    return value if type(value) is bytes else None


def strtod_score(data: bytes) -> float | None:
    """The double C's strtod reads from all of ``data`` (up to a NUL); None when it cannot."""
    if data.isdigit() and len(data) < 300:
        return float(data)
    text = c_string(data)
    if not text:
        return 0.0
    if _STRTOD.fullmatch(text) is None:
        return None
    body = text.lstrip(b" \t\n\v\f\r")
    number = body.lstrip(b"+-").lower()
    if number.startswith(b"nan"):
        return None
    hexadecimal = number.startswith(b"0x")
    try:
        value = float.fromhex(body.decode()) if hexadecimal else float(body)
    except OverflowError:
        return None
    if value in (float("inf"), float("-inf")):
        return value if number.startswith(b"inf") else None
    mantissa = number[2:].split(b"p")[0] if hexadecimal else number.split(b"e")[0]
    if value == 0.0 and mantissa.strip(b"0.") or 0.0 < abs(value) < DBL_MIN:
        return None  # underflow: strtod sets ERANGE
    return value


def _window(spec: SortSpec, size: int) -> tuple[int, int]:
    """LIMIT's inclusive [start, end] over ``size`` elements (empty when end < start)."""
    start = max(spec.start, 0)
    end = size - 1 if spec.count < 0 else start + spec.count - 1
    if start >= size:
        start, end = size - 1, size - 2
    return start, min(end, size - 1)


def _numeric_order(db, spec: SortSpec, elements: list[bytes]) -> list[bytes]:
    """Elements by score, ties by their bytes; every BY lookup is made before any error."""
    keyed = []
    convertible = True
    for element in elements:
        score = 0.0
        source = element if spec.by is None else lookup_by_pattern(db, spec.by, element)
        if source is not None:
            score = strtod_score(source)
            if score is None:
                convertible, score = False, 0.0
        keyed.append((score, element))
    if not convertible:
        raise Error(NOT_DOUBLE)
    keyed.sort(reverse=spec.desc)
    return [element for _, element in keyed]


def _alpha_order(db, spec: SortSpec, elements: list[bytes]) -> list[bytes]:
    collate = (lambda s: s) if spec.store is not None else c_string
    if spec.by is None:
        return sorted(elements, key=collate, reverse=spec.desc)

    def by_value(element: bytes):
        found = lookup_by_pattern(db, spec.by, element)
        return (0, b"") if found is None else (1, collate(found))

    return sorted(elements, key=by_value, reverse=spec.desc)


def _selected(db, spec: SortSpec, value) -> list[bytes]:
    """The elements SORT outputs, in order, LIMIT applied."""
    kind = "list" if value is None else type_name(value)
    elements = [] if value is None else list(value)
    if spec.dontsort and kind == "set" and (spec.store is not None or db.node.scripts.running):
        # a stored result, or one a script sees, must be deterministic (replicas run the same)
        spec.dontsort, spec.alpha, spec.by = False, True, None
    start, end = _window(spec, len(elements))
    if spec.dontsort:
        if spec.desc and kind != "set":
            elements.reverse()
    elif spec.alpha:
        elements = _alpha_order(db, spec, elements)
    else:
        elements = _numeric_order(db, spec, elements)
    return elements[start : end + 1] if end >= start else []


def _sort(client, argv, readonly: bool):
    any_key = client.unrestricted or client.user.reads_every_key("sort_ro" if readonly else "sort", argv)
    spec = parse_spec(argv, readonly, any_key)
    db = client.db
    value = db.lookup_read(argv[1])
    if value is not None and type_name(value) not in SORTABLE:
        raise Error(errors.WRONGTYPE)
    if value is not None and value.TYPE == "zset" and value.listpack:  # Redis converts the source for good
        value.listpack = False
        db.reencoded(argv[1])
    chosen = _selected(db, spec, value)
    if not spec.gets:
        output = chosen
    else:
        output = [lookup_by_pattern(db, pattern, element) for element in chosen for pattern in spec.gets]
    if spec.store is None:
        return output
    return _store(db, spec.store, output)


def _store(db, key: bytes, output: list) -> int:
    """STORE: the output as a list at ``key`` (``sortstore``), or no key at all (``del`` if one went)."""
    notify = db.node.notify_keyspace_event
    if output:
        db.set(key, ListValue((b"" if item is None else item for item in output), *layout(db.node)))
        if len(output) > 1:
            db.written(key, len(output) - 1)
        notify("sortstore", key, db.index)
    elif db.delete(key):
        notify("del", key, db.index)
    return len(output)


@command(
    "sort", -2, Flag.WRITE | Flag.DENYOOM, (1, 1, 1), keys_fn=sort_keys, categories=CATEGORIES,
    flagged_keys_fn=sort_key_flags,
    key_specs=(
        KeySpec("RO ACCESS", Index(1)),
        KeySpec("RO ACCESS", UNKNOWN, UNKNOWN, notes="For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"),
        KeySpec("OW UPDATE", UNKNOWN, UNKNOWN, notes="For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array"),
    ),
)
def sort(client, argv):
    """SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA]
    [STORE destination]"""
    return _sort(client, argv, readonly=False)


@command(
    "sort_ro", -2, Flag.READONLY, (1, 1, 1), keys_fn=lambda argv: [1], categories=CATEGORIES, since="7.0.0",
    key_specs=(
        KeySpec("RO ACCESS", Index(1)),
        KeySpec("RO ACCESS", UNKNOWN, UNKNOWN, notes="For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"),
    ),
    flagged_keys_fn=lambda argv: [(1, KeyFlag.RO | KeyFlag.ACCESS)],
)
def sort_ro(client, argv):
    """SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA]"""
    return _sort(client, argv, readonly=True)
