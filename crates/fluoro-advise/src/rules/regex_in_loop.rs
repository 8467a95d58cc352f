//! FLU108: regular expressions compiled or looked up by pattern string inside a loop.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU108",
    "regex-in-loop",
    "`re.compile` or `re.match(...)` with a pattern string inside a loop",
    DOCS,
)
.on_expr(check);

const DOCS: &str = r#"
## What
`re.compile("...")`, or a module-level function such as `re.match("...", s)`,
`re.search`, `re.sub`, `re.findall`, `re.split` with a literal pattern, inside a loop or
comprehension.

## Why
Every module-level `re` call goes through `re._compile`: it checks the flags, builds the
cache key `(type(pattern), pattern, flags)` and looks it up in the module's cache dict (512
entries, evicted oldest first), and only then calls the compiled pattern's method. That is a
Python-level function call and dict lookup per iteration before any matching starts, and a
program with more than 512 distinct patterns recompiles them (the sre compiler, in Python)
again and again.

## Fix
Compile once at module level or before the loop: `WORD = re.compile(r"\w+")`, then
`WORD.match(s)` inside.

## When not to
Loops that run a few times; the cache already avoids recompiling the same pattern.
"#;

const FUNCTIONS: &[&str] = &[
    "re.compile",
    "re.match",
    "re.search",
    "re.fullmatch",
    "re.findall",
    "re.finditer",
    "re.sub",
    "re.subn",
    "re.split",
];

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Expr::Call(call) = expr else { return };
    if !cx.in_loop() {
        return;
    }
    let Some(pattern) = call.arguments.args.first() else {
        return;
    };
    if !matches!(pattern, Expr::StringLiteral(_) | Expr::BytesLiteral(_)) {
        return;
    }
    let Some(function) = FUNCTIONS.iter().find(|f| cx.resolves_to(&call.func, f)) else {
        return;
    };
    let message = if *function == "re.compile" {
        "`re.compile` with a constant pattern inside a loop; compile it once outside".to_owned()
    } else {
        format!("`{function}` with a pattern string in a loop looks the pattern up in re's cache on every call; compile it once and call its method")
    };
    out.push(finding(&RULE, expr.range(), message));
}
