//! The command line's reporter: consumes engine events, drives progress bars or status lines, writes the log.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{human_bytes, LogFile, LogLevel};
use crate::events::{Event, IndexOutcome, Reporter};
use crate::sync::Locked;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Display {
    /// Bars on a terminal.
    Terminal,
    /// A status line every few seconds (logs, CI, pipes).
    Plain,
    /// Nothing but errors.
    Quiet,
}

impl Display {
    /// Bars when stderr is a terminal, status lines otherwise.
    pub(crate) fn detect(quiet: bool) -> Display {
        match (quiet, std::io::stderr().is_terminal()) {
            (true, _) => Display::Quiet,
            (false, true) => Display::Terminal,
            (false, false) => Display::Plain,
        }
    }
}

#[derive(Default)]
struct Counters {
    images_total: AtomicUsize,
    images_done: AtomicUsize,
    images_failed: AtomicUsize,
    bytes: AtomicU64,
}

struct Bars {
    multi: MultiProgress,
    images: ProgressBar,
    bytes: ProgressBar,
    current: Mutex<BTreeMap<usize, String>>,
}

pub(crate) struct CliReporter {
    display: Display,
    level: LogLevel,
    log: Option<LogFile>,
    counters: Arc<Counters>,
    bars: Option<Bars>,
    /// The plain status line's thread, and the channel whose message (or closing) stops it at once.
    status_thread: Mutex<Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
}

impl CliReporter {
    pub(crate) fn new(display: Display, level: LogLevel, log: Option<LogFile>) -> CliReporter {
        let counters = Arc::new(Counters::default());
        let started = Instant::now();
        let bars = (display == Display::Terminal).then(new_bars);
        let status_thread = (display == Display::Plain).then(|| {
            let (stop, stopped) = mpsc::channel();
            (stop, spawn_status_line(counters.clone(), started, stopped))
        });
        CliReporter {
            display,
            level,
            log,
            counters,
            bars,
            status_thread: Mutex::new(status_thread),
        }
    }

    /// Stops bars and status lines; call before printing the summary.
    pub(crate) fn finish(&self) {
        if let Some((stop, handle)) = self.status_thread.locked().take() {
            let _ = stop.send(());
            let _ = handle.join();
        }
        if let Some(bars) = &self.bars {
            bars.images.finish_and_clear();
            bars.bytes.finish_and_clear();
            let _ = bars.multi.clear();
        }
    }

