"""Running requests: lookup, arity, the gates Redis applies, then the handler.

The order of the checks is redis-server's processCommand: unknown command,
arity, authentication, memory, disk errors, read-only replica, pub/sub
context, MULTI queueing, and only then the call. `run_requests` is the loop
over a client's pipeline; it serves the common case (nothing to check beyond
the lookup) inline and hands every other request to `execute`.
"""

from __future__ import annotations

from kvcore import corrupt, errors
from kvcore.acl import noperm
from kvcore.client import ReplyMode
from kvcore.commands.table import Command, Flag
from kvcore.protocol import quote_repr
from kvcore.redaction import redacted
from kvcore.reply import Error, Simple
from kvcore.resp import SMALL_INT_REPLIES, encode

NO_REPLY = object()
"""Returned by handlers that reply themselves (or not at all, when blocking)."""

QUEUED = Simple("QUEUED")
# Flag tests on the hot path use the integer values: enum.Flag's `&` is slow.
_WRITE = Flag.WRITE.value
_REPLY_ON = ReplyMode.ON  # a module global: enum member access through the class is slow
_REPLY_REPLICA = ReplyMode.REPLICA
_KEYSPACE = (Flag.WRITE | Flag.READONLY | Flag.MAY_REPLICATE).value
_NO_MULTI = Flag.NO_MULTI.value
_UNMONITORED = (Flag.SKIP_MONITOR | Flag.ADMIN).value
_MULTI_CONTROL = {b"exec", b"discard", b"multi", b"watch", b"quit", b"reset"}
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
    cmd, error = resolve(table, argv)
    return cmd if error is None else error


def resolve(table: dict[bytes, Command], argv: list[bytes]) -> tuple[Command | None, Error | None]:
    """The command argv names (None if there is none), and the error Redis gives for argv, if any:
    with a known command but the wrong arity, both (Redis counts it in the command's rejected_calls)."""
    cmd = table.get(argv[0].lower())
    if cmd is None:
        return None, Error(errors.unknown_command(argv))
    if cmd.subcommands and (len(argv) > 1 or cmd.handler is None):  # bare COMMAND runs its own handler
        if len(argv) == 1:
            return cmd, Error(errors.wrong_arity(cmd.name))
        sub = cmd.subcommands.get(argv[1].lower())
        if sub is None:
            return None, Error(errors.unknown_subcommand(argv[1], cmd.name))
        cmd = sub
    if not cmd.arity_ok(len(argv)):
        return cmd, Error(errors.wrong_arity(cmd.fullname))
    return cmd, None


def run_requests(node, client, requests: list[list[bytes]]) -> None:
    """Run a client's requests in order, until one blocks the client, closes it or freezes the node.

    This loop is the hot path of the whole server, so it does inline what
    `execute` and `call` would do for the common case: a known command with
    the right arity that no gate can refuse, no MULTI queue, no CLIENT REPLY
    SKIP, no MONITOR to feed. Every other request goes through `execute`.
    """
    get_command = node.table.get
    blocking = node.blocking
    stats = node.stats
    config_values = node.config.values
    name = cmd = last_simple = last_wire = None
    for index, argv in enumerate(requests):
        if client.closing:
            return
        if node.images_pending:  # a background job's image is not taken yet (Node.image_pending)
            node.defer_requests(client, requests[index:])
            return
        if not argv:
            continue  # an empty request (``*0``, a blank inline line)
        blocking.request = argv
        if argv[0] != name:  # pipelines often repeat a command: look it up once
            name = argv[0]
            cmd = get_command(name.lower())
        if (
            cmd is None
            or cmd.subcommands
            or (len(argv) != arity if (arity := cmd.arity) > 0 else len(argv) < -arity)
            or client.skip_next
            or client.reply_mode is not _REPLY_ON
            or client.multi is not None
            or not client.unrestricted
            or client.channels
            or client.patterns
            or client.shard_channels
            or node.write_gate is not None
            or node.paused
            or node.monitors
            or node.tracking_clients
        ):
            execute(node, client, argv)
            if node.tracking is not None:  # invalidations for this client go after its reply
                node.tracking.after_request(client, argv)
        else:  # call(), inline: there is no MONITOR to feed
            dirty_before = stats.dirty
            try:
                reply = cmd.handler(client, argv)
            except Error as exc:
                reply = _error_reply(node, client, cmd, argv, exc)
            cmd.calls += 1
            stats.total_commands_processed += 1
            client.last_command = cmd.name
            if stats.dirty != dirty_before and cmd.flags._value_ & _WRITE:
                if client.propagate_as is None:
                    if node.replication.active or config_values["appendonly"]:  # else propagate does nothing
                        node.propagate(client.db.index, argv)
                else:
                    _propagate_rewritten(node, client)
            elif client.propagate_as is not None:
                client.propagate_as = None
            if node.expiry_block is not None:
                node.close_expiry_block()
            if node.slowlog_hook is not None and not _blocked_on_keys(client):
                node.slowlog_hook(client, cmd, argv)
            if reply is not NO_REPLY:
                if type(reply) is Error:
                    cmd.failed_calls += 1
                    count_error(node, reply)
                # client.reply(reply), inline (its reply mode is on)
                out = client.out
                if not out:
                    node.clients_with_output.append(client)
                # The commonest replies without a call: a simple string (OK, PONG)
                # is encoded once per batch, a small integer comes from a table.
                kind = type(reply)
                if kind is Simple:
                    if reply is not last_simple:
                        last_simple, last_wire = reply, encode(reply, client.resp3)
                    out.append(last_wire)
                elif kind is int and 0 <= reply < 10000:
                    out.append(SMALL_INT_REPLIES[reply])
                else:
                    out.append(encode(reply, client.resp3))
        if blocking.ready:
            blocking.serve_ready()
        if client.blocked is not None:
            client.pending.extend(requests[index + 1 :])
            return


