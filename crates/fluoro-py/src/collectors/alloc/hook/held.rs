//! Recording every allocation, the blocks held back and the counts they are folded into: plain
//! Rust, with no interpreter and no ring in it, so that its accounting is tested against a
//! model. What goes out goes to a [`Sink`] (the ring, in the hook).

/// Where held blocks that outlived their hold, and folded counts, go.
pub trait Sink {
    /// A held block still live when it leaves its slot: counted in a fold already.
    fn held_block(&mut self, block: &Held);
    /// A folded count (its slot is emptied after).
    fn fold(&mut self, fold: &Fold);
}

/// Recording every allocation, the hook holds back the latest small ones, by address: most
/// blocks a program allocates (the ints and floats of arithmetic, temporaries) are freed a few
/// allocations later. A held block is counted in a [`Fold`] when it is made; freed while held,
/// it never reaches the ring at all (its free only empties the slot). A held block still live
/// when another takes its slot goes out as a [`COUNTED`] allocation, and all of them before a
/// mark and when tracking stops. The record of the heap
/// lags the interpreter's by the held blocks, at most `HELD_SLOTS * HELD_MAX_SIZE` bytes.
/// With 128 slots, the chunks `json.dumps` joins at its end were displaced before their free
/// and went out as a live block and a free: 1024 halve those on `json_dumps` (4096, 40 KiB
/// more of slots, would save another 6 %).
pub const HELD_SLOTS: usize = 1024;

/// Largest block held back (pymalloc's small blocks).
pub const HELD_MAX_SIZE: u64 = 512;

/// Folded counts kept before they are sent (direct-mapped by stack, size class and thread).
pub const FOLD_SLOTS: usize = 256;

/// Folds after which every count goes out, so that a profile cut short misses few.
pub const FOLDS_BETWEEN_SENDS: u64 = 1 << 20;

/// An allocation held back, with what its record needs.
#[derive(Clone, Copy)]
pub struct Held {
    /// 0 when the slot is free.
    pub addr: u64,
    pub size: u64,
    pub hash: u64,
    pub tstate: u64,
    pub ident: u64,
}

/// How many blocks of one size class, and how many bytes in all, one stack allocated to be
/// held back. By class rather than by size: the strings a program builds have many lengths,
/// and a fold per length left a record for every two or three blocks.
#[derive(Clone, Copy)]
pub struct Fold {
    /// 0 when the slot is free.
    pub count: u64,
    pub bytes: u64,
    /// `log2` of the smallest power of two at or above the blocks' sizes.
    pub class: u64,
    pub hash: u64,
    pub tstate: u64,
    pub ident: u64,
}

const NO_HELD: Held = Held {
    addr: 0,
    size: 0,
    hash: 0,
    tstate: 0,
    ident: 0,
};

const NO_FOLD: Fold = Fold {
    count: 0,
    bytes: 0,
    class: 0,
    hash: 0,
    tstate: 0,
    ident: 0,
};

/// The held slot of `addr` (blocks are 16-byte aligned).
#[inline(always)]
fn held_slot(addr: u64) -> usize {
    (addr >> 4) as usize % HELD_SLOTS
}

/// `log2` of the smallest power of two at or above `size` (0 for 0 and 1), the classes of the
/// report's size histogram.
#[inline(always)]
pub fn size_class(size: u64) -> u64 {
    u64::from(u64::BITS - size.saturating_sub(1).leading_zeros())
}

/// The held blocks and the folded counts of the allocating thread (GIL held).
pub struct HeldBlocks {
    held: [Held; HELD_SLOTS],
    folds: [Fold; FOLD_SLOTS],
    /// Folds since the counts last went out.
    folded: u64,
}

impl HeldBlocks {
    pub const EMPTY: HeldBlocks = HeldBlocks {
        held: [NO_HELD; HELD_SLOTS],
        folds: [NO_FOLD; FOLD_SLOTS],
        folded: 0,
    };

    /// Forgets everything held and folded (a new session).
    pub fn clear(&mut self) {
        self.held.fill(NO_HELD);
        self.folds.fill(NO_FOLD);
        self.folded = 0;
    }

