//! FLU111: recursion with overlapping subproblems and no cache.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Operator, Stmt};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU111",
    "uncached-recursion",
    "Recursive function with overlapping subproblems and no cache",
    DOCS,
)
.on_stmt(check);

const DOCS: &str = r#"
## What
A function that calls itself two or more times with arguments derived from its own
parameters, each call making one of them smaller (`fib(n - 1) + fib(n - 2)`, `f(n // 2)`,
`f(s[1:], t)`), with no `functools.cache` / `lru_cache`. Recursion over a tree (`walk(node.left)`, `for c in node.children: walk(c)`)
is not flagged: each call gets a different, smaller piece.

## Why
Each call creates a frame (`_PyInterpreterFrame`, pushed and popped by the interpreter), and
without a cache the same subproblem is solved again every time it is reached: the call tree
of `fib(n)` has O(φⁿ) nodes for n distinct values. A cache turns it into O(n) calls plus a
dict lookup each.

## Fix
Decorate with `@functools.cache` (arguments must be hashable), or rewrite bottom-up with a
loop and a table.

## When not to
Arguments that are unhashable or huge, or a recursion whose subproblems do not actually
repeat (the analysis only sees that the arguments shrink).
"#;

/// An argument built only from parameters, constants, arithmetic and slices.
fn derived(expr: &Expr, params: &[&str]) -> bool {
    match expr {
        Expr::Name(n) => params.contains(&n.id.as_str()),
        Expr::NumberLiteral(_) | Expr::BooleanLiteral(_) | Expr::NoneLiteral(_) => true,
        Expr::BinOp(b) => {
            matches!(
                b.op,
                Operator::Sub
                    | Operator::Add
                    | Operator::FloorDiv
                    | Operator::RShift
                    | Operator::Mult
            ) && derived(&b.left, params)
                && derived(&b.right, params)
        }
        Expr::Subscript(s) => {
            matches!(s.slice.as_ref(), Expr::Slice(_)) && derived(&s.value, params)
        }
        _ => false,
    }
}

/// Whether an argument makes the subproblem smaller: `n - 1`, `n // 2`, `n >> 1`, `s[1:]`.
/// (`depth + 1` grows a counter, as parsers and walkers do, and is not taken as a subproblem.)
fn shrinks(expr: &Expr) -> bool {
    match expr {
        Expr::BinOp(b) => matches!(b.op, Operator::Sub | Operator::FloorDiv | Operator::RShift),
        Expr::Subscript(_) => true,
        _ => false,
    }
}

struct SelfCalls<'a> {
    name: &'a str,
    calls: Vec<&'a ast::ExprCall>,
}

impl<'a> Visitor<'a> for SelfCalls<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
            visitor::walk_stmt(self, stmt);
        }
    }
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr {
            if matches!(call.func.as_ref(), Expr::Name(n) if n.id.as_str() == self.name) {
                self.calls.push(call);
            }
        }
        if !matches!(expr, Expr::Lambda(_)) {
            visitor::walk_expr(self, expr);
        }
    }
}

fn cached(cx: &Context<'_>, def: &ast::StmtFunctionDef) -> bool {
    def.decorator_list.iter().any(|d| {
        let func = match &d.expression {
            Expr::Call(c) => c.func.as_ref(),
            other => other,
        };
        let text = cx.text(func.range()).to_ascii_lowercase();
        text.contains("cache") || text.contains("memo")
    })
}

fn check(cx: &Context<'_>, stmt: &Stmt, out: &mut Vec<Finding>) {
    let Stmt::FunctionDef(def) = stmt else { return };
    if cached(cx, def) {
        return;
    }
    let params: Vec<&str> = def.parameters.iter().map(|p| p.name().as_str()).collect();
    if params.is_empty()
        || params
            .iter()
            .any(|p| p.contains("memo") || p.contains("cache") || *p == "seen")
    {
        return;
    }
    let mut finder = SelfCalls {
        name: def.name.id.as_str(),
        calls: Vec::new(),
    };
    finder.visit_body(&def.body);
    if finder.calls.len() < 2 {
        return;
    }
    let all_derived = finder.calls.iter().all(|c| {
        !c.arguments.args.is_empty()
            && c.arguments.args.iter().all(|a| derived(a, &params))
            && c.arguments
                .keywords
                .iter()
                .all(|k| derived(&k.value, &params))
    });
    let any_shrinks = finder
        .calls
        .iter()
        .all(|c| c.arguments.args.iter().any(shrinks));
    if all_derived && any_shrinks {
        out.push(finding(
            &RULE,
            def.name.range(),
            format!(
                "`{}` calls itself from {} places on overlapping subproblems without a cache; add @functools.cache",
                def.name.id,
                finder.calls.len()
            ),
        ));
    }
}
