"""ACL over real sockets: kvserver side by side with redis-server 7.0, the ACL file, user directives.

Redis prints the single commands at the end of a rules text in its command
dict's order, which changes from process to process; `canonical` sorts each
run of them before comparing.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import sys

import pytest
import redis

from kvcore.commands import TABLE
from kvcore.key_access import READ, WRITE, key_access
from tests.kvcore.differential.runner import RedisConnection
from tests.kvcore.test_key_specs import GETKEYS_SAMPLES
from tests.net.util import connect, encode, read_until_eof
from tests.servers import free_port, kvserver, redis_server_in_dir, redis_server_or_skip, running


@pytest.fixture(scope="module")
def ports():
    """(kvserver port, redis-server port), no save schedule."""
    with kvserver(["--save", ""]) as (kv_port, _), redis_server_or_skip(["--save", ""]) as redis_port:
        yield kv_port, redis_port


def canonical(value):
    """A reply with errors as ("error", text) and every run of single-command rules sorted."""
    if isinstance(value, list):
        return [canonical(item) for item in value]
    if isinstance(value, bytes) and b"\n" in value:
        return b"\n".join(canonical(line) for line in value.split(b"\n"))
    if isinstance(value, bytes):
        words = value.split(b" ")
        out, run = [], []
        for word in words + [b""]:
            if word[:1] in (b"+", b"-") and not word[1:2] == b"@":
                run.append(word)
                continue
            out.extend(sorted(run))
            run = []
            out.append(word)
        return b" ".join(out[:-1])
    return value


def run(port: int, script: list[list[str]], user: tuple[str, str] | None = None) -> list:
    client = redis.Redis(port=port, protocol=2, socket_timeout=10, single_connection_client=True)
    replies = []
    try:
        if user is not None:
            replies.append(client.execute_command("AUTH", *user))
        for argv in script:
            try:
                replies.append(client.execute_command(*argv))
            except (redis.ResponseError, redis.AuthenticationError) as exc:
                replies.append(("error", str(exc)))
    finally:
        client.close()
    return [canonical(reply) for reply in replies]


def both(ports, script, user=None):
    kv_port, redis_port = ports
    return run(kv_port, script, user), run(redis_port, script, user)


def _logged_in(port: int, user: str, password: str) -> socket.socket:
    sock = connect(port)
    sock.sendall(encode("AUTH", user, password))
    assert sock.recv(100) == b"+OK\r\n"
    return sock


def reset_users(ports) -> None:
    for port in ports:
        client = redis.Redis(port=port, protocol=2)
        names = [name for name in client.execute_command("ACL", "USERS") if name != b"default"]
        if names:
            client.execute_command("ACL", "DELUSER", *names)
        client.execute_command("ACL", "SETUSER", "default", "reset", "on", "nopass", "~*", "&*", "+@all")
        client.execute_command("ACL", "LOG", "RESET")
        client.execute_command("FLUSHALL")
        client.close()


@pytest.fixture
def fresh(ports):
    reset_users(ports)
    yield ports
    reset_users(ports)


SETUSER_SCRIPTS = [
    [["ACL", "SETUSER", "bob", "on", ">pw", "~foo*", "%R~bar*", "&ch*", "+get", "+@hash", "-hset", "(~x* +set)"]],
    [["ACL", "SETUSER", "u", "reset", "+@string", "-@read", "-set"]],
    [["ACL", "SETUSER", "u", "reset", "+@hash", "+@read"]],
    [["ACL", "SETUSER", "u", "+@all", "-@hash", "+hget", "+config|get", "-client|kill"]],
    [["ACL", "SETUSER", "u", "+select|0", "+select|1", "%W~w*", "%R~w*", "%R~r*"]],
    [["ACL", "SETUSER", "u", "allkeys", "~a"], ["ACL", "SETUSER", "u", "&a", "allchannels", "&b"]],
    [["ACL", "SETUSER", "u", "(~a", "+get)", "(", "+set)"], ["ACL", "SETUSER", "u", "(~a"]],
    [["ACL", "SETUSER", "u", ">a", "#" + "a" * 64, "!" + "a" * 64, "<b"]],
    [["ACL", "SETUSER", "u", "+nosuch"], ["ACL", "SETUSER", "u", "+config|nosuch"], ["ACL", "SETUSER", "u", "-get|x"]],
    [["ACL", "SETUSER", "u", "skip-sanitize-payload", "on", "nopass"], ["ACL", "SETUSER", "u", "clearselectors"]],
    [["ACL", "SETUSER", "a"], ["ACL", "SETUSER", "b"], ["ACL", "DELUSER", "a", "x"], ["ACL", "USERS"]],
    [["ACL", "SETUSER", "u", "allchannels", "&*"], ["ACL", "SETUSER", "u", "&*", "&foo"],
     ["ACL", "SETUSER", "v", "resetchannels", "&*", "&*"], ["ACL", "GETUSER", "v"]],
    [["ACL", "DELUSER", "default"], ["ACL", "DELUSER", "a", "default"]],
    [["CONFIG", "SET", "acl-pubsub-default", "allchannels"], ["ACL", "SETUSER", "u", "reset"],
     ["ACL", "SETUSER", "v"], ["CONFIG", "SET", "acl-pubsub-default", "resetchannels"]],
]


@pytest.mark.parametrize("script", SETUSER_SCRIPTS)
def test_setuser_list_and_getuser_match_redis(fresh, script):
    names = sorted({argv[2] for argv in script if argv[:2] == ["ACL", "SETUSER"]} | {"default"})
    full = [*script, ["ACL", "LIST"], *(["ACL", "GETUSER", name] for name in names)]
    ours, theirs = both(fresh, full)
    assert ours == theirs


def test_getuser_and_log_in_resp3_match_redis_byte_for_byte(fresh):
    both(fresh, [["ACL", "SETUSER", "sl", "on", ">secret", "#" + "0" * 64, "~k", "(~a +get)"]])
    replies = []
    for port in fresh:
        sock = connect(port)
        sock.sendall(encode("HELLO", "3"))
        read_until_eof(sock, 0.5)
        sock.sendall(encode("ACL", "GETUSER", "sl") + encode("ACL", "GETUSER", "nosuch"))
        replies.append(read_until_eof(sock, 0.5)[0])
        sock.close()
    assert replies[0] == replies[1]


CHECK_USER = ["ACL", "SETUSER", "x", "on", ">pw", "~k*", "%R~r*", "%W~w*", "&c*", "+@all", "-lpush",
              "(+lpush ~l*)"]
CHECK_SCRIPT = [
    ["GET", "nokey"], ["GET", "kx"], ["GET", "rx"], ["SET", "rx", "1"], ["GET", "wx"], ["SET", "wx", "1"],
    ["SET", "wx", "1", "GET"], ["INCR", "wx"], ["EXISTS", "wx", "rx"], ["MSET", "kx", "1", "nokey", "2"],
    ["COPY", "rx", "wx"], ["COPY", "wx", "rx"], ["SUNIONSTORE", "wd", "rs", "ks"], ["SUNIONSTORE", "rd", "rs"],
    ["LPUSH", "kl", "a"], ["LPUSH", "ll", "a"], ["LMOVE", "ll", "wl", "LEFT", "LEFT"],
    ["BITFIELD", "rb", "GET", "u8", "0"], ["BITFIELD", "rb", "SET", "u8", "0", "1"], ["SORT", "rs", "STORE", "rd"],
    ["PUBLISH", "zz", "1"], ["PUBLISH", "cc", "1"], ["SPUBLISH", "cc", "1"], ["SPUBLISH", "zz", "1"],
    ["EVAL", "return redis.call('get', KEYS[1])", "1", "kx"], ["EVAL", "return redis.call('get', KEYS[1])", "1", "rx"],
    ["EVAL", "return redis.call('lpush', 'kk', 'a')", "0"], ["EVAL", "return redis.call('publish', 'zz', 'a')", "0"],
    ["EVAL", "return redis.call('get', 'zz')", "0"],
    ["MULTI"], ["SET", "kx", "1"], ["GET", "nokey"], ["EXEC"],
    ["CONFIG", "GET", "maxmemory"], ["ACL", "WHOAMI"],
    ["SORT", "kx", "BY", "w*"], ["SORT", "kx", "GET", "#"], ["SORT", "kx", "BY", "nosort"],
]


def test_permission_checks_match_redis(fresh):
    setup = [CHECK_USER, ["ACL", "SETUSER", "x", "-config|get"]]
    both(fresh, setup)
    ours, theirs = both(fresh, CHECK_SCRIPT, user=("x", "pw"))
    assert [_without_script_sha(reply) for reply in ours] == [_without_script_sha(reply) for reply in theirs]
    ours_log, theirs_log = both(fresh, [["ACL", "LOG"]])
    assert _log_essentials(ours_log[0]) == _log_essentials(theirs_log[0])


def _without_script_sha(reply):
    """Script errors end with the script's sha and line, which Redis words as we do; the texts before matter."""
    if isinstance(reply, tuple) and " script: " in reply[1]:
        return (reply[0], reply[1].split(" script: ")[0])
    return reply


