//! Samples over time: how many samples each (thread, stack) got in each slice of the run, so
//! that a report can show one time range. The slices widen as the run grows, so a profile
//! keeps at most [`MAX_BUCKETS`] of them however long it ran.

use std::collections::HashMap;

/// Most time slices kept: a longer run doubles the width of each until it fits.
pub const MAX_BUCKETS: u64 = 1024;
/// Width of a slice at first, in nanoseconds.
const FIRST_BUCKET_NS: u64 = 1_000_000;

/// What one (thread, stack) got in one time slice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeCell {
    /// The slice: samples taken at `bucket * bucket_ns ..` since the session started.
    pub bucket: u32,
    /// Index into [`crate::Profile::weights`].
    pub weight: u32,
    pub samples: u32,
    /// Samples taken while the thread used CPU.
    pub active: u32,
    /// Samples taken while the thread held the GIL.
    pub gil: u32,
}

/// Per-slice sample counts of every (thread, stack), in the order first seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleTimeline {
    /// Width of a slice; 0 when no sample was read.
    pub bucket_ns: u64,
    pub cells: Vec<TimeCell>,
    index: HashMap<(u32, u32), usize>,
}

impl SampleTimeline {
    /// Counts one sample of weight `weight` at `time_ns`.
    pub fn add(&mut self, weight: u32, time_ns: u64, active: bool, gil: bool) {
        if self.bucket_ns == 0 {
            self.bucket_ns = FIRST_BUCKET_NS;
        }
        while time_ns / self.bucket_ns >= MAX_BUCKETS {
            self.widen();
        }
        let bucket = (time_ns / self.bucket_ns) as u32;
        let cells = &mut self.cells;
        let at = *self.index.entry((bucket, weight)).or_insert_with(|| {
            cells.push(TimeCell {
                bucket,
                weight,
                ..TimeCell::default()
            });
            cells.len() - 1
        });
        let cell = &mut self.cells[at];
        cell.samples += 1;
        cell.active += u32::from(active);
        cell.gil += u32::from(gil);
    }

    /// Doubles the width of the slices, merging the cells of each pair.
    fn widen(&mut self) {
        self.bucket_ns *= 2;
        let old = std::mem::take(&mut self.cells);
        self.index.clear();
        for cell in old {
            let bucket = cell.bucket / 2;
            let cells = &mut self.cells;
            let at = *self.index.entry((bucket, cell.weight)).or_insert_with(|| {
                cells.push(TimeCell {
                    bucket,
                    weight: cell.weight,
                    ..TimeCell::default()
                });
                cells.len() - 1
            });
            let merged = &mut self.cells[at];
            merged.samples += cell.samples;
            merged.active += cell.active;
            merged.gil += cell.gil;
        }
    }

    /// How many slices hold samples: one past the last used.
    pub fn buckets(&self) -> u32 {
        self.cells.iter().map(|c| c.bucket + 1).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_run_widens_the_slices_and_keeps_every_sample() {
        let mut t = SampleTimeline::default();
        t.add(0, 0, true, true);
        t.add(0, 500_000, true, false);
        t.add(1, 1_500_000, false, false);
        assert_eq!(t.bucket_ns, 1_000_000);
        assert_eq!(t.cells.len(), 2);
        assert_eq!(
            (t.cells[0].samples, t.cells[0].active, t.cells[0].gil),
            (2, 2, 1)
        );
        // Far past MAX_BUCKETS slices of 1 ms: the width doubles until it fits.
        t.add(0, 5_000_000_000, true, true);
        assert_eq!(t.bucket_ns, 8_000_000);
        assert!(u64::from(t.buckets()) <= MAX_BUCKETS);
        let samples: u32 = t.cells.iter().map(|c| c.samples).sum();
        assert_eq!(samples, 4);
        // The first two samples' weights share slice 0 now.
        assert_eq!(t.cells.iter().filter(|c| c.bucket == 0).count(), 2);
        assert_eq!(t.buckets(), 626);
    }
}
