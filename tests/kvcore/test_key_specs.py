"""Key specs and command tips: the spec machinery on its own, the table's
consistency with its legacy key positions, and COMMAND INFO / GETKEYS /
GETKEYSANDFLAGS compared with a real redis-server 7.0."""

from __future__ import annotations

import hiredis
import pytest

from kvcore.commands import TABLE
from kvcore.commands.key_specs import UNKNOWN, Index, KeyFlag, Keynum, KeySpec, Keyword, Range, find_keys, legacy_range
from kvcore.commands.server import all_commands, command_info, keys_and_flags
from kvcore.commands.table import Flag
from kvcore.effects import Send
from kvcore.resp import encode
from tests.kvcore.harness import encode_request

EVERY_COMMAND = all_commands(TABLE)
WITH_SPECS = [cmd for cmd in EVERY_COMMAND if cmd.key_specs]

# Commands kvsim has and redis-server 7.0 lacks: RedisJSON's, a module in Redis.
KVSIM_ONLY = {cmd.fullname for cmd in EVERY_COMMAND if cmd.fullname.startswith("json.")}
# Subcommands Redis has and kvsim deliberately lacks: none at present.
REDIS_ONLY: dict[str, str] = {}


def argv_of(*words: str) -> list[bytes]:
    return [word.encode() for word in words]


# -- the spec machinery, from Redis's documented examples ------------------------------


@pytest.mark.parametrize(("specs", "argv", "expected"), [
    ((KeySpec("RO ACCESS", Index(1)),), "get k", [1]),
    ((KeySpec("OW UPDATE", Index(1), Range(-1, 2)),), "mset a 1 b 2", [1, 3]),
    ((KeySpec("RW ACCESS DELETE", Index(1), Range(-2)), KeySpec("RW INSERT", Index(3))), "x a b c", [1, 2, 3]),
    ((KeySpec("RO ACCESS", Index(2), Keynum(0, 1, 1)),), "eval s 2 a b c", [3, 4]),
    ((KeySpec("RO ACCESS", Index(2), Keynum(0, 1, 1)),), "eval s 3 a b", None),  # numkeys beyond argv
    ((KeySpec("RO ACCESS", Index(2), Keynum(0, 1, 1)),), "eval s x a", None),  # numkeys not a number
    ((KeySpec("RO ACCESS", Index(2), Keynum(0, 1, 1)),), "eval s 0 a", None),  # no keys: Redis asks the command
    ((KeySpec("RO ACCESS", Keyword("STREAMS", 1), Range(-1, 1, 2)),), "xread count 1 streams a b 0 0", [4, 5]),
    ((KeySpec("RO ACCESS", Keyword("STREAMS", 1), Range(-1, 1, 2)),), "xread count 1", []),
    ((KeySpec("OW UPDATE", Keyword("STORE", 6)),), "georadius k 1 2 3 m store d", [7]),
    ((KeySpec("OW UPDATE", Keyword("STORE", 6)),), "georadius k store 2 3 m x", []),  # before startfrom
    ((KeySpec("RW", Keyword("KEYS", -2), Range(-1)),), "migrate h p '' 0 5 keys a b", [7, 8]),
    ((KeySpec("RO", UNKNOWN, UNKNOWN),), "sort k", None),
    ((KeySpec("NOT_KEY", Index(1)),), "spublish c m", []),
])
def test_find_keys(specs, argv, expected):
    found = find_keys(specs, argv_of(*argv.split()))
    assert (None if found is None else [i for i, _ in found]) == expected


def test_find_keys_gives_each_key_its_specs_flags():
    specs = (KeySpec("RW ACCESS DELETE", Index(1)), KeySpec("RW INSERT", Index(2)))
    assert find_keys(specs, argv_of("lmove", "a", "b", "left", "right")) == [
        (1, KeyFlag.RW | KeyFlag.ACCESS | KeyFlag.DELETE), (2, KeyFlag.RW | KeyFlag.INSERT)]


@pytest.mark.parametrize(("specs", "expected"), [
    ((), ((0, 0, 0), False)),
    ((KeySpec("RO", Index(1)),), ((1, 1, 1), False)),
    ((KeySpec("OW", Index(1), Range(-1, 2)),), ((1, -1, 2), False)),
    ((KeySpec("RW", Index(1)), KeySpec("RW", Index(2))), ((1, 2, 1), False)),  # LMOVE
    ((KeySpec("RW", Index(1), Range(-2)), KeySpec("RW", Index(8))), ((1, -2, 1), True)),
    ((KeySpec("RO", Index(2), Keynum(0, 1, 1)),), ((0, 0, 0), True)),  # EVAL
    ((KeySpec("OW", Index(1)), KeySpec("RO", Index(2), Keynum(0, 1, 1))), ((1, 1, 1), True)),  # ZUNIONSTORE
    ((KeySpec("RO", Index(1)), KeySpec("OW", Keyword("STORE", 6))), ((1, 1, 1), True)),  # GEORADIUS
    ((KeySpec("RO", Index(1), Range(-2)), KeySpec("OW", Index(2))), ((1, -2, 1), True)),  # not consecutive
])
def test_legacy_range(specs, expected):
    assert legacy_range(specs) == expected


