//! How instances keep their attributes (`__dict__` or `__slots__`) and what each costs.

use fluoro_objects::Layout;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};
use std::collections::BTreeSet;

/// Instances per measurement of the per-instance cost.
const SAMPLE: usize = 200;
const PY_TPFLAGS_HEAPTYPE: u64 = 1 << 9;

fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}

/// Distinct dunder names defined by the type and its bases.
pub fn special_methods(tp: &Bound<'_, PyType>) -> PyResult<usize> {
    let mut names = BTreeSet::new();
    for cls in tp.mro().iter() {
        let dict = cls.getattr("__dict__")?;
        for key in dict.try_iter()? {
            let key = key?;
            if let Ok(name) = key.extract::<String>() {
                if is_dunder(&name) {
                    names.insert(name);
                }
            }
        }
    }
    Ok(names.len())
}

/// Slot names declared along the MRO (without `__dict__` and `__weakref__`).
fn declared_slots(tp: &Bound<'_, PyType>) -> PyResult<Vec<String>> {
    let mut slots = Vec::new();
    for cls in tp.mro().iter() {
        let Ok(declared) = cls.getattr("__dict__")?.get_item("__slots__") else {
            continue;
        };
        let names: Vec<String> = if let Ok(s) = declared.cast::<PyString>() {
            vec![s.to_string()]
        } else {
            declared
                .try_iter()?
                .filter_map(|n| n.ok()?.extract().ok())
                .collect()
        };
        slots.extend(
            names
                .into_iter()
                .filter(|n| n != "__dict__" && n != "__weakref__"),
        );
    }
    Ok(slots)
}

/// The attribute layout of `obj`'s type, and for user classes the measured per-instance
/// cost of keeping the same attributes in a `__dict__` versus in `__slots__`.
///
/// On 3.11+ reading the attribute names asks for `obj.__dict__`, which materializes the
/// instance's dict as `vars(obj)` would; sizes are taken before that.
pub fn layout(obj: &Bound<'_, PyAny>) -> PyResult<Layout> {
    let tp = obj.get_type();
    let has_dict = tp.getattr("__dictoffset__")?.extract::<isize>()? != 0;
    let slots = declared_slots(&tp)?;
    let mut attributes: Vec<String> = slots
        .iter()
        .filter(|s| obj.hasattr(s.as_str()).unwrap_or(false))
        .cloned()
        .collect();
    if has_dict {
        if let Ok(dict) = obj
            .getattr("__dict__")
            .and_then(|d| d.cast_into::<PyDict>().map_err(Into::into))
        {
            attributes.extend(
                dict.keys()
                    .iter()
                    .filter_map(|k| k.extract::<String>().ok()),
            );
        }
    }
    attributes.retain(|a| !is_dunder(a));
    let flags: u64 = tp.getattr("__flags__")?.extract()?;
    let user_class = flags & PY_TPFLAGS_HEAPTYPE != 0;
    let (dict_bytes, slots_bytes) = if user_class && !attributes.is_empty() {
        (
            per_instance(obj.py(), &attributes, false)?,
            per_instance(obj.py(), &attributes, true)?,
        )
    } else {
        (None, None)
    };
    Ok(Layout {
        has_dict,
        slots,
        attributes,
        dict_instance_bytes: dict_bytes,
        slots_instance_bytes: slots_bytes,
    })
}

/// Bytes one instance of a throwaway class takes with `attributes` set, measured with
/// tracemalloc over [`SAMPLE`] instances; with `slots`, the class declares exactly them.
fn per_instance(py: Python<'_>, attributes: &[String], slots: bool) -> PyResult<Option<u64>> {
    let namespace = PyDict::new(py);
    if slots {
        namespace.set_item("__slots__", PyTuple::new(py, attributes)?)?;
    }
    let cls = py.import("builtins")?.getattr("type")?.call1((
        "Measured",
        PyTuple::empty(py),
        namespace,
    ))?;
    let tracemalloc = py.import("tracemalloc")?;
    let was_tracing: bool = tracemalloc.call_method0("is_tracing")?.extract()?;
    if !was_tracing {
        tracemalloc.call_method0("start")?;
    }
    let holder = PyList::new(py, (0..SAMPLE).map(|_| py.None()))?;
    let traced = || -> PyResult<i64> {
        tracemalloc
            .call_method0("get_traced_memory")?
            .get_item(0)?
            .extract()
    };
    let object_new = py
        .import("builtins")?
        .getattr("object")?
        .getattr("__new__")?;
    let before = traced()?;
    for i in 0..SAMPLE {
        let instance = object_new.call1((&cls,))?;
        for name in attributes {
            instance.setattr(name.as_str(), py.None())?;
        }
        holder.set_item(i, instance)?;
    }
    let after = traced()?;
    if !was_tracing {
        tracemalloc.call_method0("stop")?;
    }
    let per = (after - before) / SAMPLE as i64;
    Ok((per > 0).then_some(per as u64))
}
