"""What the simulator compares between a primary and its replicas, and across a restart.

Each key's DEBUG DIGEST-VALUE and its deadline, as Redis's tests compare
servers; and what that digest leaves out but a replica or a reloaded node
must keep all the same: a stream's consumer groups (where each group is, its
consumers, and which entries each has pending, delivered how many times).
Left out: delivery and seen times, and a group's entries-read counter (Redis
7.0's replicas do not keep it exactly either).
"""

from __future__ import annotations

from kvcore.digest import value_digest
from kvcore.types_stream import StreamValue


def key_state(db, key: bytes) -> str:
    value = db.data[key]
    digest = value_digest(db, key)
    if type(value) is StreamValue and value.groups:
        digest += " " + groups_state(value)
    return digest


def groups_state(stream: StreamValue) -> str:
    parts = []
    for name in sorted(stream.groups):
        group = stream.groups[name]
        pending = ",".join(_pending_state(ident, group.pending.get(ident)) for ident in group.pending.ids)
        consumers = ",".join(consumer.name.hex() for consumer in group.sorted_consumers())
        parts.append(f"{name.hex()}@{group.last_id}[{pending}]({consumers})")
    return ";".join(parts)


def _pending_state(ident: int, nack) -> str:
    owner = nack.consumer.name.hex() if nack.consumer is not None else ""
    return f"{ident}:{owner}:{nack.delivery_count}"
