//! The rules: one file each, with a stable code, a kebab-case name and its docs; the registry
//! below lists them, and [`RuleSet`] is what `--select`/`--ignore` leave enabled.

use crate::checker::{ExprCheck, StmtCheck};

mod append_loop;
mod blocking_call_in_async;
mod column_major_traversal;
mod count_index_in_loop;
mod deepcopy_in_loop;
mod dict_keys_iteration;
mod dict_keys_membership;
mod empty_constructor_in_loop;
mod hand_written_sort;
mod int_float_mixing;
mod join_generator;
mod list_built_to_reduce;
mod list_concat_in_loop;
mod list_front_operation_in_loop;
mod list_membership_in_loop;
mod loop_invariant_call;
mod map_lambda;
mod missing_slots;
mod module_level_hot_loop;
mod nested_loop_intersection;
mod python_matmul;
mod range_len_indexing;
mod regex_in_loop;
mod sequential_blocking_io;
mod set_rebuilt_in_loop;
mod sorted_for_min_max;
mod sorted_in_loop;
mod str_concat_in_loop;
mod uncached_recursion;

/// A lint rule: identity, docs, and the checks the tree walk calls.
#[derive(Debug)]
pub struct Rule {
    /// Stable code, `FLU101`.
    pub code: &'static str,
    /// Kebab-case name, `list-membership-in-loop`.
    pub name: &'static str,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// Markdown: what, why (CPython internals), the fix, when not to apply it.
    pub docs: &'static str,
    /// Whether the rule offers a safe fix for `--fix`.
    pub fixable: bool,
    /// Whether the rule only fires with a measured profile.
    pub needs_profile: bool,
    pub stmt: Option<StmtCheck>,
    pub expr: Option<ExprCheck>,
}

impl Rule {
    /// A rule with no checks yet, no fix, needing no profile.
    pub const fn new(
        code: &'static str,
        name: &'static str,
        summary: &'static str,
        docs: &'static str,
    ) -> Rule {
        Rule {
            code,
            name,
            summary,
            docs,
            fixable: false,
            needs_profile: false,
            stmt: None,
            expr: None,
        }
    }

    /// Checks every statement with `check`.
    pub const fn on_stmt(mut self, check: StmtCheck) -> Rule {
        self.stmt = Some(check);
        self
    }

    /// Checks every expression with `check`.
    pub const fn on_expr(mut self, check: ExprCheck) -> Rule {
        self.expr = Some(check);
        self
    }

    /// Offers safe fixes.
    pub const fn fixable(mut self) -> Rule {
        self.fixable = true;
        self
    }

    /// Fires only with a measured profile.
    pub const fn needs_profile(mut self) -> Rule {
        self.needs_profile = true;
        self
    }
}

/// Every rule, in code order.
pub static RULES: &[&Rule] = &[
    &list_membership_in_loop::RULE,
    &str_concat_in_loop::RULE,
    &list_concat_in_loop::RULE,
    &list_front_operation_in_loop::RULE,
    &count_index_in_loop::RULE,
    &nested_loop_intersection::RULE,
    &set_rebuilt_in_loop::RULE,
    &regex_in_loop::RULE,
    &sorted_in_loop::RULE,
    &deepcopy_in_loop::RULE,
    &uncached_recursion::RULE,
    &loop_invariant_call::RULE,
    &column_major_traversal::RULE,
    &hand_written_sort::RULE,
    &sorted_for_min_max::RULE,
    &sequential_blocking_io::RULE,
    &blocking_call_in_async::RULE,
    &module_level_hot_loop::RULE,
    &dict_keys_membership::RULE,
    &list_built_to_reduce::RULE,
    &python_matmul::RULE,
    &missing_slots::RULE,
    &int_float_mixing::RULE,
    &append_loop::RULE,
    &range_len_indexing::RULE,
    &dict_keys_iteration::RULE,
    &map_lambda::RULE,
    &empty_constructor_in_loop::RULE,
    &join_generator::RULE,
];

/// The rule with this code or name.
pub fn find(code_or_name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name == code_or_name)
}

