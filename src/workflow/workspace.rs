//! The working directory layout: `DIR/working-dir/{logs,cluster-resources,dry-run}` and the files in it.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Paths inside a run's working directory.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// `dir` is the user's `file://DIR`; state lives in `DIR/working-dir`.
    pub fn new(dir: &Path) -> Workspace {
        Workspace {
            root: dir.join("working-dir"),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    pub fn log_file(&self) -> PathBuf {
        self.logs().join("ferry.log")
    }

    /// A new errors file per run, named by its UTC start time.
    pub fn errors_file(&self, started: SystemTime) -> PathBuf {
        self.logs().join(format!("mirroring_errors_{}.txt", utc_stamp(started)))
    }

    pub fn cluster_resources(&self) -> PathBuf {
        self.root.join("cluster-resources")
    }

    pub fn dry_run(&self) -> PathBuf {
        self.root.join("dry-run")
    }

    pub fn mapping_file(&self) -> PathBuf {
        self.root.join("mapping.txt")
    }

    pub fn create(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.logs())?;
        std::fs::create_dir_all(self.cluster_resources())
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC).
pub fn utc_rfc3339(time: SystemTime) -> String {
    let stamp = utc_stamp(time);
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..15]
    )
}

/// `YYYYMMDD_HHMMSS` in UTC.
pub fn utc_stamp(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}{month:02}{day:02}_{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stamps_are_utc_calendar_times() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101_000000");
        assert_eq!(
            utc_rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_461)),
            "2000-02-29T00:01:01Z"
        );
        assert_eq!(
            utc_stamp(UNIX_EPOCH + Duration::from_secs(1_795_225_425)),
            "20261121_014345"
        );
        assert_eq!(
            utc_stamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "20000229_000000"
        );
    }
}
