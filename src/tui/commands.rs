//! Commands: the TUI's only door to the library and to I/O. `update` returns [`Command`]s; the [`Executor`] runs
//! each as a tokio task (catalog loading, saving, mirror runs) that sends its result back as a [`Msg`].
//! Nothing here blocks the event loop.

use crate::report::{event_line, LogFile, LogLevel};
use crate::workflow::Workspace;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::model::{
    BundleInfo, CatalogData, ChannelInfo, EndpointError, PackageInfo, RunMode, RunOutcome, RunResult, RunSettings,
};
use super::msg::{Msg, SaveError};
use crate::auth::CredentialStore;
use crate::catalog::extract::ExtractError;
use crate::catalog::listing::{self, CatalogSourceError, ListingError, LoadedCatalog};
use crate::config::{ConfigError, ImageSetConfiguration};
use crate::engine::EngineOptions;
use crate::events::{Event, Reporter};
use crate::image::{Platform, PlatformFilter};
use crate::reference::Location;
use crate::registries_conf::RegistriesConf;
use crate::registry::{ClientOptions, RegistryClient, RegistryError, RetryPolicy};
use crate::source::layers::LayerError;
use crate::source::{SourceError, Sources};
use crate::store::archive::{ArchiveError, ArchiveReader};
use crate::workflow::{self, MirrorRequest, RunSummary};

/// I/O that `update` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Ask the update graph which releases a channel (with its range) selects, for the given architecture.
    ResolveChannel {
        channel: crate::config::ReleaseChannel,
        arch: String,
    },
    /// Load a catalog (`reference` as the configuration names it; `from`: an archive `file://DIR`).
    LoadCatalog {
        id: u64,
        reference: String,
        from: Option<String>,
    },
    /// Write the configuration.
    Save { path: PathBuf, yaml: String },
    /// Run the workflow on this configuration.
    StartRun { yaml: String, settings: RunSettings },
    /// Stop the running workflow (it reports `RunFinished(Cancelled)`).
    CancelRun,
}

/// The registry options of `ferry tui` (as for `ferry list operators`).
#[derive(Debug, Clone, Default)]
pub(crate) struct LibraryOptions {
    pub src_tls_verify: bool,
    pub authfile: Option<PathBuf>,
    pub registries_conf: Option<PathBuf>,
    /// `--platform`: only these catalog platforms are loaded, and runs are limited to them.
    pub platforms: Vec<Platform>,
}

/// Why the source registries could not be set up (reported by every catalog load).
#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error(transparent)]
    Sources(#[from] crate::source::SetupError),
}

/// Why a catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error(transparent)]
    Setup(Arc<SetupError>),
    #[error("`{from}`: the archive must be file://DIR")]
    ArchiveNotDirectory { from: String },
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("{0}")]
    Task(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Location(#[from] CatalogSourceError),
    /// Reading the catalog failed: the message says what to do when the error's kind has a [`Hint`].
    #[error("{}", explain(.0))]
    Listing(#[from] ListingError),
}

/// What to do about the errors people meet most when browsing a registry, by the kind of error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    LogIn,
    NoAccess,
    Tls,
    Unreachable,
    NotACatalog,
}

impl Hint {
    /// The hint for an error of reading a catalog, when its kind has one.
    fn of(error: &ListingError) -> Option<Hint> {
        let source = match error {
            ListingError::Extract(ExtractError::NotACatalog { .. }) => return Some(Hint::NotACatalog),
            ListingError::Source(source)
            | ListingError::Extract(ExtractError::Source(source))
            | ListingError::Extract(ExtractError::Layer(LayerError::Source(source))) => source,
            _ => return None,
        };
        match source {
            SourceError::Registry(registry) => Hint::of_registry(registry),
            _ => None,
        }
    }

    fn of_registry(error: &RegistryError) -> Option<Hint> {
        match error {
            RegistryError::CredentialsRejected { .. }
            | RegistryError::CredentialsMissing { .. }
            | RegistryError::Status { status: 401, .. } => Some(Hint::LogIn),
            RegistryError::Denied { .. } | RegistryError::Status { status: 403, .. } => Some(Hint::NoAccess),
            RegistryError::Unreachable { tls: true, .. } => Some(Hint::Tls),
            RegistryError::Unreachable { .. } => Some(Hint::Unreachable),
            _ => None,
        }
    }

    fn help(self) -> &'static str {
        match self {
            Hint::LogIn => "log in with `podman login`, or give credentials with --authfile",
            Hint::NoAccess => "the credentials found do not grant access to this repository",
            Hint::Tls => {
                "for a registry over plain HTTP or with a private CA, start ferry tui with --src-tls-verify=false"
            }
            Hint::Unreachable => {
                "is the registry reachable from here? (registries.conf mirrors apply: --registries-conf)"
            }
            Hint::NotACatalog => {
                "is this an operator catalog image (with the operators.operatorframework.io.index.configs.v1 label)?"
            }
        }
    }

    /// `message` followed by this hint's help line.
    pub(crate) fn explain(self, message: &str) -> String {
        format!("{message}\n  help: {}", self.help())
    }
}

