"""Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, CLIENT.

They act on the calling connection's state (`kvcore.client.Client`): its
protocol version, selected database, name, authentication, reply mode, and on
other connections through CLIENT KILL and CLIENT UNBLOCK. AUTH and HELLO's
AUTH log in as an ACL user (`kvcore.acl_users`).
CLIENT PAUSE and UNPAUSE start and end the node's pause (`kvcore.pause`).
"""

from __future__ import annotations

from kvcore import errors
from kvcore.client import ReplyMode
from kvcore.commands.args import Cursor, parse_int
from kvcore.commands.table import Flag, Registry
from kvcore.dispatch import NO_REPLY, count_error
from kvcore.pause import PausedCommand
from kvcore.reply import OK, PONG, Error, Map, SetReply, Simple, Verbatim
from kvcore.tracking import overlap, tracking_of

REGISTRY = Registry("connection")
command = REGISTRY.command

# The flags Redis gives the handshake commands, which run before AUTH.
HANDSHAKE = Flag.NOSCRIPT | Flag.LOADING | Flag.STALE | Flag.FAST | Flag.NO_AUTH | Flag.ALLOW_BUSY
CLIENT_FLAGS = Flag.NOSCRIPT | Flag.LOADING | Flag.STALE
CLIENT_ADMIN = Flag.ADMIN | CLIENT_FLAGS

PROTOCOL_NOT_INTEGER = "ERR Protocol version is not an integer or out of range"
HELLO_NOAUTH = (
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH "
    "<user> <pass> option can be used to authenticate the client and select the RESP protocol version "
    "at the same time"
)
BAD_CLIENT_NAME = "ERR Client names cannot contain spaces, newlines or special characters."
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
INT_RANGE = "ERR value is out of range, value must between -2147483648 and 2147483647"
SELECT_IN_CLUSTER = "ERR SELECT is not allowed in cluster mode"
NO_SUCH_CLIENT = "ERR No such client"
INVALID_CLIENT_ID = "ERR Invalid client ID"
CLIENT_ID_NOT_POSITIVE = "ERR client-id should be greater than 0"
PAUSE_MODE = "ERR CLIENT PAUSE mode must be WRITE or ALL"
TIMEOUT_NOT_INTEGER = "ERR timeout is not an integer or out of range"
UNBLOCK_REASON = "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
UNBLOCKED = "UNBLOCKED client unblocked via CLIENT UNBLOCK"
REDIRECT_TWICE = "ERR A client can only redirect to a single other client"
REDIRECT_MISSING = "ERR The client ID you want redirect to does not exist"
PREFIX_WITHOUT_BCAST = "ERR PREFIX option requires BCAST mode to be enabled"
SWITCH_BCAST = (
    "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
    "and then re-enabling it with a different mode."
)
BCAST_OPTIN = "ERR OPTIN and OPTOUT are not compatible with BCAST"
OPTIN_AND_OPTOUT = "ERR You can't specify both OPTIN mode and OPTOUT mode"
SWITCH_OPTIN = (
    "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
    "and then re-enabling it with a different mode."
)
PREFIX_OVERLAPS_EXISTING = (
    "ERR Prefix '%s' overlaps with an existing prefix '%s'. Prefixes for a single client must not overlap."
)
PREFIX_OVERLAPS_GIVEN = (
    "ERR Prefix '%s' overlaps with another provided prefix '%s'. Prefixes for a single client must not overlap."
)
CACHING_NOT_TRACKING = (
    "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"
)
CACHING_YES = "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
CACHING_NO = "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."
CLIENT_TYPES = {b"normal": "normal", b"master": "master", b"slave": "replica", b"replica": "replica", b"pubsub": "pubsub"}
CLIENT_HELP = [
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
]


def subcommand_syntax_error(argv: list[bytes]) -> Error:
    """Redis's addReplySubcommandSyntaxError, for a subcommand given bad arguments."""
    sub = argv[1].decode("utf-8", "replace")[:128]
    container = argv[0].decode("utf-8", "replace").upper()
    return Error(f"ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {container} HELP.")


def help_reply(lines: list[str]) -> list[Simple]:
    return [Simple(line) for line in lines]


def _text(arg: bytes) -> str:
    return arg.decode("utf-8", "surrogateescape")


# -- simple commands -----------------------------------------------------------


