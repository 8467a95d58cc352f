//! Simple local type inference: what kind of value a name holds, when every binding of it in
//! one scope says the same (a literal, a `list()`/`[]` constructor, arithmetic of known kinds,
//! a parameter's annotation). Anything else is [`Kind::Unknown`], and rules that need a kind
//! stay quiet on it.

use ruff_python_ast::{self as ast, Expr, Number, Operator, Stmt};
use std::collections::HashMap;

/// The kind of value an expression or a name holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    List,
    Tuple,
    Str,
    Bytes,
    Set,
    Dict,
    Deque,
    Int,
    Float,
    Unknown,
}

impl Kind {
    fn join(self, other: Kind) -> Kind {
        if self == other {
            self
        } else {
            Kind::Unknown
        }
    }

    /// The kind of `left OP right`, when it is certain.
    pub fn binary(left: Kind, op: Operator, right: Kind) -> Kind {
        use Kind::*;
        match (left, op, right) {
            // A sequence plus anything is that sequence or a TypeError.
            (Str, Operator::Add | Operator::Mod, _) => Str,
            (Bytes, Operator::Add | Operator::Mod, _) => Bytes,
            (List, Operator::Add, _) => List,
            (Tuple, Operator::Add, _) => Tuple,
            (Int | Float, Operator::Div, Int | Float) => Float,
            (Int, Operator::Add | Operator::Sub | Operator::Mult | Operator::FloorDiv, Int) => Int,
            (Float, Operator::Add | Operator::Sub | Operator::Mult, Int | Float)
            | (Int, Operator::Add | Operator::Sub | Operator::Mult, Float) => Float,
            _ => Unknown,
        }
    }
}

/// The kinds of the names bound in one scope (a function body or the module).
#[derive(Debug, Default, Clone)]
pub struct Scope<'a> {
    kinds: HashMap<&'a str, Kind>,
    /// How many times each name is bound (assigned, augmented, imported, deleted, ...).
    bindings: HashMap<&'a str, u32>,
}

impl<'a> Scope<'a> {
    /// Infers from every binding in `body`, not descending into nested functions or classes
    /// (their names are bound, of unknown kind). `params` are bound on entry, of the kind
    /// their annotation says (`items: list[str]`).
    pub fn of_body(body: &'a [Stmt], params: Option<&'a ast::Parameters>) -> Self {
        let mut scope = Scope::default();
        if let Some(params) = params {
            for p in params.iter() {
                let annotated = p.annotation().filter(|_| !p.is_variadic());
                let kind = annotated.and_then(annotation_kind).unwrap_or(Kind::Unknown);
                scope.bind(p.name().as_str(), kind);
            }
        }
        scope.body(body);
        scope
    }

    /// The kind of `name` if it is bound in this scope.
    pub fn get(&self, name: &str) -> Option<Kind> {
        self.kinds.get(name).copied()
    }

    pub fn binds(&self, name: &str) -> bool {
        self.kinds.contains_key(name)
    }

    /// Whether `name` is bound exactly once in this scope: never rebound after its first value.
    pub fn bound_once(&self, name: &str) -> bool {
        self.bindings.get(name) == Some(&1)
    }

    fn bind(&mut self, name: &'a str, kind: Kind) {
        *self.bindings.entry(name).or_default() += 1;
        self.kinds
            .entry(name)
            .and_modify(|k| *k = k.join(kind))
            .or_insert(kind);
    }

