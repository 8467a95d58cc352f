//! The test fixture: a small profile written as a collector would write it. Three threads,
//! recursion, several lines per function, exact statistics, and source files to read.

use fluoro_profile::{
    AllocBatch, AllocEvent, AllocMode, Chunk, CodeInfo, End, ExactEdge, ExactFunction, ExactStats,
    Figure, Frame, GcEvent, LineRange, Mark, MemorySettings, Meta, PatternStats, Profile,
    ProfileWriter, Sample, SizeClassStats, SnapshotMark, StackInterner, ThreadInfo, Unit,
    FLAG_ACTIVE, FLAG_GIL,
};
use std::path::PathBuf;

pub const CWD: &str = "/work/app";
const WORK: &str = "/work/app/lib/work.py";

pub const APP_SOURCE: &str = "import lib.work\n\nlib.work.setup()\n\nmain()\n\n\ndef main():\n    data = lib.work.Parser().parse()\n    return lib.work.fib(20)\n";
pub const WORK_SOURCE: &str = "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\n\n\n\n\nclass Parser:\n    def parse(self):\n        return [len(x) for x in self.chunks]\n";

/// A code object whose instructions `10*i .. 10*i+10` are on `lines[i]`.
fn code(filename: &str, name: &str, qualname: &str, firstlineno: u32, lines: &[u32]) -> CodeInfo {
    CodeInfo {
        filename: filename.into(),
        name: name.into(),
        qualname: qualname.into(),
        firstlineno,
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, &line)| LineRange {
                start: 10 * i as u32,
                end: 10 * i as u32 + 10,
                line,
            })
            .collect(),
    }
}

/// Frame of code `code` at its `index`-th line.
fn at(code: u32, index: u32) -> Frame {
    Frame {
        code,
        offset: 10 * index + 2,
    }
}

fn meta() -> Meta {
    Meta {
        target: "app.py".into(),
        argv: vec!["app.py".into()],
        python: "3.11.7 (main, Jan  1 2024, 00:00:00) [GCC 12.2.0]".into(),
        pid: 4242,
        rate_hz: 100,
        sampler: "memory-reader".into(),
        exact: true,
        start_unix_ns: 1_700_000_000_000_000_000,
        cwd: CWD.into(),
        sys_path: vec!["/usr/lib/python3.11".into()],
    }
}

fn exact() -> ExactStats {
    let f = |filename: &str, line, name: &str, calls, prim_calls, tt_ms: u64, ct_ms: u64| {
        ExactFunction {
            filename: filename.into(),
            line,
            name: name.into(),
            calls,
            prim_calls,
            tottime_ns: tt_ms * 1_000_000,
            cumtime_ns: ct_ms * 1_000_000,
            callers: Vec::new(),
        }
    };
    let edge = |caller, calls, prim_calls, tt_ms: u64, ct_ms: u64| ExactEdge {
        caller,
        calls,
        prim_calls,
        tottime_ns: tt_ms * 1_000_000,
        cumtime_ns: ct_ms * 1_000_000,
    };
    let mut functions = vec![
        f("app.py", 1, "<module>", 1, 1, 2, 1210),
        f("app.py", 8, "main", 1, 1, 1, 1190),
        f(WORK, 1, "fib", 21891, 1, 400, 400),
        f(WORK, 11, "parse", 20, 20, 700, 789),
        f("~", 0, "<built-in method builtins.len>", 1000, 1000, 89, 89),
    ];
    functions[1].callers = vec![edge(0, 1, 1, 1, 1190)];
    functions[2].callers = vec![edge(1, 1, 1, 2, 400), edge(2, 21890, 0, 398, 398)];
    functions[3].callers = vec![edge(1, 20, 20, 700, 789)];
    functions[4].callers = vec![edge(3, 1000, 1000, 89, 89)];
    ExactStats {
        functions,
        overhead_ns_per_event: 40.0,
    }
}

