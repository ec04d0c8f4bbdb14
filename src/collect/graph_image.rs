//! `mirror.platform.graph: true`: the graph image an OpenShift Update Service reads its graph data from, built as
//! oc-mirror builds it: every platform of the base image (ubi9 by default) plus one deterministic layer with the
//! graph data and a command that copies it into place; planned like a rebuilt catalog, to
//! `openshift/graph-image:latest`.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::json;

use super::CollectContext;
use crate::events::{Collected, Event, Reporter};
use crate::image::build::{self, Addition, BuildError};
use crate::image::manifest::RawManifest;
use crate::image::walk::{self, ManifestNode, NodeContent};
use crate::image::{Digest, PlatformFilter};
use crate::plan::{ImageDestination, ImageOrigin, ImageSource, MirrorJob};
use crate::reference::{ImageReference, ReferenceError};
use crate::registry::{DocumentClient, DocumentError};
use crate::release::graph_data::{self, GraphDataError};
use crate::source::layers::{read_small_blob, LayerError};
use crate::source::{BuiltImage, SourceError, SourceReader, Sources};

/// Why the graph image could not be built.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GraphImageError {
    #[error("graph data: {0}")]
    Download(#[from] DocumentError),
    #[error(transparent)]
    Data(#[from] GraphDataError),
    #[error("graph image base {image}: {source}\n  help: GRAPH_IMAGE_BASE names another base image")]
    BadBase { image: String, source: ReferenceError },
    #[error("graph image base: {0}")]
    Base(#[from] SourceError),
    #[error("graph image base: {0}")]
    Layer(#[from] LayerError),
    #[error("graph image: {0}")]
    Build(#[from] BuildError),
}

/// The graph image, built, and the job that mirrors it.
pub(crate) struct PlannedGraphImage {
    pub built: Arc<BuiltImage>,
    pub job: MirrorJob,
}

/// Downloads the graph data and builds the graph image over its base.
pub(crate) async fn plan(
    context: &CollectContext,
    sources: &Sources,
    documents: &DocumentClient,
    reporter: &Arc<dyn Reporter>,
) -> Result<PlannedGraphImage, GraphImageError> {
    let url = graph_data::graph_data_url();
    let on_retry = |attempt: u32, error: &str| {
        reporter.event(Event::Retrying {
            what: "graph data".into(),
            attempt,
            error: error.to_string(),
        })
    };
    let tarball = documents.get(&url, "application/gzip, */*", &on_retry).await?;
    let layer = graph_data::graph_data_layer(&tarball)?;
    let base_name = graph_data::graph_image_base();
    let base: ImageReference = base_name.parse().map_err(|source| GraphImageError::BadBase {
        image: base_name.clone(),
        source,
    })?;
    let (reader, root) = SourceReader::open(&ImageSource::Registry(base.clone()), sources).await?;
    let built = build_over(&reader, root, &layer).await?;
    reporter.event(Event::Collected(Collected::GraphImageBuilt {
        url: url.clone(),
        bytes: tarball.len(),
        base: base_name.clone(),
    }));
    let job = MirrorJob {
        source: ImageSource::Built {
            digest: built.root.digest.clone(),
            original: format!("graph image over {base_name}"),
        },
        destination: ImageDestination {
            registry: context.registry.clone(),
            repository: context.destination_repository(graph_data::GRAPH_IMAGE_REPO),
            tag: graph_data::GRAPH_IMAGE_TAG.to_string(),
        },
        platforms: PlatformFilter::all(),
        origin: ImageOrigin::Release,
    };
    let pinned = ImageReference {
        digest: Some(built.base_digest.clone()),
        ..base
    };
    let built = Arc::new(BuiltImage {
        base: Some(ImageSource::Registry(pinned)),
        root: built.root,
        manifests: built.manifests,
        blobs: built.blobs,
    });
    Ok(PlannedGraphImage { built, job })
}

struct Built {
    base_digest: Digest,
    root: RawManifest,
    manifests: HashMap<Digest, RawManifest>,
    blobs: HashMap<Digest, Bytes>,
}

/// Every platform image of the base plus the graph data layer, and the base's index over them.
async fn build_over(reader: &SourceReader, root: RawManifest, layer: &[u8]) -> Result<Built, GraphImageError> {
    let base_digest = root.digest.clone();
    let graph = walk::walk(reader, root.clone(), &PlatformFilter::all()).await?;
    let addition = Addition {
        tar: layer,
        created_by: format!("ADD graph data /{} # ferry", graph_data::GRAPH_DATA_DIR),
        cmd: json!(graph_data::GRAPH_IMAGE_CMD),
    };
    let mut blobs = HashMap::new();
    let mut manifests = HashMap::new();
    let mut replaced = Vec::new();
    for node in images(&graph) {
        let NodeContent::Image { config, .. } = &node.content else {
            continue;
        };
        let config = read_small_blob(reader, config).await?;
        let image = build::append_layer(&node.manifest, &config, &addition, &mut blobs)?;
        replaced.push((node.manifest.digest.clone(), image.clone()));
        manifests.insert(image.digest.clone(), image);
    }
    let new_root = if root.kind.is_index() {
        let index = build::rebuild_index(&root, &replaced)?;
        manifests.insert(index.digest.clone(), index.clone());
        index
    } else {
        replaced
            .into_iter()
            .map(|(_, image)| image)
            .next()
            .ok_or(BuildError::Malformed {
                digest: base_digest.clone(),
                reason: "the base image has no image manifest".into(),
            })?
    };
    Ok(Built {
        base_digest,
        root: new_root,
        manifests,
        blobs,
    })
}

/// The image manifests of a walked graph, attestations (unknown platforms) left out.
fn images(node: &ManifestNode) -> Vec<&ManifestNode> {
    match &node.content {
        NodeContent::Image { .. } => vec![node],
        NodeContent::Index { children, .. } => children
            .iter()
            .filter(|c| !c.platform.as_ref().is_some_and(|p| p.is_unknown()))
            .flat_map(images)
            .collect(),
    }
}
