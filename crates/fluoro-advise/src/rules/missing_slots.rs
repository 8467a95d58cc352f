//! FLU122: classes instantiated in bulk (measured) without `__slots__`.

use super::Rule;
use crate::checker::{finding, Context};
use crate::diagnostic::Finding;
use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;

pub const RULE: Rule = Rule::new(
    "FLU122",
    "missing-slots",
    "Class whose construction is measurably hot has no `__slots__` (needs --profile)",
    DOCS,
)
.on_stmt(check)
.needs_profile();

/// Share of the profile's time in `__init__` from which instances count as many.
const HOT_SHARE: f64 = 0.01;

const DOCS: &str = r#"
## What
A class without `__slots__`, with a plain base, whose `__init__` sets instance attributes and
took at least 1 % of the measured time in the profile given with `--profile` (or by
`fluoro run --advise`): the program creates many instances. Without a profile this rule stays
quiet; the source alone cannot say how many instances there will be.

## Why
Every instance of a class without `__slots__` carries a `__dict__`: on 3.11+ a values array
shared-key layout, materialised as a full dict (a hash table of 100+ bytes) as soon as the
attributes diverge, plus the object header and a weakref slot. With `__slots__` the
attributes live at fixed offsets in the object itself, read and written through member
descriptors. Measured with tracemalloc on 3.11, a list of 100,000 three-attribute instances
took 104 bytes an element without `__slots__` and 64 with (the list's pointer included);
more once an instance's `__dict__` is materialised.

## Fix
`__slots__ = ("x", "y", ...)` listing every attribute, or `@dataclass(slots=True)` (3.10+).

## When not to
Classes that need arbitrary attributes, `__dict__`-based pickling or copying tricks, weak
references (add `"__weakref__"` to the slots), or multiple inheritance from several slotted
bases.
"#;

fn assigns_self_attributes(body: &[Stmt]) -> bool {
    body.iter().any(|s| match s {
        Stmt::Assign(a) => a.targets.iter().any(|t| {
            matches!(t, Expr::Attribute(attr) if matches!(attr.value.as_ref(), Expr::Name(n) if n.id.as_str() == "self"))
        }),
        Stmt::AnnAssign(a) => {
            matches!(a.target.as_ref(), Expr::Attribute(attr) if matches!(attr.value.as_ref(), Expr::Name(n) if n.id.as_str() == "self"))
        }
        _ => false,
    })
}

fn check(cx: &Context<'_>, stmt: &Stmt, out: &mut Vec<Finding>) {
    let Stmt::ClassDef(class) = stmt else { return };
    if cx.costs.is_none() {
        return;
    }
    let plain_base = class.arguments.as_ref().is_none_or(|a| {
        a.keywords.is_empty()
            && a.args
                .iter()
                .all(|b| matches!(b, Expr::Name(n) if n.id.as_str() == "object"))
    });
    let has_slots = class.body.iter().any(|s| match s {
        Stmt::Assign(a) => a
            .targets
            .iter()
            .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == "__slots__")),
        Stmt::AnnAssign(a) => {
            matches!(a.target.as_ref(), Expr::Name(n) if n.id.as_str() == "__slots__")
        }
        _ => false,
    });
    if !plain_base || has_slots {
        return;
    }
    let Some(init) = class.body.iter().find_map(|s| match s {
        Stmt::FunctionDef(f) if f.name.id.as_str() == "__init__" => Some(f),
        _ => None,
    }) else {
        return;
    };
    if !assigns_self_attributes(&init.body) {
        return;
    }
    let Some(share) = cx.measured_share(init.range) else {
        return;
    };
    if share >= HOT_SHARE {
        out.push(finding(
            &RULE,
            class.name.range(),
            format!(
                "`{}.__init__` took {:.1} % of the measured time, so instances are many; `__slots__` saves each one its __dict__",
                class.name.id,
                share * 100.0
            ),
        ));
    }
}
