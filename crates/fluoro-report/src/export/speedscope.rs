//! speedscope's file format (www.speedscope.app/file-format-schema.json): one `sampled`
//! profile per thread over frames shared by all, weights in nanoseconds of the metric.
//!
//! A frame is a function (qualname, file, first line), so speedscope's sandwich view adds a
//! function up across its lines. The profile keeps aggregated stacks, not a timeline, so
//! samples come sorted by stack: the time-order view shows each stack as one block.

use crate::analysis::{stack_functions, FunctionKey, RunSummary};
use crate::{RenderError, RenderOptions};
use fluoro_profile::Profile;
use serde::Serialize;
use std::collections::HashMap;

const SCHEMA: &str = "https://www.speedscope.app/file-format-schema.json";

#[derive(Serialize)]
struct File<'p> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    shared: Shared<'p>,
    profiles: Vec<Sampled>,
    name: String,
    #[serde(rename = "activeProfileIndex")]
    active_profile_index: usize,
    exporter: String,
}

#[derive(Serialize)]
struct Shared<'p> {
    frames: Vec<FrameEntry<'p>>,
}

#[derive(Serialize)]
struct FrameEntry<'p> {
    name: &'p str,
    file: &'p str,
    line: u32,
}

#[derive(Serialize)]
struct Sampled {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    unit: &'static str,
    #[serde(rename = "startValue")]
    start_value: u64,
    #[serde(rename = "endValue")]
    end_value: u64,
    samples: Vec<Vec<usize>>,
    weights: Vec<u64>,
}

