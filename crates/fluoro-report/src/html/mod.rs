//! The HTML report: one self-contained page (its own script and style, the profile's data as
//! JSON) that works opened from disk, with no network. The page draws the flame graph on a
//! canvas and computes its tables for the metric, thread and time range the reader picks.
//!
//! `assets/` holds the page's skeleton, script and style, embedded at build time.

mod columns;
mod data;
mod escape;

use crate::{Profile, RenderError, RenderOptions};

const PAGE: &str = include_str!("assets/page.html");
const SCRIPT: &str = include_str!("assets/report.js");
const STYLE: &str = include_str!("assets/report.css");

/// Renders the page.
pub(crate) fn render(profile: &Profile, options: &RenderOptions) -> Result<Vec<u8>, RenderError> {
    let data = data::build(profile, options);
    let json = escape::json_for_script(&serde_json::to_string(&data)?);
    let title = escape::html_text(&format!("fluoro: {}", data.run.target));
    let mut page = String::with_capacity(PAGE.len() + SCRIPT.len() + STYLE.len() + json.len());
    // The skeleton's holes, in order; each filled once.
    let mut rest = PAGE;
    for (hole, fill) in [
        ("{{title}}", title.as_str()),
        ("{{style}}", STYLE),
        ("{{data}}", json.as_str()),
        ("{{script}}", SCRIPT),
    ] {
        let (before, after) = rest
            .split_once(hole)
            .ok_or_else(|| RenderError::Inconsistent(format!("page template lacks {hole}")))?;
        page.push_str(before);
        page.push_str(fill);
        rest = after;
    }
    page.push_str(rest);
    Ok(page.into_bytes())
}

#[cfg(test)]
mod tests;
