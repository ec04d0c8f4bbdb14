//! OpenShift and OKD releases: the update graph and version selection (`graph`), the configured channels resolved
//! to releases (`channels`), and a payload's `release-manifests/` (`payload`), read in place from the payload's
//! layers by [`read_manifests`] (the top layer first: payloads add the directory last).

pub(crate) mod channels;
pub(crate) mod graph;
pub(crate) mod graph_data;
pub(crate) mod payload;
pub(crate) mod signature;
pub(crate) mod signature_store;

use std::path::Path;

use bytes::Bytes;

use crate::config::ReleaseChannel;
use crate::image::manifest::{Descriptor, RawManifest};
use crate::image::walk::{self, ManifestNode, NodeContent};
use crate::image::PlatformFilter;
use crate::reference::ReferenceError;
use crate::registry::DocumentError;
use crate::source::layers::{read_directory, read_small_blob, relevant_layers, History, LayerError, LayerStats};
use crate::source::{SourceError, SourceReader};
use graph::GraphError;
use payload::{ImageReferences, PayloadError, ReleaseMetadata};
use signature::SignatureError;

/// Why releases could not be resolved or a payload read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReleaseError {
    #[error("channel {channel} ({arch}): cannot fetch the update graph: {source}")]
    Fetch {
        channel: String,
        arch: String,
        source: Box<DocumentError>,
    },
    #[error("channel {channel} ({arch}), update graph {url}: {source}")]
    Graph {
        channel: String,
        arch: String,
        url: String,
        source: Box<GraphError>,
    },
    #[error("channel {channel} ({arch}): {source}")]
    Selection {
        channel: String,
        arch: String,
        source: Box<GraphError>,
    },
    #[error("channel {channel} ({arch}) has no releases at {url}\n  help: check the channel name (`stable-4.16`, `fast-4.17`, `okd`...) and the architecture")]
    EmptyChannel { channel: String, arch: String, url: String },
    #[error("upgrade path {from} → {to} ({arch}) between two channels: {source}")]
    Between {
        from: String,
        to: String,
        arch: String,
        source: Box<GraphError>,
    },
    #[error("release {image}: {source}")]
    BadReference { image: String, source: Box<ReferenceError> },
    #[error("release {image}: {source}")]
    Source { image: String, source: Box<SourceError> },
    #[error("release {image}: {source}")]
    Layer { image: String, source: Box<LayerError> },
    #[error("release {image}: {source}")]
    Payload { image: String, source: Box<PayloadError> },
    #[error("release {image}: no signature at {url}: {source}\n  help: check OCP_SIGNATURE_URL (the signature store), or mirror it unverified with --ignore-release-signature")]
    SignatureMissing {
        image: String,
        url: String,
        source: Box<DocumentError>,
    },
    #[error("release {image}: the signature at {url} does not verify: {source}")]
    Signature {
        image: String,
        url: String,
        source: Box<SignatureError>,
    },
    #[error("release signature keyring {path}: {source}")]
    Keyring { path: String, source: Box<SignatureError> },
    #[error("cannot read the release signature keyring {path} ({detail})\n  help: OCP_SIGNATURE_VERIFICATION_PK names an armored public keyring file")]
    KeyringFile { path: String, detail: String },
    #[error("release {image} has no `release-manifests/image-references`\n  help: is it an OpenShift release payload? `mirror.platform.release` must name one")]
    NotAPayload { image: String },
}

impl ReleaseError {
    pub(crate) fn graph(channel: &ReleaseChannel, arch: &str, source: GraphError) -> ReleaseError {
        ReleaseError::Selection {
            channel: channel.name.clone(),
            arch: arch.to_string(),
            source: Box::new(source),
        }
    }
}

/// What mirroring needs from a payload's `release-manifests/`.
#[derive(Debug)]
pub(crate) struct ReleaseManifests {
    pub references: ImageReferences,
    pub metadata: Option<ReleaseMetadata>,
    /// The CoreOS boot-images ConfigMap, when the payload has one.
    pub bootimages: Option<Bytes>,
    pub stats: LayerStats,
}

