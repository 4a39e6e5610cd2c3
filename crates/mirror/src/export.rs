//! `samizdat export`: a release as a plain static tree that any web server serves as it is
//! (nginx, Apache, object storage), for volunteers who have only a web root.
//!
//! ```text
//! OUT/metadata/           the release's metadata; timestamp.json written last
//! OUT/targets/            SHA256.NAME files (hard links to the release's when on one file system)
//! OUT/d/<id>/doc.json     the plain site paths, hard links to the same files
//! OUT/d/<id>/original.EXT
//! OUT/withdrawn.json
//! OUT/.samizdat/blocks.nginx.conf   `return 451` for the paths of the documents DIR blocks
//! ```
//!
//! Incremental: a file already in place (same inode, or same length for an immutable target) is
//! left alone. A withdrawn document's plain paths that an earlier export wrote are replaced
//! by a short notice rather than deleted, so that a push through a no-delete key (rrsync
//! `-no-del`) still takes the document down on the volunteer's web root. So is every other
//! file an earlier export left that the release would not serve (gone means gone, as
//! [`crate::served`] rules for a mirror): a `targets/` file that is not a target of this
//! release nor of an earlier one still allowed (an earlier release's home page, listings and
//! search shards quote a document withdrawn since), and a plain path that is no target's of
//! this release.
//!
//! Legal blocks (`crate::blocks`, `DIR/blocks.json`): a blocked document's files are not
//! exported, what an earlier export left of them becomes the 451 page (`blocks::notice`)
//! under the same name, and `OUT/.samizdat/blocks.nginx.conf` (rewritten by every export,
//! empty when nothing is blocked) answers 451 for every path of each, with the order's `Link`;
//! `deploy/nginx-samizdat.conf` includes it. The site's pages and search cards that quote a
//! blocked document are exported with its title withheld at their plain paths and not under
//! `targets/` (`crate::withhold`, as a mirror serves them).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use time::OffsetDateTime;
use trust::client::{Client, DirTransport, Options};

use crate::error::{Error, ErrorKind, Result};

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exported {
    pub version: u64,
    pub targets: usize,
    /// Files newly linked or copied (targets, plain paths, metadata).
    pub written: usize,
    /// Plain paths of withdrawn documents replaced by a notice.
    pub withdrawn: usize,
    /// Other files of earlier exports replaced by a notice (not served with this release).
    pub replaced: usize,
    /// Documents blocked (`DIR/blocks.json`): their files are not exported.
    pub blocked: usize,
}

/// What an earlier export's file becomes when the release would not serve it.
const NOT_SERVED: &str = "not part of the release served here\n";

/// The nginx snippet of the blocks, under the export.
pub const NGINX_BLOCKS: &str = ".samizdat/blocks.nginx.conf";

