//! Must-show 2 of the directory (issue 17): the publisher vouches for directories by carrying
//! their roots as targets of the archive, and a reader who trusts only the archive's root
//! verifies a directory's signed mirror list end to end: python-tuf's ngclient (a first
//! `Updater` on the archive downloads the directory's root, a second one whose trusted root is
//! that file downloads `mirrors.json`) and `samizdat verify-list`. A list signed by another
//! directory's keys, an older one after a newer was seen (rollback) and an expired one are
//! refused by both.

use crate::util::*;
use directory::list::{Listed, MirrorList};
use std::fs;
use std::path::Path;
use time::{Duration, OffsetDateTime};

fn listed(url: &str) -> Listed {
    Listed {
        url: url.to_owned(),
        country: "DE".into(),
        provider: "example".into(),
        state: "active".into(),
        weight: 100,
        audited: None,
        release: Some(1),
    }
}

/// A directory in `dir` for `archive`, listing `mirrors`; its root.json.
fn directory_with(dir: &Path, archive: &Path, mirrors: &[&str], now: OffsetDateTime) -> Vec<u8> {
    let archive_root = fs::read(archive.join("root.json")).expect("archive root");
    let made = directory::config::init(
        dir,
        &archive_root,
        &directory::config::Config::default(),
        now,
    )
    .expect("directory init");
    publish(dir, mirrors, now);
    made.root_json
}

fn publish(dir: &Path, mirrors: &[&str], now: OffsetDateTime) {
    let list = MirrorList {
        mirrors: mirrors.iter().map(|m| listed(m)).collect(),
    };
    directory::list::publish(dir, &list, now).expect("publish");
}

/// Serves what `dir`'s repository holds now from `www` (replaced whole).
fn serve_copy(dir: &Path, www: &Path) {
    if www.exists() {
        fs::remove_dir_all(www).expect("rm www");
    }
    copy_tree(&directory::list::repository(dir), www);
}

/// python-tuf, two updaters: the archive's (trusting `archive/root.json`) downloads the
/// directory's root target; the directory's (trusting that file, its cache in `cache`, kept
/// between calls) downloads `mirrors.json`. Returns the second one's lines.
fn ngclient_chain(
    tmp: &Path,
    archive_url: &str,
    archive: &Path,
    root_target: &str,
    directory_url: &str,
    cache: &Path,
) -> Vec<String> {
    let archive_cache = tmp.join(format!("archive-cache-{}", std::process::id()));
    let _ = fs::remove_dir_all(&archive_cache);
    fs::create_dir_all(&archive_cache).expect("mkdir");
    fs::copy(archive.join("root.json"), archive_cache.join("root.json")).expect("root");
    let download = tmp.join("download-archive");
    let _ = fs::remove_dir_all(&download);
    let lines = ngclient(
        &archive_cache,
        archive_url,
        &download,
        &["_directories.json", root_target],
    );
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l.starts_with("OK ")), "{lines:?}");
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(download.join("_directories.json")).expect("index"))
            .expect("index json");
    assert!(
        index["directories"]
            .as_array()
            .expect("array")
            .iter()
            .any(|d| d["root_target"] == root_target && d["url"] == format!("{directory_url}/")),
        "{index}"
    );
    if !cache.join("root.json").exists() {
        fs::create_dir_all(cache).expect("mkdir");
        fs::copy(download.join(root_target), cache.join("root.json")).expect("vouched root");
    }
    ngclient(
        cache,
        directory_url,
        &tmp.join("download-list"),
        &["mirrors.json"],
    )
}

fn verify_list(archive: &Path, state: Option<&Path>, directory: &str, code: i32) -> String {
    let root = archive.join("root.json");
    let release = archive.join("release");
    let mut args = vec![
        "verify-list",
        "--root",
        p(&root),
        p(&release),
        "--directory",
        directory,
    ];
    if let Some(state) = state {
        args.extend(["--state", p(state)]);
    }
    let out = run(&args, code);
    format!("{}{}", stdout(&out), stderr(&out))
}

