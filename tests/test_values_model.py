"""The value model: UNDEFINED, Id, type_name, normalize_value, limits, sizes, paths."""

from __future__ import annotations

import copy
import datetime
import decimal
import enum
import pickle
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbreactive.errors import ValidationError
from nbreactive.values import model
from nbreactive.values.copies import copy_document
from nbreactive.values.model import (
    MAX_ARRAY_LEN,
    MAX_DOCUMENT_SIZE,
    MAX_NESTING,
    MAX_OBJECT_FIELDS,
    UNDEFINED,
    Id,
    check_identifier,
    get_path,
    normalize_value,
    plain_ids,
    type_name,
)
from nbreactive.values.sizes import check_document_size, document_size, value_size
from tests.strategies import convex_values, documents, same_value

# ---------------------------------------------------------------------------
# UNDEFINED and Id
# ---------------------------------------------------------------------------


def test_undefined_is_a_falsy_singleton() -> None:
    assert not UNDEFINED
    assert repr(UNDEFINED) == "nr.UNDEFINED"
    assert type(UNDEFINED)() is UNDEFINED
    assert copy.copy(UNDEFINED) is UNDEFINED
    assert copy.deepcopy(UNDEFINED) is UNDEFINED
    assert copy.deepcopy([UNDEFINED])[0] is UNDEFINED
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(UNDEFINED, protocol)) is UNDEFINED
    assert UNDEFINED is not None


def test_id_is_a_str_with_a_table() -> None:
    i = Id("k57abc", "users")
    assert isinstance(i, str)
    assert i.table == "users"
    assert repr(i) == "Id('k57abc', table='users')"
    assert str(i) == "k57abc" and type(str(i)) is str
    assert i == "k57abc" and "k57abc" == i
    assert hash(i) == hash("k57abc")
    assert {i: 1}["k57abc"] == 1
    assert Id("x", "a") == Id("x", "b")  # the table is metadata only
    assert Id("x", "a") != Id("y", "a")


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_id_pickles(protocol: int) -> None:
    i = Id("k57abc", "users")
    back = pickle.loads(pickle.dumps(i, protocol))
    assert type(back) is Id and back == i and back.table == "users"
    assert copy.deepcopy(i).table == "users"


# ---------------------------------------------------------------------------
# type_name
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "null"),
        (True, "boolean"),
        (False, "boolean"),
        (0, "int64"),
        (2**70, "int64"),
        (0.0, "float64"),
        (float("nan"), "float64"),
        ("s", "string"),
        (Id("s", "t"), "string"),
        (b"", "bytes"),
        ([], "array"),
        ({}, "object"),
        (UNDEFINED, "undefined"),
        ((), "tuple"),
        (set(), "set"),
        (bytearray(), "bytearray"),
    ],
    ids=lambda x: repr(x) if not isinstance(x, str) or x == "" else x,
)
def test_type_name(value: Any, name: str) -> None:
    assert type_name(value) == name


# ---------------------------------------------------------------------------
# normalize_value: accepted values
# ---------------------------------------------------------------------------


class Color(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    LOW = 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, None, id="null"),
        pytest.param(True, True, id="bool"),
        pytest.param(-(2**63), -(2**63), id="int64-min"),
        pytest.param(2**63 - 1, 2**63 - 1, id="int64-max"),
        pytest.param(float("inf"), float("inf"), id="inf"),
        pytest.param("héllo 😀", "héllo 😀", id="unicode-string"),
        pytest.param(b"\x00", b"\x00", id="bytes"),
        pytest.param(bytearray(b"ab"), b"ab", id="bytearray-to-bytes"),
        pytest.param(memoryview(b"ab"), b"ab", id="memoryview-to-bytes"),
        pytest.param((1, (2, 3)), [1, [2, 3]], id="tuples-to-lists"),
        pytest.param({"a": UNDEFINED, "b": 1}, {"b": 1}, id="undefined-field-dropped"),
        pytest.param({"a": {"b": UNDEFINED}}, {"a": {}}, id="nested-undefined-dropped"),
        pytest.param({"a b": 1, "x-y": 2, "~": 3}, {"a b": 1, "x-y": 2, "~": 3}, id="nested-keys"),
        pytest.param({"_x": 1}, {"_x": 1}, id="nested-underscore-key"),
        pytest.param([{"a": [1.5]}], [{"a": [1.5]}], id="nested"),
    ],
)
def test_normalize_accepts(value: Any, expected: Any) -> None:
    assert same_value(normalize_value(value), expected)


