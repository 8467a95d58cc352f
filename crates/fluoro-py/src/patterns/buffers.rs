//! `fluoro.patterns.BufferPool`: writable buffers from power-of-two size classes.
//!
//! `acquire(n)` returns a `memoryview` over a [`PooledBuffer`], a small object that owns one
//! block. The memoryview (and every slice of it) holds a reference to that object, so the
//! block goes back to the pool only when the object is freed: when the last view of it is
//! released (`with pool.acquire(n) as buf:`, `buf.release()`) or collected. A view can never
//! outlive its bytes.

use super::block::Block;
use super::size_classes::SizeClasses;
use fluoro_profile::SizeClassStats;
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyMemoryView;
use std::ffi::c_int;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Largest size class unless told otherwise: 64 MiB.
const DEFAULT_MAX_SIZE: usize = 1 << 26;

type Shared = Arc<Mutex<SizeClasses>>;

fn lock(classes: &Shared) -> MutexGuard<'_, SizeClasses> {
    // A panic while holding the lock cannot leave the free lists half-updated in a way that
    // matters (counters at worst), so a poisoned lock is used as is.
    classes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A pool of reusable byte buffers in power-of-two size classes from 64 bytes. Thread-safe.
#[pyclass(module = "fluoro._native", subclass, weakref)]
pub struct BufferPool {
    classes: Shared,
    name: Option<String>,
}

#[pymethods]
impl BufferPool {
    #[new]
    #[pyo3(signature = (max_size = DEFAULT_MAX_SIZE, idle_seconds = 2.0, name = None))]
    fn new(max_size: usize, idle_seconds: f64, name: Option<String>) -> PyResult<BufferPool> {
        let idle = Duration::try_from_secs_f64(idle_seconds)
            .map_err(|_| PyValueError::new_err("idle_seconds must be a non-negative number"))?;
        let classes = SizeClasses::new(max_size, idle, Instant::now())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(BufferPool {
            classes: Arc::new(Mutex::new(classes)),
            name,
        })
    }

    /// A writable memoryview of exactly `size` bytes. Its bytes are zero when the block is
    /// fresh, and otherwise whatever the previous user left unless `zero=True`.
    #[pyo3(signature = (size, zero = false))]
    fn acquire<'py>(
        &self,
        py: Python<'py>,
        size: usize,
        zero: bool,
    ) -> PyResult<Bound<'py, PyMemoryView>> {
        let (mut block, reused) = lock(&self.classes)
            .take(size, Instant::now())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        if zero && reused {
            block.zero(size);
        }
        let owner = Bound::new(
            py,
            PooledBuffer {
                block: Some(block),
                len: size,
                pool: Arc::clone(&self.classes),
            },
        )?;
        PyMemoryView::from(owner.as_any())
    }

    /// Releases free blocks that have been idle for `idle_seconds`; returns how many. Idle
    /// blocks are also released as the pool is used.
    fn trim(&self) -> usize {
        lock(&self.classes).trim(Instant::now())
    }

    /// Releases every free block (buffers in use are not affected); returns how many.
    fn clear(&self) -> usize {
        lock(&self.classes).clear()
    }

    /// Figures per size class that has served a request: `size`, `in_use`, `free`,
    /// `high_water`, `acquired`, `reused`, `trimmed`, `fragmentation`.
    fn size_classes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::output::to_python(py, &self.class_stats())
    }

    /// The largest request served, in bytes (`max_size` rounded up to a power of two).
    #[getter]
    fn max_size(&self) -> usize {
        lock(&self.classes).largest()
    }

    #[getter]
    fn idle_seconds(&self) -> f64 {
        lock(&self.classes).idle().as_secs_f64()
    }

    #[getter]
    fn name(&self) -> Option<String> {
        self.name.clone()
    }
}

impl BufferPool {
    pub fn class_stats(&self) -> Vec<SizeClassStats> {
        lock(&self.classes).stats()
    }
}

/// Owns one block while Python uses it; gives it back to its pool when freed.
#[pyclass(module = "fluoro._native", frozen)]
pub struct PooledBuffer {
    block: Option<Block>,
    /// Bytes the user asked for: the view's length (the block may be larger).
    len: usize,
    pool: Shared,
}

#[pymethods]
impl PooledBuffer {
    /// Exposes the block as writable bytes.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let this = slf.get();
        let Some(block) = &this.block else {
            return Err(pyo3::exceptions::PyBufferError::new_err(
                "the buffer was returned to its pool",
            ));
        };
        // SAFETY: `view` is the Py_buffer CPython asked this exporter to fill. The pointer is
        // valid for `len` ≤ block length bytes of reads and writes for as long as this object
        // lives, and PyBuffer_FillInfo stores a new reference to this object in `view->obj`,
        // so the object (and its block) outlives every view. No Rust code reads or writes the
        // bytes while the object is alive.
        let filled = unsafe {
            ffi::PyBuffer_FillInfo(
                view,
                slf.as_ptr(),
                block.as_ptr().cast(),
                this.len as ffi::Py_ssize_t,
                0,
                flags,
            )
        };
        if filled == -1 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    fn __len__(&self) -> usize {
        self.len
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        if let Some(block) = self.block.take() {
            lock(&self.pool).give_back(block, Instant::now());
        }
    }
}
