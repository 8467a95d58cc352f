//! Memory figures per source line: sites (thread, stack) summed by their innermost line.

use fluoro_profile::{Profile, SiteBytes, ROOT};
use std::collections::HashMap;

/// Bytes (and allocations) per source line, from the innermost frame of each site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineBytes<'p> {
    pub filename: &'p str,
    pub line: u32,
    pub qualname: &'p str,
    pub bytes: u64,
    pub count: u64,
}

pub fn by_line<'p>(profile: &'p Profile, sites: &[SiteBytes]) -> Vec<LineBytes<'p>> {
    let mut rows: Vec<LineBytes<'p>> = Vec::new();
    let mut index: HashMap<(&str, u32), usize> = HashMap::new();
    for site in sites {
        if site.stack == ROOT {
            continue;
        }
        let Some(&leaf) = profile.frames(site.stack).last() else {
            continue;
        };
        let code = profile.code(leaf);
        let line = profile.line(leaf);
        let at = *index
            .entry((code.filename.as_str(), line))
            .or_insert_with(|| {
                rows.push(LineBytes {
                    filename: &code.filename,
                    line,
                    qualname: &code.qualname,
                    bytes: 0,
                    count: 0,
                });
                rows.len() - 1
            });
        rows[at].bytes += site.bytes;
        rows[at].count += site.count;
    }
    rows.sort_by(|a, b| {
        b.bytes
            .cmp(&a.bytes)
            .then_with(|| (a.filename, a.line).cmp(&(b.filename, b.line)))
    });
    rows
}
