//! The per-line table: self weight of each source line that was executing innermost.

use super::Measure;
use fluoro_profile::Profile;
use std::collections::HashMap;

/// One source line's self weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineStats<'p> {
    pub filename: &'p str,
    pub line: u32,
    /// The function the line belongs to (the first seen, should several share it).
    pub qualname: &'p str,
    pub self_ns: u64,
    pub self_samples: u64,
}

/// Every line that was innermost in some sample `measure` counts, heaviest first (ties by
/// file and line).
pub fn line_table(profile: &Profile, measure: Measure) -> Vec<LineStats<'_>> {
    let mut rows: Vec<LineStats<'_>> = Vec::new();
    let mut index: HashMap<(&str, u32), usize> = HashMap::new();
    for w in &profile.weights {
        if !measure.counts(w) {
            continue;
        }
        let samples = measure.samples(w);
        let Some(&leaf) = profile.frames(w.stack).last() else {
            continue;
        };
        let code = profile.code(leaf);
        let line = profile.line(leaf);
        let at = *index
            .entry((code.filename.as_str(), line))
            .or_insert_with(|| {
                rows.push(LineStats {
                    filename: &code.filename,
                    line,
                    qualname: &code.qualname,
                    self_ns: 0,
                    self_samples: 0,
                });
                rows.len() - 1
            });
        rows[at].self_ns += measure.of(w);
        rows[at].self_samples += samples;
    }
    rows.sort_by(|a, b| {
        (b.self_ns, b.self_samples)
            .cmp(&(a.self_ns, a.self_samples))
            .then_with(|| (a.filename, a.line).cmp(&(b.filename, b.line)))
    });
    rows
}
