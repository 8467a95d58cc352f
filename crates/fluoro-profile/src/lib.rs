//! fluoro's profile: the records the collectors produce, the streamed `.fluoro` file that
//! holds them, and the aggregated [`Profile`] that reports are rendered from. Plain Rust.

mod format;
mod interner;
pub mod linetable;
mod memory;
mod model;
mod patterns;
mod processes;
mod profile;
mod timeline;

pub use format::{
    append, encode, process_tags, Chunk, ChunkReader, ChunkStream, FormatError, ProcessTag,
    ProfileWriter, MAGIC,
};
pub use interner::StackInterner;
pub use memory::*;
pub use model::*;
pub use patterns::{Figure, PatternStats, SizeClassStats, Unit};
pub use processes::ProcessInfo;
pub use profile::{AwaitWeight, Metric, Profile, StackWeight, TaskProfile};
pub use timeline::{
    AllocTimeline, Allocated, SampleCounts, SampleTime, TimeCell, TimeSlices, FIRST_BUCKET_NS,
    MAX_BUCKETS,
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(name: &str) -> CodeInfo {
        CodeInfo {
            filename: "app.py".into(),
            name: name.into(),
            qualname: format!("App.{name}"),
            firstlineno: 3,
            lines: vec![LineRange {
                start: 0,
                end: 10,
                line: 4,
            }],
        }
    }

    fn meta() -> Meta {
        Meta {
            target: "app.py".into(),
            argv: vec!["app.py".into()],
            python: "3.11.7".into(),
            pid: 42,
            rate_hz: 100,
            sampler: "memory-reader".into(),
            exact: false,
            start_unix_ns: 1,
            cwd: "/tmp".into(),
            sys_path: vec!["/usr/lib/python3.11".into()],
        }
    }

    /// A small profile: two threads, three stacks, written as a collector would.
    fn written(samples: &[Sample]) -> Vec<u8> {
        let mut stacks = StackInterner::new();
        let a = Frame { code: 0, offset: 2 };
        let b = Frame { code: 1, offset: 4 };
        stacks.intern([a, b]);
        stacks.intern([a]);
        let mut w = ProfileWriter::new(Vec::new()).unwrap();
        w.write(&Chunk::Meta(meta())).unwrap();
        w.write(&Chunk::Codes(vec![(0, code("f")), (1, code("g"))]))
            .unwrap();
        let (first, nodes) = stacks.take_new().unwrap();
        w.write(&Chunk::Stacks { first, nodes }).unwrap();
        let thread = |ident| ThreadInfo {
            ident,
            native_id: ident + 1,
            name: String::new(),
        };
        w.write(&Chunk::Threads(vec![(0, thread(7)), (1, thread(8))]))
            .unwrap();
        w.write(&Chunk::Samples(samples.to_vec())).unwrap();
        w.write(&Chunk::End(End {
            thread_names: vec![(0, "MainThread".into())],
            ..End::default()
        }))
        .unwrap();
        w.into_inner()
    }

    /// The length of the [`End`] chunk that `written` ends with.
    fn end_chunk_len() -> usize {
        encode(&Chunk::End(End {
            thread_names: vec![(0, "MainThread".into())],
            ..End::default()
        }))
        .len()
    }

    /// Where each chunk of `written(&[sample(0, 2, 5), sample(1, 1, 9)])` ends.
    fn chunk_ends() -> Vec<usize> {
        let data = written(&[sample(0, 2, 5), sample(1, 1, 9)]);
        let mut at = MAGIC.len();
        let mut ends = Vec::new();
        while at < data.len() {
            let len = u32::from_le_bytes(data[at + 1..at + 5].try_into().unwrap()) as usize;
            at += crate::format::HEADER_LEN + len;
            ends.push(at);
        }
        ends
    }

    fn sample(thread: u32, stack: u32, time_ns: u64) -> Sample {
        Sample {
            thread,
            stack,
            time_ns,
            wall_ns: 10,
            cpu_ns: 4,
            flags: FLAG_GIL,
        }
    }

    #[test]
    fn round_trip_aggregates_per_thread_and_stack() {
        let data = written(&[sample(0, 2, 5), sample(0, 2, 15), sample(1, 1, 20)]);
        let p = Profile::from_bytes(&data).unwrap();
        assert_eq!(p.samples, 3);
        assert_eq!(p.weights.len(), 2);
        assert_eq!(p.weights[0].samples, 2);
        assert_eq!(p.weights[0].wall_ns, 20);
        assert_eq!(p.weights[0].gil_samples, 2);
        assert_eq!(p.thread_name(0), "MainThread");
        assert_eq!(p.thread_name(1), "thread 8");
        let frames = p.frames(2);
        assert_eq!(frames.len(), 2);
        assert_eq!(p.code(frames[1]).name, "g");
        assert_eq!(p.line(frames[1]), 4);
        assert!(p.end.is_some());
    }

    #[test]
    fn idle_wall_time_is_the_wall_of_samples_without_the_active_flag() {
        let active = Sample {
            flags: FLAG_GIL | FLAG_ACTIVE,
            wall_ns: 7,
            ..sample(0, 2, 5)
        };
        let data = written(&[active, sample(0, 2, 15), sample(0, 2, 25)]);
        let p = Profile::from_bytes(&data).unwrap();
        let w = &p.weights[0];
        assert_eq!((w.samples, w.active_samples), (3, 1));
        assert_eq!((w.wall_ns, w.idle_wall_ns), (27, 20));
    }

    #[test]
    fn a_killed_run_reads_without_its_end() {
        let data = written(&[sample(0, 1, 5)]);
        let end_len = end_chunk_len();
        let p = Profile::from_bytes(&data[..data.len() - end_len]).unwrap();
        assert!(p.end.is_none());
        assert_eq!(p.samples, 1);
    }

    /// The chunks of `data` as format versions 1-4 wrote them: headers of kind, length and
    /// payload checksum only.
    fn without_header_checksums(data: &[u8], version: u8) -> Vec<u8> {
        let mut out = data[..8].to_vec();
        out[7] = version;
        let mut pos = 8;
        while pos < data.len() {
            let len = u32::from_le_bytes(data[pos + 1..pos + 5].try_into().unwrap()) as usize;
            out.extend_from_slice(&data[pos..pos + 9]);
            out.extend_from_slice(&data[pos + 13..pos + 13 + len]);
            pos += 13 + len;
        }
        out
    }

    #[test]
    fn every_damaged_byte_is_named_corruption_not_truncation() {
        // A damaged length once read as a cut file, and a damaged kind as a chunk from a later
        // fluoro, skipped without a word: the header checksum names both.
        let data = written(&[sample(0, 1, 5), sample(0, 2, 9)]);
        for at in MAGIC.len()..data.len() {
            for flip in [0x01, 0x55, 0xff] {
                let mut bad = data.clone();
                bad[at] ^= flip;
                match Profile::from_bytes(&bad) {
                    Err(FormatError::Checksum(_) | FormatError::Decode { .. }) => {}
                    other => panic!("byte {at} ^ {flip:#x}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn truncation_and_corruption_are_named() {
        let data = written(&[sample(0, 1, 5)]);
        // Cut inside the header chunk: nothing to read.
        assert!(matches!(
            Profile::from_bytes(&data[..MAGIC.len() + 4]),
            Err(FormatError::Truncated(_))
        ));
        let mut bad = data.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        assert!(matches!(
            Profile::from_bytes(&bad),
            Err(FormatError::Checksum(_))
        ));
        assert!(matches!(
            Profile::from_bytes(b"hello world"),
            Err(FormatError::NotProfile)
        ));
        let mut newer = data.clone();
        newer[7] = 9;
        assert!(matches!(
            Profile::from_bytes(&newer),
            Err(FormatError::Version(9))
        ));
        // Versions 1-4 wrote the same chunks without the header checksum: they still read.
        for version in 1..=4 {
            let older = without_header_checksums(&data, version);
            assert!(Profile::from_bytes(&older).is_ok(), "version {version}");
        }
        let mut oldest = data;
        oldest[7] = 0;
        assert!(matches!(
            Profile::from_bytes(&oldest),
            Err(FormatError::Version(0))
        ));
    }

    #[test]
    fn a_file_cut_inside_its_last_chunk_reads_up_to_it() {
        let data = written(&[sample(0, 1, 5), sample(0, 2, 9)]);
        let end_len = end_chunk_len();
        let whole = data.len() - end_len;
        for cut in [whole + 1, whole + 9, data.len() - 1] {
            let p = Profile::from_bytes(&data[..cut]).unwrap();
            assert_eq!(p.ends_early, Some(whole));
            assert_eq!(p.samples, 2);
            assert!(p.end.is_none());
        }
        assert_eq!(Profile::from_bytes(&data).unwrap().ends_early, None);
    }

    #[test]
    fn a_bad_checksum_before_the_end_stays_an_error() {
        let data = written(&[sample(0, 1, 5)]);
        let end_len = end_chunk_len();
        // The last byte of the samples chunk, in the middle of the file.
        let mut bad = data.clone();
        bad[data.len() - end_len - 1] ^= 0xff;
        assert!(matches!(
            Profile::from_bytes(&bad),
            Err(FormatError::Checksum(_))
        ));
        // Even when the file is also cut after it.
        assert!(matches!(
            Profile::from_bytes(&bad[..bad.len() - 2]),
            Err(FormatError::Checksum(_))
        ));
    }

    #[test]
    fn samples_naming_unknown_stacks_are_rejected() {
        let data = written(&[sample(0, 99, 5)]);
        assert!(matches!(
            Profile::from_bytes(&data),
            Err(FormatError::Decode { .. })
        ));
    }

    #[test]
    fn unknown_chunk_kinds_are_skipped() {
        let mut data = written(&[sample(0, 1, 5)]);
        let payload = b"future";
        let mut chunk = vec![200u8];
        chunk.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        chunk.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        let header_crc = crc32fast::hash(&chunk);
        chunk.extend_from_slice(&header_crc.to_le_bytes());
        chunk.extend_from_slice(payload);
        data.extend_from_slice(&chunk);
        assert_eq!(Profile::from_bytes(&data).unwrap().samples, 1);
    }

    #[test]
    fn folds_of_one_size_from_older_versions_read_as_their_bytes() {
        // Tag 2 (versions 2 and 3): thread 0, 48-byte blocks, stack 1, ten of them.
        let payload = [0u8, 1, 2, 0, 48, 1, 10];
        let mut data = b"FLUORO\x00\x03".to_vec();
        data.push(8);
        data.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        data.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        data.extend_from_slice(&payload);
        let chunks: Vec<Chunk> = ChunkReader::new(&data)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let Chunk::Allocs(batch) = &chunks[0] else {
            panic!("{chunks:?}")
        };
        assert_eq!(
            batch.events,
            [AllocEvent::Folded {
                thread: 0,
                bytes: 480,
                count: 10,
                stack: 1
            }]
        );
    }

    #[test]
    fn patterns_after_the_end_are_read() {
        let mut data = written(&[sample(0, 1, 5)]);
        let stats = vec![PatternStats {
            kind: "ObjectPool".into(),
            name: "Parser".into(),
            site: "app.py:3".into(),
            figures: vec![Figure {
                name: "created".into(),
                unit: Unit::Count,
                value: 2.0,
            }],
            size_classes: Vec::new(),
        }];
        data.extend(encode(&Chunk::Patterns(stats.clone())));
        let p = Profile::from_bytes(&data).unwrap();
        assert_eq!(p.patterns, stats);
        assert!(p.end.is_some());
    }

    #[test]
    fn line_at_falls_back_to_the_first_line() {
        let mut c = code("f");
        c.lines.push(LineRange {
            start: 10,
            end: 12,
            line: 0,
        });
        assert_eq!(c.line_at(0), 4);
        assert_eq!(c.line_at(10), 3);
        assert_eq!(c.line_at(500), 3);
    }

    proptest! {
        #[test]
        fn samples_round_trip(raw in proptest::collection::vec((0u32..2, 1u32..4, 0u64..1_000_000, 0u64..1_000, 0u8..4), 0..200)) {
            let mut time = 0;
            let samples: Vec<Sample> = raw.iter().map(|&(thread, stack, dt, cpu, flags)| {
                time += dt;
                Sample { thread, stack, time_ns: time, wall_ns: dt, cpu_ns: cpu, flags }
            }).collect();
            let chunk = Chunk::Samples(samples.clone());
            let mut data = MAGIC.to_vec();
            data.extend(encode(&chunk));
            let back: Vec<Chunk> = ChunkReader::new(&data).unwrap().collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(back, vec![chunk]);
        }

        #[test]
        fn memory_chunks_round_trip(
            raw in proptest::collection::vec((0u8..5, 0u32..3, any::<u64>(), 0u64..1 << 40, 0u32..1000), 0..300),
            time_ns in any::<u64>(),
        ) {
            let events = raw.iter().map(|&(kind, thread, addr, size, stack)| match kind {
                0 => AllocEvent::Alloc { thread, addr, size, stack },
                1 => AllocEvent::Free { addr },
                2 => AllocEvent::Live { thread, addr, size, stack },
                3 => AllocEvent::Retag { thread, addr, stack },
                _ => AllocEvent::Folded { thread, bytes: size, count: addr >> 40, stack },
            }).collect();
            let chunks = vec![
                Chunk::Allocs(AllocBatch { time_ns, events }),
                Chunk::Memory(MemorySettings { mode: AllocMode::Sampled, mean_bytes: 4096, lost_events: 3, untracked: 1, stopped: true, outside_gil_count: 2, outside_gil_bytes: 300, free_lists_ignored: true }),
                Chunk::Gc(vec![GcEvent { thread: 0, stack: 2, start_ns: 5, duration_ns: 7, generation: 2, collected: 9, uncollectable: 1 }]),
                Chunk::Marks(vec![Mark::Rss { time_ns: 1, rss_bytes: 2 }, Mark::Snapshot(SnapshotMark { label: "x".into(), types: vec![("dict".into(), 3)], ..SnapshotMark::default() })]),
            ];
            let mut data = MAGIC.to_vec();
            for chunk in &chunks {
                data.extend(encode(chunk));
            }
            let back: Vec<Chunk> = ChunkReader::new(&data).unwrap().collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(back, chunks);
        }

        #[test]
        fn corrupt_alloc_payloads_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut data = MAGIC.to_vec();
            data.push(8);
            data.extend((bytes.len() as u32).to_le_bytes());
            data.extend(crc32fast::hash(&bytes).to_le_bytes());
            data.extend(&bytes);
            let _ = ChunkReader::new(&data).unwrap().collect::<Vec<_>>();
        }

        #[test]
        fn a_stream_reads_what_the_whole_file_reads(cut in 0usize..400, flip in proptest::option::of((0usize..400, 1u8..=255))) {
            let mut data = written(&[sample(0, 2, 5), sample(1, 1, 9)]);
            if let Some((at, bits)) = flip {
                let at = at.min(data.len() - 1);
                data[at] ^= bits;
            }
            let data = &data[..cut.min(data.len())];
            let whole = Profile::from_bytes(data);
            let streamed = Profile::from_file(&file_of(data), None).map(|p| p.expect("one process"));
            prop_assert_eq!(view(&whole), view(&streamed));
        }

        #[test]
        fn any_prefix_reads_or_fails_cleanly(cut in 0usize..400) {
            let data = written(&[sample(0, 2, 5), sample(1, 1, 9)]);
            let cut = cut.min(data.len());
            match Profile::from_bytes(&data[..cut]) {
                // A prefix that holds the header chunk reads, up to its last whole chunk.
                Ok(p) => {
                    prop_assert!(p.meta.is_some());
                    prop_assert_eq!(p.ends_early.is_some(), p.end.is_none() && cut < data.len() && !chunk_ends().contains(&cut));
                }
                Err(e) => {
                    prop_assert!(cut < chunk_ends()[0], "prefix of {} bytes: {}", cut, e);
                    prop_assert!(!e.to_string().contains('\n'));
                }
            }
        }
    }

    /// `written`'s profile with every allocation recorded: two blocks live at the end, one
    /// freed after the peak.
    fn written_with_memory() -> Vec<u8> {
        let mut data = written(&[sample(0, 1, 5)]);
        let events = vec![
            AllocEvent::Alloc {
                thread: 0,
                addr: 0x1000,
                size: 64,
                stack: 1,
            },
            AllocEvent::Alloc {
                thread: 0,
                addr: 0x2000,
                size: 32,
                stack: 2,
            },
            AllocEvent::Free { addr: 0x1000 },
            AllocEvent::Alloc {
                thread: 1,
                addr: 0x3000,
                size: 128,
                stack: 1,
            },
        ];
        data.extend(encode(&Chunk::Allocs(AllocBatch { time_ns: 7, events })));
        data.extend(encode(&Chunk::Memory(MemorySettings {
            mode: AllocMode::All,
            mean_bytes: 0,
            lost_events: 0,
            untracked: 0,
            stopped: true,
            outside_gil_count: 0,
            outside_gil_bytes: 0,
            free_lists_ignored: false,
        })));
        data
    }

    /// What a read gave, its hash maps in order.
    fn view(read: &Result<Profile, FormatError>) -> String {
        match read {
            Ok(p) => {
                let mut p = p.clone();
                let codes: std::collections::BTreeMap<_, _> = p.codes.drain().collect();
                if let Some(m) = &mut p.memory {
                    m.allocated_over_time.latest.clear();
                }
                format!("{codes:?} {p:?}")
            }
            Err(e) => e.to_string(),
        }
    }

    /// An unnamed file holding `data`, at its start.
    fn file_of(data: &[u8]) -> std::fs::File {
        use std::io::{Seek, Write};
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("fluoro-profile-test-{}-{n}", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        file.write_all(data).unwrap();
        file.rewind().unwrap();
        file
    }

    #[test]
    fn memory_streams_as_it_reads_whole() {
        let data = written_with_memory();
        let whole = Profile::from_bytes(&data).unwrap();
        let streamed = Profile::from_file(&file_of(&data), None).unwrap().unwrap();
        assert!(whole.memory.is_some());
        assert_eq!(view(&Ok(whole)), view(&Ok(streamed)));
    }

    /// A merged profile as its reports see it: merging numbers the children's codes in no
    /// fixed order, so stacks are named by their functions.
    fn merged(p: &Profile) -> String {
        let mut weights: Vec<String> = p
            .weights
            .iter()
            .map(|w| {
                let frames: Vec<String> = p
                    .frames(w.stack)
                    .iter()
                    .map(|f| format!("{}+{}", p.codes[&f.code].qualname, f.offset))
                    .collect();
                let thread = p.thread_name(w.thread);
                format!(
                    "{thread} {frames:?} {} {} {}",
                    w.samples, w.wall_ns, w.cpu_ns
                )
            })
            .collect();
        weights.sort();
        let pids: Vec<u32> = p.processes.iter().map(|p| p.pid).collect();
        format!("{weights:?} {pids:?} {} {:?}", p.samples, p.meta)
    }

    proptest::proptest! {
        /// Damaged or cut, a file with children streams to what it reads whole, or says it
        /// must be read whole (`None`).
        #[test]
        fn a_damaged_file_with_children_streams_as_it_reads_whole(cut in 0usize..2000, flip in proptest::option::of((0usize..2000, 1u8..=255))) {
            let mut data = three_processes();
            if let Some((at, bits)) = flip {
                let at = at.min(data.len() - 1);
                data[at] ^= bits;
            }
            let data = &data[..cut.min(data.len())];
            let whole = Profile::from_bytes(data);
            match Profile::from_file(&file_of(data), None) {
                Ok(Some(streamed)) => {
                    let whole = whole.map_err(|e| e.to_string());
                    proptest::prop_assert!(whole.is_ok(), "{whole:?}");
                    proptest::prop_assert_eq!(merged(&whole.unwrap()), merged(&streamed));
                }
                Ok(None) => {}
                Err(e) => proptest::prop_assert!(whole.is_err(), "streamed: {e}"),
            }
        }
    }

    #[test]
    fn a_file_with_children_streams_as_it_reads_whole() {
        let data = three_processes();
        let tags = process_tags(&file_of(&data));
        assert_eq!(tags.iter().map(|t| t.pid).collect::<Vec<_>>(), [100, 101]);
        assert_eq!(process_tags(&file_of(&written(&[sample(0, 1, 5)]))), []);
        for only in [None, Some(42), Some(100), Some(101)] {
            let whole = Profile::read_processes(&data, only).unwrap();
            let streamed = Profile::from_file(&file_of(&data), only).unwrap().unwrap();
            assert_eq!(merged(&whole), merged(&streamed), "{only:?}");
        }
        assert!(matches!(
            Profile::from_file(&file_of(&data), Some(7)),
            Err(FormatError::NoPid(7))
        ));
    }

    /// A child's chunks, as `written` would make them, carried for process `pid`.
    fn child_chunks(pid: u32, start_unix_ns: u64, samples: &[Sample]) -> Vec<Vec<u8>> {
        let data = written(samples);
        let tag = ProcessTag {
            pid,
            ppid: 42,
            start_unix_ns,
        };
        let mut chunks = Vec::new();
        let mut reader = ChunkReader::new(&data).unwrap();
        while let Ok(Some(raw)) = reader.next_raw() {
            let mut w = ProfileWriter::for_process(Vec::new(), tag);
            let chunk = crate::format::decode_for_test(raw.kind, raw.payload);
            let chunk = match chunk {
                Chunk::Meta(m) => Chunk::Meta(Meta {
                    pid,
                    start_unix_ns,
                    ..m
                }),
                other => other,
            };
            w.write(&chunk).unwrap();
            chunks.push(w.into_inner());
        }
        chunks
    }

    /// A parent and two children, their chunks interleaved as their writes came.
    fn three_processes() -> Vec<u8> {
        let mut data = written(&[sample(0, 2, 5)]);
        let a = child_chunks(100, 1_000_001, &[sample(0, 2, 5), sample(0, 2, 7)]);
        let b = child_chunks(101, 2_000_001, &[sample(0, 1, 9)]);
        for i in 0..a.len().max(b.len()) {
            for chunks in [&a, &b] {
                if let Some(c) = chunks.get(i) {
                    data.extend_from_slice(c);
                }
            }
        }
        data
    }

    #[test]
    fn children_merge_into_one_profile_with_their_own_threads() {
        let p = Profile::from_bytes(&three_processes()).unwrap();
        assert_eq!(p.processes.len(), 3);
        assert_eq!(
            p.processes.iter().map(|p| p.pid).collect::<Vec<_>>(),
            [42, 100, 101]
        );
        assert_eq!(p.processes[1].ppid, 42);
        assert_eq!(p.processes[2].start_ns, 2_000_000);
        assert_eq!(p.threads.len(), 6);
        assert_eq!(p.samples, 4);
        assert_eq!(p.thread_name(2), "MainThread [pid 100]");
        assert_eq!(p.process_of(5).map(|p| p.pid), Some(101));
        // The same code in every process is one code: stacks merge.
        assert_eq!(p.codes.len(), 2);
        assert_eq!(p.stacks.len(), 3);
        let child_a: u64 = p
            .weights
            .iter()
            .filter(|w| p.process_of(w.thread).is_some_and(|x| x.pid == 100))
            .map(|w| w.samples)
            .sum();
        assert_eq!(child_a, 2);
        assert_eq!(p.sample_times.len(), 4);
        assert!(p.sample_times.iter().any(|t| t.time_ns() == 2_000_000));
    }

    #[test]
    fn one_process_is_read_alone_by_its_pid() {
        let data = three_processes();
        let p = Profile::from_bytes_of_pid(&data, 101).unwrap();
        assert_eq!(p.processes.len(), 1);
        assert_eq!(p.meta.as_ref().unwrap().pid, 101);
        assert_eq!(p.samples, 1);
        assert_eq!(p.thread_name(0), "MainThread");
        assert!(matches!(
            Profile::from_bytes_of_pid(&data, 7),
            Err(FormatError::NoPid(7))
        ));
        let alone = written(&[sample(0, 2, 5)]);
        assert_eq!(Profile::from_bytes_of_pid(&alone, 42).unwrap().samples, 1);
        assert!(Profile::from_bytes_of_pid(&alone, 43).is_err());
    }

    #[test]
    fn a_chunk_cut_by_a_killed_child_is_skipped() {
        let mut data = written(&[sample(0, 2, 5)]);
        let a = child_chunks(100, 1_000_001, &[sample(0, 2, 5)]);
        let b = child_chunks(101, 2_000_001, &[sample(0, 1, 9)]);
        for c in &b {
            data.extend_from_slice(c);
        }
        // Child 100 was killed in the middle of writing its samples: the rest of the file
        // came after the part it wrote.
        for c in &a[..4] {
            data.extend_from_slice(c);
        }
        let samples_chunk = &a[4];
        data.extend_from_slice(&samples_chunk[..samples_chunk.len() / 2]);
        data.extend_from_slice(&child_chunks(102, 3_000_001, &[sample(1, 1, 3)]).concat());
        let p = Profile::from_bytes(&data).unwrap();
        assert_eq!(
            p.processes.iter().map(|p| p.pid).collect::<Vec<_>>(),
            [42, 101, 100, 102]
        );
        // Its samples went with the cut chunk; everything after it reads.
        assert_eq!(p.samples, 1 + 1 + 1);
        assert!(p.processes[2].end.is_none());
    }

    #[test]
    fn readers_of_one_process_skip_the_children() {
        let data = three_processes();
        let kinds: Vec<_> = ChunkReader::new(&data)
            .unwrap()
            .map(|c| c.unwrap())
            .filter(|c| matches!(c, Chunk::Meta(_)))
            .collect();
        assert_eq!(kinds.len(), 1);
    }
}
