"""The JSON family against the pure core.

redis-server 7.0 has no JSON module, so the oracle here is RedisJSON itself:
the examples of each command page with their documented outputs, RedisJSON's
own test suite (tests/pytest/test.py, test_resp3.py, the ijson memory tests)
and the texts its source sends. Each table row is (argv, expected reply);
`Err` stands for an error reply.
"""

from __future__ import annotations

import json

import pytest
from hiredis import ReplyError

from kvcore.commands.json import format_float, memory_usage
from tests.kvcore.harness import CoreClient


class Err:
    """An expected error reply: its exact text, or (partial=True) a part of it."""

    def __init__(self, text: str, partial: bool = False) -> None:
        self.text = text
        self.partial = partial

    def matches(self, reply) -> bool:
        if not isinstance(reply, ReplyError):
            return False
        return self.text in str(reply) if self.partial else str(reply) == self.text


def run(c: CoreClient, steps) -> None:
    for argv, expected in steps:
        reply = c.call(*argv)
        if isinstance(expected, Err):
            assert expected.matches(reply), (argv, reply, expected.text)
        else:
            assert reply == expected, (argv, reply)


def loads(reply: bytes):
    return json.loads(reply)


# -- the examples of each command page -----------------------------------------------

ITEM1 = (
    '{"name":"Noise-cancelling Bluetooth headphones","description":"Wireless Bluetooth headphones with '
    'noise-cancelling technology","connection":{"wireless":true,"type":"Bluetooth"},"price":99.98,"stock":25,'
    '"colors":["black","silver"]}'
)
HEADPHONES = (
    '[{"name":"Healthy headphones","description":"Wireless Bluetooth headphones with noise-cancelling technology",'
    '"connection":{"wireless":true,"type":"Bluetooth"},"price":99.98,"stock":25,"colors":["black","silver"],'
    '"max_level":[60,70,80]},{"name":"Noisy headphones","description":"Wireless Bluetooth headphones with '
    'noise-cancelling technology","connection":{"wireless":true,"type":"Bluetooth"},"price":99.98,"stock":25,'
    '"colors":["black","silver"],"max_level":[80,90,100,120]}]'
)
ITEM2 = (
    '{"name":"Wireless earbuds","description":"Wireless Bluetooth in-ear headphones","connection":{"wireless":true,'
    '"type":"Bluetooth"},"price":64.99,"stock":17,"colors":["black","white"], "max_level":[80, 100, 120]}'
)

DOC_EXAMPLES = {
    "set": [
        (("JSON.SET", "doc", "$", '{"a":2}'), b"OK"),
        (("JSON.SET", "doc", "$.a", "3"), b"OK"),
        (("JSON.GET", "doc", "$"), b'[{"a":3}]'),
        (("JSON.SET", "doc", "$", '{"a":2}'), b"OK"),
        (("JSON.SET", "doc", "$.b", "8"), b"OK"),
        (("JSON.GET", "doc", "$"), b'[{"a":2,"b":8}]'),
        (("JSON.SET", "doc", "$", '{"f1": {"a":1}, "f2":{"a":2}}'), b"OK"),
        (("JSON.SET", "doc", "$..a", "3"), b"OK"),
        (("JSON.GET", "doc"), b'{"f1":{"a":3},"f2":{"a":3}}'),
    ],
    "get": [
        (("JSON.SET", "doc", "$", '{"a":2, "b": 3, "nested": {"a": 4, "b": null}}'), b"OK"),
        (("JSON.GET", "doc", "$..b"), b"[3,null]"),
    ],
    "mget": [
        (("JSON.SET", "doc1", "$", '{"a":1, "b": 2, "nested": {"a": 3}, "c": null}'), b"OK"),
        (("JSON.SET", "doc2", "$", '{"a":4, "b": 5, "nested": {"a": 6}, "c": null}'), b"OK"),
        (("JSON.MGET", "doc1", "doc2", "$..a"), [b"[1,3]", b"[4,6]"]),
    ],
    "del": [
        (("JSON.SET", "doc", "$", '{"a": 1, "nested": {"a": 2, "b": 3}}'), b"OK"),
        (("JSON.DEL", "doc", "$..a"), 2),
        (("JSON.GET", "doc", "$"), b'[{"nested":{"b":3}}]'),
    ],
    "numincrby": [
        (("JSON.SET", "doc", ".", '{"a":"b","b":[{"a":2}, {"a":5}, {"a":"c"}]}'), b"OK"),
        (("JSON.NUMINCRBY", "doc", "$.a", "2"), b"[null]"),
        (("JSON.NUMINCRBY", "doc", "$..a", "2"), b"[null,4,7,null]"),
    ],
    "nummultby": [
        (("JSON.SET", "doc", ".", '{"a":"b","b":[{"a":2}, {"a":5}, {"a":"c"}]}'), b"OK"),
        (("JSON.NUMMULTBY", "doc", "$.a", "2"), b"[null]"),
        (("JSON.NUMMULTBY", "doc", "$..a", "2"), b"[null,4,10,null]"),
    ],
    "strappend": [
        (("JSON.SET", "doc", "$", '{"a":"foo", "nested": {"a": "hello"}, "nested2": {"a": 31}}'), b"OK"),
        (("JSON.STRAPPEND", "doc", "$..a", '"baz"'), [6, 8, None]),
        (("JSON.GET", "doc", "$"), b'[{"a":"foobaz","nested":{"a":"hellobaz"},"nested2":{"a":31}}]'),
    ],
    "strlen": [
        (("JSON.SET", "doc", "$", '{"a":"foo", "nested": {"a": "hello"}, "nested2": {"a": 31}}'), b"OK"),
        (("JSON.STRLEN", "doc", "$..a"), [3, 5, None]),
    ],
    "arrappend": [
        (("JSON.SET", "item:1", "$", ITEM1), b"OK"),
        (("JSON.ARRAPPEND", "item:1", "$.colors", '"blue"'), [3]),
        (("JSON.GET", "item:1"), ITEM1.replace('"silver"]', '"silver","blue"]').encode()),
    ],
    "arrindex": [
        (("JSON.SET", "doc", "$", '{"a":[1,2,3,2], "nested": {"a": [3,4]}}'), b"OK"),
        (("JSON.ARRINDEX", "doc", "$..a", "2"), [1, -1]),
        (("JSON.SET", "doc", "$", '{"a":[1,2,3,2], "nested": {"a": false}}'), b"OK"),
        (("JSON.ARRINDEX", "doc", "$..a", "2"), [1, None]),
    ],
    "arrinsert": [
        (("JSON.SET", "item:1", "$", ITEM1), b"OK"),
        (("JSON.ARRAPPEND", "item:1", "$.colors", '"blue"'), [3]),
        (("JSON.GET", "item:1", "$.colors[*]"), b'["black","silver","blue"]'),
        (("JSON.ARRINSERT", "item:1", "$.colors", "2", '"yellow"', '"gold"'), [5]),
        (("JSON.GET", "item:1", "$.colors"), b'[["black","silver","yellow","gold","blue"]]'),
    ],
    "arrlen": [
        (("JSON.SET", "doc", "$", '{"a":[3], "nested": {"a": [3,4]}}'), b"OK"),
        (("JSON.ARRLEN", "doc", "$..a"), [1, 2]),
        (("JSON.SET", "doc", "$", '{"a":[1,2,3,2], "nested": {"a": false}}'), b"OK"),
        (("JSON.ARRLEN", "doc", "$..a"), [4, None]),
    ],
    "arrpop": [
        (("JSON.SET", "key", "$", HEADPHONES), b"OK"),
        (("JSON.GET", "key", "$.[1].max_level"), b"[[80,90,100,120]]"),
        (("JSON.ARRPOP", "key", "$.[1].max_level", "0"), [b"80"]),
        (("JSON.GET", "key", "$.[1].max_level"), b"[[90,100,120]]"),
        (("JSON.ARRINSERT", "key", "$.[1].max_level", "0", "85"), [4]),
        (("JSON.GET", "key", "$.[1].max_level"), b"[[85,90,100,120]]"),
    ],
    "arrtrim": [
        (("JSON.SET", "key", "$", HEADPHONES.replace("80,90,100,120", "85,90,100,120")), b"OK"),
        (("JSON.ARRAPPEND", "key", "$.[1].max_level", "200", "300", "400", "500", "600", "700", "800", "1000"), [12]),
        (("JSON.GET", "key", "$.[1].max_level"), b"[[85,90,100,120,200,300,400,500,600,700,800,1000]]"),
        (("JSON.ARRTRIM", "key", "$.[1].max_level", "4", "8"), [5]),
        (("JSON.GET", "key", "$.[1].max_level"), b"[[200,300,400,500,600]]"),
    ],
    "objkeys": [
        (("JSON.SET", "doc", "$", '{"a":[3], "nested": {"a": {"b":2, "c": 1}}}'), b"OK"),
        (("JSON.OBJKEYS", "doc", "$..a"), [None, [b"b", b"c"]]),
    ],
    "objlen": [
        (("JSON.SET", "doc", "$", '{"a":[3], "nested": {"a": {"b":2, "c": 1}}}'), b"OK"),
        (("JSON.OBJLEN", "doc", "$..a"), [None, 2]),
    ],
    "type": [
        (("JSON.SET", "doc", "$", '{"a":2, "nested": {"a": true}, "foo": "bar"}'), b"OK"),
        (("JSON.TYPE", "doc", "$..foo"), [b"string"]),
        (("JSON.TYPE", "doc", "$..a"), [b"integer", b"boolean"]),
        (("JSON.TYPE", "doc", "$..dummy"), []),
    ],
    "clear": [
        (("JSON.SET", "doc", "$", '{"obj":{"a":1, "b":2}, "arr":[1,2,3], "str": "foo", "bool": true, '
                                  '"int": 42, "float": 3.14}'), b"OK"),
        (("JSON.CLEAR", "doc", "$.*"), 4),
        (("JSON.GET", "doc", "$"), b'[{"obj":{},"arr":[],"str":"foo","bool":true,"int":0,"float":0}]'),
    ],
    "toggle": [
        (("JSON.SET", "doc", "$", '{"bool": true}'), b"OK"),
        (("JSON.TOGGLE", "doc", "$.bool"), [0]),
        (("JSON.GET", "doc", "$"), b'[{"bool":false}]'),
        (("JSON.TOGGLE", "doc", "$.bool"), [1]),
        (("JSON.GET", "doc", "$"), b'[{"bool":true}]'),
    ],
    "resp": [
        (("JSON.SET", "item:2", "$", ITEM2), b"OK"),
        (("JSON.RESP", "item:2"), [
            b"{", b"name", b"Wireless earbuds", b"description", b"Wireless Bluetooth in-ear headphones",
            b"connection", [b"{", b"wireless", b"true", b"type", b"Bluetooth"],
            b"price", b"64.989999999999995", b"stock", 17, b"colors", [b"[", b"black", b"white"],
            b"max_level", [b"[", 80, 100, 120],
        ]),
    ],
    "merge": [
        (("JSON.SET", "doc", "$", '{"a":2}'), b"OK"),
        (("JSON.MERGE", "doc", "$.b", "8"), b"OK"),
        (("JSON.GET", "doc", "$"), b'[{"a":2,"b":8}]'),
        (("JSON.SET", "doc", "$", '{"a":2}'), b"OK"),
        (("JSON.MERGE", "doc", "$.a", "3"), b"OK"),
        (("JSON.GET", "doc", "$"), b'[{"a":3}]'),
        (("JSON.SET", "doc", "$", '{"a":2}'), b"OK"),
        (("JSON.MERGE", "doc", "$.a", "null"), b"OK"),
        (("JSON.GET", "doc", "$"), b"[{}]"),
        (("JSON.SET", "doc", "$", '{"a":[2,4,6,8]}'), b"OK"),
        (("JSON.MERGE", "doc", "$.a", "[10,12]"), b"OK"),
        (("JSON.GET", "doc", "$"), b'[{"a":[10,12]}]'),
        (("JSON.SET", "doc", "$", '{"f1": {"a":1}, "f2":{"a":2}}'), b"OK"),
        (("JSON.GET", "doc"), b'{"f1":{"a":1},"f2":{"a":2}}'),
        (("JSON.MERGE", "doc", "$", '{"f1": null, "f2":{"a":3, "b":4}, "f3":[2,4,6]}'), b"OK"),
        (("JSON.GET", "doc"), b'{"f2":{"a":3,"b":4},"f3":[2,4,6]}'),
    ],
    "mset": [
        (("JSON.MSET", "doc1", "$", '{"a":2}', "doc3", "$", '{"f1": {"a":1}, "f2":{"a":2}}'), b"OK"),
        (("JSON.GET", "doc1", "$"), b'[{"a":2}]'),
        (("JSON.MSET", "doc3", "$..a", "3"), b"OK"),
        (("JSON.GET", "doc3"), b'{"f1":{"a":3},"f2":{"a":3}}'),
    ],
}