/// The fixture's `.fluoro` bytes; `complete: false` leaves out the End chunk, as a killed
/// target would.
pub fn written(complete: bool) -> Vec<u8> {
    let codes = vec![
        (0, code("app.py", "<module>", "<module>", 1, &[3, 5])),
        (1, code("app.py", "main", "main", 8, &[9, 10])),
        (2, code(WORK, "fib", "fib", 1, &[2, 4])),
        (3, code(WORK, "parse", "Parser.parse", 11, &[12])),
        (4, code(WORK, "worker", "worker", 20, &[21])),
        (5, code("threading.py", "run", "Thread.run", 975, &[982])),
    ];
    let mut stacks = StackInterner::new();
    let module = at(0, 1);
    let main_fib = at(1, 1);
    let fib_rec = at(2, 1);
    let fib_base = at(2, 0);
    let run = at(5, 0);
    // (thread, stack, samples, cpu per sample in ms, flags)
    let plan: Vec<(u32, u32, u32, u64, u8)> = vec![
        (
            0,
            stacks.intern([module, main_fib, fib_rec, fib_rec, fib_base]),
            30,
            10,
            FLAG_GIL | FLAG_ACTIVE,
        ),
        (
            0,
            stacks.intern([module, main_fib, fib_rec, fib_base]),
            10,
            10,
            FLAG_GIL | FLAG_ACTIVE,
        ),
        (
            0,
            stacks.intern([module, at(1, 0), at(3, 0)]),
            40,
            9,
            FLAG_GIL | FLAG_ACTIVE,
        ),
        (0, stacks.intern([at(0, 0)]), 1, 0, 0),
        (1, stacks.intern([run, at(4, 0)]), 50, 0, 0),
        (
            1,
            stacks.intern([run, at(4, 0), at(3, 0)]),
            15,
            8,
            FLAG_GIL | FLAG_ACTIVE,
        ),
        (2, stacks.intern([run]), 4, 0, 0),
    ];
    let samples = planned_samples(&plan);
    let chunks = [
        Chunk::Meta(meta()),
        Chunk::Codes(codes),
        Chunk::Threads(vec![
            (0, thread_info(140001, "")),
            (1, thread_info(140002, "worker-1")),
            (2, thread_info(140003, "")),
        ]),
    ];
    let mut w = run_written(&chunks, &mut stacks, samples);
    if complete {
        w.write(&Chunk::Exact(exact())).expect("writing to a Vec");
        w.write(&Chunk::End(End {
            wall_ns: 1_250_000_000,
            cpu_ns: 980_000_000,
            samples: 150,
            failed_reads: 0,
            sampler_cpu_ns: 0,
            thread_names: vec![(0, "MainThread".into())],
            exception: None,
        }))
        .expect("writing to a Vec");
    }
    w.into_inner()
}

/// The samples of a plan of `(thread, stack, samples, CPU ms a sample, flags)`, 10 ms apart.
fn planned_samples(plan: &[(u32, u32, u32, u64, u8)]) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut time_ns = 0;
    for &(thread, stack, n, cpu_ms, flags) in plan {
        for _ in 0..n {
            time_ns += 10_000_000;
            samples.push(Sample {
                thread,
                stack,
                time_ns,
                wall_ns: 10_000_000,
                cpu_ns: cpu_ms * 1_000_000,
                flags,
            });
        }
    }
    samples
}

fn thread_info(ident: u64, name: &str) -> ThreadInfo {
    ThreadInfo {
        ident,
        native_id: ident + 1000,
        name: name.into(),
    }
}

/// A writer that holds `chunks`, the stacks interned so far, and `samples`.
fn run_written(
    chunks: &[Chunk],
    stacks: &mut StackInterner,
    samples: Vec<Sample>,
) -> ProfileWriter<Vec<u8>> {
    let mut w = ProfileWriter::new(Vec::new()).expect("writing to a Vec");
    for chunk in chunks {
        w.write(chunk).expect("writing to a Vec");
    }
    if let Some((first, nodes)) = stacks.take_new() {
        w.write(&Chunk::Stacks { first, nodes })
            .expect("writing to a Vec");
    }
    w.write(&Chunk::Samples(samples)).expect("writing to a Vec");
    w
}

