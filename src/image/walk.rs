//! The recursive walk of an image: index → index/manifest → config + layers, at any depth, keeping the platforms
//! a filter selects (attestations follow the platform they describe).

use std::future::Future;
use std::pin::Pin;

use futures_util::future::try_join_all;

use super::manifest::{Descriptor, ManifestError, ManifestView, RawManifest};
use super::{Digest, Platform, PlatformFilter};

/// Where the walk reads child manifests from.
pub(crate) trait ManifestSource: Sync {
    type Error: From<ManifestError> + From<WalkError> + Send;

    /// The manifest an index entry points at (its media type helps sources without content types).
    fn fetch_manifest(&self, entry: &Descriptor) -> impl Future<Output = Result<RawManifest, Self::Error>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum WalkError {
    #[error("no platform of index {digest} matches {wanted}; it has {available}")]
    NoPlatformSelected {
        digest: Digest,
        wanted: String,
        available: String,
    },
    #[error("manifest {digest} names a child {child} whose content has digest {actual}")]
    ChildDigestMismatch {
        digest: Digest,
        child: Digest,
        actual: Digest,
    },
}

/// One manifest of an image graph, with what it references.
#[derive(Debug, Clone)]
pub(crate) struct ManifestNode {
    pub manifest: RawManifest,
    /// The platform the parent index gives this entry (none for a root or an entry without one).
    pub platform: Option<Platform>,
    pub content: NodeContent,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeContent {
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
    /// `skipped`: entries the platform filter left out (not fetched).
    Index {
        children: Vec<ManifestNode>,
        skipped: Vec<Descriptor>,
    },
}

impl ManifestNode {
    #[cfg(test)]
    /// True when the filter left out at least one entry somewhere below.
    pub(crate) fn is_partial(&self) -> bool {
        match &self.content {
            NodeContent::Image { .. } => false,
            NodeContent::Index { children, skipped } => !skipped.is_empty() || children.iter().any(|c| c.is_partial()),
        }
    }

    /// Platforms of the image manifests below (an image root without platform gives none).
    pub(crate) fn platforms(&self) -> Vec<Platform> {
        let mut out = Vec::new();
        self.collect_platforms(&mut out);
        out.sort();
        out.dedup();
        out
    }

    fn collect_platforms(&self, out: &mut Vec<Platform>) {
        match &self.content {
            NodeContent::Image { .. } => out.extend(self.platform.clone().filter(|p| !p.is_unknown())),
            NodeContent::Index { children, .. } => children.iter().for_each(|c| c.collect_platforms(out)),
        }
    }

    #[cfg(test)]
    /// Platforms the filter left out, for messages.
    pub(crate) fn skipped_platforms(&self) -> Vec<Platform> {
        let mut out = Vec::new();
        self.collect_skipped(&mut out);
        out.sort();
        out.dedup();
        out
    }

    #[cfg(test)]
    fn collect_skipped(&self, out: &mut Vec<Platform>) {
        if let NodeContent::Index { children, skipped } = &self.content {
            out.extend(
                skipped
                    .iter()
                    .filter_map(Descriptor::platform)
                    .filter(|p| !p.is_unknown()),
            );
            children.iter().for_each(|c| c.collect_skipped(out));
        }
    }
}

/// Walks the image whose root manifest is `root`, fetching the children the filter keeps.
pub(crate) async fn walk<S: ManifestSource>(
    source: &S,
    root: RawManifest,
    filter: &PlatformFilter,
) -> Result<ManifestNode, S::Error> {
    walk_node(source, root, None, filter).await
}

fn walk_node<'a, S: ManifestSource>(
    source: &'a S,
    manifest: RawManifest,
    platform: Option<Platform>,
    filter: &'a PlatformFilter,
) -> Pin<Box<dyn Future<Output = Result<ManifestNode, S::Error>> + Send + 'a>> {
    Box::pin(async move {
        let content = match manifest.parse()? {
            ManifestView::Image { config, layers } => NodeContent::Image { config, layers },
            ManifestView::Index(entries) => {
                let (kept, skipped) = select_entries(&entries, filter);
                if kept.is_empty() {
                    return Err(WalkError::NoPlatformSelected {
                        digest: manifest.digest.clone(),
                        wanted: describe_filter(filter),
                        available: describe_platforms(&entries),
                    }
                    .into());
                }
                let children = try_join_all(
                    kept.into_iter()
                        .map(|entry| fetch_child(source, &manifest, entry, filter)),
                )
                .await?;
                NodeContent::Index { children, skipped }
            }
        };
        Ok(ManifestNode {
            manifest,
            platform,
            content,
        })
    })
}

