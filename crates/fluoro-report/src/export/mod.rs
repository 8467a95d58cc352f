//! The output formats and their renderers: one file per format, one registry line each.

mod collapsed;
pub(crate) mod json;
pub(crate) mod json_memory;
pub(crate) mod json_patterns;
mod marshal;
mod pprof;
mod pstats;
mod speedscope;

use crate::{html, text, Profile, RenderError, RenderOptions};
use std::str::FromStr;

/// Every output `fluoro run -o` / `fluoro report --format` can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The terminal summary.
    Text,
    /// One `frame;frame;…;leaf COUNT` line per stack (flamegraph.pl, inferno).
    Collapsed,
    /// speedscope's JSON file format.
    Speedscope,
    /// gzipped `profile.proto` (`go tool pprof`, Pyroscope, Parca).
    Pprof,
    /// CPython `marshal` of the dict `pstats.Stats` loads (pstats, snakeviz).
    Pstats,
    /// fluoro's own summary as JSON.
    Json,
    /// One self-contained, interactive HTML page.
    Html,
}

/// A renderer: the profile has been checked for consistency before it is called.
type Renderer = fn(&Profile, &RenderOptions) -> Result<Vec<u8>, RenderError>;

/// The registry: format, name, file extension, renderer.
const FORMATS: [(Format, &str, &str, Renderer); 7] = [
    (Format::Text, "text", "txt", text::render),
    (Format::Collapsed, "collapsed", "txt", collapsed::render),
    (
        Format::Speedscope,
        "speedscope",
        "speedscope.json",
        speedscope::render,
    ),
    (Format::Pprof, "pprof", "pb.gz", pprof::render),
    (Format::Pstats, "pstats", "pstats", pstats::render),
    (Format::Json, "json", "json", json::render),
    (Format::Html, "html", "html", html::render),
];

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 7] = [
        Format::Text,
        Format::Collapsed,
        Format::Speedscope,
        Format::Pprof,
        Format::Pstats,
        Format::Json,
        Format::Html,
    ];

    fn entry(self) -> &'static (Format, &'static str, &'static str, Renderer) {
        // FORMATS lists every variant; the test below keeps it so.
        FORMATS.iter().find(|e| e.0 == self).unwrap_or(&FORMATS[0])
    }

    /// The name users type: `text`, `collapsed`, `speedscope`, `pprof`, `pstats`, `json`,
    /// `html`.
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    /// The format named `name` (case-insensitive), if any.
    pub fn from_name(name: &str) -> Option<Format> {
        FORMATS
            .iter()
            .find(|e| e.1.eq_ignore_ascii_case(name))
            .map(|e| e.0)
    }

    /// The usual file extension, without the dot (`pb.gz` for pprof).
    pub fn extension(self) -> &'static str {
        self.entry().2
    }

    /// One line on what the format is for, for `--help`.
    pub fn about(self) -> &'static str {
        match self {
            Format::Text => "the terminal summary",
            Format::Collapsed => "`frame;frame;leaf COUNT` lines, for flamegraph.pl and inferno",
            Format::Speedscope => "speedscope's JSON file format",
            Format::Pprof => "gzipped pprof protobuf, for go tool pprof, Pyroscope, Parca",
            Format::Pstats => "Python's pstats (marshal), for pstats.Stats and snakeviz",
            Format::Json => "fluoro's own JSON",
            Format::Html => "an interactive page: flame graph, timelines, tables, source",
        }
    }

    /// Whether the output is bytes rather than UTF-8 text.
    pub fn is_binary(self) -> bool {
        matches!(self, Format::Pprof | Format::Pstats)
    }

    pub(crate) fn renderer(self) -> Renderer {
        self.entry().3
    }
}

impl FromStr for Format {
    type Err = RenderError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::from_name(s).ok_or_else(|| RenderError::UnknownFormat(s.to_string()))
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Nanoseconds as an `i64` for formats that store signed integers, saturating.
pub(crate) fn signed(ns: u64) -> i64 {
    i64::try_from(ns).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_is_registered_once_and_named_back() {
        for format in Format::ALL {
            assert_eq!(FORMATS.iter().filter(|e| e.0 == format).count(), 1);
            assert_eq!(Format::from_name(format.name()), Some(format));
            assert_eq!(format.name().parse::<Format>().ok(), Some(format));
        }
        assert_eq!(Format::from_name("PPROF"), Some(Format::Pprof));
        assert!(matches!(
            "flame".parse::<Format>(),
            Err(RenderError::UnknownFormat(_))
        ));
    }

    #[test]
    fn every_format_renders_the_fixture() {
        let profile = crate::testing::fixture();
        for format in Format::ALL {
            let out = crate::render(&profile, format, &RenderOptions::default()).unwrap();
            assert!(!out.is_empty(), "{format} is empty");
            if !format.is_binary() {
                assert!(String::from_utf8(out).is_ok(), "{format} is not UTF-8");
            }
        }
    }

    #[test]
    fn every_format_renders_an_empty_profile() {
        let profile = Profile::default();
        for format in Format::ALL {
            crate::render(&profile, format, &RenderOptions::default()).unwrap();
        }
    }
}
