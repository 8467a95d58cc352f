//! FLU107: `set(xs)` rebuilt on every iteration.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use crate::syntax::only_arg;
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU107",
    "set-rebuilt-in-loop",
    "`set(...)` of an unchanging collection rebuilt on every iteration",
    DOCS,
)
.on_expr(check);

const DOCS: &str = r#"
## What
`set(xs)` or `frozenset(xs)` inside a loop or comprehension, where `xs` is neither rebound nor
changed in the loop: the same set is built again on every iteration.

## Why
Building a set iterates over `xs`, hashes every element and inserts it into a fresh hash
table (`set_update_internal`), resizing as it grows: O(len(xs)) work and an allocation per
iteration, typically to answer one O(1) membership test. The usual intent, "look `x` up
fast", is lost: the loop is O(n·m) again.

## Fix
Build the set once before the loop: `wanted = set(xs)`, then use `wanted` inside.

## When not to
When `xs` does change between iterations in a way the analysis cannot see (another function
or thread mutates it), the set must be rebuilt.
"#;

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Expr::Call(call) = expr else { return };
    let Some(frame) = cx.innermost_loop() else {
        return;
    };
    let Some(arg) = only_arg(call) else { return };
    let ctor = if cx.resolves_to(&call.func, "set") {
        "set"
    } else if cx.resolves_to(&call.func, "frozenset") {
        "frozenset"
    } else {
        return;
    };
    if cx.invariant_in(arg, frame) {
        out.push(finding(
            &RULE,
            expr.range(),
            format!(
                "`{ctor}({})` is rebuilt on every iteration though its input does not change; build it once before the loop",
                cx.text(arg.range())
            ),
        ));
    }
}
