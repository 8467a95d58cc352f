//! The flat function table: each function's self weight (it was the innermost frame) and total
//! weight (it was anywhere on the stack, counted once per stack even when recursive).

use super::{stack_functions, FunctionKey, Measure};
use fluoro_profile::Profile;
use std::collections::HashMap;

/// One function's weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionStats<'p> {
    pub key: FunctionKey<'p>,
    /// `co_name`.
    pub name: &'p str,
    /// `metric` nanoseconds with the function innermost.
    pub self_ns: u64,
    /// `metric` nanoseconds with the function on the stack.
    pub total_ns: u64,
    pub self_samples: u64,
    /// Samples with the function on the stack.
    pub total_samples: u64,
    /// Frames of the function over all samples: above `total_samples` when it recursed.
    pub frame_samples: u64,
}

/// Every sampled function, heaviest self weight first (ties: heavier total, then by name), so
/// that output order is deterministic; a function `measure` gives no samples has no row.
pub fn function_table(profile: &Profile, measure: Measure) -> Vec<FunctionStats<'_>> {
    let mut rows: Vec<FunctionStats<'_>> = Vec::new();
    let mut index: HashMap<FunctionKey<'_>, usize> = HashMap::new();
    let mut seen: Vec<usize> = Vec::new();
    for w in &profile.weights {
        if !measure.counts(w) {
            continue;
        }
        let samples = measure.samples(w);
        let frames = profile.frames(w.stack);
        let keys = stack_functions(profile, &frames);
        let value = measure.of(w);
        seen.clear();
        for (depth, (key, frame)) in keys.iter().zip(&frames).enumerate() {
            let at = *index.entry(*key).or_insert_with(|| {
                rows.push(FunctionStats {
                    key: *key,
                    name: &profile.code(*frame).name,
                    self_ns: 0,
                    total_ns: 0,
                    self_samples: 0,
                    total_samples: 0,
                    frame_samples: 0,
                });
                rows.len() - 1
            });
            let row = &mut rows[at];
            row.frame_samples += samples;
            if !seen.contains(&at) {
                seen.push(at);
                row.total_ns += value;
                row.total_samples += samples;
            }
            if depth + 1 == keys.len() {
                row.self_ns += value;
                row.self_samples += samples;
            }
        }
    }
    rows.sort_by(|a, b| {
        (b.self_ns, b.total_ns, b.self_samples)
            .cmp(&(a.self_ns, a.total_ns, a.self_samples))
            .then_with(|| a.key.cmp(&b.key))
    });
    rows
}