@command("ping", -1, Flag.FAST, tips=("request_policy:all_shards", "response_policy:all_succeeded"))
def ping(client, argv):
    """PING [message]"""
    argc = len(argv)
    if argc > 2:
        raise Error(errors.wrong_arity("ping"))
    if not client.resp3 and (client.channels or client.patterns or client.shard_channels):
        return [b"pong", argv[1] if argc == 2 else b""]  # a subscribed RESP2 client
    return argv[1] if argc == 2 else PONG


@command("echo", 2, Flag.LOADING | Flag.STALE | Flag.FAST)
def echo(client, argv):
    """ECHO message"""
    return argv[1]


@command("select", 2, Flag.LOADING | Flag.STALE | Flag.FAST)
def select(client, argv):
    """SELECT index"""
    index = parse_int(argv[1], errors.NOT_INTEGER)
    if not INT_MIN <= index <= INT_MAX:
        raise Error(INT_RANGE)
    if client.node.config["cluster-enabled"] and index != 0:
        raise Error(SELECT_IN_CLUSTER)
    if not 0 <= index < len(client.node.dbs):
        raise Error(errors.DB_INDEX)
    client.db = client.node.dbs[index]
    return OK


@command("quit", -1, HANDSHAKE)
def quit_(client, argv):
    """QUIT"""
    client.node.close_after_reply(client)
    return OK


# -- authentication and handshake -------------------------------------------------


def authenticate(client, user: bytes, password: bytes) -> None:
    """Log the client in as user, or raise WRONGPASS (leaving it as it was)."""
    if not client.node.acl.authenticate(client, user, password):
        raise Error(errors.WRONGPASS)


@command("auth", -2, HANDSHAKE)
def auth(client, argv):
    """AUTH [username] password"""
    if len(argv) > 3:
        raise Error(errors.SYNTAX)
    if len(argv) == 2:
        if client.node.acl.default.nopass:
            raise Error(errors.NO_PASSWORD)
        authenticate(client, b"default", argv[1])
    else:
        authenticate(client, argv[1], argv[2])
    return OK


def check_client_name(name: bytes) -> None:
    if any(byte < 0x21 or byte > 0x7E for byte in name):
        raise Error(BAD_CLIENT_NAME)


@command("hello", -1, HANDSHAKE, since="6.0.0")
def hello(client, argv):
    """HELLO [protover [AUTH username password] [SETNAME clientname]]"""
    version = 0
    if len(argv) >= 2:
        version = parse_int(argv[1], PROTOCOL_NOT_INTEGER)
        if version not in (2, 3):
            raise Error(errors.NOPROTO)
    credentials = name = None
    cursor = Cursor(argv, 2)
    while cursor.more():
        option = cursor.next()
        if option.upper() == b"AUTH" and cursor.remaining() >= 2:
            credentials = (cursor.next(), cursor.next())
        elif option.upper() == b"SETNAME" and cursor.more():
            name = cursor.next()
        else:
            raise Error(f"ERR Syntax error in HELLO option '{option.decode('utf-8', 'replace')}'")
    if credentials is not None:
        authenticate(client, *credentials)
    if not client.authenticated:
        raise Error(HELLO_NOAUTH)
    if name is not None:
        check_client_name(name)
        client.name = name
    if version:
        client.resp3 = version == 3
    return hello_map(client)


def hello_map(client) -> Map:
    from kvcore.node import VERSION  # kvcore.node imports this module's table

    node = client.node
    return Map([
        (b"server", b"redis"),
        (b"version", VERSION.encode()),
        (b"proto", 3 if client.resp3 else 2),
        (b"id", client.id),
        (b"mode", b"cluster" if node.config["cluster-enabled"] else b"standalone"),
        (b"role", b"replica" if node.is_replica else b"master"),
        (b"modules", []),
    ])


@command("reset", 1, HANDSHAKE, since="6.2.0")
def reset(client, argv):
    """RESET"""
    node = client.node
    node.reset_client(client)
    client.db = node.dbs[0]
    client.resp3 = False
    client.user = node.acl.default
    client.authenticated = node.new_clients_authenticated()
    client.multi = None
    client.multi_error = False
    client.watch_dirty = False
    client.name = b""
    client.no_evict = False
    client.reply_mode = ReplyMode.ON
    client.skip_next = False
    return Simple("RESET")


# -- CLIENT ----------------------------------------------------------------------

