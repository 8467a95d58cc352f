//! The `.fluoro` file: an 8-byte magic, then chunks appended as the run goes.
//!
//! A chunk is `kind: u8, length: u32 LE, crc32: u32 LE, header crc32: u32 LE, payload` with a
//! postcard-encoded payload: the first checksum covers the payload, the second the 9 bytes
//! before it, so a damaged kind or length is named as corruption, not taken for a cut file or
//! a kind from a later fluoro (files of format versions 1-4 have no header checksum). Each
//! chunk is written with one `write` call and flushed, so a target killed mid-run leaves whole
//! chunks behind: the profile reads, without its [`End`] chunk. Chunks of a kind
//! this reader does not know are skipped, so later fluoro versions can add kinds.

use crate::memory::{AllocBatch, AllocEvent, GcEvent, Mark, MemorySettings};
use crate::model::{
    AdaptiveCode, CodeId, CodeInfo, End, ExactStats, Meta, Sample, StackId, StackNode, TaskBatch,
    ThreadIdx, ThreadInfo,
};
use crate::patterns::PatternStats;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// `FLUORO`, a NUL, and the format version. Version 2 added folded allocations to the
/// allocation chunk, version 3 the counts of allocations made without the GIL to the memory
/// settings, version 4 live allocations already counted in a folded run, version 5 the
/// header checksum and blocks taken again from free lists; files of earlier versions read
/// the same way.
pub const MAGIC: [u8; 8] = *b"FLUORO\x00\x05";
/// The oldest format version this reader reads.
const OLDEST_VERSION: u8 = 1;
/// Kind, length and payload checksum: the whole header of versions 1-4.
const HEADER_V4_LEN: usize = 9;
/// Version 5 adds the header's own checksum.
pub(crate) const HEADER_LEN: usize = HEADER_V4_LEN + 4;
const HEADER_CRC_VERSION: u8 = 5;
/// No chunk is larger; a length above it is corruption, not a reason to allocate.
const MAX_CHUNK: usize = 1 << 30;

/// Why a `.fluoro` file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("not a fluoro profile (it does not start with fluoro's magic bytes)")]
    NotProfile,
    #[error("written in format version {0}, which this fluoro cannot read")]
    Version(u8),
    #[error("truncated chunk at byte {0}")]
    Truncated(usize),
    #[error("corrupt chunk at byte {0}: checksum mismatch")]
    Checksum(usize),
    #[error("corrupt chunk at byte {at}: {reason}")]
    Decode { at: usize, reason: String },
    #[error("the profile has no header chunk")]
    NoMeta,
    #[error("the profile has no process {0}")]
    NoPid(u32),
    #[error("{0}")]
    Io(String),
}

/// One unit of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    Meta(Meta),
    Codes(Vec<(CodeId, CodeInfo)>),
    /// Stacks interned since the last such chunk; ids are consecutive from `first`.
    Stacks {
        first: StackId,
        nodes: Vec<StackNode>,
    },
    Threads(Vec<(ThreadIdx, ThreadInfo)>),
    Samples(Vec<Sample>),
    Exact(ExactStats),
    End(End),
    /// Allocations and frees, in the order they happened.
    Allocs(AllocBatch),
    /// How allocations are recorded.
    Memory(MemorySettings),
    Gc(Vec<GcEvent>),
    /// RSS readings and snapshot marks, in stream order with the allocations.
    Marks(Vec<Mark>),
    /// `fluoro.patterns` instances alive at the end; appended after [`End`] by the session.
    Patterns(Vec<PatternStats>),
    /// The hot functions' quickened bytecode at the end (`fluoro run --adaptive`); appended
    /// after [`End`].
    Adaptive(Vec<AdaptiveCode>),
    /// asyncio tasks seen waiting, or why tasks could not be read (`fluoro run --async`).
    Tasks(TaskBatch),
}

