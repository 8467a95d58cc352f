//! FLU112: an O(n) builtin called on the same data on every iteration.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use crate::syntax::only_arg;
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU112",
    "loop-invariant-call",
    "O(n) reduction (`sum`, `max`, `min`, `any`, `all`) recomputed on unchanging data in a loop",
    DOCS,
)
.on_expr(check);

const DOCS: &str = r#"
## What
`sum(xs)`, `max(xs)`, `min(xs)`, `any(xs)`, `all(xs)` inside a loop or comprehension, where `xs` is neither rebound nor changed in the loop: the
same value is recomputed on every iteration.

## Why
Each of these walks all of `xs` (`builtin_sum_impl`, `min_max`, `builtin_any`): O(n) per
iteration, O(n·m) over the loop, for a result that does not change. CPython does no
loop-invariant code motion: the bytecode evaluates the call every time.

## Fix
Compute it once before the loop: `top = max(xs)`, then use `top` inside.

## When not to
When `xs` changes in a way the analysis cannot see (another function or thread mutates
it), or when the loop runs once or twice. Copies (`list(xs)`, `dict(d)`) are not flagged:
a fresh copy per iteration is usually the point.
"#;

const BUILTINS: &[&str] = &["sum", "max", "min", "any", "all"];

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Expr::Call(call) = expr else { return };
    let Some(frame) = cx.innermost_loop() else {
        return;
    };
    let Some(arg) = only_arg(call) else { return };
    if !matches!(arg, Expr::Name(_) | Expr::Attribute(_)) || !cx.invariant_in(arg, frame) {
        return;
    }
    let Some(builtin) = BUILTINS.iter().find(|b| cx.resolves_to(&call.func, b)) else {
        return;
    };
    out.push(finding(
        &RULE,
        expr.range(),
        format!(
            "`{builtin}({})` gives the same result on every iteration; compute it once before the loop",
            cx.text(arg.range())
        ),
    ));
}