def execute(node, client, argv: list[bytes]) -> None:
    """Run one request from a client and queue its reply, with every check."""
    if client.skip_next:
        _execute_without_reply(node, client, argv)
        return
    cmd, error = resolve(node.table, argv)
    # CLIENT LIST's cmd: the command looked up, even one refused or held next (NULL: none), as Redis
    client.last_command = "NULL" if cmd is None else cmd.name if cmd.container is None else cmd.fullname
    if error is not None:
        if cmd is not None and cmd.name == "exec":  # EXEC x: the transaction goes (if any: EXECABORT all the same)
            error = _abort_transaction(client, Error(error.text.removeprefix("ERR ")))
        elif client.multi is not None:
            client.multi_error = True
        if cmd is not None:
            cmd.rejected_calls += 1
        _reply_error(node, client, error)
        return
    refusal = _refusal(node, client, cmd, argv)
    if refusal is not None:
        if cmd.name == "exec":
            refusal = _abort_transaction(client, refusal)
        elif client.multi is not None and refusal.text.split(" ", 1)[0] not in ("NOAUTH",):
            client.multi_error = True
        cmd.rejected_calls += 1
        _reply_error(node, client, refusal)
        return
    if node.paused and node.pause.holds(client, cmd, argv):
        node.pause.hold(client, argv)
        return
    if client.multi is not None and argv[0].lower() not in _MULTI_CONTROL:
        if cmd.flags._value_ & _NO_MULTI:
            client.multi_error = True  # a command refused at queueing aborts the transaction, as Redis
            _reply_error(node, client, Error("ERR Command not allowed inside a transaction"))
            return
        client.multi.append((cmd, argv))
        client.reply(QUEUED)
        return
    reply = call(node, client, cmd, argv)
    if reply is not NO_REPLY:
        if type(reply) is Error:
            count_error(node, reply)
        client.reply(reply)


def _abort_transaction(client, refusal: Error) -> Error:
    """EXEC itself refused (arity, out of memory...): the transaction goes, and its WATCHes, as
    Redis's execCommandAbort, which answers EXECABORT even with no MULTI."""
    from kvcore.commands.transactions import end_transaction  # the commands import this module

    end_transaction(client)
    return Error(f"EXECABORT Transaction discarded because of: {refusal.text}")


def _error_reply(node, client, cmd: Command, argv: list[bytes], exc: Error):
    """A handler's error as its reply; but a WRONGTYPE met at a value RESTORE kept undecoded
    (kvcore.corrupt) is the command reading it, and a `corrupt.Fatal` one reading what Redis
    cannot: the server fails Redis's assertion instead."""
    if exc.text is errors.WRONGTYPE:
        value = corrupt.touched(client.db, argv, cmd.group)
        if value is not None:
            node.emit(value.crash_of(cmd.name))
            return NO_REPLY
    elif type(exc) is corrupt.Fatal:
        node.emit(exc.crash)
        return NO_REPLY
    return exc


def _execute_without_reply(node, client, argv: list[bytes]) -> None:
    """The request after CLIENT REPLY SKIP: run it, send nothing it answers."""
    client.skip_next = False
    client.reply_mode = ReplyMode.SKIP
    execute(node, client, argv)
    if client.reply_mode is ReplyMode.SKIP:
        client.reply_mode = ReplyMode.ON


