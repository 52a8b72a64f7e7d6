"""Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, CLIENT."""

from __future__ import annotations

from kvcore import errors
from kvcore.commands.args import parse_int
from kvcore.commands.table import Flag, Registry
from kvcore.reply import OK, PONG, Error, Push

REGISTRY = Registry("connection")
command = REGISTRY.command


@command("ping", -1, Flag.FAST | Flag.STALE)
def ping(client, argv):
    """PING [message]"""
    if len(argv) > 2:
        raise Error(errors.wrong_arity("ping"))
    if client.subscriptions and not client.resp3:
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    return argv[1] if len(argv) == 2 else PONG


@command("echo", 2, Flag.FAST)
def echo(client, argv):
    """ECHO message"""
    return argv[1]


@command("select", 2, Flag.LOADING | Flag.STALE | Flag.FAST)
def select(client, argv):
    """SELECT index"""
    index = parse_int(argv[1], "ERR value is not an integer or out of range")
    if not 0 <= index < len(client.node.dbs):
        raise Error(errors.DB_INDEX)
    client.db = client.node.dbs[index]
    return OK


@command("quit", -1, Flag.ALLOW_BUSY | Flag.NO_AUTH | Flag.FAST | Flag.LOADING | Flag.STALE)
def quit_(client, argv):
    """QUIT"""
    client.node.close_after_reply(client)
    return OK


assert Push
