//! Metalink 4 (RFC 5854) for download managers (aria2c, …): each file with its size and SHA-256
//! from the archive's signed metadata ([`crate::holdings`]), and one `<url>` per listed mirror,
//! pointing at the mirror's consistent-snapshot copy `targets/<sha256>.<name>` (a file that never
//! changes under its URL). A client checks every piece it gets against the hash, so a lying
//! mirror costs it a retry, never a wrong file.
//!
//! Mirrors are ordered as redirects choose them ([`sources`]): active mirrors serving the
//! release held first, then the other listed ones; `priority` says so (1 is best).

use std::fmt::Write;

use time::OffsetDateTime;

use crate::holdings::Target;
use crate::machine::State;
use crate::store::Mirror;

/// The media type of a Metalink 4 document.
pub const CONTENT_TYPE: &str = "application/metalink4+xml";

/// A mirror as a Metalink source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// Its base URL, ending in `/`.
    pub url: String,
    /// ISO 3166-1 alpha-2, lower case (RFC 5854, 4.2.16.2).
    pub country: String,
    /// 1 (best) and up.
    pub priority: u32,
    /// Its share among equals (admin-set).
    pub weight: u32,
}

/// At most this many sources per file: a download manager uses a handful at once (aria2c five),
/// and a Metalink of the whole archive must not grow with the number of mirrors.
pub const MAX_SOURCES: usize = 8;

/// `sources` (as [`sources`] ranks them) reordered at random within each priority, each
/// mirror's chance of coming first in proportion to its weight, and cut to `limit`: readers
/// spread over all listed mirrors, not over the same first few.
pub fn spread(sources: Vec<Source>, limit: usize, rng: &mut dyn rand_core::RngCore) -> Vec<Source> {
    spread_near(sources, limit, None, rng)
}

/// [`spread`], with the sources in `near` (a country code, the client's) first within each
/// priority, so that the cut keeps them (`priority` itself is unchanged: it says how sure the
/// directory is that the mirror has the file).
pub fn spread_near(
    mut sources: Vec<Source>,
    limit: usize,
    near: Option<&str>,
    rng: &mut dyn rand_core::RngCore,
) -> Vec<Source> {
    // Efraimidis–Spirakis: sort by u^(1/weight), largest first, u uniform in (0, 1].
    let mut keyed: Vec<(u32, bool, f64, Source)> = sources
        .drain(..)
        .map(|source| {
            let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let key = (unit.max(f64::MIN_POSITIVE)).powf(1.0 / f64::from(source.weight.max(1)));
            let far = near.is_none_or(|near| !source.country.eq_ignore_ascii_case(near));
            (source.priority, far, key, source)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(b.2.total_cmp(&a.2)));
    keyed
        .into_iter()
        .take(limit)
        .map(|(_, _, _, source)| source)
        .collect()
}

/// The listed mirrors among `mirrors` as sources for files of `release`: active ones serving it
/// first (priority 1), then degraded ones serving it (2), then listed ones serving another
/// release (3: a consistent-snapshot file unchanged since is still there); by weight, then URL,
/// within a priority.
pub fn sources(mirrors: &[Mirror], release: Option<u64>) -> Vec<Source> {
    let mut ranked: Vec<(u32, &Mirror)> = mirrors
        .iter()
        .filter(|m| m.is_listed() && m.weight > 0)
        .map(|m| {
            let current = release.is_some() && m.release == release;
            let priority = match (current, m.state) {
                (true, State::Active) => 1,
                (true, _) => 2,
                (false, _) => 3,
            };
            (priority, m)
        })
        .collect();
    ranked.sort_by(|a, b| {
        (a.0, std::cmp::Reverse(a.1.weight), &a.1.url).cmp(&(
            b.0,
            std::cmp::Reverse(b.1.weight),
            &b.1.url,
        ))
    });
    ranked
        .into_iter()
        .map(|(priority, m)| Source {
            url: m.url.clone(),
            country: m.country.to_ascii_lowercase(),
            priority,
            weight: m.weight,
        })
        .collect()
}

/// The URL of `target` on the mirror at `base` (ending in `/`): its consistent-snapshot file.
pub fn target_url(base: &str, target: &Target) -> String {
    format!("{base}targets/{}", percent_encode(&target.file_name()))
}

/// Every byte but RFC 3986's unreserved ones percent-encoded (a target name is one path
/// segment).
pub fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// `bytes` in base64 (RFC 4648, padded): the form of an HTTP `Digest: SHA-256=…` header
/// (RFC 3230, which RFC 6249 asks redirects with duplicates to carry).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (index, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if index <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Text and attribute values escaped for XML 1.0; characters XML cannot carry at all (most
/// control characters) become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if u32::from(c) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The opening of a Metalink document published at `now`.
pub fn head(now: OffsetDateTime) -> String {
    let published = now
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <metalink xmlns=\"urn:ietf:params:xml:ns:metalink\">\n\
         <generator>samizdat-directory</generator>\n\
         <published>{published}</published>\n"
    )
}

