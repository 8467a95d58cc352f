//! `fluoro report FILE` and the reports `fluoro run` prints and writes when the target ends:
//! read a `.fluoro` profile, render it with `fluoro-report`.

use crate::output::Failure;
use fluoro_cli::ReportArgs;
use fluoro_render::io_reason;
use std::path::Path;

pub use fluoro_report::{Format, RenderOptions};

/// Reads the profile at `path` and renders it; the error is one line naming the file.
pub fn render_file(
    path: &Path,
    format: Format,
    options: &RenderOptions,
) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let data =
        std::fs::read(path).map_err(|e| format!("cannot read {shown}: {}", io_reason(&e)))?;
    let profile = fluoro_profile::Profile::from_bytes(&data)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    fluoro_report::render(&profile, format, options)
        .map_err(|e| format!("cannot render {shown}: {e}"))
}

/// `fluoro report`.
pub fn command(args: &ReportArgs) -> Result<i32, Failure> {
    let options = RenderOptions {
        metric: args.metric,
        top: args.top,
        idle: args.idle,
        ..RenderOptions::default()
    };
    let data = render_file(Path::new(&args.file), args.format, &options)
        .map_err(|e| Failure(format!("report: {e}")))?;
    match &args.output {
        Some(out) => std::fs::write(out, &data)
            .map_err(|e| Failure(format!("report: cannot write {out}: {}", io_reason(&e))))?,
        None => return Ok(crate::output::emit_bytes(&data)),
    }
    Ok(0)
}
