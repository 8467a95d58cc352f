use super::columns::Column;
use super::{data, render, PAGE, SCRIPT, STYLE};
use crate::testing;
use crate::RenderOptions;
use fluoro_profile::{Profile, ROOT};

const HOSTILE_NAME: &str = "</script><img src=x onerror=\"alert(1)\"><!--";
const HOSTILE_FILE: &str = "/work/app/it's \"quoted\" </script>.py";

fn options(test: &str) -> RenderOptions {
    RenderOptions {
        source_root: Some(testing::source_root(test)),
        ..RenderOptions::default()
    }
}

fn page(profile: &Profile, test: &str) -> String {
    String::from_utf8(render(profile, &options(test)).unwrap()).unwrap()
}

/// The JSON inside the page's data block, parsed.
fn embedded(page: &str) -> serde_json::Value {
    let start = page.find("id=\"fluoro-data\">").unwrap() + "id=\"fluoro-data\">".len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).unwrap()
}

/// A column of the data back as numbers.
fn decode(value: &serde_json::Value) -> Vec<u64> {
    Column::from_base64(value.as_str().unwrap()).values()
}

fn hostile_profile() -> Profile {
    let mut profile = testing::fixture_with_memory();
    for code in profile.codes.values_mut() {
        if code.qualname == "Parser.parse" {
            code.qualname = HOSTILE_NAME.into();
        }
        if code.qualname == "fib" {
            code.filename = HOSTILE_FILE.into();
        }
    }
    if let Some(t) = profile.threads.get_mut(1) {
        t.name = "<b>thread</b>\u{2028}".into();
    }
    profile
}

#[test]
fn data_snapshot() {
    let profile = testing::fixture_with_memory();
    let options = options("html-snapshot");
    let data = data::build(&profile, &options);
    let mut value = serde_json::to_value(&data).unwrap();
    // Columns shown as their numbers, one line each, so the snapshot reads.
    for table in [
        "/functions",
        "/frames",
        "/stacks",
        "/weights",
        "/timeline",
        "/timeline/alloc",
    ] {
        for (name, column) in value.pointer_mut(table).unwrap().as_object_mut().unwrap() {
            if column.is_string() && name != "name" {
                let numbers: Vec<String> = decode(column).iter().map(u64::to_string).collect();
                *column = numbers.join(" ").into();
            }
        }
    }
    insta::assert_json_snapshot!(value);
}

#[test]
fn the_page_is_self_contained() {
    let page = page(&testing::fixture_with_memory(), "html-self-contained");
    assert!(page.starts_with("<!DOCTYPE html>"));
    for fetched in [
        "http://",
        "https://",
        "src=",
        "href=",
        "@import",
        "url(",
        "fetch(",
        "XMLHttpRequest",
    ] {
        assert!(!page.contains(fetched), "the page names {fetched}");
    }
    assert!(
        page.contains("default-src 'none'"),
        "the policy forbids fetches"
    );
    // The two script blocks are the page's own: data, then code.
    assert_eq!(page.matches("<script").count(), 2);
    assert_eq!(page.matches("</script>").count(), 2);
}

#[test]
fn the_assets_cannot_end_their_blocks_early() {
    for (name, text) in [("report.js", SCRIPT), ("report.css", STYLE)] {
        for bad in [
            "</script",
            "</style",
            "<!--",
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
        ] {
            assert!(!text.contains(bad), "{name} contains {bad}");
        }
    }
    assert_eq!(PAGE.matches("{{").count(), 4);
}

