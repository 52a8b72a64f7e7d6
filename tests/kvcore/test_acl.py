"""ACL users, rules, permission checks and the ACL commands against the pure core.

Expected replies are redis-server 7.0.15's (checked by hand against it, and
side by side in tests/net/test_acl.py). Where Redis prints single commands
in its hash-table order, which changes from run to run, the tests compare
them as sets.
"""

from __future__ import annotations

import hashlib

import hiredis
import pytest

from kvcore.effects import ReadFiles, WriteFiles
from tests.kvcore.harness import CoreClient, encode_request, make_node

NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNEL = "NOPERM this user has no permissions to access one of the channels used as arguments"
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


def noperm_command(name: str) -> str:
    return f"NOPERM this user has no permissions to run the '{name}' command"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def node():
    return make_node()


@pytest.fixture
def admin(node):
    return CoreClient(node)


def user_line(admin, name: str) -> str:
    return next(line.decode() for line in admin.call("ACL", "LIST") if line.decode().split()[1] == name)


def login(node, name: str, password: str = "pw") -> CoreClient:
    client = CoreClient(node)
    assert client.call("AUTH", name, password) == b"OK"
    return client


def error_text(reply) -> str:
    assert isinstance(reply, hiredis.ReplyError), reply
    return str(reply)


# -- rules and their text ----------------------------------------------------------------

# ACL SETUSER u reset <rules>; ACL LIST's line for u after "user u off sanitize-payload resetchannels".
RULE_TEXTS = [
    (["+get", "+get"], "-@all +get"),
    (["+get", "-get"], "-@all"),
    (["+get", "+set", "-get"], "-@all +set"),
    (["+@all", "-get"], "+@all -get"),
    (["allcommands"], "+@all"),
    (["nocommands"], "-@all"),
    (["+@hash", "-@hash"], "-@all"),
    (["+@hash", "+hget"], "-@all +@hash"),
    (["+@hash", "-hget", "+hget"], "-@all +@hash"),
    (["+config|get"], "-@all +config|get"),
    (["+@all", "-config|get"], "+@all -config|get"),
    (["+config|get", "+config"], "-@all +config"),
    (["+config", "-config|get"], "-@all +config -config|get"),
    (["+select|0"], "-@all +select|0"),
    (["+get|x", "+get|y"], "-@all +get|x +get|y"),
    (["+@read", "-@write"], "-@all +@read"),
    (["+@all", "-@hash"], "+@all -@hash"),
    (["+@all", "-@hash", "+hget"], "+@all -@hash +hget"),
    (["-@all", "+@hash", "-hget"], "-@all +@hash -hget"),
    (["+hget", "+@hash"], "-@all +@hash"),
    (["+@hash", "-@hash", "+hget"], "-@all +hget"),
    (["+@all", "-@admin"], "+@all -@admin"),
    (["+@all", "-@dangerous"], "+@all -@dangerous"),
    (["+get", "-@all"], "-@all"),
]


@pytest.mark.parametrize("rules, commands", RULE_TEXTS)
def test_command_rules_print_as_redis_prints_them(admin, rules, commands):
    assert admin.call("ACL", "SETUSER", "u", "reset", *rules) == b"OK"
    assert user_line(admin, "u") == "user u off sanitize-payload resetchannels " + commands


# Rules whose text ends with single commands, which Redis lists in no fixed order.
RULE_SETS = [
    (["+@hash", "+@read"], "-@all +@read", {"+hdel", "+hincrbyfloat", "+hset", "+hsetnx", "+hincrby", "+hmset"}),
    (["+@hash", "-@read"], "-@all", {"+hdel", "+hincrbyfloat", "+hset", "+hsetnx", "+hincrby", "+hmset"}),
    (["+@string", "-@read"], "-@all +@string", {"-lcs", "-get", "-mget", "-strlen", "-substr", "-getrange"}),
    (["+@fast", "+@hash"], "-@all +@fast", {"+hvals", "+hkeys", "+hscan", "+hrandfield", "+hgetall"}),
]


@pytest.mark.parametrize("rules, start, singles", RULE_SETS)
def test_categories_that_fit_best_then_single_commands(admin, rules, start, singles):
    admin.call("ACL", "SETUSER", "u", "reset", *rules)
    text = user_line(admin, "u").removeprefix("user u off sanitize-payload resetchannels ")
    assert text.startswith(start + " ")
    assert set(text[len(start) + 1 :].split()) == singles


