//! The TUI's whole state (`Model`) and the read-only queries that `update` and `view` share.
//!
//! The selection *is* configuration: each catalog holds the `Operator` entry it edits (packages, channels, version
//! bounds, platforms), so every field of a loaded ImageSetConfiguration that the TUI does not edit is carried through
//! untouched, and [`Model::isc`] is the file `ctrl-s` writes. Catalog content arrives as [`CatalogData`], plain data
//! that `commands` builds from the library's listing.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{AdditionalImage, BlockedImage, Helm, ImageSetConfiguration, Operator, Package, ReleasePlatform};
use crate::reference::Location;
use crate::workflow::{EndpointError as WorkflowEndpointError, Endpoints, Mode};

/// What a catalog offers, as the TUI shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CatalogData {
    /// The pinned digest of the catalog image.
    pub digest: String,
    /// Platforms of the catalog's index (`linux/amd64`...), or `all` for a single-platform image.
    pub platforms: Vec<String>,
    /// Sorted by name.
    pub packages: Vec<PackageInfo>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PackageInfo {
    pub name: String,
    pub default_channel: Option<String>,
    /// Head version of the default channel.
    pub head_version: Option<String>,
    /// Catalog platforms whose catalog carries the package.
    pub platforms: Vec<String>,
    /// Architectures its bundles declare (CSV `operatorframework.io/arch.*` labels).
    pub architectures: Vec<String>,
    /// Sorted by name.
    pub channels: Vec<ChannelInfo>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ChannelInfo {
    pub name: String,
    pub head: Option<String>,
    pub head_version: Option<String>,
    /// Highest version first.
    pub bundles: Vec<BundleInfo>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BundleInfo {
    pub name: String,
    pub version: Option<String>,
}

/// Where a catalog's content stands.
#[derive(Debug, Clone)]
pub(crate) enum LoadState {
    /// `fetched`: bytes of the catalog's layers read so far.
    Loading {
        since: Instant,
        fetched: u64,
    },
    Loaded(Arc<CatalogData>),
    Failed(String),
}

/// One catalog of the session and the `mirror.operators` entry it edits.
#[derive(Debug, Clone)]
pub(crate) struct CatalogEntry {
    /// Stable identity, for load results arriving later.
    pub id: u64,
    /// Read the catalog from the archives in this `file://DIR` instead of its registry.
    pub from: Option<String>,
    /// The configuration entry: `catalog`, `packages` (the selection) and `platforms` are edited here; every other
    /// field is kept as loaded.
    pub operator: Operator,
    /// In the configuration without `packages`: every package of the catalog.
    pub whole: bool,
    /// Packages deselected in this session, to restore their channels if selected again.
    pub stash: BTreeMap<String, Package>,
    /// The selection set aside while the whole catalog is selected (`space` on the catalog).
    pub set_aside: Vec<Package>,
    pub load: LoadState,
    /// The package filter (`/`), matched case-insensitively anywhere in the name.
    pub filter: String,
    pub package_cursor: usize,
    pub channel_cursor: usize,
    pub bundle_cursor: usize,
    pub platform_cursor: usize,
}

/// One row of the packages pane: a catalog package, or a configured package the catalog lacks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PackageRow<'a> {
    pub name: &'a str,
    pub info: Option<&'a PackageInfo>,
    pub selected: bool,
}

/// One checkbox of the platforms pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlatformRow {
    pub name: String,
    /// Found in the catalog's index (else only in the configuration, or derived from bundle labels).
    pub in_index: bool,
    pub checked: bool,
}

impl CatalogEntry {
    pub(crate) fn new(id: u64, operator: Operator, from: Option<String>, now: Instant) -> Self {
        let whole = operator.packages.is_empty();
        CatalogEntry {
            id,
            from,
            operator,
            whole,
            stash: BTreeMap::new(),
            set_aside: Vec::new(),
            load: LoadState::Loading { since: now, fetched: 0 },
            filter: String::new(),
            package_cursor: 0,
            channel_cursor: 0,
            bundle_cursor: 0,
            platform_cursor: 0,
        }
    }

