//! Cluster resources that point a cluster at the mirror: ImageDigestMirrorSet and ImageTagMirrorSet here,
//! CatalogSource and ClusterCatalog in `catalog`, release resources in `release`.

pub(crate) mod catalog;
pub(crate) mod release;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::plan::{ImageDestination, ImageOrigin};
use crate::reference::ImageReference;

pub(crate) const IDMS_FILE: &str = "idms-oc-mirror.yaml";
pub(crate) const ITMS_FILE: &str = "itms-oc-mirror.yaml";

/// One mirrored image, as the resources need it.
#[derive(Debug, Clone)]
pub(crate) struct MirroredImage {
    pub source: ImageReference,
    pub destination: ImageDestination,
    pub origin: ImageOrigin,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write cluster resource {path}: {source}")]
pub(crate) struct ResourceError {
    path: PathBuf,
    source: std::io::Error,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MirrorSet {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: BTreeMap<&'static str, Vec<MirrorEntry>>,
}

#[derive(Serialize)]
struct Metadata {
    name: String,
    annotations: BTreeMap<&'static str, &'static str>,
}

#[derive(Serialize)]
struct MirrorEntry {
    mirrors: Vec<String>,
    source: String,
}

/// Writes one resource file atomically and durably.
pub(crate) fn write_resource(path: &Path, text: &str) -> Result<(), ResourceError> {
    crate::files::write_atomically(path, text.as_bytes()).map_err(|source| ResourceError {
        path: path.to_path_buf(),
        source,
    })
}

/// source scope → mirror scopes, per category (release / operator / generic).
type ScopedMirrors = BTreeMap<&'static str, BTreeMap<String, BTreeSet<String>>>;

/// Writes `idms-oc-mirror.yaml` (digest references) and `itms-oc-mirror.yaml` (tag references) into `dir`,
/// removing a stale file when nothing of that kind was mirrored. Returns the files written.
pub(crate) fn write_mirror_sets(dir: &Path, images: &[MirroredImage]) -> Result<Vec<PathBuf>, ResourceError> {
    let (by_digest, by_tag) = scope_mirrors(images);
    let mut written = Vec::new();
    for (file, kind, spec_key, mirrors) in [
        (IDMS_FILE, "ImageDigestMirrorSet", "imageDigestMirrors", by_digest),
        (ITMS_FILE, "ImageTagMirrorSet", "imageTagMirrors", by_tag),
    ] {
        let path = dir.join(file);
        if mirrors.is_empty() {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let prefix = if kind == "ImageDigestMirrorSet" { "idms" } else { "itms" };
        let text = render(kind, prefix, spec_key, &mirrors);
        write_resource(&path, &text)?;
        written.push(path);
    }
    Ok(written)
}

/// Digest-only sources go to the IDMS, the others to the ITMS; release images go to both, as clusters need them
/// by digest during installs. Scope is the namespace when the destination path ends with the source path, else
/// the repository.
fn scope_mirrors(images: &[MirroredImage]) -> (ScopedMirrors, ScopedMirrors) {
    let mut by_digest = ScopedMirrors::new();
    let mut by_tag = ScopedMirrors::new();
    for image in images {
        let digest_only = image.source.tag.is_none() && image.source.digest.is_some();
        let (source, mirror) = scopes(&image.source, &image.destination);
        if digest_only || image.origin == ImageOrigin::Release {
            by_digest
                .entry(image.origin.category())
                .or_default()
                .entry(source.clone())
                .or_default()
                .insert(mirror.clone());
        }
        if !digest_only {
            by_tag
                .entry(image.origin.category())
                .or_default()
                .entry(source)
                .or_default()
                .insert(mirror);
        }
    }
    (by_digest, by_tag)
}

fn scopes(source: &ImageReference, destination: &ImageDestination) -> (String, String) {
    if destination.repository.ends_with(&source.repository) {
        (
            parent(&source.registry, &source.repository),
            parent(&destination.registry, &destination.repository),
        )
    } else {
        (
            source.name(),
            format!("{}/{}", destination.registry, destination.repository),
        )
    }
}

fn parent(registry: &str, repository: &str) -> String {
    match repository.rsplit_once('/') {
        Some((namespace, _)) => format!("{registry}/{namespace}"),
        None => registry.to_string(),
    }
}

fn render(kind: &'static str, prefix: &str, spec_key: &'static str, mirrors: &ScopedMirrors) -> String {
    let mut out = String::new();
    for (category, sources) in mirrors {
        let entries = sources
            .iter()
            .map(|(source, mirrors)| MirrorEntry {
                mirrors: mirrors.iter().cloned().collect(),
                source: source.clone(),
            })
            .collect();
        let set = MirrorSet {
            api_version: "config.openshift.io/v1",
            kind,
            metadata: Metadata {
                name: format!("{prefix}-{category}-0"),
                annotations: BTreeMap::from([("createdBy", "ferry")]),
            },
            spec: BTreeMap::from([(spec_key, entries)]),
        };
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&set).unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirrored(source: &str, repository: &str, origin: ImageOrigin) -> MirroredImage {
        MirroredImage {
            source: source.parse().unwrap(),
            destination: ImageDestination {
                registry: "mirror:5000".into(),
                repository: repository.into(),
                tag: "t".into(),
            },
            origin,
        }
    }

    #[test]
    fn digest_and_tag_references_are_split_and_scoped() {
        let digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let images = [
            mirrored(
                &format!("quay.io/org/app@{digest}"),
                "ns/org/app",
                ImageOrigin::Additional,
            ),
            mirrored("quay.io/org/tool:1", "ns/org/tool", ImageOrigin::Additional),
            mirrored("quay.io/org/other:1", "ns/renamed", ImageOrigin::Additional),
        ];
        let dir = tempfile::tempdir().unwrap();
        let written = write_mirror_sets(dir.path(), &images).unwrap();
        assert_eq!(written.len(), 2);
        let idms = std::fs::read_to_string(dir.path().join(IDMS_FILE)).unwrap();
        assert!(
            idms.contains("kind: ImageDigestMirrorSet") && idms.contains("name: idms-generic-0"),
            "{idms}"
        );
        assert!(
            idms.contains("source: quay.io/org") && idms.contains("- mirror:5000/ns/org"),
            "{idms}"
        );
        let itms = std::fs::read_to_string(dir.path().join(ITMS_FILE)).unwrap();
        assert!(
            itms.contains("source: quay.io/org/other") && itms.contains("- mirror:5000/ns/renamed"),
            "{itms}"
        );
        assert!(!itms.contains(digest));
    }
}
