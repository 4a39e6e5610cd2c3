//! The reader site (issue 4) in real Chromium: a release of the real corpora served by our
//! mirror, searched and browsed as readers do; its HTML validated; failover between two mirrors
//! by the site's service worker.

use crate::util::browser::{browser_test, metric, validate_html};
use crate::util::directory_server::directory_for;
use crate::util::*;
use archive::{Catalog, Kind};
use std::path::Path;
use std::process::Stdio;

/// `samizdat mirror serve DIR` on `listen` (IP:PORT), until dropped.
fn serve(dir: &Path, listen: &str, log: &Path) -> Daemon {
    Daemon::start(&["mirror", "serve", p(dir), "--listen", listen], log)
}

/// `tests/browser/site/cors_server.py`: a plain web root serving `dir` on `ip` with
/// `Access-Control-Allow-Origin: *`, as any volunteer's could; answering once this returns;
/// killed on drop.
struct CorsServer {
    child: std::process::Child,
    url: String,
}

impl CorsServer {
    fn start(dir: &Path, ip: &str) -> CorsServer {
        let port = free_port(ip);
        CorsServer::start_on(dir, ip, port)
    }

    fn start_on(dir: &Path, ip: &str, port: u16) -> CorsServer {
        let child = std::process::Command::new("python3")
            .arg(repo().join("tests/browser/site/cors_server.py"))
            .args([&port.to_string(), p(dir), ip])
            .spawn()
            .expect("python3");
        let server = CorsServer {
            child,
            url: format!("http://{ip}:{port}/"),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect((ip, port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "{}: the web root never listened",
                server.url
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        server
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for CorsServer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The id of a document whose page (`SHA.ID.html`) the archive's release holds.
fn document_page_id(archive: &Path) -> String {
    std::fs::read_dir(archive.join("release/targets"))
        .expect("ls")
        .flatten()
        .find_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let id = name.split_once('.')?.1.strip_suffix(".html")?;
            (!id.starts_with("_s_") && !id.contains('.')).then(|| id.to_owned())
        })
        .expect("a document page among the targets")
}

#[test]
fn reader_site_of_the_real_corpora_in_chromium() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive), "--title", "Corpora"], 0);
    let docs = corpus("linux-doc").join("x/usr/share/doc/linux-doc-6.1/Documentation");
    let mail = corpus("spam-assassin").join("package/data");
    let out = samizdat()
        .args(["add", p(&archive), p(&mail), p(&docs)])
        .stderr(Stdio::null())
        .output()
        .expect("add");
    assert!(matches!(out.status.code(), Some(0 | 4)), "{}", stdout(&out));
    run(&["release", p(&archive)], 0);

    // An e-mail in a thread of at least three messages, not its first.
    let catalog = Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let all = catalog.documents().expect("documents");
    let links = release::records::links(&all).expect("links");
    let mut sizes = std::collections::HashMap::new();
    for l in links.values() {
        if let Some(root) = &l.thread {
            *sizes.entry(root.clone()).or_insert(0) += 1;
        }
    }
    let thread = all
        .iter()
        .filter(|d| d.kind == Kind::Email)
        .find(|d| {
            links[&d.id]
                .thread
                .as_ref()
                .is_some_and(|r| *r != d.id && sizes[r] >= 3)
        })
        .expect("an e-mail in a thread");

    let expect = serde_json::json!({
        "known": [
            ["what is rcu", "rcu-whatisrcu-rst"],
            ["unreliable guide to locking", "kernel-hacking-locking-rst"],
            ["spamassassin razor", "m-eda97245c3850a5f"],
        ],
        "thread": thread.id,
    });
    let expect_file = tmp.path().join("expect.json");
    std::fs::write(&expect_file, expect.to_string()).expect("write");

    let listen = format!("127.0.0.40:{}", free_port("127.0.0.40"));
    let mirror = serve(&archive, &listen, &tmp.path().join("mirror.log"));
    let url = mirror.url.clone();
    let shots = repo().join("target/screenshots/reader");
    let out = browser_test(
        Path::new("site/reader.mjs"),
        &url,
        &shots,
        &[p(&expect_file)],
    );
    let ms = metric(&out, "first_result_ms_from_home").expect("a first-result time");
    println!(
        "{out}\nfirst result {ms} ms; screenshots in {}",
        shots.display()
    );
    for name in ["home", "search-results", "document-email", "document-no-js"] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}.png");
    }

    // The HTML of the site, through the static export a plain web root serves: every listing
    // page and a spread of document pages.
    let static_dir = tmp.path().join("static");
    run(&["export", p(&archive), p(&static_dir)], 0);
    validate_html(&static_dir, 400);
}

