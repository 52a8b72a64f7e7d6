"""The hash value: fields and values, both ``bytes``, in insertion order, packed while small.

A small hash is kept as Redis keeps it, in one flat buffer: while Redis would
hold it as a listpack and it has at most `PACK_MAX_FIELDS` fields, it is one
``bytes`` object, the `marshal` image of the flat tuple (field, value, field,
value...). That costs a few bytes per field where a dict and its ``bytes``
objects cost a hundred. A read decodes the buffer (C speed) and a write
decodes, changes and re-encodes it: O(n), as a listpack is. A larger hash,
or one Redis would have converted to a hashtable, is a dict.
"""

from __future__ import annotations

from itertools import chain
from marshal import dumps, loads

from kvcore.eviction import ELEMENT_BYTES
from kvcore.keyspace import ScanOrder

PACK_MAX_FIELDS = 32  # a listpack hash with more fields is a dict here (but still reports listpack)
PACK_MAX_BYTES = 8192  # and so is one whose packed image would be larger
_SHORT_TUPLE = 16


def pack_tuple(items: tuple) -> bytes:
    """The marshal image of a tuple of bytes and floats.

    Version 4 writes a short tuple most compactly; version 2 skips version
    4's reference tracking, which doubles the time to write a long one.
    """
    return dumps(items, 4 if len(items) <= _SHORT_TUPLE else 2)


def pack(table: dict[bytes, bytes]) -> bytes | None:
    """The packed image of ``table``, or None when it is too big to keep packed."""
    if len(table) > PACK_MAX_FIELDS:
        return None
    packed = pack_tuple(tuple(chain.from_iterable(table.items())))
    return packed if len(packed) <= PACK_MAX_BYTES else None


