//! What `fluoro heap` reports: the summary (census), the top retainers, and the diff of two
//! snapshots; each serializable as the `--json` output and the Python API's plain objects.

use crate::census::{census, TypeRow};
use crate::dominators::{dominators, Dominators, NONE};
use crate::graph::{HeapGraph, NodeIndex};
use crate::paths::RootPaths;
use crate::plumbing::{is_interpreter_type, roles};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// A snapshot with its dominator tree computed once.
pub struct Analysis {
    pub graph: HeapGraph,
    pub dom: Dominators,
}

impl Analysis {
    pub fn new(graph: HeapGraph) -> Analysis {
        let dom = dominators(&graph);
        Analysis { graph, dom }
    }
}

/// `fluoro heap summary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub objects: u64,
    pub references: u64,
    pub roots: u64,
    pub shallow_bytes: u64,
    /// Objects and bytes no root reaches: what the cycle collector could free now.
    pub unreachable_objects: u64,
    pub unreachable_bytes: u64,
    pub meta: Vec<(String, String)>,
    /// Per type, largest retained first.
    pub types: Vec<TypeRow>,
}

pub fn summary(a: &Analysis) -> Summary {
    let g = &a.graph;
    let unreachable: Vec<usize> = (0..g.len())
        .filter(|&v| !a.dom.is_reachable(v as NodeIndex))
        .collect();
    Summary {
        objects: g.len() as u64,
        references: g.edge_count() as u64,
        roots: g.roots.len() as u64,
        shallow_bytes: g.nodes.iter().map(|n| n.size).sum(),
        unreachable_objects: unreachable.len() as u64,
        unreachable_bytes: unreachable.iter().map(|&v| g.nodes[v].size).sum(),
        meta: g.meta.clone(),
        types: census(g, &a.dom),
    }
}

/// One object that holds much of the heap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retainer {
    pub id: u64,
    #[serde(rename = "type")]
    pub type_name: String,
    pub shallow_bytes: u64,
    pub retained_bytes: u64,
    /// Objects it retains, itself included.
    pub retained_objects: u64,
    /// Where it was allocated, when allocations were tracked.
    pub site: Option<String>,
    /// The shortest path from a root, as one line.
    pub path: Option<String>,
}

/// `fluoro heap dominators --top N`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DominatorsReport {
    pub total_bytes: u64,
    pub retainers: Vec<Retainer>,
    /// Objects of the interpreter's structure (`sys.modules`, modules, classes, functions and
    /// their dicts) that retain at least as much as the last row and were left out.
    pub interpreter_left_out: u64,
}

/// The `top` objects by retained size. The interpreter's structure (`sys.modules`, modules,
/// classes, functions, their dicts) retains everything by nature: unless `all`, it is left
/// out so that the rows lead with the program's data. Each line's path says where it sits.
pub fn top_retainers(a: &Analysis, top: usize, all: bool) -> DominatorsReport {
    let g = &a.graph;
    let roles = roles(g);
    let interpreter = |v: NodeIndex| !all && roles[v as usize].is_interpreter();
    let mut order: Vec<NodeIndex> = a
        .dom
        .preorder
        .iter()
        .copied()
        .filter(|&v| !interpreter(v))
        .collect();
    let by_size = |x: &NodeIndex, y: &NodeIndex| {
        a.dom.retained[*y as usize]
            .cmp(&a.dom.retained[*x as usize])
            .then(x.cmp(y))
    };
    if order.len() > top && top > 0 {
        order.select_nth_unstable_by(top - 1, by_size);
        order.truncate(top);
    }
    order.sort_by(by_size);
    order.truncate(top);
    let smallest = order.last().map_or(0, |&v| a.dom.retained[v as usize]);
    let interpreter_left_out = a
        .dom
        .preorder
        .iter()
        .filter(|&&v| interpreter(v) && a.dom.retained[v as usize] >= smallest)
        .count() as u64;
    let objects = retained_objects(a);
    let paths = RootPaths::new(g);
    DominatorsReport {
        total_bytes: g.nodes.iter().map(|n| n.size).sum(),
        interpreter_left_out,
        retainers: order
            .into_iter()
            .map(|v| {
                let node = &g.nodes[v as usize];
                Retainer {
                    id: node.id,
                    type_name: g.type_name(v).to_owned(),
                    shallow_bytes: node.size,
                    retained_bytes: a.dom.retained[v as usize],
                    retained_objects: objects[v as usize],
                    site: node.site.map(|s| g.string(s).to_owned()),
                    path: paths.describe(g, v),
                }
            })
            .collect(),
    }
}

/// How many objects each node retains, itself included.
fn retained_objects(a: &Analysis) -> Vec<u64> {
    let mut count = vec![1u64; a.graph.len()];
    for &v in a.dom.preorder.iter().rev() {
        let d = a.dom.idom[v as usize];
        if d != NONE {
            count[d as usize] += count[v as usize];
        }
    }
    count
}

/// One type's change between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeGrowth {
    pub name: String,
    pub count_before: u64,
    pub count_after: u64,
    pub count_delta: i64,
    pub shallow_delta: i64,
    pub retained_before: u64,
    pub retained_after: u64,
    pub retained_delta: i64,
}

/// An object present in both snapshots (same id and type) whose retained size changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetainerGrowth {
    pub id: u64,
    #[serde(rename = "type")]
    pub type_name: String,
    pub retained_before: u64,
    pub retained_after: u64,
    pub retained_delta: i64,
    pub path: Option<String>,
}