/// The sample released with the site in `dir/archive`, its publisher naming two mirrors to be
/// on `ips` (each a free port and its URL, returned).
fn with_two_mirrors(dir: &Path, ips: [&str; 2]) -> (std::path::PathBuf, [(u16, String); 2]) {
    let archive = dir.join("archive");
    let mirrors = ips.map(|ip| {
        let port = free_port(ip);
        (port, format!("http://{ip}:{port}"))
    });
    // The publisher names its mirrors; the site carries the list.
    let mut args = vec!["init", p(&archive), "--title", "Sample"];
    for (_, url) in &mirrors {
        args.extend(["--mirror", url.as_str()]);
    }
    run(&args, 0);
    run(&["add", p(&archive), p(&sample_documents())], 0);
    run(&["release", p(&archive)], 0);
    (archive, mirrors)
}

#[test]
fn the_service_worker_fails_over_to_another_mirror() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (ip_a, ip_b) = ("127.0.0.41", "127.0.0.42");
    let (archive, [(port_a, url_a), (port_b, url_b)]) = with_two_mirrors(tmp.path(), [ip_a, ip_b]);

    let a = serve(
        &archive,
        &format!("{ip_a}:{port_a}"),
        &tmp.path().join("a.log"),
    );
    let pid_a = a.pid().to_string();
    // The site's hashed files are immutable (and the search index's binaries gzipped); its
    // pages are not.
    let (head, page) = curl(&format!("{url_a}/search/"), &[]);
    assert!(
        head.contains("cache-control: public, max-age=300"),
        "{head}"
    );
    let page = String::from_utf8_lossy(&page).into_owned();
    let root = page
        .split("data-root=\"../")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no index root in {page}"));
    let (head, _) = curl(&format!("{url_a}/{root}"), &[]);
    assert!(
        head.contains("cache-control: public, max-age=31536000, immutable"),
        "{root}: {head}"
    );
    // A dictionary shard of the index (a binary file) compresses, and is sent compressed.
    let shard = std::fs::read_dir(archive.join("release/targets"))
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find_map(|n| Some(n.split_once("._s_search_s_")?.1.to_owned()))
        .expect("a dictionary shard");
    let (head, _) = curl(
        &format!("{url_a}/search/s/{shard}"),
        &["-H", "Accept-Encoding: gzip"],
    );
    assert!(
        head.contains("immutable") && head.contains("content-encoding: gzip"),
        "search/s/{shard}: {head}"
    );
    assert!(page.contains("rel=\"modulepreload\""), "{page}");
    let _b = serve(
        &archive,
        &format!("{ip_b}:{port_b}"),
        &tmp.path().join("b.log"),
    );
    let shots = repo().join("target/screenshots/failover");
    let out = browser_test(
        Path::new("site/failover.mjs"),
        &url_a,
        &shots,
        &[&pid_a, &url_b],
    );
    assert!(
        metric(&out, "failover_bytes_from_b").is_some_and(|b| b > 0.0),
        "{out}"
    );
}