def test_normalize_keeps_id_in_values_and_stores_it_as_str_in_documents() -> None:
    ref = Id("abc", "users")
    out = normalize_value({"ref": ref, "refs": [ref]})
    assert type(out["ref"]) is Id and out["ref"].table == "users"
    assert type(out["refs"][0]) is Id
    # A document has no v.id position: its ids are stored as they read back from disk.
    doc = {"ref": ref, "deep": {"refs": (ref, [ref])}, "by_id": {ref: ref}, "n": 1}
    out = normalize_value(doc, top_level_fields=True)
    assert same_value(out, {"ref": "abc", "deep": {"refs": ["abc", ["abc"]]}, "by_id": {"abc": "abc"}, "n": 1})
    assert type(out["ref"]) is str and type(out["deep"]["refs"][1][0]) is str
    assert [type(k) for k in out["by_id"]] == [str] and type(out["by_id"]["abc"]) is str
    assert type(doc["ref"]) is Id and type(doc["deep"]["refs"]) is tuple  # the caller's, unchanged


def test_plain_ids_copies_only_what_holds_an_id() -> None:
    ref = Id("abc", "users")
    plain = {"a": [1, {"b": "x"}], "c": ("d",)}
    assert plain_ids(plain) is plain
    mixed = {"a": [1, {"b": ref}], "keep": [2], "k": {"x": 1}}
    out = plain_ids(mixed)
    assert out == mixed and type(out["a"][1]["b"]) is str
    assert out["keep"] is mixed["keep"] and out["k"] is mixed["k"]
    assert type(mixed["a"][1]["b"]) is Id
    assert list(plain_ids({"x": 1, ref: 2, "y": 3})) == ["x", "abc", "y"]  # key order kept
    deep: Any = ref
    for _ in range(40):  # deeper than any document: left for validation to refuse
        deep = [deep]
    assert plain_ids(deep) is deep


def test_normalize_never_aliases_containers() -> None:
    inner = [1, 2]
    doc = {"a": inner, "b": {"c": inner}}
    out = normalize_value(doc, top_level_fields=True)
    assert out == doc
    assert out is not doc and out["a"] is not inner and out["b"]["c"] is not inner