#[test]
fn directory_trust_list_verified_end_to_end_and_forgeries_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tmp = tmp.path();
    let now = OffsetDateTime::now_utc();
    let archive = tmp.join("archive");
    run(&["init", p(&archive)], 0);

    // Two directories, one named in samizdat.toml, one by its keys.
    let www_a = tmp.join("www-a");
    let www_b = tmp.join("www-b");
    fs::create_dir_all(&www_a).expect("mkdir");
    fs::create_dir_all(&www_b).expect("mkdir");
    let server_a = StaticServer::start(&www_a, "127.0.0.170");
    let server_b = StaticServer::start(&www_b, "127.0.0.172");
    let (dir_a, dir_b) = (tmp.join("dir-a"), tmp.join("dir-b"));
    let root_a = directory_with(&dir_a, &archive, &["http://m1.example/"], now);
    let root_b = directory_with(&dir_b, &archive, &["http://m9.example/"], now);
    serve_copy(&dir_a, &www_a);
    serve_copy(&dir_b, &www_b);
    fs::write(archive.join("dir-a.json"), &root_a).expect("write");
    fs::write(archive.join("dir-b.json"), &root_b).expect("write");

    // Something that is not a directory's root is refused at release time, naming the file.
    fs::write(
        archive.join("not-a-root.json"),
        b"{\"signed\": {}, \"signatures\": []}",
    )
    .expect("write");
    let config = fs::read_to_string(archive.join("samizdat.toml")).expect("config");
    fs::write(
        archive.join("samizdat.toml"),
        format!(
            "{config}\n[[directories]]\nroot = \"not-a-root.json\"\nurl = \"http://x.example/\"\n"
        ),
    )
    .expect("write");
    let out = run(&["release", "--no-site", p(&archive)], 1);
    assert!(
        stderr(&out).contains("not-a-root.json") && stderr(&out).contains("TUF root"),
        "{}",
        stderr(&out)
    );
    fs::write(
        archive.join("samizdat.toml"),
        format!(
            "{config}\n[[directories]]\nroot = \"dir-a.json\"\nurl = \"{}\"\nname = \"main\"\n",
            server_a.url
        ),
    )
    .expect("write");
    // The second by `samizdat vouch`, which checks the file first.
    let not_root = archive.join("not-a-root.json");
    let out = run(
        &[
            "vouch",
            p(&archive),
            p(&not_root),
            "--url",
            "http://x.example/",
        ],
        1,
    );
    assert_says(&stderr(&out), "not-a-root.json");
    let dir_b_root = archive.join("dir-b.json");
    let out = run(
        &["vouch", p(&archive), p(&dir_b_root), "--url", &server_b.url],
        0,
    );
    assert_says(&stdout(&out), "vouching for directory main");
    release_a_note(&archive, "note.txt", "a note");
    let release = archive.join("release");
    let archive_server = StaticServer::start(&release, "127.0.0.171");
    let b_target = fs::read_dir(release.join("targets"))
        .expect("targets")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.split_once('.').map(|(_, name)| name.to_owned()))
        .find(|n| n.starts_with("_dir_") && n != "_dir_main.root.json")
        .expect("the second directory's root target");

    // 1. The chain verifies, for both directories: python-tuf and samizdat.
    let cache_a = tmp.join("cache-a");
    let lines = ngclient_chain(
        tmp,
        &archive_server.url,
        &archive,
        "_dir_main.root.json",
        &server_a.url,
        &cache_a,
    );
    assert!(lines[0].starts_with("OK mirrors.json"), "{lines:?}");
    let list = fs::read_to_string(tmp.join("download-list/mirrors.json")).expect("list");
    assert!(list.contains("http://m1.example/"), "{list}");
    let lines = ngclient_chain(
        tmp,
        &archive_server.url,
        &archive,
        &b_target,
        &server_b.url,
        &tmp.join("cache-b"),
    );
    assert!(lines[0].starts_with("OK mirrors.json"), "{lines:?}");
    let state = tmp.join("state");
    let out = verify_list(&archive, Some(&state), "main", 0);
    assert!(
        out.contains("directory main") && out.contains("http://m1.example/"),
        "{out}"
    );
    assert!(!out.contains("m9.example"), "{out}");
    let root = archive.join("root.json");
    let out = run(&["verify-list", "--root", p(&root), &archive_server.url], 0);
    let both = stdout(&out);
    assert!(
        both.contains("m1.example") && both.contains("m9.example"),
        "{both}"
    );

    // 2. Rollback: a newer list seen, then the older one served again.
    let old = tmp.join("old-a");
    copy_tree(&www_a, &old);
    publish(&dir_a, &["http://m1.example/", "http://m2.example/"], now);
    serve_copy(&dir_a, &www_a);
    let lines = ngclient_chain(
        tmp,
        &archive_server.url,
        &archive,
        "_dir_main.root.json",
        &server_a.url,
        &cache_a,
    );
    assert!(lines[0].starts_with("OK mirrors.json"), "{lines:?}");
    let out = verify_list(&archive, Some(&state), "main", 0);
    assert!(out.contains("m2.example"), "{out}");
    fs::remove_dir_all(&www_a).expect("rm");
    copy_tree(&old, &www_a);
    let lines = ngclient_chain(
        tmp,
        &archive_server.url,
        &archive,
        "_dir_main.root.json",
        &server_a.url,
        &cache_a,
    );
    assert!(
        lines[0].starts_with("REFRESH-FAILED BadVersionNumberError"),
        "{lines:?}"
    );
    let out = verify_list(&archive, Some(&state), "main", 1);
    assert!(out.contains("is older than the trusted"), "{out}");
    assert!(!out.contains("m1.example/ active"), "{out}");
    // Without what it saw before, the old list is authentic: the state is what refuses it.
    verify_list(&archive, None, "main", 0);

    // 3. Another directory's list (its own keys) served at the vouched URL.
    let dir_c = tmp.join("dir-c");
    directory_with(&dir_c, &archive, &["http://evil.example/"], now);
    serve_copy(&dir_c, &www_a);
    let fresh = tmp.join("cache-fresh-1");
    let lines = ngclient_chain(
        tmp,
        &archive_server.url,
        &archive,
        "_dir_main.root.json",
        &server_a.url,
        &fresh,
    );
    assert!(
        lines[0].starts_with("REFRESH-FAILED UnsignedMetadataError"),
        "{lines:?}"
    );
    let out = verify_list(&archive, None, "main", 1);
    assert!(
        out.contains("does not verify") && !out.contains("evil.example"),
        "{out}"
    );

    // 4. An expired list: signed three days ago (a timestamp lives two).
    publish(&dir_a, &["http://m3.example/"], now - Duration::days(3));
    serve_copy(&dir_a, &www_a);
    let fresh = tmp.join("cache-fresh-2");
    let lines = ngclient_chain(
        tmp,
        &archive_server.url,
        &archive,
        "_dir_main.root.json",
        &server_a.url,
        &fresh,
    );
    assert!(
        lines[0].starts_with("REFRESH-FAILED ExpiredMetadataError"),
        "{lines:?}"
    );
    let out = verify_list(&archive, None, "main", 3);
    assert!(
        out.to_lowercase().contains("expired") && !out.contains("m3.example"),
        "{out}"
    );

    // The other directory is untouched by all this, and still listed when both are asked for.
    let b_name = &b_target[5..b_target.len() - 10];
    verify_list(&archive, None, b_name, 0);
    let out = run(&["verify-list", "--root", p(&root), p(&release)], 3);
    assert!(
        stdout(&out).contains("m9.example") && !stdout(&out).contains("m3.example"),
        "{}",
        stdout(&out)
    );
    assert_says(&stderr(&out), "directory main");

    // The next (incremental) release drops a directory no longer vouched for, keeps the other.
    fs::write(
        archive.join("samizdat.toml"),
        format!(
            "{config}\n[[directories]]\nroot = \"dir-a.json\"\nurl = \"{}\"\nname = \"main\"\n",
            server_a.url
        ),
    )
    .expect("write");
    release_a_note(&archive, "note2.txt", "another note");
    publish(&dir_a, &["http://m4.example/"], now);
    serve_copy(&dir_a, &www_a);
    let out = run(&["verify-list", "--root", p(&root), p(&release)], 0);
    assert!(
        stdout(&out).contains("m4.example") && !stdout(&out).contains(b_name),
        "{}",
        stdout(&out)
    );
    verify_list(&archive, None, b_name, 1);
    verify_archive(&archive, &[&b_target], 1);
    verify_archive(&archive, &["_dir_main.root.json", "_directories.json"], 0);
    drop(server_b);
}
