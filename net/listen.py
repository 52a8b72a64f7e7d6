"""The listening sockets, opened before the dataset loads, as redis-server opens them.

redis-server binds its ports in initServer(), before it loads its RDB or
AOF: a client that connects during the load waits in the listen backlog
instead of being refused (Redis's test harness connects as soon as the
server prints its pid). The event loop takes these sockets over once it runs.
"""

from __future__ import annotations

import os
import socket

from net.log import Log


def open_listeners(port: int, bind: str, unixsocket: str, backlog: int, log: Log,
                   required: bool = True) -> list[socket.socket] | None:
    """Bound, listening, non-blocking sockets for ``bind`` on ``port`` and ``unixsocket``; None
    (after Redis's log lines) when a required one cannot be opened, or there is none while
    some are ``required`` (at start; CONFIG SET bind "" may leave only the unix socket)."""
    sockets: list[socket.socket] = []
    backlog = max(backlog, 1)
    if port:
        for address in bind.split():
            optional = address.startswith("-")
            try:
                sockets += _tcp(_host(address.lstrip("-")), port, backlog)
            except OSError as exc:
                log.warning(f"Warning: Could not create server TCP listening socket {address}:{port}: "
                            f"bind: {exc.strerror}")
                if optional:
                    continue
                log.warning(f"Failed listening on port {port} (TCP), aborting.")
                return _closed(sockets)
    if unixsocket:
        try:
            sockets.append(_unix(unixsocket, backlog))
        except OSError as exc:
            log.warning(f"Failed opening Unix socket: {exc.strerror}")
            return _closed(sockets)
        log.notice(f"The server is now ready to accept connections at {unixsocket}")
    if not sockets and required:
        log.warning("Configured to not listen anywhere, exiting.")
        return None
    return sockets


def _tcp(host: str, port: int, backlog: int) -> list[socket.socket]:
    """One socket per address ``host`` resolves to (as asyncio's create_server binds them)."""
    opened = []
    try:
        for family, kind, proto, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                                   flags=socket.AI_PASSIVE):
            sock = socket.socket(family, kind, proto)
            opened.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
    except OSError:
        _closed(opened)
        raise
    return opened


def _unix(path: str, backlog: int) -> socket.socket:
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _host(address: str) -> str:
    """redis.conf's ``*`` and ``::*`` wildcards as socket addresses."""
    if address == "*":
        return "0.0.0.0"
    if address == "::*":
        return "::"
    return address


def _closed(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()
    return None
