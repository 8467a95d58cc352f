//! FLU129: `str.join` over a generator expression.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::{Edit, Finding};
use crate::kinds::Kind;
use crate::syntax::{method_call, only_arg};
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU129",
    "join-generator",
    "`str.join` over a generator expression instead of a list comprehension",
    DOCS,
)
.on_expr(check)
.fixable();

const DOCS: &str = r#"
## What
`sep.join(x for x in xs)` where `sep` is a string literal or a name bound to a string.

## Why
`str.join` needs the total length before it copies anything, so `PyUnicode_Join` first turns
its argument into a list (`PySequence_Fast`). Given a generator it drives it to the end
through the iterator protocol, resuming the generator frame once per element, and then
builds the list anyway. A list comprehension builds that list directly with `LIST_APPEND`,
with no generator frame, for the same memory: measured 24.6 µs vs 40.7 µs for 1,000 short
strings on 3.11.

## Fix
`sep.join([x for x in xs])`. `--fix` adds the brackets; every element is still computed
before any joining, in the same order.

## When not to
Nothing is lost; the gain is small, so it matters only in hot code.
"#;

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Some((receiver, "join", call)) = method_call(expr) else {
        return;
    };
    let Some(arg @ Expr::Generator(generator)) = only_arg(call) else {
        return;
    };
    if !matches!(cx.kind(receiver), Kind::Str | Kind::Bytes) {
        return;
    }
    let text = cx.text(arg.range());
    let replacement = if generator.parenthesized {
        text.strip_prefix('(')
            .and_then(|t| t.strip_suffix(')'))
            .map(|inner| format!("[{inner}]"))
    } else {
        Some(format!("[{text}]"))
    };
    let mut f = finding(
        &RULE,
        arg.range(),
        "`join` turns a generator into a list before joining; pass a list comprehension",
    );
    f.fix = replacement.map(|r| Edit::replace(arg.range(), r));
    out.push(f);
}
