"""Persistence commands: SAVE, BGSAVE and BGREWRITEAOF (LASTSAVE lives with the server family).

The handlers only parse; what a snapshot does and when is `kvcore.snapshots`
(``node.snapshots``), and the log's rewrite is `kvcore.appendonly` (``node.aof``). SAVE's reply waits for the snapshot job: OK once the
runtime reports it done, a bare ``-ERR`` when it failed, as redis-server.
"""

from __future__ import annotations

from kvcore import errors
from kvcore.commands.table import Flag, Registry
from kvcore.dispatch import NO_REPLY
from kvcore.reply import Error

REGISTRY = Registry("server")
command = REGISTRY.command

SAVE_FLAGS = Flag.ADMIN | Flag.NOSCRIPT | Flag.NO_ASYNC_LOADING


@command("save", 1, SAVE_FLAGS | Flag.NO_MULTI)
def save(client, argv):
    """SAVE"""
    client.node.snapshots.save(client)
    return NO_REPLY


@command("bgsave", -1, SAVE_FLAGS)
def bgsave(client, argv):
    """BGSAVE [SCHEDULE]"""
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() != b"schedule"):
        raise Error(errors.SYNTAX)
    node = client.node
    return node.snapshots.bgsave(node.in_exec, schedule=len(argv) == 2)


@command("bgrewriteaof", 1, SAVE_FLAGS)
def bgrewriteaof(client, argv):
    """BGREWRITEAOF"""
    node = client.node
    return node.aof.bgrewriteaof(node.in_exec)
