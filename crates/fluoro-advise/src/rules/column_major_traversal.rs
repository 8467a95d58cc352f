//! FLU113: a nested list walked column by column.

use super::Rule;
use crate::checker::{finding, Context, LoopKind};
use crate::diagnostic::Finding;
use crate::syntax::{double_index, is_range_call};
use ruff_python_ast::{Expr, ExprContext};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU113",
    "column-major-traversal",
    "Nested list indexed `m[i][j]` with the row index in the inner loop",
    DOCS,
)
.on_expr(check);

const DOCS: &str = r#"
## What
`m[i][j]` read inside `for j in range(...): for i in range(...):`: the first (row) index
changes fastest, so a list of rows is walked column by column.

## Why
A list of lists is an array of pointers to separate row lists, each with its own pointer
array and elements scattered over the heap. Row by row, the inner loop reads one row's
`ob_item` array in order and its elements are often neighbours in memory; column by column,
every step jumps to another row object and another array, so large matrices miss the CPU
caches on each access. Row order also lets the code iterate rows directly (`for row in m:
for x in row:`), dropping both `BINARY_SUBSCR`s per element.

## Fix
Swap the loops so the row index is outer, or iterate rows: `for row in m: for x in row:`;
for column operations, transpose once with `zip(*m)`, or use NumPy.

## When not to
Small matrices that fit in cache, or code whose column order is part of the result.
"#;

fn loop_position(cx: &Context<'_>, name: &str) -> Option<usize> {
    cx.loops.iter().rposition(|l| {
        l.kind == LoopKind::For && l.targets.contains(&name) && l.iter.is_some_and(is_range_call)
    })
}

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    if cx.loops.len() < 2 {
        return;
    }
    let Expr::Subscript(s) = expr else { return };
    if s.ctx != ExprContext::Load {
        return;
    }
    let Some((base, row, col)) = double_index(expr) else {
        return;
    };
    let (Some(row_loop), Some(col_loop)) = (loop_position(cx, row), loop_position(cx, col)) else {
        return;
    };
    if row_loop > col_loop {
        out.push(finding(
            &RULE,
            expr.range(),
            format!(
                "`{}[{row}][{col}]` walks the rows column by column (`{row}` is the inner loop); loop over rows outermost",
                cx.text(base.range())
            ),
        ));
    }
}
