//! Log levels and the run's log file (`working-dir/logs/ferry.log`), appended to by every run.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::sync::Locked;
use crate::workflow::workspace::utc_stamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl FromStr for LogLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Ok(LogLevel::Error),
            "warn" | "warning" => Ok(LogLevel::Warn),
            "info" => Ok(LogLevel::Info),
            "debug" => Ok(LogLevel::Debug),
            "trace" => Ok(LogLevel::Trace),
            other => Err(format!(
                "`{other}` is not a log level: use error, warn, info, debug or trace"
            )),
        }
    }
}

impl LogLevel {
    pub fn label(self) -> &'static str {
        match self {
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
            LogLevel::Trace => "TRACE",
        }
    }
}

/// An append-only log file; lines at or above `level` are written.
pub(crate) struct LogFile {
    file: Mutex<File>,
    level: LogLevel,
}

impl LogFile {
    pub(crate) fn open(path: &Path, level: LogLevel) -> std::io::Result<LogFile> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(LogFile {
            file: Mutex::new(file),
            level,
        })
    }

    pub(crate) fn write(&self, level: LogLevel, message: &str) {
        if level > self.level {
            return;
        }
        let mut file = self.file.locked();
        let _ = writeln!(
            file,
            "{} {:5} {}",
            utc_stamp(SystemTime::now()),
            level.label(),
            message.replace('\n', " ")
        );
    }
}