CLIENT = command("client", -2, since="2.4.0")(None)


def client_type(client) -> str:
    """normal, master, replica or pubsub, as CLIENT LIST TYPE and CLIENT KILL TYPE see it.

    Replication marks its links in ``flags_extra``: ``S`` a replica, ``M`` the master.
    """
    if "S" in client.flags_extra and not client.monitor:
        return "replica"
    if "M" in client.flags_extra:
        return "master"
    return "pubsub" if client.subscriptions else "normal"


def parse_client_type(arg: bytes) -> str:
    kind = CLIENT_TYPES.get(arg.lower())
    if kind is None:
        raise Error(f"ERR Unknown client type '{arg.decode('utf-8', 'replace')}'")
    return kind


@command("list", -2, CLIENT_ADMIN, parent=CLIENT, since="2.4.0", tips=("nondeterministic_output",))
def client_list(client, argv):
    """CLIENT LIST [TYPE normal|master|replica|pubsub] [ID client-id [client-id ...]]"""
    node = client.node
    client.last_command = "client|list"
    if len(argv) == 2:
        chosen = list(node.clients.values())
    elif len(argv) == 4 and argv[2].lower() == b"type":
        kind = parse_client_type(argv[3])
        chosen = [other for other in node.clients.values() if client_type(other) == kind]
    elif len(argv) > 3 and argv[2].lower() == b"id":
        ids = [parse_int(arg, INVALID_CLIENT_ID) for arg in argv[3:]]
        chosen = [other for other in map(node.find_client, ids) if other is not None]
    else:
        raise Error(errors.SYNTAX)
    running = node.blocking.request
    lines = (other.info_line(running if other is client else None) + "\n" for other in chosen)
    return Verbatim("".join(lines).encode("utf-8", "surrogateescape"))


@command("info", 2, CLIENT_FLAGS, parent=CLIENT, since="6.2.0", tips=("nondeterministic_output",))
def client_info(client, argv):
    """CLIENT INFO"""
    client.last_command = "client|info"
    return Verbatim((client.info_line(client.node.blocking.request) + "\n").encode("utf-8", "surrogateescape"))


@command("id", 2, CLIENT_FLAGS, parent=CLIENT, since="5.0.0")
def client_id(client, argv):
    """CLIENT ID"""
    return client.id


@command("getname", 2, CLIENT_FLAGS, parent=CLIENT, since="2.6.9")
def client_getname(client, argv):
    """CLIENT GETNAME"""
    return client.name or None


@command("setname", 3, CLIENT_FLAGS, parent=CLIENT, since="2.6.9")
def client_setname(client, argv):
    """CLIENT SETNAME connection-name"""
    check_client_name(argv[2])
    client.name = argv[2]
    return OK


class KillFilter:
    """The clients CLIENT KILL's options select."""

    __slots__ = ("addr", "laddr", "kind", "client_id", "user", "skipme")

    def __init__(self) -> None:
        self.addr = self.laddr = self.kind = self.user = None
        self.client_id = 0
        self.skipme = True

    def parse(self, argv: list[bytes], users) -> None:
        """The option/value pairs after CLIENT KILL (the new form); ``users``: the node's ACL users."""
        cursor = Cursor(argv, 2)
        while cursor.more():
            option = cursor.next().lower()
            if not cursor.more():
                raise Error(errors.SYNTAX)
            value = cursor.next()
            if option == b"id":
                self.client_id = parse_int(value, CLIENT_ID_NOT_POSITIVE)
                if self.client_id < 1:
                    raise Error(CLIENT_ID_NOT_POSITIVE)
            elif option == b"type":
                self.kind = parse_client_type(value)
            elif option == b"addr":
                self.addr = _text(value)
            elif option == b"laddr":
                self.laddr = _text(value)
            elif option == b"user":
                self.user = users.users.get(_text(value))
                if self.user is None:
                    raise Error(f"ERR No such user '{value.decode('utf-8', 'replace')}'")
            elif option == b"skipme" and value.lower() in (b"yes", b"no"):
                self.skipme = value.lower() == b"yes"
            else:
                raise Error(errors.SYNTAX)

    def matches(self, client, caller) -> bool:
        return not (
            (self.addr is not None and client.addr != self.addr)
            or (self.laddr is not None and client.laddr != self.laddr)
            or (self.kind is not None and client_type(client) != self.kind)
            or (self.client_id and client.id != self.client_id)
            or (self.user is not None and client.user != self.user)
            or (self.skipme and client is caller)
        )


