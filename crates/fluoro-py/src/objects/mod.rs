//! The object model: `fluoro inspect`, `fluoro.inspect(obj)` and `fluoro.sizeof(obj)`.
//!
//! Deep size, exactly: the root, then every object reachable from it through `tp_traverse`
//! (what `gc.get_referents` sees), each counted once with `sys.getsizeof`. Left out, and not
//! walked through: type objects (classes), modules, functions, builtin functions and code
//! objects, which are shared program structure rather than data; and, unless
//! `include_cached`, the interpreter's cached singletons (`None`, `True`, `False`, `...`,
//! `NotImplemented`, `()`, `""`, `b""`, ints from -5 to 256, one-character Latin-1 strings and
//! one-byte bytes, interned strings). Instance attributes held inline (3.11+) are reached
//! without materializing a `__dict__`.

mod layout;
mod sizes;

use crate::cpython::objects as raw;
use crate::cpython::objects::TypeSize;
use crate::output::{emit, Failure};
use fluoro_objects::{Cached, DeepSize, ObjectReport, TypeShare};
use pyo3::prelude::*;
use pyo3::types::{
    PyBytes, PyCFunction, PyCode, PyDict, PyFunction, PyInt, PyModule, PyString, PyTuple, PyType,
};
use std::collections::{HashMap, HashSet};

/// `fluoro inspect EXPR | --sizes`.
pub fn command(py: Python<'_>, args: &fluoro_cli::InspectArgs) -> Result<i32, Failure> {
    if args.sizes {
        let table = sizes::measure(py)?;
        return Ok(emit(&table, args.json, |t| t.render_text()));
    }
    let Some(expr) = &args.expr else {
        return Err(Failure("inspect: give an expression, or --sizes".into()));
    };
    let value = evaluate(py, expr, &args.import)?;
    let report = inspect(&value, args.include_cached)?;
    Ok(emit(&report, args.json, |r| r.render_text()))
}

/// Evaluates `expr` with the `imports` done first; names of importable modules used in the
/// expression are imported on demand, so `fluoro inspect "collections.OrderedDict()"` works.
fn evaluate<'py>(
    py: Python<'py>,
    expr: &str,
    imports: &[String],
) -> Result<Bound<'py, PyAny>, Failure> {
    // Modules of the current directory are importable, as with `python -c`.
    py.import("sys")?
        .getattr("path")?
        .call_method1("insert", (0, ""))?;
    let namespace = PyDict::new(py);
    namespace.set_item("__builtins__", py.import("builtins")?)?;
    for module in imports {
        let top = module.split('.').next().unwrap_or(module);
        py.import(module.as_str())
            .map_err(|e| Failure(format!("inspect: cannot import {module}: {}", e.value(py))))?;
        namespace.set_item(top, py.import(top)?)?;
    }
    let builtins = py.import("builtins")?;
    let code = builtins
        .getattr("compile")?
        .call1((expr, "<expr>", "eval"))
        .map_err(|e| {
            Failure(format!(
                "inspect: cannot parse {expr:?}: {}",
                one_line_error(py, &e)
            ))
        })?;
    for _ in 0..16 {
        match builtins.getattr("eval")?.call1((&code, &namespace)) {
            Ok(value) => return Ok(value),
            Err(err) if err.is_instance_of::<pyo3::exceptions::PyNameError>(py) => {
                let name: Option<String> = err
                    .value(py)
                    .getattr("name")
                    .ok()
                    .and_then(|n| n.extract().ok());
                match name.and_then(|n| py.import(n.as_str()).ok().map(|m| (n, m))) {
                    Some((name, module)) => namespace.set_item(name, module)?,
                    None => return Err(raised(py, expr, &err)),
                }
            }
            Err(err) => return Err(raised(py, expr, &err)),
        }
    }
    Err(Failure(format!(
        "inspect: {expr:?} needs too many imports; name them with --import"
    )))
}

fn raised(py: Python<'_>, expr: &str, err: &PyErr) -> Failure {
    Failure(format!(
        "inspect: evaluating {expr:?} raised {}",
        one_line_error(py, err)
    ))
}

fn one_line_error(py: Python<'_>, err: &PyErr) -> String {
    let kind = err
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let text = err.value(py).to_string();
    let first = text.lines().next().unwrap_or("");
    if first.is_empty() {
        kind
    } else {
        format!("{kind}: {first}")
    }
}

/// `sys.getsizeof(obj)`.
pub fn shallow_size(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    obj.py()
        .import("sys")?
        .getattr("getsizeof")?
        .call1((obj,))?
        .extract()
}

/// Shared program structure: not owned by the data that references it.
fn is_shared(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_instance_of::<PyType>()
        || obj.is_instance_of::<PyModule>()
        || obj.is_instance_of::<PyFunction>()
        || obj.is_instance_of::<PyCFunction>()
        || obj.is_instance_of::<PyCode>()
}