def test_the_category_with_fewest_misfits_goes_first(admin, node):
    admin.call("ACL", "SETUSER", "u", "reset", "+@all", "-@dangerous", "+flushdb")
    text = user_line(admin, "u").removeprefix("user u off sanitize-payload resetchannels ")
    assert text.startswith("+@all -@admin ")
    # Redis 7.0 lists these (some are commands kvsim does not have)
    redis_singles = ["sort_ro", "info", "keys", "swapdb", "restore", "sort", "restore-asking", "flushall", "migrate"]
    assert set(text.split()[2:]) == {"-" + name for name in redis_singles if name.encode() in node.table}


def test_the_rules_printed_rebuild_the_same_user(admin, node):
    admin.call("ACL", "SETUSER", "u", "reset", "+@all", "-@dangerous", "+flushdb", "+@string", "-@read")
    line = user_line(admin, "u")
    admin.call("ACL", "SETUSER", "copy", *line.split()[2:])
    assert node.acl.users["copy"].root.allowed == node.acl.users["u"].root.allowed
    assert user_line(admin, "copy").split()[2:] == line.split()[2:]


KEY_AND_CHANNEL_TEXTS = [
    (["~a", "~b", "~a"], "~a ~b resetchannels -@all"),
    (["~a", "allkeys"], "~* resetchannels -@all"),
    (["%R~a", "%W~a"], "~a resetchannels -@all"),
    (["%RW~a"], "~a resetchannels -@all"),
    (["%W~a", "%R~b"], "%W~a %R~b resetchannels -@all"),
    (["resetkeys", "%R~*"], "%R~* resetchannels -@all"),
    (["&a", "&b", "&a"], "resetchannels &a &b -@all"),
    (["&a", "resetchannels"], "resetchannels -@all"),
    (["allchannels"], "&* -@all"),
]


@pytest.mark.parametrize("rules, text", KEY_AND_CHANNEL_TEXTS)
def test_key_and_channel_rules(admin, rules, text):
    admin.call("ACL", "SETUSER", "u", "reset", *rules)
    assert user_line(admin, "u") == "user u off sanitize-payload " + text


USER_TEXTS = [
    (["reset", ">a", ">b", ">a"], f"user u off sanitize-payload #{sha('a')} #{sha('b')} resetchannels -@all"),
    (["reset", ">a", "<a"], "user u off sanitize-payload resetchannels -@all"),
    (["reset", "nopass", ">a"], f"user u off sanitize-payload #{sha('a')} resetchannels -@all"),
    (["reset", ">a", "nopass"], "user u off nopass sanitize-payload resetchannels -@all"),
    (["reset", "on", "off"], "user u off sanitize-payload resetchannels -@all"),
    (["reset", "skip-sanitize-payload"], "user u off skip-sanitize-payload resetchannels -@all"),
    ([], "user u off resetchannels -@all"),
    (["reset", "(~a +get)", "(~b)"],
     "user u off sanitize-payload resetchannels -@all (~a resetchannels -@all +get) (~b resetchannels -@all)"),
    (["reset", "(~a", "+get)"], "user u off sanitize-payload resetchannels -@all (~a resetchannels -@all +get)"),
    (["reset", "(~a +get)", "clearselectors"], "user u off sanitize-payload resetchannels -@all"),
    (["reset", "()"], "user u off sanitize-payload resetchannels -@all (resetchannels -@all)"),
    (["on", "nopass", "allkeys", "allchannels", "+@all"], "user u on nopass ~* &* +@all"),
]


@pytest.mark.parametrize("rules, line", USER_TEXTS)
def test_user_rules(admin, rules, line):
    assert admin.call("ACL", "SETUSER", "u", *rules) == b"OK"
    assert user_line(admin, "u") == line


def modifier_error(rule: str, reason: str) -> str:
    return f"ERR Error in ACL SETUSER modifier '{rule}': {reason}"


AFTER_ALLKEYS = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any "
                 "effect. Try 'resetkeys' to start with an empty list of patterns")
AFTER_ALLCHANNELS = ("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not "
                     "have any effect. Try 'resetchannels' to start with an empty list of channels")
