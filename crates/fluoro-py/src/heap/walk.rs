//! The stop-the-world walk behind a heap snapshot: every object the cycle collector tracks,
//! and everything reachable from them through `tp_traverse`, read with the GIL held and the
//! collector paused. No Python object is created per heap object (the one exception is the
//! int a C-level `__sizeof__` returns, dropped at once); instance attributes kept inline
//! (3.11+) are reached through `tp_traverse` without materializing a `__dict__`.
//!
//! All of the heap snapshot's `unsafe` code lives here.

use fluoro_heap::{GraphBuilder, HeapGraph, Node, NodeIndex};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rustc_hash::FxHashMap;
use std::ffi::CStr;
use std::os::raw::{c_int, c_void};

type Object = *mut ffi::PyObject;
/// `PyList_GET_ITEM` or `PyTuple_GET_ITEM`.
type ItemAt = unsafe fn(Object, ffi::Py_ssize_t) -> Object;

/// List and tuple items get an index label up to here; beyond, labels would outweigh edges.
const INDEXED_ITEMS: usize = 1024;
/// Dict keys longer than this are not written as labels.
const KEY_LABEL_CHARS: isize = 40;
/// `sizeof(PyGC_Head)` on 64-bit builds of 3.10–3.13.
const GC_HEAD: u64 = 16;
/// 3.11+: the managed dict (and 3.12+ weakref) pointers before the object, counted by
/// sys.getsizeof.
const PREHEADER: u64 = 16;
/// `Py_TPFLAGS_MANAGED_WEAKREF` (3.12+) and `Py_TPFLAGS_MANAGED_DICT` (3.11+), spelled out:
/// the bindings for 3.10 do not name them.
const MANAGED_WEAKREF: u64 = 1 << 3;
const MANAGED_DICT: u64 = 1 << 4;

/// How `sys.getsizeof` gets an object's size, decided once per type.
enum SizeOf {
    /// `object.__sizeof__`: basicsize plus itemsize times `ob_size`.
    Layout,
    /// A type's own `__sizeof__` (list, dict, str, int...), called through this descriptor.
    Method(Py<PyAny>),
}

/// What the walk knows about one type.
struct TypeInfo {
    index: u32,
    size_of: SizeOf,
    /// Bytes sys.getsizeof adds for the GC header and (3.12+) the pre-header.
    extra: u64,
    /// `tp_is_gc` decides per object whether the GC header exists (type objects).
    per_object_gc: bool,
    /// Object slots (`__slots__` members): byte offset in the object and label.
    members: Vec<(isize, u32)>,
    /// Where the instance dict pointer is, if any: a byte offset from the object.
    dict_at: Option<isize>,
    /// 3.11+: labels of the attributes kept inline (the type's shared dict keys, in order).
    inline: Vec<u32>,
    heap_type: bool,
}

/// Names and versions the walk needs, looked up once.
struct Walker<'py> {
    py: Python<'py>,
    builder: GraphBuilder,
    types: FxHashMap<usize, TypeInfo>,
    index: FxHashMap<usize, NodeIndex>,
    objects: Vec<Object>,
    /// References to each node found in the graph.
    found: Vec<u32>,
    object_sizeof: Py<PyAny>,
    minor: u8,
    /// `[i]` labels, made on first use: 0 for not yet, else the string index plus one.
    index_labels: Vec<u32>,
    dict_label: u32,
    class_label: u32,
    refs: Vec<(Object, Option<u32>)>,
    scratch: Vec<Object>,
}

extern "C" fn collect(object: *mut ffi::PyObject, out: *mut c_void) -> c_int {
    // SAFETY: `out` is the `&mut Vec<Object>` passed by `traverse` below, alive for the whole
    // tp_traverse call that invokes this visitor.
    let out = unsafe { &mut *(out as *mut Vec<Object>) };
    if !object.is_null() {
        out.push(object);
    }
    0
}

/// The references `obj` holds, as its type's `tp_traverse` reports them.
fn traverse(obj: Object, out: &mut Vec<Object>) {
    out.clear();
    // SAFETY: the caller holds the GIL and `obj` is alive (reachable from the tracked objects
    // held by the gc.get_objects() list, with the collector paused). tp_traverse only calls
    // our visitor, which runs no Python code.
    unsafe {
        if !is_gc(obj) {
            return;
        }
        if let Some(visit) = (*ffi::Py_TYPE(obj)).tp_traverse {
            visit(obj, collect, out as *mut Vec<Object> as *mut c_void);
        }
    }
}

