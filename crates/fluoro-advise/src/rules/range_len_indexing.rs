//! FLU125: `for i in range(len(xs))` that only reads `xs[i]`.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use crate::syntax::{name_of, only_arg};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ExprContext, Stmt};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU125",
    "range-len-indexing",
    "`for i in range(len(xs))` that only uses `xs[i]`",
    DOCS,
)
.on_stmt(check);

const DOCS: &str = r#"
## What
`for i in range(len(xs)):` where the body uses `i` only to read `xs[i]`.

## Why
Every iteration pays for the range iterator producing an int, then a `BINARY_SUBSCR` (with
bounds check) to fetch the element. Iterating the list directly (`FOR_ITER_LIST` on 3.12+)
hands out the elements with no index arithmetic and no subscript.

## Fix
`for x in xs:`, or `for i, x in enumerate(xs):` when the index is also needed.

## When not to
When the loop body changes `xs` (its length or elements) and the index walk is on purpose.
"#;

struct IndexUses<'a> {
    index: &'a str,
    seq: &'a str,
    only_subscripts: bool,
    writes_seq: bool,
    subscripts: usize,
}

impl<'a> Visitor<'a> for IndexUses<'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Subscript(s)
                if name_of(&s.value) == Some(self.seq) && name_of(&s.slice) == Some(self.index) =>
            {
                self.subscripts += 1;
                if s.ctx != ExprContext::Load {
                    self.writes_seq = true;
                }
            }
            Expr::Name(n) if n.id.as_str() == self.index => self.only_subscripts = false,
            Expr::Name(n) if n.id.as_str() == self.seq && n.ctx != ExprContext::Load => {
                self.writes_seq = true;
            }
            _ => visitor::walk_expr(self, expr),
        }
    }
}

fn check(cx: &Context<'_>, stmt: &Stmt, out: &mut Vec<Finding>) {
    let Stmt::For(f) = stmt else { return };
    let Some(index) = name_of(&f.target) else {
        return;
    };
    let Expr::Call(range) = f.iter.as_ref() else {
        return;
    };
    if !cx.resolves_to(&range.func, "range") {
        return;
    }
    let Some(Expr::Call(len)) = only_arg(range) else {
        return;
    };
    if !cx.resolves_to(&len.func, "len") {
        return;
    }
    let Some(seq) = only_arg(len).and_then(name_of) else {
        return;
    };
    let mut uses = IndexUses {
        index,
        seq,
        only_subscripts: true,
        writes_seq: false,
        subscripts: 0,
    };
    uses.visit_body(&f.body);
    if uses.only_subscripts && !uses.writes_seq && uses.subscripts > 0 {
        out.push(finding(
            &RULE,
            f.iter.range(),
            format!("`{index}` only indexes `{seq}`; iterate `for x in {seq}` instead of subscripting each item"),
        ));
    }
}
