//! FLU114: a hand-written adjacent-swap sort (bubble sort and relatives).

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use crate::syntax::int_value;
use ruff_python_ast::{Expr, Operator, Stmt};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU114",
    "hand-written-sort",
    "Adjacent elements swapped in nested loops: a hand-written O(n²) sort",
    DOCS,
)
.on_stmt(check);

const DOCS: &str = r#"
## What
`a[j], a[j + 1] = a[j + 1], a[j]` inside two nested loops: bubble sort, insertion sort by
swapping, odd-even sort.

## Why
These sorts make O(n²) comparisons and swaps, each several bytecode instructions
(`BINARY_SUBSCR`, `COMPARE_OP`, `STORE_SUBSCR`) through the interpreter. `list.sort` and
`sorted` run timsort in C: O(n log n) comparisons, O(n) on data that is already partly
ordered, with no per-element bytecode.

## Fix
`a.sort()` or `a = sorted(a)`, with `key=` for a custom order (`functools.cmp_to_key` for
an old-style comparison function).

## When not to
Teaching code, or an algorithm that needs the intermediate states of the sort.
"#;

/// Whether `a` and `b` are indices one apart: `j` and `j + 1` (or `j - 1`).
fn adjacent(a: &Expr, b: &Expr, cx: &Context<'_>) -> bool {
    let next_to = |x: &Expr, y: &Expr| match y {
        Expr::BinOp(bin) if matches!(bin.op, Operator::Add | Operator::Sub) => {
            int_value(&bin.right) == Some(1) && cx.text(bin.left.range()) == cx.text(x.range())
        }
        _ => false,
    };
    next_to(a, b) || next_to(b, a)
}

fn check(cx: &Context<'_>, stmt: &Stmt, out: &mut Vec<Finding>) {
    let Stmt::Assign(assign) = stmt else { return };
    if cx.loops.len() < 2 || assign.targets.len() != 1 {
        return;
    }
    let (Expr::Tuple(lhs), Expr::Tuple(rhs)) = (&assign.targets[0], assign.value.as_ref()) else {
        return;
    };
    let ([Expr::Subscript(l0), Expr::Subscript(l1)], [Expr::Subscript(r0), Expr::Subscript(r1)]) =
        (lhs.elts.as_slice(), rhs.elts.as_slice())
    else {
        return;
    };
    let same = |x: &Expr, y: &Expr| cx.text(x.range()) == cx.text(y.range());
    let swap = same(&l0.value, &l1.value)
        && same(&l0.value, &r0.value)
        && same(&l0.value, &r1.value)
        && same(&l0.slice, &r1.slice)
        && same(&l1.slice, &r0.slice)
        && adjacent(&l0.slice, &l1.slice, cx);
    if swap {
        out.push(finding(
            &RULE,
            stmt.range(),
            format!(
                "adjacent swap of `{}` in nested loops is a hand-written O(n²) sort; use list.sort() or sorted()",
                cx.text(l0.value.range())
            ),
        ));
    }
}
