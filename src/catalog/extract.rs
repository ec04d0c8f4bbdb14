//! Reading a catalog image's declarative config, per platform: only the layers that build the configs directory are
//! fetched, streamed through gzip and tar (never unpacked to disk; kept whole in the run's blob spool, when there is
//! one, for the copy of the rebuilt catalog), whiteouts applied. Platforms whose configs come from the same layers
//! are read once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::image::manifest::{Descriptor, RawManifest};
use crate::image::walk::{self, ManifestNode, NodeContent};
use crate::image::{Digest, DigestHasher, Platform, PlatformFilter};
use crate::source::spool::SpoolWriter;
use crate::source::SourceError;
use crate::source::{ByteStream, SourceReader};

/// The image label naming the directory that holds the declarative config.
pub(crate) const CONFIGS_LABEL: &str = "operators.operatorframework.io.index.configs.v1";
/// Image configs bigger than this are refused.
const CONFIG_LIMIT: usize = 8 << 20;
/// A single file of a declarative config bigger than this is refused.
const FILE_LIMIT: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ExtractError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{image} is not a catalog image: its {platform} image has no `{CONFIGS_LABEL}` label\n  help: operator catalogs are file-based catalog images (built with `opm`)")]
    NotACatalog { image: String, platform: String },
    #[error("image config {digest} is not valid JSON: {reason}")]
    BadConfig { digest: Digest, reason: String },
    #[error("layer {digest} cannot be read: {reason}")]
    BadLayer { digest: Digest, reason: String },
    #[error("layer {digest} uses media type `{media_type}`, which ferry cannot decompress (gzip and plain tar are supported)")]
    UnsupportedLayer { digest: Digest, media_type: String },
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
    pub layers_fetched: usize,
    pub bytes_fetched: u64,
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

#[derive(Deserialize)]
struct History {
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    empty_layer: bool,
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
    let parsed: ImageConfig = serde_json::from_slice(&config_bytes).map_err(|e| ExtractError::BadConfig {
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
            let files = Arc::new(read_configs(reader, &relevant, &configs_dir, stats, fetched).await?);
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

/// The layers that can hold the configs directory. Catalog images add it with one `ADD`/`COPY` step, which the
/// image history names; when the history cannot be matched to the layers, every layer is read.
fn relevant_layers<'a>(layers: &'a [Descriptor], history: &[History], configs_dir: &str) -> Vec<&'a Descriptor> {
    let with_layers: Vec<&History> = history.iter().filter(|h| !h.empty_layer).collect();
    if with_layers.len() != layers.len() {
        return layers.iter().collect();
    }
    let target = format!("/{configs_dir}");
    let adds_configs = |h: &History| {
        h.created_by.as_deref().is_some_and(|c| {
            let c = c
                .trim_start_matches("/bin/sh -c ")
                .trim_start_matches("#(nop) ")
                .trim_start();
            (c.starts_with("ADD ") || c.starts_with("COPY ")) && c.contains(&target)
        })
    };
    let chosen: Vec<&Descriptor> = layers
        .iter()
        .zip(&with_layers)
        .filter(|(_, h)| adds_configs(h))
        .map(|(layer, _)| layer)
        .collect();
    if chosen.is_empty() {
        layers.iter().collect()
    } else {
        chosen
    }
}

async fn read_small_blob(reader: &SourceReader, descriptor: &Descriptor) -> Result<Bytes, ExtractError> {
    let (_, mut stream) = reader.open_blob(descriptor).await?;
    let mut hasher = DigestHasher::new();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ExtractError::BadConfig {
            digest: descriptor.digest.clone(),
            reason: e.to_string(),
        })?;
        hasher.update(&chunk);
        body.extend_from_slice(&chunk);
        if body.len() > CONFIG_LIMIT {
            return Err(ExtractError::BadConfig {
                digest: descriptor.digest.clone(),
                reason: "larger than 8 MiB".into(),
            });
        }
    }
    let actual = hasher.finish();
    if actual != descriptor.digest {
        return Err(ExtractError::BadConfig {
            digest: descriptor.digest.clone(),
            reason: format!("content has digest {actual}"),
        });
    }
    Ok(Bytes::from(body))
}

/// Reads the layers top-down, keeping the first (uppermost) version of each file and honouring whiteouts of upper
/// layers; stops below an opaque whiteout of the configs directory.
async fn read_configs(
    reader: &SourceReader,
    layers: &[&Descriptor],
    configs_dir: &str,
    stats: &mut ExtractStats,
    fetched: Option<&AtomicU64>,
) -> Result<Vec<(PathBuf, Bytes)>, ExtractError> {
    let mut overlay = Overlay::default();
    for layer in layers.iter().rev() {
        let entries = read_layer(reader, layer, configs_dir, fetched).await?;
        stats.layers_fetched += 1;
        stats.bytes_fetched += layer.size;
        if overlay.apply(entries, configs_dir) {
            break;
        }
    }
    let prefix = format!("{configs_dir}/");
    Ok(overlay
        .files
        .into_iter()
        .filter_map(|(path, bytes)| {
            path.strip_prefix(&prefix)
                .map(|relative| (PathBuf::from(relative), bytes))
        })
        .collect())
}

/// What one layer holds under the configs directory.
#[derive(Default)]
struct LayerEntries {
    files: Vec<(String, Bytes)>,
    whiteouts: Vec<String>,
    opaque_dirs: Vec<String>,
}

/// The union of the layers read so far, from the top.
#[derive(Default)]
struct Overlay {
    files: BTreeMap<String, Bytes>,
    hidden: HashSet<String>,
    opaque: Vec<String>,
}

