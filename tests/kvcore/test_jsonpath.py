"""kvcore.jsonpath: legacy rewriting, JSONPath parsing and evaluation order.

Expected values come from RedisJSON's documentation (docs/docs/path.md, the
command pages) and RedisJSON's own tests (tests/pytest/test.py, the json_path
crate's code and tests).
"""

from __future__ import annotations

import pytest

from kvcore.jsonpath import Path, PathError, compile_query, json_equal

STORE = {
    "inventory": {
        "headphones": [
            {"id": 12345, "name": "Noise-cancelling Bluetooth headphones", "wireless": True,
             "connection": "Bluetooth", "price": 99.98, "stock": 25, "free-shipping": False,
             "colors": ["black", "silver"]},
            {"id": 12346, "name": "Wireless earbuds", "wireless": True, "connection": "Bluetooth",
             "price": 64.99, "stock": 17, "free-shipping": False, "colors": ["black", "white"]},
            {"id": 12347, "name": "Mic headset", "wireless": False, "connection": "USB", "price": 35.01,
             "stock": 28, "free-shipping": False},
        ],
        "keyboards": [
            {"id": 22345, "name": "Wireless keyboard", "wireless": True, "connection": "Bluetooth",
             "price": 44.99, "stock": 23, "free-shipping": False, "colors": ["black", "silver"],
             "regex_pat": "(?i)bluetooth"},
            {"id": 22346, "name": "USB-C keyboard", "wireless": False, "connection": "USB-C", "price": 29.99,
             "stock": 30, "free-shipping": False, "regex": "usb"},
        ],
    }
}


@pytest.mark.parametrize(
    "original, text, legacy",
    [
        ("$", "$", False),
        ("$.a", "$.a", False),
        ("$[0]", "$[0]", False),
        (".", "$", True),
        (".a.b", "$.a.b", True),
        ("a", "$.a", True),
        ("[1]", "$.[1]", True),
        ("..a", "$..a", True),
        ("$a", "$.$a", True),
    ],
)
def test_legacy_paths_are_rewritten_as_redisjson_does(original, text, legacy):
    path = Path(original)
    assert (path.text, path.legacy, path.original) == (text, legacy, original)
    assert path.is_root == (text == "$")


@pytest.mark.parametrize(
    "path, expected",
    [
        # docs/docs/path.md, "Access JSON examples" and "JSON Filter examples"
        ("$..headphones[*].name", ["Noise-cancelling Bluetooth headphones", "Wireless earbuds", "Mic headset"]),
        ('$.inventory["headphones"][*].name',
         ["Noise-cancelling Bluetooth headphones", "Wireless earbuds", "Mic headset"]),
        ("$..name", ["Noise-cancelling Bluetooth headphones", "Wireless earbuds", "Mic headset",
                     "Wireless keyboard", "USB-C keyboard"]),
        ("$..headphones[0:2].name", ["Noise-cancelling Bluetooth headphones", "Wireless earbuds"]),
        ("$..headphones[?(@.price<70&&@.wireless==true)].id", [12346]),
        ('$.inventory.*[?(@.connection=="Bluetooth")].name',
         ["Noise-cancelling Bluetooth headphones", "Wireless earbuds", "Wireless keyboard"]),
        ('$.inventory.keyboards[?(@.connection =~ "(?i)usb")].id', [22346]),
        ("$.inventory.keyboards[?(@.connection =~ @.regex_pat)].id", [22345]),
        ("$.inventory.*[?(@.price>49)].id", [12345, 12346]),
        ("$..headphones[0].colors", [["black", "silver"]]),
    ],
)
def test_documented_jsonpath_examples(path, expected):
    assert compile_query(path).values(STORE) == expected


MULTI = {"a": [1, 2, 3], "b": ["c", "d", "e"], "c": "k"}


@pytest.mark.parametrize(
    "doc, path, expected",
    [
        ([1, 2, 3], "$[*]", [1, 2, 3]),                      # test.py testMultiPathResults
        (MULTI, "$.*[0,2]", [1, 3, "c", "e"]),
        ([1, 2, 3], "$[1]", [2]),                            # testGetWithBracketNotation
        ([1, 2, 3], "$.[1]", [2]),
        ({"a": {"x": [{"i": 10}]}, "b": {"x": [{"i": 20, "j": 5}]}}, "$..x[?(@.i>10)]", [{"i": 20, "j": 5}]),
        ({"a": {"x": [{"i": 10}]}, "b": {"x": [{"i": 20, "j": 5}]}}, "$..x[?($.i>10)]", []),
        ({"a": "b", "b": [{"a": 2}, {"a": 5}, {"a": "c"}]}, "$..a", ["b", 2, 5, "c"]),  # pre-order
        ({"n": 42, "s": "42", "arr": [{"n": 44}, "s", {"n": {"a": 1, "b": 2}},
                                      {"n2": {"x": 3.02, "n": ["to", "be", "cleared", 4], "y": 4.91}}, None]},
         "$..n", [42, 44, {"a": 1, "b": 2}, ["to", "be", "cleared", 4]]),   # testClear
        ({"a1": {"b": {"c": 1}}, "a2": {"b": {"c": True}}, "a4": [1.2, 2, 3.32], "c": None},
         "$..c", [None, 1, True]),                           # test_resp3 test_resp_json_type
    ],
)
def test_redisjson_test_suite_results(doc, path, expected):
    assert compile_query(path).values(doc) == expected


