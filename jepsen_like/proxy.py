"""A TCP proxy in front of one server, which the real-process harness cuts and slows.

Clients connect to the proxy's port; each connection is piped to the server,
byte for byte, in both directions. `cut` holds what either side sends (a
partition: nothing is lost, nothing gets through) until `heal` lets it on;
`lag` delays every chunk before it is passed on, keeping the order.
"""

from __future__ import annotations

import asyncio
import contextlib

CHUNK_BYTES = 65536


class Proxy:
    """Pipes connections on a local port to ``127.0.0.1:target_port``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.open = asyncio.Event()
        self.open.set()
        self.lag_s = 0.0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.heal()
        if self._server is not None:
            self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    def cut(self) -> None:
        self.open.clear()

    def heal(self) -> None:
        self.open.set()

    def lag(self, seconds: float) -> None:
        self.lag_s = seconds

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            await self.open.wait()
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:  # the server is down: the client sees its connection close
            client_writer.close()
            return
        pipes = [asyncio.ensure_future(self._pipe(client_reader, server_writer)),
                 asyncio.ensure_future(self._pipe(server_reader, client_writer))]
        self._pipes.update(pipes)
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
        self._pipes.difference_update(pipes)
        for writer in (client_writer, server_writer):
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(CHUNK_BYTES):
                await self.open.wait()
                if self.lag_s:
                    await asyncio.sleep(self.lag_s)
                writer.write(data)
                await writer.drain()
