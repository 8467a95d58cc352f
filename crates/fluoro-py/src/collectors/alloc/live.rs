//! The addresses of sampled allocations still alive, so that their frees are recorded and all
//! other frees cost one load.
//!
//! A filter answers "maybe sampled" without the lock: one bit per hash bucket, 8 KiB, so that
//! it stays in the first-level cache of a program freeing millions of blocks a second (a
//! byte per bucket was measured missing it). How many live addresses share a bucket is kept
//! beside it, read only when the set changes. The table (open addressing, linear probing,
//! deletion by backward shift) is only changed by the GIL holder. All of it is
//! allocated once.

use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering};

const FILTER_BITS: u32 = 16;
const BUCKETS: usize = 1 << FILTER_BITS;

/// The filter's bits, in statics so that every free reads them without a pointer load. One
/// [`LiveSet`] uses them at a time (the hook's).
static FILTER: [AtomicU64; BUCKETS / 64] = [const { AtomicU64::new(0) }; BUCKETS / 64];
/// Live addresses per bucket: a bucket's bit is set while its count is above zero.
static COUNTS: [AtomicU16; BUCKETS] = [const { AtomicU16::new(0) }; BUCKETS];

/// The filter's bucket: address bits 4..20 as they are. Blocks are 16-byte aligned, and a
/// multiply here was measured costing every free a few percent more.
#[inline(always)]
fn bucket(addr: u64) -> usize {
    ((addr >> 4) as usize) & (BUCKETS - 1)
}

/// False when `addr` is certainly not in the live set. Needs no lock.
#[inline(always)]
pub fn may_contain(addr: u64) -> bool {
    let b = bucket(addr);
    FILTER[b >> 6].load(Ordering::Relaxed) & (1 << (b & 63)) != 0
}

/// False when none of the blocks at `addr`, `addr - 16` and `addr - 32` can be in the live set:
/// the blocks an object at `addr` may start at, whatever sits before it. Two loads and no
/// branch: the three buckets are adjacent, and may straddle two words of the filter.
#[inline(always)]
pub fn may_contain_at_or_below(addr: u64) -> bool {
    let b = bucket(addr);
    let word = b >> 6;
    let low = (word + BUCKETS / 64 - 1) & (BUCKETS / 64 - 1);
    let high = FILTER[word].load(Ordering::Relaxed);
    three_at_or_below(high, FILTER[low].load(Ordering::Relaxed), b & 63)
}

/// Whether bit `bit` of `high`, or either of the two bits below it (continuing into `low`'s
/// top bits), is set.
#[inline(always)]
fn three_at_or_below(high: u64, low: u64, bit: usize) -> bool {
    let pair = (u128::from(high) << 64) | u128::from(low);
    (pair >> (62 + bit)) & 0b111 != 0
}

/// Makes every address look unsampled, so that frees stop consulting the set (after a fork,
/// where nothing drains the records any more).
pub fn forget_all() {
    FILTER.iter().for_each(|f| f.store(0, Ordering::Relaxed));
}

/// Counts `addr`'s bucket up or down (GIL held), keeping its bit in step.
fn count(addr: u64, up: bool) {
    let b = bucket(addr);
    let c = COUNTS[b].load(Ordering::Relaxed);
    let c = if up {
        c.saturating_add(1)
    } else {
        c.saturating_sub(1)
    };
    COUNTS[b].store(c, Ordering::Relaxed);
    if c == 0 {
        FILTER[b >> 6].fetch_and(!(1 << (b & 63)), Ordering::Relaxed);
    } else {
        FILTER[b >> 6].fetch_or(1 << (b & 63), Ordering::Relaxed);
    }
}

/// Frees of blocks that may be in the set, made through RAW by threads without the GIL (a
/// thread state is freed after its thread let the GIL go): they cannot change the set, so they
/// wait here for the next thread holding the GIL to [`take_orphans`]. Both sides are rare,
/// and short, and take a spin lock.
const ORPHAN_SLOTS: usize = 1024;
static ORPHAN_LOCK: AtomicBool = AtomicBool::new(false);
static ORPHAN_LEN: AtomicUsize = AtomicUsize::new(0);
static ORPHANS: [AtomicU64; ORPHAN_SLOTS] = [const { AtomicU64::new(0) }; ORPHAN_SLOTS];

