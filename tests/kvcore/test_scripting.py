"""EVAL and SCRIPT: every scenario gives redis-server 7.0's replies, byte for byte, and the core
propagates a script's writes as the commands it ran."""

from __future__ import annotations

import pytest
from hiredis import ReplyError

from kvcore.effects import AppendLog
from tests.kvcore.differential.runner import RedisConnection
from tests.kvcore.harness import CoreClient, encode_request, make_node


def script(body: str, *args: str) -> list[bytes]:
    return [b"EVAL", body.encode(), *[arg.encode() for arg in args]]


SCENARIOS = {
    "bit_library_rounds_as_luabitop": [  # the double plus 2^52+2^51, its low 32 bits
        script("return {bit.tobit(3.99), bit.tobit(2.5), bit.tobit(3.5), bit.tobit(-3.99), bit.tobit(1e20)}", "0"),
        script("return {bit.tohex(2^51+1), bit.tohex(1/0), bit.tohex(0/0), bit.tohex(255, -4), bit.tohex(255, 2.6)}",
               "0"),
        script("return {bit.band(0xffffffff, 7.5), bit.lshift(1, 33.2), bit.tobit(2^32+5)}", "0"),
    ],
    "cjson_decodes_escapes_to_utf8_and_big_integers_to_doubles": [
        [b"EVAL", b"return cjson.decode(ARGV[1])", b"0", b'"\\u00e9 \\ud83d\\ude00 \xc3\xa9 \xff"'],
        [b"EVAL", b"return cjson.encode(cjson.decode(ARGV[1]))", b"0", b'[123456789012345678901234567890, 12345678901234567]'],
        [b"EVAL", b"return cjson.encode(cjson.decode(ARGV[1]))", b"0", b'{"k\\u00e9": 1}'],
    ],
    "shebang_flags_empty_or_with_an_empty_one": [
        script("#!lua flags=\nreturn 1", "0"),
        script("#!lua flags=no-writes,,\nreturn 1", "0"),
        script("#!lua flags=,\nreturn 1", "0"),
    ],
    "string_metatable_is_read_only": [  # it was writable: one script could break string methods for all
        script("getmetatable('').__index = 1; return 1", "0"),
        script("getmetatable('').foo = 1; return 1", "0"),
        script("return {('abc'):upper(), getmetatable('').__index == string}", "0"),
    ],
    "acl_check_cmd_without_arguments": [script("return redis.acl_check_cmd()", "0")],
    "library_metadata_needs_its_newline": [
        [b"FUNCTION", b"LOAD", b"#!lua name=x"],
        [b"FUNCTION", b"LOAD", b"#!lua name=x\n"],
    ],
    "setresp_reads_its_argument_as_lua_tonumber": [
        script("redis.setresp('3'); return redis.call('hgetall', 'nokey')", "0"),
        script("redis.setresp(3.5); return redis.call('hgetall', 'nokey')", "0"),
        script("redis.setresp('x')", "0"),
        script("redis.setresp(1/0)", "0"),
    ],
    "cmsgpack_doubles_past_float32": [  # packed as float64, as lua-cmsgpack's (float)n == n decides
        script("return {cmsgpack.pack(1e100), cmsgpack.pack(-1e300), cmsgpack.pack(3.5e38), cmsgpack.pack(1/0)}", "0"),
        script("return {cmsgpack.pack(1.5), cmsgpack.pack(0.1)}", "0"),
    ],
    "sandbox_and_reply_edges": [  # found by a differential hunt: python.eval ran Python in the server
        script("return python.eval('6*7')", "0"),
        script("return type(python)", "0"),
        script("return type(debug)", "0"),
        script("return debug.getregistry()", "0"),
        script("return setfenv", "0"),
        script("return getfenv(1)", "0"),
        script("return type(gcinfo)", "0"),
        script("return redis.status_reply('OK\\r\\n:1')", "0"),
        script("return {ok = 'A\\nB'}", "0"),
        script("return {err = 'ERR x\\r\\n:1'}", "0"),
        script("return 1/0", "0"),
        script("return -1/0", "0"),
        script("return 0/0", "0"),
        script("return 2^63", "0"),
        script("return 2^64", "0"),
        script("return -2^63", "0"),
        script("return 1e20", "0"),
        [b"FUNCTION", b"LOAD", b"#!lua name=escape\nredis.register_function('f', function() return python end)"],
        [b"FCALL", b"f", b"0"],
        [b"FUNCTION", b"LOAD", b"REPLACE", b"#!lua name=escape\nredis.register_function('f', function() return debug end)"],
        [b"FCALL", b"f", b"0"],
        [b"EVAL_RO", b"#!lua\nreturn 1", b"0"],
        [b"EVAL_RO", b"#!lua flags=no-writes\nreturn 1", b"0"],
        [b"EVAL", b"#!lua", b"0"],
        script("redis.call('set', 'n', 0.1); return redis.call('get', 'n')", "0"),
        script("redis.call('set', 'n', 1e17); return redis.call('get', 'n')", "0"),
        script("redis.call('set', 'n', 2^62); return redis.call('get', 'n')", "0"),
    ],
    "replies_to_lua_and_back": [
        script("return redis.call('set', KEYS[1], ARGV[1])", "1", "k", "v"),
        script("return redis.call('get', KEYS[1])", "1", "k"),
        script("return redis.call('get', 'missing')", "0"),
        script("return type(redis.call('get', 'missing'))", "0"),
        script("return redis.call('incrby', 'n', 5)", "0"),
        script("return {1, 2, 3, 'ciao', {1, 2}, nil, 5}", "0"),
        script("return {redis.call('get', 'missing'), 5}", "0"),
        script("return 3.99", "0"),
        script("return -3.99", "0"),
        script("return true", "0"),
        script("return false", "0"),
        script("return nil", "0"),
        script("return redis.status_reply('FINE')", "0"),
        script("return redis.error_reply('My Error')", "0"),
        script("return {err = 'bad thing'}", "0"),
        script("return redis.call('ping')", "0"),
        script("return redis.call('hgetall', 'missing')", "0"),
        script("redis.call('hset', 'h', 'a', '1', 'b', '2'); return redis.call('hgetall', 'h')", "0"),
        script("redis.call('zadd', 'z', 1.5, 'a'); return redis.call('zscore', 'z', 'a')", "0"),
        script("return redis.call('zrange', 'z', 0, -1, 'WITHSCORES')", "0"),
        script("return redis.call('set', 'f', 1.5)", "0"),
        script("return redis.call('get', 'f')", "0"),
        script("return #ARGV .. ':' .. ARGV[2] .. ':' .. #KEYS", "1", "k", "a", "b"),
        script("return redis.sha1hex('')", "0"),
        script("return redis.pcall('incr', 'k')", "0"),
        script("local r = redis.pcall('incr', 'k'); return type(r) .. ':' .. r.err", "0"),
        script("return redis.call('type', 'h')", "0"),
        script("return redis.call('type', 'h').ok", "0"),
        script("local ok, e = pcall(redis.call, 'incr', 'k'); return {tostring(ok), type(e), e}", "0"),
        script("local a = {}; for i = 1, 7999 do a[i] = 1 end; return redis.call('lpush', 'many', unpack(a))", "0"),
        script("local a = {}; local b = {a}; a[1] = b; return type(a)", "0"),
    ],
    "libraries": [
        script("return cjson.encode({1, 2, 3, 'a/b', {x = 1}})", "0"),
        script("return cjson.encode({})", "0"),
        script("return cjson.encode({a = cjson.null})", "0"),
        script("local t = cjson.decode('{\"keya\": \"a\", \"keyb\": [1, 2, null]}'); "
               "return {t.keya, t.keyb[2], type(t.keyb[3])}", "0"),
        script("return cjson.encode(1.5)", "0"),
        script("local ok, e = pcall(cjson.encode, {num1 = 0/0}); return tostring(ok) .. tostring(e)", "0"),
        script("return cmsgpack.pack({1, 2, 3, 'abc', {x = 1}}, 5, -3, 3.5, 1.1, 300, -200, 70000, true, false)", "0"),
        script("local t = cmsgpack.unpack(cmsgpack.pack({1, 2, {a = 'b'}})); return {t[1], t[3].a}", "0"),
        script("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 'x', 2), 2, 2)}", "0"),
        script("return {bit.band(0xff, 0x0f), bit.tohex(255), bit.bxor(5, 3), bit.lshift(1, 31), bit.bnot(0)}", "0"),
    ],
    "errors_say_where": [
        script("return redis.call('incr', KEYS[1])", "1", "k"),
        script("local a = 1\nreturn redis.call('incr', 'k')", "0"),
        script("return redis.call('nosuch')", "0"),
        script("return redis.call('set', 'x')", "0"),
        script("return redis.call('get', {})", "0"),
        script("return redis.call()", "0"),
        script("return redis.call('multi')", "0"),
        script("return redis.call('blpop', 'list', 0)", "0"),
        script("error('boom')", "0"),
        script("\n\nerror('boom')", "0"),
        script("x = 5", "0"),
        script("return y", "0"),
        script("retur", "0"),
        [b"EVAL_RO", b"return redis.call('set', 'k', 'v')", b"0"],
        [b"EVAL_RO", b"return redis.call('get', 'k')", b"0"],
        script("#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')", "0"),
        script("#!lua\nerror('x')", "0"),
        script("#!lua flags=no-writes,allow-oom\nreturn 1", "0"),
        script("#!lua flags=bad\nreturn 1", "0"),
        script("#!python\nreturn 1", "0"),
        script("#!lua name=x\nreturn 1", "0"),
    ],
    "library_helpers_check_their_arguments": [  # found by fakeredis's suite run against kvserver
        script("return {redis.sha1hex(nil), redis.sha1hex({}), redis.sha1hex(1.5)}", "0"),
        script("return {pcall(redis.sha1hex)}", "0"),
        script("return redis.log(3)", "0"),
        script("return redis.log('x', 'a')", "0"),
        script("return redis.log(' 0x3 ', 'a')", "0"),
        script("return redis.log(4, 'a')", "0"),
        script("return redis.log(-0.5, 'a')", "0"),
        script("return redis.log(3, nil, 'b', {}, true, 1.5)", "0"),
        script("return {pcall(redis.log, 3)}", "0"),
        script("return redis.setresp(2, 3)", "0"),
        script("return redis.set_repl()", "0"),
        script("return redis.set_repl(1, 2)", "0"),
    ],
    "errors_name_the_line_of_a_returned_call": [  # Lua's tail call leaves no frame to read it from
        [b"FUNCTION", b"FLUSH"],
        [b"SET", b"s", b"abc"],
        [b"FUNCTION", b"LOAD", b"#!lua name=lib\n"
         b"redis.register_function('unknown', function() return redis.call('NOPE') end)\n"
         b"redis.register_function('index_nil', function()\n  local t = nil\n  return t.x\nend)\n"
         b"redis.register_function('arity', function() return redis.call('GET') end)\n"
         b"redis.register_function('two', function()\n  redis.call('GET', 's')\n  return redis.call('INCR', 's')\nend)"],
        [b"FCALL", b"unknown", b"0"],
        [b"FCALL", b"index_nil", b"0"],
        [b"FCALL", b"arity", b"0"],
        [b"FCALL", b"two", b"0"],
        script("redis.call('GET', 's')\nreturn redis.call('INCR', 's')\n-- redis.call in a comment", "0"),
        script("if true then\n  return redis.call('INCR', 's')\nend\nredis.call('GET', 's')", "0"),
        [b"FUNCTION", b"FLUSH"],
    ],
    "function_flags_listed_in_redis_order": [
        [b"FUNCTION", b"FLUSH"],
        [b"FUNCTION", b"LOAD", b"#!lua name=lib\nredis.register_function{function_name='f', callback=function() "
         b"return 1 end, flags={'allow-cross-slot-keys', 'no-cluster', 'allow-stale', 'allow-oom', 'no-writes', "
         b"'no-writes'}}"],
        [b"FUNCTION", b"LIST"],
        [b"FUNCTION", b"FLUSH"],
    ],
    "out_of_memory": [  # under maxmemory 1 and noeviction: writes in scripts as Redis refuses them
        [b"SET", b"a", b"1"],
        [b"CONFIG", b"SET", b"maxmemory", b"1"],
        script("return redis.call('set', 'x', 'y')", "0"),
        script("return redis.call('get', 'a')", "0"),
        script("return redis.pcall('set', 'x', 'y')", "0"),
        script("#!lua\nreturn redis.call('set', 'x', 'y')", "0"),
        script("#!lua flags=allow-oom\nreturn redis.call('set', 'x', 'y')", "0"),
        script("#!lua flags=no-writes\nreturn redis.call('get', 'a')", "0"),
        [b"CONFIG", b"SET", b"maxmemory", b"0"],
    ],
    "numkeys_and_the_cache": [
        script("return 1", "-1"),
        script("return 1", "3", "a"),
        script("return 1", "x"),
        [b"EVALSHA", b"ffffffffffffffffffffffffffffffffffffffff", b"0"],
        [b"EVALSHA", b"fff", b"0"],
        [b"SCRIPT", b"LOAD", b"return 'loaded'"],
        [b"SCRIPT", b"EXISTS", b"6f2f2b4d3a1ae4b6ba3a8f5d1ec12bd3ce1baa3a", b"ffff"],
        [b"EVALSHA", b"6F2F2B4D3A1AE4B6BA3A8F5D1EC12BD3CE1BAA3A", b"0"],
        [b"SCRIPT", b"LOAD", b"retur"],
        [b"SCRIPT", b"FLUSH"],
        [b"SCRIPT", b"EXISTS", b"6f2f2b4d3a1ae4b6ba3a8f5d1ec12bd3ce1baa3a"],
        [b"SCRIPT", b"FLUSH", b"ASYNC"],
        [b"SCRIPT", b"FLUSH", b"NOW"],
        [b"SCRIPT", b"KILL"],
    ],
}


