//! `samizdat export` and `samizdat mirror push`: the release of a folder (an archive or a
//! mirror) as a static tree ([`crate::export`]), and that tree sent to a plain web root with
//! rsync, in the order that keeps the web root valid at every moment.
//!
//! Until the new `timestamp.json` lands, readers see the previous release, whose files are all
//! still there (nothing is deleted), but for those the export replaced by a notice: files of a
//! release that showed a document withdrawn since (gone means gone, [`crate::export`]).

use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use crate::export::Exported;

/// Why an export or a push failed.
#[derive(Debug)]
pub enum PushError {
    /// The folder holds no `release/targets/` or `release/metadata/`.
    NoRelease { dir: PathBuf, sub: &'static str },
    /// The export itself failed (its message).
    Export(String),
    /// rsync could not be started.
    Rsync(std::io::Error),
    /// A stage's rsync failed: the web root keeps its previous release.
    Stage {
        stage: &'static str,
        dest: String,
        status: ExitStatus,
    },
}

impl std::fmt::Display for PushError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushError::NoRelease { dir, sub } => write!(
                f,
                "{}: no release/{sub}/ (is it an archive or a mirror folder?)",
                dir.display()
            ),
            PushError::Export(message) => f.write_str(message),
            PushError::Rsync(e) => {
                write!(
                    f,
                    "cannot run rsync (install it: apt-get install rsync): {e}"
                )
            }
            PushError::Stage {
                stage,
                dest,
                status,
            } => write!(
                f,
                "rsync of {stage} to {dest} failed ({status}); the web root keeps its previous release"
            ),
        }
    }
}

impl std::error::Error for PushError {}

/// Exports the release in `dir` (an archive or a mirror folder) into `out`, once it is seen to
/// hold one.
pub fn export(dir: &Path, out: &Path) -> Result<Exported, PushError> {
    let release = dir.join("release");
    for sub in ["targets", "metadata"] {
        if !release.join(sub).is_dir() {
            return Err(PushError::NoRelease {
                dir: dir.to_owned(),
                sub,
            });
        }
    }
    crate::export::export(dir, out).map_err(|e| PushError::Export(e.to_string()))
}

/// Where `mirror push` keeps its static tree: `DIR/export`, hard links into the release (cheap,
/// and kept between pushes so that only what changed is linked anew).
pub fn tree(dir: &Path) -> PathBuf {
    dir.join("export")
}

/// What a push did.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub exported: Exported,
    /// The destination as rsync was given it (without a trailing `/`).
    pub dest: String,
}

/// One rsync run of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// What it sends, for the error message.
    pub name: &'static str,
    /// rsync's arguments.
    pub args: Vec<String>,
}

/// The rsync runs that send `tree` to `dest`, in order: targets and plain paths, metadata,
/// `timestamp.json` last.
pub fn stages(tree: &Path, dest: &str) -> Vec<Stage> {
    let dest = dest.trim_end_matches('/');
    let stages: [(&str, Vec<String>); 3] = [
        (
            "targets and plain paths",
            vec![
                // Hard links kept (-H): a plain path and its target are one file there too.
                "-H".into(),
                "--exclude=/metadata/".into(),
                "--exclude=/.tmp/".into(),
                format!("{}/", tree.display()),
                format!("{dest}/"),
            ],
        ),
        (
            "metadata",
            vec![
                "--exclude=timestamp.json".into(),
                format!("{}/metadata/", tree.display()),
                format!("{dest}/metadata/"),
            ],
        ),
        (
            "timestamp",
            vec![
                // Always copied: two timestamps can share size and modification second.
                "--ignore-times".into(),
                format!("{}/metadata/timestamp.json", tree.display()),
                // Into the folder, not onto the file: rrsync (the volunteer's restricted key)
                // turns an existing destination file into /proc/self/fd/N, which rsync
                // cannot replace.
                format!("{dest}/metadata/"),
            ],
        ),
    ];
    stages
        .into_iter()
        .enumerate()
        .map(|(i, (name, args))| {
            let mut all: Vec<String> = vec!["-rlt".into(), "--mkpath".into()];
            // Not with -H: rsync links a hard-link group's followers to the leader's path
            // before the delayed rename, so a new target got the old bytes of a plain path
            // that changed (a site page). Stage one has nothing readers switch on anyway: the
            // timestamp is last.
            if i != 0 {
                all.push("--delay-updates".into());
            }
            all.extend(args);
            Stage { name, args: all }
        })
        .collect()
}

/// `mirror push`: exports the release in `dir` to [`tree`] (`exported` is called with what was
/// written, before anything is sent), then sends it to `dest` (`/var/www/samizdat`,
/// `user@host:/var/www/samizdat`, or `user@host:` through an rrsync-restricted key) in
/// [`stages`]. A stage that fails stops the push: the web root keeps its previous release.
pub fn push(
    dir: &Path,
    dest: &str,
    exported: impl FnOnce(&Exported, &Path),
) -> Result<Pushed, PushError> {
    let tree = tree(dir);
    let written = export(dir, &tree)?;
    exported(&written, &tree);
    let dest = dest.trim_end_matches('/');
    for stage in stages(&tree, dest) {
        let status = std::process::Command::new("rsync")
            .args(&stage.args)
            .status()
            .map_err(PushError::Rsync)?;
        if !status.success() {
            return Err(PushError::Stage {
                stage: stage.name,
                dest: dest.to_owned(),
                status,
            });
        }
    }
    Ok(Pushed {
        exported: written,
        dest: dest.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timestamp_goes_last_and_only_later_stages_delay() {
        let stages = stages(Path::new("/m/export"), "host:/www/");
        let names: Vec<&str> = stages.iter().map(|s| s.name).collect();
        assert_eq!(names, ["targets and plain paths", "metadata", "timestamp"]);
        assert_eq!(
            stages[0].args,
            [
                "-rlt",
                "--mkpath",
                "-H",
                "--exclude=/metadata/",
                "--exclude=/.tmp/",
                "/m/export/",
                "host:/www/"
            ]
        );
        assert_eq!(
            stages[1].args,
            [
                "-rlt",
                "--mkpath",
                "--delay-updates",
                "--exclude=timestamp.json",
                "/m/export/metadata/",
                "host:/www/metadata/"
            ]
        );
        assert_eq!(
            stages[2].args,
            [
                "-rlt",
                "--mkpath",
                "--delay-updates",
                "--ignore-times",
                "/m/export/metadata/timestamp.json",
                "host:/www/metadata/"
            ]
        );
    }

    #[test]
    fn a_folder_without_a_release_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("release/targets")).expect("mkdir");
        let error = export(dir.path(), &dir.path().join("out")).expect_err("no metadata");
        assert!(
            error
                .to_string()
                .ends_with(": no release/metadata/ (is it an archive or a mirror folder?)"),
            "{error}"
        );
        assert!(!dir.path().join("out").exists());
    }
}
