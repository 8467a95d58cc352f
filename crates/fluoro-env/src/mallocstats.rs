//! Parser for the text `sys._debugmallocstats()` prints (CPython 3.10–3.13).
//!
//! The pymalloc part exists only when pymalloc serves the object domain; the free-list part
//! ("N free PyListObjects * 40 bytes each") is always there.

use serde::{Deserialize, Serialize};

/// Everything recognised in one `_debugmallocstats` dump.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MallocStats {
    pub pymalloc: Option<Pymalloc>,
    pub free_lists: Vec<FreeList>,
}

/// pymalloc's arenas, pools and blocks.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Pymalloc {
    /// Requests up to this many bytes are served by pymalloc; larger go to malloc.
    pub small_block_threshold: u64,
    pub size_classes: Vec<SizeClass>,
    pub arenas_allocated_total: u64,
    pub arenas_reclaimed: u64,
    pub arenas_highwater: u64,
    pub arenas_current: u64,
    pub arena_size: u64,
    pub pool_size: u64,
    pub unused_pools: u64,
    pub bytes_in_allocated_blocks: u64,
    pub bytes_in_available_blocks: u64,
    pub bytes_lost_to_pool_headers: u64,
    pub bytes_lost_to_quantization: u64,
    pub bytes_lost_to_arena_alignment: u64,
    /// Bytes held in arenas: the sum of everything above.
    pub total_bytes: u64,
}

/// One pymalloc size class.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SizeClass {
    pub index: u32,
    pub block_size: u64,
    pub pools: u64,
    pub blocks_in_use: u64,
    pub blocks_available: u64,
}

impl SizeClass {
    /// Share of this class's carved blocks that hold live objects (0 when it has no pools).
    pub fn utilization(&self) -> f64 {
        let carved = self.blocks_in_use + self.blocks_available;
        if carved == 0 {
            0.0
        } else {
            self.blocks_in_use as f64 / carved as f64
        }
    }
}

impl Pymalloc {
    /// Share of the bytes held in arenas that is not in live blocks: free blocks, unused pools
    /// and the losses to headers, quantization and alignment.
    pub fn fragmentation(&self) -> f64 {
        if self.total_bytes == 0 {
            0.0
        } else {
            1.0 - self.bytes_in_allocated_blocks as f64 / self.total_bytes as f64
        }
    }

    /// Share of block bytes (used + free) that is used.
    pub fn utilization(&self) -> f64 {
        let blocks = self.bytes_in_allocated_blocks + self.bytes_in_available_blocks;
        if blocks == 0 {
            0.0
        } else {
            self.bytes_in_allocated_blocks as f64 / blocks as f64
        }
    }
}

/// One of the interpreter's free lists (objects kept for reuse instead of being freed).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FreeList {
    pub name: String,
    pub free: u64,
    pub bytes_each: u64,
}

fn number(text: &str) -> Option<u64> {
    let digits: String = text.trim().chars().filter(|c| *c != ',').collect();
    digits.parse().ok()
}