@pytest.mark.parametrize("page", sorted(DOC_EXAMPLES))
def test_documented_examples(c, page):
    run(c, DOC_EXAMPLES[page])


def test_get_with_several_paths_maps_each_path_to_its_values(c):
    # JSON.GET page: "{\"$..b\":[3,null],\"..a\":[2,4]}" (a map: compared parsed)
    run(c, [(("JSON.SET", "doc", "$", '{"a":2, "b": 3, "nested": {"a": 4, "b": null}}'), b"OK")])
    assert loads(c.call("JSON.GET", "doc", "..a", "$..b")) == {"$..b": [3, None], "..a": [2, 4]}
    # all legacy: one value per path
    assert loads(c.call("JSON.GET", "doc", ".a", "nested")) == {".a": 2, "nested": {"a": 4, "b": None}}
    assert Err("ERR Path '.nope' does not exist").matches(c.call("JSON.GET", "doc", ".a", ".nope"))


# -- RedisJSON's own test suite (tests/pytest/test.py) ---------------------------------

BASIC = {
    "string": "string value", "none": None, "bool": True, "int": 42, "num": 4.2,
    "arr": [42, None, -1.2, False, ["sub", "array"], {"subdict": True}],
    "dict": {"a": 1, "b": "2", "c": None},
}
SCALARS = {"unicode": "string value", "NoneType": None, "bool": True, "int": 42, "float": -1.2}
VALUES = {"str": "string value", "NoneType": None, "bool": True, "int": 42, "float": -1.2, "dict": {}, "list": []}
TYPES = {"null": None, "boolean": False, "integer": 42, "number": 1.2, "string": "str", "object": {}, "array": []}


def test_set_root_with_every_json_value_and_get_it_back(c):
    for value in ["string", 1, -2, 3.14, None, True, False, [], {}]:
        c.call("DEL", "test")
        assert c.call("JSON.SET", "test", ".", json.dumps(value)) == b"OK"
        assert loads(c.call("JSON.GET", "test")) == value
    assert c.call("JSON.SET", "test", ".", json.dumps(BASIC)) == b"OK"
    assert c.call("JSON.GET", "test") == json.dumps(BASIC, separators=(",", ":")).encode()


@pytest.mark.parametrize("text", ["{", "}", "[", "]", "{]", "[}", "\\", "\\\\", "", " ", '\\"', "'", "\\[", "\x00",
                                  "\x0a", "\x0c"])
def test_set_root_with_invalid_json_fails(c, text):
    assert isinstance(c.call("JSON.SET", "test", ".", text), ReplyError)
    assert c.call("EXISTS", "test") == 0


def test_set_nx_xx(c):
    run(c, [
        (("JSON.SET", "test", ".", "{}", "XX"), None),
        (("JSON.SET", "test", ".", "{}", "NX"), b"OK"),
        (("JSON.SET", "test", ".", "{}", "NX"), None),
        (("JSON.SET", "test", ".", "{}", "XX"), b"OK"),
        (("JSON.SET", "test", ".foo", "[]", "XX"), None),
        (("JSON.SET", "test", ".foo", "[]", "NX"), b"OK"),
        (("JSON.SET", "test", ".foo", "[]", "NX"), None),
        (("JSON.SET", "test", ".foo", "[1]", "XX"), b"OK"),
        (("JSON.SET", "test", ".foo[1]", "null", "NX"), Err("ERR array index out of range")),
        (("JSON.SET", "test", ".foo", "[]", ""), Err("ERR syntax error")),
        (("JSON.SET", "test", ".foo", "[]", "NN"), Err("ERR syntax error")),
        (("JSON.SET", "test", ".foo", "[]", "FORMAT", "TT"), Err("ERR wrong format")),
        (("JSON.SET", "test", ".foo", "[]", "XX", "FORMAT", ""), Err("ERR wrong format")),
        (("JSON.SET", "test", ".foo", "[]", "XX", "XN"), Err("ERR syntax error")),
        (("JSON.SET", "test", ".foo", "[]", "XX", "NX"), Err("ERR syntax error")),
        (("JSON.GET", "test"), b'{"foo":[1]}'),
    ])


