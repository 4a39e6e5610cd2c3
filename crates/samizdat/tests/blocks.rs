//! Legal blocks (issue 18, must-show 1): `samizdat block` on a running mirror answers 451 on
//! every way to the document within a second, over HTTP/1.1, HTTP/2 and TLS, with curl as the
//! client; `unblock` serves it again; the signed log verifies, and a tampered copy does not.

use crate::util::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

const ORDER_URL: &str = "https://court.example/orders/324-O-1-26";
/// The other mirror the release names.
const ELSEWHERE: &str = "https://mirror-b.example/";

/// The `/targets/` file names of the note in a release folder (all its releases on disk).
fn note_files(release: &Path) -> BTreeSet<String> {
    fs::read_dir(release.join("targets"))
        .expect("read targets")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.split_once('.')
                .is_some_and(|(_, name)| name.starts_with(&format!("{GONE_ID}.")))
        })
        .collect()
}

/// The note's title, as the site's pages and the search's cards show it.
const NOTE_TITLE: &str = "Zqxjvortex minutes of the harbour";

/// The plain paths of the site's pages and search card blocks on disk in a mirror's release
/// folder (but the note's own page), which may quote other documents. Site file names are
/// `_s_` and the path with `/` as `_` (a site path has no `_`); a document page is `ID.html`.
fn quoting_paths(release: &Path) -> BTreeSet<String> {
    let names = fs::read_dir(release.join("targets"))
        .expect("read targets")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned());
    names
        .filter_map(|file| {
            let (_, name) = file.split_once('.')?;
            if let Some(site) = name.strip_prefix("_s_") {
                let quotes = site.ends_with(".html") || site.starts_with("search_c_");
                return quotes.then(|| format!("/{}", site.replace('_', "/")));
            }
            let id = name.strip_suffix(".html")?;
            (id != GONE_ID && !id.contains('.')).then(|| format!("/d/{id}/"))
        })
        .collect()
}

/// One way to ask: a label, the base URL, the path (sent as it is), curl's extra arguments.
struct Way {
    label: String,
    base: String,
    path: String,
    extra: Vec<String>,
    /// Whether the way reaches the document (451 once blocked), or is refused whatever
    /// (a bad path: 400; another id: 404).
    reaches: bool,
}

/// `curl -si --path-as-is` of a way: the status and the lowercased head, and the body.
fn ask(way: &Way) -> (u16, String, Vec<u8>) {
    let mut extra: Vec<&str> = vec!["--path-as-is"];
    extra.extend(way.extra.iter().map(String::as_str));
    let (head, body) = curl(&format!("{}{}", way.base, way.path), &extra);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{}: no status in {head}", way.label));
    (status, head, body)
}

fn shows_the_note(body: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(body).to_lowercase();
    GONE_MARKERS.iter().copied().find(|m| text.contains(m))
}

