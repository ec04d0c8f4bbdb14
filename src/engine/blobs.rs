//! Blob transfer: each blob once per run (later repositories mount it), HEAD before upload, streamed with its
//! digest verified on the way, retried with a fresh source stream on transient failures.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::OnceCell;

use super::{Engine, EngineError, ImageCounters};
use crate::events::Event;
use crate::image::manifest::Descriptor;
use crate::image::{Digest, DigestHasher};
use crate::registry::{MountOutcome, RegistryError};
use crate::source::{ByteStream, SourceReader};
use crate::sync::Locked;

/// A blob in a destination repository.
type Placement = (Arc<str>, Digest);

/// Which blobs this run has placed in which destination repositories.
#[derive(Default)]
pub(super) struct BlobLedger {
    /// The first repository that received each blob (later ones mount from it).
    first_home: Mutex<HashMap<Digest, Arc<OnceCell<Arc<str>>>>>,
    /// Each (repository, digest) is placed once, even when several images of the run need it at the same time.
    placed: Mutex<HashMap<Placement, Arc<OnceCell<()>>>>,
    /// One manifest PUT per digest at a time: a registry stores a manifest's bytes once for all its repositories,
    /// and distribution writes them in place, so two PUTs of the same bytes at once can read back each other's
    /// half-written file (`DIGEST_INVALID`).
    manifest_writes: Mutex<HashMap<Digest, Arc<tokio::sync::Mutex<()>>>>,
    /// Each manifest pushed by digest into a repository once per run: a second PUT rewrites the repository's link
    /// to it in place, and an index PUT that verifies its children at that moment reads a half-written link
    /// (`DIGEST_INVALID`) in distribution.
    manifests_placed: Mutex<HashMap<Placement, Arc<OnceCell<()>>>>,
}

impl BlobLedger {
    fn home_cell(&self, digest: &Digest) -> Arc<OnceCell<Arc<str>>> {
        let mut homes = self.first_home.locked();
        homes.entry(digest.clone()).or_default().clone()
    }

    /// The lock that serialises PUTs of the manifest `digest`.
    pub(super) fn manifest_write(&self, digest: &Digest) -> Arc<tokio::sync::Mutex<()>> {
        let mut writes = self.manifest_writes.locked();
        writes.entry(digest.clone()).or_default().clone()
    }

    /// The cell that records the push of manifest `digest` by digest into `repository`.
    pub(super) fn manifest_placed(&self, repository: &Arc<str>, digest: &Digest) -> Arc<OnceCell<()>> {
        let mut placed = self.manifests_placed.locked();
        placed.entry((repository.clone(), digest.clone())).or_default().clone()
    }

    fn placed_cell(&self, repository: &Arc<str>, digest: &Digest) -> Arc<OnceCell<()>> {
        let mut placed = self.placed.locked();
        placed.entry((repository.clone(), digest.clone())).or_default().clone()
    }
}

impl Engine {
    /// Makes `blob` present in `repository` at the destination, once per run. `fresh`: the repository held
    /// nothing when its image started, so the existence check is skipped.
    pub(super) async fn ensure_blob(
        &self,
        reader: &SourceReader,
        blob: &Descriptor,
        repository: &Arc<str>,
        fresh: bool,
        counters: &ImageCounters,
    ) -> Result<(), EngineError> {
        if blob.is_non_distributable() {
            return Ok(());
        }
        let cell = self.ledger.placed_cell(repository, &blob.digest);
        cell.get_or_try_init(|| self.place_in_repository(reader, blob, repository, fresh, counters))
            .await?;
        Ok(())
    }

    /// The first repository to need a blob copies it; the others mount it from there.
    async fn place_in_repository(
        &self,
        reader: &SourceReader,
        blob: &Descriptor,
        repository: &Arc<str>,
        fresh: bool,
        counters: &ImageCounters,
    ) -> Result<(), EngineError> {
        let _permit = self.blob_permits.acquire().await.map_err(|_| EngineError::Cancelled)?;
        let cell = self.ledger.home_cell(&blob.digest);
        let initialised_here = AtomicBool::new(false);
        let home = cell
            .get_or_try_init(|| async {
                initialised_here.store(true, Ordering::Relaxed);
                self.place_blob(reader, blob, repository, fresh, counters).await?;
                Ok::<_, EngineError>(repository.clone())
            })
            .await?
            .clone();
        if !initialised_here.load(Ordering::Relaxed) && &home != repository {
            self.mount_or_place(reader, blob, repository, &home, fresh, counters)
                .await?;
        }
        Ok(())
    }