def test_set_adds_only_immediate_children(c):
    docs = {"basic": BASIC}
    run(c, [
        (("JSON.SET", "test", "$", json.dumps(docs)), b"OK"),
        (("JSON.GET", "test", "$.basic.dict.new_child_1"), b"[]"),
        (("JSON.SET", "test", "$.basic.dict.new_child_1", '"new_child_1_val"'), b"OK"),
        (("JSON.GET", "test", "$.basic.dict.new_child_1"), b'["new_child_1_val"]'),
        (("JSON.SET", "test", "$.basic.dict.new_child_2", '"new_child_2_val"', "NX"), b"OK"),
        (("JSON.GET", "test", "$.basic.dict.new_child_2"), b'["new_child_2_val"]'),
        (("JSON.SET", "test", "$.basic.dict.new_child_3", '"new_child_2_val"', "XX"), None),
        (("JSON.SET", "test", "$.basic.dict.new_child_3.new_grandchild_1", '"x"'), None),
    ])


def test_set_path_errors(c):
    run(c, [
        (("JSON.SET", "x", "$.a", "1"), Err("ERR new objects must be created at the root")),
        (("JSON.SET", "x", ".", "{}"), b"OK"),
        (("JSON.SET", "x", "$..f", "1"), Err("Err wrong static path")),
        (("JSON.SET", "x", "$[0]", "1"), Err("ERR array index out of range")),
        (("JSON.SET", "x", "$.", "1"), Err("Error occurred on position 2", partial=True)),
        (("JSON.SET", "test", ".", "[0]"), b"OK"),                      # testIssue_597
        (("JSON.SET", "test", ".[0]", "[0]", "NX"), None),
        (("JSON.SET", "test", ".[1]", "[0]", "NX"), Err("ERR array index out of range")),
        (("JSON.GET", "test", "."), b"[0]"),
    ])


def test_set_with_bracket_notation(c):
    run(c, [
        (("JSON.SET", "x", ".", "{}"), b"OK"),
        (("JSON.SET", "x", '.["f1"]', "{}"), b"OK"),
        (("JSON.SET", "x", '.["f1"].f2', "[0,0,0]"), b"OK"),
        (("JSON.SET", "x", '.["f1"].f2[1]', "{}"), b"OK"),
        (("JSON.SET", "x", '.["f1"].f2[1]["f.]$.f"]', "{}"), b"OK"),
        (("JSON.SET", "x", '.["f1"]["f2"][1]["f.]$.f"]', "1"), b"OK"),
        (("JSON.SET", "x", '.["f3"].f2', "1"), None),
        (("JSON.GET", "x"), b'{"f1":{"f2":[0,{"f.]$.f":1},0]}}'),
    ])


def test_get_legacy_and_jsonpath_shapes(c):
    run(c, [
        (("JSON.SET", "x", ".", "[1,2,3]"), b"OK"),
        (("JSON.GET", "x", ".[1]"), b"2"),
        (("JSON.GET", "x", "[1]"), b"2"),
        (("JSON.GET", "x", "$.[1]"), b"[2]"),
        (("JSON.GET", "x", "$[1]"), b"[2]"),
        (("JSON.SET", "k", "$", '{"a":[1,2,3],"b":["c","d","e"],"c":"k"}'), b"OK"),
        (("JSON.GET", "k", "$.*[0,2]"), b'[1,3,"c","e"]'),
        (("JSON.GET", "k", ".*[0,2]"), b"1"),
        (("JSON.SET", "dblNum", ".", "[1512060373.222988]"), b"OK"),
        (("JSON.GET", "dblNum", "[0]"), b"1512060373.222988"),
        (("JSON.GET", "missing", "$"), None),
        (("JSON.GET", "missing", "$...$$"), None),
    ])


@pytest.mark.parametrize("path", [".foo", "boo", ".key1[0]", ".key2.bar", ".key5[99]", '.key5["moo"]'])
def test_get_of_missing_legacy_paths_fails(c, path):
    c.call("JSON.SET", "test", ".", json.dumps(SCALARS))
    reply = c.call("JSON.GET", "test", path)
    assert Err(f"ERR Path '{'$' + path if path.startswith('.') else '$.' + path}' does not exist").matches(reply)


def test_get_values_one_by_one_and_all_at_once(c):
    c.call("JSON.SET", "test", ".", json.dumps(VALUES))
    for key, value in VALUES.items():
        assert loads(c.call("JSON.GET", "test", "." + key)) == value
    assert loads(c.call("JSON.GET", "test", *VALUES)) == VALUES


def test_get_formatting(c):
    objects = [{"obj": {"f": "v"}}, {"arr": [0, 1]}]
    formats = [
        '{{{newline}{indent}"obj":{space}{{{newline}{indent}{indent}"f":{space}"v"{newline}{indent}}}{newline}}}',
        '{{{newline}{indent}"arr":{space}[{newline}{indent}{indent}0,{newline}{indent}{indent}1{newline}{indent}]'
        "{newline}}}",
    ]
    for obj in objects:
        c.call("JSON.SET", next(iter(obj)), "$", json.dumps(obj))
    for space in ["", " ", "\t", "  "]:
        for indent in ["", " ", "\t", "  "]:
            for newline in ["", "\n", "\r\n"]:
                for obj, form in zip(objects, formats):
                    reply = c.call("JSON.GET", next(iter(obj)), "INDENT", indent, "NEWLINE", newline, "SPACE", space)
                    assert reply == form.format(newline=newline, space=space, indent=indent).encode()


def test_get_options_and_noescape(c):
    run(c, [
        (("JSON.SET", "doc", "$", '{"a":[1,{}]}'), b"OK"),
        (("JSON.GET", "doc", "noescape", "$.a"), b"[[1,{}]]"),
        (("JSON.GET", "doc", "INDENT", "-", "$.a"), b"[-[--1,--{}-]]"),
        (("JSON.GET", "doc", "INDENT"), Err("ERR wrong number of arguments for 'json.get' command")),
    ])


def test_mget(c):
    for d in range(5):
        c.call("JSON.SET", f"doc:{d}", ".", json.dumps(BASIC))
    raw = c.call("JSON.MGET", *[f"doc:{d}" for d in range(5)], ".")
    assert [loads(item) for item in raw] == [BASIC] * 5
    c.call("JSON.SET", "test", ".", '{"bool":false}')
    assert c.call("JSON.MGET", "test", "doc:0", "foo", ".bool") == [b"false", b"true", None]
    assert c.call("JSON.MGET", "doc:0", "doc:1", "42isnotapath") == [None, None]
    c.call("JSON.SET", "test", ".", '{"bull":4.2}')
    assert c.call("JSON.MGET", "doc:0", "test", "doc:1", ".bool") == [b"true", None, b"true"]
    c.call("SET", "str", "x")
    assert c.call("JSON.MGET", "str", "doc:0", "$.bool") == [None, b"[true]"]


def test_toggle_legacy(c):
    run(c, [
        (("JSON.SET", "test", ".", '{"foo":true}'), b"OK"),
        (("JSON.TOGGLE", "test", ".foo"), b"false"),
        (("JSON.TOGGLE", "test", ".foo"), b"true"),
        (("JSON.SET", "test", ".", '{"foo":"bar"}'), b"OK"),
        (("JSON.TOGGLE", "test", ".bar"), Err("ERR Path '$.bar' does not exist or not a bool")),
        (("JSON.TOGGLE", "test", ".foo"), Err("ERR Path '$.foo' does not exist or not a bool")),
    ])


