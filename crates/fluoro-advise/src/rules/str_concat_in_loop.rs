//! FLU102: `s += ...` on a str or bytes inside a loop.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use crate::kinds::Kind;
use crate::syntax::name_of;
use ruff_python_ast::{Expr, Operator, Stmt};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU102",
    "str-concat-in-loop",
    "String or bytes built by repeated concatenation in a loop",
    DOCS,
)
.on_stmt(check);

const DOCS: &str = r#"
## What
`s += piece` or `s = s + piece` inside a loop, where `s` is a str or bytes (bound to a string
literal, an f-string or `str(...)`, or the piece is one).

## Why
str and bytes are immutable: each concatenation allocates a new object and copies both
operands, so building an n-character result piece by piece copies O(n²) bytes. CPython has
an in-place shortcut for `s += t` when `s` is a local with no other reference
(`unicode_concatenate`, `BINARY_OP_INPLACE_ADD_UNICODE` in 3.11+), which resizes in place; it
does not apply to bytes, attributes (`self.buf += s`), globals, or a string referenced from
anywhere else, and other interpreters (PyPy) do not have it.

## Fix
Collect the pieces in a list and `"".join(pieces)` once, or write to an `io.StringIO`.

## When not to
A string that starts afresh on every iteration (`line = ""` in the loop, then a couple of
`+=`) is not an accumulator and is not flagged. A handful of iterations, or a local str that nothing else references (the shortcut keeps it
linear on CPython).
"#;

fn stringy(kind: Kind) -> bool {
    matches!(kind, Kind::Str | Kind::Bytes)
}

fn check(cx: &Context<'_>, stmt: &Stmt, out: &mut Vec<Finding>) {
    if !cx.in_loop() {
        return;
    }
    let (target, piece) = match stmt {
        Stmt::AugAssign(a) if a.op == Operator::Add => (a.target.as_ref(), a.value.as_ref()),
        Stmt::Assign(a) if a.targets.len() == 1 => match a.value.as_ref() {
            Expr::BinOp(b)
                if b.op == Operator::Add
                    && name_of(&b.left).is_some()
                    && name_of(&b.left) == name_of(&a.targets[0]) =>
            {
                (&a.targets[0], b.right.as_ref())
            }
            _ => return,
        },
        _ => return,
    };
    let target_kind = match target {
        Expr::Name(n)
            if cx
                .loops
                .last()
                .is_some_and(|l| l.rebound.contains(n.id.as_str())) =>
        {
            return
        }
        Expr::Name(_) => cx.kind(target),
        Expr::Attribute(_) => Kind::Unknown,
        _ => return,
    };
    let piece_kind = cx.kind(piece);
    let hit = stringy(target_kind) || (target_kind == Kind::Unknown && stringy(piece_kind));
    if !hit {
        return;
    }
    let what = if target_kind == Kind::Bytes || piece_kind == Kind::Bytes {
        "bytes"
    } else {
        "str"
    };
    out.push(finding(
        &RULE,
        stmt.range(),
        format!(
            "{what} `{}` grows by concatenation in a loop, copying it each time; collect pieces and join once",
            cx.text(target.range())
        ),
    ));
}