# -- the table: specs and legacy key positions tell one story ---------------------------


@pytest.mark.parametrize("cmd", WITH_SPECS, ids=[cmd.fullname for cmd in WITH_SPECS])
def test_legacy_positions_derive_from_the_specs(cmd):
    keys, movable = legacy_range(cmd.key_specs)
    assert (cmd.first_key, cmd.last_key, cmd.key_step) == keys
    assert bool(cmd.flags & Flag.MOVABLE_KEYS) == movable


def sample_argvs(cmd) -> list[list[bytes]]:
    """Argument lists of every allowed length up to four past the minimum."""
    name = [cmd.container.name, cmd.name] if cmd.container else [cmd.name]
    least = abs(cmd.arity)
    counts = [least] if cmd.arity > 0 else range(least, least + 5)
    return [argv_of(*name, *(f"a{i}" for i in range(len(name), count))) for count in counts]


# Argument lists that reach the keyword and keynum specs of the movable-key commands.
MOVABLE_SAMPLES = [
    "eval s 2 a b c", "eval_ro s 1 a", "evalsha h 1 a", "evalsha_ro h 3 a b c", "fcall f 2 a b", "fcall_ro f 1 a x",
    "zunionstore d 2 a b weights 1 2", "zinterstore d 1 a", "zdiffstore d 2 a b", "zunion 2 a b", "zinter 1 a",
    "zdiff 2 a b withscores", "zintercard 2 a b limit 1", "sintercard 1 a", "zmpop 2 a b min", "bzmpop 0 1 a max",
    "lmpop 2 a b left", "blmpop 0 1 a right count 2", "xread count 2 streams a b 0 0", "xread streams a 0",
    "xreadgroup group g c streams a b > >", "xreadgroup group g c count 1 noack streams a >",
    "georadius k 1 2 3 m store d", "georadius k 1 2 3 m storedist d", "georadius k 1 2 3 m withdist",
    "georadiusbymember k m 3 km store d", "georadiusbymember k store 3 km",
    "sort k store d", "sort k by w get # limit 0 1", "sort_ro k get #",
    "set k v get", "set k v ex 10", "bitfield k get u8 0", "bitfield k set u8 0 1",
]


@pytest.mark.parametrize("cmd", WITH_SPECS, ids=[cmd.fullname for cmd in WITH_SPECS])
def test_key_positions_agree_with_the_specs(cmd):
    movable = [argv_of(*words.split()) for words in MOVABLE_SAMPLES if words.split()[0] == cmd.name]
    for argv in sample_argvs(cmd) + movable:
        found = find_keys(cmd.key_specs, argv, include_not_keys=True)  # shard channels route like keys
        if found is not None:
            assert [i for i, _ in found] == cmd.key_positions(argv), argv


def test_every_movable_sample_reaches_its_keys():
    for words in MOVABLE_SAMPLES:
        argv = argv_of(*words.split())
        assert find_keys(TABLE[argv[0]].key_specs, argv) or TABLE[argv[0]].flagged_keys_fn, words


def test_flags_that_depend_on_the_arguments():
    flags = [f for _, f in keys_and_flags(TABLE[b"set"], argv_of("set", "k", "v", "GET"))]
    assert flags == [KeyFlag.RW | KeyFlag.ACCESS | KeyFlag.UPDATE]
    flags = [f for _, f in keys_and_flags(TABLE[b"bitfield"], argv_of("bitfield", "k", "overflow", "sat", "get", "u8"))]
    assert flags == [KeyFlag.RW | KeyFlag.ACCESS | KeyFlag.UPDATE]  # an incomplete GET counts as a write


def test_command_info_resp3_types(node, c):
    """Tips are bulk strings and key-spec flags simple strings, in sets; specs are maps."""
    c.call("HELLO", "3")
    node.receive(c.conn, encode_request("COMMAND", "INFO", "keys", "lmove"), node.now)
    data = b"".join(e.data for e in node.take_effects() if isinstance(e, Send))
    assert b"~2\r\n$25\r\nrequest_policy:all_shards\r\n$29\r\nnondeterministic_output_order\r\n" in data
    assert (b"~2\r\n%3\r\n$5\r\nflags\r\n~3\r\n+RW\r\n+access\r\n+delete\r\n$12\r\nbegin_search\r\n%2\r\n"
            b"$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n") in data


# -- against the reference server --------------------------------------------------------


def decoded(reply) -> list:
    reader = hiredis.Reader()
    reader.feed(encode(reply, False))
    return reader.gets()


def comparable(info: list) -> list:
    """A COMMAND INFO entry with its subcommands in name order (Redis lists them in hash order)."""
    subcommands = sorted((comparable(sub) for sub in info[9] if sub[0].decode() not in REDIS_ONLY), key=lambda s: s[0])
    return [*info[:9], subcommands]


