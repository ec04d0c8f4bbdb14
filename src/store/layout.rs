//! Reading OCI image layout directories (`oci-layout`, `index.json`, `blobs/sha256/…`) as an image source.

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::io::AsyncReadExt;

use crate::image::manifest::{Descriptor, ManifestError, RawManifest};
use crate::image::Digest;

/// The annotation that names an image inside a layout.
pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CHUNK: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum LayoutError {
    #[error("{path} is not an OCI image layout: {reason}\n  help: point oci:// at a directory holding `oci-layout` and `index.json`")]
    NotALayout { path: PathBuf, reason: String },
    #[error("OCI layout {path} has no image named `{name}`; it has: {available}")]
    UnknownReference {
        path: PathBuf,
        name: String,
        available: String,
    },
    #[error("OCI layout {path} holds {count} images; name one with oci://{path}:NAME (available: {available})")]
    Ambiguous {
        path: PathBuf,
        count: usize,
        available: String,
    },
    #[error("blob {digest} is missing from OCI layout {path}")]
    MissingBlob { path: PathBuf, digest: Digest },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("cannot write {path}: {source}\n  help: check that the directory is writable and the disk is not full")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path} is an OCI image layout of version `{version}`; ferry writes version 1.0.0 only\n  help: write to an empty or new directory")]
    UnsupportedVersion { path: PathBuf, version: String },
    #[error(transparent)]
    Content(#[from] crate::store::drain::BlobContentError),
    #[error("`{name}` cannot name an image in an OCI layout: it must be components of letters and digits joined by `-`, `.`, `_`, `:`, `@`, `+` or `--`, separated by `/`")]
    InvalidName { name: String },
}

/// A read-only OCI image layout.
#[derive(Debug, Clone)]
pub(crate) struct OciLayout {
    root: PathBuf,
}

#[derive(serde::Deserialize)]
struct IndexFile {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

impl OciLayout {
    pub(crate) fn open(root: &Path) -> Result<OciLayout, LayoutError> {
        let marker = root.join("oci-layout");
        if !marker.is_file() {
            return Err(LayoutError::NotALayout {
                path: root.to_path_buf(),
                reason: "no `oci-layout` file".into(),
            });
        }
        Ok(OciLayout {
            root: root.to_path_buf(),
        })
    }

    fn entries(&self) -> Result<Vec<Descriptor>, LayoutError> {
        let path = self.root.join("index.json");
        let text = std::fs::read(&path).map_err(|source| LayoutError::Io {
            path: path.clone(),
            source,
        })?;
        let index: IndexFile = serde_json::from_slice(&text).map_err(|e| LayoutError::NotALayout {
            path: self.root.clone(),
            reason: format!("index.json: {e}"),
        })?;
        Ok(index.manifests)
    }

    /// The descriptor of the image named `name`, or of the only image when `name` is `None`.
    pub(crate) fn resolve(&self, name: Option<&str>) -> Result<Descriptor, LayoutError> {
        let entries = self.entries()?;
        let available = || {
            let names: Vec<&str> = entries
                .iter()
                .filter_map(|d| d.annotations.get(REF_NAME).map(String::as_str))
                .collect();
            if names.is_empty() {
                "no named images".to_string()
            } else {
                names.join(", ")
            }
        };
        match name {
            Some(name) => entries
                .iter()
                .find(|d| d.annotations.get(REF_NAME).map(String::as_str) == Some(name))
                .cloned()
                .ok_or_else(|| LayoutError::UnknownReference {
                    path: self.root.clone(),
                    name: name.into(),
                    available: available(),
                }),
            None if entries.len() == 1 => Ok(entries[0].clone()),
            None => Err(LayoutError::Ambiguous {
                path: self.root.clone(),
                count: entries.len(),
                available: available(),
            }),
        }
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join("sha256").join(digest.hex())
    }

    fn blob_error(&self, digest: &Digest, path: &Path, source: std::io::Error) -> LayoutError {
        match source.kind() {
            std::io::ErrorKind::NotFound => LayoutError::MissingBlob {
                path: self.root.clone(),
                digest: digest.clone(),
            },
            _ => LayoutError::Io {
                path: path.to_path_buf(),
                source,
            },
        }
    }

    /// Reads a manifest blob, verifying its digest.
    pub(crate) async fn read_manifest(
        &self,
        digest: &Digest,
        media_type: Option<&str>,
    ) -> Result<RawManifest, LayoutError> {
        let path = self.blob_path(digest);
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|source| self.blob_error(digest, &path, source))?;
        let manifest = RawManifest::new(Bytes::from(bytes), media_type.filter(|m| !m.is_empty()))?;
        if &manifest.digest != digest {
            return Err(LayoutError::NotALayout {
                path: self.root.clone(),
                reason: format!("blob {digest} has content with digest {}", manifest.digest),
            });
        }
        Ok(manifest)
    }

    /// Opens a blob as a stream of chunks and its size.
    pub(crate) async fn open_blob(
        &self,
        digest: &Digest,
    ) -> Result<(u64, impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static), LayoutError> {
        let path = self.blob_path(digest);
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|source| self.blob_error(digest, &path, source))?;
        let size = file
            .metadata()
            .await
            .map_err(|source| LayoutError::Io { path, source })?
            .len();
        Ok((size, read_chunks(file)))
    }
}

/// A file as a stream of chunks, never holding more than one chunk.
pub(crate) fn read_chunks<R>(reader: R) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    futures_util::stream::unfold(Some(reader), |state| async move {
        let mut reader = state?;
        let mut buffer = BytesMut::with_capacity(CHUNK);
        match reader.read_buf(&mut buffer).await {
            Ok(0) => None,
            Ok(_) => Some((Ok(buffer.freeze()), Some(reader))),
            Err(e) => Some((Err(e), None)),
        }
    })
}
