//! Turning engine events into what people see: indicatif bars on a terminal, a periodic status line otherwise,
//! a log file, and the end-of-run summary.

mod log;
mod progress;
mod summary;

pub(crate) use log::{LogFile, LogLevel};
pub(crate) use progress::{event_line, CliReporter, Display};
pub(crate) use summary::{render_summary, summary_json};

/// Human-readable byte counts (`1.5 GiB`).
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_bytes_picks_a_unit() {
        assert_eq!(super::human_bytes(512), "512 B");
        assert_eq!(super::human_bytes(1536), "1.5 KiB");
        assert_eq!(super::human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}
