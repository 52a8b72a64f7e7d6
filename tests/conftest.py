"""Shared fixtures: a pure node, and real redis-server processes for comparison."""

from __future__ import annotations

import pytest

from tests.kvcore.harness import CoreClient, make_node
from tests.servers import redis_server_or_skip


@pytest.fixture
def node():
    return make_node()


@pytest.fixture
def c(node):
    """A client connected to a fresh pure node."""
    return CoreClient(node)


@pytest.fixture(scope="session")
def redis_port():
    """A real redis-server 7.x on a free port, for the whole session."""
    with redis_server_or_skip() as port:
        yield port


@pytest.fixture(scope="module")
def redis_conn(redis_port):
    """A raw RESP2 connection to the session's redis-server, for tests that replay a case there."""
    from tests.kvcore.differential.runner import RedisConnection

    conn = RedisConnection(redis_port)
    yield conn
    conn.close()