/// Whether the collector would treat `obj` as a container (`_PyObject_IS_GC`).
///
/// # Safety
/// `obj` must be a live object and the GIL held.
unsafe fn is_gc(obj: Object) -> bool {
    let tp = ffi::Py_TYPE(obj);
    ffi::PyType_IS_GC(tp) != 0 && (*tp).tp_is_gc.is_none_or(|is_gc| is_gc(obj) != 0)
}

/// `['key']` for a short ASCII str key, read in place: nothing allocated in the interpreter.
///
/// # Safety
/// `obj` must be a live object and the GIL held.
unsafe fn key_label(obj: Object) -> Option<String> {
    if ffi::PyUnicode_Check(obj) == 0 || !is_ascii(obj) {
        return None;
    }
    let len = ffi::PyUnicode_GET_LENGTH(obj);
    if len > KEY_LABEL_CHARS {
        return None;
    }
    // An ASCII str keeps its characters right after its header.
    let data = ffi::PyUnicode_DATA(obj) as *const u8;
    let text = std::str::from_utf8(std::slice::from_raw_parts(data, len as usize)).ok()?;
    Some(format!("['{text}']"))
}

/// `PyUnicode_IS_ASCII`, which pyo3-ffi offers only before 3.14.
///
/// # Safety
/// `obj` must be a live str.
#[cfg(not(Py_3_14))]
unsafe fn is_ascii(obj: Object) -> bool {
    ffi::PyUnicode_IS_ASCII(obj) != 0
}

/// `PyUnicode_IS_ASCII` for 3.14+: the `ascii` bit of the str's `state` bitfield, after
/// `interned` (2 bits, a byte on free-threaded builds), `kind` (3) and `compact` (1), as
/// cpython/unicodeobject.h lays it out.
///
/// # Safety
/// `obj` must be a live str.
#[cfg(Py_3_14)]
unsafe fn is_ascii(obj: Object) -> bool {
    const ASCII_BIT: u32 = if cfg!(Py_GIL_DISABLED) { 12 } else { 6 };
    (*(obj as *mut ffi::PyASCIIObject)).state >> ASCII_BIT & 1 != 0
}

