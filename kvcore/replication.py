"""The replication stream a leader sends: clients that sent SYNC get every propagated write.

What is propagated is what the log gets (`Node.propagate`: deterministic
commands, relative expiries made absolute, expired keys as DEL), encoded as
RESP arrays, with a SELECT whenever the database differs from the last one
sent (forced again when a replica attaches, as Redis resets slaveseldb), and
a group of more than one write (an EXEC, or a command propagated as several)
wrapped in MULTI ... EXEC, the SELECT before the MULTI. One write alone is
not wrapped, as Redis 7.0's propagatePendingCommands does.

A replica attaches with SYNC: it gets ``$<length>\\r\\n`` and an RDB image of
the dataset at that instant (no CRLF after it, as Redis sends the file), then
the stream. Replies to what a replica sends are not sent, as Redis does not
answer its replicas.
"""

from __future__ import annotations

from kvcore import rdb
from kvcore.aof import encode_command


class ReplicationStream:
    """A node's replicas and the stream they get (``node.replication``)."""

    def __init__(self, node) -> None:
        self.node = node
        self.replicas: list = []
        self.offset = 0  # master_repl_offset: the bytes of stream produced so far
        self._db = -1  # the database the stream last selected
        self._group: list[tuple[int, list[bytes]]] | None = None

    def attach(self, client) -> None:
        """SYNC: the image of this instant, then every write from now on."""
        node = self.node
        image = rdb.write(node, extra_aux=[(b"repl-stream-db", b"0"), (b"repl-id", node.run_id.encode()),
                                           (b"repl-offset", b"%d" % self.offset)])
        self._write(client, b"$%d\r\n%s" % (len(image), image))
        self.replicas.append(client)
        self._db = -1

    def detach(self, client) -> None:
        if client in self.replicas:
            self.replicas.remove(client)

    def propagate(self, db_index: int, argv: list[bytes]) -> None:
        if self._group is not None:
            self._group.append((db_index, argv))
        else:
            self._send([(db_index, argv)])

    def begin_group(self) -> None:
        self._group = []

    def end_group(self) -> None:
        writes, self._group = self._group, None
        if not writes:
            return
        if len(writes) > 1:
            writes = [(writes[0][0], [b"MULTI"]), *writes, (writes[-1][0], [b"EXEC"])]
        self._send(writes)

    def _send(self, writes: list[tuple[int, list[bytes]]]) -> None:
        parts = []
        for db_index, argv in writes:
            if db_index != self._db:
                parts.append(encode_command([b"SELECT", b"%d" % db_index]))
                self._db = db_index
            parts.append(encode_command(argv))
        data = b"".join(parts)
        self.offset += len(data)
        for client in self.replicas:
            self._write(client, data)

    def _write(self, client, data: bytes) -> None:
        """Stream bytes go out whatever the replica's reply mode (its own replies do not)."""
        if not client.out:
            self.node.clients_with_output.append(client)
        client.out.append(data)