    /// Holds `block` back (it is counted already), sending the one it displaces.
    #[inline(always)]
    pub fn hold(&mut self, block: &Held, sink: &mut impl Sink) {
        let slot = &mut self.held[held_slot(block.addr)];
        if slot.addr != 0 {
            sink.held_block(slot);
        }
        // Field by field, from registers: a copy of the whole block went through the stack, and
        // its wide reloads of the narrow stores just made there waited for them.
        slot.addr = block.addr;
        slot.size = block.size;
        slot.hash = block.hash;
        slot.tstate = block.tstate;
        slot.ident = block.ident;
    }

    /// Empties the held slot of `addr` if it holds that block: its allocation was counted and
    /// never went out, so its free has nothing to send.
    #[inline(always)]
    pub fn unhold(&mut self, addr: u64) -> bool {
        let slot = &mut self.held[held_slot(addr)];
        let held = slot.addr == addr;
        if held {
            slot.addr = 0;
        }
        held
    }

    /// Moves the held block at `block.addr`, if it is held, to `block`'s stack: an object taken
    /// again from a free list, whose block never left. It counts as one more allocation of
    /// its size, by the new stack. False when the block is not held.
    #[inline(always)]
    #[cfg_attr(not(Py_3_13), allow(dead_code))]
    pub fn retag(&mut self, block: &Held, sink: &mut impl Sink) -> bool {
        let slot = self.held[held_slot(block.addr)];
        if slot.addr != block.addr || slot.addr == 0 {
            return false;
        }
        let moved = Held {
            size: slot.size,
            ..*block
        };
        self.fold(&moved, sink);
        self.held[held_slot(block.addr)] = moved;
        true
    }

    /// Counts a block about to be held back.
    #[inline(always)]
    pub fn fold(&mut self, block: &Held, sink: &mut impl Sink) {
        let class = size_class(block.size);
        // The hash is well mixed.
        let key = block.hash ^ class;
        let slot = &mut self.folds[key as usize % FOLD_SLOTS];
        if slot.count != 0
            && (slot.hash != block.hash || slot.class != class || slot.tstate != block.tstate)
        {
            sink.fold(slot);
            slot.count = 0;
        }
        if slot.count == 0 {
            *slot = Fold {
                count: 0,
                bytes: 0,
                class,
                hash: block.hash,
                tstate: block.tstate,
                ident: block.ident,
            };
        }
        slot.count += 1;
        slot.bytes += block.size;
        self.folded += 1;
        if self.folded >= FOLDS_BETWEEN_SENDS {
            self.send_folds(sink);
        }
    }

    /// Sends every folded count.
    #[cold]
    pub fn send_folds(&mut self, sink: &mut impl Sink) {
        for slot in self.folds.iter_mut().filter(|f| f.count != 0) {
            sink.fold(slot);
            slot.count = 0;
        }
        self.folded = 0;
    }

    /// Sends every held block and folded count, so that the record is whole up to now.
    #[cold]
    pub fn send_all(&mut self, sink: &mut impl Sink) {
        for slot in self.held.iter_mut().filter(|h| h.addr != 0) {
            sink.held_block(slot);
            slot.addr = 0;
        }
        self.send_folds(sink);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// What went out: live blocks by address, and folded blocks and bytes by (hash, class).
    #[derive(Default)]
    struct Out {
        live: Vec<Held>,
        folds: BTreeMap<(u64, u64), (u64, u64)>,
    }

    impl Sink for Out {
        fn held_block(&mut self, block: &Held) {
            self.live.push(*block);
        }
        fn fold(&mut self, fold: &Fold) {
            let e = self.folds.entry((fold.hash, fold.class)).or_default();
            e.0 += fold.count;
            e.1 += fold.bytes;
        }
    }

    fn block(addr: u64, size: u64, hash: u64) -> Held {
        Held {
            addr,
            size,
            hash,
            tstate: 1,
            ident: 1,
        }
    }

    #[test]
    fn size_classes_are_the_powers_of_two_at_or_above() {
        let cases = [
            (0, 0),
            (1, 0),
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 3),
            (16, 4),
            (17, 5),
            (512, 9),
        ];
        for (size, class) in cases {
            assert_eq!(size_class(size), class, "{size}");
        }
    }