/// `fluoro heap diff A B`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffReport {
    pub objects_before: u64,
    pub objects_after: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Types whose numbers changed, largest retained growth first.
    pub types: Vec<TypeGrowth>,
    /// Objects in both snapshots whose retained size grew most. Objects held by one owner
    /// appear with it, so the deepest line of a chain is the one that explains the growth.
    pub retainers: Vec<RetainerGrowth>,
    /// Rows of the interpreter's structure left out (types such as `module`, `type` and
    /// `function`; retainers such as `sys.modules`, modules, classes and their dicts).
    pub interpreter_left_out: u64,
}

fn delta(after: u64, before: u64) -> i64 {
    after as i64 - before as i64
}

/// The growth from `before` to `after`, by type and by retainer, `top` rows of each; the
/// interpreter's structure only with `all`.
pub fn diff(before: &Analysis, after: &Analysis, top: usize, all: bool) -> DiffReport {
    let old: FxHashMap<String, TypeRow> = census(&before.graph, &before.dom)
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    let new_rows = census(&after.graph, &after.dom);
    let empty = |name: &str| TypeRow {
        name: name.to_owned(),
        count: 0,
        shallow_bytes: 0,
        retained_bytes: 0,
    };
    let mut types: Vec<TypeGrowth> = Vec::new();
    for row in &new_rows {
        let was = old
            .get(&row.name)
            .cloned()
            .unwrap_or_else(|| empty(&row.name));
        types.push(growth(&was, row));
    }
    let now: rustc_hash::FxHashSet<&str> = new_rows.iter().map(|r| r.name.as_str()).collect();
    for (name, was) in &old {
        if !now.contains(name.as_str()) {
            types.push(growth(was, &empty(name)));
        }
    }
    types.retain(|t| t.count_delta != 0 || t.shallow_delta != 0 || t.retained_delta != 0);
    let mut interpreter_left_out = 0;
    if !all {
        let before = types.len();
        types.retain(|t| !is_interpreter_type(&t.name));
        interpreter_left_out += (before - types.len()) as u64;
    }
    types.sort_by(|a, b| {
        b.retained_delta
            .cmp(&a.retained_delta)
            .then(b.shallow_delta.cmp(&a.shallow_delta))
            .then_with(|| a.name.cmp(&b.name))
    });
    types.truncate(top);

    let before_index = before.graph.index_by_id();
    let roles = roles(&after.graph);
    let mut grown: Vec<(i64, NodeIndex, NodeIndex)> = after
        .dom
        .preorder
        .iter()
        .filter_map(|&v| {
            let node = &after.graph.nodes[v as usize];
            let &u = before_index.get(&node.id)?;
            if before.graph.type_name(u) != after.graph.type_name(v) {
                return None;
            }
            let d = delta(
                after.dom.retained[v as usize],
                before.dom.retained[u as usize],
            );
            (d > 0).then_some((d, u, v))
        })
        .collect();
    if !all {
        let before = grown.len();
        grown.retain(|&(_, _, v)| !roles[v as usize].is_interpreter());
        interpreter_left_out += (before - grown.len()) as u64;
    }
    grown.sort_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(&b.2)));
    grown.truncate(top);
    let paths = RootPaths::new(&after.graph);
    let retainers = grown
        .into_iter()
        .map(|(d, u, v)| RetainerGrowth {
            id: after.graph.nodes[v as usize].id,
            type_name: after.graph.type_name(v).to_owned(),
            retained_before: before.dom.retained[u as usize],
            retained_after: after.dom.retained[v as usize],
            retained_delta: d,
            path: paths.describe(&after.graph, v),
        })
        .collect();
    DiffReport {
        objects_before: before.graph.len() as u64,
        objects_after: after.graph.len() as u64,
        bytes_before: before.graph.nodes.iter().map(|n| n.size).sum(),
        bytes_after: after.graph.nodes.iter().map(|n| n.size).sum(),
        types,
        retainers,
        interpreter_left_out,
    }
}

fn growth(was: &TypeRow, now: &TypeRow) -> TypeGrowth {
    TypeGrowth {
        name: now.name.clone(),
        count_before: was.count,
        count_after: now.count,
        count_delta: delta(now.count, was.count),
        shallow_delta: delta(now.shallow_bytes, was.shallow_bytes),
        retained_before: was.retained_bytes,
        retained_after: now.retained_bytes,
        retained_delta: delta(now.retained_bytes, was.retained_bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::graph_from_lists;

    #[test]
    fn diff_ranks_the_growing_type_and_its_holder() {
        // A cache (dict) holding a list of users; after: two more users.
        let before = graph_from_lists(
            &["dict", "list", "User"],
            &[232, 72, 48],
            &[(0, 1), (1, 2)],
            &[0],
        );
        let after = graph_from_lists(
            &["dict", "list", "User", "User", "User", "str"],
            &[232, 88, 48, 48, 48, 60],
            &[(0, 1), (1, 2), (1, 3), (1, 4), (0, 5)],
            &[0],
        );
        let report = diff(&Analysis::new(before), &Analysis::new(after), 10, false);
        // The containers of everything grow most; the users themselves follow.
        assert_eq!(report.types[0].name, "dict");
        let user = report.types.iter().find(|t| t.name == "User").unwrap();
        assert_eq!((user.count_delta, user.retained_delta), (2, 96));
        assert_eq!(report.retainers[0].type_name, "dict");
        assert_eq!(report.retainers[0].retained_delta, 16 + 96 + 60);
        assert_eq!(report.retainers[1].type_name, "list");
        assert_eq!(report.retainers[1].retained_delta, 112);
    }
}
