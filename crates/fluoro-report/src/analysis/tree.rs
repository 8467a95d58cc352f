//! The call tree: samples merged by the chain of functions that led to them, as pyinstrument
//! shows it, with the light branches pruned away.

use super::{stack_functions, FunctionKey, Measure};
use fluoro_profile::{Profile, ThreadIdx};
use std::collections::HashMap;

/// A function reached through one chain of callers, and everything it called from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallNode<'p> {
    /// `None` for the root, which stands for the whole thread (or threads).
    pub key: Option<FunctionKey<'p>>,
    /// `metric` nanoseconds of samples under this node.
    pub total_ns: u64,
    /// `metric` nanoseconds of samples that ended here.
    pub self_ns: u64,
    /// Heaviest first.
    pub children: Vec<CallNode<'p>>,
}

impl CallNode<'_> {
    /// Drops every node lighter than `min_ns`, with its subtree; a parent's totals keep
    /// counting them, so the hidden weight shows as the gap between a node and its children.
    pub fn prune(&mut self, min_ns: u64) {
        self.children.retain(|c| c.total_ns >= min_ns);
        for child in &mut self.children {
            child.prune(min_ns);
        }
    }

    /// Nodes in the tree, this one included.
    pub fn len(&self) -> usize {
        1 + self.children.iter().map(CallNode::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Frames deeper than this fold into their ancestor at this depth: it bounds the recursion of
/// the tree's own code (and of dropping it) for programs that recurse very deeply.
pub const MAX_DEPTH: usize = 256;

/// A node under construction: children by function, for merging.
struct Building<'p> {
    key: Option<FunctionKey<'p>>,
    total_ns: u64,
    self_ns: u64,
    children: Vec<usize>,
}

/// The call tree of the samples `measure` counts of the threads `include` accepts (all
/// threads merged under one root when it accepts every thread).
pub fn call_tree(
    profile: &Profile,
    measure: Measure,
    include: impl Fn(ThreadIdx) -> bool,
) -> CallNode<'_> {
    let mut nodes = vec![Building {
        key: None,
        total_ns: 0,
        self_ns: 0,
        children: Vec::new(),
    }];
    let mut index: HashMap<(usize, FunctionKey<'_>), usize> = HashMap::new();
    for w in profile
        .weights
        .iter()
        .filter(|w| include(w.thread) && measure.counts(w))
    {
        let value = measure.of(w);
        let frames = profile.frames(w.stack);
        let mut at = 0;
        nodes[0].total_ns += value;
        for key in stack_functions(profile, &frames)
            .into_iter()
            .take(MAX_DEPTH)
        {
            at = match index.get(&(at, key)) {
                Some(&child) => child,
                None => {
                    nodes.push(Building {
                        key: Some(key),
                        total_ns: 0,
                        self_ns: 0,
                        children: Vec::new(),
                    });
                    let child = nodes.len() - 1;
                    nodes[at].children.push(child);
                    index.insert((at, key), child);
                    child
                }
            };
            nodes[at].total_ns += value;
        }
        nodes[at].self_ns += value;
    }
    finish(&nodes, 0)
}

/// Turns the arena into owned nodes, children heaviest first.
fn finish<'p>(nodes: &[Building<'p>], at: usize) -> CallNode<'p> {
    let node = &nodes[at];
    let mut children: Vec<CallNode<'p>> = node.children.iter().map(|&c| finish(nodes, c)).collect();
    children.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then_with(|| a.key.cmp(&b.key)));
    CallNode {
        key: node.key,
        total_ns: node.total_ns,
        self_ns: node.self_ns,
        children,
    }
}
