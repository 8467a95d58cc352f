//! Another CPython process, read from outside: where its interpreter is (`target`), and
//! `fluoro dump` (`dump`).

pub mod dump;
pub mod target;
