//! From raw timings to the report: per-benchmark statistics with intervals, comparisons
//! against the fastest with ratio intervals and p-values, and stability warnings.

use crate::bootstrap::{Bootstrap, Grouped};
use crate::mann_whitney::mann_whitney;
use crate::stats::{mad, mean_std};
use serde::Serialize;

/// The timings of one benchmark: seconds per run (commands) or per loop iteration (Python).
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub name: String,
    /// The shell command, for whole-process benchmarks.
    pub command: Option<String>,
    /// The statement or `path.py::func`, for in-process ones.
    pub statement: Option<String>,
    pub interpreter: Option<String>,
    /// What the interpreter says it is (`CPython 3.12.1`), for in-process benchmarks.
    pub version: Option<String>,
    pub values: Vec<f64>,
    /// How many consecutive values each worker process gave (empty for commands, whose
    /// every value is a process of its own).
    pub groups: Vec<usize>,
    /// Iterations timed together for one value (1 for commands).
    pub loops: u64,
    /// Worker processes the values came from (0 for commands).
    pub processes: usize,
    /// Warnings found while measuring (e.g. the time limit cut the run short).
    pub notes: Vec<String>,
}

impl Sample {
    /// The values with the processes they came from.
    pub fn grouped(&self) -> Grouped<'_> {
        Grouped {
            values: &self.values,
            groups: &self.groups,
        }
    }

    /// Adds the values of one more worker process.
    pub fn push_process(&mut self, values: &[f64]) {
        self.values.extend_from_slice(values);
        self.groups.push(values.len());
        self.processes += 1;
    }

    /// Keeps the first `n` values (and the processes they came from).
    pub fn truncate(&mut self, n: usize) {
        self.values.truncate(n);
        let mut kept = 0;
        self.groups.retain_mut(|size| {
            let keep = kept < n;
            *size = (*size).min(n.saturating_sub(kept));
            kept += *size;
            keep
        });
        if !self.groups.is_empty() {
            self.processes = self.groups.len();
        }
    }
}

/// One benchmark's statistics, as `--json` writes them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BenchResult {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    pub interpreter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub n: usize,
    pub median: f64,
    pub mad: f64,
    pub mean: f64,
    /// The mean's 95 % bootstrap interval.
    pub mean_ci_low: f64,
    pub mean_ci_high: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    /// The median's 95 % bootstrap interval.
    pub ci_low: f64,
    pub ci_high: f64,
    pub loops: u64,
    pub processes: usize,
    pub warnings: Vec<String>,
    pub values: Vec<f64>,
    /// Values per worker process, as in [`Sample::groups`]: the bootstrap resamples whole
    /// processes and the U test compares their medians.
    pub values_per_process: Vec<usize>,
}

impl BenchResult {
    fn grouped(&self) -> Grouped<'_> {
        Grouped {
            values: &self.values,
            groups: &self.values_per_process,
        }
    }
}

/// `a` against `b`: `ratio = median(a) / median(b)`, so above 1 means `a` is slower.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    pub ratio: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p_value: f64,
    /// The ratio's interval excludes 1 and the U test agrees (p < 0.05).
    pub significant: bool,
}

/// Everything `fluoro bench` reports.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub results: Vec<BenchResult>,
    pub comparisons: Vec<Comparison>,
    /// The confidence level of every interval.
    pub confidence: f64,
}

/// Relative spread above which a measurement is called unstable (as pyperf does at 10 %).
const UNSTABLE_STD: f64 = 0.10;
/// A value this many scaled MADs from the median is an outlier.
const OUTLIER_MADS: f64 = 5.0;
/// Scale making the MAD estimate the standard deviation of normal data.
const MAD_TO_STD: f64 = 1.4826;

/// The statistics of one sample; `None` when it has no values.
pub fn summarize(sample: &Sample, boot: &Bootstrap) -> Option<BenchResult> {
    let ci = boot.median(sample.grouped())?;
    let mean_ci = boot.mean(sample.grouped())?;
    let (mean, std) = mean_std(&sample.values);
    let spread = mad(&sample.values);
    let min = sample.values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = sample
        .values
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let mut result = BenchResult {
        name: sample.name.clone(),
        command: sample.command.clone(),
        statement: sample.statement.clone(),
        interpreter: sample.interpreter.clone(),
        version: sample.version.clone(),
        n: sample.values.len(),
        median: ci.estimate,
        mad: spread,
        mean,
        mean_ci_low: mean_ci.low,
        mean_ci_high: mean_ci.high,
        std,
        min,
        max,
        ci_low: ci.low,
        ci_high: ci.high,
        loops: sample.loops,
        processes: sample.processes,
        warnings: sample.notes.clone(),
        values: sample.values.clone(),
        values_per_process: sample.groups.clone(),
    };
    result.warnings.extend(stability_warnings(&result));
    Some(result)
}

