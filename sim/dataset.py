"""What the simulator compares between a primary and its replicas, and across a restart.

Each key's DEBUG DIGEST-VALUE and its deadline, as Redis's tests compare
servers; and what that digest leaves out but a replica or a reloaded node
must keep all the same: a stream's consumer groups (where each group is, and
which entries each consumer has pending), and the function libraries (each
one's code).
Left out: delivery and seen times, a group's entries-read counter (Redis
7.0's replicas do not keep it exactly either), and what an XREADGROUP of a
consumer's history changes, which Redis 7.0 does not log, so that a replica
or a reload from the log may differ there: the delivery counts it raises, and
the consumer it makes (consumers with nothing pending are left out); and
pending entries whose stream entry is gone (deleted or trimmed), which an
XCLAIM of a log rewritten as commands does not bring back, in Redis 7.0 either.
"""

from __future__ import annotations

import hashlib

from kvcore.digest import value_digest
from kvcore.types_stream import StreamValue


def key_state(db, key: bytes) -> str:
    value = db.data[key]
    digest = value_digest(db, key)
    if type(value) is StreamValue and value.groups:
        digest += " " + groups_state(value)
    return digest


def libraries_state(core) -> dict[str, str]:
    """Each function library's name -> a digest of its code."""
    return {name: hashlib.sha1(library.code).hexdigest() for name, library in sorted(core.functions.libraries.items())}


def groups_state(stream: StreamValue) -> str:
    parts = []
    for name in sorted(stream.groups):
        group = stream.groups[name]
        pending = ",".join(_pending_state(ident, group.pending.get(ident)) for ident in group.pending.ids
                           if stream.get(ident) is not None)
        parts.append(f"{name.hex()}@{group.last_id}[{pending}]")
    return ";".join(parts)


def _pending_state(ident: int, nack) -> str:
    owner = nack.consumer.name.hex() if nack.consumer is not None else ""
    return f"{ident}:{owner}"
