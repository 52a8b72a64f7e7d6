"""HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.

A HyperLogLog is a plain string value in Redis's exact layout (see
`kvcore.hll`), so GET, DUMP/RESTORE and snapshots carry it unchanged and
redis-server and kvcore can read each other's. PFCOUNT of one key writes the
estimate into the string's cache bytes, as Redis does, and propagates itself
so the log and replicas hold the same bytes.
"""

from __future__ import annotations

import math

from kvcore import errors, hll
from kvcore.commands.key_specs import Index, KeySpec, Range
from kvcore.commands.table import Flag, Registry
from kvcore.hll import HLL
from kvcore.reply import OK, Error, Simple

REGISTRY = Registry("hyperloglog")
command = REGISTRY.command

NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
CORRUPT = "INVALIDOBJ Corrupted HLL object detected"
NO_KEY = "ERR The specified key does not exist"
NOT_SPARSE = "ERR HLL encoding is not sparse"

W = Flag.WRITE | Flag.DENYOOM


def _load(value) -> HLL:
    """The HLL in a string value, or Redis's error for anything else."""
    if type(value) is not bytes:
        raise Error(errors.WRONGTYPE)
    if not hll.is_hll(value):
        raise Error(NOT_HLL)
    return HLL(value)


def _registers(sketch: HLL) -> bytearray:
    raw = sketch.registers()
    if raw is None:
        raise Error(CORRUPT)
    return raw


def _max_bytes(client) -> int:
    return client.node.config["hll-sparse-max-bytes"]


def _store(db, key: bytes, value: bytes, created: bool, changes: int = 1) -> None:
    """Write an HLL back, counting ``changes`` modifications as Redis's dirty counter does."""
    if created:
        db.set(key, value)
    else:
        db.replace(key, value)
    db.mark_raw(key)  # Redis creates and edits HLLs as raw strings
    if changes > 1:
        db.written(key, changes - 1)


@command("pfadd", -2, W | Flag.FAST, (1, 1, 1), since="2.8.9", key_specs=(KeySpec("RW INSERT", Index(1)),))
def pfadd(client, argv):
    """PFADD key [element [element ...]]"""
    db, key = client.db, argv[1]
    value = db.get(key)
    created = value is None
    sketch = HLL(hll.EMPTY) if created else _load(value)
    if not created:
        db.mark_raw(key)  # Redis unshares the string before adding, whether or not a register changes
    updated = int(created)
    max_bytes = _max_bytes(client)
    for element in argv[2:]:
        result = sketch.add(element, max_bytes)
        if result == hll.INVALID:
            _keep_partial(db, key, value, sketch)
            raise Error(CORRUPT)
        updated += result
    if not updated:
        return 0
    sketch.invalidate()
    _store(db, key, sketch.to_bytes(), created, updated)
    client.node.notify_keyspace_event("pfadd", key, db.index)
    return 1


def _keep_partial(db, key: bytes, value: bytes, sketch: HLL) -> None:
    """Redis edits a corrupt HLL in place up to the failing element: keep those edits."""
    edited = sketch.to_bytes()
    if edited != value:
        db.replace(key, edited)
        db.mark_raw(key)


@command(
    "pfcount", -2, Flag.READONLY | Flag.MAY_REPLICATE, (1, -1, 1), since="2.8.9",
    key_specs=(
        KeySpec("RW ACCESS", Index(1), Range(-1), notes="RW because it may change the internal representation of the key, and propagate to replicas"),
    ),
)
def pfcount(client, argv):
    """PFCOUNT key [key ...]"""
    if len(argv) > 2:
        return hll.signed(hll.count(_union(client, argv[1:])))
    db, key = client.db, argv[1]
    value = db.lookup_read(key)
    if value is None:
        return 0
    sketch = _load(value)
    db.mark_raw(key)  # Redis unshares the string before reading its cache, valid or not
    card = sketch.cached()
    if card is None:
        card = hll.count(_registers(sketch))
        sketch.cache(card)
        db.replace(key, sketch.to_bytes())
        client.node.propagate(db.index, argv)
    return hll.signed(card)


def _union(client, keys: list[bytes]) -> bytearray:
    """The register-wise maximum of the HLLs at keys (missing keys count as empty)."""
    merged = None
    for key in keys:
        value = client.db.lookup_read(key)
        if value is None:
            continue
        raw = _registers(_load(value))
        merged = raw if merged is None else hll.raw_max(merged, raw)
    return merged if merged is not None else bytearray(hll.REGISTERS)


