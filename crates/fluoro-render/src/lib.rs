//! Terminal rendering shared by fluoro's reports.

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
/// `numeric[i]` says whether column `i` holds numbers.
pub fn table(header: &[&str], numeric: &[bool], rows: Vec<Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_style(STYLE)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    for row in rows {
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

/// `key  value` lines with the keys padded to one width, indented by two spaces.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("  {k:<width$}  {v}\n"))
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
