//! FLU116: blocking network calls or sleeps one after another in a loop.

use super::Rule;
use crate::checker::{finding, Context, LoopKind};
use crate::diagnostic::Finding;
use crate::syntax::is_range_call;
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU116",
    "sequential-blocking-io",
    "Blocking network request or sleep in a loop over items, one at a time",
    DOCS,
)
.on_expr(check);

const DOCS: &str = r#"
## What
A blocking network call (`requests.get`/`post`/..., `urllib.request.urlopen`,
`httpx.get`/..., `socket.create_connection`) or `time.sleep` inside a `for` loop or
comprehension over a collection: each item waits for the previous one to finish.

## Why
These calls release the GIL and wait on the network or a timer; the CPU is idle meanwhile.
Done in sequence, the loop's wall time is the sum of all the latencies. Issued concurrently
(threads, since the GIL is released while waiting, or asyncio), it approaches the longest
single latency.

## Fix
`concurrent.futures.ThreadPoolExecutor().map(fetch, urls)`, a shared `requests.Session`
across threads, or an async client with `asyncio.gather`. Drop sleeps that only pace the
loop, or pace with a rate limiter shared by the workers.

## When not to
Requests that must be ordered (each depends on the previous answer), servers that rate-limit
you, and retry or search loops (any loop that can `return` or `break` early, such as
`for attempt in range(5): ... time.sleep(backoff)`), which are not flagged.
"#;

const NETWORK: &[&str] = &[
    "requests.get",
    "requests.post",
    "requests.put",
    "requests.patch",
    "requests.delete",
    "requests.head",
    "requests.request",
    "httpx.get",
    "httpx.post",
    "httpx.put",
    "httpx.delete",
    "httpx.request",
    "urllib.request.urlopen",
    "socket.create_connection",
];

fn check(cx: &Context<'_>, expr: &Expr, out: &mut Vec<Finding>) {
    let Expr::Call(call) = expr else { return };
    let Some(frame) = cx.innermost_loop() else {
        return;
    };
    if frame.kind == LoopKind::While || frame.exits || cx.function().is_some_and(|f| f.def.is_async)
    {
        return;
    }
    let over_items = frame.iter.is_some_and(|it| !is_range_call(it));
    if let Some(api) = NETWORK.iter().find(|p| cx.resolves_to(&call.func, p)) {
        out.push(finding(
            &RULE,
            expr.range(),
            format!("`{api}` in a loop waits for each response in turn; issue the requests concurrently (ThreadPoolExecutor, asyncio)"),
        ));
    } else if over_items && cx.resolves_to(&call.func, "time.sleep") {
        out.push(finding(
            &RULE,
            expr.range(),
            "`time.sleep` per item makes the loop's time the sum of the sleeps; pace the work concurrently or drop the sleep",
        ));
    }
}