# ---------------------------------------------------------------------------
# normalize_value: refused values, exact messages
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            2**63,
            "int 9223372036854775808 does not fit in int64 (-2**63 .. 2**63-1); "
            "store it as a float or a string",
            id="int-too-big",
        ),
        pytest.param(
            {"a": {"b": [1, 2, 3, -(2**63) - 1]}},
            ".a.b[3]: int -9223372036854775809 does not fit in int64 (-2**63 .. 2**63-1); "
            "store it as a float or a string",
            id="int-too-small-path",
        ),
        pytest.param(
            [UNDEFINED],
            "[0]: nr.UNDEFINED is not allowed inside an array; use None for null",
            id="undefined-in-array",
        ),
        pytest.param(
            UNDEFINED,
            "nr.UNDEFINED is not a value (it means 'missing'); use None for null",
            id="undefined-top",
        ),
        pytest.param({1}, "set is not a Convex value; use a list, e.g. sorted(value)", id="set"),
        pytest.param(
            {"a": frozenset()},
            ".a: frozenset is not a Convex value; use a list, e.g. sorted(value)",
            id="frozenset",
        ),
        pytest.param(
            datetime.datetime(2024, 1, 1),
            "datetime is not a Convex value; store a number (e.g. ms since the epoch: "
            "value.timestamp() * 1000) or an ISO string (value.isoformat())",
            id="datetime",
        ),
        pytest.param(
            decimal.Decimal("1.5"),
            "Decimal is not a Convex value; use float(value) or str(value)",
            id="decimal",
        ),
        pytest.param(uuid.UUID(int=0), "UUID is not a Convex value; use str(value)", id="uuid"),
        pytest.param(Level.LOW, "Level is not a Convex value; use int(value)", id="intenum"),
        pytest.param(
            Color.RED,
            "Color is not a Convex value; convert it to dict, list, str, int, float, "
            "bool, bytes or None",
            id="enum",
        ),
        pytest.param(
            object(),
            "object is not a Convex value; convert it to dict, list, str, int, float, "
            "bool, bytes or None",
            id="object",
        ),
        pytest.param(
            {1: "a"},
            "object keys must be strings, got 1 (int64); convert the key with str(...)",
            id="int-key",
        ),
        pytest.param({"": 1}, "object keys must not be empty", id="empty-key"),
        pytest.param(
            {"a": {"$b": 1}},
            ".a: object key '$b' starts with '$', which is reserved for encoding values",
            id="dollar-key",
        ),
        pytest.param(
            {"a\nb": 1},
            "object key 'a\\nb' contains characters other than printable ASCII "
            "(letters, digits, punctuation and space)",
            id="control-key",
        ),
        pytest.param(
            {"é": 1},
            "object key 'é' contains characters other than printable ASCII "
            "(letters, digits, punctuation and space)",
            id="non-ascii-key",
        ),
        pytest.param(
            "a\ud800",
            "string 'a\\ud800' contains a lone surrogate, which is not valid UTF-8",
            id="lone-surrogate",
        ),
    ],
)
def test_normalize_refuses(value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_value(value)
    assert str(info.value) == message


def test_normalize_refuses_numpy_scalars_with_a_hint() -> None:
    np = pytest.importorskip("numpy")
    with pytest.raises(ValidationError, match=r"int64 is not a Convex value; convert it with"):
        normalize_value({"a": np.int64(3)})


def test_error_carries_path_and_value() -> None:
    with pytest.raises(ValidationError) as info:
        normalize_value({"a": [0, {"b c": {1}}]})
    assert info.value.path == '.a[1]["b c"]'
    assert info.value.value == {1}


# ---------------------------------------------------------------------------
# limits
# ---------------------------------------------------------------------------


def _nested_lists(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _nested_dicts(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("make", [_nested_lists, _nested_dicts], ids=["arrays", "objects"])
def test_nesting_limit(make: Any) -> None:
    assert normalize_value(make(MAX_NESTING)) == make(MAX_NESTING)
    with pytest.raises(ValidationError, match="nested more than 16 levels deep"):
        normalize_value(make(MAX_NESTING + 1))


def test_document_counts_as_a_nesting_level() -> None:
    # The document's own dict is level 1, so it can hold 15 more levels.
    assert normalize_value({"a": _nested_lists(15)}, top_level_fields=True)
    with pytest.raises(ValidationError) as info:
        normalize_value({"a": _nested_lists(16)}, top_level_fields=True)
    assert info.value.path == ".a" + "[0]" * 15


def test_array_length_limit() -> None:
    assert len(normalize_value([0] * MAX_ARRAY_LEN)) == MAX_ARRAY_LEN
    with pytest.raises(ValidationError) as info:
        normalize_value({"a": [0] * (MAX_ARRAY_LEN + 1)})
    assert str(info.value) == ".a: array has 8193 elements, more than the 8192 allowed"


def test_object_fields_limit() -> None:
    ok = {f"f{i}": i for i in range(MAX_OBJECT_FIELDS)}
    assert normalize_value(ok) == ok
    assert normalize_value(ok, top_level_fields=True) == ok
    with pytest.raises(ValidationError, match="object has 1025 fields, more than the 1024"):
        normalize_value({**ok, "one_more": 1})
    with pytest.raises(ValidationError, match="document has 1025 fields, more than the 1024"):
        normalize_value({**ok, "one_more": 1}, top_level_fields=True)
    # UNDEFINED fields are dropped before counting.
    assert normalize_value({**ok, "gone": UNDEFINED}) == ok


def test_nested_key_length_limit() -> None:
    assert normalize_value({"k" * 1024: 1})
    with pytest.raises(ValidationError, match="1025 characters long, more than the 1024"):
        normalize_value({"k" * 1025: 1})


# ---------------------------------------------------------------------------
# top-level field names
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["a", "A1", "snake_case", "x" * 64, "camelCase", "a_"], ids=lambda n: n[:10]
)
def test_top_level_field_names_accepted(name: str) -> None:
    assert normalize_value({name: 1}, top_level_fields=True) == {name: 1}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(
            "_id", "field '_id' is set by the system; remove it from the document", id="_id"
        ),
        pytest.param(
            "_creationTime",
            "field '_creationTime' is set by the system; remove it from the document",
            id="_creationTime",
        ),
        pytest.param(
            "_private",
            "field name '_private' starts with '_', which is reserved for system fields; "
            "rename the field",
            id="leading-underscore",
        ),
        pytest.param(
            "1abc",
            "field name '1abc' is not valid: top-level field names must start with a "
            "letter and contain only ASCII letters, digits and '_'",
            id="leading-digit",
        ),
        pytest.param(
            "a b",
            "field name 'a b' is not valid: top-level field names must start with a "
            "letter and contain only ASCII letters, digits and '_'",
            id="space",
        ),
        pytest.param(
            "",
            "field name '' is not valid: top-level field names must start with a "
            "letter and contain only ASCII letters, digits and '_'",
            id="empty",
        ),
        pytest.param(
            "x" * 65,
            "field name 'xxxxxxxxxxxxxxxxxxxx'... is 65 characters long, more than the 64 "
            "allowed for top-level fields",
            id="too-long",
        ),
        pytest.param(
            "$a",
            "field name '$a' is not valid: top-level field names must start with a "
            "letter and contain only ASCII letters, digits and '_'",
            id="dollar",
        ),
    ],
)
def test_top_level_field_names_refused(name: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_value({name: 1}, top_level_fields=True)
    assert str(info.value) == message


def test_document_must_be_a_dict() -> None:
    with pytest.raises(ValidationError, match=r"a document must be a dict, got \[1\] \(array\)"):
        normalize_value([1], top_level_fields=True)


@given(documents())
def test_normalize_is_identity_on_valid_documents(doc: dict[str, Any]) -> None:
    out = normalize_value(doc, top_level_fields=True)
    assert same_value(out, doc)
    assert same_value(normalize_value(out, top_level_fields=True), out)


@given(convex_values(with_ids=True))
def test_normalize_is_identity_on_valid_values(value: Any) -> None:
    assert same_value(normalize_value(value), value)


# ---------------------------------------------------------------------------
# get_path, copy_document
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "path", "expected"),
    [
        pytest.param({"a": 1}, "a", 1, id="top"),
        pytest.param({"a": None}, "a", None, id="null-is-present"),
        pytest.param({"a": 1}, "b", UNDEFINED, id="missing"),
        pytest.param({"a": {"b": {"c": 2}}}, "a.b.c", 2, id="nested"),
        pytest.param({"a": {"b": 1}}, "a.c", UNDEFINED, id="nested-missing"),
        pytest.param({"a": 1}, "a.b", UNDEFINED, id="through-scalar"),
        pytest.param({"a": [{"b": 1}]}, "a.0.b", UNDEFINED, id="no-array-indexing"),
        pytest.param({"a": {"b": [1]}}, "a.b", [1], id="array-value"),
    ],
)
def test_get_path(doc: dict[str, Any], path: str, expected: Any) -> None:
    assert get_path(doc, path) == expected
    if expected is UNDEFINED:
        assert get_path(doc, path) is UNDEFINED


