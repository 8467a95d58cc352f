//! One walk over a module's tree that keeps the context rules ask about (enclosing loops and
//! what they rebind, the enclosing function, inferred kinds of names, imports) and calls every
//! enabled rule on each statement and expression, before descending into it.

use crate::diagnostic::Finding;
use crate::kinds::{Kind, Scope};
use crate::locator::LineIndex;
use crate::rank::FileCosts;
use crate::rules::{Rule, RuleSet};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, ExprContext, Stmt};
use ruff_text_size::{Ranged, TextRange};
use std::collections::{HashMap, HashSet};

/// What kind of loop encloses a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopKind {
    For,
    While,
    Comprehension,
}

/// An enclosing loop: its loop variables, and the names rebound or mutated in it (a name that
/// is neither holds the same value on every iteration).
#[derive(Debug)]
pub struct LoopFrame<'a> {
    pub kind: LoopKind,
    pub range: TextRange,
    /// The iterable of a `for` loop or of a comprehension's first generator.
    pub iter: Option<&'a Expr>,
    /// Names bound by the loop's targets.
    pub targets: Vec<&'a str>,
    pub assigned: HashSet<&'a str>,
    /// Names given a fresh value in the loop (assigned other than by accumulating into
    /// themselves with `x += ...` or `x = x + ...`): per-iteration temporaries.
    pub rebound: HashSet<&'a str>,
    pub mutated: HashSet<&'a str>,
    /// The loop's body can leave it early (`return` or `break`): a retry or search loop.
    pub exits: bool,
}

impl LoopFrame<'_> {
    /// Whether `name` may hold a different value, or be changed in place, from one
    /// iteration to the next.
    pub fn varies(&self, name: &str) -> bool {
        self.assigned.contains(name) || self.mutated.contains(name)
    }
}

/// The enclosing function.
#[derive(Debug)]
pub struct FunctionFrame<'a> {
    pub def: &'a ast::StmtFunctionDef,
    pub scope: Scope<'a>,
}

/// A name bound by an import: `import numpy as np` gives `np → (numpy, None)`,
/// `from copy import deepcopy` gives `deepcopy → (copy, Some(deepcopy))`.
#[derive(Debug, Clone, Copy)]
pub struct Import<'a> {
    pub module: &'a str,
    pub member: Option<&'a str>,
}

/// What rules can ask about the node they are called on.
pub struct Context<'a> {
    pub source: &'a str,
    pub index: &'a LineIndex,
    pub loops: Vec<LoopFrame<'a>>,
    pub functions: Vec<FunctionFrame<'a>>,
    pub module: Scope<'a>,
    /// Names some function declares `global`: the module's binding of them may change.
    pub declared_global: HashSet<&'a str>,
    pub imports: HashMap<&'a str, Import<'a>>,
    pub class_depth: usize,
    /// Measured time per line of this file, when advising with a profile.
    pub costs: Option<&'a FileCosts>,
    saved_loops: Vec<Vec<LoopFrame<'a>>>,
}

