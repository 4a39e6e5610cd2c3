//! Progress of a long run (an `add`, a sync, a verification); the CLI draws it as a bar.

/// Progress of a long run over many items (files, targets); the CLI draws it as a bar.
pub trait Progress: Sync {
    fn start(&self, _total: u64) {}
    fn advance(&self, _item: &str) {}
    fn finish(&self) {}
}

/// No progress shown.
pub struct NoProgress;
impl Progress for NoProgress {}
