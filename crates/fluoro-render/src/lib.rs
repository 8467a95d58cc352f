//! Terminal rendering shared by fluoro's reports.

pub mod escape;
mod fit;
mod units;

pub use fit::{clip_lines, fitted_fields, fitted_table, shorten, visible_width, Cut, Keep};
pub use units::{bytes, count, parse_size, percent, seconds};

use comfy_table::{CellAlignment, ContentArrangement, LineStyle, Table, TableStyle};

/// The words every fluoro message uses for an I/O error: `cannot read x.fluoro: no such file`.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// A rule under the header and nothing else.
const STYLE: TableStyle =
    TableStyle::new().header_separator(LineStyle::none().fill('─').junction('─'));

/// A table in fluoro's terminal style: a header row over a rule, numbers right-aligned.
///
/// `numeric[i]` says whether column `i` holds numbers. Cells are shown escaped
/// ([`escape::for_terminal`]): a name with a newline or an escape sequence stays in its cell.
pub fn table(header: &[&str], numeric: &[bool], rows: Vec<Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_style(STYLE)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| escape::for_terminal(h)));
    for mut row in rows {
        escape_cells(&mut row);
        t.add_row(row);
    }
    for (i, is_numeric) in numeric.iter().enumerate() {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(if *is_numeric {
                CellAlignment::Right
            } else {
                CellAlignment::Left
            });
        }
    }
    t.to_string()
}

/// Each cell of `row` as [`escape::for_terminal`] shows it (untouched when nothing needs it).
pub(crate) fn escape_cells(row: &mut [String]) {
    for cell in row {
        if let std::borrow::Cow::Owned(shown) = escape::for_terminal(cell) {
            *cell = shown;
        }
    }
}

/// `key  value` lines with the keys padded to one width, indented by two spaces; keys and
/// values shown escaped ([`escape::for_terminal`]).
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(k, _)| escape::for_terminal(k).chars().count())
        .max()
        .unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| {
            let (k, v) = (escape::for_terminal(k), escape::for_terminal(v));
            format!("  {k:<width$}  {v}\n")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_numbers_right() {
        let out = table(
            &["name", "n"],
            &[false, true],
            vec![
                vec!["a".into(), "1".into()],
                vec!["bbb".into(), "100".into()],
            ],
        );
        let lines: Vec<&str> = out.lines().collect();
        let one = lines.iter().find(|l| l.contains(" a ")).unwrap();
        let hundred = lines.iter().find(|l| l.contains("bbb")).unwrap();
        assert_eq!(one.find('1').unwrap(), hundred.find("100").unwrap() + 2);
    }

    #[test]
    fn fields_pad_keys() {
        assert_eq!(
            fields(&[("a", "1".into()), ("bcd", "2".into())]),
            "  a    1\n  bcd  2\n"
        );
    }
}
