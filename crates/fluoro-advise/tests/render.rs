//! The three renderers on one fixed set of findings, as snapshots; with and without measured
//! costs.

use fluoro_advise::rank::{rank, FileCosts, LineCosts};
use fluoro_advise::render::{render_json, render_sarif, render_text};
use fluoro_advise::{advise_source, Advice, FileOutcome, RuleSet};

const SOURCE: &str = "\
def f(words, d, xs):
    out = \"\"
    for w in words:
        out += w
        if w in d.keys():
            out += \"!\"
    return sorted(xs)[0]
";

fn advice() -> Advice {
    let FileOutcome::Checked { diagnostics, .. } =
        advise_source("pkg/mod.py", SOURCE, &RuleSet::all(), None)
    else {
        panic!("does not parse")
    };
    Advice {
        diagnostics,
        syntax_errors: vec!["pkg/broken.py:1:7: syntax error: Expected ')', found ':'".into()],
        warnings: Vec::new(),
        files: 2,
        fixed: 0,
    }
}

#[test]
fn text() {
    insta::assert_snapshot!(render_text(&advice(), None));
}

#[test]
fn json() {
    insta::assert_snapshot!(render_json(&advice()));
}

#[test]
fn sarif_results() {
    let sarif: serde_json::Value = serde_json::from_str(&render_sarif(&advice(), "0.1.0")).unwrap();
    let run = &sarif["runs"][0];
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().unwrap().len(),
        fluoro_advise::RULES.len()
    );
    insta::assert_json_snapshot!(run["results"]);
}

#[test]
fn text_ranked_by_measured_cost() {
    let mut advice = advice();
    let dir = std::env::temp_dir().join(format!("fluoro-advise-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mod.py");
    std::fs::write(&path, SOURCE).unwrap();
    for d in &mut advice.diagnostics {
        d.path = path.display().to_string();
    }
    // Line 5 (`in d.keys()`) took 60 % of a 1 s run, line 4 0.5 %, line 7 nothing.
    let costs = LineCosts::from_files([(
        path.clone(),
        FileCosts::from_lines([(5, 600_000_000), (4, 5_000_000)], 1_000_000_000),
    )]);
    rank(&mut advice.diagnostics, &costs);
    let text = render_text(&advice, Some("wall")).replace(&path.display().to_string(), "mod.py");
    std::fs::remove_dir_all(&dir).unwrap();
    insta::assert_snapshot!(text);
}