impl<'a> Context<'a> {
    /// The innermost enclosing loop.
    pub fn innermost_loop(&self) -> Option<&LoopFrame<'a>> {
        self.loops.last()
    }

    pub fn in_loop(&self) -> bool {
        !self.loops.is_empty()
    }

    pub fn function(&self) -> Option<&FunctionFrame<'a>> {
        self.functions.last()
    }

    /// Code that runs at module level (not in a function or class body).
    pub fn at_module_level(&self) -> bool {
        self.functions.is_empty() && self.class_depth == 0
    }

    /// The scope names are looked up in: the function's, or the module's at module level.
    pub fn scope(&self) -> Option<&Scope<'a>> {
        match self.functions.last() {
            Some(f) => Some(&f.scope),
            None if self.class_depth == 0 => Some(&self.module),
            None => None,
        }
    }

    /// The inferred kind of `expr` in the current scope; a name the function does not bind is
    /// looked up where Python finds it (see [`Context::free_kind`]).
    pub fn kind(&self, expr: &Expr) -> Kind {
        match self.scope() {
            Some(scope) => scope.expr_kind_in(expr, &|name| self.free_kind(name)),
            None => crate::kinds::literal_kind(expr).unwrap_or(Kind::Unknown),
        }
    }

    /// The kind of a name the current function does not bind: an enclosing function's (class
    /// bodies are not enclosing scopes), else the module's, when the module binds it once and
    /// no function declares it `global` (`BANNED = [...]` at module level, never rebound).
    fn free_kind(&self, name: &str) -> Kind {
        if self.functions.is_empty() {
            // At module level the scope asked is the module itself.
            return Kind::Unknown;
        }
        let mut enclosing = self.functions.iter().rev().skip(1);
        if let Some(f) = enclosing.find(|f| f.scope.binds(name)) {
            return f.scope.get(name).unwrap_or(Kind::Unknown);
        }
        if self.module.bound_once(name) && !self.declared_global.contains(name) {
            self.module.get(name).unwrap_or(Kind::Unknown)
        } else {
            Kind::Unknown
        }
    }

    /// Whether `name` is bound by the code itself (so it is not the builtin of that name).
    fn shadowed(&self, name: &str) -> bool {
        self.imports.contains_key(name)
            || self.module.binds(name)
            || self.functions.iter().any(|f| f.scope.binds(name))
    }

    /// Whether `expr` names `path`: a builtin (`"sorted"`), an imported module's member
    /// (`"re.compile"`, `"urllib.request.urlopen"`) reached by attribute or by from-import.
    pub fn resolves_to(&self, expr: &Expr, path: &str) -> bool {
        match expr {
            Expr::Name(n) => {
                let name = n.id.as_str();
                match self.imports.get(name) {
                    Some(Import {
                        module,
                        member: Some(member),
                    }) => path
                        .rsplit_once('.')
                        .is_some_and(|(m, a)| m == *module && a == *member),
                    Some(Import {
                        module,
                        member: None,
                    }) => path == *module,
                    None => !path.contains('.') && name == path && !self.shadowed(name),
                }
            }
            Expr::Attribute(a) => path.rsplit_once('.').is_some_and(|(prefix, attr)| {
                a.attr.id.as_str() == attr && self.resolves_to(&a.value, prefix)
            }),
            _ => false,
        }
    }

    /// Whether `expr` is a call of `path` (see [`Context::resolves_to`]).
    pub fn is_call_to<'e>(&self, expr: &'e Expr, path: &str) -> Option<&'e ast::ExprCall> {
        match expr {
            Expr::Call(call) if self.resolves_to(&call.func, path) => Some(call),
            _ => None,
        }
    }

    /// Whether `expr` has the same value on every iteration of `frame`: built from names the
    /// loop neither rebinds nor mutates, attributes, subscripts and constants (no calls).
    pub fn invariant_in(&self, expr: &Expr, frame: &LoopFrame<'_>) -> bool {
        match expr {
            Expr::Name(n) => !frame.varies(n.id.as_str()),
            Expr::Attribute(a) => self.invariant_in(&a.value, frame),
            Expr::Subscript(s) => {
                self.invariant_in(&s.value, frame) && self.invariant_in(&s.slice, frame)
            }
            Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_) => true,
            Expr::BinOp(b) => {
                self.invariant_in(&b.left, frame) && self.invariant_in(&b.right, frame)
            }
            Expr::UnaryOp(u) => self.invariant_in(&u.operand, frame),
            Expr::Tuple(t) => t.elts.iter().all(|e| self.invariant_in(e, frame)),
            _ => false,
        }
    }

    /// Whether the statements at `range` were measured as hot: at least `min_share` of the
    /// profile's time. `None` without a profile.
    pub fn measured_share(&self, range: TextRange) -> Option<f64> {
        let costs = self.costs?;
        let first = self.index.line(range.start().to_usize());
        let last = self.index.line(range.end().to_usize());
        Some(costs.share(first, last))
    }

    /// The source text of a node.
    pub fn text(&self, range: TextRange) -> &'a str {
        self.source
            .get(range.start().to_usize()..range.end().to_usize())
            .unwrap_or("")
    }
}

