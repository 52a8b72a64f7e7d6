"""One node's ACL users: the registry behind ACL SETUSER/DELUSER/LOAD, authentication, and the
check a request from a restricted user goes through.

The ``default`` user always exists; ``requirepass`` is its password (setting
it does ``resetpass >pass``, clearing it ``nopass``). A new connection is
authenticated as ``default`` when that user is on and has ``nopass``.

A client's ``unrestricted`` flag (authenticated as a user who may run
everything) is what the dispatcher's fast path reads, so it is refreshed
whenever a user changes or a client authenticates.

The ACL file is read and written by the runtime: `load_text` takes its bytes,
`file_text` gives them. Its errors are worded as Redis 7.0 words them.
"""

from __future__ import annotations

from kvcore.acl import AclError, Catalog, Denial, User, split_rules
from kvcore.acl_log import AclLog, Entry

DEFAULT = "default"
DEFAULT_RULES = ["+@all", "~*", "&*", "on", "nopass"]
CRITICAL = "Critical error while loading ACLs. Exiting."
BOTH_USERS_AND_ACLFILE = (
    "Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. "
    "This setup is very likely to lead to configuration errors and security holes, please define either an "
    "ACL file or declare users directly in your redis.conf, but not both."
)
LOAD_FAILED = "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"


class Users:
    """The users by name, the ACL log, and the command catalog their rules name."""

    def __init__(self, node) -> None:
        self.node = node
        self.catalog = Catalog(node.table)
        self.users: dict[str, User] = {DEFAULT: self.builtin_default()}
        self.log = AclLog()
        self.requirepass_changed(node.config["requirepass"])

    @property
    def default(self) -> User:
        return self.users[DEFAULT]

    def all_channels_default(self) -> bool:
        return self.node.config["acl-pubsub-default"] == "allchannels"

    def new_user(self, name: str) -> User:
        return User(name, self.catalog, self.all_channels_default())

    def builtin_default(self) -> User:
        """``default`` as a server without ACL rules has it: on, nopass, every command, key and channel."""
        default = self.new_user(DEFAULT)
        for rule in DEFAULT_RULES:
            default.apply(rule, False)
        return default

    def sorted(self) -> list[User]:
        """Users in name order, as Redis lists them (its users live in a radix tree)."""
        return [self.users[name] for name in sorted(self.users, key=lambda name: name.encode("utf-8", "surrogateescape"))]

    # -- changes -------------------------------------------------------------------------
    def setuser(self, name: str, args: list[str]) -> None:
        """ACL SETUSER: apply every rule to a copy, and keep it only if all applied."""
        if any(ch in name for ch in " \0"):
            raise AclError("Usernames can't contain spaces or null characters")
        rules = split_rules(args)
        old = self.users.get(name)
        user = old.copy() if old is not None else self.new_user(name)
        for rule in rules:
            try:
                user.apply(rule, self.all_channels_default())
            except AclError as exc:
                raise AclError(f"Error in ACL SETUSER modifier '{rule}': {exc}") from None
        self.users[name] = user
        self.replaced(old, user)

    def replaced(self, old: User | None, new: User) -> None:
        """Clients of a changed user go on as the new one; those subscribed to what it may no
        longer hear are disconnected, as Redis 7.0 does."""
        node = self.node
        for client in list(node.clients.values()):
            if old is None or client.user is not old:
                continue
            client.user = new
            client.refresh_access()
            if client.subscriptions and not _may_keep_subscriptions(new, client):
                node.close_after_reply(client)
        if new.name == DEFAULT:
            node.default_user_changed()

    def deluser(self, names: list[str]) -> int:
        """ACL DELUSER: the users' clients are disconnected."""
        deleted = 0
        for name in names:
            user = self.users.pop(name, None)
            if user is None:
                continue
            deleted += 1
            for client in list(self.node.clients.values()):
                if client.user is user:
                    self.node.close_after_reply(client)
        return deleted

    def requirepass_changed(self, password: str) -> None:
        rules = ["resetpass", ">" + password] if password else ["nopass"]
        for rule in rules:
            self.default.apply(rule, False)

    # -- authentication and checks ---------------------------------------------------------
    def authenticate(self, client, name: bytes, password: bytes) -> bool:
        """Log the client in as the user if the password is right and the user on; else log the failure."""
        text = name.decode("utf-8", "surrogateescape")
        user = self.users.get(text)
        if user is None or not user.enabled or not user.password_ok(password):
            command = self.node.blocking.request[0].decode("utf-8", "surrogateescape")  # AUTH or HELLO
            client.last_command = command.lower()  # the log's client info names it, as Redis's
            self.record(client, "auth", "toplevel", command, text)  # as the client spelled it
            return False
        client.user = user
        client.authenticated = True
        return True

    def refusal(self, client, cmd, argv: list[bytes], context: str) -> Denial | None:
        """Why the client's user may not run this request (logged), or None."""
        denial = client.user.check(cmd, argv)
        if denial is not None:
            if context != "lua":  # a refused command is still the client's last, as Redis's lastcmd
                client.last_command = cmd.fullname
            self.record(client, denial.reason, context, denial.object, client.user.name)
        return denial

    def record(self, client, reason: str, context: str, obj: str, username: str) -> None:
        node = self.node
        info = client.info_line(node.blocking.request)
        self.log.add(Entry(reason, context, obj, username, node.now, info),
                     node.config["acllog-max-len"])

    # -- the ACL file ----------------------------------------------------------------------
    def file_text(self) -> bytes:
        return "".join(user.text() + "\n" for user in self.sorted()).encode("utf-8", "surrogateescape")

    def parse_file(self, path: str, data: bytes) -> dict[str, User]:
        """The users an ACL file defines (``default`` as built in unless it is there), or AclError
        with every problem, as Redis reports them. Words are separated by spaces alone, as
        Redis splits them (a tab or a quote is part of a word)."""
        problems: list[str] = []
        users: dict[str, User] = {}
        for number, line in enumerate(data.split(b"\n"), start=1):
            words = [word for word in line.rstrip(b"\r").split(b" ") if word]  # spaces only: no quoting
            if not words:
                continue
            if len(words) < 2 or words[0] != b"user":
                problems.append(f"{path}:{number} should start with user keyword followed by the username. ")
                continue
            name = words[1].decode("utf-8", "surrogateescape")
            if name in users:
                problems.append(f"WARNING: Duplicate user '{name}' found on line {number}. ")
                continue
            user = self.new_user(name)
            args = [word.decode("utf-8", "surrogateescape") for word in words[2:]]
            try:
                rules = split_rules(args)
            except AclError as exc:
                problems.append(f"{path}:{number}: {exc}. ")
                continue
            for rule in rules:
                try:
                    user.apply(rule, self.all_channels_default())
                except AclError as exc:
                    if rule[:1] in ("+", "-"):
                        problems.append(f"{path}:{number}: Error in applying operation '{rule}': {exc}. ")
                    else:
                        problems.append(f"{path}:{number}: {exc}. ")
            users[name] = user
        if problems:
            raise AclError("".join(problems) + LOAD_FAILED)
        if DEFAULT not in users:
            users[DEFAULT] = self.builtin_default()
        return users

    def load(self, path: str, data: bytes | None) -> None:
        """ACL LOAD (or the start): replace every user with the file's. Clients of the old users
        are disconnected, but the default user's, which go on as the new default."""
        if data is None:
            raise AclError(f"Error loading ACLs, opening file '{path}': No such file or directory")
        users = self.parse_file(path, data)
        old_users, self.users = self.users, users
        for old in old_users.values():
            if old.name == DEFAULT:
                self.replaced(old, users[DEFAULT])
            else:
                for client in list(self.node.clients.values()):
                    if client.user is old:
                        self.node.close_after_reply(client)

    def load_at_start(self, aclfile_data: bytes | None) -> list[str]:
        """The config file's ``user`` directives, then the ACL file (its bytes, None if missing),
        as redis-server loads them at start. The lines to log if the server must exit."""
        config = self.node.config
        if config.users and config["aclfile"]:
            return [BOTH_USERS_AND_ACLFILE]
        for name, *rules in config.users:
            if " " in name:
                return ["Spaces not allowed in ACL usernames", CRITICAL]
            user = self.users[name].copy() if name in self.users else self.new_user(name)
            for rule in ["reset", *rules] if name in self.users else rules:
                try:
                    user.apply(rule, self.all_channels_default())
                except AclError as exc:
                    return [f"Error loading ACL rule '{rule}' for the user named '{name}': {exc}", CRITICAL]
            old = self.users.get(name)
            self.users[name] = user
            self.replaced(old, user)
        if config["aclfile"]:
            try:
                self.load(config["aclfile"], aclfile_data)
            except AclError as exc:
                return [f"Aborting Redis startup because of ACL errors: {exc}"]
        return []


def _may_keep_subscriptions(user: User, client) -> bool:
    selectors = (user.root, *user.selectors)
    for registry, is_pattern in ((client.channels, False), (client.shard_channels, False), (client.patterns, True)):
        for channel in registry:
            if not any(selector.channel_allowed(channel, is_pattern) for selector in selectors):
                return False
    return True
