//! Fitting text to the terminal: tables whose long columns give way, and lines clipped to
//! the width, so that a report never wraps in a narrower terminal than it was drawn for.

use crate::escape::for_terminal;
use crate::table;

/// Which end of a cut cell stays: the start of a name or a source line, the end of a path
/// (`…/models/user.py:12` keeps the file and line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    Start,
    End,
}

/// A column that may be cut to fit, and which end of it stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub column: usize,
    pub keep: Keep,
}

/// Narrowest the cut columns get in a first pass, in order, so that one column does not lose
/// everything while the next keeps it all (paths keep more: their file and line), then down
/// to [`MIN_COLUMN`] if still too wide.
const fn soft_min(keep: Keep) -> usize {
    match keep {
        Keep::Start => 16,
        Keep::End => 32,
    }
}
/// Narrowest a cut column gets (or its header, if wider).
const MIN_COLUMN: usize = 8;

/// [`table`] no wider than `width` columns when it can be: the `cuts` columns, in order, are
/// cut with an ellipsis until the widest line fits (first each down to a readable width, then
/// further, to a few characters at least).
/// `None` draws the table at its natural width.
pub fn fitted_table(
    header: &[&str],
    numeric: &[bool],
    mut rows: Vec<Vec<String>>,
    width: Option<usize>,
    cuts: &[Cut],
) -> String {
    // Widths are those of the cells as shown, escapes and all.
    for row in &mut rows {
        crate::escape_cells(row);
    }
    let drawn = table(header, numeric, rows.clone());
    let Some(width) = width else {
        return drawn;
    };
    let mut over = widest(&drawn).saturating_sub(width);
    if over == 0 {
        return drawn;
    }
    let soft = cuts.iter().map(|c| (c, soft_min(c.keep)));
    let hard = cuts.iter().map(|c| (c, MIN_COLUMN));
    for (cut, min) in soft.chain(hard) {
        if over == 0 {
            break;
        }
        let Some(name) = header.get(cut.column) else {
            continue;
        };
        let natural = rows
            .iter()
            .filter_map(|r| r.get(cut.column))
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(0);
        let floor = min.max(name.chars().count());
        let target = natural.saturating_sub(over).max(floor);
        if target >= natural {
            continue;
        }
        for row in &mut rows {
            if let Some(cell) = row.get_mut(cut.column) {
                *cell = shorten(cell, target, cut.keep);
            }
        }
        over -= natural - target;
    }
    table(header, numeric, rows)
}

/// `text` in at most `width` characters, an ellipsis standing for what was cut.
pub fn shorten(text: &str, width: usize, keep: Keep) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    let room = width.saturating_sub(1);
    match keep {
        Keep::Start => format!("{}…", text.chars().take(room).collect::<String>()),
        Keep::End => format!("…{}", text.chars().skip(n - room).collect::<String>()),
    }
}

/// Every line of `text` cut to `width` visible characters (ANSI colour escapes take none),
/// with an ellipsis; trailing spaces go first.
pub fn clip_lines(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        if visible_width(body) <= width {
            out.push_str(body);
        } else {
            let body = body.trim_end();
            if visible_width(body) <= width {
                out.push_str(body);
            } else {
                clip(body, width, &mut out);
            }
        }
        out.push_str(newline);
    }
    out
}