def test_copy_document_copies_containers_only() -> None:
    tags = ["a"]
    meta = {"k": [1]}
    doc = {"_id": Id("x", "t"), "tags": tags, "meta": meta, "n": 1}
    out = copy_document(doc)
    assert out == doc and out is not doc
    assert out["tags"] is not tags and out["meta"] is not meta
    assert out["meta"]["k"] is not meta["k"]
    assert out["_id"] is doc["_id"]
    out["tags"].append("b")
    out["meta"]["k"].append(2)
    assert tags == ["a"] and meta == {"k": [1]}


# ---------------------------------------------------------------------------
# sizes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "size"),
    [
        pytest.param(None, 1, id="null"),
        pytest.param(True, 1, id="bool"),
        pytest.param(1, 9, id="int64"),
        pytest.param(1.5, 9, id="float64"),
        pytest.param("abc", 5, id="ascii"),
        pytest.param("é", 4, id="utf8"),
        pytest.param("😀", 6, id="astral"),
        pytest.param(b"ab", 4, id="bytes"),
        pytest.param([], 2, id="empty-array"),
        pytest.param([1, None], 12, id="array"),
        pytest.param({"ab": 1}, 2 + 2 + 1 + 9, id="object"),
        pytest.param({"ab": 1, "gone": UNDEFINED}, 14, id="undefined-ignored"),
    ],
)
def test_value_size(value: Any, size: int) -> None:
    assert value_size(value) == size


def test_document_size_adds_missing_system_fields() -> None:
    doc = {"a": 1}
    assert document_size(doc) == value_size(doc) + 38 + 23
    full = {"_id": "x" * 32, "_creationTime": 1.0, "a": 1}
    assert document_size(full) == value_size(full)


def test_check_document_size() -> None:
    assert check_document_size({"a": "x" * 1000}) > 1000
    with pytest.raises(ValidationError) as info:
        check_document_size({"a": "x" * int(1.2 * MAX_DOCUMENT_SIZE)})
    assert str(info.value).startswith("document is 1.2 MiB (")
    assert "larger than the 1 MiB limit" in str(info.value)