#[test]
fn hostile_names_stay_text_in_the_data() {
    let page = page(&hostile_profile(), "html-hostile");
    assert_eq!(
        page.matches("</script>").count(),
        2,
        "a name ended the data block"
    );
    assert!(!page.contains("<img"));
    assert!(!page.contains("<b>thread"));
    assert!(!page.contains('\u{2028}'));
    let data = embedded(&page);
    let names: Vec<&str> = data["functions"]["name"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert!(names.contains(&HOSTILE_NAME), "{names:?}");
    let files: Vec<&str> = data["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(files.contains(&HOSTILE_FILE), "{files:?}");
    assert_eq!(data["threads"][1]["name"], "<b>thread</b>\u{2028}");
}

#[test]
fn the_title_is_escaped() {
    let mut profile = testing::fixture();
    if let Some(meta) = profile.meta.as_mut() {
        meta.target = "</title><script>x</script>".into();
    }
    let page = page(&profile, "html-title");
    assert!(page.contains("<title>fluoro: &lt;/title&gt;&lt;script&gt;x&lt;/script&gt;</title>"));
}

#[test]
fn stacks_decode_to_the_profiles_functions_and_weights_add_up() {
    let profile = testing::fixture_with_memory();
    let data = embedded(&page(&profile, "html-stacks"));
    let names = data["functions"]["name"].as_array().unwrap();
    let frame_function = decode(&data["frames"]["function"]);
    let parent = decode(&data["stacks"]["parent"]);
    let frame = decode(&data["stacks"]["frame"]);
    let stacks = decode(&data["weights"]["stack"]);
    let walls = decode(&data["weights"]["wall_ns"]);
    assert_eq!(stacks.len(), profile.weights.len());
    for (w, &stack) in profile.weights.iter().zip(&stacks) {
        let mut page_path = Vec::new();
        let mut at = stack as usize;
        while at != 0 {
            let f = frame_function[frame[at - 1] as usize] as usize;
            page_path.push(names[f].as_str().unwrap().to_string());
            at -= parent[at - 1] as usize;
        }
        page_path.reverse();
        let profile_path: Vec<String> = if w.stack == ROOT {
            Vec::new()
        } else {
            profile
                .frames(w.stack)
                .iter()
                .map(|&f| profile.code(f).qualname.clone())
                .collect()
        };
        assert_eq!(page_path, profile_path);
    }
    assert_eq!(
        walls.iter().sum::<u64>(),
        profile.total(fluoro_profile::Metric::Wall)
    );
}

#[test]
fn the_timeline_keeps_every_sample_and_fits_its_budget() {
    let profile = testing::fixture();
    let data = embedded(&page(&profile, "html-timeline"));
    let samples: u64 = decode(&data["timeline"]["samples"]).iter().sum();
    assert_eq!(samples, profile.samples);
    let per_bucket = decode(&data["timeline"]["per_bucket"]);
    assert_eq!(
        per_bucket.len() as u64,
        data["timeline"]["buckets"].as_u64().unwrap()
    );
    assert_eq!(
        per_bucket.iter().sum::<u64>() as usize,
        decode(&data["timeline"]["weight"]).len()
    );
    // 150 samples 10 ms apart: 1.5 s in slices of 2 ms, merged to at least two sampling
    // intervals at 100 Hz.
    assert_eq!(data["timeline"]["bucket_ns"], 32_000_000);
    // At a rate that asks for no merging, the budget alone decides.
    let mut profile = profile;
    profile.meta.as_mut().unwrap().rate_hz = 10_000;
    assert_eq!(
        data::timeline_within(&profile, usize::MAX).bucket_ns,
        2_000_000
    );
    // A budget of 60 cells merges slices in pairs until 60 or fewer remain; so does one of
    // 20, down to few slices.
    let full = data::timeline_within(&profile, usize::MAX)
        .weight
        .values()
        .len();
    let fits = data::timeline_within(&profile, 60);
    assert!(fits.weight.values().len() <= 60 && fits.weight.values().len() < full);
    assert_eq!(fits.samples.values().iter().sum::<u64>(), profile.samples);
    let tight = data::timeline_within(&profile, 20);
    assert!(tight.weight.values().len() <= 20);
    assert!(tight.buckets < 32, "{} slices", tight.buckets);
}

#[test]
fn sources_are_embedded_for_the_files_on_the_stacks() {
    let data = embedded(&page(&testing::fixture(), "html-sources"));
    let sources = data["sources"].as_array().unwrap();
    let files = data["files"].as_array().unwrap();
    let shown: Vec<&str> = sources
        .iter()
        .map(|s| {
            files[s["file"].as_u64().unwrap() as usize]["shown"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        shown,
        ["lib/work.py", "app.py"],
        "most sampled first; threading.py unreadable"
    );
    assert_eq!(sources[0]["lines"][1], "    if n < 2:");
}

#[test]
fn an_empty_profile_renders() {
    let page = page(&Profile::default(), "html-empty");
    let data = embedded(&page);
    assert_eq!(data["timeline"]["buckets"], 0);
}

#[test]
fn advice_and_the_heap_census_are_embedded_as_given_and_stay_text() {
    let profile = testing::fixture();
    let advice = serde_json::json!({
        "findings": [{"code": "FLU101", "name": "x", "message": "</script><b>", "path": "app.py", "line": 3}],
        "summary": {"files": 1, "findings": 1, "fixable": 0, "fixed": 0},
    });
    let heap = serde_json::json!({"path": "x.fheap", "summary": {"types": [{"name": "<b>"}]}});
    let options = RenderOptions {
        advice: Some(advice.clone()),
        heap: Some(heap.clone()),
        ..options("html-advice")
    };
    let page = String::from_utf8(render(&profile, &options).unwrap()).unwrap();
    assert_eq!(page.matches("</script>").count(), 2);
    assert!(!page.contains("<b>"));
    assert_eq!(embedded(&page)["advice"], advice);
    assert_eq!(embedded(&page)["heap"], heap);
    let without = embedded(&super::tests::page(&profile, "html-no-advice"));
    assert!(without.get("advice").is_none() && without.get("heap").is_none());
}

#[test]
fn asyncio_tasks_are_embedded_as_the_json_export_lists_them() {
    let profile = testing::async_fixture();
    let data = embedded(&page(&profile, "html-tasks"));
    let tasks = data["tasks"].as_array().expect("tasks");
    let names: Vec<&str> = tasks.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["worker", "sleeper"]);
    assert_eq!(tasks[0]["running_share"], 0.6);
    assert_eq!(tasks[1]["awaiting_at"]["function"], "sleeper");
    // The task's root in the stacks, which the page's link searches for, is named as it says.
    let names = data["functions"]["name"].as_array().unwrap();
    assert!(names.iter().any(|n| n == "<task worker>"), "{names:?}");
    let json: serde_json::Value = serde_json::from_slice(
        &crate::export::json::render(&profile, &RenderOptions::default()).unwrap(),
    )
    .unwrap();
    assert_eq!(data["tasks"], json["tasks"]);
    let without = embedded(&page(&testing::fixture(), "html-no-tasks"));
    assert!(without.get("tasks").is_none() && without.get("tasks_note").is_none());
}

#[test]
fn a_hostile_task_name_stays_text() {
    let mut profile = testing::async_fixture();
    for code in profile.codes.values_mut() {
        if code.task_name() == Some("worker") {
            *code = fluoro_profile::CodeInfo::task(HOSTILE_NAME);
        }
    }
    let page = page(&profile, "html-hostile-task");
    assert_eq!(page.matches("</script>").count(), 2, "a name ended a block");
    assert!(!page.contains("<img"));
    assert_eq!(embedded(&page)["tasks"][0]["name"], HOSTILE_NAME);
}
