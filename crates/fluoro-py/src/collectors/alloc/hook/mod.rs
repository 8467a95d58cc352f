//! The allocator hook: wrappers around the RAW, MEM and OBJ domains installed with
//! `PyMem_SetAllocator`, which decide cheaply whether an allocation is recorded and, when it
//! is, push it with its Python stack into the ring (`alloc::ring`). Nothing here allocates
//! (but `--async`'s task lookup of a sampled allocation, from the C allocator, not wrapped).
//!
//! Every Python object and buffer comes through MEM or OBJ, and their callers hold the GIL: it
//! serializes everything recorded, so no lock and no thread-local is needed. RAW calls are
//! recorded when their thread holds the GIL (a thread state, zlib's buffers, an extension's
//! `PyMem_RawMalloc`) and not made by pymalloc on behalf of a MEM or OBJ call already
//! recorded (`state::NESTED`). Allocations by threads without the GIL are counted, not recorded (no
//! stack can be read for them); their frees of recorded blocks wait in the live set's orphans
//! for the next GIL holder (`live::orphan`).
//!
//! Sampling is by bytes: a byte budget drawn from an exponential distribution is counted down
//! by every allocation; the one that crosses zero is recorded (a Poisson process over the
//! allocated bytes, so estimates from the samples are unbiased). Over pymalloc (the usual
//! case), MEM and OBJ frees are not wrapped at all: sampled blocks are made outside its arenas,
//! so that pymalloc frees them through RAW, whose wrapper sees them ([`direct`]). Under
//! other allocators (`PYTHONMALLOC`, the debug hooks, another tracer) a free costs one load
//! from the live set's filter unless the block was sampled.
//!
//! Recording every allocation, most of the cost is per event, so events are made few and
//! short: a small block freed soon after it was made is folded into a per-stack count in the
//! hook and never reaches the ring ([`held`]); the rest go out as records of three words (an
//! allocation) or one (a free); the stack is compared with the last one read rather than read
//! and hashed again (`cpython::ChainCache`).
//!
//! The parts, from the bottom up: [`record`] (the ring's record format), [`held`] (blocks held
//! back and folded, plain Rust), `state` (the statics every call reads), `capture` (the
//! allocating thread's stack and the records that carry it), `sampled` (the MEM and OBJ
//! wrappers and what recording does), [`direct`] (sampling over pymalloc), `raw` (the RAW
//! domain), `retag` (objects taken again from free lists, 3.13+), `tasks` (the asyncio task of
//! a sampled allocation, `--async`), `install` (installing, removing, and the records of
//! collections and marks).

mod capture;
pub mod direct;
pub mod held;
mod install;
mod raw;
pub mod record;
mod retag;
mod sampled;
mod state;
mod tasks;

pub use install::{
    counters, install, install_events_only, installed, push_event, resume, uninstall,
};
pub use record::*;
pub use state::{is_paused, paused, shared_for};
pub use tasks::follow_tasks;
