"""The JSON family end to end: redis-py's ``r.json()`` against a real kvserver.

redis-py 8 speaks RESP3 unless told otherwise and then reshapes the JSON
replies to their RESP2 forms; every check runs with such a default client and
with a RESP2 one. A client that asks for protocol 3 gets the raw RESP3 shapes.
Expected values are the documented RedisJSON results, as redis-py decodes them.
"""

from __future__ import annotations

import pytest
import redis
from redis.commands.json.path import Path

from tests.servers import kvserver


@pytest.fixture(scope="module")
def server_port():
    with kvserver() as (port, _proc):
        yield port


@pytest.fixture(params=[None, 2], ids=["default-resp3", "resp2"])
def j(request, server_port):
    client = redis.Redis(port=server_port, protocol=request.param, socket_timeout=30)
    client.flushall()
    yield client.json()
    client.close()


def test_set_get_and_multi_path_get(j):
    assert j.set("doc", "$", {"a": 2, "b": 3, "nested": {"a": 4, "b": None}})
    assert j.get("doc") == {"a": 2, "b": 3, "nested": {"a": 4, "b": None}}
    assert j.get("doc", "$..b") == [3, None]
    assert j.get("doc", "..a", "$..b") == {"..a": [2, 4], "$..b": [3, None]}
    assert j.get("doc", ".nested.a") == 4
    assert j.get("missing") is None
    assert j.set("doc", "$.a", 5, nx=True) is None
    assert j.set("doc", "$.c", [1.5, "x"], nx=True)
    assert j.set("doc", "$.zz", 1, xx=True) is None
    assert j.get("doc", "$.c") == [[1.5, "x"]]
    with pytest.raises(redis.ResponseError, match="new objects must be created at the root"):
        j.set("other", "$.a", 1)


def test_mget_mset_merge_and_delete(j):
    assert j.mset([("doc1", "$", {"a": 1, "nested": {"a": 3}}), ("doc2", "$", {"a": 4, "nested": {"a": 6}})])
    assert j.mget(["doc1", "doc2", "nope"], "$..a") == [[1, 3], [4, 6], None]
    assert j.merge("doc1", "$", {"a": None, "b": {"c": 1}})
    assert j.get("doc1") == {"nested": {"a": 3}, "b": {"c": 1}}
    assert j.delete("doc1", "$..a") == 1
    assert j.forget("doc2", "$.nested") == 1
    assert j.get("doc2") == {"a": 4}
    assert j.delete("doc2") == 1
    assert j.get("doc2") is None


def test_types_and_lengths(j):
    j.set("doc", "$", {"a": 2, "s": "foo", "o": {"x": 1, "y": 2}, "l": [1, 2, 3], "f": 1.5, "t": True, "n": None})
    assert j.type("doc") == b"object"
    assert j.type("doc", "$..a") == [b"integer"]
    assert j.type("doc", "$.*") == [b"integer", b"string", b"object", b"array", b"number", b"boolean", b"null"]
    assert j.strlen("doc", "$.s") == [3]
    assert j.strlen("doc", ".s") == 3
    assert j.objlen("doc", "$.o") == [2]
    assert j.objkeys("doc", "$.o") == [[b"x", b"y"]]
    assert j.objkeys("doc", ".o") == ["x", "y"]
    assert j.arrlen("doc", "$.l") == [3]
    assert j.arrlen("doc", ".l") == 3


@pytest.mark.filterwarnings("ignore:Call to deprecated nummultby")
def test_numbers(j):
    j.set("doc", ".", {"a": "b", "b": [{"a": 2}, {"a": 5}, {"a": "c"}]})
    assert j.numincrby("doc", "$..a", 2) == [None, 4, 7, None]
    assert j.nummultby("doc", "$..a", 2) == [None, 8, 14, None]
    assert j.numincrby("doc", ".b[0].a", 1) == 9
    assert j.numincrby("doc", "$.b[1].a", 0.5) == [14.5]


def test_strings_booleans_and_clear(j):
    j.set("doc", "$", {"a": "foo", "nested": {"a": "hello"}, "nested2": {"a": 31}, "bool": True})
    assert j.strappend("doc", "baz", "$..a") == [6, 8, None]
    assert j.get("doc", "$.nested.a") == ["hellobaz"]
    assert j.toggle("doc", "$.bool") == [0]
    assert j.toggle("doc", ".bool") is True
    assert j.clear("doc", "$.nested") == 1
    assert j.get("doc", "$.nested") == [{}]


def test_arrays(j):
    j.set("item", "$", {"colors": ["black", "silver"], "max_level": [80, 90, 100, 120]})
    assert j.arrappend("item", "$.colors", "blue") == [3]
    assert j.arrinsert("item", "$.colors", 2, "yellow", "gold") == [5]
    assert j.get("item", "$.colors") == [["black", "silver", "yellow", "gold", "blue"]]
    assert j.arrindex("item", "$.colors", "gold") == [3]
    assert j.arrindex("item", ".colors", "nope") == -1
    assert j.arrpop("item", "$.max_level", 0) == ["80"]      # redis-py leaves JSONPath pops as JSON text
    assert j.arrpop("item", ".max_level") == 120
    assert j.arrtrim("item", "$.colors", 1, 2) == [2]
    assert j.get("item", ".colors") == ["silver", "yellow"]
    assert j.arrappend("item", ".colors", {"x": [1]}) == 3
    assert j.get("item", ".colors[2].x") == [1]


def test_resp_and_debug_memory(j):
    j.set("doc", "$", {"a": [1, "x"], "b": True})
    resp = j.resp("doc")
    assert resp == ["{", "a", [b"[", 1, b"x"], "b", "true"]
    assert j.debug("MEMORY", "doc", "$.a") == [8 + 8 * 6 + 8 + 9]


def test_errors_reach_the_client(j):
    j.client.set("plain", "x")
    with pytest.raises(redis.ResponseError, match="Existing key has wrong Redis type"):
        j.get("plain")
    j.set("doc", Path.root_path(), {"a": 1})
    with pytest.raises(redis.ResponseError, match="does not exist"):
        j.get("doc", ".nope")
    with pytest.raises(redis.ResponseError, match="expected value at line 1 column 1"):
        j.client.execute_command("JSON.SET", "doc", "$", "nope")
    with pytest.raises(redis.ResponseError, match="Error occurred on position"):
        j.get("doc", "$.[")


def test_pipeline_and_transaction(j):
    pipe = j.pipeline()
    pipe.set("doc", "$", {"n": 1})
    pipe.numincrby("doc", "$.n", 1)
    pipe.get("doc")
    assert pipe.execute() == [True, [2], {"n": 2}]


def test_raw_resp3_shapes(server_port):
    client = redis.Redis(port=server_port, protocol=3, socket_timeout=30)
    try:
        j = client.json()
        j.set("raw", "$", {"a": 1, "f": 2.5, "o": {}})
        assert j.type("raw", ".a") == [b"integer"]
        assert j.type("raw", "$.*") == [[b"integer", b"number", b"object"]]
        assert j.numincrby("raw", "$.f", 1) == [3.5]
        assert j.numincrby("raw", ".a", 1) == [2]
        assert j.resp("raw", "$.f") == [3.5]
        assert client.execute_command("HELLO")[b"proto"] == 3
    finally:
        client.close()