def _log_essentials(entries) -> list:
    """count, reason, context, object, username of each ACL LOG entry (age and client info vary)."""
    return [entry[1:10:2] for entry in entries]


def test_the_refusal_logged_for_a_user_with_selectors_is_redis_s(fresh):
    """Of the selectors' refusals, the one Redis logs: a channel over a key over the command,
    then the one furthest into the request."""
    both(fresh, [["ACL", "SETUSER", "sel", "on", ">pw", "+mget", "+publish", "~key", "&c1",
                  "(+mget ~key ~otherkey)", "(+publish +get ~x)"]])
    requests = [["GET", "key"], ["MGET", "otherkey", "someotherkey"], ["MGET", "key", "otherkey", "someotherkey"],
                ["PUBLISH", "c2", "m"], ["GET", "y"], ["SET", "key", "v"]]
    for request in requests:
        ours, theirs = both(fresh, [request], user=("sel", "pw"))
        assert ours == theirs, request
    ours_log, theirs_log = both(fresh, [["ACL", "LOG"]])
    assert _log_essentials(ours_log[0]) == _log_essentials(theirs_log[0])


def test_subscribe_channel_checks_match_redis(fresh):
    both(fresh, [["ACL", "SETUSER", "s", "on", ">pw", "+@all", "&news.*"]])
    for port in fresh:
        client = redis.Redis(port=port, protocol=2)
        client.execute_command("AUTH", "s", "pw")
        pubsub = client.pubsub()
        with pytest.raises(redis.exceptions.ResponseError, match="this user has no permissions to access "
                                                                 "one of the channels used as arguments"):
            pubsub.execute_command("SUBSCRIBE", "other")
            pubsub.parse_response(timeout=5)
        pubsub.close()
        client.close()


