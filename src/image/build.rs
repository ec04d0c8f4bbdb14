//! Building images over existing ones, deterministically: one layer appended to an image (config, history and
//! command updated to match, in the image's media-type family), and an index rewritten to point at the new images.
//! Rebuilt catalogs and the graph image are made this way; the same input always gives the same digests.

use std::collections::HashMap;
use std::io::Write;

use bytes::Bytes;
use serde_json::{json, Value};

use super::manifest::RawManifest;
use super::media_type::{self, ManifestKind};
use super::Digest;

const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// A fixed timestamp for every built artefact: reproducible digests.
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// Why an image could not be built over its original.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BuildError {
    #[error("image manifest {digest} cannot be rebuilt: {reason}")]
    Malformed { digest: Digest, reason: String },
    #[error("image manifest {digest} cannot be rebuilt: the config has no rootfs.diff_ids")]
    NoDiffIds { digest: Digest },
    #[error("cannot build the new layer: {0}")]
    Layer(#[from] std::io::Error),
}

/// What the appended layer holds and how the image runs with it.
pub(crate) struct Addition<'a> {
    /// The uncompressed layer (a tar).
    pub tar: &'a [u8],
    /// The history entry's `created_by`.
    pub created_by: String,
    /// The image's new `Cmd`.
    pub cmd: Value,
}

/// The gzip of `tar` with fixed headers (mtime 0, no name).
pub(crate) fn gzip_deterministic(tar: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    encoder.write_all(tar)?;
    encoder.finish()
}

/// The image `manifest` (with its `config` bytes) plus `addition`; the new layer and config go into `blobs`.
pub(crate) fn append_layer(
    manifest: &RawManifest,
    config: &[u8],
    addition: &Addition<'_>,
    blobs: &mut HashMap<Digest, Bytes>,
) -> Result<RawManifest, BuildError> {
    let docker = manifest.kind == ManifestKind::DockerManifest;
    let malformed = |reason: String| BuildError::Malformed {
        digest: manifest.digest.clone(),
        reason,
    };
    let gzip = gzip_deterministic(addition.tar)?;
    let diff_id = Digest::of_bytes(addition.tar);
    let layer_digest = Digest::of_bytes(&gzip);
    let layer_size = gzip.len();
    blobs.insert(layer_digest.clone(), Bytes::from(gzip));

    let mut config: Value = serde_json::from_slice(config).map_err(|e| malformed(e.to_string()))?;
    update_config(&mut config, manifest, addition, &diff_id)?;
    let config_bytes = Bytes::from(serde_json::to_vec(&config).map_err(|e| malformed(e.to_string()))?);
    let config_digest = Digest::of_bytes(&config_bytes);
    let config_size = config_bytes.len();
    blobs.insert(config_digest.clone(), config_bytes);

    let mut value: Value = serde_json::from_slice(&manifest.bytes).map_err(|e| malformed(e.to_string()))?;
    value["config"]["digest"] = json!(config_digest.to_string());
    value["config"]["size"] = json!(config_size);
    let layers = value["layers"]
        .as_array_mut()
        .ok_or_else(|| malformed("no layers".into()))?;
    layers.push(json!({
        "mediaType": if docker { DOCKER_LAYER } else { OCI_LAYER },
        "digest": layer_digest.to_string(),
        "size": layer_size,
    }));
    let bytes = serde_json::to_vec(&value).map_err(|e| malformed(e.to_string()))?;
    RawManifest::new(Bytes::from(bytes), Some(manifest.kind.media_type())).map_err(|e| malformed(e.to_string()))
}

/// Appends the new layer's diff_id and a history entry, and sets the command.
fn update_config(
    config: &mut Value,
    manifest: &RawManifest,
    addition: &Addition<'_>,
    diff_id: &Digest,
) -> Result<(), BuildError> {
    let diff_ids = config["rootfs"]["diff_ids"]
        .as_array_mut()
        .ok_or_else(|| BuildError::NoDiffIds {
            digest: manifest.digest.clone(),
        })?;
    diff_ids.push(json!(diff_id.to_string()));
    if let Some(history) = config.get_mut("history").and_then(Value::as_array_mut) {
        history.push(json!({
            "created": EPOCH,
            "created_by": addition.created_by,
            "comment": "rebuilt by ferry",
        }));
    }
    if let Some(object) = config.as_object_mut() {
        let runtime = object.entry("config").or_insert_with(|| json!({}));
        if let Some(runtime) = runtime.as_object_mut() {
            runtime.insert("Cmd".into(), addition.cmd.clone());
        }
    }
    Ok(())
}

/// The original index with only the rebuilt images, each entry pointing at its new image (`replaced`: original
/// digest → new image); other entries (attestations of the old images among them) are dropped.
pub(crate) fn rebuild_index(
    original: &RawManifest,
    replaced: &[(Digest, RawManifest)],
) -> Result<RawManifest, BuildError> {
    let malformed = |reason: String| BuildError::Malformed {
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
