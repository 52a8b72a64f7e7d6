"""The command table's building blocks: flags, `Command`, and family registries.

Every command is declared once, with a decorator on its handler in the module
of its family. The dispatcher, `COMMAND`, ACL categories, MULTI queueing,
cluster key-slot checks and replication all read these declarations.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from kvcore.commands.key_specs import KeyFlag, KeySpec


class Flag(enum.Flag):
    WRITE = enum.auto()
    READONLY = enum.auto()
    DENYOOM = enum.auto()
    ADMIN = enum.auto()
    PUBSUB = enum.auto()
    NOSCRIPT = enum.auto()
    LOADING = enum.auto()
    STALE = enum.auto()
    FAST = enum.auto()
    SKIP_MONITOR = enum.auto()
    SKIP_SLOWLOG = enum.auto()
    NO_AUTH = enum.auto()
    MAY_REPLICATE = enum.auto()
    NO_MULTI = enum.auto()
    BLOCKING = enum.auto()
    MOVABLE_KEYS = enum.auto()
    ALLOW_BUSY = enum.auto()
    NO_MANDATORY_KEYS = enum.auto()
    NO_ASYNC_LOADING = enum.auto()
    ASKING = enum.auto()  # accepted for a slot being imported in cluster mode (RESTORE-ASKING)
    NONE = 0


# The names COMMAND INFO prints, in Redis's order.
FLAG_NAMES = [
    (Flag.WRITE, "write"),
    (Flag.READONLY, "readonly"),
    (Flag.DENYOOM, "denyoom"),
    (Flag.ADMIN, "admin"),
    (Flag.PUBSUB, "pubsub"),
    (Flag.NOSCRIPT, "noscript"),
    (Flag.BLOCKING, "blocking"),
    (Flag.LOADING, "loading"),
    (Flag.STALE, "stale"),
    (Flag.SKIP_MONITOR, "skip_monitor"),
    (Flag.SKIP_SLOWLOG, "skip_slowlog"),
    (Flag.ASKING, "asking"),
    (Flag.FAST, "fast"),
    (Flag.NO_AUTH, "no_auth"),
    (Flag.MAY_REPLICATE, "may_replicate"),  # COMMAND INFO hides it, as Redis does
    (Flag.NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (Flag.NO_ASYNC_LOADING, "no_async_loading"),
    (Flag.NO_MULTI, "no_multi"),
    (Flag.MOVABLE_KEYS, "movablekeys"),
    (Flag.ALLOW_BUSY, "allow_busy"),
]

Handler = Callable[..., object]


@dataclass(slots=True, eq=False)
class Command:
    """One command (or subcommand) as the table declares it.

    ``arity`` follows Redis: positive is exact, negative is a minimum, and both
    count the command name. Keys sit at ``first_key .. last_key`` stepping by
    ``key_step`` (``last_key`` -1 means the last argument); ``keys_fn`` finds
    them instead for commands whose key positions depend on their arguments.
    ``key_specs`` and ``tips`` are Redis 7.0's, for COMMAND INFO and COMMAND
    GETKEYSANDFLAGS; ``flagged_keys_fn`` gives keys with their flags where the
    specs cannot (Redis's getkeys_proc: SET's GET, SORT's STORE...).
    """

    name: str
    handler: Handler | None
    arity: int
    flags: Flag
    first_key: int = 0
    last_key: int = 0
    key_step: int = 0
    group: str = ""
    categories: tuple[str, ...] = ()
    keys_fn: Callable[[list[bytes]], list[int]] | None = None
    key_specs: tuple[KeySpec, ...] = ()
    tips: tuple[str, ...] = ()
    flagged_keys_fn: Callable[[list[bytes]], list[tuple[int, KeyFlag]]] | None = None
    summary: str = ""
    since: str = "1.0.0"
    container: Command | None = None
    subcommands: dict[bytes, Command] = field(default_factory=dict)
    calls: int = 0
    usec: int = 0
    failed_calls: int = 0
    rejected_calls: int = 0
    slow_usecs: dict[int, int] = field(default_factory=dict)  # calls that took time: usec -> count (kvcore.latency)
    # Whether the key specs alone find the keys with their flags (kvcore.commands.key_specs.keys_and_flags):
    # some spec names keys, and none has flags that vary by call or misses keys. Fixed per command.
    specs_find_keys: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.specs_find_keys = any(not spec.flags & KeyFlag.NOT_KEY for spec in self.key_specs) and not any(
            spec.flags & (KeyFlag.VARIABLE_FLAGS | KeyFlag.INCOMPLETE) for spec in self.key_specs)

    @property
    def fullname(self) -> str:
        return f"{self.container.name}|{self.name}" if self.container else self.name

    def arity_ok(self, argc: int) -> bool:
        return argc == self.arity if self.arity > 0 else argc >= -self.arity

    def key_positions(self, argv: list[bytes]) -> list[int]:
        """Indexes of the key arguments in argv."""
        if self.keys_fn is not None:
            return self.keys_fn(argv)
        if self.first_key == 0:
            return []
        last = self.last_key if self.last_key >= 0 else len(argv) + self.last_key
        return list(range(self.first_key, min(last, len(argv) - 1) + 1, self.key_step))


class Registry:
    """The commands of one family, collected by the ``command`` decorator."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.commands: list[Command] = []

    def command(
        self,
        name: str,
        arity: int,
        flags: Flag = Flag.NONE,
        keys: tuple[int, int, int] = (0, 0, 0),
        *,
        keys_fn: Callable[[list[bytes]], list[int]] | None = None,
        key_specs: tuple[KeySpec, ...] = (),
        tips: tuple[str, ...] = (),
        flagged_keys_fn: Callable[[list[bytes]], list[tuple[int, KeyFlag]]] | None = None,
        categories: tuple[str, ...] = (),
        summary: str = "",
        since: str = "1.0.0",
        parent: Command | None = None,
    ) -> Callable[[Handler], Handler]:
        """Declare a command; the decorated function becomes its handler.

        With ``parent`` the command is a subcommand (``CONFIG GET``) of it.
        The decorator returns the function itself, so handlers can call each
        other.
        """

        def declare(handler: Handler | None):
            cmd = Command(
                name=name,
                handler=handler,
                arity=arity,
                flags=flags | (Flag.MOVABLE_KEYS if keys_fn else Flag.NONE),
                first_key=keys[0],
                last_key=keys[1],
                key_step=keys[2],
                group=self.group,
                categories=categories,
                keys_fn=keys_fn,
                key_specs=key_specs,
                tips=tips,
                flagged_keys_fn=flagged_keys_fn,
                summary=summary or (handler.__doc__ or "").strip().split("\n")[0] if handler else summary,
                since=since,
                container=parent,
            )
            if parent is not None:
                parent.subcommands[name.encode()] = cmd
            else:
                self.commands.append(cmd)
            return handler if handler is not None else cmd

        return declare

    def container(self, name: str, arity: int = -2, flags: Flag = Flag.NONE, summary: str = "") -> Command:
        """Declare a command that only dispatches to subcommands (CONFIG, CLIENT...)."""
        return self.command(name, arity, flags, summary=summary)(None)


def node_table(table: dict[bytes, Command]) -> dict[bytes, Command]:
    """A copy of a command table with its own call counters, for one node.

    INFO commandstats, LATENCY HISTOGRAM and CONFIG RESETSTAT are per
    server: nodes sharing a process (the simulator) must not share counts.
    """
    copies: dict[bytes, Command] = {}
    for name, cmd in table.items():
        top = replace(cmd, subcommands={}, calls=0, usec=0, failed_calls=0, rejected_calls=0, slow_usecs={})
        for sub_name, sub in cmd.subcommands.items():
            top.subcommands[sub_name] = replace(sub, container=top, calls=0, usec=0, failed_calls=0,
                                                rejected_calls=0, slow_usecs={})
        copies[name] = top
    return copies


def rename_commands(table: dict[bytes, Command], renames: list[tuple[str, str]]) -> dict[bytes, Command]:
    """Apply redis.conf ``rename-command name new-name`` directives (in order) to a node's
    table: the command moves to the new name, or is removed when the new name is empty."""
    for old, new in renames:
        cmd = table.pop(old.lower().encode("utf-8", "surrogateescape"), None)
        if cmd is not None and new:
            table.setdefault(new.lower().encode("utf-8", "surrogateescape"), cmd)
    return table
