//! The `patterns` list of fluoro's JSON summary: the statistics of the `fluoro.patterns`
//! instances alive when the run ended, figures keyed by name.

use crate::analysis::whole;
use fluoro_profile::{PatternStats, SizeClassStats, Unit};
use serde::Serialize;
use std::collections::BTreeMap;

/// A pattern as the JSON export lists it.
#[derive(Serialize)]
pub(crate) struct PatternJson<'p> {
    kind: &'p str,
    name: &'p str,
    site: &'p str,
    /// Figure name → value: counts and bytes as integers, ratios and seconds as floats.
    stats: BTreeMap<&'p str, serde_json::Value>,
    /// BufferPool only.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    size_classes: &'p [SizeClassStats],
}

pub(crate) fn json(patterns: &[PatternStats]) -> Vec<PatternJson<'_>> {
    patterns
        .iter()
        .map(|p| PatternJson {
            kind: &p.kind,
            name: &p.name,
            site: &p.site,
            stats: p
                .figures
                .iter()
                .map(|f| {
                    let value = match (f.unit, whole(f.value)) {
                        (Unit::Count | Unit::Bytes, Some(n)) => n.into(),
                        _ => f.value.into(),
                    };
                    (f.name.as_str(), value)
                })
                .collect(),
            size_classes: &p.size_classes,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn json_keeps_counts_whole_and_ratios_fractional() {
        let v = serde_json::to_value(json(&testing::patterns())).unwrap();
        assert_eq!(v[0]["stats"]["created"], 4);
        assert!(v[0]["stats"]["created"].is_u64());
        assert_eq!(v[0]["stats"]["hit_rate"], 0.96);
        assert_eq!(v[2]["stats"]["bytes"], 3 * 1024 * 1024);
        assert_eq!(v[2]["stats"]["load_time"], 0.0125);
        assert!(v[0].get("size_classes").is_none());
        assert_eq!(v[4]["size_classes"][1]["size"], 4096);
        assert_eq!(v[4]["size_classes"][1]["trimmed"], 7);
    }
}
