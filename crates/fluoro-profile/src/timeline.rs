//! Figures over time: what each key (a (thread, stack) weight, an allocation site) got in each
//! slice of the run, so that a report can show one time range. The slices widen as the run
//! grows, so a profile keeps at most [`MAX_BUCKETS`] of them however long it ran.

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::AddAssign;

/// Most time slices kept: a longer run doubles the width of each until it fits.
pub const MAX_BUCKETS: u64 = 1024;
/// Width of a slice at first, in nanoseconds.
const FIRST_BUCKET_NS: u64 = 1_000_000;

/// What one key got in one time slice.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TimeCell<K, V> {
    /// The slice: `bucket * bucket_ns ..` since the session started.
    pub bucket: u32,
    pub key: K,
    pub value: V,
}

/// Per-slice figures of every key, in the order first seen.
#[derive(Debug, Clone)]
pub struct TimeSlices<K, V> {
    /// Width of a slice; 0 until something was added.
    pub bucket_ns: u64,
    pub cells: Vec<TimeCell<K, V>>,
    index: HashMap<(u32, K), usize>,
}

impl<K, V> Default for TimeSlices<K, V> {
    fn default() -> Self {
        TimeSlices {
            bucket_ns: 0,
            cells: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<K: PartialEq, V: PartialEq> PartialEq for TimeSlices<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.bucket_ns == other.bucket_ns && self.cells == other.cells
    }
}

impl<K: Copy + Eq + Hash, V: Copy + Default + AddAssign> TimeSlices<K, V> {
    /// Adds `value` to what `key` got at `time_ns`.
    pub fn add(&mut self, time_ns: u64, key: K, value: V) {
        if self.bucket_ns == 0 {
            self.bucket_ns = FIRST_BUCKET_NS;
        }
        while time_ns / self.bucket_ns >= MAX_BUCKETS {
            self.widen();
        }
        self.add_to(Self::bucket_of(time_ns, self.bucket_ns), key, value);
    }

    fn bucket_of(time_ns: u64, bucket_ns: u64) -> u32 {
        (time_ns / bucket_ns) as u32
    }

    fn add_to(&mut self, bucket: u32, key: K, value: V) {
        let cells = &mut self.cells;
        let at = *self.index.entry((bucket, key)).or_insert_with(|| {
            cells.push(TimeCell {
                bucket,
                key,
                value: V::default(),
            });
            cells.len() - 1
        });
        self.cells[at].value += value;
    }

    /// Doubles the width of the slices, merging the cells of each pair.
    fn widen(&mut self) {
        self.bucket_ns *= 2;
        let old = std::mem::take(&mut self.cells);
        self.index.clear();
        for cell in old {
            self.add_to(cell.bucket / 2, cell.key, cell.value);
        }
    }

    /// How many slices hold something: one past the last used.
    pub fn buckets(&self) -> u32 {
        self.cells.iter().map(|c| c.bucket + 1).max().unwrap_or(0)
    }
}

/// What a (thread, stack) was sampled in a slice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SampleCounts {
    pub samples: u32,
    /// Samples taken while the thread used CPU.
    pub active: u32,
    /// Samples taken while the thread held the GIL.
    pub gil: u32,
}

impl AddAssign for SampleCounts {
    fn add_assign(&mut self, other: Self) {
        self.samples += other.samples;
        self.active += other.active;
        self.gil += other.gil;
    }
}

/// Samples per slice, keyed by index into [`crate::Profile::weights`].
pub type SampleTimeline = TimeSlices<u32, SampleCounts>;

/// Bytes and allocations (estimated when sampled) a site made in a slice.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Allocated {
    pub bytes: f64,
    pub count: f64,
}

impl AddAssign for Allocated {
    fn add_assign(&mut self, other: Self) {
        self.bytes += other.bytes;
        self.count += other.count;
    }
}

/// Allocations per slice, keyed by (thread, stack).
pub type AllocTimeline = TimeSlices<(crate::ThreadIdx, crate::StackId), Allocated>;

#[cfg(test)]
mod tests {
    use super::*;

    fn one(active: bool, gil: bool) -> SampleCounts {
        SampleCounts {
            samples: 1,
            active: u32::from(active),
            gil: u32::from(gil),
        }
    }

    #[test]
    fn a_long_run_widens_the_slices_and_keeps_every_sample() {
        let mut t = SampleTimeline::default();
        t.add(0, 0, one(true, true));
        t.add(500_000, 0, one(true, false));
        t.add(1_500_000, 1, one(false, false));
        assert_eq!(t.bucket_ns, 1_000_000);
        assert_eq!(t.cells.len(), 2);
        let first = t.cells[0].value;
        assert_eq!((first.samples, first.active, first.gil), (2, 2, 1));
        // Far past MAX_BUCKETS slices of 1 ms: the width doubles until it fits.
        t.add(5_000_000_000, 0, one(true, true));
        assert_eq!(t.bucket_ns, 8_000_000);
        assert!(u64::from(t.buckets()) <= MAX_BUCKETS);
        let samples: u32 = t.cells.iter().map(|c| c.value.samples).sum();
        assert_eq!(samples, 4);
        // The first two samples' weights share slice 0 now.
        assert_eq!(t.cells.iter().filter(|c| c.bucket == 0).count(), 2);
        assert_eq!(t.buckets(), 626);
    }
}
