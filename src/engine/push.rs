//! Copying an image graph to the destination: blobs first, then manifests bottom-up, and the index strategies that
//! honour a platform filter (sparse index, rewritten index, or a full copy for digest references).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::future::try_join_all;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::{Engine, EngineError, ImageCounters};
use crate::events::{Event, IndexOutcome};
use crate::image::manifest::{rewrite_index, Descriptor, RawManifest};
use crate::image::walk::{self, ManifestNode, ManifestSource, NodeContent};
use crate::image::{Digest, PlatformFilter};
use crate::source::SourceReader;

/// What ended up at the destination for one manifest.
#[derive(Debug, Clone)]
pub(super) struct Pushed {
    pub digest: Digest,
    pub size: u64,
    pub outcome: IndexOutcome,
}

/// Where a manifest is pushed: under the image's tag (the root) or by digest (children).
#[derive(Clone, Copy)]
pub(super) struct Target<'a> {
    pub repository: &'a Arc<str>,
    pub tag: Option<&'a str>,
    /// The user referenced the image by digest: its digest must stay pullable.
    pub pinned: bool,
    /// The repository held nothing when the image started: existence checks are skipped.
    pub fresh: bool,
}

impl Target<'_> {
    /// The tag for the root, the digest for children.
    fn selector(&self, manifest: &RawManifest) -> String {
        self.tag
            .map(str::to_string)
            .unwrap_or_else(|| manifest.digest.to_string())
    }
}

