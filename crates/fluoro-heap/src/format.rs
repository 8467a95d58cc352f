//! The `.fheap` file: a heap snapshot, compact and checked.
//!
//! ```text
//! magic "FHEAP\0\r\n" · version u16 LE · flags u16 LE
//! sections, each: tag [u8; 4] · payload length u64 LE · CRC-32 of the payload u32 LE · payload
//!   META  count, then (key, value) strings
//!   STRS  count, then strings (edge labels, root labels, allocation sites)
//!   TYPE  count, then type names
//!   NODE  count, then per node: type index, size, id delta from the previous node (nodes are
//!         sorted by id), and with the SITES flag a site (0 none, else string index + 1)
//!   EDGE  per node: count, then per edge: target as a zigzag delta from the node's own index,
//!         label (0 none, else string index + 1)
//!   ROOT  count, then per root: node index delta from the previous root (sorted), label
//!         (0 none, else string index + 1)
//!   END.  empty
//! ```
//! Numbers are LEB128 varints; strings are a varint length and UTF-8 bytes. Sorting nodes by
//! address makes id deltas small, and references often point to nearby objects, so most
//! numbers take one or two bytes.

use crate::graph::{GraphBuilder, GraphParts, HeapGraph, Node, NodeIndex, Root};
use std::io::Write;

const MAGIC: &[u8; 8] = b"FHEAP\0\r\n";
const VERSION: u16 = 1;
/// Nodes carry an allocation site.
const FLAG_SITES: u16 = 1;
const HEADER_LEN: usize = 12;
const SECTION_HEADER_LEN: usize = 16;

/// Why a `.fheap` file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("not a .fheap heap snapshot")]
    NotFheap,
    #[error(".fheap version {0} is newer than this fluoro reads ({VERSION})")]
    Version(u16),
    #[error("truncated: {what} at byte {offset} runs past the end of the file")]
    Truncated { what: String, offset: u64 },
    #[error("corrupt: section {section} at byte {offset} fails its checksum")]
    Checksum { section: String, offset: u64 },
    #[error("corrupt: section {section}: {reason}")]
    Corrupt { section: String, reason: String },
    #[error("incomplete: no {0} section")]
    Missing(&'static str),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Appends `v` as a LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Writes `graph` as `.fheap` bytes.
pub fn write(graph: &HeapGraph, out: &mut impl Write) -> std::io::Result<u64> {
    let n = graph.len();
    // Nodes go out sorted by id; `new_index[old]` is a node's position in the file.
    let mut by_id: Vec<(u64, NodeIndex)> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| (node.id, i as NodeIndex))
        .collect();
    by_id.sort_unstable();
    let order: Vec<NodeIndex> = by_id.into_iter().map(|(_, i)| i).collect();
    let mut new_index = vec![0 as NodeIndex; n];
    for (pos, &old) in order.iter().enumerate() {
        new_index[old as usize] = pos as NodeIndex;
    }
    let sites = graph.nodes.iter().any(|n| n.site.is_some());
    let mut written = 0u64;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&(if sites { FLAG_SITES } else { 0 }).to_le_bytes());
    out.write_all(&header)?;
    written += header.len() as u64;

    let mut buf = Vec::new();
    put_varint(&mut buf, graph.meta.len() as u64);
    for (k, v) in &graph.meta {
        put_str(&mut buf, k);
        put_str(&mut buf, v);
    }
    written += section(out, b"META", &buf)?;

    for (tag, table) in [(b"STRS", &graph.strings), (b"TYPE", &graph.types)] {
        buf.clear();
        put_varint(&mut buf, table.len() as u64);
        for s in table {
            put_str(&mut buf, s);
        }
        written += section(out, tag, &buf)?;
    }

    buf.clear();
    put_varint(&mut buf, n as u64);
    let mut prev_id = 0u64;
    for &old in &order {
        let node = &graph.nodes[old as usize];
        put_varint(&mut buf, node.type_index as u64);
        put_varint(&mut buf, node.size);
        put_varint(&mut buf, node.id - prev_id);
        prev_id = node.id;
        if sites {
            put_varint(&mut buf, node.site.map_or(0, |s| s as u64 + 1));
        }
    }
    written += section(out, b"NODE", &buf)?;

    buf.clear();
    for (pos, &old) in order.iter().enumerate() {
        let targets = graph.targets(old);
        let labels = graph.raw_labels(old);
        put_varint(&mut buf, targets.len() as u64);
        for (&t, &label) in targets.iter().zip(labels) {
            let delta = new_index[t as usize] as i64 - pos as i64;
            put_varint(&mut buf, zigzag(delta));
            put_varint(&mut buf, label as u64);
        }
    }
    written += section(out, b"EDGE", &buf)?;

    buf.clear();
    let mut roots: Vec<Root> = graph
        .roots
        .iter()
        .map(|r| Root {
            node: new_index[r.node as usize],
            label: r.label,
        })
        .collect();
    roots.sort_by_key(|r| r.node);
    put_varint(&mut buf, roots.len() as u64);
    let mut prev = 0u64;
    for r in &roots {
        put_varint(&mut buf, r.node as u64 - prev);
        prev = r.node as u64;
        put_varint(&mut buf, r.label.map_or(0, |l| l as u64 + 1));
    }
    written += section(out, b"ROOT", &buf)?;
    written += section(out, b"END.", &[])?;
    out.flush()?;
    Ok(written)
}