class HashValue:
    """A Redis hash. ``hashtable`` records that Redis would have left its listpack.

    Redis 7.0 converts a listpack hash to a hashtable, for good, when a write
    stores a field or value longer than ``hash-max-listpack-value`` bytes or
    the hash grows past ``hash-max-listpack-entries`` fields. The storage is
    a packed ``bytes`` image (see the module docstring) or a dict; reads and
    iteration look like a dict's.
    """

    __slots__ = ("_data", "_hashtable", "_order")
    TYPE = "hash"

    def __init__(self, pairs=()) -> None:
        self._hashtable = False
        self._order: ScanOrder | None = None  # HSCAN's positions, from a hashtable's first scan on
        self._keep(dict(pairs))

    def _keep(self, table: dict[bytes, bytes]) -> None:
        """Store ``table``: packed if it may be, else the dict itself."""
        packed = None if self._hashtable else pack(table)
        self._data = table if packed is None else packed

    def _flat(self) -> tuple | None:
        """The flat (field, value...) tuple of a packed hash, None for a dict."""
        data = self._data
        return loads(data) if type(data) is bytes else None

    def table(self) -> dict[bytes, bytes]:
        """The fields as a dict: the stored one itself (read it, do not change it), or a fresh one."""
        data = self._data
        if type(data) is not bytes:
            return data
        flat = loads(data)
        return dict(zip(flat[0::2], flat[1::2]))

    # -- encoding --------------------------------------------------------------------
    @property
    def hashtable(self) -> bool:
        return self._hashtable

    @hashtable.setter
    def hashtable(self, converted: bool) -> None:
        table = self.table()
        self._hashtable = converted
        self._keep(table)

    def encoding(self, config) -> str:
        """OBJECT ENCODING, as the writes so far would have left it."""
        return "hashtable" if self._hashtable else "listpack"

    def weight(self) -> int:
        """The memory model's bytes (kvcore.eviction) without decoding: a packed hash's packed
        size (near its listpack's), else a per-field figure."""
        data = self._data
        return len(data) if type(data) is bytes else ELEMENT_BYTES * len(data)

    # -- reading, as a dict reads ----------------------------------------------------
    def __len__(self) -> int:
        data = self._data
        return len(loads(data)) >> 1 if type(data) is bytes else len(data)

    def __iter__(self):
        flat = self._flat()
        return iter(self._data if flat is None else flat[0::2])

    def __contains__(self, field) -> bool:
        flat = self._flat()
        return field in (self._data if flat is None else flat[0::2])

    def get(self, field: bytes, default=None):
        data = self._data
        if type(data) is not bytes:
            return data.get(field, default)
        flat = loads(data)
        try:
            return flat[2 * flat[0::2].index(field) + 1]
        except ValueError:
            return default

    def __getitem__(self, field: bytes) -> bytes:
        found = self.get(field)
        if found is None:
            raise KeyError(field)
        return found

    def keys(self):
        return list(self)

    def values(self):
        flat = self._flat()
        return self._data.values() if flat is None else flat[1::2]

    def items(self):
        flat = self._flat()
        return self._data.items() if flat is None else zip(flat[0::2], flat[1::2])

    def __eq__(self, other) -> bool:
        if isinstance(other, HashValue):
            other = other.table()
        return isinstance(other, dict) and self.table() == other

    def __repr__(self) -> str:
        return f"HashValue({self.table()!r}, hashtable={self._hashtable})"

    def copy(self) -> HashValue:
        value = HashValue.__new__(HashValue)
        data = self._data
        value._data = data if type(data) is bytes else dict(data)  # a packed image is immutable: share it
        value._hashtable = self._hashtable
        value._order = None
        return value

    def scan_order(self) -> ScanOrder:
        """HSCAN's positions over a hashtable: its fields in insertion order, made at its first scan
        and kept by every write after (a new field goes to the end, a deleted one is skipped), so a
        cursor returns every field present for the whole scan, as Redis's dictScan does."""
        if self._order is None:
            self._order = ScanOrder()
            for field in self.table():
                self._order.append(field)
        return self._order

    # -- writing -----------------------------------------------------------------------
    def store(self, pairs: list[bytes], config) -> int:
        """Set the fields and values of the flat ``pairs``; how many fields are new.

        Converts to a hashtable, as Redis would, when a field or value is too
        long or the hash grows past the listpack limit.
        """
        if not self._hashtable and max(map(len, pairs)) > config["hash-max-listpack-value"]:
            self.hashtable = True
        data = self._data
        if type(data) is bytes:
            return self._store_packed(loads(data), pairs, config)
        before = len(data)
        order = self._order
        if order is not None:  # an HSCAN'd hashtable: new fields take the next scan positions
            for field in dict.fromkeys(pairs[0::2]):
                if field not in data:
                    order.append(field)
        for i in range(0, len(pairs), 2):
            data[pairs[i]] = pairs[i + 1]
        if len(data) > config["hash-max-listpack-entries"]:
            self._hashtable = True
        return len(data) - before

    def _store_packed(self, flat: tuple, pairs: list[bytes], config) -> int:
        """`store` into a packed hash: edits the flat tuple (as a list), then packs it again."""
        flat = list(flat)
        fields = flat[0::2]
        before = len(fields)
        for i in range(0, len(pairs), 2):
            field = pairs[i]
            if field in fields:
                flat[2 * fields.index(field) + 1] = pairs[i + 1]
            else:
                flat += (field, pairs[i + 1])
                fields.append(field)
        if len(fields) > config["hash-max-listpack-entries"]:
            self._hashtable = True
        packed = None
        if not self._hashtable and len(fields) <= PACK_MAX_FIELDS:
            packed = pack_tuple(tuple(flat))
        if packed is None or len(packed) > PACK_MAX_BYTES:
            self._data = dict(zip(flat[0::2], flat[1::2]))
        else:
            self._data = packed
        return len(fields) - before

    def delete(self, fields: list[bytes]) -> int:
        """Delete ``fields``; how many were there."""
        table = self.table()
        before = len(table)
        for field in fields:
            table.pop(field, None)
        deleted = before - len(table)
        if deleted and not self._hashtable:
            self._keep(table)
        if deleted and self._order is not None:
            self._order.compact(table)
        return deleted