def function_load(code: str, replace: bool = False) -> list[bytes]:
    return [b"FUNCTION", b"LOAD", *([b"REPLACE"] if replace else []), code.encode()]


LIB = "#!lua name=lib3\n" \
      "redis.register_function{function_name='ro', callback=function(keys, args) " \
      "return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads'}\n" \
      "redis.register_function{function_name='w', callback=function(keys, args) " \
      "return redis.call('set', keys[1], args[1]) end}\n" \
      "redis.register_function('boom', function(keys, args) return redis.call('incr', 'lib1x') end)"

SCENARIOS["functions"] = [
    [b"FUNCTION", b"FLUSH"],
    function_load("return 1"),
    function_load("#!lua\nreturn 1"),
    function_load("#!lua name=lib1\nreturn 1"),
    function_load("#!lua name=lib1\nredis.register_function('f-1', function() return 1 end)"),
    function_load("#!lua name=lib-1\nredis.register_function('f9', function() return 1 end)"),
    function_load("#!lua name=lib1\nredis.register_function('f1', function(keys, args) return redis.call('ping') end)"),
    function_load("#!lua name=lib1\nredis.register_function('f1', function() return 1 end)"),
    function_load("#!lua name=lib1\nredis.register_function('f1', function() return 2 end)", replace=True),
    function_load("#!lua name=lib2\nredis.register_function('f1', function() return 1 end)"),
    function_load("#!lua name=lib3\nredis.call('ping')"),
    function_load("#!lua name=lib3 foo=bar\nreturn 1"),
    function_load("#!js name=lib3\nreturn 1"),
    function_load("#!lua name=lib4\nredis.register_function{function_name='f4', callback=function() return 1 end, "
                  "flags={'bad'}}"),
    function_load("#!lua name=lib5\nredis.register_function('f5', 'notafunction')"),
    function_load("#!lua name=lib5\nredis.register_function('f5')"),
    function_load("#!lua name=lib5\nlocal x = nosuch"),
    function_load("#!lua name=lib5\nerror('bad')"),
    function_load("#!lua name=lib5\nretur"),
    function_load(LIB),
    [b"SET", b"lib1x", b"abc"],
    [b"FCALL", b"f1", b"0"],
    [b"FCALL", b"ro", b"1", b"lib1x"],
    [b"FCALL_RO", b"w", b"1", b"k", b"v"],
    [b"FCALL", b"w", b"1", b"k", b"v"],
    [b"FCALL", b"boom", b"0"],
    [b"FCALL", b"nosuch", b"0"],
    [b"FCALL_RO", b"ro", b"1", b"lib1x"],
    [b"FCALL", b"ro", b"-1"],
    [b"FCALL", b"ro", b"2", b"a"],
    [b"FUNCTION", b"LIST", b"LIBRARYNAME", b"lib3", b"WITHCODE"],
    [b"FUNCTION", b"LIST", b"WITHCODE", b"LIBRARYNAME"],
    [b"FUNCTION", b"LIST", b"LIBRARYNAME", b"lib1"],
    [b"FUNCTION", b"DELETE", b"nosuch"],
    [b"FUNCTION", b"DELETE", b"lib1"],
    [b"FCALL", b"f1", b"0"],
    [b"FUNCTION", b"STATS"],
    [b"FUNCTION", b"KILL"],
    [b"FUNCTION", b"FLUSH", b"bad"],
    [b"FUNCTION", b"FLUSH", b"SYNC", b"extra"],
    [b"FUNCTION", b"RESTORE", b"garbage"],
    [b"FUNCTION", b"FLUSH", b"ASYNC"],
    [b"FUNCTION", b"LIST"],
]