impl Chunk {
    fn kind(&self) -> u8 {
        match self {
            Chunk::Meta(_) => 1,
            Chunk::Codes(_) => 2,
            Chunk::Stacks { .. } => 3,
            Chunk::Threads(_) => 4,
            Chunk::Samples(_) => 5,
            Chunk::Exact(_) => 6,
            Chunk::End(_) => 7,
            Chunk::Allocs(_) => 8,
            Chunk::Memory(_) => 9,
            Chunk::Gc(_) => 10,
            Chunk::Marks(_) => 11,
            Chunk::Patterns(_) => 12,
            Chunk::Adaptive(_) => 13,
            Chunk::Tasks(_) => 15,
        }
    }
}

/// Samples as stored: times as deltas from the previous sample, so that varints stay short.
#[derive(Serialize, Deserialize)]
struct PackedSample {
    thread: ThreadIdx,
    stack: StackId,
    dt_ns: u64,
    wall_ns: u64,
    cpu_ns: u64,
    flags: u8,
}

#[derive(Serialize, Deserialize)]
struct StacksPayload {
    first: StackId,
    nodes: Vec<StackNode>,
}

/// Allocator events as stored, encoded by hand (the busiest chunk): the batch time and the
/// event count as varints, then per event a tag byte (0 allocation, 1 free, 3 live
/// allocation), the address as a zigzag varint delta from the previous event's (consecutive
/// blocks lie close together), and for allocations the thread, size and stack as varints; a
/// folded run (tag 4) has no address, only the thread, its bytes in all, stack and count; a
/// block taken again from a free list (tag 5) has its address, the thread and the stack.
/// Versions 2 and 3 wrote folds of one size as tag 2, with that size: still read.
fn encode_allocs(batch: &AllocBatch, out: &mut Vec<u8>) {
    put_varint(out, batch.time_ns);
    put_varint(out, batch.events.len() as u64);
    let mut previous = 0u64;
    for e in &batch.events {
        let addr = match *e {
            AllocEvent::Alloc { addr, .. }
            | AllocEvent::Live { addr, .. }
            | AllocEvent::Retag { addr, .. }
            | AllocEvent::Free { addr } => addr,
            AllocEvent::Folded {
                thread,
                bytes,
                count,
                stack,
            } => {
                out.push(4);
                put_varint(out, u64::from(thread));
                put_varint(out, bytes);
                put_varint(out, u64::from(stack));
                put_varint(out, count);
                continue;
            }
        };
        let delta = addr.wrapping_sub(previous) as i64;
        previous = addr;
        let zigzag = ((delta << 1) ^ (delta >> 63)) as u64;
        match *e {
            AllocEvent::Alloc {
                thread,
                size,
                stack,
                ..
            }
            | AllocEvent::Live {
                thread,
                size,
                stack,
                ..
            } => {
                out.push(if matches!(e, AllocEvent::Live { .. }) {
                    3
                } else {
                    0
                });
                put_varint(out, zigzag);
                put_varint(out, u64::from(thread));
                put_varint(out, size);
                put_varint(out, u64::from(stack));
            }
            AllocEvent::Free { .. } => {
                out.push(1);
                put_varint(out, zigzag);
            }
            AllocEvent::Retag { thread, stack, .. } => {
                out.push(5);
                put_varint(out, zigzag);
                put_varint(out, u64::from(thread));
                put_varint(out, u64::from(stack));
            }
            AllocEvent::Folded { .. } => {}
        }
    }
}