/// A mirror that lies: the worker shows its page (it cannot know better without the metadata)
/// but runs nothing it sent, neither an inline script nor its version of the site's scripts.
#[test]
fn a_lying_mirror_cannot_run_script_through_the_service_worker() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (ip_a, ip_b) = ("127.0.0.43", "127.0.0.44");
    let (archive, [(port_a, url_a), (port_b, url_b)]) = with_two_mirrors(tmp.path(), [ip_a, ip_b]);

    // B: the static export, tampered, served with CORS as any web root could be.
    let web = tmp.path().join("web");
    run(&["export", p(&archive), p(&web)], 0);
    for file in ["browse/index.html", "sw-register.js"] {
        std::fs::remove_file(web.join(file)).expect("unlink the hard link");
    }
    std::fs::write(
        web.join("browse/index.html"),
        "<!DOCTYPE html><html lang=\"en\"><head><title>untouched</title></head><body>\
         <h1>Browse (tampered)</h1><script>document.title = 'pwned';</script>\
         <script src=\"../sw-register.js\"></script></body></html>",
    )
    .expect("tamper");
    std::fs::write(web.join("sw-register.js"), "window.pwned = true;\n").expect("tamper");
    let _b = CorsServer::start_on(&web, ip_b, port_b);
    let a = serve(
        &archive,
        &format!("{ip_a}:{port_a}"),
        &tmp.path().join("a.log"),
    );
    let pid_a = a.pid().to_string();
    let (html, _) = target_name(&archive.join("release"), ".original.html");
    let original_html = format!("d/{}/original.html", html.split('.').nth(1).expect("id"));
    browser_test(
        Path::new("site/failover-lying.mjs"),
        &url_a,
        &repo().join("target/screenshots/failover"),
        &[&pid_a, &url_b, &original_html],
    );
}

/// Only the site's own scripts run under its service worker: an archived `original.js`, which
/// a plain web root serves as JavaScript (and a lying mirror's page could name), is refused
/// before any fetch; the site's hashed search script still runs.
#[test]
fn the_service_worker_runs_only_the_sites_own_scripts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive), "--title", "Sample"], 0);
    let extra = tmp.path().join("extra");
    std::fs::create_dir_all(&extra).expect("mkdir");
    std::fs::write(extra.join("scripted.eml"), SCRIPTED_EMAIL).expect("write");
    run(&["add", p(&archive), p(&sample_documents()), p(&extra)], 0);
    run(&["release", p(&archive)], 0);
    let (original, _) = target_name(&archive.join("release"), ".original.js");
    let id = original.split('.').nth(1).expect("id").to_owned();
    // The site's search script (`assets/search.<hash>.js`).
    let own = std::fs::read_dir(archive.join("release/targets"))
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find_map(|n| {
            let rest = n.split_once("._s_assets_search.")?.1;
            rest.ends_with(".js")
                .then(|| format!("assets/search.{rest}"))
        })
        .expect("the site's search script among the targets");
    let web = tmp.path().join("web");
    run(&["export", p(&archive), p(&web)], 0);
    let server = CorsServer::start(&web, "127.0.0.45");
    browser_test(
        Path::new("site/own-scripts.mjs"),
        &server.url,
        &repo().join("target/screenshots/own-scripts"),
        &[&format!("d/{id}/original.js"), &own],
    );
}

/// The sample's reader site in Chromium at a phone's width (390 px) and a desktop's (1280 px):
/// no page wider than the screen, the header's Search button beside its box, kinds named as the
/// site names them on the search page, excerpts without Markdown marks, counts that agree with
/// their nouns; and an unknown path answered with the site's own 404 page (status 404).
#[test]
fn the_reader_site_fits_a_phone_and_a_desktop_and_has_its_own_404_page() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive), "--title", "Sample"], 0);
    run(&["add", p(&archive), p(&sample_documents())], 0);
    run(&["release", p(&archive)], 0);
    let listen = format!("127.0.0.45:{}", free_port("127.0.0.45"));
    let mirror = serve(&archive, &listen, &tmp.path().join("mirror.log"));

    let (head, body) = curl(&format!("{}d/no-such-document/", mirror.url), &[]);
    assert!(head.starts_with("http/1.1 404"), "{head}");
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(
        head.contains("content-security-policy: default-src 'self'"),
        "{head}"
    );
    let body = String::from_utf8_lossy(&body).into_owned();
    assert!(body.contains("<h1>Not found</h1>"), "{body}");
    // Metadata a client probes for is still a plain 404.
    let (head, _) = curl(&format!("{}metadata/2.root.json", mirror.url), &[]);
    assert!(head.starts_with("http/1.1 404"), "{head}");

    browser_test(
        Path::new("site/layout.mjs"),
        &mirror.url,
        &repo().join("target/screenshots/layout"),
        &[],
    );
}

