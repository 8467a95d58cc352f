//! Program-derived text inside the page: JSON that a `<script>` block holds, and the little
//! HTML text the page's skeleton shows before its script runs.

/// JSON that can sit inside `<script type="application/json">` whatever its strings hold: no
/// `<`, `>` or `&` (so no `</script>` or `<!--` can end or change the block) and no U+2028 or
/// U+2029, each written as its `\u` escape, which is the same JSON.
pub fn json_for_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Text for an HTML element or a quoted attribute.
pub fn html_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_has_no_markup_and_reads_back_the_same() {
        let hostile = "</script><img src=x onerror=alert(1)><!-- \"q\" 'a' & \u{2028}\u{2029}";
        let json = serde_json::to_string(&hostile).unwrap();
        let safe = json_for_script(&json);
        for bad in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
            assert!(!safe.contains(bad), "{bad:?} left in {safe}");
        }
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, hostile);
    }

    #[test]
    fn html_text_escapes_markup_and_quotes() {
        assert_eq!(
            html_text("<b a=\"1\" b='2'>&</b>"),
            "&lt;b a=&quot;1&quot; b=&#39;2&#39;&gt;&amp;&lt;/b&gt;"
        );
    }
}
