//! Titles a reader can use, from plain text: the first heading, else the first sentence, cut at a
//! word boundary; never a comment line or the markup of a source format.
//!
//! Plain text is often a source format under another name: a man page (roff), a TeX file, Perl's
//! POD, a script or a configuration file. Their first lines are comments (`#`, `//`, `/* */`, `%`,
//! `;`, roff's `.\"`), licence tags and directives (`.TH`, `\documentclass`, `=head1`, `%YAML`),
//! which make useless titles. Those lines are skipped; a heading the format marks (TeX's
//! `\title{}`, `\section{}`; a line underlined with `===`) is taken; inline markup of a detected
//! format (roff's `\fB`, TeX's `\emph{}`, POD's `B<>`) is stripped from the text kept.

/// Longest title, in characters: longer headings and sentences are cut at a word boundary.
pub const MAX_TITLE_CHARS: usize = 160;
/// A line up to this long, over a line that starts anew, is a heading (see [`heads`]).
const SHORT_HEADING_CHARS: usize = 60;
/// How many lines are looked at: a title is near the top or nowhere.
const MAX_LINES: usize = 400;
/// Among the first lines, a `Title:` or `Subject:` line names the title.
const LABEL_LINES: usize = 40;

/// The source format whose inline markup is stripped, found from its tell-tale lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialect {
    Plain,
    Roff,
    Tex,
    Pod,
}

impl Dialect {
    fn of(lines: &[&str]) -> Dialect {
        for line in lines {
            let line = line.trim_start();
            if [".\\\"", "'\\\"", ".TH ", ".Dd ", ".SH "]
                .iter()
                .any(|p| line.starts_with(p))
            {
                return Dialect::Roff;
            }
            if [
                "\\documentclass",
                "\\begin{",
                "\\section",
                "\\chapter",
                "\\usepackage",
            ]
            .iter()
            .any(|p| line.starts_with(p))
            {
                return Dialect::Tex;
            }
            if ["=head", "=pod", "=encoding", "=begin"]
                .iter()
                .any(|p| line.starts_with(p))
            {
                return Dialect::Pod;
            }
        }
        Dialect::Plain
    }

    /// The line with this dialect's inline markup stripped.
    fn clean(self, line: &str) -> String {
        match self {
            Dialect::Plain => line.to_owned(),
            Dialect::Roff => strip_roff(line),
            Dialect::Tex => strip_tex(line),
            Dialect::Pod => strip_pod(line),
        }
    }
}

/// The title of plain text (see the module's doc), `None` when it has no words.
pub fn plain_title(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().take(MAX_LINES).collect();
    if let Some(title) = lines.iter().take(LABEL_LINES).find_map(|l| labelled(l)) {
        return Some(title);
    }
    let dialect = Dialect::of(&lines);
    let mut paragraph: Vec<String> = Vec::new();
    let mut in_block_comment = false;
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim();
        if in_block_comment {
            in_block_comment = !line.contains("*/");
            continue;
        }
        if line.starts_with("/*") {
            in_block_comment = !line.contains("*/");
            continue;
        }
        if dialect == Dialect::Tex
            && let Some(heading) = tex_heading(line)
        {
            return Some(cut_at_word(&heading, MAX_TITLE_CHARS));
        }
        let clean = match is_markup(line) {
            true => String::new(),
            // A bullet's star is no part of the title (`* Device tree bindings for ...`).
            false => dialect.clean(line.strip_prefix("* ").unwrap_or(line)),
        };
        let clean = clean.split_whitespace().collect::<Vec<_>>().join(" ");
        if !clean.chars().any(char::is_alphanumeric) {
            if paragraph.is_empty() {
                continue;
            }
            break;
        }
        if paragraph.is_empty() && lines.get(i + 1).is_some_and(|next| is_underline(next)) {
            return Some(cut_at_word(&clean, MAX_TITLE_CHARS));
        }
        paragraph.push(clean);
    }
    if let [first, second, ..] = paragraph.as_slice()
        && heads(first, second)
    {
        return Some(cut_at_word(first, MAX_TITLE_CHARS));
    }
    // A heading on a line of its own has no sentence end: it is taken whole.
    (!paragraph.is_empty()).then(|| first_sentence(&paragraph.join(" ")))
}