/// Which of the interpreter's caches or singletons `obj` is, if any.
pub fn cached_kind(obj: &Bound<'_, PyAny>) -> Option<Cached> {
    let py = obj.py();
    if obj.is_none()
        || obj.is(pyo3::types::PyBool::new(py, true))
        || obj.is(pyo3::types::PyBool::new(py, false))
        || obj.is(py.Ellipsis())
        || obj.is(py.NotImplemented())
    {
        return Some(Cached::Singleton);
    }
    if obj.is_exact_instance_of::<PyInt>() {
        return match obj.extract::<i64>() {
            Ok(v) if (-5..=256).contains(&v) => Some(Cached::SmallInt),
            _ => None,
        };
    }
    if let Ok(s) = obj.cast_exact::<PyString>() {
        let text = s.to_cow().ok()?;
        let mut chars = text.chars();
        return match (chars.next(), chars.next()) {
            (None, _) => Some(Cached::Singleton),
            (Some(c), None) if (c as u32) < 256 => Some(Cached::SingleCharacter),
            _ if raw::is_interned(s) => Some(Cached::InternedString),
            _ => None,
        };
    }
    if let Ok(b) = obj.cast_exact::<PyBytes>() {
        return match b.as_bytes().len() {
            0 => Some(Cached::Singleton),
            1 => Some(Cached::SingleCharacter),
            _ => None,
        };
    }
    if let Ok(t) = obj.cast_exact::<PyTuple>() {
        if t.is_empty() {
            return Some(Cached::Singleton);
        }
    }
    None
}

/// `module.qualname` of a type.
pub fn type_name(tp: &Bound<'_, PyType>) -> String {
    let module = tp.module().map(|m| m.to_string()).unwrap_or_default();
    let qualname = tp
        .qualname()
        .map(|q| q.to_string())
        .unwrap_or_else(|_| "?".into());
    if module.is_empty() {
        qualname
    } else {
        format!("{module}.{qualname}")
    }
}

/// The deep size of `root`, as the module documentation defines it.
pub fn deep_size(root: &Bound<'_, PyAny>, include_cached: bool) -> PyResult<DeepSize> {
    let py = root.py();
    let object_sizeof = py
        .import("builtins")?
        .getattr("object")?
        .getattr("__sizeof__")?;
    let mut seen: HashSet<usize> = HashSet::new();
    let mut stack = vec![root.clone()];
    let mut size = DeepSize::default();
    let mut by_type: HashMap<usize, (Bound<'_, PyType>, TypeSize, u64, u64)> = HashMap::new();
    while let Some(obj) = stack.pop() {
        if !seen.insert(obj.as_ptr() as usize) {
            continue;
        }
        if !obj.is(root) {
            if is_shared(&obj) {
                size.shared_skipped += 1;
                continue;
            }
            if !include_cached && cached_kind(&obj).is_some() {
                size.cached_skipped += 1;
                continue;
            }
        }
        let tp = obj.get_type();
        let entry = match by_type.entry(tp.as_ptr() as usize) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let sizer = TypeSize::of(tp.as_any(), &object_sizeof)?;
                e.insert((tp, sizer, 0, 0))
            }
        };
        // A broken `__sizeof__` must not stop the walk: that object counts as 0 bytes.
        // SAFETY: `obj` is a live instance of the type `entry` was made for; GIL held.
        let bytes = unsafe { entry.1.size(obj.as_ptr()) };
        entry.2 += 1;
        entry.3 += bytes;
        size.bytes += bytes;
        size.objects += 1;
        stack.extend(raw::referents(&obj));
    }
    let mut shares: Vec<TypeShare> = by_type
        .into_values()
        .map(|(tp, _, count, bytes)| TypeShare {
            type_name: type_name(&tp),
            count,
            bytes,
        })
        .collect();
    shares.sort_by(|a, b| {
        b.bytes
            .cmp(&a.bytes)
            .then_with(|| a.type_name.cmp(&b.type_name))
    });
    shares.truncate(10);
    size.by_type = shares;
    Ok(size)
}

/// Everything `fluoro inspect` reports about `obj`.
pub fn inspect(obj: &Bound<'_, PyAny>, include_cached: bool) -> PyResult<ObjectReport> {
    let py = obj.py();
    // Read first, before fluoro takes more references: the caller's one is not counted.
    let raw_refcount = raw::refcount(obj);
    let tp = obj.get_type();
    let version = py.version_info();
    let immortal = (version >= (3, 12)).then_some((raw_refcount as i32) < 0);
    let mro: Vec<String> = tp
        .mro()
        .iter()
        .filter_map(|c| c.cast_into::<PyType>().ok())
        .map(|c| type_name(&c))
        .collect();
    let deep = deep_size(obj, include_cached)?;
    let reprlib = py.import("reprlib")?;
    let repr: String = reprlib
        .call_method1("repr", (obj,))
        .map(|r| r.to_string())
        .unwrap_or_else(|_| {
            format!(
                "<{} object at {:#x}>",
                type_name(&tp),
                obj.as_ptr() as usize
            )
        });
    let has_len = tp.hasattr("__len__").unwrap_or(false);
    Ok(ObjectReport {
        repr,
        type_name: type_name(&tp),
        mro,
        id: obj.as_ptr() as usize as u64,
        refcount: raw_refcount as i64 - 1,
        hashable: obj.hash().is_ok(),
        gc_type: raw::is_gc_type(obj),
        gc_tracked: py
            .import("gc")?
            .call_method1("is_tracked", (obj,))?
            .extract()?,
        shallow_size: shallow_size(obj)?,
        deep,
        basicsize: tp.getattr("__basicsize__")?.extract()?,
        itemsize: tp.getattr("__itemsize__")?.extract()?,
        len: if has_len {
            obj.len().ok().map(|n| n as u64)
        } else {
            None
        },
        layout: layout::layout(obj)?,
        special_methods: layout::special_methods(&tp)?,
        cached: cached_kind(obj),
        immortal,
    })
}
