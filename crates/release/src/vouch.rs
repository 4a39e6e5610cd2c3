//! The directories a publisher vouches for (`[[directories]]` in `samizdat.toml`): each release
//! carries each directory's `root.json` as the target `_dir_<name>.root.json` and an index,
//! `_directories.json` (`{"directories": [{name, url, root_target, root_version}]}`), so a
//! reader who trusts the archive's root reaches each directory's signed mirror list through
//! signatures only: archive root → directory root (an archive target) → `mirrors.json`.
//!
//! A file that is not a TUF root signed by its own root keys is refused here, at release time,
//! naming the file. The name identifies the directory, not a version of its root: the one given
//! in the configuration, else derived from the key ids of its root role (a rotation of the
//! directory's root keys then changes it; name the directory to keep it).

use crate::config::Vouched;
use crate::{Error, ErrorKind, Result};
use archive::layout;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::Path;
use time::OffsetDateTime;
use trust::client::{Options, TrustedMetadataSet};

/// Largest directory root accepted (as the TUF client caps a root).
const MAX_ROOT_LEN: u64 = 512_000;

/// One entry of `_directories.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub name: String,
    pub url: String,
    pub root_target: String,
    pub root_version: u64,
}

/// The index entries for `directories`, each root checked as [`targets`] checks it.
pub fn entries(archive: &Path, directories: &[Vouched], now: OffsetDateTime) -> Result<Vec<Entry>> {
    Ok(checked(archive, directories, now)?.1)
}

/// The targets vouching for `directories` (paths relative to `archive`): each root's bytes
/// under its target name, then the index. Nothing when none is configured.
pub fn targets(
    archive: &Path,
    directories: &[Vouched],
    now: OffsetDateTime,
) -> Result<Vec<(String, Vec<u8>)>> {
    if directories.is_empty() {
        return Ok(Vec::new());
    }
    let (mut files, entries) = checked(archive, directories, now)?;
    let index =
        serde_json::to_vec_pretty(&serde_json::json!({ "directories": entries })).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("cannot encode {}: {e}", layout::DIRECTORIES_TARGET),
            )
        })?;
    files.push((layout::DIRECTORIES_TARGET.to_owned(), index));
    Ok(files)
}

