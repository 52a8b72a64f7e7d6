"""The JSON family, as RedisJSON 2.x serves it: the document type and JSON.* commands.

A document is a `JsonValue` holding plain Python values (dict in insertion
order, list, str, int, float, bool, None); TYPE says ``ReJSON-RL`` and OBJECT
ENCODING ``raw``, as for any module type. Paths are `kvcore.jsonpath`'s: a
JSONPath (``$...``) answers an array with one entry per match (null where the
match has the wrong type), a legacy path answers one value and errors when
nothing fits. Replies and error texts are RedisJSON's, including its
unprefixed ones (``Existing key has wrong Redis type``, serde_json's parse
errors). Numbers are serialised as serde_json does: integers as integers,
floats in their shortest round-trip form with ``.0`` kept (``1.0``, ``1e-7``).

Writes change a document in place, so a key keeps its TTL; every change goes
through ``db.written`` (or ``set``/``delete``) once per command.
"""

from __future__ import annotations

import json as jsonlib
import math
import operator
import re
from functools import cmp_to_key
from itertools import accumulate

from kvcore import errors
from kvcore.commands.args import LLONG_MAX, LLONG_MIN, parse_int
from kvcore.commands.table import Flag, Registry
from kvcore.jsonpath import ROOT, Path, PathError, Query
from kvcore.reply import OK, Double, Error, Simple

REGISTRY = Registry("json")
command = REGISTRY.command

W = Flag.WRITE | Flag.DENYOOM
R = Flag.READONLY

WRONG_REDIS_TYPE = "Existing key has wrong Redis type"
NO_KEY = "ERR could not perform this operation on a key that doesn't exist"
NOT_UTF8 = "Couldn't parse as UTF-8 string"
NOT_INTEGER = "Couldn't parse as integer"
ROOT_ONLY = "ERR new objects must be created at the root"
NOT_STATIC = "Err wrong static path"
INDEX_RANGE = "ERR array index out of range"
INDEX_BOUNDS = "ERR index out of bounds"
NOT_A_NUMBER = "result is not a number"
BAD_NUMBER = "bad input number"
OUT_OF_RANGE = "number out of range"
WRONG_FORMAT = "ERR wrong format"
DEBUG_UNKNOWN = "ERR unknown subcommand - try `JSON.DEBUG HELP`"
DEBUG_HELP = [b"MEMORY <key> [path] - reports memory usage", b"HELP                - this message"]
U64_MAX = 2**64 - 1
DEPTH_MAX = 128


def path_missing(path: str) -> str:
    return f"ERR Path '{path}' does not exist"


def path_missing_or(path: str, reason: str) -> str:
    return f"ERR Path '{path}' does not exist or {reason}"


def wrong_json_type(expected: str, found: str) -> str:
    return f"WRONGTYPE wrong type of path value - expected {expected} but found {found}"


class JsonValue:
    """A JSON document at a key. ``floats`` is set once a float may be inside."""

    __slots__ = ("root", "floats")
    TYPE = "ReJSON-RL"

    def __init__(self, root, floats: bool) -> None:
        self.root = root
        self.floats = floats

    def encoding(self, config) -> str:
        return "raw"

    def __deepcopy__(self, memo) -> JsonValue:
        return JsonValue(clone(self.root), self.floats)


def clone(value):
    kind = type(value)
    if kind is dict:
        return {key: clone(item) for key, item in value.items()}
    if kind is list:
        return [clone(item) for item in value]
    return value


def type_name(value) -> str:
    kind = type(value)
    if kind is bool:
        return "boolean"
    if kind is int:
        return "integer"
    if kind is float:
        return "number"
    if kind is str:
        return "string"
    if kind is list:
        return "array"
    if kind is dict:
        return "object"
    return "null"


def is_number(value) -> bool:
    kind = type(value)
    return kind is int or kind is float


# -- parsing JSON text (serde_json's rules and messages) --------------------------

_NEGATIVE_ZERO = re.compile(r"-0(?![.0-9eE])")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_STRING_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_BYTE_STEP = [_BRACKET_STEP.get(chr(byte), 0) for byte in range(256)]
_NOT_BRACKET_BYTES = bytes(byte for byte in range(256) if chr(byte) not in "[]{}")
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGITS = b"0" * 19
_EXPONENT = re.compile(r"[0-9]e[+-][0-9]")


class _BadNumber(ValueError):
    def __init__(self, message: str, token: str) -> None:
        super().__init__(message)
        self.message = message
        self.token = token


class _Numbers:
    """Number hooks for one parse: serde_json's ranges, and whether a float was seen."""

    def __init__(self) -> None:
        self.floats = False

    def parse_float(self, token: str) -> float:
        value = float(token)
        if math.isinf(value):
            raise _BadNumber(OUT_OF_RANGE, token)
        self.floats = True
        return value

    def parse_int(self, token: str):
        if len(token) > 20:
            return self.parse_float(token)
        value = int(token)
        if value == 0 and token[0] == "-":
            self.floats = True
            return -0.0
        if LLONG_MIN <= value <= U64_MAX:
            return value
        self.floats = True
        return self.parse_float(token)


def _reject_constant(token: str):
    raise _BadNumber("expected value", token)


def decode_utf8(arg: bytes) -> str:
    try:
        return arg.decode("utf-8")
    except UnicodeDecodeError:
        raise Error(NOT_UTF8) from None


