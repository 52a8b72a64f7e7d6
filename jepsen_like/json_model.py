"""JSON documents in the sequential reference (`jepsen_like.redis_model`): the JSON.* commands, as RedisJSON 2.x replies.

The reference workload names paths only as JSONPath (``$``, ``$.n``, ``$.o.f``,
``$.a[0]``, ``$.a[-1]``, ``$.*``), so every reply but the whole-document
JSON.GET is per match: an array with one entry for each value the path finds,
null where that value has the wrong type. Documents are Python values
(``int`` and ``float`` apart, as RedisJSON keeps integers and floats apart);
text comes out as serde_json writes it: compact, and floats in their shortest
round-trip digits laid out as the ryu crate lays them (``1.0``, ``0.00001``,
``1e16``). A write changes the document in place, so the key keeps its deadline,
JSON.SET of the root included; a document made by JSON.SET has none.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

NO_KEY = {"error": "ERR could not perform this operation on a key that doesn't exist"}
ROOT_ONLY = {"error": "ERR new objects must be created at the root"}
INDEX_BOUNDS = {"error": "ERR index out of bounds"}
INDEX_RANGE = {"error": "ERR array index out of range"}
NOT_STATIC = {"error": "Err wrong static path"}
STEP = re.compile(r"\.(\*|[A-Za-z_][A-Za-z0-9_]*)|\[(-?[0-9]+)\]")
PLAIN_DIGITS_MAX = 16  # ryu writes a float without an exponent while its point is at most this far right...
PLAIN_LEADING_ZEROS_MAX = 4  # ...or at most this many zeros follow "0." before the digits


def text(value) -> str:
    """`value` as serde_json writes it, compactly."""
    kind = type(value)
    if kind is dict:
        return "{" + ",".join(json.dumps(key) + ":" + text(item) for key, item in value.items()) + "}"
    if kind is list:
        return "[" + ",".join(text(item) for item in value) + "]"
    if kind is float:
        return _float_text(value)
    return json.dumps(value)


def _float_text(value: float) -> str:
    """A float in its shortest round-trip digits, laid out as ryu does: ``d.0`` when whole,
    plain decimals, or an exponent when the point is far from the digits."""
    _, digits, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digits))
    point = len(digits) + exponent  # where the decimal point falls, counted from the first digit
    prefix = "-" if value < 0 or str(value) == "-0.0" else ""
    if value == 0:
        return prefix + "0.0"
    if exponent >= 0 and point <= PLAIN_DIGITS_MAX:
        return prefix + digits + "0" * exponent + ".0"
    if 0 < point <= PLAIN_DIGITS_MAX:
        return prefix + digits[:point] + "." + digits[point:]
    if -PLAIN_LEADING_ZEROS_MAX <= point <= 0:
        return prefix + "0." + "0" * -point + digits
    mantissa = digits if len(digits) == 1 else digits[0] + "." + digits[1:]
    return f"{prefix}{mantissa}e{point - 1}"


def type_name(value) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(value), "null")


def _steps(path: str) -> list[str | int]:
    """A JSONPath's steps after ``$``: member names, ``*``, and array indexes."""
    return [name if name else int(index) for name, index in STEP.findall(path[1:])]


def _children(value, step) -> list[tuple[Any, Any]]:
    """(container, key or index) of what one step finds below `value`."""
    if step == "*":
        if type(value) is dict:
            return [(value, key) for key in value]
        return [(value, index) for index in range(len(value))] if type(value) is list else []
    if type(step) is int:
        if type(value) is not list:
            return []
        index = step + len(value) if step < 0 else step
        return [(value, index)] if 0 <= index < len(value) else []
    return [(value, step)] if type(value) is dict and step in value else []


class JsonDocument:
    """A document: its root value in a box, so that the root too is a (container, key) location."""

    def __init__(self, root) -> None:
        self.box = {"$": root}

    def copy(self) -> JsonDocument:
        return JsonDocument(_deep_copy(self.root))

    def locations(self, path: str) -> list[tuple[Any, Any]]:
        found = [(self.box, "$")]
        for step in _steps(path):
            found = [child for container, key in found for child in _children(container[key], step)]
        return found

    @property
    def root(self):
        return self.box["$"]