fn decode_allocs(payload: &[u8]) -> Result<AllocBatch, postcard::Error> {
    let mut at = 0;
    let time_ns = get_varint(payload, &mut at)?;
    let n = get_varint(payload, &mut at)?;
    // Every event takes at least two bytes: a count beyond that is corruption.
    if n > payload.len() as u64 / 2 {
        return Err(postcard::Error::DeserializeUnexpectedEnd);
    }
    let mut events = Vec::with_capacity(n as usize);
    let mut previous = 0u64;
    for _ in 0..n {
        let tag = *payload
            .get(at)
            .ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
        at += 1;
        // 2: a fold of blocks of one size (versions 2 and 3), 4: of one size class, with
        // their bytes in all.
        if tag == 2 || tag == 4 {
            let thread = get_varint(payload, &mut at)?;
            let size = get_varint(payload, &mut at)?;
            let stack = get_varint(payload, &mut at)?;
            let count = get_varint(payload, &mut at)?;
            events.push(AllocEvent::Folded {
                thread: u32::try_from(thread).map_err(|_| postcard::Error::DeserializeBadVarint)?,
                bytes: if tag == 2 {
                    size.saturating_mul(count)
                } else {
                    size
                },
                count,
                stack: u32::try_from(stack).map_err(|_| postcard::Error::DeserializeBadVarint)?,
            });
            continue;
        }
        let zigzag = get_varint(payload, &mut at)?;
        let delta = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
        previous = previous.wrapping_add(delta as u64);
        events.push(match tag {
            0 | 3 => {
                let thread = get_varint(payload, &mut at)?;
                let size = get_varint(payload, &mut at)?;
                let stack = get_varint(payload, &mut at)?;
                let thread =
                    u32::try_from(thread).map_err(|_| postcard::Error::DeserializeBadVarint)?;
                let stack =
                    u32::try_from(stack).map_err(|_| postcard::Error::DeserializeBadVarint)?;
                let addr = previous;
                if tag == 0 {
                    AllocEvent::Alloc {
                        thread,
                        addr,
                        size,
                        stack,
                    }
                } else {
                    AllocEvent::Live {
                        thread,
                        addr,
                        size,
                        stack,
                    }
                }
            }
            1 => AllocEvent::Free { addr: previous },
            5 => {
                let thread = get_varint(payload, &mut at)?;
                let stack = get_varint(payload, &mut at)?;
                AllocEvent::Retag {
                    thread: u32::try_from(thread)
                        .map_err(|_| postcard::Error::DeserializeBadVarint)?,
                    addr: previous,
                    stack: u32::try_from(stack)
                        .map_err(|_| postcard::Error::DeserializeBadVarint)?,
                }
            }
            _ => return Err(postcard::Error::DeserializeBadEnum),
        });
    }
    if at != payload.len() {
        return Err(postcard::Error::DeserializeBadEncoding);
    }
    Ok(AllocBatch { time_ns, events })
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(data: &[u8], at: &mut usize) -> Result<u64, postcard::Error> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data
            .get(*at)
            .ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(postcard::Error::DeserializeBadVarint)
}

fn to_payload<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing plain structs into a Vec cannot fail.
    postcard::to_stdvec(value).unwrap_or_default()
}

/// Encodes a chunk, header included, ready for one `write` call.
pub fn encode(chunk: &Chunk) -> Vec<u8> {
    let payload = match chunk {
        Chunk::Meta(m) => to_payload(m),
        Chunk::Codes(c) => to_payload(c),
        Chunk::Stacks { first, nodes } => to_payload(&StacksPayload {
            first: *first,
            nodes: nodes.clone(),
        }),
        Chunk::Threads(t) => to_payload(t),
        Chunk::Samples(samples) => {
            let mut previous = 0u64;
            let packed: Vec<PackedSample> = samples
                .iter()
                .map(|s| {
                    let dt_ns = s.time_ns.saturating_sub(previous);
                    previous = s.time_ns;
                    PackedSample {
                        thread: s.thread,
                        stack: s.stack,
                        dt_ns,
                        wall_ns: s.wall_ns,
                        cpu_ns: s.cpu_ns,
                        flags: s.flags,
                    }
                })
                .collect();
            to_payload(&packed)
        }
        Chunk::Exact(e) => to_payload(e),
        Chunk::End(e) => to_payload(e),
        Chunk::Allocs(batch) => {
            let mut out = Vec::with_capacity(8 + 12 * batch.events.len());
            encode_allocs(batch, &mut out);
            out
        }
        Chunk::Memory(m) => to_payload(m),
        Chunk::Gc(g) => to_payload(g),
        Chunk::Marks(m) => to_payload(m),
        Chunk::Patterns(p) => to_payload(p),
        Chunk::Adaptive(a) => to_payload(a),
        Chunk::Tasks(t) => to_payload(t),
    };
    framed(chunk.kind(), &payload)
}