def parse_json(arg: bytes) -> tuple[object, bool]:
    """A JSON text as (value, may hold floats); errors carry serde_json's text."""
    text = decode_utf8(arg)
    if _nesting(arg) >= DEPTH_MAX:
        _check_depth(text)
    numbers = _Numbers()
    decoder = jsonlib.JSONDecoder(
        parse_float=numbers.parse_float,
        parse_int=numbers.parse_int if _needs_int_hook(arg, text) else None,
        parse_constant=_reject_constant,
    )
    try:
        value = decoder.decode(text)
    except jsonlib.JSONDecodeError as exc:
        raise Error(_serde_message(exc.msg, exc.pos, text)) from None
    except _BadNumber as exc:
        at = max(text.find(exc.token), 0)
        if exc.message == OUT_OF_RANGE:  # serde_json sees the range once it has read the whole number
            at += len(exc.token) - 1
        raise Error(_at(exc.message, text, at)) from None
    except RecursionError:
        raise Error(_at("recursion limit exceeded", text, 0)) from None
    if b"\\u" in arg and _SURROGATE_ESCAPE.search(text):
        _check_surrogates(value, text)
    return value, numbers.floats


def _nesting(arg: bytes) -> int:
    """The deepest bracket nesting, counting brackets inside strings too (a quick bound)."""
    marks = arg.translate(None, _NOT_BRACKET_BYTES)
    return max(accumulate(map(_BYTE_STEP.__getitem__, marks))) if marks else 0


def _needs_int_hook(arg: bytes, text: str) -> bool:
    """Integers outside i64..u64 and ``-0`` become floats; only then is the hook needed."""
    if b"-0" in arg and _NEGATIVE_ZERO.search(text):
        return True
    return _LONG_DIGITS in arg.translate(_DIGITS_AS_ZERO)


def _at(message: str, text: str, pos: int, eof: bool = False) -> str:
    """serde_json's ``... at line L column C`` (columns in bytes, 1-based)."""
    line_start = text.rfind("\n", 0, pos) + 1
    column = len(text[line_start:pos].encode("utf-8")) + (0 if eof else 1)
    return f"{message} at line {text.count(chr(10), 0, pos) + 1} column {column}"


def _serde_message(msg: str, pos: int, text: str) -> str:
    """Map a json module error onto the message serde_json gives for the same text."""
    before = text[:pos].rstrip(" \t\n\r")
    previous = before[-1:] if before else ""
    if pos >= len(text):
        if msg.startswith("Unterminated string"):
            return _at("EOF while parsing a string", text, len(text), True)
        if msg.startswith("Expecting value"):
            what = "a list" if previous == "[" else "a value"
        elif msg.startswith("Expecting property name"):
            what = "a value" if previous == "," else "an object"
        else:
            what = "a list" if _innermost(text, pos) == "[" else "an object"
        return _at(f"EOF while parsing {what}", text, len(text), True)
    current = text[pos]
    if msg.startswith("Expecting value") and current == "-":
        return _at("invalid number", text, pos + 1)
    if msg.startswith("Expecting value"):
        reason = "trailing comma" if previous == "," and current in "]}" else "expected value"
    elif msg.startswith("Expecting property name"):
        reason = "trailing comma" if current == "}" else "key must be a string"
    elif msg.startswith("Expecting ':'"):
        reason = "expected `:`"
    elif msg.startswith("Expecting ','"):
        reason = "expected `,` or `]`" if _innermost(text, pos) == "[" else "expected `,` or `}`"
    elif msg.startswith("Extra data"):
        reason = "trailing characters"
    elif msg.startswith("Invalid control character"):
        reason = "control character (\\u0000-\\u001F) found while parsing a string"
    elif msg.startswith("Invalid"):
        reason = "invalid escape"
    elif msg.startswith("Unterminated string"):
        return _at("EOF while parsing a string", text, len(text), True)
    else:
        reason = msg[:1].lower() + msg[1:]
    return _at(reason, text, pos)


def _innermost(text: str, pos: int) -> str:
    """The bracket of the innermost container open at pos ('[' or '{')."""
    stack: list[str] = []
    marks = _NOT_BRACKET.sub("", _STRING_TOKEN.sub("", text[:pos]))
    for mark in marks:
        if mark in "[{":
            stack.append(mark)
        elif stack:
            stack.pop()
    return stack[-1] if stack else ""


def _check_depth(text: str) -> None:
    """serde_json's recursion limit, brackets inside strings not counted."""
    depth = 0
    in_string = escaped = False
    for index, ch in enumerate(text):
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth >= DEPTH_MAX:
                raise Error(_at("recursion limit exceeded", text, index))
        elif ch in "]}":
            depth -= 1


def _check_surrogates(value, text: str) -> None:
    try:
        _ENCODE(value).encode("utf-8")
    except UnicodeEncodeError:
        match = _SURROGATE_ESCAPE.search(text)
        raise Error(_at("lone leading surrogate in hex escape", text, match.end() + 2)) from None


# -- serialising (serde_json's output, RedisJSON's INDENT/NEWLINE/SPACE) ----------

_ENCODE = jsonlib.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
_QUOTE = jsonlib.encoder.encode_basestring


class Layout:
    """JSON.GET's INDENT, NEWLINE and SPACE strings."""

    __slots__ = ("indent", "newline", "space")

    def __init__(self, indent: str = "", newline: str = "", space: str = "") -> None:
        self.indent = indent
        self.newline = newline
        self.space = space