    /// A line for people, printed above the bars so they are not torn.
    pub(crate) fn say(&self, level: LogLevel, message: &str) {
        if let Some(log) = &self.log {
            log.write(level, message);
        }
        let show = match self.display {
            Display::Quiet => level == LogLevel::Error,
            _ => level <= self.level,
        };
        if !show {
            return;
        }
        let line = match level {
            LogLevel::Error => format!("error: {message}"),
            LogLevel::Warn => format!("warning: {message}"),
            _ => message.to_string(),
        };
        match &self.bars {
            Some(bars) => bars.multi.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn refresh_current(&self) {
        if let Some(bars) = &self.bars {
            let current = bars.current.locked();
            let names: Vec<&str> = current.values().map(|n| short_name(n)).take(3).collect();
            let more = current.len().saturating_sub(names.len());
            let suffix = if more > 0 { format!(" +{more}") } else { String::new() };
            bars.bytes.set_message(format!("{}{suffix}", names.join(", ")));
        }
    }
}

impl Drop for CliReporter {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Reporter for CliReporter {
    fn event(&self, event: Event) {
        if let Some((level, line)) = event_line(&event) {
            self.say(level, &line);
        }
        match event {
            Event::RunStarted { images } => {
                self.counters.images_total.store(images, Ordering::Relaxed);
                if let Some(bars) = &self.bars {
                    bars.images.set_length(images as u64);
                }
            }
            Event::ImageStarted { index, name } => {
                if let Some(bars) = &self.bars {
                    bars.current.locked().insert(index, name);
                }
                self.refresh_current();
            }
            Event::BytesCopied(bytes) => {
                self.counters.bytes.fetch_add(bytes, Ordering::Relaxed);
                if let Some(bars) = &self.bars {
                    bars.bytes.inc(bytes);
                }
            }
            Event::ImageDone { index, .. } => {
                self.counters.images_done.fetch_add(1, Ordering::Relaxed);
                self.finish_image(index);
            }
            Event::ImageFailed { index, .. } => {
                self.counters.images_failed.fetch_add(1, Ordering::Relaxed);
                self.finish_image(index);
            }
            _ => {}
        }
    }
}

/// The log line an event deserves, at its level (none for byte counts and the run's start).
pub(crate) fn event_line(event: &Event) -> Option<(LogLevel, String)> {
    Some(match event {
        Event::RunStarted { .. } | Event::BytesCopied(_) => return None,
        Event::ImageStarted { name, .. } => (LogLevel::Debug, format!("copying {name}")),
        Event::ImageDone {
            name,
            platforms,
            outcome,
            unchanged,
            ..
        } => {
            let state = if *unchanged { "unchanged" } else { "mirrored" };
            let detail = match outcome {
                IndexOutcome::Complete => String::new(),
                IndexOutcome::Sparse => " (sparse index, digest kept)".to_string(),
                IndexOutcome::Rewritten => " (index rewritten to the selected platforms)".to_string(),
                IndexOutcome::FullCopyForDigest { extra_platforms } => {
                    format!(
                        " (all platforms, digest reference: also {})",
                        extra_platforms.join(", ")
                    )
                }
            };
            let names: Vec<String> = platforms.iter().map(ToString::to_string).collect();
            let platforms = if names.is_empty() {
                String::new()
            } else {
                format!(" [{}]", names.join(", "))
            };
            (LogLevel::Info, format!("{state} {name}{platforms}{detail}"))
        }
        Event::ImageFailed { name, error, .. } => (LogLevel::Error, format!("{name}: {error}")),
        Event::Warning(message) => (LogLevel::Warn, message.clone()),
        Event::Info(message) => (LogLevel::Info, message.clone()),
        Event::Collected(found) => (LogLevel::Info, found.to_string()),
        Event::Retrying { what, attempt, error } => (LogLevel::Debug, format!("retry {attempt} of {what}: {error}")),
        Event::BlobCopied { size } => (LogLevel::Trace, format!("blob copied ({size} bytes)")),
        Event::BlobSkipped => (LogLevel::Trace, "blob already present".to_string()),
        Event::BlobMounted => (LogLevel::Trace, "blob mounted".to_string()),
        Event::ManifestPushed => (LogLevel::Trace, "manifest pushed".to_string()),
    })
}

impl CliReporter {
    fn finish_image(&self, index: usize) {
        if let Some(bars) = &self.bars {
            bars.images.inc(1);
            bars.current.locked().remove(&index);
        }
        self.refresh_current();
    }
}

fn new_bars() -> Bars {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8));
    let images = multi.add(ProgressBar::new(0));
    images.set_style(
        ProgressStyle::with_template("{elapsed_precise:.dim} [{bar:30.cyan/blue}] {pos}/{len} images  ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let bytes = multi.add(ProgressBar::no_length());
    bytes.set_style(
        ProgressStyle::with_template("{spinner:.green} {bytes} at {binary_bytes_per_sec}  {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bytes.enable_steady_tick(Duration::from_millis(200));
    Bars {
        multi,
        images,
        bytes,
        current: Mutex::new(BTreeMap::new()),
    }
}

/// A status line every 10 s until `stopped` hears from the reporter (it wakes at once, so a short run is not
/// held up by a poll interval).
fn spawn_status_line(
    counters: Arc<Counters>,
    started: Instant,
    stopped: mpsc::Receiver<()>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let interval = Duration::from_secs(10);
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
            let bytes = counters.bytes.load(Ordering::Relaxed);
            let seconds = started.elapsed().as_secs_f64().max(0.001);
            eprintln!(
                "ferry: {}/{} images, {} copied ({}/s), {} failed, {:.0}s",
                counters.images_done.load(Ordering::Relaxed) + counters.images_failed.load(Ordering::Relaxed),
                counters.images_total.load(Ordering::Relaxed),
                human_bytes(bytes),
                human_bytes((bytes as f64 / seconds) as u64),
                counters.images_failed.load(Ordering::Relaxed),
                seconds
            );
        }
    })
}

/// The last path component with its tag, for the "current images" line.
fn short_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}
