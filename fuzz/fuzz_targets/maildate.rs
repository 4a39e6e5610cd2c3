//! The lenient mail date parser (`Date:` and `Received:` stamps in obsolete RFC 5322 forms).
//!
//! Besides not panicking: a date it accepts, written back in the strict form
//! `D Mon YYYY HH:MM:SS +hhmm`, parses to the same instant and offset.
#![no_main]

use archive::read::maildate;
use libfuzzer_sys::fuzz_target;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(when) = maildate::parse(text) else {
        return;
    };
    let (hours, minutes, _) = when.offset().as_hms();
    let sign = if hours < 0 || minutes < 0 { '-' } else { '+' };
    let strict = format!(
        "{} {} {:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        when.day(),
        MONTHS[usize::from(u8::from(when.month())) - 1],
        when.year(),
        when.hour(),
        when.minute(),
        when.second(),
        hours.unsigned_abs(),
        minutes.unsigned_abs(),
    );
    assert_eq!(
        maildate::parse(&strict),
        Some(when),
        "{text:?} parsed to {when}, which written as {strict:?} does not parse back"
    );
});