/// The error's message, with what to do about it when its kind has a [`Hint`].
fn explain(error: &ListingError) -> String {
    match Hint::of(error) {
        Some(hint) => hint.explain(&error.to_string()),
        None => error.to_string(),
    }
}

/// Reads the configuration given with `-c`.
pub(crate) fn load_config(path: &Path) -> Result<ImageSetConfiguration, ConfigError> {
    crate::config::load_imageset(path)
}

/// What every catalog load shares: [`Sources`] without the per-catalog archive.
#[derive(Clone)]
struct SharedSources {
    credentials: Arc<CredentialStore>,
    registry: Arc<RegistryClient>,
    insecure_registry: Arc<RegistryClient>,
    mirrors: Arc<RegistriesConf>,
}

impl SharedSources {
    fn sources(&self) -> Sources {
        Sources {
            credentials: self.credentials.clone(),
            registry: self.registry.clone(),
            insecure_registry: self.insecure_registry.clone(),
            mirrors: self.mirrors.clone(),
            archive: None,
            built: Default::default(),
            spool: None,
        }
    }
}

/// Runs commands as tasks on the current tokio runtime.
pub(crate) struct Executor {
    tx: mpsc::UnboundedSender<Msg>,
    options: Arc<LibraryOptions>,
    /// The source registry clients and mirrors, built on first use (an error is reported by every load).
    registry: Option<Result<SharedSources, Arc<SetupError>>>,
    cancel: Option<oneshot::Sender<()>>,
}

impl Executor {
    pub(crate) fn new(tx: mpsc::UnboundedSender<Msg>, options: LibraryOptions) -> Self {
        Executor {
            tx,
            options: Arc::new(options),
            registry: None,
            cancel: None,
        }
    }

    pub(crate) fn execute(&mut self, command: Command) {
        match command {
            Command::LoadCatalog { id, reference, from } => {
                let registry = self.registry().clone();
                let tx = self.tx.clone();
                let filter = PlatformFilter::of(self.options.platforms.clone());
                tokio::spawn(async move {
                    let fetched = Arc::new(AtomicU64::new(0));
                    let progress = report_progress(id, fetched.clone(), tx.clone());
                    let result = match registry {
                        Ok(shared) => {
                            let sources = shared.sources();
                            load_catalog(&reference, from.as_deref(), sources, &filter, &fetched).await
                        }
                        Err(error) => Err(LoadError::Setup(error)),
                    };
                    progress.abort();
                    let result = result.map_err(|error| error.to_string());
                    let _ = tx.send(Msg::CatalogLoaded { id, result });
                });
            }
            Command::ResolveChannel { channel, arch } => {
                let tx = self.tx.clone();
                let tls_verify = self.options.src_tls_verify;
                tokio::spawn(async move {
                    let name = channel.name.clone();
                    let result = resolve_channel(channel, &arch, tls_verify).await;
                    let _ = tx.send(Msg::ChannelResolved { name, result });
                });
            }
            Command::Save { path, yaml } => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let result = crate::files::write_atomically(&path, yaml.as_bytes()).map_err(|source| SaveError {
                        path: path.clone(),
                        source: Arc::new(source),
                    });
                    let _ = tx.send(Msg::Saved { path, yaml, result });
                });
            }
            Command::StartRun { yaml, settings } => {
                let (cancel_tx, cancel_rx) = oneshot::channel();
                self.cancel = Some(cancel_tx);
                let tx = self.tx.clone();
                let options = self.options.clone();
                tokio::spawn(async move {
                    let outcome = run_workflow(yaml, settings, options, tx.clone(), cancel_rx).await;
                    let _ = tx.send(Msg::RunFinished(outcome));
                });
            }
            Command::CancelRun => {
                if let Some(cancel) = self.cancel.take() {
                    let _ = cancel.send(());
                }
            }
        }
    }

    fn registry(&mut self) -> &Result<SharedSources, Arc<SetupError>> {
        let options = self.options.clone();
        self.registry
            .get_or_insert_with(|| shared_sources(&options).map_err(Arc::new))
    }
}

