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
    "strings",
    "lists",
    "hashes",
    "sets",
    "zsets",
    "bitmaps",
    "hyperloglog",
    "json",
    "sort",
    "transactions",
    "pubsub",
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