/// A rule's check of one statement.
pub type StmtCheck = fn(&Context<'_>, &Stmt, &mut Vec<Finding>);
/// A rule's check of one expression.
pub type ExprCheck = fn(&Context<'_>, &Expr, &mut Vec<Finding>);

/// A finding of `rule` at `range`.
pub fn finding(rule: &'static Rule, range: TextRange, message: impl Into<String>) -> Finding {
    Finding {
        rule,
        range,
        message: message.into(),
        fix: None,
    }
}

/// Runs the enabled rules over a parsed module.
pub fn check_module<'a>(
    source: &'a str,
    index: &'a LineIndex,
    module: &'a ast::ModModule,
    rules: &RuleSet,
    costs: Option<&'a FileCosts>,
) -> Vec<Finding> {
    let mut imports = HashMap::new();
    collect_imports(&module.body, &mut imports);
    let mut globals = GlobalDeclarations::default();
    globals.visit_body(&module.body);
    let mut walker = Walker {
        cx: Context {
            source,
            index,
            loops: Vec::new(),
            functions: Vec::new(),
            module: Scope::of_body(&module.body, None),
            declared_global: globals.names,
            imports,
            class_depth: 0,
            costs,
            saved_loops: Vec::new(),
        },
        stmt_checks: rules.stmt_checks(),
        expr_checks: rules.expr_checks(),
        findings: Vec::new(),
    };
    walker.visit_body(&module.body);
    walker.findings
}

fn collect_imports<'a>(body: &'a [Stmt], out: &mut HashMap<&'a str, Import<'a>>) {
    for stmt in body {
        match stmt {
            Stmt::Import(i) => {
                for alias in &i.names {
                    let full = alias.name.id.as_str();
                    match &alias.asname {
                        Some(as_) => {
                            out.insert(
                                as_.id.as_str(),
                                Import {
                                    module: full,
                                    member: None,
                                },
                            );
                        }
                        None => {
                            let top = full.split('.').next().unwrap_or(full);
                            out.insert(
                                top,
                                Import {
                                    module: top,
                                    member: None,
                                },
                            );
                        }
                    }
                }
            }
            Stmt::ImportFrom(i) if i.level == 0 => {
                let Some(module) = &i.module else { continue };
                for alias in &i.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                    out.insert(
                        bound.id.as_str(),
                        Import {
                            module: module.id.as_str(),
                            member: Some(alias.name.id.as_str()),
                        },
                    );
                }
            }
            Stmt::FunctionDef(f) => collect_imports(&f.body, out),
            Stmt::ClassDef(c) => collect_imports(&c.body, out),
            Stmt::If(s) => {
                collect_imports(&s.body, out);
                for clause in &s.elif_else_clauses {
                    collect_imports(&clause.body, out);
                }
            }
            Stmt::Try(t) => {
                collect_imports(&t.body, out);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    collect_imports(&h.body, out);
                }
                collect_imports(&t.orelse, out);
                collect_imports(&t.finalbody, out);
            }
            Stmt::With(w) => collect_imports(&w.body, out),
            _ => {}
        }
    }
}

/// Every name a `global` statement declares, in functions at any depth.
#[derive(Default)]
struct GlobalDeclarations<'a> {
    names: HashSet<&'a str>,
}

impl<'a> Visitor<'a> for GlobalDeclarations<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if let Stmt::Global(g) = stmt {
            self.names.extend(g.names.iter().map(|n| n.id.as_str()));
        }
        visitor::walk_stmt(self, stmt);
    }
}

struct Walker<'a> {
    cx: Context<'a>,
    stmt_checks: Vec<StmtCheck>,
    expr_checks: Vec<ExprCheck>,
    findings: Vec<Finding>,
}

impl<'a> Walker<'a> {
    /// Code in a nested function or class body runs when it is called, not once per iteration
    /// of the loops around its definition.
    fn enter_body(&mut self) {
        let loops = std::mem::take(&mut self.cx.loops);
        self.cx.saved_loops.push(loops);
    }

    fn leave_body(&mut self) {
        self.cx.loops = self.cx.saved_loops.pop().unwrap_or_default();
    }

    fn push_loop(
        &mut self,
        kind: LoopKind,
        range: TextRange,
        iter: Option<&'a Expr>,
        targets: Vec<&'a str>,
        effects: Effects<'a>,
    ) {
        self.cx.loops.push(LoopFrame {
            kind,
            range,
            iter,
            targets,
            assigned: effects.assigned,
            rebound: effects.rebound,
            mutated: effects.mutated,
            exits: effects.exits,
        });
    }

