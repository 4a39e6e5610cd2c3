//! The tokeniser, identical to `tokenize` in `js/engine.js`: maximal runs of Unicode alphanumeric
//! characters (`char::is_alphanumeric`, which is JavaScript's `[\p{Alphabetic}\p{N}]`), each
//! lowercased on its own (`str::to_lowercase`, JavaScript's `toLowerCase`), and dropped when the
//! lowercased token is longer than [`MAX_TOKEN_CHARS`] characters (hashes, base64, garbage).

/// Tokens longer than this (in characters, after lowercasing) are not indexed.
pub const MAX_TOKEN_CHARS: usize = 40;

/// Calls `each` with every token of `text`, in order.
pub fn for_each_token(text: &str, mut each: impl FnMut(&str)) {
    let mut lowered = String::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (start, c.is_alphanumeric()) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                let run = &text[s..i];
                start = None;
                if run.is_ascii() {
                    if run.len() > MAX_TOKEN_CHARS {
                        continue;
                    }
                    lowered.clear();
                    lowered.push_str(run);
                    lowered.make_ascii_lowercase();
                } else {
                    lowered = run.to_lowercase();
                    if lowered.chars().count() > MAX_TOKEN_CHARS {
                        continue;
                    }
                }
                each(&lowered);
            }
            _ => {}
        }
    }
}

/// The tokens of `text`, in order.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(text, |token| out.push(token.to_owned()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &[&str]) {
        assert_eq!(tokenize(text), expected, "tokens of {text:?}");
    }

    #[test]
    fn tokens() {
        check("", &[]);
        check("Hello, World!", &["hello", "world"]);
        check("e-mail x86_64 v2.6", &["e", "mail", "x86", "64", "v2", "6"]);
        check("  ÉTÉ Größe naïve ", &["été", "größe", "naïve"]);
        check("ΟΔΟΣ", &["οδος"]);
        check("日本語テキスト", &["日本語テキスト"]);
        check("٣٤ ½", &["٣٤", "½"]);
        check("tab\tnew\nline", &["tab", "new", "line"]);
    }

    #[test]
    fn long_tokens_are_dropped() {
        let forty = "a".repeat(40);
        let long = "b".repeat(41);
        check(&format!("x {forty} {long} y"), &["x", &forty, "y"]);
        let forty_accented = "é".repeat(40);
        check(
            &format!("{forty_accented} {}", "É".repeat(41)),
            &[&forty_accented],
        );
    }
}
