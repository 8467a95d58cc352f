//! Statistics of the `fluoro.patterns` tools (pools, caches, lazy attributes) that were alive
//! when the run ended: one record per instance, written by the session as it finishes.

use serde::{Deserialize, Serialize};

/// One live instance of a pattern and its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatternStats {
    /// `ObjectPool`, `WeakValueCache`, `lazy`, `BufferPool`.
    pub kind: String,
    /// The name the program gave it, or what it makes (`Parser`, `Config.table`).
    pub name: String,
    /// `file:line` where the instance was created (for `lazy`, where the function is).
    pub site: String,
    /// In the order the pattern lists them; names are snake_case.
    pub figures: Vec<Figure>,
    /// BufferPool only: each size class that served a request, smallest first.
    pub size_classes: Vec<SizeClassStats>,
}

/// One named number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub name: String,
    pub unit: Unit,
    pub value: f64,
}

/// How a figure reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Count,
    /// A share between 0 and 1.
    Ratio,
    Bytes,
    Seconds,
}

impl Unit {
    /// The unit named `name` (`count`, `ratio`, `bytes`, `seconds`); counts for anything else.
    pub fn from_name(name: &str) -> Unit {
        match name {
            "ratio" => Unit::Ratio,
            "bytes" => Unit::Bytes,
            "seconds" => Unit::Seconds,
            _ => Unit::Count,
        }
    }
}

/// One power-of-two class of a BufferPool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeClassStats {
    /// Block size in bytes.
    pub size: u64,
    pub in_use: u64,
    pub free: u64,
    /// Most blocks in use at once.
    pub high_water: u64,
    /// Requests served, fresh and reused.
    pub acquired: u64,
    pub reused: u64,
    /// Free blocks released to the allocator after being idle.
    pub trimmed: u64,
    /// Share of the bytes handed out that requests did not ask for (rounding up to the
    /// class), over the pool's lifetime.
    pub fragmentation: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode, Chunk, ChunkReader, MAGIC};
    use proptest::prelude::*;

    fn unit() -> impl Strategy<Value = Unit> {
        prop_oneof![
            Just(Unit::Count),
            Just(Unit::Ratio),
            Just(Unit::Bytes),
            Just(Unit::Seconds)
        ]
    }

    fn class() -> impl Strategy<Value = SizeClassStats> {
        (0u32..40, any::<[u64; 6]>(), 0.0f64..1.0).prop_map(|(shift, n, fragmentation)| {
            SizeClassStats {
                size: 64 << shift,
                in_use: n[0],
                free: n[1],
                high_water: n[2],
                acquired: n[3],
                reused: n[4],
                trimmed: n[5],
                fragmentation,
            }
        })
    }

    fn pattern() -> impl Strategy<Value = PatternStats> {
        (
            "[A-Za-z]{1,12}",
            ".{0,20}",
            ".{0,20}",
            proptest::collection::vec(("[a-z_]{1,12}", unit(), any::<f64>()), 0..6),
            proptest::collection::vec(class(), 0..4),
        )
            .prop_map(|(kind, name, site, figures, size_classes)| PatternStats {
                kind,
                name,
                site,
                figures: figures
                    .into_iter()
                    .map(|(name, unit, value)| Figure { name, unit, value })
                    .collect(),
                size_classes,
            })
    }

    #[test]
    fn unit_names() {
        assert_eq!(Unit::from_name("bytes"), Unit::Bytes);
        assert_eq!(Unit::from_name("ratio"), Unit::Ratio);
        assert_eq!(Unit::from_name("seconds"), Unit::Seconds);
        assert_eq!(Unit::from_name("widgets"), Unit::Count);
    }

    proptest! {
        #[test]
        fn patterns_round_trip(stats in proptest::collection::vec(pattern(), 0..5)) {
            let stats: Vec<PatternStats> = stats
                .into_iter()
                .map(|mut p| {
                    // NaN is not equal to itself; the format carries it, the test compares.
                    p.figures.retain(|f| !f.value.is_nan());
                    p
                })
                .collect();
            let chunk = Chunk::Patterns(stats);
            let mut data = MAGIC.to_vec();
            data.extend(encode(&chunk));
            let back: Vec<Chunk> = ChunkReader::new(&data).unwrap().collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(back, vec![chunk]);
        }
    }
}
