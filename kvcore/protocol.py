"""Request parsing: RESP multibulk and inline commands, fed arbitrary splits.

`ReferenceParser` is pure Python and follows redis-server's own rules byte for
byte, including its error texts. `RequestReader` is what connections use: it
hands multibulk runs to hiredis's C reader, and falls back to the reference
parser for inline commands, malformed input and anything hiredis would accept
but Redis would not. Both give the same requests and errors for any input split
into any chunks; the tests prove it.
"""

from __future__ import annotations

import re

try:
    import hiredis
except ImportError:  # pragma: no cover - hiredis is a declared dependency
    hiredis = None

INLINE_MAX_SIZE = 64 * 1024
INT_MAX = 2**31 - 1
_FAST_HOLD_MAX = 64 * 1024
_JOIN_CHECK_MAX = 64 * 1024
_SPANS_FIRST_MAX_ARGS = 5  # a lone request of up to this many arguments is checked by `_bulk_spans` alone
_BULK_SPAN = [n + 5 + len(str(n)) for n in range(256)]  # the bytes of $<n>\r\n<n bytes>\r\n
# hiredis allocates an aggregate's whole array from its count up front: a count
# of 100000 or more goes to the reference parser instead. Arrays are checked with
# a literal-prefix pattern (a character class is several times slower, even on
# short input); sets, pushes and attributes only when their type byte is present.
_HUGE_ARRAY = re.compile(rb"\*\d{6}")
_HUGE_OTHER = re.compile(rb"[~>|]\d{6}")


def _huge_count(data) -> bool:
    if _HUGE_ARRAY.search(data) is not None:
        return True
    if 0x7E in data or 0x3E in data or 0x7C in data:  # '~', '>', '|'
        return _HUGE_OTHER.search(data) is not None
    return False


def _only_bulk_strings(buf, requests: list[list]) -> bool:
    """Whether ``buf`` is exactly ``requests``, each a multibulk of bulk strings, once hiredis holds none of it.

    hiredis also takes types Redis refuses in a request, and it consumes an
    aggregate's header before the aggregate is complete. Non-string scalars and
    nested aggregates are not bytes (``join`` raises TypeError); simple strings
    (``+``), big numbers (``(``) and verbatim strings (``=``) are bytes, and the
    headers of maps, sets, pushes and attributes (``%~>|``) or one ``*`` more
    than the requests' own may start an aggregate hiredis has begun: a buffer
    holding any of those bytes anywhere is left to `_bulk_spans`. Big buffers
    are too, rather than copied by ``join``. hiredis also consumes the type byte
    of a top-level item it has only begun (a trailing ``$``, ``:``, ``-``...):
    the buffer must end a line, and hold no more ``$`` than the requests'
    arguments (nor ``!``, a blob error's) lest a begun bulk string be dropped.
    """
    if (
        len(buf) > _JOIN_CHECK_MAX
        or buf[-2:] != b"\r\n"
        or 0x2B in buf or 0x28 in buf or 0x3D in buf or 0x21 in buf  # '+', '(', '=', '!'
        or 0x25 in buf or 0x7E in buf or 0x3E in buf or 0x7C in buf  # '%', '~', '>', '|'
        or buf.count(0x2A) != len(requests)  # '*'
        or buf.count(0x24) != sum(map(len, requests))  # '$'
    ):
        return False
    join = b"".join
    for request in requests:
        join(request)
    return True


def _bulk_spans(buf, requests: list[list]) -> int:
    """Where the requests end in ``buf``, each argument checked to be a bulk string (ValueError if not).

    hiredis's numbers are canonical, so only the type bytes can differ from a
    multibulk of bulk strings: every request must start with '*' (hiredis also
    reads a set, push or attribute as a list) and every argument with '$' (hiredis
    would also take '+', '=', '('... that Redis refuses). TypeError, IndexError for
    other shapes.
    """
    taken = 0
    for request in requests:
        if buf[taken] != 0x2A:  # '*'
            raise ValueError
        taken += 4 if len(request) < 10 else 3 + len(str(len(request)))
        for arg in request:
            if buf[taken] != 0x24:  # '$'
                raise ValueError
            n = len(arg)
            taken += _BULK_SPAN[n] if n < 256 else n + (8 if n < 1000 else 5 + len(str(n)))
    return taken