def test_del(c):
    run(c, [
        (("JSON.SET", "test", ".", "{}"), b"OK"),
        (("JSON.DEL", "test", "."), 1),
        (("EXISTS", "test"), 0),
        (("JSON.SET", "test", ".", '{"foo": "bar", "baz": "qux"}'), b"OK"),
        (("JSON.DEL", "test", ".baz"), 1),
        (("JSON.OBJLEN", "test", "."), 1),
        (("JSON.TYPE", "test", ".baz"), None),
        (("JSON.DEL", "test", ".foo"), 1),
        (("JSON.OBJLEN", "test", "."), 0),
        (("JSON.TYPE", "test", "."), b"object"),
        (("JSON.SET", "test", ".foo", '"bar"'), b"OK"),
        (("JSON.SET", "test", ".baz", '"qux"'), b"OK"),
        (("JSON.SET", "test", ".arr", "[1.2,1,2]"), b"OK"),
        (("JSON.DEL", "test", ".arr[1]"), 1),
        (("JSON.OBJLEN", "test", "."), 3),
        (("JSON.ARRLEN", "test", ".arr"), 2),
        (("JSON.TYPE", "test", ".arr"), b"array"),
        (("JSON.DEL", "test", ".arr"), 1),
        (("JSON.OBJLEN", "test", "."), 2),
        (("JSON.DEL", "test", "."), 1),
        (("JSON.GET", "test"), None),
        (("JSON.SET", "test", ".", '{"foo": "bar"}'), b"OK"),
        (("JSON.DEL", "test"), 1),
        (("JSON.GET", "test", "."), None),
        (("JSON.DEL", "test", "$.x"), 0),
        (("JSON.FORGET", "nokey"), 0),
    ])


def test_del_removes_nested_matches_once_and_highest_indexes_first(c):
    run(c, [
        (("JSON.SET", "doc", "$", '{"a":[1,[2,3],4],"b":{"a":[5]}}'), b"OK"),
        (("JSON.DEL", "doc", "$..a"), 2),
        (("JSON.GET", "doc"), b'{"b":{}}'),
        (("JSON.SET", "doc", "$", "[0,1,2,3,4]"), b"OK"),
        (("JSON.DEL", "doc", "$[0,2,4]"), 3),
        (("JSON.GET", "doc"), b"[1,3]"),
        (("JSON.SET", "doc", "$", '{"a":{"b":{"c":1}}}'), b"OK"),
        (("JSON.DEL", "doc", "$..*"), 1),
        (("JSON.GET", "doc"), b"{}"),
    ])


def test_object_crud(c):
    run(c, [
        (("JSON.SET", "test", ".", "{ }"), b"OK"),
        (("JSON.TYPE", "test", "."), b"object"),
        (("JSON.OBJLEN", "test", "."), 0),
        (("JSON.GET", "test", ".foo"), Err("ERR Path '$.foo' does not exist")),
        (("JSON.SET", "test", ".foo", '"bar"'), b"OK"),
        (("JSON.SET", "test", ".foo", '"baz"'), b"OK"),
        (("JSON.SET", "test", ".boo", '"far"'), b"OK"),
        (("JSON.OBJLEN", "test", "."), 2),
        (("JSON.GET", "test", "."), b'{"foo":"baz","boo":"far"}'),
        (("JSON.DEL", "test", ".foo"), 1),
        (("JSON.GET", "test", "."), b'{"boo":"far"}'),
    ])


def test_clear(c):
    content = (r'{"n":42,"s":"42","arr":[{"n":44},"s",{"n":{"a":1,"b":2}},{"n2":{"x":3.02,'
               r'"n":["to","be","cleared",4],"y":4.91}},null]}')
    run(c, [
        (("JSON.SET", "test", ".", content), b"OK"),
        (("JSON.GET", "test", "$..n"), b'[42,44,{"a":1,"b":2},["to","be","cleared",4]]'),
        (("JSON.GET", "test", ".arr[2].n"), b'{"a":1,"b":2}'),
        (("JSON.CLEAR", "test", "$.arr[2].n"), 1),
        (("JSON.CLEAR", "test", "$.arr[3].n2.n"), 1),
        (("JSON.CLEAR", "test", "$.arr[4]"), 0),
        (("JSON.GET", "test", "$.arr[2].n"), b"[{}]"),
        (("JSON.GET", "test", ".arr[3].n2.n"), b"[]"),
        (("JSON.GET", "test", "$..n"), b"[42,44,{},[]]"),
        (("JSON.SET", "test", ".", content.replace(",null]", "]")), b"OK"),
        (("JSON.CLEAR", "test", "$.arr.*"), 3),
        (("JSON.GET", "test", "$"), b'[{"n":42,"s":"42","arr":[{},"s",{},{}]}]'),
        (("JSON.SET", "test", ".", content.replace(",null]", "]")), b"OK"),
        (("JSON.CLEAR", "test", "$", "$.arr[2].n"), 1),
        (("JSON.GET", "test", "$"), b"[{}]"),
        (("JSON.SET", "test", "$", '{"a":1,"b":2}'), b"OK"),
        (("JSON.CLEAR", "test"), 1),
        (("JSON.GET", "test", "$"), b"[{}]"),
        (("JSON.SET", "test", ".", '{"a":[1,2], "b":{"c":"d"}}'), b"OK"),
        (("JSON.CLEAR", "test", "$.c"), 0),
        (("JSON.CLEAR", "test", "$.b..a"), 0),
        (("JSON.GET", "test", "$"), b'[{"a":[1,2],"b":{"c":"d"}}]'),
        (("JSON.CLEAR", "not_test_key", "$"), Err("ERR could not perform this operation on a key that doesn't exist")),
    ])


def test_clear_scalars(c):
    run(c, [
        (("JSON.SET", "test", "$", json.dumps(BASIC)), b"OK"),
        (("JSON.CLEAR", "test", "$.int"), 1),
        (("JSON.GET", "test", "$.int"), b"[0]"),
        (("JSON.CLEAR", "test", "$.num"), 1),
        (("JSON.GET", "test", "$.num"), b"[0]"),
        (("JSON.CLEAR", "test", "$..a"), 1),
        (("JSON.GET", "test", "$..a"), b"[0]"),
        (("JSON.SET", "test", "$", json.dumps(SCALARS)), b"OK"),
        (("JSON.CLEAR", "test", "$.*"), 2),
        (("JSON.GET", "test", "$.*"), b'["string value",null,true,0,0]'),
        (("JSON.CLEAR", "test", "$.*"), 0),
        (("JSON.CLEAR", "test", "$.NoneType"), 0),
    ])


def test_array_crud(c):
    run(c, [
        (("JSON.SET", "test", ".", "[]"), b"OK"),
        (("JSON.TYPE", "test", "."), b"array"),
        (("JSON.ARRLEN", "test", "."), 0),
        (("JSON.SET", "test", "[0]", "0"), Err("ERR array index out of range")),
        (("JSON.SET", "test", "[19]", "0"), Err("ERR array index out of range")),
        (("JSON.SET", "test", "[-1]", "0"), Err("ERR array index out of range")),
        (("JSON.ARRAPPEND", "test", ".", "1"), 1),
        (("JSON.ARRINSERT", "test", ".", "0", "-1"), 2),
        (("JSON.GET", "test", "."), b"[-1,1]"),
        (("JSON.ARRINSERT", "test", ".", "-1", "0"), 3),
        (("JSON.ARRINSERT", "test", ".", "-3", "-3", "-2"), 5),
        (("JSON.ARRAPPEND", "test", ".", "2", "3"), 7),
        (("JSON.GET", "test", "."), b"[-3,-2,-1,0,1,2,3]"),
        (("JSON.SET", "test", "[0]", '"-inf"'), b"OK"),
        (("JSON.SET", "test", "[-1]", '"+inf"'), b"OK"),
        (("JSON.SET", "test", "[3]", "null"), b"OK"),
        (("JSON.GET", "test", "."), b'["-inf",-2,-1,null,1,2,"+inf"]'),
        (("JSON.DEL", "test", "[1]"), 1),
        (("JSON.DEL", "test", "[-2]"), 1),
        (("JSON.GET", "test", "."), b'["-inf",-1,null,1,"+inf"]'),
        (("JSON.ARRTRIM", "test", ".", "1", "-1"), 4),
        (("JSON.GET", "test", "."), b'[-1,null,1,"+inf"]'),
        (("JSON.ARRTRIM", "test", ".", "0", "-2"), 3),
        (("JSON.ARRTRIM", "test", ".", "1", "1"), 1),
        (("JSON.GET", "test", "."), b"[null]"),
        (("JSON.SET", "test", ".", "[true]"), b"OK"),
        (("JSON.GET", "test", "[0]"), b"true"),
    ])


