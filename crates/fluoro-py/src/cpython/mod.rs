//! The CPython layer: everything fluoro knows about the interpreter's own structures, and the
//! one place where versions differ.
//!
//! - [`layouts`]: per-version offsets of thread states, frames, code objects and the GIL,
//!   generated from each version's headers by `scripts/gen_layouts.py`.
//! - [`debug_offsets`]: a layout checked at start-up against the running interpreter's own
//!   `_Py_DebugOffsets` (3.13+), so that a patch release that moved a field is never misread.
//! - [`memory`]: reading this process's memory through the kernel (`process_vm_readv`), so that
//!   a structure freed under the reader gives an error, never a fault.
//! - [`codes`]: code objects read from memory and resolved once (file, names, line table).
//! - [`walker`]: every thread's stack read from outside the GIL, for the CPU sampler.
//! - [`frames`]: the calling thread's own stack read in place, for the allocation hook and the
//!   GC callback.
//! - [`values`]: simple objects read from memory: a `str`'s text, a `bytes`'s contents, and a
//!   bounded repr of any object.
//! - [`tasks`]: asyncio tasks read from memory (the running one, and those waiting), where
//!   [`tasks_probe`] found the C `Task`'s fields on a task of fluoro's own.
//! - [`locals`]: a frame's local variables read from memory, for `fluoro dump --locals`.
//! - [`objects`]: references through `tp_traverse`, `sys.getsizeof` computed per type, and other
//!   object internals, for the heap walk and the object reports.
//!
//! Adding a Python version is a generated layout file, a line in [`layouts::for_version`], and
//! whatever [`objects`] must read differently.

pub mod codes;
pub mod debug_offsets;
pub mod frames;
pub mod layouts;
pub mod locals;
pub mod memory;
pub mod objects;
pub mod tasks;
pub mod tasks_probe;
pub mod values;
pub mod walker;

pub use codes::CodeTable;
pub use frames::{ChainCache, FrameReader, MAX_FRAMES};
pub use walker::{ThreadStack, Walker};