/// Whether the first line of a paragraph is a heading over the rest rather than the start of a
/// wrapped sentence: the first of a block of `Field: value` lines (linux-doc's ABI files), or a
/// short line without end punctuation followed by a line that starts anew (a capital or a
/// digit), as in a title block (`The Speakup User's Guide` / `For Speakup 3.1.2 and Later`).
/// Prose wraps mid-sentence, so its next line rarely starts with a capital, and its first line
/// is long or ends in a word that needs a next one.
fn heads(first: &str, second: &str) -> bool {
    let field = |line: &str| {
        line.split_once(':').is_some_and(|(label, value)| {
            label.starts_with(|c: char| c.is_ascii_uppercase())
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !value.trim().is_empty()
        })
    };
    if field(first) && field(second) {
        return true;
    }
    const NEEDS_MORE: &[&str] = &[
        "a", "an", "the", "of", "and", "or", "in", "on", "to", "for", "with", "by", "from", "at",
    ];
    let last_word = first.rsplit(' ').next().unwrap_or("").to_lowercase();
    first.chars().count() <= SHORT_HEADING_CHARS
        && !first.ends_with(['.', '!', '?', ':', ',', ';', '-', '('])
        && !NEEDS_MORE.contains(&last_word.as_str())
        && second.starts_with(|c: char| c.is_uppercase() || c.is_ascii_digit())
}

/// A comment or directive line of a source format: `#` (scripts, configuration, shebangs),
/// `//`, `;` (INI), `%` (TeX, `%YAML`), a line starting with `.` or `'` (roff requests and
/// comments, reStructuredText's `..`), `=word` (POD), a `\command` line (TeX), a field
/// (`:Author: name`), an editor's mode line, a licence tag.
fn is_markup(line: &str) -> bool {
    let pod = line.starts_with('=') && line[1..].starts_with(|c: char| c.is_ascii_alphabetic());
    // reStructuredText's field lists (`:Author: name`) are metadata.
    let field = line.starts_with(':')
        && line[1..]
            .split_once(':')
            .is_some_and(|(name, _)| !name.is_empty() && !name.contains(' '));
    line.starts_with(['#', ';', '%', '.', '\'', '\\'])
        || line.starts_with("//")
        || line.starts_with("--")
        || pod
        || field
        || line.contains("-*-")
        || line.contains("SPDX-License-Identifier")
}

/// A line under a heading: 3 or more of one of `= - ~ ^ * + # _`, nothing else.
fn is_underline(line: &str) -> bool {
    let line = line.trim();
    let mut chars = line.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    "=-~^*+#_".contains(first) && line.chars().count() >= 3 && chars.all(|c| c == first)
}

/// The value of a `Title:`, `:Title:` or `Subject:` line, if that is what `line` is.
fn labelled(line: &str) -> Option<String> {
    let line = line.trim();
    let (label, value) = line.trim_start_matches(':').split_once(':')?;
    let value = value.trim().trim_matches(['"', '\'']).trim();
    (matches!(label.to_ascii_lowercase().as_str(), "title" | "subject") && !value.is_empty())
        .then(|| cut_at_word(value, MAX_TITLE_CHARS))
}

/// The argument of a TeX `\title{}`, `\chapter{}`, `\section{}` or `\part{}` (starred or not), its
/// own markup stripped.
fn tex_heading(line: &str) -> Option<String> {
    let rest = ["\\title", "\\part", "\\chapter", "\\section"]
        .iter()
        .find_map(|cmd| line.strip_prefix(cmd))?;
    let rest = rest.strip_prefix('*').unwrap_or(rest);
    let rest = rest.strip_prefix('{')?;
    let mut depth = 1;
    let end = rest.char_indices().find_map(|(i, c)| {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        (depth == 0).then_some(i)
    })?;
    let heading = strip_tex(&rest[..end]);
    let heading = heading.split_whitespace().collect::<Vec<_>>().join(" ");
    (!heading.is_empty()).then_some(heading)
}

/// roff's inline escapes gone: fonts (`\fB`), `\-`, `\(em`, `\&`, strings (`\*(xx`), a comment
/// (`\"`) ending the line.
fn strip_roff(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => skip_name(&mut chars),
            Some('*') => skip_name(&mut chars),
            Some('(') => {
                let name: String = chars.by_ref().take(2).collect();
                out.push_str(match name.as_str() {
                    "em" => "—",
                    "en" => "–",
                    "aq" => "'",
                    "dq" => "\"",
                    _ => "",
                });
            }
            Some('-') => out.push('-'),
            Some('e') => out.push('\\'),
            Some(' ') => out.push(' '),
            Some('"') | None => break,
            Some(_) => {}
        }
    }
    out
}

/// Skips a roff name after `\f` or `\*`: one character, `(xx`, or `[name]`.
fn skip_name(chars: &mut std::str::Chars<'_>) {
    match chars.next() {
        Some('(') => {
            chars.by_ref().take(2).for_each(drop);
        }
        Some('[') => {
            chars.by_ref().find(|&c| c == ']');
        }
        _ => {}
    }
}