class RedisBackend:
    def __init__(self, port: int) -> None:
        self.conn = RedisConnection(port)
        self.conn.call([b"FLUSHALL"])
        self.conn.call([b"SCRIPT", b"FLUSH"])
        self.conn.call([b"FUNCTION", b"FLUSH"])

    def call(self, argv):
        return self.conn.call(argv)


class CoreBackend:
    def __init__(self) -> None:
        self.client = CoreClient(make_node())

    def call(self, argv):
        return self.client.call(*argv)


def _comparable(reply, argv):
    if isinstance(reply, ReplyError | Exception):
        return ("error", str(reply))
    if argv[:2] == [b"FUNCTION", b"LIST"]:  # a library's functions come in hash order in Redis
        for library in reply:
            at = library.index(b"functions") + 1
            library[at] = sorted(library[at])
    return reply


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_matches_redis(name, redis_port):
    redis, core = RedisBackend(redis_port), CoreBackend()
    try:
        for argv in SCENARIOS[name]:
            assert _comparable(core.call(argv), argv) == _comparable(redis.call(argv), argv), argv
    finally:
        redis.call([b"CONFIG", b"SET", b"maxmemory", b"0"])
        redis.call([b"FLUSHALL"])
        redis.conn.close()


# -- core only ---------------------------------------------------------------------------
def logged(node) -> list[list[bytes]]:
    from hiredis import Reader

    reader, out = Reader(), []
    for effect in node.take_effects():
        if isinstance(effect, AppendLog):
            reader.feed(effect.data)
            node.job_done(effect.job, True, node.now)
    while (item := reader.gets()) is not False:
        if item[0].upper() != b"SELECT":
            out.append(item)
    return out


