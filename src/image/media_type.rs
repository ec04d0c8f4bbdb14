//! Manifest media types: the four that ferry copies, the legacy one it refuses, and sniffing a type from a body.

pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub(crate) const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub(crate) const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// The `Accept` header for manifest requests: every type ferry can copy (registries answer 404 for an index otherwise).
pub(crate) const MANIFEST_ACCEPT: &str =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// What a manifest is, by family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ManifestKind {
    OciIndex,
    DockerManifestList,
    OciManifest,
    DockerManifest,
    /// Docker schema 1: deprecated, not copied.
    Schema1,
}

impl ManifestKind {
    pub(crate) fn from_media_type(media_type: &str) -> Option<ManifestKind> {
        match media_type.split(';').next().unwrap_or("").trim() {
            OCI_INDEX => Some(ManifestKind::OciIndex),
            DOCKER_MANIFEST_LIST => Some(ManifestKind::DockerManifestList),
            OCI_MANIFEST => Some(ManifestKind::OciManifest),
            DOCKER_MANIFEST => Some(ManifestKind::DockerManifest),
            DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED => Some(ManifestKind::Schema1),
            _ => None,
        }
    }

    pub(crate) fn media_type(self) -> &'static str {
        match self {
            ManifestKind::OciIndex => OCI_INDEX,
            ManifestKind::DockerManifestList => DOCKER_MANIFEST_LIST,
            ManifestKind::OciManifest => OCI_MANIFEST,
            ManifestKind::DockerManifest => DOCKER_MANIFEST,
            ManifestKind::Schema1 => DOCKER_SCHEMA1,
        }
    }

    pub(crate) fn is_index(self) -> bool {
        matches!(self, ManifestKind::OciIndex | ManifestKind::DockerManifestList)
    }
}

/// Decides the kind of a manifest from its body: its `mediaType` field when present, else its shape
/// (OCI allows omitting `mediaType`; some registries omit `Content-Type`).
pub(crate) fn sniff(body: &[u8]) -> Option<ManifestKind> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Shape {
        schema_version: Option<u32>,
        media_type: Option<String>,
        manifests: Option<serde::de::IgnoredAny>,
        layers: Option<serde::de::IgnoredAny>,
        fs_layers: Option<serde::de::IgnoredAny>,
    }
    let shape: Shape = serde_json::from_slice(body).ok()?;
    if let Some(kind) = shape.media_type.as_deref().and_then(ManifestKind::from_media_type) {
        return Some(kind);
    }
    if shape.schema_version == Some(1) || shape.fs_layers.is_some() {
        return Some(ManifestKind::Schema1);
    }
    if shape.manifests.is_some() {
        return Some(ManifestKind::OciIndex);
    }
    if shape.layers.is_some() {
        return Some(ManifestKind::OciManifest);
    }
    None
}

/// Layers that must not be copied (foreign / non-distributable): their content lives elsewhere.
pub(crate) fn is_non_distributable(media_type: &str) -> bool {
    media_type.contains("foreign") || media_type.contains("nondistributable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_field_then_shape() {
        assert_eq!(
            sniff(br#"{"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"#),
            Some(ManifestKind::DockerManifestList)
        );
        assert_eq!(
            sniff(br#"{"schemaVersion":2,"manifests":[]}"#),
            Some(ManifestKind::OciIndex)
        );
        assert_eq!(
            sniff(br#"{"schemaVersion":2,"config":{},"layers":[]}"#),
            Some(ManifestKind::OciManifest)
        );
        assert_eq!(
            sniff(br#"{"schemaVersion":1,"fsLayers":[]}"#),
            Some(ManifestKind::Schema1)
        );
        assert_eq!(sniff(b"not json"), None);
    }
}
