"""The stream family against the pure core; every expected reply is checked against redis-server too.

`CASES` run on a kvcore node and on a real redis-server 7.0 (skipped when it
is missing), so the expectations here are Redis's, not copies of our own
output. Clock readings (XPENDING's idle times, XINFO's seen and delivery
times) are masked on both sides by `masked`; tests further down drive the
core's clock to check them. Each case starts from an empty server with the
default stream-node-max-* settings.
"""

from __future__ import annotations

import re

import pytest

from kvcore import aof, listpack, rdb
from kvcore.aof import rewrite_key
from kvcore.rdb_stream import read_stream
from kvcore.types_stream import ID_MAX, StreamValue, make_id
from tests.kvcore.differential.runner import RedisConnection
from tests.kvcore.harness import CoreClient, encode_request, make_node
from tests.kvcore.test_lists import CoreWorld, RedisWorld, core_raw, normalize, run_case
from tests.kvcore.test_propagation import NOW, LogClient, logging_node, records, replayed

TIME = "time"


def masked(argv, reply):
    """A reply with its clock readings (idle times, delivery and seen times) replaced by TIME."""
    name = str(argv[0]).upper()
    sub = str(argv[1]).upper() if len(argv) > 1 else ""
    if name == "XPENDING" and len(argv) > 3 and isinstance(reply, list):
        return [[item[0], item[1], TIME, item[3]] if isinstance(item, list) and len(item) == 4 else item
                for item in reply]
    if name == "XINFO" and sub in ("CONSUMERS", "STREAM") and isinstance(reply, list):
        return _mask_info(reply)
    return reply


def _mask_info(reply):
    out = list(reply)
    for i in range(len(out) - 1):
        if out[i] in (b"idle", b"seen-time") and isinstance(out[i + 1], int):
            out[i + 1] = TIME
        elif out[i] == b"pending" and isinstance(out[i + 1], list):
            out[i + 1] = [_mask_pending(item) for item in out[i + 1]]
    return [_mask_info(item) if isinstance(item, list) else item for item in out]


def _mask_pending(item):
    if isinstance(item, list) and len(item) == 4:
        return [item[0], item[1], TIME, item[3]]
    if isinstance(item, list) and len(item) == 3:
        return [item[0], TIME, item[2]]
    return item


def masked_call(call):
    return lambda *argv: masked(argv, normalize(call(*argv)))