pub(crate) fn render(profile: &Profile, options: &RenderOptions) -> Result<Vec<u8>, RenderError> {
    let run = RunSummary::of(profile);
    let mut frames: Vec<FrameEntry<'_>> = Vec::new();
    let mut frame_ids: HashMap<FunctionKey<'_>, usize> = HashMap::new();
    let mut per_thread: Vec<Vec<(Vec<usize>, u64)>> = vec![Vec::new(); profile.threads.len()];
    for w in &profile.weights {
        let weight = options.metric.of(w);
        let stack = profile.frames(w.stack);
        if weight == 0 || stack.is_empty() {
            continue;
        }
        let ids = stack_functions(profile, &stack)
            .into_iter()
            .map(|key| {
                *frame_ids.entry(key).or_insert_with(|| {
                    frames.push(FrameEntry {
                        name: key.qualname,
                        file: key.filename,
                        line: key.firstlineno,
                    });
                    frames.len() - 1
                })
            })
            .collect();
        if let Some(samples) = per_thread.get_mut(w.thread as usize) {
            samples.push((ids, weight));
        }
    }
    let mut profiles = Vec::new();
    for (thread, mut samples) in per_thread.into_iter().enumerate() {
        if samples.is_empty() {
            continue;
        }
        samples.sort();
        let end_value = samples.iter().map(|s| s.1).sum();
        let (samples, weights) = samples.into_iter().unzip();
        profiles.push(Sampled {
            kind: "sampled",
            name: profile.thread_name(thread as u32),
            unit: options.metric.unit(),
            start_value: 0,
            end_value,
            samples,
            weights,
        });
    }
    let active_profile_index = profiles
        .iter()
        .enumerate()
        .max_by_key(|(i, p)| (p.end_value, std::cmp::Reverse(*i)))
        .map_or(0, |(i, _)| i);
    let file = File {
        schema: SCHEMA,
        shared: Shared { frames },
        profiles,
        name: format!("{} ({})", run.target, options.metric.name()),
        active_profile_index,
        exporter: format!("fluoro@{}", env!("CARGO_PKG_VERSION")),
    };
    Ok(serde_json::to_vec(&file)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use fluoro_profile::Metric;
    use serde_json::Value;

    /// Checks `file` against the speedscope file format: the required fields of the file, of
    /// each frame and of each sampled profile, with their types and cross-references.
    fn check_speedscope(file: &Value) -> Result<(), String> {
        let obj = file.as_object().ok_or("the file is not an object")?;
        if obj.get("$schema").and_then(Value::as_str) != Some(SCHEMA) {
            return Err("$schema is missing or wrong".into());
        }
        let frames = obj
            .get("shared")
            .and_then(|s| s.get("frames"))
            .and_then(Value::as_array)
            .ok_or("shared.frames is not an array")?;
        for f in frames {
            f.get("name")
                .and_then(Value::as_str)
                .ok_or("a frame has no name")?;
            if f.get("file").is_some_and(|v| !v.is_string()) {
                return Err("frame.file is not a string".into());
            }
            for key in ["line", "col"] {
                if f.get(key).is_some_and(|v| !v.is_number()) {
                    return Err(format!("frame.{key} is not a number"));
                }
            }
        }
        let profiles = obj
            .get("profiles")
            .and_then(Value::as_array)
            .ok_or("profiles is not an array")?;
        for p in profiles {
            if p.get("type").and_then(Value::as_str) != Some("sampled") {
                return Err("a profile is not sampled".into());
            }
            p.get("name")
                .and_then(Value::as_str)
                .ok_or("a profile has no name")?;
            let unit = p.get("unit").and_then(Value::as_str).ok_or("no unit")?;
            let units = [
                "none",
                "nanoseconds",
                "microseconds",
                "milliseconds",
                "seconds",
                "bytes",
            ];
            if !units.contains(&unit) {
                return Err(format!("unknown unit {unit}"));
            }
            let start = p
                .get("startValue")
                .and_then(Value::as_f64)
                .ok_or("startValue")?;
            let end = p
                .get("endValue")
                .and_then(Value::as_f64)
                .ok_or("endValue")?;
            if end < start {
                return Err("endValue is before startValue".into());
            }
            let samples = p
                .get("samples")
                .and_then(Value::as_array)
                .ok_or("samples")?;
            let weights = p
                .get("weights")
                .and_then(Value::as_array)
                .ok_or("weights")?;
            if samples.len() != weights.len() {
                return Err("samples and weights differ in length".into());
            }
            for s in samples {
                let stack = s.as_array().ok_or("a sample is not an array")?;
                for i in stack {
                    let i = i.as_u64().ok_or("a frame index is not an integer")?;
                    if i as usize >= frames.len() {
                        return Err(format!("frame index {i} out of range"));
                    }
                }
            }
            if weights.iter().any(|w| !w.is_number()) {
                return Err("a weight is not a number".into());
            }
        }
        if let Some(i) = obj.get("activeProfileIndex") {
            let i = i.as_u64().ok_or("activeProfileIndex is not an integer")?;
            if i as usize >= profiles.len().max(1) {
                return Err("activeProfileIndex out of range".into());
            }
        }
        for key in ["name", "exporter"] {
            if obj.get(key).is_some_and(|v| !v.is_string()) {
                return Err(format!("{key} is not a string"));
            }
        }
        Ok(())
    }

    fn parsed(metric: Metric) -> Value {
        let options = RenderOptions {
            metric,
            ..RenderOptions::default()
        };
        serde_json::from_slice(&render(&testing::fixture(), &options).unwrap()).unwrap()
    }

    #[test]
    fn follows_the_file_format() {
        for metric in [Metric::Wall, Metric::Cpu] {
            check_speedscope(&parsed(metric)).unwrap();
        }
        let empty = render(&Profile::default(), &RenderOptions::default()).unwrap();
        check_speedscope(&serde_json::from_slice(&empty).unwrap()).unwrap();
    }

    #[test]
    fn the_checker_catches_mistakes() {
        let mut file = parsed(Metric::Wall);
        file["profiles"][0]["weights"] = Value::Array(Vec::new());
        assert!(check_speedscope(&file).is_err());
        let mut file = parsed(Metric::Wall);
        file["profiles"][0]["samples"][0][0] = Value::from(999);
        assert!(check_speedscope(&file).is_err());
    }

    #[test]
    fn one_profile_per_thread_weighted_in_nanoseconds() {
        let file = parsed(Metric::Wall);
        let profiles = file["profiles"].as_array().unwrap();
        let names: Vec<&str> = profiles
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["MainThread", "worker-1", "thread 140003"]);
        assert_eq!(profiles[0]["endValue"], 810_000_000);
        assert_eq!(profiles[1]["endValue"], 650_000_000);
        assert_eq!(file["activeProfileIndex"], 0);
        let frames = file["shared"]["frames"].as_array().unwrap();
        let root = profiles[0]["samples"][0][0].as_u64().unwrap() as usize;
        assert_eq!(frames[root]["name"], "<module>");
        assert_eq!(frames[root]["file"], "app.py");
        let fib = frames.iter().filter(|f| f["name"] == "fib").count();
        assert_eq!(fib, 1, "one frame per function");
    }
}
