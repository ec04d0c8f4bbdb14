//! What the engine tells the outside world while it works. The engine never prints: a `Reporter` decides.

use crate::image::Platform;

/// How an image's index reached the destination when a platform filter selected a subset of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "mode")]
pub(crate) enum IndexOutcome {
    /// Every platform was copied; the digest is the source's.
    Complete,
    /// The original index with only the selected children: same digest as the source.
    Sparse,
    /// A new index holding only the selected platforms (new digest).
    Rewritten,
    /// The destination refused a sparse index and the reference is by digest, so every platform was copied.
    FullCopyForDigest { extra_platforms: Vec<String> },
}

/// One progress event.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    /// The run starts: how many images it will consider.
    RunStarted {
        images: usize,
    },
    ImageStarted {
        index: usize,
        name: String,
    },
    /// Bytes of blob content moved (called often, with small deltas).
    BytesCopied(u64),
    BlobCopied {
        size: u64,
    },
    BlobSkipped,
    BlobMounted,
    ManifestPushed,
    ImageDone {
        index: usize,
        name: String,
        platforms: Vec<Platform>,
        outcome: IndexOutcome,
        unchanged: bool,
    },
    ImageFailed {
        index: usize,
        name: String,
        error: String,
    },
    Warning(String),
    /// What a collector found while planning.
    Collected(Collected),
    /// A step of the workflow worth a line in the log (images to mirror, files written).
    Info(String),
    /// A transient failure that is being retried.
    Retrying {
        what: String,
        attempt: u32,
        error: String,
    },
}

/// What a collector found, one kind per variant so a front end can tell them apart; each renders as one log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Collected {
    /// A catalog is about to be read.
    CatalogReading { catalog: String },
    /// A catalog was read: its digest, platforms, the layers fetched for them, and platforms that shared content.
    CatalogRead {
        catalog: String,
        digest: String,
        platforms: usize,
        layers: usize,
        bytes: u64,
        shared: usize,
    },
    /// Dependency resolution added a package to a catalog's filter.
    DependencyAdded { catalog: String, added: String },
    /// A related image is left out by a `blockedImages` pattern.
    Blocked { image: String, pattern: String },
    /// A release was planned: its payload, its components, and what reading `release-manifests/` fetched.
    ReleasePlanned {
        version: String,
        arch: String,
        payload: String,
        components: usize,
        layers: usize,
        bytes: u64,
    },
    /// A release's signature verified, by the key that made it.
    SignatureVerified { payload: String, signer: String },
    /// The graph image was built from the graph data at `url` over `base`.
    GraphImageBuilt { url: String, bytes: usize, base: String },
    /// A chart was rendered with its default values: how many templates, the images found, the time it took.
    ChartRendered {
        chart: String,
        templates: usize,
        images: usize,
        millis: u64,
    },
}

impl std::fmt::Display for Collected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Collected::CatalogReading { catalog } => write!(f, "reading catalog {catalog}"),
            Collected::CatalogRead {
                catalog,
                digest,
                platforms,
                layers,
                bytes,
                shared,
            } => write!(
                f,
                "catalog {catalog} ({digest}): {platforms} platform(s), {layers} layer(s) read ({bytes} bytes), \
                 {shared} platform(s) sharing content"
            ),
            Collected::DependencyAdded { catalog, added } => write!(f, "{catalog}: added dependency {added}"),
            Collected::Blocked { image, pattern } => write!(f, "{image} is blocked by `{pattern}`"),
            Collected::ReleasePlanned {
                version,
                arch,
                payload,
                components,
                layers,
                bytes,
            } => write!(
                f,
                "release {version} ({arch}) {payload}: {components} component image(s); release-manifests read \
                 from {layers} layer(s), {bytes} bytes"
            ),
            Collected::SignatureVerified { payload, signer } => {
                write!(f, "release {payload}: signature verified (key {signer})")
            }
            Collected::GraphImageBuilt { url, bytes, base } => {
                write!(f, "graph image: graph data from {url} ({bytes} bytes) over {base}")
            }
            Collected::ChartRendered {
                chart,
                templates,
                images,
                millis,
            } => write!(
                f,
                "chart {chart}: {templates} template(s) rendered in {millis} ms, {images} image(s)"
            ),
        }
    }
}

/// Receives engine events. Implementations must be cheap: they are called from the copy path.
pub(crate) trait Reporter: Send + Sync {
    fn event(&self, event: Event);
}

/// A reporter that ignores everything (library use, tests).
#[cfg(test)]
pub(crate) struct SilentReporter;

#[cfg(test)]
impl Reporter for SilentReporter {
    fn event(&self, _event: Event) {}
}
