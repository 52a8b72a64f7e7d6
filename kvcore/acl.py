"""ACL users: their rules (as ACL SETUSER takes them), their text (as ACL LIST prints it), and
whether they may run a request.

A user is on or off, has passwords (kept as SHA-256 hex) or ``nopass``, and a
root `Selector` plus any number of extra selectors ``(...)``: a selector
allows commands, key patterns (read, write or both) and channel patterns, and
a request is allowed when one selector allows all of it (Redis 7.0).

Rules text: ACL LIST does not repeat the rules given; like Redis it
describes the set of commands a selector allows from scratch, starting from
``+@all`` (if the selector will allow commands added later) or ``-@all``,
then the categories that fit best, then single commands. Redis lists those
single commands in its command dict's order, which changes from process to
process; we list them in command-table order.

`Acl` is one node's set of users. Nothing here reads a clock or a file: the
node passes ``now`` to the log and the runtime reads and writes the ACL file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from kvcore.glob import glob_match
from kvcore.key_access import READ, WRITE, key_access

SYNTAX = "Syntax error"
UNKNOWN_COMMAND = "Unknown command or category name in ACL"
FIRST_ARG_OF_SUB = "Allowing first-arg of a subcommand is not supported"
BAD_HASH = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
NO_SUCH_PASSWORD = "The password you are trying to remove from the user does not exist"
KEY_AFTER_ALL = (
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect."
    " Try 'resetkeys' to start with an empty list of patterns"
)
CHANNEL_AFTER_ALL = (
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect."
    " Try 'resetchannels' to start with an empty list of channels"
)
_HEX = frozenset("0123456789abcdef")
_KEY_FLAGS = {"R": READ, "W": WRITE, "RW": READ | WRITE}
_KEY_PREFIX = {READ | WRITE: "~", READ: "%R~", WRITE: "%W~"}
# Where a request names channels: first argument only, or every argument; and whether they are patterns.
CHANNEL_ARGS = {
    "publish": (False, False), "spublish": (False, False),
    "subscribe": (True, False), "ssubscribe": (True, False), "psubscribe": (True, True),
}


class AclError(ValueError):
    """A rule that cannot be applied; the text is Redis's reason."""


@dataclass(slots=True)
class Denial:
    """Why a user may not run a request: reason ("command", "key", "channel"), the object refused
    and its position in the request (0 for the command)."""

    reason: str
    object: str
    position: int = 0

    def outranks(self, other: Denial) -> bool:
        """Whether this refusal says more than ``other`` (Redis 7.0's most relevant error of a
        user's selectors: a channel over a key over the command, then the one further on)."""
        return (_RANK[self.reason], self.position) > (_RANK[other.reason], other.position)


_RANK = {"command": 1, "key": 2, "channel": 4}  # Redis's ACL_DENIED_CMD, ACL_DENIED_KEY, ACL_DENIED_CHANNEL


def password_hash(password: bytes) -> str:
    return hashlib.sha256(password).hexdigest()


def text(arg: bytes) -> str:
    """A name or pattern as rules are written (bytes kept as they are)."""
    return arg.decode("utf-8", "surrogateescape")


def raw(words: str) -> bytes:
    return words.encode("utf-8", "surrogateescape")


class Catalog:
    """The commands of one node's table, in table order, and the members of each ACL category.

    Names are full names (``config|get``); a container (``config``) is a
    command of its own, as in Redis, and ``+config`` also allows its subcommands.
    """

    def __init__(self, table: dict) -> None:
        from kvcore.commands.server import CATEGORY_ORDER, acl_categories  # the commands import this module

        self.ordered: list[str] = []  # every name, each container before its subcommands
        self.subcommands: dict[str, list[str]] = {}
        self.categories: dict[str, set[str]] = {name: set() for name in CATEGORY_ORDER}
        for cmd in table.values():
            for each in (cmd, *cmd.subcommands.values()):
                self.ordered.append(each.fullname)
                for category in acl_categories(each):
                    self.categories[category].add(each.fullname)
            self.subcommands[cmd.fullname] = [sub.fullname for sub in cmd.subcommands.values()]
        self.names = frozenset(self.ordered)

    def members(self, category: str) -> set[str]:
        found = self.categories.get(category.lower())
        if found is None:
            raise AclError(UNKNOWN_COMMAND)
        return found

    def with_subcommands(self, name: str) -> list[str]:
        return [name, *self.subcommands.get(name, ())]