/// TeX's commands gone, their arguments kept: `\emph{word}` is `word`; `~` is a space; an escaped
/// character (`\%`) is itself; a comment (`%`) ends the line.
fn strip_tex(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(n) if n.is_ascii_alphabetic() => {
                    while chars.next_if(char::is_ascii_alphabetic).is_some() {}
                }
                Some('%' | '&' | '$' | '#' | '_' | '{' | '}') => out.extend(chars.next()),
                Some('\\') => {
                    chars.next();
                    out.push(' ');
                }
                _ => {
                    chars.next();
                }
            },
            '%' => break,
            '{' | '}' => {}
            '~' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// POD's formatting codes gone, their text kept: `B<bold>` is `bold`, `C<< $a->b >>` is `$a->b`.
fn strip_pod(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut open: Vec<usize> = Vec::new();
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        let code = c.is_ascii_uppercase() && "BCEFILSXZ".contains(c);
        let angles = rest[c.len_utf8()..]
            .chars()
            .take_while(|&a| a == '<')
            .count();
        if code && angles > 0 {
            open.push(angles);
            rest = &rest[1 + angles..];
            let spaced = angles > 1 && rest.starts_with(' ');
            rest = if spaced { &rest[1..] } else { rest };
            continue;
        }
        if let Some(&n) = open.last() {
            let close = ">".repeat(n);
            let spaced_close = format!(" {close}");
            if n > 1 && rest.starts_with(&spaced_close) {
                open.pop();
                rest = &rest[spaced_close.len()..];
                continue;
            }
            if rest.starts_with(&close) {
                open.pop();
                rest = &rest[close.len()..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The first sentence of a paragraph (its final period dropped), cut at a word boundary when long.
fn first_sentence(paragraph: &str) -> String {
    let sentence = sentence_end(paragraph).map_or(paragraph, |end| &paragraph[..end]);
    let sentence = sentence.strip_suffix('.').unwrap_or(sentence);
    cut_at_word(sentence, MAX_TITLE_CHARS)
}

/// Where the first sentence ends (after its `.`, `!` or `?`, and a closing quote or bracket): a
/// mark followed by a space and a capital letter, a digit or a quote, or by the end; and not the
/// dot of an abbreviation (`e.g.`, `Mr.`, an initial).
fn sentence_end(text: &str) -> Option<usize> {
    const ABBREVIATIONS: &[&str] = &[
        "mr", "mrs", "ms", "dr", "st", "vs", "etc", "no", "fig", "cf", "approx", "inc", "ltd",
        "jr", "sr", "prof", "vol", "ch", "sec",
    ];
    const CLOSING: &[char] = &['"', '\'', ')', ']', '”', '’', '»'];
    for (i, c) in text.char_indices() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let after = text[i + 1..].trim_start_matches(CLOSING);
        let end = text.len() - after.len();
        let next_ok = after.is_empty()
            || (after.starts_with(' ')
                && after[1..].starts_with(|n: char| {
                    n.is_uppercase() || n.is_ascii_digit() || "\"'(“«".contains(n)
                }));
        if !next_ok {
            continue;
        }
        if c == '.' && end == i + 1 {
            let word_start = text[..i]
                .rfind(|w: char| w.is_whitespace() || w == '(')
                .map_or(0, |s| s + 1);
            let word = &text[word_start..i];
            // `e.g`, `U.S`, `J`: letters alone between dots.
            let initials = word.split('.').all(|part| part.chars().count() == 1);
            if initials || ABBREVIATIONS.contains(&word.to_lowercase().as_str()) {
                continue;
            }
        }
        return Some(end);
    }
    None
}

/// `s` cut to at most `max` characters at a word boundary, with an ellipsis; a single word longer
/// than half of `max` is cut inside (there is no boundary to cut at).
pub fn cut_at_word(s: &str, max: usize) -> String {
    let s = s.trim();
    let Some((limit, _)) = s.char_indices().nth(max) else {
        return s.to_owned();
    };
    // Room for the ellipsis.
    let head = match s[..limit].char_indices().last() {
        Some((i, _)) => &s[..i],
        None => "",
    };
    let cut = match head.rfind(char::is_whitespace) {
        Some(space) if head[..space].chars().count() >= max / 2 => &head[..space],
        _ => head,
    };
    let cut = cut.trim_end_matches(|c: char| c.is_whitespace() || ",;:-–—(".contains(c));
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &str) {
        assert_eq!(plain_title(text).as_deref(), Some(expected), "{text}");
    }

    #[test]
    fn an_underlined_heading_after_fields_and_targets() {
        // linux-doc's it_IT/process/1.Intro.rst.
        check(
            ".. include:: ../disclaimer-ita.rst\n\n:Original: :ref:`Documentation/process/1.Intro.rst <x>`\n:Translator: Alessia\n\n.. _it_development_intro:\n\nIntroduzione\n============\n",
            "Introduzione",
        );
    }

    #[test]
    fn an_underlined_heading_after_a_licence_comment() {
        check(
            ".. SPDX-License-Identifier: GPL-2.0\n\n===============\nBoot Interrupts\n===============\n\n:Author: Sean\n",
            "Boot Interrupts",
        );
        check(
            "Atomic bitops\n=============\n\nWhile our...",
            "Atomic bitops",
        );
    }

    #[test]
    fn the_first_sentence_of_a_paragraph_cut_at_a_word() {
        // linux-doc's CREDITS.
        check(
            "\tThis is at least a partial credits-file of people that have\n\tcontributed to the Linux project.  It is sorted by name and\n\tformatted to allow easy grepping.\n",
            "This is at least a partial credits-file of people that have contributed to the Linux project",
        );
        check(
            "See e.g. the notes by Mr. Smith and J. Doe on the matter. Then more.",
            "See e.g. the notes by Mr. Smith and J. Doe on the matter",
        );
        // linux-doc's ja_JP/stable_kernel_rules.txt: a sentence ending in a quoted file name.
        check(
            "NOTE:\nThis is a version of \"Documentation/process/stable.rst\".\nThis one is kept.",
            "NOTE: This is a version of \"Documentation/process/stable.rst\"",
        );
        let long = "word ".repeat(100);
        let title = plain_title(&long).expect("title");
        assert!(title.ends_with("word…"), "{title}");
        assert!(title.chars().count() <= MAX_TITLE_CHARS);
    }

    #[test]
    fn a_first_line_over_a_block_is_its_heading() {
        // linux-doc's admin-guide/spkguide.txt and ABI/testing/sysfs-bus-mei.
        check(
            "\nThe Speakup User's Guide\nFor Speakup 3.1.2 and Later\nBy Gene Collins\n",
            "The Speakup User's Guide",
        );
        check(
            "What:\t\t/sys/bus/mei/devices/.../modalias\nDate:\t\tMarch 2013\nKernelVersion:\t3.10\n",
            "What: /sys/bus/mei/devices/.../modalias",
        );
        // Prose wrapped before a capital is still one sentence.
        check(
            "We met the delegation of the\nNetherlands on Monday. It went well.\n",
            "We met the delegation of the Netherlands on Monday",
        );
    }

    #[test]
    fn a_bullet_heading_is_kept_without_its_star() {
        // linux-doc's devicetree/bindings/mfd/atmel-gpbr.txt.
        check(
            "* Device tree bindings for Atmel GPBR (General Purpose Backup Registers)\n\nThe GPBR are a set of battery-backed registers.\n",
            "Device tree bindings for Atmel GPBR (General Purpose Backup Registers)",
        );
    }

    #[test]
    fn comments_of_scripts_and_configuration_are_skipped() {
        check(
            "#!/bin/sh\n# Copyright 2009 someone\n# SPDX-License-Identifier: GPL-2.0\n\necho hello world\n",
            "echo hello world",
        );
        check(
            "/*\n * Licence text\n */\n// more\nint main(void) {}\n",
            "int main(void) {}",
        );
        check(
            "; settings\n[section]\nkey = value\n",
            "[section] key = value",
        );
        check(
            "# SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)\n%YAML 1.2\n---\n$id: http://x/y.yaml#\n\ntitle: Peripheral properties for Tegra Quad SPI Controller\n",
            "Peripheral properties for Tegra Quad SPI Controller",
        );
    }

    #[test]
    fn roff_is_stripped() {
        check(
            ".\\\" Copyright (c) 1990 The Regents\n.TH LS 1 \"2010-04-12\"\n.SH NAME\nls \\- list \\fBdirectory\\fR contents\n.SH SYNOPSIS\n",
            "ls - list directory contents",
        );
    }

    #[test]
    fn tex_headings_and_text() {
        check(
            "% arara: pdflatex\n\\documentclass{article}\n\\usepackage{x}\n\\title{The \\emph{Roman} Forum}\n\\begin{document}\n",
            "The Roman Forum",
        );
        check(
            "\\documentclass{article}\n\\begin{document}\nThis is \\emph{very}~old.\n",
            "This is very old",
        );
    }

    #[test]
    fn pod_is_stripped() {
        check(
            "=head1 NAME\n\nB<perldoc> - Look up C<< Perl->docs >> in POD format\n\n=cut\n",
            "perldoc - Look up Perl->docs in POD format",
        );
    }

    #[test]
    fn no_words_no_title() {
        assert_eq!(plain_title("# only a comment\n\n----\n"), None);
        assert_eq!(plain_title(""), None);
    }

    #[test]
    fn cut_at_word_never_cuts_a_word_it_can_keep_whole() {
        assert_eq!(cut_at_word("short", 10), "short");
        assert_eq!(cut_at_word("the quick brown fox jumps", 12), "the quick…");
        assert_eq!(cut_at_word("Donaudampfschifffahrt", 8), "Donauda…");
        assert_eq!(cut_at_word("one, two, three", 11), "one, two…");
    }
}