    /// Whether the catalog goes into the configuration.
    pub(crate) fn included(&self) -> bool {
        self.whole || !self.operator.packages.is_empty()
    }

    pub(crate) fn data(&self) -> Option<&CatalogData> {
        match &self.load {
            LoadState::Loaded(data) => Some(data),
            _ => None,
        }
    }

    pub(crate) fn selected(&self, package: &str) -> Option<&Package> {
        self.operator.packages.iter().find(|p| p.name == package)
    }

    /// The packages pane: catalog packages matching the filter, then configured packages the catalog lacks.
    pub(crate) fn package_rows(&self) -> Vec<PackageRow<'_>> {
        let needle = self.filter.to_lowercase();
        let matches = |name: &str| needle.is_empty() || name.to_lowercase().contains(&needle);
        let mut rows: Vec<PackageRow<'_>> = Vec::new();
        let known: BTreeSet<&str> = self
            .data()
            .map(|d| d.packages.iter().map(|p| p.name.as_str()).collect())
            .unwrap_or_default();
        if let Some(data) = self.data() {
            rows.extend(data.packages.iter().filter(|p| matches(&p.name)).map(|p| PackageRow {
                name: &p.name,
                info: Some(p),
                selected: self.selected(&p.name).is_some(),
            }));
        }
        rows.extend(
            self.operator
                .packages
                .iter()
                .filter(|p| !known.contains(p.name.as_str()) && matches(&p.name))
                .map(|p| PackageRow {
                    name: &p.name,
                    info: None,
                    selected: true,
                }),
        );
        rows
    }

    /// The package under the cursor.
    pub(crate) fn focused_package(&self) -> Option<PackageRow<'_>> {
        self.package_rows().get(self.package_cursor).copied()
    }

    /// Channels of the focused package.
    pub(crate) fn channel_rows(&self) -> &[ChannelInfo] {
        self.focused_package()
            .and_then(|row| row.info)
            .map_or(&[], |info| info.channels.as_slice())
    }

    pub(crate) fn focused_channel(&self) -> Option<&ChannelInfo> {
        self.channel_rows().get(self.channel_cursor)
    }

    /// The names of the focused package and of its focused channel, owned (for edits of the configuration entry).
    pub(crate) fn focused_package_and_channel(&self) -> Option<(String, String)> {
        let package = self.focused_package()?.name.to_string();
        Some((package, self.focused_channel()?.name.clone()))
    }

    /// Bundles of the channel under the channel cursor.
    pub(crate) fn bundle_rows(&self) -> &[BundleInfo] {
        self.focused_channel().map_or(&[], |c| c.bundles.as_slice())
    }

    /// Checkboxes: the index's platforms (or, for a single-platform catalog image, `linux/<arch>` for every
    /// architecture its bundles declare), then configured platforms found nowhere else.
    pub(crate) fn platform_rows(&self) -> Vec<PlatformRow> {
        let configured: Vec<String> = self.operator.platforms.iter().map(ToString::to_string).collect();
        let mut rows: Vec<PlatformRow> = Vec::new();
        if let Some(data) = self.data() {
            let index: Vec<&String> = data.platforms.iter().filter(|p| p.as_str() != "all").collect();
            if index.is_empty() {
                let arches: BTreeSet<&str> = data
                    .packages
                    .iter()
                    .flat_map(|p| p.architectures.iter().map(String::as_str))
                    .collect();
                rows.extend(arches.into_iter().map(|arch| PlatformRow {
                    name: format!("linux/{arch}"),
                    in_index: false,
                    checked: false,
                }));
            } else {
                rows.extend(index.into_iter().map(|name| PlatformRow {
                    name: name.clone(),
                    in_index: true,
                    checked: false,
                }));
            }
        }
        for name in &configured {
            if !rows.iter().any(|r| &r.name == name) {
                rows.push(PlatformRow {
                    name: name.clone(),
                    in_index: false,
                    checked: true,
                });
            }
        }
        for row in &mut rows {
            row.checked = configured.contains(&row.name);
        }
        rows
    }

    pub(crate) fn is_loading(&self) -> bool {
        matches!(self.load, LoadState::Loading { .. })
    }
}