@command(
    "pfmerge", -2, W, (1, -1, 1), since="2.8.9",
    key_specs=(
        KeySpec("RW ACCESS INSERT", Index(1)),
        KeySpec("RO ACCESS", Index(2), Range(-1)),
    ),
)
def pfmerge(client, argv):
    """PFMERGE destkey [sourcekey [sourcekey ...]]"""
    db, key = client.db, argv[1]
    merged = None
    use_dense = False
    for source in argv[1:]:
        value = db.lookup_read(source)
        if value is None:
            continue
        sketch = _load(value)
        use_dense = use_dense or sketch.sparse is None
        raw = _registers(sketch)
        merged = raw if merged is None else hll.raw_max(merged, raw)
    value = db.get(key)
    created = value is None
    target = HLL(hll.EMPTY if created else value)
    if use_dense and not target.to_dense():
        raise Error(CORRUPT)
    if merged is not None:
        _raise_registers(target, merged, _max_bytes(client))
    target.invalidate()
    _store(db, key, target.to_bytes(), created)
    client.node.notify_keyspace_event("pfadd", key, db.index)  # a merge is a mass PFADD
    return OK


def _raise_registers(target: HLL, merged: bytearray, max_bytes: int) -> None:
    """Set every non-zero merged register in the target, in Redis's order."""
    if target.sparse is not None:
        for index, count in enumerate(merged):
            if count:
                target.set(index, count, max_bytes)
                if target.sparse is None:
                    break
    if target.sparse is None:
        # The target was one of the sources, so the merged registers are its new registers.
        target.dense = hll.pack(merged)


@command("pfdebug", 3, W | Flag.ADMIN, (2, 2, 1), since="2.8.9", key_specs=(KeySpec("RW ACCESS", Index(2)),))
def pfdebug(client, argv):
    """PFDEBUG GETREG | DECODE | ENCODING | TODENSE key"""
    db, key = client.db, argv[2]
    value = db.get(key)
    if value is None:
        raise Error(NO_KEY)
    sketch = _load(value)
    db.mark_raw(key)  # Redis unshares the string before it reads the subcommand
    sub = argv[1].split(b"\0", 1)[0].lower()
    if sub == b"getreg":
        _make_dense(db, key, sketch)
        return list(hll.unpack(sketch.dense))
    if sub == b"decode":
        if sketch.sparse is None:
            raise Error(NOT_SPARSE)
        return sketch.sparse.decode()
    if sub == b"encoding":
        return Simple(sketch.encoding)
    if sub == b"todense":
        return int(_make_dense(db, key, sketch))
    raise Error(f"ERR Unknown PFDEBUG subcommand '{argv[1].decode('utf-8', 'replace')}'")


def _make_dense(db, key: bytes, sketch: HLL) -> bool:
    """Convert a sparse HLL to dense in the keyspace; True if it was sparse."""
    if sketch.sparse is None:
        return False
    if not sketch.to_dense():
        raise Error(CORRUPT)
    db.replace(key, sketch.to_bytes())
    return True


SELFTEST_CYCLES = 4
SELFTEST_ELEMENTS = 10_000


@command("pfselftest", 1, Flag.ADMIN, since="2.8.9")
def pfselftest(client, argv):
    """PFSELFTEST"""
    rng = client.node.rng
    failure = _selftest_registers(rng) or _selftest_estimates(rng, _max_bytes(client))
    if failure:
        raise Error("TESTFAILED " + failure)
    return OK


def _selftest_registers(rng) -> str:
    """Random registers survive packing into the dense layout and back."""
    for _ in range(SELFTEST_CYCLES):
        raw = hll.unpack(rng.getrandbits(8 * hll.DENSE_BYTES).to_bytes(hll.DENSE_BYTES, "little"))
        back = hll.unpack(hll.pack(raw))
        for index, (want, got) in enumerate(zip(raw, back)):
            if want != got:
                return f"Register {index} should be {want} but is {got}"
    return ""


def _selftest_estimates(rng, max_bytes: int) -> str:
    """Dense and sparse agree, small sets stay sparse, and the error stays in bounds."""
    dense = HLL(b"HYLL" + bytes(hll.HEADER_SIZE - 4) + bytes(hll.DENSE_BYTES))
    sparse = HLL(hll.EMPTY)
    relerr = 1.04 / math.sqrt(hll.REGISTERS)
    seed = rng.getrandbits(64)
    checkpoint = 1
    for j in range(1, SELFTEST_ELEMENTS + 1):
        element = (j ^ seed).to_bytes(8, "little")
        dense.add(element, max_bytes)
        sparse.add(element, max_bytes)
        if j != checkpoint:
            continue
        if j < max_bytes / 2 and sparse.sparse is None:
            return "sparse encoding not used"
        estimate = hll.count(dense.registers())
        if estimate != hll.count(sparse.registers()):
            return "dense/sparse disagree"
        max_error = 1 if j == 10 else math.ceil(relerr * 6 * checkpoint)
        if abs(checkpoint - estimate) > max_error:
            return f"Too big error. card:{checkpoint} abserr:{abs(checkpoint - estimate)}"
        checkpoint *= 10
    return ""
