//! Orchestration of whole runs: mirror-to-mirror today (mirror-to-disk and disk-to-mirror share the engine).

pub mod mirror_to_mirror;
pub mod workspace;

use std::path::PathBuf;
use std::time::Duration;

use crate::auth::AuthError;
use crate::collect::additional::CollectError;
use crate::collect::Excluded;
use crate::config::ConfigError;
use crate::engine::EngineOptions;
use crate::image::PlatformFilter;
use crate::plan::ImageOrigin;
use crate::registries_conf::RegistriesConfError;
use crate::registry::RegistryError;

pub use workspace::Workspace;

/// Everything a mirror run needs besides the reporter.
#[derive(Debug, Clone)]
pub struct MirrorRequest {
    pub config_path: PathBuf,
    /// The `file://DIR` holding `working-dir`.
    pub workspace_dir: PathBuf,
    pub destination_registry: String,
    pub destination_namespace: String,
    pub dry_run: bool,
    pub cli_platforms: PlatformFilter,
    pub engine: EngineOptions,
    pub src_tls_verify: bool,
    pub dest_tls_verify: bool,
    pub authfile: Option<PathBuf>,
    pub registries_conf: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Collect(#[from] CollectError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    RegistriesConf(#[from] RegistriesConfError),
    #[error("the destination cannot be used: {0}")]
    Destination(RegistryError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error("cannot write {path}: {source}\n  help: check that the directory is writable and the disk is not full")]
    Io { path: PathBuf, source: std::io::Error },
}

impl WorkflowError {
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> WorkflowError {
        let path = path.into();
        move |source| WorkflowError::Io { path, source }
    }
}

/// An image that could not be mirrored.
#[derive(Debug, Clone)]
pub struct Failure {
    pub image: String,
    pub origin: ImageOrigin,
    pub error: String,
}

/// What a run did, for the final summary and the exit code.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub images_planned: usize,
    pub images_mirrored: usize,
    pub images_unchanged: usize,
    pub failures: Vec<Failure>,
    pub excluded: Vec<Excluded>,
    pub blobs_copied: u64,
    pub blobs_skipped: u64,
    pub blobs_mounted: u64,
    pub bytes_copied: u64,
    pub manifests_pushed: u64,
    pub elapsed: Duration,
    pub files_written: Vec<PathBuf>,
    pub errors_file: Option<PathBuf>,
    pub dry_run: bool,
}

impl RunSummary {
    /// 0 on success, else the bitmask of groups with failed images (release 2, operator 4, additional 8, helm 16).
    pub fn exit_code(&self) -> i32 {
        self.failures
            .iter()
            .fold(0, |code, failure| code | failure.origin.exit_bit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_is_a_bitmask_of_failed_groups() {
        let failure = |origin| Failure {
            image: "x".into(),
            origin,
            error: "e".into(),
        };
        let mut summary = RunSummary::default();
        assert_eq!(summary.exit_code(), 0);
        summary.failures = vec![
            failure(ImageOrigin::Additional),
            failure(ImageOrigin::Additional),
            failure(ImageOrigin::Release),
        ];
        assert_eq!(summary.exit_code(), 10);
    }
}