/// The versions the update graph gives a channel (the releases a run would mirror), or why it cannot say.
async fn resolve_channel(
    channel: crate::config::ReleaseChannel,
    arch: &str,
    tls_verify: bool,
) -> Result<Vec<String>, String> {
    let retry = crate::registry::RetryPolicy {
        times: 1,
        ..crate::registry::RetryPolicy::default()
    };
    let client = crate::registry::DocumentClient::new(tls_verify, retry).map_err(|e| e.to_string())?;
    let platform = crate::config::ReleasePlatform {
        channels: vec![channel],
        architectures: vec![arch.to_string()],
        ..crate::config::ReleasePlatform::default()
    };
    let resolution = crate::release::channels::resolve(&platform, &client, &|_, _| {})
        .await
        .map_err(|e| e.to_string())?;
    Ok(resolution.releases.into_iter().map(|r| r.version).collect())
}

/// The source registry clients and mirrors of the TUI's options.
fn shared_sources(options: &LibraryOptions) -> Result<SharedSources, SetupError> {
    let client_options = ClientOptions {
        tls_verify: options.src_tls_verify,
        // Browsing: report a failure after a short wait rather than a minute of backoff.
        retry: RetryPolicy {
            times: 2,
            delay: Duration::from_millis(500),
            ..RetryPolicy::default()
        },
        ..ClientOptions::default()
    };
    let sources = Sources::from_files(
        options.authfile.as_deref(),
        options.registries_conf.as_deref(),
        client_options,
    )?;
    Ok(SharedSources {
        credentials: sources.credentials,
        registry: sources.registry,
        insecure_registry: sources.insecure_registry,
        mirrors: sources.mirrors,
    })
}

/// Opens and lists a catalog: from the archives in `from`, an OCI layout (`oci:`), or a registry.
/// Sends the bytes a catalog load has read, every 200 ms while they grow, until aborted.
fn report_progress(id: u64, fetched: Arc<AtomicU64>, tx: mpsc::UnboundedSender<Msg>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(200));
        let mut sent = 0;
        loop {
            every.tick().await;
            let now = fetched.load(Ordering::Relaxed);
            if now != sent {
                sent = now;
                if tx.send(Msg::CatalogProgress { id, fetched: now }).is_err() {
                    break;
                }
            }
        }
    })
}

async fn load_catalog(
    reference: &str,
    from: Option<&str>,
    mut sources: Sources,
    filter: &PlatformFilter,
    fetched: &AtomicU64,
) -> Result<Arc<CatalogData>, LoadError> {
    let archive = match from {
        Some(from) => {
            let Ok(Location::Directory(dir)) = from.parse::<Location>() else {
                return Err(LoadError::ArchiveNotDirectory { from: from.to_string() });
            };
            let opened = tokio::task::spawn_blocking(move || ArchiveReader::open(&dir)).await??;
            Some(Arc::new(opened))
        }
        None => None,
    };
    let source = listing::catalog_source(reference, archive.as_deref())?;
    sources.archive = archive;
    let loaded = listing::load(&source, reference, &sources, filter, Some(fetched)).await?;
    Ok(Arc::new(catalog_data(&loaded)))
}

