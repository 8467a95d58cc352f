//! FLU110: `copy.deepcopy` inside a loop.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU110",
    "deepcopy-in-loop",
    "`copy.deepcopy` called inside a loop",
    DOCS,
)
.on_expr(check);

const DOCS: &str = r#"
## What
`copy.deepcopy(obj)` (or `deepcopy` imported from `copy`) inside a loop or comprehension.

## Why
`deepcopy` is written in Python (Lib/copy.py): for every object it reaches it looks up a
copier by type, keeps a memo dict keyed by `id()` to handle shared references and cycles,
and for instances goes through `__reduce_ex__` and rebuilds the object. Copying a nested
structure costs microseconds per object, often 10–100× more than building the same data
directly, and doing it per iteration multiplies that.

## Fix
Copy only what changes (`dict(d)`, `list(xs)`, `[row[:] for row in grid]`), build fresh
objects directly, or use immutable data (tuples, frozen dataclasses) that needs no copy.

## When not to
Deeply nested objects of unknown shape that really must be independent copies, in a loop
that runs a few times.
"#;

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    if !cx.in_loop() {
        return;
    }
    if cx.is_call_to(expr, "copy.deepcopy").is_some() {
        out.push(finding(
            &RULE,
            expr.range(),
            "`deepcopy` in a loop walks and rebuilds the whole object graph each time; copy only what changes",
        ));
    }
}
