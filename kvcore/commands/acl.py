"""ACL: SETUSER, GETUSER, DELUSER, USERS, LIST, WHOAMI, CAT, GENPASS, LOG, DRYRUN, LOAD, SAVE, HELP.

The users and their rules are `kvcore.acl_users` and `kvcore.acl`; the ACL
file's jobs are `kvcore.acl_file`. Redis files these under the ``server``
group.
"""

from __future__ import annotations

from kvcore import errors
from kvcore.acl import AclError, dryrun_text, raw, text
from kvcore.commands.args import parse_int
from kvcore.commands.connection import help_reply, subcommand_syntax_error
from kvcore.commands.table import Flag, Registry
from kvcore.dispatch import NO_REPLY, resolve
from kvcore.reply import OK, Error, Map, SetReply

REGISTRY = Registry("server")
command = REGISTRY.command

ACL = command("acl", -2, summary="A container for Access List Control commands", since="6.0.0")(None)
ADMIN = Flag.ADMIN | Flag.NOSCRIPT | Flag.LOADING | Flag.STALE
OPEN = Flag.NOSCRIPT | Flag.LOADING | Flag.STALE
GENPASS_BITS = "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"
ACL_HELP = [
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
]


@command("setuser", -3, ADMIN, parent=ACL, since="6.0.0")
def acl_setuser(client, argv):
    """ACL SETUSER username [rule [rule ...]]"""
    try:
        client.node.acl.setuser(text(argv[2]), [text(arg) for arg in argv[3:]])
    except AclError as exc:
        raise Error(f"ERR {exc}") from None
    return OK


@command("getuser", 3, ADMIN, parent=ACL, since="6.0.0")
def acl_getuser(client, argv):
    """ACL GETUSER username"""
    user = client.node.acl.users.get(text(argv[2]))
    if user is None:
        return None
    root = user.root
    return Map([
        (b"flags", SetReply([raw(flag) for flag in user.flags()])),
        (b"passwords", [digest.encode() for digest in user.passwords]),
        (b"commands", raw(root.commands_text())),
        (b"keys", raw(root.keys_text())),
        (b"channels", raw(root.channels_text())),
        (b"selectors", [
            Map([
                (b"commands", raw(selector.commands_text())),
                (b"keys", raw(selector.keys_text())),
                (b"channels", raw(selector.channels_text())),
            ])
            for selector in user.selectors
        ]),
    ])


@command("deluser", -3, ADMIN, parent=ACL, since="6.0.0")
def acl_deluser(client, argv):
    """ACL DELUSER username [username ...]"""
    names = [text(arg) for arg in argv[2:]]
    if "default" in names:
        raise Error("ERR The 'default' user cannot be removed")
    return client.node.acl.deluser(names)


@command("users", 2, ADMIN, parent=ACL, since="6.0.0")
def acl_users(client, argv):
    """ACL USERS"""
    return [raw(user.name) for user in client.node.acl.sorted()]


@command("list", 2, ADMIN, parent=ACL, since="6.0.0")
def acl_list(client, argv):
    """ACL LIST"""
    return [raw(user.text()) for user in client.node.acl.sorted()]


@command("whoami", 2, OPEN, parent=ACL, since="6.0.0")
def acl_whoami(client, argv):
    """ACL WHOAMI"""
    return raw(client.user.name)


@command("cat", -2, OPEN, parent=ACL, since="6.0.0")
def acl_cat(client, argv):
    """ACL CAT [category]"""
    catalog = client.node.acl.catalog
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    if len(argv) == 2:
        return [name.encode() for name in catalog.categories]
    members = catalog.categories.get(text(argv[2]).lower())
    if members is None:
        raise Error(f"ERR Unknown category '{argv[2].decode('utf-8', 'replace')}'")
    return [name.encode() for name in catalog.ordered if name in members]


@command("genpass", -2, OPEN, parent=ACL, since="6.0.0")
def acl_genpass(client, argv):
    """ACL GENPASS [bits]"""
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    bits = parse_int(argv[2], errors.NOT_INTEGER) if len(argv) == 3 else 256
    if not 0 < bits <= 4096:
        raise Error(GENPASS_BITS)
    chars = (bits + 3) // 4
    return b"%0*x" % (chars, client.node.rng.getrandbits(chars * 4))


@command("log", -2, ADMIN, parent=ACL, since="6.0.0")
def acl_log(client, argv):
    """ACL LOG [count | RESET]"""
    log = client.node.acl.log
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    count = 10  # as Redis, without a count
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            log.reset()
            return OK
        count = max(parse_int(argv[2], errors.NOT_INTEGER), 0)
    now = client.node.now
    return [entry.reply(now) for entry in list(log.entries)[:count]]


@command("dryrun", -4, ADMIN, parent=ACL, since="7.0.0")
def acl_dryrun(client, argv):
    """ACL DRYRUN username command [arg [arg ...]]"""
    node = client.node
    user = node.acl.users.get(text(argv[2]))
    if user is None:
        raise Error(f"ERR User '{argv[2].decode('utf-8', 'replace')}' not found")
    request = argv[3:]
    cmd, error = resolve(node.table, request)
    if error is not None:
        if cmd is not None:  # a known command with the wrong arity
            raise error
        raise Error(f"ERR Command '{request[0].decode('utf-8', 'replace')}' not found")  # a subcommand too
    denial = user.check(cmd, request)
    return OK if denial is None else raw(dryrun_text(denial))


@command("load", 2, ADMIN, parent=ACL, since="6.0.0")
def acl_load(client, argv):
    """ACL LOAD"""
    client.node.acl_file.load(client)
    return NO_REPLY


@command("save", 2, ADMIN, parent=ACL, since="6.0.0")
def acl_save(client, argv):
    """ACL SAVE"""
    client.node.acl_file.save(client)
    return NO_REPLY


@command("help", 2, Flag.LOADING | Flag.STALE, parent=ACL, since="6.0.0")
def acl_help(client, argv):
    """ACL HELP"""
    return help_reply(ACL_HELP)
