//! FLU127: `map(lambda ...)` / `filter(lambda ...)`.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU127",
    "map-lambda",
    "`map`/`filter` with a lambda: a Python function call per element",
    DOCS,
)
.on_expr(check);

const DOCS: &str = r#"
## What
`map(lambda x: ..., xs)` or `filter(lambda x: ..., xs)`.

## Why
`map` is fast when its function is implemented in C (`map(str, xs)`). With a lambda, every
element costs a full Python function call from C (`_PyFunction_Vectorcall`: a new frame, the
arguments bound, the body evaluated, the frame popped). A comprehension or generator
expression evaluates the same expression inline in one frame, with no call per element:
measured 70 µs vs 41 µs for `x * 2` over 1,000 ints on 3.11.

## Fix
`[x * 2 for x in xs]` for `list(map(lambda x: x * 2, xs))`, `(x for x in xs if x)` for
`filter(lambda x: x, xs)`.

## When not to
When the mapped function is not a lambda but a builtin or C function: `map(int, xs)` is as
fast as or faster than a comprehension, and is not flagged.
"#;

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Expr::Call(call) = expr else { return };
    let Some(Expr::Lambda(_)) = call.arguments.args.first() else {
        return;
    };
    if call.arguments.args.len() < 2 {
        return;
    }
    let Some(function) = ["map", "filter"]
        .into_iter()
        .find(|f| cx.resolves_to(&call.func, f))
    else {
        return;
    };
    out.push(finding(
        &RULE,
        expr.range(),
        format!("`{function}` with a lambda calls a Python function per element; a comprehension evaluates it inline"),
    ));
}