/// The fixture run twice more as children of the first (as `fluoro run --subprocesses`
/// writes them), one of them killed before its end record.
pub fn fixture_processes() -> Profile {
    let mut data = written(true);
    for (pid, killed) in [(4243, false), (4244, true)] {
        let tag = fluoro_profile::ProcessTag {
            pid,
            ppid: meta().pid,
            start_unix_ns: meta().start_unix_ns + 300_000_000,
        };
        let mut w = ProfileWriter::for_process(Vec::new(), tag);
        let source = written(true);
        for chunk in fluoro_profile::ChunkReader::new(&source).expect("the fixture reads") {
            let chunk = match chunk.expect("the fixture reads") {
                Chunk::Meta(m) => Chunk::Meta(Meta {
                    pid,
                    start_unix_ns: tag.start_unix_ns,
                    target: "worker.py".into(),
                    argv: vec!["worker.py".into(), format!("--n={pid}")],
                    ..m
                }),
                Chunk::End(_) if killed => continue,
                other => other,
            };
            w.write(&chunk).expect("writing to a Vec");
        }
        data.extend_from_slice(&w.into_inner());
    }
    Profile::from_bytes(&data).expect("the fixture reads")
}

/// The complete fixture, read back.
pub fn fixture() -> Profile {
    Profile::from_bytes(&written(true)).expect("the fixture reads")
}

/// The fixture with memory records: every allocation recorded, a peak, leftovers, two
/// snapshots, RSS readings and three collections.
pub fn fixture_with_memory() -> Profile {
    let mut data = written(true);
    let alloc = |addr, size, stack| AllocEvent::Alloc {
        thread: 0,
        addr,
        size,
        stack,
    };
    let snapshot = |time_ns, label: &str, dicts, parsers, rss_bytes| {
        Mark::Snapshot(SnapshotMark {
            time_ns,
            label: label.into(),
            types: vec![("dict".into(), dicts), ("Parser".into(), parsers)],
            gc_collections: [3, 1, 0],
            gc_collected: [10, 2, 0],
            rss_bytes,
        })
    };
    let gc = |start_ns, duration_ns, generation| GcEvent {
        thread: 0,
        stack: 8,
        start_ns,
        duration_ns,
        generation,
        collected: 5,
        uncollectable: 0,
    };
    // Stack 8 is Parser.parse (work.py:12), stack 5 the base case of fib (work.py:2).
    let chunks = [
        Chunk::Memory(MemorySettings {
            mode: AllocMode::All,
            stopped: true,
            ..MemorySettings::default()
        }),
        Chunk::Marks(vec![Mark::Rss {
            time_ns: 50_000_000,
            rss_bytes: 10 << 20,
        }]),
        Chunk::Allocs(AllocBatch {
            time_ns: 100_000_000,
            events: vec![
                alloc(0x1000, 1000, 8),
                alloc(0x2000, 50_000, 5),
                alloc(0x3000, 300, 8),
            ],
        }),
        Chunk::Marks(vec![snapshot(150_000_000, "before", 10, 1, 10 << 20)]),
        Chunk::Allocs(AllocBatch {
            time_ns: 200_000_000,
            events: vec![AllocEvent::Free { addr: 0x2000 }, alloc(0x4000, 2000, 8)],
        }),
        Chunk::Marks(vec![
            snapshot(250_000_000, "after", 12, 3, 12 << 20),
            Mark::Rss {
                time_ns: 260_000_000,
                rss_bytes: 12 << 20,
            },
        ]),
        Chunk::Gc(vec![
            gc(120_000_000, 400_000, 0),
            gc(180_000_000, 100_000, 0),
            gc(220_000_000, 2_000_000, 2),
        ]),
    ];
    for chunk in &chunks {
        data.extend_from_slice(&fluoro_profile::encode(chunk));
    }
    Profile::from_bytes(&data).expect("the memory fixture reads")
}

