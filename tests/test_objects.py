"""`fluoro inspect`, `fluoro.inspect()` and `fluoro.sizeof()`: the object model."""

from __future__ import annotations

import json
import sys

import pytest

import fluoro as fl
from conftest import fluoro


def inspect_json(expr: str, *args: str) -> dict:
    result = fluoro("inspect", expr, "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_list_report():
    r = inspect_json("[1, 2, 3]")
    assert r["type_name"] == "builtins.list"
    assert r["mro"] == ["builtins.list", "builtins.object"]
    assert r["shallow_size"] == sys.getsizeof([1, 2, 3])
    assert r["refcount"] == 0
    assert r["hashable"] is False and r["gc_type"] is True and r["gc_tracked"] is True
    assert r["len"] == 3
    # small ints are cached singletons: left out of the deep size by default
    assert r["deep"]["bytes"] == r["shallow_size"]
    assert r["deep"]["cached_skipped"] == 3


def test_include_cached_counts_small_ints():
    r = inspect_json("[1, 2, 3]", "--include-cached")
    assert r["deep"]["bytes"] == sys.getsizeof([1, 2, 3]) + 3 * sys.getsizeof(1)


def test_cached_kinds():
    assert inspect_json("256")["cached"] == "small_int"
    assert inspect_json("257")["cached"] is None
    assert inspect_json("None")["cached"] == "singleton"
    assert inspect_json("'x'")["cached"] == "single_character"
    assert (
        inspect_json("sys.intern('fluoro_' + 'interned')", "--import", "sys")["cached"]
        == "interned_string"
    )
    assert inspect_json("'not ' + 'interned ' + str(12345)")["cached"] is None


def test_immortality_is_reported_where_it_exists():
    r = inspect_json("None")
    if sys.version_info >= (3, 12):
        assert r["immortal"] is True
    else:
        assert r["immortal"] is None


def test_modules_in_the_expression_are_imported():
    r = inspect_json("collections.OrderedDict(a=1)")
    assert r["type_name"] == "collections.OrderedDict"
    assert "builtins.dict" in r["mro"]


def test_slots_and_dict_costs(tmp_path):
    (tmp_path / "shapes.py").write_text(
        "class P:\n    def __init__(self):\n        self.x = 1.5\n        self.y = 2.5\n"
        "class S:\n    __slots__ = ('x', 'y')\n    def __init__(self):\n        self.x = 1.5\n"
    )
    p = json.loads(fluoro("inspect", "shapes.P()", "--json", cwd=tmp_path).stdout)
    assert p["layout"]["has_dict"] is True
    assert p["layout"]["attributes"] == ["x", "y"]
    dict_cost = p["layout"]["dict_instance_bytes"]
    slots_cost = p["layout"]["slots_instance_bytes"]
    assert 0 < slots_cost < dict_cost
    s = json.loads(fluoro("inspect", "shapes.S()", "--json", cwd=tmp_path).stdout)
    assert s["layout"]["has_dict"] is False
    assert s["layout"]["slots"] == ["x", "y"]
    assert s["layout"]["attributes"] == ["x"]  # y was never set
    assert s["special_methods"] > 10


def test_deep_size_walks_inline_attributes_without_a_dict(tmp_path):
    (tmp_path / "m.py").write_text(
        "class Node:\n    def __init__(self, data):\n        self.data = data\n"
    )
    code = (
        "import sys, gc, fluoro, m\n"
        "n = m.Node([0.5] * 100)\n"
        "d = fluoro.sizeof(n, deep=True)\n"
        "print(d - sys.getsizeof(n) - sys.getsizeof(n.data) - sys.getsizeof(0.5))\n"
    )
    result = fluoro_python(code, cwd=tmp_path)
    # the instance dict (when one exists at all) is the only other thing counted
    assert int(result) in range(400)


def fluoro_python(code: str, cwd) -> str:
    from conftest import run

    result = run([sys.executable, "-c", code], cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().strip()


def test_text_report():
    result = fluoro("inspect", "{'a': [1, 2], 'b': 'text' * 10}")
    assert result.returncode == 0
    out = result.stdout.decode()
    for field in ["type", "mro", "refcount", "deep size", "layout", "special methods"]:
        assert f"  {field} " in out
    assert "builtins.dict" in out


def test_sizes_table():
    result = fluoro("inspect", "--sizes", "--json")
    table = json.loads(result.stdout)
    rows = {row["label"]: row["bytes"] for row in table["objects"]}
    assert rows["list (empty)"] == sys.getsizeof([])
    assert rows["str (UCS-4, 5 chars)"] > rows["str (Latin-1, 5 chars)"]
    growth = {g["container"]: g["steps"] for g in table["growth"]}
    assert growth["list"][0] == {"len": 0, "bytes": sys.getsizeof([])}
    assert len(growth["list"]) > 5 and len(growth["dict"]) >= 3 and len(growth["set"]) >= 3
    text = fluoro("inspect", "--sizes").stdout.decode()
    assert "grew by" in text


@pytest.mark.parametrize(
    "args,needle",
    [
        (["1 +"], "cannot parse"),
        (["1 / 0"], "ZeroDivisionError"),
        (["undefined_name_xyz"], "NameError"),
        (["x", "--import", "no_such_module_xyz"], "cannot import no_such_module_xyz"),
        ([], "EXPR"),
    ],
)
def test_bad_expressions_are_one_line(args, needle):
    result = fluoro("inspect", *args)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.startswith("fluoro: ") and err.count("\n") == 1 and "Traceback" not in err
    assert needle in err


def test_api():
    data = {"k": [1.5, 2.5], "s": "x" * 100}
    r = fl.inspect(data)
    assert r["type_name"] == "builtins.dict"
    assert r["refcount"] == sys.getrefcount(data) - 1
    assert fl.sizeof(data) == sys.getsizeof(data)
    assert fl.sizeof(data, deep=True) == r["deep"]["bytes"]


def test_shared_objects_are_counted_once():
    shared = [0.5] * 10
    pair = [shared, shared]
    assert fl.sizeof(pair, deep=True) == sys.getsizeof(pair) + sys.getsizeof(shared) + 24


def test_cycles_terminate():
    a: list = []
    a.append(a)
    assert fl.sizeof(a, deep=True) == sys.getsizeof(a)


def test_classes_modules_functions_are_not_counted():
    holder = [sys, dict, len, test_cycles_terminate]
    assert fl.sizeof(holder, deep=True) == sys.getsizeof(holder)
