//! A heap block that Python may write to through the buffer protocol while Rust owns it.
//!
//! `Box<[u8]>` would forbid writes through a pointer taken from a shared reference, so the
//! block keeps its allocation as a raw pointer and frees it itself. This is the only `unsafe`
//! of `fluoro.patterns` besides filling a `Py_buffer` (see `buffers.rs`).

use std::ptr::NonNull;

/// `len` bytes on the heap, owned exclusively.
pub struct Block {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a Block owns its allocation exclusively, as a Box<[u8]> does, and Rust never reads
// or writes the bytes through `&Block`; only the pointer is handed out (to Python's buffer
// protocol), so sharing or sending the owner across threads races on nothing Rust touches.
unsafe impl Send for Block {}
// SAFETY: as above: `&Block` gives access to the pointer and length only.
unsafe impl Sync for Block {}

impl Block {
    /// A fresh, zeroed block (calloc-backed for large sizes, as `vec![0; n]` is).
    pub fn zeroed(len: usize) -> Block {
        let raw = Box::into_raw(vec![0u8; len].into_boxed_slice());
        // `Box::into_raw` never returns null; a zero-length box gives a dangling, non-null
        // pointer, which `from_raw` below accepts back.
        let ptr = NonNull::new(raw.cast::<u8>()).unwrap_or(NonNull::dangling());
        Block { ptr, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Where the bytes start: valid for reads and writes of `len()` bytes while `self` lives.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Zeroes the first `n` bytes (all of them when `n` is larger).
    pub fn zero(&mut self, n: usize) {
        // SAFETY: `ptr` is valid for `len` bytes and `&mut self` means no Python view of this
        // block exists (blocks are only mutated while in the pool's free lists or before
        // being handed out).
        unsafe { std::ptr::write_bytes(self.ptr.as_ptr(), 0, n.min(self.len)) }
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        let slice = std::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.len);
        // SAFETY: `ptr` and `len` came from `Box::into_raw` of a `Box<[u8]>` of exactly this
        // length in `zeroed`, and are rebuilt into that box exactly once, here.
        drop(unsafe { Box::from_raw(slice) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_blocks_are_zero_and_writable() {
        let mut b = Block::zeroed(100);
        assert_eq!(b.len(), 100);
        // SAFETY: the block is 100 bytes long and nothing else refers to it.
        let bytes = unsafe { std::slice::from_raw_parts_mut(b.as_ptr(), b.len()) };
        assert!(bytes.iter().all(|&x| x == 0));
        bytes.fill(7);
        b.zero(10);
        // SAFETY: as above.
        let bytes = unsafe { std::slice::from_raw_parts(b.as_ptr(), b.len()) };
        assert!(bytes[..10].iter().all(|&x| x == 0));
        assert!(bytes[10..].iter().all(|&x| x == 7));
    }

    #[test]
    fn empty_blocks_are_fine() {
        let mut b = Block::zeroed(0);
        b.zero(5);
        assert_eq!(b.len(), 0);
    }
}
