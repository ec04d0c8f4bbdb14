//! Read-only views of manifests and indexes over their raw bytes (never re-serialized), and the one place that
//! builds a new index: a platform-filtered rewrite.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Deserialize;

use super::media_type::{self, ManifestKind};
use super::{Digest, Platform};

/// A manifest exactly as a registry or layout served it.
#[derive(Debug, Clone)]
pub(crate) struct RawManifest {
    pub bytes: Bytes,
    pub kind: ManifestKind,
    pub digest: Digest,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ManifestError {
    #[error("manifest {digest} is not valid JSON of a known manifest type: {reason}")]
    Malformed { digest: Digest, reason: String },
    #[error("manifest {digest} uses Docker schema 1, which is deprecated and not supported: rebuild or re-push the image with a current client")]
    Schema1 { digest: Digest },
    #[error("manifest {digest} has media type `{media_type}`, which is not an image manifest or index")]
    UnknownMediaType { digest: Digest, media_type: String },
}

impl RawManifest {
    /// Wraps bytes, deciding the kind from the declared content type when known, else from the body.
    pub(crate) fn new(bytes: Bytes, declared_type: Option<&str>) -> Result<RawManifest, ManifestError> {
        let digest = Digest::of_bytes(&bytes);
        let kind = declared_type
            .and_then(ManifestKind::from_media_type)
            .or_else(|| media_type::sniff(&bytes))
            .ok_or_else(|| match declared_type {
                Some(t) if !t.contains("json") || !t.starts_with("application/vnd") => {
                    ManifestError::UnknownMediaType {
                        digest: digest.clone(),
                        media_type: t.to_string(),
                    }
                }
                _ => ManifestError::Malformed {
                    digest: digest.clone(),
                    reason: "no mediaType, manifests or layers".into(),
                },
            })?;
        if kind == ManifestKind::Schema1 {
            return Err(ManifestError::Schema1 { digest });
        }
        Ok(RawManifest { bytes, kind, digest })
    }

    pub(crate) fn media_type(&self) -> &'static str {
        self.kind.media_type()
    }

    pub(crate) fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The parsed view: an index with children, or an image with config and layers.
    pub(crate) fn parse(&self) -> Result<ManifestView, ManifestError> {
        let malformed = |e: serde_json::Error| ManifestError::Malformed {
            digest: self.digest.clone(),
            reason: e.to_string(),
        };
        if self.kind.is_index() {
            let index: IndexJson = serde_json::from_slice(&self.bytes).map_err(malformed)?;
            Ok(ManifestView::Index(index.manifests))
        } else {
            let image: ImageJson = serde_json::from_slice(&self.bytes).map_err(malformed)?;
            Ok(ManifestView::Image {
                config: image.config,
                layers: image.layers,
            })
        }
    }
}

/// What a manifest references.
#[derive(Debug, Clone)]
pub(crate) enum ManifestView {
    Index(Vec<Descriptor>),
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
}

/// An OCI content descriptor (the fields ferry reads).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default)]
    pub platform: Option<DescriptorPlatform>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub urls: Vec<String>,
}

/// The platform object of an index entry.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub(crate) struct DescriptorPlatform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

/// Annotation that ties an attestation manifest to the image it describes.
pub(crate) const ATTESTATION_REFERENCE: &str = "vnd.docker.reference.digest";

impl Descriptor {
    pub(crate) fn platform(&self) -> Option<Platform> {
        self.platform.as_ref().map(|p| Platform {
            os: p.os.clone(),
            architecture: p.architecture.clone(),
            variant: p.variant.clone().filter(|v| !v.is_empty()),
        })
    }

    /// For an attestation entry (`unknown/unknown` + `vnd.docker.reference.digest`): the digest it describes.
    pub(crate) fn attests(&self) -> Option<Digest> {
        let platform = self.platform()?;
        if !platform.is_unknown() {
            return None;
        }
        self.annotations.get(ATTESTATION_REFERENCE)?.parse().ok()
    }

