//! Sets the interpreter's `Py_3_*` and `Py_GIL_DISABLED` cfgs for this crate, as pyo3 does
//! for itself, so that code reading interpreter structs can follow the version built for.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}
