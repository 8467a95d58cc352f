//! FLU120: a list built only to be reduced (`sum([...])`, `any([...])`).

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::{Edit, Finding};
use crate::syntax::only_arg;
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU120",
    "list-built-to-reduce",
    "List comprehension built only to be reduced by `sum`/`min`/`max`/`any`/`all`",
    DOCS,
)
.on_expr(check)
.fixable();

const DOCS: &str = r#"
## What
`sum([... for ...])`, `min([...])`, `max([...])`, `any([...])`, `all([...])`: a list
comprehension whose only use is to be consumed by a reduction.

## Why
The comprehension materialises every element in a new list (growing it with `LIST_APPEND`
and `list_resize`), the reduction walks it once, and the list is freed: O(n) extra memory
for nothing. `any`/`all` over a list also evaluate every element before looking at the first,
where a generator stops at the first true (or false) one. For `sum`/`min`/`max` over small
inputs, the list can be as fast as a generator (resuming a generator frame costs more than
`LIST_APPEND`): the gain there is memory, not time.

## Fix
Drop the brackets: `sum(x * x for x in xs)`. `--fix` does so for `sum`, `min` and `max`
with the comprehension as the only argument, where every element is still evaluated in the
same order. For `any`/`all` it is left to you, since a generator skips the elements after
the answer is known (and their side effects).

## When not to
Small inputs in hot code where the time matters more than the memory.
"#;

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Expr::Call(call) = expr else { return };
    let Some(arg @ Expr::ListComp(_)) = call.arguments.args.first() else {
        return;
    };
    let Some(reducer) = ["sum", "min", "max", "any", "all"]
        .into_iter()
        .find(|r| cx.resolves_to(&call.func, r))
    else {
        return;
    };
    let short_circuits = matches!(reducer, "any" | "all");
    let why = if short_circuits {
        "a generator would stop at the first decisive element"
    } else {
        "a generator would not hold every element in memory"
    };
    let mut f = finding(
        &RULE,
        arg.range(),
        format!("`{reducer}([...])` builds a list only to reduce it; {why}"),
    );
    if !short_circuits && only_arg(call).is_some() {
        let text = cx.text(arg.range());
        if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            f.fix = Some(Edit::replace(arg.range(), inner));
        }
    }
    out.push(f);
}
