"""Running one request: lookup, arity, the gates Redis applies, then the handler.

The order of the checks is redis-server's processCommand: unknown command,
arity, authentication, memory, disk errors, read-only replica, pub/sub
context, MULTI queueing, and only then the call.
"""

from __future__ import annotations

from kvcore import errors
from kvcore.client import ReplyMode
from kvcore.commands.table import Command, Flag
from kvcore.protocol import quote_repr
from kvcore.reply import Error, Simple

NO_REPLY = object()
"""Returned by handlers that reply themselves (or not at all, when blocking)."""

QUEUED = Simple("QUEUED")
# Flag tests on the hot path use the integer values: enum.Flag's `&` is slow.
_WRITE = Flag.WRITE.value
_NO_MULTI = Flag.NO_MULTI.value
_UNMONITORED = (Flag.SKIP_MONITOR | Flag.ADMIN).value
_MULTI_CONTROL = {b"exec", b"discard", b"multi", b"watch", b"quit", b"reset", b"unwatch"}
_SUBSCRIBED_ALLOWED = {
    b"subscribe", b"psubscribe", b"ssubscribe", b"unsubscribe", b"punsubscribe",
    b"sunsubscribe", b"ping", b"quit", b"reset",
}
_SUBSCRIBED_ERROR = (
    "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
    "are allowed in this context"
)


def lookup(table: dict[bytes, Command], argv: list[bytes]) -> Command | Error:
    """The command argv names, or the error Redis gives for it."""
    cmd = table.get(argv[0].lower())
    if cmd is None:
        return Error(errors.unknown_command(argv))
    if cmd.subcommands and (len(argv) > 1 or cmd.handler is None):  # bare COMMAND runs its own handler
        if len(argv) == 1:
            return Error(errors.wrong_arity(cmd.name))
        sub = cmd.subcommands.get(argv[1].lower())
        if sub is None:
            return Error(errors.unknown_subcommand(argv[1], cmd.name))
        cmd = sub
    if not cmd.arity_ok(len(argv)):
        return Error(errors.wrong_arity(cmd.fullname))
    return cmd


def execute(node, client, argv: list[bytes]) -> None:
    """Run one request from a client and queue its reply."""
    if client.skip_next:
        _execute_without_reply(node, client, argv)
        return
    cmd = node.table.get(argv[0].lower())
    if cmd is None or cmd.subcommands or not (
        len(argv) == cmd.arity if cmd.arity > 0 else len(argv) >= -cmd.arity
    ):
        cmd = lookup(node.table, argv)
        if type(cmd) is Error:
            if client.multi is not None:
                client.multi_error = True
            _reply_error(node, client, cmd)
            return
    if (
        client.reader.limits.authenticated
        and not client.channels
        and not client.patterns
        and not client.shard_channels
        and node.write_gate is None
    ):
        refusal = None  # the common case: nothing can refuse the command
    else:
        refusal = _refusal(node, client, cmd, argv)
    if refusal is not None:
        if client.multi is not None and refusal.text.split(" ", 1)[0] not in ("NOAUTH",):
            client.multi_error = True
        cmd.rejected_calls += 1
        _reply_error(node, client, refusal)
        return
    if client.multi is not None and argv[0].lower() not in _MULTI_CONTROL:
        if cmd.flags._value_ & _NO_MULTI:
            _reply_error(node, client, Error("ERR Command not allowed inside a transaction"))
            return
        client.multi.append((cmd, argv))
        client.reply(QUEUED)
        return
    reply = call(node, client, cmd, argv)
    if reply is not NO_REPLY:
        if type(reply) is Error:
            _count_error(node, reply)
        client.reply(reply)


def _execute_without_reply(node, client, argv: list[bytes]) -> None:
    """The request after CLIENT REPLY SKIP: run it, send nothing it answers."""
    client.skip_next = False
    client.reply_mode = ReplyMode.SKIP
    execute(node, client, argv)
    if client.reply_mode is ReplyMode.SKIP:
        client.reply_mode = ReplyMode.ON


def call(node, client, cmd: Command, argv: list[bytes]):
    """Invoke a handler: stats, MONITOR feed, propagation of writes."""
    stats = node.stats
    if node.monitors and not cmd.flags._value_ & _UNMONITORED:
        _feed_monitors(node, client, argv)
    dirty_before = stats.dirty
    try:
        reply = cmd.handler(client, argv)
    except Error as exc:
        reply = exc
    cmd.calls += 1
    stats.total_commands_processed += 1
    client.last_command = cmd.name if cmd.container is None else cmd.fullname
    if type(reply) is Error:
        cmd.failed_calls += 1
    if stats.dirty != dirty_before and cmd.flags._value_ & _WRITE:
        rewritten = client.propagate_as
        if rewritten is None:
            node.propagate(client.db.index, argv)
        else:
            client.propagate_as = None
            for record in rewritten:
                node.propagate(client.db.index, record)
    elif client.propagate_as is not None:
        client.propagate_as = None
    slowlog = node.slowlog_hook
    if slowlog is not None:
        slowlog(client, cmd, argv)
    return reply


def _refusal(node, client, cmd: Command, argv: list[bytes]) -> Error | None:
    """The error that stops a command before it runs, if any."""
    if not client.authenticated and not cmd.flags & Flag.NO_AUTH:
        return Error(errors.NOAUTH)
    gate = node.write_gate
    if gate is not None:
        refusal = gate(client, cmd, argv)
        if refusal is not None:
            return refusal
    if client.subscriptions and not client.resp3 and argv[0].lower() not in _SUBSCRIBED_ALLOWED:
        return Error(_SUBSCRIBED_ERROR % cmd.fullname)
    return None


def _reply_error(node, client, error: Error) -> None:
    _count_error(node, error)
    client.reply(error)


def _count_error(node, error: Error) -> None:
    stats = node.stats
    stats.total_error_replies += 1
    code = error.text.split(" ", 1)[0]
    stats.error_counts[code] = stats.error_counts.get(code, 0) + 1


def _feed_monitors(node, client, argv: list[bytes]) -> None:
    now = node.now
    quoted = " ".join(quote_repr(arg) for arg in argv)
    line = "%d.%06d [%d %s] %s" % (now // 1000, (now % 1000) * 1000, client.db.index, client.addr, quoted)
    for monitor in node.monitors:
        if monitor is not client:
            monitor.push(Simple(line))