/// Must-show 4 of the directory (issue 17): three mirrors and a directory that audited them;
/// the release vouches for the directory and names, of the three, only mirror 2. A reader
/// loads the site from mirror 1 (its mirrors page shows the directory's live list, the worker
/// installs and takes the list), then mirrors 1 and 2 die: the reader keeps reading through
/// mirror 3, which only the directory names, under mirror 1's address.
#[test]
fn with_two_of_three_mirrors_dead_the_reader_keeps_reading_from_the_mirror_the_directory_lists() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ips = ["127.0.0.171", "127.0.0.172", "127.0.0.173"];
    let listens = ips.map(|ip| format!("{ip}:{}", free_port(ip)));
    let archive = tmp.path().join("archive");
    let named = format!("http://{}/", listens[1]);
    run(
        &["init", p(&archive), "--title", "Sample", "--mirror", &named],
        0,
    );
    run(&["add", p(&archive), p(&sample_documents())], 0);
    run(&["release", p(&archive)], 0);
    let mirrors: Vec<Daemon> = listens
        .iter()
        .enumerate()
        .map(|(i, listen)| serve(&archive, listen, &tmp.path().join(format!("m{i}.log"))))
        .collect();
    let enrolled = [
        (mirrors[0].url.as_str(), "DE", "One Hosting"),
        (mirrors[1].url.as_str(), "NL", "Two Hosting"),
        (mirrors[2].url.as_str(), "IS", "Three Hosting"),
    ];
    let directory = directory_for(
        &tmp.path().join("directory"),
        &archive.join("root.json"),
        &enrolled,
        "127.0.0.174",
    );
    // The publisher vouches for it; the next release says so, and every mirror serves that.
    let directory_root = tmp.path().join("directory/root.json");
    run(
        &[
            "vouch",
            p(&archive),
            p(&directory_root),
            "--url",
            &directory.url,
        ],
        0,
    );
    run(&["release", p(&archive)], 0);
    for mirror in &mirrors {
        mirror.wait_for_release(2);
    }
    // What the release itself says: mirror 2, never 3; and the directory.
    let (code, own) = http_get(&mirrors[0].url, "/mirrors.json");
    let own = String::from_utf8_lossy(&own).into_owned();
    assert!(code == 200 && own.contains(&named), "{code} {own}");
    assert!(
        !own.contains(&listens[2]),
        "the release names mirror 3: {own}"
    );
    let (code, index) = http_get(&mirrors[0].url, "/directories.json");
    let index = String::from_utf8_lossy(&index).into_owned();
    assert!(
        code == 200 && index.contains(&directory.url),
        "{code} {index}"
    );

    // A document page, not visited before the mirrors die.
    let id = document_page_id(&archive);
    let pids = [mirrors[0].pid(), mirrors[1].pid()].map(|pid| pid.to_string());
    let out = browser_test(
        Path::new("site/directory-failover.mjs"),
        &mirrors[0].url,
        &repo().join("target/screenshots/directory-failover"),
        &[
            &pids[0],
            &pids[1],
            &mirrors[1].url,
            &mirrors[2].url,
            &directory.url,
            &format!("d/{id}/"),
        ],
    );
    assert!(
        metric(&out, "bytes_from_mirror_3").is_some_and(|b| b > 0.0),
        "{out}"
    );
}

