//! How findings are written out: ruff-style text lines, JSON, SARIF 2.1.0.

mod json;
mod sarif;
mod text;

pub use json::render_json;
pub use sarif::render_sarif;
pub use text::render_text;
