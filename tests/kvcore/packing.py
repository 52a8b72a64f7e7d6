"""Packed small values (hashes, sorted sets) against their unpacked forms: the shared checks."""

from __future__ import annotations

from contextlib import nullcontext
from unittest.mock import patch

from tests.kvcore.differential.runner import typed
from tests.kvcore.harness import CoreClient, make_node


def pack_limit(module, name: str, limit: int | None):
    """Run with values packed up to ``limit`` elements (``module.name``; None: as configured)."""
    return nullcontext() if limit is None else patch.object(module, name, limit)


def assert_forms_answer_alike(module, name: str, config: tuple[str, str], limits: tuple[bytes, bytes],
                              requests, seed: int) -> None:
    """Every request on three nodes — packing as configured, never, at most two elements — gets
    the same reply and the same OBJECT ENCODING. ``config`` names the listpack entries and value
    options, set to ``limits`` on every node; the nodes share ``seed``, so random replies agree."""
    clients = {}
    for limit in (None, 0, 2):
        client = CoreClient(make_node(seed=seed))
        client.call("CONFIG", "SET", config[0], limits[0], config[1], limits[1])
        clients[limit] = client
    for argv in requests:
        replies = {}
        for limit, client in clients.items():
            with pack_limit(module, name, limit):
                reply = client.call(*argv)
                encoding = client.call("OBJECT", "ENCODING", argv[1]) if len(argv) > 1 else None
            replies[limit] = typed([reply, encoding])
        assert replies[0] == replies[None] == replies[2], argv
