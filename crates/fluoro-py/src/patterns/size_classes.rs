//! `BufferPool`'s bookkeeping, without the interpreter: size classes that are powers of two
//! from 64 bytes, free lists that grow on demand and shrink when idle, and the statistics per
//! class that `fluoro run` reports.
//!
//! Time is passed in (`now`), so the idle rules are tested without sleeping.

use super::block::Block;
use fluoro_profile::SizeClassStats;
use std::time::{Duration, Instant};

/// The smallest size class.
pub const MIN_CLASS: usize = 64;

/// Why a request cannot be served.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PoolError {
    #[error("{requested} bytes is more than this pool's largest size class ({largest} bytes)")]
    TooLarge { requested: usize, largest: usize },
    #[error("max_size must be at least {MIN_CLASS} bytes and at most 2**40, not {0}")]
    BadMaxSize(usize),
}

/// One power-of-two class: its free blocks and counters.
#[derive(Default)]
struct SizeClass {
    /// Free blocks with the time each came back; pushed and popped at the end, so the front
    /// holds the longest idle.
    free: Vec<(Block, Instant)>,
    in_use: u64,
    high_water: u64,
    /// Blocks allocated fresh, because the free list was empty.
    allocated: u64,
    reused: u64,
    /// Free blocks released to the allocator after being idle.
    trimmed: u64,
    /// Sum of the sizes asked for, to tell how much of the handed-out bytes was used.
    requested_bytes: u64,
}

/// Every size class of one pool.
pub struct SizeClasses {
    classes: Vec<SizeClass>,
    idle: Duration,
    last_trim: Instant,
}

impl SizeClasses {
    /// Classes 64 B, 128 B, … up to `max_size` rounded up to a power of two; free blocks idle
    /// for `idle` are released.
    pub fn new(max_size: usize, idle: Duration, now: Instant) -> Result<SizeClasses, PoolError> {
        if !(MIN_CLASS..=1 << 40).contains(&max_size) {
            return Err(PoolError::BadMaxSize(max_size));
        }
        let count = class_index(max_size.next_power_of_two()) + 1;
        Ok(SizeClasses {
            classes: (0..count).map(|_| SizeClass::default()).collect(),
            idle,
            last_trim: now,
        })
    }

    /// The largest request this pool serves.
    pub fn largest(&self) -> usize {
        MIN_CLASS << (self.classes.len() - 1)
    }

    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// A block of at least `n` bytes: the most recently freed one of its class, or a fresh
    /// zeroed one. The boolean says whether it was reused (its bytes are then whatever the
    /// last user left).
    pub fn take(&mut self, n: usize, now: Instant) -> Result<(Block, bool), PoolError> {
        let largest = self.largest();
        if n > largest {
            return Err(PoolError::TooLarge {
                requested: n,
                largest,
            });
        }
        self.trim_if_due(now);
        let size = n.max(MIN_CLASS).next_power_of_two();
        let class = &mut self.classes[class_index(size)];
        let (block, reused) = match class.free.pop() {
            Some((block, _)) => {
                class.reused += 1;
                (block, true)
            }
            None => {
                class.allocated += 1;
                (Block::zeroed(size), false)
            }
        };
        class.in_use += 1;
        class.high_water = class.high_water.max(class.in_use);
        class.requested_bytes += n as u64;
        Ok((block, reused))
    }

    /// Takes back a block handed out by [`take`](Self::take); a block of another size (not
    /// from this pool) is dropped.
    pub fn give_back(&mut self, block: Block, now: Instant) {
        let size = block.len();
        if size.is_power_of_two() && size >= MIN_CLASS {
            if let Some(class) = self.classes.get_mut(class_index(size)) {
                class.in_use = class.in_use.saturating_sub(1);
                class.free.push((block, now));
            }
        }
        self.trim_if_due(now);
    }

    /// Releases free blocks idle for the pool's idle time; returns how many.
    pub fn trim(&mut self, now: Instant) -> usize {
        self.last_trim = now;
        let idle = self.idle;
        let mut released = 0;
        for class in &mut self.classes {
            let old = class
                .free
                .partition_point(|(_, since)| now.saturating_duration_since(*since) >= idle);
            class.free.drain(..old);
            class.trimmed += old as u64;
            released += old;
        }
        released
    }

    /// Releases every free block; returns how many.
    pub fn clear(&mut self) -> usize {
        let mut released = 0;
        for class in &mut self.classes {
            released += class.free.len();
            class.trimmed += class.free.len() as u64;
            class.free.clear();
        }
        released
    }

    /// Scans for idle blocks at most twice per idle time, so a busy pool pays one clock
    /// comparison per call.
    fn trim_if_due(&mut self, now: Instant) {
        if now.saturating_duration_since(self.last_trim) >= self.idle / 2 {
            self.trim(now);
        }
    }

    /// Figures of every class that has served a request, smallest first.
    pub fn stats(&self) -> Vec<SizeClassStats> {
        self.classes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.allocated + c.reused > 0)
            .map(|(i, c)| {
                let size = (MIN_CLASS << i) as u64;
                let acquired = c.allocated + c.reused;
                let handed_out = acquired as f64 * size as f64;
                SizeClassStats {
                    size,
                    in_use: c.in_use,
                    free: c.free.len() as u64,
                    high_water: c.high_water,
                    acquired,
                    reused: c.reused,
                    trimmed: c.trimmed,
                    fragmentation: 1.0 - c.requested_bytes as f64 / handed_out,
                }
            })
            .collect()
    }
}

