//! The working directory layout: `DIR/working-dir/{logs,cluster-resources,dry-run}` and the files in it.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::clock::UtcTime;

/// Paths inside a run's working directory.
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// `dir` is the user's `file://DIR`; state lives in `DIR/working-dir`.
    pub(crate) fn new(dir: &Path) -> Workspace {
        Workspace {
            root: dir.join("working-dir"),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    pub(crate) fn log_file(&self) -> PathBuf {
        self.logs().join("ferry.log")
    }

    /// A new errors file per run, named by its UTC start time.
    pub(crate) fn errors_file(&self, started: SystemTime) -> PathBuf {
        self.logs().join(format!("mirroring_errors_{}.txt", utc_stamp(started)))
    }

    pub(crate) fn cluster_resources(&self) -> PathBuf {
        self.root.join("cluster-resources")
    }

    /// Verified release signatures, one file per release (`sha256-<hex>-1`).
    pub(crate) fn signatures(&self) -> PathBuf {
        self.root.join("signatures")
    }

    pub(crate) fn dry_run(&self) -> PathBuf {
        self.root.join("dry-run")
    }

    pub(crate) fn mapping_file(&self) -> PathBuf {
        self.root.join("mapping.txt")
    }

    pub(crate) fn create(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.logs())?;
        std::fs::create_dir_all(self.cluster_resources())
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC).
pub(crate) fn utc_rfc3339(time: SystemTime) -> String {
    UtcTime::at(time).rfc3339()
}

/// `YYYYMMDD_HHMMSS` in UTC.
pub(crate) fn utc_stamp(time: SystemTime) -> String {
    UtcTime::at(time).stamp()
}
