//! A frame's local variables read from memory (`fluoro dump --locals`): their names from the
//! code object, their values from the frame's slots, each shown as a bounded repr.
//!
//! The slots follow the frame's fixed part (`localsplus`; 3.10: `f_localsplus`), one word a
//! name of `co_localsplusnames` (3.10: `co_varnames`, `co_cellvars`, then `co_freevars`). An
//! empty slot is an unbound local; a cell or free variable's slot holds a cell, shown by its
//! contents; from 3.14 a slot is a `_PyStackRef`, whose low bits are tags.

use super::layouts::Layout;
use super::memory::{self, usize_at};
use super::values::{self, Values};
use serde::Serialize;

/// The most local variables read from one frame.
const MAX_LOCALS: usize = 1024;
/// The longest local's name read.
const MAX_NAME: usize = 256;

/// One bound local variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Local {
    pub name: String,
    /// Python's repr for None, bools, ints, floats, strs and bytes (shortened), the length of
    /// a list, tuple, dict or set (`<list of 3>`), else `<TypeName object at 0x…>`.
    pub repr: String,
}

/// The bound locals of the frame at `frame`, running the code object at `code`, in the code
/// object's order; `None` when its names could not be read or the frame no longer runs that
/// code (it returned, and another call took its place, while it was read).
pub fn frame_locals(values: &Values, frame: usize, code: usize) -> Option<Vec<Local>> {
    let l = values.layout;
    let cell = values.builtins.cell;
    let names = names(l, code)?;
    // The fixed part and the slots in one read: the code word says the slots are that code's.
    let mut raw = vec![0u8; l.frame_localsplus + names.len() * 8];
    memory::read(frame, &mut raw).ok()?;
    if l.stack_ref_object(usize_at(&raw, l.frame_code)) != code {
        return None;
    }
    let mut out = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        let word = usize_at(&raw, l.frame_localsplus + i * 8);
        if let Some(small) = l.slot_int(word) {
            out.push(Local {
                name,
                repr: small.to_string(),
            });
            continue;
        }
        let mut object = l.stack_ref_object(word);
        if object != 0 && cell != 0 && values::type_of(l, object) == Some(cell) {
            object = values::read_usize(object + l.cell_ref).unwrap_or(0);
        }
        if object == 0 {
            continue;
        }
        out.push(Local {
            name,
            repr: values.repr(object),
        });
    }
    Some(out)
}

/// The names of the code object's slots, in order.
fn names(l: &Layout, code: usize) -> Option<Vec<String>> {
    let mut tuples = vec![values::read_usize(code + l.code_local_names)?];
    for at in [l.code_cell_names, l.code_free_names].into_iter().flatten() {
        tuples.push(values::read_usize(code + at)?);
    }
    let mut names = Vec::new();
    for tuple in tuples {
        for item in values::tuple_items(l, tuple, MAX_LOCALS)? {
            names.push(values::read_str(l, item, MAX_NAME)?);
        }
    }
    names.truncate(MAX_LOCALS);
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpython::values::tests::{ascii_object, put, values};
    use crate::cpython::values::Builtins;

    #[test]
    fn reads_bound_locals_through_3_14_stack_refs() {
        let float_type = 0x1000;
        let none = [0u64; 4];
        let v = values(
            14,
            Builtins {
                float: float_type,
                none: none.as_ptr() as usize,
                ..Builtins::default()
            },
        );
        let l = v.layout;
        let names: Vec<Vec<u8>> = ["ratio", "gone", "small", "nothing"]
            .iter()
            .map(|n| ascii_object(l, n))
            .collect();
        let mut tuple = vec![0u8; l.tuple_items + 8 * names.len()];
        put(&mut tuple, l.var_size, names.len());
        for (i, name) in names.iter().enumerate() {
            put(&mut tuple, l.tuple_items + 8 * i, name.as_ptr() as usize);
        }
        let mut code = vec![0u8; l.code_local_names + 8];
        put(&mut code, l.code_local_names, tuple.as_ptr() as usize);
        let mut float = [0u8; 24];
        put(&mut float, l.object_type, float_type);
        float[l.float_value..l.float_value + 8].copy_from_slice(&1.5f64.to_ne_bytes());
        // Tags: 1 counts no reference (and alone is the empty slot), 3 holds a small int.
        let code_at = code.as_ptr() as usize;
        let mut frame = vec![0u8; l.frame_localsplus + 8 * names.len()];
        put(&mut frame, l.frame_code, code_at | 1);
        put(&mut frame, l.frame_localsplus, float.as_ptr() as usize | 1);
        put(&mut frame, l.frame_localsplus + 8, 1);
        put(&mut frame, l.frame_localsplus + 16, (7 << 2) | 3);
        put(&mut frame, l.frame_localsplus + 24, v.builtins.none | 1);
        let frame_at = frame.as_ptr() as usize;
        let found = frame_locals(&v, frame_at, code_at).unwrap();
        let shown: Vec<(&str, &str)> = found
            .iter()
            .map(|v| (v.name.as_str(), v.repr.as_str()))
            .collect();
        assert_eq!(
            shown,
            [("ratio", "1.5"), ("small", "7"), ("nothing", "None")]
        );
        // Another call's frame in its place: nothing is shown as this one's.
        assert_eq!(frame_locals(&v, frame_at, code_at + 8), None);
    }
}