async fn fetch_child<S: ManifestSource>(
    source: &S,
    parent: &RawManifest,
    entry: Descriptor,
    filter: &PlatformFilter,
) -> Result<ManifestNode, S::Error> {
    let child = source.fetch_manifest(&entry).await?;
    if child.digest != entry.digest {
        return Err(WalkError::ChildDigestMismatch {
            digest: parent.digest.clone(),
            child: entry.digest,
            actual: child.digest,
        }
        .into());
    }
    walk_node(source, child, entry.platform(), filter).await
}

/// Splits index entries into kept and skipped. Entries without a platform (nested indexes, bare manifests) are kept
/// and filtered further down; attestations are kept exactly when the entry they describe is.
fn select_entries(entries: &[Descriptor], filter: &PlatformFilter) -> (Vec<Descriptor>, Vec<Descriptor>) {
    let keeps_platform = |d: &Descriptor| d.platform().is_none_or(|p| filter.accepts(&p));
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for entry in entries {
        let keep = match entry
            .attests()
            .and_then(|target| entries.iter().find(|e| e.digest == target))
        {
            Some(described) => keeps_platform(described),
            // An attestation of an image elsewhere (e.g. in a nested index) cannot be judged here: keep it.
            None if entry.attests().is_some() => true,
            None => keeps_platform(entry),
        };
        if keep {
            kept.push(entry.clone());
        } else {
            skipped.push(entry.clone());
        }
    }
    (kept, skipped)
}

fn describe_filter(filter: &PlatformFilter) -> String {
    filter
        .platforms()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_platforms(entries: &[Descriptor]) -> String {
    let names: Vec<String> = entries
        .iter()
        .filter_map(Descriptor::platform)
        .map(|p| p.to_string())
        .collect();
    if names.is_empty() {
        "no platforms".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::media_type;
    use bytes::Bytes;
    use std::collections::HashMap;

    #[derive(Debug, thiserror::Error)]
    enum TestError {
        #[error(transparent)]
        Manifest(#[from] ManifestError),
        #[error(transparent)]
        Walk(#[from] WalkError),
        #[error("missing {0}")]
        Missing(Digest),
    }

    struct MapSource(HashMap<Digest, RawManifest>);

    impl ManifestSource for MapSource {
        type Error = TestError;
        async fn fetch_manifest(&self, entry: &Descriptor) -> Result<RawManifest, TestError> {
            self.0
                .get(&entry.digest)
                .cloned()
                .ok_or_else(|| TestError::Missing(entry.digest.clone()))
        }
    }

    fn image(source: &mut MapSource, seed: &str) -> (Digest, u64) {
        let blob = Digest::of_bytes(seed.as_bytes());
        let json = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"c","digest":"{blob}","size":1}},"layers":[{{"mediaType":"l","digest":"{blob}","size":1}}]}}"#,
            media_type::OCI_MANIFEST
        );
        let raw = RawManifest::new(Bytes::from(json), None).unwrap();
        let out = (raw.digest.clone(), raw.size());
        source.0.insert(raw.digest.clone(), raw);
        out
    }

    fn entry(d: &(Digest, u64), platform: &str, annotations: &str) -> String {
        let (os, arch) = platform.split_once('/').unwrap();
        format!(
            r#"{{"mediaType":"{}","digest":"{}","size":{},"platform":{{"os":"{os}","architecture":"{arch}"}}{annotations}}}"#,
            media_type::OCI_MANIFEST,
            d.0,
            d.1
        )
    }

    #[tokio::test]
    async fn filter_keeps_selected_platforms_and_their_attestations() {
        let mut source = MapSource(HashMap::new());
        let amd = image(&mut source, "amd");
        let arm = image(&mut source, "arm");
        let att = image(&mut source, "att");
        let att_entry = entry(
            &att,
            "unknown/unknown",
            &format!(r#","annotations":{{"vnd.docker.reference.digest":"{}"}}"#, arm.0),
        );
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{},{},{att_entry}]}}"#,
            media_type::OCI_INDEX,
            entry(&amd, "linux/amd64", ""),
            entry(&arm, "linux/arm64", "")
        );
        let root = RawManifest::new(Bytes::from(index), None).unwrap();
        let filter = PlatformFilter::of(vec!["linux/arm64".parse().unwrap()]);
        let node = walk(&source, root.clone(), &filter).await.unwrap();
        let NodeContent::Index { children, skipped } = &node.content else {
            panic!()
        };
        assert_eq!(children.len(), 2, "arm64 and its attestation");
        assert_eq!(skipped.len(), 1);
        assert!(node.is_partial());
        assert_eq!(node.skipped_platforms(), vec!["linux/amd64".parse().unwrap()]);

        let none = PlatformFilter::of(vec!["linux/s390x".parse().unwrap()]);
        let err = walk(&source, root, &none).await.unwrap_err();
        assert!(err.to_string().contains("linux/amd64, linux/arm64"), "{err}");
    }
}
