//! Another CPython process, read from outside: where its interpreter is (`target`), the
//! walker pointed at it (`process`), `fluoro dump` (`dump`), `fluoro attach` (`attach`, and `inject` for `--memory`) and `fluoro top` (`top`).

pub mod attach;
pub mod dump;
pub mod inject;
pub mod process;
pub mod target;
pub mod top;
