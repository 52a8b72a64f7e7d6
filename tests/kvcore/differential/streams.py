"""Differential strategies for the stream family.

IDs are explicit (``ms-seq``, ``ms``, ``ms-*``) with small numbers so that
commands meet, collide and trim each other; ``*`` would read two different
clocks. Clock readings (XPENDING's idle times, XINFO's seen and delivery
times) are compared with the clocks taken out; BLOCK is left out (a read
that blocks has no reply to compare). stream-node-max-entries stays at its
default, so approximate trims only bite on streams of over 100 entries,
which these sequences do not build.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.kvcore.differential.common import keys, word
from tests.kvcore.differential.runner import ByArgv, typed

TIME = ("time",)


def _masked(reply):
    """A reply with every clock reading replaced by TIME (lists, RESP2 flat maps and RESP3 dicts)."""
    if isinstance(reply, dict):
        return {k: TIME if k in (b"idle", b"seen-time") else _pending(v) if k == b"pending" else _masked(v)
                for k, v in reply.items()}
    if isinstance(reply, list):
        out = [_masked(item) for item in reply]
        for i in range(len(out) - 1):
            if out[i] in (b"idle", b"seen-time"):
                out[i + 1] = TIME
            elif out[i] == b"pending":
                out[i + 1] = _pending(reply[i + 1])
        return out
    return reply


def _pending(items):
    if not isinstance(items, list):
        return items
    return [[i[0], i[1], TIME, i[3]] if isinstance(i, list) and len(i) == 4 else
            [i[0], TIME, i[2]] if isinstance(i, list) and len(i) == 3 else i for i in items]


def _xpending_masked(reply):
    if isinstance(reply, list) and reply and all(isinstance(i, list) and len(i) == 4 for i in reply):
        return [[i[0], i[1], TIME, i[3]] for i in reply]
    return reply


def without_clock(expected, actual) -> bool:
    return typed(_masked(expected)) == typed(_masked(actual))


def xpending_without_clock(expected, actual) -> bool:
    return typed(_xpending_masked(expected)) == typed(_xpending_masked(actual))


COMPARE: dict[bytes, object] = {
    b"xpending": ByArgv(lambda argv: xpending_without_clock if len(argv) > 3 else "exact"),
    b"xinfo": without_clock,
}

ms_values = st.sampled_from([b"0", b"1", b"2", b"3", b"5", b"18446744073709551615"])
seqs = st.sampled_from([b"0", b"1", b"2", b"18446744073709551615"])
full_ids = st.builds(lambda ms, seq: ms + b"-" + seq, ms_values, seqs)
ids = st.one_of(full_ids, full_ids, ms_values, st.sampled_from([b"0-0", b"x", b"-1", b"1-x", b"", b"+"]))
add_ids = st.one_of(ids, ms_values.map(lambda ms: ms + b"-*"))
range_starts = st.one_of(ids, st.just(b"-"), ids.map(lambda i: b"(" + i))
range_ends = st.one_of(ids, st.just(b"+"), ids.map(lambda i: b"(" + i))
fields = st.lists(st.sampled_from([b"a", b"b", b"f", b"1", b""]), min_size=1, max_size=2).flatmap(
    lambda names: st.tuples(*[st.sampled_from([b"v", b"1", b"-2", b"xyz"]) for _ in names]).map(
        lambda vals: [x for pair in zip(names, vals) for x in pair]))
groups = st.sampled_from([b"g1", b"g2"])
consumers = st.sampled_from([b"c1", b"c2", b"c3"])
counts = st.sampled_from([b"0", b"1", b"2", b"5", b"-1", b"x"])
thresholds = st.sampled_from([b"0", b"1", b"2", b"3", b"-1", b"x"])


@st.composite
def trim_options(draw):
    strategy = draw(st.sampled_from([b"MAXLEN", b"MINID"]))
    marker = draw(st.sampled_from([[], [b"="], [b"~"]]))
    threshold = draw(thresholds) if strategy == b"MAXLEN" else draw(ids)
    limit = draw(st.sampled_from([[], [], [b"LIMIT", b"0"], [b"LIMIT", b"5"]]))
    return [strategy, *marker, threshold, *limit]


@st.composite
def broad_commands(draw):
    k, g, c = draw(keys), draw(groups), draw(consumers)
    choice = draw(st.integers(0, 27))
    return [
        lambda: [b"XADD", k, draw(add_ids), *draw(fields)],
        lambda: [b"XADD", k, draw(add_ids), *draw(fields)],
        lambda: [b"XADD", k, *draw(st.sampled_from([[], [b"NOMKSTREAM"]])), *draw(trim_options()), draw(add_ids),
                 *draw(fields)],
        lambda: [b"XLEN", k],
        lambda: [b"XRANGE", k, draw(range_starts), draw(range_ends)],
        lambda: [b"XRANGE", k, draw(range_starts), draw(range_ends), draw(word("COUNT")), draw(counts)],
        lambda: [b"XREVRANGE", k, draw(range_ends), draw(range_starts), *draw(st.sampled_from([[], [b"COUNT", b"1"]]))],
        lambda: [b"XDEL", k, *draw(st.lists(ids, min_size=1, max_size=3))],
        lambda: [b"XTRIM", k, *draw(trim_options())],
        lambda: [b"XSETID", k, draw(ids), *draw(st.sampled_from(
            [[], [b"ENTRIESADDED", b"5"], [b"MAXDELETEDID", b"1-1"], [b"ENTRIESADDED", b"-1"]]))],
        lambda: [b"XREAD", *draw(st.sampled_from([[], [b"COUNT", b"1"]])), b"STREAMS", k,
                 draw(st.one_of(ids, st.just(b"$")))],
        lambda: [b"XREAD", b"STREAMS", k, draw(keys), draw(ids), draw(ids)],
        lambda: [b"XGROUP", b"CREATE", k, g, draw(st.one_of(ids, st.just(b"$"))),
                 *draw(st.sampled_from([[], [b"MKSTREAM"], [b"ENTRIESREAD", b"2"], [b"MKSTREAM", b"ENTRIESREAD", b"-1"]]))],
        lambda: [b"XGROUP", b"SETID", k, g, draw(st.one_of(ids, st.just(b"$"))),
                 *draw(st.sampled_from([[], [b"ENTRIESREAD", b"1"]]))],
        lambda: [b"XGROUP", draw(st.sampled_from([b"CREATECONSUMER", b"DELCONSUMER"])), k, g, c],
        lambda: [b"XGROUP", b"DESTROY", k, g],
        lambda: [b"XREADGROUP", b"GROUP", g, c, *draw(st.sampled_from([[], [b"COUNT", b"1"], [b"NOACK"]])),
                 b"STREAMS", k, b">"],
        lambda: [b"XREADGROUP", b"GROUP", g, c, b"STREAMS", k, b">"],
        lambda: [b"XREADGROUP", b"GROUP", g, c, b"STREAMS", k, draw(ids)],
        lambda: [b"XACK", k, g, *draw(st.lists(ids, min_size=1, max_size=3))],
        lambda: [b"XPENDING", k, g],
        lambda: [b"XPENDING", k, g, draw(range_starts), draw(range_ends), draw(counts),
                 *draw(st.sampled_from([[], [b"c1"], [b"c2"]]))],
        lambda: [b"XCLAIM", k, g, c, b"0", *draw(st.lists(ids, min_size=1, max_size=2)),
                 *draw(st.sampled_from([[], [b"JUSTID"], [b"FORCE"], [b"RETRYCOUNT", b"3"], [b"LASTID", b"3-0"]]))],
        lambda: [b"XAUTOCLAIM", k, g, c, b"0", draw(range_starts),
                 *draw(st.sampled_from([[], [b"COUNT", b"1"], [b"JUSTID"], [b"COUNT", b"0"]]))],
        lambda: [b"XINFO", b"STREAM", k, *draw(st.sampled_from([[], [b"FULL"], [b"FULL", b"COUNT", b"1"]]))],
        lambda: [b"XINFO", b"GROUPS", k],
        lambda: [b"XINFO", b"CONSUMERS", k, g],
        lambda: [draw(st.sampled_from([b"XADD", b"XRANGE", b"XREADGROUP", b"XGROUP", b"XINFO", b"XCLAIM"])), k],
    ][choice]()


few_ids = st.sampled_from([b"1-1", b"1-2", b"2-0", b"3-0"])
few_id_args = st.one_of(few_ids, st.sampled_from([b"0", b"-", b"+", b"5"]))


@st.composite
def group_commands(draw):
    """Consumer-group traffic on one key and a few IDs, so that reads, claims and acks meet."""
    k, g, c = b"k1", draw(groups), draw(consumers)
    choice = draw(st.integers(0, 9))
    return [
        lambda: [b"XADD", k, draw(few_ids), b"f", b"v"],
        lambda: [b"XGROUP", b"CREATE", k, g, draw(st.sampled_from([b"0", b"$", b"1-1"])),
                 *draw(st.sampled_from([[], [b"MKSTREAM"], [b"ENTRIESREAD", b"1"]]))],
        lambda: [b"XREADGROUP", b"GROUP", g, c, *draw(st.sampled_from([[], [b"COUNT", b"1"], [b"NOACK"]])),
                 b"STREAMS", k, draw(st.sampled_from([b">", b">", b"0", b"1-1"]))],
        lambda: [b"XCLAIM", k, g, c, b"0", *draw(st.lists(few_id_args, min_size=1, max_size=3)),
                 *draw(st.sampled_from([[], [b"FORCE"], [b"JUSTID"], [b"FORCE", b"JUSTID"], [b"RETRYCOUNT", b"4"],
                                        [b"LASTID", b"2-0"], [b"FORCE", b"LASTID", b"9-9"]]))],
        lambda: [b"XAUTOCLAIM", k, g, c, b"0", draw(few_id_args),
                 *draw(st.sampled_from([[], [b"COUNT", b"1"], [b"JUSTID"]]))],
        lambda: [b"XACK", k, g, *draw(st.lists(few_id_args, min_size=1, max_size=2))],
        lambda: [b"XDEL", k, *draw(st.lists(few_id_args, min_size=1, max_size=2))],
        lambda: draw(st.sampled_from([[b"XGROUP", b"SETID", k, g, b"0"], [b"XGROUP", b"DELCONSUMER", k, g, c],
                                      [b"XTRIM", k, b"MAXLEN", b"1"]])),
        lambda: draw(st.sampled_from([[b"XPENDING", k, g], [b"XPENDING", k, g, b"-", b"+", b"10"],
                                      [b"XPENDING", k, g, b"-", b"+", b"10", b"c1"]])),
        lambda: draw(st.sampled_from([[b"XINFO", b"CONSUMERS", k, g], [b"XINFO", b"GROUPS", k],
                                      [b"XINFO", b"STREAM", k, b"FULL"], [b"XINFO", b"STREAM", k]])),
    ][choice]()


def commands():
    return st.one_of(broad_commands(), group_commands())
