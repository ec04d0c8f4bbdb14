//! Rebuilding a filtered catalog image: per kept platform, the original layers plus one deterministic layer holding
//! the filtered declarative config (hiding the old directory), an updated config, in the original media-type family;
//! then a new index of those platforms. The same input always gives the same bytes, so the same digests.

use std::collections::HashMap;
use std::path::PathBuf;

use bytes::Bytes;
use serde_json::json;

use super::extract::CatalogPlatform;
use crate::image::build::{self, Addition, BuildError};
use crate::image::manifest::RawManifest;
use crate::image::Digest;

/// Why a catalog image could not be rebuilt.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RebuildError {
    #[error("catalog image manifest {digest} cannot be rebuilt: {reason}")]
    Malformed { digest: Digest, reason: String },
    #[error("catalog {0}")]
    Build(#[from] BuildError),
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
        let index = build::rebuild_index(original_root, &replaced)?;
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
    let configs_dir = &platform.configs_dir;
    let tar = configs_layer(configs_dir, &item.files)?;
    // Served without a prebuilt cache: the old cache describes the unfiltered catalog.
    let addition = Addition {
        tar: &tar,
        created_by: format!("COPY filtered declarative config /{configs_dir} # ferry"),
        cmd: json!(["serve", format!("/{configs_dir}")]),
    };
    Ok(build::append_layer(
        &platform.manifest,
        &platform.config,
        &addition,
        blobs,
    )?)
}

/// A tar holding the configs directory with an opaque whiteout (the original content is hidden), with fixed
/// headers: mtime 0, uid/gid 0, no names, sorted entries.
fn configs_layer(configs_dir: &str, files: &[(PathBuf, Bytes)]) -> Result<Vec<u8>, std::io::Error> {
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
    builder.into_inner()
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