    /// Foreign or non-distributable layers are referenced, not copied.
    pub(crate) fn is_non_distributable(&self) -> bool {
        media_type::is_non_distributable(&self.media_type) || !self.urls.is_empty()
    }
}

#[derive(Deserialize)]
struct IndexJson {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct ImageJson {
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

/// Builds a new index from `original` that keeps only the children whose digests are in `keep`, with every other field
/// and every kept entry as it was (key order preserved). Replaced children (a nested index that was itself rewritten)
/// get their new digest and size.
pub(crate) fn rewrite_index(
    original: &RawManifest,
    keep: &dyn Fn(&Digest) -> Option<(Digest, u64)>,
) -> Result<RawManifest, ManifestError> {
    let malformed = |reason: String| ManifestError::Malformed {
        digest: original.digest.clone(),
        reason,
    };
    let mut value: serde_json::Value = serde_json::from_slice(&original.bytes).map_err(|e| malformed(e.to_string()))?;
    let manifests = value
        .get_mut("manifests")
        .and_then(|m| m.as_array_mut())
        .ok_or_else(|| malformed("index without a manifests array".into()))?;
    let mut kept = Vec::with_capacity(manifests.len());
    for mut entry in manifests.drain(..) {
        let digest: Digest = entry
            .get("digest")
            .and_then(|d| d.as_str())
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| malformed("index entry without a valid digest".into()))?;
        if let Some((new_digest, new_size)) = keep(&digest) {
            entry["digest"] = serde_json::Value::String(new_digest.to_string());
            entry["size"] = serde_json::Value::from(new_size);
            kept.push(entry);
        }
    }
    *manifests = kept;
    let bytes = serde_json::to_vec(&value).map_err(|e| malformed(e.to_string()))?;
    RawManifest::new(Bytes::from(bytes), Some(original.kind.media_type()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_bytes() -> (Bytes, Digest, Digest) {
        let a = Digest::of_bytes(b"a");
        let b = Digest::of_bytes(b"b");
        let json = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{{"mediaType":"{}","digest":"{a}","size":1,"platform":{{"architecture":"amd64","os":"linux"}}}},{{"mediaType":"{}","digest":"{b}","size":1,"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}}],"annotations":{{"z":"1","a":"2"}}}}"#,
            media_type::OCI_INDEX,
            media_type::OCI_MANIFEST,
            media_type::OCI_MANIFEST
        );
        (Bytes::from(json), a, b)
    }

    #[test]
    fn parses_index_children_with_platforms() {
        let (bytes, a, _) = index_bytes();
        let raw = RawManifest::new(bytes, None).unwrap();
        let ManifestView::Index(children) = raw.parse().unwrap() else {
            panic!("not an index")
        };
        assert_eq!(children.len(), 2);
        assert_eq!(children[0].digest, a);
        assert_eq!(children[1].platform().unwrap().to_string(), "linux/arm64/v8");
    }

    #[test]
    fn rewrite_keeps_key_order_and_selected_children() {
        let (bytes, a, b) = index_bytes();
        let raw = RawManifest::new(bytes, None).unwrap();
        let rewritten = rewrite_index(&raw, &|d| (d == &b).then(|| (d.clone(), 1))).unwrap();
        let text = std::str::from_utf8(&rewritten.bytes).unwrap();
        assert!(text.contains(b.as_str()) && !text.contains(a.as_str()));
        assert!(
            text.find("\"z\"").unwrap() < text.find("\"a\"").unwrap(),
            "annotation order kept: {text}"
        );
        assert_ne!(rewritten.digest, raw.digest);
    }

    #[test]
    fn schema1_is_refused_with_a_message() {
        let err = RawManifest::new(Bytes::from_static(br#"{"schemaVersion":1,"fsLayers":[]}"#), None).unwrap_err();
        assert!(err.to_string().contains("schema 1"));
    }
}
