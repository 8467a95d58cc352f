//! Byte offsets to 1-based lines and columns (columns count characters, as editors do), and
//! `# noqa` comments.

use ruff_python_ast::token::{Token, TokenKind};
use ruff_text_size::Ranged;

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
}

/// What a `# noqa` comment exempts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Exemption {
    All,
    Codes(Vec<String>),
}

/// The `# noqa` directives of a file, by line, read as ruff reads them: only in real
/// comments (never inside a string), `noqa` in any case, with or without a space after `#`,
/// and rule codes after a colon (`# noqa: FLU101, FLU102`, `#noqa:FLU101`).
#[derive(Debug, Default)]
pub struct Noqa {
    lines: std::collections::HashMap<u32, Exemption>,
}

impl Noqa {
    /// Reads the directives from the comment tokens of a parsed file.
    pub fn from_tokens(source: &str, tokens: &[Token], index: &LineIndex) -> Noqa {
        let mut lines = std::collections::HashMap::new();
        for token in tokens.iter().filter(|t| t.kind() == TokenKind::Comment) {
            let start = token.range().start().to_usize();
            let end = token.range().end().to_usize();
            if let Some(exemption) = source.get(start..end).and_then(directive) {
                lines.insert(index.line(start), exemption);
            }
        }
        Noqa { lines }
    }

    /// Whether the line holding `offset` exempts `code`.
    pub fn suppresses(&self, index: &LineIndex, offset: usize, code: &str) -> bool {
        match self.lines.get(&index.line(offset)) {
            None => false,
            Some(Exemption::All) => true,
            Some(Exemption::Codes(codes)) => codes.iter().any(|c| c == code),
        }
    }
}

/// The `noqa` directive in one comment's text, if it holds one.
fn directive(comment: &str) -> Option<Exemption> {
    for (at, _) in comment.match_indices('#') {
        let rest = comment[at + 1..].trim_start();
        let Some(word) = rest.get(..4).filter(|w| w.eq_ignore_ascii_case("noqa")) else {
            continue;
        };
        let after = &rest[word.len()..];
        if after.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let Some(list) = after.strip_prefix(':') else {
            return Some(Exemption::All);
        };
        let codes: Vec<String> = list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|c| !c.is_empty())
            .take_while(|c| is_code(c))
            .map(str::to_owned)
            .collect();
        return Some(if codes.is_empty() {
            Exemption::All
        } else {
            Exemption::Codes(codes)
        });
    }
    None
}

/// A rule code: capital letters, then digits (`FLU101`, `E501`).
fn is_code(text: &str) -> bool {
    let digits = text.trim_start_matches(|c: char| c.is_ascii_uppercase());
    digits.len() < text.len() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
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

    fn exempted(src: &str, line: u32, code: &str) -> bool {
        let parsed = ruff_python_parser::parse_module(src).unwrap();
        let index = LineIndex::new(src);
        let noqa = Noqa::from_tokens(src, parsed.tokens(), &index);
        let offset = src
            .split_inclusive('\n')
            .take(line as usize - 1)
            .map(str::len)
            .sum();
        noqa.suppresses(&index, offset, code)
    }

    #[test]
    fn noqa_with_and_without_codes() {
        let src = "x  # noqa\ny  # noqa: FLU101, FLU102\nz\n";
        assert!(exempted(src, 1, "FLU999"));
        assert!(exempted(src, 2, "FLU102"));
        assert!(!exempted(src, 2, "FLU103"));
        assert!(!exempted(src, 3, "FLU101"));
    }

    #[test]
    fn noqa_is_read_as_ruff_reads_it() {
        let src = "a  # NOQA\nb  #noqa:FLU101\nc  # NoQa:FLU101,FLU102\nd  # type: int  # noqa\n";
        assert!(exempted(src, 1, "FLU101"));
        assert!(exempted(src, 2, "FLU101"));
        assert!(!exempted(src, 2, "FLU102"));
        assert!(exempted(src, 3, "FLU102"));
        assert!(exempted(src, 4, "FLU101"));
    }

    #[test]
    fn noqa_inside_a_string_is_no_comment() {
        let src = r#"s = '# noqa'
t = "x" + '#noqa: FLU101'
u = f'{v} # noqa'
w = '''
# noqa
'''
"#;
        for line in 1..=6 {
            assert!(!exempted(src, line, "FLU101"), "line {line}");
        }
        assert!(!exempted("x  # noqanything\n", 1, "FLU101"));
    }
}
