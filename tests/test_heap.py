"""Heap snapshots end to end: real programs take snapshots (``fluoro.heap.snapshot``,
``fluoro run --heap-at-exit`` / ``--heap-on-signal``), and ``fluoro heap …`` reads them."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from conftest import fluoro, interpreter, run

APP = textwrap.dedent(
    """
    class User:
        def __init__(self, i):
            self.name = "user-%d" % i
            self.tags = [i]

    class Node:
        __slots__ = ("other", "payload")

    CACHE = {"users": []}

    def grow(n):
        CACHE["users"].extend(User(i) for i in range(n))
    """
)


def write_app(tmp_path, main: str):
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "main.py").write_text(textwrap.dedent(main))
    return tmp_path / "main.py"


def python_of(version: str):
    return interpreter(version)


def run_main(py, tmp_path, main: str) -> str:
    script = write_app(tmp_path, main)
    result = run([py.python, script], cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def heap_json(py, *args, cwd=None):
    result = fluoro("heap", *args, "--json", py=py, cwd=cwd)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


@pytest.mark.parametrize("version", ["3.10", "3.11", "3.12", "3.13"])
def test_census_counts_and_sizes(version, tmp_path):
    py = python_of(version)
    out = run_main(
        py,
        tmp_path,
        """
        import json, sys
        import app, fluoro.heap
        app.grow(2000)
        info = fluoro.heap.snapshot("snap.fheap")
        print(json.dumps({"user": sys.getsizeof(app.CACHE["users"][0]),
                          "objects": info["objects"], "file_bytes": info["file_bytes"]}))
        """,
    )
    facts = json.loads(out)
    summary = heap_json(py, "summary", "snap.fheap", cwd=tmp_path)
    types = {t["name"]: t for t in summary["types"]}
    for row in summary["types"]:
        assert set(row) >= {"name", "count", "shallow_bytes", "retained_bytes"}
        assert row["retained_bytes"] >= row["shallow_bytes"] or row["count"] == 0
    user = types["app.User"]
    assert user["count"] == 2000
    assert user["shallow_bytes"] == 2000 * facts["user"]
    # Each user holds its name and its tags list, and nobody else does.
    assert user["retained_bytes"] > user["shallow_bytes"] + 2000 * sys.getsizeof([0])
    assert summary["objects"] == facts["objects"]
    assert facts["file_bytes"] / facts["objects"] <= 40


@pytest.mark.parametrize("version", ["3.10", "3.11", "3.12", "3.13"])
def test_snapshot_sizes_are_getsizeof(version, tmp_path):
    py = python_of(version)
    out = run_main(
        py,
        tmp_path,
        """
        import collections, json, sys
        import app, fluoro.heap
        app.grow(3)
        n = app.Node(); n.other = n; n.payload = b"x" * 100
        samples = [app.CACHE["users"][0], n, app.CACHE, app.User, sys, "text" * 9, 10**40,
                   2.5, (1, [2]), {1, 2}, frozenset({3}), bytearray(b"ab"), print, int,
                   collections.OrderedDict(a=1), collections.deque([1]), app.grow,
                   app.CACHE["users"][0].tags]
        fluoro.heap.snapshot("snap.fheap")
        print(json.dumps([[id(o), sys.getsizeof(o), type(o).__name__] for o in samples]))
        """,
    )
    for oid, size, name in json.loads(out):
        report = heap_json(py, "path", "snap.fheap", "--id", str(oid), cwd=tmp_path)
        assert report["steps"], f"{name} not reachable"
        assert report["steps"][-1]["size"] == size, name


@pytest.mark.parametrize("version", ["3.10", "3.11", "3.12", "3.13"])
def test_snapshot_creates_no_objects(version, tmp_path):
    """No dict is materialized for instances, nothing is left behind."""
    py = python_of(version)
    out = run_main(
        py,
        tmp_path,
        """
        import gc
        import app, fluoro.heap
        app.grow(5000)
        fluoro.heap.snapshot()  # the first call imports what it needs
        before = len(gc.get_objects())
        fluoro.heap.snapshot("snap.fheap")
        after = len(gc.get_objects())
        print(before, after, gc.isenabled())
        """,
    )
    before, after, enabled = out.split()
    assert before == after
    assert enabled == "True"


def test_path_reads_like_the_code(current, tmp_path):
    run_main(
        current,
        tmp_path,
        """
        import app, fluoro.heap
        app.grow(10)
        fluoro.heap.snapshot("snap.fheap")
        """,
    )
    result = fluoro("heap", "path", "snap.fheap", "--type", "User", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    assert "sys.modules['app'] → .CACHE → dict['users'] → list[0] → app.User" in text
    assert "app.User: 10 objects, 10 reachable" in text
    report = heap_json(current, "path", "snap.fheap", "--type", "app.User", cwd=tmp_path)
    assert report["root"] == "sys.modules"
    assert [s["label"] for s in report["steps"][1:]] == [
        "['app']",
        "__dict__",
        "['CACHE']",
        "['users']",
        "[0]",
    ]


@pytest.mark.parametrize("version", ["3.10", "3.11", "3.12", "3.13"])
def test_instance_attributes_are_labelled(version, tmp_path):
    """Through a __dict__ (3.10, or once asked for) and inline values (3.11+) alike."""
    py = python_of(version)
    out = run_main(
        py,
        tmp_path,
        """
        import app, fluoro.heap

        class Registry:
            def __init__(self):
                self.name = "registry"
                self.members = [app.User(0)]

        plain, asked = Registry(), Registry()
        vars(asked)
        fluoro.heap.snapshot("snap.fheap")
        print(id(plain.members[0]), id(asked.members[0]))
        """,
    )
    for name, oid in zip(("plain", "asked"), out.split(), strict=True):
        report = heap_json(py, "path", "snap.fheap", "--id", oid, cwd=tmp_path)
        expected = f"sys.modules['__main__'] → .{name} → .members → list[0] → app.User"
        assert report["text"] == expected


def test_slots_are_labelled_and_cycles_found(current, tmp_path):
    partner = run_main(
        current,
        tmp_path,
        """
        import gc
        import app, fluoro.heap
        gc.disable()
        kept = []
        for i in range(300):
            a, b = app.Node(), app.Node()
            a.other, b.other = b, a
            a.payload = b.payload = None
            if i < 100:
                kept.append(a)
        app.KEPT = kept
        del a, b, kept
        fluoro.heap.snapshot("snap.fheap")
        print(id(app.KEPT[0].other))
        """,
    )
    cycles = heap_json(current, "cycles", "snap.fheap", cwd=tmp_path)

    def pairs(kind):
        return next(g for g in cycles[kind]["groups"] if g["types"] == "app.Node ×2")

    # Garbage (what the collector frees) apart from the pairs app.KEPT still holds.
    assert pairs("garbage")["cycles"] == 200
    assert pairs("reachable")["cycles"] == 100
    # The interpreter's own cycles (classes, modules, functions) only with --all.
    assert not any(g["interpreter"] for g in cycles["reachable"]["groups"])
    assert cycles["interpreter_left_out"]["cycles"] > 0
    everything = heap_json(current, "cycles", "snap.fheap", "--all", cwd=tmp_path)
    assert any(g["interpreter"] for g in everything["reachable"]["groups"])
    assert everything["interpreter_left_out"]["cycles"] == 0
    garbage = {t["name"]: t["count"] for t in cycles["collectable_types"]}
    assert garbage["app.Node"] == 400
    path = heap_json(current, "path", "snap.fheap", "--type", "Node", cwd=tmp_path)
    assert path["text"] == "sys.modules['app'] → .KEPT → list[0] → app.Node"
    path = heap_json(current, "path", "snap.fheap", "--id", partner.strip(), cwd=tmp_path)
    assert path["text"] == "sys.modules['app'] → .KEPT → list[0] → .other → app.Node"
    import fluoro.heap

    assert fluoro.heap.cycles(tmp_path / "snap.fheap") == cycles


def test_dominators_and_diff(current, tmp_path):
    run_main(
        current,
        tmp_path,
        """
        import app, fluoro.heap
        app.grow(1000)
        fluoro.heap.snapshot("a.fheap")
        app.grow(500)
        fluoro.heap.snapshot("b.fheap")
        """,
    )
    top = heap_json(current, "dominators", "b.fheap", "--top", "50", cwd=tmp_path)
    users = next(
        r
        for r in top["retainers"]
        if r["path"] == "sys.modules['app'] → .CACHE → dict['users'] → list"
    )
    assert users["retained_objects"] >= 1 + 1500 * 3
    # The program's data leads; sys.modules, modules and classes only with --all.
    assert not any(r["type"] in ("module", "type") for r in top["retainers"])
    assert top["retainers"][0]["path"] != "sys.modules (dict)"
    everything = heap_json(current, "dominators", "b.fheap", "--top", "50", "--all", cwd=tmp_path)
    assert any(r["type"] == "module" for r in everything["retainers"])
    diff = heap_json(current, "diff", "a.fheap", "b.fheap", "--top", "100", cwd=tmp_path)
    growth = {t["name"]: t for t in diff["types"]}
    assert growth["app.User"]["count_delta"] == 500
    assert growth["app.User"]["retained_delta"] > 0
    grown = [r["path"] for r in diff["retainers"]]
    assert "sys.modules['app'] → .CACHE → dict['users'] → list" in grown
    text = fluoro("heap", "diff", "a.fheap", "b.fheap", cwd=tmp_path).stdout.decode()
    assert "Growth by type" in text and "app.User" in text


def test_bad_files_are_one_line_exit_2(current, tmp_path):
    run_main(
        current,
        tmp_path,
        """
        import fluoro.heap
        fluoro.heap.snapshot("snap.fheap")
        """,
    )
    data = (tmp_path / "snap.fheap").read_bytes()
    (tmp_path / "short.fheap").write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0x20
    (tmp_path / "flipped.fheap").write_bytes(bytes(flipped))
    (tmp_path / "other.fheap").write_bytes(b"not a snapshot at all")
    cases = {
        "short.fheap": "truncated",
        "flipped.fheap": "fails its checksum",
        "other.fheap": "not a .fheap heap snapshot",
        "missing.fheap": "no such file",
    }
    for name, reason in cases.items():
        for sub in (["summary"], ["cycles"], ["dominators"], ["path", "--type", "x"]):
            result = fluoro("heap", *sub[:1], name, *sub[1:], cwd=tmp_path)
            err = result.stderr.decode()
            assert result.returncode == 2, (name, sub, err)
            assert err.count("\n") == 1 and reason in err, (name, err)
            assert err.startswith(f"fluoro: heap: cannot read {name}: ")
    result = fluoro("heap", "path", "snap.fheap", "--type", "NoSuchType", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode() == 'fluoro: heap: no type named "NoSuchType" in the snapshot\n'


def test_run_heap_at_exit_and_on_signal(any_python, tmp_path):
    current = any_python
    script = write_app(
        tmp_path,
        """
        import os, signal
        import app
        app.grow(100)
        os.kill(os.getpid(), signal.SIGUSR2)
        app.grow(100)
        print("done")
        """,
    )
    plain = run([current.python, script], cwd=tmp_path)
    result = fluoro("run", "--heap-at-exit", "--heap-on-signal", "SIGUSR2", script, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"done\n"
    assert plain.returncode != 0  # SIGUSR2 kills a program that did not ask for it
    snaps = sorted(p.name for p in tmp_path.glob("fluoro-*.fheap"))
    assert len(snaps) == 2, snaps
    on_signal = next(s for s in snaps if s.endswith("-1.fheap"))
    at_exit = next(s for s in snaps if s.endswith("-exit.fheap"))
    assert "heap snapshot" in result.stderr.decode()
    counts = {}
    for name in (on_signal, at_exit):
        summary = heap_json(current, "summary", name, cwd=tmp_path)
        counts[name] = {t["name"]: t["count"] for t in summary["types"]}["app.User"]
    assert counts == {on_signal: 100, at_exit: 200}


def test_gc_cycles_names_the_types(any_python, tmp_path):
    current = any_python
    script = write_app(
        tmp_path,
        """
        import gc
        import app

        class Parent:
            def __init__(self):
                self.child = Child(self)

        class Child:
            def __init__(self, parent):
                self.parent = parent

        for _ in range(5000):
            Parent()
        gc.collect()
        print("garbage", len(gc.garbage))
        """,
    )
    plain = run([current.python, script], cwd=tmp_path)
    result = fluoro("run", "--gc-cycles", script, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == plain.stdout == b"garbage 0\n"
    err = result.stderr.decode()
    assert "garbage only the cycle collector freed" in err
    rows = {
        line.split()[0]: int(line.split()[1])
        for line in err.splitlines()
        if line.strip().startswith("__main__.")
    }
    assert rows["__main__.Parent"] == 5000
    assert rows["__main__.Child"] == 5000


def test_python_api_matches_cli(current, tmp_path):
    run_main(
        current,
        tmp_path,
        """
        import app, fluoro.heap
        app.grow(20)
        fluoro.heap.snapshot("snap.fheap")
        """,
    )
    import fluoro.heap

    snap = tmp_path / "snap.fheap"
    assert fluoro.heap.summary(snap) == heap_json(current, "summary", snap)
    assert fluoro.heap.dominators(snap, top=5) == heap_json(
        current, "dominators", snap, "--top", "5"
    )
    assert fluoro.heap.path(snap, type="User") == heap_json(current, "path", snap, "--type", "User")
    assert fluoro.heap.diff(snap, snap)["types"] == []
    with pytest.raises(ValueError, match="cannot read"):
        fluoro.heap.summary(tmp_path / "missing.fheap")
