"""The cluster's per-connection commands, as a server without cluster support answers them.

kvserver runs standalone, as redis-server does without ``cluster-enabled``:
READONLY, READWRITE and ASKING exist (clients send them, ACL rules name them)
and answer that cluster support is disabled.
"""

from __future__ import annotations

from kvcore.commands.table import Flag, Registry
from kvcore.reply import Error

REGISTRY = Registry("cluster")
command = REGISTRY.command

DISABLED = "ERR This instance has cluster support disabled"
CONNECTION = ("connection",)


@command("readonly", 1, Flag.LOADING | Flag.STALE | Flag.FAST, categories=CONNECTION, since="3.0.0")
def readonly(client, argv):
    """READONLY"""
    raise Error(DISABLED)


@command("readwrite", 1, Flag.LOADING | Flag.STALE | Flag.FAST, categories=CONNECTION, since="3.0.0")
def readwrite(client, argv):
    """READWRITE"""
    raise Error(DISABLED)


@command("asking", 1, Flag.FAST, categories=CONNECTION, since="3.0.0")
def asking(client, argv):
    """ASKING"""
    raise Error(DISABLED)