BAD_HASH = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
SETUSER_ERRORS = [
    (["foo"], modifier_error("foo", "Syntax error")),
    (["+nosuch"], modifier_error("+nosuch", "Unknown command or category name in ACL")),
    (["+@nosuch"], modifier_error("+@nosuch", "Unknown command or category name in ACL")),
    (["-select|0"], modifier_error("-select|0", "Unknown command or category name in ACL")),
    (["+config|get|x"], modifier_error("+config|get|x", "Allowing first-arg of a subcommand is not supported")),
    (["#abc"], modifier_error("#abc", BAD_HASH)),
    (["!abc"], modifier_error("!abc", BAD_HASH)),
    (["%X~a"], modifier_error("%X~a", "Syntax error")),
    (["%~a"], modifier_error("%~a", "Syntax error")),
    (["<a"], modifier_error("<a", "The password you are trying to remove from the user does not exist")),
    (["(on)"], modifier_error("(on)", "Syntax error")),
    (["allkeys", "~a"], modifier_error("~a", AFTER_ALLKEYS)),
    (["~*", "%R~b"], modifier_error("%R~b", AFTER_ALLKEYS)),
    (["allchannels", "&a"], modifier_error("&a", AFTER_ALLCHANNELS)),
    (["(~a"], "ERR Unmatched parenthesis in acl selector starting at '(~a'."),
    (["(~a", "+get"], "ERR Unmatched parenthesis in acl selector starting at '(~a'."),
]


@pytest.mark.parametrize("rules, error", SETUSER_ERRORS)
def test_a_bad_rule_changes_nothing(admin, rules, error):
    assert error_text(admin.call("ACL", "SETUSER", "u", *rules)) == error
    assert admin.call("ACL", "USERS") == [b"default"]


def test_usernames_cannot_hold_spaces(admin):
    assert error_text(admin.call("ACL", "SETUSER", "a b")) == "ERR Usernames can't contain spaces or null characters"


def test_getuser(admin):
    admin.call("ACL", "SETUSER", "bob", "on", ">pw", "~foo*", "%R~bar*", "&ch*", "+get", "+@hash", "-hset",
               "(~x* +set)")
    assert admin.call("ACL", "GETUSER", "bob") == [
        b"flags", [b"on"], b"passwords", [sha("pw").encode()], b"commands", b"-@all +@hash +get -hset",
        b"keys", b"~foo* %R~bar*", b"channels", b"&ch*",
        b"selectors", [[b"commands", b"-@all +set", b"keys", b"~x*", b"channels", b""]],
    ]
    assert admin.call("ACL", "GETUSER", "default") == [
        b"flags", [b"on", b"nopass"], b"passwords", [], b"commands", b"+@all", b"keys", b"~*",
        b"channels", b"&*", b"selectors", [],
    ]
    assert admin.call("ACL", "GETUSER", "nosuch") is None


def test_users_list_and_deluser(admin):
    for name in ("zed", "amy", "bob"):
        admin.call("ACL", "SETUSER", name)
    assert admin.call("ACL", "USERS") == [b"amy", b"bob", b"default", b"zed"]
    assert error_text(admin.call("ACL", "DELUSER", "amy", "default")) == "ERR The 'default' user cannot be removed"
    assert admin.call("ACL", "DELUSER", "amy", "bob", "nosuch") == 2
    assert admin.call("ACL", "USERS") == [b"default", b"zed"]


def test_acl_pubsub_default_gives_new_users_all_channels(admin):
    admin.call("CONFIG", "SET", "acl-pubsub-default", "allchannels")
    admin.call("ACL", "SETUSER", "u")
    admin.call("ACL", "SETUSER", "v", "reset")
    assert user_line(admin, "u") == "user u off &* -@all"
    assert user_line(admin, "v") == "user v off sanitize-payload &* -@all"


# -- authentication ----------------------------------------------------------------------


def test_auth_as_a_user_and_whoami(node, admin):
    admin.call("ACL", "SETUSER", "bob", "on", ">pw", "+@all", "~*")
    bob = CoreClient(node)
    assert bob.call("ACL", "WHOAMI") == b"default"
    assert error_text(bob.call("AUTH", "bob", "bad")) == WRONGPASS
    assert bob.call("AUTH", "bob", "pw") == b"OK"
    assert bob.call("ACL", "WHOAMI") == b"bob"
    assert b" user=bob " in bob.call("CLIENT", "INFO")


def test_a_disabled_user_cannot_log_in(node, admin):
    admin.call("ACL", "SETUSER", "bob", "off", ">pw", "+@all")
    assert error_text(CoreClient(node).call("AUTH", "bob", "pw")) == WRONGPASS
    assert error_text(CoreClient(node).call("HELLO", "3", "AUTH", "bob", "pw")) == WRONGPASS