/// pyperf-like warnings: a large spread, outliers, timings too short to trust.
fn stability_warnings(r: &BenchResult) -> Vec<String> {
    let mut out = Vec::new();
    if r.n < 5 {
        out.push(format!(
            "only {} values: the interval and the test are rough",
            r.n
        ));
    }
    if r.mean > 0.0 && r.std / r.mean > UNSTABLE_STD {
        out.push(format!(
            "unstable: the standard deviation is {:.0} % of the mean",
            r.std / r.mean * 100.0
        ));
    }
    let scale = r.mad * MAD_TO_STD;
    if scale > 0.0 {
        let outliers = r
            .values
            .iter()
            .filter(|v| ((*v - r.median) / scale).abs() > OUTLIER_MADS)
            .count();
        if outliers * 20 > r.n {
            out.push(format!(
                "{outliers} of {} values are outliers (over {OUTLIER_MADS} MADs from the median)",
                r.n
            ));
        }
    }
    if r.command.is_some() && r.median < 5e-3 {
        out.push(format!(
            "runs take only {}: process start-up and the shell dominate",
            fluoro_render::seconds(r.median)
        ));
    } else if r.command.is_none() && r.min * (r.loops as f64) < 1e-3 {
        out.push(format!(
            "one value times only {}: the clock's resolution and overhead weigh in",
            fluoro_render::seconds(r.min * r.loops as f64)
        ));
    }
    out
}

/// Compares `a` with `b` (the baseline). Both the interval and the test take a worker
/// process as the unit: its values are not independent of each other.
pub fn compare(a: &BenchResult, b: &BenchResult, boot: &Bootstrap) -> Option<Comparison> {
    let (a_values, b_values) = (a.grouped(), b.grouped());
    let ci = boot.ratio(a_values, b_values)?;
    let p_value = mann_whitney(&a_values.process_medians(), &b_values.process_medians()).p_value;
    let alpha = 1.0 - boot.level;
    Some(Comparison {
        a: a.name.clone(),
        b: b.name.clone(),
        ratio: ci.estimate,
        ci_low: ci.low,
        ci_high: ci.high,
        p_value,
        significant: !ci.contains(1.0) && p_value < alpha,
    })
}

/// The full report. Comparisons: each benchmark against the fastest one; with several
/// interpreters, the statements are compared within each interpreter and the interpreters
/// for each statement.
pub fn analyze(samples: &[Sample], boot: &Bootstrap) -> Report {
    let results: Vec<BenchResult> = samples.iter().filter_map(|s| summarize(s, boot)).collect();
    let mut comparisons = Vec::new();
    for group in groups(&results) {
        let Some(&fastest) = group
            .iter()
            .min_by(|&&x, &&y| results[x].median.total_cmp(&results[y].median))
        else {
            continue;
        };
        for &i in &group {
            if i != fastest {
                comparisons.extend(compare(&results[i], &results[fastest], boot));
            }
        }
    }
    Report {
        results,
        comparisons,
        confidence: boot.level,
    }
}