def test_a_script_is_logged_as_the_writes_it_made_in_one_transaction():
    node = make_node(appendonly="yes")
    client = CoreClient(node)
    logged(node)
    node.receive(client.conn, encode_request(
        "EVAL", "redis.call('set', KEYS[1], 'a'); redis.call('get', KEYS[1]); "
                "redis.call('incr', 'n'); return redis.call('lpush', 'l', math.random(1, 9))", "1", "k"), node.now)
    records = logged(node)  # the log written: the reply is released
    assert client.send_raw(b"") == [1]
    assert records[0] == [b"MULTI"] and records[-1] == [b"EXEC"]
    assert [record[0] for record in records[1:-1]] == [b"set", b"incr", b"lpush"]
    assert client.call("EVAL", "return redis.call('get', 'k')", "0") == b"a"
    assert logged(node) == []  # a read-only script logs nothing


def test_math_random_follows_the_node_seed():
    def draws(seed: int) -> list:
        client = CoreClient(make_node(seed=seed))
        return [client.call("EVAL", "return tostring(math.random())", "0") for _ in range(3)]

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)


def test_a_script_runs_with_the_callers_database_and_does_not_change_it():
    node = make_node()
    client = CoreClient(node)
    client.call("SELECT", "3")
    client.call("EVAL", "redis.call('select', 5); return redis.call('set', 'in5', 'x')", "0")
    client.call("EVAL", "return redis.call('set', 'in3', 'x')", "0")
    assert client.call("EXISTS", "in3") == 1 and client.call("EXISTS", "in5") == 0
    client.call("SELECT", "5")
    assert client.call("EXISTS", "in5") == 1