impl Overlay {
    /// Adds a lower layer; true when nothing below can contribute any more.
    fn apply(&mut self, layer: LayerEntries, configs_dir: &str) -> bool {
        for (path, bytes) in layer.files {
            if !self.is_hidden(&path) && !self.files.contains_key(&path) {
                self.files.insert(path, bytes);
            }
        }
        self.hidden.extend(layer.whiteouts);
        self.opaque.extend(layer.opaque_dirs);
        self.opaque
            .iter()
            .any(|dir| dir == configs_dir || configs_dir.starts_with(&format!("{dir}/")))
            || self.hidden.contains(configs_dir)
    }

    fn is_hidden(&self, path: &str) -> bool {
        let under = |prefix: &String| path == prefix || path.starts_with(&format!("{prefix}/"));
        self.hidden.iter().any(under) || self.opaque.iter().any(|dir| path.starts_with(&format!("{dir}/")))
    }
}

/// Streams one layer through a blocking gzip + tar reader, verifying its digest, and keeps the configs entries.
async fn read_layer(
    reader: &SourceReader,
    layer: &Descriptor,
    configs_dir: &str,
    fetched: Option<&AtomicU64>,
) -> Result<LayerEntries, ExtractError> {
    let gzip = layer.media_type.contains("gzip") || layer.media_type.ends_with(".tar.gzip");
    let plain = layer.media_type.ends_with(".tar") || layer.media_type.ends_with("tar");
    if !gzip && !plain {
        return Err(ExtractError::UnsupportedLayer {
            digest: layer.digest.clone(),
            media_type: layer.media_type.clone(),
        });
    }
    let (_, stream) = reader.open_blob(layer).await?;
    let spooled = match reader.spool() {
        Some(spool) => spool.writer(&layer.digest).await,
        None => None,
    };
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    let configs_dir = configs_dir.to_string();
    let parse = tokio::task::spawn_blocking(move || {
        let input = ChannelReader {
            receiver,
            current: Bytes::new(),
        };
        if gzip {
            scan_tar(flate2::read::GzDecoder::new(input), &configs_dir)
                .and_then(|(entries, rest)| drain(rest.into_inner()).map(|()| entries))
        } else {
            scan_tar(input, &configs_dir).and_then(|(entries, rest)| drain(rest).map(|()| entries))
        }
    });
    let (actual, spooled) = feed(stream, sender, spooled, fetched).await;
    let bad = |reason: String| ExtractError::BadLayer {
        digest: layer.digest.clone(),
        reason,
    };
    // A parse that stopped early cut the feed short: its error says more than the digest of part of the layer.
    let entries = parse
        .await
        .map_err(|e| bad(e.to_string()))?
        .map_err(|reason| bad(printable(&reason)))?;
    if actual != layer.digest {
        return Err(bad(format!("content has digest {actual}")));
    }
    if let Some(writer) = spooled {
        writer.keep().await;
    }
    Ok(entries)
}

/// Hands the layer's chunks to the parser (and the spool) until the stream ends, fails, or the parser stops;
/// returns the digest of what was read and the spool writer if it is still good.
async fn feed<'s>(
    mut stream: ByteStream,
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
    mut spooled: Option<SpoolWriter<'s>>,
    fetched: Option<&AtomicU64>,
) -> (Digest, Option<SpoolWriter<'s>>) {
    let mut hasher = DigestHasher::new();
    while let Some(chunk) = stream.next().await {
        let failed = chunk.is_err();
        if let Ok(bytes) = &chunk {
            hasher.update(bytes);
            if let Some(fetched) = fetched {
                fetched.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
            if let Some(writer) = &mut spooled {
                if writer.write(bytes).await.is_err() {
                    spooled = None;
                }
            }
        }
        if sender.send(chunk).await.is_err() || failed {
            break;
        }
    }
    (hasher.finish(), spooled)
}

/// Error texts from a corrupt archive may quote binary garbage: keep them short and printable.
fn printable(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() || c == '\u{fffd}' { '?' } else { c })
        .collect();
    match cleaned.char_indices().nth(160) {
        Some((cut, _)) => format!("{}...", &cleaned[..cut]),
        None => cleaned,
    }
}

/// Bridges an async channel of chunks to a blocking `Read`.
struct ChannelReader {
    receiver: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Reads what follows the end of a layer's tar (padding, the gzip trailer), so that every byte reaches the digest
/// check instead of the channel closing under the sender.
fn drain(mut rest: impl Read) -> Result<(), String> {
    std::io::copy(&mut rest, &mut std::io::sink())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The configs entries of a layer, and the input positioned after the end of the tar.
fn scan_tar<R: Read>(input: R, configs_dir: &str) -> Result<(LayerEntries, R), String> {
    let mut archive = tar::Archive::new(input);
    let mut out = LayerEntries::default();
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = normalize(&entry.path().map_err(|e| e.to_string())?.to_string_lossy());
        if !(path == configs_dir || path.starts_with(&format!("{configs_dir}/"))) {
            continue;
        }
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        if name == ".wh..wh..opq" {
            out.opaque_dirs.push(dir.to_string());
        } else if let Some(deleted) = name.strip_prefix(".wh.") {
            out.whiteouts.push(if dir.is_empty() {
                deleted.to_string()
            } else {
                format!("{dir}/{deleted}")
            });
        } else if entry.header().entry_type().is_file() {
            if entry.size() > FILE_LIMIT {
                return Err(format!("{path} is larger than {FILE_LIMIT} bytes"));
            }
            let mut bytes = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
            if path != configs_dir {
                out.files.push((path, Bytes::from(bytes)));
            }
        }
    }
    Ok((out, archive.into_inner()))
}

/// `./configs/a.json` and `/configs/a.json` both become `configs/a.json`; `..` components are dropped.
fn normalize(path: &str) -> String {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != "." && *c != "..")
        .collect::<Vec<_>>()
        .join("/")
}
