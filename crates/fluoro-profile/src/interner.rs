//! Interning of stacks as a tree of (parent, frame) nodes, so that a sample carries one id and
//! a stack seen a million times is stored once.

use crate::model::{Frame, StackId, StackNode, ROOT};
use std::collections::HashMap;

/// Gives each distinct stack a [`StackId`]; remembers which nodes are new since the last
/// [`StackInterner::take_new`], for streaming.
#[derive(Debug, Default)]
pub struct StackInterner {
    ids: HashMap<StackNode, StackId>,
    /// Nodes in id order; id `i` is `nodes[i - 1]`.
    nodes: Vec<StackNode>,
    flushed: usize,
}

impl StackInterner {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `frame` on top of `parent`.
    pub fn push(&mut self, parent: StackId, frame: Frame) -> StackId {
        let node = StackNode { parent, frame };
        if let Some(&id) = self.ids.get(&node) {
            return id;
        }
        self.nodes.push(node);
        let id = self.nodes.len() as StackId;
        self.ids.insert(node, id);
        id
    }

    /// The id of a stack given outermost frame first.
    pub fn intern(&mut self, frames: impl IntoIterator<Item = Frame>) -> StackId {
        frames
            .into_iter()
            .fold(ROOT, |parent, frame| self.push(parent, frame))
    }

    /// The frames of stack `id`, outermost first (none for an id never given out).
    pub fn frames(&self, id: StackId) -> Vec<Frame> {
        let mut frames = Vec::new();
        let mut at = id;
        while at != ROOT {
            let Some(node) = self.nodes.get(at as usize - 1) else {
                return Vec::new();
            };
            frames.push(node.frame);
            at = node.parent;
        }
        frames.reverse();
        frames
    }

    /// Nodes interned since the previous call: the id of the first, and the nodes.
    pub fn take_new(&mut self) -> Option<(StackId, Vec<StackNode>)> {
        if self.flushed == self.nodes.len() {
            return None;
        }
        let first = self.flushed as StackId + 1;
        let nodes = self.nodes[self.flushed..].to_vec();
        self.flushed = self.nodes.len();
        Some((first, nodes))
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(code: u32, offset: u32) -> Frame {
        Frame { code, offset }
    }

    #[test]
    fn a_stack_gives_back_its_frames_outermost_first() {
        let mut interner = StackInterner::new();
        let stack = [frame(1, 0), frame(2, 8), frame(3, 4)];
        let id = interner.intern(stack);
        let shorter = interner.intern([frame(1, 0), frame(2, 8)]);
        assert_eq!(interner.frames(id), stack);
        assert_eq!(interner.frames(shorter), stack[..2]);
        // Sharing its outer frames, a stack is stored once more by its last node.
        assert_eq!(interner.len(), 3);
        assert!(interner.frames(ROOT).is_empty());
        assert!(interner.frames(99).is_empty());
    }
}
