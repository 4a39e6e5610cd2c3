//! `samizdat mirror enroll`: the mirror's side of enrolling with a directory.
//!
//! 1. `POST DIRECTORY/api/challenge {url}`: the directory answers a token bound to the URL;
//! 2. the token is written to `DIR/enroll.txt` (atomically), which the running mirror serves at
//!    `URL/.well-known/samizdat/enroll.txt` (`serve::ENROLL_PATH`, even before it serves a
//!    release);
//! 3. `POST DIRECTORY/api/enroll {url, country, provider, contact, token}`: the directory fetches
//!    the challenge from the URL and enrols the mirror if it matches (pending until an audit
//!    finds its release complete and correct).
//!
//! The directory is another host: what it answers is capped in size, the requests in time, no
//! redirect is followed (`net::post_json`), and its messages are shown as plain text on one
//! line. An error says which: the directory did not answer ([`ErrorKind::Unreachable`]), or it
//! refused ([`ErrorKind::Refused`], with its message).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// The challenge's file in the mirror's folder.
pub const CHALLENGE_FILE: &str = "enroll.txt";
/// Where a mirror serves it, under its base URL (`serve::ENROLL_PATH` without its `/`).
const CHALLENGE_URL_PATH: &str = ".well-known/samizdat/enroll.txt";
/// The most bytes of it the server reads (a token is ~80).
pub const CHALLENGE_MAX: u64 = 1024;
/// The most bytes of a directory's answer read.
const ANSWER_MAX: u64 = 64 * 1024;
/// The most characters of a directory's message shown.
const MESSAGE_MAX: usize = 500;

/// What the operator says about the mirror.
#[derive(Clone, Debug, Serialize)]
pub struct Enrolment {
    /// The mirror's public base URL (where it serves `metadata/`, `targets/`).
    pub url: String,
    /// ISO 3166-1 alpha-2 code of where it is hosted.
    pub country: String,
    /// Who hosts it.
    pub provider: String,
    /// How to reach its operator (optional).
    pub contact: String,
}

/// The directory's record of the enrolled mirror (the fields shown; it sends more).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Enrolled {
    pub id: i64,
    pub url: String,
    pub state: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize)]
struct Challenge {
    token: String,
}

#[derive(Serialize)]
struct Request<'a> {
    #[serde(flatten)]
    enrolment: &'a Enrolment,
    token: &'a str,
}

/// Enrols the mirror in `dir` (its folder: the running mirror serves `dir/enroll.txt`) with the
/// directory at `directory` (its base URL).
pub fn enroll(
    dir: &Path,
    directory: &str,
    enrolment: &Enrolment,
    limits: &net::Limits,
) -> Result<Enrolled> {
    if !dir.is_dir() {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "{}: not a mirror folder (the folder `samizdat mirror run` serves)",
                dir.display()
            ),
        ));
    }
    if !(directory.starts_with("http://") || directory.starts_with("https://")) {
        return Err(Error::new(
            ErrorKind::Config,
            format!("--directory {directory:?}: give the directory's http:// or https:// URL"),
        ));
    }
    let base = net::base_url(directory);
    let asked = serde_json::json!({ "url": enrolment.url });
    let answer = post(&base, "api/challenge", &asked, limits)?;
    let challenge: Challenge = serde_json::from_slice(&answer).map_err(|e| {
        Error::new(
            ErrorKind::Refused,
            format!("{base}api/challenge: not a challenge: {e}"),
        )
    })?;
    let token = challenge.token.trim();
    if token.is_empty()
        || token.len() as u64 >= CHALLENGE_MAX
        || !token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Error::new(
            ErrorKind::Refused,
            format!("{base}api/challenge: the token is not one line of printable ASCII"),
        ));
    }
    let file = dir.join(CHALLENGE_FILE);
    common::files::write_atomic(
        &file,
        format!("{token}\n").as_bytes(),
        common::files::Durability::NoFsync,
    )
    .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
    let request = Request { enrolment, token };
    let answer = post(&base, "api/enroll", &request, limits).map_err(|e| {
        if e.kind() != ErrorKind::Refused {
            return e;
        }
        // What the operator can check: the file, and where the directory looked for it.
        Error::new(
            ErrorKind::Refused,
            format!(
                "{}\n  the challenge is in {}; the mirror serving this folder (`samizdat mirror run` or `serve`) answers it at {}{}",
                e.message(),
                file.display(),
                net::base_url(&enrolment.url),
                CHALLENGE_URL_PATH
            ),
        )
    })?;
    let enrolled: Enrolled = serde_json::from_slice(&answer).map_err(|e| {
        Error::new(
            ErrorKind::Refused,
            format!("{base}api/enroll: not an enrolled mirror: {e}"),
        )
    })?;
    // Used: a later enrolment asks for a new one.
    let _ = std::fs::remove_file(&file);
    Ok(enrolled)
}

/// POSTs `body` to `base + path`: the answer's body when it is a success, else an error with
/// the directory's message.
fn post(base: &str, path: &str, body: &impl Serialize, limits: &net::Limits) -> Result<Vec<u8>> {
    let url = format!("{base}{path}");
    let json = serde_json::to_vec(body).map_err(|e| Error::internal(e.to_string()))?;
    let posted = net::post_json(&url, &json, limits, ANSWER_MAX).map_err(|e| match e {
        trust::client::FetchError::TooLarge { limit } => Error::new(
            ErrorKind::Refused,
            format!("{url}: answered more than {limit} bytes"),
        ),
        trust::client::FetchError::NotFound => {
            Error::new(ErrorKind::Unreachable, format!("{url}: not found"))
        }
        trust::client::FetchError::Other(why) => Error::new(
            ErrorKind::Unreachable,
            format!("the directory does not answer: {why}"),
        ),
    })?;
    if (200..300).contains(&posted.status) {
        return Ok(posted.body);
    }
    Err(Error::new(
        ErrorKind::Refused,
        format!(
            "the directory refused ({}): {}",
            posted.status,
            one_line(&posted.body)
        ),
    ))
}

/// `bytes` as one line of plain text, at most [`MESSAGE_MAX`] characters: a directory's message
/// cannot forge lines or drive the terminal.
fn one_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut line: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MESSAGE_MAX)
        .collect();
    if text.trim().chars().count() > MESSAGE_MAX {
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_told_is_the_path_served() {
        assert_eq!(crate::serve::ENROLL_PATH, format!("/{CHALLENGE_URL_PATH}"));
    }

    #[test]
    fn a_directory_message_is_one_line_of_plain_text_and_bounded() {
        assert_eq!(one_line(b"refused\n"), "refused");
        assert_eq!(one_line(b"a\nb\x1b[31mc"), "a b [31mc");
        let long = one_line("x".repeat(2000).as_bytes());
        assert_eq!(long.chars().count(), MESSAGE_MAX + 1);
    }

    #[test]
    fn a_folder_that_is_not_there_or_a_directory_that_is_not_a_url_is_named() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let enrolment = Enrolment {
            url: "http://127.0.0.1:9/".into(),
            country: "DE".into(),
            provider: "x".into(),
            contact: String::new(),
        };
        let limits = net::Limits::default();
        let missing = tmp.path().join("nothing");
        let error =
            enroll(&missing, "http://127.0.0.1:9/", &enrolment, &limits).expect_err("no folder");
        assert_eq!(error.kind(), ErrorKind::Config);
        assert!(error.message().contains("nothing"), "{error}");
        let error =
            enroll(tmp.path(), "directory.example", &enrolment, &limits).expect_err("not a url");
        assert!(error.message().contains("--directory"), "{error}");
    }
}
