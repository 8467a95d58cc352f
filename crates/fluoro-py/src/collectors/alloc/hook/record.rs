//! The records the hook pushes into the ring and the drain reads back: a header word (kind,
//! frame count, flags) and the words of its kind.

/// Record kinds, in the low byte of a record's first word; the frame count is in bits 8..24
/// and [`KNOWN_STACK`] says the record carries only its stack's hash, the frames having gone
/// with an earlier record.
///
/// Records with a stack (ALLOC, GC_START, FOLDED) are `[header, tstate, ident, field, field,
/// hash, frames...]`, frames as (code object, offset) pairs, innermost first: ALLOC's fields are
/// the address and size, FOLDED's the bytes and how many blocks of one size class (powers of
/// two) the stack allocated to be held back (see [`Held`]). FREE is `[header, addr]`; GC_STOP `[header, 0,
/// 0, duration, collected, uncollectable]`; MARK `[header, 0, 0, index]`.
pub const ALLOC: u64 = 1;

pub const FREE: u64 = 2;

pub const GC_START: u64 = 3;

pub const GC_STOP: u64 = 4;

pub const MARK: u64 = 5;

pub const FOLDED: u64 = 6;

/// `[header + size << 32, addr, hash]`: an allocation by a stack sent before, on the thread of
/// the last THREAD record or record with a thread.
pub const ALLOC_SHORT: u64 = 7;

/// `[header, tstate, ident]`: the thread of the records that follow without one.
pub const THREAD: u64 = 8;
/// A stack record whose first field is the block of an object taken again from a free list
/// by that stack (3.13+).
pub const RETAG: u64 = 9;
/// `[header, task, name, depth, hash]`: the next record, a sampled allocation by the stack of
/// hash `hash`, was made in the asyncio task at `task` (named by the object at `name`), whose
/// coroutine's frame is the stack's pair `depth`, innermost first (`fluoro run --async`).
pub const TASK: u64 = 10;

/// A single word with its low four bits clear (no header has them clear) is a FREE of that
/// address: blocks are 16-byte aligned.
pub fn is_short_free(word: u64) -> bool {
    word & 0xf == 0
}

pub const KNOWN_STACK: u64 = 1 << 24;

/// On an ALLOC or ALLOC_SHORT: the block was counted in a FOLDED record when it was made and
/// only becomes live (a held block that outlived its hold).
pub const COUNTED: u64 = 1 << 25;

/// Words of a stack record before its frames.
pub const STACK_HEAD: usize = 6;

pub fn header(kind: u64, frames: usize, known: bool) -> u64 {
    kind | ((frames as u64) << 8) | if known { KNOWN_STACK } else { 0 }
}

pub fn parse_header(word: u64) -> (u64, usize, bool) {
    (
        word & 0xff,
        ((word >> 8) & 0xffff) as usize,
        word & KNOWN_STACK != 0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn headers_round_trip(kind in 1u64..=10, frames in 0usize..=0xffff, known in any::<bool>()) {
            let word = header(kind, frames, known);
            prop_assert_eq!(parse_header(word), (kind, frames, known));
            // A header is never taken for a short free, nor are the flags for its fields.
            prop_assert!(!is_short_free(word));
            prop_assert!(!is_short_free(word | COUNTED));
            prop_assert_eq!(parse_header(word | COUNTED), (kind, frames, known));
        }

        #[test]
        fn short_allocations_keep_their_size(size in 0u64..=u64::from(u32::MAX), counted in any::<bool>()) {
            let flag = if counted { COUNTED } else { 0 };
            let word = header(ALLOC_SHORT, 0, true) | flag | size << 32;
            prop_assert_eq!(parse_header(word), (ALLOC_SHORT, 0, true));
            prop_assert_eq!(word >> 32, size);
            prop_assert_eq!(word & COUNTED != 0, counted);
        }

        #[test]
        fn aligned_addresses_are_short_frees(addr in 1u64..(1 << 47)) {
            prop_assert!(is_short_free(addr << 4));
        }
    }

    #[test]
    fn kinds_are_distinct_and_fit_their_byte() {
        let kinds = [
            ALLOC,
            FREE,
            GC_START,
            GC_STOP,
            MARK,
            FOLDED,
            ALLOC_SHORT,
            THREAD,
            RETAG,
            TASK,
        ];
        let set: std::collections::BTreeSet<u64> = kinds.iter().copied().collect();
        assert_eq!(set.len(), kinds.len());
        assert!(kinds.iter().all(|&k| k != 0 && k < 0x100 && k & 0xf != 0));
    }
}