def test_arrindex(c):
    run(c, [
        (("JSON.SET", "test", ".", '{ "arr": [0, 1, 2, 3, 2, 1, 0] }'), b"OK"),
        (("JSON.ARRINDEX", "test", ".arr", "0"), 0),
        (("JSON.ARRINDEX", "test", ".arr", "3"), 3),
        (("JSON.ARRINDEX", "test", ".arr", "4"), -1),
        (("JSON.ARRINDEX", "test", ".arr", "0", "1"), 6),
        (("JSON.ARRINDEX", "test", ".arr", "0", "-1"), 6),
        (("JSON.ARRINDEX", "test", ".arr", "0", "6"), 6),
        (("JSON.ARRINDEX", "test", ".arr", "0", "4", "0"), 6),
        (("JSON.ARRINDEX", "test", ".arr", "0", "5", "-1"), -1),
        (("JSON.ARRINDEX", "test", ".arr", "0", "5", "0"), 6),
        (("JSON.ARRINDEX", "test", ".arr", "2", "-2", "6"), -1),
        (("JSON.ARRINDEX", "test", ".arr", '"foo"'), -1),
        (("JSON.ARRINSERT", "test", ".arr", "4", "[4]"), 8),
        (("JSON.ARRINDEX", "test", ".arr", "3"), 3),
        (("JSON.ARRINDEX", "test", ".arr", "2", "3"), 5),
        (("JSON.ARRINDEX", "test", ".arr", "[4]"), 4),
        (("JSON.ARRINDEX", "test", "$.arr", "1"), [1]),
        (("JSON.ARRINDEX", "test", "$.arr", "2", "1", "4"), [2]),
        (("JSON.ARRINDEX", "test", "$.arr", "6"), [-1]),
        (("JSON.ARRINDEX", "test", "$.arr", "3", "0", "2"), [-1]),
        (("JSON.ARRINDEX", "test", ".arr", "1.0"), -1),            # integers and numbers differ here
        (("JSON.ARRINDEX", "test", ".arr", "0", "x"), Err("Couldn't parse as integer")),
        (("JSON.ARRINDEX", "test", ".arr", "0", "1", "2", "3"),
         Err("ERR wrong number of arguments for 'json.arrindex' command")),
        (("JSON.ARRINDEX", "test", ".nope", "0"), Err("ERR Path '$.nope' does not exist")),
        (("JSON.ARRINDEX", "nokey", ".arr", "0"), Err("ERR Path '.arr' does not exist")),
        (("JSON.SET", "mix", ".", '{ "arr": [0, 1, 2, 3, 2, 1, 0, {"val": 4}, {"val": 9}, [3,4,8], ["a", "b", 8]] }'),
         b"OK"),
        (("JSON.ARRINDEX", "mix", ".arr", "0", "-5"), 6),
        (("JSON.ARRINDEX", "mix", ".arr", "0", "5", "-1"), 6),
        (("JSON.ARRINSERT", "mix", ".arr", "4", "[4]"), 12),
        (("JSON.ARRINDEX", "mix", ".arr", '{"val":4}'), 8),
        (("JSON.ARRINDEX", "mix", ".arr", '["a", "b", 8]'), 11),
        (("JSON.ARRINDEX", "mix", ".", "0"), Err("WRONGTYPE wrong type of path value - expected array but found object")),
    ])


def test_arrinsert(c):
    for initial, path in [('{ "arr": [] }', ".arr"), ("[]", ".")]:
        run(c, [
            (("JSON.SET", "test", ".", initial), b"OK"),
            (("JSON.ARRINSERT", "test", path, "0", "1"), 1),
            (("JSON.ARRINSERT", "test", path, "-1", "2"), 2),
            (("JSON.ARRINSERT", "test", path, "-2", "3"), 3),
            (("JSON.ARRINSERT", "test", path, "3", "4"), 4),
            (("JSON.GET", "test", path), b"[3,2,1,4]"),
            (("JSON.ARRINSERT", "test", path, "1", "5"), 5),
            (("JSON.ARRINSERT", "test", path, "-2", "6"), 6),
            (("JSON.GET", "test", path), b"[3,5,2,6,1,4]"),
            (("JSON.ARRINSERT", "test", path, "-3", "7", '{"A":"Z"}', "9"), 9),
            (("JSON.GET", "test", path), b'[3,5,2,7,{"A":"Z"},9,6,1,4]'),
            (("JSON.ARRINSERT", "test", path, "-10", "10"), Err("ERR index out of bounds")),
            (("JSON.GET", "test", path), b'[3,5,2,7,{"A":"Z"},9,6,1,4]'),
            (("JSON.ARRINSERT", "test", path, "10", "10"), Err("ERR index out of bounds")),
            (("JSON.GET", "test", path), b'[3,5,2,7,{"A":"Z"},9,6,1,4]'),
        ])
    run(c, [
        (("JSON.SET", "test", ".", '{"arr":[1,2]}'), b"OK"),
        (("JSON.ARRINSERT", "test", ".arr", "0", b"\x80abc"), Err("Couldn't parse as UTF-8 string", partial=True)),
        (("JSON.ARRAPPEND", "test", ".arr", b"\x80abc"), Err("Couldn't parse as UTF-8 string", partial=True)),
        (("JSON.ARRINSERT", "test", ".arr", "x", "1"), Err("Couldn't parse as integer")),
        (("JSON.ARRINSERT", "test", ".nope", "0", "1"), Err("ERR Path '$.nope' does not exist or not an array")),
        (("JSON.ARRAPPEND", "test", ".nope", "1"), Err("ERR Path '.nope' does not exist or not an array")),
        (("JSON.ARRAPPEND", "test", ".arr"), Err("ERR wrong number of arguments for 'json.arrappend' command")),
    ])


def test_arrtrim(c):
    arr = '{ "arr": [0, 1, 2, 3, 2, 1, 0] }'
    run(c, [
        (("JSON.SET", "test", ".", arr), b"OK"),
        (("JSON.ARRTRIM", "test", ".arr", "1", "-2"), 5),
        (("JSON.GET", "test", ".arr"), b"[1,2,3,2,1]"),
        (("JSON.ARRTRIM", "test", ".arr", "0", "99"), 5),
        (("JSON.ARRTRIM", "test", ".arr", "0", "2"), 3),
        (("JSON.GET", "test", ".arr"), b"[1,2,3]"),
        (("JSON.ARRTRIM", "test", ".arr", "99", "2"), 0),
        (("JSON.GET", "test", ".arr"), b"[]"),
        (("JSON.ARRTRIM", "test", ".arr", "-1", "0"), 0),
        (("JSON.SET", "test", ".", arr), b"OK"),
        (("JSON.ARRTRIM", "test", ".arr", "-1", "0"), 0),
        (("JSON.SET", "test", ".", arr), b"OK"),
        (("JSON.ARRTRIM", "test", ".arr", "-4", "1"), 0),
        (("JSON.SET", "test", ".", "1"), b"OK"),
        (("JSON.ARRTRIM", "test", ".", "0", "1"), Err("ERR Path '$' does not exist or not an array")),
    ])


def test_arrpop(c):
    run(c, [
        (("JSON.SET", "test", ".", "[1,2,3,4,5,6,7,8,9]"), b"OK"),
        (("JSON.ARRPOP", "test"), b"9"),
        (("JSON.ARRPOP", "test", "."), b"8"),
        (("JSON.ARRPOP", "test", ".", "-1"), b"7"),
        (("JSON.ARRPOP", "test", ".", "-2"), b"5"),
        (("JSON.ARRPOP", "test", ".", "0"), b"1"),
        (("JSON.ARRPOP", "test", ".", "2"), b"4"),
        (("JSON.ARRPOP", "test", ".", "99"), b"6"),
        (("JSON.ARRPOP", "test", ".", "-99"), b"2"),
        (("JSON.ARRPOP", "test"), b"3"),
        (("JSON.ARRPOP", "test"), None),
        (("JSON.ARRPOP", "test", "."), None),
        (("JSON.ARRPOP", "test", ".", "2"), None),
        (("JSON.SET", "test", ".", "1"), b"OK"),
        (("JSON.ARRPOP", "test"), Err("ERR Path '$' does not exist or not an array")),
        (("JSON.SET", "test", "$", '{"a":[1.5,{"b":[2.0]}],"c":[]}'), b"OK"),
        (("JSON.ARRPOP", "test", "$..*"), [b'{"b":[2.0]}', None, None, None, None, None]),
        (("JSON.ARRPOP", "nokey"), Err("ERR could not perform this operation on a key that doesn't exist")),
    ])