class Limits:
    """Per-node request limits (`proto-max-bulk-len`, auth state)."""

    __slots__ = ("max_bulk_len", "authenticated")

    def __init__(self, max_bulk_len: int = 512 * 1024 * 1024, authenticated: bool = True) -> None:
        self.max_bulk_len = max_bulk_len
        self.authenticated = authenticated


def _string_to_int(text: bytes) -> int | None:
    """Redis's string2ll: optional '-', digits, no leading zeros, no '+'."""
    if not text or len(text) > 20:
        return None
    digits = text[1:] if text[:1] == b"-" else text
    if not digits.isdigit() or (len(digits) > 1 and digits[:1] == b"0"):
        return None
    if text == b"-0":
        return None
    value = int(text)
    if value < -(2**63) or value > 2**63 - 1:
        return None
    return value


def split_inline(line: bytes) -> list[bytes] | None:
    """Redis's sdssplitargs: split an inline line, None on unbalanced quotes."""
    nul = line.find(b"\0")
    if nul >= 0:
        line = line[:nul]  # sdssplitargs reads a C string: a NUL ends the line
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \t\n\r\v\f":
            i += 1
        if i >= n:
            return args
        current = bytearray()
        in_double = in_single = False
        while True:
            if in_double:
                if i >= n:
                    return None
                c = line[i]
                if c == 0x5C and i + 3 < n and line[i + 1] == 0x78 and _is_hex_pair(line[i + 2 : i + 4]):
                    current.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 0x5C and i + 1 < n:
                    i += 1
                    current.append(_ESCAPES.get(line[i], line[i]))
                elif c == 0x22:
                    if i + 1 < n and line[i + 1] not in b" \t\n\r\v\f":
                        return None
                    i += 1
                    break
                else:
                    current.append(c)
            elif in_single:
                if i >= n:
                    return None
                c = line[i]
                if c == 0x5C and i + 1 < n and line[i + 1] == 0x27:
                    i += 1
                    current.append(0x27)
                elif c == 0x27:
                    if i + 1 < n and line[i + 1] not in b" \t\n\r\v\f":
                        return None
                    i += 1
                    break
                else:
                    current.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in b" \n\r\t\0":
                    break
                if c == 0x22:
                    in_double = True
                elif c == 0x27:
                    in_single = True
                else:
                    current.append(c)
            i += 1
        args.append(bytes(current))


_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}


def _is_hex_pair(pair: bytes) -> bool:
    return len(pair) == 2 and all(ch in b"0123456789abcdefABCDEF" for ch in pair)


