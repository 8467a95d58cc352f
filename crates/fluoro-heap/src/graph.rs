//! The heap as a graph: objects (nodes) with a type and a shallow size, the references between
//! them (edges, labelled where the snapshot could name them), and the roots that keep them alive.

use rustc_hash::FxHashMap;

/// Index of a node in a [`HeapGraph`].
pub type NodeIndex = u32;

/// One object of the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// The object's address (`id(obj)` in CPython).
    pub id: u64,
    /// Index into [`HeapGraph::types`].
    pub type_index: u32,
    /// Bytes as `sys.getsizeof` counts them.
    pub size: u64,
    /// Where the object was allocated: an index into [`HeapGraph::strings`] ("cache.py:41"),
    /// when allocations were tracked in the same run.
    pub site: Option<u32>,
}

/// Why a root is one: a name given by the snapshot (`sys.modules`), or none for objects that
/// are referenced from outside the graph (their refcount exceeds the references found).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Root {
    pub node: NodeIndex,
    /// Index into [`HeapGraph::strings`].
    pub label: Option<u32>,
}

/// A whole snapshot: nodes, edges in compressed rows, roots, and the names they use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeapGraph {
    /// Type names, `module.qualname`.
    pub types: Vec<String>,
    /// Edge labels, root labels and allocation sites.
    pub strings: Vec<String>,
    pub nodes: Vec<Node>,
    /// Edges of node `i` are `edge_start[i]..edge_start[i + 1]`.
    edge_start: Vec<usize>,
    edge_target: Vec<NodeIndex>,
    /// 0 for no label, else a string index plus one.
    edge_label: Vec<u32>,
    pub roots: Vec<Root>,
    /// Facts about the process the snapshot came from (python version, pid, time).
    pub meta: Vec<(String, String)>,
}

/// One outgoing reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub target: NodeIndex,
    pub label: Option<u32>,
}

impl HeapGraph {
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn edge_count(&self) -> usize {
        self.edge_target.len()
    }

    /// The targets of `node`'s references.
    pub fn targets(&self, node: NodeIndex) -> &[NodeIndex] {
        let i = node as usize;
        &self.edge_target[self.edge_start[i]..self.edge_start[i + 1]]
    }

    /// Positions of `node`'s edges, for [`HeapGraph::target_at`].
    pub fn edge_range(&self, node: NodeIndex) -> std::ops::Range<usize> {
        self.edge_start[node as usize]..self.edge_start[node as usize + 1]
    }

    /// The target of the edge at `position`.
    pub fn target_at(&self, position: usize) -> NodeIndex {
        self.edge_target[position]
    }

    /// `node`'s references with their labels.
    pub fn edges(&self, node: NodeIndex) -> impl Iterator<Item = Edge> + '_ {
        let i = node as usize;
        let range = self.edge_start[i]..self.edge_start[i + 1];
        self.edge_target[range.clone()]
            .iter()
            .zip(&self.edge_label[range])
            .map(|(&target, &label)| Edge {
                target,
                label: label.checked_sub(1),
            })
    }

    /// The label of the first edge from `from` to `to`, if it has one.
    pub fn edge_label(&self, from: NodeIndex, to: NodeIndex) -> Option<&str> {
        self.edges(from)
            .find(|e| e.target == to)
            .and_then(|e| e.label)
            .map(|l| self.string(l))
    }

    pub fn string(&self, index: u32) -> &str {
        self.strings.get(index as usize).map_or("?", String::as_str)
    }

    pub fn type_name(&self, node: NodeIndex) -> &str {
        self.types
            .get(self.nodes[node as usize].type_index as usize)
            .map_or("?", String::as_str)
    }

    /// Node indices by object id.
    /// Sets each node's allocation site from `site(id)` (strings are added to the table).
    pub fn set_sites(&mut self, mut site: impl FnMut(u64) -> Option<String>) {
        let mut index: FxHashMap<String, u32> = FxHashMap::default();
        for i in 0..self.nodes.len() {
            let Some(text) = site(self.nodes[i].id) else {
                continue;
            };
            let at = *index.entry(text).or_insert_with_key(|text| {
                self.strings.push(text.clone());
                (self.strings.len() - 1) as u32
            });
            self.nodes[i].site = Some(at);
        }
    }

    pub fn index_by_id(&self) -> FxHashMap<u64, NodeIndex> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id, i as NodeIndex))
            .collect()
    }

    /// The types matching a name: exactly, or else by their last dotted component
    /// (`User` finds `app.models.User`).
    pub fn types_named(&self, name: &str) -> Vec<u32> {
        let exact: Vec<u32> = (0..self.types.len() as u32)
            .filter(|&t| self.types[t as usize] == name)
            .collect();
        if !exact.is_empty() {
            return exact;
        }
        (0..self.types.len() as u32)
            .filter(|&t| self.types[t as usize].rsplit('.').next() == Some(name))
            .collect()
    }
}

/// Builds a [`HeapGraph`] node by node; a node's edges are added right after it.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    graph: HeapGraph,
    type_ids: FxHashMap<String, u32>,
    string_ids: FxHashMap<String, u32>,
}

impl GraphBuilder {
    pub fn new() -> GraphBuilder {
        let mut b = GraphBuilder::default();
        b.graph.edge_start.push(0);
        b
    }

    /// Makes room for this many more nodes and edges.
    pub fn reserve(&mut self, nodes: usize, edges: usize) {
        self.graph.nodes.reserve(nodes);
        self.graph.edge_start.reserve(nodes);
        self.graph.edge_target.reserve(edges);
        self.graph.edge_label.reserve(edges);
    }

