//! pprof's `profile.proto` (google/pprof, proto/profile.proto), gzipped, as `go tool pprof`,
//! Pyroscope and Parca read it.
//!
//! Each sample carries `[samples/count, wall|cpu/nanoseconds]` and a `thread` label; a
//! location is a (function, line) pair with one `Line`, a function is a code object's
//! function. The messages are declared here with field numbers from the published proto.

use super::signed;
use crate::analysis::{FunctionKey, RunSummary};
use crate::{RenderError, RenderOptions};
use flate2::write::GzEncoder;
use flate2::Compression;
use fluoro_profile::{CodeInfo, Metric, Profile};
use std::collections::HashMap;
use std::io::Write;

/// `perftools.profiles.Profile`, the fields fluoro writes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PprofProfile {
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    pub sample: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    pub mapping: Vec<Mapping>,
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    #[prost(string, repeated, tag = "6")]
    pub string_table: Vec<String>,
    #[prost(int64, tag = "7")]
    pub drop_frames: i64,
    #[prost(int64, tag = "8")]
    pub keep_frames: i64,
    #[prost(int64, tag = "9")]
    pub time_nanos: i64,
    #[prost(int64, tag = "10")]
    pub duration_nanos: i64,
    #[prost(message, optional, tag = "11")]
    pub period_type: Option<ValueType>,
    #[prost(int64, tag = "12")]
    pub period: i64,
    #[prost(int64, repeated, tag = "13")]
    pub comment: Vec<i64>,
    #[prost(int64, tag = "14")]
    pub default_sample_type: i64,
}

/// A value's kind and unit, as string-table indices.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueType {
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

/// A stack (leaf first) and its values.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
    #[prost(message, repeated, tag = "3")]
    pub label: Vec<Label>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(int64, tag = "1")]
    pub key: i64,
    #[prost(int64, tag = "2")]
    pub str: i64,
    #[prost(int64, tag = "3")]
    pub num: i64,
    #[prost(int64, tag = "4")]
    pub num_unit: i64,
}

/// The one "binary" every location belongs to: the interpreter running the target. It says
/// the locations are already symbolized, so pprof does not try to symbolize addresses.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Mapping {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint64, tag = "2")]
    pub memory_start: u64,
    #[prost(uint64, tag = "3")]
    pub memory_limit: u64,
    #[prost(uint64, tag = "4")]
    pub file_offset: u64,
    #[prost(int64, tag = "5")]
    pub filename: i64,
    #[prost(int64, tag = "6")]
    pub build_id: i64,
    #[prost(bool, tag = "7")]
    pub has_functions: bool,
    #[prost(bool, tag = "8")]
    pub has_filenames: bool,
    #[prost(bool, tag = "9")]
    pub has_line_numbers: bool,
    #[prost(bool, tag = "10")]
    pub has_inline_frames: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Location {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint64, tag = "2")]
    pub mapping_id: u64,
    #[prost(uint64, tag = "3")]
    pub address: u64,
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
    #[prost(bool, tag = "5")]
    pub is_folded: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Line {
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
    #[prost(int64, tag = "2")]
    pub line: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Function {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(int64, tag = "2")]
    pub name: i64,
    #[prost(int64, tag = "3")]
    pub system_name: i64,
    #[prost(int64, tag = "4")]
    pub filename: i64,
    #[prost(int64, tag = "5")]
    pub start_line: i64,
}

/// The string table under construction; index 0 is the empty string, as the proto requires.
struct Strings {
    table: Vec<String>,
    index: HashMap<String, i64>,
}

impl Strings {
    fn new() -> Self {
        let mut s = Strings {
            table: Vec::new(),
            index: HashMap::new(),
        };
        s.id("");
        s
    }

    fn id(&mut self, text: &str) -> i64 {
        if let Some(&id) = self.index.get(text) {
            return id;
        }
        let id = self.table.len() as i64;
        self.table.push(text.to_string());
        self.index.insert(text.to_string(), id);
        id
    }
}

const MAPPING_ID: u64 = 1;

