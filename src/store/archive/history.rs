//! `working-dir/history.jsonl`: one line per finished m2d run (run id, dates, segment names, blob digests), read to
//! decide what an incremental run may leave out. Also the UTC clock helpers for run ids and dates.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{io_error, ArchiveError, WORKING_DIR};
use crate::image::Digest;

pub(crate) const HISTORY_FILE: &str = "history.jsonl";

/// One finished run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    pub run_id: String,
    /// `YYYY-MM-DD` (UTC) of the run's start: what `--since` compares with.
    pub date: String,
    /// RFC 3339 UTC start of the run.
    pub created: String,
    /// RFC 3339 UTC time the run finished.
    #[serde(default)]
    pub finished: String,
    /// Segment file names, in order.
    pub segments: Vec<String>,
    /// Every blob the run's segments hold.
    pub blobs: Vec<Digest>,
}

/// The runs recorded in a working directory, oldest first.
#[derive(Debug, Clone, Default)]
pub(crate) struct History {
    runs: Vec<RunRecord>,
    shipped: HashMap<Digest, Vec<usize>>,
}

impl History {
    /// Loads `dir/working-dir/history.jsonl` (`dir` being the m2d `file://DIR`); no file means no earlier runs.
    /// A torn last line (a crash while appending) is ignored.
    pub(crate) fn load(dir: &Path) -> Result<History, ArchiveError> {
        let path = history_path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(History::default()),
            Err(e) => return Err(io_error(&path)(e)),
        };
        let mut history = History::default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        for (number, line) in lines.iter().enumerate() {
            match serde_json::from_str::<RunRecord>(line) {
                Ok(record) => history.push(record),
                Err(_) if number + 1 == lines.len() && !text.ends_with('\n') => {}
                Err(e) => {
                    return Err(ArchiveError::History {
                        path,
                        reason: format!("line {}: {e}", number + 1),
                    })
                }
            }
        }
        Ok(history)
    }

    fn push(&mut self, record: RunRecord) {
        let index = self.runs.len();
        for digest in &record.blobs {
            self.shipped.entry(digest.clone()).or_default().push(index);
        }
        self.runs.push(record);
    }

    /// The most recent earlier run that shipped this blob, counting only runs dated before `since` (`YYYY-MM-DD`)
    /// when given.
    pub(crate) fn shipped_by(&self, digest: &Digest, since: Option<&str>) -> Option<&str> {
        self.shipped
            .get(digest)?
            .iter()
            .rev()
            .map(|&i| &self.runs[i])
            .find(|run| since.is_none_or(|since| run.date.as_str() < since))
            .map(|run| run.run_id.as_str())
    }

    /// All recorded runs, oldest first.
    pub(crate) fn runs(&self) -> &[RunRecord] {
        &self.runs
    }

    pub(crate) fn run(&self, run_id: &str) -> Option<&RunRecord> {
        self.runs.iter().find(|r| r.run_id == run_id)
    }

    /// Appends a finished run to `dir/working-dir/history.jsonl` (fsynced).
    pub(crate) fn append(dir: &Path, record: &RunRecord) -> Result<(), ArchiveError> {
        let path = history_path(dir);
        let io = io_error(&path);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(&io)?;
        // A torn line from an earlier crash is cut off so that it never ends up in the middle of the file.
        let text = std::fs::read(&path).map_err(&io)?;
        if !text.is_empty() && !text.ends_with(b"\n") {
            let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            file.set_len(keep as u64).map_err(&io)?;
        }
        let mut line = serde_json::to_string(record).expect("run records serialize");
        line.push('\n');
        file.write_all(line.as_bytes()).map_err(&io)?;
        file.sync_data().map_err(&io)
    }
}

pub(crate) fn history_path(dir: &Path) -> PathBuf {
    dir.join(WORKING_DIR).join(HISTORY_FILE)
}

/// The `YYYY-MM-DD` part of an RFC 3339 time.
pub(crate) fn date_of(rfc3339: &str) -> String {
    rfc3339.get(..10).unwrap_or(rfc3339).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn record(run_id: &str, date: &str, blobs: &[&Digest]) -> RunRecord {
        RunRecord {
            run_id: run_id.into(),
            date: date.into(),
            created: format!("{date}T10:00:00Z"),
            finished: format!("{date}T11:00:00Z"),
            segments: vec![format!("{run_id}.tar")],
            blobs: blobs.iter().map(|d| (*d).clone()).collect(),
        }
    }

    #[test]
    fn shipped_by_finds_the_latest_earlier_run_and_honours_since() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(WORKING_DIR)).unwrap();
        let (a, b, c) = (Digest::of_bytes(b"a"), Digest::of_bytes(b"b"), Digest::of_bytes(b"c"));
        History::append(dir.path(), &record("run1", "2024-01-10", &[&a, &b])).unwrap();
        History::append(dir.path(), &record("run2", "2024-03-01", &[&a])).unwrap();
        let history = History::load(dir.path()).unwrap();
        assert_eq!(history.runs().len(), 2);
        assert_eq!(history.shipped_by(&a, None), Some("run2"));
        assert_eq!(history.shipped_by(&b, None), Some("run1"));
        assert_eq!(history.shipped_by(&c, None), None);
        // --since 2024-02-01: only run1 counts.
        assert_eq!(history.shipped_by(&a, Some("2024-02-01")), Some("run1"));
        assert_eq!(history.shipped_by(&b, Some("2024-02-01")), Some("run1"));
        // --since the day of run1: nothing shipped before it.
        assert_eq!(history.shipped_by(&a, Some("2024-01-10")), None);
        assert_eq!(history.run("run1").unwrap().date, "2024-01-10");
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_cut_off_by_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(WORKING_DIR)).unwrap();
        let a = Digest::of_bytes(b"a");
        History::append(dir.path(), &record("run1", "2024-01-10", &[&a])).unwrap();
        let path = history_path(dir.path());
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"run_id":"run2","da"#).unwrap();
        assert_eq!(History::load(dir.path()).unwrap().runs().len(), 1);
        History::append(dir.path(), &record("run3", "2024-02-10", &[&a])).unwrap();
        let history = History::load(dir.path()).unwrap();
        let ids: Vec<&str> = history.runs().iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(ids, ["run1", "run3"]);
    }

    #[test]
    fn utc_times() {
        let t = crate::clock::UtcTime::at(std::time::UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723));
        assert_eq!(date_of(&t.rfc3339()), "2000-02-29");
    }
}
