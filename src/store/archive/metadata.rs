//! What makes an archive set self-describing: `ferry/metadata.json` (format version, the ImageSetConfiguration, every
//! image with its source, digest, platforms and destination, where each blob sits, and what earlier runs it relies on).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::image::Digest;

/// The archive format this version of ferry writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The metadata of one m2d run, stored as `ferry/metadata.json` in the last segment of the run's set and copied to
/// `working-dir/archives/<run-id>.json`.
///
/// The caller fills the descriptive fields; [`ArchiveWriter::finish`](super::ArchiveWriter::finish) fills
/// `format_version`, `run_id`, `blobs`, `segments` and `earlier_runs`, and `created`/`tool_version` when empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ArchiveMetadata {
    pub format_version: u32,
    pub run_id: String,
    /// RFC 3339 UTC, the time the run started.
    pub created: String,
    pub tool_version: String,
    /// The ImageSetConfiguration text as written.
    pub imageset_config: String,
    pub images: Vec<ArchivedImage>,
    /// Every blob (layers, configs, manifests) this run's segments hold.
    pub blobs: BTreeMap<Digest, BlobLocation>,
    /// Blobs this run relies on that earlier runs shipped: digest → the run id that carried them.
    #[serde(default)]
    pub depends_on: BTreeMap<Digest, String>,
    /// For each run id named in `depends_on`: its segment file names (from the history), so that a missing blob on the
    /// disconnected side can name the archive to bring.
    #[serde(default)]
    pub earlier_runs: BTreeMap<String, Vec<String>>,
    /// The segment file names of this run, in order (the last one holds this metadata).
    #[serde(default)]
    pub segments: Vec<String>,
    /// `--since YYYY-MM-DD` when the run was incremental by date.
    #[serde(default)]
    pub since: Option<String>,
    /// Workflow-owned additions (such as the plan or catalog summaries); ferry's archive code does not interpret them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// One image of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ArchivedImage {
    /// The source reference as configured (`registry/repo:tag` or `@sha256:...`).
    pub source: String,
    /// The repository path under the destination namespace.
    pub destination_repository: String,
    /// The destination tag (`sha256-<hex>` for digest-only sources).
    pub tag: String,
    /// The root manifest (or index) digest as archived.
    pub digest: Digest,
    /// `os/arch[/variant]` of the platforms archived.
    #[serde(default)]
    pub platforms: Vec<String>,
    /// Which part of the configuration asked for it (release, operator, additional, helm).
    #[serde(default)]
    pub origin: String,
    /// What happened to it in this run (for example `archived`, `failed: ...`).
    #[serde(default)]
    pub outcome: String,
}

/// Where a blob's data sits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BlobLocation {
    /// Segment file name, relative to the archive directory (`mirror_000001.tar`).
    pub segment: String,
    /// Byte offset of the data (after its tar header) in that segment.
    pub offset: u64,
    pub size: u64,
}