AUTH_SCRIPT = [
    ["AUTH", "nosuch", "pw"], ["AUTH", "off", "pw"], ["AUTH", "on", "bad"], ["AUTH", "pw"], ["AUTH", "on", "pw"],
    ["ACL", "WHOAMI"], ["HELLO", "2", "AUTH", "on", "bad"], ["HELLO", "2", "AUTH", "off", "pw"], ["PING"],
    ["CLIENT", "KILL", "USER", "nosuch"],
]


def test_auth_matches_redis(fresh):
    both(fresh, [["ACL", "SETUSER", "on", "on", ">pw", "+@all", "-ping", "+client"],
                 ["ACL", "SETUSER", "off", "off", ">pw", "+@all"]])
    ours, theirs = both(fresh, AUTH_SCRIPT)
    assert ours == theirs
    ours_log, theirs_log = both(fresh, [["ACL", "LOG"]])
    assert _log_essentials(ours_log[0]) == _log_essentials(theirs_log[0])


def test_dryrun_cat_genpass_and_help_match_redis(fresh):
    both(fresh, [["ACL", "SETUSER", "q", "on", "nopass", "-@all", "+get", "~k*", "&c*", "+publish"]])
    script = [
        ["ACL", "DRYRUN", "q", "get", "k1"], ["ACL", "DRYRUN", "q", "get", "zz"], ["ACL", "DRYRUN", "q", "set", "k", "v"],
        ["ACL", "DRYRUN", "q", "publish", "x", "y"], ["ACL", "DRYRUN", "nosuch", "get", "k"],
        ["ACL", "DRYRUN", "q", "nosuch"], ["ACL", "DRYRUN", "q", "get"], ["ACL", "DRYRUN", "q", "config", "nosuch"],
        ["ACL", "DRYRUN", "q", "config"], ["ACL", "DRYRUN", "q", "CONFIG", "GET"], ["ACL", "DRYRUN", "q", "CONFIG", "GET", "x"],
        ["ACL", "CAT"], ["ACL", "CAT", "nosuch"], ["ACL", "CAT", "a", "b"],
        ["ACL", "GENPASS", "0"], ["ACL", "GENPASS", "4097"], ["ACL", "GENPASS", "x"],
        ["ACL", "LOG", "x"], ["ACL", "LOG", "-1"], ["ACL", "LOG", "1", "2"], ["ACL", "HELP"],
        ["ACL", "WHOAMI", "x"], ["ACL"], ["ACL", "nosuch"], ["ACL", "LOAD"], ["ACL", "SAVE"],
    ]
    ours, theirs = both(fresh, script)
    assert ours == theirs
    ours, theirs = both(fresh, [["ACL", "CAT", "hash"], ["ACL", "GENPASS", "9"], ["ACL", "GENPASS"]])
    assert sorted(ours[0]) == sorted(theirs[0])
    assert [len(reply) for reply in ours[1:]] == [len(reply) for reply in theirs[1:]]