/// The panes, in `tab` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Pane {
    Catalogs,
    Packages,
    Channels,
    Bundles,
    Platforms,
    Images,
    Charts,
    Blocked,
    Releases,
    Preview,
    Run,
}

impl Pane {
    pub(crate) const ORDER: [Pane; 11] = [
        Pane::Catalogs,
        Pane::Packages,
        Pane::Channels,
        Pane::Bundles,
        Pane::Platforms,
        Pane::Images,
        Pane::Charts,
        Pane::Blocked,
        Pane::Releases,
        Pane::Preview,
        Pane::Run,
    ];

    pub(crate) fn screen(self) -> Screen {
        match self {
            Pane::Catalogs | Pane::Packages | Pane::Channels | Pane::Bundles | Pane::Platforms => Screen::Operators,
            Pane::Images | Pane::Charts | Pane::Blocked => Screen::Images,
            Pane::Releases => Screen::Releases,
            Pane::Preview => Screen::Preview,
            Pane::Run => Screen::Run,
        }
    }
}

/// The screens, selected with `1`..`5` (or by moving the focus with `tab`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Screen {
    Operators,
    Images,
    Releases,
    Preview,
    Run,
}

impl Screen {
    pub(crate) const ALL: [Screen; 5] = [
        Screen::Operators,
        Screen::Images,
        Screen::Releases,
        Screen::Preview,
        Screen::Run,
    ];

    pub(crate) fn title(self) -> &'static str {
        match self {
            Screen::Operators => "Operators",
            Screen::Images => "Images",
            Screen::Releases => "Releases",
            Screen::Preview => "Preview",
            Screen::Run => "Run",
        }
    }

    /// The pane a screen opens on.
    pub(crate) fn first_pane(self) -> Pane {
        match self {
            Screen::Operators => Pane::Catalogs,
            Screen::Images => Pane::Images,
            Screen::Releases => Pane::Releases,
            Screen::Preview => Pane::Preview,
            Screen::Run => Pane::Run,
        }
    }
}

/// A modal on top of the screen.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Dialog {
    Help {
        scroll: u16,
    },
    /// `q` with unsaved changes.
    ConfirmQuit,
    Form(Form),
}

/// A small form: text fields and choice fields (`←`/`→`/`space` cycle).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Form {
    pub kind: FormKind,
    pub title: String,
    pub fields: Vec<Field>,
    pub focus: usize,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormKind {
    AddCatalog,
    /// Where the catalog at this index goes in the mirror (`targetCatalog`, `targetTag`).
    CatalogTarget(usize),
    AddImage,
    EditImage(usize),
    AddBlocked,
    EditBlocked(usize),
    AddRelease,
    EditRelease(usize),
    AddChart,
    /// The chart at this row of the Helm charts pane.
    EditChart(usize),
    Run,
}

/// Which field of a form: forms are read by field, never by the label they show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldId {
    Reference,
    FromArchive,
    TargetCatalog,
    TargetTag,
    Name,
    TargetRepo,
    Platforms,
    Channel,
    ChannelType,
    MinVersion,
    MaxVersion,
    Full,
    ShortestPath,
    Source,
    Chart,
    Version,
    RepositoryName,
    Mode,
    Destination,
    Workspace,
    DestTlsVerify,
}

