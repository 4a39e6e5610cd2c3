//! Progress bars (indicatif) for the library's `Progress` reports. Drawn on stderr, and only when
//! it is a terminal: logs and tests get the summary lines alone.

use indicatif::{ProgressBar, ProgressStyle};

pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub fn new(what: &'static str) -> Bar {
        let bar = ProgressBar::hidden();
        let style = ProgressStyle::with_template(
            "{prefix:>9} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(what);
        Bar { bar }
    }
}

impl archive::ingest::Progress for Bar {
    fn start(&self, total: u64) {
        self.bar.reset();
        self.bar.set_length(total);
        self.bar
            .set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }

    fn advance(&self, item: &str) {
        self.bar.inc(1);
        if self.bar.position().is_multiple_of(64) {
            self.bar.set_message(archive::ingest::escaped(item));
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
