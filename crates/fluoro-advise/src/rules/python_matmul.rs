//! FLU121: matrix multiplication written as Python loops.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use crate::patterns::double_index;
use ruff_python_ast::{Expr, Operator};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU121",
    "python-matmul",
    "Matrix multiplication in pure Python loops (`a[i][k] * b[k][j]`)",
    DOCS,
)
.on_expr(check);

const DOCS: &str = r#"
## What
`a[i][k] * b[k][j]` inside loops or comprehensions over `k`: the inner product of a
hand-written matrix multiplication (`c[i][j] += a[i][k] * b[k][j]`).

## Why
Each multiply-add runs about ten bytecode instructions: four `BINARY_SUBSCR`, a multiply and
an add on boxed floats (each result a new heap object), loop bookkeeping. An n×n product is
n³ of them, around 50–100 ns each. NumPy's `a @ b` calls BLAS, which runs the same n³
multiply-adds on unboxed doubles with SIMD and cache blocking, hundreds to thousands of times
faster for n in the hundreds.

## Fix
`numpy.asarray(a) @ numpy.asarray(b)`. Without NumPy, iterate rows and columns directly:
`bt = list(zip(*b))`, then `[[sum(x * y for x, y in zip(row, col)) for col in bt] for row
in a]` (2–3× faster than indexing).

## When not to
Tiny matrices (2×2, 3×3) where converting to arrays costs more than the product, or exact
arithmetic on ints/Fractions that must not become floats.
"#;

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Expr::BinOp(b) = expr else { return };
    if b.op != Operator::Mult || !cx.in_loop() {
        return;
    }
    let (Some((a, _, k1)), Some((bm, k2, _))) = (double_index(&b.left), double_index(&b.right))
    else {
        return;
    };
    let k_is_loop = cx.loops.iter().any(|l| l.targets.contains(&k1));
    if k1 == k2 && k_is_loop {
        out.push(finding(
            &RULE,
            expr.range(),
            format!(
                "`{}` is a matrix product in Python loops; use numpy's `{} @ {}`",
                cx.text(expr.range()),
                cx.text(a.range()),
                cx.text(bm.range())
            ),
        ));
    }
}
