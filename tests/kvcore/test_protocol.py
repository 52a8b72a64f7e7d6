"""The request parser: Redis's rules and errors, and fast path == reference for any split."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvcore.protocol import Limits, ReferenceParser, RequestReader, split_inline
from tests.kvcore.harness import encode_request

ERRORS = [
    (b"*3000000000\r\n", "Protocol error: invalid multibulk length"),
    (b"*abc\r\n", "Protocol error: invalid multibulk length"),
    (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "Protocol error: expected '$', got 'f'"),
    (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", "Protocol error: invalid bulk length"),
    (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n", "Protocol error: invalid bulk length"),
    (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n", "Protocol error: invalid bulk length"),
    (b"*1\r\nfoo\r\n", "Protocol error: expected '$', got 'f'"),
    (b"*1\r\n*1\r\n$1\r\na\r\n", "Protocol error: expected '$', got '*'"),
    (b"*1\r\n+PING\r\n", "Protocol error: expected '$', got '+'"),
    (b"*1\r\n=7\r\ntxt:abc\r\n", "Protocol error: expected '$', got '='"),
    (b"*1\r\n(123\r\n", "Protocol error: expected '$', got '('"),
    (b"*2147483648\r\n", "Protocol error: invalid multibulk length"),
    (b'SET "a b\r\n', "Protocol error: unbalanced quotes in request"),
    (b"x" * 70000, "Protocol error: too big inline request"),
    (b"*" + b"1" * 70000, "Protocol error: too big mbulk count string"),
    (b"*1\r\n$" + b"1" * 70000, "Protocol error: too big bulk count string"),
]


@pytest.mark.parametrize("parser_class", [ReferenceParser, RequestReader])
@pytest.mark.parametrize(("data", "error"), ERRORS)
def test_malformed_input_gets_redis_error(parser_class, data, error):
    assert parser_class().feed(data) == ([], error)


@pytest.mark.parametrize("parser_class", [ReferenceParser, RequestReader])
def test_requests_before_an_error_are_kept(parser_class):
    requests, error = parser_class().feed(b"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\nx\r\n")
    assert requests == [[b"PING"], [b"PING"]]
    assert error == "Protocol error: expected '$', got 'x'"


@pytest.mark.parametrize(
    ("line", "args"),
    [
        (b"set a b", [b"set", b"a", b"b"]),
        (b'  set "a b"  c ', [b"set", b"a b", b"c"]),
        (b'"\\x41\\n\\t" \'it\\\'s\'', [b"A\n\t", b"it's"]),
        (b'"a"b', None),
        (b"'abc", None),
        (b"", []),
    ],
)
def test_inline_splitting(line, args):
    assert split_inline(line) == args


def test_unauthenticated_limits():
    limits = Limits(authenticated=False)
    assert RequestReader(limits).feed(b"*11\r\n") == ([], "Protocol error: unauthenticated multibulk length")
    assert RequestReader(limits).feed(b"*1\r\n$16385\r\n") == ([], "Protocol error: unauthenticated bulk length")


def test_large_bulk_streams_in_small_chunks():
    payload = bytes(range(256)) * 4096  # 1 MiB
    data = encode_request(b"SET", b"k", payload)
    reader = RequestReader()
    got = []
    for i in range(0, len(data), 4096):
        requests, error = reader.feed(data[i : i + 4096])
        assert error is None
        got += requests
    assert got == [[b"SET", b"k", payload]]


arg = st.one_of(st.binary(max_size=20), st.sampled_from([b"", b"\r\n", b"*1", b"$3", b'"q"']))
multibulk = st.lists(arg, min_size=1, max_size=4).map(lambda a: encode_request(*a))
inline = st.lists(st.sampled_from([b"PING", b"GET", b"a", b'"x y"', b"'z'", b"\\x41"]), max_size=4).map(
    lambda words: b" ".join(words) + st_choice_newline(words)
)


def st_choice_newline(words) -> bytes:
    return b"\n" if len(words) % 2 else b"\r\n"


garbage = st.sampled_from([
    b"*-1\r\n", b"*0\r\n", b"*1\r\n$-1\r\n", b"*2\r\n$1\r\na\r\n:1\r\n", b"$3\r\n", b"*x\r\n",
    # RESP3 types hiredis reads and Redis does not take in a request: a top-level one is an inline line
    b"~1\r\n", b">1\r\n", b"|1\r\n$1\r\na\r\n$1\r\nb\r\n", b"%1\r\n", b"+OK\r\n", b"(12\r\n",
    b"=5\r\ntxt:a\r\n", b"#t\r\n", b",1.5\r\n", b"_\r\n", b"$1\r\na\r\n",
])
stream = st.lists(st.one_of(multibulk, multibulk, inline, garbage, st.binary(max_size=8)), max_size=8).map(b"".join)


def feed_in_chunks(parser, data: bytes, cuts: list[int]):
    requests, error, start = [], None, 0
    for cut in sorted(set(cuts)) + [len(data)]:
        if cut <= start:
            continue
        got, error = parser.feed(data[start:cut])
        requests += got
        start = cut
        if error is not None:
            break
    return requests, error


@settings(max_examples=600, deadline=None)
@given(stream, st.lists(st.integers(0, 400), max_size=12))
def test_fast_path_equals_reference_for_any_split(data, cuts):
    reference = ReferenceParser().feed(data)
    assert feed_in_chunks(ReferenceParser(), data, cuts) == reference
    assert feed_in_chunks(RequestReader(), data, cuts) == reference


@pytest.mark.parametrize("tail", [b"$", b":", b"-", b"!", b"$5\r\n", b"!5\r\n"])
def test_a_segment_ending_in_the_type_byte_of_an_inline_line_keeps_it(tail):
    """hiredis takes the byte as the start of a reply it waits to finish: the request after the
    multibulk is an inline line starting with it, as Redis reads it (found by the test above)."""
    data = encode_request(b"GET", b"k") + tail + b"0\r\n\r\n"
    cut = len(encode_request(b"GET", b"k")) + len(tail)
    assert feed_in_chunks(RequestReader(), data, [cut]) == ReferenceParser().feed(data)


@pytest.mark.parametrize("head", [b"~1\r\n", b">1\r\n", b"|1\r\n$1\r\na\r\n"])
def test_a_resp3_aggregate_after_a_request_is_read_as_inline_lines(head):
    """hiredis reads a set, push or attribute of bulk strings as a list: Redis reads each line
    of it as an inline command."""
    data = encode_request(b"PING") + head + b"$4\r\nPING\r\n"
    assert RequestReader().feed(data) == ReferenceParser().feed(data)


def test_equivalence_check_notices_a_difference():
    """A dropped request must be visible to the comparison used above."""
    data = encode_request(b"PING") * 2
    full = ReferenceParser().feed(data)
    assert feed_in_chunks(ReferenceParser(), data[: len(data) // 2], []) != full
