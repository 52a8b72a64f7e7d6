"""Differential strategies for transactions and scripts: MULTI/EXEC/DISCARD/WATCH and EVAL, mixed
with the other families' commands so that queued commands, errors in EXEC's reply and scripts'
replies of every Lua type meet the data."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.kvcore.differential import hashes, lists, sets
from tests.kvcore.differential.common import keys, values

COMPARE: dict[bytes, str] = {**lists.COMPARE, **hashes.COMPARE, **sets.COMPARE}

SCRIPTS = [
    b"return redis.call('INCR', KEYS[1])",
    b"return redis.pcall(ARGV[1], KEYS[1])",
    b"redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])",
    b"return {1, 2, {3, 'x'}, false, true, nil, 'y'}",
    b"return redis.call('LRANGE', KEYS[1], 0, -1)",
    b"return {err='MYERR boom'}",
    b"return {ok='FINE'}",
    b"return 3.99",
    b"return redis.status_reply('S')",
    b"return redis.error_reply('E bad')",
    b"return redis.call(ARGV[1], KEYS[1], ARGV[2])",
    b"return redis.pcall(ARGV[1], KEYS[1], ARGV[2])",
    b"return redis.call('EXISTS', KEYS[1], KEYS[2])",
    b"local t = redis.call('SMEMBERS', KEYS[1]); table.sort(t); return t",
    b"return tostring(redis.call('INCRBYFLOAT', KEYS[1], ARGV[1]))",
    b"error('plain lua error')",
    b"return #KEYS + #ARGV",
]
command_names = st.sampled_from([b"GET", b"INCR", b"LPUSH", b"SET", b"HSET", b"SADD", b"DEL", b"NOSUCH", b"RPOP", b"TYPE"])


@st.composite
def control(draw):
    k, k2, v = draw(keys), draw(keys), draw(values)
    choice = draw(st.integers(0, 8))
    return [
        lambda: [b"MULTI"],
        lambda: [b"EXEC"],
        lambda: [b"DISCARD"],
        lambda: [b"WATCH", k, *draw(st.lists(keys, max_size=2))],
        lambda: [b"UNWATCH"],
        lambda: [b"EVAL", draw(st.sampled_from(SCRIPTS)), b"2", k, k2, draw(command_names), v],
        lambda: [b"EVAL", draw(st.sampled_from(SCRIPTS)), draw(st.sampled_from([b"1", b"0", b"-1", b"3", b"x"])), k, v],
        lambda: [b"EVAL_RO", draw(st.sampled_from(SCRIPTS)), b"1", k, draw(command_names), v],
        lambda: [b"PING"],
    ][choice]()


def commands():
    return st.one_of(control(), control(), lists.commands(), hashes.commands(), sets.commands())
