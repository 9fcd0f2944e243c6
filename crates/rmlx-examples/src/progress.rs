//! A terminal progress bar for one pass over a dataset (an epoch of training, an evaluation).
//!
//! On a terminal the bar is redrawn in place on stderr (at most ten times a second):
//!
//! ```text
//! epoch 2/5 [#############.............]  123/235  loss 0.1832  61.3k samples/s  00:01 < 00:01
//! ```
//!
//! When stderr is not a terminal (a log file, CI), it prints a plain line every few seconds
//! instead, and always a final line. The API is three calls: [`Progress::new`], [`Progress::step`]
//! after each batch, [`Progress::finish`] at the end.
//!
//! ```
//! use rmlx_examples::progress::Progress;
//! let mut bar = Progress::new("epoch 1/1", 3);
//! for _ in 0..3 {
//!     bar.step(64, Some(0.5)); // one batch of 64 samples, its loss
//! }
//! let summary = bar.finish();
//! assert_eq!(summary.steps, 3);
//! assert_eq!(summary.samples, 192);
//! assert_eq!(summary.mean_loss, Some(0.5));
//! ```

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How the bar is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Redrawn in place (stderr is a terminal).
    Tty,
    /// A plain line every `every` (and a final line).
    Lines {
        /// Time between two lines.
        every: Duration,
    },
    /// Nothing is printed (tests, benchmarks that print their own figures).
    Hidden,
}

/// What a finished pass did: see [`Progress::finish`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Batches done.
    pub steps: usize,
    /// Samples done.
    pub samples: usize,
    /// Mean of the losses given to [`Progress::step`] (`None` if none were given).
    pub mean_loss: Option<f32>,
    /// Time from [`Progress::new`] to [`Progress::finish`].
    pub elapsed: Duration,
}

