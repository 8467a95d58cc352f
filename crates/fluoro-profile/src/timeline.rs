//! Figures over time, so that a report can show one time range: each sample's time, and what
//! each allocation site allocated in each slice of the run. The slices widen as the run
//! grows, so a profile keeps at most [`MAX_BUCKETS`] of them however long it ran.

use rustc_hash::FxHashMap;
use std::hash::Hash;
use std::ops::AddAssign;

/// Most time slices kept: a longer run doubles the width of each until it fits.
pub const MAX_BUCKETS: u64 = 1024;
/// Width of a slice at first, in nanoseconds: the narrowest slice.
pub const FIRST_BUCKET_NS: u64 = 1_000_000;

/// What one key got in one time slice.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TimeCell<K, V> {
    /// The slice: `bucket * bucket_ns ..` since the session started.
    pub bucket: u32,
    pub key: K,
    pub value: V,
}

/// Per-slice figures of every key, in the order first seen. Figures come in time order, so a
/// key's figure goes to its latest cell or a new one; one that comes out of order may start a
/// second cell for a (slice, key) pair, which readers sum like any other.
#[derive(Debug, Clone)]
pub struct TimeSlices<K, V> {
    /// Width of a slice; 0 until something was added.
    pub bucket_ns: u64,
    pub cells: Vec<TimeCell<K, V>>,
    /// Each key's latest cell.
    pub(crate) latest: FxHashMap<K, usize>,
}

impl<K, V> Default for TimeSlices<K, V> {
    fn default() -> Self {
        TimeSlices {
            bucket_ns: 0,
            cells: Vec::new(),
            latest: FxHashMap::default(),
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
        self.add_to((time_ns / self.bucket_ns) as u32, key, value);
    }

    fn add_to(&mut self, bucket: u32, key: K, value: V) {
        let at = match self.latest.get(&key) {
            Some(&at) if self.cells[at].bucket == bucket => at,
            _ => {
                self.cells.push(TimeCell {
                    bucket,
                    key,
                    value: V::default(),
                });
                self.latest.insert(key, self.cells.len() - 1);
                self.cells.len() - 1
            }
        };
        self.cells[at].value += value;
    }

    /// Doubles the width of the slices, merging the cells of each pair.
    fn widen(&mut self) {
        self.bucket_ns *= 2;
        let old = std::mem::take(&mut self.cells);
        self.latest.clear();
        for cell in old {
            self.add_to(cell.bucket / 2, cell.key, cell.value);
        }
    }

    /// How many slices hold something: one past the last used.
    pub fn buckets(&self) -> u32 {
        self.cells.iter().map(|c| c.bucket + 1).max().unwrap_or(0)
    }
}

/// One sample's time and the (thread, stack) weight it added to. Times are kept to the
/// millisecond (the narrowest slice), so that a sample takes 8 bytes; a run of 12 days fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleTime {
    /// Index into [`crate::Profile::weights`].
    pub weight: u32,
    /// Milliseconds since the session started, saturating; the top two bits hold
    /// [`crate::FLAG_GIL`] and [`crate::FLAG_ACTIVE`].
    packed: u32,
}

impl SampleTime {
    const FLAGS_SHIFT: u32 = 30;
    const TIME_MASK: u32 = (1 << Self::FLAGS_SHIFT) - 1;

    pub fn new(weight: u32, time_ns: u64, flags: u8) -> SampleTime {
        let millis = (time_ns / 1_000_000).min(u64::from(Self::TIME_MASK)) as u32;
        let flags = u32::from(flags & (crate::FLAG_GIL | crate::FLAG_ACTIVE));
        SampleTime {
            weight,
            packed: millis | (flags << Self::FLAGS_SHIFT),
        }
    }

    /// When the sample was taken, in nanoseconds since the session started (to the ms).
    pub fn time_ns(self) -> u64 {
        u64::from(self.packed & Self::TIME_MASK) * 1_000_000
    }

    /// The same sample, for weight `weight`, `shift_ns` later (a child process's samples on
    /// its parent's clock).
    pub fn shifted(self, weight: u32, shift_ns: u64) -> SampleTime {
        let flags = (self.packed >> Self::FLAGS_SHIFT) as u8;
        SampleTime::new(weight, self.time_ns() + shift_ns, flags)
    }

    /// The sample as counts: one sample, on CPU or not, holding the GIL or not.
    pub fn counts(self) -> SampleCounts {
        let flags = (self.packed >> Self::FLAGS_SHIFT) as u8;
        SampleCounts {
            samples: 1,
            active: u32::from(flags & crate::FLAG_ACTIVE != 0),
            gil: u32::from(flags & crate::FLAG_GIL != 0),
        }
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

    fn bytes(n: f64) -> Allocated {
        Allocated {
            bytes: n,
            count: 1.0,
        }
    }

    #[test]
    fn a_long_run_widens_the_slices_and_keeps_every_figure() {
        let mut t = AllocTimeline::default();
        t.add(0, (0, 1), bytes(10.0));
        t.add(500_000, (0, 1), bytes(20.0));
        t.add(1_500_000, (0, 2), bytes(5.0));
        assert_eq!(t.bucket_ns, 1_000_000);
        assert_eq!(t.cells.len(), 2);
        assert_eq!(
            t.cells[0].value,
            Allocated {
                bytes: 30.0,
                count: 2.0
            }
        );
        // Far past MAX_BUCKETS slices of 1 ms: the width doubles until it fits.
        t.add(5_000_000_000, (0, 1), bytes(1.0));
        assert_eq!(t.bucket_ns, 8_000_000);
        assert!(u64::from(t.buckets()) <= MAX_BUCKETS);
        let total: f64 = t.cells.iter().map(|c| c.value.bytes).sum();
        assert_eq!(total, 36.0);
        // Both sites share slice 0 now.
        assert_eq!(t.cells.iter().filter(|c| c.bucket == 0).count(), 2);
        assert_eq!(t.buckets(), 626);
    }

    #[test]
    fn a_sample_time_keeps_its_flags_and_milliseconds() {
        let s = SampleTime::new(7, 1_234_567_890, crate::FLAG_ACTIVE);
        assert_eq!((s.weight, s.time_ns()), (7, 1_234_000_000));
        assert_eq!(
            s.counts(),
            SampleCounts {
                samples: 1,
                active: 1,
                gil: 0
            }
        );
        let late = SampleTime::new(0, u64::MAX, crate::FLAG_GIL | crate::FLAG_ACTIVE);
        assert_eq!(late.time_ns(), u64::from(SampleTime::TIME_MASK) * 1_000_000);
        assert_eq!((late.counts().active, late.counts().gil), (1, 1));
        assert_eq!(std::mem::size_of::<SampleTime>(), 8);
    }
}