# (name, [(*argv, expected reply), ...]) -- each case starts from an empty server.
CASES = [
    ('xadd ids', [
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('XADD', 's', '1-1', 'a', '1', ('err', 'ERR The ID specified in XADD is equal or smaller than the target stream top item')),
        ('XADD', 's', '1-0', 'a', '1', ('err', 'ERR The ID specified in XADD is equal or smaller than the target stream top item')),
        ('XADD', 's', '1', 'a', '1', ('err', 'ERR The ID specified in XADD is equal or smaller than the target stream top item')),
        ('XADD', 's', '2', 'a', '1', 'b', '2', b'2-0'),
        ('XADD', 's', '2-*', 'c', '3', b'2-1'),
        ('XADD', 's', '3-*', 'c', '3', b'3-0'),
        ('XADD', 's', '+5-1', 'a', '1', b'5-1'),
        ('XADD', 's', ' 6-1', 'a', '1', b'6-1'),
        ('XADD', 's', '7-+1', 'a', '1', b'7-1'),
        ('XADD', 's', '-0', 'a', '1', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XADD', 's', '8--1', 'a', '1', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XADD', 's', '8-x', 'a', '1', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XADD', 's', '0x10', 'a', '1', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XADD', 's', '18446744073709551616-1', 'a', '1', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XADD', 's', '0', 'a', '1', ('err', 'ERR The ID specified in XADD must be greater than 0-0')),
        ('XADD', 's', '0-0', 'a', '1', ('err', 'ERR The ID specified in XADD must be greater than 0-0')),
        ('XADD', 'z', '0-*', 'a', '1', b'0-1'),
        ('XADD', 's', '1-1', 'a', ('err', "ERR wrong number of arguments for 'xadd' command")),
        ('XADD', 's', 'foo', 'a', ('err', "ERR wrong number of arguments for 'xadd' command")),
        ('XADD', 's', '9-1', 'LIMIT', '10', 'a', '1', b'9-1'),
        ('XLEN', 's', 8),
        ('XRANGE', 's', '-', '+', [[b'1-1', [b'a', b'1']], [b'2-0', [b'a', b'1', b'b', b'2']], [b'2-1', [b'c', b'3']], [b'3-0', [b'c', b'3']], [b'5-1', [b'a', b'1']], [b'6-1', [b'a', b'1']], [b'7-1', [b'a', b'1']], [b'9-1', [b'LIMIT', b'10', b'a', b'1']]]),
    ]),
    ('xadd options', [
        ('XADD', 's', 'MAXLEN', '-1', '1-1', 'a', '1', ('err', 'ERR The MAXLEN argument must be >= 0.')),
        ('XADD', 's', 'MAXLEN', '1', 'MINID', '5', '1-1', 'a', '1', ('err', 'ERR syntax error, MAXLEN and MINID options at the same time are not compatible')),
        ('XADD', 's', 'MAXLEN', 'x', '1-1', 'a', '1', ('err', 'ERR value is not an integer or out of range')),
        ('XADD', 's', 'MAXLEN', '=', '5', 'LIMIT', '10', '1-1', 'a', '1', ('err', 'ERR syntax error, LIMIT cannot be used without the special ~ option')),
        ('XADD', 's', 'LIMIT', '10', '1-1', 'a', '1', ('err', 'ERR syntax error, LIMIT cannot be used without specifying a trimming strategy')),
        ('XADD', 's', 'MAXLEN', '~', '5', 'LIMIT', '-1', '1-1', 'a', '1', ('err', 'ERR The LIMIT argument must be >= 0.')),
        ('XADD', 's', 'MINID', '-', '1-1', 'a', '1', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XADD', 's', 'MINID', '+', '1-1', 'a', '1', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XADD', 's', 'MINID', 'x', '1-1', 'a', '1', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XADD', 's', 'NOMKSTREAM', '1-1', 'a', '1', None),
        ('EXISTS', 's', 0),
        ('XADD', 's', 'NOMKSTREAM', 'MAXLEN', '5', ('err', "ERR wrong number of arguments for 'xadd' command")),
        ('XADD', 's', 'MAXLEN', '5', 'f', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XADD', 's', 'MAXLEN', '2', '1-1', 'a', '1', b'1-1'),
        ('XADD', 's', 'MAXLEN', '2', '2-1', 'a', '1', b'2-1'),
        ('XADD', 's', 'MAXLEN', '=', '2', '3-1', 'a', '1', b'3-1'),
        ('XADD', 's', 'MAXLEN', '~', '2', '4-1', 'a', '1', b'4-1'),
        ('XADD', 's', 'maxlen', '2', 'nomkstream', '5-1', 'a', '1', b'5-1'),
        ('XRANGE', 's', '-', '+', [[b'4-1', [b'a', b'1']], [b'5-1', [b'a', b'1']]]),
        ('XADD', 's', 'MINID', '5', '6-1', 'a', '1', b'6-1'),
        ('XADD', 's', 'MINID', '~', '6', '7-1', 'a', '1', b'7-1'),
        ('XADD', 's', 'MINID', '=', '7', 'LIMIT', '0', '8-1', 'a', '1', ('err', 'ERR syntax error, LIMIT cannot be used without the special ~ option')),
        ('XRANGE', 's', '-', '+', [[b'5-1', [b'a', b'1']], [b'6-1', [b'a', b'1']], [b'7-1', [b'a', b'1']]]),
        ('XADD', 's', 'MAXLEN', '0', '9-1', 'a', '1', b'9-1'),
        ('XLEN', 's', 0),
        ('EXISTS', 's', 1),
        ('XADD', 's', 'NOMKSTREAM', '10-1', 'a', '1', b'10-1'),
    ]),
    ('xadd exhausted', [
        ('XADD', 's', '18446744073709551615-18446744073709551615', 'a', '1', b'18446744073709551615-18446744073709551615'),
        ('XADD', 's', '99-1', 'a', '1', ('err', 'ERR The stream has exhausted the last possible ID, unable to add more items')),
        ('XADD', 's2', '18446744073709551615-*', 'a', '1', b'18446744073709551615-0'),
        ('XADD', 's2', '18446744073709551615-*', 'a', '1', b'18446744073709551615-1'),
        ('XADD', 's3', '5-18446744073709551615', 'a', '1', b'5-18446744073709551615'),
        ('XADD', 's3', '5-*', 'a', '1', ('err', 'ERR Elements are too large to be stored')),
        ('XADD', 's3', '6-*', 'a', '1', b'6-0'),
    ]),
    ('xrange', [
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('XADD', 's', '1-2', 'b', '2', b'1-2'),
        ('XADD', 's', '2-0', 'c', '3', b'2-0'),
        ('XADD', 's', '3-5', 'd', '4', b'3-5'),
        ('XRANGE', 's', '-', '+', [[b'1-1', [b'a', b'1']], [b'1-2', [b'b', b'2']], [b'2-0', [b'c', b'3']], [b'3-5', [b'd', b'4']]]),
        ('XRANGE', 's', '1', '1', [[b'1-1', [b'a', b'1']], [b'1-2', [b'b', b'2']]]),
        ('XRANGE', 's', '1-2', '+', [[b'1-2', [b'b', b'2']], [b'2-0', [b'c', b'3']], [b'3-5', [b'd', b'4']]]),
        ('XRANGE', 's', '(1-1', '+', [[b'1-2', [b'b', b'2']], [b'2-0', [b'c', b'3']], [b'3-5', [b'd', b'4']]]),
        ('XRANGE', 's', '-', '(2-0', [[b'1-1', [b'a', b'1']], [b'1-2', [b'b', b'2']]]),
        ('XRANGE', 's', '(1-1', '(3-5', [[b'1-2', [b'b', b'2']], [b'2-0', [b'c', b'3']]]),
        ('XRANGE', 's', '2', '3', [[b'2-0', [b'c', b'3']], [b'3-5', [b'd', b'4']]]),
        ('XRANGE', 's', '+', '-', []),
        ('XRANGE', 's', '-', '+', 'COUNT', '2', [[b'1-1', [b'a', b'1']], [b'1-2', [b'b', b'2']]]),
        ('XRANGE', 's', '-', '+', 'COUNT', '0', None),
        ('XRANGE', 's', '-', '+', 'COUNT', '-1', None),
        ('XRANGE', 's', '-', '+', 'count', '1', 'COUNT', '3', [[b'1-1', [b'a', b'1']], [b'1-2', [b'b', b'2']], [b'2-0', [b'c', b'3']]]),
        ('XRANGE', 's', '-', '+', 'COUNT', ('err', 'ERR syntax error')),
        ('XRANGE', 's', '-', '+', 'COUNT', 'x', ('err', 'ERR value is not an integer or out of range')),
        ('XRANGE', 's', '-', '+', 'LIMIT', '1', ('err', 'ERR syntax error')),
        ('XRANGE', 's', '(18446744073709551615-18446744073709551615', '+', ('err', 'ERR invalid start ID for the interval')),
        ('XRANGE', 's', '-', '(0-0', ('err', 'ERR invalid end ID for the interval')),
        ('XRANGE', 's', '(-', '+', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XRANGE', 's', '(', '+', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XRANGE', 's', '-', '(+', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XRANGE', 's', 'x', '+', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XRANGE', 's', '-', 'x', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XRANGE', 'nokey', '-', '+', 'COUNT', '0', []),
        ('XRANGE', 'nokey', 'x', '+', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XREVRANGE', 's', '+', '-', [[b'3-5', [b'd', b'4']], [b'2-0', [b'c', b'3']], [b'1-2', [b'b', b'2']], [b'1-1', [b'a', b'1']]]),
        ('XREVRANGE', 's', '+', '-', 'COUNT', '2', [[b'3-5', [b'd', b'4']], [b'2-0', [b'c', b'3']]]),
        ('XREVRANGE', 's', '(3-5', '(1-1', [[b'2-0', [b'c', b'3']], [b'1-2', [b'b', b'2']]]),
        ('XREVRANGE', 's', '1', '1', [[b'1-2', [b'b', b'2']], [b'1-1', [b'a', b'1']]]),
        ('XREVRANGE', 's', '-', '+', []),
        ('XREVRANGE', 's', '+', '-', 'COUNT', '0', None),
        ('XREVRANGE', 's', '2', '(0-0', [[b'2-0', [b'c', b'3']], [b'1-2', [b'b', b'2']], [b'1-1', [b'a', b'1']]]),
    ]),
    ('xdel', [
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('XADD', 's', '2-1', 'b', '2', b'2-1'),
        ('XADD', 's', '3-1', 'c', '3', b'3-1'),
        ('XDEL', 'nokey', 'bad', 0),
        ('XDEL', 's', 'bad', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XDEL', 's', '2-1', 'bad', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XDEL', 's', '2-1', '2-1', '9-9', 1),
        ('XDEL', 's', '-', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XDEL', 's', '1', 0),
        ('XLEN', 's', 2),
        ('XDEL', 's', '3-1', '3-1', 1),
        ('XLEN', 's', 1),
        ('EXISTS', 's', 1),
        ('XRANGE', 's', '-', '+', [[b'1-1', [b'a', b'1']]]),
        ('XINFO', 'STREAM', 's', [b'length', 1, b'radix-tree-keys', 1, b'radix-tree-nodes', 2, b'last-generated-id', b'3-1', b'max-deleted-entry-id', b'3-1', b'entries-added', 3, b'recorded-first-entry-id', b'1-1', b'groups', 0, b'first-entry', [b'1-1', [b'a', b'1']], b'last-entry', [b'1-1', [b'a', b'1']]]),
        ('XADD', 's', '2-5', 'a', '1', ('err', 'ERR The ID specified in XADD is equal or smaller than the target stream top item')),
        ('XADD', 's', '99-1', 'a', '1', b'99-1'),
    ]),
    ('xtrim', [
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('XADD', 's', '2-1', 'b', '2', b'2-1'),
        ('XADD', 's', '3-1', 'c', '3', b'3-1'),
        ('XADD', 's', '4-1', 'd', '4', b'4-1'),
        ('XTRIM', 'nokey', 'foo', ('err', "ERR wrong number of arguments for 'xtrim' command")),
        ('XTRIM', 'nokey', 'MAXLEN', 'x', ('err', 'ERR value is not an integer or out of range')),
        ('XTRIM', 's', 'foo', ('err', "ERR wrong number of arguments for 'xtrim' command")),
        ('XTRIM', 's', 'foo', 'bar', ('err', 'ERR syntax error')),
        ('XTRIM', 's', 'LIMIT', '5', ('err', 'ERR syntax error, LIMIT cannot be used without specifying a trimming strategy')),
        ('XTRIM', 's', 'MAXLEN', 'x', ('err', 'ERR value is not an integer or out of range')),
        ('XTRIM', 's', 'MAXLEN', '-1', ('err', 'ERR The MAXLEN argument must be >= 0.')),
        ('XTRIM', 's', 'MAXLEN', '5', 'LIMIT', '10', ('err', 'ERR syntax error, LIMIT cannot be used without the special ~ option')),
        ('XTRIM', 's', 'MAXLEN', '~', '5', 'LIMIT', '-1', ('err', 'ERR The LIMIT argument must be >= 0.')),
        ('XTRIM', 's', 'MAXLEN', '~', '5', 'LIMIT', ('err', 'ERR syntax error')),
        ('XTRIM', 's', 'MAXLEN', '1', 'MINID', '1', ('err', 'ERR syntax error, MAXLEN and MINID options at the same time are not compatible')),
        ('XTRIM', 's', 'MINID', '-', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XTRIM', 's', 'MAXLEN', '3', 1),
        ('XTRIM', 's', 'MAXLEN', '~', '1', 0),
        ('XTRIM', 's', 'MAXLEN', '~', '1', 'LIMIT', '0', 0),
        ('XTRIM', 's', 'MINID', '3', 1),
        ('XRANGE', 's', '-', '+', [[b'3-1', [b'c', b'3']], [b'4-1', [b'd', b'4']]]),
        ('XTRIM', 's', 'MINID', '=', '5-0', 2),
        ('XLEN', 's', 0),
        ('EXISTS', 's', 1),
        ('XINFO', 'STREAM', 's', [b'length', 0, b'radix-tree-keys', 0, b'radix-tree-nodes', 1, b'last-generated-id', b'4-1', b'max-deleted-entry-id', b'0-0', b'entries-added', 4, b'recorded-first-entry-id', b'0-0', b'groups', 0, b'first-entry', None, b'last-entry', None]),
    ]),
    ('wrong types', [
        ('SET', 'str', 'x', b'OK'),
        ('XADD', 'str', '1-1', 'a', '1', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XLEN', 'str', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XRANGE', 'str', '-', '+', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XREVRANGE', 'str', '+', '-', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XDEL', 'str', '1-1', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XTRIM', 'str', 'MAXLEN', '1', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XSETID', 'str', '1-1', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XREAD', 'STREAMS', 'str', '0', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 'str', '>', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XGROUP', 'CREATE', 'str', 'g', '0', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XGROUP', 'SETID', 'str', 'g', '0', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XGROUP', 'DESTROY', 'str', 'g', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XGROUP', 'CREATECONSUMER', 'str', 'g', 'c', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XACK', 'str', 'g', '1-1', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XPENDING', 'str', 'g', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XCLAIM', 'str', 'g', 'c', '0', '1-1', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XAUTOCLAIM', 'str', 'g', 'c', '0', '0', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XINFO', 'STREAM', 'str', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XINFO', 'GROUPS', 'str', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XINFO', 'CONSUMERS', 'str', 'g', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('LPUSH', 's', 'x', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('GET', 's', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('TYPE', 's', b'stream'),
        ('OBJECT', 'ENCODING', 's', b'stream'),
    ]),
    ('xsetid', [
        ('XSETID', 'nokey', '1-1', ('err', 'ERR no such key')),
        ('XADD', 's', '5-1', 'a', '1', b'5-1'),
        ('XADD', 's', '6-1', 'a', '1', b'6-1'),
        ('XSETID', 's', '1', ('err', 'ERR The ID specified in XSETID is smaller than the target stream top item')),
        ('XSETID', 's', '6', ('err', 'ERR The ID specified in XSETID is smaller than the target stream top item')),
        ('XSETID', 's', '6-1', b'OK'),
        ('XSETID', 's', '10-0', b'OK'),
        ('XSETID', 's', '-', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XSETID', 's', 'x', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XSETID', 's', '10-0', 'ENTRIESADDED', '-1', ('err', 'ERR entries_added must be positive')),
        ('XSETID', 's', '10-0', 'ENTRIESADDED', '1', ('err', 'ERR The entries_added specified in XSETID is smaller than the target stream length')),
        ('XSETID', 's', '10-0', 'ENTRIESADDED', 'x', ('err', 'ERR value is not an integer or out of range')),
        ('XSETID', 's', '10-0', 'ENTRIESADDED', ('err', 'ERR syntax error')),
        ('XSETID', 's', '10-0', 'MAXDELETEDID', '11-0', ('err', 'ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id')),
        ('XSETID', 's', '10-0', 'MAXDELETEDID', '9-0', 'ENTRIESADDED', '7', b'OK'),
        ('XINFO', 'STREAM', 's', [b'length', 2, b'radix-tree-keys', 1, b'radix-tree-nodes', 2, b'last-generated-id', b'10-0', b'max-deleted-entry-id', b'9-0', b'entries-added', 7, b'recorded-first-entry-id', b'5-1', b'groups', 0, b'first-entry', [b'5-1', [b'a', b'1']], b'last-entry', [b'6-1', [b'a', b'1']]]),
        ('XSETID', 's', '8-0', b'OK'),
        ('XSETID', 's', '10-0', 'FOO', '1', ('err', 'ERR syntax error')),
        ('XDEL', 's', '5-1', '6-1', 2),
        ('XSETID', 's', '1-0', b'OK'),
        ('XSETID', 's', '9-0', b'OK'),
        ('XINFO', 'STREAM', 's', [b'length', 0, b'radix-tree-keys', 0, b'radix-tree-nodes', 1, b'last-generated-id', b'9-0', b'max-deleted-entry-id', b'9-0', b'entries-added', 7, b'recorded-first-entry-id', b'0-0', b'groups', 0, b'first-entry', None, b'last-entry', None]),
        ('XADD', 's', '8-*', 'a', '1', ('err', 'ERR The ID specified in XADD is equal or smaller than the target stream top item')),
        ('XADD', 's', '9-*', 'a', '1', b'9-1'),
        ('XADD', 's', '11-*', 'a', '1', b'11-0'),
    ]),
    ('xread', [
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('XADD', 's', '2-1', 'b', '2', b'2-1'),
        ('XADD', 't', '1-1', 'c', '3', b'1-1'),
        ('XREAD', 'STREAMS', 's', '0', [[b's', [[b'1-1', [b'a', b'1']], [b'2-1', [b'b', b'2']]]]]),
        ('XREAD', 'COUNT', '1', 'STREAMS', 's', 't', '0', '0', [[b's', [[b'1-1', [b'a', b'1']]]], [b't', [[b'1-1', [b'c', b'3']]]]]),
        ('XREAD', 'STREAMS', 's', 't', '1-1', '1-1', [[b's', [[b'2-1', [b'b', b'2']]]]]),
        ('XREAD', 'STREAMS', 's', 'nokey', '0', '0', [[b's', [[b'1-1', [b'a', b'1']], [b'2-1', [b'b', b'2']]]]]),
        ('XREAD', 'STREAMS', 's', '$', None),
        ('XREAD', 'STREAMS', 'nokey', '$', None),
        ('XREAD', 'STREAMS', 's', '2-1', None),
        ('XREAD', 'STREAMS', 's', '2', [[b's', [[b'2-1', [b'b', b'2']]]]]),
        ('XREAD', 'STREAMS', 's', '-', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XREAD', 'STREAMS', 's', '+', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XREAD', 'STREAMS', 's', '>', ('err', 'ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.')),
        ('XREAD', 'STREAMS', 's', '0', '1', ('err', "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")),
        ('XREAD', 'GROUP', 'g', 'c', 'STREAMS', 's', '0', ('err', 'ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.')),
        ('XREAD', 'NOACK', 'STREAMS', 's', '0', ('err', 'ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.')),
        ('XREAD', 'BLOCK', '-1', 'STREAMS', 's', '0', ('err', 'ERR timeout is negative')),
        ('XREAD', 'BLOCK', '1.5', 'STREAMS', 's', '0', ('err', 'ERR timeout is not an integer or out of range')),
        ('XREAD', 'BLOCK', 'x', 'STREAMS', 's', '0', ('err', 'ERR timeout is not an integer or out of range')),
        ('XREAD', 'COUNT', 'x', 'STREAMS', 's', '0', ('err', 'ERR value is not an integer or out of range')),
        ('XREAD', 'COUNT', '-5', 'STREAMS', 's', '1', [[b's', [[b'1-1', [b'a', b'1']], [b'2-1', [b'b', b'2']]]]]),
        ('XREAD', 'COUNT', '0', 'STREAMS', 's', '0', [[b's', [[b'1-1', [b'a', b'1']], [b'2-1', [b'b', b'2']]]]]),
        ('XREAD', 'FOO', 'STREAMS', 's', '0', ('err', 'ERR syntax error')),
        ('XREAD', 'STREAMS', ('err', "ERR wrong number of arguments for 'xread' command")),
        ('XREAD', 'COUNT', '1', 'BLOCK', '1', 's', '0', ('err', 'ERR syntax error')),
        ('XREAD', 'COUNT', '1', 's', '0', 'x', ('err', 'ERR syntax error')),
        ('XREAD', 'streams', 's', '0', [[b's', [[b'1-1', [b'a', b'1']], [b'2-1', [b'b', b'2']]]]]),
        ('XREAD', 'STREAMS', 's', 'STREAMS', '0', '0', [[b's', [[b'1-1', [b'a', b'1']], [b'2-1', [b'b', b'2']]]]]),
        ('XREAD', 'BLOCK', '10', 'STREAMS', 's', '0', [[b's', [[b'1-1', [b'a', b'1']], [b'2-1', [b'b', b'2']]]]]),
        ('MULTI', b'OK'),
        ('XREAD', 'BLOCK', '0', 'STREAMS', 's', '2-1', b'QUEUED'),
        ('XREAD', 'BLOCK', '0', 'STREAMS', 's', '0', b'QUEUED'),
        ('EXEC', [None, [[b's', [[b'1-1', [b'a', b'1']], [b'2-1', [b'b', b'2']]]]]]),
    ]),
    ('groups create', [
        ('XGROUP', 'CREATE', 'nokey', 'g', '0', ('err', 'ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.')),
        ('XGROUP', 'CREATE', 'nokey', 'g', '$', 'MKSTREAM', b'OK'),
        ('XLEN', 'nokey', 0),
        ('XINFO', 'GROUPS', 'nokey', [[b'name', b'g', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'0-0', b'entries-read', None, b'lag', 0]]),
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('XADD', 's', '2-1', 'b', '2', b'2-1'),
        ('XADD', 's', '3-1', 'c', '3', b'3-1'),
        ('XGROUP', 'CREATE', 's', 'g', '0', b'OK'),
        ('XGROUP', 'CREATE', 's', 'g', '0', ('err', 'BUSYGROUP Consumer Group name already exists')),
        ('XGROUP', 'CREATE', 's', 'g2', '$', 'ENTRIESREAD', '-2', ('err', 'ERR value for ENTRIESREAD must be positive or -1')),
        ('XGROUP', 'CREATE', 's', 'g2', '$', 'ENTRIESREAD', 'x', ('err', 'ERR value is not an integer or out of range')),
        ('XGROUP', 'CREATE', 's', 'g2', '$', 'ENTRIESREAD', '5', 'MKSTREAM', 'foo', ('err', "ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.")),
        ('XGROUP', 'CREATE', 's', 'g2', '$', 'ENTRIESREAD', ('err', "ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.")),
        ('XGROUP', 'CREATE', 's', 'g2', '$', 'FOO', ('err', "ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.")),
        ('XGROUP', 'CREATE', 's', 'g3', '-', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XGROUP', 'CREATE', 's', 'g4', '+', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XGROUP', 'CREATE', 's', 'g5', 'x', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XGROUP', 'CREATE', 's', 'g6', '2-1', 'ENTRIESREAD', '2', b'OK'),
        ('XGROUP', 'CREATE', 's', 'g7', '$', 'MKSTREAM', 'ENTRIESREAD', '3', b'OK'),
        ('XGROUP', 'CREATE', 's', 'g8', '1', b'OK'),
        ('XGROUP', 'SETID', 's', 'nog', '0', ('err', "NOGROUP No such consumer group 'nog' for key name 's'")),
        ('XGROUP', 'SETID', 'nokey2', 'g', '0', ('err', 'ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.')),
        ('XGROUP', 'SETID', 's', 'g', '0', 'MKSTREAM', ('err', "ERR unknown subcommand or wrong number of arguments for 'SETID'. Try XGROUP HELP.")),
        ('XGROUP', 'SETID', 's', 'g', '0', 'ENTRIESREAD', '1', 'ENTRIESREAD', '2', ('err', "ERR unknown subcommand or wrong number of arguments for 'SETID'. Try XGROUP HELP.")),
        ('XGROUP', 'SETID', 's', 'g', 'x', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XGROUP', 'SETID', 's', 'g2', '-', ('err', "NOGROUP No such consumer group 'g2' for key name 's'")),
        ('XGROUP', 'SETID', 's', 'g6', '+', b'OK'),
        ('XGROUP', 'SETID', 's', 'g8', '$', b'OK'),
        ('XGROUP', 'SETID', 's', 'g7', '2', 'ENTRIESREAD', '1', b'OK'),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'0-0', b'entries-read', None, b'lag', 3], [b'name', b'g6', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'18446744073709551615-18446744073709551615', b'entries-read', None, b'lag', None], [b'name', b'g7', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'2-0', b'entries-read', 1, b'lag', 2], [b'name', b'g8', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'3-1', b'entries-read', None, b'lag', 0]]),
        ('XGROUP', 'FOO', 's', 'g', ('err', "ERR unknown subcommand 'FOO'. Try XGROUP HELP.")),
        ('XGROUP', 'DESTROY', 's', ('err', "ERR wrong number of arguments for 'xgroup|destroy' command")),
        ('XGROUP', 'DESTROY', 's', 'g', 1),
        ('XGROUP', 'DESTROY', 's', 'g', 0),
        ('XGROUP', 'DESTROY', 'nokey3', 'g', ('err', 'ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.')),
        ('XGROUP', 'CREATECONSUMER', 's', 'g6', 'c1', 1),
        ('XGROUP', 'CREATECONSUMER', 's', 'g6', 'c1', 0),
        ('XGROUP', 'CREATECONSUMER', 's', 'nog', 'c1', ('err', "NOGROUP No such consumer group 'nog' for key name 's'")),
        ('XGROUP', 'DELCONSUMER', 's', 'g6', 'c1', 0),
        ('XGROUP', 'DELCONSUMER', 's', 'g6', 'c1', 0),
        ('XGROUP', 'DELCONSUMER', 's', 'nog', 'c1', ('err', "NOGROUP No such consumer group 'nog' for key name 's'")),
        ('XGROUP', 'CREATE', 's', 'g9', ('err', "ERR wrong number of arguments for 'xgroup|create' command")),
        ('XGROUP', ('err', "ERR wrong number of arguments for 'xgroup' command")),
        ('XGROUP', 'HELP', [b'XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', b'CREATE <key> <groupname> <id|$> [option]', b'    Create a new consumer group. Options are:', b'    * MKSTREAM', b'      Create the empty stream if it does not exist.', b'    * ENTRIESREAD entries_read', b"      Set the group's entries_read counter (internal use).", b'CREATECONSUMER <key> <groupname> <consumer>', b'    Create a new consumer in the specified group.', b'DELCONSUMER <key> <groupname> <consumer>', b'    Remove the specified consumer.', b'DESTROY <key> <groupname>', b'    Remove the specified group.', b'SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]', b'    Set the current group ID and entries_read counter.', b'HELP', b'    Prints this help.']),
        ('XGROUP', 'HELP', 'x', ('err', "ERR wrong number of arguments for 'xgroup|help' command")),
        ('XINFO', 'HELP', [b'XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', b'CONSUMERS <key> <groupname>', b'    Show consumers of <groupname>.', b'GROUPS <key>', b'    Show the stream consumer groups.', b'STREAM <key> [FULL [COUNT <count>]', b'    Show information about the stream.', b'HELP', b'    Prints this help.']),
        ('XINFO', ('err', "ERR wrong number of arguments for 'xinfo' command")),
        ('XINFO', 'FOO', ('err', "ERR unknown subcommand 'FOO'. Try XINFO HELP.")),
    ]),
    ('readgroup', [
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('XADD', 's', '2-1', 'b', '2', b'2-1'),
        ('XADD', 's', '3-1', 'c', '3', b'3-1'),
        ('XGROUP', 'CREATE', 's', 'g', '0', b'OK'),
        ('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '2', 'STREAMS', 's', '>', [[b's', [[b'1-1', [b'a', b'1']], [b'2-1', [b'b', b'2']]]]]),
        ('XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', 's', '0', [[b's', [[b'1-1', [b'a', b'1']], [b'2-1', [b'b', b'2']]]]]),
        ('XREADGROUP', 'GROUP', 'g', 'c2', 'STREAMS', 's', '0', [[b's', []]]),
        ('XREADGROUP', 'GROUP', 'g', 'c2', 'STREAMS', 's', '>', [[b's', [[b'3-1', [b'c', b'3']]]]]),
        ('XREADGROUP', 'GROUP', 'g', 'c2', 'STREAMS', 's', '>', None),
        ('XREADGROUP', 'GROUP', 'g', 'c3', 'NOACK', 'STREAMS', 's', '0', [[b's', []]]),
        ('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '1', 'STREAMS', 's', '1-1', [[b's', [[b'2-1', [b'b', b'2']]]]]),
        ('XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', 's', '$', ('err', 'ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.')),
        ('XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', 's', ('err', "ERR wrong number of arguments for 'xreadgroup' command")),
        ('XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', 's', '>', '0', ('err', "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")),
        ('XREADGROUP', 'GROUP', 'nog', 'c1', 'STREAMS', 's', '>', ('err', "NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option")),
        ('XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', 'nokey', '>', ('err', "NOGROUP No such key 'nokey' or consumer group 'g' in XREADGROUP with GROUP option")),
        ('XREADGROUP', 'STREAMS', 's', '0', 'x', 'x', ('err', "ERR wrong number of arguments for 'xreadgroup' command")),
        ('XREADGROUP', 'GROUP', 'g', 'STREAMS', 's', '0', ('err', "ERR wrong number of arguments for 'xreadgroup' command")),
        ('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', 'x', 'STREAMS', 's', '>', ('err', 'ERR value is not an integer or out of range')),
        ('XREADGROUP', 'GROUP', 'g', 'c1', 'BLOCK', '-1', 'STREAMS', 's', '>', ('err', 'ERR timeout is negative')),
        ('XREADGROUP', 'GROUP', 'g', 'c1', 'FOO', 'STREAMS', 's', '>', ('err', 'ERR syntax error')),
        ('XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', 's', 'x', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XPENDING', 's', 'g', [3, b'1-1', b'3-1', [[b'c1', b'2'], [b'c2', b'1']]]),
        ('XPENDING', 's', 'g', '-', '+', '10', 'c1', [[b'1-1', b'c1', 'time', 2], [b'2-1', b'c1', 'time', 3]]),
        ('XPENDING', 's', 'g', '-', '+', '10', 'c9', []),
        ('XDEL', 's', '1-1', 1),
        ('XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', 's', '0', [[b's', [[b'1-1', None], [b'2-1', [b'b', b'2']]]]]),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 3, b'pending', 3, b'last-delivered-id', b'3-1', b'entries-read', 3, b'lag', 0]]),
        ('XINFO', 'CONSUMERS', 's', 'g', [[b'name', b'c1', b'pending', 2, b'idle', 'time'], [b'name', b'c2', b'pending', 1, b'idle', 'time'], [b'name', b'c3', b'pending', 0, b'idle', 'time']]),
        ('XADD', 's', '4-1', 'd', '4', b'4-1'),
        ('XREADGROUP', 'GROUP', 'g', 'c4', 'NOACK', 'STREAMS', 's', '>', [[b's', [[b'4-1', [b'd', b'4']]]]]),
        ('XPENDING', 's', 'g', [3, b'1-1', b'3-1', [[b'c1', b'2'], [b'c2', b'1']]]),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 4, b'pending', 3, b'last-delivered-id', b'4-1', b'entries-read', 4, b'lag', 0]]),
        ('XGROUP', 'SETID', 's', 'g', '0', b'OK'),
        ('XREADGROUP', 'GROUP', 'g', 'c4', 'STREAMS', 's', '>', [[b's', [[b'2-1', [b'b', b'2']], [b'3-1', [b'c', b'3']], [b'4-1', [b'd', b'4']]]]]),
        ('XPENDING', 's', 'g', [4, b'1-1', b'4-1', [[b'c1', b'1'], [b'c4', b'3']]]),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 4, b'pending', 4, b'last-delivered-id', b'4-1', b'entries-read', 4, b'lag', 0]]),
        ('MULTI', b'OK'),
        ('XREADGROUP', 'GROUP', 'g', 'c5', 'BLOCK', '0', 'STREAMS', 's', '>', b'QUEUED'),
        ('EXEC', [None]),
    ]),
    ('ack and pending', [
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('XADD', 's', '2-1', 'b', '2', b'2-1'),
        ('XADD', 's', '3-1', 'c', '3', b'3-1'),
        ('XACK', 's', 'g', '1-1', 0),
        ('XACK', 'nokey', 'g', '1-1', 0),
        ('XGROUP', 'CREATE', 's', 'g', '0', b'OK'),
        ('XACK', 's', 'g', '1-1', 0),
        ('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '1', 'STREAMS', 's', '>', [[b's', [[b'1-1', [b'a', b'1']]]]]),
        ('XREADGROUP', 'GROUP', 'g', 'c2', 'STREAMS', 's', '>', [[b's', [[b'2-1', [b'b', b'2']], [b'3-1', [b'c', b'3']]]]]),
        ('XACK', 's', 'g', 'bad', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XACK', 's', 'g', '1-1', 'bad', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XACK', 's', 'g', '-', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XACK', 's', 'g', '1-1', '1-1', '9-9', 1),
        ('XACK', 's', 'g', '1', 0),
        ('XPENDING', 's', 'g', [2, b'2-1', b'3-1', [[b'c2', b'2']]]),
        ('XPENDING', 's', 'g', '-', '+', '10', [[b'2-1', b'c2', 'time', 1], [b'3-1', b'c2', 'time', 1]]),
        ('XPENDING', 's', 'g', '(2-1', '+', '10', [[b'3-1', b'c2', 'time', 1]]),
        ('XPENDING', 's', 'g', '-', '(3-1', '10', [[b'2-1', b'c2', 'time', 1]]),
        ('XPENDING', 's', 'g', '-', '+', '0', []),
        ('XPENDING', 's', 'g', '-', '+', '-1', []),
        ('XPENDING', 's', 'g', '-', '+', '1', [[b'2-1', b'c2', 'time', 1]]),
        ('XPENDING', 's', 'g', '-', '+', 'x', ('err', 'ERR value is not an integer or out of range')),
        ('XPENDING', 's', 'g', 'x', '+', '1', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XPENDING', 's', 'g', '-', '+', '10', 'c2', 'extra', [[b'2-1', b'c2', 'time', 1], [b'3-1', b'c2', 'time', 1]]),
        ('XPENDING', 's', 'g', '-', '+', ('err', 'ERR syntax error')),
        ('XPENDING', 's', 'g', '-', '+', '10', 'c1', 'x', 'y', 'z', ('err', 'ERR syntax error')),
        ('XPENDING', 's', 'g', 'IDLE', '5', '-', '+', ('err', 'ERR syntax error')),
        ('XPENDING', 's', 'g', 'IDLE', 'x', '-', '+', '1', ('err', 'ERR value is not an integer or out of range')),
        ('XPENDING', 's', 'g', 'IDLE', '0', '-', '+', '10', [[b'2-1', b'c2', 'time', 1], [b'3-1', b'c2', 'time', 1]]),
        ('XPENDING', 's', 'g', 'IDLE', '0', '-', '+', '10', 'c2', [[b'2-1', b'c2', 'time', 1], [b'3-1', b'c2', 'time', 1]]),
        ('XPENDING', 's', 'g', 'idle', '999999', '-', '+', '10', []),
        ('XPENDING', 'nokey', 'g', ('err', "NOGROUP No such key 'nokey' or consumer group 'g'")),
        ('XPENDING', 's', 'nog', ('err', "NOGROUP No such key 's' or consumer group 'nog'")),
        ('XPENDING', 's', 'nog', '-', '+', '1', ('err', "NOGROUP No such key 's' or consumer group 'nog'")),
        ('XPENDING', 's', 'nog', '-', '+', 'x', ('err', 'ERR value is not an integer or out of range')),
        ('XPENDING', 's', 'g', '(18446744073709551615-18446744073709551615', '+', '1', ('err', 'ERR invalid start ID for the interval')),
        ('XACK', 's', 'g', '2-1', '3-1', 2),
        ('XPENDING', 's', 'g', [0, None, None, None]),
    ]),
    ('claim', [
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('XADD', 's', '2-1', 'b', '2', b'2-1'),
        ('XADD', 's', '3-1', 'c', '3', b'3-1'),
        ('XADD', 's', '4-1', 'd', '4', b'4-1'),
        ('XCLAIM', 's', 'g', 'c', '0', '1-1', ('err', "NOGROUP No such key 's' or consumer group 'g'")),
        ('XGROUP', 'CREATE', 's', 'g', '0', b'OK'),
        ('XCLAIM', 's', 'g', 'c', 'x', '1-1', ('err', 'ERR Invalid min-idle-time argument for XCLAIM')),
        ('XCLAIM', 's', 'g', 'c', '0', '1-1', []),
        ('XINFO', 'CONSUMERS', 's', 'g', []),
        ('XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', 's', '>', [[b's', [[b'1-1', [b'a', b'1']], [b'2-1', [b'b', b'2']], [b'3-1', [b'c', b'3']], [b'4-1', [b'd', b'4']]]]]),
        ('XCLAIM', 's', 'g', 'c2', '0', '1-1', '2-1', '9-9', [[b'1-1', [b'a', b'1']], [b'2-1', [b'b', b'2']]]),
        ('XCLAIM', 's', 'g', 'c2', '0', '1-1', 'JUSTID', [b'1-1']),
        ('XCLAIM', 's', 'g', 'c3', '0', '3-1', 'RETRYCOUNT', '7', 'JUSTID', [b'3-1']),
        ('XCLAIM', 's', 'g', 'c3', '0', '3-1', 'RETRYCOUNT', 'x', ('err', 'ERR Invalid RETRYCOUNT option argument for XCLAIM')),
        ('XCLAIM', 's', 'g', 'c3', '0', '3-1', 'IDLE', 'x', ('err', 'ERR Invalid IDLE option argument for XCLAIM')),
        ('XCLAIM', 's', 'g', 'c3', '0', '3-1', 'TIME', 'x', ('err', 'ERR Invalid TIME option argument for XCLAIM')),
        ('XCLAIM', 's', 'g', 'c3', '0', '3-1', 'LASTID', 'x', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XCLAIM', 's', 'g', 'c3', '0', '3-1', 'FOO', ('err', "ERR Unrecognized XCLAIM option 'FOO'")),
        ('XCLAIM', 's', 'g', 'c3', '0', '3-1', 'IDLE', ('err', "ERR Unrecognized XCLAIM option 'IDLE'")),
        ('XCLAIM', 's', 'g', 'c3', '0', 'x', ('err', "ERR Unrecognized XCLAIM option 'x'")),
        ('XCLAIM', 's', 'g', 'c3', '0', 'FORCE', []),
        ('XCLAIM', 's', 'g', 'c3', '999999999', '1-1', '2-1', []),
        ('XPENDING', 's', 'g', '-', '+', '10', [[b'1-1', b'c2', 'time', 2], [b'2-1', b'c2', 'time', 2], [b'3-1', b'c3', 'time', 7], [b'4-1', b'c1', 'time', 1]]),
        ('XDEL', 's', '4-1', 1),
        ('XCLAIM', 's', 'g', 'c3', '0', '4-1', 'JUSTID', []),
        ('XPENDING', 's', 'g', [3, b'1-1', b'3-1', [[b'c2', b'2'], [b'c3', b'1']]]),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 3, b'pending', 3, b'last-delivered-id', b'4-1', b'entries-read', 4, b'lag', 0]]),
        ('XADD', 's', '5-1', 'e', '5', b'5-1'),
        ('XCLAIM', 's', 'g', 'c4', '0', '5-1', []),
        ('XCLAIM', 's', 'g', 'c4', '0', '5-1', 'FORCE', 'RETRYCOUNT', '3', 'JUSTID', [b'5-1']),
        ('XPENDING', 's', 'g', '-', '+', '10', [[b'1-1', b'c2', 'time', 2], [b'2-1', b'c2', 'time', 2], [b'3-1', b'c3', 'time', 7], [b'5-1', b'c4', 'time', 3]]),
        ('XCLAIM', 's', 'g', 'c4', '0', '5-1', 'LASTID', '9-9', [[b'5-1', [b'e', b'5']]]),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 4, b'pending', 4, b'last-delivered-id', b'9-9', b'entries-read', 4, b'lag', 1]]),
        ('XCLAIM', 's', 'g', 'c4', '0', '1-1', 'LASTID', '10-9', 'JUSTID', [b'1-1']),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 4, b'pending', 4, b'last-delivered-id', b'10-9', b'entries-read', 4, b'lag', 1]]),
        ('XINFO', 'CONSUMERS', 's', 'g', [[b'name', b'c1', b'pending', 0, b'idle', 'time'], [b'name', b'c2', b'pending', 1, b'idle', 'time'], [b'name', b'c3', b'pending', 1, b'idle', 'time'], [b'name', b'c4', b'pending', 2, b'idle', 'time']]),
    ]),
    ('autoclaim', [
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('XADD', 's', '2-1', 'b', '2', b'2-1'),
        ('XADD', 's', '3-1', 'c', '3', b'3-1'),
        ('XADD', 's', '4-1', 'd', '4', b'4-1'),
        ('XAUTOCLAIM', 's', 'g', 'c', '0', '0', ('err', "NOGROUP No such key 's' or consumer group 'g'")),
        ('XGROUP', 'CREATE', 's', 'g', '0', b'OK'),
        ('XAUTOCLAIM', 's', 'g', 'c', '0', '0', [b'0-0', [], []]),
        ('XAUTOCLAIM', 's', 'g', 'c', 'x', '0', ('err', 'ERR Invalid min-idle-time argument for XAUTOCLAIM')),
        ('XAUTOCLAIM', 's', 'g', 'c', '0', 'x', ('err', 'ERR Invalid stream ID specified as stream command argument')),
        ('XAUTOCLAIM', 's', 'g', 'c', '0', '0', 'COUNT', '0', ('err', 'ERR COUNT must be > 0')),
        ('XAUTOCLAIM', 's', 'g', 'c', '0', '0', 'COUNT', 'x', ('err', 'ERR COUNT must be > 0')),
        ('XAUTOCLAIM', 's', 'g', 'c', '0', '0', 'COUNT', '-1', ('err', 'ERR COUNT must be > 0')),
        ('XAUTOCLAIM', 's', 'g', 'c', '0', '0', 'COUNT', '922337203685477581', ('err', 'ERR COUNT must be > 0')),
        ('XAUTOCLAIM', 's', 'g', 'c', '0', '0', 'FOO', ('err', 'ERR syntax error')),
        ('XAUTOCLAIM', 's', 'g', 'c', '0', '0', 'COUNT', ('err', 'ERR syntax error')),
        ('XAUTOCLAIM', 's', 'g', 'c', '0', '(18446744073709551615-18446744073709551615', ('err', 'ERR invalid start ID for the interval')),
        ('XAUTOCLAIM', 's', 'nog', 'c', '0', '0', ('err', "NOGROUP No such key 's' or consumer group 'nog'")),
        ('XAUTOCLAIM', 'nokey', 'g', 'c', '0', '0', ('err', "NOGROUP No such key 'nokey' or consumer group 'g'")),
        ('XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', 's', '>', [[b's', [[b'1-1', [b'a', b'1']], [b'2-1', [b'b', b'2']], [b'3-1', [b'c', b'3']], [b'4-1', [b'd', b'4']]]]]),
        ('XAUTOCLAIM', 's', 'g', 'c2', '0', '0', 'COUNT', '2', [b'3-1', [[b'1-1', [b'a', b'1']], [b'2-1', [b'b', b'2']]], []]),
        ('XAUTOCLAIM', 's', 'g', 'c2', '0', '3-1', 'COUNT', '2', 'JUSTID', [b'0-0', [b'3-1', b'4-1'], []]),
        ('XAUTOCLAIM', 's', 'g', 'c2', '999999999', '0', [b'0-0', [], []]),
        ('XDEL', 's', '2-1', '3-1', 2),
        ('XAUTOCLAIM', 's', 'g', 'c3', '0', '0', 'COUNT', '1', [b'2-1', [[b'1-1', [b'a', b'1']]], []]),
        ('XAUTOCLAIM', 's', 'g', 'c3', '0', '0', [b'0-0', [[b'1-1', [b'a', b'1']], [b'4-1', [b'd', b'4']]], [b'2-1', b'3-1']]),
        ('XPENDING', 's', 'g', '-', '+', '10', [[b'1-1', b'c3', 'time', 4], [b'4-1', b'c3', 'time', 2]]),
        ('XINFO', 'CONSUMERS', 's', 'g', [[b'name', b'c1', b'pending', 0, b'idle', 'time'], [b'name', b'c2', b'pending', 0, b'idle', 'time'], [b'name', b'c3', b'pending', 2, b'idle', 'time']]),
        ('XAUTOCLAIM', 's', 'g', 'c3', '0', '(1-1', 'JUSTID', [b'0-0', [b'4-1'], []]),
        ('XAUTOCLAIM', 's', 'g', 'c3', '0', '-', 'JUSTID', [b'0-0', [b'1-1', b'4-1'], []]),
    ]),
    ('info', [
        ('XADD', 's', '1-1', 'a', '1', 'b', '2', b'1-1'),
        ('XADD', 's', '2-1', 'a', '3', 'b', '4', b'2-1'),
        ('XADD', 's', '3-1', 'c', '5', b'3-1'),
        ('XINFO', 'STREAM', 's', [b'length', 3, b'radix-tree-keys', 1, b'radix-tree-nodes', 2, b'last-generated-id', b'3-1', b'max-deleted-entry-id', b'0-0', b'entries-added', 3, b'recorded-first-entry-id', b'1-1', b'groups', 0, b'first-entry', [b'1-1', [b'a', b'1', b'b', b'2']], b'last-entry', [b'3-1', [b'c', b'5']]]),
        ('XINFO', 'STREAM', 's', 'FULL', [b'length', 3, b'radix-tree-keys', 1, b'radix-tree-nodes', 2, b'last-generated-id', b'3-1', b'max-deleted-entry-id', b'0-0', b'entries-added', 3, b'recorded-first-entry-id', b'1-1', b'entries', [[b'1-1', [b'a', b'1', b'b', b'2']], [b'2-1', [b'a', b'3', b'b', b'4']], [b'3-1', [b'c', b'5']]], b'groups', []]),
        ('XINFO', 'STREAM', 's', 'FULL', 'COUNT', '1', [b'length', 3, b'radix-tree-keys', 1, b'radix-tree-nodes', 2, b'last-generated-id', b'3-1', b'max-deleted-entry-id', b'0-0', b'entries-added', 3, b'recorded-first-entry-id', b'1-1', b'entries', [[b'1-1', [b'a', b'1', b'b', b'2']]], b'groups', []]),
        ('XINFO', 'STREAM', 's', 'FULL', 'COUNT', '0', [b'length', 3, b'radix-tree-keys', 1, b'radix-tree-nodes', 2, b'last-generated-id', b'3-1', b'max-deleted-entry-id', b'0-0', b'entries-added', 3, b'recorded-first-entry-id', b'1-1', b'entries', [[b'1-1', [b'a', b'1', b'b', b'2']], [b'2-1', [b'a', b'3', b'b', b'4']], [b'3-1', [b'c', b'5']]], b'groups', []]),
        ('XINFO', 'STREAM', 's', 'FULL', 'COUNT', '-1', [b'length', 3, b'radix-tree-keys', 1, b'radix-tree-nodes', 2, b'last-generated-id', b'3-1', b'max-deleted-entry-id', b'0-0', b'entries-added', 3, b'recorded-first-entry-id', b'1-1', b'entries', [[b'1-1', [b'a', b'1', b'b', b'2']], [b'2-1', [b'a', b'3', b'b', b'4']], [b'3-1', [b'c', b'5']]], b'groups', []]),
        ('XINFO', 'STREAM', 's', 'FULL', 'COUNT', 'x', ('err', 'ERR value is not an integer or out of range')),
        ('XINFO', 'STREAM', 's', 'FULL', 'x', ('err', "ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.")),
        ('XINFO', 'STREAM', 's', 'x', ('err', "ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.")),
        ('XINFO', 'STREAM', 's', 'FULL', 'COUNT', '1', 'x', ('err', "ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.")),
        ('XINFO', 'STREAM', 'nokey', ('err', 'ERR no such key')),
        ('XINFO', 'STREAM', 'nokey', 'FULL', 'x', ('err', 'ERR no such key')),
        ('XINFO', 'GROUPS', 'nokey', ('err', 'ERR no such key')),
        ('XINFO', 'GROUPS', 's', []),
        ('XINFO', 'CONSUMERS', 'nokey', 'g', ('err', 'ERR no such key')),
        ('XINFO', 'CONSUMERS', 's', 'nog', ('err', "NOGROUP No such consumer group 'nog' for key name 's'")),
        ('XGROUP', 'CREATE', 's', 'g2', '0', b'OK'),
        ('XGROUP', 'CREATE', 's', 'g1', '$', b'OK'),
        ('XGROUP', 'CREATE', 's', 'g10', '1-1', b'OK'),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g1', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'3-1', b'entries-read', None, b'lag', 0], [b'name', b'g10', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'1-1', b'entries-read', None, b'lag', 2], [b'name', b'g2', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'0-0', b'entries-read', None, b'lag', 3]]),
        ('XGROUP', 'CREATECONSUMER', 's', 'g1', 'b', 1),
        ('XGROUP', 'CREATECONSUMER', 's', 'g1', 'a', 1),
        ('XGROUP', 'CREATECONSUMER', 's', 'g1', 'aa', 1),
        ('XINFO', 'STREAM', 's', 'FULL', [b'length', 3, b'radix-tree-keys', 1, b'radix-tree-nodes', 2, b'last-generated-id', b'3-1', b'max-deleted-entry-id', b'0-0', b'entries-added', 3, b'recorded-first-entry-id', b'1-1', b'entries', [[b'1-1', [b'a', b'1', b'b', b'2']], [b'2-1', [b'a', b'3', b'b', b'4']], [b'3-1', [b'c', b'5']]], b'groups', [[b'name', b'g1', b'last-delivered-id', b'3-1', b'entries-read', None, b'lag', 0, b'pel-count', 0, b'pending', [], b'consumers', [[b'name', b'a', b'seen-time', 'time', b'pel-count', 0, b'pending', []], [b'name', b'aa', b'seen-time', 'time', b'pel-count', 0, b'pending', []], [b'name', b'b', b'seen-time', 'time', b'pel-count', 0, b'pending', []]]], [b'name', b'g10', b'last-delivered-id', b'1-1', b'entries-read', None, b'lag', 2, b'pel-count', 0, b'pending', [], b'consumers', []], [b'name', b'g2', b'last-delivered-id', b'0-0', b'entries-read', None, b'lag', 3, b'pel-count', 0, b'pending', [], b'consumers', []]]]),
        ('XDEL', 's', '2-1', 1),
        ('XINFO', 'STREAM', 's', [b'length', 2, b'radix-tree-keys', 1, b'radix-tree-nodes', 2, b'last-generated-id', b'3-1', b'max-deleted-entry-id', b'2-1', b'entries-added', 3, b'recorded-first-entry-id', b'1-1', b'groups', 3, b'first-entry', [b'1-1', [b'a', b'1', b'b', b'2']], b'last-entry', [b'3-1', [b'c', b'5']]]),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g1', b'consumers', 3, b'pending', 0, b'last-delivered-id', b'3-1', b'entries-read', None, b'lag', 0], [b'name', b'g10', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'1-1', b'entries-read', None, b'lag', None], [b'name', b'g2', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'0-0', b'entries-read', None, b'lag', None]]),
        ('XADD', 'e', 'MAXLEN', '0', '1-1', 'a', '1', b'1-1'),
        ('XINFO', 'STREAM', 'e', [b'length', 0, b'radix-tree-keys', 0, b'radix-tree-nodes', 1, b'last-generated-id', b'1-1', b'max-deleted-entry-id', b'0-0', b'entries-added', 1, b'recorded-first-entry-id', b'0-0', b'groups', 0, b'first-entry', None, b'last-entry', None]),
        ('XINFO', 'STREAM', 'e', 'FULL', [b'length', 0, b'radix-tree-keys', 0, b'radix-tree-nodes', 1, b'last-generated-id', b'1-1', b'max-deleted-entry-id', b'0-0', b'entries-added', 1, b'recorded-first-entry-id', b'0-0', b'entries', [], b'groups', []]),
        ('XGROUP', 'CREATE', 'e', 'g', '0', b'OK'),
        ('XINFO', 'GROUPS', 'e', [[b'name', b'g', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'0-0', b'entries-read', None, b'lag', 0]]),
    ]),
    ('lag and entries read', [
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('XADD', 's', '2-1', 'a', '1', b'2-1'),
        ('XADD', 's', '3-1', 'a', '1', b'3-1'),
        ('XADD', 's', '4-1', 'a', '1', b'4-1'),
        ('XADD', 's', '5-1', 'a', '1', b'5-1'),
        ('XGROUP', 'CREATE', 's', 'g', '0', b'OK'),
        ('XGROUP', 'CREATE', 's', 'g2', '$', b'OK'),
        ('XGROUP', 'CREATE', 's', 'g3', '3-1', b'OK'),
        ('XGROUP', 'CREATE', 's', 'g4', '0', 'ENTRIESREAD', '2', b'OK'),
        ('XGROUP', 'CREATE', 's', 'g5', '9-1', b'OK'),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'0-0', b'entries-read', None, b'lag', 5], [b'name', b'g2', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'5-1', b'entries-read', None, b'lag', 0], [b'name', b'g3', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'3-1', b'entries-read', None, b'lag', None], [b'name', b'g4', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'0-0', b'entries-read', 2, b'lag', 3], [b'name', b'g5', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'9-1', b'entries-read', None, b'lag', None]]),
        ('XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '2', 'STREAMS', 's', '>', [[b's', [[b'1-1', [b'a', b'1']], [b'2-1', [b'a', b'1']]]]]),
        ('XREADGROUP', 'GROUP', 'g3', 'c', 'COUNT', '1', 'STREAMS', 's', '>', [[b's', [[b'4-1', [b'a', b'1']]]]]),
        ('XREADGROUP', 'GROUP', 'g4', 'c', 'COUNT', '1', 'STREAMS', 's', '>', [[b's', [[b'1-1', [b'a', b'1']]]]]),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 1, b'pending', 2, b'last-delivered-id', b'2-1', b'entries-read', 2, b'lag', 3], [b'name', b'g2', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'5-1', b'entries-read', None, b'lag', 0], [b'name', b'g3', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'4-1', b'entries-read', None, b'lag', None], [b'name', b'g4', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'1-1', b'entries-read', 3, b'lag', 2], [b'name', b'g5', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'9-1', b'entries-read', None, b'lag', None]]),
        ('XDEL', 's', '4-1', 1),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 1, b'pending', 2, b'last-delivered-id', b'2-1', b'entries-read', 2, b'lag', None], [b'name', b'g2', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'5-1', b'entries-read', None, b'lag', 0], [b'name', b'g3', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'4-1', b'entries-read', None, b'lag', None], [b'name', b'g4', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'1-1', b'entries-read', 3, b'lag', None], [b'name', b'g5', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'9-1', b'entries-read', None, b'lag', None]]),
        ('XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', 's', '>', [[b's', [[b'3-1', [b'a', b'1']]]]]),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 1, b'pending', 3, b'last-delivered-id', b'3-1', b'entries-read', None, b'lag', None], [b'name', b'g2', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'5-1', b'entries-read', None, b'lag', 0], [b'name', b'g3', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'4-1', b'entries-read', None, b'lag', None], [b'name', b'g4', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'1-1', b'entries-read', 3, b'lag', None], [b'name', b'g5', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'9-1', b'entries-read', None, b'lag', None]]),
        ('XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', 's', '>', [[b's', [[b'5-1', [b'a', b'1']]]]]),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 1, b'pending', 4, b'last-delivered-id', b'5-1', b'entries-read', 5, b'lag', 0], [b'name', b'g2', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'5-1', b'entries-read', None, b'lag', 0], [b'name', b'g3', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'4-1', b'entries-read', None, b'lag', None], [b'name', b'g4', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'1-1', b'entries-read', 3, b'lag', None], [b'name', b'g5', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'9-1', b'entries-read', None, b'lag', None]]),
        ('XDEL', 's', '1-1', 1),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 1, b'pending', 4, b'last-delivered-id', b'5-1', b'entries-read', 5, b'lag', 0], [b'name', b'g2', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'5-1', b'entries-read', None, b'lag', 0], [b'name', b'g3', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'4-1', b'entries-read', None, b'lag', None], [b'name', b'g4', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'1-1', b'entries-read', 3, b'lag', None], [b'name', b'g5', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'9-1', b'entries-read', None, b'lag', None]]),
        ('XTRIM', 's', 'MAXLEN', '1', 2),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 1, b'pending', 4, b'last-delivered-id', b'5-1', b'entries-read', 5, b'lag', 0], [b'name', b'g2', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'5-1', b'entries-read', None, b'lag', 0], [b'name', b'g3', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'4-1', b'entries-read', None, b'lag', 1], [b'name', b'g4', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'1-1', b'entries-read', 3, b'lag', 2], [b'name', b'g5', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'9-1', b'entries-read', None, b'lag', None]]),
        ('XADD', 's', '6-1', 'a', '1', b'6-1'),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 1, b'pending', 4, b'last-delivered-id', b'5-1', b'entries-read', 5, b'lag', 1], [b'name', b'g2', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'5-1', b'entries-read', None, b'lag', 1], [b'name', b'g3', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'4-1', b'entries-read', None, b'lag', 2], [b'name', b'g4', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'1-1', b'entries-read', 3, b'lag', 3], [b'name', b'g5', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'9-1', b'entries-read', None, b'lag', None]]),
        ('XREADGROUP', 'GROUP', 'g2', 'c', 'STREAMS', 's', '>', [[b's', [[b'6-1', [b'a', b'1']]]]]),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 1, b'pending', 4, b'last-delivered-id', b'5-1', b'entries-read', 5, b'lag', 1], [b'name', b'g2', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'6-1', b'entries-read', 6, b'lag', 0], [b'name', b'g3', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'4-1', b'entries-read', None, b'lag', 2], [b'name', b'g4', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'1-1', b'entries-read', 3, b'lag', 3], [b'name', b'g5', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'9-1', b'entries-read', None, b'lag', None]]),
        ('XDEL', 's', '5-1', '6-1', 2),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 1, b'pending', 4, b'last-delivered-id', b'5-1', b'entries-read', 5, b'lag', 1], [b'name', b'g2', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'6-1', b'entries-read', 6, b'lag', 0], [b'name', b'g3', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'4-1', b'entries-read', None, b'lag', 0], [b'name', b'g4', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'1-1', b'entries-read', 3, b'lag', 3], [b'name', b'g5', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'9-1', b'entries-read', None, b'lag', None]]),
        ('XGROUP', 'SETID', 's', 'g2', '0', b'OK'),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 1, b'pending', 4, b'last-delivered-id', b'5-1', b'entries-read', 5, b'lag', 1], [b'name', b'g2', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'0-0', b'entries-read', None, b'lag', 0], [b'name', b'g3', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'4-1', b'entries-read', None, b'lag', 0], [b'name', b'g4', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'1-1', b'entries-read', 3, b'lag', 3], [b'name', b'g5', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'9-1', b'entries-read', None, b'lag', None]]),
        ('XGROUP', 'SETID', 's', 'g2', '0', 'ENTRIESREAD', '3', b'OK'),
        ('XINFO', 'GROUPS', 's', [[b'name', b'g', b'consumers', 1, b'pending', 4, b'last-delivered-id', b'5-1', b'entries-read', 5, b'lag', 1], [b'name', b'g2', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'0-0', b'entries-read', 3, b'lag', 3], [b'name', b'g3', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'4-1', b'entries-read', None, b'lag', 0], [b'name', b'g4', b'consumers', 1, b'pending', 1, b'last-delivered-id', b'1-1', b'entries-read', 3, b'lag', 3], [b'name', b'g5', b'consumers', 0, b'pending', 0, b'last-delivered-id', b'9-1', b'entries-read', None, b'lag', None]]),
    ]),
    ('node max entries', [
        ('CONFIG', 'SET', 'stream-node-max-entries', '2', b'OK'),
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('XADD', 's', '2-1', 'a', '1', b'2-1'),
        ('XADD', 's', '3-1', 'a', '1', b'3-1'),
        ('XADD', 's', '4-1', 'a', '1', b'4-1'),
        ('XADD', 's', '5-1', 'a', '1', b'5-1'),
        ('XINFO', 'STREAM', 's', [b'length', 5, b'radix-tree-keys', 3, b'radix-tree-nodes', 8, b'last-generated-id', b'5-1', b'max-deleted-entry-id', b'0-0', b'entries-added', 5, b'recorded-first-entry-id', b'1-1', b'groups', 0, b'first-entry', [b'1-1', [b'a', b'1']], b'last-entry', [b'5-1', [b'a', b'1']]]),
        ('XADD', 's', 'MAXLEN', '~', '2', '6-1', 'a', '1', b'6-1'),
        ('XLEN', 's', 2),
        ('XINFO', 'STREAM', 's', [b'length', 2, b'radix-tree-keys', 1, b'radix-tree-nodes', 2, b'last-generated-id', b'6-1', b'max-deleted-entry-id', b'0-0', b'entries-added', 6, b'recorded-first-entry-id', b'5-1', b'groups', 0, b'first-entry', [b'5-1', [b'a', b'1']], b'last-entry', [b'6-1', [b'a', b'1']]]),
        ('XDEL', 's', '5-1', 1),
        ('XADD', 's', 'MAXLEN', '~', '1', '7-1', 'a', '1', b'7-1'),
        ('XLEN', 's', 1),
        ('XRANGE', 's', '-', '+', [[b'7-1', [b'a', b'1']]]),
        ('XINFO', 'STREAM', 's', [b'length', 1, b'radix-tree-keys', 1, b'radix-tree-nodes', 2, b'last-generated-id', b'7-1', b'max-deleted-entry-id', b'5-1', b'entries-added', 7, b'recorded-first-entry-id', b'7-1', b'groups', 0, b'first-entry', [b'7-1', [b'a', b'1']], b'last-entry', [b'7-1', [b'a', b'1']]]),
        ('XDEL', 's', '7-1', 1),
        ('XINFO', 'STREAM', 's', [b'length', 0, b'radix-tree-keys', 0, b'radix-tree-nodes', 1, b'last-generated-id', b'7-1', b'max-deleted-entry-id', b'7-1', b'entries-added', 7, b'recorded-first-entry-id', b'0-0', b'groups', 0, b'first-entry', None, b'last-entry', None]),
        ('XTRIM', 's', 'MINID', '~', '7', 0),
        ('XINFO', 'STREAM', 's', [b'length', 0, b'radix-tree-keys', 0, b'radix-tree-nodes', 1, b'last-generated-id', b'7-1', b'max-deleted-entry-id', b'7-1', b'entries-added', 7, b'recorded-first-entry-id', b'0-0', b'groups', 0, b'first-entry', None, b'last-entry', None]),
        ('XADD', 's', '8-1', 'a', '1', b'8-1'),
        ('XADD', 's', '9-1', 'a', '1', b'9-1'),
        ('XADD', 's', '10-1', 'a', '1', b'10-1'),
        ('XADD', 's', '11-1', 'a', '1', b'11-1'),
        ('XADD', 's', '12-1', 'a', '1', b'12-1'),
        ('XTRIM', 's', 'MAXLEN', '~', '0', 'LIMIT', '3', 2),
        ('XLEN', 's', 3),
        ('XTRIM', 's', 'MAXLEN', '~', '0', 'LIMIT', '4', 3),
        ('XLEN', 's', 0),
        ('XTRIM', 's', 'MAXLEN', '~', '0', 0),
        ('XLEN', 's', 0),
        ('XINFO', 'STREAM', 's', [b'length', 0, b'radix-tree-keys', 0, b'radix-tree-nodes', 1, b'last-generated-id', b'12-1', b'max-deleted-entry-id', b'7-1', b'entries-added', 12, b'recorded-first-entry-id', b'0-0', b'groups', 0, b'first-entry', None, b'last-entry', None]),
        ('CONFIG', 'SET', 'stream-node-max-entries', '100', b'OK'),
    ]),
    ('node max bytes', [
        ('CONFIG', 'SET', 'stream-node-max-bytes', '100', b'OK'),
        ('XADD', 's', '1-1', 'field', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', b'1-1'),
        ('XADD', 's', '2-1', 'field', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', b'2-1'),
        ('XADD', 's', '3-1', 'field', 'c', b'3-1'),
        ('XADD', 's', '4-1', 'other', '12345', b'4-1'),
        ('XADD', 's', '5-1', 'other', '1', b'5-1'),
        ('XADD', 's', '6-1', 'x', '1', b'6-1'),
        ('XADD', 's', '7-1', 'x', '1', b'7-1'),
        ('XINFO', 'STREAM', 's', [b'length', 7, b'radix-tree-keys', 3, b'radix-tree-nodes', 8, b'last-generated-id', b'7-1', b'max-deleted-entry-id', b'0-0', b'entries-added', 7, b'recorded-first-entry-id', b'1-1', b'groups', 0, b'first-entry', [b'1-1', [b'field', b'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']], b'last-entry', [b'7-1', [b'x', b'1']]]),
        ('XADD', 's', 'MAXLEN', '~', '3', '8-1', 'field', '1', b'8-1'),
        ('XLEN', 's', 4),
        ('XINFO', 'STREAM', 's', [b'length', 4, b'radix-tree-keys', 1, b'radix-tree-nodes', 2, b'last-generated-id', b'8-1', b'max-deleted-entry-id', b'0-0', b'entries-added', 8, b'recorded-first-entry-id', b'5-1', b'groups', 0, b'first-entry', [b'5-1', [b'other', b'1']], b'last-entry', [b'8-1', [b'field', b'1']]]),
        ('CONFIG', 'SET', 'stream-node-max-bytes', '4096', b'OK'),
    ]),
    ('autoclaim deleted and cursor', [
        ('XADD', 's', '1-1', 'f', 'v', b'1-1'),
        ('XADD', 's', '1-2', 'f', 'v', b'1-2'),
        ('XADD', 's', '1-3', 'f', 'v', b'1-3'),
        ('XADD', 's', '1-4', 'f', 'v', b'1-4'),
        ('XGROUP', 'CREATE', 's', 'g', '0', b'OK'),
        ('XREADGROUP', 'GROUP', 'g', 'a', 'STREAMS', 's', '>', [[b's', [[b'1-1', [b'f', b'v']], [b'1-2', [b'f', b'v']], [b'1-3', [b'f', b'v']], [b'1-4', [b'f', b'v']]]]]),
        ('XDEL', 's', '1-2', 1),
        ('XAUTOCLAIM', 's', 'g', 'c', '100000', '0', 'COUNT', '1', 'JUSTID', [b'1-3', [], [b'1-2']]),
        ('XAUTOCLAIM', 's', 'g', 'c', '100000', '0', 'COUNT', '1', 'JUSTID', [b'0-0', [], []]),
        ('XAUTOCLAIM', 's', 'g', 'c', '0', '0', 'COUNT', '1', 'JUSTID', [b'1-3', [b'1-1'], []]),
        ('XAUTOCLAIM', 's', 'g', 'c', '0', '0', 'COUNT', '2', [b'1-4', [[b'1-1', [b'f', b'v']], [b'1-3', [b'f', b'v']]], []]),
        ('XAUTOCLAIM', 's', 'g', 'c', '0', '1-4', 'COUNT', '2', [b'0-0', [[b'1-4', [b'f', b'v']]], []]),
        ('XINFO', 'CONSUMERS', 's', 'g', [[b'name', b'a', b'pending', 0, b'idle', 'time'], [b'name', b'c', b'pending', 3, b'idle', 'time']]),
    ]),
    ('xreadgroup consumers', [
        ('XADD', 'q', '1-1', 'a', '1', b'1-1'),
        ('XGROUP', 'CREATE', 'q', 'g', '$', b'OK'),
        ('XREADGROUP', 'GROUP', 'g', 'n1', 'STREAMS', 'q', '>', None),
        ('XREADGROUP', 'GROUP', 'g', 'n2', 'STREAMS', 'q', '0', [[b'q', []]]),
        ('XADD', 'q', '2-1', 'a', '1', b'2-1'),
        ('XREADGROUP', 'GROUP', 'g', 'n3', 'STREAMS', 'q', '>', [[b'q', [[b'2-1', [b'a', b'1']]]]]),
        ('XREADGROUP', 'GROUP', 'g', 'n3', 'NOACK', 'STREAMS', 'q', '0', [[b'q', [[b'2-1', [b'a', b'1']]]]]),
        ('XREADGROUP', 'GROUP', 'g', 'n4', 'NOACK', 'STREAMS', 'q', '>', None),
        ('XADD', 'q', '3-1', 'a', '1', b'3-1'),
        ('XREADGROUP', 'GROUP', 'g', 'n4', 'NOACK', 'STREAMS', 'q', '>', [[b'q', [[b'3-1', [b'a', b'1']]]]]),
        ('XPENDING', 'q', 'g', '-', '+', '10', [[b'2-1', b'n3', 'time', 2]]),
        ('XINFO', 'CONSUMERS', 'q', 'g', [[b'name', b'n2', b'pending', 0, b'idle', 'time'], [b'name', b'n3', b'pending', 1, b'idle', 'time'], [b'name', b'n4', b'pending', 0, b'idle', 'time']]),
        ('XCLAIM', 'q', 'g', 'n5', '0', '9-9', []),
        ('XINFO', 'CONSUMERS', 'q', 'g', [[b'name', b'n2', b'pending', 0, b'idle', 'time'], [b'name', b'n3', b'pending', 1, b'idle', 'time'], [b'name', b'n4', b'pending', 0, b'idle', 'time']]),
    ]),
    ('getkeys', [
        ('COMMAND', 'GETKEYS', 'XREAD', 'STREAMS', 'a', ('err', 'ERR Invalid number of arguments specified for command')),
        ('COMMAND', 'GETKEYS', 'XREAD', 'STREAMS', 'a', 'b', 'c', 'd', 'e', [b'a', b'b']),
        ('COMMAND', 'GETKEYS', 'XREAD', 'COUNT', '1', 'BLOCK', '0', 'STREAMS', 'a', 'b', '0', '0', [b'a', b'b']),
        ('COMMAND', 'GETKEYS', 'XREADGROUP', 'GROUP', 'streams', 'c', 'STREAMS', 'a', '0', [b'a']),
        ('COMMAND', 'GETKEYS', 'XREADGROUP', 'GROUP', 'g', 'streams', 'STREAMS', 'a', '0', [b'a']),
        ('COMMAND', 'GETKEYS', 'XREAD', 'COUNT', 'streams', 'STREAMS', 'a', '0', [b'STREAMS']),
        ('COMMAND', 'GETKEYS', 'XADD', 's', '*', 'a', '1', [b's']),
        ('COMMAND', 'GETKEYS', 'XGROUP', 'CREATE', 's', 'g', '$', [b's']),
        ('COMMAND', 'GETKEYS', 'XINFO', 'STREAM', 's', [b's']),
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('SORT', 's', ('err', 'WRONGTYPE Operation against a key holding the wrong kind of value')),
        ('RENAME', 's', 't', b'OK'),
        ('MOVE', 't', '1', 1),
        ('SELECT', '1', b'OK'),
        ('XLEN', 't', 1),
        ('COPY', 't', 'u', 1),
        ('XINFO', 'STREAM', 'u', [b'length', 1, b'radix-tree-keys', 1, b'radix-tree-nodes', 2, b'last-generated-id', b'1-1', b'max-deleted-entry-id', b'0-0', b'entries-added', 1, b'recorded-first-entry-id', b'1-1', b'groups', 0, b'first-entry', [b'1-1', [b'a', b'1']], b'last-entry', [b'1-1', [b'a', b'1']]]),
        ('XADD', 'u', 'MAXLEN', '1', '2-1', 'b', '2', b'2-1'),
        ('XRANGE', 't', '-', '+', [[b'1-1', [b'a', b'1']]]),
        ('XRANGE', 'u', '-', '+', [[b'2-1', [b'b', b'2']]]),
    ]),
    ('memory usage', [
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('XGROUP', 'CREATE', 's', 'g', '0', b'OK'),
        ('MEMORY', 'USAGE', 's', 5012),
        ('XADD', 's', '1-2', 'a', '1', b'1-2'),
        ('XADD', 's', '1-3', 'b', '2', b'1-3'),
        ('XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 's', '>', [[b's', [[b'1-1', [b'a', b'1']], [b'1-2', [b'a', b'1']], [b'1-3', [b'b', b'2']]]]]),
        ('MEMORY', 'USAGE', 's', 7401),
        ('XGROUP', 'CREATECONSUMER', 's', 'g', 'longer-name', 1),
        ('MEMORY', 'USAGE', 's', 7680),
        ('CONFIG', 'SET', 'stream-node-max-entries', '2', b'OK'),
        ('XADD', 's', '2-1', 'a', '1', b'2-1'),
        ('XADD', 's', '2-2', 'a', '1', b'2-2'),
        ('XADD', 's', '2-3', 'a', '1', b'2-3'),
        ('XADD', 's', '2-4', 'a', '1', b'2-4'),
        ('XADD', 's', '2-5', 'a', '1', b'2-5'),
        ('MEMORY', 'USAGE', 's', 9596),
        ('XADD', 's', '2-6', 'a', '1', b'2-6'),
        ('XADD', 's', '2-7', 'a', '1', b'2-7'),
        ('XADD', 's', '2-8', 'a', '1', b'2-8'),
        ('XADD', 's', '2-9', 'a', '1', b'2-9'),
        ('XADD', 's', '3-1', 'a', '1', b'3-1'),
        ('XADD', 's', '3-2', 'a', '1', b'3-2'),
        ('XADD', 's', '3-3', 'a', '1', b'3-3'),
        ('XADD', 's', '3-4', 'a', '1', b'3-4'),
        ('MEMORY', 'USAGE', 's', 11321),
        ('XDEL', 's', '2-2', 1),
        ('MEMORY', 'USAGE', 's', 11321),
        ('XGROUP', 'CREATE', 'e', 'g', '$', 'MKSTREAM', b'OK'),
        ('MEMORY', 'USAGE', 'e', 656),
        ('CONFIG', 'SET', 'stream-node-max-entries', '100', b'OK'),
    ]),
    ('xclaim force', [
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('XADD', 's', '2-1', 'a', '1', b'2-1'),
        ('XGROUP', 'CREATE', 's', 'g', '$', b'OK'),
        ('XCLAIM', 's', 'g', 'c', '0', '1-1', 'FORCE', [[b'1-1', [b'a', b'1']]]),
        ('XCLAIM', 's', 'g', 'c', '0', '2-1', 'FORCE', 'JUSTID', [b'2-1']),
        ('XPENDING', 's', 'g', [2, b'1-1', b'2-1', [[b'c', b'2']]]),
        ('XPENDING', 's', 'g', '-', '+', '10', 'c', [[b'1-1', b'c', 'time', 2], [b'2-1', b'c', 'time', 1]]),
        ('XCLAIM', 's', 'g', 'd', '0', '1-1', '2-1', 'FORCE', 'RETRYCOUNT', '5', [[b'1-1', [b'a', b'1']], [b'2-1', [b'a', b'1']]]),
        ('XPENDING', 's', 'g', '-', '+', '10', [[b'1-1', b'd', 'time', 5], [b'2-1', b'd', 'time', 5]]),
    ]),
    ('scripts', [
        ('XADD', 's', '1-1', 'a', '1', b'1-1'),
        ('EVAL', "return redis.call('XREAD','BLOCK','0','STREAMS','s','$')", '0', ('err', 'ERR XREAD command is not allowed with BLOCK option from scripts script: 6475a58e5ce74a5434e15b26cb7cf7d348dd7732, on @user_script:1.')),
        ('EVAL', "return redis.call('XREAD','BLOCK','0','STREAMS','s','0')", '0', ('err', 'ERR XREAD command is not allowed with BLOCK option from scripts script: e1acf567ce15e57098efe1844510f6fb9f4fdba1, on @user_script:1.')),
        ('XGROUP', 'CREATE', 's', 'g', '$', b'OK'),
        ('EVAL', "return redis.call('XREADGROUP','GROUP','g','c','BLOCK','0','STREAMS','s','>')", '0', ('err', 'ERR XREADGROUP command is not allowed with BLOCK option from scripts script: 20074ec05ddfceca61a13bfdbe609bbcd26ff28c, on @user_script:1.')),
        ('EVAL', "return redis.call('XADD','s','2-1','b','2')", '0', b'2-1'),
        ('EVAL', "return redis.call('XREADGROUP','GROUP','g','c','STREAMS','s','>')", '0', [[b's', [[b'2-1', [b'b', b'2']]]]]),
        ('EVAL', "return redis.call('XINFO','STREAM','s')", '0', [b'length', 2, b'radix-tree-keys', 1, b'radix-tree-nodes', 2, b'last-generated-id', b'2-1', b'max-deleted-entry-id', b'0-0', b'entries-added', 2, b'recorded-first-entry-id', b'1-1', b'groups', 1, b'first-entry', [b'1-1', [b'a', b'1']], b'last-entry', [b'2-1', [b'b', b'2']]]),
        ('EVAL', "return redis.call('XPENDING','s','g')", '0', [1, b'2-1', b'2-1', [[b'c', b'1']]]),
    ]),
]


@pytest.mark.parametrize("steps", [steps for _, steps in CASES], ids=[name for name, _ in CASES])
def test_case_on_core(steps):
    run_case(masked_call(CoreClient(make_node()).call), steps)


@pytest.mark.parametrize("steps", [steps for _, steps in CASES], ids=[name for name, _ in CASES])
def test_case_on_redis(steps, redis_conn):
    """The same expectations hold on redis-server: they are Redis's."""
    for option, default in (("stream-node-max-entries", b"100"), ("stream-node-max-bytes", b"4096")):
        redis_conn.call([b"CONFIG", b"SET", option.encode(), default])
    redis_conn.call([b"FLUSHALL"])
    call = masked_call(lambda *argv: redis_conn.call([a if isinstance(a, bytes) else str(a).encode() for a in argv]))
    run_case(call, steps)


# -- several clients: blocking reads (on the core and on redis-server) ----------------------------
def scenario_xread_served_by_xadd(world) -> None:
    """A blocked XREAD gets the stream that received entries, alone; '$' means after the top at the time."""
    a, b, writer = world.client(), world.client(), world.client()
    world.send(writer, "XADD", "s", "1-1", "f", "v")
    world.send(a, "XREAD", "BLOCK", 0, "STREAMS", "s", "t", "$", "$")
    world.send(b, "XREAD", "COUNT", 1, "BLOCK", 0, "STREAMS", "t", "0")
    world.send(writer, "XADD", "t", "5-1", "g", "w")
    world.send(writer, "XADD", "t", "6-1", "g", "x")
    assert world.replies(a, 1) == [[[b"t", [[b"5-1", [b"g", b"w"]]]]]]
    assert world.replies(b, 1) == [[[b"t", [[b"5-1", [b"g", b"w"]]]]]]
    assert world.replies(writer, 3) == [b"1-1", b"5-1", b"6-1"]


def scenario_xread_timeout(world) -> None:
    """BLOCK ms answers a null array when it passes; BLOCK 0 waits on; a deleted key serves no XREAD."""
    a, b, writer = world.client(), world.client(), world.client()
    world.send(writer, "XADD", "s", "1-1", "f", "v")
    world.send(a, "XREAD", "BLOCK", 100, "STREAMS", "s", "$")
    world.send(b, "XREAD", "BLOCK", 0, "STREAMS", "s", "$")
    world.wait(200)
    assert world.replies(a, 1) == [None]
    world.send(writer, "DEL", "s")
    assert world.replies(b, 0) == []
    world.send(writer, "XADD", "s", "2-1", "f", "v")
    assert world.replies(b, 1) == [[[b"s", [[b"2-1", [b"f", b"v"]]]]]]


def scenario_xreadgroup_served_in_turn(world) -> None:
    """Blocked group readers get new entries one reader after the other, each past the group's last ID."""
    a, b, writer = world.client(), world.client(), world.client()
    world.send(writer, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    world.send(a, "XREADGROUP", "GROUP", "g", "ca", "BLOCK", 0, "STREAMS", "s", ">")
    world.send(b, "XREADGROUP", "GROUP", "g", "cb", "COUNT", 1, "BLOCK", 0, "STREAMS", "s", ">")
    world.send(writer, "XADD", "s", "1-1", "f", "v")
    assert world.replies(a, 1) == [[[b"s", [[b"1-1", [b"f", b"v"]]]]]]
    assert world.replies(b, 0) == []
    world.send(writer, "XADD", "s", "2-1", "f", "w")
    assert world.replies(b, 1) == [[[b"s", [[b"2-1", [b"f", b"w"]]]]]]
    world.send(writer, "XPENDING", "s", "g")
    assert world.replies(writer, 4)[-1] == [2, b"1-1", b"2-1", [[b"ca", b"1"], [b"cb", b"1"]]]


def scenario_xreadgroup_woken_by_deletion(world) -> None:
    """Group readers hear that their group or key went (Redis 7.0's NOGROUP and UNBLOCKED errors)."""
    a, b, c, writer = world.client(), world.client(), world.client(), world.client()
    world.send(writer, "CONFIG", "RESETSTAT")
    world.send(writer, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    world.send(writer, "XGROUP", "CREATE", "t", "g", "$", "MKSTREAM")
    world.send(a, "XREADGROUP", "GROUP", "g", "c", "BLOCK", 0, "STREAMS", "s", ">")
    world.send(b, "XREADGROUP", "GROUP", "g", "c", "BLOCK", 0, "STREAMS", "t", ">")
    world.send(c, "XREADGROUP", "GROUP", "g", "c", "BLOCK", 0, "STREAMS", "t", ">")
    world.send(writer, "XGROUP", "DESTROY", "s", "g")
    assert world.replies(a, 1) == [("err", "NOGROUP the consumer group this client was blocked on no longer exists")]
    world.send(writer, "DEL", "t")
    gone = ("err", "UNBLOCKED the stream key no longer exists")
    assert world.replies(b, 1) == [gone]
    assert world.replies(c, 1) == [gone]
    world.send(writer, "INFO", "everything")  # the errors count where Redis counts them
    info = world.replies(writer, 6)[-1].decode()
    assert "errorstat_NOGROUP:count=1\r\n" in info and "errorstat_UNBLOCKED:count=2\r\n" in info
    assert re.search(r"cmdstat_xreadgroup:calls=3,.*,rejected_calls=0,failed_calls=3\r\n", info)
    assert "total_error_replies:3\r\n" in info


def scenario_xreadgroup_woken_by_overwrite(world) -> None:
    """A stream replaced by another value ends its group readers' wait too."""
    a, writer = world.client(), world.client()
    world.send(writer, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    world.send(a, "XREADGROUP", "GROUP", "g", "c", "BLOCK", 0, "STREAMS", "s", ">")
    world.send(writer, "SET", "s", "x")
    assert world.replies(a, 1) == [("err", "UNBLOCKED the stream key no longer exists")]


def scenario_xreadgroup_woken_by_keyspace_changes(world) -> None:
    """RENAME, MOVE, SWAPDB and FLUSHDB take the stream away from its group readers; XREAD waits on."""
    gone = ("err", "UNBLOCKED the stream key no longer exists")
    for op in (["RENAME", "s", "s2"], ["MOVE", "s", 1], ["SWAPDB", 0, 1], ["FLUSHDB"]):
        a, b, writer = world.client(), world.client(), world.client()
        world.send(writer, "FLUSHALL")
        world.send(writer, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        world.send(a, "XREADGROUP", "GROUP", "g", "c", "BLOCK", 0, "STREAMS", "s", ">")
        world.send(b, "XREAD", "BLOCK", 0, "STREAMS", "s", "$")
        world.send(writer, *op)
        assert world.replies(a, 1) == [gone], op
        world.send(writer, "XADD", "s", "5-5", "f", "v")
        assert world.replies(b, 1) == [[[b"s", [[b"5-5", [b"f", b"v"]]]]]], op
    world.send(writer, "FLUSHALL")


STREAM_SCENARIOS = [
    scenario_xreadgroup_woken_by_keyspace_changes,
    scenario_xread_served_by_xadd,
    scenario_xread_timeout,
    scenario_xreadgroup_served_in_turn,
    scenario_xreadgroup_woken_by_deletion,
    scenario_xreadgroup_woken_by_overwrite,
]


@pytest.mark.parametrize("scenario", STREAM_SCENARIOS, ids=[s.__name__ for s in STREAM_SCENARIOS])
def test_blocking_scenario_on_core(scenario):
    scenario(CoreWorld())


@pytest.mark.parametrize("scenario", STREAM_SCENARIOS, ids=[s.__name__ for s in STREAM_SCENARIOS])
def test_blocking_scenario_on_redis(scenario, redis_port):
    RedisWorld.play(scenario, redis_port)


def test_blocked_readers_leave_no_trace():
    world = CoreWorld()
    a, writer = world.client(), world.client()
    world.send(a, "XREAD", "BLOCK", 50, "STREAMS", "s", "k", "0", "0")
    assert world.node.blocking.waiting
    world.wait(100)
    assert world.replies(a, 1) == [None]
    assert not world.node.blocking.waiting
    world.send(a, "XREAD", "BLOCK", 0, "STREAMS", "s", "0")
    world.disconnect(a)
    assert not world.node.blocking.waiting
    world.send(writer, "XADD", "s", "1-1", "f", "v")
    assert world.replies(writer, 1) == [b"1-1"]


# -- the clock: IDs from '*', idle and delivery times ---------------------------------------------
def test_star_ids_follow_the_node_clock():
    node = make_node(now=5000)
    client = CoreClient(node)
    assert client.call("XADD", "s", "*", "f", "v") == b"5000-0"
    assert client.call("XADD", "s", "*", "f", "v") == b"5000-1"
    node.now = 4000  # a clock that went back: the sequence goes on from the top
    assert client.call("XADD", "s", "*", "f", "v") == b"5000-2"
    node.now = 6000
    assert client.call("XADD", "s", "*", "f", "v") == b"6000-0"
    assert client.call("XADD", "s", "6000-*", "f", "v") == b"6000-1"


def test_idle_times_and_claims_by_idle():
    node = make_node(now=10_000)
    client = CoreClient(node)
    client.call("XADD", "s", "1-1", "f", "v")
    client.call("XADD", "s", "2-1", "f", "v")
    client.call("XGROUP", "CREATE", "s", "g", "0")
    client.call("XREADGROUP", "GROUP", "g", "a", "COUNT", 1, "STREAMS", "s", ">")
    node.now += 300
    client.call("XREADGROUP", "GROUP", "g", "b", "STREAMS", "s", ">")
    node.now += 200
    assert client.call("XPENDING", "s", "g", "-", "+", 10) == [[b"1-1", b"a", 500, 1], [b"2-1", b"b", 200, 1]]
    assert client.call("XPENDING", "s", "g", "IDLE", 300, "-", "+", 10) == [[b"1-1", b"a", 500, 1]]
    assert client.call("XINFO", "CONSUMERS", "s", "g") == [
        [b"name", b"a", b"pending", 1, b"idle", 500], [b"name", b"b", b"pending", 1, b"idle", 200]]
    assert client.call("XCLAIM", "s", "g", "c", 400, "1-1", "2-1", "JUSTID") == [b"1-1"]
    assert client.call("XAUTOCLAIM", "s", "g", "d", 150, "0", "JUSTID") == [b"0-0", [b"2-1"], []]  # 1-1 was just claimed
    assert client.call("XPENDING", "s", "g", "-", "+", 10) == [[b"1-1", b"c", 0, 1], [b"2-1", b"d", 0, 1]]
    assert client.call("XCLAIM", "s", "g", "e", 0, "2-1", "IDLE", 50) == [[b"2-1", [b"f", b"v"]]]
    assert client.call("XCLAIM", "s", "g", "e", 0, "1-1", "TIME", 10_400, "JUSTID") == [b"1-1"]
    assert client.call("XPENDING", "s", "g", "-", "+", 10) == [[b"1-1", b"e", 100, 1], [b"2-1", b"e", 50, 2]]
    info = client.call("XINFO", "STREAM", "s", "FULL")
    group = info[info.index(b"groups") + 1][0]
    assert group[group.index(b"pending") + 1] == [[b"1-1", b"e", 10_400, 1], [b"2-1", b"e", 10_450, 2]]


def test_xautoclaim_cursor_and_attempts():
    """COUNT bounds the claims and ten times COUNT the PEL entries looked at; the cursor is the next one."""
    node = make_node(now=10_000)
    client = CoreClient(node)
    for seq in range(1, 31):
        client.call("XADD", "s", f"1-{seq}", "f", "v")
    client.call("XGROUP", "CREATE", "s", "g", "0")
    client.call("XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">")
    node.now += 100
    for seq in range(1, 30, 2):  # the odd ones are fresh
        client.call("XCLAIM", "s", "g", "a", 0, f"1-{seq}", "JUSTID")
    assert client.call("XAUTOCLAIM", "s", "g", "b", 50, "0", "COUNT", 2, "JUSTID") == [b"1-5", [b"1-2", b"1-4"], []]
    assert client.call("XAUTOCLAIM", "s", "g", "b", 50, "(1-5", "COUNT", 1, "JUSTID") == [b"1-7", [b"1-6"], []]
    client.call("XDEL", "s", "1-8", "1-9")
    assert client.call("XAUTOCLAIM", "s", "g", "b", 50, "1-7", "COUNT", 2, "JUSTID") == [b"1-10", [], [b"1-8", b"1-9"]]
    # COUNT 1 allows 10 looks, none claimable: 1-1 .. 1-7, 1-10 .. 1-12; the cursor is the 11th
    assert client.call("XAUTOCLAIM", "s", "g", "c", 1000, "0", "COUNT", 1, "JUSTID") == [b"1-13", [], []]


# -- what is logged, and that it replays ---------------------------------------------------------
def stream_state(node, logged: bool = False) -> dict:
    """Every stream of every db, everything about it that a log or a snapshot must keep.

    With ``logged``, without what Redis 7.0 does not log either: a group's
    entries_read as XCLAIM moves it, and the delivery counts history reads add.
    """
    out = {}
    for db in node.dbs:
        for key, value in db.data.items():
            if type(value) is not StreamValue:
                continue
            groups = {}
            for name, group in value.groups.items():
                pel = {ident: (nack.consumer.name, nack.delivery_ms, None if logged else nack.delivery_count)
                       for ident, nack in group.pending.items.items()}
                consumers = {c.name: sorted(c.pending.ids) for c in group.consumers.values()}
                groups[name] = (group.last_id, None if logged else group.entries_read, pel, consumers)
            out[(db.index, key)] = (value.range(0, ID_MAX), value.last_id, value.max_deleted_id,
                                    value.entries_added, groups)
    return out


def test_writes_are_logged_as_redis_logs_them():
    """The records redis-server 7.0.15 writes to its AOF for the same commands (IDs made concrete,
    approximate trims made exact, group reads as XCLAIMs), and they replay to the same streams."""
    node = logging_node(now=NOW)
    client = LogClient(node)
    for argv in (
        ["XADD", "s", "*", "a", "1"],
        ["XADD", "s", "MAXLEN", "~", "0", "*", "b", "2"],
        ["XADD", "s", "MINID", "~", "0", "*", "b", "3"],
        ["XTRIM", "s", "MAXLEN", "~", "0"],
        ["XADD", "e", "MAXLEN", "0", "1-1", "a", "1"],
        ["XADD", "e", "MINID", "~", "999", "1000-*", "b", "2"],
        ["XGROUP", "CREATE", "s", "g", "0"],
        ["XADD", "s", "*", "c", "3"],
        ["XADD", "s", "*", "c", "4"],
        ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"],
        ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"],
        ["XREADGROUP", "GROUP", "g", "c2", "NOACK", "STREAMS", "s", "0"],
        ["XADD", "s", "*", "c", "5"],
        ["XREADGROUP", "GROUP", "g", "c2", "NOACK", "STREAMS", "s", ">"],
        ["XREADGROUP", "GROUP", "g", "c3", "STREAMS", "s", ">"],
        ["XCLAIM", "s", "g", "c4", "0", "0-1", "LASTID", "99999999999999-0"],
        ["XACK", "s", "g", "0-1"],
        ["XSETID", "s", "99999999999999-5"],
    ):
        client.call(*argv)
    t = b"%d" % NOW
    assert records(node)[1:] == [
        [b"XADD", b"s", t + b"-0", b"a", b"1"],
        [b"XADD", b"s", b"MAXLEN", b"=", b"0", t + b"-1", b"b", b"2"],
        [b"XADD", b"s", b"MINID", b"=", t + b"-2", t + b"-2", b"b", b"3"],
        [b"XTRIM", b"s", b"MAXLEN", b"=", b"0"],
        [b"XADD", b"e", b"MAXLEN", b"0", b"1-1", b"a", b"1"],
        [b"XADD", b"e", b"MINID", b"=", b"1000-0", b"1000-0", b"b", b"2"],
        [b"XGROUP", b"CREATE", b"s", b"g", b"0"],
        [b"XADD", b"s", t + b"-3", b"c", b"3"],
        [b"XADD", b"s", t + b"-4", b"c", b"4"],
        [b"MULTI"],
        [b"XCLAIM", b"s", b"g", b"c1", b"0", t + b"-3", b"TIME", t, b"RETRYCOUNT", b"1", b"FORCE", b"JUSTID",
         b"LASTID", t + b"-3"],
        [b"XCLAIM", b"s", b"g", b"c1", b"0", t + b"-4", b"TIME", t, b"RETRYCOUNT", b"1", b"FORCE", b"JUSTID",
         b"LASTID", t + b"-4"],
        [b"EXEC"],
        [b"XGROUP", b"CREATECONSUMER", b"s", b"g", b"c2"],
        [b"XADD", b"s", t + b"-5", b"c", b"5"],
        [b"XGROUP", b"SETID", b"s", b"g", t + b"-5", b"ENTRIESREAD", b"6"],
        [b"XGROUP", b"SETID", b"s", b"g", b"99999999999999-0", b"ENTRIESREAD", b"6"],
        [b"XSETID", b"s", b"99999999999999-5"],
    ]
    assert stream_state(replayed(node), logged=True) == stream_state(node, logged=True)


def test_claims_and_served_readers_replay():
    node = logging_node(now=NOW)
    client, reader = LogClient(node, 1), LogClient(node, 2)
    client.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    assert reader.send_raw(encode_request("XREADGROUP", "GROUP", "g", "r", "BLOCK", 0, "STREAMS", "s", ">")) == []
    for seq in range(1, 6):
        client.call("XADD", "s", f"1-{seq}", "f", f"{seq}")
    assert reader.send_raw(b"") == [[[b"s", [[b"1-1", [b"f", b"1"]]]]]]
    client.call("XREADGROUP", "GROUP", "g", "a", "COUNT", 3, "STREAMS", "s", ">")
    node.now += 1000
    client.call("XCLAIM", "s", "g", "b", 500, "1-1", "1-2", "RETRYCOUNT", 9)
    client.call("XDEL", "s", "1-3")
    client.call("XAUTOCLAIM", "s", "g", "c", 0, "0", "COUNT", 10)
    client.call("XACK", "s", "g", "1-4")
    client.call("XGROUP", "DELCONSUMER", "s", "g", "r")
    client.call("XGROUP", "CREATECONSUMER", "s", "g", "idle")
    client.call("XTRIM", "s", "MINID", "1-2")
    assert stream_state(replayed(node), logged=True) == stream_state(node, logged=True)
    last = records(node)[-1]
    assert last == [b"XTRIM", b"s", b"MINID", b"1-2"]


def test_aof_rewrite_rebuilds_streams():
    """rewriteStreamObject's commands: XADDs, XSETID, XGROUP CREATE ... ENTRIESREAD, XCLAIMs, CREATECONSUMER."""
    node = make_node(now=NOW)
    client = CoreClient(node)
    for seq in range(1, 5):
        client.call("XADD", "s", f"1-{seq}", "f", f"{seq}", "g", "x")
    client.call("XDEL", "s", "1-2")
    client.call("XGROUP", "CREATE", "s", "g", "0")
    client.call("XGROUP", "CREATE", "s", "h", "$", "ENTRIESREAD", "3")
    client.call("XREADGROUP", "GROUP", "g", "a", "COUNT", 2, "STREAMS", "s", ">")
    client.call("XGROUP", "CREATECONSUMER", "s", "g", "b")
    client.call("XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM")
    client.call("XSETID", "empty", "5-5", "ENTRIESADDED", "9", "MAXDELETEDID", "5-1")
    assert rewrite_key(b"s", node.dbs[0].data[b"s"]) == [
        [b"XADD", b"s", b"1-1", b"f", b"1", b"g", b"x"],
        [b"XADD", b"s", b"1-3", b"f", b"3", b"g", b"x"],
        [b"XADD", b"s", b"1-4", b"f", b"4", b"g", b"x"],
        [b"XSETID", b"s", b"1-4", b"ENTRIESADDED", b"4", b"MAXDELETEDID", b"1-2"],
        [b"XGROUP", b"CREATE", b"s", b"g", b"1-3", b"ENTRIESREAD", b"-1"],  # a tombstone hides the count
        [b"XCLAIM", b"s", b"g", b"a", b"0", b"1-1", b"TIME", b"%d" % NOW, b"RETRYCOUNT", b"1", b"JUSTID", b"FORCE"],
        [b"XCLAIM", b"s", b"g", b"a", b"0", b"1-3", b"TIME", b"%d" % NOW, b"RETRYCOUNT", b"1", b"JUSTID", b"FORCE"],
        [b"XGROUP", b"CREATECONSUMER", b"s", b"g", b"b"],
        [b"XGROUP", b"CREATE", b"s", b"h", b"1-4", b"ENTRIESREAD", b"3"],
    ]
    assert rewrite_key(b"empty", node.dbs[0].data[b"empty"]) == [
        [b"XADD", b"empty", b"MAXLEN", b"0", b"0-1", b"x", b"y"],
        [b"XSETID", b"empty", b"5-5", b"ENTRIESADDED", b"9", b"MAXDELETEDID", b"5-1"],
        [b"XGROUP", b"CREATE", b"empty", b"g", b"0-0", b"ENTRIESREAD", b"-1"],
    ]
    fresh = make_node(now=NOW)
    result = aof.load_commands(fresh, aof.rewrite_dataset(node))
    assert result.status == aof.OK, result
    assert stream_state(fresh) == stream_state(node)


# -- RESP2 and RESP3 bytes, notifications, digests: the same as redis-server's ----------------------
BYTES_SCRIPT = [
    ["XADD", "s", "1-1", "a", "1", "b", "2"],
    ["XADD", "s", "2-1", "a", "3"],
    ["XADD", "s", "NOMKSTREAM", "3-1", "a", "4"],
    ["XADD", "nokey", "NOMKSTREAM", "3-1", "a", "4"],
    ["XRANGE", "s", "-", "+"],
    ["XRANGE", "s", "-", "+", "COUNT", "0"],
    ["XREVRANGE", "s", "+", "-", "COUNT", "1"],
    ["XREAD", "STREAMS", "s", "nokey", "0", "0"],
    ["XREAD", "STREAMS", "s", "$"],
    ["XGROUP", "CREATE", "s", "g", "0"],
    ["XPENDING", "s", "g"],
    ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">"],
    ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"],
    ["XDEL", "s", "1-1"],
    ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"],
    ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
    ["XPENDING", "s", "g"],
    ["XAUTOCLAIM", "s", "g", "d", "0", "0"],
    ["XCLAIM", "s", "g", "e", "0", "2-1", "JUSTID"],
    ["XINFO", "STREAM", "s"],
    ["XINFO", "GROUPS", "s"],
    ["XGROUP", "SETID", "s", "g", "0"],
    ["XINFO", "GROUPS", "s"],
    ["XSETID", "s", "9-9"],
    ["XTRIM", "s", "MAXLEN", "0"],
    ["XINFO", "STREAM", "s"],
    ["XGROUP", "DELCONSUMER", "s", "g", "e"],
    ["XGROUP", "DESTROY", "s", "g"],
    ["TYPE", "s"],
    ["OBJECT", "ENCODING", "s"],
    ["SCAN", "0", "TYPE", "stream"],
    ["DEBUG", "DIGEST-VALUE", "s"],
    ["XADD", "t", "5-1", "field", "12345", "x", ""],
    ["DEBUG", "DIGEST-VALUE", "t"],
]


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_reply_bytes_match_redis(redis_port, resp3):
    world = RedisWorld(redis_port)
    try:
        conn = world.client()
        if resp3:
            conn.sendall(encode_request("HELLO", "3"))
            world.raw(conn)
        theirs = []
        for argv in BYTES_SCRIPT:
            conn.sendall(encode_request(*argv))
            theirs.append(world.raw(conn))
    finally:
        world.close()
    assert core_raw(BYTES_SCRIPT, resp3) == theirs


NOTIFY_SCRIPT = [
    ["XADD", "s", "1-1", "a", "1"],
    ["XADD", "s", "MAXLEN", "1", "2-1", "a", "1"],
    ["XDEL", "s", "2-1", "7-7"],
    ["XDEL", "s", "7-7"],
    ["XADD", "s", "3-1", "a", "1"],
    ["XTRIM", "s", "MAXLEN", "0"],
    ["XTRIM", "s", "MAXLEN", "0"],
    ["XSETID", "s", "9-9"],
    ["XGROUP", "CREATE", "s", "g", "$"],
    ["XGROUP", "CREATE", "m", "g", "$", "MKSTREAM"],
    ["XGROUP", "SETID", "s", "g", "0"],
    ["XGROUP", "CREATECONSUMER", "s", "g", "c"],
    ["XGROUP", "CREATECONSUMER", "s", "g", "c"],
    ["XREADGROUP", "GROUP", "g", "d", "STREAMS", "s", "0"],
    ["XGROUP", "DELCONSUMER", "s", "g", "c"],
    ["XGROUP", "DELCONSUMER", "s", "g", "c"],
    ["XGROUP", "DESTROY", "s", "g"],
    ["XGROUP", "DESTROY", "s", "g"],
]


def test_keyspace_events_match_redis(redis_port):
    """Every stream event (class 't') with its key, in order, as redis-server publishes them."""
    def events(call, listen) -> list:
        call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        for argv in NOTIFY_SCRIPT:
            call(*argv)
        return listen()

    core = CoreWorld()
    writer, listener = core.client(), core.client()
    core.send(listener, "PSUBSCRIBE", "__keyspace@0__:*")
    core.replies(listener, 1)
    ours = events(lambda *argv: core.send(writer, *argv), lambda: core.replies(listener, 100))
    world = RedisWorld(redis_port)
    try:
        conn, sub = world.client(), world.client()
        world.send(sub, "PSUBSCRIBE", "__keyspace@0__:*")
        world.replies(sub, 1)
        theirs = events(lambda *argv: world.send(conn, *argv), lambda: world.replies(sub, 0))
        world.send(conn, "CONFIG", "SET", "notify-keyspace-events", "")
    finally:
        world.close()
    assert [m[2:] for m in ours] == [m[2:] for m in theirs]
    assert {m[3] for m in ours} >= {b"xadd", b"xdel", b"xtrim", b"xsetid", b"xgroup-create", b"xgroup-setid",
                                   b"xgroup-createconsumer", b"xgroup-delconsumer", b"xgroup-destroy"}


def test_scan_by_type_and_wrongtype_elsewhere():
    client = CoreClient(make_node())
    client.call("XADD", "s", "1-1", "a", "1")
    client.call("SET", "str", "x")
    client.call("RPUSH", "l", "x")
    assert client.call("SCAN", 0, "TYPE", "stream") == [b"0", [b"s"]]
    assert normalize(client.call("LPUSH", "s", "x"))[1].startswith("WRONGTYPE")
    assert normalize(client.call("HGET", "s", "x"))[1].startswith("WRONGTYPE")
    assert client.call("COPY", "s", "s2") == 1
    client.call("XADD", "s2", "2-1", "b", "2")
    assert client.call("XLEN", "s") == 1
    assert client.call("XLEN", "s2") == 2


# -- DUMP, RESTORE and the older and newer RDB stream types --------------------------------------
def test_dump_restore_round_trip():
    node = make_node(now=NOW)
    client = CoreClient(node)
    for seq in range(1, 251):
        client.call("XADD", "s", f"7-{seq}", "f", seq, *(["extra", "x" * seq] if seq % 9 == 0 else []))
    client.call("XDEL", "s", *[f"7-{seq}" for seq in range(3, 240, 4)])
    client.call("XGROUP", "CREATE", "s", "g", "0")
    client.call("XREADGROUP", "GROUP", "g", "c", "COUNT", 7, "STREAMS", "s", ">")
    payload = client.call("DUMP", "s")
    assert payload[0] == rdb.TYPE_STREAM_LISTPACKS_2
    assert client.call("RESTORE", "t", 0, payload) == b"OK"
    assert client.call("XINFO", "STREAM", "t", "FULL", "COUNT", 0)[2:] == \
        client.call("XINFO", "STREAM", "s", "FULL", "COUNT", 0)[2:]
    assert client.call("DEBUG", "DIGEST-VALUE", "t") == client.call("DEBUG", "DIGEST-VALUE", "s")
    broken = payload[:40] + b"\xff" + payload[41:]
    assert normalize(client.call("RESTORE", "u", 0, broken))[0] == "err"


def _group_bytes(kind: int) -> bytes:
    """One group 'g' at 1-2 with entry 1-2 pending for consumer 'c' (delivered at 5000, twice)."""
    parts = [rdb.encode_length(1), b"\x01g", rdb.encode_length(1), rdb.encode_length(2)]
    if kind != rdb.TYPE_STREAM_LISTPACKS:
        parts.append(rdb.encode_length(2))  # entries read
    parts += [rdb.encode_length(1), (make_id(1, 2)).to_bytes(16, "big"), (5000).to_bytes(8, "little"),
              rdb.encode_length(2), rdb.encode_length(1), b"\x01c", (4000).to_bytes(8, "little")]
    if kind == rdb.TYPE_STREAM_LISTPACKS_3:
        parts.append((4500).to_bytes(8, "little"))  # active time
    parts += [rdb.encode_length(1), make_id(1, 2).to_bytes(16, "big")]
    return b"".join(parts)


@pytest.mark.parametrize("kind", [rdb.TYPE_STREAM_LISTPACKS, rdb.TYPE_STREAM_LISTPACKS_2,
                                  rdb.TYPE_STREAM_LISTPACKS_3])
def test_stream_types_15_19_21_load(kind):
    """Entries 1-1 (a=1, deleted) and 1-2 (a=2), last ID 1-2; type 15 has no counters, 21 active times."""
    blob = listpack.encode([1, 1, 1, b"a", 0, 3, 0, 0, 1, 4, 2, 0, 1, 2, 4])
    parts = [rdb.encode_length(1), bytes((16,)) + make_id(1, 1).to_bytes(16, "big")]
    parts += [rdb.encode_length(len(blob)), blob, rdb.encode_length(1), rdb.encode_length(1), rdb.encode_length(2)]
    if kind != rdb.TYPE_STREAM_LISTPACKS:
        parts += [rdb.encode_length(1), rdb.encode_length(2), rdb.encode_length(1), rdb.encode_length(1),
                  rdb.encode_length(5)]
    data = b"".join(parts) + _group_bytes(kind)
    value = read_stream(rdb.Cursor(data), kind)
    assert value.range(0, ID_MAX) == [(make_id(1, 2), (b"a", b"2"))]
    assert (value.last_id, value.entries_added) == (make_id(1, 2), 1 if kind == rdb.TYPE_STREAM_LISTPACKS else 5)
    assert value.max_deleted_id == (0 if kind == rdb.TYPE_STREAM_LISTPACKS else make_id(1, 1))
    group = value.groups[b"g"]
    assert group.entries_read == (1 if kind == rdb.TYPE_STREAM_LISTPACKS else 2)  # type 15: estimated
    nack = group.pending.get(make_id(1, 2))
    assert (nack.consumer.name, nack.delivery_ms, nack.delivery_count, group.consumers[b"c"].seen_ms) == \
        (b"c", 5000, 2, 4000)
    built = StreamValue()  # the same node built by XADD and XDEL sizes up as the loaded blob
    built.append(make_id(1, 1), (b"a", b"1"), make_node().config)
    built.append(make_id(1, 2), (b"a", b"2"), make_node().config)
    built.delete(make_id(1, 1))
    assert (value.nodes[0].live, value.nodes[0].deleted) == (1, 1)
    assert built.nodes[0].size == value.nodes[0].size == len(blob)


def test_hundred_thousand_entries():
    """A stream of 100k entries in 1000 nodes of 100, ranges from either end, trims by whole nodes."""
    client = CoreClient(make_node(now=NOW))
    client.send_raw(b"".join(encode_request("XADD", "s", "*", "n", i) for i in range(100_000)))
    assert client.call("XLEN", "s") == 100_000
    info = client.call("XINFO", "STREAM", "s")
    assert info[info.index(b"radix-tree-keys") + 1] == 1000
    last = b"%d-99999" % NOW
    assert client.call("XREVRANGE", "s", "+", "-", "COUNT", 1) == [[last, [b"n", b"99999"]]]
    assert client.call("XRANGE", "s", b"%d-50000" % NOW, "+", "COUNT", 2)[1] == [b"%d-50001" % NOW, [b"n", b"50001"]]
    assert client.call("XTRIM", "s", "MAXLEN", "~", 50_050) == 10_000  # LIMIT: 100 nodes by default
    assert client.call("XTRIM", "s", "MAXLEN", "~", 50_050, "LIMIT", 0) == 39_900
    assert client.call("XTRIM", "s", "MAXLEN", 50_000) == 100
    assert client.call("XRANGE", "s", "-", "+", "COUNT", 1) == [[b"%d-50000" % NOW, [b"n", b"50000"]]]


def test_memory_model_weighs_streams():
    """A stream weighs what its listpacks would, plus its groups' bookkeeping, and trimming gives it back."""
    node = make_node(now=NOW)
    client = CoreClient(node)
    before = node.dbs[0].used
    client.send_raw(b"".join(encode_request("XADD", "s", f"1-{i}", "field", "v" * 20) for i in range(1, 1001)))
    grown = node.dbs[0].used
    assert grown - before > 1000 * 20
    client.call("XGROUP", "CREATE", "s", "g", "0")
    client.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    assert node.dbs[0].used > grown
    client.call("XTRIM", "s", "MAXLEN", 0)
    client.call("XGROUP", "DESTROY", "s", "g")
    assert node.dbs[0].used - before < 200


DUMP_SCRIPT = [
    ["CONFIG", "SET", "stream-node-max-entries", "3"],
    *[["XADD", "n", f"1-{seq}", "f" if seq != 5 else "x", seq] for seq in range(1, 8)],
    ["XDEL", "n", "1-4", "1-5", "1-6"],
    ["XDEL", "n", "1-2"],
    ["XADD", "n", "MAXLEN", "~", "1", "1-8", "f", "1"],
    ["XTRIM", "n", "MINID", "1-8"],
    ["CONFIG", "SET", "stream-node-max-entries", "100"],
    ["XADD", "a", "1-1", "f", "1", "g", "2"],
    ["XADD", "a", "5-0", "h", "123456789", "x", "-5"],
    ["XADD", "a", "5-1", "f", "a", "g", "b" * 80],
    ["XDEL", "a", "1-1"],
    ["XADD", "a", "18446744073709551615-0", "", ""],
    ["XSETID", "a", "18446744073709551615-9", "ENTRIESADDED", "100"],
    ["XGROUP", "CREATE", "a", "g", "0", "ENTRIESREAD", "3"],
    ["XGROUP", "CREATE", "a", "h", "$"],
]


def test_dump_payloads_are_redis_bytes(redis_conn):
    """Node layout, tombstones, counters and groups (no clock readings here): DUMP as redis-server's."""
    client = CoreClient(make_node(now=NOW))
    redis_conn.call([b"FLUSHALL"])
    for argv in DUMP_SCRIPT:
        args = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
        assert normalize(client.call(*args)) == normalize(redis_conn.call(args)), argv
    for key in (b"n", b"a"):
        assert client.call("DUMP", key) == redis_conn.call([b"DUMP", key])


def test_served_group_readers_are_logged_after_the_xadd():
    """As redis-server 7.0.15 logs it: the XADD, then what serving the blocked reader did."""
    node = logging_node(now=NOW)
    writer, w1, w2 = LogClient(node, 1), LogClient(node, 2), LogClient(node, 3)
    writer.call("XGROUP", "CREATE", "bs", "g", "$", "MKSTREAM")
    assert w1.send_raw(encode_request("XREADGROUP", "GROUP", "g", "w1", "BLOCK", 0, "STREAMS", "bs", ">")) == []
    assert w2.send_raw(encode_request("XREADGROUP", "GROUP", "g", "w2", "NOACK", "BLOCK", 0, "STREAMS", "bs", ">")) == []
    writer.call("XADD", "bs", "1-1", "a", "1")
    assert w1.send_raw(b"") == [[[b"bs", [[b"1-1", [b"a", b"1"]]]]]]
    assert w2.send_raw(b"") == []
    writer.call("XADD", "bs", "2-1", "a", "1")
    assert w2.send_raw(b"") == [[[b"bs", [[b"2-1", [b"a", b"1"]]]]]]
    t = b"%d" % NOW
    assert records(node)[2:] == [
        [b"XADD", b"bs", b"1-1", b"a", b"1"],
        [b"XCLAIM", b"bs", b"g", b"w1", b"0", b"1-1", b"TIME", t, b"RETRYCOUNT", b"1", b"FORCE", b"JUSTID",
         b"LASTID", b"1-1"],
        [b"XADD", b"bs", b"2-1", b"a", b"1"],
        [b"MULTI"],
        [b"XGROUP", b"CREATECONSUMER", b"bs", b"g", b"w2"],
        [b"XGROUP", b"SETID", b"bs", b"g", b"2-1", b"ENTRIESREAD", b"2"],
        [b"EXEC"],
    ]
    assert stream_state(replayed(node)) == stream_state(node)


# -- WATCH: which stream writes make a transaction fail (Redis 7.0 signals only some) -------------
WATCH_CASES = [
    (["XADD", "s", "3-1", "f", "v"], True),
    (["XDEL", "s", "1-1"], True),
    (["XTRIM", "s", "MAXLEN", "0"], True),
    (["XSETID", "s", "9-9"], False),
    (["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"], False),
    (["XREADGROUP", "GROUP", "g", "new", "STREAMS", "s", "0"], False),
    (["XACK", "s", "g", "1-1"], False),
    (["XCLAIM", "s", "g", "d", "0", "1-1"], False),
    (["XAUTOCLAIM", "s", "g", "e", "0", "0"], False),
    (["XGROUP", "CREATE", "s", "h", "0"], False),
    (["XGROUP", "SETID", "s", "g", "0"], False),
    (["XGROUP", "CREATECONSUMER", "s", "g", "z"], False),
    (["XGROUP", "DELCONSUMER", "s", "g", "c"], False),
    (["XGROUP", "DESTROY", "s", "g"], False),
]


def watched_exec(watcher, writer, argv):
    for setup in (["XADD", "s", "1-1", "f", "v"], ["XADD", "s", "2-1", "f", "v"], ["XGROUP", "CREATE", "s", "g", "0"],
                  ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">"], ["WATCH", "s"]):
        watcher(*setup)
    writer(*argv)
    watcher("MULTI")
    watcher("PING")
    return watcher("EXEC")


@pytest.mark.parametrize(("argv", "fails"), WATCH_CASES, ids=[" ".join(argv[:2]) for argv, _ in WATCH_CASES])
def test_which_writes_fail_a_watch(argv, fails):
    node = make_node()
    assert watched_exec(CoreClient(node).call, CoreClient(node).call, argv) == (None if fails else [b"PONG"])


@pytest.mark.parametrize(("argv", "fails"), WATCH_CASES, ids=[" ".join(argv[:2]) for argv, _ in WATCH_CASES])
def test_which_writes_fail_a_watch_on_redis(argv, fails, redis_port):
    watcher, writer = RedisConnection(redis_port), RedisConnection(redis_port)
    try:
        watcher.call([b"FLUSHALL"])
        result = watched_exec(lambda *a: watcher.call([x.encode() for x in a]),
                              lambda *a: writer.call([x.encode() for x in a]), argv)
    finally:
        watcher.close()
        writer.close()
    assert result == (None if fails else [b"PONG"])
