//! Every rule against its fixture, `tests/fixtures/FLUxxx.py`: the lines it reports must be
//! exactly those marked `# bad`, its output is snapshotted, and its fixes must give code that
//! parses and no longer has the fixed finding.

use fluoro_advise::rank::FileCosts;
use fluoro_advise::{advise_source, Diagnostic, FileOutcome, RuleSet, RULES};
use std::path::Path;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn diagnostics(source: &str, rules: &RuleSet, costs: Option<&FileCosts>) -> Vec<Diagnostic> {
    match advise_source("fixture.py", source, rules, costs) {
        FileOutcome::Checked { diagnostics, .. } => diagnostics,
        FileOutcome::SyntaxError { message, .. } => panic!("fixture does not parse: {message}"),
    }
}

/// The profile the measured rules see: half the run in lines 2-4 (`Point.__init__` in the
/// FLU122 fixture) and in `Derived.__init__`, which has a dict base and must stay quiet.
fn measured() -> FileCosts {
    FileCosts::from_lines([(3, 300), (4, 200), (17, 400), (21, 100)], 1000)
}

#[test]
fn each_rule_reports_exactly_the_marked_lines() {
    for rule in RULES {
        let source = fixture(&format!("{}.py", rule.code));
        let only = RuleSet::from_selectors(&[rule.code.to_owned()], &[]).unwrap();
        let costs = measured();
        let costs = rule.needs_profile.then_some(&costs);
        let found = diagnostics(&source, &only, costs);
        let mut lines: Vec<u32> = found.iter().map(|d| d.line).collect();
        lines.dedup();
        let marked: Vec<u32> = source
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("# bad"))
            .map(|(i, _)| i as u32 + 1)
            .collect();
        assert!(!marked.is_empty(), "{}: fixture marks no line", rule.code);
        assert_eq!(
            lines, marked,
            "{} ({}) reported other lines",
            rule.code, rule.name
        );

        let mut report: String = found
            .iter()
            .map(|d| {
                let fix = if d.fix.is_some() { " [*]" } else { "" };
                format!("{}:{}: {}{fix} {}\n", d.line, d.col, d.code, d.message)
            })
            .collect();
        let edits: Vec<_> = found.iter().filter_map(|d| d.fix.as_ref()).collect();
        assert_eq!(
            rule.fixable,
            !edits.is_empty(),
            "{}: fixable flag vs fixes",
            rule.code
        );
        if !edits.is_empty() {
            let (fixed, applied) = fluoro_advise::fix::apply(&source, &edits);
            assert_eq!(applied, edits.len());
            let left = diagnostics(&fixed, &only, costs);
            assert!(
                left.iter().all(|d| d.fix.is_none()),
                "{}: fixable findings left after --fix",
                rule.code
            );
            report.push_str("--- fixed ---\n");
            report.push_str(&fixed);
        }
        insta::assert_snapshot!(rule.code, report);
    }
}

#[test]
fn correct_code_stays_quiet_under_every_rule() {
    let source = fixture("quiet.py");
    let costs = measured();
    let found = diagnostics(&source, &RuleSet::all(), Some(&costs));
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn measured_rules_stay_quiet_without_a_profile() {
    for rule in RULES.iter().filter(|r| r.needs_profile) {
        let source = fixture(&format!("{}.py", rule.code));
        let only = RuleSet::from_selectors(&[rule.code.to_owned()], &[]).unwrap();
        assert!(
            diagnostics(&source, &only, None).is_empty(),
            "{}",
            rule.code
        );
    }
}

#[test]
fn noqa_silences_a_finding() {
    let source = "def f(xs, d):\n    for x in xs:\n        x in d.keys()  # noqa: FLU119\n        x in d.keys()\n";
    let found = diagnostics(source, &RuleSet::all(), None);
    let lines: Vec<u32> = found.iter().map(|d| d.line).collect();
    assert_eq!(lines, vec![4]);
}

#[test]
fn syntax_error_is_one_diagnostic() {
    match advise_source("bad.py", "def f(:\n  pass\n", &RuleSet::all(), None) {
        FileOutcome::SyntaxError { line, .. } => assert_eq!(line, 1),
        other => panic!("{other:?}"),
    }
}
