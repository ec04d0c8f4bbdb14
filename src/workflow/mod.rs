//! Orchestration of whole runs: mirror-to-mirror, mirror-to-disk and disk-to-mirror, which share the engine and
//! differ only in their endpoints.

pub(crate) mod delete;
pub(crate) mod disk_to_mirror;
mod endpoints;
mod fallback;
pub(crate) mod mirror_to_disk;
pub(crate) mod mirror_to_mirror;
mod outputs;
mod prepare;
pub(crate) mod workspace;

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

pub(crate) use endpoints::{delete_mode, workspace_directory, EndpointError, Endpoints};
pub(crate) use workspace::Workspace;

/// Everything a mirror run needs besides the reporter.
#[derive(Debug, Clone)]
pub(crate) struct MirrorRequest {
    pub config_path: PathBuf,
    pub mode: Mode,
    pub dry_run: bool,
    /// How release signatures are checked.
    pub release_signatures: ReleaseSignatures,
    /// Image signatures, attestations and referrers: copied, and verified with a cosign key.
    pub image_signatures: ImageSignatures,
    pub cli_platforms: PlatformFilter,
    pub engine: EngineOptions,
    pub src_tls_verify: bool,
    pub dest_tls_verify: bool,
    pub authfile: Option<PathBuf>,
    pub registries_conf: Option<PathBuf>,
}

/// How a run treats release signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReleaseSignatures {
    /// A release whose signature is missing or does not verify fails.
    Verify,
    /// Such a release is reported and mirrored (`--ignore-release-signature`).
    Ignore,
    /// Signatures are not fetched at all: the run only plans (a deletion).
    Skip,
}

/// What a run does with image signatures, attestations and referrers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageSignatures {
    /// Copy them with their images (`--remove-signatures` turns it off).
    pub copy: bool,
    /// `--verify-signatures KEY.pub`: a cosign public key every image's signature is verified with.
    pub verify_with: Option<PathBuf>,
    /// `--signature-policy strict`: an image without a valid signature fails (else it is reported).
    pub strict: bool,
}

impl Default for ImageSignatures {
    fn default() -> ImageSignatures {
        ImageSignatures {
            copy: true,
            verify_with: None,
            strict: true,
        }
    }
}

/// A registry and the namespace under it that receives the images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegistryTarget {
    pub registry: String,
    pub namespace: String,
}

/// Which workflow, with its endpoints.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// Registry to registry; state in `workspace/working-dir`.
    MirrorToMirror {
        workspace: PathBuf,
        destination: RegistryTarget,
    },
    /// Registry to an OCI image layout directory (images named `<repository>:<tag>`).
    MirrorToLayout { workspace: PathBuf, layout: PathBuf },
    /// Registry to archives in `archive_dir` (state in its `working-dir`).
    MirrorToDisk(DiskOptions),
    /// Archives in `archive_dir` to a registry.
    DiskToMirror {
        archive_dir: PathBuf,
        destination: RegistryTarget,
    },
}

/// Mirror-to-disk settings.
#[derive(Debug, Clone)]
pub(crate) struct DiskOptions {
    pub archive_dir: PathBuf,
    /// `--since YYYY-MM-DD`: pack everything not shipped before that date.
    pub since: Option<String>,
    /// Segment limit in bytes (the config's `archiveSize` GiB, or `--archive-size`).
    pub archive_size: Option<u64>,
    /// A blob larger than a segment is an error instead of a warning.
    pub strict_archive: bool,
}

impl Mode {
    /// The directory holding `working-dir`.
    pub(crate) fn workspace_dir(&self) -> &std::path::Path {
        match self {
            Mode::MirrorToMirror { workspace, .. } | Mode::MirrorToLayout { workspace, .. } => workspace,
            Mode::MirrorToDisk(disk) => &disk.archive_dir,
            Mode::DiskToMirror { archive_dir, .. } => archive_dir,
        }
    }
}

/// Runs the workflow the request names.
pub(crate) async fn run(
    request: &MirrorRequest,
    reporter: std::sync::Arc<dyn crate::events::Reporter>,
) -> Result<RunSummary, WorkflowError> {
    match &request.mode {
        Mode::MirrorToMirror { .. } | Mode::MirrorToLayout { .. } => mirror_to_mirror::run(request, reporter).await,
        Mode::MirrorToDisk(_) => mirror_to_disk::run(request, reporter).await,
        Mode::DiskToMirror { .. } => disk_to_mirror::run(request, reporter).await,
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum WorkflowError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Collect(#[from] CollectError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    RegistriesConf(#[from] RegistriesConfError),
    #[error(transparent)]
    Sources(#[from] crate::source::SetupError),
    #[error("the destination cannot be used: {0}")]
    Destination(RegistryError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Document(#[from] crate::registry::DocumentError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    Archive(#[from] crate::store::archive::ArchiveError),
    #[error(transparent)]
    Resource(#[from] crate::resources::ResourceError),
    #[error("{0}")]
    Usage(String),
    #[error("--verify-signatures {path}: {source}")]
    SignatureKey {
        path: PathBuf,
        source: crate::signature::cosign::CosignError,
    },
    #[error("cannot write {path}: {source}\n  help: check that the directory is writable and the disk is not full")]
    Io { path: PathBuf, source: std::io::Error },
}

impl WorkflowError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> WorkflowError {
        let path = path.into();
        move |source| WorkflowError::Io { path, source }
    }
}

/// An image that could not be mirrored.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub image: String,
    pub origin: ImageOrigin,
    pub error: String,
}

/// What a run did, for the final summary and the exit code.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunSummary {
    /// Every image the run copied or tried to, in plan order (empty for dry runs).
    pub images: Vec<ImageRecord>,
    pub images_planned: usize,
    pub images_mirrored: usize,
    pub images_unchanged: usize,
    /// Signatures, attestations and referrers among the images mirrored (or planned, in a dry run).
    pub attachments: usize,
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

/// What happened to one image, for `--output json` and `--summary-file`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImageRecord {
    pub source: String,
    pub destination: String,
    pub group: ImageOrigin,
    /// `mirrored`, `unchanged` or `failed`.
    pub outcome: &'static str,
    /// The digest the destination serves (absent when the image failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    pub platforms: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunSummary {
    /// 0 on success, else the bitmask of groups with failed images (release 2, operator 4, additional 8, helm 16).
    pub(crate) fn exit_code(&self) -> i32 {
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

/// Compile-time check: a whole run can be handed to `tokio::spawn` (the TUI does).
#[cfg(test)]
mod send_check {
    #[allow(dead_code)]
    fn workflows_can_be_spawned(request: &'static super::MirrorRequest) {
        fn is_send<T: Send>(_: &T) {}
        let reporter: std::sync::Arc<dyn crate::events::Reporter> = std::sync::Arc::new(crate::events::SilentReporter);
        let future = super::run(request, reporter);
        is_send(&future);
    }
}
