//! FLU106: two nested loops that look for equal elements (an intersection by hand).

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use crate::syntax::name_of;
use ruff_python_ast::{CmpOp, Expr, Stmt};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU106",
    "nested-loop-intersection",
    "Nested loops comparing elements for equality: a set intersection by hand",
    DOCS,
)
.on_stmt(check_loops)
.on_expr(check_comprehension);

const DOCS: &str = r#"
## What
`for a in xs: for b in ys: if a == b: ...` (the inner loop holding only that `if`), or the
comprehension `[a for a in xs for b in ys if a == b]`: every pair is compared to find common
elements. All pairs of one collection (`for u in nodes: for v in nodes`) and diagonal skips
(`if u == v: continue`) are not flagged.

## Why
The inner loop runs len(xs)·len(ys) times, each a `COMPARE_OP` dispatch and a rich
comparison. A set built from one side answers "is `a` there" with one hash and one probe, so
finding the common elements is O(len(xs) + len(ys)).

## Fix
`common = set(xs) & set(ys)`, or `ys_set = set(ys)` then `[a for a in xs if a in ys_set]`
to keep order and duplicates of `xs`.

## When not to
Unhashable elements, an equality that is not consistent with hashing, or loops that do more
per pair than find matches (the comparison is only part of the work).
"#;

fn equal_pair(test: &Expr, a: &str, b: &str) -> bool {
    let Expr::Compare(cmp) = test else {
        return false;
    };
    if cmp.ops.len() != 1 || cmp.ops[0] != CmpOp::Eq {
        return false;
    }
    let (l, r) = (name_of(&cmp.left), name_of(&cmp.comparators[0]));
    (l == Some(a) && r == Some(b)) || (l == Some(b) && r == Some(a))
}

fn check_loops(cx: &Context<'_>, stmt: &Stmt, out: &mut Vec<Finding>) {
    let Stmt::For(outer) = stmt else { return };
    let Some(a) = name_of(&outer.target) else {
        return;
    };
    for inner in &outer.body {
        let Stmt::For(inner) = inner else { continue };
        let Some(b) = name_of(&inner.target) else {
            continue;
        };
        // All pairs of one collection (`for u in nodes: for v in nodes`) is not an
        // intersection; neither is skipping the diagonal (`if u == v: continue`).
        if cx.text(inner.iter.range()) == cx.text(outer.iter.range()) {
            continue;
        }
        let hit = matches!(inner.body.as_slice(), [Stmt::If(i)]
            if i.elif_else_clauses.is_empty()
                && equal_pair(&i.test, a, b)
                && !matches!(i.body.first(), Some(Stmt::Continue(_))));
        if hit {
            out.push(finding(
                &RULE,
                stmt.range(),
                format!("nested loops compare `{a} == {b}` pair by pair; intersect with a set"),
            ));
        }
    }
}

fn check_comprehension(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let generators = match expr {
        Expr::ListComp(c) => &c.generators,
        Expr::SetComp(c) => &c.generators,
        Expr::Generator(c) => &c.generators,
        _ => return,
    };
    let [first, second] = generators.as_slice() else {
        return;
    };
    let (Some(a), Some(b)) = (name_of(&first.target), name_of(&second.target)) else {
        return;
    };
    let same_collection = cx.text(first.iter.range()) == cx.text(second.iter.range());
    if !same_collection && second.ifs.iter().any(|t| equal_pair(t, a, b)) {
        out.push(finding(
            &RULE,
            expr.range(),
            format!("comprehension compares `{a} == {b}` pair by pair; intersect with a set"),
        ));
    }
}
