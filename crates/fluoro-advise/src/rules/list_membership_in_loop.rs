//! FLU101: `x in some_list` inside a loop.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use crate::kinds::Kind;
use ruff_python_ast::{CmpOp, Expr};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU101",
    "list-membership-in-loop",
    "Membership test on a list inside a loop or comprehension",
    DOCS,
)
.on_expr(check);

const DOCS: &str = r#"
## What
`x in items` (or `not in`) where `items` is a list (a list display of five or more
elements, a comprehension, a name bound only to lists in the same scope or an enclosing
function, a module-level list bound once and never declared `global`, or a parameter
annotated `list[...]`/`List[...]`), evaluated on every iteration of a loop, a comprehension
or a generator expression.

## Why
`list.__contains__` (`list_contains` in Objects/listobject.c) compares `x` with every element
in turn, calling `PyObject_RichCompare` for each: O(n) per test, so O(n·m) for the loop. A set
or dict hashes `x` once and probes its table: O(1) on average. A list display of constants is
folded to a tuple constant, still scanned linearly; a set display of constants is folded to a
frozenset constant.

## Fix
Build a set once, before the loop (`allowed = set(items)`), or write the literal as a set
(`x in {"a", "b", "c"}`).

## When not to
Unhashable elements (lists, dicts) cannot go in a set. For a few elements a scan is as
fast as hashing: short list displays and tuples are not flagged.
"#;

/// A list display this long is worth a set: shorter ones scan as fast as they hash (a display
/// of constants is compiled to a tuple constant, the same as the quiet tuple case).
const MIN_DISPLAY: usize = 5;

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Expr::Compare(cmp) = expr else { return };
    if !cx.in_loop() {
        return;
    }
    for (op, right) in cmp.ops.iter().zip(cmp.comparators.iter()) {
        if !matches!(op, CmpOp::In | CmpOp::NotIn) {
            continue;
        }
        let what = match right {
            Expr::List(l) if l.elts.len() >= MIN_DISPLAY => "`in [...]` scans the list",
            Expr::ListComp(_) => "`in [... for ...]` builds and scans a list",
            Expr::Name(n) if cx.kind(right) == Kind::List => {
                out.push(finding(
                    &RULE,
                    expr.range(),
                    format!(
                        "`in {}` scans the list on every iteration; test membership in a set built once",
                        n.id
                    ),
                ));
                continue;
            }
            _ => continue,
        };
        out.push(finding(
            &RULE,
            expr.range(),
            format!("{what} on every iteration; use a set"),
        ));
    }
}
