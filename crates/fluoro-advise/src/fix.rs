//! Applying safe fixes to a file's source.

use crate::diagnostic::Edit;

/// Applies the edits that do not overlap an earlier one; returns the new source and how many
/// were applied.
pub fn apply(source: &str, edits: &[&Edit]) -> (String, usize) {
    let mut edits: Vec<&Edit> = edits.to_vec();
    edits.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(source.len());
    let mut at = 0;
    let mut applied = 0;
    for edit in edits {
        if edit.start < at || edit.end > source.len() || edit.start > edit.end {
            continue;
        }
        let (Some(kept), true) = (
            source.get(at..edit.start),
            source.is_char_boundary(edit.end),
        ) else {
            continue;
        };
        out.push_str(kept);
        out.push_str(&edit.content);
        at = edit.end;
        applied += 1;
    }
    out.push_str(&source[at..]);
    (out, applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_edits_keep_the_first() {
        let e1 = Edit {
            start: 0,
            end: 3,
            content: "X".into(),
        };
        let e2 = Edit {
            start: 2,
            end: 5,
            content: "Y".into(),
        };
        let e3 = Edit {
            start: 6,
            end: 7,
            content: "Z".into(),
        };
        assert_eq!(apply("abcdefg", &[&e3, &e2, &e1]), ("XdefZ".to_owned(), 2));
    }
}