def test_deluser_disconnects_the_users_clients(fresh):
    for port in fresh:
        admin = redis.Redis(port=port, protocol=2)
        admin.execute_command("ACL", "SETUSER", "gone", "on", ">pw", "+@all", "~*")
        victim = _logged_in(port, "gone", "pw")
        assert b"user=gone" in admin.execute_command("CLIENT", "LIST")
        admin.execute_command("ACL", "DELUSER", "gone")
        assert read_until_eof(victim) == (b"", True)
        victim.close()
        admin.close()


def test_key_access_is_what_redis_key_flags_ask_for(ports):
    """The access kvcore.key_access asks of each key equals what redis-server 7.0's
    COMMAND GETKEYSANDFLAGS flags make its ACL ask (ACCESS: read; INSERT, DELETE or
    UPDATE: write), over the key-spec samples (tests/kvcore/test_key_specs.py)."""
    conn = RedisConnection(ports[1])
    for sample in GETKEYS_SAMPLES:
        argv = sample.split()
        theirs = conn.call([b"COMMAND", b"GETKEYSANDFLAGS", *(arg.encode() for arg in argv)])
        if not isinstance(theirs, list):
            continue  # an error: no keys (an invalid numkeys...), nothing to check
        expected = []
        for key, flags in theirs:
            names = {flag.decode().upper() for flag in flags}
            expected.append((key, (READ if "ACCESS" in names else 0)
                             | (WRITE if names & {"INSERT", "DELETE", "UPDATE"} else 0)))
        cmd = TABLE[argv[0].lower().encode()]
        if cmd.subcommands:
            cmd = cmd.subcommands[argv[1].lower().encode()]
        request = [arg.encode() for arg in argv]
        assert [(request[position], needed) for position, needed in key_access(cmd, request)] == expected, sample
    conn.close()


# -- the ACL file and user directives at start ------------------------------------------------