fn section(out: &mut impl Write, tag: &[u8; 4], payload: &[u8]) -> std::io::Result<u64> {
    let mut head = [0u8; SECTION_HEADER_LEN];
    head[..4].copy_from_slice(tag);
    head[4..12].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    head[12..].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.write_all(&head)?;
    out.write_all(payload)?;
    Ok((SECTION_HEADER_LEN + payload.len()) as u64)
}

/// Writes `graph` to `path`; returns the bytes written.
pub fn write_file(graph: &HeapGraph, path: &std::path::Path) -> std::io::Result<u64> {
    let file = std::fs::File::create(path)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    write(graph, &mut out)
}

/// Reads a `.fheap` file.
pub fn read_file(path: &std::path::Path) -> Result<HeapGraph, FormatError> {
    read(&std::fs::read(path)?)
}

/// A cursor over one section's payload.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    section: &'static str,
}

impl<'a> Reader<'a> {
    fn corrupt(&self, reason: impl Into<String>) -> FormatError {
        FormatError::Corrupt {
            section: self.section.to_owned(),
            reason: reason.into(),
        }
    }

    fn varint(&mut self) -> Result<u64, FormatError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.data.get(self.pos) else {
                return Err(self.corrupt("ends inside a number"));
            };
            self.pos += 1;
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.corrupt("number longer than 64 bits"))
    }

    /// A count of items that each take at least one byte, so it cannot exceed what is left.
    fn count(&mut self) -> Result<usize, FormatError> {
        let n = self.varint()?;
        if n > (self.data.len() - self.pos) as u64 {
            return Err(self.corrupt(format!("count {n} exceeds the section")));
        }
        Ok(n as usize)
    }

    fn index(&mut self, limit: usize, what: &str) -> Result<u32, FormatError> {
        let v = self.varint()?;
        if v >= limit as u64 {
            return Err(self.corrupt(format!("{what} {v} out of range (< {limit})")));
        }
        Ok(v as u32)
    }

    /// 0 for none, else an index plus one.
    fn optional_index(&mut self, limit: usize, what: &str) -> Result<Option<u32>, FormatError> {
        Ok(self.index(limit + 1, what)?.checked_sub(1))
    }

    fn string(&mut self) -> Result<String, FormatError> {
        let len = self.count()?;
        let bytes = &self.data[self.pos..self.pos + len];
        self.pos += len;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.corrupt("string is not UTF-8"))
    }

    fn strings(&mut self) -> Result<Vec<String>, FormatError> {
        let n = self.count()?;
        (0..n).map(|_| self.string()).collect()
    }

    fn done(&self) -> Result<(), FormatError> {
        if self.pos == self.data.len() {
            Ok(())
        } else {
            Err(self.corrupt("trailing bytes"))
        }
    }
}