    fn comprehension(&mut self, expr: &'a Expr, generators: &'a [ast::Comprehension]) {
        let Some(first) = generators.first() else {
            return;
        };
        self.visit_expr(&first.iter);
        let mut effects = Effects::default();
        for g in generators {
            effects.visit_expr(&g.target);
            for cond in &g.ifs {
                effects.visit_expr(cond);
            }
        }
        effects.visit_expr(expr);
        let mut targets = Vec::new();
        for g in generators {
            names_bound(&g.target, &mut targets);
        }
        let range = expr.range();
        self.push_loop(
            LoopKind::Comprehension,
            range,
            Some(&first.iter),
            targets,
            effects,
        );
        for (i, g) in generators.iter().enumerate() {
            if i > 0 {
                self.visit_expr(&g.iter);
            }
            self.visit_expr(&g.target);
            for cond in &g.ifs {
                self.visit_expr(cond);
            }
        }
        match expr {
            Expr::ListComp(c) => self.visit_expr(&c.elt),
            Expr::SetComp(c) => self.visit_expr(&c.elt),
            Expr::Generator(c) => self.visit_expr(&c.elt),
            Expr::DictComp(c) => {
                if let Some(key) = &c.key {
                    self.visit_expr(key);
                }
                self.visit_expr(&c.value);
            }
            _ => {}
        }
        self.cx.loops.pop();
    }
}

/// The plain names a target binds.
pub fn names_bound<'a>(target: &'a Expr, out: &mut Vec<&'a str>) {
    match target {
        Expr::Name(n) => out.push(n.id.as_str()),
        Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
            for e in elts {
                names_bound(e, out);
            }
        }
        Expr::Starred(s) => names_bound(&s.value, out),
        _ => {}
    }
}

impl<'a> Visitor<'a> for Walker<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        for check in &self.stmt_checks {
            check(&self.cx, stmt, &mut self.findings);
        }
        match stmt {
            Stmt::FunctionDef(f) => {
                for d in &f.decorator_list {
                    self.visit_expr(&d.expression);
                }
                for p in f.parameters.iter_non_variadic_params() {
                    if let Some(default) = &p.default {
                        self.visit_expr(default);
                    }
                }
                self.enter_body();
                self.cx.functions.push(FunctionFrame {
                    def: f,
                    scope: Scope::of_body(&f.body, Some(&f.parameters)),
                });
                self.visit_body(&f.body);
                self.cx.functions.pop();
                self.leave_body();
            }
            Stmt::ClassDef(c) => {
                for d in &c.decorator_list {
                    self.visit_expr(&d.expression);
                }
                if let Some(args) = &c.arguments {
                    self.visit_arguments(args);
                }
                self.enter_body();
                self.cx.class_depth += 1;
                self.visit_body(&c.body);
                self.cx.class_depth -= 1;
                self.leave_body();
            }
            Stmt::For(f) => {
                self.visit_expr(&f.iter);
                let mut effects = Effects::default();
                effects.visit_expr(&f.target);
                effects.visit_body(&f.body);
                let mut targets = Vec::new();
                names_bound(&f.target, &mut targets);
                self.push_loop(LoopKind::For, stmt.range(), Some(&f.iter), targets, effects);
                self.visit_expr(&f.target);
                self.visit_body(&f.body);
                self.cx.loops.pop();
                self.visit_body(&f.orelse);
            }
            Stmt::While(w) => {
                let mut effects = Effects::default();
                effects.visit_expr(&w.test);
                effects.visit_body(&w.body);
                self.push_loop(LoopKind::While, stmt.range(), None, Vec::new(), effects);
                self.visit_expr(&w.test);
                self.visit_body(&w.body);
                self.cx.loops.pop();
                self.visit_body(&w.orelse);
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        for check in &self.expr_checks {
            check(&self.cx, expr, &mut self.findings);
        }
        match expr {
            Expr::ListComp(c) => self.comprehension(expr, &c.generators),
            Expr::SetComp(c) => self.comprehension(expr, &c.generators),
            Expr::DictComp(c) => self.comprehension(expr, &c.generators),
            Expr::Generator(c) => self.comprehension(expr, &c.generators),
            Expr::Lambda(l) => {
                if let Some(params) = &l.parameters {
                    for p in params.iter_non_variadic_params() {
                        if let Some(default) = &p.default {
                            self.visit_expr(default);
                        }
                    }
                }
                self.enter_body();
                self.visit_expr(&l.body);
                self.leave_body();
            }
            _ => visitor::walk_expr(self, expr),
        }
    }
}

/// Methods that only read their receiver: calling them does not change it.
const READ_METHODS: &[&str] = &[
    "count",
    "index",
    "get",
    "keys",
    "values",
    "items",
    "copy",
    "startswith",
    "endswith",
    "find",
    "rfind",
    "split",
    "join",
    "format",
    "lower",
    "upper",
    "strip",
    "issubset",
    "issuperset",
    "isdisjoint",
    "union",
    "intersection",
    "difference",
    "__contains__",
    "__getitem__",
    "__len__",
];

