//! FLU115: `sorted(x)[0]` / `sorted(x)[-1]` to get the smallest or largest element.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::{Edit, Finding};
use crate::syntax::int_value;
use ruff_python_ast::{Expr, ExprContext};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU115",
    "sorted-for-min-max",
    "`sorted(x)[0]` or `sorted(x)[-1]` instead of `min(x)` / `max(x)`",
    DOCS,
)
.on_expr(check)
.fixable();

const DOCS: &str = r#"
## What
`sorted(xs)[0]`, `sorted(xs)[-1]`, with or without `key=` and `reverse=True`, used to get one
extreme element.

## Why
`sorted` copies `xs` into a new list and sorts it, O(n log n) comparisons and an O(n)
allocation, then keeps one element. `min`/`max` make one pass, n − 1 comparisons, and
allocate nothing.

## Fix
`min(xs)` for `sorted(xs)[0]`, `max(xs)` for `sorted(xs)[-1]` (keep `key=`). `--fix` rewrites
`sorted(xs)[0]` → `min(xs)` (keeping `key=`): `min` returns the first smallest element,
which is the one a stable sort puts first.

## When not to
An empty `xs`: `sorted(xs)[0]` raises IndexError, `min(xs)` ValueError (pass `default=` if
that matters). For `[-1]`, a stable sort gives the *last* of equal largest elements and `max`
the first, so that form is reported without an automatic fix. `reverse=True` is left alone.
"#;

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Expr::Subscript(sub) = expr else { return };
    if sub.ctx != ExprContext::Load {
        return;
    }
    let Expr::Call(call) = sub.value.as_ref() else {
        return;
    };
    if call.arguments.args.len() != 1 || !cx.resolves_to(&call.func, "sorted") {
        return;
    }
    let reverse = call
        .arguments
        .keywords
        .iter()
        .any(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == "reverse"));
    if reverse {
        return;
    }
    let (function, fixable) = match int_value(&sub.slice) {
        Some(0) => ("min", true),
        Some(-1) => ("max", false),
        _ => return,
    };
    let mut f = finding(
        &RULE,
        expr.range(),
        format!(
            "`{}` sorts everything to take one element; use `{function}(...)`, one pass",
            cx.text(expr.range())
        ),
    );
    if fixable {
        let args = cx.text(call.arguments.range());
        f.fix = Some(Edit::replace(expr.range(), format!("{function}{args}")));
    }
    out.push(f);
}
