//! Draining a blob stream into a file in batches: sizes checked as bytes arrive, content hashed, writes done on
//! blocking threads so a slow disk never stalls the async runtime. Shared by the archive and layout writers.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::image::{Digest, DigestHasher};

/// Bytes gathered before one blocking write.
const FLUSH_BYTES: usize = 1 << 20;

/// Where drained bytes go (a file, at a position or appended).
pub trait BlockingWrite: Send + 'static {
    fn write_chunk(&mut self, chunk: &[u8]) -> std::io::Result<()>;
}

/// Why a drain stopped.
#[derive(Debug)]
pub enum DrainError {
    /// The stream failed after `written` bytes.
    Stream { written: u64, source: std::io::Error },
    /// The stream gave `actual` bytes where `size` were expected (`more`: it was cut short when it overflowed).
    Size { actual: u64, more: bool },
    /// Writing failed.
    Write(std::io::Error),
}

/// Writes every chunk of `stream` to `writer`, expecting exactly `size` bytes; returns the writer and the digest of
/// what was written. Nothing past `size` is written.
pub async fn drain<S, W>(stream: S, size: u64, writer: W) -> Result<(W, Digest), DrainError>
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
        let chunk = item.map_err(|source| DrainError::Stream {
            written: received,
            source,
        })?;
        received += chunk.len() as u64;
        if received > size {
            return Err(DrainError::Size {
                actual: received,
                more: true,
            });
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
        return Err(DrainError::Size {
            actual: received,
            more: false,
        });
    }
    let (writer, hasher) = write_batch(state.take(), pending).await?;
    Ok((writer, hasher.finish()))
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
    async fn drains_hashes_and_checks_sizes() {
        let (memory, digest) = drain(chunks(&[b"ab", b"", b"cd"]), 4, Memory(Vec::new()))
            .await
            .unwrap();
        assert_eq!(memory.0, b"abcd");
        assert_eq!(digest, Digest::of_bytes(b"abcd"));
        assert!(matches!(
            drain(chunks(&[b"abc"]), 2, Memory(Vec::new())).await,
            Err(DrainError::Size { actual: 3, more: true })
        ));
        assert!(matches!(
            drain(chunks(&[b"a"]), 2, Memory(Vec::new())).await,
            Err(DrainError::Size { actual: 1, more: false })
        ));
    }
}
