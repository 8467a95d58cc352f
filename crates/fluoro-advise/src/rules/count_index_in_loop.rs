//! FLU105: `.count()` / `.index()` on a list inside a loop.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use crate::kinds::Kind;
use crate::syntax::{method_call, name_of};
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU105",
    "count-index-in-loop",
    "`list.count()` or `list.index()` called inside a loop",
    DOCS,
)
.on_expr(check);

const DOCS: &str = r#"
## What
`xs.count(x)` or `xs.index(x)` inside a loop, where `xs` is a list (bound to one in the same
scope, or the very list the loop iterates over).

## Why
Both scan the list from the start, comparing each element with `PyObject_RichCompare`
(`list_count`, `list_index_impl`): O(n) per call, O(n²) over a loop on the same list.
Counting everything once with `collections.Counter`, or mapping values to positions with a
dict, makes each lookup O(1).

## Fix
`counts = Counter(xs)` before the loop, then `counts[x]`; `position = {v: i for i, v in
enumerate(xs)}` (keep the first index with `setdefault` if values repeat), then
`position[x]`.

## When not to
Short lists, or a list that changes inside the loop so a precomputed table would go stale.
str.count and str.index are fast C searches over text and are not flagged.
"#;

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Some((receiver, method, call)) = method_call(expr) else {
        return;
    };
    if !matches!(method, "count" | "index") || call.arguments.args.len() != 1 || !cx.in_loop() {
        return;
    }
    let kind = cx.kind(receiver);
    let iterated = name_of(receiver).is_some_and(|name| {
        cx.loops
            .iter()
            .any(|l| l.iter.and_then(name_of) == Some(name))
    });
    if kind == Kind::List || (iterated && kind == Kind::Unknown) {
        let instead = if method == "count" {
            "count once with collections.Counter"
        } else {
            "map values to positions with a dict once"
        };
        out.push(finding(
            &RULE,
            expr.range(),
            format!(
                "`{}.{method}()` in a loop scans the list each time; {instead}",
                cx.text(receiver.range())
            ),
        ));
    }
}
