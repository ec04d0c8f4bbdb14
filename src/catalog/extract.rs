//! Reading a catalog image's declarative config, per platform: only the layers that build the configs directory are
//! fetched, streamed through gzip and tar (never unpacked to disk; kept whole in the run's blob spool, when there is
//! one, for the copy of the rebuilt catalog), whiteouts applied. Platforms whose configs come from the same layers
//! are read once.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;

use crate::image::manifest::RawManifest;
use crate::image::walk::{self, ManifestNode, NodeContent};
use crate::image::{Digest, Platform, PlatformFilter};
use crate::source::layers::{read_directory, read_small_blob, relevant_layers, History, LayerError, LayerStats};
use crate::source::{SourceError, SourceReader};

/// The image label naming the directory that holds the declarative config.
pub(crate) const CONFIGS_LABEL: &str = "operators.operatorframework.io.index.configs.v1";

#[derive(Debug, thiserror::Error)]
pub(crate) enum ExtractError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{image} is not a catalog image: its {platform} image has no `{CONFIGS_LABEL}` label\n  help: operator catalogs are file-based catalog images (built with `opm`)")]
    NotACatalog { image: String, platform: String },
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error("no platform of {image} is a catalog for the selected platforms")]
    NoPlatform { image: String },
}

/// Files of a configs directory (paths relative to it), shared by the platforms that have the same content.
pub(crate) type ConfigFiles = Arc<Vec<(PathBuf, Bytes)>>;

/// The declarative config of one platform of a catalog image.
#[derive(Debug, Clone)]
pub(crate) struct CatalogPlatform {
    /// None for a single-platform catalog image.
    pub platform: Option<Platform>,
    /// The platform's image manifest, as served.
    pub manifest: RawManifest,
    /// The image config, as served.
    pub config: Bytes,
    /// The configs directory the label names, without leading `/` (`configs`).
    pub configs_dir: String,
    /// The layers the configs were read from (bottom to top): platforms with the same list share their content.
    pub content_key: Vec<Digest>,
    /// Files under the configs directory (paths relative to it) and their contents.
    pub files: ConfigFiles,
}

/// How many bytes extraction fetched, for reports and benchmarks.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ExtractStats {
    pub layers: LayerStats,
    pub platforms_shared: usize,
}

#[derive(Deserialize)]
struct ImageConfig {
    #[serde(default)]
    config: Option<RuntimeConfig>,
    #[serde(default)]
    history: Vec<History>,
}

#[derive(Deserialize)]
struct RuntimeConfig {
    #[serde(rename = "Labels", default)]
    labels: Option<BTreeMap<String, String>>,
}

/// Walks the catalog image from `root` for the platforms `filter` keeps and reads each platform's configs. The bytes
/// of the layers read are added to `fetched` as they arrive, for progress displays.
pub(crate) async fn extract(
    reader: &SourceReader,
    image: &str,
    root: RawManifest,
    filter: &PlatformFilter,
    fetched: Option<&AtomicU64>,
) -> Result<(Vec<CatalogPlatform>, ExtractStats), ExtractError> {
    let graph = walk::walk(reader, root, filter).await.map_err(ExtractError::from)?;
    let mut images = Vec::new();
    collect_images(&graph, &mut images);
    let mut shared: HashMap<Vec<Digest>, ConfigFiles> = HashMap::new();
    let mut stats = ExtractStats::default();
    let mut platforms = Vec::new();
    for node in images {
        let Some(platform) = read_platform(reader, image, node, &mut shared, &mut stats, fetched).await? else {
            continue;
        };
        platforms.push(platform);
    }
    if platforms.is_empty() {
        return Err(ExtractError::NoPlatform {
            image: image.to_string(),
        });
    }
    Ok((platforms, stats))
}

fn collect_images<'a>(node: &'a ManifestNode, out: &mut Vec<&'a ManifestNode>) {
    match &node.content {
        NodeContent::Image { .. } => out.push(node),
        NodeContent::Index { children, .. } => children.iter().for_each(|c| collect_images(c, out)),
    }
}

async fn read_platform(
    reader: &SourceReader,
    image: &str,
    node: &ManifestNode,
    shared: &mut HashMap<Vec<Digest>, ConfigFiles>,
    stats: &mut ExtractStats,
    fetched: Option<&AtomicU64>,
) -> Result<Option<CatalogPlatform>, ExtractError> {
    let NodeContent::Image { config, layers } = &node.content else {
        return Ok(None);
    };
    let config_bytes = read_small_blob(reader, config).await?;
    let parsed: ImageConfig = serde_json::from_slice(&config_bytes).map_err(|e| LayerError::BadConfig {
        digest: config.digest.clone(),
        reason: e.to_string(),
    })?;
    let label = parsed
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .and_then(|l| l.get(CONFIGS_LABEL));
    let Some(label) = label else {
        if node.platform.as_ref().is_some_and(Platform::is_unknown) {
            return Ok(None); // attestations and other non-runnable entries
        }
        return Err(ExtractError::NotACatalog {
            image: image.to_string(),
            platform: node
                .platform
                .as_ref()
                .map_or("single-platform".into(), ToString::to_string),
        });
    };
    let configs_dir = label.trim_matches('/').to_string();
    let relevant = relevant_layers(layers, &parsed.history, &configs_dir);
    let mut content_key: Vec<Digest> = relevant.iter().map(|l| l.digest.clone()).collect();
    content_key.push(Digest::of_bytes(configs_dir.as_bytes()));
    let files = match shared.get(&content_key) {
        Some(files) => {
            stats.platforms_shared += 1;
            files.clone()
        }
        None => {
            let files = Arc::new(read_directory(reader, &relevant, &configs_dir, &mut stats.layers, fetched).await?);
            shared.insert(content_key.clone(), files.clone());
            files
        }
    };
    Ok(Some(CatalogPlatform {
        platform: node.platform.clone(),
        manifest: node.manifest.clone(),
        config: config_bytes,
        configs_dir,
        content_key,
        files,
    }))
}
