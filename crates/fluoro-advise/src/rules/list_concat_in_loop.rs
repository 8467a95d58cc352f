//! FLU103: `acc = acc + [x]` inside a loop.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use crate::kinds::Kind;
use crate::syntax::name_of;
use ruff_python_ast::{Expr, Operator, Stmt};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU103",
    "list-concat-in-loop",
    "List rebuilt by `acc = acc + [...]` in a loop",
    DOCS,
)
.on_stmt(check);

const DOCS: &str = r#"
## What
`acc = acc + other` (or `acc = other + acc`) inside a loop, where `acc` is a list.

## Why
`list + list` (`list_concat`) allocates a new list and copies every element of both operands,
incrementing each element's reference count; rebinding `acc` then frees the old list. Growing
a list this way copies O(n²) pointers. `acc.append(x)` and `acc += [x]` (`list_inplace_concat`,
which calls `list_extend`) grow the same list in place, amortised O(1) per element thanks to
over-allocation in `list_resize`.

## Fix
`acc.append(x)`, `acc.extend(other)` or `acc += other`; to prepend, collect in order and
reverse once, or use `collections.deque.appendleft`.

## When not to
When other code holds a reference to the old list and must not see it change: `acc = acc + x`
makes a new list, `acc += x` mutates the shared one.
"#;

fn check(cx: &Context<'_>, stmt: &Stmt, out: &mut Vec<Finding>) {
    let Stmt::Assign(a) = stmt else { return };
    if !cx.in_loop() || a.targets.len() != 1 {
        return;
    }
    let Some(target) = name_of(&a.targets[0]) else {
        return;
    };
    if cx.loops.last().is_some_and(|l| l.rebound.contains(target)) {
        return;
    }
    let Expr::BinOp(b) = a.value.as_ref() else {
        return;
    };
    if b.op != Operator::Add {
        return;
    }
    let (other, prepend) = if name_of(&b.left) == Some(target) {
        (b.right.as_ref(), false)
    } else if name_of(&b.right) == Some(target) {
        (b.left.as_ref(), true)
    } else {
        return;
    };
    if cx.kind(&a.targets[0]) != Kind::List && cx.kind(other) != Kind::List {
        return;
    }
    let how = if prepend {
        "prepending copies the whole list each time; append and reverse once, or use a deque"
    } else {
        "`acc = acc + ...` copies the whole list each time; use append/extend or +="
    };
    out.push(finding(
        &RULE,
        stmt.range(),
        format!("list `{target}` rebuilt in a loop: {how}"),
    ));
}
