//! `fluoro inspect --sizes`: common object sizes and container growth, measured here.

use fluoro_objects::{Growth, GrowthStep, SizeRow, SizesTable};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// (label, expression) pairs measured with `sys.getsizeof`.
const OBJECTS: &[(&str, &str)] = &[
    ("None", "None"),
    ("bool", "True"),
    ("int (small)", "42"),
    ("int (2**30)", "2**30"),
    ("int (2**60)", "2**60"),
    ("int (2**100)", "2**100"),
    ("float", "3.14159"),
    ("complex", "1+2j"),
    ("str (empty)", "''"),
    ("str (ASCII, 5 chars)", "'hello'"),
    ("str (ASCII, 1000 chars)", "'a' * 1000"),
    ("str (Latin-1, 5 chars)", "'héllo'"),
    ("str (UCS-2, 5 chars)", "'h€llo'"),
    ("str (UCS-4, 5 chars)", "'h\\U0001F600llo'"),
    ("bytes (empty)", "b''"),
    ("bytes (5)", "b'hello'"),
    ("bytearray (5)", "bytearray(b'hello')"),
    ("tuple (empty)", "()"),
    ("tuple (3)", "(1, 2, 3)"),
    ("list (empty)", "[]"),
    ("list (3)", "[1, 2, 3]"),
    ("list (1000)", "list(range(1000))"),
    ("dict (empty)", "{}"),
    ("dict (2)", "{'a': 1, 'b': 2}"),
    ("set (empty)", "set()"),
    ("set (3)", "{1, 2, 3}"),
    ("frozenset (3)", "frozenset({1, 2, 3})"),
    ("range", "range(10)"),
    ("object()", "object()"),
    ("function", "lambda: None"),
];

/// Appending this many items shows several resizes of each container.
const GROWTH_ITEMS: i64 = 100;

/// Measures the table in this interpreter.
pub fn measure(py: Python<'_>) -> PyResult<SizesTable> {
    let builtins = py.import("builtins")?;
    let getsizeof = py.import("sys")?.getattr("getsizeof")?;
    let namespace = PyDict::new(py);
    namespace.set_item("__builtins__", &builtins)?;
    let mut objects = Vec::new();
    for (label, expr) in OBJECTS {
        let value = builtins.getattr("eval")?.call1((*expr, &namespace))?;
        objects.push(SizeRow {
            label: (*label).to_owned(),
            expr: (*expr).to_owned(),
            bytes: getsizeof.call1((value,))?.extract()?,
        });
    }
    let growth = vec![
        grow(py, "list", "[]", |c, i| {
            c.call_method1("append", (i,)).map(drop)
        })?,
        grow(py, "dict", "{}", |c, i| c.set_item(i, i))?,
        grow(py, "set", "set()", |c, i| {
            c.call_method1("add", (i,)).map(drop)
        })?,
    ];
    let version = py.version_info();
    Ok(SizesTable {
        python: format!(
            "CPython {}.{}.{}",
            version.major, version.minor, version.patch
        ),
        objects,
        growth,
    })
}

fn grow(
    py: Python<'_>,
    name: &str,
    empty: &str,
    add: impl Fn(&Bound<'_, PyAny>, i64) -> PyResult<()>,
) -> PyResult<Growth> {
    let getsizeof = py.import("sys")?.getattr("getsizeof")?;
    let container = py.import("builtins")?.getattr("eval")?.call1((empty,))?;
    let size = |c: &Bound<'_, PyAny>| -> PyResult<u64> { getsizeof.call1((c,))?.extract() };
    let mut steps = vec![GrowthStep {
        len: 0,
        bytes: size(&container)?,
    }];
    for i in 0..GROWTH_ITEMS {
        add(&container, i)?;
        let bytes = size(&container)?;
        if steps.last().is_some_and(|s| s.bytes != bytes) {
            steps.push(GrowthStep {
                len: (i + 1) as u64,
                bytes,
            });
        }
    }
    Ok(Growth {
        container: name.to_owned(),
        steps,
    })
}
