//! `fluoro report FILE` and the reports `fluoro run` prints and writes when the target ends:
//! read a `.fluoro` profile, render it with `fluoro-report`.

use crate::output::Failure;
use fluoro_cli::ReportArgs;
use fluoro_render::io_reason;
use std::path::Path;

pub use fluoro_report::{Format, RenderOptions};

/// Reads the `.fluoro` profile at `path`: its magic bytes first, so that a file that is no
/// profile (`/dev/zero`, a FIFO) is refused before anything more is read. A file that ends
/// inside its last chunk reads up to it, and says so in one line on stderr.
pub fn read_profile(path: &Path) -> Result<fluoro_profile::Profile, String> {
    read_process(path, None)
}

/// [`read_profile`] of one process (`--pid`) of a profile that has several. A file is read a
/// chunk at a time, in the memory of what the report adds up (one process after the other);
/// one that cannot seek (a FIFO), or with a damaged chunk among its children's, is read whole.
pub fn read_process(path: &Path, pid: Option<u32>) -> Result<fluoro_profile::Profile, String> {
    use std::io::{Read, Seek, SeekFrom};
    let shown = path.display();
    let cannot = |e: std::io::Error| format!("cannot read {shown}: {}", io_reason(&e));
    let bad = |e: fluoro_profile::FormatError| format!("cannot read {shown}: {e}");
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    let mut data = Vec::new();
    (&mut file)
        .take(fluoro_profile::MAGIC.len() as u64)
        .read_to_end(&mut data)
        .map_err(cannot)?;
    fluoro_profile::ChunkReader::new(&data).map_err(bad)?;
    let seekable = file.stream_position().is_ok();
    let streamed = if seekable {
        fluoro_profile::Profile::from_file(&file, pid).map_err(bad)?
    } else {
        None
    };
    let profile = match streamed {
        Some(profile) => profile,
        None => {
            if seekable {
                file.seek(SeekFrom::Start(data.len() as u64))
                    .map_err(cannot)?;
            }
            file.read_to_end(&mut data).map_err(cannot)?;
            match pid {
                Some(pid) => fluoro_profile::Profile::from_bytes_of_pid(&data, pid),
                None => fluoro_profile::Profile::from_bytes(&data),
            }
            .map_err(bad)?
        }
    };
    if let Some(at) = profile.ends_early {
        crate::output::say(&format!(
            "{shown} ends early, inside the chunk at byte {at} (a full disk or a size limit?); \
             reporting what comes before it"
        ));
    }
    Ok(profile)
}

/// Reads the profile at `path` and renders it; the error is one line naming the file.
pub fn render_file(
    path: &Path,
    format: Format,
    options: &RenderOptions,
) -> Result<Vec<u8>, String> {
    render_process(path, None, format, options)
}

/// [`render_file`] of one process, or of all (`None`).
pub fn render_process(
    path: &Path,
    pid: Option<u32>,
    format: Format,
    options: &RenderOptions,
) -> Result<Vec<u8>, String> {
    let profile = read_process(path, pid)?;
    fluoro_report::render(&profile, format, options)
        .map_err(|e| format!("cannot render {}: {e}", path.display()))
}

/// `fluoro report`.
pub fn command(args: &ReportArgs) -> Result<i32, Failure> {
    // Text for the terminal fits it; text written to a file keeps its natural width.
    let width = match args.output {
        Some(_) => None,
        None => Some(crate::output::terminal_width(1)),
    };
    let options = RenderOptions {
        metric: args.metric,
        top: args.text.top,
        idle: args.idle,
        full: args.text.full,
        show_all: args.text.show_all,
        width,
        more: Some(format!(
            "Full report: fluoro report {} --full",
            args.file.display()
        )),
        ..RenderOptions::default()
    };
    // `--html FILE` is `--format html -o FILE`.
    let (format, output) = match &args.html {
        Some(file) => (Format::Html, Some(file)),
        None => (args.format, args.output.as_ref()),
    };
    let data = render_process(&args.file, args.pid, format, &options)
        .map_err(|e| Failure(format!("report: {e}")))?;
    match output {
        Some(out) => std::fs::write(out, &data).map_err(|e| {
            Failure(format!(
                "report: cannot write {}: {}",
                out.display(),
                io_reason(&e)
            ))
        })?,
        None => return Ok(crate::output::emit_bytes(&data)),
    }
    Ok(0)
}
