//! Byte offsets to 1-based lines and columns (columns count characters, as editors do), and
//! `# noqa` comments.

/// Where each line starts.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(source: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            source
                .bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> u32 {
        self.starts.partition_point(|&s| s <= offset) as u32
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, source: &str, offset: usize) -> (u32, u32) {
        let line = self.line(offset);
        let start = self.starts[line as usize - 1];
        let offset = offset.min(source.len());
        let col = source
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, col as u32 + 1)
    }

    /// The text of the 1-based line, without its line break.
    pub fn line_text<'s>(&self, source: &'s str, line: u32) -> &'s str {
        let start = self.starts.get(line as usize - 1).copied().unwrap_or(0);
        let end = self
            .starts
            .get(line as usize)
            .copied()
            .unwrap_or(source.len());
        source
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }

    /// Whether the line holding `offset` ends in `# noqa` (all codes) or `# noqa: CODE, ...`
    /// naming `code`.
    pub fn suppressed(&self, source: &str, offset: usize, code: &str) -> bool {
        let text = self.line_text(source, self.line(offset));
        let Some(at) = text.find("# noqa") else {
            return false;
        };
        let rest = &text[at + "# noqa".len()..];
        match rest.strip_prefix(':') {
            None => true,
            Some(codes) => codes
                .split(|c: char| c == ',' || c.is_whitespace())
                .any(|c| c == code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_characters() {
        let src = "a = 1\nb = 'é' + c\n";
        let index = LineIndex::new(src);
        assert_eq!(index.line_col(src, 0), (1, 1));
        let c = src.find('c').unwrap();
        assert_eq!(index.line_col(src, c), (2, 11));
        assert_eq!(index.line_text(src, 2), "b = 'é' + c");
    }

    #[test]
    fn noqa_with_and_without_codes() {
        let src = "x  # noqa\ny  # noqa: FLU101, FLU102\nz\n";
        let index = LineIndex::new(src);
        assert!(index.suppressed(src, 0, "FLU999"));
        assert!(index.suppressed(src, 10, "FLU102"));
        assert!(!index.suppressed(src, 10, "FLU103"));
        assert!(!index.suppressed(src, src.len() - 2, "FLU101"));
    }
}