def test_len_commands_and_type_errors(c):
    run(c, [
        (("JSON.ARRLEN", "foo", ".bar"), None),
        (("JSON.ARRLEN", "foo", "$.bar"), Err("ERR could not perform this operation on a key that doesn't exist")),
        (("JSON.SET", "test", ".", json.dumps(BASIC)), b"OK"),
        (("JSON.STRLEN", "test", ".string"), 12),
        (("JSON.OBJLEN", "test", ".dict"), 3),
        (("JSON.ARRLEN", "test", ".arr"), 6),
        (("JSON.ARRLEN", "test", ".bool"), Err("ERR Path '.bool' does not exist or not an array")),
        (("JSON.STRLEN", "test", ".none"), Err("WRONGTYPE wrong type of path value - expected string but found null")),
        (("JSON.OBJLEN", "test", ".int"),
         Err("WRONGTYPE wrong type of path value - expected object but found integer")),
        (("JSON.STRLEN", "test", ".num"), Err("WRONGTYPE wrong type of path value - expected string but found number")),
        (("JSON.ARRLEN", "test", ".foo"), Err("ERR Path '.foo' does not exist")),
        (("JSON.ARRLEN", "test", ".arr[999]"), Err("ERR Path '.arr[999]' does not exist")),
        (("JSON.ARRLEN", "test", ".arr[4294967295]"), Err("does not exist", partial=True)),
        (("JSON.STRLEN", "test", ".nope"), Err("ERR Path '$.nope' does not exist")),
        (("JSON.OBJLEN", "test", ".nope"), None),
        (("JSON.OBJLEN", "nokey", ".dict"), None),
        (("JSON.OBJLEN", "nokey", "$.dict"), Err("ERR Path '$.dict' does not exist or not an object")),
        (("JSON.STRLEN", "nokey"), None),
        (("JSON.STRLEN", "nokey", "$"), Err("ERR could not perform this operation on a key that doesn't exist")),
        (("JSON.SET", "u", "$", '"Olá"'), b"OK"),
        (("JSON.STRLEN", "u"), 4),                             # lengths are in bytes
        (("JSON.STRAPPEND", "u", '"á"'), 6),
    ])


def test_objkeys(c):
    c.call("JSON.SET", "test", ".", json.dumps(TYPES))
    assert c.call("JSON.OBJKEYS", "test", ".") == [key.encode() for key in TYPES]
    assert c.call("JSON.OBJKEYS", "test") == [key.encode() for key in TYPES]
    assert Err("ERR Path '$.null' does not exist or not an object").matches(c.call("JSON.OBJKEYS", "test", ".null"))
    assert c.call("JSON.OBJKEYS", "test", ".nope") is None
    assert c.call("JSON.OBJKEYS", "nokey") is None
    assert c.call("JSON.OBJKEYS", "test", "$.object") == [[]]


@pytest.mark.parametrize("name, value", list(TYPES.items()))
def test_type(c, name, value):
    c.call("JSON.SET", "test", ".", json.dumps(value))
    assert c.call("JSON.TYPE", "test", ".") == name.encode()
    assert c.call("JSON.TYPE", "test", "$") == [name.encode()]


def test_numincrby_legacy(c):
    run(c, [
        (("JSON.SET", "test", ".", '{ "foo": 0, "bar": "baz" }'), b"OK"),
        (("JSON.NUMINCRBY", "test", ".foo", "1"), b"1"),
        (("JSON.GET", "test", ".foo"), b"1"),
        (("JSON.NUMINCRBY", "test", ".foo", "2"), b"3"),
        (("JSON.NUMINCRBY", "test", ".foo", "0.5"), b"3.5"),
        (("JSON.NUMINCRBY", "test", ".bar", "1"), Err("ERR Path '$.bar' does not exist or does not contains a number")),
        (("JSON.NUMINCRBY", "test", ".fuzz", "1"), Err("ERR Path '$.fuzz' does not exist or does not contains a number")),
        (("JSON.SET", "num", ".", "0"), b"OK"),
        (("JSON.NUMINCRBY", "num", ".", "1"), b"1"),
        (("JSON.NUMINCRBY", "num", ".", "1.5"), b"2.5"),
        (("JSON.SET", "foo", ".", '{"foo":0,"bar":42}'), b"OK"),
        (("JSON.NUMINCRBY", "foo", "foo", "1"), b"1"),
        (("JSON.NUMMULTBY", "foo", "bar", "2"), b"84"),
        (("JSON.GET", "foo", "."), b'{"foo":1,"bar":84}'),
        (("JSON.NUMINCRBY", "nokey", ".", "1"), Err("ERR could not perform this operation on a key that doesn't exist")),
    ])


def test_numpowby_wraps_integers_and_refuses_what_f64_cannot_hold(c):
    """JSON.NUMPOWBY (deprecated in RedisJSON, still served): i64 ** i64 wraps, the exponent cast to
    u32 (fakeredis's suite pins these from RedisJSON); a float on either side makes an f64."""
    run(c, [
        (("JSON.SET", "doc", "$", '{"a":"b","b":[{"a":2},{"a":5.0},{"a":"c"}]}'), b"OK"),
        (("JSON.NUMPOWBY", "doc", "$..a", "3"), b"[null,8,125.0,null]"),
        (("JSON.NUMPOWBY", "doc", ".b[0].a", "2"), b"64"),
        (("JSON.SET", "n", "$", '{"a":2,"b":3,"c":9223372036854775807,"d":0,"e":-3,"f":2.5,"g":-8.0,"z":0}'), b"OK"),
        (("JSON.NUMPOWBY", "n", "$.a", "63"), b"[-9223372036854775808]"),
        (("JSON.NUMPOWBY", "n", "$.b", "40"), b"[-6289078614652622815]"),
        (("JSON.NUMPOWBY", "n", "$.c", "2"), b"[1]"),
        (("JSON.NUMPOWBY", "n", "$.d", "0"), b"[1]"),
        (("JSON.NUMPOWBY", "n", "$.e", "3"), b"[-27]"),
        (("JSON.SET", "n", "$.a", "2"), b"OK"),
        (("JSON.NUMPOWBY", "n", "$.a", "4294967297"), b"[2]"),
        (("JSON.NUMPOWBY", "n", "$.a", "-1"), b"[0]"),
        (("JSON.NUMPOWBY", "n", "$.b", "-0"), b"[1.0]"),
        (("JSON.NUMPOWBY", "n", "$.f", "-10000"), b"[0.0]"),
        (("JSON.NUMPOWBY", "n", "$.g", "0.5"), Err("result is not a number")),
        (("JSON.NUMPOWBY", "n", "$.z", "-0.5"), Err("result is not a number")),
        (("JSON.NUMPOWBY", "n", "$.e", "1000.0"), Err("result is not a number")),
        (("JSON.NUMPOWBY", "n", "$.b", "true"), Err("bad input number")),
        (("JSON.GET", "n", "$.g"), b"[-8.0]"),
    ])


def test_number_overflow_fails_and_keeps_the_value(c):
    big = "1.6350000000001313e+308"
    run(c, [
        (("JSON.SET", "big_num", ".", big), b"OK"),
        (("JSON.NUMINCRBY", "big_num", ".", big), Err("result is not a number")),
        (("JSON.NUMMULTBY", "big_num", ".", "2"), Err("result is not a number")),
        (("JSON.GET", "big_num", "."), b"1.6350000000001313e308"),
        (("JSON.SET", "nested", "$", '{"l1":{"l2_a":' + big + ',"l2_b":2}}'), b"OK"),
        (("JSON.NUMINCRBY", "nested", "$.l1.l2_a", big), Err("result is not a number")),
        (("JSON.GET", "nested", "$"), b'[{"l1":{"l2_a":1.6350000000001313e308,"l2_b":2}}]'),
        (("JSON.SET", "i", "$", "9223372036854775807"), b"OK"),
        (("JSON.NUMINCRBY", "i", "$", "1"), b"[-9223372036854775808]"),   # i64 arithmetic wraps (PR #1192)
        (("JSON.NUMINCRBY", "i", "$", "inf"), Err("expected value at line 1 column 1")),
        (("JSON.NUMINCRBY", "i", "$", '"1"'), Err("bad input number")),
    ])


