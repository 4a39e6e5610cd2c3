//! HTML escaping, one rule for every page we write: the reader site's, the directory's status
//! page, a mirror's 451 notice. No template engine, every value escaped.

/// The Unicode bidirectional controls: embeddings and overrides (U+202A-U+202E) and isolates
/// (U+2066-U+2069). In a title they make `invoice<RLO>gnp.exe` show as `invoiceexe.png`, and on a
/// terminal they reorder the rest of the line.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` escaped for element content and double- or single-quoted attribute values (see
/// [`push_escaped`]).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    push_escaped(&mut out, text);
    out
}

/// Appends `text` escaped (`&`, `<`, `>`, `"`, `'`); control characters other than tab and
/// newline are dropped (they are not allowed in HTML and come from broken mail or a hostile
/// order), and so are the bidirectional controls ([`is_bidi_control`]: an override spills over
/// whatever follows it on the page) and the noncharacters (parse errors in HTML).
pub fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            '\r' => {}
            c if c.is_control() || is_bidi_control(c) => {}
            c if matches!(c as u32, 0xFDD0..=0xFDEF) || (c as u32 & 0xFFFE) == 0xFFFE => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_both_quotes() {
        assert_eq!(
            escape("<a href='x' title=\"y\">&</a>"),
            "&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn drops_controls_bidi_overrides_and_noncharacters_but_keeps_tabs_and_newlines() {
        assert_eq!(
            escape("invoice\u{202E}gnp.exe\r\n\ta\u{7}b\u{FFFE}c\u{FDD0}"),
            "invoicegnp.exe\n\tabc"
        );
    }
}
