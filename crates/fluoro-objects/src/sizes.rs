//! The table of common object sizes and of container growth (`fluoro inspect --sizes`).

use fluoro_render::table;
use serde::{Deserialize, Serialize};

/// Measured sizes of common objects, and how containers over-allocate as they grow.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SizesTable {
    pub python: String,
    pub objects: Vec<SizeRow>,
    pub growth: Vec<Growth>,
}

/// `sys.getsizeof` of one example object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SizeRow {
    pub label: String,
    pub expr: String,
    pub bytes: u64,
}

/// A container's size as items are added one by one: the steps where it resized.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Growth {
    pub container: String,
    pub steps: Vec<GrowthStep>,
}

/// After `len` items the container took `bytes` (and kept that size until the next step).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct GrowthStep {
    pub len: u64,
    pub bytes: u64,
}

impl SizesTable {
    /// Renders both tables for a terminal.
    pub fn render_text(&self) -> String {
        let mut out = format!("Object sizes on {} (sys.getsizeof, bytes)\n", self.python);
        let rows = self
            .objects
            .iter()
            .map(|r| vec![r.label.clone(), r.expr.clone(), r.bytes.to_string()])
            .collect();
        out.push_str(&table(
            &["object", "expression", "bytes"],
            &[false, false, true],
            rows,
        ));
        out.push_str("\n\nGrowth as items are added one at a time (a row per resize)\n");
        for g in &self.growth {
            let mut prev: Option<GrowthStep> = None;
            let rows = g
                .steps
                .iter()
                .map(|s| {
                    let row = vec![
                        g.container.clone(),
                        s.len.to_string(),
                        s.bytes.to_string(),
                        prev.map(|p| format!("+{}", s.bytes - p.bytes.min(s.bytes)))
                            .unwrap_or_default(),
                    ];
                    prev = Some(*s);
                    row
                })
                .collect();
            out.push_str(&table(
                &["container", "len", "bytes", "grew by"],
                &[false, true, true, true],
                rows,
            ));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_snapshot() {
        let t = SizesTable {
            python: "CPython 3.11.7".into(),
            objects: vec![
                SizeRow {
                    label: "int (small)".into(),
                    expr: "42".into(),
                    bytes: 28,
                },
                SizeRow {
                    label: "list (empty)".into(),
                    expr: "[]".into(),
                    bytes: 56,
                },
            ],
            growth: vec![Growth {
                container: "list".into(),
                steps: vec![
                    GrowthStep { len: 0, bytes: 56 },
                    GrowthStep { len: 1, bytes: 88 },
                    GrowthStep { len: 5, bytes: 120 },
                ],
            }],
        };
        insta::assert_snapshot!(t.render_text());
    }
}