/// Reads `release-manifests/` of the payload at `root` (for a multi-arch payload, of its first image): the top
/// layer first, every layer that can hold the directory only when the top one does not.
pub(crate) async fn read_manifests(
    reader: &SourceReader,
    root: RawManifest,
    image: &str,
) -> Result<ReleaseManifests, ReleaseError> {
    let source_error = |source: SourceError| ReleaseError::Source {
        image: image.to_string(),
        source: Box::new(source),
    };
    let layer_error = |source: LayerError| ReleaseError::Layer {
        image: image.to_string(),
        source: Box::new(source),
    };
    let graph = walk::walk(reader, root, &PlatformFilter::all())
        .await
        .map_err(source_error)?;
    let Some((config, layers)) = first_image(&graph) else {
        return Err(ReleaseError::NotAPayload { image: image.into() });
    };
    let config_bytes = read_small_blob(reader, config).await.map_err(layer_error)?;
    let history: Vec<History> = serde_json::from_slice::<ConfigHistory>(&config_bytes)
        .map(|c| c.history)
        .unwrap_or_default();
    let dir = payload::RELEASE_MANIFESTS_DIR;
    let mut stats = LayerStats::default();
    let top: Vec<&Descriptor> = layers.last().into_iter().collect();
    let mut files = read_directory(reader, &top, dir, &mut stats, None)
        .await
        .map_err(layer_error)?;
    if !has_file(&files, payload::IMAGE_REFERENCES) && layers.len() > 1 {
        let below = relevant_layers(&layers[..layers.len() - 1], &history_below(&history), dir);
        files = read_directory(reader, &below, dir, &mut stats, None)
            .await
            .map_err(layer_error)?;
    }
    parse_manifests(image, &files, stats)
}

#[derive(serde::Deserialize)]
struct ConfigHistory {
    #[serde(default)]
    history: Vec<History>,
}

/// The history of every layer but the top one (history that cannot be matched makes every layer relevant).
fn history_below(history: &[History]) -> Vec<History> {
    let mut below: Vec<History> = Vec::new();
    let with_layer = history.iter().filter(|h| !h.empty_layer).count();
    let mut seen = 0;
    for entry in history {
        if !entry.empty_layer {
            seen += 1;
            if seen == with_layer {
                break;
            }
        }
        below.push(entry.clone());
    }
    below
}

fn first_image(node: &ManifestNode) -> Option<(&Descriptor, &[Descriptor])> {
    match &node.content {
        NodeContent::Image { config, layers } => Some((config, layers.as_slice())),
        NodeContent::Index { children, .. } => children
            .iter()
            .filter(|c| !c.platform.as_ref().is_some_and(|p| p.is_unknown()))
            .find_map(first_image),
    }
}

fn has_file(files: &[(std::path::PathBuf, Bytes)], name: &str) -> bool {
    files.iter().any(|(path, _)| path == Path::new(name))
}

fn file<'a>(files: &'a [(std::path::PathBuf, Bytes)], name: &str) -> Option<&'a Bytes> {
    files
        .iter()
        .find(|(path, _)| path == Path::new(name))
        .map(|(_, bytes)| bytes)
}

fn parse_manifests(
    image: &str,
    files: &[(std::path::PathBuf, Bytes)],
    stats: LayerStats,
) -> Result<ReleaseManifests, ReleaseError> {
    let payload_error = |source: PayloadError| ReleaseError::Payload {
        image: image.to_string(),
        source: Box::new(source),
    };
    let Some(references) = file(files, payload::IMAGE_REFERENCES) else {
        return Err(ReleaseError::NotAPayload { image: image.into() });
    };
    let references = ImageReferences::parse(references).map_err(payload_error)?;
    let metadata = match file(files, payload::RELEASE_METADATA) {
        Some(bytes) => Some(ReleaseMetadata::parse(bytes).map_err(payload_error)?),
        None => None,
    };
    Ok(ReleaseManifests {
        references,
        metadata,
        bootimages: file(files, payload::BOOTIMAGES_FILE).cloned(),
        stats,
    })
}