@command("kill", -3, CLIENT_ADMIN, parent=CLIENT, since="2.4.0")
def client_kill(client, argv):
    """CLIENT KILL ip:port | CLIENT KILL [ID id] [TYPE type] [USER user] [ADDR ip:port] [LADDR ip:port] [SKIPME yes|no]"""
    killer = KillFilter()
    if len(argv) == 3:
        killer.addr = _text(argv[2])
        killer.skipme = False
    else:
        killer.parse(argv, client.node.acl)
    node = client.node
    victims = [other for other in node.clients.values() if not other.closing and killer.matches(other, client)]
    for victim in victims:
        if victim is client:
            node.close_after_reply(victim)  # the caller still gets its reply first
        else:
            node.kill(victim)
    if len(argv) == 3:
        if not victims:
            raise Error(NO_SUCH_CLIENT)
        return OK
    return len(victims)


@command("no-evict", 3, CLIENT_ADMIN, parent=CLIENT, since="7.0.0")
def client_no_evict(client, argv):
    """CLIENT NO-EVICT ON|OFF"""
    switch = argv[2].lower()
    if switch not in (b"on", b"off"):
        raise Error(errors.SYNTAX)
    client.no_evict = switch == b"on"
    return OK


@command("reply", 3, CLIENT_FLAGS, parent=CLIENT, since="3.2.0")
def client_reply(client, argv):
    """CLIENT REPLY ON|OFF|SKIP"""
    mode = argv[2].lower()
    if mode == b"on":
        client.reply_mode = ReplyMode.ON
        client.skip_next = False
        return OK
    if mode == b"off":
        client.reply_mode = ReplyMode.OFF
        client.skip_next = False
    elif mode == b"skip":
        client.skip_next = client.reply_mode is not ReplyMode.OFF
    else:
        raise Error(errors.SYNTAX)
    return NO_REPLY


@command("pause", -3, CLIENT_ADMIN, parent=CLIENT, since="2.9.50")
def client_pause(client, argv):
    """CLIENT PAUSE timeout [WRITE|ALL]"""
    if len(argv) > 4:
        raise subcommand_syntax_error(argv)
    mode = argv[3].lower() if len(argv) == 4 else b"all"
    if mode not in (b"write", b"all"):
        raise Error(PAUSE_MODE)
    timeout_ms = parse_int(argv[2], TIMEOUT_NOT_INTEGER)
    if timeout_ms < 0:
        raise Error(errors.TIMEOUT_NEGATIVE)
    client.node.pause.start(client.node.now + timeout_ms, mode == b"write")
    return OK


@command("unpause", 2, CLIENT_ADMIN, parent=CLIENT, since="6.2.0")
def client_unpause(client, argv):
    """CLIENT UNPAUSE"""
    client.node.pause.end()
    return OK


@command("unblock", -3, CLIENT_ADMIN, parent=CLIENT, since="5.0.0")
def client_unblock(client, argv):
    """CLIENT UNBLOCK client-id [TIMEOUT | ERROR]"""
    if len(argv) > 4:
        raise subcommand_syntax_error(argv)
    reason = argv[3].lower() if len(argv) == 4 else b"timeout"
    if reason not in (b"timeout", b"error"):
        raise Error(UNBLOCK_REASON)
    target = client.node.find_client(parse_int(argv[2]))
    if target is None or target.blocked is None or type(target.blocked) is PausedCommand:
        return 0
    reply = Error(UNBLOCKED) if reason == b"error" else target.blocked.timeout_reply
    client.node.blocking.wake(target, reply)
    return 1


@command("help", 2, Flag.LOADING | Flag.STALE, parent=CLIENT, since="5.0.0")
def client_help(client, argv):
    """CLIENT HELP"""
    return help_reply(CLIENT_HELP)


# -- CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO (client-side caching: kvcore.tracking) ----


