"""The hash value: a dict from field to value, both ``bytes``, in insertion order."""

from __future__ import annotations


class HashValue(dict):
    """A Redis hash. ``hashtable`` records that Redis would have left its listpack.

    Redis 7.0 converts a listpack hash to a hashtable, for good, when a write
    stores a field or value longer than ``hash-max-listpack-value`` bytes or
    the hash grows past ``hash-max-listpack-entries`` fields.
    """

    __slots__ = ("hashtable",)
    TYPE = "hash"

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.hashtable = False

    def encoding(self, config) -> str:
        """OBJECT ENCODING, as the writes so far would have left it."""
        return "hashtable" if self.hashtable else "listpack"

    def note_write(self, config, written) -> None:
        """After storing the fields and values in ``written``: convert if Redis would."""
        if self.hashtable:
            return
        if len(self) > config["hash-max-listpack-entries"]:
            self.hashtable = True
            return
        limit = config["hash-max-listpack-value"]
        for arg in written:
            if len(arg) > limit:
                self.hashtable = True
                return