def test_hello_auth_logs_in(node, admin):
    admin.call("ACL", "SETUSER", "bob", "on", ">pw", "+@all")
    client = CoreClient(node)
    assert client.call("HELLO", "2", "AUTH", "bob", "pw")[:2] == [b"server", b"redis"]
    assert client.call("ACL", "WHOAMI") == b"bob"


def test_requirepass_is_the_default_users_password(node, admin):
    admin.call("CONFIG", "SET", "requirepass", "secret")
    assert user_line(admin, "default") == f"user default on #{sha('secret')} ~* &* +@all"
    assert error_text(CoreClient(node).call("GET", "k")) == "NOAUTH Authentication required."
    assert CoreClient(node).call("AUTH", "secret") == b"OK"
    admin.call("CONFIG", "SET", "requirepass", "")
    assert user_line(admin, "default") == "user default on nopass ~* &* +@all"
    assert CoreClient(node).call("GET", "k") is None


def test_a_default_user_with_a_password_asks_new_clients_to_log_in(node, admin):
    admin.call("ACL", "SETUSER", "default", ">abc")
    assert user_line(admin, "default") == f"user default on #{sha('abc')} ~* &* +@all"
    assert error_text(CoreClient(node).call("PING")) == "NOAUTH Authentication required."
    assert admin.call("CONFIG", "GET", "requirepass") == [b"requirepass", b""]


def test_auth_with_one_argument_needs_a_default_password(node, admin):
    assert error_text(admin.call("AUTH", "x")).startswith("ERR AUTH <password> called without any password")


def test_deleting_a_user_disconnects_its_clients(node, admin):
    admin.call("ACL", "SETUSER", "bob", "on", ">pw", "+@all", "~*")
    bob = login(node, "bob")
    admin.call("ACL", "DELUSER", "bob")
    assert bob.closed
    assert not admin.closed


def test_changing_a_user_keeps_its_clients(node, admin):
    """Redis 7.0 disconnects nobody for ACL SETUSER (but subscribers, below): not for off or resetpass."""
    admin.call("ACL", "SETUSER", "bob", "on", ">pw", "+@all", "~*")
    bob = login(node, "bob")
    admin.call("ACL", "SETUSER", "bob", "off", "resetpass", "-get")
    assert bob.call("ACL", "WHOAMI") == b"bob"
    assert error_text(bob.call("GET", "k")) == noperm_command("get")


def test_client_kill_user(node, admin):
    admin.call("ACL", "SETUSER", "bob", "on", ">pw", "+@all", "~*")
    bob = login(node, "bob")
    assert error_text(admin.call("CLIENT", "KILL", "USER", "nosuch")) == "ERR No such user 'nosuch'"
    assert admin.call("CLIENT", "KILL", "USER", "bob") == 1
    assert bob.closed


def test_changed_channel_rules_disconnect_subscribers_who_lost_theirs(node, admin):
    admin.call("ACL", "SETUSER", "bob", "on", ">pw", "+@all", "~*", "&news*")
    bob = login(node, "bob")
    bob.send_raw(b"*2\r\n$9\r\nSUBSCRIBE\r\n$6\r\nnews.1\r\n")
    admin.call("ACL", "SETUSER", "bob", "&other")
    assert not bob.closed
    admin.call("ACL", "SETUSER", "bob", "resetchannels", "&other")
    assert bob.closed


# -- permission checks ------------------------------------------------------------------


@pytest.fixture
def x(node, admin):
    """x: read keys r*, write keys w*, both k*, channels c*, every command."""
    admin.call("ACL", "SETUSER", "x", "on", ">pw", "~k*", "%R~r*", "%W~w*", "&c*", "+@all")
    return login(node, "x")


