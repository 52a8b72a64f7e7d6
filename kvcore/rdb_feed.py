"""An RDB payload read as it arrives: a replica's diskless load (``repl-diskless-load``).

Redis's replica parses its master's payload straight from the socket, at the
pace it loads: a slow loader holds up the master's sending child, and the
replica never holds the payload beside the dataset made of it. `RdbFeed`
does the same with the bytes the link hands it: `feed` reads every whole key
they complete. A key cut off by the end of what has come (an "Unexpected
EOF" at that end) is read again from its start, where the reader left
``Snapshot.resume_at``, once at least as many bytes again have come (or the
caller says no more are coming for now), so that a big key arriving in small
pieces is not read over and over. The records after the last whole key that
were read before the cut (an expiry, a SELECTDB, AUX fields) are read again
too, to the same effect.

The bytes read are dropped as the reading moves on; their CRC-64 is kept, so
that the trailer's checksum is checked as for a whole file.
"""

from __future__ import annotations

from kvcore import rdb
from kvcore.crc64 import crc64

TRAILER_SIZE = 8  # the CRC-64 after the EOF opcode (RDB version 5 on)


class RdbFeed:
    """One payload being read; `feed` until it returns True, then `snapshot` and `rest`."""

    def __init__(self, config, databases: int, verify_checksum: bool) -> None:
        self.config = config
        self.databases = databases
        self.verify = verify_checksum
        self.parsed: rdb.Snapshot | None = None
        self.cursor = rdb.Cursor(b"")  # over the bytes not yet dropped, from `base` on
        self.base = 0  # the payload offset of cursor.data[0]
        self.crc = 0  # the CRC-64 of the payload's bytes before `base`
        self.incoming = bytearray()  # fed, not yet read
        self.wait_for = 0  # bytes `incoming` needs before the next read (a key was cut off)
        self.records_done = False  # the EOF opcode was read
        self.done = False
        self.rest = b""  # once done: the bytes fed past the payload's end

    @property
    def position(self) -> int:
        """Payload bytes read so far."""
        return self.base + self.cursor.pos

    @property
    def keys_read(self) -> int:
        return self.parsed.keys_read if self.parsed is not None else 0

    def feed(self, data: bytes, last: bool = False) -> bool:
        """Take more of the payload and read the keys it completes; True once the payload's end
        (and its checksum) was read. ``last``: nothing more may come for a while (the
        payload's announced size reached, or its end mark seen): read what there is now.
        A payload that is not one Redis would load raises `rdb.RdbError`."""
        if self.done:
            self.rest += data
            return True
        self.incoming += data
        if len(self.incoming) < self.wait_for and not last:
            return False
        self._take_incoming()
        if self.parsed is None:
            if len(self.cursor.data) < rdb.HEADER_SIZE:
                return False
            self.parsed = rdb.Snapshot(rdb.read_header(self.cursor.data))
            self.cursor.pos = rdb.HEADER_SIZE
        if not self.records_done and not self._read_records():
            return False
        return self._read_trailer()

    def snapshot(self) -> rdb.Snapshot:
        parsed = self.parsed
        rdb.check_keys(parsed)
        parsed.end = self.position
        return parsed

    def _take_incoming(self) -> None:
        """The unread bytes and those fed since, in one buffer; the read ones go."""
        cursor = self.cursor
        read = cursor.pos
        if self.verify and read:
            self.crc = crc64(self.crc, cursor.data[:read])
        self.base += read
        self.cursor = rdb.Cursor(cursor.data[read:] + self.incoming)
        self.incoming = bytearray()
        self.wait_for = 0

    def _read_records(self) -> bool:
        """Read keys to the EOF opcode (True) or to one the bytes cut off (False)."""
        cursor, parsed = self.cursor, self.parsed
        parsed.resume_at = cursor.pos
        try:
            rdb.read_records(cursor, parsed, self.config, self.databases, self.config["sanitize-dump-payload"] == "yes")
        except rdb.RdbError as exc:
            if exc.message != rdb.EOF_ERROR or exc.offset != cursor.end:
                raise
            cursor.pos = parsed.resume_at
            self.wait_for = cursor.end - cursor.pos
            return False
        self.records_done = True
        return True

    def _read_trailer(self) -> bool:
        cursor = self.cursor
        if self.parsed.version >= 5:
            if cursor.end - cursor.pos < TRAILER_SIZE:
                return False
            rdb.check_trailer(cursor, self.verify, self.crc)
        self.done = True
        self.rest = cursor.data[cursor.pos:]
        return True
