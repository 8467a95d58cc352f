//! FLU126: `for k in d.keys()`.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::{Edit, Finding};
use crate::syntax::{is_atom, method_call};
use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU126",
    "dict-keys-iteration",
    "`for k in d.keys()` instead of `for k in d`",
    DOCS,
)
.on_stmt(check_for)
.on_expr(check_comprehension)
.fixable();

const DOCS: &str = r#"
## What
Iterating `d.keys()` in a `for` loop or comprehension.

## Why
Iterating a dict already yields its keys (`dict_iter` → `dictiter_iternextkey`). `d.keys()`
adds a method lookup, a call and a `dict_keys` view allocation before handing out the same
iterator. A small constant cost per loop, and noise in the code.

## Fix
`for k in d:`. `--fix` rewrites it when the receiver is a simple expression.

## When not to
Objects that are not mappings and whose `keys()` differs from their iteration.
"#;

fn report(cx: &Context<'_>, iter: &Expr, out: &mut Vec<Finding>) {
    let Some((receiver, "keys", call)) = method_call(iter) else {
        return;
    };
    if !call.arguments.is_empty() {
        return;
    }
    let text = cx.text(receiver.range());
    let mut f = finding(
        &RULE,
        iter.range(),
        format!("iterate `{text}` directly: `{text}.keys()` makes a view to yield the same keys"),
    );
    if is_atom(receiver) {
        f.fix = Some(Edit::replace(iter.range(), text));
    }
    out.push(f);
}

fn check_for(cx: &Context<'_>, stmt: &Stmt, out: &mut Vec<Finding>) {
    if let Stmt::For(f) = stmt {
        report(cx, &f.iter, out);
    }
}

fn check_comprehension(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let generators = match expr {
        Expr::ListComp(c) => &c.generators,
        Expr::SetComp(c) => &c.generators,
        Expr::DictComp(c) => &c.generators,
        Expr::Generator(c) => &c.generators,
        _ => return,
    };
    for g in generators {
        report(cx, &g.iter, out);
    }
}