impl FieldId {
    /// The label the form shows.
    pub(crate) fn label(self) -> &'static str {
        match self {
            FieldId::Reference => "Reference",
            FieldId::FromArchive => "From archive",
            FieldId::TargetCatalog => "Target catalog",
            FieldId::TargetTag => "Target tag",
            FieldId::Name => "Name",
            FieldId::TargetRepo => "Target repo",
            FieldId::Platforms => "Platforms",
            FieldId::Channel => "Channel",
            FieldId::ChannelType => "Type",
            FieldId::MinVersion => "Min version",
            FieldId::MaxVersion => "Max version",
            FieldId::Full => "Full",
            FieldId::ShortestPath => "Shortest path",
            FieldId::Source => "Source",
            FieldId::Chart => "Chart",
            FieldId::Version => "Version",
            FieldId::RepositoryName => "Repository name",
            FieldId::Mode => "Mode",
            FieldId::Destination => "Destination",
            FieldId::Workspace => "Workspace",
            FieldId::DestTlsVerify => "Dest TLS verify",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub id: FieldId,
    pub label: &'static str,
    pub value: String,
    /// Empty for free text; else the values `value` cycles through.
    pub choices: Vec<&'static str>,
    pub hint: &'static str,
}

impl Field {
    pub(crate) fn text(id: FieldId, value: impl Into<String>, hint: &'static str) -> Self {
        Field {
            id,
            label: id.label(),
            value: value.into(),
            choices: Vec::new(),
            hint,
        }
    }

    pub(crate) fn choice(id: FieldId, choices: Vec<&'static str>, value: &str, hint: &'static str) -> Self {
        let value = choices
            .iter()
            .find(|c| **c == value)
            .or(choices.first())
            .map_or(String::new(), |c| c.to_string());
        Field {
            id,
            label: id.label(),
            value,
            choices,
            hint,
        }
    }
}

impl Form {
    pub(crate) fn value(&self, id: FieldId) -> &str {
        self.fields.iter().find(|f| f.id == id).map_or("", |f| f.value.trim())
    }
}

/// The line at the bottom: the outcome of the last action.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Status {
    pub text: String,
    pub kind: StatusKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum StatusKind {
    #[default]
    Info,
    Success,
    Warning,
    Error,
}

/// The ways to run the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunMode {
    DryRun,
    MirrorToDisk,
    MirrorToMirror,
    DiskToMirror,
}