KEY_CHECKS = [
    (["GET", "nokey"], NOPERM_KEY),
    (["GET", "kx"], None),
    (["GET", "rx"], None),
    (["SET", "rx", "1"], NOPERM_KEY),
    (["GET", "wx"], NOPERM_KEY),
    (["SET", "wx", "1"], b"OK"),
    (["SET", "wx", "1", "GET"], NOPERM_KEY),
    (["INCR", "wx"], NOPERM_KEY),
    (["LPUSH", "wl", "a"], 1),
    (["DEL", "wx"], 0),
    (["EXISTS", "wx"], 0),
    (["EXISTS", "rx"], 0),
    (["MSET", "kx", "1", "nokey", "2"], NOPERM_KEY),
    (["COPY", "rx", "wx"], 0),
    (["COPY", "wx", "rx"], NOPERM_KEY),
    (["SUNIONSTORE", "wd", "rs", "ks"], 0),
    (["SUNIONSTORE", "rd", "rs"], NOPERM_KEY),
    (["PUBLISH", "zz", "1"], NOPERM_CHANNEL),
    (["PUBLISH", "cc", "1"], 0),
    (["SUBSCRIBE", "c1", "zz"], NOPERM_CHANNEL),
    (["PSUBSCRIBE", "c*x"], NOPERM_CHANNEL),
    (["SPUBLISH", "cc", "1"], 0),  # a shard channel is no key
    (["SPUBLISH", "zz", "1"], NOPERM_CHANNEL),
]


@pytest.mark.parametrize("argv, reply", KEY_CHECKS)
def test_keys_and_channels(x, argv, reply):
    got = x.call(*argv)
    if isinstance(reply, str):
        assert error_text(got) == reply
    else:
        assert not isinstance(got, hiredis.ReplyError), got
        if reply is not None:
            assert got == reply


def test_a_command_refused(node, admin, x):
    admin.call("ACL", "SETUSER", "x", "-get", "-config|get")
    assert error_text(x.call("GET", "kx")) == noperm_command("get")
    assert error_text(x.call("CONFIG", "GET", "port")) == noperm_command("config|get")
    assert x.call("CONFIG", "HELP")[0].startswith(b"CONFIG")


def test_first_argument_rules(node, admin):
    admin.call("ACL", "SETUSER", "f", "on", ">pw", "+select|0", "+client|id")
    f = login(node, "f")
    assert f.call("SELECT", "0") == b"OK"
    assert error_text(f.call("SELECT", "1")) == noperm_command("select")
    assert isinstance(f.call("CLIENT", "ID"), int)


def test_the_handshake_commands_need_no_permission(node, admin):
    admin.call("ACL", "SETUSER", "nn", "on", "nopass", "+get")
    nn = login(node, "nn", "x")
    assert nn.call("HELLO")[:2] == [b"server", b"redis"]
    assert error_text(nn.call("PING")) == noperm_command("ping")
    assert nn.call("RESET") == b"RESET"
    assert nn.call("AUTH", "nn", "x") == b"OK"


def test_a_selector_allows_what_the_root_does_not(node, admin):
    admin.call("ACL", "SETUSER", "q", "on", "nopass", "+@all", "~k*", "(+set ~z*)")
    q = login(node, "q", "x")
    assert q.call("SET", "zz", "1") == b"OK"
    assert q.call("SET", "k1", "1") == b"OK"
    assert error_text(q.call("GET", "zz")) == NOPERM_KEY
    admin.call("ACL", "SETUSER", "q", "reset", "on", "nopass", "-@all", "~k*", "(+get ~z*)")
    assert error_text(q.call("GET", "k1")) == NOPERM_KEY  # a key refused says more than a command refused


def test_refusals_inside_multi_abort_exec(node, admin, x):
    assert x.call("MULTI") == b"OK"
    assert error_text(x.call("GET", "nokey")) == NOPERM_KEY
    assert x.call("SET", "kx", "1") == b"QUEUED"
    assert error_text(x.call("EXEC")) == "EXECABORT Transaction discarded because of previous errors."


def test_rules_changed_after_queueing_refuse_at_exec(node, admin, x):
    x.call("MULTI")
    x.call("SET", "kx", "1")
    x.call("GET", "kx")
    x.call("SET", "k2", "1")
    x.call("PUBLISH", "c1", "1")
    admin.call("ACL", "SETUSER", "x", "-get", "resetkeys", "~kx", "resetchannels")
    replies = x.call("EXEC")
    assert replies[0] == b"OK"
    changed = ("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. "
               "This command is no longer allowed for the following reason: ")
    assert [error_text(reply) for reply in replies[1:]] == [
        changed + "no permission to execute the command or subcommand",
        changed + "no permission to touch the specified keys",
        changed + "no permission to access one of the channels used as arguments",
    ]
    assert admin.call("ACL", "LOG", "1")[0][5] == b"multi"