impl<'py> Walker<'py> {
    fn new(py: Python<'py>) -> PyResult<Walker<'py>> {
        let mut builder = GraphBuilder::new();
        let dict_label = builder.string_index("__dict__");
        let class_label = builder.string_index("__class__");
        let object_sizeof = py
            .import("builtins")?
            .getattr("object")?
            .getattr("__sizeof__")?
            .unbind();
        Ok(Walker {
            py,
            builder,
            types: FxHashMap::default(),
            index: FxHashMap::default(),
            objects: Vec::new(),
            found: Vec::new(),
            object_sizeof,
            minor: py.version_info().minor,
            index_labels: Vec::new(),
            dict_label,
            class_label,
            refs: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// The label `[i]` of a list or tuple item, up to [`INDEXED_ITEMS`].
    fn index_label(&mut self, i: usize) -> Option<u32> {
        if i >= INDEXED_ITEMS {
            return None;
        }
        if self.index_labels.len() <= i {
            self.index_labels.resize(i + 1, 0);
        }
        if self.index_labels[i] == 0 {
            self.index_labels[i] = self.builder.string_index(&format!("[{i}]")) + 1;
        }
        Some(self.index_labels[i] - 1)
    }

    /// The node of `obj`, added to the walk's queue on first sight.
    fn node_of(&mut self, obj: Object) -> NodeIndex {
        let next = self.objects.len() as NodeIndex;
        let index = *self.index.entry(obj as usize).or_insert(next);
        if index == next {
            self.objects.push(obj);
            self.found.push(0);
        }
        index
    }

    /// What the walk needs to know about `obj`'s type.
    fn type_info(&mut self, tp: *mut ffi::PyTypeObject) -> PyResult<&TypeInfo> {
        let key = tp as usize;
        if !self.types.contains_key(&key) {
            let info = self.describe_type(tp)?;
            self.types.insert(key, info);
        }
        Ok(&self.types[&key])
    }

    fn describe_type(&mut self, tp: *mut ffi::PyTypeObject) -> PyResult<TypeInfo> {
        let py = self.py;
        // SAFETY: `tp` is the type of a live object, so it is alive too; we take our own
        // reference for the Bound.
        let tp_obj = unsafe { Bound::from_borrowed_ptr(py, tp as *mut ffi::PyObject) };
        let name = type_name(&tp_obj);
        let index = self.builder.type_index(&name);
        // `__sizeof__` as the type's MRO resolves it, without calling any attribute hook.
        let mut method = None;
        for base in tp_obj.getattr("__mro__")?.try_iter()? {
            let base = base?;
            if let Ok(found) = base.getattr("__dict__")?.get_item("__sizeof__") {
                method = Some(found);
                break;
            }
        }
        let size_of = match method {
            Some(m) if !m.is(self.object_sizeof.bind(py)) => SizeOf::Method(m.unbind()),
            _ => SizeOf::Layout,
        };
        // SAFETY: reading fields of a live type object with the GIL held.
        let (flags, dictoffset, gc, per_object_gc) = unsafe {
            (
                (*tp).tp_flags,
                (*tp).tp_dictoffset,
                ffi::PyType_IS_GC(tp) != 0,
                (*tp).tp_is_gc.is_some(),
            )
        };
        let managed_dict = self.minor >= 11 && flags & MANAGED_DICT != 0;
        let mut extra = if gc { GC_HEAD } else { 0 };
        let preheader = match self.minor {
            11 => MANAGED_DICT,
            12.. => MANAGED_DICT | MANAGED_WEAKREF,
            _ => 0,
        };
        if flags & preheader != 0 {
            extra += PREHEADER;
        }
        let dict_at = if managed_dict {
            // 3.11-3.13 keep the materialized dict (or a tagged values pointer) three words
            // before the object.
            Some(-3 * std::mem::size_of::<Object>() as isize)
        } else if dictoffset > 0 {
            Some(dictoffset)
        } else {
            None
        };
        let mut members = Vec::new();
        let mut base = tp;
        while !base.is_null() {
            // SAFETY: tp_members is NULL or an array ended by an entry with a NULL name, and
            // tp_base is NULL or a live base type; both are owned by the live type `tp`.
            unsafe {
                let mut m = (*base).tp_members;
                while !m.is_null() && !(*m).name.is_null() {
                    if (*m).type_code == ffi::Py_T_OBJECT_EX || (*m).type_code == 6 {
                        let attr = CStr::from_ptr((*m).name).to_string_lossy();
                        let label = self.builder.string_index(&format!(".{attr}"));
                        members.push(((*m).offset, label));
                    }
                    m = m.add(1);
                }
                base = (*base).tp_base;
            }
        }
        let inline = if managed_dict && flags & ffi::Py_TPFLAGS_HEAPTYPE != 0 {
            self.inline_attributes(tp)
        } else {
            Vec::new()
        };
        Ok(TypeInfo {
            inline,
            index,
            size_of,
            extra,
            per_object_gc,
            members,
            dict_at,
            heap_type: flags & ffi::Py_TPFLAGS_HEAPTYPE != 0,
        })
    }

    /// The labels of the attributes instances keep inline: the names in the type's shared
    /// dict keys, in entry order, which is the order `tp_traverse` visits the values in.
    fn inline_attributes(&mut self, tp: *mut ffi::PyTypeObject) -> Vec<u32> {
        let mut labels = Vec::new();
        // SAFETY: `tp` is a live heap type (checked by the caller), so it is a
        // PyHeapTypeObject. Its ht_cached_keys is NULL or a PyDictKeysObject laid out, on
        // 3.11-3.13 default builds, as: dk_refcnt (8 bytes), dk_log2_size, dk_log2_index_bytes,
        // dk_kind (1 byte each), dk_version (4, at 12), dk_usable (8, at 16), dk_nentries (8,
        // at 24), the index table (1 << dk_log2_index_bytes bytes, at 32), then the entries,
        // (key, value) pointer pairs for str-keyed (shared) keys.
        unsafe {
            let keys = (*(tp as *mut ffi::PyHeapTypeObject)).ht_cached_keys as *const u8;
            if keys.is_null() || !(11..=13).contains(&self.minor) {
                return labels;
            }
            let log2_index_bytes = *keys.add(9);
            let kind = *keys.add(10);
            let entries_count = *(keys.add(24) as *const isize);
            // dk_kind 0 is a general table; shared keys are 1 (unicode) or 2 (split).
            if kind == 0 || log2_index_bytes > 40 || !(0..4096).contains(&entries_count) {
                return labels;
            }
            let entries = keys.add(32 + (1usize << log2_index_bytes)) as *const [Object; 2];
            for i in 0..entries_count as usize {
                let key = (*entries.add(i))[0];
                match (!key.is_null()).then(|| key_label(key)).flatten() {
                    Some(k) => {
                        let name = k.trim_start_matches("['").trim_end_matches("']");
                        labels.push(self.builder.string_index(&format!(".{name}")));
                    }
                    None => return Vec::new(),
                }
            }
        }
        labels
    }

    /// `sys.getsizeof(obj)`, computed the way it does.
    fn size(&self, obj: Object, info: &TypeInfo) -> u64 {
        // SAFETY: `obj` is live and the GIL held; the type's fields are read-only here.
        unsafe {
            let tp = ffi::Py_TYPE(obj);
            let base = match &info.size_of {
                SizeOf::Layout => {
                    let item = (*tp).tp_itemsize;
                    let items = if item > 0 {
                        ffi::Py_SIZE(obj) * item
                    } else {
                        0
                    };
                    ((*tp).tp_basicsize + items).max(0) as u64
                }
                SizeOf::Method(method) => {
                    let result = ffi::PyObject_CallOneArg(method.as_ptr(), obj);
                    if result.is_null() {
                        ffi::PyErr_Clear();
                        return 0;
                    }
                    let n = ffi::PyLong_AsSsize_t(result);
                    ffi::Py_DECREF(result);
                    if n < 0 {
                        ffi::PyErr_Clear();
                        return 0;
                    }
                    n as u64
                }
            };
            // 3.10 and 3.13 ask `tp_is_gc` (static types have no GC header); 3.11 and 3.12
            // go by the type alone.
            let per_object = self.minor == 10 || self.minor >= 13;
            let gc_head = if info.per_object_gc && per_object && !is_gc(obj) {
                0
            } else {
                info.extra
            };
            base + gc_head
        }
    }

    /// The references of `obj` with their labels, into `self.refs`.
    fn references(&mut self, obj: Object, info_key: usize) {
        self.refs.clear();
        // SAFETY: `obj` is live and the GIL held. Exact lists, tuples and dicts are read
        // through their own API (borrowed references, nothing allocated, no Python code run);
        // other objects through tp_traverse.
        unsafe {
            let items: Option<(isize, ItemAt)> = if ffi::PyList_CheckExact(obj) != 0 {
                Some((ffi::PyList_GET_SIZE(obj), ffi::PyList_GET_ITEM))
            } else if ffi::PyTuple_CheckExact(obj) != 0 {
                Some((ffi::PyTuple_GET_SIZE(obj), ffi::PyTuple_GET_ITEM))
            } else {
                None
            };
            if let Some((len, get)) = items {
                for i in 0..len {
                    let item = get(obj, i);
                    if !item.is_null() {
                        let label = self.index_label(i as usize);
                        self.refs.push((item, label));
                    }
                }
                return;
            }
            if ffi::PyDict_CheckExact(obj) != 0 {
                let mut pos: ffi::Py_ssize_t = 0;
                let mut key: Object = std::ptr::null_mut();
                let mut value: Object = std::ptr::null_mut();
                while ffi::PyDict_Next(obj, &mut pos, &mut key, &mut value) != 0 {
                    let label = key_label(key).map(|k| self.builder.string_index(&k));
                    self.refs.push((key, None));
                    self.refs.push((value, label));
                }
                return;
            }
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        traverse(obj, &mut scratch);
        let info = &self.types[&info_key];
        for &r in &scratch {
            let mut label = None;
            if info.heap_type {
                // SAFETY: member offsets and the dict offset lie inside the object's memory
                // (or, for managed dicts, in its pre-header), as the type declares them.
                unsafe {
                    for &(offset, member_label) in &info.members {
                        if *((obj as *const u8).offset(offset) as *const Object) == r {
                            label = Some(member_label);
                            break;
                        }
                    }
                    if label.is_none() && ffi::Py_TYPE(obj) as Object == r {
                        label = Some(self.class_label);
                    }
                }
            }
            if label.is_none() {
                if let Some(at) = info.dict_at {
                    // SAFETY: as above: the type says a dict pointer lives at this offset.
                    if unsafe { *((obj as *const u8).offset(at) as *const Object) } == r {
                        label = Some(self.dict_label);
                    }
                }
            }
            self.refs.push((r, label));
        }
        // Values of inline attributes are the references left unnamed, in key order; named
        // only when there is exactly one per key (every attribute set), else ambiguous.
        if !info.inline.is_empty() {
            let unnamed: Vec<usize> = (0..self.refs.len())
                .filter(|&i| self.refs[i].1.is_none())
                .collect();
            if unnamed.len() == info.inline.len() {
                for (&i, &label) in unnamed.iter().zip(&info.inline) {
                    self.refs[i].1 = Some(label);
                }
            }
        }
        self.scratch = scratch;
    }
}

/// `module.qualname` of a type; builtins go by their bare name.
fn type_name(tp: &Bound<'_, PyAny>) -> String {
    let qualname = tp
        .getattr("__qualname__")
        .and_then(|q| q.extract::<String>())
        .unwrap_or_else(|_| "?".into());
    match tp.getattr("__module__").and_then(|m| m.extract::<String>()) {
        Ok(module) if module != "builtins" => format!("{module}.{qualname}"),
        _ => qualname,
    }
}

/// Pauses the cycle collector for the walk and restores it after.
struct GcPaused<'py> {
    gc: Bound<'py, PyModule>,
    was_enabled: bool,
}

impl<'py> GcPaused<'py> {
    fn new(py: Python<'py>) -> PyResult<GcPaused<'py>> {
        let gc = py.import("gc")?;
        let was_enabled = gc.call_method0("isenabled")?.is_truthy()?;
        gc.call_method0("disable")?;
        Ok(GcPaused { gc, was_enabled })
    }
}

impl Drop for GcPaused<'_> {
    fn drop(&mut self) {
        if self.was_enabled {
            let _ = self.gc.call_method0("enable");
        }
    }
}

/// Where allocations were tracked, each object's allocation site ("cache.py:41"). Allocation
/// tracking does not feed snapshots yet, so there is none.
fn allocation_site(_obj: Object) -> Option<&'static str> {
    None
}

/// Walks the heap into a graph.
pub fn snapshot(py: Python<'_>) -> PyResult<HeapGraph> {
    let _paused = GcPaused::new(py)?;
    let gc = py.import("gc")?;
    let sys = py.import("sys")?;
    let tracked = gc.call_method0("get_objects")?.cast_into::<PyList>()?;
    let modules = sys.getattr("modules")?.cast_into::<PyDict>()?;
    let mut w = Walker::new(py)?;
    // The walk's own references, not to be taken for references from outside.
    let mut held: FxHashMap<usize, i64> = FxHashMap::default();
    for handle in [
        gc.as_ptr(),
        sys.as_ptr(),
        modules.as_ptr(),
        w.object_sizeof.as_ptr(),
    ] {
        *held.entry(handle as usize).or_default() += 1;
    }
    // Room for the tracked objects and as many untracked ones (str, int...) they reach.
    let expected = 2 * tracked.len() + 1024;
    w.index.reserve(expected);
    w.objects.reserve(expected);
    w.found.reserve(expected);
    w.builder.reserve(expected, 2 * expected);
    for item in tracked.iter() {
        w.node_of(item.as_ptr());
    }
    let in_list = w.objects.len();
    let modules_node = w.node_of(modules.as_ptr());
    let mut i = 0;
    while i < w.objects.len() {
        let obj = w.objects[i];
        // SAFETY: `obj` is live (see `traverse`); reading its type pointer is valid.
        let tp = unsafe { ffi::Py_TYPE(obj) };
        let info = w.type_info(tp)?;
        let type_index = info.index;
        let size = w.size(obj, &w.types[&(tp as usize)]);
        let site = allocation_site(obj).map(|s| w.builder.string_index(s));
        w.builder.node(Node {
            id: obj as u64,
            type_index,
            size,
            site,
        });
        w.references(obj, tp as usize);
        let refs = std::mem::take(&mut w.refs);
        for &(r, label) in &refs {
            let target = w.node_of(r);
            w.found[target as usize] += 1;
            w.builder.edge(target, label);
        }
        w.refs = refs;
        i += 1;
    }
    let modules_label = w.builder.string_index("sys.modules");
    w.builder.root(modules_node, Some(modules_label));
    for info in w.types.values() {
        if let SizeOf::Method(method) = &info.size_of {
            *held.entry(method.as_ptr() as usize).or_default() += 1;
        }
    }
    for (i, &obj) in w.objects.iter().enumerate() {
        // SAFETY: every object of the walk is still alive (nothing ran that could free it).
        let refcount = unsafe { ffi::Py_REFCNT(obj) } as i64;
        let ours = (i < in_list) as i64 + held.get(&(obj as usize)).copied().unwrap_or(0);
        if refcount - ours > w.found[i] as i64 && i != modules_node as usize {
            w.builder.root(i as NodeIndex, None);
        }
    }
    drop(tracked);
    let version = py.version_info();
    w.builder.meta(
        "python",
        &format!(
            "CPython {}.{}.{}",
            version.major, version.minor, version.patch
        ),
    );
    w.builder.meta("pid", &std::process::id().to_string());
    w.builder
        .finish()
        .map_err(pyo3::exceptions::PyRuntimeError::new_err)
}

/// What a collection of `generation` is about to free: among the tracked objects of
/// generations 0..=`generation`, those only referenced from each other (the collector's own
/// rule), by type: (name, objects, bytes). Called from a `gc.callbacks` "start" phase; it
/// only reads, and its temporary lists are gone before the collection goes on.
pub fn cyclic_garbage(py: Python<'_>, generation: usize) -> PyResult<Vec<(String, u64, u64)>> {
    let gc = py.import("gc")?;
    let mut lists = Vec::new();
    let mut members: Vec<Object> = Vec::new();
    for g in 0..=generation.min(2) {
        let list = gc
            .call_method1("get_objects", (g,))?
            .cast_into::<PyList>()?;
        members.extend(list.iter().map(|o| o.as_ptr()));
        lists.push(list);
    }
    let index: FxHashMap<usize, usize> = members
        .iter()
        .enumerate()
        .map(|(i, &o)| (o as usize, i))
        .collect();
    // References from outside the generations: refcount, less the list's, less internal ones.
    // SAFETY: every member is held alive by one of `lists`; the GIL is held.
    let mut outside: Vec<i64> = members
        .iter()
        .map(|&o| unsafe { ffi::Py_REFCNT(o) } as i64 - 1)
        .collect();
    let mut refs = Vec::new();
    for &o in &members {
        traverse(o, &mut refs);
        for r in &refs {
            if let Some(&j) = index.get(&(*r as usize)) {
                outside[j] -= 1;
            }
        }
    }
    let mut alive: Vec<bool> = outside.iter().map(|&n| n > 0).collect();
    let mut stack: Vec<usize> = (0..members.len()).filter(|&i| alive[i]).collect();
    while let Some(i) = stack.pop() {
        traverse(members[i], &mut refs);
        for r in &refs {
            if let Some(&j) = index.get(&(*r as usize)) {
                if !alive[j] {
                    alive[j] = true;
                    stack.push(j);
                }
            }
        }
    }
    let mut w = Walker::new(py)?;
    let mut by_type: FxHashMap<u32, (u64, u64)> = FxHashMap::default();
    for (i, &o) in members.iter().enumerate() {
        if alive[i] {
            continue;
        }
        // SAFETY: `o` is alive (held by `lists`).
        let tp = unsafe { ffi::Py_TYPE(o) };
        let type_index = w.type_info(tp)?.index;
        let size = w.size(o, &w.types[&(tp as usize)]);
        let entry = by_type.entry(type_index).or_default();
        entry.0 += 1;
        entry.1 += size;
    }
    drop(lists);
    let graph_types = w.builder.finish().map(|g| g.types).unwrap_or_default();
    Ok(by_type
        .into_iter()
        .map(|(t, (n, b))| {
            let name = graph_types.get(t as usize).cloned().unwrap_or_default();
            (name, n, b)
        })
        .collect())
}