impl RunMode {
    pub(crate) const ALL: [RunMode; 4] = [
        RunMode::DryRun,
        RunMode::MirrorToDisk,
        RunMode::MirrorToMirror,
        RunMode::DiskToMirror,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunMode::DryRun => "dry-run",
            RunMode::MirrorToDisk => "mirror-to-disk",
            RunMode::MirrorToMirror => "mirror-to-mirror",
            RunMode::DiskToMirror => "disk-to-mirror",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<RunMode> {
        RunMode::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

/// The releases a channel resolves to, as far as known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    Loading,
    Versions(Vec<String>),
    Failed(String),
}

/// What the run form holds, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunSettings {
    pub mode: RunMode,
    /// `file://DIR` (dry-run, mirror-to-disk) or `docker://HOST[:PORT][/NS]` (mirror-to-mirror, dry-run).
    pub destination: String,
    /// `file://DIR`: state of a mirror-to-mirror run; for disk-to-mirror, the archives to push (their
    /// `working-dir` holds the state).
    pub workspace: String,
    pub dest_tls_verify: bool,
}

/// Why the run form's destination and workspace do not fit its mode.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EndpointError {
    #[error("destination: {0}")]
    Destination(#[source] crate::reference::ReferenceError),
    #[error("a registry destination needs a workspace file://DIR for state, logs and cluster resources")]
    NoWorkspace,
    #[error("disk-to-mirror reads the archives from the workspace field: file://DIR")]
    NoArchiveDir,
    #[error("mirror-to-disk writes archives to file://DIR")]
    NotADirectory,
    #[error("{mode} pushes to docker://HOST[:PORT][/NS]")]
    NotARegistry { mode: &'static str },
    #[error(transparent)]
    Endpoints(crate::workflow::EndpointError),
}

impl RunSettings {
    /// The workflow the form's mode, destination and workspace mean, decided as `ferry mirror` decides it: the
    /// workspace field is `--from` for disk-to-mirror and `--workspace` for runs into a registry or a layout.
    pub(crate) fn endpoints(&self) -> Result<Mode, EndpointError> {
        let destination: Location = self.destination.parse().map_err(EndpointError::Destination)?;
        let workspace = Some(self.workspace.as_str());
        let (from, workspace) = match (self.mode, &destination) {
            (RunMode::MirrorToDisk | RunMode::DryRun, Location::Directory(_)) => (None, None),
            (RunMode::MirrorToMirror | RunMode::DryRun, Location::Registry { .. } | Location::OciLayout { .. }) => {
                (None, workspace)
            }
            (RunMode::DiskToMirror, Location::Registry { .. }) => (workspace, None),
            (RunMode::MirrorToDisk, _) => return Err(EndpointError::NotADirectory),
            (RunMode::MirrorToMirror | RunMode::DiskToMirror, _) => {
                return Err(EndpointError::NotARegistry {
                    mode: self.mode.as_str(),
                })
            }
        };
        let endpoints = Endpoints {
            destination: &self.destination,
            from,
            workspace,
        };
        endpoints.mode().map_err(explain)
    }
}

/// The form's words for what the shared decision refused (its field is `workspace`, not an option).
fn explain(error: WorkflowEndpointError) -> EndpointError {
    match error {
        WorkflowEndpointError::Destination(source) => EndpointError::Destination(source),
        WorkflowEndpointError::NotADirectory { option: "--from" }
        | WorkflowEndpointError::BadDirectory { option: "--from", .. } => EndpointError::NoArchiveDir,
        WorkflowEndpointError::NoWorkspace
        | WorkflowEndpointError::NotADirectory { .. }
        | WorkflowEndpointError::BadDirectory { .. } => EndpointError::NoWorkspace,
        other => EndpointError::Endpoints(other),
    }
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            mode: RunMode::DryRun,
            destination: "file://mirror".into(),
            workspace: "file://mirror-workspace".into(),
            dest_tls_verify: true,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunOutcome {
    Completed(RunResult),
    Failed(String),
    Cancelled,
}

/// The summary of a finished run, as text-ready data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RunResult {
    pub planned: usize,
    pub mirrored: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub bytes: u64,
    pub elapsed: Duration,
    pub dry_run: bool,
    pub files: Vec<String>,
    pub errors_file: Option<String>,
    pub exit_code: i32,
}

/// A run in progress (or the last one), fed by engine events.
#[derive(Debug, Clone)]
pub(crate) struct RunProgress {
    pub settings: RunSettings,
    pub started: Instant,
    pub images_total: usize,
    pub images_done: usize,
    pub images_unchanged: usize,
    pub images_failed: usize,
    pub bytes: u64,
    pub blobs_copied: u64,
    pub blobs_skipped: u64,
    pub blobs_mounted: u64,
    pub manifests: u64,
    pub retries: u64,
    /// Images in flight, by plan index.
    pub current: BTreeMap<usize, String>,
    /// Failed images and warnings, as they happen.
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// The latest informational lines.
    pub log: VecDeque<String>,
    /// (time, total bytes) over the last seconds, for the rate.
    pub samples: VecDeque<(Instant, u64)>,
    pub cancelling: bool,
    pub outcome: Option<RunOutcome>,
    pub finished: Option<Instant>,
}

impl RunProgress {
    pub(crate) fn new(settings: RunSettings, now: Instant) -> Self {
        RunProgress {
            settings,
            started: now,
            images_total: 0,
            images_done: 0,
            images_unchanged: 0,
            images_failed: 0,
            bytes: 0,
            blobs_copied: 0,
            blobs_skipped: 0,
            blobs_mounted: 0,
            manifests: 0,
            retries: 0,
            current: BTreeMap::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            log: VecDeque::new(),
            samples: VecDeque::from([(now, 0)]),
            cancelling: false,
            outcome: None,
            finished: None,
        }
    }

    pub(crate) fn active(&self) -> bool {
        self.outcome.is_none()
    }

    /// Bytes per second over the sampled window.
    pub(crate) fn rate(&self) -> f64 {
        match (self.samples.front(), self.samples.back()) {
            (Some((t0, b0)), Some((t1, b1))) if t1 > t0 => (b1 - b0) as f64 / (*t1 - *t0).as_secs_f64(),
            _ => 0.0,
        }
    }

    /// Remaining time, extrapolated from the images processed so far.
    pub(crate) fn eta(&self, now: Instant) -> Option<Duration> {
        let processed = self.images_done + self.images_failed;
        if processed == 0 || self.images_total <= processed {
            return None;
        }
        let elapsed = now.saturating_duration_since(self.started);
        let remaining = (self.images_total - processed) as f64;
        Some(Duration::from_secs_f64(
            elapsed.as_secs_f64() / processed as f64 * remaining,
        ))
    }
}

/// One line of the Preview screen; the view styles them, `update` scrolls over them: one layout for both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PreviewLine {
    Valid,
    Problems(usize),
    Problem { field: String, message: String },
    Help(String),
    Blank,
    Yaml(String),
}

/// A row of the Helm charts pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChartRow {
    /// A chart of a repository (`None`: the repository lists no charts, so every chart of it is mirrored).
    Repository {
        repository: usize,
        chart: Option<usize>,
    },
    Local(usize),
}

