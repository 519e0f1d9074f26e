//! The progress display of `flowc run`: one bar per phase on standard
//! error, only when standard error is a terminal and `--quiet` is not given,
//! so standard output carries nothing but results.

use std::io::IsTerminal;
use std::time::Duration;

use flow_executor::local::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Draws the progress of the phases of one run.
#[derive(Debug)]
pub struct ProgressDisplay {
    enabled: bool,
    bar: Option<ProgressBar>,
}

impl ProgressDisplay {
    /// A display that draws only on a terminal, and never when `quiet`.
    pub fn new(quiet: bool) -> ProgressDisplay {
        ProgressDisplay {
            enabled: !quiet && std::io::stderr().is_terminal(),
            bar: None,
        }
    }

    /// Starts the bar of phase `index` (from 1) of `count`; `unit` names
    /// what the phase's sizes count (`B` for bytes of text, `items`).
    pub fn start_phase(&mut self, index: usize, count: usize, unit: Unit) {
        self.finish_phase();
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        // The bar advances by bytes or items, so the rate is in those units;
        // chunks and busy workers go in the message.
        let amounts = match unit {
            Unit::Bytes => "{binary_bytes}/{binary_total_bytes} · {binary_bytes_per_sec}",
            Unit::Items => "{human_pos}/{human_len} items · {per_sec}",
        };
        let template =
            format!("phase {index}/{count} [{{bar:30}}] {amounts} · {{msg}} · {{elapsed}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
    }

    /// Shows where the running phase stands.
    pub fn update(&mut self, progress: &Progress) {
        if let Some(bar) = &self.bar {
            bar.set_length(progress.units_total);
            bar.set_position(progress.units_done.min(progress.units_total));
            bar.set_message(format!(
                "{}/{} chunks · {}/{} workers busy",
                progress.chunks_done.min(progress.chunks_total),
                progress.chunks_total,
                progress.busy_workers,
                progress.workers
            ));
        }
    }

    /// Removes the bar of the finished phase.
    pub fn finish_phase(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for ProgressDisplay {
    fn drop(&mut self) {
        self.finish_phase();
    }
}

/// What the sizes of a phase count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Bytes of text input.
    Bytes,
    /// Integers of a `range`, or files.
    Items,
}