/// The directories a publisher vouches for may be broken or hostile; the reader site's script
/// and worker take of them only what is sound. Four, served as static files by one web root:
/// `good` lists mirrors 1 and 3; `entries` lists a `javascript:` and an `ftp:` URL as active,
/// a degraded mirror (its provider written as HTML) and an active one that never answers, among
/// entries that are not objects; `huge` lists an active mirror in more than the 256 KiB a list
/// may have; `broken` is not JSON. The mirrors page shows the sound entries as text and says
/// which directories did not answer; the worker holds exactly the active http(s) mirrors
/// (1, 3 and the dead one). Then mirror 1 dies and `good` names a new mirror: the worker,
/// failing over, refreshes from the directories mirror 1 last named; every directory stops
/// answering: a refresh keeps the list, and the reader reads through mirror 3.
#[test]
fn broken_or_hostile_directories_neither_break_reading_nor_add_what_they_do_not_list_as_active() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive), "--title", "Sample"], 0);
    run(&["add", p(&archive), p(&sample_documents())], 0);
    run(&["release", p(&archive)], 0);
    let mirror = |i: usize, ip: &str| {
        let listen = format!("{ip}:{}", free_port(ip));
        serve(&archive, &listen, &tmp.path().join(format!("m{i}.log")))
    };
    let (m1, m3) = (mirror(1, "127.0.0.175"), mirror(3, "127.0.0.176"));
    let dead = format!("http://127.0.0.178:{}/", free_port("127.0.0.178"));
    let ip = "127.0.0.177";
    let port = free_port(ip);
    let base = format!("http://{ip}:{port}/");
    let lists = tmp.path().join("lists");
    let served = [
        (
            "good",
            serde_json::json!({ "mirrors": [
                { "url": m1.url, "state": "active", "country": "DE", "provider": "One" },
                { "url": m3.url, "state": "active", "country": "IS", "provider": "Three" },
            ] })
            .to_string(),
        ),
        (
            "entries",
            serde_json::json!({ "mirrors": [
                { "url": "javascript:alert(1)//", "state": "active" },
                { "url": "ftp://127.0.0.181/", "state": "active" },
                { "url": "http://127.0.0.179:1/", "state": "degraded",
                  "provider": "<img src=x onerror=alert(1)>" },
                { "url": dead, "state": "active", "country": "NL" },
                17, null, "http://127.0.0.182:1/",
            ] })
            .to_string(),
        ),
        (
            "huge",
            serde_json::json!({ "mirrors": [
                { "url": "http://127.0.0.180:1/", "state": "active", "provider": "x".repeat(300_000) },
            ] })
            .to_string(),
        ),
        ("broken", "{\"mirrors\": [ not json".to_owned()),
    ];
    let archive_root = std::fs::read(archive.join("root.json")).expect("archive root");
    for (name, list) in &served {
        let keys = tmp.path().join("roots").join(name);
        directory::config::init(
            &keys,
            &archive_root,
            &directory::config::Config::default(),
            time::OffsetDateTime::now_utc(),
        )
        .expect("directory init");
        std::fs::create_dir_all(lists.join(name)).expect("mkdir");
        std::fs::write(lists.join(name).join("mirrors.json"), list).expect("write");
        let url = format!("{base}{name}/");
        let root = keys.join("root.json");
        run(
            &[
                "vouch",
                p(&archive),
                p(&root),
                "--url",
                &url,
                "--name",
                name,
            ],
            0,
        );
    }
    run(&["release", p(&archive)], 0);
    m1.wait_for_release(2);
    m3.wait_for_release(2);
    let directories = CorsServer::start_on(&lists, ip, port);
    let id = document_page_id(&archive);
    browser_test(
        Path::new("site/directory-hostile.mjs"),
        &m1.url,
        &repo().join("target/screenshots/directory-hostile"),
        &[
            &m1.pid().to_string(),
            &m3.url,
            &dead,
            &directories.pid().to_string(),
            &base,
            &format!("d/{id}/"),
            p(&lists),
        ],
    );
}