/// The TUI's state. Only `update` changes it.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    /// The configuration loaded with `-c` (or an empty one): what the TUI does not edit comes from here.
    pub base: ImageSetConfiguration,
    /// Where `ctrl-s` writes.
    pub output: PathBuf,
    /// The configuration last loaded or saved: the model is dirty when the one it produces differs.
    pub saved: ImageSetConfiguration,
    pub catalogs: Vec<CatalogEntry>,
    pub catalog_cursor: usize,
    pub additional: Vec<AdditionalImage>,
    /// `mirror.blockedImages`: names or regular expressions of images never to mirror.
    pub blocked: Vec<BlockedImage>,
    pub image_cursor: usize,
    /// `mirror.helm`: chart repositories and local charts.
    pub helm: Helm,
    pub chart_cursor: usize,
    pub blocked_cursor: usize,
    pub releases: ReleasePlatform,
    pub release_cursor: usize,
    /// What the update graph says of each release channel (by name), loaded in the background.
    pub resolved: BTreeMap<String, Resolved>,
    pub focus: Pane,
    pub dialog: Option<Dialog>,
    /// Typing into the package filter.
    pub filtering: bool,
    pub status: Status,
    pub preview_scroll: u16,
    pub run_settings: RunSettings,
    pub run: Option<RunProgress>,
    /// The clock as of the last tick (the view is pure: it never reads the clock).
    pub now: Instant,
    pub spinner: usize,
    /// false when `NO_COLOR` is set: the view uses only bold, reverse and underline.
    pub colors: bool,
    pub quit: bool,
    pub quit_after_save: bool,
    pub next_id: u64,
}

impl Model {
    /// The command that asks the update graph about `channel` (for the first selected architecture), marking it
    /// as loading.
    pub(crate) fn resolve_command(&mut self, channel: &crate::config::ReleaseChannel) -> crate::tui::commands::Command {
        self.resolved.insert(channel.name.clone(), Resolved::Loading);
        let arch = crate::release::channels::architectures(&self.releases)
            .into_iter()
            .next()
            .unwrap_or_else(|| "amd64".to_string());
        crate::tui::commands::Command::ResolveChannel {
            channel: channel.clone(),
            arch,
        }
    }

    /// A model over `base` (the loaded configuration, or an empty one).
    pub(crate) fn new(base: ImageSetConfiguration, output: PathBuf, from: Option<String>, now: Instant) -> Self {
        let mut model = Model {
            additional: base.spec.mirror.additional_images.clone(),
            blocked: base.spec.mirror.blocked_images.clone(),
            helm: base.spec.mirror.helm.clone(),
            chart_cursor: 0,
            releases: base.spec.mirror.platform.clone(),
            catalogs: Vec::new(),
            base,
            output,
            saved: ImageSetConfiguration::default(),
            catalog_cursor: 0,
            image_cursor: 0,
            blocked_cursor: 0,
            release_cursor: 0,
            resolved: BTreeMap::new(),
            focus: Pane::Catalogs,
            dialog: None,
            filtering: false,
            status: Status::default(),
            preview_scroll: 0,
            run_settings: RunSettings::default(),
            run: None,
            now,
            spinner: 0,
            colors: true,
            quit: false,
            quit_after_save: false,
            next_id: 1,
        };
        for operator in model.base.spec.mirror.operators.clone() {
            model.push_catalog(operator, from.clone());
        }
        model.saved = model.isc();
        model
    }