    fn bind_target(&mut self, target: &'a Expr, kind: Kind) {
        match target {
            Expr::Name(n) => self.bind(n.id.as_str(), kind),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                for e in elts {
                    self.bind_target(e, Kind::Unknown);
                }
            }
            Expr::Starred(s) => self.bind_target(&s.value, Kind::Unknown),
            _ => {}
        }
    }

    fn body(&mut self, body: &'a [Stmt]) {
        for stmt in body {
            self.stmt(stmt);
        }
    }

    fn stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Assign(a) => {
                let kind = if a.targets.len() == 1 {
                    self.expr_kind(&a.value)
                } else {
                    Kind::Unknown
                };
                for t in &a.targets {
                    self.bind_target(t, kind);
                }
                self.walrus(&a.value);
            }
            Stmt::AnnAssign(a) => {
                // `x: list[str] = load()` says what `load()` cannot.
                let kind = match a.value.as_deref().map(|v| self.expr_kind(v)) {
                    Some(Kind::Unknown) | None => {
                        annotation_kind(&a.annotation).unwrap_or(Kind::Unknown)
                    }
                    Some(kind) => kind,
                };
                self.bind_target(&a.target, kind);
            }
            Stmt::AugAssign(a) => {
                if let Expr::Name(n) = a.target.as_ref() {
                    let before = self.get(n.id.as_str()).unwrap_or(Kind::Unknown);
                    let after = Kind::binary(before, a.op, self.expr_kind(&a.value));
                    self.bind(n.id.as_str(), after);
                }
            }
            Stmt::For(f) => {
                self.bind_target(&f.target, Kind::Unknown);
                self.body(&f.body);
                self.body(&f.orelse);
            }
            Stmt::While(w) => {
                self.walrus(&w.test);
                self.body(&w.body);
                self.body(&w.orelse);
            }
            Stmt::If(i) => {
                self.walrus(&i.test);
                self.body(&i.body);
                for clause in &i.elif_else_clauses {
                    self.body(&clause.body);
                }
            }
            Stmt::With(w) => {
                for item in &w.items {
                    if let Some(v) = &item.optional_vars {
                        self.bind_target(v, Kind::Unknown);
                    }
                }
                self.body(&w.body);
            }
            Stmt::Try(t) => {
                self.body(&t.body);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    if let Some(name) = &h.name {
                        self.bind(name.id.as_str(), Kind::Unknown);
                    }
                    self.body(&h.body);
                }
                self.body(&t.orelse);
                self.body(&t.finalbody);
            }
            Stmt::Match(m) => {
                // Capture patterns bind names of unknown kind; the bodies are walked.
                for case in &m.cases {
                    self.pattern(&case.pattern);
                    self.body(&case.body);
                }
            }
            Stmt::FunctionDef(f) => self.bind(f.name.id.as_str(), Kind::Unknown),
            Stmt::ClassDef(c) => self.bind(c.name.id.as_str(), Kind::Unknown),
            Stmt::Import(i) => {
                for alias in &i.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name).id.as_str();
                    let bound = bound.split('.').next().unwrap_or(bound);
                    self.bind(bound, Kind::Unknown);
                }
            }
            Stmt::ImportFrom(i) => {
                for alias in &i.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                    self.bind(bound.id.as_str(), Kind::Unknown);
                }
            }
            Stmt::Global(g) => {
                for n in &g.names {
                    self.bind(n.id.as_str(), Kind::Unknown);
                    // A global's kind is the module's business: never trust a local guess.
                    self.kinds.insert(n.id.as_str(), Kind::Unknown);
                }
            }
            Stmt::Nonlocal(g) => {
                for n in &g.names {
                    self.kinds.insert(n.id.as_str(), Kind::Unknown);
                }
            }
            Stmt::Delete(d) => {
                for t in &d.targets {
                    if let Expr::Name(n) = t {
                        self.bind(n.id.as_str(), Kind::Unknown);
                    }
                }
            }
            Stmt::Expr(e) => self.walrus(&e.value),
            _ => {}
        }
    }

    fn pattern(&mut self, pattern: &'a ast::Pattern) {
        use ast::Pattern;
        match pattern {
            Pattern::MatchAs(p) => {
                if let Some(name) = &p.name {
                    self.bind(name.id.as_str(), Kind::Unknown);
                }
                if let Some(p) = &p.pattern {
                    self.pattern(p);
                }
            }
            Pattern::MatchStar(p) => {
                if let Some(name) = &p.name {
                    self.bind(name.id.as_str(), Kind::Unknown);
                }
            }
            Pattern::MatchMapping(p) => {
                if let Some(name) = &p.rest {
                    self.bind(name.id.as_str(), Kind::Unknown);
                }
                for p in &p.patterns {
                    self.pattern(p);
                }
            }
            Pattern::MatchSequence(p) => p.patterns.iter().for_each(|p| self.pattern(p)),
            Pattern::MatchOr(p) => p.patterns.iter().for_each(|p| self.pattern(p)),
            Pattern::MatchClass(p) => {
                for p in &p.arguments.patterns {
                    self.pattern(p);
                }
                for k in &p.arguments.keywords {
                    self.pattern(&k.pattern);
                }
            }
            Pattern::MatchValue(_) | Pattern::MatchSingleton(_) => {}
        }
    }

    /// Names bound by `:=` anywhere in an expression are of unknown kind.
    fn walrus(&mut self, expr: &'a Expr) {
        if let Expr::Named(n) = expr {
            self.bind_target(&n.target, Kind::Unknown);
        }
    }

    /// The kind of `expr`, using what this scope knows so far.
    pub fn expr_kind(&self, expr: &Expr) -> Kind {
        self.expr_kind_in(expr, &|_| Kind::Unknown)
    }

    /// The kind of `expr`, with `outer` giving the kind of a name this scope does not bind
    /// (a free variable: an enclosing function's or the module's).
    pub fn expr_kind_in(&self, expr: &Expr, outer: &dyn Fn(&str) -> Kind) -> Kind {
        literal_kind(expr).unwrap_or_else(|| match expr {
            Expr::Name(n) => {
                let name = n.id.as_str();
                self.get(name).unwrap_or_else(|| outer(name))
            }
            Expr::BinOp(b) => Kind::binary(
                self.expr_kind_in(&b.left, outer),
                b.op,
                self.expr_kind_in(&b.right, outer),
            ),
            _ => Kind::Unknown,
        })
    }
}