/// The TUI's view of a loaded catalog.
pub(crate) fn catalog_data(loaded: &LoadedCatalog) -> CatalogData {
    let packages = loaded
        .packages()
        .into_iter()
        .map(|listing| {
            let name = listing.summary.name.clone();
            let content = loaded
                .platforms
                .iter()
                .find(|(platform, _)| listing.catalog_platforms.contains(platform))
                .map(|(_, index)| &loaded.contents[*index]);
            let version_of = |bundle: &str| {
                content
                    .and_then(|c| c.bundle(&name, bundle))
                    .and_then(|b| b.version_text())
                    .map(str::to_string)
            };
            let channels: Vec<ChannelInfo> = listing
                .summary
                .channels
                .iter()
                .map(|channel| ChannelInfo {
                    name: channel.name.clone(),
                    head: channel.head.clone(),
                    head_version: channel.head_version.clone(),
                    bundles: channel
                        .bundles
                        .iter()
                        .map(|bundle| BundleInfo {
                            name: bundle.clone(),
                            version: version_of(bundle),
                        })
                        .collect(),
                })
                .collect();
            let head_version = channels
                .iter()
                .find(|c| Some(&c.name) == listing.summary.default_channel.as_ref())
                .and_then(|c| c.head_version.clone());
            PackageInfo {
                name: name.clone(),
                default_channel: listing.summary.default_channel.clone(),
                head_version,
                platforms: listing.catalog_platforms.clone(),
                architectures: listing.bundle_architectures.clone(),
                channels,
            }
        })
        .collect();
    CatalogData {
        digest: loaded.digest.to_string(),
        platforms: loaded.platforms.iter().map(|(p, _)| p.clone()).collect(),
        packages,
    }
}

/// Forwards engine events into the TUI's channel; byte counts are summed here and sent a few times a second.
struct TuiReporter {
    tx: mpsc::UnboundedSender<Msg>,
    bytes: Arc<AtomicU64>,
    log: Option<LogFile>,
}

impl Reporter for TuiReporter {
    fn event(&self, event: Event) {
        if let (Some(log), Some((level, line))) = (&self.log, event_line(&event)) {
            log.write(level, &line);
        }
        match event {
            Event::BytesCopied(bytes) => {
                self.bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            event => {
                let _ = self.tx.send(Msg::Engine(event));
            }
        }
    }
}

/// The workflow request for the settings of the run form.
fn request(
    config_path: PathBuf,
    settings: &RunSettings,
    options: &LibraryOptions,
) -> Result<MirrorRequest, EndpointError> {
    let mode = settings.endpoints()?;
    Ok(MirrorRequest {
        config_path,
        mode,
        dry_run: settings.mode == RunMode::DryRun,
        release_signatures: crate::workflow::ReleaseSignatures::Verify,
        image_signatures: crate::workflow::ImageSignatures::default(),
        cli_platforms: PlatformFilter::of(options.platforms.clone()),
        engine: EngineOptions::default(),
        src_tls_verify: options.src_tls_verify,
        dest_tls_verify: settings.dest_tls_verify,
        authfile: options.authfile.clone(),
        registries_conf: options.registries_conf.clone(),
    })
}

/// Runs the workflow until it ends or `cancel` fires. Cancelling drops the run: as with `ctrl-c` in
/// `ferry mirror`, uploads in flight are abandoned, no manifest refers to them, and the next run resumes.
async fn run_workflow(
    yaml: String,
    settings: RunSettings,
    options: Arc<LibraryOptions>,
    tx: mpsc::UnboundedSender<Msg>,
    cancel: oneshot::Receiver<()>,
) -> RunOutcome {
    // The workflow reads its configuration from a file: this session's, kept until the run ends.
    let file = match tempfile::Builder::new().prefix("ferry-tui-").suffix(".yaml").tempfile() {
        Ok(file) => file,
        Err(error) => return RunOutcome::Failed(format!("cannot write the configuration for the run: {error}")),
    };
    if let Err(error) = std::fs::write(file.path(), yaml) {
        return RunOutcome::Failed(format!("cannot write the configuration for the run: {error}"));
    }
    let request = match request(file.path().to_path_buf(), &settings, &options) {
        Ok(request) => request,
        Err(error) => return RunOutcome::Failed(error.to_string()),
    };
    let bytes = Arc::new(AtomicU64::new(0));
    // The same log file `ferry mirror` appends to.
    let log = LogFile::open(&Workspace::new(request.mode.workspace_dir()).log_file(), LogLevel::Info).ok();
    let reporter = Arc::new(TuiReporter {
        tx: tx.clone(),
        bytes: bytes.clone(),
        log,
    });
    let flusher = {
        let (bytes, tx) = (bytes.clone(), tx.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(100));
            loop {
                every.tick().await;
                let n = bytes.swap(0, Ordering::Relaxed);
                if n > 0 && tx.send(Msg::RunBytes(n)).is_err() {
                    break;
                }
            }
        })
    };
    let outcome = tokio::select! {
        result = workflow::run(&request, reporter) => match result {
            Ok(summary) => RunOutcome::Completed(run_result(&summary)),
            Err(error) => RunOutcome::Failed(error.to_string()),
        },
        _ = cancel => RunOutcome::Cancelled,
    };
    flusher.abort();
    let n = bytes.swap(0, Ordering::Relaxed);
    if n > 0 {
        let _ = tx.send(Msg::RunBytes(n));
    }
    outcome
}