/// Index of the class of `size`, a power of two ≥ [`MIN_CLASS`].
fn class_index(size: usize) -> usize {
    (size.trailing_zeros() - MIN_CLASS.trailing_zeros()) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const IDLE: Duration = Duration::from_secs(2);

    fn pool(max: usize) -> (SizeClasses, Instant) {
        let now = Instant::now();
        (SizeClasses::new(max, IDLE, now).unwrap(), now)
    }

    #[test]
    fn requests_round_up_to_powers_of_two_from_64() {
        let (mut p, now) = pool(1 << 20);
        for (n, size) in [
            (0, 64),
            (1, 64),
            (64, 64),
            (65, 128),
            (1000, 1024),
            (1 << 20, 1 << 20),
        ] {
            let (block, reused) = p.take(n, now).unwrap();
            assert_eq!(block.len(), size, "request of {n}");
            assert!(!reused);
        }
        assert_eq!(p.largest(), 1 << 20);
        assert_eq!(
            p.take((1 << 20) + 1, now).err(),
            Some(PoolError::TooLarge {
                requested: (1 << 20) + 1,
                largest: 1 << 20
            })
        );
    }

    #[test]
    fn max_size_is_checked_and_rounded_up() {
        let now = Instant::now();
        assert!(SizeClasses::new(63, IDLE, now).is_err());
        assert_eq!(SizeClasses::new(1000, IDLE, now).unwrap().largest(), 1024);
        assert_eq!(SizeClasses::new(64, IDLE, now).unwrap().largest(), 64);
    }

    #[test]
    fn freed_blocks_are_reused_most_recent_first() {
        let (mut p, now) = pool(4096);
        let (a, _) = p.take(100, now).unwrap();
        let (b, _) = p.take(100, now).unwrap();
        let b_ptr = b.as_ptr();
        p.give_back(a, now);
        p.give_back(b, now);
        let (c, reused) = p.take(120, now).unwrap();
        assert!(reused);
        assert_eq!(c.as_ptr(), b_ptr);
        let s = &p.stats()[0];
        assert_eq!(
            (s.size, s.in_use, s.free, s.high_water, s.acquired, s.reused),
            (128, 1, 1, 2, 3, 1)
        );
    }

    #[test]
    fn fragmentation_is_the_unrequested_share() {
        let (mut p, now) = pool(4096);
        let (a, _) = p.take(64, now).unwrap();
        let (b, _) = p.take(96, now).unwrap();
        let stats = p.stats();
        assert_eq!(stats[0].fragmentation, 0.0);
        assert_eq!(stats[1].size, 128);
        assert!((stats[1].fragmentation - 0.25).abs() < 1e-12);
        p.give_back(a, now);
        p.give_back(b, now);
        assert_eq!(p.stats().len(), 2, "only classes that served requests");
    }

    #[test]
    fn idle_blocks_are_released_and_busy_ones_kept() {
        let (mut p, t0) = pool(4096);
        let blocks: Vec<Block> = (0..3).map(|_| p.take(64, t0).unwrap().0).collect();
        let mut blocks = blocks.into_iter();
        p.give_back(blocks.next().unwrap(), t0);
        let t1 = t0 + Duration::from_millis(1500);
        p.give_back(blocks.next().unwrap(), t1);
        // At t0 + 2.5 s the first block has been idle 2.5 s, the second only 1 s.
        let t2 = t0 + Duration::from_millis(2500);
        assert_eq!(p.trim(t2), 1);
        let s = &p.stats()[0];
        assert_eq!((s.free, s.trimmed, s.in_use), (1, 1, 1));
        // Activity past half the idle time trims without an explicit call.
        let t3 = t2 + Duration::from_millis(2100);
        p.give_back(blocks.next().unwrap(), t3);
        let s = &p.stats()[0];
        assert_eq!((s.free, s.trimmed, s.in_use), (1, 2, 0));
        assert_eq!(p.clear(), 1);
        assert_eq!(p.stats()[0].free, 0);
    }

    #[test]
    fn foreign_blocks_are_dropped() {
        let (mut p, now) = pool(4096);
        p.give_back(Block::zeroed(100), now);
        p.give_back(Block::zeroed(1 << 20), now);
        assert!(p.stats().is_empty());
    }

    proptest! {
        /// Against a model: in use is takes minus gives, free never exceeds what came back, the
        /// high-water mark is the model's maximum, and every block fits its request.
        #[test]
        fn counters_match_a_model(ops in proptest::collection::vec((any::<bool>(), 0usize..5000), 1..200)) {
            let (mut p, now) = pool(8192);
            let mut held: Vec<Block> = Vec::new();
            let (mut in_use, mut high) = (0u64, 0u64);
            let (mut takes, mut fresh) = (0u64, 0u64);
            for (take, n) in ops {
                if take || held.is_empty() {
                    let (block, reused) = p.take(n, now).unwrap();
                    prop_assert!(block.len() >= n.max(MIN_CLASS));
                    prop_assert!(block.len() < 2 * n.max(MIN_CLASS));
                    held.push(block);
                    in_use += 1;
                    high = high.max(in_use);
                    takes += 1;
                    fresh += u64::from(!reused);
                } else {
                    let block = held.swap_remove(n % held.len());
                    p.give_back(block, now);
                    in_use -= 1;
                }
            }
            let stats = p.stats();
            prop_assert_eq!(stats.iter().map(|s| s.in_use).sum::<u64>(), in_use);
            prop_assert_eq!(stats.iter().map(|s| s.acquired).sum::<u64>(), takes);
            prop_assert_eq!(stats.iter().map(|s| s.acquired - s.reused).sum::<u64>(), fresh);
            prop_assert_eq!(stats.iter().map(|s| s.free).sum::<u64>(), fresh - in_use);
            prop_assert!(stats.iter().map(|s| s.high_water).sum::<u64>() >= high);
            for s in stats {
                prop_assert!((0.0..0.5 + 1e-9).contains(&s.fragmentation) || s.size == 64);
            }
        }
    }
}
