//! One object, inspected.

use fluoro_render::escape::for_terminal;
use fluoro_render::{bytes, fields, table};
use serde::{Deserialize, Serialize};

/// Everything `fluoro inspect` reports about one object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ObjectReport {
    /// `repr()` of the object, cut to a line.
    pub repr: String,
    /// `module.qualname` of its type.
    pub type_name: String,
    /// The type's method resolution order, as qualified names.
    pub mro: Vec<String>,
    pub id: u64,
    /// References to the object, not counting the ones fluoro holds while looking.
    pub refcount: i64,
    pub hashable: bool,
    /// Whether the type takes part in cyclic GC, and whether this object is tracked now.
    pub gc_type: bool,
    pub gc_tracked: bool,
    /// `sys.getsizeof(obj)`.
    pub shallow_size: u64,
    pub deep: DeepSize,
    pub basicsize: u64,
    pub itemsize: u64,
    pub len: Option<u64>,
    pub layout: Layout,
    /// Distinct dunder names the type and its bases define.
    pub special_methods: usize,
    pub cached: Option<Cached>,
    /// Immortal objects (3.12+) are never freed; `None` where the interpreter has no such notion.
    pub immortal: Option<bool>,
}

/// The deep size and what it is made of.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeepSize {
    pub bytes: u64,
    pub objects: u64,
    /// Cached singletons met and left out (counted when asked for).
    pub cached_skipped: u64,
    /// Types, classes, modules, functions and code met and left out as shared.
    pub shared_skipped: u64,
    /// Largest shares of the deep size by type.
    pub by_type: Vec<TypeShare>,
}

/// One type's share of a deep size.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TypeShare {
    pub type_name: String,
    pub count: u64,
    pub bytes: u64,
}

/// How instances of the type keep their attributes, and what each way costs per instance.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Layout {
    /// Instances have a `__dict__` (managed or not).
    pub has_dict: bool,
    /// Slot names declared along the MRO.
    pub slots: Vec<String>,
    /// Instance attribute names (from the dict or filled slots).
    pub attributes: Vec<String>,
    /// Bytes of one instance with these attributes in a `__dict__` (object + dict).
    pub dict_instance_bytes: Option<u64>,
    /// Bytes of one instance with the same attributes in `__slots__`.
    pub slots_instance_bytes: Option<u64>,
}

/// Why the object is shared rather than owned: a cache or a singleton of the interpreter.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Cached {
    /// An int from -5 to 256, preallocated at start-up.
    SmallInt,
    /// A string in the interpreter's interned table.
    InternedString,
    /// A one-character Latin-1 string or a one-byte bytes: cached by the interpreter.
    SingleCharacter,
    /// `None`, `True`, `False`, `...`, `NotImplemented`, `()`, `""`, `b""`.
    Singleton,
}

impl Cached {
    fn describe(self) -> &'static str {
        match self {
            Cached::SmallInt => "cached small int (-5..256), shared by every user",
            Cached::InternedString => "interned string, shared through the intern table",
            Cached::SingleCharacter => "cached one-character object, shared by every user",
            Cached::Singleton => "interpreter singleton",
        }
    }
}