/// `co_name`, except for `<module>`-like names equal to the qualified name: pprof takes a
/// function whose name equals its system name for an undemangled symbol and strips `<…>` from
/// it as if it were C++ template arguments, which turns `<module>` into an empty name.
fn system_name(code: &CodeInfo) -> &str {
    if code.name == code.qualname && code.name.contains('<') {
        ""
    } else {
        &code.name
    }
}

/// The profile as a `profile.proto` message, before encoding.
pub fn build(profile: &Profile, options: &RenderOptions) -> PprofProfile {
    let run = RunSummary::of(profile);
    let metric = options.metric.name();
    let unit = options.metric.unit();
    let mut strings = Strings::new();
    // Time metrics count samples beside their nanoseconds; byte metrics count allocations.
    let counted = if options.metric.is_bytes() {
        "allocations"
    } else {
        "samples"
    };
    let sample_type = vec![
        ValueType {
            r#type: strings.id(counted),
            unit: strings.id("count"),
        },
        ValueType {
            r#type: strings.id(metric),
            unit: strings.id(unit),
        },
    ];
    let thread_key = strings.id("thread");
    let mut functions: Vec<Function> = Vec::new();
    let mut function_ids: HashMap<FunctionKey<'_>, u64> = HashMap::new();
    let mut locations: Vec<Location> = Vec::new();
    let mut location_ids: HashMap<(u64, u32), u64> = HashMap::new();
    let mut samples = Vec::new();
    for w in &profile.weights {
        let value = options.metric.of(w);
        let count = match options.metric {
            Metric::Wall | Metric::Cpu => w.samples,
            Metric::Alloc => w.alloc_count,
            Metric::Peak | Metric::Leak => 0,
        };
        if count == 0 && value == 0 {
            continue;
        }
        let frames = profile.frames(w.stack);
        let mut location_id = Vec::with_capacity(frames.len());
        for &frame in frames.iter().rev() {
            let code = profile.code(frame);
            let key = FunctionKey::of(code);
            let function_id = *function_ids.entry(key).or_insert_with(|| {
                functions.push(Function {
                    id: functions.len() as u64 + 1,
                    name: strings.id(&code.qualname),
                    system_name: strings.id(system_name(code)),
                    filename: strings.id(&code.filename),
                    start_line: i64::from(code.firstlineno),
                });
                functions.len() as u64
            });
            let line = profile.line(frame);
            let id = *location_ids.entry((function_id, line)).or_insert_with(|| {
                locations.push(Location {
                    id: locations.len() as u64 + 1,
                    mapping_id: MAPPING_ID,
                    address: 0,
                    line: vec![Line {
                        function_id,
                        line: i64::from(line),
                    }],
                    is_folded: false,
                });
                locations.len() as u64
            });
            location_id.push(id);
        }
        samples.push(Sample {
            location_id,
            value: vec![signed(count), signed(value)],
            label: vec![Label {
                key: thread_key,
                str: strings.id(&profile.thread_name(w.thread)),
                num: 0,
                num_unit: 0,
            }],
        });
    }
    let mapping = vec![Mapping {
        id: MAPPING_ID,
        memory_start: 0,
        memory_limit: 0,
        file_offset: 0,
        filename: strings.id("python"),
        build_id: 0,
        has_functions: true,
        has_filenames: true,
        has_line_numbers: true,
        has_inline_frames: false,
    }];
    let period_type = Some(ValueType {
        r#type: strings.id(metric),
        unit: strings.id(unit),
    });
    let period = if run.rate_hz == 0 || options.metric.is_bytes() {
        0
    } else {
        1_000_000_000 / i64::from(run.rate_hz)
    };
    let comment = vec![
        strings.id(&format!("target: {}", run.target)),
        strings.id(&format!("python: {}", run.python)),
    ];
    let default_sample_type = strings.id(metric);
    PprofProfile {
        sample_type,
        sample: samples,
        mapping,
        location: locations,
        function: functions,
        string_table: strings.table,
        drop_frames: 0,
        keep_frames: 0,
        time_nanos: signed(run.start_unix_ns),
        duration_nanos: signed(run.duration_ns),
        period_type,
        period,
        comment,
        default_sample_type,
    }
}

