"""Stream IDs as commands spell them: ``ms-seq``, ``ms``, ``-``, ``+``, ``ms-*``, ``(`` for exclusive bounds.

Redis reads each half with string2ull: a canonical signed 64-bit integer
that is not negative, or else anything C's strtoull takes whole (leading
blanks, a sign, any digits up to 2**64-1). The first '-' splits the halves,
so a minus can never begin the ms part. An ID text longer than 127 bytes is
invalid; so is everything after a NUL byte, which C never sees.
"""

from __future__ import annotations

from kvcore.commands.args import parse_int
from kvcore.reply import Error
from kvcore.types_stream import ID_MAX, SEQ_MAX, make_id

INVALID_ID = "ERR Invalid stream ID specified as stream command argument"
INVALID_START = "ERR invalid start ID for the interval"
INVALID_END = "ERR invalid end ID for the interval"
_BLANKS = b" \t\n\v\f\r"
_ID_TEXT_MAX = 127


def string2ull(text: bytes) -> int | None:
    """An unsigned 64-bit number as Redis's string2ull reads it, or None."""
    try:
        value = parse_int(text)
    except Error:
        value = None
    if value is not None:
        return value if value >= 0 else None
    rest = text.lstrip(_BLANKS)
    negative = rest[:1] == b"-"
    if rest[:1] in (b"+", b"-"):
        rest = rest[1:]
    if not rest or not rest.isdigit():
        return None
    value = int(rest)
    if value > SEQ_MAX:
        return None
    return (-value) % (SEQ_MAX + 1) if negative else value


def parse_id(arg: bytes, missing_seq: int = 0, strict: bool = False, auto_seq: bool = False) -> tuple[int, bool]:
    """streamGenericParseIDOrReply: the ID and whether its sequence was given (False for ``ms-*``)."""
    if len(arg) > _ID_TEXT_MAX:
        raise Error(INVALID_ID)
    text = arg.split(b"\0", 1)[0]
    if text in (b"-", b"+"):
        if strict:
            raise Error(INVALID_ID)
        return (0 if text == b"-" else ID_MAX), True
    ms_text, dash, seq_text = text.partition(b"-")
    ms = string2ull(ms_text)
    if ms is None:
        raise Error(INVALID_ID)
    if not dash:
        return make_id(ms, missing_seq), True
    if auto_seq and seq_text == b"*":
        return make_id(ms, 0), False
    seq = string2ull(seq_text)
    if seq is None:
        raise Error(INVALID_ID)
    return make_id(ms, seq), True


def strict_id(arg: bytes, missing_seq: int = 0) -> int:
    """An ID where '-' and '+' are not allowed (XDEL, XACK, XREAD's IDs...)."""
    return parse_id(arg, missing_seq, strict=True)[0]


def interval_start(arg: bytes) -> int:
    """A range's start: an ID, '-', or '(' and an ID to start after."""
    if len(arg) > 1 and arg[:1] == b"(":
        ident = strict_id(arg[1:])
        if ident == ID_MAX:
            raise Error(INVALID_START)
        return ident + 1
    return parse_id(arg)[0]


def interval_end(arg: bytes) -> int:
    """A range's end: an ID (a bare ms means its last sequence), '+', or '(' and an ID to end before."""
    if len(arg) > 1 and arg[:1] == b"(":
        ident = strict_id(arg[1:], SEQ_MAX)
        if ident == 0:
            raise Error(INVALID_END)
        return ident - 1
    return parse_id(arg, SEQ_MAX)[0]