/// [`crate::fields`] no wider than `width`: a value too long for its line goes on, at word
/// boundaries, on lines indented under the values.
pub fn fitted_fields(pairs: &[(&str, String)], width: Option<usize>) -> String {
    let drawn = crate::fields(pairs);
    let Some(width) = width else {
        return drawn;
    };
    // Widths are those of the text as shown, escapes and all.
    let shown: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (for_terminal(k).into_owned(), for_terminal(v).into_owned()))
        .collect();
    let pairs: Vec<(&str, &str)> = shown
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let key_width = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let indent = 2 + key_width + 2;
    let room = width.saturating_sub(indent).max(MIN_COLUMN * 2);
    let mut out = String::new();
    for (key, value) in &pairs {
        let mut lines: Vec<String> = Vec::new();
        let mut line = String::new();
        for word in value.split(' ') {
            let needed =
                line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
            if !line.is_empty() && needed > room {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
        for (i, text) in lines.iter().enumerate() {
            let shown = if i == 0 { *key } else { "" };
            out.push_str(&format!("  {shown:<key_width$}  {text}\n"));
        }
    }
    out
}

/// Characters of `text` a terminal shows: escape sequences (`ESC … m`) take no room.
pub fn visible_width(text: &str) -> usize {
    let mut n = 0;
    let mut escape = false;
    for c in text.chars() {
        match (escape, c) {
            (false, '\x1b') => escape = true,
            (true, 'm') => escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

/// Appends the first `width - 1` visible characters of `line` and an ellipsis, escapes kept,
/// colour reset when the line had any.
fn clip(line: &str, width: usize, out: &mut String) {
    let room = width.saturating_sub(1);
    let (mut shown, mut escape, mut colored) = (0, false, false);
    for c in line.chars() {
        if escape {
            out.push(c);
            escape = c != 'm';
            continue;
        }
        if c == '\x1b' {
            escape = true;
            colored = true;
            out.push(c);
            continue;
        }
        if shown == room {
            break;
        }
        out.push(c);
        shown += 1;
    }
    out.push('…');
    if colored {
        out.push_str("\x1b[0m");
    }
}

fn widest(text: &str) -> usize {
    text.lines().map(visible_width).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Vec<String>> {
        vec![
            vec![
                "1.0 s".into(),
                "a_rather_long_function_name_indeed".into(),
                "some/deeply/nested/package/module.py:123".into(),
            ],
            vec!["2.0 s".into(), "f".into(), "app.py:1".into()],
        ]
    }

    #[test]
    fn a_table_too_wide_gives_way_in_its_cut_columns() {
        let header = ["time", "function", "location"];
        let numeric = [true, false, false];
        let natural = fitted_table(&header, &numeric, rows(), None, &[]);
        assert!(widest(&natural) > 60, "{natural}");
        let cuts = [
            Cut {
                column: 2,
                keep: Keep::End,
            },
            Cut {
                column: 1,
                keep: Keep::Start,
            },
        ];
        let fitted = fitted_table(&header, &numeric, rows(), Some(60), &cuts);
        assert!(widest(&fitted) <= 60, "{fitted}");
        // The path keeps its end, the file and line.
        assert!(fitted.contains("…"), "{fitted}");
        assert!(fitted.contains("module.py:123"), "{fitted}");
        let narrow = fitted_table(&header, &numeric, rows(), Some(40), &cuts);
        assert!(widest(&narrow) <= 40, "{narrow}");
        // Both cut columns gave way; the path still ends with its line.
        assert!(narrow.contains("a_rather_long_f…"), "{narrow}");
        assert!(narrow.contains("…ule.py:123"), "{narrow}");
    }

    #[test]
    fn cells_are_fitted_as_shown_escaped() {
        let header = ["time", "function"];
        let rows = vec![vec!["1.0 s".into(), "f\x1b[2J\x1b]0;title\x07g".into()]];
        let cut = [Cut {
            column: 1,
            keep: Keep::Start,
        }];
        let natural = fitted_table(&header, &[true, false], rows.clone(), None, &cut);
        assert!(
            natural.contains("f\\x1b[2J\\x1b]0;title\\x07g"),
            "{natural}"
        );
        let fitted = fitted_table(&header, &[true, false], rows, Some(24), &cut);
        assert!(!fitted.contains('\x1b'), "{fitted:?}");
        assert!(widest(&fitted) <= 24, "{fitted}");
        let fields = fitted_fields(&[("name", "a\nb\x1b[2J".to_string())], Some(40));
        assert_eq!(fields, "  name  a\\nb\\x1b[2J\n");
    }

    #[test]
    fn a_table_that_fits_is_left_alone() {
        let header = ["time", "function", "location"];
        let cut = [Cut {
            column: 2,
            keep: Keep::End,
        }];
        let natural = fitted_table(&header, &[true, false, false], rows(), None, &cut);
        let wide = fitted_table(&header, &[true, false, false], rows(), Some(200), &cut);
        assert_eq!(natural, wide);
    }

    #[test]
    fn lines_clip_to_the_width_escapes_taking_no_room() {
        assert_eq!(clip_lines("abcdef\nab\n", 4), "abc…\nab\n");
        assert_eq!(clip_lines("ab    \n", 4), "ab\n");
        let colored = "\x1b[2mabcdef\x1b[0m";
        let clipped = clip_lines(colored, 4);
        assert_eq!(visible_width(&clipped), 4);
        assert!(clipped.starts_with("\x1b[2mabc…"), "{clipped:?}");
        assert!(clipped.ends_with("\x1b[0m"));
    }

    #[test]
    fn long_values_go_on_under_the_values() {
        let pairs = [
            ("a", "short".to_string()),
            (
                "key",
                "one two three four five six seven eight nine ten".to_string(),
            ),
        ];
        assert_eq!(fitted_fields(&pairs, None), crate::fields(&pairs));
        let out = fitted_fields(&pairs, Some(30));
        assert!(out.lines().all(|l| l.chars().count() <= 30), "{out}");
        assert!(
            out.starts_with("  a    short\n  key  one two three four five\n"),
            "{out}"
        );
        assert!(
            out.ends_with("\n       six seven eight nine\n       ten\n"),
            "{out}"
        );
    }

    #[test]
    fn shorten_keeps_the_end_asked_for() {
        assert_eq!(shorten("abcdef", 4, Keep::Start), "abc…");
        assert_eq!(shorten("abcdef", 4, Keep::End), "…def");
        assert_eq!(shorten("abc", 4, Keep::End), "abc");
    }
}