    #[test]
    fn a_block_freed_while_held_sends_nothing_but_its_fold() {
        let mut blocks = Box::new(HeldBlocks::EMPTY);
        let mut out = Out::default();
        let b = block(0x1000, 32, 7);
        blocks.fold(&b, &mut out);
        blocks.hold(&b, &mut out);
        assert!(blocks.unhold(0x1000));
        assert!(!blocks.unhold(0x1000));
        blocks.send_all(&mut out);
        assert!(out.live.is_empty());
        assert_eq!(out.folds[&(7, 5)], (1, 32));
    }

    #[test]
    fn a_retagged_held_block_counts_again_at_its_new_stack() {
        let mut blocks = Box::new(HeldBlocks::EMPTY);
        let mut out = Out::default();
        let b = block(0x2000, 48, 7);
        blocks.fold(&b, &mut out);
        blocks.hold(&b, &mut out);
        assert!(blocks.retag(&block(0x2000, 0, 9), &mut out));
        assert!(!blocks.retag(&block(0x3000, 0, 9), &mut out));
        blocks.send_all(&mut out);
        assert_eq!(out.folds[&(7, 6)], (1, 48));
        assert_eq!(out.folds[&(9, 6)], (1, 48));
        assert_eq!(out.live.len(), 1);
        assert_eq!(out.live[0].hash, 9);
    }

    #[test]
    fn a_displaced_block_goes_out_live() {
        let mut blocks = Box::new(HeldBlocks::EMPTY);
        let mut out = Out::default();
        let first = block(0x10, 24, 3);
        // The same slot, HELD_SLOTS blocks of 16 bytes further on.
        let second = block(0x10 + 16 * HELD_SLOTS as u64, 24, 3);
        for b in [first, second] {
            blocks.fold(&b, &mut out);
            blocks.hold(&b, &mut out);
        }
        assert_eq!(out.live.len(), 1);
        assert_eq!(out.live[0].addr, first.addr);
        assert!(blocks.unhold(second.addr));
    }

    proptest! {
        /// Against a model: every block allocated is counted once in the folds (blocks and
        /// bytes exact per stack and size class), and a block goes out live exactly when it was
        /// not freed while held.
        #[test]
        fn folds_and_live_blocks_match_a_model(
            ops in prop::collection::vec((0u64..4096, 1u64..=512, 0u64..6, any::<bool>()), 1..3000)
        ) {
            let mut blocks = Box::new(HeldBlocks::EMPTY);
            let mut out = Out::default();
            let mut model: BTreeMap<(u64, u64), (u64, u64)> = BTreeMap::new();
            // Blocks live now (address -> block), and those freed while held.
            let mut live: BTreeMap<u64, Held> = BTreeMap::new();
            // By allocation (its `ident`, unique here).
            let mut freed_while_held: BTreeSet<u64> = BTreeSet::new();
            for (n, (slot, size, hash, free)) in ops.into_iter().enumerate() {
                let addr = (slot + 1) * 16;
                if free {
                    if let Some(b) = live.remove(&addr) {
                        if blocks.unhold(addr) {
                            freed_while_held.insert(b.ident);
                        }
                    }
                    continue;
                }
                if live.contains_key(&addr) {
                    continue;
                }
                let b = Held {
                    ident: n as u64,
                    ..block(addr, size, hash + 1)
                };
                let e = model.entry((b.hash, size_class(size))).or_default();
                e.0 += 1;
                e.1 += size;
                blocks.fold(&b, &mut out);
                blocks.hold(&b, &mut out);
                live.insert(addr, b);
            }
            blocks.send_all(&mut out);
            prop_assert_eq!(&out.folds, &model);
            // What went out live is what is still live, plus what was freed after it left its
            // slot: never a block freed while held.
            let sent: BTreeSet<u64> = out.live.iter().map(|b| b.ident).collect();
            prop_assert_eq!(sent.len(), out.live.len(), "a block went out twice");
            for b in &out.live {
                prop_assert!(!freed_while_held.contains(&b.ident));
            }
            for b in live.values() {
                prop_assert!(sent.contains(&b.ident), "live block {:#x} never sent", b.addr);
            }
        }
    }
}