def test_scripts_are_atomic_inside_multi():
    client = CoreClient(make_node())
    assert client.call("MULTI") == b"OK"
    assert client.call("EVAL", "return redis.call('incr', 'n')", "0") == b"QUEUED"
    assert client.call("EXEC") == [1]


def test_functions_travel_in_snapshots_and_rewrites():
    from kvcore import aof, rdb

    node = make_node()
    client = CoreClient(node)
    assert client.call("FUNCTION", "LOAD", LIB) == b"lib3"
    client.call("SET", "lib1x", "5")
    image = rdb.write(node)
    assert rdb.parse(image).functions == [LIB.encode()]
    fresh = make_node()
    rdb.load(fresh, image)
    assert CoreClient(fresh).call("FCALL", "boom", "0") == 6
    rewritten = aof.rewrite_dataset(node)
    assert rewritten.startswith(aof.encode_command([b"FUNCTION", b"LOAD", LIB.encode()]))


def test_function_dump_and_restore_between_kvcore_and_redis(redis_port):
    core = CoreClient(make_node())
    redis = RedisBackend(redis_port)
    try:
        core.call("FUNCTION", "LOAD", LIB)
        payload = core.call("FUNCTION", "DUMP")
        assert redis.call([b"FUNCTION", b"RESTORE", payload]) == b"OK"
        assert redis.call([b"FCALL", b"w", b"1", b"k", b"v"]) == b"OK"
        assert redis.call([b"FUNCTION", b"DUMP"]) == payload  # the same bytes both ways
        redis.call([b"FUNCTION", b"LOAD", b"#!lua name=other\nredis.register_function('o', function() return 7 end)"])
        back = redis.call([b"FUNCTION", b"DUMP"])
        assert str(core.call("FUNCTION", "RESTORE", back)) == "ERR Library lib3 already exists"  # APPEND
        assert str(core.call("FCALL", "o", "0")) == "ERR Function not found"  # nothing of the payload was restored
        assert core.call("FUNCTION", "RESTORE", back, "REPLACE") == b"OK"
        assert core.call("FCALL", "o", "0") == 7
        assert str(core.call("FUNCTION", "RESTORE", back[:-1] + b"x")) == "ERR DUMP payload version or checksum are wrong"
    finally:
        redis.call([b"FUNCTION", b"FLUSH"])
        redis.conn.close()