/// The closing of a Metalink document.
pub const TAIL: &str = "</metalink>\n";

/// One `<file>` element: `target` from each of `sources`.
pub fn write_file(out: &mut String, target: &Target, sources: &[Source]) {
    let _ = writeln!(
        out,
        "<file name=\"{name}\">\n<size>{size}</size>\n<hash type=\"sha-256\">{hash}</hash>",
        name = escape(&target.name),
        size = target.length,
        hash = hex::encode(target.sha256),
    );
    for source in sources {
        let location = if source.country.len() == 2
            && source.country.bytes().all(|b| b.is_ascii_lowercase())
        {
            format!(" location=\"{}\"", source.country)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<url priority=\"{priority}\"{location}>{url}</url>",
            priority = source.priority,
            url = escape(&target_url(&source.url, target)),
        );
    }
    out.push_str("</file>\n");
}

/// A whole Metalink document of `targets` from `sources`.
pub fn document(targets: &[Target], sources: &[Source], now: OffsetDateTime) -> String {
    let mut out = head(now);
    for target in targets {
        write_file(&mut out, target, sources);
    }
    out.push_str(TAIL);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirror(url: &str, state: State, weight: u32, release: u64, country: &str) -> Mirror {
        Mirror {
            id: 1,
            url: url.to_owned(),
            country: country.to_owned(),
            provider: "p".to_owned(),
            contact: String::new(),
            state,
            reason: String::new(),
            failures: 0,
            weight,
            disabled: false,
            enrolled_at: 0,
            audited_at: None,
            release: Some(release),
            latency_ms: None,
            blocks_log: None,
        }
    }

    /// A small XML reader, enough to check what [`document`] writes: elements, attributes,
    /// text, every entity resolved, every tag closed in order.
    #[derive(Debug, Default)]
    struct Element {
        name: String,
        attributes: Vec<(String, String)>,
        text: String,
        children: Vec<Element>,
    }

    impl Element {
        fn attribute(&self, name: &str) -> Option<&str> {
            self.attributes
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }
        fn all(&self, name: &str) -> Vec<&Element> {
            self.children.iter().filter(|c| c.name == name).collect()
        }
        fn one(&self, name: &str) -> &Element {
            let found = self.all(name);
            assert_eq!(found.len(), 1, "one <{name}> in <{}>", self.name);
            found[0]
        }
    }

    fn unescape(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('&') {
            out.push_str(&rest[..at]);
            let end = rest[at..].find(';').expect("entity ends") + at;
            out.push(match &rest[at + 1..end] {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                other => panic!("unknown entity {other}"),
            });
            rest = &rest[end + 1..];
        }
        assert!(
            !rest.contains('<') && !rest.contains('>'),
            "raw markup in {text:?}"
        );
        out.push_str(rest);
        out
    }

    fn parse(xml: &str) -> Element {
        let body = xml
            .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
            .expect("declaration");
        let mut stack = vec![Element::default()];
        let mut rest = body;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            if !text.trim().is_empty() {
                stack
                    .last_mut()
                    .expect("parent")
                    .text
                    .push_str(&unescape(text));
            }
            let close = rest[open..].find('>').expect("tag ends") + open;
            let tag = &rest[open + 1..close];
            rest = &rest[close + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                let done = stack.pop().expect("open element");
                assert_eq!(done.name, name, "tags close in order");
                stack.last_mut().expect("parent").children.push(done);
                continue;
            }
            let (name, mut attrs) = tag.split_once(' ').unwrap_or((tag, ""));
            let mut element = Element {
                name: name.to_owned(),
                ..Element::default()
            };
            while let Some(eq) = attrs.find("=\"") {
                let key = attrs[..eq].trim().to_owned();
                let end = attrs[eq + 2..].find('"').expect("value ends") + eq + 2;
                element
                    .attributes
                    .push((key, unescape(&attrs[eq + 2..end])));
                attrs = &attrs[end + 1..];
            }
            assert!(attrs.trim().is_empty(), "stray {attrs:?}");
            stack.push(element);
        }
        assert!(rest.trim().is_empty());
        let mut top = stack.pop().expect("document");
        assert!(stack.is_empty(), "every element closed");
        assert_eq!(top.children.len(), 1);
        top.children.remove(0)
    }

    #[test]
    fn a_metalink_names_every_file_with_its_size_hash_and_every_listed_mirror_active_first() {
        let targets = [
            Target {
                name: "ab.json".to_owned(),
                length: 12,
                sha256: [0xab; 32],
            },
            Target {
                name: "ab.original.<&>\"'".to_owned(),
                length: 7,
                sha256: [1; 32],
            },
        ];
        let mirrors = [
            mirror("http://b/", State::Degraded, 100, 5, "DE"),
            mirror("http://a/", State::Active, 100, 5, "NL"),
            mirror("http://c/", State::Active, 100, 4, "FR"),
            mirror("http://d/", State::Delisted, 100, 5, "US"),
            mirror("http://e/?<x>", State::Active, 200, 5, "not a country"),
        ];
        let sources = sources(&mirrors, Some(5));
        let xml = document(&targets, &sources, OffsetDateTime::UNIX_EPOCH);
        let root = parse(&xml);
        assert_eq!(root.name, "metalink");
        assert_eq!(
            root.attribute("xmlns"),
            Some("urn:ietf:params:xml:ns:metalink")
        );
        assert_eq!(root.one("published").text, "1970-01-01T00:00:00Z");
        let files = root.all("file");
        assert_eq!(files.len(), 2);
        assert_eq!(files[1].attribute("name"), Some("ab.original.<&>\"'"));
        assert_eq!(files[1].one("size").text, "7");
        let hash = files[1].one("hash");
        assert_eq!(hash.attribute("type"), Some("sha-256"));
        assert_eq!(hash.text, "01".repeat(32));
        let urls: Vec<(&str, Option<&str>, &str)> = files[1]
            .all("url")
            .into_iter()
            .map(|u| {
                (
                    u.attribute("priority").expect("priority"),
                    u.attribute("location"),
                    u.text.as_str(),
                )
            })
            .collect();
        let file = format!("{}.ab.original.%3C%26%3E%22%27", "01".repeat(32));
        assert_eq!(
            urls,
            [
                ("1", None, format!("http://e/?<x>targets/{file}").as_str()),
                ("1", Some("nl"), format!("http://a/targets/{file}").as_str()),
                ("2", Some("de"), format!("http://b/targets/{file}").as_str()),
                ("3", Some("fr"), format!("http://c/targets/{file}").as_str()),
            ]
        );
    }

    #[test]
    fn spreading_keeps_priorities_cuts_to_the_limit_and_follows_weights() {
        let source = |url: &str, priority, weight| Source {
            url: url.to_owned(),
            country: "nl".to_owned(),
            priority,
            weight,
        };
        let all = vec![
            source("a", 1, 1),
            source("b", 1, 9),
            source("c", 2, 100),
            source("d", 3, 100),
        ];
        let mut first_b = 0;
        for _ in 0..1000 {
            let spread = spread(all.clone(), 3, &mut rand_core::OsRng);
            let urls: Vec<&str> = spread.iter().map(|s| s.url.as_str()).collect();
            assert_eq!(urls.len(), 3);
            assert_eq!(urls[2], "c", "{urls:?}");
            if urls[0] == "b" {
                first_b += 1;
            }
        }
        // b weighs nine times a: first about 900 times in 1000.
        assert!((820..=970).contains(&first_b), "{first_b}");
    }

    #[test]
    fn base64_is_rfc_4648() {
        for (bytes, text) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(bytes), text);
        }
        // SHA-256 of nothing, as RFC 3230 headers carry it.
        let empty = hex::decode("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            .expect("hex");
        assert_eq!(
            base64(&empty),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn what_xml_cannot_carry_is_replaced_not_passed_through() {
        assert_eq!(escape("a\u{1}b\tc"), "a\u{fffd}b\tc");
        assert_eq!(percent_encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