/// Each root's target (name, bytes) and the index's entries, by name.
#[allow(clippy::type_complexity)]
fn checked(
    archive: &Path,
    directories: &[Vouched],
    now: OffsetDateTime,
) -> Result<(Vec<(String, Vec<u8>)>, Vec<Entry>)> {
    let mut files = Vec::new();
    let mut entries = Vec::new();
    let mut names = HashSet::new();
    for vouched in directories {
        let path = archive.join(&vouched.root);
        let shown = path.display();
        let len = std::fs::metadata(&path)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("{shown}: cannot read the directory's root: {e}"),
                )
            })?
            .len();
        if len > MAX_ROOT_LEN {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{shown}: {len} bytes, more than a TUF root may have ({MAX_ROOT_LEN})"),
            ));
        }
        let bytes = std::fs::read(&path).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("{shown}: cannot read the directory's root: {e}"),
            )
        })?;
        let (root_version, derived) = check_root(&bytes, now).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("{shown}: not a directory's TUF root: {e}"),
            )
        })?;
        let name = match &vouched.name {
            Some(name) if layout::is_directory_name(name) => name.clone(),
            Some(name) => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "directory {name:?} ({shown}): a name is 1 to 64 of a-z 0-9 - (not starting with -)"
                    ),
                ));
            }
            None => derived,
        };
        if !names.insert(name.clone()) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "directory {name:?} ({shown}): vouched for twice (give each a distinct name)"
                ),
            ));
        }
        let url = checked_url(&vouched.url)
            .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("directory {name:?}: {e}")))?;
        let root_target = layout::directory_root_target(&name);
        files.push((root_target.clone(), bytes));
        entries.push(Entry {
            name,
            url,
            root_target,
            root_version,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((files, entries))
}

/// A root signed by its own threshold of root keys: its version, and the name derived from its
/// root role's key ids.
fn check_root(bytes: &[u8], now: OffsetDateTime) -> std::result::Result<(u64, String), String> {
    let set = TrustedMetadataSet::new(bytes, Options::new(now), "directory")
        .map_err(|e| e.to_string())?;
    let root = set.root();
    let mut keyids = root
        .roles
        .get("root")
        .map(|role| role.keyids.clone())
        .ok_or("no root role")?;
    keyids.sort();
    let digest = Sha256::digest(keyids.join("\n").as_bytes());
    Ok((root.version, hex::encode(&digest[..8])))
}

/// A directory's base URL: http(s), no quote or space, ending in `/`.
fn checked_url(url: &str) -> std::result::Result<String, String> {
    let url = url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.contains(['"', '<', '>', ' ', '\\', '?', '#'])
    {
        return Err(format!(
            "url {url:?}: expected the http:// or https:// base URL of its repository"
        ));
    }
    Ok(if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use trust::editor::{self, RootSpec};
    use trust::keys::SigningKey;

    fn root_file(dir: &Path, file: &str, key: &SigningKey, version: u64) -> Vec<u8> {
        let spec = RootSpec::one_key(key.public());
        let now = OffsetDateTime::now_utc();
        let bytes =
            editor::sign_root(&spec, version, now + time::Duration::days(9), &[key]).expect("sign");
        std::fs::write(dir.join(file), &bytes).expect("write");
        bytes
    }

    fn vouched(root: &str, name: Option<&str>) -> Vouched {
        Vouched {
            root: root.into(),
            url: "http://dir.example".into(),
            name: name.map(str::to_owned),
        }
    }

    #[test]
    fn roots_become_targets_under_a_name_that_survives_a_new_version() {
        let dir = tempfile::tempdir().expect("tmp");
        let (a, b) = (SigningKey::generate(), SigningKey::generate());
        let a1 = root_file(dir.path(), "a.json", &a, 1);
        root_file(dir.path(), "b.json", &b, 1);
        let now = OffsetDateTime::now_utc();
        let files = targets(
            dir.path(),
            &[vouched("a.json", None), vouched("b.json", Some("second"))],
            now,
        )
        .expect("vouch");
        assert_eq!(files.len(), 3);
        let a_name = files[0].0.clone();
        assert!(a_name.starts_with("_dir_") && a_name.ends_with(".root.json"));
        assert_eq!(files[0].1, a1);
        assert_eq!(files[1].0, "_dir_second.root.json");
        let index: serde_json::Value = serde_json::from_slice(&files[2].1).expect("json");
        assert_eq!(files[2].0, layout::DIRECTORIES_TARGET);
        assert_eq!(index["directories"].as_array().map(Vec::len), Some(2));
        assert_eq!(index["directories"][1]["url"], "http://dir.example/");
        // A new version of the same root keys: the same name.
        let a2 = root_file(dir.path(), "a.json", &a, 2);
        let again = targets(dir.path(), &[vouched("a.json", None)], now).expect("vouch");
        assert_eq!(again[0], (a_name, a2));
    }

    #[test]
    fn what_is_not_a_root_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let now = OffsetDateTime::now_utc();
        std::fs::write(dir.path().join("x.json"), b"{\"signed\": {}}").expect("write");
        let e = targets(dir.path(), &[vouched("x.json", None)], now).expect_err("not a root");
        assert!(
            e.message().contains("x.json") && e.message().contains("not a directory's TUF root"),
            "{e}"
        );
        // A root whose signature does not verify.
        let key = SigningKey::generate();
        let bytes = root_file(dir.path(), "r.json", &key, 1);
        let text = String::from_utf8(bytes)
            .expect("utf8")
            .replace("\"version\":1", "\"version\":7");
        std::fs::write(dir.path().join("r.json"), text).expect("write");
        let e = targets(dir.path(), &[vouched("r.json", None)], now).expect_err("forged");
        assert!(e.message().contains("r.json"), "{e}");
        let e = targets(dir.path(), &[vouched("missing.json", None)], now).expect_err("missing");
        assert!(e.message().contains("missing.json"), "{e}");
        root_file(dir.path(), "ok.json", &key, 1);
        let e = targets(dir.path(), &[vouched("ok.json", Some("Bad_Name"))], now)
            .expect_err("bad name");
        assert!(e.message().contains("Bad_Name"), "{e}");
        let twice = [vouched("ok.json", None), vouched("ok.json", None)];
        assert!(targets(dir.path(), &twice, now).is_err());
    }
}
