//! The JSON report: findings (with fixes and measured costs), syntax errors, a summary.

use crate::files::Advice;
use serde_json::json;

pub fn render_json(advice: &Advice) -> String {
    let fixable = advice
        .diagnostics
        .iter()
        .filter(|d| d.fix.is_some())
        .count();
    let value = json!({
        "findings": advice.diagnostics,
        "syntax_errors": advice.syntax_errors,
        "warnings": advice.warnings,
        "summary": {
            "files": advice.files,
            "findings": advice.diagnostics.len(),
            "fixable": fixable,
            "fixed": advice.fixed,
        },
    });
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}