def test_str_commands(c):
    run(c, [
        (("JSON.SET", "test", ".", '"foo"'), b"OK"),
        (("JSON.TYPE", "test", "."), b"string"),
        (("JSON.STRLEN", "test", "."), 3),
        (("JSON.STRAPPEND", "test", ".", '"bar"'), 6),
        (("JSON.GET", "test", "."), b'"foobar"'),
        (("JSON.STRAPPEND", "test", '"baz"'), 9),
        (("JSON.STRAPPEND", "test", ".", "bar"), Err("expected value at line 1 column 1")),
        (("JSON.STRAPPEND", "test", ".", "1"), Err("WRONGTYPE wrong type of path value - expected string but found 1")),
        (("JSON.SET", "test", ".", '{"a":1}'), b"OK"),
        (("JSON.STRAPPEND", "test", ".a", '"x"'), Err("ERR Path '$.a' does not exist or not a string")),
        (("JSON.STRAPPEND", "test", "$.a", '"x"'), [None]),
    ])


def test_resp_of_scalars(c):
    for text, expected in [("null", None), ("true", b"true"), ("42", 42), ("2.5", b"2.5"), ('"foo"', b"foo"),
                           ('{"foo":"bar"}', [b"{", b"foo", b"bar"]), ("[1,2]", [b"[", 1, 2])]:
        c.call("JSON.SET", "test", ".", text)
        assert c.call("JSON.RESP", "test") == expected
    assert c.call("JSON.RESP", "test", "$[*]") == [1, 2]
    assert c.call("JSON.RESP", "nokey") is None


# -- RESP3 (tests/pytest/test_resp3.py) ---------------------------------------------


def test_resp3_replies(c):
    c.call("HELLO", "3")
    run(c, [
        (("JSON.SET", "t", "$", '{"a1":{"b":{"c":true,"d":null}},"a2":{"b":{"c":2}}}'), b"OK"),
        (("JSON.GET", "t", "$"), b'[{"a1":{"b":{"c":true,"d":null}},"a2":{"b":{"c":2}}}]'),
        (("JSON.GET", "t", "$..b"), b'[{"c":true,"d":null},{"c":2}]'),
        (("JSON.GET", "t", "$.a3"), b"[]"),
        (("JSON.DEL", "t", "$..b"), 2),
        (("JSON.SET", "n", "$", '{"a1":{"b":{"c":1}},"a2":{"b":{"c":2.2}},"a3":{"b":{"c":"val"}}}'), b"OK"),
        (("JSON.NUMINCRBY", "n", "$.a1.b.c", "1"), [2]),
        (("JSON.NUMINCRBY", "n", "$..c", "2"), [4, 4.2, None]),
        (("JSON.NUMMULTBY", "n", "$.a2.b.c", "2.3"), [9.66]),
        (("JSON.NUMMULTBY", "n", "$..c", "2"), [8, 19.32, None]),
        (("JSON.NUMINCRBY", "n", ".a1.b.c", "1"), [9]),            # legacy paths answer arrays too
        (("JSON.NUMINCRBY", "nokey", "$.a1.b", "1"), Err("ERR could not perform this operation on a key that doesn't exist")),
        (("JSON.SET", "y", "$", '{"a1":{"b":{"c":1}},"a2":{"b":{"c":true}}, "a4":[1.2,2,3.32], "c":null}'), b"OK"),
        (("JSON.TYPE", "y", "$.a1.b.c"), [[b"integer"]]),
        (("JSON.TYPE", "y", "$..b"), [[b"object", b"object"]]),
        (("JSON.TYPE", "y", "$"), [[b"object"]]),
        (("JSON.TYPE", "y", "$.a3"), [[]]),
        (("JSON.TYPE", "y", "$.a4[*]"), [[b"number", b"integer", b"number"]]),
        (("JSON.TYPE", "y", "$..c"), [[b"null", b"integer", b"boolean"]]),
        (("JSON.TYPE", "y", ".a4"), [b"array"]),
        (("JSON.TYPE", "nokey", "$.a1.b.c"), [None]),
        (("JSON.RESP", "y", "$.a4"), [[b"[", 1.2, 2, 3.32]]),
    ])
    c.call("SET", "test_not_JSON", "x")
    for argv in [("JSON.GET", "test_not_JSON", "$.a3"), ("JSON.DEL", "test_not_JSON", "$.a1.b"),
                 ("JSON.NUMMULTBY", "test_not_JSON", "$.a1.b", "1"), ("JSON.TYPE", "test_not_JSON", "$.a1.b.c"),
                 ("JSON.MERGE", "test_not_JSON", "$", '{"a3":4}'), ("JSON.MSET", "test_not_JSON", "$.a1.b", "1")]:
        assert Err("Existing key has wrong Redis type").matches(c.call(*argv)), argv


# -- errors, parsing, numbers ---------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ("inf", "expected value at line 1 column 1"),        # quoted in RedisJSON PR #883
        ("-inf", "invalid number at line 1 column 2"),
        ("{", "EOF while parsing an object at line 1 column 1"),   # serde_json's own test of this text
        ("", "EOF while parsing a value at line 1 column 0"),
        ("[1,2", "EOF while parsing a list at line 1 column 4"),
        ("[1,]", "trailing comma at line 1 column 4"),
        ('{"a":1,}', "trailing comma at line 1 column 8"),
        ('{"a" 1}', "expected `:` at line 1 column 6"),
        ("[1 2]", "expected `,` or `]` at line 1 column 4"),
        ('{"a":1 "b":2}', "expected `,` or `}` at line 1 column 8"),
        ("{1:2}", "key must be a string at line 1 column 2"),
        ("1 2", "trailing characters at line 1 column 3"),
        ('"abc', "EOF while parsing a string at line 1 column 4"),
        ("NaN", "expected value at line 1 column 1"),
        ("1e400", "number out of range at line 1 column 5"),  # serde_json: once the number is read
        ("[1, -2e999]", "number out of range at line 1 column 10"),
        ("[" * 128 + "]" * 128, "recursion limit exceeded at line 1 column 128"),
    ],
)
def test_json_parse_errors_use_serde_json_messages(c, text, message):
    reply = c.call("JSON.SET", "k", "$", text)
    assert Err(message).matches(reply)
    assert c.call("EXISTS", "k") == 0


def test_nesting_up_to_the_limit_is_accepted(c):
    text = "[" * 127 + "]" * 127
    assert c.call("JSON.SET", "k", "$", text) == b"OK"
    assert c.call("JSON.GET", "k") == text.encode()


@pytest.mark.parametrize(
    "text, shown",
    [
        ("1", "1"), ("-0", "-0.0"), ("1.0", "1.0"), ("1e2", "100.0"), ("0.1", "0.1"), ("99.98", "99.98"),
        ("1.6350000000001313e+308", "1.6350000000001313e308"), ("1e-7", "1e-7"), ("0.0001", "0.0001"),
        ("1512060373.222988", "1512060373.222988"), ("18446744073709551615", "18446744073709551615"),
        ("18446744073709551616", "1.8446744073709552e19"), ("-9223372036854775808", "-9223372036854775808"),
        ("1e16", "1e16"), ("123456789012345678", "123456789012345678"), ('"é\\u00e9\\n"', '"éé\\n"'),
        ('"\\u0001"', '"\\u0001"'), ('"\\ud83d\\ude00"', '"\U0001f600"'),
    ],
)
def test_numbers_and_strings_are_serialised_as_serde_json_does(c, text, shown):
    assert c.call("JSON.SET", "k", "$", text) == b"OK"
    assert c.call("JSON.GET", "k") == shown.encode()


def test_a_lone_surrogate_is_rejected(c):
    assert Err("lone leading surrogate", partial=True).matches(c.call("JSON.SET", "k", "$", '"\\ud800"'))


@pytest.mark.parametrize(
    "value, text",
    [(1.0, "1.0"), (0.5, "0.5"), (-2.25, "-2.25"), (1e21, "1e21"), (1.5e-9, "1.5e-9"), (123456.789, "123456.789"),
     (1e15, "1000000000000000.0"), (0.00001, "0.00001"), (1e-7, "1e-7"), (0.0, "0.0"), (12345678901234567890.0, "1.2345678901234567e19")],
)
def test_format_float_follows_ryu(value, text):
    assert format_float(value) == text