def parse_tracking_options(client, argv: list[bytes]) -> tuple[int, set[str], list[bytes]]:
    """CLIENT TRACKING's options after ON|OFF: the redirect id (0: none), flags and prefixes."""
    redirect, options, prefixes = 0, set(), []
    cursor = Cursor(argv, 3)
    while cursor.more():
        option = cursor.next().lower()
        if option == b"redirect" and cursor.more():
            if redirect:
                raise Error(REDIRECT_TWICE)
            redirect = parse_int(cursor.next())
            if redirect <= 0 or client.node.find_client(redirect) is None:
                raise Error(REDIRECT_MISSING)
        elif option in (b"bcast", b"optin", b"optout", b"noloop"):
            options.add(option.decode())
        elif option == b"prefix" and cursor.more():
            prefixes.append(cursor.next())
        else:
            raise Error(errors.SYNTAX)
    return redirect, options, prefixes


def check_tracking_switch(client, options: set[str], prefixes: list[bytes]) -> None:
    """The option combinations CLIENT TRACKING ON refuses, in Redis's order."""
    bcast = "bcast" in options
    if prefixes and not bcast:
        raise Error(PREFIX_WITHOUT_BCAST)
    state = client.tracking
    if state is not None and state.bcast != bcast:
        raise Error(SWITCH_BCAST)
    if bcast and options & {"optin", "optout"}:
        raise Error(BCAST_OPTIN)
    if {"optin", "optout"} <= options:
        raise Error(OPTIN_AND_OPTOUT)
    if state is not None and (("optin" in options and state.optout) or ("optout" in options and state.optin)):
        raise Error(SWITCH_OPTIN)


def prefix_collision(client, prefixes: list[bytes]) -> tuple[Error, bool] | None:
    """Redis's checkPrefixCollisionsOrReply: the error for overlapping prefixes, and whether
    tracking is still turned on after it (Redis 7.0 goes on when the overlap is not the first
    prefix's, answering the error and then OK)."""
    existing = sorted(client.tracking.prefixes) if client.tracking is not None else []
    for i, prefix in enumerate(prefixes):
        for old in existing:
            if overlap(old, prefix):
                return Error(PREFIX_OVERLAPS_EXISTING % (_text(prefix), _text(old))), False
        for other in prefixes[i + 1 :]:
            if overlap(prefix, other):
                return Error(PREFIX_OVERLAPS_GIVEN % (_text(prefix), _text(other))), i > 0
    return None


@command("tracking", -3, CLIENT_FLAGS, parent=CLIENT, since="6.0.0")
def client_tracking(client, argv):
    """CLIENT TRACKING ON|OFF [REDIRECT client-id] [PREFIX prefix [PREFIX prefix ...]] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]"""
    redirect, options, prefixes = parse_tracking_options(client, argv)
    switch = argv[2].lower()
    if switch == b"off":
        if client.tracking is not None:
            client.node.tracking.disable(client)
        return OK
    if switch != b"on":
        raise Error(errors.SYNTAX)
    check_tracking_switch(client, options, prefixes)
    if "bcast" in options:
        collision = prefix_collision(client, prefixes)
        if collision is not None:
            error, goes_on = collision
            if not goes_on:
                raise error
            count_error(client.node, error)
            client.reply(error)
    tracking_of(client.node).enable(client, redirect, options, prefixes)
    return OK


@command("caching", 3, CLIENT_FLAGS, parent=CLIENT, since="6.0.0")
def client_caching(client, argv):
    """CLIENT CACHING YES|NO"""
    state = client.tracking
    if state is None:
        raise Error(CACHING_NOT_TRACKING)
    switch = argv[2].lower()
    if switch == b"yes":
        if not state.optin:
            raise Error(CACHING_YES)
    elif switch == b"no":
        if not state.optout:
            raise Error(CACHING_NO)
    else:
        raise Error(errors.SYNTAX)
    state.caching = True
    return OK


@command("getredir", 2, CLIENT_FLAGS, parent=CLIENT, since="6.0.0")
def client_getredir(client, argv):
    """CLIENT GETREDIR"""
    return client.tracking.redirect if client.tracking is not None else -1


@command("trackinginfo", 2, CLIENT_FLAGS, parent=CLIENT, since="6.2.0")
def client_trackinginfo(client, argv):
    """CLIENT TRACKINGINFO"""
    state = client.tracking
    if state is None:
        return Map([(b"flags", SetReply([b"off"])), (b"redirect", -1), (b"prefixes", [])])
    return Map([
        (b"flags", SetReply([b"on", *state.flags()])),
        (b"redirect", state.redirect),
        (b"prefixes", sorted(state.prefixes)),
    ])
