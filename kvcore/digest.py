"""DEBUG DIGEST and DIGEST-VALUE: Redis 7.0's dataset fingerprint (debug.c), bit for bit.

Redis's test suite compares digests taken before and after a reload, a
restart or a replication, and the digests of two keys holding equal values
(COPY). The numbers are Redis's own, so a dataset digests here exactly as it
does in redis-server 7.0:

- ``xor(d, s)``: d ^= SHA1(s); ``mix(d, s)``: d = SHA1(d ^ SHA1(s)).
- A value's digest starts from twenty zero bytes, mixes in its type number
  (4 bytes, big-endian) and then its contents: a string mixed in; list
  elements mixed in order; set members xored (order-free); each hash field
  and each sorted-set member digested on its own (field then value, member
  then score as ``%.17g``, mixed into zeros) and xored in; a stream's
  entries mixed in order, each its ID as ``ms.seq`` then its fields and
  values (its consumer groups are not part of it). A key with a TTL
  gets ``!!expire!!`` xored in (the time itself is not part of it). The key's
  name is not part of a value's digest (DIGEST-VALUE).
- The dataset digest, per non-empty database in order: mix in the database
  number, then xor in, for each key, the digest of the key name mixed into
  zeros followed by its value. No keys at all give forty zeros.

Module values (JSON documents) mix in their JSON text, for want of the
module's own digest callback.
"""

from __future__ import annotations

import hashlib

EMPTY = "0" * 40
ZEROS = bytes(20)
EXPIRE_MARK = b"!!expire!!"
TYPE_NUMBERS = {"string": 0, "list": 1, "set": 2, "zset": 3, "hash": 4, "ReJSON-RL": 5, "stream": 6}  # OBJ_STRING...


def _sha1(data: bytes) -> int:
    return int.from_bytes(hashlib.sha1(data).digest(), "big")


def _xor(digest: int, data: bytes) -> int:
    return digest ^ _sha1(data)


def _mix(digest: int, data: bytes) -> int:
    return _sha1((digest ^ _sha1(data)).to_bytes(20, "big"))


def object_digest(value, has_expire: bool, digest: int = 0) -> int:
    """xorObjectDigest: fold one value (and whether it has a TTL) into ``digest``."""
    kind = "string" if type(value) is bytes else value.TYPE
    digest = _mix(digest, TYPE_NUMBERS[kind].to_bytes(4, "big"))
    if kind == "string":
        digest = _mix(digest, value)
    elif kind == "list":
        for item in value:
            digest = _mix(digest, item)
    elif kind == "set":
        for member in value:
            digest = _xor(digest, member)
    elif kind == "zset":
        for member, score in value.scores.items():
            digest = _xor(digest, _pair(member, b"%.17g" % score))
    elif kind == "hash":
        for field, item in value.items():
            digest = _xor(digest, _pair(field, item))
    elif kind == "stream":
        for ident, flat in value.range(0, (1 << 128) - 1):
            digest = _mix(digest, b"%d.%d" % (ident >> 64, ident & ((1 << 64) - 1)))
            for item in flat:
                digest = _mix(digest, item)
    else:
        from kvcore.commands.json import encoded

        digest = _mix(digest, encoded(value.root, value))
    if has_expire:
        digest = _xor(digest, EXPIRE_MARK)
    return digest


def _pair(first: bytes, second: bytes) -> bytes:
    """The 20-byte digest of one field/value or member/score pair."""
    return _mix(_mix(0, first), second).to_bytes(20, "big")


def dataset_digest(node) -> str:
    """DEBUG DIGEST: computeDatasetDigest as hex, or forty zeros for no keys."""
    total = 0
    for db in node.dbs:
        if not db.data:
            continue
        total = _mix(total, db.index.to_bytes(4, "big"))
        expires = db.expires
        for key, value in db.data.items():
            total = _xor(total, object_digest(value, key in expires, _mix(0, key)).to_bytes(20, "big"))
    return "%040x" % total


def value_digest(db, key: bytes) -> str:
    """DEBUG DIGEST-VALUE: one value's digest (TTL marker included, key name not), zeros if missing."""
    value = db.data.get(key)
    if value is None:
        return EMPTY
    return "%040x" % object_digest(value, key in db.expires)
