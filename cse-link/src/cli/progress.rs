//! Progress bars (`indicatif`) on long runs, drawn on standard error only when it is a
//! terminal: nothing at all goes to a file or a pipe.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Runs with fewer steps than this show no bar (they end before one would help).
const MIN_STEPS: usize = 4096;

/// A progress bar that exists only when standard error is a terminal and the run is long.
pub struct Progress {
    what: &'static str,
    unit: &'static str,
    min: usize,
    enabled: bool,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar labelled `what`, counting `unit`s; `enabled` false (e.g. for `--json`) never
    /// draws. Frames of the demo count from the first one (`min` 0); packets only when there
    /// are many.
    pub fn new(what: &'static str, unit: &'static str, enabled: bool) -> Self {
        Progress {
            what,
            unit,
            min: if unit == "frames" { 0 } else { MIN_STEPS },
            enabled: enabled && std::io::stderr().is_terminal(),
            bar: None,
        }
    }

    /// Whether a bar may be drawn at all.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// `done` of `total` steps.
    pub fn update(&mut self, done: usize, total: usize) {
        if !self.enabled || total < self.min.max(1) {
            return;
        }
        let (what, unit) = (self.what, self.unit);
        let bar = self.bar.get_or_insert_with(|| {
            let b = ProgressBar::new(total as u64);
            let style = ProgressStyle::with_template(&format!(
                "{what} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{eta}} left)"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            b.set_style(style);
            b
        });
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    }

    /// Removes the bar.
    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_bar_without_a_terminal_or_when_disabled() {
        // Under the test harness standard error is captured, not a terminal.
        if std::io::stderr().is_terminal() {
            return;
        }
        let mut p = Progress::new("x", "packets", true);
        assert!(!p.is_enabled());
        p.update(1, 1 << 20);
        assert!(p.bar.is_none());
        let mut p = Progress::new("x", "frames", false);
        p.update(1, 2);
        assert!(p.bar.is_none());
    }
}
