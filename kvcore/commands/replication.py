"""Replication commands, on the leader's side: SYNC (`kvcore.replication` keeps the stream)."""

from __future__ import annotations

from kvcore.client import ReplyMode
from kvcore.commands.table import Flag, Registry
from kvcore.dispatch import NO_REPLY
from kvcore.reply import Error

REGISTRY = Registry("server")
command = REGISTRY.command

PENDING_OUTPUT = "ERR SYNC and PSYNC are invalid with pending output"


@command("sync", 1, Flag.ADMIN | Flag.NOSCRIPT | Flag.NO_ASYNC_LOADING | Flag.NO_MULTI,
         summary="Internal command used for replication")
def sync(client, argv):
    """SYNC: the dataset as an RDB image, then every write, as Redis feeds a replica.

    Nothing the replica sends is answered after this, as Redis does not
    answer its replicas.
    """
    node = client.node
    if client in node.replication.replicas:
        return NO_REPLY
    if client.out:
        raise Error(PENDING_OUTPUT)
    node.replication.attach(client)
    client.reply_mode = ReplyMode.OFF
    return NO_REPLY
