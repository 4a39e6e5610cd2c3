//! Dates a document carries outside any metadata: a dateline among its first lines, or its file
//! name (`2006`, `2010-04-12`, `20100412`). The caller marks where the date came from
//! ([`crate::model::DateSource`]).
//!
//! Only plausible years count (1900 to next year): `8250.txt` or `rfc1149` are not dates. A bare
//! year is a date only in a file name (between separators) or after a label (`Updated: 2009`):
//! in running text "2006" is as likely a quantity. A year alone, or a month and a year, stands for
//! its first day.

use time::{Date, Month};

/// How many non-blank lines from the top a dateline may be on.
const DATELINE_LINES: usize = 15;
/// A line longer than this is prose, not a dateline (unless labelled).
const DATELINE_CHARS: usize = 60;
/// Labels that introduce a date, lowercase, without their colon.
const LABELS: &[&str] = &[
    "date",
    "dated",
    "updated",
    "last updated",
    "last update",
    "last modified",
    "revised",
    "written",
    "created",
];

/// The date of a dateline among the first lines of `text`: a labelled line (`Date: 12 April
/// 2010`, `:Updated: 2009-10-10`, `Last updated: 2009`) or a short line that is a date, perhaps
/// after a place (`Berlin, 12 April 2010`).
pub fn text_date(text: &str, this_year: i32) -> Option<Date> {
    let lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(DATELINE_LINES);
    for line in lines {
        if let Some(rest) = after_label(line) {
            if let Some((date, _)) = find_date(rest, this_year, true) {
                return Some(date);
            }
            continue;
        }
        if line.chars().count() > DATELINE_CHARS {
            continue;
        }
        if let Some((date, span)) = find_date(line, this_year, false) {
            let around = format!("{} {}", &line[..span.0], &line[span.1..]);
            if around.split_whitespace().count() <= 2 {
                return Some(date);
            }
        }
    }
    None
}

/// The date in a file name: `2010-04-12` (or with `_`, `.`), `20100412`, `12 Apr 2010`, else a
/// year standing between separators (`report-2006.txt`, not `rfc1918.txt`).
pub fn name_date(name: &str, this_year: i32) -> Option<Date> {
    let stem = name.split('.').next().unwrap_or(name);
    find_date(name, this_year, false)
        .or_else(|| find_date(stem, this_year, true))
        .map(|(date, _)| date)
}

/// What follows a date label and its colon (`Date: `, `:Date:`), if `line` starts with one.
fn after_label(line: &str) -> Option<&str> {
    let line = line.trim_start_matches(':');
    let (label, rest) = line.split_once(':')?;
    LABELS
        .contains(&label.trim().to_ascii_lowercase().as_str())
        .then_some(rest)
}

/// A token of a string: a run of digits (its value and length), a run of letters, or one other
/// character; each with its byte span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token<'a> {
    Number(u32, usize),
    Word(&'a str),
    Other(char),
}

fn tokens(s: &str) -> Vec<(Token<'_>, usize, usize)> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let same = |d: &char| {
            (c.is_ascii_digit() && d.is_ascii_digit()) || (c.is_alphabetic() && d.is_alphabetic())
        };
        let mut end = start + c.len_utf8();
        while let Some(&(i, d)) = chars.peek() {
            if !same(&d) {
                break;
            }
            end = i + d.len_utf8();
            chars.next();
        }
        let text = &s[start..end];
        let token = if c.is_ascii_digit() {
            // Longer than 9 digits: no date, and no overflow.
            Token::Number(text.parse().unwrap_or(u32::MAX), text.len())
        } else if c.is_alphabetic() {
            Token::Word(text)
        } else {
            Token::Other(c)
        };
        out.push((token, start, end));
    }
    out
}