class Selector:
    """Commands, key patterns and channel patterns that one selector allows."""

    __slots__ = ("catalog", "allowed", "future", "first_args", "keys", "all_keys", "channels", "all_channels")

    def __init__(self, catalog: Catalog, all_channels: bool = False) -> None:
        self.catalog = catalog
        self.allowed: set[str] = set()
        self.future = False  # +@all: commands added later are allowed too
        self.first_args: dict[str, list[str]] = {}  # +select|0: a command allowed with these first arguments
        self.keys: list[list] = []  # [pattern, READ | WRITE bits], in the order given
        self.all_keys = False
        self.channels: list[bytes] = []
        self.all_channels = all_channels

    def copy(self) -> Selector:
        other = Selector(self.catalog, self.all_channels)
        other.allowed = set(self.allowed)
        other.future = self.future
        other.first_args = {name: list(args) for name, args in self.first_args.items()}
        other.keys = [list(pattern) for pattern in self.keys]
        other.all_keys = self.all_keys
        other.channels = list(self.channels)
        return other

    # -- rules ---------------------------------------------------------------------
    def apply(self, op: str) -> None:
        """One selector rule: commands, categories, keys or channels."""
        lower = op.lower()
        if lower in ("allcommands", "+@all"):
            self.allowed, self.future, self.first_args = set(self.catalog.names), True, {}
        elif lower in ("nocommands", "-@all"):
            self.allowed, self.future, self.first_args = set(), False, {}
        elif op[:2] in ("+@", "-@"):
            self._allow(self.catalog.members(op[2:]), op[0] == "+")
        elif op[:1] in ("+", "-") and len(op) > 1:
            self._command_rule(lower[1:], op[0] == "+")
        elif op.startswith("~") or op.startswith("%"):
            self._key_rule(op)
        elif lower in ("allkeys", "resetkeys"):
            self.keys, self.all_keys = [], lower == "allkeys"
        elif op == "&*":  # as allchannels, whatever the selector held (Redis 7.0)
            self.channels, self.all_channels = [], True
        elif op.startswith("&"):
            if self.all_channels:
                raise AclError(CHANNEL_AFTER_ALL)
            if raw(op[1:]) not in self.channels:
                self.channels.append(raw(op[1:]))
        elif lower in ("allchannels", "resetchannels"):
            self.channels, self.all_channels = [], lower == "allchannels"
        else:
            raise AclError(SYNTAX)

    def _allow(self, names, allow: bool) -> None:
        for name in names:
            self.first_args.pop(name, None)
        if allow:
            self.allowed.update(names)
        else:
            self.allowed.difference_update(names)

    def _command_rule(self, name: str, allow: bool) -> None:
        catalog = self.catalog
        if name in catalog.names:
            self._allow(catalog.with_subcommands(name), allow)
            return
        container, _, arg = name.partition("|")
        if not arg or container not in catalog.names:
            raise AclError(UNKNOWN_COMMAND)
        if catalog.subcommands[container]:
            if "|" in arg:
                raise AclError(FIRST_ARG_OF_SUB)
            raise AclError(UNKNOWN_COMMAND)
        if not allow or "|" in arg:  # first arguments can only be allowed, one level deep
            raise AclError(UNKNOWN_COMMAND)
        if container not in self.allowed:
            args = self.first_args.setdefault(container, [])
            if arg not in args:
                args.append(arg)

    def _key_rule(self, op: str) -> None:
        if op.startswith("~"):
            bits, pattern = READ | WRITE, op[1:]
        else:
            flags, tilde, pattern = op[1:].partition("~")
            bits = _KEY_FLAGS.get(flags.upper()) if tilde else None
            if bits is None:
                raise AclError(SYNTAX)
        if self.all_keys:
            raise AclError(KEY_AFTER_ALL)
        if op == "~*":
            self.keys, self.all_keys = [], True
            return
        encoded = raw(pattern)
        for existing in self.keys:
            if existing[0] == encoded:
                existing[1] |= bits
                return
        self.keys.append([encoded, bits])

    # -- text ------------------------------------------------------------------------
    def keys_text(self) -> str:
        if self.all_keys:
            return "~*"
        return " ".join(_KEY_PREFIX[bits] + text(pattern) for pattern, bits in self.keys)

    def channels_text(self) -> str:
        return "&*" if self.all_channels else " ".join("&" + text(channel) for channel in self.channels)

    def commands_text(self) -> str:
        return " ".join(describe_commands(self))

    def text(self) -> str:
        """As ACL LIST prints a selector: keys, channels, commands."""
        channels = self.channels_text() if self.all_channels else \
            " ".join(filter(None, ["resetchannels", self.channels_text()]))
        return " ".join(part for part in (self.keys_text(), channels, self.commands_text()) if part)

    # -- checks ----------------------------------------------------------------------
    def allows_everything(self) -> bool:
        return self.all_keys and self.all_channels and self.allowed >= self.catalog.names

    def allows_command(self, name: str, argv: list[bytes]) -> bool:
        if name in self.allowed:
            return True
        args = self.first_args.get(name)
        return args is not None and len(argv) >= 2 and text(argv[1]).lower() in args

    def reads_every_key(self) -> bool:
        return self.all_keys or any(pattern == b"*" and bits & READ for pattern, bits in self.keys)

    def check(self, cmd, argv: list[bytes]) -> Denial | None:
        """Whether this selector allows the request; the first thing it refuses if not."""
        name = cmd.fullname
        if not self.allows_command(name, argv):
            return Denial("command", name)
        if not self.all_keys:
            for position, needed in key_access(cmd, argv):
                if not self.key_allowed(argv[position], needed):
                    return Denial("key", text(argv[position]), position)
        if not self.all_channels and name in CHANNEL_ARGS:
            every, patterns = CHANNEL_ARGS[name]
            for position in range(1, len(argv) if every else min(2, len(argv))):
                if not self.channel_allowed(argv[position], patterns):
                    return Denial("channel", text(argv[position]), position)
        return None

    def key_allowed(self, key: bytes, needed: int) -> bool:
        return self.all_keys or any(
            bits & needed == needed and glob_match(pattern, key) for pattern, bits in self.keys
        )

    def channel_allowed(self, channel: bytes, is_pattern: bool) -> bool:
        """A channel must match one of the patterns; a PSUBSCRIBE pattern must be one of them."""
        if self.all_channels:
            return True
        if is_pattern:
            return channel in self.channels
        return any(glob_match(pattern, channel) for pattern in self.channels)