/// Parses a `_debugmallocstats` dump; lines it does not know are skipped.
pub fn parse_mallocstats(text: &str) -> MallocStats {
    let mut stats = MallocStats::default();
    let mut pm: Option<Pymalloc> = None;
    let mut seen_total = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("Small block threshold = ") {
            let threshold = rest.split(',').next().and_then(number).unwrap_or(0);
            pm = Some(Pymalloc {
                small_block_threshold: threshold,
                ..Pymalloc::default()
            });
            continue;
        }
        if let Some(free) = parse_free_list(trimmed) {
            stats.free_lists.push(free);
            continue;
        }
        let Some(p) = pm.as_mut() else { continue };
        if let Some(class) = parse_size_class(trimmed) {
            p.size_classes.push(class);
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let Some(value) = number(value) else { continue };
        match key {
            "# arenas allocated total" => p.arenas_allocated_total = value,
            "# arenas reclaimed" => p.arenas_reclaimed = value,
            "# arenas highwater mark" => p.arenas_highwater = value,
            "# arenas allocated current" => p.arenas_current = value,
            "# bytes in allocated blocks" => p.bytes_in_allocated_blocks = value,
            "# bytes in available blocks" => p.bytes_in_available_blocks = value,
            "# bytes lost to pool headers" => p.bytes_lost_to_pool_headers = value,
            "# bytes lost to quantization" => p.bytes_lost_to_quantization = value,
            "# bytes lost to arena alignment" => p.bytes_lost_to_arena_alignment = value,
            "Total" if !seen_total => {
                p.total_bytes = value;
                seen_total = true;
            }
            _ => {
                // "4 arenas * 1048576 bytes/arena" and "17 unused pools * 16384 bytes"
                let words: Vec<&str> = key.split_whitespace().collect();
                match words.as_slice() {
                    [_, "arenas", "*", size, "bytes/arena"] => {
                        p.arena_size = number(size).unwrap_or(0)
                    }
                    [n, "unused", "pools", "*", size, "bytes"] => {
                        p.unused_pools = number(n).unwrap_or(0);
                        p.pool_size = number(size).unwrap_or(0);
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(p) = pm.as_mut() {
        if p.pool_size == 0 {
            // Every pool was in use; infer the pool size from the version-independent
            // layout the header lines gave (arena size / pools per arena is not printed).
            p.pool_size = if p.arena_size >= 1 << 20 {
                16 * 1024
            } else {
                4 * 1024
            };
        }
    }
    stats.pymalloc = pm;
    stats
}

fn parse_size_class(line: &str) -> Option<SizeClass> {
    let cols: Vec<u64> = line.split_whitespace().map(number).collect::<Option<_>>()?;
    match cols.as_slice() {
        [index, size, pools, used, avail] => Some(SizeClass {
            index: u32::try_from(*index).ok()?,
            block_size: *size,
            pools: *pools,
            blocks_in_use: *used,
            blocks_available: *avail,
        }),
        _ => None,
    }
}

fn parse_free_list(line: &str) -> Option<FreeList> {
    // "10 free PyDictObjects * 48 bytes each =  480"
    // "4 free 1-sized PyTupleObjects * 32 bytes each = 128"
    let (left, _) = line.split_once('=')?;
    let words: Vec<&str> = left.split_whitespace().collect();
    let star = words.iter().position(|w| *w == "*")?;
    if words.get(1) != Some(&"free") || words.get(star + 2..) != Some(&["bytes", "each"][..]) {
        return None;
    }
    Some(FreeList {
        name: words[2..star].join(" "),
        free: number(words[0])?,
        bytes_each: number(words[star + 1])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP_311: &str = include_str!("../testdata/mallocstats-3.11.txt");

    #[test]
    fn parses_pymalloc_section() {
        let stats = parse_mallocstats(DUMP_311);
        let p = stats.pymalloc.expect("pymalloc section");
        assert_eq!(p.small_block_threshold, 512);
        assert_eq!(p.size_classes.len(), 32);
        assert_eq!(
            p.size_classes[3],
            SizeClass {
                index: 3,
                block_size: 64,
                pools: 50,
                blocks_in_use: 12573,
                blocks_available: 177
            }
        );
        assert_eq!(p.arenas_current, 4);
        assert_eq!(p.arena_size, 1_048_576);
        assert_eq!(p.unused_pools, 17);
        assert_eq!(p.pool_size, 16_384);
        assert_eq!(p.bytes_in_allocated_blocks, 3_493_440);
        assert_eq!(p.total_bytes, 4_194_304);
        let parts = p.bytes_in_allocated_blocks
            + p.bytes_in_available_blocks
            + p.unused_pools * p.pool_size
            + p.bytes_lost_to_pool_headers
            + p.bytes_lost_to_quantization
            + p.bytes_lost_to_arena_alignment;
        assert_eq!(parts, p.total_bytes, "the dump's parts add up to its total");
        assert!((p.fragmentation() - (1.0 - 3_493_440.0 / 4_194_304.0)).abs() < 1e-12);
    }

    #[test]
    fn parses_free_lists() {
        let stats = parse_mallocstats(DUMP_311);
        assert!(stats.free_lists.contains(&FreeList {
            name: "PyDictObjects".into(),
            free: 8,
            bytes_each: 48
        }));
        assert!(stats.free_lists.contains(&FreeList {
            name: "1-sized PyTupleObjects".into(),
            free: 4,
            bytes_each: 32
        }));
    }

    #[test]
    fn malloc_allocator_has_no_pymalloc_section() {
        let stats = parse_mallocstats("           8 free PyDictObjects * 48 bytes each =    384\n");
        assert!(stats.pymalloc.is_none());
        assert_eq!(stats.free_lists.len(), 1);
    }

    #[test]
    fn garbage_is_ignored() {
        let stats = parse_mallocstats("Small block threshold = 512\nclass size\n1 2 3\n= = =\n");
        assert_eq!(stats.pymalloc.map(|p| p.size_classes.len()), Some(0));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse_mallocstats(&text);
        }
    }
}