/// The kind an annotation names: `list`, `list[int]`, `List[int]`, `typing.List[int]` (and
/// the same for `set`, `frozenset`, `dict`, `tuple`); `None` for anything else.
pub fn annotation_kind(annotation: &Expr) -> Option<Kind> {
    let head = match annotation {
        Expr::Subscript(s) => s.value.as_ref(),
        other => other,
    };
    let name = match head {
        Expr::Name(n) => n.id.as_str(),
        Expr::Attribute(a) if matches!(a.value.as_ref(), Expr::Name(m) if m.id.as_str() == "typing") => {
            a.attr.id.as_str()
        }
        _ => return None,
    };
    Some(match name {
        "list" | "List" => Kind::List,
        "set" | "Set" | "frozenset" | "FrozenSet" => Kind::Set,
        "dict" | "Dict" => Kind::Dict,
        "tuple" | "Tuple" => Kind::Tuple,
        _ => return None,
    })
}

/// The kind of an expression that says it by itself: a literal, a display, a comprehension,
/// or a call of a builtin constructor.
pub fn literal_kind(expr: &Expr) -> Option<Kind> {
    Some(match expr {
        Expr::List(_) | Expr::ListComp(_) => Kind::List,
        Expr::Tuple(_) => Kind::Tuple,
        Expr::StringLiteral(_) | Expr::FString(_) => Kind::Str,
        Expr::BytesLiteral(_) => Kind::Bytes,
        Expr::Set(_) | Expr::SetComp(_) => Kind::Set,
        Expr::Dict(_) | Expr::DictComp(_) => Kind::Dict,
        Expr::NumberLiteral(n) => match n.value {
            Number::Int(_) => Kind::Int,
            Number::Float(_) => Kind::Float,
            Number::Complex { .. } => return None,
        },
        Expr::Call(call) => {
            let name = match call.func.as_ref() {
                Expr::Name(n) => n.id.as_str(),
                Expr::Attribute(a) if a.attr.id.as_str() == "deque" => "deque",
                Expr::Attribute(a) if a.attr.id.as_str() == "join" => {
                    return matches!(a.value.as_ref(), Expr::StringLiteral(_)).then_some(Kind::Str)
                }
                _ => return None,
            };
            match name {
                "list" | "sorted" => Kind::List,
                "tuple" => Kind::Tuple,
                "str" | "repr" => Kind::Str,
                "bytes" => Kind::Bytes,
                "set" => Kind::Set,
                "dict" => Kind::Dict,
                "deque" => Kind::Deque,
                "int" | "len" => Kind::Int,
                "float" => Kind::Float,
                _ => return None,
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(String, Kind)> {
        let parsed = ruff_python_parser::parse_module(src).unwrap();
        let scope = Scope::of_body(&parsed.syntax().body, None);
        let mut out: Vec<_> = scope
            .kinds
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn same_kind_everywhere_or_unknown() {
        let got = kinds("a = []\nb = ''\nb += 'x'\nc = 0\nc = 'x'\nd = 1.5\ne = list(x)\nacc = []\nacc += [1]\nn = 0\nn += 1\nf = 0\nf += 0.5\n");
        let expect = [
            ("a", Kind::List),
            ("acc", Kind::List),
            ("b", Kind::Str),
            ("c", Kind::Unknown),
            ("d", Kind::Float),
            ("e", Kind::List),
            ("f", Kind::Unknown),
            ("n", Kind::Int),
        ];
        assert_eq!(
            got,
            expect.map(|(n, k)| (n.to_owned(), k)).to_vec(),
            "kinds differ"
        );
    }

    fn parse(src: &str) -> ruff_python_parser::Parsed<ast::ModModule> {
        ruff_python_parser::parse_module(src).unwrap()
    }

    #[test]
    fn annotations_name_kinds() {
        let parsed = parse(
            "def f(a: list[int], b: List[str], c: typing.List, d: set, e: Sequence[int], *f: list, g=[]): pass\nx: list[int] = load()\ny: set = []\n",
        );
        let body = &parsed.syntax().body;
        let Stmt::FunctionDef(f) = &body[0] else {
            panic!("a function")
        };
        let scope = Scope::of_body(&f.body, Some(&f.parameters));
        let got: Vec<Option<Kind>> = ["a", "b", "c", "d", "e", "f", "g"]
            .iter()
            .map(|n| scope.get(n))
            .collect();
        use Kind::*;
        let expect = [List, List, List, Set, Unknown, Unknown, Unknown];
        assert_eq!(got, expect.map(Some).to_vec());
        let module = Scope::of_body(body, None);
        // The annotation speaks when the value does not; a known value wins.
        assert_eq!(module.get("x"), Some(List));
        assert_eq!(module.get("y"), Some(List));
    }

    #[test]
    fn bound_once_counts_every_binding() {
        let parsed = parse("A = [1]\nB = [1]\nB = [2]\nC = []\nC += [1]\nfor D in x: pass\n");
        let scope = Scope::of_body(&parsed.syntax().body, None);
        assert!(scope.bound_once("A"));
        assert!(!scope.bound_once("B"));
        assert!(!scope.bound_once("C"));
        assert!(scope.bound_once("D"));
        assert!(!scope.bound_once("E"));
    }
}