    /// Another repository of this run already holds the blob: mount it, else check and copy.
    async fn mount_or_place(
        &self,
        reader: &SourceReader,
        blob: &Descriptor,
        repository: &Arc<str>,
        home: &str,
        fresh: bool,
        counters: &ImageCounters,
    ) -> Result<(), EngineError> {
        match self.destination.mount_blob(repository, &blob.digest, home).await {
            Ok(MountOutcome::Mounted) => {
                counters.blob_mounted();
                self.emit(Event::BlobMounted);
                Ok(())
            }
            Ok(MountOutcome::Declined) | Err(_) => self.place_blob(reader, blob, repository, fresh, counters).await,
        }
    }

    /// HEAD (unless the repository is fresh), then upload when missing.
    async fn place_blob(
        &self,
        reader: &SourceReader,
        blob: &Descriptor,
        repository: &Arc<str>,
        fresh: bool,
        counters: &ImageCounters,
    ) -> Result<(), EngineError> {
        if !fresh && self.destination.blob_exists(repository, &blob.digest).await? {
            counters.blob_skipped();
            self.emit(Event::BlobSkipped);
            return Ok(());
        }
        self.upload_with_retries(reader, blob, repository).await?;
        counters.blob_copied(blob.size);
        self.emit(Event::BlobCopied { size: blob.size });
        Ok(())
    }

