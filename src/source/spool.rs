//! Blobs a run has already fetched from a source registry and verified, kept in a temporary directory of the
//! workspace so that copying them later reads the file instead of fetching them again. Catalog images are the case:
//! their configs layers are read once for the declarative config and copied again under the rebuilt catalog.
//! The directory goes away with the run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tokio::io::AsyncWriteExt;

use super::ByteStream;
use crate::image::Digest;
use crate::store::layout::read_chunks;
use crate::sync::Locked;

/// The spooled blobs of one run: digest to file and size.
pub(crate) struct BlobSpool {
    dir: tempfile::TempDir,
    files: Mutex<HashMap<Digest, (PathBuf, u64)>>,
}

impl BlobSpool {
    /// A new, empty spool in a fresh directory under `parent` (created if missing). Spools that killed runs left
    /// there are removed first; a run whose spool disappears under it fetches the blobs again.
    pub(crate) fn new_in(parent: &Path) -> std::io::Result<BlobSpool> {
        std::fs::create_dir_all(parent)?;
        remove_stale(parent);
        let dir = tempfile::Builder::new().prefix(PREFIX).tempdir_in(parent)?;
        Ok(BlobSpool {
            dir,
            files: Mutex::new(HashMap::new()),
        })
    }

    fn entry(&self, digest: &Digest) -> Option<(PathBuf, u64)> {
        let files = self.files.locked();
        files.get(digest).cloned()
    }

    /// The blob's size and content, when it is spooled and its file can be opened.
    pub(crate) async fn open(&self, digest: &Digest) -> Option<(u64, ByteStream)> {
        let (path, size) = self.entry(digest)?;
        let file = tokio::fs::File::open(&path).await.ok()?;
        Some((size, Box::pin(read_chunks(file))))
    }

    /// A writer for a blob that is not spooled yet; `None` when it is, or when no file can be made (the blob is
    /// then simply fetched again when needed).
    pub(crate) async fn writer(&self, digest: &Digest) -> Option<SpoolWriter<'_>> {
        if self.entry(digest).is_some() {
            return None;
        }
        let path = self.dir.path().join(digest.as_str().replace(':', "-"));
        let partial = path.with_extension("partial");
        let file = tokio::fs::File::create(&partial).await.ok()?;
        Some(SpoolWriter {
            spool: self,
            file,
            partial,
            path,
            digest: digest.clone(),
            written: 0,
        })
    }
}

const PREFIX: &str = ".blob-spool-";

fn remove_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(PREFIX) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A blob being spooled while it is read. Nothing is spooled unless `keep` is called after the content was
/// verified.
pub(crate) struct SpoolWriter<'a> {
    spool: &'a BlobSpool,
    file: tokio::fs::File,
    partial: PathBuf,
    path: PathBuf,
    digest: Digest,
    written: u64,
}

impl SpoolWriter<'_> {
    pub(crate) async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.file.write_all(chunk).await?;
        self.written += chunk.len() as u64;
        Ok(())
    }

    /// Records the blob as spooled (call only once its content has been verified). A failure leaves it unspooled.
    pub(crate) async fn keep(mut self) {
        if self.file.flush().await.is_err() || tokio::fs::rename(&self.partial, &self.path).await.is_err() {
            return;
        }
        let mut files = self.spool.files.locked();
        files.insert(self.digest.clone(), (self.path.clone(), self.written));
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    fn digest_of(bytes: &[u8]) -> Digest {
        let mut hasher = crate::image::DigestHasher::new();
        hasher.update(bytes);
        hasher.finish()
    }

    async fn read_all(mut stream: ByteStream) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn a_kept_blob_is_served_from_the_spool_and_written_only_once() {
        let parent = tempfile::tempdir().unwrap();
        let spool = BlobSpool::new_in(parent.path()).unwrap();
        let content = b"configs layer bytes".repeat(1000);
        let digest = digest_of(&content);
        assert!(spool.open(&digest).await.is_none());

        let mut writer = spool.writer(&digest).await.unwrap();
        writer.write(&content[..5000]).await.unwrap();
        writer.write(&content[5000..]).await.unwrap();
        writer.keep().await;

        let (size, stream) = spool.open(&digest).await.unwrap();
        assert_eq!(size, content.len() as u64);
        assert_eq!(read_all(stream).await, content);
        assert!(
            spool.writer(&digest).await.is_none(),
            "a spooled blob is not written again"
        );
    }

    #[tokio::test]
    async fn a_spool_left_by_a_killed_run_is_removed_and_a_vanished_file_is_not_served() {
        let parent = tempfile::tempdir().unwrap();
        let stale = parent.path().join(".blob-spool-killed");
        std::fs::create_dir_all(&stale).unwrap();
        std::fs::write(stale.join("sha256-x"), b"old").unwrap();
        let spool = BlobSpool::new_in(parent.path()).unwrap();
        assert!(!stale.exists());

        let content = b"layer".repeat(10);
        let digest = digest_of(&content);
        let mut writer = spool.writer(&digest).await.unwrap();
        writer.write(&content).await.unwrap();
        writer.keep().await;
        // Another run on the same workspace removed this spool as stale: the blob is fetched again instead.
        BlobSpool::new_in(parent.path()).unwrap();
        assert!(spool.open(&digest).await.is_none());
    }

    #[tokio::test]
    async fn a_blob_not_kept_is_not_served_and_the_directory_goes_with_the_spool() {
        let parent = tempfile::tempdir().unwrap();
        let spool = BlobSpool::new_in(parent.path()).unwrap();
        let digest = digest_of(b"abandoned");
        let mut writer = spool.writer(&digest).await.unwrap();
        writer.write(b"aband").await.unwrap();
        drop(writer);
        assert!(spool.open(&digest).await.is_none());
        drop(spool);
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    }
}