/// A chunk's header, then its payload.
fn framed(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.push(kind);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    let header_crc = crc32fast::hash(&out);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Appends one chunk to the `.fluoro` file at `path` (what the session adds after the end
/// record).
pub fn append(path: &std::path::Path, chunk: &Chunk) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(&encode(chunk)))
}

/// The kind of a chunk that carries another process's chunk (see [`ProcessTag`]).
pub(crate) const PROCESS_KIND: u8 = 14;
/// The tag's bytes before the carried chunk: pid, parent pid, start.
pub(crate) const PROCESS_TAG_LEN: usize = 16;

/// Which process a chunk of a child comes from: a child followed by `fluoro run
/// --subprocesses` appends its chunks to the parent's file, each carried whole in a chunk of
/// kind 14 whose payload is the pid and parent pid (u32 LE), the child session's start (u64
/// LE, nanoseconds since the Unix epoch: a pid used twice, or an `exec`, starts a new
/// process), then the child's own chunk, header included. Readers before this kind skip them
/// and read the first process alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcessTag {
    pub pid: u32,
    pub ppid: u32,
    pub start_unix_ns: u64,
}

impl ProcessTag {
    fn wrap(&self, inner: &[u8]) -> Vec<u8> {
        let mut payload = Vec::with_capacity(PROCESS_TAG_LEN + inner.len());
        payload.extend_from_slice(&self.pid.to_le_bytes());
        payload.extend_from_slice(&self.ppid.to_le_bytes());
        payload.extend_from_slice(&self.start_unix_ns.to_le_bytes());
        payload.extend_from_slice(inner);
        framed(PROCESS_KIND, &payload)
    }

    /// The tag at the start of a kind-14 payload, and the carried chunk after it.
    pub(crate) fn parse(payload: &[u8]) -> Option<(ProcessTag, &[u8])> {
        let word = |at: usize| -> Option<[u8; 4]> { payload.get(at..at + 4)?.try_into().ok() };
        let start: [u8; 8] = payload.get(8..16)?.try_into().ok()?;
        Some((
            ProcessTag {
                pid: u32::from_le_bytes(word(0)?),
                ppid: u32::from_le_bytes(word(4)?),
                start_unix_ns: u64::from_le_bytes(start),
            },
            &payload[PROCESS_TAG_LEN..],
        ))
    }
}

/// Appends chunks to a `.fluoro` stream, each in one write, flushed.
pub struct ProfileWriter<W: Write> {
    out: W,
    /// Set in a followed child: its chunks go into its parent's stream, tagged.
    process: Option<ProcessTag>,
}

impl<W: Write> ProfileWriter<W> {
    /// Starts a stream: writes the magic.
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(&MAGIC)?;
        out.flush()?;
        Ok(ProfileWriter { out, process: None })
    }

    /// Continues another process's stream (`out` opened for appending, so that every chunk,
    /// written in one call, lands whole after whatever the other processes wrote): each
    /// chunk goes out tagged with `process`.
    pub fn for_process(out: W, process: ProcessTag) -> Self {
        ProfileWriter {
            out,
            process: Some(process),
        }
    }

    pub fn write(&mut self, chunk: &Chunk) -> std::io::Result<()> {
        let bytes = encode(chunk);
        match &self.process {
            Some(tag) => self.out.write_all(&tag.wrap(&bytes))?,
            None => self.out.write_all(&bytes)?,
        }
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Reads the chunks of a whole `.fluoro` file held in memory, in order.
pub struct ChunkReader<'a> {
    data: &'a [u8],
    pos: usize,
    /// The chunk header's length in this file's format version.
    header_len: usize,
    failed: bool,
}

impl<'a> ChunkReader<'a> {
    pub fn new(data: &'a [u8]) -> Result<Self, FormatError> {
        Ok(ChunkReader {
            data,
            pos: MAGIC.len(),
            header_len: header_len_of(data)?,
            failed: false,
        })
    }

