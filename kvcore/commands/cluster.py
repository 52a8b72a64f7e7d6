"""The cluster's commands, as a server without cluster support answers them.

kvserver runs standalone, as redis-server does without ``cluster-enabled``:
CLUSTER (every subcommand), READONLY, READWRITE and ASKING exist (clients send
them to learn the server's mode, ACL rules and scripts name them) and answer
that cluster support is disabled.
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


CLUSTER = command("cluster", -2, since="3.0.0")(None)
_ADMIN = Flag.ADMIN | Flag.STALE
_ADMIN_ONLINE = _ADMIN | Flag.NO_ASYNC_LOADING
_VARYING = ("nondeterministic_output",)
# (subcommand, arity, flags, tips, since), as Redis 7.0 declares them
SUBCOMMANDS = [
    ("addslots", -3, _ADMIN_ONLINE, (), "3.0.0"),
    ("addslotsrange", -4, _ADMIN_ONLINE, (), "7.0.0"),
    ("bumpepoch", 2, _ADMIN_ONLINE, _VARYING, "3.0.0"),
    ("count-failure-reports", 3, _ADMIN, _VARYING, "3.0.0"),
    ("countkeysinslot", 3, Flag.STALE, (), "3.0.0"),
    ("delslots", -3, _ADMIN_ONLINE, (), "3.0.0"),
    ("delslotsrange", -4, _ADMIN_ONLINE, (), "7.0.0"),
    ("failover", -2, _ADMIN_ONLINE, (), "3.0.0"),
    ("flushslots", 2, _ADMIN_ONLINE, (), "3.0.0"),
    ("forget", 3, _ADMIN_ONLINE, (), "3.0.0"),
    ("getkeysinslot", 4, Flag.STALE, _VARYING, "3.0.0"),
    ("help", 2, Flag.LOADING | Flag.STALE, (), "5.0.0"),
    ("info", 2, Flag.STALE, _VARYING, "3.0.0"),
    ("keyslot", 3, Flag.STALE, (), "3.0.0"),
    ("links", 2, Flag.STALE, _VARYING, "7.0.0"),
    ("meet", -4, _ADMIN_ONLINE, (), "3.0.0"),
    ("myid", 2, Flag.STALE, (), "3.0.0"),
    ("nodes", 2, Flag.STALE, _VARYING, "3.0.0"),
    ("replicas", 3, _ADMIN, _VARYING, "5.0.0"),
    ("replicate", 3, _ADMIN_ONLINE, (), "3.0.0"),
    ("reset", -2, _ADMIN | Flag.NOSCRIPT, (), "3.0.0"),
    ("saveconfig", 2, _ADMIN_ONLINE, (), "3.0.0"),
    ("set-config-epoch", 3, _ADMIN_ONLINE, (), "3.0.0"),
    ("setslot", -4, _ADMIN_ONLINE, (), "3.0.0"),
    ("shards", 2, Flag.STALE, _VARYING, "7.0.0"),
    ("slaves", 3, _ADMIN, _VARYING, "3.0.0"),
    ("slots", 2, Flag.STALE, _VARYING, "3.0.0"),
]


def cluster_disabled(client, argv):
    """CLUSTER <subcommand> ...: this server is not a cluster node."""
    raise Error(DISABLED)


for _name, _arity, _flags, _tips, _since in SUBCOMMANDS:
    command(_name, _arity, _flags, parent=CLUSTER, tips=_tips, since=_since)(cluster_disabled)