/// Exports the release in `dir/release` (an archive's or a mirror's), verified against
/// `dir/root.json` (else the release's own `1.root.json`), into `out`.
pub fn export(dir: &Path, out: &Path) -> Result<Exported> {
    let release = dir.join("release");
    let root_path = if dir.join("root.json").exists() {
        dir.join("root.json")
    } else {
        release.join("metadata/1.root.json")
    };
    let root = fs::read(&root_path).map_err(|e| Error::cannot("read", &root_path, e))?;
    let options = Options {
        allow_expired: true,
        ..Options::new(OffsetDateTime::now_utc())
    };
    // An expired release is exported all the same (`allow_expired`).
    let context = |e: trust::Error| {
        let kind = if e.kind() == trust::ErrorKind::Io {
            ErrorKind::Io
        } else {
            ErrorKind::NotVerified
        };
        Error::new(kind, format!("{}: {e}", release.display()))
    };
    let mut client = Client::load(&root, DirTransport::new(&release), options).map_err(context)?;
    let targets = client.all_targets().map_err(context)?;
    // The rule the mirror serves by: this release's targets, and those of the earlier releases
    // still allowed.
    let blocks = std::sync::Arc::new(crate::blocks::read(dir)?);
    let served = crate::served::Served::load_hiding(&release, &root, blocks.clone())
        .map_err(|e| Error::new(ErrorKind::Io, e))?;
    let mut report = Exported {
        version: client.version(),
        targets: targets.len(),
        blocked: blocks.orders.len(),
        ..Exported::default()
    };
    let tmp = out.join(".tmp");
    for sub in ["metadata", "targets", "d"] {
        let path = out.join(sub);
        fs::create_dir_all(&path).map_err(|e| Error::cannot("create", &path, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| Error::cannot("create", &tmp, e))?;

    // Targets and their plain paths.
    for (name, info) in &targets {
        if common::layout::doc_of_target(name.as_str())
            .is_some_and(|id| served.blocked(id).is_some())
        {
            continue;
        }
        let file = trust::client::target_file_name(name, info);
        let source = release.join("targets").join(&file);
        if withhold_quotes(
            &served,
            name.as_str(),
            &source,
            &out.join("targets").join(&file),
            out,
            &tmp,
        )? {
            report.replaced += 1;
            continue;
        }
        if place(&source, &out.join("targets").join(&file), &tmp)? {
            report.written += 1;
        }
        if let Some(plain) = common::layout::plain_path_of_target(name.as_str())
            && place(&source, &out.join(&plain[1..]), &tmp)?
        {
            report.written += 1;
        }
    }

    // Withdrawn documents: what an earlier export left at their plain paths becomes a notice.
    if let Some((name, info)) = targets
        .iter()
        .find(|(name, _)| name.as_str() == common::layout::WITHDRAWN_TARGET)
    {
        let file = release
            .join("targets")
            .join(trust::client::target_file_name(name, info));
        let bytes = fs::read(&file).map_err(|e| Error::io(&file, e))?;
        let list: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| Error::io(&file, e))?;
        for tombstone in list["withdrawn"].as_array().into_iter().flatten() {
            let (Some(id), Some(reason)) = (tombstone["id"].as_str(), tombstone["reason"].as_str())
            else {
                continue;
            };
            if common::DocId::new(id).is_err() {
                continue;
            }
            let folder = out.join("d").join(id);
            let Ok(entries) = fs::read_dir(&folder) else {
                continue;
            };
            let notice = format!("{id} was withdrawn by the publisher: {reason}\n");
            for entry in entries.flatten() {
                let path = entry.path();
                if fs::read(&path).ok().as_deref() == Some(notice.as_bytes()) {
                    continue;
                }
                // Unlinked first: the file may be a hard link to a target.
                fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                crate::files::write_atomic(&tmp, &path, notice.as_bytes())?;
                report.withdrawn += 1;
            }
        }
    }

    // Whatever else earlier exports left: a notice, unless the release would serve it.
    for path in files_under(&out.join("targets"))? {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let target_name = name.split_once('.').map_or("", |(_, n)| n);
        if !served.serves_file(&name) && replace(&path, &notice(&served, target_name), &tmp)? {
            report.replaced += 1;
        }
    }
    let mut plain = Vec::new();
    for entry in fs::read_dir(out).map_err(|e| Error::io(out, e))? {
        let entry = entry.map_err(|e| Error::io(out, e))?;
        let name = entry.file_name();
        if name == "metadata" || name == "targets" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            plain.extend(files_under(&entry.path())?);
        } else {
            plain.push(entry.path());
        }
    }
    for path in plain {
        let Some(relative) = path.strip_prefix(out).ok().and_then(Path::to_str) else {
            continue;
        };
        // Only the release's own paths: anything else in the folder is the volunteer's.
        let Some(name) = common::layout::target_of_plain_path(&format!("/{relative}")) else {
            continue;
        };
        let withdrawn_notice =
            common::layout::doc_of_target(&name).is_some_and(|id| served.withdrawn(id).is_some());
        if served.target(&name).is_none()
            && !withdrawn_notice
            && replace(&path, &notice(&served, &name), &tmp)?
        {
            report.replaced += 1;
        }
    }

    // Metadata, the timestamp last.
    let metadata = release.join("metadata");
    let entries = fs::read_dir(&metadata).map_err(|e| Error::io(&metadata, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&metadata, e))?;
        let name = entry.file_name();
        if name == "timestamp.json" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if place(&entry.path(), &out.join("metadata").join(&name), &tmp)? {
            report.written += 1;
        }
    }
    let timestamp = fs::read(metadata.join("timestamp.json"))
        .map_err(|e| Error::io(&metadata.join("timestamp.json"), e))?;
    let out_timestamp = out.join("metadata/timestamp.json");
    if fs::read(&out_timestamp).ok() != Some(timestamp.clone()) {
        crate::files::write_atomic(&tmp, &out_timestamp, &timestamp)?;
        report.written += 1;
    }
    let snippet = out.join(NGINX_BLOCKS);
    if let Some(folder) = snippet.parent() {
        fs::create_dir_all(folder).map_err(|e| Error::cannot("create", folder, e))?;
    }
    crate::files::write_atomic(&tmp, &snippet, nginx_blocks(&served, &blocks).as_bytes())?;
    let _ = fs::remove_dir(&tmp);
    Ok(report)
}

/// What a file the release would not serve becomes: the 451 page if it is a blocked
/// document's (and not withdrawn: that is the publisher's), else [`NOT_SERVED`].
fn notice(served: &crate::served::Served, target_name: &str) -> String {
    let order = common::layout::doc_of_target(target_name)
        .filter(|id| served.withdrawn(id).is_none())
        .and_then(|id| Some((id, served.blocked(id)?)));
    match order {
        Some((id, order)) => crate::blocks::notice(id, order, served.elsewhere()),
        None => NOT_SERVED.to_owned(),
    }
}