/// A `--select`/`--ignore` value that names no rule.
#[derive(Debug, thiserror::Error)]
#[error("unknown rule selector '{0}' (a code such as FLU101, a prefix such as FLU1, a rule name, or ALL)")]
pub struct SelectError(pub String);

/// The rules that are enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    enabled: Vec<bool>,
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet::all()
    }
}

impl RuleSet {
    pub fn all() -> Self {
        RuleSet {
            enabled: vec![true; RULES.len()],
        }
    }

    /// Starts from `select` (every rule when empty), then removes `ignore`. Each entry is a
    /// code, a code prefix, a rule name, or `ALL`.
    pub fn from_selectors(select: &[String], ignore: &[String]) -> Result<Self, SelectError> {
        let mut enabled = vec![select.is_empty(); RULES.len()];
        for s in select {
            for i in matching(s)? {
                enabled[i] = true;
            }
        }
        for s in ignore {
            for i in matching(s)? {
                enabled[i] = false;
            }
        }
        Ok(RuleSet { enabled })
    }

    pub fn rules(&self) -> impl Iterator<Item = &'static Rule> + '_ {
        RULES
            .iter()
            .zip(&self.enabled)
            .filter(|(_, &on)| on)
            .map(|(r, _)| *r)
    }

    pub fn stmt_checks(&self) -> Vec<StmtCheck> {
        self.rules().filter_map(|r| r.stmt).collect()
    }

    pub fn expr_checks(&self) -> Vec<ExprCheck> {
        self.rules().filter_map(|r| r.expr).collect()
    }
}

fn matching(selector: &str) -> Result<Vec<usize>, SelectError> {
    let s = selector.trim();
    let hits: Vec<usize> = RULES
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            s.eq_ignore_ascii_case("ALL")
                || r.name == s
                || (s.len() >= 3
                    && r.code.len() >= s.len()
                    && r.code[..s.len()].eq_ignore_ascii_case(s))
        })
        .map(|(i, _)| i)
        .collect();
    if hits.is_empty() {
        Err(SelectError(selector.to_owned()))
    } else {
        Ok(hits)
    }
}

/// `--explain CODE`: the rule's docs as text.
pub fn explain(rule: &Rule) -> String {
    let fix = if rule.fixable {
        "Fix: available with --fix (safe, keeps behaviour)."
    } else {
        "Fix: by hand (no safe mechanical fix)."
    };
    format!(
        "{} ({})\n\n{}\n\n{}\n{}",
        rule.code,
        rule.name,
        rule.summary,
        rule.docs.trim(),
        fix
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sequential_and_named_in_kebab_case() {
        assert!(RULES.len() >= 25);
        for (i, rule) in RULES.iter().enumerate() {
            assert_eq!(rule.code, format!("FLU{}", 101 + i), "{}", rule.name);
            assert!(rule
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            assert!(rule.stmt.is_some() || rule.expr.is_some(), "{}", rule.code);
            for section in ["## What", "## Why", "## Fix", "## When not to"] {
                assert!(rule.docs.contains(section), "{} lacks {section}", rule.code);
            }
        }
        let mut names: Vec<_> = RULES.iter().map(|r| r.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), RULES.len());
    }

    #[test]
    fn selectors_take_codes_prefixes_names_and_all() {
        let sel = |s: &[&str], i: &[&str]| {
            let s: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            let i: Vec<String> = i.iter().map(|x| x.to_string()).collect();
            RuleSet::from_selectors(&s, &i)
                .map(|set| set.rules().map(|r| r.code).collect::<Vec<_>>())
        };
        assert_eq!(sel(&["FLU101"], &[]).unwrap(), vec!["FLU101"]);
        assert_eq!(sel(&["FLU11"], &["FLU111", "FLU112"]).unwrap().len(), 8);
        assert_eq!(sel(&["str-concat-in-loop"], &[]).unwrap(), vec!["FLU102"]);
        assert_eq!(sel(&[], &["ALL"]).unwrap().len(), 0);
        assert!(sel(&["FLU999"], &[]).is_err());
        assert!(sel(&["E"], &[]).is_err());
    }
}