class ReferenceParser:
    """redis-server's query-buffer parser, in pure Python, incremental."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._buf = bytearray()
        self._pos = 0
        self._mode = 0  # 0: between requests, 1: multibulk
        self._remaining = 0
        self._bulk_len = -1
        self._args: list[bytes] = []

    def buffered(self) -> int:
        """Bytes received but not yet part of a finished request."""
        return len(self._buf) - self._pos

    def held(self) -> int:
        """The memory of the request being read: the bytes still unparsed and the arguments parsed."""
        return self.buffered() + sum(map(len, self._args))

    def partial_state(self) -> tuple[int, int, int, int]:
        """The request being read, as Redis's query buffer holds it: (bytes not parsed yet, bytes
        of the arguments parsed, how many, the length of the argument being read or -1)."""
        reading = self._bulk_len if self._mode == 1 else -1
        return len(self._buf) - self._pos, sum(map(len, self._args)), len(self._args), reading

    def idle(self) -> bool:
        """Between requests with nothing buffered (not even a request half read)."""
        return self._mode == 0 and self._pos == len(self._buf)

    def feed(self, data: bytes) -> tuple[list[list[bytes]], str | None]:
        """Add bytes; return the requests now complete and a protocol error, if any.

        Requests before an error are returned; after an error the parser is dead.
        Empty requests (``*0``, ``*-1``, blank inline lines) are returned as [].
        """
        self._buf += data
        requests: list[list[bytes]] = []
        error = None
        while self._pos < len(self._buf):
            if self._mode == 0 and self._buf[self._pos] != 0x2A:
                done, error = self._inline(requests)
            else:
                done, error = self._multibulk(requests)
            if error is not None or not done:
                break
        if self._pos > 65536 and self._pos * 2 > len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0
        return requests, error

    def _line_end(self, start: int) -> int:
        """Index of the '\\r' ending the line at start, -1 if not complete yet."""
        cr = self._buf.find(b"\r", start)
        if cr < 0 or cr > len(self._buf) - 2:
            return -1
        if self._buf.find(b"\0", start, cr) >= 0:
            return -1  # Redis looks for the '\r' with strchr: a NUL before it hides it
        return cr

    def _inline(self, requests: list[list[bytes]]) -> tuple[bool, str | None]:
        buf, pos = self._buf, self._pos
        nl = buf.find(b"\n", pos)
        if nl >= 0 and buf.find(b"\0", pos, nl) >= 0:
            nl = -1  # Redis looks for the newline with strchr: a NUL before it hides it
        if nl < 0:
            if len(buf) - pos > INLINE_MAX_SIZE:
                return False, "Protocol error: too big inline request"
            return False, None
        end = nl - 1 if nl != pos and buf[nl - 1] == 0x0D else nl
        args = split_inline(bytes(buf[pos:end]))
        if args is None:
            return False, "Protocol error: unbalanced quotes in request"
        self._pos = nl + 1
        requests.append(args)
        return True, None

    def _multibulk(self, requests: list[list[bytes]]) -> tuple[bool, str | None]:
        buf = self._buf
        if self._mode == 0:
            cr = self._line_end(self._pos)
            if cr < 0:
                if len(buf) - self._pos > INLINE_MAX_SIZE:
                    return False, "Protocol error: too big mbulk count string"
                return False, None
            count = _string_to_int(bytes(buf[self._pos + 1 : cr]))
            if count is None or count > INT_MAX:
                return False, "Protocol error: invalid multibulk length"
            if count > 10 and not self.limits.authenticated:
                return False, "Protocol error: unauthenticated multibulk length"
            self._pos = cr + 2
            if count <= 0:
                requests.append([])
                return True, None
            self._mode, self._remaining, self._args = 1, count, []
        while self._remaining:
            if self._bulk_len < 0:
                cr = self._line_end(self._pos)
                if cr < 0:
                    if len(buf) - self._pos > INLINE_MAX_SIZE:
                        return False, "Protocol error: too big bulk count string"
                    return False, None
                if buf[self._pos] != 0x24:
                    got = bytes([buf[self._pos]]).decode("utf-8", "surrogateescape")  # the raw byte, as Redis sends it
                    return False, f"Protocol error: expected '$', got '{got}'"
                size = _string_to_int(bytes(buf[self._pos + 1 : cr]))
                if size is None or size < 0 or size > self.limits.max_bulk_len:
                    return False, "Protocol error: invalid bulk length"
                if size > 16384 and not self.limits.authenticated:
                    return False, "Protocol error: unauthenticated bulk length"
                self._pos = cr + 2
                self._bulk_len = size
            if len(buf) - self._pos < self._bulk_len + 2:
                return False, None
            end = self._pos + self._bulk_len
            self._args.append(bytes(buf[self._pos : end]))
            self._pos = end + 2
            self._bulk_len = -1
            self._remaining -= 1
        self._mode = 0
        requests.append(self._args)
        self._args = []
        return True, None


class RequestReader:
    """A connection's parser: hiredis for multibulk runs, the reference otherwise.

    hiredis consumes bytes without saying where a request ended, so bytes given
    to it are held until its requests account for all of them; if hiredis then
    fails or yields something Redis would reject, the held bytes are re-parsed
    by the reference parser, which produces Redis's exact outcome.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._slow = ReferenceParser(self.limits)
        self._fast = None  # the hiredis reader, kept from one request to the next
        self._in_fast = False  # hiredis holds part of a request
        self._held = bytearray()  # bytes given to hiredis after the last request it returned
        self.partial = False  # part of a request is held (by hiredis or the reference parser)

    def buffered(self) -> int:
        return len(self._held) + self._slow.buffered()

    def held(self) -> int:
        """What a request being read holds (its parsed arguments too): client memory, as argv-mem."""
        return len(self._held) + self._slow.held()

    @property
    def in_fast(self) -> bool:
        """hiredis holds the request being read (else the reference parser does)."""
        return self._in_fast

    def partial_state(self) -> tuple[int, int, int, int]:
        """`ReferenceParser.partial_state` of the request being read (hiredis holds at most
        64 KB of it: those bytes are parsed again to tell)."""
        if self._in_fast:
            parser = ReferenceParser(self.limits)
            parser.feed(bytes(self._held))
            return parser.partial_state()
        return self._slow.partial_state()

    def feed(self, data: bytes) -> tuple[list[list[bytes]], str | None]:
        """Add bytes; return the requests now complete and a protocol error, if any."""
        if not self._in_fast and (self.partial or data[:1] != b"*" or hiredis is None):
            return self._feed_slow(data)
        held = self._held
        if _huge_count(data) or (held and _huge_count(held[-8:] + data[:8])):
            return self._fall_back(held + data)
        if held:
            held += data
            buf = held
        else:
            buf = data  # the usual case: nothing pending, no copy
        fast = self._fast
        if fast is None:
            fast = self._fast = hiredis.Reader()
        fast.feed(data)
        requests: list[list[bytes]] = []
        gets = fast.gets
        try:
            while (request := gets()) is not False:
                if type(request) is not list or not request:
                    return self._fall_back(buf)
                requests.append(request)
            if len(requests) == 1 and len(requests[0]) <= _SPANS_FIRST_MAX_ARGS:
                taken = _bulk_spans(buf, requests)  # cheaper than the whole-buffer checks for a short request
            elif not fast.has_data() and _only_bulk_strings(buf, requests):
                taken = len(buf)
            else:
                taken = _bulk_spans(buf, requests)
        except (hiredis.ProtocolError, ValueError, TypeError, IndexError):
            return self._fall_back(buf)
        if taken == len(buf):
            if held:
                held.clear()
                self._in_fast = self.partial = False
            return requests, None
        if taken > len(buf):
            return self._fall_back(buf)
        if held:
            del held[:taken]
        else:
            held += memoryview(data)[taken:]
        self._in_fast = self.partial = True
        if held[0] != 0x2A or len(held) > _FAST_HOLD_MAX or self._pending_differs():  # 0x2A: '*'
            more, error = self._fall_back(held)
            return requests + more, error
        return requests, None

    def _feed_slow(self, data: bytes) -> tuple[list[list[bytes]], str | None]:
        slow = self._slow
        result = slow.feed(data)
        self.partial = not slow.idle()
        return result

    def _fall_back(self, pending) -> tuple[list[list[bytes]], str | None]:
        """Re-parse the bytes after the last request returned with the reference parser."""
        pending = bytes(pending)
        self._fast = None
        self._in_fast = False
        self._held = bytearray()
        return self._feed_slow(pending)

    def _pending_differs(self) -> bool:
        """Whether Redis would already act on bytes hiredis still waits on.

        An error (a rule hiredis does not know), or a finished request (Redis
        skips the two bytes after ``\\r`` unseen; hiredis wants ``\\r\\n``).
        """
        requests, error = ReferenceParser(self.limits).feed(bytes(self._held))
        return error is not None or bool(requests)


def quote_repr(arg: bytes) -> str:
    """Redis's sdscatrepr: a double-quoted, escaped representation (MONITOR, config errors)."""
    out = ['"']
    for byte in arg:
        ch = chr(byte)
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif 32 <= byte < 127:
            out.append(ch)
        else:
            out.append("\\x%02x" % byte)
    out.append('"')
    return "".join(out)
