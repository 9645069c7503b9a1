//! A progress bar on stderr for long runs.
//!
//! It appears only when stderr is a terminal, the `CI` variable is unset and the run has already
//! taken [`DELAY`], so quick runs and pipelines never see it; it is cleared when the run ends,
//! leaving the terminal as it was. stdout is never touched.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a run goes before the bar shows.
pub const DELAY: Duration = Duration::from_secs(1);

/// Elements done, of a known total or not.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    shown: OnceLock<()>,
}

impl Progress {
    /// A bar for an interactive stderr, or `None` when stderr is not a terminal or `CI` is set.
    pub fn for_stderr() -> Option<Progress> {
        let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        interactive.then(Progress::hidden_until_due)
    }

    /// A bar that draws on stderr once [`DELAY`] has passed, whatever stderr is.
    pub fn hidden_until_due() -> Progress {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        Progress {
            bar,
            started: Instant::now(),
            shown: OnceLock::new(),
        }
    }

    /// Starts a pass over `total` elements, or over an unknown number (a CSV table read in one
    /// pass): then the bar counts elements without a percentage.
    pub fn start(&self, total: Option<u64>) {
        let template = match total {
            Some(total) => {
                self.bar.set_length(total);
                "{spinner} {percent:>3}% [{bar:30}] {human_pos}/{human_len} elements · {elapsed} · ETA {eta}"
            }
            None => {
                self.bar.unset_length();
                "{spinner} {human_pos} elements · {elapsed}"
            }
        };
        let style = ProgressStyle::with_template(template).expect("the template is valid");
        self.bar.set_style(style.progress_chars("=> "));
        self.bar.set_position(0);
    }

    /// Records that `done` elements of the total are finished.
    pub fn set(&self, done: u64) {
        if self.shown.get().is_none() && self.started.elapsed() >= DELAY {
            self.shown.get_or_init(|| {
                self.bar
                    .set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
                self.bar.enable_steady_tick(Duration::from_millis(100));
            });
        }
        self.bar.set_position(done);
    }
}

impl Progress {
    /// Clears the bar, before the results are written.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The engine's passes shown on the bar: it starts over for each pass and is cleared when the
/// pass ends.
impl huber_engine::Progress for Progress {
    fn start(&self, total: Option<u64>) {
        Progress::start(self, total);
    }
    fn advance(&self, done: u64) {
        self.set(done);
    }
    fn finish(&self) {
        Progress::finish(self);
    }
}