impl ObjectReport {
    /// Renders the report for a terminal.
    pub fn render_text(&self) -> String {
        // A `__repr__` returns what it likes: its newlines and escapes are shown, not obeyed.
        let mut out = format!("{}\n", for_terminal(&self.repr));
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let mut rows = vec![
            ("type", self.type_name.clone()),
            ("mro", self.mro.join(" → ")),
            ("id", format!("{:#x}", self.id)),
            ("refcount", format!("{} (besides fluoro's own)", self.refcount)),
            ("hashable", yes_no(self.hashable).to_owned()),
            (
                "gc",
                match (self.gc_type, self.gc_tracked) {
                    (false, _) => "type not collected by the cycle GC".to_owned(),
                    (true, true) => "tracked by the cycle GC".to_owned(),
                    (true, false) => "GC type, this object untracked".to_owned(),
                },
            ),
            ("size", format!("{} shallow (sys.getsizeof)", bytes(self.shallow_size))),
            (
                "deep size",
                format!(
                    "{} in {} objects ({} cached singletons and {} shared types, modules or functions left out)",
                    bytes(self.deep.bytes),
                    self.deep.objects,
                    self.deep.cached_skipped,
                    self.deep.shared_skipped
                ),
            ),
            (
                "layout",
                format!("__basicsize__ {} B, __itemsize__ {} B", self.basicsize, self.itemsize),
            ),
        ];
        if let Some(len) = self.len {
            rows.push(("len", len.to_string()));
        }
        let l = &self.layout;
        let storage = match (l.has_dict, l.slots.is_empty()) {
            (true, true) => "__dict__".to_owned(),
            (true, false) => format!("__dict__ and __slots__ ({})", l.slots.join(", ")),
            (false, false) => format!("__slots__ ({})", l.slots.join(", ")),
            (false, true) => "fixed (no __dict__, no __slots__)".to_owned(),
        };
        rows.push(("attributes", storage));
        if let (Some(d), Some(s)) = (l.dict_instance_bytes, l.slots_instance_bytes) {
            rows.push((
                "per instance",
                format!(
                    "{} with a __dict__, {} with __slots__ for its {} attributes",
                    bytes(d),
                    bytes(s),
                    l.attributes.len()
                ),
            ));
        }
        rows.push(("special methods", self.special_methods.to_string()));
        if let Some(c) = self.cached {
            rows.push(("cached", c.describe().to_owned()));
        }
        if let Some(immortal) = self.immortal {
            rows.push(("immortal", yes_no(immortal).to_owned()));
        }
        out.push_str(&fields(&rows));
        if self.deep.by_type.len() > 1 {
            out.push_str("\n  deep size by type\n");
            let rows = self
                .deep
                .by_type
                .iter()
                .map(|t| vec![t.type_name.clone(), t.count.to_string(), bytes(t.bytes)])
                .collect();
            for line in table(&["type", "objects", "bytes"], &[false, true, true], rows).lines() {
                out.push_str("  ");
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ObjectReport {
        ObjectReport {
            repr: "<__main__.Point object at 0x7f0000001000>".into(),
            type_name: "__main__.Point".into(),
            mro: vec!["__main__.Point".into(), "builtins.object".into()],
            id: 0x7f00_0000_1000,
            refcount: 1,
            hashable: true,
            gc_type: true,
            gc_tracked: true,
            shallow_size: 56,
            deep: DeepSize {
                bytes: 160,
                objects: 3,
                cached_skipped: 1,
                shared_skipped: 1,
                by_type: vec![
                    TypeShare {
                        type_name: "__main__.Point".into(),
                        count: 1,
                        bytes: 56,
                    },
                    TypeShare {
                        type_name: "builtins.float".into(),
                        count: 2,
                        bytes: 48,
                    },
                ],
            },
            basicsize: 16,
            itemsize: 0,
            len: None,
            layout: Layout {
                has_dict: true,
                slots: vec![],
                attributes: vec!["x".into(), "y".into()],
                dict_instance_bytes: Some(152),
                slots_instance_bytes: Some(48),
            },
            special_methods: 26,
            cached: None,
            immortal: Some(false),
        }
    }

    #[test]
    fn text_snapshot() {
        insta::assert_snapshot!(sample().render_text());
    }

    #[test]
    fn a_hostile_repr_and_type_name_are_shown_escaped() {
        let mut r = sample();
        r.repr = "\x1b[2J\x1b]0;pwned\x07\nfake line".into();
        r.type_name = "__main__.P\x1b[31m".into();
        r.deep.by_type[0].type_name = "x\ny".into();
        let text = r.render_text();
        assert!(!text.contains('\x1b'), "{text:?}");
        assert!(
            text.starts_with("\\x1b[2J\\x1b]0;pwned\\x07\\nfake line\n"),
            "{text}"
        );
        assert_eq!(text.lines().count(), sample().render_text().lines().count());
    }

    #[test]
    fn json_round_trip() {
        let r = sample();
        let text = serde_json::to_string(&r).unwrap();
        let back: ObjectReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
    }
}
