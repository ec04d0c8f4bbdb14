//! Rebuilding a filtered catalog image: per kept platform, the original layers plus one deterministic layer holding
//! the filtered declarative config (hiding the old directory), an updated config, in the original media-type family;
//! then a new index of those platforms. The same input always gives the same bytes, so the same digests.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use bytes::Bytes;
use serde_json::{json, Value};

use super::extract::CatalogPlatform;
use crate::image::manifest::RawManifest;
use crate::image::media_type::{self, ManifestKind};
use crate::image::Digest;

const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// A fixed timestamp for every rebuilt artefact: reproducible digests.
const EPOCH: &str = "1970-01-01T00:00:00Z";

#[derive(Debug, thiserror::Error)]
pub(crate) enum RebuildError {
    #[error("catalog image manifest {digest} cannot be rebuilt: {reason}")]
    Malformed { digest: Digest, reason: String },
    #[error("catalog image manifest {digest} cannot be rebuilt: the config has no rootfs.diff_ids")]
    NoDiffIds { digest: Digest },
    #[error("cannot build the declarative config layer: {0}")]
    Layer(#[from] std::io::Error),
}

/// The new content of a rebuilt catalog: its root manifest and every new manifest and blob, by digest. Everything
/// else (the original layers) is read from the original image.
#[derive(Debug, Clone)]
pub(crate) struct RebuiltCatalog {
    pub root: RawManifest,
    pub manifests: HashMap<Digest, RawManifest>,
    pub blobs: HashMap<Digest, Bytes>,
}

/// One platform to rebuild with its filtered declarative config (paths relative to the configs directory).
pub(crate) struct PlatformConfigs<'a> {
    pub platform: &'a CatalogPlatform,
    pub files: Vec<(PathBuf, Bytes)>,
}

/// Rebuilds the catalog. `original_root` is the image's root manifest: an index keeps its other fields and the
/// entries of the rebuilt platforms (attestations of the old images are dropped); a single image becomes the new image.
pub(crate) fn rebuild(
    original_root: &RawManifest,
    platforms: &[PlatformConfigs<'_>],
) -> Result<RebuiltCatalog, RebuildError> {
    let mut manifests = HashMap::new();
    let mut blobs = HashMap::new();
    let mut replaced: Vec<(Digest, RawManifest)> = Vec::new();
    for item in platforms {
        let image = rebuild_platform(item, &mut blobs)?;
        replaced.push((item.platform.manifest.digest.clone(), image.clone()));
        manifests.insert(image.digest.clone(), image);
    }
    let root = if original_root.kind.is_index() {
        let index = rebuild_index(original_root, &replaced)?;
        manifests.insert(index.digest.clone(), index.clone());
        index
    } else {
        replaced
            .first()
            .map(|(_, image)| image.clone())
            .ok_or_else(|| RebuildError::Malformed {
                digest: original_root.digest.clone(),
                reason: "no platform to rebuild".into(),
            })?
    };
    Ok(RebuiltCatalog { root, manifests, blobs })
}

fn rebuild_platform(
    item: &PlatformConfigs<'_>,
    blobs: &mut HashMap<Digest, Bytes>,
) -> Result<RawManifest, RebuildError> {
    let platform = item.platform;
    let docker = platform.manifest.kind == ManifestKind::DockerManifest;
    let malformed = |reason: String| RebuildError::Malformed {
        digest: platform.manifest.digest.clone(),
        reason,
    };
    let (tar, gzip) = configs_layer(&platform.configs_dir, &item.files)?;
    let diff_id = Digest::of_bytes(&tar);
    let layer_digest = Digest::of_bytes(&gzip);
    let layer_size = gzip.len();
    blobs.insert(layer_digest.clone(), Bytes::from(gzip));

    let mut config: Value = serde_json::from_slice(&platform.config).map_err(|e| malformed(e.to_string()))?;
    update_config(&mut config, platform, &diff_id)?;
    let config_bytes = Bytes::from(serde_json::to_vec(&config).map_err(|e| malformed(e.to_string()))?);
    let config_digest = Digest::of_bytes(&config_bytes);
    let config_size = config_bytes.len();
    blobs.insert(config_digest.clone(), config_bytes);

    let mut manifest: Value = serde_json::from_slice(&platform.manifest.bytes).map_err(|e| malformed(e.to_string()))?;
    manifest["config"]["digest"] = json!(config_digest.to_string());
    manifest["config"]["size"] = json!(config_size);
    let layers = manifest["layers"]
        .as_array_mut()
        .ok_or_else(|| malformed("no layers".into()))?;
    layers.push(json!({
        "mediaType": if docker { DOCKER_LAYER } else { OCI_LAYER },
        "digest": layer_digest.to_string(),
        "size": layer_size,
    }));
    let bytes = serde_json::to_vec(&manifest).map_err(|e| malformed(e.to_string()))?;
    RawManifest::new(Bytes::from(bytes), Some(platform.manifest.kind.media_type()))
        .map_err(|e| malformed(e.to_string()))
}

/// Appends the new layer's diff_id and a history entry, and serves the configs without a prebuilt cache (the old
/// cache describes the unfiltered catalog).
fn update_config(config: &mut Value, platform: &CatalogPlatform, diff_id: &Digest) -> Result<(), RebuildError> {
    let configs_dir = &platform.configs_dir;
    let diff_ids = config["rootfs"]["diff_ids"]
        .as_array_mut()
        .ok_or_else(|| RebuildError::NoDiffIds {
            digest: platform.manifest.digest.clone(),
        })?;
    diff_ids.push(json!(diff_id.to_string()));
    if let Some(history) = config.get_mut("history").and_then(Value::as_array_mut) {
        history.push(json!({
            "created": EPOCH,
            "created_by": format!("COPY filtered declarative config /{configs_dir} # ferry"),
            "comment": "rebuilt by ferry",
        }));
    }
    if let Some(runtime) = config.get_mut("config").and_then(Value::as_object_mut) {
        runtime.insert("Cmd".into(), json!(["serve", format!("/{configs_dir}")]));
    }
    Ok(())
}

/// A tar holding the configs directory with an opaque whiteout (the original content is hidden), gzip-compressed
/// with fixed headers: mtime 0, uid/gid 0, no names, sorted entries.
fn configs_layer(configs_dir: &str, files: &[(PathBuf, Bytes)]) -> Result<(Vec<u8>, Vec<u8>), std::io::Error> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    append_dir(&mut builder, configs_dir)?;
    append_file(&mut builder, &format!("{configs_dir}/.wh..wh..opq"), &[])?;
    let mut sorted: Vec<&(PathBuf, Bytes)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut dirs_written = std::collections::BTreeSet::new();
    for (path, bytes) in sorted {
        let relative = path.to_string_lossy();
        let mut parent = String::new();
        for component in relative.split('/').rev().skip(1).collect::<Vec<_>>().into_iter().rev() {
            parent = if parent.is_empty() {
                component.to_string()
            } else {
                format!("{parent}/{component}")
            };
            if dirs_written.insert(parent.clone()) {
                append_dir(&mut builder, &format!("{configs_dir}/{parent}"))?;
            }
        }
        append_file(&mut builder, &format!("{configs_dir}/{relative}"), bytes)?;
    }
    let tar = builder.into_inner()?;
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    encoder.write_all(&tar)?;
    let gzip = encoder.finish()?;
    Ok((tar, gzip))
}

