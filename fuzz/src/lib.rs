//! Fuzz targets for every reader of input fluoro did not write itself: a `.fluoro` profile,
//! a `.fheap` snapshot, a `.pyc` file, and the Python source `fluoro advise` checks. Each
//! target reads the bytes and, when they read, does what the CLI does next (analyses and
//! every renderer), so a crash anywhere on the way counts. A target must never panic, hang,
//! or allocate without bound, whatever the bytes.
//!
//! The formats' checksums would turn away nearly every mutated input before the decoder saw
//! it, so the `.fluoro` and `.fheap` targets read each input twice: as it is, and with its
//! checksums made right ([`reseal`]).
//!
//! `scripts/fuzz` runs the targets under AFL++; `tests/corpus.rs` replays the committed
//! corpus (`corpus/TARGET/`) and deterministic mutations of it ([`mutate`]) in `cargo test`.

pub mod mutate;
pub mod reseal;

use fluoro_advise::{render, Advice, FileOutcome, RuleSet};
use fluoro_heap::{Analysis, PathTarget};
use fluoro_profile::Profile;
use fluoro_report::{Format, RenderOptions};
use std::path::PathBuf;

/// One reader and what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `Profile::from_bytes`, then every report format.
    Fluoro,
    /// The `.fheap` reader, then the census, retainers, paths, cycles and diff reports.
    Fheap,
    /// `read_pyc` (the marshal reader), then the disassembly and its text.
    Pyc,
    /// `fluoro advise` on the bytes as source: every rule, its fixes, and the text report.
    Advise,
}

impl Target {
    pub const ALL: [Target; 4] = [Target::Fluoro, Target::Fheap, Target::Pyc, Target::Advise];

    pub fn name(self) -> &'static str {
        match self {
            Target::Fluoro => "fluoro",
            Target::Fheap => "fheap",
            Target::Pyc => "pyc",
            Target::Advise => "advise",
        }
    }

    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The target names, comma-separated, for messages.
    pub fn names() -> String {
        Target::ALL.map(Target::name).join(", ")
    }

    /// Feeds `data` to the target; returns normally whatever the bytes are, or it is a bug.
    pub fn run(self, data: &[u8]) {
        match self {
            Target::Fluoro => {
                profile(data);
                profile(&reseal::fluoro(data));
            }
            Target::Fheap => {
                heap(data);
                heap(&reseal::fheap(data));
            }
            Target::Pyc => pyc(data),
            Target::Advise => advise(data),
        }
    }

    /// Where this target's committed seeds are (the files in them): `corpus/TARGET/`, and for
    /// advise the rules' own fixtures and the end-to-end tests' programs too.
    pub fn seed_dirs(self) -> Vec<PathBuf> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut dirs = vec![root.join("corpus").join(self.name())];
        if self == Target::Advise {
            dirs.push(root.join("../crates/fluoro-advise/tests/fixtures"));
            dirs.push(root.join("../tests/programs"));
        }
        dirs
    }
}

fn profile(data: &[u8]) {
    let Ok(profile) = Profile::from_bytes(data) else {
        return;
    };
    // No source root the profile could name: a fuzzed `cwd` must not read files.
    let nowhere = Some(PathBuf::from("/nonexistent/fluoro-fuzz"));
    let summary = RenderOptions {
        source_root: nowhere.clone(),
        width: Some(80),
        color: true,
        ..RenderOptions::default()
    };
    let full = RenderOptions {
        source_root: nowhere,
        full: true,
        show_all: true,
        per_thread: true,
        ..RenderOptions::default()
    };
    let _ = fluoro_report::render(&profile, Format::Text, &summary);
    for format in Format::ALL {
        let _ = fluoro_report::render(&profile, format, &full);
    }
}

fn heap(data: &[u8]) {
    let Ok(graph) = fluoro_heap::format::read(data) else {
        return;
    };
    let analysis = Analysis::new(graph);
    let top = 20;
    let _ = fluoro_heap::summary(&analysis).render_text(top);
    let _ = fluoro_heap::top_retainers(&analysis, top, true).render_text();
    let _ = fluoro_heap::cycles_report(&analysis.graph, &analysis.dom, true).render_text(top);
    let _ = fluoro_heap::diff(&analysis, &analysis, top, true).render_text();
    if !analysis.graph.is_empty() {
        let last = analysis.graph.nodes[analysis.graph.len() - 1];
        let type_name = analysis.graph.type_name(analysis.graph.len() as u32 - 1);
        for target in [
            PathTarget::Id(last.id),
            PathTarget::Type(type_name.to_owned()),
        ] {
            if let Ok(report) = fluoro_heap::shortest_path(&analysis.graph, &target) {
                let _ = report.render_text();
            }
        }
    }
}

fn pyc(data: &[u8]) {
    let Ok((table, code)) = fluoro_bytecode::read_pyc(data) else {
        return;
    };
    let reports = fluoro_bytecode::disassemble(&code, table);
    let _ = fluoro_bytecode::render_text(&reports);
    let mut stats = fluoro_bytecode::StatsReport::default();
    stats.add("fuzz", &reports);
    let _ = fluoro_bytecode::render_stats(&stats);
}

/// The stack `fluoro advise` gives its workers: the parser recurses once per nesting level.
const ADVISE_STACK: usize = 512 << 20;

fn advise(data: &[u8]) {
    let source = String::from_utf8_lossy(data).into_owned();
    let run = move || {
        let rules = RuleSet::all();
        let (_, outcome, fixed) = fluoro_advise::advise_and_fix("fuzz.py", &source, &rules, None);
        let mut advice = Advice {
            files: 1,
            fixed,
            ..Advice::default()
        };
        match outcome {
            FileOutcome::Checked { diagnostics, .. } => advice.diagnostics = diagnostics,
            FileOutcome::SyntaxError { .. } => advice.syntax_errors.push("fuzz.py".into()),
        }
        let _ = render::render_text(&advice, None);
        let _ = render::render_json(&advice);
    };
    let worker = std::thread::Builder::new()
        .stack_size(ADVISE_STACK)
        .spawn(run);
    // A panic in the worker is the target's panic: AFL must see it.
    if let Ok(Err(panic)) = worker.map(std::thread::JoinHandle::join) {
        std::panic::resume_unwind(panic);
    }
}