    /// The index of a type name, added on first use.
    pub fn type_index(&mut self, name: &str) -> u32 {
        intern(&mut self.graph.types, &mut self.type_ids, name)
    }

    /// The index of a string (label, root label, site), added on first use.
    pub fn string_index(&mut self, text: &str) -> u32 {
        intern(&mut self.graph.strings, &mut self.string_ids, text)
    }

    /// Adds a node; its edges follow with [`GraphBuilder::edge`].
    pub fn node(&mut self, node: Node) -> NodeIndex {
        self.graph.nodes.push(node);
        self.graph.edge_start.push(self.graph.edge_target.len());
        (self.graph.nodes.len() - 1) as NodeIndex
    }

    /// Adds an edge from the last node added. The target may be added later.
    pub fn edge(&mut self, target: NodeIndex, label: Option<u32>) {
        self.graph.edge_target.push(target);
        self.graph.edge_label.push(label.map_or(0, |l| l + 1));
        if let Some(end) = self.graph.edge_start.last_mut() {
            *end = self.graph.edge_target.len();
        }
    }

    pub fn root(&mut self, node: NodeIndex, label: Option<u32>) {
        self.graph.roots.push(Root { node, label });
    }

    pub fn meta(&mut self, key: &str, value: &str) {
        self.graph.meta.push((key.to_owned(), value.to_owned()));
    }

    pub fn nodes_added(&self) -> usize {
        self.graph.nodes.len()
    }

    /// The graph; edges to nodes never added are an error of the caller, reported here.
    pub fn finish(self) -> Result<HeapGraph, String> {
        let n = self.graph.nodes.len();
        if let Some(bad) = self.graph.edge_target.iter().find(|&&t| t as usize >= n) {
            return Err(format!("edge to node {bad}, but only {n} nodes"));
        }
        if let Some(bad) = self.graph.roots.iter().find(|r| r.node as usize >= n) {
            return Err(format!("root {}, but only {n} nodes", bad.node));
        }
        Ok(self.graph)
    }

    /// Replaces the graph's raw parts: used by the file reader.
    pub(crate) fn from_parts(parts: GraphParts) -> HeapGraph {
        HeapGraph {
            types: parts.types,
            strings: parts.strings,
            nodes: parts.nodes,
            edge_start: parts.edge_start,
            edge_target: parts.edge_target,
            edge_label: parts.edge_label,
            roots: parts.roots,
            meta: parts.meta,
        }
    }
}

/// The raw arrays of a graph, as the file reader fills them.
pub(crate) struct GraphParts {
    pub types: Vec<String>,
    pub strings: Vec<String>,
    pub nodes: Vec<Node>,
    pub edge_start: Vec<usize>,
    pub edge_target: Vec<NodeIndex>,
    pub edge_label: Vec<u32>,
    pub roots: Vec<Root>,
    pub meta: Vec<(String, String)>,
}

impl HeapGraph {
    /// Raw label of each edge in order (0 none, else string index + 1), for the writer.
    pub(crate) fn raw_labels(&self, node: NodeIndex) -> &[u32] {
        let i = node as usize;
        &self.edge_label[self.edge_start[i]..self.edge_start[i + 1]]
    }
}

fn intern(table: &mut Vec<String>, ids: &mut FxHashMap<String, u32>, text: &str) -> u32 {
    if let Some(&id) = ids.get(text) {
        return id;
    }
    let id = table.len() as u32;
    table.push(text.to_owned());
    ids.insert(text.to_owned(), id);
    id
}

/// A small graph from plain lists, for tests and benches: `types[i]` and `sizes[i]` of node `i`,
/// `edges` as (from, to), `roots` as node indices.
pub fn graph_from_lists(
    types: &[&str],
    sizes: &[u64],
    edges: &[(u32, u32)],
    roots: &[u32],
) -> HeapGraph {
    let mut b = GraphBuilder::new();
    let mut out: Vec<Vec<u32>> = vec![Vec::new(); types.len()];
    for &(from, to) in edges {
        out[from as usize].push(to);
    }
    for (i, ty) in types.iter().enumerate() {
        let type_index = b.type_index(ty);
        b.node(Node {
            id: 0x1000 + 16 * i as u64,
            type_index,
            size: sizes[i],
            site: None,
        });
        for &to in &out[i] {
            b.edge(to, None);
        }
    }
    for &r in roots {
        b.root(r, None);
    }
    b.finish().unwrap_or_default()
}

/// A reference as [`labelled_graph`] takes it: target and label.
pub type LabelledEdge<'a> = (NodeIndex, Option<&'a str>);

/// A small graph with labels, for tests: node `i` is `nodes[i]`, a type and its edges; every
/// node is 100 bytes; `roots` as (node, label).
pub fn labelled_graph(
    nodes: &[(&str, &[LabelledEdge<'_>])],
    roots: &[(NodeIndex, Option<&str>)],
) -> HeapGraph {
    let mut b = GraphBuilder::new();
    for (i, (ty, edges)) in nodes.iter().enumerate() {
        let type_index = b.type_index(ty);
        b.node(Node {
            id: 0x1000 + 16 * i as u64,
            type_index,
            size: 100,
            site: None,
        });
        for &(to, label) in edges.iter() {
            let label = label.map(|l| b.string_index(l));
            b.edge(to, label);
        }
    }
    for &(node, label) in roots {
        let label = label.map(|l| b.string_index(l));
        b.root(node, label);
    }
    b.finish().unwrap_or_default()
}
