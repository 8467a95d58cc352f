//! Text from a profiled program (function, file, thread and type names, argv, exception text)
//! or from someone else's `.fluoro` / `.fheap` file, made safe to print: a name must not
//! clear the screen, set the terminal's title, reorder the line, or break a table row.
//!
//! Control characters are shown escaped as Python would show them in a string: `\n`, `\r`,
//! `\t`, other C0 and DEL as `\x1b`, C1 and the invisible direction marks and overrides
//! (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069, U+061C) and the line and paragraph
//! separators (U+2028, U+2029) as `\u202e`. A backslash is kept as it is, so printable text
//! (every name a real program has) is shown unchanged; the escape is for reading, and
//! `\x1b` in a report may also have been those four characters.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every character a terminal would act on shown escaped (see the module doc).
/// Borrows when there is nothing to escape, the case of nearly every name.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    escaped(text, &[])
}

/// [`for_terminal`], and `separators` too, as `\xHH`: for line formats whose fields a
/// character splits (the collapsed stacks' `;`). Separators must be ASCII.
pub fn for_line_format<'a>(text: &'a str, separators: &[char]) -> Cow<'a, str> {
    escaped(text, separators)
}

fn escaped<'a>(text: &'a str, separators: &[char]) -> Cow<'a, str> {
    let hidden = |c: char| needs_escape(c) || separators.contains(&c);
    let Some(first) = text.find(hidden) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        if !hidden(c) {
            out.push(c);
            continue;
        }
        let _ = match c {
            '\n' => write!(out, "\\n"),
            '\r' => write!(out, "\\r"),
            '\t' => write!(out, "\\t"),
            c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32),
            c => write!(out, "\\u{:04x}", c as u32),
        };
    }
    Cow::Owned(out)
}

/// Whether a terminal would act on `c` rather than show it.
fn needs_escape(c: char) -> bool {
    c.is_control() // C0, DEL and C1
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hostile_names_are_shown_escaped() {
        assert_eq!(for_terminal("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
        assert_eq!(for_terminal("\x1b[2J"), "\\x1b[2J");
        assert_eq!(for_terminal("a\nb\tc\rd"), "a\\nb\\tc\\rd");
        assert_eq!(for_terminal("\x7f\u{85}\u{9b}"), "\\x7f\\u0085\\u009b");
        assert_eq!(for_terminal("abc\u{202e}fdp.exe"), "abc\\u202efdp.exe");
        assert_eq!(for_terminal("\0"), "\\x00");
    }

    #[test]
    fn names_with_nothing_to_escape_are_borrowed() {
        for name in [
            "main",
            "Thread.run",
            "<module>",
            "héllo · 名前 🐍",
            "C:\\path",
            "",
        ] {
            assert!(matches!(for_terminal(name), Cow::Borrowed(n) if n == name));
        }
    }

    #[test]
    fn line_formats_escape_their_separators() {
        assert_eq!(for_line_format("a;b\nc", &[';']), "a\\x3bb\\nc");
        assert_eq!(for_line_format("a:b", &[';']), "a:b");
    }

    proptest! {
        #[test]
        fn output_holds_no_character_a_terminal_acts_on(text in any::<String>()) {
            let out = for_terminal(&text);
            prop_assert!(!out.chars().any(needs_escape), "{out:?}");
            // Escaping is idempotent: a table may escape what a caller already escaped.
            prop_assert_eq!(for_terminal(&out), out.clone());
            let line = for_line_format(&text, &[';']);
            prop_assert!(!line.chars().any(|c| needs_escape(c) || c == ';'), "{line:?}");
        }

        #[test]
        fn printable_text_is_unchanged(text in "[^\\p{Cc}\u{061c}\u{200e}\u{200f}\u{202a}-\u{202e}\u{2066}-\u{2069}\u{2028}\u{2029}]*") {
            prop_assert_eq!(for_terminal(&text), text.as_str());
        }
    }
}