fn run_result(summary: &RunSummary) -> RunResult {
    RunResult {
        planned: summary.images_planned,
        mirrored: summary.images_mirrored,
        unchanged: summary.images_unchanged,
        failed: summary.failures.len(),
        bytes: summary.bytes_copied,
        elapsed: summary.elapsed,
        dry_run: summary.dry_run,
        files: summary.files_written.iter().map(|p| p.display().to_string()).collect(),
        errors_file: summary.errors_file.as_ref().map(|p| p.display().to_string()),
        exit_code: summary.exit_code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::Mode;

    fn registry(error: RegistryError) -> ListingError {
        ListingError::Source(SourceError::Registry(error))
    }

    fn unreachable(detail: &str, tls: bool) -> ListingError {
        registry(RegistryError::Unreachable {
            host: "quay.io".into(),
            detail: detail.into(),
            tls,
        })
    }

    #[test]
    fn explain_adds_help_to_common_registry_errors() {
        let unauthorized = registry(RegistryError::Status {
            host: "quay.io".into(),
            operation: "GET manifest quay.io/private/catalog:v1".into(),
            status: 401,
            code: Some("UNAUTHORIZED".into()),
            message: None,
        });
        assert!(explain(&unauthorized).contains("--authfile"));
        let untrusted = explain(&unreachable("invalid peer certificate: UnknownIssuer", true));
        assert!(untrusted.contains("--src-tls-verify=false"));
        assert!(untrusted.contains("private CA"), "{untrusted}");
        let refused = explain(&unreachable("error sending request: connection refused", false));
        assert!(refused.contains("reachable"));
        assert!(!refused.contains("private CA"), "{refused}");
        let other = ListingError::Source(SourceError::NoArchive);
        assert_eq!(explain(&other), other.to_string());
    }

    #[test]
    fn run_settings_become_workflow_modes() {
        let options = LibraryOptions::default();
        let settings = RunSettings {
            mode: RunMode::DryRun,
            destination: "file:///tmp/out".into(),
            ..RunSettings::default()
        };
        let req = request("isc.yaml".into(), &settings, &options).unwrap();
        assert!(req.dry_run);
        assert!(matches!(req.mode, Mode::MirrorToDisk(ref d) if d.archive_dir == Path::new("/tmp/out")));
        let settings = RunSettings {
            mode: RunMode::MirrorToMirror,
            destination: "docker://localhost:5000/mirror".into(),
            workspace: "file:///tmp/ws".into(),
            dest_tls_verify: false,
        };
        let req = request("isc.yaml".into(), &settings, &options).unwrap();
        assert!(!req.dry_run && !req.dest_tls_verify);
        match req.mode {
            Mode::MirrorToMirror { workspace, destination } => {
                assert_eq!(workspace, Path::new("/tmp/ws"));
                assert_eq!(destination.registry, "localhost:5000");
                assert_eq!(destination.namespace, "mirror");
            }
            other => panic!("{other:?}"),
        }
        let settings = RunSettings {
            mode: RunMode::DiskToMirror,
            destination: "docker://localhost:5000/mirror".into(),
            workspace: "file:///media/archives".into(),
            dest_tls_verify: true,
        };
        let req = request("isc.yaml".into(), &settings, &options).unwrap();
        assert!(!req.dry_run && req.dest_tls_verify);
        match req.mode {
            Mode::DiskToMirror {
                archive_dir,
                destination,
            } => {
                assert_eq!(archive_dir, Path::new("/media/archives"));
                assert_eq!(destination.registry, "localhost:5000");
                assert_eq!(destination.namespace, "mirror");
            }
            other => panic!("{other:?}"),
        }
        for (mode, destination) in [
            (RunMode::MirrorToDisk, "docker://localhost:5000"),
            (RunMode::DiskToMirror, "file:///tmp/out"),
        ] {
            let settings = RunSettings {
                mode,
                destination: destination.into(),
                ..RunSettings::default()
            };
            assert!(request("isc.yaml".into(), &settings, &options).is_err());
        }
    }

    #[test]
    fn saving_replaces_the_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("isc.yaml");
        std::fs::write(&path, "old content that is longer than the new").unwrap();
        crate::files::write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
