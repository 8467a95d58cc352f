//! FLU118: heavy loops at module level, where every variable is a global.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use crate::syntax::int_value;
use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU118",
    "module-level-hot-loop",
    "Heavy loop at module level, where every name is a dict-backed global",
    DOCS,
)
.on_stmt(check);

const DOCS: &str = r#"
## What
A loop at module level (including under `if __name__ == "__main__":`) that is heavy: it,
or a loop inside it, iterates `range(N)` with a literal N ≥ 10,000, or, with `--profile`, it
took at least 5 % of the measured time. Loops that build tables at import are left alone
unless measured.

## Why
In a function, local variables live in the frame's fast-locals array and are read with
`LOAD_FAST` by index. At module level every variable is a key in the module's `__dict__`:
`LOAD_NAME`/`STORE_NAME` (or `LOAD_GLOBAL`) hash the name and probe the dict on every
access, and the specialising interpreter (3.11+) can do less with them. Measured on 3.11 on this
project's (loaded) machine, `for i in range(2_000_000): total += i * 2` took 182–244 ms at
module level and 75–138 ms in a function.

## Fix
Move the loop into a function (`def main(): ...`) and call it; keep module level for
definitions.

## When not to
Loops that run a few times at import (building a table of constants), where the difference
is negligible.
"#;

/// Whether a loop in `body` (at any depth, outside functions and classes) iterates a large
/// range.
fn inner_big_range(body: &[Stmt]) -> bool {
    body.iter().any(|s| match s {
        Stmt::For(f) => big_range(&f.iter) || inner_big_range(&f.body),
        Stmt::While(w) => inner_big_range(&w.body),
        Stmt::If(i) => {
            inner_big_range(&i.body) || i.elif_else_clauses.iter().any(|c| inner_big_range(&c.body))
        }
        Stmt::With(w) => inner_big_range(&w.body),
        Stmt::Try(t) => inner_big_range(&t.body),
        _ => false,
    })
}

fn big_range(iter: &Expr) -> bool {
    let Expr::Call(call) = iter else { return false };
    matches!(call.func.as_ref(), Expr::Name(n) if n.id.as_str() == "range")
        && call
            .arguments
            .args
            .iter()
            .any(|a| int_value(a).is_some_and(|n| n >= 10_000))
}

fn check(cx: &Context<'_>, stmt: &Stmt, out: &mut Vec<Finding>) {
    if !cx.at_module_level() || cx.in_loop() {
        return;
    }
    let (body, iter) = match stmt {
        Stmt::For(f) => (&f.body, Some(f.iter.as_ref())),
        Stmt::While(w) => (&w.body, None),
        _ => return,
    };
    let measured = cx.measured_share(stmt.range());
    let why = if let Some(share) = measured.filter(|s| *s >= 0.05) {
        format!("took {:.0} % of the measured time", share * 100.0)
    } else if iter.is_some_and(big_range) || inner_big_range(body) {
        "iterates a large range".to_owned()
    } else {
        return;
    };
    out.push(finding(
        &RULE,
        stmt.range(),
        format!("module-level loop {why}: its variables are globals (dict lookups); move it into a function"),
    ));
}
