//! FLU109: `sorted(xs)` of an unchanging collection inside a loop.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU109",
    "sorted-in-loop",
    "`sorted(...)` of an unchanging collection re-sorted on every iteration",
    DOCS,
)
.on_expr(check);

const DOCS: &str = r#"
## What
`sorted(xs)` (with or without `key=`/`reverse=`) inside a loop or comprehension, where `xs`
is neither rebound nor changed in the loop.

## Why
`sorted` copies `xs` into a new list and runs timsort on it: O(n log n) comparisons, each a
rich comparison (or a key call), plus an allocation, on every iteration, to produce the same
list each time.

## Fix
Sort once before the loop: `ordered = sorted(xs)`, then use `ordered` inside. Use `bisect`
on the sorted list for lookups.

## When not to
When `xs` is changed between iterations in a way the analysis cannot see.
"#;

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Expr::Call(call) = expr else { return };
    let Some(frame) = cx.innermost_loop() else {
        return;
    };
    let [arg] = &*call.arguments.args else { return };
    if !cx.resolves_to(&call.func, "sorted") || !cx.invariant_in(arg, frame) {
        return;
    }
    if !call
        .arguments
        .keywords
        .iter()
        .all(|k| cx.invariant_in(&k.value, frame) || matches!(k.value, Expr::Lambda(_)))
    {
        return;
    }
    out.push(finding(
        &RULE,
        expr.range(),
        format!(
            "`sorted({})` re-sorts the same data on every iteration; sort once before the loop",
            cx.text(arg.range())
        ),
    ));
}