impl Summary {
    /// Samples per second over the whole pass.
    ///
    /// ```
    /// # use rmlx_examples::progress::Summary;
    /// # use std::time::Duration;
    /// let s = Summary { steps: 2, samples: 100, mean_loss: None, elapsed: Duration::from_secs(2) };
    /// assert_eq!(s.throughput(), 50.0);
    /// ```
    pub fn throughput(&self) -> f64 {
        self.samples as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A progress bar over `total` steps; see the [module documentation](self).
#[derive(Debug)]
pub struct Progress {
    label: String,
    total: usize,
    mode: Mode,
    start: Instant,
    last_shown: Option<Instant>,
    steps: usize,
    samples: usize,
    loss_sum: f64,
    loss_count: usize,
    /// Exponential moving average of the loss (what the bar shows).
    running_loss: Option<f32>,
    /// What a sample is called in the throughput ("samples", "chars").
    unit: &'static str,
}

impl Progress {
    /// A bar labelled `label` over `total` steps, drawn in place when stderr is a terminal and
    /// as a line every 5 seconds otherwise.
    pub fn new(label: impl Into<String>, total: usize) -> Progress {
        let mode = if std::io::stderr().is_terminal() {
            Mode::Tty
        } else {
            Mode::Lines {
                every: Duration::from_secs(5),
            }
        };
        Progress::with_mode(label, total, mode)
    }

    /// A bar shown the given way.
    ///
    /// ```
    /// use rmlx_examples::progress::{Mode, Progress};
    /// let mut bar = Progress::with_mode("eval", 10, Mode::Hidden);
    /// bar.step(5, None);
    /// assert!(bar.line().starts_with("eval ["));
    /// ```
    pub fn with_mode(label: impl Into<String>, total: usize, mode: Mode) -> Progress {
        Progress {
            label: label.into(),
            total,
            mode,
            start: Instant::now(),
            last_shown: None,
            steps: 0,
            samples: 0,
            loss_sum: 0.0,
            loss_count: 0,
            running_loss: None,
            unit: "samples",
        }
    }

    /// The bar with the throughput counted in `unit` (e.g. `"chars"`: `12.3k chars/s`).
    ///
    /// ```
    /// use rmlx_examples::progress::{Mode, Progress};
    /// let mut bar = Progress::with_mode("train", 10, Mode::Hidden).unit("chars");
    /// bar.step(4096, Some(2.0));
    /// assert!(bar.line().contains("chars/s"));
    /// ```
    pub fn unit(mut self, unit: &'static str) -> Progress {
        self.unit = unit;
        self
    }

    /// Records one step of `samples` samples (and its loss, if known), redrawing when due.
    pub fn step(&mut self, samples: usize, loss: Option<f32>) {
        self.steps += 1;
        self.samples += samples;
        if let Some(l) = loss {
            self.loss_sum += f64::from(l);
            self.loss_count += 1;
            self.running_loss = Some(match self.running_loss {
                Some(r) => 0.9 * r + 0.1 * l,
                None => l,
            });
        }
        let now = Instant::now();
        let due = match (self.mode, self.last_shown) {
            (Mode::Hidden, _) => false,
            (Mode::Tty, None) => true,
            (Mode::Tty, Some(t)) => now - t >= Duration::from_millis(100),
            (Mode::Lines { every }, last) => now - last.unwrap_or(self.start) >= every,
        };
        if due && self.steps < self.total {
            self.last_shown = Some(now);
            self.show(false);
        }
    }

    /// The current line, without any terminal control characters.
    pub fn line(&self) -> String {
        const WIDTH: usize = 24;
        let elapsed = self.start.elapsed();
        let frac = if self.total == 0 {
            1.0
        } else {
            (self.steps as f64 / self.total as f64).min(1.0)
        };
        let filled = (frac * WIDTH as f64).round() as usize;
        let bar: String = "#".repeat(filled) + &".".repeat(WIDTH - filled);
        let digits = self.total.to_string().len();
        let mut line = format!(
            "{} [{bar}] {:>digits$}/{}",
            self.label, self.steps, self.total
        );
        if let Some(l) = self.running_loss {
            line += &format!("  loss {l:.4}");
        }
        let secs = elapsed.as_secs_f64();
        if self.samples > 0 && secs > 0.0 {
            line += &format!("  {} {}/s", si(self.samples as f64 / secs), self.unit);
        }
        line += &format!("  {}", clock(elapsed));
        if self.steps > 0 && self.steps < self.total {
            let eta = secs * (self.total - self.steps) as f64 / self.steps as f64;
            line += &format!(" < {}", clock(Duration::from_secs_f64(eta)));
        }
        line
    }

    fn show(&self, last: bool) {
        let line = self.line();
        let mut err = std::io::stderr().lock();
        let _ = match self.mode {
            Mode::Tty if last => writeln!(err, "\r{line}\x1b[K"),
            Mode::Tty => write!(err, "\r{line}\x1b[K"),
            Mode::Lines { .. } => writeln!(err, "{line}"),
            Mode::Hidden => Ok(()),
        };
        let _ = err.flush();
    }

    /// Ends the pass: prints the final line (unless hidden) and returns what was done.
    pub fn finish(self) -> Summary {
        let elapsed = self.start.elapsed();
        self.show(true);
        Summary {
            steps: self.steps,
            samples: self.samples,
            mean_loss: (self.loss_count > 0)
                .then(|| (self.loss_sum / self.loss_count as f64) as f32),
            elapsed,
        }
    }
}

/// `61300.0` → `"61.3k"`.
fn si(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.1}")
    }
}

/// `mm:ss`, or `h:mm:ss` past an hour.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_progress_loss_and_rate() {
        let mut bar = Progress::with_mode("epoch 1/2", 4, Mode::Hidden);
        assert!(bar.line().contains("[........................] 0/4"));
        bar.step(10, Some(1.0));
        bar.step(10, Some(3.0));
        let line = bar.line();
        assert!(line.contains("[############............] 2/4"), "{line}");
        // Running loss: 0.9 * 1 + 0.1 * 3.
        assert!(line.contains("loss 1.2000"), "{line}");
        assert!(line.contains("samples/s"), "{line}");
        assert!(line.contains(" < "), "{line}");
        let s = bar.finish();
        assert_eq!((s.steps, s.samples, s.mean_loss), (2, 20, Some(2.0)));
    }

    #[test]
    fn formats() {
        assert_eq!(si(61300.0), "61.3k");
        assert_eq!(si(2_500_000.0), "2.50M");
        assert_eq!(si(12.0), "12.0");
        assert_eq!(clock(Duration::from_secs(75)), "01:15");
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
        let bar = Progress::with_mode("x", 0, Mode::Hidden);
        assert!(bar.line().contains("[########################] 0/0"));
    }
}