fn lock_orphans() {
    while ORPHAN_LOCK
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::hint::spin_loop();
    }
}

fn unlock_orphans() {
    ORPHAN_LOCK.store(false, Ordering::Release);
}

/// Leaves the free of `addr` for the GIL holder; false when too many are waiting.
///
/// Called before the block is released, so before its address can be handed out again: a
/// thread that gets it and then looks at [`orphans_waiting`] sees this free.
pub fn orphan(addr: u64) -> bool {
    lock_orphans();
    let n = ORPHAN_LEN.load(Ordering::Relaxed);
    let kept = n < ORPHAN_SLOTS;
    if kept {
        ORPHANS[n].store(addr, Ordering::Relaxed);
        ORPHAN_LEN.store(n + 1, Ordering::Release);
    }
    unlock_orphans();
    kept
}

/// Whether frees are waiting to be taken.
#[inline(always)]
pub fn orphans_waiting() -> bool {
    ORPHAN_LEN.load(Ordering::Acquire) != 0
}

/// Hands every waiting free to `f`, oldest first, and forgets them.
pub fn take_orphans(mut f: impl FnMut(u64)) {
    lock_orphans();
    let n = ORPHAN_LEN.load(Ordering::Relaxed);
    ORPHANS[..n]
        .iter()
        .for_each(|a| f(a.load(Ordering::Relaxed)));
    ORPHAN_LEN.store(0, Ordering::Relaxed);
    unlock_orphans();
}

/// Drops the waiting frees and frees the lock (a new session, or a child after `fork()`,
/// where a thread holding the lock may not have survived).
pub fn reset_orphans() {
    ORPHAN_LEN.store(0, Ordering::Relaxed);
    ORPHAN_LOCK.store(false, Ordering::Release);
}

pub struct LiveSet {
    keys: Box<[AtomicU64]>,
    mask: usize,
    len: AtomicU64,
}

