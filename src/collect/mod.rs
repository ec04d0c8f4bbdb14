//! Turning an ImageSetConfiguration into a mirror plan, one collector per config group.

pub(crate) mod additional;
pub(crate) mod attachments;
pub(crate) mod graph_image;
pub(crate) mod helm;
pub(crate) mod operator;
pub(crate) mod release;

use futures_util::StreamExt;

use crate::image::PlatformFilter;
use crate::plan::{ImageDestination, ImageOrigin, ImageSource, MirrorJob};
use crate::reference::ImageReference;
use crate::source::{head_digest, SourceReader, Sources};

/// Where images go and which platforms the command line allows; shared by every collector.
#[derive(Debug, Clone)]
pub(crate) struct CollectContext {
    /// Destination registry host (`host[:port]`).
    pub registry: String,
    /// Namespace under the registry (may be empty).
    pub namespace: String,
    /// `--platform` values (empty: every platform).
    pub cli_platforms: PlatformFilter,
}

impl CollectContext {
    /// `NS/<path>` or `<path>` when there is no namespace.
    pub(crate) fn destination_repository(&self, path: &str) -> String {
        let path = path.trim_matches('/');
        if self.namespace.is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", self.namespace)
        }
    }
}

/// An image the configuration names but that will not be mirrored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Excluded {
    pub image: String,
    pub reason: String,
}

/// Resolves tag-only references (a bare name is `:latest`) to the digests their tags name now, so that the whole run copies one consistent
/// set (the tag is kept for the destination): a HEAD request, or a GET where a registry does not say the digest.
/// A reference that cannot be resolved stays as it is and fails, with its reason, when it is copied.
pub(crate) async fn pin_tags(references: Vec<ImageReference>, sources: &Sources) -> Vec<ImageReference> {
    let resolve = |mut reference: ImageReference| async move {
        if reference.digest.is_some() {
            return reference;
        }
        // A name without tag or digest means `latest`, and keeps that tag at the destination.
        reference.tag.get_or_insert_with(|| "latest".to_string());
        let digest = match head_digest(&reference, sources).await {
            Some(digest) => Some(digest),
            None => SourceReader::open(&ImageSource::Registry(reference.clone()), sources)
                .await
                .ok()
                .map(|(_, root)| root.digest),
        };
        ImageReference { digest, ..reference }
    };
    futures_util::stream::iter(references.into_iter().map(resolve))
        .buffered(8)
        .collect()
        .await
}

/// An image a collector found (a bundle or related image, a chart's image): copied by digest when it is pinned,
/// to `DEST/NS/<source path>:<tag>` (or `sha256-<hex>` without a tag).
pub(crate) fn image_job(
    reference: &ImageReference,
    platforms: &PlatformFilter,
    context: &CollectContext,
    origin: ImageOrigin,
) -> MirrorJob {
    let tag = match (&reference.tag, &reference.digest) {
        (Some(tag), _) => tag.clone(),
        (None, Some(digest)) => digest.as_tag(),
        (None, None) => "latest".to_string(),
    };
    MirrorJob {
        source: ImageSource::Registry(reference.clone()),
        destination: ImageDestination {
            registry: context.registry.clone(),
            repository: context.destination_repository(&reference.repository),
            tag,
        },
        platforms: platforms.clone(),
        origin,
    }
}
