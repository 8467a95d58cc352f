//! FLU117: blocking calls (`time.sleep`, `requests.get`) inside `async def`.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU117",
    "blocking-call-in-async",
    "`time.sleep` or a blocking request inside `async def` stalls the event loop",
    DOCS,
)
.on_expr(check);

const DOCS: &str = r#"
## What
`time.sleep(...)`, `requests.get(...)` and similar blocking calls written directly in the body
of an `async def`.

## Why
An event loop runs all coroutines on one thread and switches only at `await`. A blocking
call never yields: the whole loop, every other task and timer, stops until it returns. A
`time.sleep(1)` in a handler serialises every request behind it.

## Fix
`await asyncio.sleep(...)`; an async HTTP client (aiohttp, httpx.AsyncClient); or move
blocking work to a thread with `await asyncio.to_thread(fn, ...)` /
`loop.run_in_executor`.

## When not to
A `time.sleep(0)` used deliberately, or code that runs before the event loop starts.
"#;

const BLOCKING: &[&str] = &[
    "time.sleep",
    "requests.get",
    "requests.post",
    "requests.put",
    "requests.delete",
    "requests.request",
    "urllib.request.urlopen",
];

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Expr::Call(call) = expr else { return };
    if !cx.function().is_some_and(|f| f.def.is_async) {
        return;
    }
    let Some(api) = BLOCKING.iter().find(|p| cx.resolves_to(&call.func, p)) else {
        return;
    };
    let instead = if *api == "time.sleep" {
        "await asyncio.sleep(...)"
    } else {
        "an async client or await asyncio.to_thread(...)"
    };
    out.push(finding(
        &RULE,
        expr.range(),
        format!("`{api}` in `async def` blocks the event loop; use {instead}"),
    ));
}