def call(node, client, cmd: Command, argv: list[bytes]):
    """Invoke a handler: stats, MONITOR feed, propagation of writes.

    MONITOR sees a command after it ran, as in Redis 7.0: EXEC after the
    commands it ran, SELECT with the database it selected.
    """
    stats = node.stats
    dirty_before = stats.dirty
    tracking = node.tracking
    if tracking is not None:
        outer, tracking.current = tracking.current, client
    try:
        reply = cmd.handler(client, argv)
    except Error as exc:
        reply = _error_reply(node, client, cmd, argv, exc)
    if tracking is not None:
        tracking.after_call(client, cmd, argv, outer)  # remember the keys a tracking client read
    if node.monitors and not cmd.flags._value_ & _UNMONITORED:
        feed_monitors(node, client, argv)
    cmd.calls += 1
    stats.total_commands_processed += 1
    client.last_command = cmd.name if cmd.container is None else cmd.fullname
    if type(reply) is Error:
        cmd.failed_calls += 1
    if stats.dirty != dirty_before and cmd.flags._value_ & _WRITE:
        if client.propagate_as is None:
            node.propagate(client.db.index, argv)
        else:
            _propagate_rewritten(node, client)
    elif client.propagate_as is not None:
        client.propagate_as = None
    if node.expiry_block is not None:
        node.close_expiry_block()
    slowlog = node.slowlog_hook
    if slowlog is not None and not _blocked_on_keys(client):
        slowlog(client, cmd, argv)
    return reply


def _blocked_on_keys(client) -> bool:
    """The command blocked its client (BLPOP...): the slow log records it once it is done
    (kvcore.blocking), as Redis logs a blocked command when it unblocks."""
    return client.blocked is not None and client.blocked.resume is not None


def _propagate_rewritten(node, client) -> None:
    """Log what a write asked to be logged as (``client.propagate_as``) instead of itself."""
    rewritten, client.propagate_as = client.propagate_as, None
    propagate_records(node, client.db.index, rewritten)


def propagate_records(node, db_index: int, records: list[list[bytes]]) -> None:
    """Log several writes as one (wrapped in MULTI ... EXEC when more than one)."""
    if len(records) == 1:
        node.propagate(db_index, records[0])
        return
    marker = node.begin_propagation_block()
    for record in records:
        node.propagate(db_index, record)
    node.end_propagation_block(marker)


def _refusal(node, client, cmd: Command, argv: list[bytes]) -> Error | None:
    """The error that stops a command before it runs, if any."""
    if not client.authenticated and not cmd.flags & Flag.NO_AUTH:
        return Error(errors.NOAUTH)
    if not client.unrestricted and not cmd.flags & Flag.NO_AUTH:
        denial = node.acl.refusal(client, cmd, argv, "toplevel" if client.multi is None else "multi")
        if denial is not None:
            return Error(noperm(denial))
    gate = node.write_gate
    if gate is not None:
        refusal = gate(client, cmd, argv)
        if refusal is not None:
            return refusal
    if client.subscriptions and not client.resp3 and argv[0].lower() not in _SUBSCRIBED_ALLOWED:
        return Error(_SUBSCRIBED_ERROR % cmd.fullname)
    if client.reply_mode is _REPLY_REPLICA and cmd.flags._value_ & _KEYSPACE:  # not even a read: pauses skip replicas
        return Error(errors.REPLICA_KEYSPACE)
    return None


def _reply_error(node, client, error: Error) -> None:
    count_error(node, error)
    client.reply(error)


def count_error(node, error: Error) -> None:
    """An error reply sent: INFO's total_error_replies and errorstats (also for one inside EXEC's array)."""
    if error.counted:
        return
    stats = node.stats
    stats.total_error_replies += 1
    code = error.text.split(" ", 1)[0]
    stats.error_counts[code] = stats.error_counts.get(code, 0) + 1
    if node.master_executing:  # a replica answering its master with an error: the data may diverge
        node.master_link.error_replied(error)


def feed_monitors(node, client, argv: list[bytes]) -> None:
    """A command as MONITOR shows it; "lua" for one a script ran, as Redis shows its Lua client."""
    now = node.now
    quoted = " ".join(quote_repr(arg) for arg in redacted(argv))
    source = "lua" if node.scripts.running else client.addr
    line = "%d.%06d [%d %s] %s" % (now // 1000, (now % 1000) * 1000, client.db.index, source, quoted)
    for monitor in node.monitors:
        if monitor is not client:
            monitor.push(Simple(line))