def _arith(old, operand, multiply: bool):
    """NUMINCRBY/NUMMULTBY: integers stay integers; a float on either side makes a float."""
    if type(old) is int and type(operand) is int:
        return old * operand if multiply else old + operand
    return float(old) * float(operand) if multiply else float(old) + float(operand)


def _trimmed(size: int, start: int, stop: int) -> range:
    """The positions JSON.ARRTRIM keeps: indexes from the end when negative, stop clamped to the
    last element, nothing when start is past the end or after stop."""
    first = max(size + start, 0) if start < 0 else start
    last = max(size + stop, 0) if stop < 0 else min(stop, size - 1)
    return range(first, last + 1) if first < size else range(0)


def _deep_copy(value):
    return json.loads(json.dumps(value))


class JsonCommands:
    """The JSON.* commands the reference workload sends, on a model's keys (each method is the
    command named by its name with ``json_`` for ``JSON.``)."""

    data: dict[str, Any]  # RedisModel's, as is `_delete`

    def _document(self, key: str) -> JsonDocument | None:
        return self.data.get(key)

    def json_set(self, args):
        """JSON.SET key path value [NX|XX]: the root makes or replaces the document; a path updates
        what it finds (unless NX), or else (unless XX) adds a member to each object its steps but the
        last (a name) find. Adding through a wildcard is an error, and so is through an index that
        finds nothing (RedisJSON's "static path" rule)."""
        key, path, value, condition = args[0], args[1], json.loads(args[2]), args[3].upper() if len(args) > 3 else None
        document = self._document(key)
        if document is None:
            if condition == "XX":
                return None
            if path != "$":
                return ROOT_ONLY
            self.data[key] = JsonDocument(value)
            return "OK"
        found = document.locations(path)
        if found and condition != "NX":
            for container, name in found:
                container[name] = _deep_copy(value)
            return "OK"
        steps = _steps(path)
        if condition == "XX" or not steps:  # nothing found, or an NX on the root
            return None
        if "*" in steps:
            return NOT_STATIC
        if type(steps[-1]) is int:
            return None if found else INDEX_RANGE
        parents = [container[name] for container, name in document.locations(path[:path.rindex(".")] or "$")
                   if type(container[name]) is dict and steps[-1] not in container[name]]
        for parent in parents:
            parent[steps[-1]] = _deep_copy(value)
        return "OK" if parents else None

    def json_get(self, args):
        """JSON.GET key [path...]: the document, one path's matches, or several paths' as an object."""
        document = self._document(args[0])
        if document is None:
            return None
        if len(args) == 1:
            return text(document.root)
        per_path = {path: [container[name] for container, name in document.locations(path)] for path in args[1:]}
        return text(per_path[args[1]]) if len(args) == 2 else text(per_path)

    def json_mget(self, args):
        return [self.json_get([key, args[-1]]) for key in args[:-1]]

    def json_del(self, args):
        """JSON.DEL key [path]: how many values went; the root takes the key with it."""
        document, path = self._document(args[0]), args[1] if len(args) > 1 else "$"
        if document is None:
            return 0
        if path == "$":
            self._delete(args[0])
            return 1
        found = document.locations(path)
        for container, name in sorted(found, key=lambda location: location[1] if type(location[1]) is int else 0,
                                      reverse=True):
            del container[name]
        return len(found)

    json_forget = json_del

    def json_type(self, args):
        document = self._document(args[0])
        if document is None:
            return None
        return [type_name(container[name]) for container, name in document.locations(args[1])]

    def _each(self, key: str, path: str, kinds: tuple[type, ...], change, missing: Any = NO_KEY) -> Any:
        """Apply `change` (container, name -> reply entry) to each match of one of `kinds`, null for
        the others; `missing` for a missing key (the error most commands give)."""
        document = self._document(key)
        if document is None:
            return missing
        return [change(container, name) if type(container[name]) in kinds else None
                for container, name in document.locations(path)]

    def _number_op(self, args, multiply: bool):
        """NUMINCRBY/NUMMULTBY: the results as one JSON text (null for a match that is no number)."""
        operand = json.loads(args[2])

        def apply(container, name):
            container[name] = _arith(container[name], operand, multiply)
            return container[name]

        replies = self._each(args[0], args[1], (int, float), apply)
        return replies if type(replies) is dict else text(replies)

    def json_numincrby(self, args):
        return self._number_op(args, multiply=False)

    def json_nummultby(self, args):
        return self._number_op(args, multiply=True)

    def json_strappend(self, args):
        suffix = json.loads(args[2])

        def append(container, name):
            container[name] += suffix
            return len(container[name])

        return self._each(args[0], args[1], (str,), append)

    def json_strlen(self, args):
        return self._each(args[0], args[1], (str,), lambda container, name: len(container[name]))

    def json_arrappend(self, args):
        values = [json.loads(value) for value in args[2:]]

        def append(container, name):
            container[name].extend(_deep_copy(values))
            return len(container[name])

        return self._each(args[0], args[1], (list,), append)

    def json_arrinsert(self, args):
        """JSON.ARRINSERT key path index value...: an index past either end is an error (the workload
        names one array, so nothing is half done)."""
        index, values = int(args[2]), [json.loads(value) for value in args[3:]]
        document = self._document(args[0])
        if document is None:
            return NO_KEY
        replies = []
        for container, name in document.locations(args[1]):
            array = container[name]
            if type(array) is not list:
                replies.append(None)
                continue
            position = index + len(array) if index < 0 else index
            if not 0 <= position <= len(array):
                return INDEX_BOUNDS
            array[position:position] = _deep_copy(values)
            replies.append(len(array))
        return replies

    def json_arrpop(self, args):
        """JSON.ARRPOP key path [index]: the last element by default; an index clamps to the array."""
        index = int(args[2]) if len(args) > 2 else -1

        def pop(container, name):
            array = container[name]
            if not array:
                return None
            position = max(len(array) + index, 0) if index < 0 else min(index, len(array) - 1)
            return text(array.pop(position))

        return self._each(args[0], args[1], (list,), pop)

    def json_arrlen(self, args):
        return self._each(args[0], args[1], (list,), lambda container, name: len(container[name]))

    def json_arrtrim(self, args):
        start, stop = int(args[2]), int(args[3])

        def trim(container, name):
            array = container[name]
            array[:] = [array[i] for i in _trimmed(len(array), start, stop)]
            return len(array)

        return self._each(args[0], args[1], (list,), trim)

    def json_arrindex(self, args):
        """JSON.ARRINDEX key path value [start]: equal means the same JSON text (1 is not 1.0). A start
        from the end may go back past the first element (it counts from there), one past the last
        element counts from the last (RedisJSON clamps it into the array)."""
        wanted, start = text(json.loads(args[2])), int(args[3]) if len(args) > 3 else 0

        def find(container, name):
            array = container[name]
            first = max(len(array) + start if start < 0 else min(start, len(array) - 1), 0)
            return next((i for i in range(first, len(array)) if text(array[i]) == wanted), -1)

        return self._each(args[0], args[1], (list,), find, {"error": f"ERR Path '{args[1]}' does not exist"})

    def json_objkeys(self, args):
        return self._each(args[0], args[1], (dict,), lambda container, name: list(container[name]))

    def json_objlen(self, args):
        return self._each(args[0], args[1], (dict,), lambda container, name: len(container[name]),
                          {"error": f"ERR Path '{args[1]}' does not exist or not an object"})

    def json_toggle(self, args):
        def toggle(container, name):
            container[name] = not container[name]
            return int(container[name])

        return self._each(args[0], args[1], (bool,), toggle)

    def json_clear(self, args):
        """JSON.CLEAR key [path]: empties containers and zeroes numbers; counts those not already so."""
        document = self._document(args[0])
        if document is None:
            return NO_KEY
        cleared = 0
        for container, name in document.locations(args[1] if len(args) > 1 else "$"):
            value = container[name]
            if type(value) in (dict, list, float) and value or type(value) is int and value != 0:
                if type(value) in (dict, list):
                    value.clear()
                else:
                    container[name] = 0
                cleared += 1
        return cleared