/// Builtins that do not change their arguments.
const PURE_BUILTINS: &[&str] = &[
    "len",
    "sorted",
    "set",
    "frozenset",
    "list",
    "tuple",
    "dict",
    "sum",
    "min",
    "max",
    "any",
    "all",
    "str",
    "int",
    "float",
    "bool",
    "abs",
    "isinstance",
    "print",
    "repr",
    "enumerate",
    "zip",
    "range",
    "reversed",
    "map",
    "filter",
    "iter",
    "hash",
    "id",
    "type",
    "round",
];

/// Names rebound and names possibly changed in place by a loop's code.
#[derive(Default)]
struct Effects<'a> {
    assigned: HashSet<&'a str>,
    rebound: HashSet<&'a str>,
    mutated: HashSet<&'a str>,
    exits: bool,
}

/// `x += ...` or `x = x + ...`: the name `x` accumulates rather than being rebound.
fn accumulates(stmt: &Stmt) -> Option<&str> {
    match stmt {
        Stmt::AugAssign(a) => crate::syntax::name_of(&a.target),
        Stmt::Assign(a) if a.targets.len() == 1 => {
            let target = crate::syntax::name_of(&a.targets[0])?;
            match a.value.as_ref() {
                Expr::BinOp(b)
                    if crate::syntax::name_of(&b.left) == Some(target)
                        || crate::syntax::name_of(&b.right) == Some(target) =>
                {
                    Some(target)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The leftmost name of `a.b[c].d`.
pub fn base_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => base_name(&a.value),
        Expr::Subscript(s) => base_name(&s.value),
        Expr::Call(c) => base_name(&c.func),
        _ => None,
    }
}

impl<'a> Visitor<'a> for Effects<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if let Some(name) = accumulates(stmt) {
            // Walked as usual, then the accumulator is taken back out of `rebound`, unless
            // something else in the loop rebinds it too.
            let was_rebound = self.rebound.contains(name);
            visitor::walk_stmt(self, stmt);
            if !was_rebound {
                self.rebound.remove(name);
            }
            return;
        }
        match stmt {
            Stmt::FunctionDef(f) => {
                self.assigned.insert(f.name.id.as_str());
            }
            Stmt::ClassDef(c) => {
                self.assigned.insert(c.name.id.as_str());
            }
            Stmt::Import(i) => {
                for alias in &i.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name).id.as_str();
                    self.assigned
                        .insert(bound.split('.').next().unwrap_or(bound));
                }
            }
            Stmt::ImportFrom(i) => {
                for alias in &i.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                    self.assigned.insert(bound.id.as_str());
                }
            }
            Stmt::Try(t) => {
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    if let Some(name) = &h.name {
                        self.assigned.insert(name.id.as_str());
                    }
                }
                visitor::walk_stmt(self, stmt);
            }
            Stmt::Global(g) => {
                for n in &g.names {
                    self.mutated.insert(n.id.as_str());
                }
            }
            Stmt::Return(_) | Stmt::Break(_) => {
                self.exits = true;
                visitor::walk_stmt(self, stmt);
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(n) if !matches!(n.ctx, ExprContext::Load) => {
                self.assigned.insert(n.id.as_str());
                self.rebound.insert(n.id.as_str());
            }
            Expr::Attribute(ast::ExprAttribute { value, ctx, .. })
            | Expr::Subscript(ast::ExprSubscript { value, ctx, .. })
                if !matches!(ctx, ExprContext::Load) =>
            {
                if let Some(base) = base_name(value) {
                    self.mutated.insert(base);
                }
            }
            Expr::Call(call) => match call.func.as_ref() {
                Expr::Attribute(a) if !READ_METHODS.contains(&a.attr.id.as_str()) => {
                    if let Some(base) = base_name(&a.value) {
                        self.mutated.insert(base);
                    }
                }
                Expr::Name(n) if PURE_BUILTINS.contains(&n.id.as_str()) => {}
                _ => {
                    for arg in call.arguments.args.iter() {
                        if let Some(base) = base_name(arg) {
                            self.mutated.insert(base);
                        }
                    }
                }
            },
            Expr::Lambda(_) => return,
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}
