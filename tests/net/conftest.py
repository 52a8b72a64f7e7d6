"""Fixtures for the end-to-end tests: one kvserver process per module, and clients of it."""

from __future__ import annotations

import pytest
import redis

from tests.servers import kvserver, redis_server_or_skip


@pytest.fixture(scope="module")
def server():
    """A kvserver process shared by a module's tests, no save schedule; yields (port, process)."""
    with kvserver(["--save", ""]) as (port, proc):
        yield port, proc


@pytest.fixture(scope="module", params=["kvserver", "redis-server"])
def either_server(request):
    """Each of kvserver and redis-server on its own (no save schedule), for a test run on both;
    yields the port. The settings a test changes there touch no other module's tests."""
    if request.param == "kvserver":
        with kvserver(["--save", ""]) as (port, _):
            yield port
    else:
        with redis_server_or_skip(["--save", ""]) as port:
            yield port


@pytest.fixture
def port(server):
    port, proc = server
    assert proc.poll() is None, "kvserver died during an earlier test"
    return port


@pytest.fixture
def r(port):
    client = redis.Redis(port=port, protocol=2, socket_timeout=30)
    yield client
    client.close()
