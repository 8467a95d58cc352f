//! FLU121: matrix multiplication written as Python loops.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use crate::syntax::{double_index, name_of, only_arg};
use ruff_python_ast::{Expr, Operator, Stmt};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU121",
    "python-matmul",
    "Matrix multiplication in pure Python loops (`a[i][k] * b[k][j]`)",
    DOCS,
)
.on_stmt(check_accumulation)
.on_expr(check_sum);

const DOCS: &str = r#"
## What
A hand-written matrix multiplication: `c[i][j] += a[i][k] * b[k][j]` (or `s += ...`) in a
loop over `k` nested in loops over `i` and `j`, or `sum(a[i][k] * b[k][j] for k in ...)`.

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

/// `a[i][k] * b[k][j]`: the two matrices and the three index names.
fn inner_product(expr: &Expr) -> Option<(&Expr, &Expr, [&str; 3])> {
    let Expr::BinOp(b) = expr else { return None };
    if b.op != Operator::Mult {
        return None;
    }
    let (a, i, k) = double_index(&b.left)?;
    let (bm, k2, j) = double_index(&b.right)?;
    (k == k2 && i != k && j != k && i != j).then_some((a, bm, [i, k, j]))
}

fn report(cx: &Context<'_>, product: &Expr, a: &Expr, b: &Expr, out: &mut Vec<Finding>) {
    out.push(finding(
        &RULE,
        product.range(),
        format!(
            "`{}` accumulated over a loop is a matrix product in Python; use numpy's `{} @ {}`",
            cx.text(product.range()),
            cx.text(a.range()),
            cx.text(b.range())
        ),
    ));
}

/// `c[i][j] += a[i][k] * b[k][j]` (or into a plain accumulator) with `k` the innermost loop's
/// variable and `i`, `j` those of enclosing loops.
fn check_accumulation(cx: &Context<'_>, stmt: &Stmt, out: &mut Vec<Finding>) {
    let Stmt::AugAssign(aug) = stmt else { return };
    if aug.op != Operator::Add {
        return;
    }
    let Some((a, b, [i, k, j])) = inner_product(&aug.value) else {
        return;
    };
    let Some((innermost, outer)) = cx.loops.split_last() else {
        return;
    };
    let bound = |name: &str| outer.iter().any(|l| l.targets.contains(&name));
    let target_fits = match double_index(&aug.target) {
        Some((_, ti, tj)) => ti == i && tj == j,
        None => matches!(aug.target.as_ref(), Expr::Name(_)),
    };
    if innermost.targets.contains(&k) && bound(i) && bound(j) && target_fits {
        report(cx, &aug.value, a, b, out);
    }
}

/// `sum(a[i][k] * b[k][j] for k in ...)`.
fn check_sum(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Expr::Call(call) = expr else { return };
    let Some(arg) = only_arg(call) else { return };
    let (elt, generators) = match arg {
        Expr::Generator(g) => (g.elt.as_ref(), &g.generators),
        Expr::ListComp(c) => (c.elt.as_ref(), &c.generators),
        _ => return,
    };
    let Some((a, b, [_, k, _])) = inner_product(elt) else {
        return;
    };
    let over_k = generators.last().and_then(|g| name_of(&g.target)) == Some(k);
    if over_k && cx.resolves_to(&call.func, "sum") {
        report(cx, elt, a, b, out);
    }
}
