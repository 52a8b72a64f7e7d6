"""The command table: every family's declarations merged into one mapping.

Keys are lower-case command names as bytes; values are `Command`s. One module
per command family declares its commands with a `Registry`; this module is the
only place that lists the families.
"""

from __future__ import annotations

import importlib

from kvcore.commands.table import Command

FAMILIES = [
    "connection",
    "server",
    "keys",
    "dump",
    "strings",
    "lists",
    "hashes",
    "sets",
    "zsets",
    "geo",
    "bitmaps",
    "hyperloglog",
    "streams",
    "stream_reads",
    "stream_groups",
    "stream_info",
    "json",
    "sort",
    "transactions",
    "pubsub",
    "persistence",
    "replication",
    "scripting",
    "acl",
    "cluster",
]


def _build() -> dict[bytes, Command]:
    table: dict[bytes, Command] = {}
    for family in FAMILIES:
        try:
            module = importlib.import_module(f"kvcore.commands.{family}")
        except ModuleNotFoundError as exc:
            if exc.name != f"kvcore.commands.{family}":
                raise
            continue
        for cmd in module.REGISTRY.commands:
            key = cmd.name.encode()
            if key in table:
                raise ValueError(f"command {cmd.name} declared twice")
            table[key] = cmd
    return table


TABLE = _build()


def describe() -> str:
    """The supported-commands section of the README, generated from the table."""
    lines = []
    by_group: dict[str, list[Command]] = {}
    for cmd in TABLE.values():
        by_group.setdefault(cmd.group, []).append(cmd)
    for group in sorted(by_group):
        names = []
        for cmd in sorted(by_group[group], key=lambda c: c.name):
            if cmd.subcommands:
                subs = " ".join(sorted(s.decode().upper() for s in cmd.subcommands))
                names.append(f"{cmd.name.upper()} ({subs})")
            else:
                names.append(cmd.name.upper())
        lines.append(f"- **{group}**: " + ", ".join(names))
    return "\n".join(lines) + "\n"
