//! FLU104: `pop(0)`, `insert(0, x)`, `del xs[0]` on a list inside a loop.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use crate::kinds::Kind;
use crate::syntax::{int_value, method_call};
use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU104",
    "list-front-operation-in-loop",
    "`pop(0)`, `insert(0, x)` or `del xs[0]` on a list in a loop (use a deque)",
    DOCS,
)
.on_stmt(check_del)
.on_expr(check_call);

const DOCS: &str = r#"
## What
Removing or inserting at the front of a list inside a loop: `xs.pop(0)`, `xs.insert(0, x)`,
`del xs[0]`. The typical case is a queue (breadth-first search, a work list).

## Why
A list is one contiguous array of pointers (`ob_item`). Removing or inserting at index 0
shifts every other pointer by one slot with `memmove` (`list_ass_slice`, `ins1`): O(n) per
operation, O(n²) to drain a list this way. `collections.deque` is a linked list of 64-slot
blocks with O(1) `popleft()` and `appendleft()`.

## Fix
`from collections import deque`; `queue = deque(items)`; `queue.popleft()` /
`queue.appendleft(x)`. To consume a list in order, iterate over it, or reverse it once and
`pop()` from the end.

## When not to
Very short lists (a few dozen elements: the memmove is cheap), or code that needs random
access or slicing in the middle of the queue, which deque does in O(n).
"#;

fn receiver_may_be_list(cx: &Context<'_>, receiver: &Expr) -> bool {
    !matches!(
        cx.kind(receiver),
        Kind::Dict | Kind::Deque | Kind::Set | Kind::Str | Kind::Bytes
    )
}

fn check_call(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    if !cx.in_loop() {
        return;
    }
    let Some((receiver, method, call)) = method_call(expr) else {
        return;
    };
    let args = &*call.arguments.args;
    let front = match (method, args) {
        ("pop", [index]) => int_value(index) == Some(0),
        ("insert", [index, _]) => int_value(index) == Some(0),
        _ => false,
    };
    if front && call.arguments.keywords.is_empty() && receiver_may_be_list(cx, receiver) {
        let (call, instead) = if method == "pop" {
            ("pop(0)", "popleft()")
        } else {
            ("insert(0, ...)", "appendleft(x)")
        };
        out.push(finding(
            &RULE,
            expr.range(),
            format!(
                "`{}.{call}` in a loop shifts every element; use collections.deque and {instead}",
                cx.text(receiver.range())
            ),
        ));
    }
}

fn check_del(cx: &Context<'_>, stmt: &Stmt, out: &mut Vec<Finding>) {
    let Stmt::Delete(d) = stmt else { return };
    if !cx.in_loop() {
        return;
    }
    for target in &d.targets {
        if let Expr::Subscript(s) = target {
            if int_value(&s.slice) == Some(0) && cx.kind(&s.value) == Kind::List {
                out.push(finding(
                    &RULE,
                    stmt.range(),
                    format!(
                        "`del {}[0]` in a loop shifts every element; use collections.deque and popleft()",
                        cx.text(s.value.range())
                    ),
                ));
            }
        }
    }
}