def describe_commands(selector: Selector) -> list[str]:
    """The command rules that rebuild ``selector``'s allowed commands, as Redis 7.0 prints them.

    Start from ``+@all`` or ``-@all``. Then take categories one at a time:
    of those whose commands are mostly still to settle (allowed where the
    start denies them, or the reverse, and not settled by a category taken
    already), the one with the fewest commands that do not fit, and of those
    the one that settles the most. Then single commands (and their first
    arguments) for what is left.
    """
    catalog = selector.catalog
    allowed = selector.allowed
    adding = not selector.future
    rules = ["-@all" if adding else "+@all"]
    built = set() if adding else set(catalog.names)
    unsettled = set(allowed) if adding else catalog.names - allowed
    applied: set[str] = set()
    while True:
        best, best_misfits, best_gain = None, 0, 0
        for category, members in catalog.categories.items():
            if category in applied:
                continue
            gain = len(members & unsettled)
            misfits = len(members) - gain
            if gain > misfits and (best is None or misfits < best_misfits
                                   or (misfits == best_misfits and gain > best_gain)):
                best, best_misfits, best_gain = category, misfits, gain
        if best is None:
            break
        applied.add(best)
        members = catalog.categories[best]
        rules.append(("+@" if adding else "-@") + best)
        if adding:
            built |= members
        else:
            built -= members
        unsettled -= members
    for name, subs in catalog.subcommands.items():
        for each in (name, *subs):
            if (each in allowed) != (each in built):
                rules.append(("+" if each in allowed else "-") + each)
                if each == name:
                    changed = catalog.with_subcommands(name)
                    built.update(changed) if name in allowed else built.difference_update(changed)
        rules.extend(f"+{name}|{arg}" for arg in selector.first_args.get(name, ()))
    return rules


