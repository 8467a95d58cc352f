//! How findings are written out: ruff-style text lines, JSON, SARIF 2.1.0.

mod json;
mod sarif;
mod text;

pub use json::render_json;
pub use sarif::render_sarif;
pub use text::render_text;

/// Output formats of `fluoro advise --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
    Sarif,
}

impl OutputFormat {
    pub const ALL: [OutputFormat; 3] = [OutputFormat::Text, OutputFormat::Json, OutputFormat::Sarif];

    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Text => "text",
            OutputFormat::Json => "json",
            OutputFormat::Sarif => "sarif",
        }
    }

    pub fn about(self) -> &'static str {
        match self {
            OutputFormat::Text => "path:line:col: CODE message lines, then a summary",
            OutputFormat::Json => "a JSON object: findings, syntax errors, summary",
            OutputFormat::Sarif => "SARIF 2.1.0, for code-scanning tools",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        OutputFormat::ALL.into_iter().find(|f| f.name() == name)
    }
}
