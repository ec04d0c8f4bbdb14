//! The copy engine: mirrors a plan's images into a destination (registry or archive), each blob once per run, with bounded
//! concurrency. It emits events and never prints.

mod blobs;
pub(crate) mod destination;
mod push;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::stream::{self, StreamExt};
use tokio::sync::{OnceCell, Semaphore};

use crate::events::{Event, IndexOutcome, Reporter};
use crate::image::manifest::ManifestError;
use crate::image::walk::{self, WalkError};
use crate::image::{Digest, Platform};
use crate::plan::{MirrorJob, MirrorPlan};
use crate::registry::{RegistryError, RetryPolicy};
use crate::source::{SourceError, SourceReader, Sources};
use crate::store::LayoutError;
use crate::sync::Locked;
use blobs::BlobLedger;
use push::Target;

pub(crate) use destination::Destination;

/// Concurrency and retry settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EngineOptions {
    /// Images copied at the same time.
    pub parallel_images: usize,
    /// Blobs of one image copied at the same time.
    pub parallel_layers: usize,
    pub retry: RetryPolicy,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            parallel_images: 8,
            parallel_layers: 6,
            retry: RetryPolicy::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum EngineError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Walk(#[from] WalkError),
    #[error("blob {digest} from the source is corrupt or truncated: {detail}")]
    SourceCorrupt { digest: Digest, detail: String },
    #[error("cancelled")]
    Cancelled,
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Archive(#[from] crate::store::archive::ArchiveError),
}

impl EngineError {
    /// The registry's error behind this one, whether the source or the destination registry answered it.
    pub(crate) fn registry_error(&self) -> Option<&RegistryError> {
        match self {
            EngineError::Registry(e) | EngineError::Source(SourceError::Registry(e)) => Some(e),
            _ => None,
        }
    }
}

/// What happened to one image.
#[derive(Debug, Clone)]
pub(crate) struct ImageResult {
    pub source_digest: Digest,
    /// The digest now served by the destination tag (differs from the source for a rewritten index).
    pub destination_digest: Digest,
    pub platforms: Vec<Platform>,
    pub outcome: IndexOutcome,
    /// Nothing had to be copied: the destination already had it all.
    pub unchanged: bool,
}

/// Per-image counts, also summed for the run.
#[derive(Debug, Default)]
pub(crate) struct ImageCounters {
    pub blobs_copied: AtomicU64,
    pub bytes_copied: AtomicU64,
    pub blobs_skipped: AtomicU64,
    pub blobs_mounted: AtomicU64,
    pub manifests_pushed: AtomicU64,
}

impl ImageCounters {
    fn blob_copied(&self, size: u64) {
        self.blobs_copied.fetch_add(1, Ordering::Relaxed);
        self.bytes_copied.fetch_add(size, Ordering::Relaxed);
    }
    fn blob_skipped(&self) {
        self.blobs_skipped.fetch_add(1, Ordering::Relaxed);
    }
    fn blob_mounted(&self) {
        self.blobs_mounted.fetch_add(1, Ordering::Relaxed);
    }
    fn manifest_pushed(&self) {
        self.manifests_pushed.fetch_add(1, Ordering::Relaxed);
    }
    fn changed_anything(&self) -> bool {
        self.blobs_copied.load(Ordering::Relaxed)
            + self.blobs_mounted.load(Ordering::Relaxed)
            + self.manifests_pushed.load(Ordering::Relaxed)
            > 0
    }
}

/// The engine for one run against one destination.
pub(crate) struct Engine {
    sources: Sources,
    destination: Destination,
    options: EngineOptions,
    reporter: Arc<dyn Reporter>,
    ledger: BlobLedger,
    /// Blobs being placed at once: `parallel_images × parallel_layers`.
    blob_permits: Semaphore,
    /// Large blobs (`blobs::LARGE_BLOB` and up) being transferred at once: `max(parallel_images, parallel_layers)`.
    large_blob_permits: Semaphore,
    totals: ImageCounters,
    /// Whether each destination repository was empty when the run first looked at it: then everything in it was put
    /// there by this run, which the ledger knows, and no image of the run needs to ask the destination again.
    empty_at_start: Mutex<HashMap<Arc<str>, Arc<OnceCell<bool>>>>,
}

impl Engine {
    pub(crate) fn new(
        sources: Sources,
        destination: Destination,
        options: EngineOptions,
        reporter: Arc<dyn Reporter>,
    ) -> Engine {
        let (images, layers) = (options.parallel_images.max(1), options.parallel_layers.max(1));
        Engine {
            sources,
            destination,
            options,
            reporter,
            ledger: BlobLedger::default(),
            blob_permits: Semaphore::new(images * layers),
            large_blob_permits: Semaphore::new(images.max(layers)),
            totals: ImageCounters::default(),
            empty_at_start: Mutex::new(HashMap::new()),
        }
    }

    fn emit(&self, event: Event) {
        self.reporter.event(event);
    }

    /// The destination, for what a workflow reads back after a run (e.g. an archive's dependencies).
    pub(crate) fn destination(&self) -> &Destination {
        &self.destination
    }

    /// Totals of the run so far.
    pub(crate) fn totals(&self) -> &ImageCounters {
        &self.totals
    }

    /// Copies every job of the plan; one result per job, in plan order. Failures do not stop other images.
    pub(crate) async fn run(&self, plan: &MirrorPlan) -> Vec<Result<ImageResult, EngineError>> {
        self.emit(Event::RunStarted {
            images: plan.jobs.len(),
        });
        // The futures are made up front (they do nothing until polled) so that the stream's item type is concrete
        // and the whole run stays `Send` (spawnable).
        let jobs: Vec<_> = plan
            .jobs
            .iter()
            .enumerate()
            .map(|(index, job)| self.run_indexed(index, job))
            .collect();
        let mut results: Vec<(usize, Result<ImageResult, EngineError>)> = stream::iter(jobs)
            .buffer_unordered(self.options.parallel_images.max(1))
            .collect()
            .await;
        results.sort_by_key(|(index, _)| *index);
        results.into_iter().map(|(_, result)| result).collect()
    }

    async fn run_indexed(&self, index: usize, job: &MirrorJob) -> (usize, Result<ImageResult, EngineError>) {
        (index, self.run_job(index, job).await)
    }

    async fn run_job(&self, index: usize, job: &MirrorJob) -> Result<ImageResult, EngineError> {
        let name = job.source.to_string();
        self.emit(Event::ImageStarted {
            index,
            name: name.clone(),
        });
        let counters = ImageCounters::default();
        let result = self.copy_image(job, &counters).await;
        self.add_to_totals(&counters);
        match &result {
            Ok(done) => self.emit(Event::ImageDone {
                index,
                name,
                platforms: done.platforms.clone(),
                outcome: done.outcome.clone(),
                unchanged: done.unchanged,
            }),
            Err(error) => self.emit(Event::ImageFailed {
                index,
                name,
                error: error.to_string(),
            }),
        }
        result
    }

    fn add_to_totals(&self, counters: &ImageCounters) {
        let add =
            |total: &AtomicU64, part: &AtomicU64| total.fetch_add(part.load(Ordering::Relaxed), Ordering::Relaxed);
        add(&self.totals.blobs_copied, &counters.blobs_copied);
        add(&self.totals.bytes_copied, &counters.bytes_copied);
        add(&self.totals.blobs_skipped, &counters.blobs_skipped);
        add(&self.totals.blobs_mounted, &counters.blobs_mounted);
        add(&self.totals.manifests_pushed, &counters.manifests_pushed);
    }

    /// What `tag` names in `repository` now, and whether the repository held nothing when this run first looked.
    /// A repository empty then holds only what this run put there, and a run pushes each tag once: its images ask
    /// nothing. Otherwise the tag is asked (one HEAD: what makes a re-run cheap), and the repository is listed only
    /// when the first image into it finds no tag (one listing per repository per run).
    async fn repository_state(&self, repository: &Arc<str>, tag: &str) -> Result<(Option<Digest>, bool), EngineError> {
        let cell = self
            .empty_at_start
            .locked()
            .entry(repository.clone())
            .or_default()
            .clone();
        if cell.get() == Some(&true) {
            return Ok((None, true));
        }
        let current = self.destination.manifest_digest(repository, tag).await?;
        if current.is_some() {
            let _ = cell.set(false);
            return Ok((current, false));
        }
        let empty = cell
            .get_or_try_init(|| self.destination.repository_is_empty(repository))
            .await?;
        Ok((None, *empty))
    }

    async fn copy_image(&self, job: &MirrorJob, counters: &ImageCounters) -> Result<ImageResult, EngineError> {
        let (reader, root) = SourceReader::open(&job.source, &self.sources).await?;
        let repository: Arc<str> = Arc::from(job.destination.repository.as_str());
        let (current, empty_at_start) = self.repository_state(&repository, &job.destination.tag).await?;
        if current.as_ref() == Some(&root.digest) {
            return Ok(ImageResult {
                source_digest: root.digest.clone(),
                destination_digest: root.digest,
                platforms: Vec::new(),
                outcome: IndexOutcome::Complete,
                unchanged: true,
            });
        }
        let graph = walk::walk(&reader, root, &job.platforms).await?;
        let fresh = empty_at_start;
        let target = Target {
            repository: &repository,
            tag: Some(&job.destination.tag),
            pinned: job.source.is_pinned(),
            fresh,
        };
        let pushed = self.push_node(&reader, &graph, target, counters).await?;
        Ok(ImageResult {
            source_digest: graph.manifest.digest.clone(),
            destination_digest: pushed.digest,
            platforms: graph.platforms(),
            outcome: pushed.outcome,
            unchanged: !counters.changed_anything(),
        })
    }
}

#[cfg(test)]
mod tests;