fn append_dir(builder: &mut tar::Builder<Vec<u8>>, path: &str) -> std::io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_size(0);
    header.set_mtime(0);
    builder.append_data(&mut header, format!("{path}/"), std::io::empty())
}

fn append_file(builder: &mut tar::Builder<Vec<u8>>, path: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_size(bytes.len() as u64);
    header.set_mtime(0);
    builder.append_data(&mut header, path, bytes)
}

/// The original index with only the rebuilt platforms, each entry pointing at its new image.
fn rebuild_index(original: &RawManifest, replaced: &[(Digest, RawManifest)]) -> Result<RawManifest, RebuildError> {
    let malformed = |reason: String| RebuildError::Malformed {
        digest: original.digest.clone(),
        reason,
    };
    let mut index: Value = serde_json::from_slice(&original.bytes).map_err(|e| malformed(e.to_string()))?;
    let entries = index["manifests"]
        .as_array_mut()
        .ok_or_else(|| malformed("no manifests".into()))?;
    let mut kept = Vec::new();
    for mut entry in entries.drain(..) {
        let digest = entry["digest"].as_str().and_then(|d| d.parse::<Digest>().ok());
        if let Some((_, image)) = replaced.iter().find(|(old, _)| Some(old) == digest.as_ref()) {
            entry["digest"] = json!(image.digest.to_string());
            entry["size"] = json!(image.size());
            entry["mediaType"] = json!(image.media_type());
            kept.push(entry);
        }
    }
    *entries = kept;
    let media = if original.kind == ManifestKind::DockerManifestList {
        media_type::DOCKER_MANIFEST_LIST
    } else {
        media_type::OCI_INDEX
    };
    let bytes = serde_json::to_vec(&index).map_err(|e| malformed(e.to_string()))?;
    RawManifest::new(Bytes::from(bytes), Some(media)).map_err(|e| malformed(e.to_string()))
}