/// The fixture of a run killed before it drained: no End chunk, no exact statistics.
pub fn fixture_cut_short() -> Profile {
    Profile::from_bytes(&written(false)).expect("the fixture reads")
}

/// A fresh directory holding the fixture's sources (`app.py`, `lib/work.py`), to use as
/// `RenderOptions::source_root`.
pub fn source_root(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fluoro-report-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("lib")).expect("temp dir");
    std::fs::write(dir.join("app.py"), APP_SOURCE).expect("temp file");
    std::fs::write(dir.join("lib/work.py"), WORK_SOURCE).expect("temp file");
    dir
}

/// A scratch file path for a test's output.
pub fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("fluoro-report-{}-{name}", std::process::id()))
}

/// Runs `program args… file` and returns its stdout, asserting success; `None` (with a note)
/// when the program is not installed, so that checks against other tools skip cleanly.
pub fn run_tool(program: &str, args: &[&str], file: &std::path::Path) -> Option<String> {
    let Ok(out) = std::process::Command::new(program)
        .args(args)
        .arg(file)
        .output()
    else {
        eprintln!("{program} not found: skipping the check that needs it");
        return None;
    };
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A pattern figure.
pub fn figure(name: &str, unit: Unit, value: f64) -> Figure {
    Figure {
        name: name.into(),
        unit,
        value,
    }
}

/// A pool, a cache, a lazy attribute and a buffer pool, as a session would record them.
pub fn patterns() -> Vec<PatternStats> {
    let pattern = |kind: &str, name: &str, site: &str, figures| PatternStats {
        kind: kind.into(),
        name: name.into(),
        site: site.into(),
        figures,
        size_classes: Vec::new(),
    };
    let pool = |name, created, reused, rate| {
        pattern(
            "ObjectPool",
            name,
            "/work/app/lib/work.py:3",
            vec![
                figure("created", Unit::Count, created),
                figure("reused", Unit::Count, reused),
                figure("hit_rate", Unit::Ratio, rate),
            ],
        )
    };
    let mut buffers = pattern(
        "BufferPool",
        "frames",
        "/work/app/app.py:12",
        vec![figure("acquired", Unit::Count, 1000.0)],
    );
    buffers.size_classes = vec![
        SizeClassStats {
            size: 64,
            in_use: 0,
            free: 2,
            high_water: 2,
            acquired: 600,
            reused: 598,
            trimmed: 0,
            fragmentation: 0.125,
        },
        SizeClassStats {
            size: 4096,
            in_use: 1,
            free: 3,
            high_water: 4,
            acquired: 400,
            reused: 396,
            trimmed: 7,
            fragmentation: 0.0,
        },
    ];
    vec![
        pool("Parser", 4.0, 96.0, 0.96),
        pattern(
            "WeakValueCache",
            "load_image",
            "/elsewhere/cache.py:40",
            vec![
                figure("hits", Unit::Count, 30.0),
                figure("misses", Unit::Count, 10.0),
                figure("hit_rate", Unit::Ratio, 0.75),
            ],
        ),
        pattern(
            "lazy",
            "Config.table",
            "/work/app/app.py:20",
            vec![
                figure("loads", Unit::Count, 2.0),
                figure("load_time", Unit::Seconds, 0.0125),
                figure("bytes", Unit::Bytes, 3.0 * 1024.0 * 1024.0),
            ],
        ),
        pool("Socket", 2.0, 0.0, 0.0),
        buffers,
    ]
}

pub const BUSY_SOURCE: &str = "import threading, time\n\ndef crunch():\n    return sum(i * i for i in range(10_000))\n\ndef nap():\n    time.sleep(0.006)\n\ndef main():\n    while True:\n        crunch()\n        nap()\n";

/// A program that alternates work with sleep while a second thread waits on a condition:
/// 300 ms busy in `crunch`, 600 ms asleep in `nap`, 900 ms in `Condition.wait`.
pub fn busy_and_idle() -> Profile {
    const BUSY: &str = "/work/app/busy.py";
    let codes = vec![
        (0, code(BUSY, "main", "main", 9, &[11, 12])),
        (1, code(BUSY, "crunch", "crunch", 3, &[4])),
        (2, code(BUSY, "nap", "nap", 6, &[7])),
        (
            3,
            code(
                "/usr/lib/python3.11/threading.py",
                "run",
                "Thread.run",
                990,
                &[1010],
            ),
        ),
        (
            4,
            code(
                "/usr/lib/python3.11/threading.py",
                "wait",
                "Condition.wait",
                323,
                &[355],
            ),
        ),
        (
            5,
            code(
                "/usr/lib/python3.11/queue.py",
                "get",
                "Queue.get",
                154,
                &[171],
            ),
        ),
    ];
    let mut stacks = StackInterner::new();
    let plan: Vec<(u32, u32, u32, u64, u8)> = vec![
        (
            0,
            stacks.intern([at(0, 0), at(1, 0)]),
            30,
            10,
            FLAG_GIL | FLAG_ACTIVE,
        ),
        (0, stacks.intern([at(0, 1), at(2, 0)]), 60, 0, 0),
        (1, stacks.intern([at(3, 0), at(5, 0), at(4, 0)]), 90, 0, 0),
    ];
    let samples = planned_samples(&plan);
    let chunks = [
        Chunk::Meta(Meta {
            target: "busy.py".into(),
            ..meta()
        }),
        Chunk::Codes(codes),
        Chunk::Threads(vec![
            (0, thread_info(1, "MainThread")),
            (1, thread_info(2, "consumer")),
        ]),
    ];
    let w = run_written(&chunks, &mut stacks, samples);
    Profile::from_bytes(&w.into_inner()).expect("the busy fixture reads")
}

/// A fresh directory holding `busy.py`, for [`busy_and_idle`].
pub fn busy_source_root(test: &str) -> PathBuf {
    let dir = scratch(&format!("busy-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("busy.py"), BUSY_SOURCE).expect("temp file");
    dir
}

/// What a hostile program can put in a name: a title-setting OSC, a clear-screen CSI, a
/// newline, a right-to-left override.
pub const HOSTILE: &str = "\x1b]0;pwned\x07\x1b[2J\n\u{202e}";

/// `profile` with [`HOSTILE`] added to every string a program chooses or a `.fluoro` file
/// carries: code, file, thread and pattern names, argv, the exception, snapshot labels.
pub fn hostile(mut profile: Profile) -> Profile {
    let taint = |s: &mut String| s.push_str(HOSTILE);
    for code in profile.codes.values_mut() {
        taint(&mut code.qualname);
        taint(&mut code.name);
        taint(&mut code.filename);
    }
    for thread in &mut profile.threads {
        taint(&mut thread.name);
    }
    if let Some(meta) = &mut profile.meta {
        taint(&mut meta.target);
        taint(&mut meta.python);
        meta.argv.iter_mut().for_each(taint);
    }
    if let Some(end) = &mut profile.end {
        end.exception = Some(format!("ValueError: {HOSTILE}"));
        end.thread_names.iter_mut().for_each(|(_, n)| taint(n));
    }
    if let Some(exact) = &mut profile.exact {
        for f in &mut exact.functions {
            taint(&mut f.name);
            taint(&mut f.filename);
        }
    }
    for p in &mut profile.patterns {
        taint(&mut p.kind);
        taint(&mut p.name);
        taint(&mut p.site);
    }
    if let Some(memory) = &mut profile.memory {
        for s in &mut memory.snapshots {
            taint(&mut s.mark.label);
        }
    }
    profile
}

/// Whether `text` holds nothing a terminal would act on but newlines and the report's own
/// colours (bold, dim, reset).
pub fn only_our_escapes(text: &str) -> bool {
    let plain = text
        .replace("\x1b[1m", "")
        .replace("\x1b[2m", "")
        .replace("\x1b[0m", "");
    plain
        .chars()
        .all(|c| c == '\n' || !(c.is_control() || c == '\u{202e}'))
}

/// An asyncio program run with `--async`: the event loop (`run_forever`, `select`) on the
/// main thread; task `worker` running `crunch` for 300 ms; task `sleeper` parked at line 7's
/// `await asyncio.sleep` for 50 ms, seen at five readings of 10 ms.
pub fn async_fixture() -> Profile {
    Profile::from_bytes(&async_written()).expect("the async fixture reads")
}

/// The asyncio program of [`async_fixture`] run twice, the second time as a child of the
/// first (pid 4243), as `fluoro run --subprocesses --async` writes them.
pub fn async_processes() -> Profile {
    Profile::from_bytes(&async_processes_written()).expect("the fixture reads")
}

/// The bytes of [`async_processes`].
pub fn async_processes_written() -> Vec<u8> {
    let mut data = async_written();
    let tag = fluoro_profile::ProcessTag {
        pid: 4243,
        ppid: meta().pid,
        start_unix_ns: meta().start_unix_ns + 100_000_000,
    };
    let mut w = ProfileWriter::for_process(Vec::new(), tag);
    let source = async_written();
    for chunk in fluoro_profile::ChunkReader::new(&source).expect("the fixture reads") {
        let chunk = match chunk.expect("the fixture reads") {
            Chunk::Meta(m) => Chunk::Meta(Meta {
                pid: tag.pid,
                start_unix_ns: tag.start_unix_ns,
                ..m
            }),
            other => other,
        };
        w.write(&chunk).expect("writing to a Vec");
    }
    data.extend_from_slice(&w.into_inner());
    data
}

/// The bytes of [`async_fixture`].
fn async_written() -> Vec<u8> {
    const APP: &str = "/work/app/tasks.py";
    const LOOP: &str = "/usr/lib/python3.11/asyncio/base_events.py";
    let codes = vec![
        (0, code(APP, "<module>", "<module>", 1, &[20])),
        (
            1,
            code(
                LOOP,
                "run_forever",
                "BaseEventLoop.run_forever",
                590,
                &[607],
            ),
        ),
        (
            2,
            code(LOOP, "_run_once", "BaseEventLoop._run_once", 1850, &[1898]),
        ),
        (3, code(APP, "worker", "worker", 10, &[12])),
        (4, code(APP, "crunch", "crunch", 2, &[3])),
        (5, code(APP, "sleeper", "sleeper", 6, &[7])),
        (fluoro_profile::FIRST_TASK_CODE, CodeInfo::task("worker")),
        (
            fluoro_profile::FIRST_TASK_CODE + 1,
            CodeInfo::task("sleeper"),
        ),
    ];
    let mut stacks = StackInterner::new();
    let worker = stacks.intern([at(fluoro_profile::FIRST_TASK_CODE, 0), at(3, 0), at(4, 0)]);
    let idle = stacks.intern([at(0, 0), at(1, 0), at(2, 0)]);
    let parked = stacks.intern([at(fluoro_profile::FIRST_TASK_CODE + 1, 0), at(5, 0)]);
    let plan: Vec<(u32, u32, u32, u64, u8)> = vec![
        (0, worker, 30, 10, FLAG_GIL | FLAG_ACTIVE),
        (0, idle, 20, 0, 0),
    ];
    let samples = planned_samples(&plan);
    let chunks = [
        Chunk::Meta(Meta {
            target: "tasks.py".into(),
            ..meta()
        }),
        Chunk::Codes(codes),
        Chunk::Threads(vec![(0, thread_info(1, "MainThread"))]),
    ];
    let mut w = run_written(&chunks, &mut stacks, samples);
    let awaiting = (0..5)
        .map(|i| fluoro_profile::TaskWait {
            stack: parked,
            time_ns: 10_000_000 * (i + 1),
            wall_ns: 10_000_000,
            readings: 1,
        })
        .collect();
    w.write(&Chunk::Tasks(fluoro_profile::TaskBatch {
        note: None,
        awaiting,
    }))
    .expect("writing to a Vec");
    w.write(&Chunk::End(End {
        wall_ns: 500_000_000,
        ..End::default()
    }))
    .expect("writing to a Vec");
    w.into_inner()
}
