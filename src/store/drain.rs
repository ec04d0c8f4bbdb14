//! Draining a blob stream into a file in batches: sizes checked as bytes arrive, content hashed, writes done on
//! blocking threads so a slow disk never stalls the async runtime. Shared by the archive and layout writers.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::image::{Digest, DigestHasher};

/// Bytes gathered before one blocking write.
const FLUSH_BYTES: usize = 1 << 20;

/// Where drained bytes go (a file, at a position or appended).
pub(crate) trait BlockingWrite: Send + 'static {
    fn write_chunk(&mut self, chunk: &[u8]) -> std::io::Result<()>;
}

/// What was wrong with a blob's content; the write was abandoned and can be retried with a fresh stream.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BlobContentError {
    #[error("blob {digest} arrived with content of digest {actual}: the source served different data\n  help: the write was abandoned and can be retried")]
    DigestMismatch { digest: Digest, actual: Digest },
    #[error("blob {digest} should be {expected} bytes but the source sent {actual}{}\n  help: the write was abandoned and can be retried", if *.more { " or more" } else { "" })]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
        more: bool,
    },
    #[error("reading blob {digest} failed after {written} bytes: {source}\n  help: the write was abandoned and can be retried")]
    Stream {
        digest: Digest,
        written: u64,
        source: std::io::Error,
    },
}

/// Why a drain stopped: the content, or the writing.
#[derive(Debug)]
pub(crate) enum DrainError {
    Content(BlobContentError),
    Write(std::io::Error),
}

/// Checks that bytes held in memory are the blob `digest` names.
pub(crate) fn check_bytes(digest: &Digest, bytes: &[u8]) -> Result<(), BlobContentError> {
    let actual = Digest::of_bytes(bytes);
    if &actual == digest {
        Ok(())
    } else {
        Err(BlobContentError::DigestMismatch {
            digest: digest.clone(),
            actual,
        })
    }
}

/// Writes every chunk of `stream` to `writer`, expecting exactly `size` bytes with digest `digest`; returns the
/// writer. Nothing past `size` is written.
pub(crate) async fn drain<S, W>(stream: S, digest: &Digest, size: u64, writer: W) -> Result<W, DrainError>
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send,
    W: BlockingWrite,
{
    let mut state = Some((writer, DigestHasher::new()));
    let mut stream = Box::pin(stream);
    let mut pending: Vec<Bytes> = Vec::new();
    let mut pending_len = 0usize;
    let mut received = 0u64;
    while let Some(item) = stream.next().await {
        let chunk = item.map_err(|source| {
            DrainError::Content(BlobContentError::Stream {
                digest: digest.clone(),
                written: received,
                source,
            })
        })?;
        received += chunk.len() as u64;
        if received > size {
            return Err(size_mismatch(digest, size, received, true));
        }
        if chunk.is_empty() {
            continue;
        }
        pending_len += chunk.len();
        pending.push(chunk);
        if pending_len >= FLUSH_BYTES {
            pending_len = 0;
            state = Some(write_batch(state.take(), std::mem::take(&mut pending)).await?);
        }
    }
    if received != size {
        return Err(size_mismatch(digest, size, received, false));
    }
    let (writer, hasher) = write_batch(state.take(), pending).await?;
    let actual = hasher.finish();
    if &actual != digest {
        return Err(DrainError::Content(BlobContentError::DigestMismatch {
            digest: digest.clone(),
            actual,
        }));
    }
    Ok(writer)
}

fn size_mismatch(digest: &Digest, expected: u64, actual: u64, more: bool) -> DrainError {
    DrainError::Content(BlobContentError::SizeMismatch {
        digest: digest.clone(),
        expected,
        actual,
        more,
    })
}

async fn write_batch<W: BlockingWrite>(
    state: Option<(W, DigestHasher)>,
    batch: Vec<Bytes>,
) -> Result<(W, DigestHasher), DrainError> {
    let (mut writer, mut hasher) = state.ok_or_else(|| DrainError::Write(std::io::Error::other("writer lost")))?;
    tokio::task::spawn_blocking(move || {
        for chunk in batch {
            hasher.update(&chunk);
            writer.write_chunk(&chunk)?;
        }
        Ok((writer, hasher))
    })
    .await
    .map_err(|e| DrainError::Write(std::io::Error::other(e.to_string())))?
    .map_err(DrainError::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Memory(Vec<u8>);

    impl BlockingWrite for Memory {
        fn write_chunk(&mut self, chunk: &[u8]) -> std::io::Result<()> {
            self.0.extend_from_slice(chunk);
            Ok(())
        }
    }

    fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
        futures_util::stream::iter(parts.iter().map(|p| Ok(Bytes::from_static(p))).collect::<Vec<_>>())
    }

    #[tokio::test]
    async fn drains_hashes_and_checks_sizes_and_digests() {
        let digest = Digest::of_bytes(b"abcd");
        let memory = drain(chunks(&[b"ab", b"", b"cd"]), &digest, 4, Memory(Vec::new()))
            .await
            .unwrap();
        assert_eq!(memory.0, b"abcd");
        let other = Digest::of_bytes(b"abce");
        let wrong = drain(chunks(&[b"abcd"]), &other, 4, Memory(Vec::new())).await;
        assert!(matches!(
            wrong,
            Err(DrainError::Content(BlobContentError::DigestMismatch { .. }))
        ));
        let long = drain(chunks(&[b"abc"]), &digest, 2, Memory(Vec::new())).await;
        assert!(matches!(
            long,
            Err(DrainError::Content(BlobContentError::SizeMismatch {
                actual: 3,
                more: true,
                ..
            }))
        ));
        let short = drain(chunks(&[b"a"]), &digest, 2, Memory(Vec::new())).await;
        assert!(matches!(
            short,
            Err(DrainError::Content(BlobContentError::SizeMismatch {
                actual: 1,
                more: false,
                ..
            }))
        ));
    }
}