def test_command_info_matches_redis_for_every_shared_command(redis_conn):
    shared = [cmd for cmd in TABLE.values() if cmd.fullname not in KVSIM_ONLY]
    theirs = redis_conn.call(argv_of("COMMAND", "INFO", *(cmd.fullname for cmd in shared)))
    mismatched = {}
    for cmd, reference in zip(shared, theirs):
        mine = comparable(decoded(command_info(cmd)))
        if reference is None or mine != comparable(reference):
            mismatched[cmd.fullname] = (mine, reference)
    assert mismatched == {}


def test_the_listed_differences_are_real(redis_conn):
    """KVSIM_ONLY and REDIS_ONLY list nothing Redis has (or lacks) after all."""
    assert redis_conn.call(argv_of("COMMAND", "INFO", *sorted(KVSIM_ONLY))) == [None] * len(KVSIM_ONLY)
    for name in REDIS_ONLY:
        assert redis_conn.call(argv_of("COMMAND", "INFO", name))[0] is not None
        assert name.split("|")[1].encode() not in TABLE[name.split("|")[0].encode()].subcommands


GETKEYS_SAMPLES = [
    # Redis's own introspection-2.tcl cases
    "set k1 v1", "mset k1 v1 k2 v2", "lmove k1 k2 left right", "sort k1 store k2",
    # flags that depend on the arguments
    "set k v get", "set k v nx getx", "bitfield k get u8 0", "bitfield k get u8 0 overflow wrap",
    "bitfield k set u8 0 1", "bitfield k incrby u8 0 1", "bitfield k get u8", "bitfield k", "bitfield_ro k get u8 0",
    # keynum specs
    "eval s 2 a b c", "eval s 0", "eval s 0 x", "eval s 3 a b", "eval s x a", "eval s -1 a", "eval_ro s 1 a",
    "evalsha h 1 a", "fcall f 2 a b x", "fcall_ro f 0", "fcall f 5 a",
    "zunionstore d 2 a b weights 1 2", "zunionstore d 0 a", "zinterstore d 3 a b c", "zdiffstore d 1 a",
    "zunion 2 a b", "zinter 1 a withscores", "zdiff 2 a b", "zintercard 2 a b", "sintercard 1 a limit 3",
    "lmpop 2 a b left", "blmpop 0 2 a b left", "zmpop 1 a min", "bzmpop 1 2 a b max count 3",
    # keyword specs
    "xread streams a b 0 0", "xread count 1 block 0 streams a 0", "xread count 1 streams a", "xread streams a b c",
    "xreadgroup group g c streams a >", "xreadgroup group g c count 1 noack streams a b > >",
    "georadius k 1 2 3 m store d", "georadius k 1 2 3 m storedist d", "georadius k 1 2 3 m store d storedist e",
    "georadius k 1 2 3 m withcoord", "georadiusbymember k m 3 km store d", "georadiusbymember k store 3 km",
    "georadius_ro k 1 2 3 m",
    "geosearchstore d s frommember m byradius 1 m", "sort k", "sort k by w get # store d", "sort_ro k get #",
    # ranges, several specs, subcommands
    "del a b c", "rename a b", "copy a b", "smove a b m", "rpoplpush a b", "blmove a b left right 0",
    "brpoplpush a b 0", "bitop and d a b", "pfmerge d a b", "sunionstore d a b", "msetnx a 1 b 2", "lcs a b",
    "object encoding k", "memory usage k", "xinfo stream k", "xgroup create k g $", "pfcount a b",
    "blpop a b 0", "bzpopmin a b 0", "watch a b", "exists a b", "getex k persist", "xadd k * f v",
    # errors
    "ping x", "client list", "config get a", "publish c m", "spublish c m", "nosuch a", "get", "get a b",
    "client nosuch", "object", "script flush",
]


@pytest.mark.parametrize("subcommand", ["GETKEYS", "GETKEYSANDFLAGS"])
def test_getkeys_replies_match_redis(c, redis_conn, subcommand):
    mismatched = {}
    for words in GETKEYS_SAMPLES:
        argv = argv_of("COMMAND", subcommand, *words.split())
        mine, theirs = c.call(*argv), redis_conn.call(argv)
        if isinstance(mine, hiredis.ReplyError) or isinstance(theirs, Exception):
            mine, theirs = str(mine), str(theirs)
        if mine != theirs:
            mismatched[words] = (mine, theirs)
    assert mismatched == {}


def test_getkeysandflags_reproduces_redis_test_suite(c):
    """unit/introspection-2.tcl's COMMAND GETKEYSANDFLAGS, with its expected replies."""
    assert c.call("COMMAND", "GETKEYSANDFLAGS", "set", "k1", "v1") == [[b"k1", [b"OW", b"update"]]]
    assert c.call("COMMAND", "GETKEYSANDFLAGS", "LMOVE", "k1", "k2", "left", "right") == [
        [b"k1", [b"RW", b"access", b"delete"]], [b"k2", [b"RW", b"insert"]]]
    assert c.call("COMMAND", "GETKEYSANDFLAGS", "sort", "k1", "store", "k2") == [
        [b"k1", [b"RO", b"access"]], [b"k2", [b"OW", b"update"]]]
