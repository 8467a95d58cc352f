//! What a rule reports: a [`Finding`] (a range in one file's source), located as a
//! [`Diagnostic`] (path, line, column) for output.

use crate::locator::LineIndex;
use crate::rules::Rule;
use ruff_text_size::TextRange;
use serde::Serialize;

/// A source replacement that keeps the program's behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    /// Byte range in the file's source.
    pub start: usize,
    pub end: usize,
    pub content: String,
}

impl Edit {
    pub fn replace(range: TextRange, content: impl Into<String>) -> Self {
        Edit {
            start: range.start().to_usize(),
            end: range.end().to_usize(),
            content: content.into(),
        }
    }
}

/// One rule firing on one range.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static Rule,
    pub range: TextRange,
    pub message: String,
    pub fix: Option<Edit>,
}

/// A finding with its place in a file, as the renderers show it.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    pub path: String,
    pub line: u32,
    pub col: u32,
    pub end_line: u32,
    pub end_col: u32,
    pub code: &'static str,
    pub name: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Edit>,
    /// Measured cost of the lines the finding covers, when ranked by a profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<crate::rank::Cost>,
}

impl Diagnostic {
    pub fn locate(path: &str, source: &str, index: &LineIndex, finding: Finding) -> Self {
        let (line, col) = index.line_col(source, finding.range.start().to_usize());
        let (end_line, end_col) = index.line_col(source, finding.range.end().to_usize());
        Diagnostic {
            path: path.to_owned(),
            line,
            col,
            end_line,
            end_col,
            code: finding.rule.code,
            name: finding.rule.name,
            // Source quoted in a message may span lines: one line per diagnostic.
            message: if finding.message.contains('\n') {
                finding
                    .message
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                finding.message
            },
            fix: finding.fix,
            cost: None,
        }
    }
}

/// What advising one file gave.
#[derive(Debug, Clone)]
pub enum FileOutcome {
    Checked {
        path: String,
        diagnostics: Vec<Diagnostic>,
    },
    SyntaxError {
        path: String,
        line: u32,
        col: u32,
        message: String,
    },
}
