//! `fluoro env` as text.

use crate::{EnvReport, GcGenerationStats};
use fluoro_render::escape::for_terminal;
use fluoro_render::{bytes, fields, percent, table};
use std::fmt::Write;

/// Renders the report for a terminal.
pub fn render_text(r: &EnvReport) -> String {
    let f = &r.facts;
    let mut out = String::new();
    let first_line = f.version_full.lines().next().unwrap_or("");
    let build = &f.build;
    let mut build_kind = vec![if build.debug_build {
        "debug"
    } else {
        "release"
    }];
    if build.free_threaded {
        build_kind.push("free-threaded");
    }
    build_kind.push(if build.shared_libpython {
        "shared libpython"
    } else {
        "static libpython"
    });
    out.push_str("Interpreter\n");
    out.push_str(&fields(&[
        (
            "implementation",
            format!("{} {}", f.implementation, f.version),
        ),
        ("version", first_line.to_owned()),
        ("executable", f.executable.clone()),
        ("prefix", prefix_line(&f.prefix, &f.base_prefix)),
        (
            "platform",
            format!(
                "{} ({}, {} endian)",
                f.platform, f.platform_full, f.byteorder
            ),
        ),
        ("compiler", build.compiler.clone()),
        (
            "build",
            format!("{}, {}", build.build_date, build_kind.join(", ")),
        ),
    ]));

    out.push_str("\nRuntime\n");
    let set_flags: Vec<String> = f
        .flags
        .iter()
        .filter(|(k, v)| {
            !matches!(v, serde_json::Value::Bool(false))
                && v.as_i64() != Some(0)
                && !(k.as_str() == "int_max_str_digits" && v.as_i64() == Some(-1))
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    out.push_str(&fields(&[
        ("recursion limit", f.recursion_limit.to_string()),
        ("switch interval", format!("{} ms", f.switch_interval * 1e3)),
        (
            "sys.flags set",
            if set_flags.is_empty() {
                "none".to_owned()
            } else {
                set_flags.join(" ")
            },
        ),
        (
            "modules loaded",
            format!("{} ({} built in)", f.modules_loaded, f.builtin_modules),
        ),
        ("sys.path", format!("{} entries", f.sys_path.len())),
        ("python threads", f.python_threads.to_string()),
    ]));

    out.push_str("\nGarbage collector\n");
    let gc = &f.gc;
    let join = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>().join(" / ");
    out.push_str(&fields(&[
        ("enabled", gc.enabled.to_string()),
        ("thresholds", join(&gc.thresholds)),
        ("counts", join(&gc.counts)),
        ("tracked objects", gc.tracked_objects.to_string()),
        ("frozen objects", gc.frozen.to_string()),
        ("gc.garbage", gc.garbage.to_string()),
    ]));
    out.push_str(&indent(&generations_table(&gc.generations)));

    out.push_str("\nAllocator\n");
    let a = &r.allocator;
    let hooks = if a.debug_hooks {
        "debug hooks on"
    } else {
        "no debug hooks"
    };
    let allocator = (
        "allocator",
        format!("{} ({}, {hooks})", a.name, a.chosen_by),
    );
    if let Some(p) = &r.malloc_stats.pymalloc {
        out.push_str(&fields(&[
            allocator.clone(),
            (
                "arenas",
                format!(
                    "{} of {} each = {} (high-water {}, {} allocated in all, {} returned)",
                    p.arenas_current,
                    bytes(p.arena_size),
                    bytes(p.arenas_current * p.arena_size),
                    p.arenas_highwater,
                    p.arenas_allocated_total,
                    p.arenas_reclaimed
                ),
            ),
            (
                "pools",
                format!("{} each, {} unused", bytes(p.pool_size), p.unused_pools),
            ),
            (
                "blocks",
                format!(
                    "{} in use, {} free (utilization {})",
                    bytes(p.bytes_in_allocated_blocks),
                    bytes(p.bytes_in_available_blocks),
                    percent(p.utilization())
                ),
            ),
            (
                "overhead",
                format!(
                    "{} pool headers, {} quantization, {} arena alignment",
                    bytes(p.bytes_lost_to_pool_headers),
                    bytes(p.bytes_lost_to_quantization),
                    bytes(p.bytes_lost_to_arena_alignment)
                ),
            ),
            (
                "fragmentation",
                format!(
                    "{} of {} held is not live data",
                    percent(p.fragmentation()),
                    bytes(p.total_bytes)
                ),
            ),
        ]));
        let rows = p
            .size_classes
            .iter()
            .map(|c| {
                vec![
                    c.index.to_string(),
                    c.block_size.to_string(),
                    c.pools.to_string(),
                    c.blocks_in_use.to_string(),
                    c.blocks_available.to_string(),
                    bytes(c.blocks_in_use * c.block_size),
                    percent(c.utilization()),
                ]
            })
            .collect();
        out.push_str(&indent(&table(
            &[
                "class",
                "block size",
                "pools",
                "blocks used",
                "blocks free",
                "bytes used",
                "utilization",
            ],
            &[true; 7],
            rows,
        )));
    } else if f.mallocstats.is_none() {
        out.push_str(&fields(&[allocator]));
        out.push_str("  (this interpreter has no sys._debugmallocstats)\n");
    } else {
        out.push_str(&fields(&[allocator]));
        out.push_str("  pymalloc is not in use: small objects come from the C allocator\n");
    }
    let free: Vec<String> = r
        .malloc_stats
        .free_lists
        .iter()
        .filter(|l| l.free > 0)
        .map(|l| format!("{} {}", l.free, l.name))
        .collect();
    if !free.is_empty() {
        let _ = writeln!(out, "  free lists: {}", for_terminal(&free.join(", ")));
    }

    if let Some(p) = &r.process {
        out.push_str("\nProcess\n");
        out.push_str(&fields(&[
            ("pid", p.pid.to_string()),
            (
                "rss",
                format!("{} (peak {})", bytes(p.rss_bytes), bytes(p.peak_rss_bytes)),
            ),
            ("virtual", bytes(p.vms_bytes)),
            ("os threads", p.threads.to_string()),
            ("open files", p.open_files.to_string()),
        ]));
    }
    out
}

fn prefix_line(prefix: &str, base: &str) -> String {
    if prefix == base {
        prefix.to_owned()
    } else {
        format!("{prefix} (virtual environment of {base})")
    }
}

/// `gc.get_stats()`, one row per generation the version has, with 3.15's examined objects and
/// time where the version counts them.
fn generations_table(generations: &[GcGenerationStats]) -> String {
    let examined = generations.iter().any(|g| g.candidates.is_some());
    let timed = generations.iter().any(|g| g.duration.is_some());
    let mut header = vec!["generation", "collections", "collected", "uncollectable"];
    header.extend(examined.then_some("examined"));
    header.extend(timed.then_some("time"));
    let rows = generations
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let mut row = vec![
                i.to_string(),
                g.collections.to_string(),
                g.collected.to_string(),
                g.uncollectable.to_string(),
            ];
            if examined {
                row.push(g.candidates.map_or_else(String::new, |c| c.to_string()));
            }
            if timed {
                row.push(
                    g.duration
                        .map_or_else(String::new, |d| format!("{:.1} ms", d * 1e3)),
                );
            }
            row
        })
        .collect();
    table(&header, &vec![true; header.len()], rows)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generation(collections: i64) -> GcGenerationStats {
        GcGenerationStats {
            collections,
            collected: 2 * collections,
            uncollectable: 0,
            candidates: None,
            duration: None,
        }
    }

    #[test]
    fn generations_are_as_many_as_the_version_has() {
        let two = generations_table(&[generation(5), generation(1)]);
        assert_eq!(two.lines().count(), 2 + 2, "{two}");
        assert!(!two.contains("examined") && !two.contains("time"), "{two}");
        let three = generations_table(&[generation(5), generation(1), generation(0)]);
        assert_eq!(three.lines().count(), 2 + 3, "{three}");
    }

    #[test]
    fn examined_objects_and_time_show_where_the_version_counts_them() {
        let mut young = generation(3);
        young.candidates = Some(7083);
        young.duration = Some(0.000_597_692);
        let mut old = generation(0);
        old.candidates = Some(0);
        old.duration = Some(0.0);
        let text = generations_table(&[young, old]);
        assert!(
            text.lines()
                .next()
                .unwrap()
                .trim_end()
                .ends_with("examined     time"),
            "{text}"
        );
        assert!(text.contains("7083") && text.contains("0.6 ms"), "{text}");
    }

    #[test]
    fn facts_without_the_315_counters_still_parse() {
        let g: GcGenerationStats =
            serde_json::from_str(r#"{"collections": 1, "collected": 2, "uncollectable": 0}"#)
                .unwrap();
        assert_eq!(g, generation(1));
    }
}
