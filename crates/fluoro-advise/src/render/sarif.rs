//! SARIF 2.1.0 (the OASIS static-analysis results format code-scanning services read).

use crate::files::Advice;
use crate::rules::RULES;
use serde_json::json;

pub fn render_sarif(advice: &Advice, version: &str) -> String {
    let rules: Vec<_> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": { "text": r.summary },
                "fullDescription": { "text": r.docs.trim() },
                "help": { "text": r.docs.trim(), "markdown": r.docs.trim() },
                "defaultConfiguration": { "level": "warning" },
            })
        })
        .collect();
    let results: Vec<_> = advice
        .diagnostics
        .iter()
        .map(|d| {
            let index = RULES.iter().position(|r| r.code == d.code).unwrap_or(0);
            let mut result = json!({
                "ruleId": d.code,
                "ruleIndex": index,
                "level": "warning",
                "message": { "text": d.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": d.path.replace('\\', "/") },
                        "region": {
                            "startLine": d.line,
                            "startColumn": d.col,
                            "endLine": d.end_line,
                            "endColumn": d.end_col,
                        }
                    }
                }],
            });
            if let Some(cost) = d.cost {
                result["properties"] =
                    json!({ "measuredNs": cost.ns, "share": cost.share, "allocatedBytes": cost.bytes, "allocationShare": cost.bytes_share, "cold": cost.cold });
            }
            result
        })
        .collect();
    let value = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "fluoro",
                    "version": version,
                    "rules": rules,
                }
            },
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}