/// The first date in `s` and its byte span; with `bare_year`, a year on its own counts too.
fn find_date(s: &str, this_year: i32, bare_year: bool) -> Option<(Date, (usize, usize))> {
    let t = tokens(s);
    let plausible = |y: u32| (1900..=this_year + 1).contains(&(y as i32));
    let number = |i: usize, len: std::ops::RangeInclusive<usize>| match t.get(i) {
        Some((Token::Number(v, l), _, _)) if len.contains(l) => Some(*v),
        _ => None,
    };
    let month_word = |i: usize| match t.get(i) {
        Some((Token::Word(w), _, _)) => month_named(w),
        _ => None,
    };
    let other = |i: usize| match t.get(i) {
        Some((Token::Other(c), _, _)) => Some(*c),
        _ => None,
    };
    let date = |y: u32, m: u32, d: u32| {
        let month = Month::try_from(u8::try_from(m).ok()?).ok()?;
        Date::from_calendar_date(y as i32, month, u8::try_from(d).ok()?).ok()
    };
    // Separated by a space, or by one of `sep` with optional spaces: the token after.
    let skip_sep = |i: usize, seps: &str| {
        let mut j = i;
        while other(j) == Some(' ') {
            j += 1;
        }
        if other(j).is_some_and(|c| seps.contains(c) && c != ' ') {
            j += 1;
            while other(j) == Some(' ') {
                j += 1;
            }
        }
        j
    };
    let span = |from: usize, to: usize| (t[from].1, t[to].2);
    // Digit runs are whole tokens: `120100412` is one number of 9 digits, no date.
    for i in 0..t.len() {
        // 2010-04-12, 2010_04_12, 2010.04.12, 2010/04/12
        if let (Some(y), Some(sep)) = (number(i, 4..=4), other(i + 1))
            && "-_./".contains(sep)
            && let (Some(m), Some(sep2), Some(d)) =
                (number(i + 2, 1..=2), other(i + 3), number(i + 4, 1..=2))
            && sep2 == sep
            && plausible(y)
            && let Some(found) = date(y, m, d)
        {
            return Some((found, span(i, i + 4)));
        }
        // 20100412
        if let Some(n) = number(i, 8..=8) {
            let (y, m, d) = (n / 10000, n / 100 % 100, n % 100);
            if plausible(y)
                && let Some(found) = date(y, m, d)
            {
                return Some((found, span(i, i)));
            }
        }
        // 12 April 2010, 12-Apr-2010, 12. April 2010
        if let Some(d) = number(i, 1..=2) {
            let j = skip_sep(i + 1, "-./ ");
            if let Some(m) = month_word(j) {
                let k = skip_sep(j + 1, "-./, ");
                if let Some(y) = number(k, 4..=4)
                    && plausible(y)
                    && let Some(found) = date(y, m, d)
                {
                    return Some((found, span(i, k)));
                }
            }
        }
        // 12.04.2010
        if let (Some(d), Some('.'), Some(m), Some('.'), Some(y)) = (
            number(i, 1..=2),
            other(i + 1),
            number(i + 2, 1..=2),
            other(i + 3),
            number(i + 4, 4..=4),
        ) && plausible(y)
            && let Some(found) = date(y, m, d)
        {
            return Some((found, span(i, i + 4)));
        }
        // April 12, 2010; April 2010
        if let Some(m) = month_word(i) {
            let j = skip_sep(i + 1, "-./ ");
            if let Some(d) = number(j, 1..=2) {
                let k = skip_sep(j + 1, ", ");
                if let Some(y) = number(k, 4..=4)
                    && plausible(y)
                    && let Some(found) = date(y, m, d)
                {
                    return Some((found, span(i, k)));
                }
            }
            if let Some(y) = number(j, 4..=4)
                && plausible(y)
                && let Some(found) = date(y, m, 1)
            {
                return Some((found, span(i, j)));
            }
        }
    }
    if bare_year {
        for (i, (token, start, end)) in t.iter().enumerate() {
            // Not a year: a number glued to letters (`rfc1918`), or one of a group of numbers
            // (`2010-13-45`, `1.2.2010`).
            let is = |k: Option<usize>, word: bool| {
                k.and_then(|k| t.get(k))
                    .is_some_and(|(tok, _, _)| match tok {
                        Token::Word(_) => word,
                        Token::Number(..) => !word,
                        Token::Other(_) => false,
                    })
            };
            if let Token::Number(y, 4) = token
                && plausible(*y)
                && !is(i.checked_sub(1), true)
                && !is(Some(i + 1), true)
                && !is(i.checked_sub(2), false)
                && !is(Some(i + 2), false)
                && let Some(found) = date(*y, 1, 1)
            {
                return Some((found, (*start, *end)));
            }
        }
    }
    None
}

/// The month an English name or its abbreviation (`Apr`, `Sept`) stands for.
fn month_named(word: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let word = word.to_lowercase();
    if word.len() < 3 {
        return None;
    }
    let n = MONTHS
        .iter()
        .position(|m| *m == word || (word.len() <= 4 && m.starts_with(&word)))?;
    // "mar" is March, "jun" June; "sept" September; but "mayo" is no month.
    Some(n as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i32 = 2026;

    fn day(y: i32, m: u8, d: u8) -> Date {
        Date::from_calendar_date(y, Month::try_from(m).expect("month"), d).expect("date")
    }

    #[test]
    fn file_names() {
        for (name, expected) in [
            ("memo-2010-04-12.txt", Some(day(2010, 4, 12))),
            ("2010_04_12 minutes.txt", Some(day(2010, 4, 12))),
            ("scan20100412.txt", Some(day(2010, 4, 12))),
            ("report 2006.txt", Some(day(2006, 1, 1))),
            ("2006", Some(day(2006, 1, 1))),
            ("12-Apr-2010.txt", Some(day(2010, 4, 12))),
            ("rfc1918.txt", None),
            ("8250.txt", None),
            ("memo-2010-13-45.txt", None),
            ("plan-2999.txt", None),
            ("photo-1850.txt", None),
            ("ext4.txt", None),
            ("12345678.txt", None),
        ] {
            assert_eq!(name_date(name, NOW), expected, "{name}");
        }
    }

    #[test]
    fn datelines() {
        for (text, expected) in [
            (
                "MEMORANDUM\n\nDate: 12 April 2010\nTo: all\n",
                Some(day(2010, 4, 12)),
            ),
            (
                "Title\n=====\n\n:Updated: 2009-10-10\n\nText.",
                Some(day(2009, 10, 10)),
            ),
            ("Last updated: 2009\n", Some(day(2009, 1, 1))),
            (
                "Berlin, 12. April 2010\n\nDear Sir,",
                Some(day(2010, 4, 12)),
            ),
            ("April 12, 2010\n", Some(day(2010, 4, 12))),
            ("Minutes\nMarch 2011\n", Some(day(2011, 3, 1))),
            ("12.04.2010\n", Some(day(2010, 4, 12))),
            // Prose with a year in it: no dateline.
            (
                "Copyright (c) 2009 Intel Corporation, all rights reserved\n",
                None,
            ),
            (
                "In 2006 the committee met on 12 April 2010 to discuss the budget at length.\n",
                None,
            ),
            ("Date: soon\n", None),
        ] {
            assert_eq!(text_date(text, NOW), expected, "{text}");
        }
    }

    #[test]
    fn months() {
        assert_eq!(month_named("Sept"), Some(9));
        assert_eq!(month_named("mar"), Some(3));
        assert_eq!(month_named("DECEMBER"), Some(12));
        assert_eq!(month_named("ma"), None);
        assert_eq!(month_named("mayor"), None);
        assert_eq!(month_named("junk"), None);
    }
}