    /// Adds a catalog (loading state) and returns its id.
    pub(crate) fn push_catalog(&mut self, operator: Operator, from: Option<String>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.catalogs.push(CatalogEntry::new(id, operator, from, self.now));
        id
    }

    /// The configuration the session produces.
    pub(crate) fn isc(&self) -> ImageSetConfiguration {
        let mut isc = self.base.clone();
        isc.spec.mirror.operators = self
            .catalogs
            .iter()
            .filter(|c| c.included())
            .map(|c| c.operator.clone())
            .collect();
        isc.spec.mirror.additional_images = self.additional.clone();
        isc.spec.mirror.blocked_images = self.blocked.clone();
        isc.spec.mirror.platform = self.releases.clone();
        isc.spec.mirror.helm = self.helm.clone();
        isc
    }

    /// The Preview screen's lines: the verdict, each problem with its help, then the configuration's YAML.
    pub(crate) fn preview(&self) -> Vec<PreviewLine> {
        let isc = self.isc();
        let issues = isc.check();
        let mut lines = Vec::new();
        if issues.is_empty() {
            lines.push(PreviewLine::Valid);
        } else {
            lines.push(PreviewLine::Problems(issues.len()));
            for issue in issues {
                lines.push(PreviewLine::Problem {
                    field: issue.field,
                    message: issue.message,
                });
                lines.push(PreviewLine::Help(issue.help));
            }
        }
        lines.push(PreviewLine::Blank);
        lines.extend(isc.to_yaml().lines().map(|line| PreviewLine::Yaml(line.to_string())));
        lines
    }

    /// The rows of the Helm charts pane: each chart of each repository (a repository without charts is one row:
    /// every chart), then the local charts.
    pub(crate) fn chart_rows(&self) -> Vec<ChartRow> {
        let mut rows = Vec::new();
        for (repository, repo) in self.helm.repositories.iter().enumerate() {
            if repo.charts.is_empty() {
                rows.push(ChartRow::Repository {
                    repository,
                    chart: None,
                });
            }
            rows.extend((0..repo.charts.len()).map(|chart| ChartRow::Repository {
                repository,
                chart: Some(chart),
            }));
        }
        rows.extend((0..self.helm.local.len()).map(ChartRow::Local));
        rows
    }

    /// Whether the configuration the session produces differs from the one last loaded or saved; compared part by
    /// part (the view asks on every frame: nothing is copied or serialised).
    pub(crate) fn is_dirty(&self) -> bool {
        let saved = &self.saved.spec.mirror;
        let included = self.catalogs.iter().filter(|c| c.included()).map(|c| &c.operator);
        saved.additional_images != self.additional
            || saved.blocked_images != self.blocked
            || saved.platform != self.releases
            || saved.helm != self.helm
            || !included.eq(saved.operators.iter())
    }

    pub(crate) fn screen(&self) -> Screen {
        self.focus.screen()
    }

    pub(crate) fn catalog(&self) -> Option<&CatalogEntry> {
        self.catalogs.get(self.catalog_cursor)
    }

    pub(crate) fn catalog_mut(&mut self) -> Option<&mut CatalogEntry> {
        self.catalogs.get_mut(self.catalog_cursor)
    }

    pub(crate) fn running(&self) -> bool {
        self.run.as_ref().is_some_and(RunProgress::active)
    }

    /// Release rows: channels, then one checkbox per release architecture.
    pub(crate) fn release_rows(&self) -> usize {
        self.releases.channels.len() + crate::config::RELEASE_ARCHITECTURES.len()
    }
}

/// `linux/amd64` → `amd64`: the short form used in narrow columns.
pub(crate) fn short_platform(name: &str) -> &str {
    name.strip_prefix("linux/").unwrap_or(name)
}