def dumps(value, floats: bool = True, layout: Layout | None = None) -> str:
    """The JSON text of a value, as serde_json writes it.

    The C encoder's output is already right unless a float came out in
    exponent form (Python writes ``1e+16`` and ``1e-05``, serde_json ``1e16``
    and ``0.00001``); then, and for INDENT/NEWLINE/SPACE, it is written here.
    """
    if layout is None:
        text = _ENCODE(value)
        if not floats or not (("e+" in text or "e-" in text) and _EXPONENT.search(text)):
            return text
    out: list[str] = []
    _write(value, out, layout or Layout(), 0)
    return "".join(out)


def _write(value, out: list[str], layout: Layout, level: int) -> None:
    kind = type(value)
    if kind is str:
        out.append(_QUOTE(value))
    elif kind is dict or kind is list:
        _write_container(value, out, layout, level)
    elif kind is bool:
        out.append("true" if value else "false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float:
        out.append(format_float(value))
    else:
        out.append("null")


def _write_container(value, out: list[str], layout: Layout, level: int) -> None:
    is_object = type(value) is dict
    if not value:
        out.append("{}" if is_object else "[]")
        return
    inner = layout.newline + layout.indent * (level + 1)
    out.append("{" if is_object else "[")
    separator = inner
    if is_object:
        colon = ":" + layout.space
        for key, item in value.items():
            out.append(separator)
            out.append(_QUOTE(key))
            out.append(colon)
            _write(item, out, layout, level + 1)
            separator = "," + inner
    else:
        for item in value:
            out.append(separator)
            _write(item, out, layout, level + 1)
            separator = "," + inner
    out.append(layout.newline + layout.indent * level + ("}" if is_object else "]"))


def format_float(value: float) -> str:
    """A float as serde_json (ryu) prints it: shortest digits, ``.0`` kept, ``1e-7``."""
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    text = repr(value)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    significant = digits.lstrip("0")
    point = len(whole) + (int(exponent) if exponent else 0) - (len(digits) - len(significant))
    digits = significant.rstrip("0")
    length = len(digits)
    if 0 <= point - length and point <= 16:
        body = digits + "0" * (point - length) + ".0"
    elif 0 < point <= 16:
        body = digits[:point] + "." + digits[point:]
    elif -5 < point <= 0:
        body = "0." + "0" * -point + digits
    elif length == 1:
        body = f"{digits}e{point - 1}"
    else:
        body = f"{digits[0]}.{digits[1:]}e{point - 1}"
    return sign + body


def format_number(value) -> bytes:
    return (int.__repr__(value) if type(value) is int else format_float(value)).encode()


def encoded(value, doc: JsonValue, layout: Layout | None = None) -> bytes:
    return dumps(value, doc.floats, layout).encode("utf-8")


# -- keys, paths and locations -----------------------------------------------------


def read_doc(client, key: bytes) -> JsonValue | None:
    value = client.db.lookup_read(key)
    if value is not None and type(value) is not JsonValue:
        raise Error(WRONG_REDIS_TYPE)
    return value


def write_doc(client, key: bytes) -> JsonValue | None:
    value = client.db.get(key)
    if value is not None and type(value) is not JsonValue:
        raise Error(WRONG_REDIS_TYPE)
    return value


def existing_doc(client, key: bytes) -> JsonValue:
    doc = write_doc(client, key)
    if doc is None:
        raise Error(NO_KEY)
    return doc


def path_arg(arg: bytes) -> Path:
    return Path(decode_utf8(arg))


def compiled(path: Path) -> Query:
    try:
        return path.query()
    except PathError as exc:
        raise Error(exc.message) from None


def first_match(doc: JsonValue, path: Path):
    """A legacy path's value: its first match, or RedisJSON's 'does not exist' error."""
    found = compiled(path).values(doc.root)
    if not found:
        raise Error(path_missing(path.text))
    return found[0]


def resolve(root, location: tuple):
    """(parent, key, value) at a location, or None once the location is gone."""
    parent, key, node = None, None, root
    for step in location:
        kind = type(node)
        if kind is dict and type(step) is str and step in node:
            parent, key, node = node, step, node[step]
        elif kind is list and type(step) is int and step < len(node):
            parent, key, node = node, step, node[step]
        else:
            return None
    return parent, key, node


def replace(doc: JsonValue, location: tuple, value) -> bool:
    """Put value at an existing location; False when the location is gone."""
    if not location:
        doc.root = value
        return True
    found = resolve(doc.root, location)
    if found is None:
        return False
    found[0][found[1]] = value
    return True


class Change:
    """Counts the in-place changes of one write command and reports them once."""

    __slots__ = ("client", "key", "count")

    def __init__(self, client, key: bytes) -> None:
        self.client = client
        self.key = key
        self.count = 0

    def __enter__(self) -> Change:
        return self

    def __exit__(self, *exc) -> None:
        if self.count:
            self.client.db.written(self.key)


def matches(doc: JsonValue, path: Path, accept) -> list[tuple | None]:
    """Each match's location when accept(value), else None, in match order."""
    return [location if accept(value) else None for value, location in compiled(path).locations(doc.root)]


def legacy_targets(doc: JsonValue, path: Path, accept, reason: str, shown: str | None = None) -> list[tuple]:
    targets = [location for location in matches(doc, path, accept) if location is not None]
    if not targets:
        raise Error(path_missing_or(path.text if shown is None else shown, reason))
    return targets


def is_list(value) -> bool:
    return type(value) is list


def is_str(value) -> bool:
    return type(value) is str


def is_bool(value) -> bool:
    return type(value) is bool


def optional_path(argv: list[bytes], index: int = 2) -> Path:
    return path_arg(argv[index]) if len(argv) > index else ROOT


# -- JSON.SET, JSON.MSET, JSON.MERGE ----------------------------------------------


def plan_set(doc: JsonValue, path: Path, condition: bytes | None) -> list[tuple]:
    """Where a SET writes: ("set", location) replacements or ("add", parent, key) inserts."""
    query = compiled(path)
    if condition != b"NX":
        found = query.locations(doc.root)
        if found:
            return [("set", location) for _, location in found]
    if condition == b"XX":
        return []
    if not query.is_static():
        raise Error(NOT_STATIC)
    parent_query, last = query.parent()
    if type(last) is int:
        if query.values(doc.root):
            return []
        raise Error(INDEX_RANGE)
    return [("add", location, last) for _, location in parent_query.locations(doc.root)]


def apply_plan(doc: JsonValue, plan: list[tuple], value) -> int:
    """Carry out a plan with value (copied after its first use); the number of writes."""
    done = 0
    for step in plan:
        item = value if not done else clone(value)
        if step[0] == "set":
            done += replace(doc, step[1], item)
        else:
            found = resolve(doc.root, step[1])
            parent = None if found is None else found[2]
            if type(parent) is dict and step[2] not in parent:
                parent[step[2]] = item
                done += 1
    return done


def set_options(argv: list[bytes], start: int, conditions: bool) -> bytes | None:
    """NX/XX (when allowed) and FORMAT {JSON|STRING}; the condition given."""
    condition = None
    index = start
    while index < len(argv):
        option = argv[index].upper()
        if conditions and option in (b"NX", b"XX") and condition is None:
            condition = option
        elif option == b"FORMAT":
            if index + 1 >= len(argv):
                raise Error(errors.wrong_arity(argv[0].decode("utf-8", "replace").lower()))
            if decode_utf8(argv[index + 1]) not in ("JSON", "STRING"):
                raise Error(WRONG_FORMAT)
            index += 1
        else:
            raise Error(errors.SYNTAX)
        index += 1
    return condition


@command("json.set", -4, W, (1, 1, 1))
def json_set(client, argv):
    """JSON.SET key path value [NX | XX]"""
    key, path = argv[1], path_arg(argv[2])
    decode_utf8(argv[3])
    condition = set_options(argv, 4, True)
    doc = write_doc(client, key)
    value, floats = parse_json(argv[3])
    if doc is None:
        if condition == b"XX":
            return None
        if not path.is_root:
            raise Error(ROOT_ONLY)
        client.db.set(key, JsonValue(value, floats))
        return OK
    if path.is_root:
        if condition == b"NX":
            return None
        doc.root, doc.floats = value, floats
        client.db.written(key)
        return OK
    plan = plan_set(doc, path, condition)
    doc.floats |= floats
    with Change(client, key) as change:
        change.count = apply_plan(doc, plan, value)
    return OK if change.count else None


@command("json.mset", -4, W, (1, -1, 3), since="2.6.0")
def json_mset(client, argv):
    """JSON.MSET key path value [key path value ...]"""
    if (len(argv) - 1) % 3:
        raise Error(errors.wrong_arity("json.mset"))
    triplets = []
    for index in range(1, len(argv), 3):
        key, path = argv[index], path_arg(argv[index + 1])
        doc = write_doc(client, key)
        if not path.is_root:
            if doc is None:
                raise Error(ROOT_ONLY)
            plan_set(doc, path, None)
        triplets.append((key, path, parse_json(argv[index + 2])))
    for key, path, (value, floats) in triplets:
        _mset_one(client, key, path, value, floats)
    return OK


def _mset_one(client, key: bytes, path: Path, value, floats: bool) -> None:
    doc = write_doc(client, key)
    if doc is None:
        client.db.set(key, JsonValue(value, floats))
    elif path.is_root:
        doc.root, doc.floats = value, floats
        client.db.written(key)
    else:
        doc.floats |= floats
        with Change(client, key) as change:
            change.count = apply_plan(doc, plan_set(doc, path, None), value)


def merge_patch(target, patch):
    """RFC 7396: objects merge key by key, null removes, anything else replaces."""
    if type(patch) is not dict:
        return clone(patch)
    if type(target) is not dict:
        target = {}
    for key, item in patch.items():
        if item is None:
            target.pop(key, None)
        else:
            target[key] = merge_patch(target.get(key), item)
    return target


def _merge_at(doc: JsonValue, location: tuple, patch) -> bool:
    if not location:
        doc.root = merge_patch(doc.root, patch)
        return True
    found = resolve(doc.root, location)
    if found is None:
        return False
    parent, key, current = found
    if patch is None and type(parent) is dict:
        del parent[key]
    else:
        parent[key] = merge_patch(current, patch)
    return True


@command("json.merge", -4, W, (1, 1, 1), since="2.6.0")
def json_merge(client, argv):
    """JSON.MERGE key path value"""
    key, path = argv[1], path_arg(argv[2])
    decode_utf8(argv[3])
    set_options(argv, 4, False)
    doc = write_doc(client, key)
    patch, floats = parse_json(argv[3])
    if doc is None:
        if not path.is_root:
            raise Error(ROOT_ONLY)
        client.db.set(key, JsonValue(patch, floats))
        return OK
    doc.floats |= floats
    with Change(client, key) as change:
        if path.is_root:
            change.count = _merge_at(doc, (), patch)
        else:
            plan = plan_set(doc, path, None)
            merges = [step for step in plan if step[0] == "set"]
            change.count = sum(_merge_at(doc, step[1], patch) for step in merges)
            change.count += apply_plan(doc, [step for step in plan if step[0] == "add"], patch)
    return OK if change.count else None


# -- JSON.GET, JSON.MGET, JSON.TYPE, JSON.RESP, JSON.DEBUG --------------------------

_GET_OPTIONS = {b"INDENT": "indent", b"NEWLINE": "newline", b"SPACE": "space"}


def get_arguments(argv: list[bytes]) -> tuple[list[Path], Layout | None]:
    paths: list[Path] = []
    layout = None
    index = 2
    while index < len(argv):
        arg = argv[index]
        option = arg.upper() if len(arg) <= 8 else b""
        if option in _GET_OPTIONS:
            if index + 1 >= len(argv):
                raise Error(errors.wrong_arity("json.get"))
            layout = layout or Layout()
            setattr(layout, _GET_OPTIONS[option], decode_utf8(argv[index + 1]))
            index += 1
        elif option != b"NOESCAPE":
            paths.append(path_arg(arg))
        index += 1
    return paths or [ROOT], layout


@command("json.get", -2, R, (1, 1, 1))
def json_get(client, argv):
    """JSON.GET key [INDENT indent] [NEWLINE newline] [SPACE space] [path ...]"""
    paths, layout = get_arguments(argv)
    doc = read_doc(client, argv[1])
    if doc is None:
        return None
    if len(paths) == 1:
        path = paths[0]
        if path.legacy:
            return encoded(first_match(doc, path), doc, layout)
        return encoded(compiled(path).values(doc.root), doc, layout)
    return encoded(_get_many(doc, paths), doc, layout)


def _get_many(doc: JsonValue, paths: list[Path]) -> dict:
    """Several paths: an object from each path's spelling to its value(s)."""
    legacy = all(path.legacy for path in paths)
    result: dict = {}
    for path in paths:
        try:
            found = path.query().values(doc.root)
        except PathError:
            continue
        if not legacy:
            result[path.original] = found
        elif found:
            result[path.original] = found[0]
        else:
            raise Error(path_missing(path.original))
    return result


@command("json.mget", -3, R, (1, -2, 1))
def json_mget(client, argv):
    """JSON.MGET key [key ...] path"""
    path = path_arg(argv[-1])
    return [_mget_one(client.db.lookup_read(key), path) for key in argv[1:-1]]


def _mget_one(doc, path: Path) -> bytes | None:
    if type(doc) is not JsonValue:
        return None
    try:
        found = path.query().values(doc.root)
    except PathError:
        return None
    if not path.legacy:
        return encoded(found, doc)
    return encoded(found[0], doc) if found else None


@command("json.type", -2, R, (1, 1, 1))
def json_type(client, argv):
    """JSON.TYPE key [path]"""
    path = optional_path(argv)
    doc = read_doc(client, argv[1])
    if doc is None:
        reply = None
    elif path.legacy:
        found = _legacy_matches(path, doc)
        reply = type_name(found[0]).encode() if found else None
    else:
        reply = [type_name(value).encode() for value in compiled(path).values(doc.root)]
    return [reply] if client.resp3 else reply


def resp_form(value):
    """JSON.RESP's mapping: containers as arrays led by ``[`` or ``{``."""
    kind = type(value)
    if kind is dict:
        reply = [Simple("{")]
        for key, item in value.items():
            reply.append(key.encode("utf-8"))
            reply.append(resp_form(item))
        return reply
    if kind is list:
        return [Simple("[")] + [resp_form(item) for item in value]
    if kind is str:
        return value.encode("utf-8")
    if kind is bool:
        return Simple("true" if value else "false")
    if kind is float:
        return Double(value)
    return value


@command("json.resp", -2, R, (1, 1, 1))
def json_resp(client, argv):
    """JSON.RESP key [path]"""
    path = optional_path(argv)
    doc = read_doc(client, argv[1])
    if doc is None:
        return None
    if path.legacy:
        return resp_form(first_match(doc, path))
    return [resp_form(value) for value in compiled(path).values(doc.root)]


def memory_usage(value) -> int:
    """Bytes as RedisJSON's ijson storage counts them (JSON.DEBUG MEMORY)."""
    kind = type(value)
    if kind is str:
        return 8 + len(value.encode("utf-8"))
    if kind is int:
        if -128 <= value <= 383:
            return 8
        return 12 if -8388608 < value <= 8388607 else 24
    if kind is float:
        return 24
    if kind is list:
        return 8 + (8 * (_capacity(len(value)) + 2) + sum(map(memory_usage, value)) if value else 0)
    if kind is dict:
        if not value:
            return 8
        children = sum(len(key.encode("utf-8")) + memory_usage(item) for key, item in value.items())
        return 8 + 8 * (3 * _capacity(len(value)) + 2) + children
    return 8


def _capacity(size: int) -> int:
    """A container grown by pushes: capacity 4, then doubling."""
    return max(4, 1 << (size - 1).bit_length())


def _debug_keys(argv: list[bytes]) -> list[int]:
    return [2] if len(argv) > 2 and argv[1].upper() == b"MEMORY" else []


@command("json.debug", -2, R, keys_fn=_debug_keys)
def json_debug(client, argv):
    """JSON.DEBUG MEMORY key [path] | JSON.DEBUG HELP"""
    sub = argv[1].upper()
    if sub == b"HELP":
        return list(DEBUG_HELP)
    if sub != b"MEMORY":
        raise Error(DEBUG_UNKNOWN)
    if len(argv) < 3:
        raise Error(errors.wrong_arity("json.debug"))
    path = optional_path(argv, 3)
    doc = read_doc(client, argv[2])
    if path.legacy:
        return 0 if doc is None else memory_usage(first_match(doc, path))
    return [] if doc is None else [memory_usage(value) for value in compiled(path).values(doc.root)]


# -- JSON.DEL, JSON.FORGET, JSON.CLEAR, JSON.TOGGLE ---------------------------------


def _location_order(a: tuple, b: tuple) -> int:
    """RedisJSON's comparison of two paths for mutation: deeper and higher indexes first."""
    for x, y in zip(a, b):
        xs, ys = str(x), str(y)
        xn, yn = _numeric(xs), _numeric(ys)
        if xn and yn:
            if int(xs) != int(ys):
                return -1 if int(xs) > int(ys) else 1
        elif xn != yn:
            return 1 if xn else -1
        elif xs != ys:
            return -1 if xs < ys else 1
    return len(b) - len(a)


def _mutation_order(locations: list[tuple]) -> list[tuple]:
    """The order RedisJSON deletes in, with paths nested in another match dropped."""
    present = set(locations)
    ordered = sorted(locations, key=cmp_to_key(_location_order))
    return [loc for loc in ordered if not any(loc[:cut] in present for cut in range(1, len(loc)))]


def _numeric(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _delete_at(root, location: tuple) -> int:
    found = resolve(root, location) if location else None
    if found is None:
        return 0
    del found[0][found[1]]
    return 1


def _delete(client, argv) -> int:
    key = argv[1]
    path = optional_path(argv)
    doc = write_doc(client, key)
    if doc is None:
        return 0
    if path.is_root:
        client.db.delete(key)
        return 1
    locations = [location for _, location in compiled(path).locations(doc.root)]
    with Change(client, key) as change:
        for location in _mutation_order(locations):
            change.count += _delete_at(doc.root, location)
    return change.count


@command("json.del", -2, Flag.WRITE, (1, 1, 1))
def json_del(client, argv):
    """JSON.DEL key [path]"""
    return _delete(client, argv)


@command("json.forget", -2, Flag.WRITE, (1, 1, 1))
def json_forget(client, argv):
    """JSON.FORGET key [path]"""
    return _delete(client, argv)


def _clearable(value) -> bool:
    kind = type(value)
    if kind is dict or kind is list or kind is float:
        return bool(value)
    return kind is int and value != 0


def _clear_at(doc: JsonValue, location: tuple) -> int:
    found = resolve(doc.root, location)
    if found is None:
        return 0
    value = found[2]
    kind = type(value)
    if kind is dict or kind is list:
        value.clear()
    elif kind is int or kind is float:
        replace(doc, location, 0)
    else:
        return 0
    return 1


@command("json.clear", -2, Flag.WRITE, (1, 1, 1), since="2.0.0")
def json_clear(client, argv):
    """JSON.CLEAR key [path]"""
    key, path = argv[1], optional_path(argv)
    doc = existing_doc(client, key)
    targets = [location for location in matches(doc, path, _clearable) if location is not None]
    with Change(client, key) as change:
        for location in targets:
            change.count += _clear_at(doc, location)
    return change.count


@command("json.toggle", 3, Flag.WRITE, (1, 1, 1), since="2.0.0")
def json_toggle(client, argv):
    """JSON.TOGGLE key path"""
    key, path = argv[1], path_arg(argv[2])
    doc = existing_doc(client, key)
    if path.legacy:
        targets = legacy_targets(doc, path, is_bool, "not a bool")
    else:
        targets = matches(doc, path, is_bool)
    replies = []
    with Change(client, key) as change:
        for location in targets:
            replies.append(None if location is None else _toggle_at(doc, location))
            change.count += location is not None
    if path.legacy:
        return b"true" if replies[-1] else b"false"
    return [None if reply is None else int(reply) for reply in replies]


def _toggle_at(doc: JsonValue, location: tuple) -> bool:
    found = resolve(doc.root, location)
    value = not found[2]
    replace(doc, location, value)
    return value


# -- numbers -----------------------------------------------------------------------


def _wrap64(value: int) -> int:
    return (value - LLONG_MIN) % 2**64 + LLONG_MIN


# RedisJSON's operations on i64 (wrapping; a power's exponent is cast to u32) and on f64.
_INTEGER_OPS = {
    "incrby": lambda a, b: a + b,
    "multby": lambda a, b: a * b,
    "powby": lambda a, b: pow(a, b & 0xFFFFFFFF, 2**64),
}
_FLOAT_OPS = {"incrby": operator.add, "multby": operator.mul, "powby": operator.pow}


def numeric_result(current, operand, op: str):
    """RedisJSON's arithmetic: i64 with i64 wraps as i64, anything else is f64."""
    if (
        type(current) is int
        and type(operand) is int
        and LLONG_MIN <= current <= LLONG_MAX
        and LLONG_MIN <= operand <= LLONG_MAX
    ):
        return _wrap64(_INTEGER_OPS[op](current, operand))
    try:
        result = _FLOAT_OPS[op](float(current), float(operand))
    except (ZeroDivisionError, OverflowError):  # 0 ** -1 and 10.0 ** 400: infinite in f64
        raise Error(NOT_A_NUMBER) from None
    if type(result) is not float or not math.isfinite(result):  # (-8.0) ** 0.5: complex here, NaN in f64
        raise Error(NOT_A_NUMBER)
    return result


class _Operand:
    """The number argument, parsed on first use (as RedisJSON parses it per match)."""

    __slots__ = ("arg", "value")

    def __init__(self, arg: bytes) -> None:
        self.arg = arg
        self.value = None

    def get(self):
        if self.value is None:
            value, _ = parse_json(self.arg)
            if not is_number(value):
                raise Error(BAD_NUMBER)
            self.value = value
        return self.value


def _num_op(client, argv, op: str):
    key, path = argv[1], path_arg(argv[2])
    decode_utf8(argv[3])
    operand = _Operand(argv[3])
    doc = existing_doc(client, key)
    if path.legacy and not client.resp3:
        targets = legacy_targets(doc, path, is_number, "does not contains a number")
    else:
        targets = matches(doc, path, is_number)
    results = []
    with Change(client, key) as change:
        for location in targets:
            if location is None:
                results.append(None)
                continue
            found = resolve(doc.root, location)
            result = numeric_result(found[2], operand.get(), op)
            doc.floats |= type(result) is float
            replace(doc, location, result)
            change.count += 1
            results.append(result)
    if client.resp3:
        return [Double(value) if type(value) is float else value for value in results]
    if path.legacy:
        return format_number(results[-1])
    return dumps(results).encode()


@command("json.numincrby", 4, Flag.WRITE, (1, 1, 1))
def json_numincrby(client, argv):
    """JSON.NUMINCRBY key path value"""
    return _num_op(client, argv, "incrby")


@command("json.nummultby", 4, Flag.WRITE, (1, 1, 1))
def json_nummultby(client, argv):
    """JSON.NUMMULTBY key path value"""
    return _num_op(client, argv, "multby")


@command("json.numpowby", 4, Flag.WRITE, (1, 1, 1))
def json_numpowby(client, argv):
    """JSON.NUMPOWBY key path value (deprecated in RedisJSON, still served)"""
    return _num_op(client, argv, "powby")


# -- strings -----------------------------------------------------------------------


@command("json.strappend", -3, W, (1, 1, 1))
def json_strappend(client, argv):
    """JSON.STRAPPEND key [path] value"""
    key = argv[1]
    path, arg = (path_arg(argv[2]), argv[3]) if len(argv) > 3 else (ROOT, argv[2])
    text = decode_utf8(arg)
    doc = existing_doc(client, key)
    if path.legacy:
        targets = legacy_targets(doc, path, is_str, "not a string")
    else:
        targets = matches(doc, path, is_str)
    suffix = None
    replies = []
    with Change(client, key) as change:
        for location in targets:
            if location is None:
                replies.append(None)
                continue
            if suffix is None:
                suffix = _string_operand(arg, text)
            found = resolve(doc.root, location)
            value = found[2] + suffix
            replace(doc, location, value)
            change.count += 1
            replies.append(len(value.encode("utf-8")))
    return replies[-1] if path.legacy else replies


def _string_operand(arg: bytes, text: str) -> str:
    value, _ = parse_json(arg)
    if type(value) is not str:
        raise Error(wrong_json_type("string", text))
    return value


@command("json.strlen", -2, R, (1, 1, 1))
def json_strlen(client, argv):
    """JSON.STRLEN key [path]"""
    path = optional_path(argv)
    doc = read_doc(client, argv[1])
    if path.legacy:
        if doc is None:
            return None
        value = first_match(doc, path)
        if type(value) is not str:
            raise Error(wrong_json_type("string", type_name(value)))
        return len(value.encode("utf-8"))
    if doc is None:
        raise Error(NO_KEY)
    values = compiled(path).values(doc.root)
    return [len(value.encode("utf-8")) if type(value) is str else None for value in values]


# -- arrays ------------------------------------------------------------------------


def _json_values(args: list[bytes]) -> tuple[list, bool]:
    parsed = [parse_json(arg) for arg in args]
    return [value for value, _ in parsed], any(floats for _, floats in parsed)


def _array_targets(doc: JsonValue, path: Path, shown: str | None = None) -> list[tuple | None]:
    if path.legacy:
        return legacy_targets(doc, path, is_list, "not an array", shown)
    return matches(doc, path, is_list)


def _array_at(doc: JsonValue, location: tuple) -> list | None:
    found = resolve(doc.root, location)
    return None if found is None or type(found[2]) is not list else found[2]


def _array_command(client, key: bytes, path: Path, operation, shown: str | None = None):
    """Run operation(array) on each array the path names; RedisJSON's reply shapes."""
    doc = existing_doc(client, key)
    replies = []
    with Change(client, key) as change:
        for location in _array_targets(doc, path, shown):
            array = None if location is None else _array_at(doc, location)
            if array is None:
                replies.append(None)
                continue
            reply, changed = operation(doc, array)
            change.count += changed
            replies.append(reply)
    return replies[-1] if path.legacy else replies


@command("json.arrappend", -3, W, (1, 1, 1))
def json_arrappend(client, argv):
    """JSON.ARRAPPEND key path value [value ...]"""
    if len(argv) < 4:
        raise Error(errors.wrong_arity("json.arrappend"))
    path = path_arg(argv[2])
    values, floats = _json_values(argv[3:])
    uses = []

    def append(doc, array):
        doc.floats |= floats
        array.extend(clone(values) if uses else values)
        uses.append(True)
        return len(array), 1

    return _array_command(client, argv[1], path, append, path.original)


@command("json.arrinsert", -5, W, (1, 1, 1))
def json_arrinsert(client, argv):
    """JSON.ARRINSERT key path index value [value ...]"""
    path = path_arg(argv[2])
    index = parse_int(argv[3], NOT_INTEGER)
    values, floats = _json_values(argv[4:])

    def insert(doc, array):
        position = index if index >= 0 else len(array) + index
        if not 0 <= position <= len(array):
            raise Error(INDEX_BOUNDS)
        doc.floats |= floats
        array[position:position] = clone(values)
        return len(array), 1

    return _array_command(client, argv[1], path, insert)


@command("json.arrpop", -2, Flag.WRITE, (1, 1, 1))
def json_arrpop(client, argv):
    """JSON.ARRPOP key [path [index]]"""
    path = optional_path(argv)
    index = LLONG_MAX if len(argv) < 3 else -1
    if len(argv) > 3:
        try:
            index = parse_int(argv[3])
        except Error:
            index = -1

    def pop(doc, array):
        if not array:
            return None, 0
        position = max(0, len(array) + index) if index < 0 else min(index, len(array) - 1)
        return encoded(array.pop(position), doc), 1

    return _array_command(client, argv[1], path, pop)


def _edge(index: int, size: int) -> int:
    """RedisJSON's clamp of an inclusive trim bound into [0, size - 1]."""
    if index < 0:
        return size - min(size, -index)
    return min(size - 1, index) if size > 0 else 0


@command("json.arrtrim", 5, Flag.WRITE, (1, 1, 1))
def json_arrtrim(client, argv):
    """JSON.ARRTRIM key path start stop"""
    path = path_arg(argv[2])
    start, stop = parse_int(argv[3], NOT_INTEGER), parse_int(argv[4], NOT_INTEGER)

    def trim(doc, array):
        size = len(array)
        last = _edge(stop, size)
        first = _edge(start, size) if start < 0 or start < size else last + 1
        if first > last or size == 0:
            array.clear()
        else:
            del array[last + 1 :]
            del array[:first]
        return len(array), 1

    return _array_command(client, argv[1], path, trim)


@command("json.arrlen", -2, R, (1, 1, 1))
def json_arrlen(client, argv):
    """JSON.ARRLEN key [path]"""
    path = optional_path(argv)
    doc = read_doc(client, argv[1])
    if doc is None:
        if path.legacy:
            return None
        raise Error(NO_KEY)
    values = compiled(path).values(doc.root)
    if not path.legacy:
        return [len(value) if type(value) is list else None for value in values]
    if not values:
        raise Error(path_missing(path.original))
    if type(values[0]) is not list:
        raise Error(path_missing_or(path.original, "not an array"))
    return len(values[0])


def strict_equal(a, b) -> bool:
    """ARRINDEX's equality: same JSON type (integer and number differ), same content."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is list:
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    if kind is dict:
        return len(a) == len(b) and all(k in b and strict_equal(v, b[k]) for k, v in a.items())
    return a == b


def array_index(array, value, start: int, stop: int) -> int | None:
    if type(array) is not list:
        return None
    size = len(array)
    if size == 0:
        return -1
    first = max(0, size + start) if start < 0 else min(start, size - 1)
    end = size if stop == 0 else (max(0, size + stop) if stop < 0 else min(stop, size))
    for position in range(first, end):
        if strict_equal(array[position], value):
            return position
    return -1


@command("json.arrindex", -4, R, (1, 1, 1))
def json_arrindex(client, argv):
    """JSON.ARRINDEX key path value [start [stop]]"""
    if len(argv) > 6:
        raise Error(errors.wrong_arity("json.arrindex"))
    path = path_arg(argv[2])
    decode_utf8(argv[3])
    start = parse_int(argv[4], NOT_INTEGER) if len(argv) > 4 else 0
    stop = parse_int(argv[5], NOT_INTEGER) if len(argv) > 5 else 0
    doc = read_doc(client, argv[1])
    value, _ = parse_json(argv[3])
    if doc is None:
        raise Error(path_missing(path.original))
    if not path.legacy:
        return [array_index(array, value, start, stop) for array in compiled(path).values(doc.root)]
    array = first_match(doc, path)
    if type(array) is not list:
        raise Error(wrong_json_type("array", type_name(array)))
    return array_index(array, value, start, stop)


# -- objects -----------------------------------------------------------------------


def _legacy_matches(path, doc) -> list:
    """What a legacy path finds in a document; nothing for a missing key or a bad path."""
    if doc is None:
        return []
    try:
        return path.query().values(doc.root)
    except PathError:
        return []


@command("json.objkeys", -2, R, (1, 1, 1))
def json_objkeys(client, argv):
    """JSON.OBJKEYS key [path]"""
    path = optional_path(argv)
    doc = read_doc(client, argv[1])
    if path.legacy:
        found = _legacy_matches(path, doc)
        if not found:
            return None
        if type(found[0]) is not dict:
            raise Error(path_missing_or(path.text, "not an object"))
        return _keys(found[0])
    if doc is None:
        raise Error(NO_KEY)
    return [_keys(value) if type(value) is dict else None for value in compiled(path).values(doc.root)]


def _keys(obj: dict) -> list[bytes]:
    return [key.encode("utf-8") for key in obj]


@command("json.objlen", -2, R, (1, 1, 1))
def json_objlen(client, argv):
    """JSON.OBJLEN key [path]"""
    path = optional_path(argv)
    doc = read_doc(client, argv[1])
    if path.legacy:
        found = _legacy_matches(path, doc)
        if not found:
            return None
        if type(found[0]) is not dict:
            raise Error(wrong_json_type("object", type_name(found[0])))
        return len(found[0])
    if doc is None:
        raise Error(path_missing_or(path.text, "not an object"))
    return [len(value) if type(value) is dict else None for value in compiled(path).values(doc.root)]
