//! FLU123: float arithmetic with an int literal, which 3.11+ cannot specialize.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::{Edit, Finding};
use crate::kinds::Kind;
use ruff_python_ast::{self as ast, Expr, Number, Operator, Stmt};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU123",
    "int-float-mixing",
    "Float variable combined with an int literal in a loop, blocking 3.11+ specialization",
    DOCS,
)
.on_stmt(check_aug)
.on_expr(check_binop)
.fixable();

const DOCS: &str = r#"
## What
`x * 2`, `x + 1`, `x -= 1` inside a loop, where `x` is a float (every binding of it in the
scope is a float: a float literal, `float(...)`, a true division) and the other operand is an
int literal.

## Why
The specialising interpreter (PEP 659, 3.11+) rewrites a hot `BINARY_OP` into a typed
instruction when both operands have the same exact type: `BINARY_OP_ADD_FLOAT`,
`BINARY_OP_MULTIPLY_FLOAT`, `BINARY_OP_SUBTRACT_FLOAT` for float/float, the `_INT` forms for
int/int. A float with an int has no specialization: the instruction stays generic, goes
through `PyNumber_Add` → `float_add`, converts the int, and its adaptive counter keeps
failing and backing off. `fluoro dis --adaptive` shows the instruction left unspecialized.

## Fix
Write the literal as a float: `x * 2.0`, `x += 1.0`. `--fix` does it; for a float `x` the
result is the same number (ints this small convert to doubles exactly).

## When not to
When `x` can actually be an int at run time (the analysis only sees bindings in this scope),
or on 3.10 and earlier, which have no specialization.
"#;

fn int_literal(expr: &Expr) -> Option<&ast::ExprNumberLiteral> {
    match expr {
        Expr::NumberLiteral(n) => match &n.value {
            Number::Int(i) if i.as_i64().is_some_and(|v| v.abs() < 1 << 53) => Some(n),
            _ => None,
        },
        _ => None,
    }
}

fn float_name(cx: &Context<'_>, expr: &Expr) -> bool {
    matches!(expr, Expr::Name(_)) && cx.kind(expr) == Kind::Float
}

fn report(cx: &Context<'_>, at: &Expr, literal: &ast::ExprNumberLiteral, out: &mut Vec<Finding>) {
    let text = cx.text(literal.range);
    let mut f = finding(
        &RULE,
        at.range(),
        format!(
            "float `{}` with int `{text}` in a loop: no specialized float instruction on 3.11+; write `{text}.0`",
            cx.text(match at {
                Expr::BinOp(b) if int_literal(&b.left).is_some() => b.right.range(),
                Expr::BinOp(b) => b.left.range(),
                other => other.range(),
            })
        ),
    );
    if text.bytes().all(|b| b.is_ascii_digit()) {
        f.fix = Some(Edit::replace(literal.range, format!("{text}.0")));
    }
    out.push(f);
}

fn arithmetic(op: Operator) -> bool {
    matches!(op, Operator::Add | Operator::Sub | Operator::Mult)
}

fn check_binop(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Expr::BinOp(b) = expr else { return };
    if !arithmetic(b.op) || !cx.in_loop() {
        return;
    }
    if let (true, Some(lit)) = (float_name(cx, &b.left), int_literal(&b.right)) {
        report(cx, expr, lit, out);
    } else if let (Some(lit), true) = (int_literal(&b.left), float_name(cx, &b.right)) {
        report(cx, expr, lit, out);
    }
}

fn check_aug(cx: &Context<'_>, stmt: &Stmt, out: &mut Vec<Finding>) {
    let Stmt::AugAssign(a) = stmt else { return };
    if !arithmetic(a.op) || !cx.in_loop() || !float_name(cx, &a.target) {
        return;
    }
    if let Some(lit) = int_literal(&a.value) {
        report(cx, &a.target, lit, out);
    }
}
