"""RESP2/RESP3 encoder: the only place where reply values become bytes."""

from __future__ import annotations

import math

from kvcore.reply import (
    Attribute,
    BigNumber,
    Bool,
    Double,
    Error,
    Map,
    NullArray,
    Push,
    Raw,
    SetReply,
    Simple,
    Verbatim,
)

SMALL_INT_REPLIES = [b":%d\r\n" % i for i in range(10000)]  # the same in RESP2 and RESP3
_BULK_HEADERS = [b"$%d\r\n" % i for i in range(10000)]
_NULL_BULK = b"$-1\r\n"
_NULL_ARRAY2 = b"*-1\r\n"
_NULL3 = b"_\r\n"
_simple_cache: dict[str, bytes] = {}


def format_double(value: float) -> bytes:
    """Redis 7.0's double text: ``%.17g``, with inf/-inf/nan spelt out."""
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    if math.isnan(value):
        return b"nan"
    return b"%.17g" % value


def encode(reply, resp3: bool) -> bytes:
    """Encode one reply value."""
    kind = type(reply)
    if kind is Simple:
        data = _simple_cache.get(reply.text)
        if data is not None:
            return data
    elif kind is bytes:
        n = len(reply)
        if n < 10000:
            return _BULK_HEADERS[n] + reply + b"\r\n"
    elif kind is int:
        if 0 <= reply < 10000:
            return SMALL_INT_REPLIES[reply]
        return b":%d\r\n" % reply
    elif reply is None:
        return _NULL3 if resp3 else _NULL_BULK
    out: list[bytes] = []
    _encode_into(reply, resp3, out)
    return b"".join(out)


def _encode_into(reply, resp3: bool, out: list[bytes]) -> None:
    kind = type(reply)
    if kind is bytes:
        n = len(reply)
        out.append(_BULK_HEADERS[n] if n < 10000 else b"$%d\r\n" % n)
        out.append(reply)
        out.append(b"\r\n")
    elif kind is int:
        out.append(SMALL_INT_REPLIES[reply] if 0 <= reply < 10000 else b":%d\r\n" % reply)
    elif kind is list or kind is tuple:
        out.append(b"*%d\r\n" % len(reply))
        for item in reply:
            _encode_into(item, resp3, out)
    elif reply is None:
        out.append(_NULL3 if resp3 else _NULL_BULK)
    else:
        _ENCODERS[kind](reply, resp3, out)


def _simple(reply: Simple, resp3: bool, out: list[bytes]) -> None:
    data = _simple_cache.get(reply.text)
    if data is None:
        data = b"+" + reply.text.encode() + b"\r\n"
        if len(_simple_cache) < 1024:
            _simple_cache[reply.text] = data
    out.append(data)


def _error(reply: Error, resp3: bool, out: list[bytes]) -> None:
    text = reply.text.replace("\r", " ").replace("\n", " ")
    out.append(b"-" + text.encode("utf-8", "surrogateescape") + b"\r\n")


def _null_array(reply: NullArray, resp3: bool, out: list[bytes]) -> None:
    out.append(_NULL3 if resp3 else _NULL_ARRAY2)


def _map(reply: Map, resp3: bool, out: list[bytes]) -> None:
    pairs = reply.pairs
    out.append(b"%%%d\r\n" % len(pairs) if resp3 else b"*%d\r\n" % (2 * len(pairs)))
    for key, value in pairs:
        _encode_into(key, resp3, out)
        _encode_into(value, resp3, out)


def _set(reply: SetReply, resp3: bool, out: list[bytes]) -> None:
    out.append(b"~%d\r\n" % len(reply.items) if resp3 else b"*%d\r\n" % len(reply.items))
    for item in reply.items:
        _encode_into(item, resp3, out)


def _push(reply: Push, resp3: bool, out: list[bytes]) -> None:
    out.append(b">%d\r\n" % len(reply.items) if resp3 else b"*%d\r\n" % len(reply.items))
    for item in reply.items:
        _encode_into(item, resp3, out)


def _double(reply: Double, resp3: bool, out: list[bytes]) -> None:
    text = reply.text or format_double(reply.value)
    if resp3:
        out.append(b"," + text + b"\r\n")
    else:
        _encode_into(text, resp3, out)


def _bool(reply: Bool, resp3: bool, out: list[bytes]) -> None:
    if resp3:
        out.append(b"#t\r\n" if reply.value else b"#f\r\n")
    else:
        out.append(b":1\r\n" if reply.value else b":0\r\n")


def _verbatim(reply: Verbatim, resp3: bool, out: list[bytes]) -> None:
    if resp3:
        body = reply.fmt.encode() + b":" + reply.text
        out.append(b"=%d\r\n" % len(body) + body + b"\r\n")
    else:
        _encode_into(reply.text, resp3, out)


def _big_number(reply: BigNumber, resp3: bool, out: list[bytes]) -> None:
    if resp3:
        out.append(b"(" + reply.digits() + b"\r\n")
    else:
        _encode_into(reply.digits(), resp3, out)


def _attribute(reply: Attribute, resp3: bool, out: list[bytes]) -> None:
    if resp3:
        out.append(b"|%d\r\n" % len(reply.pairs))
        for key, value in reply.pairs:
            _encode_into(key, resp3, out)
            _encode_into(value, resp3, out)
    _encode_into(reply.reply, resp3, out)


def _raw(reply: Raw, resp3: bool, out: list[bytes]) -> None:
    out.append(reply.data)


def _bytearray(reply: bytearray, resp3: bool, out: list[bytes]) -> None:
    _encode_into(bytes(reply), resp3, out)


_ENCODERS = {
    Simple: _simple,
    Error: _error,
    NullArray: _null_array,
    Map: _map,
    SetReply: _set,
    Push: _push,
    Double: _double,
    Bool: _bool,
    Verbatim: _verbatim,
    BigNumber: _big_number,
    Attribute: _attribute,
    Raw: _raw,
    bytearray: _bytearray,
    memoryview: _bytearray,
}