    fn next_chunk(&mut self) -> Result<Option<Chunk>, FormatError> {
        while let Some(raw) = self.next_raw()? {
            if let Some(chunk) = decode(raw.kind, raw.payload).map_err(|e| FormatError::Decode {
                at: raw.at,
                reason: e.to_string(),
            })? {
                return Ok(Some(chunk));
            }
        }
        Ok(None)
    }

    /// The next chunk's bytes, checked but not decoded.
    pub(crate) fn next_raw(&mut self) -> Result<Option<RawChunk<'a>>, FormatError> {
        let at = self.pos;
        let Some(raw) = raw_at(self.data, at, self.header_len)? else {
            return Ok(None);
        };
        self.pos = at + raw.whole.len();
        Ok(Some(raw))
    }

    /// Where the next chunk starts.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Goes on reading at `pos` (after a damaged stretch was skipped).
    pub(crate) fn seek(&mut self, pos: usize) {
        self.pos = pos;
        self.failed = false;
    }

    /// Whether this file's chunks have the version-5 header.
    pub(crate) fn header_len(&self) -> usize {
        self.header_len
    }
}

/// One chunk as it lies in the file.
pub(crate) struct RawChunk<'a> {
    /// Its first byte's offset.
    pub at: usize,
    pub kind: u8,
    pub payload: &'a [u8],
    /// Header and payload.
    pub whole: &'a [u8],
}

/// The chunk at byte `at` of `data`, its checksums checked; `None` at the end of the data.
pub(crate) fn raw_at(
    data: &[u8],
    at: usize,
    header_len: usize,
) -> Result<Option<RawChunk<'_>>, FormatError> {
    let rest = &data[at.min(data.len())..];
    if rest.is_empty() {
        return Ok(None);
    }
    if rest.len() < header_len {
        return Err(FormatError::Truncated(at));
    }
    let (kind, len, crc) = parse_header(&rest[..header_len], at)?;
    if rest.len() < header_len + len {
        return Err(FormatError::Truncated(at));
    }
    let payload = &rest[header_len..header_len + len];
    if crc32fast::hash(payload) != crc {
        return Err(FormatError::Checksum(at));
    }
    Ok(Some(RawChunk {
        at,
        kind,
        payload,
        whole: &rest[..header_len + len],
    }))
}

/// The chunk header length of a file that starts with `start` (its first bytes, at least the
/// magic's), or why it is no profile this fluoro reads.
fn header_len_of(start: &[u8]) -> Result<usize, FormatError> {
    if start.len() < MAGIC.len() || start[..6] != MAGIC[..6] || start[6] != 0 {
        return Err(FormatError::NotProfile);
    }
    if !(OLDEST_VERSION..=MAGIC[7]).contains(&start[7]) {
        return Err(FormatError::Version(start[7]));
    }
    Ok(if start[7] >= HEADER_CRC_VERSION {
        HEADER_LEN
    } else {
        HEADER_V4_LEN
    })
}

/// A chunk header at byte `at` (whole: [`HEADER_LEN`] or [`HEADER_V4_LEN`] bytes): its kind,
/// its payload's length and the payload's checksum.
fn parse_header(header: &[u8], at: usize) -> Result<(u8, usize, u32), FormatError> {
    if header.len() == HEADER_LEN {
        let stored = u32::from_le_bytes([header[9], header[10], header[11], header[12]]);
        if crc32fast::hash(&header[..HEADER_V4_LEN]) != stored {
            return Err(FormatError::Decode {
                at,
                reason: "header checksum mismatch".to_owned(),
            });
        }
    }
    let kind = header[0];
    let len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
    let crc = u32::from_le_bytes([header[5], header[6], header[7], header[8]]);
    if len > MAX_CHUNK {
        return Err(FormatError::Decode {
            at,
            reason: format!("chunk length {len} is impossible"),
        });
    }
    Ok((kind, len, crc))
}