#[inline(always)]
fn mix(addr: u64) -> u64 {
    // Blocks are 16-byte aligned: drop the bits that never vary, then spread the rest.
    (addr >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl LiveSet {
    /// A set holding up to about 70 % of `capacity` (rounded up to a power of two) addresses.
    pub fn new(capacity: usize) -> LiveSet {
        let capacity = capacity.next_power_of_two().max(16);
        LiveSet {
            keys: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            mask: capacity - 1,
            len: AtomicU64::new(0),
        }
    }

    fn home(&self, addr: u64) -> usize {
        mix(addr) as usize & self.mask
    }

    /// Adds `addr` (GIL held); false when the table is too full.
    pub fn insert(&self, addr: u64) -> bool {
        if addr == 0 {
            return false;
        }
        if (self.len.load(Ordering::Relaxed) as usize + 1) * 10 > (self.mask + 1) * 7 {
            return false;
        }
        let mut i = self.home(addr);
        loop {
            let k = self.keys[i].load(Ordering::Relaxed);
            if k == addr {
                return true;
            }
            if k == 0 {
                self.keys[i].store(addr, Ordering::Relaxed);
                self.len.fetch_add(1, Ordering::Relaxed);
                count(addr, true);
                return true;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Whether `addr` is in the set (GIL held).
    pub fn contains(&self, addr: u64) -> bool {
        let mut i = self.home(addr);
        loop {
            match self.keys[i].load(Ordering::Relaxed) {
                0 => return false,
                k if k == addr => return true,
                _ => i = (i + 1) & self.mask,
            }
        }
    }

    /// Removes `addr` (GIL held); whether it was there.
    pub fn remove(&self, addr: u64) -> bool {
        let mut i = self.home(addr);
        loop {
            let k = self.keys[i].load(Ordering::Relaxed);
            if k == 0 {
                return false;
            }
            if k == addr {
                break;
            }
            i = (i + 1) & self.mask;
        }
        // Backward-shift deletion: move later entries of the probe run into the hole when
        // their home is not between the hole and them.
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            let k = self.keys[j].load(Ordering::Relaxed);
            if k == 0 {
                break;
            }
            let home = self.home(k);
            let between = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !between {
                self.keys[hole].store(k, Ordering::Relaxed);
                hole = j;
            }
        }
        self.keys[hole].store(0, Ordering::Relaxed);
        self.len.fetch_sub(1, Ordering::Relaxed);
        count(addr, false);
        true
    }

    /// Empties the set. Call while nothing else uses it.
    pub fn clear(&self) {
        self.keys.iter().for_each(|k| k.store(0, Ordering::Relaxed));
        FILTER.iter().for_each(|f| f.store(0, Ordering::Relaxed));
        COUNTS.iter().for_each(|c| c.store(0, Ordering::Relaxed));
        self.len.store(0, Ordering::Relaxed);
    }

    #[cfg(test)]
    pub fn len(&self) -> u64 {
        self.len.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    proptest! {
        #[test]
        fn agrees_with_a_hash_set(ops in proptest::collection::vec((any::<bool>(), 1u64..200), 0..2000)) {
            let set = LiveSet::new(512);
            let mut model = HashSet::new();
            for (insert, slot) in ops {
                let addr = slot * 16 + 0x7f00_0000_0000;
                if insert {
                    prop_assert!(set.insert(addr));
                    model.insert(addr);
                } else {
                    prop_assert_eq!(set.remove(addr), model.remove(&addr));
                }
                prop_assert_eq!(set.contains(addr), model.contains(&addr));
                prop_assert_eq!(set.len() as usize, model.len());
            }
            for slot in 1u64..200 {
                let addr = slot * 16 + 0x7f00_0000_0000;
                if model.contains(&addr) {
                    prop_assert!(may_contain(addr));
                    prop_assert!(may_contain_at_or_below(addr + 16));
                    prop_assert!(may_contain_at_or_below(addr + 32));
                }
                prop_assert_eq!(set.remove(addr), model.contains(&addr));
            }
        }
    }

    proptest! {
        #[test]
        fn three_bits_at_or_below_any_bit(high: u64, low: u64, bit in 0usize..64) {
            let set = |word: u64, i: usize| word >> i & 1 == 1;
            let naive = (0..3).any(|down| match bit.checked_sub(down) {
                Some(i) => set(high, i),
                None => set(low, 64 + bit - down),
            });
            prop_assert_eq!(three_at_or_below(high, low, bit), naive);
        }
    }

    #[test]
    fn orphans_wait_in_order_until_taken() {
        reset_orphans();
        assert!(!orphans_waiting());
        let threads: Vec<_> = (0..4u64)
            .map(|t| std::thread::spawn(move || (0..100).all(|i| orphan((t * 1000 + i) * 16))))
            .collect();
        assert!(threads.into_iter().all(|t| t.join().unwrap()));
        assert!(orphans_waiting());
        let mut taken = Vec::new();
        take_orphans(|a| taken.push(a));
        assert!(!orphans_waiting());
        assert_eq!(taken.len(), 400);
        for t in 0..4u64 {
            let mine: Vec<u64> = taken
                .iter()
                .copied()
                .filter(|a| a / 16 / 1000 == t)
                .collect();
            assert_eq!(
                mine,
                (0..100).map(|i| (t * 1000 + i) * 16).collect::<Vec<_>>()
            );
        }
        let refused = (0..ORPHAN_SLOTS as u64 + 5)
            .filter(|&i| !orphan(i * 16))
            .count();
        assert_eq!(refused, 5);
        reset_orphans();
        assert!(!orphans_waiting());
    }

    #[test]
    fn refuses_to_fill_up() {
        let set = LiveSet::new(16);
        let accepted = (1..100u64).filter(|i| set.insert(i * 16)).count();
        assert_eq!(accepted, 11);
    }
}