def test_scripts_run_commands_as_the_caller(node, admin):
    admin.call("ACL", "SETUSER", "q", "on", "nopass", "+@all", "-lpush", "~k*", "(+set ~z*)", "&c*")
    q = login(node, "q", "x")
    assert q.call("EVAL", "return redis.call('set','zz','1')", "0") == b"OK"
    denied = error_text(q.call("EVAL", "return redis.call('lpush','kk','1')", "0"))
    assert denied.startswith("ERR The user executing the script can't run this command or subcommand script: ")
    denied = error_text(q.call("EVAL", "return redis.call('publish','zz','1')", "0"))
    assert denied.startswith("ERR The user executing the script can't publish to the channel mentioned in the command")
    denied = error_text(q.call("EVAL", "return redis.call('get','nokey')", "0"))
    assert denied.startswith("ERR The user executing the script can't access at least one of the keys mentioned in the "
                              "command arguments script: ")
    assert [entry[5] for entry in admin.call("ACL", "LOG")] == [b"lua"] * 3


def test_an_unrestricted_user_takes_the_fast_path(node, admin):
    assert admin.call("SET", "k", "v") == b"OK"
    assert node.clients[admin.conn].unrestricted
    admin.call("ACL", "SETUSER", "default", "-debug")
    assert not node.clients[admin.conn].unrestricted
    admin.call("ACL", "SETUSER", "default", "+debug")
    assert node.clients[admin.conn].unrestricted


# -- ACL commands ------------------------------------------------------------------------


def test_dryrun(admin):
    admin.call("ACL", "SETUSER", "q", "on", "nopass", "-@all", "+get", "~k*", "&c*", "+publish")
    assert admin.call("ACL", "DRYRUN", "q", "get", "k1") == b"OK"
    assert admin.call("ACL", "DRYRUN", "q", "get", "zz") == b"This user has no permissions to access the 'zz' key"
    assert admin.call("ACL", "DRYRUN", "q", "set", "k1", "v") == (
        b"This user has no permissions to run the 'set' command"
    )
    assert admin.call("ACL", "DRYRUN", "q", "publish", "x", "y") == (
        b"This user has no permissions to access the 'x' channel"
    )
    assert error_text(admin.call("ACL", "DRYRUN", "nosuch", "get", "k")) == "ERR User 'nosuch' not found"
    assert error_text(admin.call("ACL", "DRYRUN", "q", "nosuch")) == "ERR Command 'nosuch' not found"
    assert error_text(admin.call("ACL", "DRYRUN", "q", "get")) == "ERR wrong number of arguments for 'get' command"
    assert admin.call("ACL", "LOG") == []


def test_cat(admin):
    categories = admin.call("ACL", "CAT")
    assert len(categories) == 21 and categories[:3] == [b"keyspace", b"read", b"write"]
    assert set(admin.call("ACL", "CAT", "hash")) == {
        b"hvals", b"hgetall", b"hsetnx", b"hlen", b"hrandfield", b"hexists", b"hincrbyfloat", b"hstrlen",
        b"hincrby", b"hscan", b"hget", b"hset", b"hmset", b"hkeys", b"hdel", b"hmget",
    }
    assert error_text(admin.call("ACL", "CAT", "nosuch")) == "ERR Unknown category 'nosuch'"


GENPASS_RANGE = ("ERR ACL GENPASS argument must be the number of bits for the output password, "
                 "a positive number up to 4096")


def test_genpass(node, admin):
    assert len(admin.call("ACL", "GENPASS")) == 64
    assert [len(admin.call("ACL", "GENPASS", bits)) for bits in (1, 5, 7, 9)] == [1, 2, 2, 3]
    assert error_text(admin.call("ACL", "GENPASS", "0")) == GENPASS_RANGE
    assert error_text(admin.call("ACL", "GENPASS", "4097")) == GENPASS_RANGE
    assert error_text(admin.call("ACL", "GENPASS", "x")) == "ERR value is not an integer or out of range"
    other = make_node()
    assert CoreClient(other).call("ACL", "GENPASS") == CoreClient(make_node()).call("ACL", "GENPASS")


