"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

Queueing happens in the dispatcher (it already knows which commands are
transaction control); EXEC runs the queue through the same `call` as any
command and wraps the writes it propagates in MULTI ... EXEC.
"""

from __future__ import annotations

from kvcore import errors
from kvcore.acl import exec_noperm
from kvcore.commands.key_specs import Index, KeySpec, Range
from kvcore.commands.table import Flag, Registry
from kvcore.dispatch import NO_REPLY, call, count_error
from kvcore.keyspace import drop_watches
from kvcore.reply import NULL_ARRAY, OK, Error, Raw
from kvcore.resp import encode

REGISTRY = Registry("transactions")
command = REGISTRY.command

CONTROL = Flag.NOSCRIPT | Flag.LOADING | Flag.STALE | Flag.FAST | Flag.ALLOW_BUSY


@command("multi", 1, CONTROL)
def multi(client, argv):
    """MULTI"""
    if client.multi is not None:
        raise Error(errors.MULTI_NESTED)
    client.multi = []
    client.multi_error = False
    return OK


@command("discard", 1, CONTROL)
def discard(client, argv):
    """DISCARD"""
    if client.multi is None:
        raise Error(errors.DISCARD_WITHOUT_MULTI)
    end_transaction(client)
    return OK


@command("exec", 1, Flag.NOSCRIPT | Flag.LOADING | Flag.STALE | Flag.SKIP_SLOWLOG)
def exec_(client, argv):
    """EXEC"""
    if client.multi is None:
        raise Error(errors.EXEC_WITHOUT_MULTI)
    queued, failed = client.multi, client.multi_error
    aborted = failed or watched_keys_changed(client)
    end_transaction(client)
    if failed:
        raise Error(errors.EXECABORT)
    if aborted:
        return NULL_ARRAY
    node = client.node
    marker = node.begin_propagation_block()
    node.in_exec = True
    replies, written, direct = [], [], False
    try:
        for cmd, args in queued:
            out = client.out
            mark = len(out)
            replies.append(run_queued(node, client, cmd, args))
            written.append(out[mark:])
            if len(out) > mark or replies[-1] is NO_REPLY:
                del out[mark:]
                direct = True
    finally:
        node.in_exec = False
        node.end_propagation_block(marker)
    for reply in replies:
        if type(reply) is Error:
            count_error(node, reply)  # errors in the array count as replies sent, as Redis's afterErrorReply
    if not direct:
        return replies
    # A command that writes its own output (SUBSCRIBE's confirmations, a message published to this
    # very client) has it inside the array, as in Redis's EXEC reply, whose header counts commands.
    parts = [b"*%d\r\n" % len(queued)]
    for reply, own in zip(replies, written):
        parts += own
        if reply is not NO_REPLY:
            parts.append(encode(reply, client.resp3))
    return Raw(b"".join(parts))


def run_queued(node, client, cmd, argv):
    """One command of a transaction; refused if the user lost the right to it since it was queued."""
    if not client.unrestricted:
        denial = node.acl.refusal(client, cmd, argv, "multi")
        if denial is not None:
            return Error(exec_noperm(denial))
    return call(node, client, cmd, argv)


@command("watch", -2, CONTROL, (1, -1, 1), key_specs=(KeySpec("RO", Index(1), Range(-1)),))
def watch(client, argv):
    """WATCH key [key ...]"""
    if client.multi is not None:
        raise Error(errors.WATCH_IN_MULTI)
    db = client.db
    for key in argv[1:]:
        if (db.index, key) in (entry[:2] for entry in client.watched):
            continue
        client.watched.append((db.index, key, db.logically_expired(key)))
        db.watchers.setdefault(key, []).append(client)
    return OK


@command("unwatch", 1, CONTROL)
def unwatch(client, argv):
    """UNWATCH"""
    unwatch_all(client)
    return OK


def watched_keys_changed(client) -> bool:
    """Whether EXEC must fail: a watched key was touched, or has expired since WATCH
    (a key already expired when WATCHed does not count: Redis's isWatchedKeyExpired)."""
    if client.watch_dirty:
        return True
    dbs = client.node.dbs
    return any(not expired_already and dbs[db_index].logically_expired(key)
               for db_index, key, expired_already in client.watched)


def end_transaction(client) -> None:
    client.multi = None
    client.multi_error = False
    unwatch_all(client)


def unwatch_all(client) -> None:
    drop_watches(client)
    client.watch_dirty = False