class User:
    """One ACL user."""

    __slots__ = ("name", "enabled", "nopass", "passwords", "sanitize", "root", "selectors", "unrestricted")

    def __init__(self, name: str, catalog: Catalog, all_channels: bool) -> None:
        self.name = name
        self.enabled = False
        self.nopass = False
        self.passwords: list[str] = []  # SHA-256 hex, in the order added
        self.sanitize = ""  # "", "sanitize-payload" or "skip-sanitize-payload"
        self.root = Selector(catalog, all_channels)
        self.selectors: list[Selector] = []
        self.unrestricted = False  # may run anything: the dispatcher checks nothing for it

    def copy(self) -> User:
        other = User(self.name, self.root.catalog, False)
        other.enabled, other.nopass, other.sanitize = self.enabled, self.nopass, self.sanitize
        other.passwords = list(self.passwords)
        other.root = self.root.copy()
        other.selectors = [selector.copy() for selector in self.selectors]
        other.unrestricted = self.unrestricted
        return other

    def apply(self, op: str, all_channels_default: bool) -> None:
        """One ACL SETUSER rule (a selector ``(...)`` included)."""
        lower = op.lower()
        if lower in ("on", "off"):
            self.enabled = lower == "on"
        elif lower == "nopass":
            self.nopass, self.passwords = True, []
        elif lower == "resetpass":
            self.nopass, self.passwords = False, []
        elif lower in ("sanitize-payload", "skip-sanitize-payload"):
            self.sanitize = lower
        elif op[:1] in (">", "#"):
            digest = password_hash(raw(op[1:])) if op[0] == ">" else _checked_hash(op[1:])
            if digest not in self.passwords:
                self.passwords.append(digest)
            self.nopass = False
        elif op[:1] in ("<", "!"):
            digest = password_hash(raw(op[1:])) if op[0] == "<" else _checked_hash(op[1:])
            if digest not in self.passwords:
                raise AclError(NO_SUCH_PASSWORD)
            self.passwords.remove(digest)
            self.nopass = False
        elif lower == "reset":
            for each in ("resetpass", "resetkeys", "resetchannels", "off", "clearselectors", "-@all",
                         "sanitize-payload"):
                self.apply(each, all_channels_default)
            if all_channels_default:
                self.root.all_channels = True
        elif lower == "clearselectors":
            self.selectors = []
        elif op.startswith("(") and op.endswith(")"):
            selector = Selector(self.root.catalog, all_channels_default)
            for rule in op[1:-1].split():
                selector.apply(rule)
            self.selectors.append(selector)
        else:
            self.root.apply(op)
        self.unrestricted = self.root.allows_everything()

    def password_ok(self, password: bytes) -> bool:
        return self.nopass or password_hash(password) in self.passwords

    def flags(self) -> list[str]:
        """ACL GETUSER's flags."""
        return [each for each in ("on" if self.enabled else "off", "nopass" if self.nopass else "", self.sanitize)
                if each]

    def text(self) -> str:
        """The user as ACL LIST prints it (and the ACL file holds it)."""
        parts = ["user", self.name, *self.flags(), *("#" + digest for digest in self.passwords), self.root.text()]
        parts.extend("(" + selector.text() + ")" for selector in self.selectors)
        return " ".join(parts)

    def reads_every_key(self, name: str, argv: list[bytes]) -> bool:
        """Whether a selector allows the command with read access to any key (SORT's BY and GET)."""
        return any(selector.allows_command(name, argv) and selector.reads_every_key()
                   for selector in (self.root, *self.selectors))

    def check(self, cmd, argv: list[bytes]) -> Denial | None:
        """None if some selector allows the request; else the refusal that says most (`Denial.outranks`)."""
        refusal = None
        for selector in (self.root, *self.selectors):
            denial = selector.check(cmd, argv)
            if denial is None:
                return None
            if refusal is None or denial.outranks(refusal):
                refusal = denial
        return refusal


def _checked_hash(text: str) -> str:
    if len(text) != 64 or not set(text) <= _HEX:
        raise AclError(BAD_HASH)
    return text


def split_rules(args: list[str]) -> list[str]:
    """ACL SETUSER's arguments with a selector given in several (``(~a`` ``+get)``) joined into one."""
    rules: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("(") and not arg.endswith(")"):
            end = index
            while end < len(args) and not args[end].endswith(")"):
                end += 1
            if end == len(args):
                raise AclError(f"Unmatched parenthesis in acl selector starting at '{arg}'.")
            arg = " ".join(args[index : end + 1])
            index = end
        rules.append(arg)
        index += 1
    return rules


_NOPERM = {
    "command": "NOPERM this user has no permissions to run the '%s' command",
    "key": "NOPERM this user has no permissions to access one of the keys used as arguments",
    "channel": "NOPERM this user has no permissions to access one of the channels used as arguments",
}
_SCRIPT_NOPERM = {
    "command": "The user executing the script can't run this command or subcommand",
    "key": (
        "The user executing the script can't access at least one of the keys mentioned in the command arguments"
    ),
    "channel": "The user executing the script can't publish to the channel mentioned in the command",
}
_DRYRUN = {
    "command": "This user has no permissions to run the '%s' command",
    "key": "This user has no permissions to access the '%s' key",
    "channel": "This user has no permissions to access the '%s' channel",
}
_CHANGED_SINCE_QUEUED = (
    "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. "
    "This command is no longer allowed for the following reason: %s"
)
_WHY_NOT_ANY_MORE = {
    "command": "no permission to execute the command or subcommand",
    "key": "no permission to touch the specified keys",
    "channel": "no permission to access one of the channels used as arguments",
}


def noperm(denial: Denial) -> str:
    """The error a refused request gets."""
    message = _NOPERM[denial.reason]
    return message % denial.object if denial.reason == "command" else message


def exec_noperm(denial: Denial) -> str:
    """The error in EXEC's reply for a queued command the user may no longer run."""
    return _CHANGED_SINCE_QUEUED % _WHY_NOT_ANY_MORE[denial.reason]


def script_noperm(denial: Denial) -> str:
    """The error redis.call raises for a refused command."""
    return _SCRIPT_NOPERM[denial.reason]


def dryrun_text(denial: Denial) -> str:
    """ACL DRYRUN's answer for a refused command."""
    return _DRYRUN[denial.reason] % denial.object