/// Every way a reader could try, on the plain mirror (`http`) and the TLS one (`https`, with
/// `cacert`).
fn ways(
    http: &str,
    https: &str,
    cacert: &Path,
    targets: &BTreeSet<String>,
    etag: &str,
) -> Vec<Way> {
    let id = GONE_ID;
    let way = |label: &str, path: String, extra: &[&str], reaches: bool| Way {
        label: label.to_owned(),
        base: http.trim_end_matches('/').to_owned(),
        path,
        extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        reaches,
    };
    let mut ways = vec![
        way("page", format!("/d/{id}/"), &[], true),
        way("page without its slash", format!("/d/{id}"), &[], true),
        way(
            "page as index.html",
            format!("/d/{id}/index.html"),
            &[],
            true,
        ),
        way("record", format!("/d/{id}/doc.json"), &[], true),
        way("original", format!("/d/{id}/original.txt"), &[], true),
        way("page with a query", format!("/d/{id}/?x=1"), &[], true),
        way("HEAD page", format!("/d/{id}/"), &["-I"], true),
        way(
            "Range of the original",
            format!("/d/{id}/original.txt"),
            &["-H", "range: bytes=0-40"],
            true,
        ),
        way(
            "If-None-Match with the page's ETag",
            format!("/d/{id}/"),
            &["-H", &format!("if-none-match: {etag}")],
            true,
        ),
        way(
            "If-None-Match: *",
            format!("/d/{id}/doc.json"),
            &["-H", "if-none-match: *"],
            true,
        ),
        way(
            "gzip",
            format!("/d/{id}/doc.json"),
            &["-H", "accept-encoding: gzip"],
            true,
        ),
        way(
            "HTTP/2 prior knowledge, page",
            format!("/d/{id}/"),
            &["--http2-prior-knowledge"],
            true,
        ),
        way(
            "HTTP/2 prior knowledge, Range",
            format!("/d/{id}/original.txt"),
            &["--http2-prior-knowledge", "-H", "range: bytes=5-"],
            true,
        ),
        way("percent-encoded id", "/d/%67one-txt/".into(), &[], false),
        way("percent-encoded slash", format!("/d%2F{id}/"), &[], false),
        way(
            "upper-case id",
            format!("/d/{}/", id.to_uppercase()),
            &[],
            false,
        ),
        way("upper-case folder", format!("/D/{id}/"), &[], false),
        way("double slash inside", format!("/d//{id}/"), &[], false),
        way(
            "double slash at the start",
            format!("//d/{id}/"),
            &[],
            false,
        ),
        way("double slash at the end", format!("/d/{id}//"), &[], false),
        way("dot-dot segment", format!("/d/x/../{id}/"), &[], false),
        way("dot segment", format!("/d/./{id}/doc.json"), &[], false),
    ];
    for file in targets {
        ways.push(way(
            &format!("/targets/{file}"),
            format!("/targets/{file}"),
            &[],
            true,
        ));
        ways.push(way(
            &format!("HTTP/2 /targets/{file}"),
            format!("/targets/{file}"),
            &["--http2-prior-knowledge", "-H", "if-none-match: *"],
            true,
        ));
    }
    let cacert = p(cacert);
    for (label, path, extra) in [
        ("TLS HTTP/1.1 page", format!("/d/{id}/"), vec!["--http1.1"]),
        (
            "TLS HTTP/2 record",
            format!("/d/{id}/doc.json"),
            vec!["--http2"],
        ),
        (
            "TLS HTTP/2 HEAD original",
            format!("/d/{id}/original.txt"),
            vec!["--http2", "-I"],
        ),
    ] {
        let mut extra: Vec<String> = extra.into_iter().map(str::to_owned).collect();
        extra.extend(["--cacert".to_owned(), cacert.to_owned()]);
        ways.push(Way {
            label: label.to_owned(),
            base: https.trim_end_matches('/').to_owned(),
            path,
            extra,
            reaches: true,
        });
    }
    if let Some(file) = targets.iter().next() {
        ways.push(Way {
            label: format!("TLS HTTP/2 /targets/{file}"),
            base: https.trim_end_matches('/').to_owned(),
            path: format!("/targets/{file}"),
            extra: vec!["--http2".into(), "--cacert".into(), cacert.to_owned()],
            reaches: true,
        });
    }
    ways
}

