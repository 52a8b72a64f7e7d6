"""DEBUG DIGEST: a fingerprint of the dataset that does not depend on encodings or insertion order.

Redis's test suite compares digests taken before and after a reload, a
restart or a replication; so does ours. Each key contributes the SHA-1 of its
database, name, type, logical contents (set members and hash fields sorted,
list and sorted-set elements in their order, scores as %.17g) and expiry; the
dataset's digest is the XOR of those, so the order keys are visited in does
not matter. No keys at all give forty zeros, as in Redis. The digests are
not Redis's own numbers: only equality between two of ours means anything.
"""

from __future__ import annotations

import hashlib

from kvcore.aof import rewrite_key

EMPTY = "0" * 40


def key_digest(db_index: int, key: bytes, value, expires_ms: int | None) -> bytes:
    """The SHA-1 of one key, its value and its expiry."""
    sha = hashlib.sha1()
    for part in (b"%d" % db_index, key, b"%d" % (-1 if expires_ms is None else expires_ms), *_contents(key, value)):
        sha.update(b"%d:" % len(part))
        sha.update(part)
    return sha.digest()


def _contents(key: bytes, value) -> list[bytes]:
    """The value as the arguments of the commands that rebuild it, made order-free for sets and hashes."""
    commands = rewrite_key(key, value)
    kind = b"string" if type(value) is bytes else value.TYPE.encode()
    items = [tuple(argv[2:]) for argv in commands]
    if kind in (b"set", b"hash"):
        step = 1 if kind == b"set" else 2
        flat = [arg for item in items for arg in item]
        items = sorted(tuple(flat[index : index + step]) for index in range(0, len(flat), step))
    return [kind, *(arg for item in items for arg in item)]


def dataset_digest(node) -> str:
    """DEBUG DIGEST: hex of the XOR of every key's digest, or forty zeros for no keys."""
    total = 0
    for db in node.dbs:
        expires = db.expires
        for key, value in db.data.items():
            total ^= int.from_bytes(key_digest(db.index, key, value, expires.get(key)), "big")
    return "%040x" % total if total else EMPTY


def value_digest(db, key: bytes) -> str:
    """DEBUG DIGEST-VALUE: one key's digest (without its database or expiry), zeros if missing."""
    value = db.data.get(key)
    if value is None:
        return EMPTY
    return key_digest(0, key, value, None).hex()