def test_log_entries(node, admin, x):
    x.call("GET", "nokey")
    x.call("MSET", "kx", "1", "nokey", "2")
    CoreClient(node).call("AUTH", "nosuch", "bad")
    entries = admin.call("ACL", "LOG")
    assert [entry[:12:2] for entry in entries] == [
        [b"count", b"reason", b"context", b"object", b"username", b"age-seconds"]
    ] * 2
    auth, key = entries
    assert auth[1:10:2] == [1, b"auth", b"toplevel", b"AUTH", b"nosuch"]  # the command as sent
    assert key[1:10:2] == [2, b"key", b"toplevel", b"nokey", b"x"]  # the same refusal counted twice
    assert b" cmd=mset user=x " in key[13]
    assert len(admin.call("ACL", "LOG", "1")) == 1
    assert admin.call("ACL", "LOG", "-1") == []
    assert admin.call("ACL", "LOG", "RESET") == b"OK"
    assert admin.call("ACL", "LOG") == []


def test_log_age_and_grouping_window(node, admin, x):
    x.call("GET", "nokey")
    node.now += 1500
    assert admin.call("ACL", "LOG")[0][11] == b"1.5"
    node.now += 60_000
    x.call("GET", "nokey")
    assert len(admin.call("ACL", "LOG")) == 2


def test_log_max_len(node, admin, x):
    admin.call("CONFIG", "SET", "acllog-max-len", "2")
    for key in ("n1", "n2", "n3"):
        x.call("GET", key)
    assert [entry[7] for entry in admin.call("ACL", "LOG")] == [b"n3", b"n2"]


def test_setuser_is_redacted_in_the_slowlog(admin):
    admin.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    admin.call("ACL", "SETUSER", "sl", "on", ">secret", "~k")
    entry = admin.call("SLOWLOG", "GET", "1")[0]
    assert entry[3] == [b"ACL", b"SETUSER", b"(redacted)", b"(redacted)", b"(redacted)", b"(redacted)"]


def test_help(admin):
    lines = admin.call("ACL", "HELP")
    assert lines[0] == b"ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[-1] == b"    Prints this help."
    assert len(lines) == 29


# -- the ACL file --------------------------------------------------------------------------

NO_ACLFILE = ("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via "
              "the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration "
              "file set) in order to store users in the Redis configuration.")


def test_load_and_save_need_an_aclfile(admin):
    assert error_text(admin.call("ACL", "LOAD")) == NO_ACLFILE
    assert error_text(admin.call("ACL", "SAVE")) == NO_ACLFILE


def effects_of(node, client, *argv):
    """Send a request; return (its replies, the file effects it asked for)."""
    taken = []
    take = node.take_effects

    def keeping():
        effects = take()
        taken.extend(effect for effect in effects if type(effect) in (ReadFiles, WriteFiles))
        return effects

    node.take_effects = keeping
    try:
        replies = client.send_raw(encode_request(*argv))
    finally:
        node.take_effects = take
    return replies, taken


def test_save_writes_the_users_and_answers_once_written():
    node = make_node(aclfile="users.acl")
    admin = CoreClient(node)
    admin.call("ACL", "SETUSER", "zed", "on", ">x", "(~a +get)")
    replies, (write,) = effects_of(node, admin, "ACL", "SAVE")
    assert replies == []
    assert write.steps == (("write", f"users.acl.tmp-{write.job}"), ("fsync", f"users.acl.tmp-{write.job}"),
                           ("rename", f"users.acl.tmp-{write.job}", "users.acl"))
    assert write.data == (f"user default on nopass ~* &* +@all\nuser zed on #{sha('x')} resetchannels -@all "
                          "(~a resetchannels -@all +get)\n").encode()
    node.job_done(write.job, True, node.now)
    admin._deliver(node.take_effects())
    assert admin.send_raw(b"PING\r\n") == [b"OK", b"PONG"]


def test_a_failed_save_says_so():
    node = make_node(aclfile="users.acl")
    admin = CoreClient(node)
    _, (write,) = effects_of(node, admin, "ACL", "SAVE")
    node.job_done(write.job, False, node.now, "No space left on device")
    admin._deliver(node.take_effects())
    assert error_text(admin.send_raw(b"PING\r\n")[0]) == (
        "ERR There was an error trying to save the ACLs. Please check the server logs for more information"
    )


def load(node, admin, data: bytes | None):
    replies, (read,) = effects_of(node, admin, "ACL", "LOAD")
    assert replies == [] and read.paths == ("users.acl",)
    node.files_read(read.job, {"users.acl": data}, node.now)
    admin._deliver(node.take_effects())
    return admin.send_raw(b"PING\r\n")[0]