/// [`ChunkReader`] over a stream: one chunk in memory at a time, so that a profile of any
/// size is read in the memory of its largest chunk. It gives the chunks of one process: the
/// first one's ([`ChunkStream::new`]), or those a child (`fluoro run --subprocesses`) carried
/// in with its tag ([`ChunkStream::of_process`]); [`process_tags`] says which children a
/// file has.
pub struct ChunkStream<R> {
    reader: R,
    pos: usize,
    header_len: usize,
    payload: Vec<u8>,
    failed: bool,
    process: Option<ProcessTag>,
}

impl<R: Read> ChunkStream<R> {
    pub fn new(reader: R) -> Result<Self, FormatError> {
        ChunkStream::of_process(reader, None)
    }

    /// The chunks of child `process`, or of the first process for `None`.
    pub fn of_process(mut reader: R, process: Option<ProcessTag>) -> Result<Self, FormatError> {
        let mut magic = [0u8; MAGIC.len()];
        let got = read_full(&mut reader, &mut magic)?;
        let header_len = header_len_of(&magic[..got])?;
        Ok(ChunkStream {
            reader,
            pos: MAGIC.len(),
            header_len,
            payload: Vec::new(),
            failed: false,
            process,
        })
    }

    fn next_chunk(&mut self) -> Result<Option<Chunk>, FormatError> {
        loop {
            let at = self.pos;
            let mut header = [0u8; HEADER_LEN];
            let header = &mut header[..self.header_len];
            match read_full(&mut self.reader, header)? {
                0 => return Ok(None),
                n if n < header.len() => return Err(FormatError::Truncated(at)),
                _ => {}
            }
            let (kind, len, crc) = parse_header(header, at)?;
            // Grown as the bytes come: a length that lies costs no more than the file has.
            self.payload.clear();
            (&mut self.reader)
                .take(len as u64)
                .read_to_end(&mut self.payload)
                .map_err(|e| FormatError::Io(e.to_string()))?;
            if self.payload.len() < len {
                return Err(FormatError::Truncated(at));
            }
            if crc32fast::hash(&self.payload) != crc {
                return Err(FormatError::Checksum(at));
            }
            self.pos = at + self.header_len + len;
            let (kind, payload) = match (kind == PROCESS_KIND, self.process) {
                (false, None) => (kind, &self.payload[..]),
                (true, Some(want)) => match ProcessTag::parse(&self.payload) {
                    Some((tag, carried)) if tag == want => {
                        let header = carried
                            .get(..self.header_len)
                            .ok_or(FormatError::Truncated(at))?;
                        let (kind, len, crc) = parse_header(header, at)?;
                        let payload = carried
                            .get(self.header_len..self.header_len + len)
                            .ok_or(FormatError::Truncated(at))?;
                        if crc32fast::hash(payload) != crc {
                            return Err(FormatError::Checksum(at));
                        }
                        (kind, payload)
                    }
                    _ => continue,
                },
                _ => continue,
            };
            let decoded = decode(kind, payload).map_err(|e| FormatError::Decode {
                at,
                reason: e.to_string(),
            })?;
            if let Some(chunk) = decoded {
                return Ok(Some(chunk));
            }
        }
    }
}

/// The child processes whose chunks the file carries, in the order they first appear, from
/// its chunk headers and tags alone, as far as it can be read through (its reader says why
/// it cannot).
pub fn process_tags(file: &std::fs::File) -> Vec<ProcessTag> {
    let mut tags: Vec<ProcessTag> = Vec::new();
    let _ = read_tags(file, &mut tags);
    tags
}

