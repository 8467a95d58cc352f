//! The buffer between the allocator hook and the drain: fixed capacity, allocated once when
//! tracking starts, so that recording an event never allocates.
//!
//! Records are runs of 64-bit words. Producers are serialized by the caller (the hook only
//! records from threads holding the GIL) and publish with a release store of `head`; the one
//! consumer (the sampler thread) copies `tail..head` out and releases the space by storing
//! `tail`. No lock: a locked instruction per record was half the cost of recording one.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub struct Ring {
    words: Box<[AtomicU64]>,
    mask: usize,
    /// The producer's side, on its own cache line: where the next record goes, and the
    /// consumer's `tail` as last read, so that most records do not read the shared one.
    producer: Padded<(AtomicUsize, AtomicUsize)>,
    /// The consumer's side: where it will read next.
    tail: Padded<AtomicUsize>,
    /// Records given up because the ring stayed full.
    pub lost: AtomicU64,
}

/// A value alone on its cache line, so that the producer's and the consumer's writes do not
/// take the line from each other.
#[repr(align(64))]
struct Padded<T>(T);

/// How long a producer that must not drop its record waits for the drain before it does.
const PATIENCE: Duration = Duration::from_millis(200);

impl Ring {
    /// A ring of at least `capacity` words (rounded up to a power of two).
    pub fn new(capacity: usize) -> Ring {
        let capacity = capacity.next_power_of_two().max(64);
        Ring {
            words: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            mask: capacity - 1,
            producer: Padded((AtomicUsize::new(0), AtomicUsize::new(0))),
            tail: Padded(AtomicUsize::new(0)),
            lost: AtomicU64::new(0),
        }
    }

    /// Appends `record` (producers serialized by the caller). When the ring is full: with
    /// `wait`, waits a while for the drain; otherwise, or after waiting in vain, counts the
    /// record lost and returns false.
    #[cfg(test)]
    pub fn push(&self, record: &[u64], wait: bool) -> bool {
        self.push_parts(record, &[], wait)
    }

    /// [`Ring::push`] of `first` followed by `body`, as one record.
    #[inline]
    pub fn push_parts(&self, first: &[u64], body: &[u64], wait: bool) -> bool {
        let n = first.len() + body.len();
        let (head, seen) = (&self.producer.0 .0, &self.producer.0 .1);
        let at = head.load(Ordering::Relaxed);
        if at - seen.load(Ordering::Relaxed) + n > self.mask + 1 {
            // Full as last seen: read where the consumer is now.
            let tail = self.tail.0.load(Ordering::Acquire);
            seen.store(tail, Ordering::Relaxed);
            if at - tail + n > self.mask + 1 {
                return self.push_when_full(first, body, wait);
            }
        }
        for (i, &w) in first.iter().enumerate() {
            self.words[(at + i) & self.mask].store(w, Ordering::Relaxed);
        }
        let at_body = at + first.len();
        for (i, &w) in body.iter().enumerate() {
            self.words[(at_body + i) & self.mask].store(w, Ordering::Relaxed);
        }
        head.store(at + n, Ordering::Release);
        true
    }

    /// The ring was full: waits for the drain if asked to, else counts the record lost.
    #[cold]
    #[inline(never)]
    fn push_when_full(&self, first: &[u64], body: &[u64], wait: bool) -> bool {
        let n = first.len() + body.len();
        if n > self.mask {
            self.lost.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let started = Instant::now();
        loop {
            if !wait || started.elapsed() > PATIENCE {
                self.lost.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            std::thread::yield_now();
            let (head, seen) = (&self.producer.0 .0, &self.producer.0 .1);
            let tail = self.tail.0.load(Ordering::Acquire);
            seen.store(tail, Ordering::Relaxed);
            if head.load(Ordering::Relaxed) - tail + n <= self.mask + 1 {
                return self.push_parts(first, body, wait);
            }
        }
    }

    /// Moves every published word into `out` (which is cleared first). Only one thread may
    /// drain.
    pub fn drain(&self, out: &mut Vec<u64>) {
        out.clear();
        let tail = self.tail.0.load(Ordering::Relaxed);
        let head = self.producer.0 .0.load(Ordering::Acquire);
        out.extend((tail..head).map(|i| self.words[i & self.mask].load(Ordering::Relaxed)));
        self.tail.0.store(head, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn keeps_records_in_order_across_the_wrap() {
        let ring = Ring::new(64);
        let mut out = Vec::new();
        let mut expected = Vec::new();
        for round in 0..10u64 {
            for i in 0..5u64 {
                assert!(ring.push(&[round, i, round * 100 + i], false));
                expected.extend([round, i, round * 100 + i]);
            }
            ring.drain(&mut out);
            assert_eq!(out, expected);
            expected.clear();
        }
    }

    #[test]
    fn a_full_ring_counts_what_it_drops() {
        let ring = Ring::new(64);
        for _ in 0..21 {
            assert!(ring.push(&[1, 2, 3], false));
        }
        assert!(!ring.push(&[1, 2, 3], false));
        assert_eq!(ring.lost.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn serialized_producers_lose_nothing_when_they_wait() {
        // Four threads take turns, as threads holding the GIL do.
        let ring = Arc::new(Ring::new(256));
        let turn = Arc::new(std::sync::Mutex::new(()));
        let producers: Vec<_> = (0..4u64)
            .map(|t| {
                let ring = Arc::clone(&ring);
                let turn = Arc::clone(&turn);
                std::thread::spawn(move || {
                    for i in 0..20_000u64 {
                        let _held = turn.lock().unwrap();
                        assert!(ring.push(&[t, i], true));
                    }
                })
            })
            .collect();
        let mut seen = [0u64; 4];
        let mut out = Vec::new();
        while seen.iter().sum::<u64>() < 80_000 {
            ring.drain(&mut out);
            for pair in out.chunks(2) {
                assert_eq!(pair[1], seen[pair[0] as usize], "in order per producer");
                seen[pair[0] as usize] += 1;
            }
        }
        producers.into_iter().for_each(|p| p.join().unwrap());
        assert_eq!(ring.lost.load(Ordering::Relaxed), 0);
    }
}
