//! Enrolment: proving that whoever enrols a mirror controls its URL, and checking what they say
//! about it.
//!
//! The directory hands out a challenge for a URL ([`Challenges::issue`]): a token bound to that
//! URL and an expiry by a keyed hash with the directory's secret, so nothing is stored and a
//! restart loses nothing. The operator's mirror serves the token at
//! `URL/.well-known/samizdat/enroll.txt`; the directory fetches it ([`CHALLENGE_PATH`], a
//! few bytes, no redirects, a time limit) and enrols the mirror only if it matches.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, ErrorKind, Result};
use crate::store::Enrolment;

/// Where a mirror serves the challenge, relative to its base URL.
pub const CHALLENGE_PATH: &str = ".well-known/samizdat/enroll.txt";

/// How long a challenge stays valid (seconds).
pub const CHALLENGE_LIFETIME: i64 = 15 * 60;

/// Limits on what an enrolment may say.
const MAX_URL: usize = 512;
const MAX_PROVIDER: usize = 100;
const MAX_CONTACT: usize = 200;

/// Issues and checks challenges with the directory's secret.
pub struct Challenges {
    secret: [u8; 32],
}

impl Challenges {
    pub fn new(secret: [u8; 32]) -> Challenges {
        Challenges { secret }
    }

    /// A challenge for `url`, valid until `now + CHALLENGE_LIFETIME`: `EXPIRY.MAC`.
    pub fn issue(&self, url: &str, now: i64) -> String {
        let expires = now.saturating_add(CHALLENGE_LIFETIME);
        format!("{expires}.{}", self.mac(url, expires))
    }

    /// Whether `token` is a challenge this directory issued for `url` that has not expired.
    pub fn check(&self, url: &str, token: &str, now: i64) -> Result<()> {
        let refuse = |why: &str| Err(Error::new(ErrorKind::Refused, format!("{url}: {why}")));
        let Some((expires, mac)) = token.trim().split_once('.') else {
            return refuse("not a challenge of this directory");
        };
        let Ok(expires) = expires.parse::<i64>() else {
            return refuse("not a challenge of this directory");
        };
        let Ok(mac) = hex::decode(mac) else {
            return refuse("not a challenge of this directory");
        };
        // `verify_slice` compares in constant time.
        if self.keyed(url, expires).verify_slice(&mac).is_err() {
            return refuse("the challenge was not issued for this URL by this directory");
        }
        if expires < now {
            return refuse("the challenge expired: ask for a new one");
        }
        Ok(())
    }

    fn mac(&self, url: &str, expires: i64) -> String {
        hex::encode(self.keyed(url, expires).finalize().into_bytes())
    }

    /// HMAC-SHA-256 of the length-prefixed URL and the expiry.
    fn keyed(&self, url: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(&(url.len() as u64).to_be_bytes());
        mac.update(url.as_bytes());
        mac.update(&expires.to_be_bytes());
        mac
    }
}

/// `enrolment` with its URL normalised (one trailing `/`) and country upper-cased, or why it is
/// refused.
pub fn validate(mut enrolment: Enrolment) -> Result<Enrolment> {
    let invalid = |why: String| Err(Error::new(ErrorKind::InvalidInput, why));
    let url = enrolment.url.trim();
    if url.len() > MAX_URL {
        return invalid(format!("url: longer than {MAX_URL} characters"));
    }
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return invalid(format!("{url}: not an http:// or https:// URL"));
    };
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty()
        || url.contains(['?', '#', ' '])
        || url.chars().any(char::is_control)
        || host.contains('@')
    {
        return invalid(format!(
            "{url}: not a mirror's base URL (a host, an optional path, no query or user)"
        ));
    }
    enrolment.url = if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    };
    let country = enrolment.country.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return invalid(format!(
            "country {:?}: give an ISO 3166-1 alpha-2 code such as DE",
            enrolment.country
        ));
    }
    enrolment.country = country;
    enrolment.provider = enrolment.provider.trim().to_owned();
    if enrolment.provider.is_empty() || enrolment.provider.chars().count() > MAX_PROVIDER {
        return invalid(format!(
            "provider: give who hosts the mirror, 1 to {MAX_PROVIDER} characters"
        ));
    }
    if enrolment.contact.chars().count() > MAX_CONTACT
        || enrolment.contact.chars().any(char::is_control)
    {
        return invalid(format!(
            "contact: at most {MAX_CONTACT} characters, on one line"
        ));
    }
    Ok(enrolment)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enrolment(url: &str, country: &str) -> Enrolment {
        Enrolment {
            url: url.to_owned(),
            country: country.to_owned(),
            provider: "Hetzner".to_owned(),
            contact: "ops@example.org".to_owned(),
        }
    }

    #[test]
    fn a_challenge_holds_for_its_url_until_it_expires_and_for_no_other() {
        let challenges = Challenges::new([7; 32]);
        let token = challenges.issue("http://127.0.0.2/", 1000);
        assert!(challenges.check("http://127.0.0.2/", &token, 1000).is_ok());
        assert!(
            challenges
                .check("http://127.0.0.2/", &format!("{token}\n"), 1000)
                .is_ok()
        );
        let later = 1000 + CHALLENGE_LIFETIME + 1;
        let expired = challenges.check("http://127.0.0.2/", &token, later);
        assert!(expired.expect_err("expired").message().contains("expired"));
        let other = challenges.check("http://127.0.0.3/", &token, 1000);
        assert_eq!(other.expect_err("other url").kind(), ErrorKind::Refused);
        let foreign = Challenges::new([8; 32]).check("http://127.0.0.2/", &token, 1000);
        assert_eq!(
            foreign.expect_err("other secret").kind(),
            ErrorKind::Refused
        );
        let (expires, mac) = token.split_once('.').expect("EXPIRY.MAC");
        let extended = format!("{}.{mac}", expires.parse::<i64>().expect("number") + 9999);
        assert!(
            challenges
                .check("http://127.0.0.2/", &extended, 1000)
                .is_err()
        );
        assert!(
            challenges
                .check("http://127.0.0.2/", "garbage", 1000)
                .is_err()
        );
    }

    #[test]
    fn enrolments_are_normalised_or_refused_with_the_field_named() {
        let ok = validate(enrolment(" http://127.0.0.2:8080 ", "de")).expect("valid");
        assert_eq!(ok.url, "http://127.0.0.2:8080/");
        assert_eq!(ok.country, "DE");
        for (url, country, field) in [
            ("ftp://x/", "DE", "not an http"),
            ("http:///path", "DE", "base URL"),
            ("http://x/?a=b", "DE", "base URL"),
            ("http://user@x/", "DE", "base URL"),
            ("http://x/", "Germany", "country"),
            ("http://x/", "D1", "country"),
        ] {
            let error = validate(enrolment(url, country)).expect_err(url);
            assert_eq!(error.kind(), ErrorKind::InvalidInput);
            assert!(
                error.message().contains(field),
                "{url}: {}",
                error.message()
            );
        }
        let mut long = enrolment("http://x/", "DE");
        long.provider = "p".repeat(101);
        assert!(
            validate(long)
                .expect_err("long")
                .message()
                .contains("provider")
        );
        let mut forged = enrolment("http://x/", "DE");
        forged.contact = "a\nb".to_owned();
        assert!(
            validate(forged)
                .expect_err("newline")
                .message()
                .contains("contact")
        );
    }
}
