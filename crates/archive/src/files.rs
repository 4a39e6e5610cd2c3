//! File helpers shared by the archive, the release and the mirror.

use std::fs;
use std::io;
use std::path::Path;

/// A temporary file in `dir`, readable by all (0644): what lands in a release or on a mirror
/// is published, and a web server running as another user must be able to read it
/// (tempfile's default is 0600).
pub fn public_tempfile(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .permissions(fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)
}

/// Makes everything written on `dir`'s file system durable: one `syncfs` instead of an `fsync`
/// per file.
pub fn sync_fs(dir: &Path) -> io::Result<()> {
    let handle = fs::File::open(dir)?;
    rustix::fs::syncfs(&handle)?;
    Ok(())
}

/// Phase timings on stderr when `SAMIZDAT_TIMINGS` is set (for profiling a release or a sync).
pub struct Phases(Option<std::time::Instant>);

impl Phases {
    pub fn from_env() -> Self {
        Phases(std::env::var_os("SAMIZDAT_TIMINGS").map(|_| std::time::Instant::now()))
    }

    /// Prints how long since the last mark (or the start) `phase` took.
    pub fn mark(&mut self, phase: &str) {
        if let Some(last) = self.0.as_mut() {
            let last = std::mem::replace(last, std::time::Instant::now());
            eprintln!("samizdat: {phase}: {:.3} s", last.elapsed().as_secs_f64());
        }
    }
}