# ---------------------------------------------------------------------------
# identifiers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["users", "Users2", "a_b", "x" * 64, "a__"])
def test_check_identifier_accepts(name: str) -> None:
    assert check_identifier("table name", name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param("", "Invalid table name '': it is empty.", id="empty"),
        pytest.param(
            "_users",
            "Invalid table name '_users': names starting with '_' are reserved for the system.",
            id="underscore",
        ),
        pytest.param(
            "___",
            "Invalid table name '___': names starting with '_' are reserved for the system.",
            id="all-underscores",
        ),
        pytest.param(
            "a-b",
            "Invalid table name 'a-b': use only ASCII letters, digits and '_', "
            "starting with a letter.",
            id="dash",
        ),
        pytest.param(
            "1a",
            "Invalid table name '1a': use only ASCII letters, digits and '_', "
            "starting with a letter.",
            id="digit-first",
        ),
        pytest.param(
            "x" * 65,
            f"Invalid table name '{'x' * 65}': it is 65 characters long, more than the 64 allowed.",
            id="too-long",
        ),
        pytest.param(5, "Invalid table name 5: expected a string, got int64", id="not-a-string"),
    ],
)
def test_check_identifier_refuses(name: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_identifier("table name", name)
    assert str(info.value) == message


def test_check_identifier_names_the_kind() -> None:
    with pytest.raises(ValidationError, match=r"^Invalid index name"):
        check_identifier("index name", "by-name")


def test_caches_are_bounded() -> None:
    model._GOOD_NESTED_KEYS.clear()
    for i in range(model._CACHE_LIMIT + 10):
        model._accept_key(f"k{i}", model._nested_key_problem, model._GOOD_NESTED_KEYS)
    assert len(model._GOOD_NESTED_KEYS) <= model._CACHE_LIMIT


def test_str_subclass_keys_are_checked_too() -> None:
    class Key(str):
        pass

    with pytest.raises(ValidationError, match="starts with '\\$'"):
        normalize_value({"a": {Key("$x"): 1}})


# ---------------------------------------------------------------------------
# normalize_value(copy=False): the allocation-free check agrees with the copying path
# ---------------------------------------------------------------------------

_BAD_LEAVES = [
    decimal.Decimal(1), "\ud800", 2**63, -(2**63) - 1, UNDEFINED, (1, 2), {1: "x"},
    {"$bad": 1}, True, 1.5, "ok", None, b"x", [1, "é"],
]


def _outcome(value: Any, copy: bool) -> Any:
    try:
        return ("ok", normalize_value(value, max_nesting=64, copy=copy))
    except ValidationError as e:
        return ("error", str(e))


def _agree(result: Any) -> None:
    kind, got = _outcome(result, copy=False)
    want_kind, want = _outcome(result, copy=True)
    assert kind == want_kind, (got, want)
    if kind == "error":
        assert got == want  # the same message and path
    else:
        assert same_value(got, want)


@pytest.mark.parametrize("leaf", _BAD_LEAVES, ids=repr)
@pytest.mark.parametrize("where", ["field", "list", "nested list", "top list"])
def test_the_no_copy_check_agrees_with_normalizing(leaf, where):
    def row() -> dict[str, Any]:
        r: dict[str, Any] = {"_id": "x", "a": 1, "tags": ["p", "q"], "n": 1}
        if where == "field":
            r["a"] = leaf
        elif where == "list":
            r["tags"].insert(1, leaf)
        elif where == "nested list":
            r["nested"] = {"k": ["p", leaf]}
        return r

    fine = [{"_id": "x", "a": 1, "tags": ["p", "q"], "n": 1, "nested": {"k": ["p"]}}]
    _agree(fine)  # the field names are now known good: the fast path is taken below
    for _ in range(2):
        _agree([row(), row()] if where != "top list" else [row(), leaf])


@given(convex_values(), st.lists(st.sampled_from(_BAD_LEAVES), max_size=3), st.randoms())
@settings(max_examples=200, deadline=None)
def test_the_no_copy_check_agrees_with_normalizing_anywhere(value, leaves, rnd):
    # Plant leaves (bad or fine) at random places of a document-like row.
    row = {"_id": "x", "a": value, "tags": ["p", "q"], "n": 1}
    for leaf in leaves:
        where = rnd.choice(["field", "list", "nested"])
        if where == "field":
            row[rnd.choice(["a", "b", "n"])] = leaf
        elif where == "list":
            row["tags"].insert(rnd.randrange(len(row["tags"]) + 1), leaf)
        else:
            row["nested"] = {"k": [leaf]}
    _agree([row, dict(row)])
