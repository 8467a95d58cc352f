//! `fluoro advise`: performance anti-patterns in Python source.
//!
//! Source is parsed with `ruff_python_parser`; one walk of the tree ([`checker`]) keeps the
//! context rules need (enclosing loops and what they rebind, the function, locally inferred
//! kinds of names) and calls each enabled rule ([`rules`]) on every statement and expression.
//! Findings can be ranked by a measured profile ([`rank`]) and their safe fixes applied
//! ([`fix`]).

pub mod checker;
pub mod config;
pub mod diagnostic;
pub mod files;
pub mod fix;
pub mod kinds;
pub mod locator;
pub mod rank;
pub mod render;
pub mod rules;
pub mod syntax;

pub use config::{Config, ConfigError};
pub use diagnostic::{Diagnostic, Edit, FileOutcome, Finding};
pub use files::{advise_and_fix, advise_paths, Advice};
pub use rank::{LineCosts, Ranked};
pub use rules::{Rule, RuleSet, SelectError, RULES};

use locator::{LineIndex, Noqa};

/// Advises one file's source: its findings located by line and column, or a syntax error.
pub fn advise_source(
    path: &str,
    source: &str,
    rules: &RuleSet,
    costs: Option<&rank::FileCosts>,
) -> FileOutcome {
    let parsed = match ruff_python_parser::parse_module(source) {
        Ok(parsed) => parsed,
        Err(err) => {
            let index = LineIndex::new(source);
            let (line, col) = index.line_col(source, err.location.start().to_usize());
            return FileOutcome::SyntaxError {
                path: path.to_owned(),
                line,
                col,
                message: err.error.to_string(),
            };
        }
    };
    let index = LineIndex::new(source);
    let noqa = Noqa::from_tokens(source, parsed.tokens(), &index);
    let findings = checker::check_module(source, &index, parsed.syntax(), rules, costs);
    let diagnostics = findings
        .into_iter()
        .filter(|f| !noqa.suppresses(&index, f.range.start().to_usize(), f.rule.code))
        .map(|f| Diagnostic::locate(path, source, &index, f))
        .collect();
    FileOutcome::Checked {
        path: path.to_owned(),
        diagnostics,
    }
}