@pytest.mark.parametrize(
    "text, size",
    # RedisJSON's ijson_parser memory tests (ivalue_manager.rs)
    [("null", 8), ("1", 8), ("1.0", 24), ("-1.0", 24), ("-1", 8), ('"string"', 14), ("[]", 8), ("{}", 8),
     ('"Olá"', 12), ("[1]", 64), ("[1, 2]", 72), ("[1, 2, 3]", 80), ('[1, "string", {}]', 86),
     ('{"a": 100.12, "b": "foo", "c": true, "d": 126, "e": -112, "f": 7388608, "g": -6388608, "h": 9388608, '
      '"i": -9485608, "j": [], "k": {}, "l": [1, "asas", {"a": 1}], "m": {"t": "f"}}', 903)],
)
def test_debug_memory_uses_redisjson_sizes(c, text, size):
    assert memory_usage(json.loads(text)) == size
    c.call("JSON.SET", "k", "$", text)
    assert c.call("JSON.DEBUG", "MEMORY", "k") == size
    assert c.call("JSON.DEBUG", "MEMORY", "k", "$") == [size]


def test_debug_subcommands(c):
    run(c, [
        (("JSON.DEBUG", "HELP"), [b"MEMORY <key> [path] - reports memory usage", b"HELP                - this message"]),
        (("JSON.DEBUG", "NOPE"), Err("ERR unknown subcommand - try `JSON.DEBUG HELP`")),
        (("JSON.DEBUG", "MEMORY"), Err("ERR wrong number of arguments for 'json.debug' command")),
        (("JSON.DEBUG", "MEMORY", "nokey"), 0),
        (("JSON.DEBUG", "MEMORY", "nokey", "$"), []),
    ])


def test_wrong_type_and_arity_errors(c):
    c.call("SET", "s", "v")
    for argv in [("JSON.GET", "s"), ("JSON.SET", "s", "$", "1"), ("JSON.TYPE", "s"), ("JSON.ARRAPPEND", "s", "$", "1"),
                 ("JSON.STRLEN", "s"), ("JSON.OBJKEYS", "s"), ("JSON.DEBUG", "MEMORY", "s"), ("JSON.CLEAR", "s"),
                 ("JSON.DEL", "s"), ("JSON.TOGGLE", "s", "$"), ("JSON.ARRINDEX", "s", "$", "1")]:
        assert Err("Existing key has wrong Redis type").matches(c.call(*argv)), argv
    for argv in [("JSON.GET",), ("JSON.SET", "k", "$"), ("JSON.MGET", "k"), ("JSON.NUMINCRBY", "k", "$"),
                 ("JSON.TOGGLE", "k"), ("JSON.ARRTRIM", "k", "$", "0"), ("JSON.ARRINSERT", "k", "$", "0"),
                 ("JSON.MSET", "k", "$", "1", "k2")]:
        name = argv[0].lower()
        assert Err(f"ERR wrong number of arguments for '{name}' command").matches(c.call(*argv)), argv


def test_paths_with_syntax_errors(c):
    c.call("JSON.SET", "doc", "$", '{"a":1}')
    assert Err("Error occurred on position 4", partial=True).matches(c.call("JSON.GET", "doc", "$.a["))
    assert c.call("JSON.TYPE", "doc", "a[") is None                 # a legacy TYPE answers nil
    assert loads(c.call("JSON.GET", "doc", "$.a", "$.a[")) == {"$.a": [1]}   # bad paths drop out of a multi-get
    assert Err("Error occurred on position", partial=True).matches(c.call("JSON.DEL", "doc", "$["))


# -- the keyspace -----------------------------------------------------------------------


def test_type_encoding_and_ttl(c):
    run(c, [
        (("JSON.SET", "doc", "$", '{"a":[1]}'), b"OK"),
        (("TYPE", "doc"), b"ReJSON-RL"),
        (("OBJECT", "ENCODING", "doc"), b"raw"),
        (("EXPIRE", "doc", "100"), 1),
        (("JSON.SET", "doc", "$.a", "2"), b"OK"),
        (("JSON.SET", "doc", "$", "{}"), b"OK"),
        (("TTL", "doc"), 100),
        (("COPY", "doc", "copy"), 1),
        (("JSON.SET", "copy", "$.b", "1"), b"OK"),
        (("JSON.GET", "doc"), b"{}"),
        (("JSON.GET", "copy"), b'{"b":1}'),
    ])


def test_only_effective_writes_dirty_the_keyspace(c):
    stats = c.node.stats
    c.call("JSON.SET", "doc", "$", '{"a":[1],"s":"x"}')
    before = stats.dirty
    for argv in [("JSON.SET", "doc", "$.a", "1", "NX"), ("JSON.SET", "nokey", "$", "1", "XX"),
                 ("JSON.DEL", "doc", "$.zz"), ("JSON.CLEAR", "doc", "$.s"), ("JSON.ARRPOP", "doc", "$.s"),
                 ("JSON.NUMINCRBY", "doc", "$.s", "1"), ("JSON.GET", "doc")]:
        c.call(*argv)
    assert stats.dirty == before
    c.call("JSON.ARRAPPEND", "doc", "$.a", "2")
    assert stats.dirty == before + 1


def test_values_written_to_several_places_are_independent_copies(c):
    run(c, [
        (("JSON.SET", "doc", "$", '{"a":{},"b":{}}'), b"OK"),
        (("JSON.SET", "doc", "$.*", '{"v":[1]}'), b"OK"),
        (("JSON.ARRAPPEND", "doc", "$.a.v", "2"), [2]),
        (("JSON.GET", "doc", "$.b"), b'[{"v":[1]}]'),
        (("JSON.SET", "two", "$", '{"x":[[],[]]}'), b"OK"),
        (("JSON.ARRAPPEND", "two", "$.x[*]", "[0]"), [1, 1]),
        (("JSON.ARRAPPEND", "two", "$.x[0][0]", "5"), [2]),
        (("JSON.GET", "two", "$.x[1]"), b"[[[0]]]"),
    ])


STORE = (
    '{"inventory":{"headphones":[{"id":12345,"name":"Noise-cancelling Bluetooth headphones","description":"Wireless '
    'Bluetooth headphones with noise-cancelling technology","wireless":true,"connection":"Bluetooth","price":99.98,'
    '"stock":25,"free-shipping":false,"colors":["black","silver"]},{"id":12346,"name":"Wireless earbuds",'
    '"description":"Wireless Bluetooth in-ear headphones","wireless":true,"connection":"Bluetooth","price":64.99,'
    '"stock":17,"free-shipping":false,"colors":["black","white"]},{"id":12347,"name":"Mic headset","description":'
    '"Headset with built-in microphone","wireless":false,"connection":"USB","price":35.01,"stock":28,'
    '"free-shipping":false}],"keyboards":[{"id":22345,"name":"Wireless keyboard","description":"Wireless Bluetooth '
    'keyboard","wireless":true,"connection":"Bluetooth","price":44.99,"stock":23,"free-shipping":false,"colors":'
    '["black","silver"]},{"id":22346,"name":"USB-C keyboard","description":"Wired USB-C keyboard","wireless":false,'
    '"connection":"USB-C","price":29.99,"stock":30,"free-shipping":false}]}}'
)


def test_path_page_update_examples(c):
    # docs/docs/path.md, "Update JSON examples" and the regex_pat setup of the filter examples
    run(c, [
        (("JSON.SET", "store", "$", STORE), b"OK"),
        (("JSON.GET", "store", "$..headphones[0].price"), b"[99.98]"),
        (("JSON.SET", "store", "$..headphones[0].price", "78.99"), b"OK"),
        (("JSON.GET", "store", "$..headphones[0].price"), b"[78.99]"),
        (("JSON.SET", "store", "$.inventory.*[?(@.price>49)].free-shipping", "true"), b"OK"),
        (("JSON.GET", "store", "$.inventory.*[?(@.free-shipping==true)].name"),
         b'["Noise-cancelling Bluetooth headphones","Wireless earbuds"]'),
        (("JSON.GET", "store", "$..headphones[0].colors"), b'[["black","silver"]]'),
        (("JSON.ARRAPPEND", "store", "$..headphones[0].colors", '"pink"'), [3]),
        (("JSON.GET", "store", "$..headphones[0].colors"), b'[["black","silver","pink"]]'),
        (("JSON.SET", "store", "$.inventory.keyboards[0].regex_pat", '"(?i)bluetooth"'), b"OK"),
        (("JSON.SET", "store", "$.inventory.keyboards[1].regex", '"usb"'), b"OK"),
        (("JSON.GET", "store", "$.inventory.keyboards[?(@.connection =~ @.regex_pat)].id"), b"[22345]"),
        (("JSON.GET", "store", '$.inventory.keyboards[?(@.connection =~ "(?i)usb")].id'), b"[22346]"),
    ])