def test_load_replaces_the_users_and_disconnects_their_clients():
    node = make_node(aclfile="users.acl")
    admin = CoreClient(node)
    admin.call("ACL", "SETUSER", "bob", "on", ">pw", "+@all")
    bob = login(node, "bob")
    assert load(node, admin, b"user alice on >p ~* +@all\n\nuser carol on\n") == b"OK"
    assert admin.call("ACL", "LIST") == [
        f"user alice on #{sha('p')} ~* resetchannels +@all".encode(),
        b"user carol on resetchannels -@all",
        b"user default on nopass ~* &* +@all",
    ]
    assert bob.closed and not admin.closed


def test_load_errors_change_nothing():
    node = make_node(aclfile="users.acl")
    admin = CoreClient(node)
    reply = load(node, admin, b"user a foo\nuser b +nosuch bar\nxx\nuser a on\n")
    assert error_text(reply) == (
        "ERR users.acl:1: Syntax error. users.acl:2: Error in applying operation '+nosuch': Unknown command or "
        "category name in ACL. users.acl:2: Syntax error. users.acl:3 should start with user keyword followed by "
        "the username. WARNING: Duplicate user 'a' found on line 4. WARNING: ACL errors detected, no change to "
        "the previously active ACL rules was performed"
    )
    assert error_text(load(node, admin, b'user a  on\tx\nuser "b c" on\n')) == (
        "ERR users.acl:1: Syntax error. users.acl:2: Syntax error. WARNING: ACL errors detected, no change to "
        "the previously active ACL rules was performed"
    )
    assert error_text(load(node, admin, None)) == (
        "ERR Error loading ACLs, opening file 'users.acl': No such file or directory"
    )
    assert admin.call("ACL", "USERS") == [b"default"]


def test_config_users_at_start():
    node = make_node()
    node.config.users = [["b", "on"], ["default", "on", ">pw", "+@all", "~*"]]
    assert node.acl.load_at_start(None) == []
    assert error_text(CoreClient(node).call("PING")) == "NOAUTH Authentication required."
    admin = login(node, "default")
    assert admin.call("ACL", "LIST") == [
        b"user b on resetchannels -@all",
        f"user default on sanitize-payload #{sha('pw')} ~* resetchannels +@all".encode(),
    ]


def test_start_errors():
    node = make_node()
    node.config.users = [["b", "on", "+nosuch"]]
    assert node.acl.load_at_start(None) == [
        "Error loading ACL rule '+nosuch' for the user named 'b': Unknown command or category name in ACL",
        "Critical error while loading ACLs. Exiting.",
    ]
    node = make_node(aclfile="users.acl")
    node.config.users = [["b", "on"]]
    assert node.acl.load_at_start(b"")[0].startswith("Configuring Redis with users defined in redis.conf and")


def test_functions_run_commands_as_the_caller(node, admin):
    library = "#!lua name=lib\nredis.register_function('setit', function(keys, args) return redis.call('set', keys[1], 'v') end)"
    assert admin.call("FUNCTION", "LOAD", library) == b"lib"
    admin.call("ACL", "SETUSER", "q", "on", "nopass", "+@all", "-set", "~k*")
    q = login(node, "q", "x")
    denied = error_text(q.call("FCALL", "setit", "1", "k1"))
    assert denied.startswith("ERR The user executing the script can't run this command or subcommand")
    assert error_text(q.call("FCALL", "setit", "1", "other")) == NOPERM_KEY
    admin.call("ACL", "SETUSER", "q", "+set")
    assert q.call("FCALL", "setit", "1", "k1") == b"OK"


def test_sort_by_and_get_need_access_to_every_key(node, admin):
    admin.call("ACL", "SETUSER", "q", "on", "nopass", "+@all", "~k*")
    q = login(node, "q", "x")
    assert error_text(q.call("SORT", "k1", "BY", "w*")) == "ERR BY option of SORT denied due to insufficient ACL permissions."
    assert error_text(q.call("SORT", "k1", "GET", "#")) == "ERR GET option of SORT denied due to insufficient ACL permissions."
    assert error_text(q.call("SORT_RO", "k1", "GET", "#")) == (
        "ERR GET option of SORT denied due to insufficient ACL permissions."
    )
    assert q.call("SORT", "k1", "BY", "nosort") == []
    admin.call("ACL", "SETUSER", "q", "%R~*")
    assert q.call("SORT", "k1", "BY", "w*", "GET", "#") == []