/// Index groups of results to compare among themselves (groups of one are left out).
fn groups(results: &[BenchResult]) -> Vec<Vec<usize>> {
    let mut interpreters: Vec<&Option<String>> = Vec::new();
    for r in results {
        if !interpreters.contains(&&r.interpreter) {
            interpreters.push(&r.interpreter);
        }
    }
    let mut out = Vec::new();
    if interpreters.len() <= 1 {
        out.push((0..results.len()).collect());
    } else {
        for interp in &interpreters {
            out.push(
                (0..results.len())
                    .filter(|&i| &&results[i].interpreter == interp)
                    .collect(),
            );
        }
        let mut seen: Vec<&Option<String>> = Vec::new();
        for r in results {
            if seen.contains(&&r.statement) {
                continue;
            }
            seen.push(&r.statement);
            out.push(
                (0..results.len())
                    .filter(|&i| results[i].statement == r.statement)
                    .collect(),
            );
        }
    }
    out.retain(|g: &Vec<usize>| g.len() > 1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(name: &str, base: f64, n: usize) -> Sample {
        Sample {
            name: name.into(),
            command: Some(format!("run {name}")),
            values: (0..n)
                .map(|i| base * (1.0 + ((i * 7919) % 13) as f64 * 0.001))
                .collect(),
            loops: 1,
            ..Sample::default()
        }
    }

    #[test]
    fn twice_as_slow_is_significant() {
        let report = analyze(
            &[sample("slow", 0.2, 30), sample("fast", 0.1, 30)],
            &Bootstrap::default(),
        );
        assert_eq!(report.comparisons.len(), 1);
        let c = &report.comparisons[0];
        assert_eq!((c.a.as_str(), c.b.as_str()), ("slow", "fast"));
        assert!((c.ratio - 2.0).abs() < 0.01);
        assert!(c.significant && c.p_value < 1e-6, "{c:?}");
    }

    #[test]
    fn same_timings_are_not_significant() {
        let report = analyze(
            &[sample("x", 0.1, 30), sample("y", 0.1, 30)],
            &Bootstrap::default(),
        );
        let c = &report.comparisons[0];
        assert!(
            c.ci_low <= 1.0 && 1.0 <= c.ci_high && !c.significant,
            "{c:?}"
        );
    }

    #[test]
    fn truncating_keeps_the_processes_of_the_values_kept() {
        let mut s = Sample::default();
        for p in 0..4 {
            s.push_process(&[f64::from(p); 5]);
        }
        assert_eq!((s.values.len(), s.processes), (20, 4));
        s.truncate(12);
        assert_eq!(
            (s.values.len(), s.groups.as_slice(), s.processes),
            (12, &[5, 5, 2][..], 3)
        );
        s.truncate(20);
        assert_eq!(s.groups, [5, 5, 2]);
    }

    #[test]
    fn processes_are_the_unit_of_comparison() {
        // Two samples of the same code: 8 processes of 5 values each, the processes spread
        // over ±5 %, b's a little luckier. Value by value the difference looks resolved;
        // process by process it is not.
        let levels = [0.0, 0.04, -0.03, 0.05, 0.01, -0.05, 0.02, 0.03];
        let make = |name: &str, shift: f64| {
            let mut s = Sample {
                name: name.into(),
                loops: 100,
                ..Sample::default()
            };
            for (p, level) in levels.iter().enumerate() {
                let v: Vec<f64> = (0..5)
                    .map(|i| (1.0 + shift + level) * (1.0 + (i * 7 + p) as f64 * 1e-4) * 1e-3)
                    .collect();
                s.push_process(&v);
            }
            s
        };
        let (a, b) = (make("a", 0.025), make("b", 0.0));
        let boot = Bootstrap::default();
        let report = analyze(&[a.clone(), b.clone()], &boot);
        let c = &report.comparisons[0];
        assert!(!c.significant && c.ci_low < 1.0, "{c:?}");
        let strip = |s: &Sample| Sample {
            groups: Vec::new(),
            ..s.clone()
        };
        let report = analyze(&[strip(&a), strip(&b)], &boot);
        assert!(
            report.comparisons[0].significant,
            "{:?}",
            report.comparisons[0]
        );
    }

    #[test]
    fn warnings_for_spread_outliers_and_short_runs() {
        let mut s = sample("x", 0.001, 40);
        s.values[0] = 1.0;
        s.values[1] = 1.0;
        s.values[2] = 1.0;
        let r = summarize(&s, &Bootstrap::default()).unwrap();
        let text = r.warnings.join("\n");
        assert!(text.contains("unstable"), "{text}");
        assert!(text.contains("outliers"), "{text}");
        assert!(text.contains("process start-up"), "{text}");
        let quiet = summarize(&sample("y", 0.1, 40), &Bootstrap::default()).unwrap();
        assert!(quiet.warnings.is_empty(), "{:?}", quiet.warnings);
    }

    #[test]
    fn interpreter_matrix_compares_within_rows_and_columns() {
        let mut samples = Vec::new();
        for (interp, scale) in [("3.11", 1.0), ("pypy3", 0.5)] {
            for (stmt, base) in [("a", 0.1), ("b", 0.2)] {
                let mut s = sample(&format!("{stmt} {interp}"), base * scale, 20);
                s.command = None;
                s.statement = Some(stmt.into());
                s.interpreter = Some(interp.into());
                samples.push(s);
            }
        }
        let report = analyze(&samples, &Bootstrap::default());
        let pairs: Vec<(&str, &str)> = report
            .comparisons
            .iter()
            .map(|c| (c.a.as_str(), c.b.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("b 3.11", "a 3.11"),
                ("b pypy3", "a pypy3"),
                ("a 3.11", "a pypy3"),
                ("b 3.11", "b pypy3"),
            ]
        );
    }
}