def test_monitor_shows_the_script_then_its_commands_from_lua():
    """introspection.tcl's 'MONITOR can log commands issued by the scripting engine'."""
    node = make_node()
    client, monitor = CoreClient(node), CoreClient(node)
    assert monitor.call("MONITOR") == b"OK"
    client.call("EVAL", "redis.call('set', KEYS[1], ARGV[1])", "1", "foo", "bar")
    lines = [line.decode() for line in monitor.send_raw(b"")]
    assert '"EVAL"' in lines[0] and "[0 127.0.0.1:" in lines[0]
    assert lines[1].endswith('[0 lua] "set" "foo" "bar"')


def test_a_runaway_script_that_wrote_nothing_is_stopped_past_the_busy_threshold():
    """The core cannot serve SCRIPT KILL while a script runs: it stops such a script itself
    (deterministically, by instructions counted), rather than hang the server."""
    client = CoreClient(make_node())
    client.call("CONFIG", "SET", "busy-reply-threshold", "100")
    reply = str(client.call("EVAL", "while true do end", "0"))
    assert reply.startswith("ERR Script killed: it ran past busy-reply-threshold")
    assert client.call("EVAL", "local i = 0; while i < 1000000 do i = i + 1 end; return i", "0") == 1000000
    written = "redis.call('set', 'w', '1'); local i = 0; while i < 20000000 do i = i + 1 end; return i"
    assert client.call("EVAL", written, "0") == 20000000  # a script that wrote runs to its end, as Redis's
    assert client.call("PING") == b"PONG"


