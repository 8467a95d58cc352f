//! Writes a large synthetic `.fluoro` profile for the HTML report's benchmark
//! (`benches/html_report.py`): 1,000,000 samples over 50,000 distinct stacks on 4 threads,
//! 2,000 functions in 100 files. Stacks come in phases, as a real program's do: each
//! stretch of the run samples its own few hundred stacks and a shared hot set.
//!
//! `cargo run --release -p fluoro-report --example synthetic_profile -- OUT.fluoro [uniform]`
//!
//! With `uniform`, every stack is as likely at any time of the run (one phase): the worst case
//! for the report's per-slice data.

use fluoro_profile::{
    Chunk, CodeInfo, End, Frame, LineRange, Meta, ProfileWriter, Sample, StackInterner, ThreadInfo,
    FLAG_ACTIVE, FLAG_GIL,
};

const SAMPLES: u64 = 1_000_000;
const STACKS: usize = 50_000;
const FUNCTIONS: u32 = 2_000;
const FILES: u32 = 100;
const THREADS: u32 = 4;
const PHASES: usize = 500;
const HOT: usize = 50;
const INTERVAL_NS: u64 = 10_000_000;

/// A small deterministic generator (xorshift), so every run writes the same profile.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn main() -> std::io::Result<()> {
    let Some(out) = std::env::args_os().nth(1) else {
        eprintln!("usage: synthetic_profile OUT.fluoro [uniform]");
        std::process::exit(2);
    };
    let phases = if std::env::args().nth(2).as_deref() == Some("uniform") {
        1
    } else {
        PHASES
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let codes: Vec<(u32, CodeInfo)> = (0..FUNCTIONS)
        .map(|id| {
            let first = 1 + 20 * (id / FILES);
            let code = CodeInfo {
                filename: format!("/srv/app/pkg{}/module{}.py", id % 10, id % FILES),
                name: format!("handler_{id}"),
                qualname: format!("Service{}.handler_{id}", id % 37),
                firstlineno: first,
                lines: (0..10)
                    .map(|i| LineRange {
                        start: 10 * i,
                        end: 10 * i + 10,
                        line: first + 1 + i,
                    })
                    .collect(),
            };
            (id, code)
        })
        .collect();
    // Distinct stacks: each extends a prefix of an earlier one with a few new frames.
    let mut interner = StackInterner::new();
    let mut paths: Vec<Vec<Frame>> = Vec::with_capacity(STACKS);
    let frame = |rng: &mut Rng| Frame {
        code: rng.below(u64::from(FUNCTIONS)) as u32,
        offset: 10 * rng.below(10) as u32 + 2,
    };
    let mut ids = Vec::with_capacity(STACKS);
    while ids.len() < STACKS {
        let mut path = match paths.len() {
            0 => vec![Frame { code: 0, offset: 2 }],
            n => {
                let base = &paths[rng.below(n as u64) as usize];
                base[..1 + rng.below(base.len() as u64) as usize].to_vec()
            }
        };
        for _ in 0..1 + rng.below(4) {
            if path.len() < 40 {
                path.push(frame(&mut rng));
            }
        }
        let before = interner.len();
        let id = interner.intern(path.iter().copied());
        if interner.len() > before {
            ids.push(id);
            paths.push(path);
        }
    }
    let mut w = ProfileWriter::new(std::io::BufWriter::new(std::fs::File::create(out)?))?;
    w.write(&Chunk::Meta(Meta {
        target: "synthetic.py".into(),
        argv: vec!["synthetic.py".into()],
        python: "3.11.7".into(),
        pid: 1,
        rate_hz: 100,
        sampler: "memory-reader".into(),
        exact: false,
        start_unix_ns: 1_700_000_000_000_000_000,
        cwd: "/srv/app".into(),
        sys_path: Vec::new(),
    }))?;
    w.write(&Chunk::Codes(codes))?;
    if let Some((first, nodes)) = interner.take_new() {
        w.write(&Chunk::Stacks { first, nodes })?;
    }
    w.write(&Chunk::Threads(
        (0..THREADS)
            .map(|t| {
                let info = ThreadInfo {
                    ident: 1000 + u64::from(t),
                    native_id: 2000 + u64::from(t),
                    name: format!("worker-{t}"),
                };
                (t, info)
            })
            .collect(),
    ))?;
    // Each thread runs its own stacks (stack i on thread i % THREADS); phase p samples stacks
    // p*100 .. p*100+100 and the hot ones.
    let per_phase = STACKS / phases;
    let per_thread = SAMPLES / u64::from(THREADS);
    let mut batch = Vec::with_capacity(10_000);
    for tick in 0..per_thread {
        let phase = (tick * phases as u64 / per_thread) as usize;
        for thread in 0..THREADS {
            let pick = if rng.below(4) == 0 {
                rng.below(HOT as u64) as usize
            } else {
                phase * per_phase + rng.below(per_phase as u64) as usize
            };
            // Keep the thread's own stacks: move to the nearest one it runs.
            let index = pick - pick % THREADS as usize + thread as usize;
            let index = index.min(STACKS - THREADS as usize + thread as usize);
            let busy = rng.below(5) != 0;
            batch.push(Sample {
                thread,
                stack: ids[index],
                time_ns: tick * INTERVAL_NS,
                wall_ns: INTERVAL_NS,
                cpu_ns: if busy { INTERVAL_NS - 500_000 } else { 0 },
                flags: if busy { FLAG_ACTIVE | FLAG_GIL } else { 0 },
            });
            if batch.len() == batch.capacity() {
                w.write(&Chunk::Samples(std::mem::take(&mut batch)))?;
                batch.reserve(10_000);
            }
        }
    }
    if !batch.is_empty() {
        w.write(&Chunk::Samples(batch))?;
    }
    w.write(&Chunk::End(End {
        wall_ns: per_thread * INTERVAL_NS,
        cpu_ns: 0,
        samples: SAMPLES,
        failed_reads: 0,
        sampler_cpu_ns: 0,
        thread_names: Vec::new(),
        exception: None,
    }))?;
    std::io::Write::flush(&mut w.into_inner())
}