/// The nginx `location`s answering 451 for every path of each blocked document (its folder
/// under `/d/`, its targets of any release), with the 451 page and the order's `Link`. Values
/// go in nginx strings: the page in single quotes, with `'`, `\` and `$` (a variable there)
/// written as HTML entities; the URL (printable ASCII without quotes, `Order::check`) with `$`
/// percent-encoded. Ids are `[A-Za-z0-9_-]`: nothing to escape in a regex.
fn nginx_blocks(served: &crate::served::Served, blocks: &crate::blocks::Blocks) -> String {
    use std::fmt::Write;
    let mut conf = String::from(
        "# Written by `samizdat export` from the mirror's blocks (samizdat block): do not edit.\n",
    );
    for (id, order) in &blocks.orders {
        if served.withdrawn(id).is_some() || common::DocId::new(id).is_err() {
            continue;
        }
        let page = crate::blocks::notice(id, order, served.elsewhere())
            .replace('\\', "&#92;")
            .replace('\'', "&#39;")
            .replace('$', "&#36;");
        let link = order.url.as_ref().map(|url| {
            format!(
                "    add_header Link \"<{}>; rel=\\\"blocked-by\\\"\" always;\n",
                url.replace('$', "%24")
            )
        });
        let _ = write!(
            conf,
            "location ~ \"^/(d/{id}(/|$)|targets/[0-9a-f]{{64}}\\.{id}\\.)\" {{\n\
             \x20   default_type \"text/html; charset=utf-8\";\n\
             \x20   add_header Cache-Control \"no-store\" always;\n\
             \x20   add_header Content-Security-Policy \"default-src 'none'\" always;\n\
             \x20   add_header X-Content-Type-Options nosniff always;\n\
             \x20   add_header Access-Control-Allow-Origin \"*\" always;\n\
             {}\
             \x20   return 451 '{page}';\n}}\n",
            link.unwrap_or_default()
        );
    }
    conf
}

/// When the site file `name` (at `source`) quotes a document this mirror blocks: its plain
/// path gets the page with the mentions withheld (`crate::withhold`), and its `targets/`
/// name (`dest`), whose signed bytes cannot change, is not exported (what an earlier export
/// left there becomes the 451 page). Whether it did.
fn withhold_quotes(
    served: &crate::served::Served,
    name: &str,
    source: &Path,
    dest: &Path,
    out: &Path,
    tmp: &Path,
) -> Result<bool> {
    if served.blocked_count() == 0 || !crate::withhold::may_quote(name) {
        return Ok(false);
    }
    let bytes = fs::read(source).map_err(|e| Error::io(source, e))?;
    let Some(withheld) = crate::withhold::withhold(name, &bytes, served) else {
        return Ok(false);
    };
    if dest.exists()
        && let Ok(id) = common::DocId::new(&withheld.first)
    {
        let page = common::layout::page_target(&id);
        replace(dest, &notice(served, &page), tmp)?;
    }
    if let Some(plain) = common::layout::plain_path_of_target(name) {
        let path = out.join(&plain[1..]);
        if fs::read(&path).ok().as_deref() != Some(&withheld.page[..]) {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            // Unlinked first: it may be a hard link to the release's file.
            let _ = fs::remove_file(&path);
            crate::files::write_atomic(tmp, &path, &withheld.page)?;
        }
    }
    Ok(true)
}

/// Replaces the file at `path` by `notice` unless it is that already (unlinked first: it may
/// be a hard link to a release's file). Whether it wrote.
fn replace(path: &Path, notice: &str, tmp: &Path) -> Result<bool> {
    if fs::read(path).ok().as_deref() == Some(notice.as_bytes()) {
        return Ok(false);
    }
    fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    crate::files::write_atomic(tmp, path, notice.as_bytes())?;
    Ok(true)
}

/// Every file under `dir`, recursively (symbolic links not followed, hidden names skipped).
fn files_under(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        let entries = fs::read_dir(&folder).map_err(|e| Error::io(&folder, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&folder, e))?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => folders.push(entry.path()),
                Ok(t) if t.is_file() => files.push(entry.path()),
                _ => {}
            }
        }
    }
    Ok(files)
}

/// Puts `source` at `dest` (a hard link, else a copy) unless it is there already. Names are
/// immutable (content-addressed targets, versioned metadata; a plain path changes only with its
/// document's bytes, and then its length or inode does).
fn place(source: &Path, dest: &Path, tmp: &Path) -> Result<bool> {
    let from = fs::metadata(source).map_err(|e| Error::io(source, e))?;
    if let Ok(existing) = fs::metadata(dest) {
        let same_inode = existing.ino() == from.ino() && existing.dev() == from.dev();
        if same_inode || (existing.len() == from.len() && is_target(dest)) {
            return Ok(false);
        }
    }
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let staged = tmp.join(format!(
        "{}.{}",
        std::process::id(),
        dest.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let _ = fs::remove_file(&staged);
    if fs::hard_link(source, &staged).is_err() {
        fs::copy(source, &staged).map_err(|e| Error::cannot("copy", source, e))?;
    }
    fs::rename(&staged, dest).map_err(|e| Error::io(dest, e))?;
    Ok(true)
}

/// Whether `path` is a content-addressed target (`.../targets/SHA.NAME`).
fn is_target(path: &Path) -> bool {
    path.parent()
        .and_then(Path::file_name)
        .is_some_and(|n| n == "targets")
}
