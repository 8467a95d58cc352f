//! Deterministic mutations of seed files, for the corpus replay `cargo test` runs: bits
//! flipped, bytes set to edge values, ranges cut, repeated or spliced in from another seed.
//! The same seed number gives the same inputs on every machine.

/// A small PRNG (xorshift64*): no dependency, the same sequence everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Values that find off-by-ones and overflows in lengths and counts.
const EDGES: [u8; 8] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, b'\n', 0x1b];

/// `seed` changed by one to four mutations; `other` is spliced from.
pub fn mutate(seed: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len());
        match rng.below(7) {
            0 if !data.is_empty() => data[at] ^= 1 << rng.below(8),
            1 if !data.is_empty() => data[at] = EDGES[rng.below(EDGES.len())],
            2 if !data.is_empty() => data[at] = rng.next_u64() as u8,
            3 => {
                // Cut a range (a truncated file when it reaches the end).
                let len = rng.below(data.len() - at + 1);
                data.drain(at..at + len);
            }
            4 => {
                // Repeat a range in place.
                let len = rng.below((data.len() - at).min(64) + 1);
                let copy = data[at..at + len].to_vec();
                data.splice(at..at, copy);
            }
            5 if !other.is_empty() => {
                // Splice in a range of the other seed.
                let from = rng.below(other.len());
                let len = rng.below((other.len() - from).min(256) + 1);
                data.splice(at..at, other[from..from + len].iter().copied());
            }
            _ => {
                // A little-endian number field set to an edge value.
                let width = [2, 4, 8][rng.below(3)];
                let value = [0u64, 1, u32::MAX as u64, u64::MAX, 1 << 31][rng.below(5)];
                for (i, b) in value.to_le_bytes().iter().take(width).enumerate() {
                    if let Some(slot) = data.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_deterministic_and_change_the_seed() {
        let seed = b"FLUORO\x00\x05 some bytes of a seed".to_vec();
        let run = |n| {
            let mut rng = Rng::new(n);
            (0..50)
                .map(|_| mutate(&seed, b"other", &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert!(run(7).iter().filter(|m| **m != seed).count() > 40);
    }
}