pub(crate) fn render(profile: &Profile, options: &RenderOptions) -> Result<Vec<u8>, RenderError> {
    let message = prost::Message::encode_to_vec(&build(profile, options));
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&message)?;
    Ok(gz.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use flate2::read::GzDecoder;
    use prost::Message;
    use std::io::Read;

    fn decoded(options: &RenderOptions) -> PprofProfile {
        let bytes = render(&testing::fixture(), options).unwrap();
        let mut raw = Vec::new();
        GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut raw)
            .unwrap();
        PprofProfile::decode(raw.as_slice()).unwrap()
    }

    #[test]
    fn decodes_back_with_consistent_references() {
        let p = decoded(&RenderOptions::default());
        let s = |i: i64| p.string_table[i as usize].as_str();
        assert_eq!(s(0), "");
        let types: Vec<(&str, &str)> = p
            .sample_type
            .iter()
            .map(|t| (s(t.r#type), s(t.unit)))
            .collect();
        assert_eq!(types, [("samples", "count"), ("wall", "nanoseconds")]);
        assert_eq!(p.period, 10_000_000);
        assert_eq!(p.time_nanos, 1_700_000_000_000_000_000);
        assert_eq!(p.duration_nanos, 1_250_000_000);
        let count: i64 = p.sample.iter().map(|x| x.value[0]).sum();
        let wall: i64 = p.sample.iter().map(|x| x.value[1]).sum();
        assert_eq!((count, wall), (150, 1_500_000_000));
        for (i, f) in p.function.iter().enumerate() {
            assert_eq!(f.id, i as u64 + 1);
        }
        for (i, l) in p.location.iter().enumerate() {
            assert_eq!(l.id, i as u64 + 1);
            assert_eq!(l.line.len(), 1);
            assert!(l.line[0].function_id as usize <= p.function.len());
        }
        // The recursive stack, leaf first: fib at line 2, then fib at line 4 twice.
        let deepest = p.sample.iter().max_by_key(|x| x.location_id.len()).unwrap();
        let named: Vec<(String, i64)> = deepest
            .location_id
            .iter()
            .map(|&id| {
                let line = &p.location[id as usize - 1].line[0];
                let f = &p.function[line.function_id as usize - 1];
                (s(f.name).to_string(), line.line)
            })
            .collect();
        assert_eq!(
            named,
            [
                ("fib".into(), 2),
                ("fib".into(), 4),
                ("fib".into(), 4),
                ("main".into(), 10),
                ("<module>".into(), 5)
            ]
        );
        let parse = p
            .function
            .iter()
            .find(|f| s(f.name) == "Parser.parse")
            .unwrap();
        assert_eq!(s(parse.system_name), "parse");
        assert_eq!(s(parse.filename), "/work/app/lib/work.py");
        assert_eq!(parse.start_line, 11);
        let module = p.function.iter().find(|f| s(f.name) == "<module>").unwrap();
        assert_eq!(s(module.system_name), "");
        let threads: Vec<&str> = p.sample.iter().map(|x| s(x.label[0].str)).collect();
        assert!(threads.contains(&"worker-1"));
    }

    #[test]
    fn cpu_metric_names_cpu() {
        let p = decoded(&RenderOptions {
            metric: Metric::Cpu,
            ..RenderOptions::default()
        });
        let t = &p.sample_type[1];
        assert_eq!(p.string_table[t.r#type as usize], "cpu");
        let cpu: i64 = p.sample.iter().map(|x| x.value[1]).sum();
        assert_eq!(
            cpu,
            30 * 10_000_000 + 10 * 10_000_000 + 40 * 9_000_000 + 15 * 8_000_000
        );
    }

    /// Writes the fixture for a manual `go tool pprof -top` check; see the crate's tests.
    #[test]
    fn writes_a_file_go_tool_pprof_can_read() {
        let path = testing::scratch("fixture.pb.gz");
        let bytes = render(&testing::fixture(), &RenderOptions::default()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let Some(text) = testing::run_tool("go", &["tool", "pprof", "-top"], &path) else {
            return;
        };
        for name in ["Parser.parse", "fib", "worker", "<module>"] {
            assert!(text.contains(name), "{name} missing:\n{text}");
        }
    }
}