impl Engine {
    pub(super) fn push_node<'a>(
        &'a self,
        reader: &'a SourceReader,
        node: &'a ManifestNode,
        target: Target<'a>,
        counters: &'a ImageCounters,
    ) -> Pin<Box<dyn Future<Output = Result<Pushed, EngineError>> + Send + 'a>> {
        Box::pin(async move {
            match &node.content {
                NodeContent::Image { config, layers } => {
                    let blobs: Vec<&Descriptor> = std::iter::once(config).chain(layers.iter()).collect();
                    self.copy_blobs(reader, &blobs, target, counters).await?;
                    self.put_manifest_once(&node.manifest, target, counters).await?;
                    Ok(Pushed {
                        digest: node.manifest.digest.clone(),
                        size: node.manifest.size(),
                        outcome: IndexOutcome::Complete,
                    })
                }
                NodeContent::Index { children, skipped } => {
                    self.push_index(reader, node, children, skipped, target, counters).await
                }
            }
        })
    }

    async fn copy_blobs(
        &self,
        reader: &SourceReader,
        blobs: &[&Descriptor],
        target: Target<'_>,
        counters: &ImageCounters,
    ) -> Result<(), EngineError> {
        let copies: Vec<_> = blobs
            .iter()
            .map(|blob| self.ensure_blob(reader, blob, target.repository, target.fresh, counters))
            .collect();
        stream::iter(copies)
            .buffer_unordered(self.options.parallel_layers.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    async fn push_index(
        &self,
        reader: &SourceReader,
        node: &ManifestNode,
        children: &[ManifestNode],
        skipped: &[Descriptor],
        target: Target<'_>,
        counters: &ImageCounters,
    ) -> Result<Pushed, EngineError> {
        let child_target = Target { tag: None, ..target };
        let pushes: Vec<_> = children
            .iter()
            .map(|child| self.push_node(reader, child, child_target, counters))
            .collect();
        let pushed_children = try_join_all(pushes).await?;
        let changed = children
            .iter()
            .zip(&pushed_children)
            .any(|(c, p)| c.manifest.digest != p.digest);
        let original = &node.manifest;
        if skipped.is_empty() && !changed {
            self.put_manifest_once(original, target, counters).await?;
            return Ok(pushed(original, IndexOutcome::Complete));
        }
        let rewritten = rewrite_index(original, &|digest| {
            children
                .iter()
                .zip(&pushed_children)
                .find(|(c, _)| &c.manifest.digest == digest)
                .map(|(_, p)| (p.digest.clone(), p.size))
        })?;
        if !changed {
            if !target.fresh {
                if let Some(outcome) = self.already_there(original, &rewritten, target).await? {
                    return Ok(outcome);
                }
            }
            match self.put_manifest(original, target).await {
                Ok(()) => {
                    counters.manifest_pushed();
                    return Ok(pushed(original, IndexOutcome::Sparse));
                }
                Err(EngineError::Registry(e)) if e.is_missing_children() => {}
                Err(e) => return Err(e),
            }
            if target.pinned {
                return self
                    .copy_skipped_then_push(reader, original, skipped, target, counters)
                    .await;
            }
        }
        self.put_manifest_once(&rewritten, target, counters).await?;
        Ok(pushed(&rewritten, IndexOutcome::Rewritten))
    }

    /// A digest reference whose destination rejects sparse indexes: copy the platforms the filter left out, then
    /// the original index, so the digest stays pullable.
    async fn copy_skipped_then_push(
        &self,
        reader: &SourceReader,
        original: &RawManifest,
        skipped: &[Descriptor],
        target: Target<'_>,
        counters: &ImageCounters,
    ) -> Result<Pushed, EngineError> {
        let extra_platforms: Vec<String> = skipped
            .iter()
            .filter_map(Descriptor::platform)
            .filter(|p| !p.is_unknown())
            .map(|p| p.to_string())
            .collect();
        self.emit(Event::Warning(format!(
            "the destination rejects sparse indexes; {} is referenced by digest, so its other platforms ({}) are copied too",
            original.digest,
            extra_platforms.join(", ")
        )));
        let child_target = Target { tag: None, ..target };
        let everything = PlatformFilter::all();
        for entry in skipped {
            let child = walk::walk(
                reader,
                ManifestSource::fetch_manifest(reader, entry).await?,
                &everything,
            )
            .await?;
            self.push_node(reader, &child, child_target, counters).await?;
        }
        self.put_manifest_once(original, target, counters).await?;
        Ok(pushed(original, IndexOutcome::FullCopyForDigest { extra_platforms }))
    }

    /// For a filtered index: is the original (sparse or full) or the rewritten index already at the target?
    async fn already_there(
        &self,
        original: &RawManifest,
        rewritten: &RawManifest,
        target: Target<'_>,
    ) -> Result<Option<Pushed>, EngineError> {
        let selector = target.selector(original);
        let current = self.destination.manifest_digest(target.repository, &selector).await?;
        Ok(match current {
            Some(d) if d == original.digest => Some(pushed(original, IndexOutcome::Sparse)),
            Some(d) if d == rewritten.digest && !target.pinned => Some(pushed(rewritten, IndexOutcome::Rewritten)),
            _ => None,
        })
    }

    /// Pushes a manifest unless the target already holds exactly these bytes. A child (pushed by digest) goes into
    /// a repository once per run, whichever image needs it first; the others wait for that push.
    async fn put_manifest_once(
        &self,
        manifest: &RawManifest,
        target: Target<'_>,
        counters: &ImageCounters,
    ) -> Result<(), EngineError> {
        if target.tag.is_some() {
            return self.put_manifest_if_changed(manifest, target, counters).await;
        }
        let cell = self.ledger.manifest_placed(target.repository, &manifest.digest);
        cell.get_or_try_init(|| self.put_manifest_if_changed(manifest, target, counters))
            .await?;
        Ok(())
    }

    async fn put_manifest_if_changed(
        &self,
        manifest: &RawManifest,
        target: Target<'_>,
        counters: &ImageCounters,
    ) -> Result<(), EngineError> {
        let selector = target.selector(manifest);
        if !target.fresh
            && self
                .destination
                .manifest_digest(target.repository, &selector)
                .await?
                .as_ref()
                == Some(&manifest.digest)
        {
            return Ok(());
        }
        self.put_manifest(manifest, target).await?;
        counters.manifest_pushed();
        Ok(())
    }

    async fn put_manifest(&self, manifest: &RawManifest, target: Target<'_>) -> Result<(), EngineError> {
        let selector = target.selector(manifest);
        let lock = self.ledger.manifest_write(&manifest.digest);
        let _writing = lock.lock().await;
        self.destination
            .put_manifest(target.repository, &selector, manifest)
            .await?;
        self.emit(Event::ManifestPushed);
        Ok(())
    }
}

fn pushed(manifest: &RawManifest, outcome: IndexOutcome) -> Pushed {
    Pushed {
        digest: manifest.digest.clone(),
        size: manifest.size(),
        outcome,
    }
}
