//! Small shape tests on the syntax tree that several rules share.

use ruff_python_ast::{self as ast, Expr, Number, UnaryOp};

/// The value of an integer literal (`0`, `-1`).
pub fn int_value(expr: &Expr) -> Option<i64> {
    match expr {
        Expr::NumberLiteral(ast::ExprNumberLiteral {
            value: Number::Int(i),
            ..
        }) => i.as_i64(),
        Expr::UnaryOp(u) if u.op == UnaryOp::USub => int_value(&u.operand).map(|v| -v),
        _ => None,
    }
}

/// The only argument of a call with one positional argument and no keywords.
pub fn only_arg(call: &ast::ExprCall) -> Option<&Expr> {
    match (&*call.arguments.args, call.arguments.keywords.is_empty()) {
        ([arg], true) => Some(arg),
        _ => None,
    }
}

/// `receiver.method(...)`: the receiver, the method's name and the call.
pub fn method_call(expr: &Expr) -> Option<(&Expr, &str, &ast::ExprCall)> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Attribute(attr) = call.func.as_ref() else {
        return None;
    };
    Some((&attr.value, attr.attr.id.as_str(), call))
}

/// The identifier of a plain name expression.
pub fn name_of(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        _ => None,
    }
}

/// An expression that needs no parentheses wherever an operand goes: a name, attribute,
/// subscript, call or literal.
pub fn is_atom(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Name(_)
            | Expr::Attribute(_)
            | Expr::Subscript(_)
            | Expr::Call(_)
            | Expr::List(_)
            | Expr::Dict(_)
            | Expr::Set(_)
            | Expr::StringLiteral(_)
    )
}

/// Whether `expr` is `range(...)`, by name.
pub fn is_range_call(expr: &Expr) -> bool {
    matches!(expr, Expr::Call(c) if name_of(&c.func) == Some("range"))
}

/// `a[i][j]` as `(a, i, j)` when both indices are plain names.
pub fn double_index(expr: &Expr) -> Option<(&Expr, &str, &str)> {
    let Expr::Subscript(outer) = expr else {
        return None;
    };
    let Expr::Subscript(inner) = outer.value.as_ref() else {
        return None;
    };
    Some((&inner.value, name_of(&inner.slice)?, name_of(&outer.slice)?))
}