def start_result(binary: list[str], args: list[str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run([*binary, *args], capture_output=True, text=True, timeout=30, cwd=cwd)


KVSERVER = [sys.executable, "-m", "net.main"]


def _message(output: str) -> str:
    """The text of the log line that explains a failed start (after the log prefix)."""
    lines = [line for line in output.splitlines() if "ACL" in line or "user" in line]
    return lines[-1].split(" # ", 1)[-1] if lines else output


BAD_FILES = [
    b"user alice on >p ~* +@all\nuser bob foo\nuser carol on\n",
    b"user alice on >p ~* +@all\n# comment\n",
    b"user alice on\nuser alice off\n",
    b"user b +nosuch bar\n",
    b"user a on\t~x\n",
    b'user "a b" on\n',
]


@pytest.mark.parametrize("content", BAD_FILES)
def test_a_bad_aclfile_stops_the_start_as_redis(tmp_path, content):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed")
    (tmp_path / "users.acl").write_bytes(content)
    args = ["--port", str(free_port()), "--aclfile", "users.acl", "--save", ""]
    ours = start_result(KVSERVER, args, tmp_path)
    theirs = start_result([shutil.which("redis-server")], args, tmp_path)
    assert ours.returncode == 1
    assert _message(ours.stdout) == _message(theirs.stdout)


def test_users_in_the_config_and_an_aclfile_stop_the_start(tmp_path):
    (tmp_path / "users.acl").write_bytes(b"user a on\n")
    (tmp_path / "kv.conf").write_text("user b on\naclfile users.acl\nsave \"\"\n")
    ours = start_result(KVSERVER, ["kv.conf", "--port", str(free_port())], tmp_path)
    assert ours.returncode == 1
    assert "Configuring Redis with users defined in redis.conf and at the same setting an ACL file" in ours.stdout


def test_the_default_user_is_built_under_acl_pubsub_default_allchannels():
    """Its &* rule on a selector that already has every channel is no error (it stopped the start)."""
    with kvserver(["--save", "", "--acl-pubsub-default", "allchannels"]) as (port, _):
        assert redis.Redis(port=port).execute_command("ACL", "LIST") == [b"user default on nopass ~* &* +@all"]


def test_a_bad_user_directive_stops_the_start(tmp_path):
    (tmp_path / "kv.conf").write_text("user b on +nosuch\n")
    ours = start_result(KVSERVER, ["kv.conf", "--port", str(free_port())], tmp_path)
    assert ours.returncode == 1
    assert "Error loading ACL rule '+nosuch' for the user named 'b': Unknown command or category name in ACL" \
        in ours.stdout
    assert "Critical error while loading ACLs. Exiting." in ours.stdout


@pytest.mark.parametrize("name", ["foo", "default"])
def test_a_user_given_twice_stops_the_start_as_redis(tmp_path, name):
    args = ["--port", str(free_port()), "--user", name, "--user", name]
    ours = start_result(KVSERVER, args, tmp_path)
    redis_binary = shutil.which("redis-server")
    if redis_binary is None:
        pytest.skip("redis-server not installed")
    theirs = start_result([redis_binary], args, tmp_path)
    assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr) == (1, theirs.stderr)
    assert "Duplicate user found" in ours.stderr


USER_DIRECTIVES = ["--user", "b", "on", "--user", "default", "on", ">pw", "+@all", "~*"]


def test_user_directives_load_as_redis(tmp_path):
    listings = []
    with kvserver(USER_DIRECTIVES) as (port, _):
        listings.append(redis.Redis(port=port, username="default", password="pw").execute_command("ACL", "LIST"))
    if shutil.which("redis-server"):
        with redis_server_in_dir(str(tmp_path), USER_DIRECTIVES) as port:
            listings.append(redis.Redis(port=port, username="default", password="pw").execute_command("ACL", "LIST"))
    assert listings[0] == [b"user b on resetchannels -@all",
                           b"user default on sanitize-payload #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e"
                           b"26170c4 ~* resetchannels +@all"]
    assert all(listing == listings[0] for listing in listings)


def test_aclfile_load_save_round_trip_as_redis(tmp_path):
    content = b"user alice on >p ~k* &c* +@all -@dangerous (~z* +get)\n\nuser default on nopass ~* &* +@all\n"
    files = []
    servers = [("kv", None)] + ([("redis", shutil.which("redis-server"))] if shutil.which("redis-server") else [])
    for name, _ in servers:
        workdir = tmp_path / name
        workdir.mkdir()
        (workdir / "users.acl").write_bytes(content)
        if name == "kv":
            context = kvserver(["--aclfile", "users.acl", "--save", ""], cwd=str(workdir))
        else:
            context = redis_server_in_dir(str(workdir), ["--aclfile", str(workdir / "users.acl")])
        with context as started:
            port = started[0] if isinstance(started, tuple) else started
            alice = _logged_in(port, "alice", "p")
            admin = redis.Redis(port=port, protocol=2)
            admin.execute_command("ACL", "SETUSER", "bob", "on", ">x", "~b*", "+get")
            assert admin.execute_command("ACL", "SAVE")
            saved = (workdir / "users.acl").read_bytes()
            (workdir / "users.acl").write_bytes(content.replace(b"~k*", b"~j*"))
            assert admin.execute_command("ACL", "LOAD")
            assert read_until_eof(alice) == (b"", True)  # alice was replaced: her client is gone
            alice.close()
            files.append((canonical(saved), canonical(admin.execute_command("ACL", "LIST"))))
            (workdir / "users.acl").write_bytes(b"user x foo\n")
            with pytest.raises(redis.ResponseError, match="users.acl:1: Syntax error. WARNING: ACL errors detected"):
                admin.execute_command("ACL", "LOAD")
            admin.close()
    assert files[0][0].startswith(b"user alice on #")
    assert all(each == files[0] for each in files)


def test_config_rewrite_writes_the_users_as_redis(tmp_path):
    """Without an ACL file, CONFIG REWRITE replaces the user lines with every user's."""
    results = []
    for name in ("kv", "redis"):
        if name == "redis" and not shutil.which("redis-server"):
            continue
        workdir = tmp_path / name
        workdir.mkdir()
        port = free_port()
        conf = workdir / "server.conf"
        conf.write_text(f"port {port}\nsave \"\"\nuser b on\n# kept\n")
        binary = KVSERVER if name == "kv" else [shutil.which("redis-server")]
        with running([*binary, str(conf)], port, cwd=str(workdir)):
            client = redis.Redis(port=port, protocol=2)
            client.execute_command("ACL", "SETUSER", "c", "on", ">x", "~k", "(+get ~z)")
            assert client.execute_command("CONFIG", "REWRITE")
            client.close()
        lines = conf.read_text().splitlines()
        results.append(([line for line in lines if line.startswith("user ")], lines.index("user b on resetchannels -@all")))
    assert results[0] == ([
        "user b on resetchannels -@all",
        f"user c on #{hashlib.sha256(b'x').hexdigest()} ~k resetchannels -@all (~z resetchannels -@all +get)",
        "user default on nopass ~* &* +@all",
    ], 2)
    assert all(result == results[0] for result in results)


def test_config_rewrite_drops_user_lines_when_there_is_an_aclfile(tmp_path):
    port = free_port()
    (tmp_path / "users.acl").write_text("user a on\n")
    conf = tmp_path / "server.conf"
    conf.write_text(f"port {port}\nsave \"\"\naclfile users.acl\n")
    with running([*KVSERVER, str(conf)], port, cwd=str(tmp_path)):
        client = redis.Redis(port=port, protocol=2)
        assert client.execute_command("CONFIG", "REWRITE")
        client.close()
    assert not [line for line in conf.read_text().splitlines() if line.startswith("user")]


def test_exec_refuses_what_the_user_lost_since_queueing_as_redis(fresh):
    both(fresh, [["ACL", "SETUSER", "mx", "on", "nopass", "+@all", "~*", "&*"]])
    replies = []
    for port in fresh:
        sock = _logged_in(port, "mx", "x")
        sock.sendall(encode("MULTI") + encode("SET", "k", "1") + encode("GET", "k") + encode("PUBLISH", "c", "1"))
        read_until_eof(sock, 0.3)
        admin = redis.Redis(port=port, protocol=2)
        admin.execute_command("ACL", "SETUSER", "mx", "-get", "resetchannels")
        sock.sendall(encode("EXEC"))
        replies.append(read_until_eof(sock, 0.5)[0])
        sock.close()
        replies.append(_log_essentials(admin.execute_command("ACL", "LOG")))
        admin.close()
    assert replies[:2] == replies[2:]
