//! A lenient reader for the dates real mail carries.
//!
//! mail-parser reads RFC 5322 dates, and refuses (rightly, for its purposes) the forms that real
//! archives are full of: the obsolete zone names ("UT", "EST"), a missing zone, and the years that
//! Y2K-era clients wrote as `0102` or `102` (years since 1900). The spam-assassin corpus alone has
//! 33 such messages in 6,046. An archive must still place them in time, so this is the fallback,
//! written by hand because no crate reads this obsolete syntax (RFC 5322 §4.3 and §4.4).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Parses `[Weekday,] Day Month Year HH:MM[:SS] [Zone]`; `None` when the text is not a date.
pub fn parse(text: &str) -> Option<OffsetDateTime> {
    // Comments such as "(PDT)" say nothing the zone does not.
    let text = strip_comments(text);
    let mut tokens = text
        .split(|c: char| c.is_ascii_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .peekable();
    if tokens.peek()?.chars().all(|c| c.is_ascii_alphabetic()) && month(tokens.peek()?).is_none() {
        tokens.next(); // the weekday
    }
    let first = tokens.next()?;
    // "18 Jul 2002" and, from some clients, "Jul 18 2002".
    let (day, month) = match first.parse::<u8>() {
        Ok(day) => (day, month(tokens.next()?)?),
        Err(_) => {
            let month = month(first)?;
            (tokens.next()?.parse().ok()?, month)
        }
    };
    let year = year(tokens.next()?)?;
    let time = clock(tokens.next()?)?;
    let offset = tokens.next().map_or(Some(UtcOffset::UTC), zone)?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

fn strip_comments(text: &str) -> String {
    let mut depth = 0u32;
    text.chars()
        .filter(|&c| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect()
}

fn month(token: &str) -> Option<Month> {
    let name = token.get(..3)?.to_ascii_lowercase();
    Some(match name.as_str() {
        "jan" => Month::January,
        "feb" => Month::February,
        "mar" => Month::March,
        "apr" => Month::April,
        "may" => Month::May,
        "jun" => Month::June,
        "jul" => Month::July,
        "aug" => Month::August,
        "sep" => Month::September,
        "oct" => Month::October,
        "nov" => Month::November,
        "dec" => Month::December,
        _ => return None,
    })
}

/// RFC 5322 §4.3: two-digit years below 50 are 20xx, other two- and three-digit years add 1900.
/// `0102` is the same Y2K bug written with four digits.
fn year(token: &str) -> Option<i32> {
    if !token.bytes().all(|b| b.is_ascii_digit()) || token.is_empty() || token.len() > 4 {
        return None;
    }
    let value: i32 = token.parse().ok()?;
    Some(match value {
        0..=49 if token.len() <= 2 => 2000 + value,
        0..=999 => 1900 + value,
        _ => value,
    })
}

fn clock(token: &str) -> Option<Time> {
    let mut parts = token.split(':');
    let hour = parts.next()?.parse().ok()?;
    let minute = parts.next()?.parse().ok()?;
    let second = parts.next().map_or(Some(0), |s| s.parse().ok())?;
    if parts.next().is_some() {
        return None;
    }
    Time::from_hms(hour, minute, second).ok()
}

/// `+hhmm`/`-hhmm`, or an obsolete zone name (unknown military letters count as UTC, as the RFC says).
fn zone(token: &str) -> Option<UtcOffset> {
    if let Some(sign) = token.strip_prefix(['+', '-']).map(|_| token.as_bytes()[0]) {
        let digits = &token[1..];
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let hours: i8 = digits[..2].parse().ok()?;
        let minutes: i8 = digits[2..].parse().ok()?;
        let (hours, minutes) = if sign == b'-' {
            (-hours, -minutes)
        } else {
            (hours, minutes)
        };
        return UtcOffset::from_hms(hours, minutes, 0).ok();
    }
    let hours = match token.to_ascii_uppercase().as_str() {
        "UT" | "UTC" | "GMT" | "Z" => 0,
        "EDT" => -4,
        "EST" | "CDT" => -5,
        "CST" | "MDT" => -6,
        "MST" | "PDT" => -7,
        "PST" => -8,
        _ if token.chars().all(|c| c.is_ascii_alphabetic()) => 0,
        _ => return None,
    };
    UtcOffset::from_hms(hours, 0, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::parse;
    use time::macros::datetime;

    #[test]
    fn obsolete_forms_from_real_mail() {
        let cases = [
            (
                "Thu, 18 Jul 0102 19:51:35 -0100",
                datetime!(2002-07-18 19:51:35 -1),
            ),
            (
                "Sat, 7 Sep 2002 17:58:28",
                datetime!(2002-09-07 17:58:28 UTC),
            ),
            (
                "Mon, 22 Jul 2002 01:52:21 UT",
                datetime!(2002-07-22 01:52:21 UTC),
            ),
            (
                "Tue, 4 Jun 102 21:41:59 +1000",
                datetime!(2002-06-04 21:41:59 +10),
            ),
            ("5 Mar 97 09:00 EST", datetime!(1997-03-05 09:00:00 -5)),
            (
                "Wed, 21 Aug 2002 10:00:00 -0700 (PDT)",
                datetime!(2002-08-21 10:00:00 -7),
            ),
            (
                "Jul 18 2002 10:00:00 GMT",
                datetime!(2002-07-18 10:00:00 UTC),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Some(want), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        for text in [
            "",
            "yesterday",
            "32 Jul 2002 10:00",
            "18 Jul 2002 25:00",
            "18 Foo 2002 10:00",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