ARRAY = [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "path, expected",
    [
        ("$[-1]", [4]),
        ("$[-2,0]", [3, 0]),
        ("$[-10]", [0]),        # negative indexes clamp to the start (calc_abs_index)
        ("$[5]", []),
        ("$[99]", []),
        ("$[1:3]", [1, 2]),
        ("$[:2]", [0, 1]),
        ("$[3:]", [3, 4]),
        ("$[:]", [0, 1, 2, 3, 4]),
        ("$[::2]", [0, 2, 4]),
        ("$[1::2]", [1, 3]),
        ("$[-2:]", [3, 4]),
        ("$[:-3]", [0, 1]),
        ("$[3:1]", []),
        ("$[*]", [0, 1, 2, 3, 4]),
        ("$[?(@>2)]", [3, 4]),
        ("$[?(@>=2 && @<4 || @==0)]", [0, 2, 3]),
        ("$[?(@==1 || (@>2 && @!=4))]", [1, 3]),
        ("$[ 0 , 1 ]", [0, 1]),
        ("$.a", []),
    ],
)
def test_indexes_slices_and_filters_on_an_array(path, expected):
    assert compile_query(path).values(ARRAY) == expected


FILTERED = [
    {"a": 1, "s": "x"}, {"a": 2.5, "s": "yx"}, {"a": "2"}, {"a": True}, {"a": None}, {"a": [1]}, {"b": 1},
]


@pytest.mark.parametrize(
    "path, expected",
    [
        ("$[?(@.a)]", [0, 1, 2, 3, 4, 5]),                  # existence test
        ("$[?(@.a==1)]", [0]),
        ("$[?(@.a==1.0)]", [0]),                            # integers and floats compare by value
        ("$[?(@.a>1)]", [1]),                               # strings and booleans do not compare to numbers
        ('$[?(@.a=="2")]', [2]),
        ("$[?(@.a==true)]", [3]),
        ("$[?(@.a==null)]", [4]),
        ("$[?(@.a!=1)]", [1, 2, 3, 4, 5, 6]),               # != is the negation of ==
        ('$[?(@.s=~"x$")]', [0, 1]),
        ('$[?(@.s=~"^x")]', [0]),
        ('$[?(@.a=~"2")]', [2]),
        ('$[?(@.a=~"1")]', []),                             # only strings match
        ('$[?(@.s=~"[")]', []),                             # an invalid regex matches nothing
        ("$[?(@.a<@.b)]", []),
    ],
)
def test_filter_comparisons(path, expected):
    found = compile_query(path).values(FILTERED)
    assert [FILTERED.index(item) for item in found] == expected


def test_a_filter_on_an_object_tests_its_values_and_on_a_scalar_tests_itself():
    # docs/docs/path.md: "iterating all the elements in the array or all the values in the object"
    assert compile_query("$[?(@>1)]").values({"x": 1, "y": 2, "z": 3}) == [2, 3]
    assert compile_query("$.a[?(@>1)]").values({"a": 5}) == [5]
    assert compile_query("$.a[?(@>9)]").values({"a": 5}) == []


def test_locations_name_every_match_from_the_root():
    doc = {"a": {"b": 1, "c": {"b": 2}, "d": [{"b": 3}]}}
    assert compile_query("$.a..b").locations(doc) == [(1, ("a", "b")), (2, ("a", "c", "b")), (3, ("a", "d", 0, "b"))]
    assert compile_query("$").locations(doc) == [(doc, ())]
    assert compile_query("$..[-1]").locations([[1, 2], [3]]) == [([3], (1,)), (2, (0, 1)), (3, (1, 0))]


@pytest.mark.parametrize(
    "path, static",
    [("$.a.b", True), ('$["a"][0]', True), ("$.a[0,1]", False), ("$..a", False), ("$.*", False),
     ("$[1:2]", False), ("$[?(@.a)]", False), ('$["a","b"]', False)],
)
def test_static_paths(path, static):
    assert compile_query(path).is_static() == static


@pytest.mark.parametrize(
    "path, keys",
    [
        ('$["f.]$.f"]', ["f.]$.f"]),                        # testSetWithBracketNotation
        ("$['a b']", ["a b"]),
        ('$["it\'s"]', ["it's"]),
        ('$["q\\"uote"]', ['q"uote']),
        ('$["back\\\\slash"]', ["back\\slash"]),
        ('$["a","b"]', ["a", "b"]),
        ('$[""]', [""]),
    ],
)
def test_bracketed_keys(path, keys):
    doc = {key: index for index, key in enumerate(["f.]$.f", "a b", "it's", 'q"uote', "back\\slash", "a", "b", ""])}
    assert compile_query(path).values(doc) == [doc[key] for key in keys]


@pytest.mark.parametrize(
    "path, message",
    [
        # RedisJSON documents this exact text for "$.." (JSON.SET return information)
        ("$..", 'Error occurred on position 3, "$.. <<<<----", expected one of the following: <string>, \'*\'.'),
        ("$.a b", 'Error occurred on position 4, "$.a  ---->>>> b"'),
        ("$[01]", 'Error occurred on position 3, "$[0 ---->>>> 1]"'),
        ("$.a[", 'Error occurred on position 4, "$.a[ <<<<----"'),
        ("$[?(@.a>)]", 'Error occurred on position 8, "$[?(@.a> ---->>>> )]"'),
        ("$.", 'Error occurred on position 2, "$. <<<<----"'),
    ],
)
def test_syntax_errors_report_the_position(path, message):
    with pytest.raises(PathError) as caught:
        compile_query(path)
    assert caught.value.message.startswith(message)


def test_json_equal_keeps_booleans_apart_from_numbers():
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert json_equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not json_equal({"a": 1}, {"b": 1})
    assert not json_equal([1, 2], [1])