def test_acl_check_cmd_says_whether_the_callers_user_may_run_a_command():
    """As Redis's scripting.tcl: true, false for a command or a key the user lacks, an error for no command."""
    client = CoreClient(make_node())
    client.call("ACL", "SETUSER", "bob", "on", "nopass", "+set", "+eval", "~xx")
    assert client.call("AUTH", "bob", "any") == b"OK"
    assert client.call("EVAL", "return redis.acl_check_cmd('set', 'xx', 1)", "1", "xx") == 1
    assert client.call("EVAL", "return redis.acl_check_cmd('hset', 'xx', 'f', 1)", "1", "xx") is None
    assert client.call("EVAL", "return redis.acl_check_cmd('set', 'yy', 1)", "0") is None
    reply = client.call("EVAL", "return redis.acl_check_cmd('invalid-cmd', 'arg')", "0")
    assert str(reply).startswith("ERR Invalid command passed to redis.acl_check_cmd()")


@pytest.mark.parametrize("body", [
    "redis.register_function(nil, function() return 1 end)",
    "redis.register_function{function_name=5, callback=function() return 1 end}",
    "local x = math.random()\nredis.register_function('f', function() return 1 end)",
    "local x = string.len('a')\nredis.register_function('f', function() return 1 end)",
    "redis.setresp(3)\nredis.register_function('f', function() return 1 end)",
    "redis.log(redis.LOG_NOTICE, 'x')\nredis.register_function('f', function() return 1 end)",
])
def test_a_library_loads_with_nothing_but_redis_s_registration_api(body, redis_conn):
    """As Redis 7.0: while a library loads only redis.register_function and redis.log exist."""
    code = "#!lua name=loadenv\n" + body
    ours = CoreClient(make_node()).call("FUNCTION", "LOAD", "REPLACE", code)
    theirs = redis_conn.call([b"FUNCTION", b"LOAD", b"REPLACE", code.encode()])
    redis_conn.call([b"FUNCTION", b"FLUSH"])
    assert (str(ours) if isinstance(ours, ReplyError) else ours) == \
        (str(theirs) if isinstance(theirs, ReplyError) else theirs)


def test_commands_a_script_is_refused_count_as_redis_counts_them(redis_conn):
    """A command the script layer refuses (arity, not allowed in scripts) counts in its own
    rejected_calls and in the error stats, even when pcall swallows the error."""
    scripts = ["return redis.pcall('GET')", "return redis.pcall('NOSUCH')", "return redis.pcall('SUBSCRIBE', 'x')",
               "return redis.call('GET')", "redis.pcall('GET'); return 1", "redis.pcall('CONFIG', 'NOPE'); return 1"]
    client = CoreClient(make_node())
    redis_conn.call([b"CONFIG", b"RESETSTAT"])
    for script in scripts:
        client.call("EVAL", script, "0")
        redis_conn.call([b"EVAL", script.encode(), b"0"])

    def counts(info: bytes) -> list[str]:
        lines = info.decode().split("\r\n")
        return sorted(line.split(",usec=")[0] + line[line.index(",rejected"):] if "usec=" in line else line
                      for line in lines if line.startswith(("errorstat_", "total_error", "cmdstat_"))
                      and not line.startswith(("cmdstat_info", "cmdstat_config")))

    section = [b"INFO", b"errorstats", b"stats", b"commandstats"]
    assert counts(client.call(*section)) == counts(redis_conn.call(section))


@pytest.mark.parametrize("argv", [
    ["EVALSHA", "x", "x"], ["EVALSHA", "1", "1"], ["EVALSHA_RO", "abc", "-1", "k"],  # not a SHA: NOSCRIPT first
    ["EVALSHA", "a" * 40, "x"], ["EVALSHA", "a" * 40, "2", "k"],  # a SHA's length: its arguments are read first
])
def test_evalsha_of_what_cannot_be_a_sha_is_noscript_before_anything_else(argv, redis_conn):
    ours = CoreClient(make_node()).call(*argv)
    theirs = redis_conn.call([arg.encode() for arg in argv])
    assert str(ours) == str(theirs)