fn read_tags(file: &std::fs::File, tags: &mut Vec<ProcessTag>) -> Option<()> {
    use std::io::{Seek, SeekFrom};
    let mut file = file;
    let mut start = [0u8; MAGIC.len()];
    file.seek(SeekFrom::Start(0)).ok()?;
    let got = read_full(&mut file, &mut start).ok()?;
    let header_len = header_len_of(&start[..got]).ok()?;
    let mut at = MAGIC.len();
    let mut header = [0u8; HEADER_LEN];
    loop {
        let header = &mut header[..header_len];
        match read_full(&mut file, header).ok()? {
            0 => return Some(()),
            n if n < header_len => return None,
            _ => {}
        }
        let (kind, len, _) = parse_header(header, at).ok()?;
        if kind == PROCESS_KIND && len >= PROCESS_TAG_LEN {
            let mut tag = [0u8; PROCESS_TAG_LEN];
            if read_full(&mut file, &mut tag).ok()? < PROCESS_TAG_LEN {
                return None;
            }
            let (tag, _) = ProcessTag::parse(&tag)?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        at += header_len + len;
        file.seek(SeekFrom::Start(at as u64)).ok()?;
    }
}

/// Fills `buf` as far as the stream goes; how many bytes it got.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, FormatError> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FormatError::Io(e.to_string())),
        }
    }
    Ok(got)
}

/// A reader of chunks, which stops at its first error.
trait Chunks {
    fn next_chunk(&mut self) -> Result<Option<Chunk>, FormatError>;
    fn failed(&mut self) -> &mut bool;

    fn next_until_failed(&mut self) -> Option<Result<Chunk, FormatError>> {
        if *self.failed() {
            return None;
        }
        let item = self.next_chunk().transpose();
        *self.failed() = matches!(item, Some(Err(_)));
        item
    }
}

impl Chunks for ChunkReader<'_> {
    fn next_chunk(&mut self) -> Result<Option<Chunk>, FormatError> {
        ChunkReader::next_chunk(self)
    }

    fn failed(&mut self) -> &mut bool {
        &mut self.failed
    }
}

impl<R: Read> Chunks for ChunkStream<R> {
    fn next_chunk(&mut self) -> Result<Option<Chunk>, FormatError> {
        ChunkStream::next_chunk(self)
    }

    fn failed(&mut self) -> &mut bool {
        &mut self.failed
    }
}

impl Iterator for ChunkReader<'_> {
    type Item = Result<Chunk, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_until_failed()
    }
}

impl<R: Read> Iterator for ChunkStream<R> {
    type Item = Result<Chunk, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_until_failed()
    }
}

#[cfg(test)]
pub(crate) fn decode_for_test(kind: u8, payload: &[u8]) -> Chunk {
    decode(kind, payload).unwrap().unwrap()
}

/// Decodes a payload; `None` for a kind this version does not know.
fn decode(kind: u8, payload: &[u8]) -> Result<Option<Chunk>, postcard::Error> {
    Ok(Some(match kind {
        1 => Chunk::Meta(postcard::from_bytes(payload)?),
        2 => Chunk::Codes(postcard::from_bytes(payload)?),
        3 => {
            let p: StacksPayload = postcard::from_bytes(payload)?;
            Chunk::Stacks {
                first: p.first,
                nodes: p.nodes,
            }
        }
        4 => Chunk::Threads(postcard::from_bytes(payload)?),
        5 => {
            let packed: Vec<PackedSample> = postcard::from_bytes(payload)?;
            let mut time = 0u64;
            Chunk::Samples(
                packed
                    .into_iter()
                    .map(|p| {
                        time = time.saturating_add(p.dt_ns);
                        Sample {
                            thread: p.thread,
                            stack: p.stack,
                            time_ns: time,
                            wall_ns: p.wall_ns,
                            cpu_ns: p.cpu_ns,
                            flags: p.flags,
                        }
                    })
                    .collect(),
            )
        }
        6 => Chunk::Exact(postcard::from_bytes(payload)?),
        7 => Chunk::End(postcard::from_bytes(payload)?),
        8 => Chunk::Allocs(decode_allocs(payload)?),
        9 => Chunk::Memory(MemorySettings::decode(payload)?),
        10 => Chunk::Gc(postcard::from_bytes(payload)?),
        11 => Chunk::Marks(postcard::from_bytes(payload)?),
        12 => Chunk::Patterns(postcard::from_bytes(payload)?),
        13 => Chunk::Adaptive(postcard::from_bytes(payload)?),
        15 => Chunk::Tasks(postcard::from_bytes(payload)?),
        _ => return Ok(None),
    }))
}
