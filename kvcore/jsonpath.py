"""JSON paths as RedisJSON 2.x reads them: parsing, evaluation and locations.

Two syntaxes reach the same engine. A path that starts with ``$`` followed by
nothing, ``.`` or ``[`` is a JSONPath; anything else is a legacy path and is
rewritten first (``.`` becomes ``$``, ``.a`` becomes ``$.a``, ``a`` becomes
``$.a``), exactly as RedisJSON's ``Path::new`` does. The grammar is RedisJSON's
(Goessner's JSONPath): child ``.key`` / ``["key"]``, wildcard ``*``, recursive
descent ``..``, indexes and unions ``[0,-1]``, slices ``[start:end:step]`` and
filters ``[?(@.a > 1 && @.b =~ "x")]`` with ``== != < <= > >= =~``, ``&&``
(binding tighter) and ``||`` and parentheses.

Documents are plain Python values (dict, list, str, int, float, bool, None).
A compiled `Query` gives the matching values in RedisJSON's order (recursive
descent is pre-order: a node before its descendants), and, for writers, each
match's location: the tuple of object keys and array indexes from the root.
"""

from __future__ import annotations

import re

# Step kinds: a step is a (kind, argument) tuple.
KEY = 0  # argument: the key
KEYS = 1  # argument: tuple of keys (a bracketed string union)
INDEXES = 2  # argument: tuple of ints (a bracketed number union)
SLICE = 3  # argument: (start | None, end | None, step)
ALL = 4  # argument: None
SCAN = 5  # argument: None (recursive descent; the next step applies at every depth)
FILTER = 6  # argument: the filter expression (see `_Parser.filter`)

_LITERAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_`~+#%$^/:")
_DIGITS = frozenset("0123456789")
_NAMES = {
    "literal": "<string>",
    "all": "'*'",
    "full_scan": "'..'",
    "numbers_list": "'<number>[,<number>,...]'",
    "string_list": "'<string>[,<string>,...]'",
    "numbers_range": "['start:end:steps']",
    "number": "'<number>'",
    "filter": "'[?(filter_expression)]'",
    "EOI": "EOI",
}
_CACHE_MAX = 1024


class PathError(Exception):
    """A path that does not parse; ``message`` is RedisJSON's error text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Path:
    """One path argument: its original spelling, its JSONPath text, its syntax."""

    __slots__ = ("original", "text", "legacy")

    def __init__(self, original: str) -> None:
        self.original = original
        if original[:1] == "$" and (len(original) < 2 or original[1] in ".["):
            self.text, self.legacy = original, False
        elif original == ".":
            self.text, self.legacy = "$", True
        elif original[:1] == ".":
            self.text, self.legacy = "$" + original, True
        else:
            self.text, self.legacy = "$." + original, True

    @property
    def is_root(self) -> bool:
        return self.text == "$"

    def query(self) -> Query:
        return compile_query(self.text)


ROOT = Path(".")

_cache: dict[str, Query] = {}


def compile_query(text: str) -> Query:
    """The compiled form of a JSONPath (``$...``); raises `PathError`."""
    query = _cache.get(text)
    if query is None:
        query = Query(_Parser(text).parse())
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[text] = query
    return query


class Query:
    """A compiled JSONPath: a sequence of steps applied from the root."""

    __slots__ = ("steps",)

    def __init__(self, steps: tuple) -> None:
        self.steps = steps

    def values(self, root) -> list:
        """Every matching value, in RedisJSON's order."""
        out: list = []
        _walk(self.steps, 0, root, None, out, root)
        return out

    def locations(self, root) -> list[tuple]:
        """Every match as (value, location); a location is a tuple of keys/indexes."""
        out: list = []
        _walk(self.steps, 0, root, (), out, root)
        return out

    def is_static(self) -> bool:
        """True when the path names at most one place (keys and single indexes only)."""
        return all(kind == KEY or (kind in (KEYS, INDEXES) and len(arg) == 1) for kind, arg in self.steps)

    def parent(self) -> tuple[Query, str | int] | None:
        """For a static path: the query of its parent and its last key or index."""
        if not self.steps:
            return None
        kind, arg = self.steps[-1]
        last = arg if kind == KEY else arg[0]
        return Query(self.steps[:-1]), last


# -- evaluation ----------------------------------------------------------------


def _walk(steps: tuple, i: int, node, path, out: list, root) -> None:
    """Apply steps[i:] at node; collect matches (with locations when path is a tuple)."""
    count = len(steps)
    while i < count:
        kind, arg = steps[i]
        if kind == KEY:
            if type(node) is not dict or arg not in node:
                return
            node = node[arg]
            if path is not None:
                path = path + (arg,)
            i += 1
            continue
        _branch(kind, arg, steps, i + 1, node, path, out, root)
        return
    out.append(node if path is None else (node, path))


def _branch(kind: int, arg, steps: tuple, i: int, node, path, out: list, root) -> None:
    if kind == KEYS:
        if type(node) is dict:
            for key in arg:
                if key in node:
                    _walk(steps, i, node[key], _extend(path, key), out, root)
    elif kind == INDEXES:
        if type(node) is list:
            size = len(node)
            for index in arg:
                index = min(index, size) if index >= 0 else max(index + size, 0)
                if index < size:
                    _walk(steps, i, node[index], _extend(path, index), out, root)
    elif kind == SLICE:
        if type(node) is list:
            for index in _slice_range(arg, len(node)):
                _walk(steps, i, node[index], _extend(path, index), out, root)
    elif kind == ALL:
        for key, child in _children(node):
            _walk(steps, i, child, _extend(path, key), out, root)
    elif kind == SCAN:
        _walk(steps, i, node, path, out, root)
        _scan(steps, i, node, path, out, root)
    else:
        _apply_filter(arg, steps, i, node, path, out, root)


def _scan(steps: tuple, i: int, node, path, out: list, root) -> None:
    for key, child in _children(node):
        child_path = _extend(path, key)
        _walk(steps, i, child, child_path, out, root)
        _scan(steps, i, child, child_path, out, root)


def _apply_filter(expr, steps: tuple, i: int, node, path, out: list, root) -> None:
    kind = type(node)
    if kind is dict or kind is list:
        for key, child in _children(node):
            if _test(expr, child, root):
                _walk(steps, i, child, _extend(path, key), out, root)
    elif _test(expr, node, root):
        _walk(steps, i, node, path, out, root)


def _children(node):
    kind = type(node)
    if kind is dict:
        return node.items()
    if kind is list:
        return enumerate(node)
    return ()


def _extend(path, key):
    return None if path is None else path + (key,)


def _slice_range(arg, size: int) -> range:
    start, end, step = arg
    start = 0 if start is None else (min(start, size) if start >= 0 else max(start + size, 0))
    end = size if end is None else (min(end, size) if end >= 0 else max(end + size, 0))
    return range(start, end, step)


# -- filters -------------------------------------------------------------------
# A filter is ("or", [and-groups]); an and-group is a list of operands; an
# operand is ("cmp", term, op, term), ("exists", term) or a nested filter.
# A term is ("@", steps | None), ("$", steps | None) or ("lit", tag, value)
# where tag is i (int), f (float), s (plain string), S (escaped string),
# b (bool) or n (null).

_INVALID = ("x", None)


def _test(expr, node, root) -> bool:
    return any(all(_operand(op, node, root) for op in group) for group in expr[1])


def _operand(op, node, root) -> bool:
    if op[0] == "or":
        return _test(op, node, root)
    if op[0] == "exists":
        return _term(op[1], node, root) is not _INVALID
    _, left, operator, right = op
    return _compare(_term(left, node, root), operator, _term(right, node, root))


def _term(term, node, root):
    kind = term[0]
    if kind == "lit":
        return term[1], term[2]
    base = node if kind == "@" else root
    if term[1] is None:
        return "v", base
    found: list = []
    _walk(term[1], 0, base, None, found, root)
    return ("v", found[0]) if len(found) == 1 else _INVALID


def _scalar(term):
    """A term as a comparable (tag, value), or None for containers and invalid terms."""
    tag, value = term
    if tag != "v":
        return None if tag == "x" else (tag.lower(), value)
    kind = type(value)
    if kind is bool:
        return "b", value
    if kind is int:
        return "i", value
    if kind is float:
        return "f", value
    if kind is str:
        return "s", value
    if value is None:
        return "n", None
    return None


def _order(left, right) -> int | None:
    """-1/0/1 as RedisJSON orders two terms, or None when they do not compare."""
    a, b = _scalar(left), _scalar(right)
    if a is None or b is None:
        return None
    (ta, va), (tb, vb) = a, b
    if ta in "if" and tb in "if":
        va, vb = (va, vb) if ta == tb == "i" else (float(va), float(vb))
    elif ta != tb:
        return None
    if ta == "n":
        return 0
    return (va > vb) - (va < vb)


def _compare(left, operator: str, right) -> bool:
    if operator == "==":
        return _equals(left, right)
    if operator == "!=":
        return not _equals(left, right)
    if operator == "=~":
        return _regex_match(left, right)
    order = _order(left, right)
    if order is None:
        return False
    if operator == "<":
        return order < 0
    if operator == "<=":
        return order <= 0
    if operator == ">":
        return order > 0
    return order >= 0


def _equals(left, right) -> bool:
    if left[0] == "v" and right[0] == "v":
        return json_equal(left[1], right[1])
    return _order(left, right) == 0


_regex_cache: dict[str, re.Pattern | None] = {}


def _regex_match(left, right) -> bool:
    """``=~``: a string value against a plain string literal or a string value."""
    if left[0] != "v" or type(left[1]) is not str:
        return False
    if right[0] == "s" or (right[0] == "v" and type(right[1]) is str):
        pattern = _regex(right[1])
        return pattern is not None and pattern.search(left[1]) is not None
    return False


def _regex(text: str) -> re.Pattern | None:
    if text not in _regex_cache:
        if len(_regex_cache) >= _CACHE_MAX:
            _regex_cache.clear()
        try:
            _regex_cache[text] = re.compile(text)
        except (re.error, OverflowError, RecursionError):
            _regex_cache[text] = None
    return _regex_cache[text]


def json_equal(a, b) -> bool:
    """Value equality as filters see it: numbers compare by value, booleans only with booleans."""
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if ta in (int, float) and tb in (int, float):
        return a == b
    if ta is not tb:
        return False
    if ta is list:
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if ta is dict:
        return len(a) == len(b) and all(k in b and json_equal(v, b[k]) for k, v in a.items())
    return a == b


# -- parsing -------------------------------------------------------------------


class _Parser:
    """Recursive descent over RedisJSON's grammar, spaces allowed between tokens.

    Errors report the furthest position reached, in RedisJSON's format.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.far = -1
        self.expected: list[str] = []

    # -- low level
    def fail(self, what: str):
        if self.pos > self.far:
            self.far, self.expected = self.pos, []
        if self.pos == self.far and what not in self.expected:
            self.expected.append(what)
        return None

    def skip(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] == " ":
            pos += 1
        self.pos = pos

    def eat(self, token: str) -> bool:
        self.skip()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def error(self) -> PathError:
        text, pos = self.text, max(self.far, 0)
        names = ", ".join(_NAMES[name] for name in self.expected if name in _NAMES)
        message = f"expected one of the following: {names}" if names else "parsing error"
        if pos >= len(text):
            shown = f'"{text} <<<<----", {message}.'
        else:
            shown = f'"{text[:pos]} ---->>>> {text[pos:]}", {message}.'
        return PathError(f"Error occurred on position {pos}, {shown}")

    # -- query
    def parse(self) -> tuple:
        if not self.eat("$"):
            self.fail("query")
            raise self.error()
        steps = self.root()
        self.skip()
        if self.pos != len(self.text):
            self.fail("EOI")
            raise self.error()
        return tuple(steps)

    def root(self) -> list:
        steps: list = []
        first = True
        while True:
            start = self.pos
            got = self.element()
            if got is None and first:
                self.pos = start
                got = self.first_element()
            if got is None:
                self.pos = start
                return steps
            steps.extend(got)
            first = False

    def first_element(self):
        self.skip()
        if self.eat("*"):
            return [(ALL, None)]
        name = self.literal()
        return None if name is None else [(KEY, name)]

    def element(self):
        start = self.pos
        if self.eat(".."):
            got = self.after_scan()
            if got is not None:
                return [(SCAN, None), got]
        else:
            self.fail("full_scan")
        self.pos = start
        if self.eat("."):
            dot = self.pos
            name = self.literal()
            if name is not None:
                return [(KEY, name)]
            self.pos = dot
            if self.eat("*"):
                return [(ALL, None)]
            self.fail("all")
            self.pos = dot
        else:
            self.pos = start
        bracket = self.bracketed()
        return None if bracket is None else [bracket]

    def after_scan(self):
        self.skip()
        if self.eat("*"):
            return (ALL, None)
        name = self.literal()
        if name is not None:
            return (KEY, name)
        self.fail("all")
        return self.bracketed()

    def literal(self) -> str | None:
        self.skip()
        text, pos = self.text, self.pos
        end = pos
        while end < len(text) and text[end] in _LITERAL_CHARS:
            end += 1
        if end == pos:
            return self.fail("literal")
        self.pos = end
        return text[pos:end]

    def bracketed(self):
        if not self.eat("["):
            return self.fail("[")
        step = self.bracket()
        if step is None or not self.eat("]"):
            return self.fail("]") if step is not None else None
        return step

    def bracket(self):
        start = self.pos
        for parse in (self.numbers_range, self.numbers_list, self.string_list):
            step = parse()
            if step is not None:
                return step
            self.pos = start
        if self.eat("*"):
            return (ALL, None)
        self.fail("all")
        if self.eat("?"):
            expr = self.filter()
            if expr is not None:
                return (FILTER, expr)
        self.fail("filter")
        return None

    # -- numbers
    def number(self) -> int | None:
        self.skip()
        text, pos = self.text, self.pos
        end = pos + 1 if text[pos : pos + 1] == "-" else pos
        if end >= len(text) or text[end] not in _DIGITS:
            return self.fail("number")
        end += 1
        if text[end - 1] != "0":
            while end < len(text) and text[end] in _DIGITS:
                end += 1
        self.pos = end
        return int(text[pos:end])

    def pos_number(self) -> int | None:
        self.skip()
        text, pos = self.text, self.pos
        if pos >= len(text) or text[pos] not in "123456789":
            return self.fail("pos_number")
        end = pos + 1
        while end < len(text) and text[end] in _DIGITS:
            end += 1
        self.pos = end
        return int(text[pos:end])

    def numbers_list(self):
        first = self.number()
        if first is None:
            return self.fail("numbers_list")
        items = [first]
        while True:
            mark = self.pos
            if not self.eat(","):
                break
            item = self.number()
            if item is None:
                self.pos = mark
                break
            items.append(item)
        return (INDEXES, tuple(items))

    def numbers_range(self):
        start = self.pos
        for form in ("full", "right", "all", "left"):
            self.pos = start
            bounds = self.range_bounds(form)
            if bounds is not None:
                step = self.range_step()
                return (SLICE, bounds + (step,))
        self.pos = start
        return self.fail("numbers_range")

    def range_bounds(self, form: str):
        low = None
        if form in ("full", "left"):
            low = self.number()
            if low is None:
                return None
        if not self.eat(":"):
            return self.fail(":")
        high = None
        if form in ("full", "right"):
            high = self.number()
            if high is None:
                return None
        return (low, high)

    def range_step(self) -> int:
        mark = self.pos
        if self.eat(":"):
            step_mark = self.pos
            step = self.pos_number()
            if step is not None:
                return step
            self.pos = step_mark
            return 1
        self.pos = mark
        return 1

    # -- strings
    def string(self):
        """A quoted string: (tag, text) with tag s (plain) or S (with escapes)."""
        self.skip()
        text, pos = self.text, self.pos
        quote = text[pos : pos + 1]
        if quote not in ("'", '"'):
            return self.fail("string")
        chars: list[str] = []
        escaped = False
        index = pos + 1
        while index < len(text):
            ch = text[index]
            if ch == quote:
                self.pos = index + 1
                return ("S" if escaped else "s"), "".join(chars)
            if ch == "\\":
                nxt = text[index + 1 : index + 2]
                if nxt not in (quote, "\\"):
                    break
                chars.append(nxt)
                escaped = True
                index += 2
                continue
            if ch in "'\"" and not escaped:
                escaped = True  # the other quote: only the escaping rule accepts it
            chars.append(ch)
            index += 1
        self.pos = index
        return self.fail("string")

    def string_list(self):
        first = self.string()
        if first is None:
            return self.fail("string_list")
        keys = [first[1]]
        while True:
            mark = self.pos
            if not self.eat(","):
                break
            item = self.string()
            if item is None:
                self.pos = mark
                break
            keys.append(item[1])
        if len(keys) == 1:
            return (KEY, keys[0])
        return (KEYS, tuple(keys))

    # -- filters
    def filter(self):
        groups: list[list] = [[]]
        operand = self.inner_filter()
        if operand is None:
            return None
        groups[-1].append(operand)
        while True:
            mark = self.pos
            if self.eat("&&"):
                relation = "and"
            elif self.eat("||"):
                relation = "or"
            else:
                self.fail("and")
                self.fail("or")
                return ("or", groups)
            operand = self.inner_filter()
            if operand is None:
                self.pos = mark
                return ("or", groups)
            if relation == "or":
                groups.append([])
            groups[-1].append(operand)

    def inner_filter(self):
        start = self.pos
        single = self.single_filter()
        if single is not None:
            return single
        self.pos = start
        if self.eat("("):
            inner = self.filter()
            if inner is not None and self.eat(")"):
                return inner
            self.fail(")")
        self.pos = start
        return None

    def single_filter(self):
        left = self.term()
        if left is None:
            return self.fail("single_filter")
        mark = self.pos
        operator = self.operator()
        if operator is not None:
            right = self.term()
            if right is not None:
                return ("cmp", left, operator, right)
        self.pos = mark
        return ("exists", left)

    def operator(self) -> str | None:
        for token in (">=", ">", "<=", "<", "==", "!=", "=~"):
            if self.eat(token):
                return token
        return self.fail("op")

    def term(self):
        self.skip()
        head = self.text[self.pos : self.pos + 1]
        if head in ("@", "$"):
            self.pos += 1
            steps = self.root()
            return (head, tuple(steps) if steps else None)
        start = self.pos
        number = self.decimal()
        if number is not None:
            return number
        self.pos = start
        quoted = self.string()
        if quoted is not None:
            return ("lit",) + quoted
        self.pos = start
        for word, tag, value in (("true", "b", True), ("false", "b", False), ("null", "n", None)):
            if self.eat(word):
                return ("lit", tag, value)
        return self.fail("term")

    def decimal(self):
        self.skip()
        start = self.pos
        whole = self.number()
        if whole is None:
            return None
        text, end = self.text, self.pos
        if text[end : end + 1] == "." and text[end + 1 : end + 2] in _DIGITS:
            end += 1
            while end < len(text) and text[end] in _DIGITS:
                end += 1
            self.pos = end
            return ("lit", "f", float(text[start:end]))
        return ("lit", "i", whole)