    async fn upload_with_retries(
        &self,
        reader: &SourceReader,
        blob: &Descriptor,
        repository: &str,
    ) -> Result<(), EngineError> {
        let policy = self.options.retry;
        let mut attempt = 0;
        loop {
            let outcome = self.upload_once(reader, blob, repository).await;
            match outcome {
                Ok(()) => return Ok(()),
                Err(error) if attempt < policy.times && is_worth_retrying(&error) => {
                    attempt += 1;
                    self.emit(Event::Retrying {
                        what: format!("blob {} to {repository}", blob.digest),
                        attempt,
                        error: error.to_string(),
                    });
                    tokio::time::sleep(policy.backoff(attempt, None)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn upload_once(&self, reader: &SourceReader, blob: &Descriptor, repository: &str) -> Result<(), EngineError> {
        // Only the transfer itself holds a large-blob permit: not the wait for another repository's copy before a
        // mount, nor the pause before a retry.
        let _large = if blob.size >= LARGE_BLOB {
            Some(
                self.large_blob_permits
                    .acquire()
                    .await
                    .map_err(|_| EngineError::Cancelled)?,
            )
        } else {
            None
        };
        let (_, stream) = reader.open_blob(blob).await?;
        let verdict = Arc::new(Mutex::new(None));
        // Registries verify a blob's digest before committing it, and archive and layout writers hash what they
        // write: hashing here too only pays where the bytes come from local media (archives, layouts).
        let hash = reader.is_local();
        let verified = verify_stream(
            coalesce(stream),
            blob.clone(),
            hash,
            verdict.clone(),
            self.reporter.clone(),
        );
        let uploaded = self
            .destination
            .upload_blob(repository, &blob.digest, blob.size, verified)
            .await;
        let source_problem = verdict.locked().take();
        match (source_problem, uploaded) {
            (Some(problem), _) => Err(problem),
            (None, result) => Ok(result?),
        }
    }
}

fn is_worth_retrying(error: &EngineError) -> bool {
    if let EngineError::SourceCorrupt { .. } = error {
        return true;
    }
    error.registry_error().is_some_and(|e| {
        !matches!(
            e,
            RegistryError::CredentialsMissing { .. }
                | RegistryError::CredentialsRejected { .. }
                | RegistryError::Denied { .. }
        )
    })
}

/// Blobs of this size and up are bandwidth-bound: past a few of them in flight, more only compete for the same
/// bandwidth (and the receiving registry's CPU and disk), so fewer of them run at once than small blobs, whose copy
/// time is mostly request latency.
pub(super) const LARGE_BLOB: u64 = 4 << 20;

/// Writes handed to the HTTP client are at least this big: fewer, larger writes cost the receiving registry less.
const WRITE_SIZE: usize = 256 * 1024;

/// Regroups a stream's small chunks (a few KiB each, as they come off a socket) into writes of `WRITE_SIZE`.
fn coalesce(stream: ByteStream) -> ByteStream {
    Box::pin(futures_util::stream::unfold(Some(stream), |state| async move {
        let mut stream = state?;
        let mut buffer = bytes::BytesMut::new();
        loop {
            match stream.next().await {
                Some(Ok(chunk)) if buffer.is_empty() && chunk.len() >= WRITE_SIZE => {
                    return Some((Ok(chunk), Some(stream)));
                }
                Some(Ok(chunk)) => {
                    buffer.extend_from_slice(&chunk);
                    if buffer.len() >= WRITE_SIZE {
                        return Some((Ok(buffer.freeze()), Some(stream)));
                    }
                }
                Some(Err(error)) => return Some((Err(error), None)),
                None if buffer.is_empty() => return None,
                None => return Some((Ok(buffer.freeze()), None)),
            }
        }
    }))
}

/// Counts a stream's bytes and, when asked, hashes them.
struct StreamCheck {
    hasher: Option<DigestHasher>,
    length: u64,
}

impl StreamCheck {
    fn update(&mut self, chunk: &[u8]) {
        self.length += chunk.len() as u64;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(chunk);
        }
    }

    /// The content's digest when it was hashed and differs from `expected`.
    fn mismatch(&self, expected: &Digest) -> Option<Digest> {
        self.hasher
            .as_ref()
            .map(|h| h.clone().finish())
            .filter(|actual| actual != expected)
    }
}

/// Passes chunks through while counting (and, with `hash`, hashing) them. A wrong size, or a wrong digest judged
/// with the last byte before that byte is handed on, becomes an error: the upload is aborted and nothing corrupt is
/// committed. The verdict is recorded for the caller.
fn verify_stream(
    stream: ByteStream,
    blob: Descriptor,
    hash: bool,
    verdict: Arc<Mutex<Option<EngineError>>>,
    reporter: Arc<dyn crate::events::Reporter>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let check = StreamCheck {
        hasher: hash.then(DigestHasher::new),
        length: 0,
    };
    let fail = move |verdict: &Mutex<Option<EngineError>>, blob: &Descriptor, detail: String| {
        let error = EngineError::SourceCorrupt {
            digest: blob.digest.clone(),
            detail,
        };
        let io = std::io::Error::other(error.to_string());
        *verdict.locked() = Some(error);
        io
    };
    let state = (stream, Some(check), blob, verdict, reporter);
    futures_util::stream::unfold(state, move |(mut stream, check, blob, verdict, reporter)| async move {
        let mut check = check?;
        match stream.next().await {
            Some(Ok(chunk)) => {
                check.update(&chunk);
                let problem = if check.length > blob.size {
                    Some(format!("more than the {} bytes its descriptor declares", blob.size))
                } else if check.length == blob.size {
                    check
                        .mismatch(&blob.digest)
                        .map(|actual| format!("its content has digest {actual}"))
                } else {
                    None
                };
                if let Some(detail) = problem {
                    let io = fail(&verdict, &blob, detail);
                    return Some((Err(io), (stream, None, blob, verdict, reporter)));
                }
                reporter.event(Event::BytesCopied(chunk.len() as u64));
                Some((Ok(chunk), (stream, Some(check), blob, verdict, reporter)))
            }
            Some(Err(e)) => {
                let io = fail(&verdict, &blob, format!("read failed: {e}"));
                Some((Err(io), (stream, None, blob, verdict, reporter)))
            }
            None if check.length == blob.size => None,
            None => {
                let io = fail(&verdict, &blob, format!("got {} of {} bytes", check.length, blob.size));
                Some((Err(io), (stream, None, blob, verdict, reporter)))
            }
        }
    })
}