/// Asks `way` every 5 ms until it answers `status`: the time since `since`, at most 5 s.
fn until(way: &Way, status: u16, since: Instant) -> Duration {
    loop {
        let (got, _, _) = ask(way);
        if got == status {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(5),
            "{}: still {got} after 5 s, expected {status}",
            way.label
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_block_takes_effect_within_a_second_on_every_way_to_the_document_and_is_logged() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = archive_with_a_note_to_withdraw(tmp.path());
    let root = archive.join("root.json");
    let log = |name: &str| tmp.path().join(format!("{name}.log"));
    let origin = Daemon::start(
        &["mirror", "serve", p(&archive), "--listen", "127.0.0.210:0"],
        &log("origin"),
    );
    let dir = tmp.path().join("mirror");
    run(
        &[
            "mirror",
            "init",
            p(&dir),
            "--root",
            p(&root),
            "--peer",
            &origin.url,
            "--listen",
            "127.0.0.211:0",
            "--interval",
            "1",
        ],
        0,
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &fs::metadata(dir.join("mirror.key"))
            .expect("mirror init made a key")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let mirror = Daemon::start(&["mirror", "run", p(&dir)], &log("mirror"));
    mirror.wait_for_release(1);
    let first = note_files(&dir.join("release"));
    // A second release: the first one's files stay on disk (and served) for the grace period.
    let extra = tmp.path().join("extra2");
    fs::create_dir_all(&extra).expect("mkdir");
    fs::write(extra.join("other.txt"), "Another note.\n").expect("write");
    // The note amended: new files, and the first release's stay served for the grace period.
    let note = tmp.path().join("extra/gone.txt");
    let amended =
        fs::read_to_string(&note).expect("the note") + "Amended: the xylophone arrived.\n";
    fs::write(&note, amended).expect("write");
    run(
        &["add", p(&archive), p(&extra), p(&tmp.path().join("extra"))],
        0,
    );
    // The publisher names another mirror: the 451 page sends readers there.
    let config = archive.join("samizdat.toml");
    let text = fs::read_to_string(&config).expect("samizdat.toml");
    let named = text.replacen(
        "\n[expiry]",
        &format!("mirrors = [\"{ELSEWHERE}\"]\n\n[expiry]"),
        1,
    );
    assert_ne!(named, text);
    fs::write(&config, named).expect("write");
    run(&["release", p(&archive)], 0);
    mirror.wait_for_release(2);
    let targets = note_files(&dir.join("release"));
    let current: BTreeSet<String> = targets.difference(&first).cloned().collect();
    assert!(
        first.len() == 3 && current.len() == 3 && first.is_subset(&targets),
        "the note's files of release 1 and of release 2: {first:?} {targets:?}"
    );
    // The same mirror folder served over TLS too (it follows the blocks file as well).
    let (cert, key) = tls_cert(tmp.path(), "127.0.0.212");
    let tls = Daemon::start(
        &[
            "mirror",
            "serve",
            p(&dir),
            "--listen",
            "127.0.0.212:0",
            "--tls-cert",
            p(&cert),
            "--tls-key",
            p(&key),
        ],
        &log("tls"),
    );

    // Before: the note is served on the ways that reach it, and the page is in the caches
    // (asked twice: the hot path answers the second).
    let page = format!("/d/{GONE_ID}/");
    let (head, _) = curl(
        &format!("{}{}", mirror.url.trim_end_matches('/'), page),
        &[],
    );
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .unwrap_or_else(|| panic!("the page's etag: {head}"))
        .trim()
        .to_owned();
    let ways = ways(&mirror.url, &tls.url, &cert, &targets, &etag);
    assert!(ways.len() >= 20, "{}", ways.len());
    eprintln!("{} ways; the note's files: {targets:?}", ways.len());
    for way in ways.iter().filter(|w| w.reaches) {
        let (status, head, _) = ask(way);
        assert!(
            matches!(status, 200 | 206 | 301 | 304),
            "{} before the block: {head}",
            way.label
        );
    }
    let (_, body) = http_get(&mirror.url, &page);
    assert!(
        shows_the_note(&body).is_some(),
        "the page shows the note before the block"
    );

    // The pages and cards that show the note's title, as the release signed them.
    let quoting: Vec<String> = quoting_paths(&dir.join("release"))
        .into_iter()
        .filter(|path| {
            let (_, body) = http_get(&mirror.url, path);
            String::from_utf8_lossy(&body).contains(NOTE_TITLE)
        })
        .collect();
    assert!(
        quoting.iter().any(|p| p.starts_with("/browse/"))
            && quoting.iter().any(|p| p.starts_with("/search/c/")),
        "listings and a search card show the note: {quoting:?}"
    );

    // The block, timed from the command's return to the first 451.
    let blocked = run(
        &[
            "block",
            p(&dir),
            GONE_ID,
            "--authority",
            "Landgericht Hamburg",
            "--reference",
            "324 O 1/26",
            "--url",
            ORDER_URL,
            "--jurisdiction",
            "de",
        ],
        0,
    );
    let returned = Instant::now();
    let page_on = |base: &str, extra: Vec<String>| Way {
        label: format!("{base}{page}"),
        base: base.trim_end_matches('/').to_owned(),
        path: page.clone(),
        extra,
        reaches: true,
    };
    let plain_page = page_on(&mirror.url, Vec::new());
    let tls_page = page_on(&tls.url, vec!["--cacert".into(), p(&cert).to_owned()]);
    let took = until(&plain_page, 451, returned);
    // The TLS server is another process on the same folder.
    let took_tls = until(&tls_page, 451, returned);
    eprintln!(
        "block to first 451: {took:?}, over TLS {took_tls:?}; block said: {}",
        stdout(&blocked).trim()
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(took_tls < Duration::from_secs(1), "{took_tls:?}");

    // Every way: no title, no text; the ones that reach the document say 451 and why.
    for way in &ways {
        let (status, head, body) = ask(way);
        assert!(
            !matches!(status, 200 | 206 | 304),
            "{}: {status}\n{head}",
            way.label
        );
        assert_eq!(shows_the_note(&body), None, "{}: {head}", way.label);
        if !way.reaches {
            assert!(matches!(status, 400 | 404), "{}: {head}", way.label);
            continue;
        }
        assert_eq!(status, 451, "{}: {head}", way.label);
        assert!(
            head.contains(&format!(
                "link: <{}>; rel=\"blocked-by\"",
                ORDER_URL.to_lowercase()
            )),
            "{}: {head}",
            way.label
        );
        if way.extra.iter().any(|e| e == "-I") {
            assert!(body.is_empty(), "{}: HEAD with a body", way.label);
            continue;
        }
        let text = String::from_utf8_lossy(&body);
        let elsewhere = format!("<a href=\"{ELSEWHERE}\">");
        for shown in [
            "Landgericht Hamburg",
            "324 O 1/26",
            "DE",
            ORDER_URL,
            &elsewhere,
        ] {
            assert!(
                text.contains(shown),
                "{}: no {shown:?} in {text}",
                way.label
            );
        }
        assert!(!text.contains("<script"), "{text}");
    }
    // The pages that quote the note are served with its title withheld, its link kept.
    for path in &quoting {
        let (status, body) = http_get(&mirror.url, path);
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "{path}");
        assert!(
            !text.contains(NOTE_TITLE) && text.contains("[withheld]"),
            "{path}: {text}"
        );
    }
    eprintln!(
        "{} pages and cards served with the title withheld: {quoting:?}",
        quoting.len()
    );
    // Still in the release and in sync: the files kept, nothing re-signed.
    assert_eq!(note_files(&dir.join("release")), targets);
    assert_eq!(mirror.status()["release"]["version"], 2);

    // The log, signed and served; verify-blocks checks it and names the block.
    let verified = run(&["verify-blocks", &mirror.url], 0);
    let said = stdout(&verified);
    assert!(
        said.contains("1 entries")
            && said.contains(&format!("blocked {GONE_ID}: Landgericht Hamburg")),
        "{said}"
    );

    // Unblocked: served again, on the plain and the TLS server, within a second.
    run(&["unblock", p(&dir), GONE_ID], 0);
    let returned = Instant::now();
    let took = until(&plain_page, 200, returned);
    let took_tls = until(&tls_page, 200, returned);
    eprintln!("unblock to first 200: {took:?}, over TLS {took_tls:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(took_tls < Duration::from_secs(1), "{took_tls:?}");
    let (_, body) = http_get(&mirror.url, &format!("/d/{GONE_ID}/doc.json"));
    assert!(shows_the_note(&body).is_some());
    let (_, listing) = http_get(&mirror.url, &quoting[0]);
    assert!(String::from_utf8_lossy(&listing).contains(NOTE_TITLE));
    let (head, body) = curl(
        &format!("{}d/{GONE_ID}/original.txt", tls.url),
        &["--cacert", p(&cert), "--http2"],
    );
    assert!(head.starts_with("http/2 200"), "{head}");
    assert!(shows_the_note(&body).is_some());
    // The log grew: it extends the head a reader saw with the block.
    let head = said
        .split("head ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the head");
    let verified = run(&["verify-blocks", &mirror.url, "--since", head], 0);
    let said_after = stdout(&verified);
    assert!(said_after.contains("2 entries"), "{said_after}");
    let head_after = said_after
        .split("head ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the head")
        .to_owned();

    // A tampered copy of the log, served by another server: refused, naming what is wrong.
    let (_, log_bytes) = http_get(&mirror.url, "/.well-known/samizdat/blocks.json");
    let text = String::from_utf8(log_bytes).expect("text");
    let forged = tmp.path().join("forged");
    fs::create_dir_all(forged.join(".well-known/samizdat")).expect("mkdir");
    let tampered = text.replacen("324 O 1/26", "324 O 9/26", 1);
    assert_ne!(tampered, text);
    fs::write(forged.join(".well-known/samizdat/blocks.json"), tampered).expect("write");
    let server = StaticServer::start(&forged, "127.0.0.213");
    let out = run(&["verify-blocks", &server.url], 1);
    assert_says(&stderr(&out), "entry 1: bad signature");
    // The unblock dropped from a copy (a mirror hiding that it lifted a block, or that it
    // made one): every signature holds, but it does not extend the head seen.
    let mut truncated: serde_json::Value = serde_json::from_str(&text).expect("json");
    truncated["entries"].as_array_mut().expect("entries").pop();
    fs::write(
        forged.join(".well-known/samizdat/blocks.json"),
        serde_json::to_vec(&truncated).expect("json"),
    )
    .expect("write");
    run(&["verify-blocks", &server.url], 0);
    let out = run(&["verify-blocks", &server.url, "--since", &head_after], 1);
    assert_says(&stderr(&out), format!("does not extend head {head_after}"));
    // A log signed by another key: refused when the mirror's key is pinned.
    let key = said
        .split("signed by key ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .expect("the key");
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("json");
    json["mirror_key"] = "ab".repeat(32).into();
    fs::write(
        forged.join(".well-known/samizdat/blocks.json"),
        serde_json::to_vec(&json).expect("json"),
    )
    .expect("write");
    let out = run(&["verify-blocks", &server.url, "--key", key], 1);
    assert_says(&stderr(&out), "not the expected");
}

/// A plain web root: the export of a mirror folder that blocks the note leaves none of its
/// files, turns what an earlier export left into the 451 page, and nginx with
/// deploy/nginx-samizdat.conf answers 451 (with the order's `Link`) on every path of it; after
/// `unblock` and another export, it is served again. The mirror had no key before its first
/// block (synced without `mirror init`): the block made one.
#[test]
fn an_export_of_a_mirror_that_blocks_serves_451_from_nginx() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = archive_with_a_note_to_withdraw(tmp.path());
    let root = archive.join("root.json");
    let origin = Daemon::start(
        &["mirror", "serve", p(&archive), "--listen", "127.0.0.214:0"],
        &tmp.path().join("origin.log"),
    );
    let dir = tmp.path().join("mirror");
    mirror_sync(&dir, &root, &[&origin.url], &[], 0);
    assert!(!dir.join("mirror.key").exists());
    let www = tmp.path().join("www");
    run(&["export", p(&dir), p(&www)], 0);
    let files: Vec<String> = note_files(&dir.join("release"))
        .into_iter()
        .map(|f| format!("/targets/{f}"))
        .collect();
    let mut paths = vec![
        format!("/d/{GONE_ID}/"),
        format!("/d/{GONE_ID}"),
        format!("/d/{GONE_ID}/doc.json"),
        format!("/d/{GONE_ID}/original.txt"),
    ];
    paths.extend(files);
    let conf = fs::read_to_string(repo().join("deploy/nginx-samizdat.conf")).expect("conf");
    // nginx with deploy/nginx-samizdat.conf over the export; started again after each export,
    // as `systemctl reload nginx` after a push reads the blocks again.
    let start = || {
        Nginx::start_with("127.0.0.215", |port| {
            conf.replace("listen [::]:80;", "")
                .replace("listen 80;", &format!("listen 127.0.0.215:{port};"))
                .replace("/var/www/samizdat", p(&www))
        })
    };
    let status = |site: &Nginx, path: &str| {
        let (head, body) = curl(&format!("{}{path}", site.url), &["--path-as-is"]);
        let code: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{path}: {head}"));
        (code, head, body)
    };
    let site = start();
    let (code, _, body) = status(&site, &format!("/d/{GONE_ID}/doc.json"));
    assert_eq!(code, 200);
    assert!(shows_the_note(&body).is_some());
    // A listing that quotes the note's title.
    let listing = "/browse/kind/text/";
    let shows_title = |site: &Nginx| {
        let (code, head, body) = status(site, listing);
        assert_eq!(code, 200, "{listing}: {head}");
        String::from_utf8_lossy(&body).contains(NOTE_TITLE)
    };
    assert!(shows_title(&site));

    run(
        &[
            "block",
            p(&dir),
            GONE_ID,
            "--authority",
            "Tribunal judiciaire de Paris",
            "--reference",
            "RG 26/00001",
            "--url",
            "https://court.example/$rg?a=1&b=2",
        ],
        0,
    );
    assert!(
        dir.join("mirror.key").exists(),
        "the first block made the mirror's key"
    );
    let out = run(&["export", p(&dir), p(&www)], 0);
    assert_says(&stdout(&out), "1 documents blocked here");
    // What the earlier export left is the 451 page now, whatever serves the folder.
    let left = fs::read_to_string(www.join(format!("d/{GONE_ID}/doc.json"))).expect("notice");
    assert!(left.contains("Tribunal judiciaire de Paris"), "{left}");
    drop(site);
    let site = start();
    for path in &paths {
        let (code, head, body) = status(&site, path);
        assert_eq!(code, 451, "{path}: {head}");
        assert!(
            head.contains("link: <https://court.example/%24rg?a=1&b=2>; rel=\"blocked-by\""),
            "{path}: {head}"
        );
        assert_eq!(shows_the_note(&body), None, "{path}");
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("RG 26/00001"), "{path}: {text}");
    }
    let (code, _, _) = status(&site, "/d/10PORTCITY101/doc.json");
    assert_eq!(code, 200, "another document is served");
    assert!(!shows_title(&site), "the listing withholds the title");

    run(&["unblock", p(&dir), GONE_ID], 0);
    run(&["export", p(&dir), p(&www)], 0);
    drop(site);
    let site = start();
    let (head, body) = curl(&format!("{}/d/{GONE_ID}/doc.json", site.url), &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(shows_the_note(&body).is_some());
    assert!(shows_title(&site), "the listing shows the title again");
}