/// Reads `.fheap` bytes.
pub fn read(data: &[u8]) -> Result<HeapGraph, FormatError> {
    if data.len() < MAGIC.len() || &data[..MAGIC.len()] != MAGIC {
        return Err(FormatError::NotFheap);
    }
    if data.len() < HEADER_LEN {
        return Err(FormatError::Truncated {
            what: "the header".into(),
            offset: 0,
        });
    }
    let version = u16::from_le_bytes([data[8], data[9]]);
    if version != VERSION {
        return Err(FormatError::Version(version));
    }
    let flags = u16::from_le_bytes([data[10], data[11]]);
    let mut sections: Vec<([u8; 4], &[u8])> = Vec::new();
    let mut pos = HEADER_LEN;
    loop {
        if pos + SECTION_HEADER_LEN > data.len() {
            return Err(FormatError::Truncated {
                what: "a section header".into(),
                offset: pos as u64,
            });
        }
        let mut tag = [0u8; 4];
        tag.copy_from_slice(&data[pos..pos + 4]);
        let name = String::from_utf8_lossy(&tag).into_owned();
        let mut len_bytes = [0u8; 8];
        len_bytes.copy_from_slice(&data[pos + 4..pos + 12]);
        let len = u64::from_le_bytes(len_bytes);
        let mut crc_bytes = [0u8; 4];
        crc_bytes.copy_from_slice(&data[pos + 12..pos + 16]);
        let start = pos + SECTION_HEADER_LEN;
        if len > (data.len() - start) as u64 {
            return Err(FormatError::Truncated {
                what: format!("section {name}"),
                offset: pos as u64,
            });
        }
        let payload = &data[start..start + len as usize];
        if crc32fast::hash(payload) != u32::from_le_bytes(crc_bytes) {
            return Err(FormatError::Checksum {
                section: name,
                offset: pos as u64,
            });
        }
        pos = start + len as usize;
        if &tag == b"END." {
            break;
        }
        sections.push((tag, payload));
    }
    let find = |tag: &'static [u8; 4], name: &'static str| -> Result<Reader<'_>, FormatError> {
        sections
            .iter()
            .find(|(t, _)| t == tag)
            .map(|(_, payload)| Reader {
                data: payload,
                pos: 0,
                section: name,
            })
            .ok_or(FormatError::Missing(name))
    };

    let mut r = find(b"META", "META")?;
    let n = r.count()?;
    let mut meta = Vec::with_capacity(n);
    for _ in 0..n {
        meta.push((r.string()?, r.string()?));
    }
    r.done()?;
    let mut r = find(b"STRS", "STRS")?;
    let strings = r.strings()?;
    r.done()?;
    let mut r = find(b"TYPE", "TYPE")?;
    let types = r.strings()?;
    r.done()?;

    let mut r = find(b"NODE", "NODE")?;
    let n = r.count()?;
    let mut nodes = Vec::with_capacity(n);
    let mut id = 0u64;
    for _ in 0..n {
        let type_index = r.index(types.len(), "type")?;
        let size = r.varint()?;
        id = id
            .checked_add(r.varint()?)
            .ok_or_else(|| r.corrupt("object id overflows"))?;
        let site = if flags & FLAG_SITES != 0 {
            r.optional_index(strings.len(), "site")?
        } else {
            None
        };
        nodes.push(Node {
            id,
            type_index,
            size,
            site,
        });
    }
    r.done()?;

    let mut r = find(b"EDGE", "EDGE")?;
    let mut edge_start = Vec::with_capacity(n + 1);
    let mut edge_target = Vec::new();
    let mut edge_label = Vec::new();
    edge_start.push(0);
    for i in 0..n {
        let count = r.count()?;
        for _ in 0..count {
            let target = i as i64 + unzigzag(r.varint()?);
            if target < 0 || target >= n as i64 {
                return Err(r.corrupt(format!("edge from node {i} to node {target} of {n}")));
            }
            edge_target.push(target as NodeIndex);
            edge_label.push(r.index(strings.len() + 1, "label")?);
        }
        edge_start.push(edge_target.len());
    }
    r.done()?;

    let mut r = find(b"ROOT", "ROOT")?;
    let count = r.count()?;
    let mut roots = Vec::with_capacity(count);
    let mut node = 0u64;
    for _ in 0..count {
        node += r.varint()?;
        if node >= n as u64 {
            return Err(r.corrupt(format!("root {node} of {n} nodes")));
        }
        let label = r.optional_index(strings.len(), "root label")?;
        roots.push(Root {
            node: node as NodeIndex,
            label,
        });
    }
    r.done()?;

    Ok(GraphBuilder::from_parts(GraphParts {
        types,
        strings,
        nodes,
        edge_start,
        edge_target,
        edge_label,
        roots,
        meta,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::graph_from_lists;
    use proptest::prelude::*;

    fn sample() -> HeapGraph {
        let mut b = GraphBuilder::new();
        let list = b.type_index("list");
        let user = b.type_index("app.User");
        let label = b.string_index("[0]");
        let site = b.string_index("cache.py:41");
        let root_label = b.string_index("sys.modules");
        b.node(Node {
            id: 0x7f00_0000_1000,
            type_index: list,
            size: 72,
            site: Some(site),
        });
        b.edge(1, Some(label));
        b.node(Node {
            id: 0x7f00_0000_0800,
            type_index: user,
            size: 48,
            site: None,
        });
        b.edge(0, None);
        b.root(0, Some(root_label));
        b.meta("python", "3.11.7");
        b.finish().unwrap()
    }

    fn bytes_of(graph: &HeapGraph) -> Vec<u8> {
        let mut out = Vec::new();
        write(graph, &mut out).unwrap();
        out
    }

    /// A node as (id, type, size, site, sorted (target id, label)).
    type Row = (u64, String, u64, Option<String>, Vec<(u64, Option<String>)>);

    /// Same graph up to the node order the file imposes (sorted by id).
    fn canonical(g: &HeapGraph) -> Vec<Row> {
        let mut rows: Vec<_> = (0..g.len() as u32)
            .map(|i| {
                let n = g.nodes[i as usize];
                let mut edges: Vec<_> = g
                    .edges(i)
                    .map(|e| {
                        (
                            g.nodes[e.target as usize].id,
                            e.label.map(|l| g.string(l).to_owned()),
                        )
                    })
                    .collect();
                edges.sort();
                (
                    n.id,
                    g.type_name(i).to_owned(),
                    n.size,
                    n.site.map(|s| g.string(s).to_owned()),
                    edges,
                )
            })
            .collect();
        rows.sort();
        rows
    }

    #[test]
    fn round_trip_keeps_everything() {
        let g = sample();
        let back = read(&bytes_of(&g)).unwrap();
        assert_eq!(canonical(&g), canonical(&back));
        assert_eq!(back.meta, g.meta);
        assert_eq!(back.roots.len(), 1);
        assert_eq!(back.nodes[back.roots[0].node as usize].id, 0x7f00_0000_1000);
        assert_eq!(back.string(back.roots[0].label.unwrap()), "sys.modules");
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let data = bytes_of(&sample());
        for len in 0..data.len() {
            assert!(
                read(&data[..len]).is_err(),
                "prefix of {len} bytes was accepted"
            );
        }
    }

    #[test]
    fn a_flipped_byte_fails_the_checksum() {
        let mut data = bytes_of(&sample());
        let last_payload_byte = data.len() - SECTION_HEADER_LEN - 1;
        data[last_payload_byte] ^= 0x40;
        let err = read(&data).unwrap_err();
        assert!(matches!(err, FormatError::Checksum { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "corrupt: section ROOT at byte 173 fails its checksum"
        );
    }

    #[test]
    fn other_files_are_refused() {
        assert!(matches!(
            read(b"PK\x03\x04 zip"),
            Err(FormatError::NotFheap)
        ));
        let mut data = bytes_of(&sample());
        data[8] = 9;
        assert!(matches!(read(&data), Err(FormatError::Version(9))));
    }

    proptest! {
        #[test]
        fn round_trip_any_graph(
            n in 1usize..40,
            raw_edges in prop::collection::vec((0u32..40, 0u32..40), 0..120),
            raw_roots in prop::collection::vec(0u32..40, 0..5),
        ) {
            let types: Vec<&str> = (0..n).map(|i| ["a", "b", "c"][i % 3]).collect();
            let sizes: Vec<u64> = (0..n as u64).map(|i| i * 1000 + 16).collect();
            let edges: Vec<(u32, u32)> = raw_edges.into_iter().map(|(a, b)| (a % n as u32, b % n as u32)).collect();
            let roots: Vec<u32> = raw_roots.into_iter().map(|r| r % n as u32).collect();
            let g = graph_from_lists(&types, &sizes, &edges, &roots);
            let back = read(&bytes_of(&g)).unwrap();
            prop_assert_eq!(canonical(&g), canonical(&back));
            prop_assert_eq!(back.roots.len(), g.roots.len());
        }
    }
}
