//! Reading the files of one directory of an image from its layers, in place: each layer streamed through gzip and
//! tar (never unpacked to disk; kept whole in the run's blob spool, when there is one, for a later copy), digests
//! verified, whiteouts applied, the uppermost version of each file kept. Catalogs read their configs directory
//! this way and release payloads their `release-manifests/`.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::spool::SpoolWriter;
use super::{ByteStream, SourceError, SourceReader};
use crate::image::manifest::Descriptor;
use crate::image::{Digest, DigestHasher};

/// Image configs bigger than this are refused.
const CONFIG_LIMIT: usize = 8 << 20;
/// A single file bigger than this is refused.
const FILE_LIMIT: u64 = 256 << 20;

/// Why an image config or layer could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LayerError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("image config {digest} is not valid JSON: {reason}")]
    BadConfig { digest: Digest, reason: String },
    #[error("layer {digest} cannot be read: {reason}")]
    BadLayer { digest: Digest, reason: String },
    #[error("layer {digest} uses media type `{media_type}`, which ferry cannot decompress (gzip and plain tar are supported)")]
    UnsupportedLayer { digest: Digest, media_type: String },
}

/// Why the tar stream of a layer could not be read.
#[derive(Debug, thiserror::Error)]
enum TarError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{path} is larger than {FILE_LIMIT} bytes")]
    FileTooLarge { path: String },
}

/// What reading layers cost: how many were fetched, and their bytes.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LayerStats {
    pub layers_fetched: usize,
    pub bytes_fetched: u64,
}

/// One step of an image's history (`created_by`, and whether it made a layer).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct History {
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub empty_layer: bool,
}

/// The layers that can hold the directory `configs_dir`. Images add such a directory with one `ADD`/`COPY` step,
/// which the image history names; when the history cannot be matched to the layers, every layer is read.
pub(crate) fn relevant_layers<'a>(
    layers: &'a [Descriptor],
    history: &[History],
    configs_dir: &str,
) -> Vec<&'a Descriptor> {
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

/// Reads a small blob (an image config) whole, verifying its digest.
pub(crate) async fn read_small_blob(reader: &SourceReader, descriptor: &Descriptor) -> Result<Bytes, LayerError> {
    let (_, mut stream) = reader.open_blob(descriptor).await?;
    let mut hasher = DigestHasher::new();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| LayerError::BadConfig {
            digest: descriptor.digest.clone(),
            reason: e.to_string(),
        })?;
        hasher.update(&chunk);
        body.extend_from_slice(&chunk);
        if body.len() > CONFIG_LIMIT {
            return Err(LayerError::BadConfig {
                digest: descriptor.digest.clone(),
                reason: "larger than 8 MiB".into(),
            });
        }
    }
    let actual = hasher.finish();
    if actual != descriptor.digest {
        return Err(LayerError::BadConfig {
            digest: descriptor.digest.clone(),
            reason: format!("content has digest {actual}"),
        });
    }
    Ok(Bytes::from(body))
}

/// Reads the files under `configs_dir` from `layers` (bottom to top, as the manifest lists them), top-down, keeping the first (uppermost) version of each file and honouring whiteouts of upper
/// layers; stops below an opaque whiteout of the configs directory.
pub(crate) async fn read_directory(
    reader: &SourceReader,
    layers: &[&Descriptor],
    configs_dir: &str,
    stats: &mut LayerStats,
    fetched: Option<&AtomicU64>,
) -> Result<Vec<(PathBuf, Bytes)>, LayerError> {
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
) -> Result<LayerEntries, LayerError> {
    let gzip = layer.media_type.contains("gzip") || layer.media_type.ends_with(".tar.gzip");
    let plain = layer.media_type.ends_with(".tar") || layer.media_type.ends_with("tar");
    if !gzip && !plain {
        return Err(LayerError::UnsupportedLayer {
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
    let bad = |reason: String| LayerError::BadLayer {
        digest: layer.digest.clone(),
        reason,
    };
    // A parse that stopped early cut the feed short: its error says more than the digest of part of the layer.
    let entries = parse
        .await
        .map_err(|e| bad(e.to_string()))?
        .map_err(|reason| bad(printable(&reason.to_string())))?;
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
fn drain(mut rest: impl Read) -> Result<(), TarError> {
    std::io::copy(&mut rest, &mut std::io::sink())?;
    Ok(())
}

/// The configs entries of a layer, and the input positioned after the end of the tar.
fn scan_tar<R: Read>(input: R, configs_dir: &str) -> Result<(LayerEntries, R), TarError> {
    let mut archive = tar::Archive::new(input);
    let mut out = LayerEntries::default();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = normalize(&entry.path()?.to_string_lossy());
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
                return Err(TarError::FileTooLarge { path });
            }
            let mut bytes = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut bytes)?;
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
