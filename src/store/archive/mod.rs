//! The archive format that mirror-to-disk writes and disk-to-mirror reads: tar segments written in place (no staging
//! copy), resumable after a crash, incremental through a history of earlier runs, read back without extraction.
//!
//! # Format (version 1)
//!
//! An m2d run writes a *set* of segments `DIR/mirror_NNNNNN.tar` (6 digits, 1-based). The first run in a directory
//! starts at `mirror_000001.tar`; later runs continue the numbering after the highest segment in `DIR` or in the
//! history, so that the sets of several runs can sit side by side (and a shipped archive is never overwritten).
//!
//! Each segment is a plain POSIX ustar tar of regular files with deterministic headers (mtime 0, mode 0644, uid/gid 0,
//! no owner names; sizes past the 11-digit octal limit use the GNU base-256 encoding):
//! - `blobs/sha256/<hex>`: one entry per blob (layers, configs and manifests alike), each written once;
//! - `ferry/void/<segment>-<offset>`: an abandoned write (a failed stream or an interrupted run) kept as an ordinary
//!   file so that the tar stays valid; readers skip it;
//! - `ferry/metadata.json`: [`ArchiveMetadata`], only in the last segment of a set, after all blobs. It names the
//!   run, the set's segments, the ISC, every image, the location of every blob, and the blobs the run relies on
//!   from earlier runs.
//!
//! A segment is at most the segment limit (`archiveSize`) in bytes, end-of-archive blocks included; a blob too big
//! for any segment gets a segment of its own (a warning, or an error in strict mode).
//!
//! # Writing without staging
//!
//! Blob sizes are known up front, so [`ArchiveWriter`] reserves a region (header + padded data) at the end of the
//! current segment under a mutex and streams the blob into it with positional writes while other blobs fill their own
//! regions. Data is hashed and counted as it is written; a wrong size or digest, or a stream error, turns the region
//! into a void entry and fails the write (the caller retries with a fresh stream, in a new region).
//!
//! # State in `DIR/working-dir`
//! - `archive-journal.jsonl`: the unfinished run (`start`, `segment`, `reserve` before a region is written, `done`
//!   after its data is fsynced). Unfinished segments are named `mirror_NNNNNN.tar.partial`. On restart the completed
//!   regions are kept, abandoned ones before them become void entries, and each segment is cut after its last
//!   completed region: a killed m2d never re-downloads what it finished and never leaves a torn entry.
//! - `history.jsonl`: one line per finished run ([`History`]), which incremental runs consult.
//! - `archives/<run-id>.json`: a copy of each finished run's metadata.
//!
//! # Reading
//! [`ArchiveReader`] indexes the entry headers of every `mirror_*.tar` in a directory in place (offsets only), refusing
//! anything ferry would not write (absolute paths, `..`, links, devices, foreign names) and truncated segments, and
//! serves blobs as streams straight from the segments. Only relative segment names are recorded, so a directory of
//! archives can be moved or copied anywhere.

use std::path::{Path, PathBuf};

use crate::image::Digest;

pub(crate) mod history;
pub(crate) mod metadata;
pub(crate) mod reader;
mod tar;
pub(crate) mod writer;

pub(crate) use history::History;
pub(crate) use metadata::{ArchiveMetadata, ArchivedImage};
pub(crate) use reader::ArchiveReader;
pub(crate) use writer::ArchiveWriter;

/// The state directory inside the archive directory.
pub(crate) const WORKING_DIR: &str = "working-dir";

/// `mirror_000001.tar` for segment 1.
pub(crate) fn segment_name(number: u32) -> String {
    format!("mirror_{number:06}.tar")
}

/// The segment number of a finished segment's file name (`mirror_NNNNNN.tar`).
pub(crate) fn parse_segment_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("mirror_")?.strip_suffix(".tar")?;
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&n| n > 0)
}

/// Why an archive cannot be written or read; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ArchiveError {
    #[error(
        "cannot access {path}: {source}\n  help: check that the directory exists, is writable and the disk is not full"
    )]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Content(#[from] crate::store::drain::BlobContentError),
    #[error("blob {digest} is {size} bytes, more than the archive segment size of {limit} bytes\n  help: raise archiveSize, or run without strict so that such a blob gets a segment of its own")]
    Oversized { digest: Digest, size: u64, limit: u64 },
    #[error("the archive run {run_id} in {dir} is finished (or finishing) and takes no more writes\n  help: run mirror-to-disk again to continue or to start a new run")]
    Closed { run_id: String, dir: PathBuf },
    #[error("finish was called while {count} blob writes were still running\n  help: wait for every write before finishing the archive")]
    Busy { count: usize },
    #[error("the resume journal {path} is unusable: {reason}\n  help: remove it and the mirror_*.tar.partial files of the archive directory to start the archive over")]
    Journal { path: PathBuf, reason: String },
    #[error("the archive history {path} is unreadable: {reason}\n  help: fix or remove that line; without it the next mirror-to-disk packs those blobs again")]
    History { path: PathBuf, reason: String },
    #[error("{dir} holds no finished archive (mirror_NNNNNN.tar){}", if *.partial { "; it holds unfinished mirror_*.tar.partial segments\n  help: run mirror-to-disk again on the connected side to finish them" } else { "\n  help: point --from at the directory holding the mirror_*.tar files" })]
    NoArchives { dir: PathBuf, partial: bool },
    #[error("{file} is not a ferry archive: {reason}\n  help: use the mirror_*.tar files that ferry mirror-to-disk wrote, unchanged")]
    NotFerryArchive { file: PathBuf, reason: String },
    #[error("{file} is truncated at offset {offset}: {reason}\n  help: copy the file again from the connected side and compare its size with the original")]
    Truncated { file: PathBuf, offset: u64, reason: String },
    #[error("{file} holds the entry `{name}` at offset {offset}, which ferry refuses: {reason}\n  help: ferry never writes such entries; the archive was altered or was not made by ferry")]
    UnsafeEntry {
        file: PathBuf,
        offset: u64,
        name: String,
        reason: String,
    },
    #[error("{file} was written in archive format {version}; this ferry reads up to format {}\n  help: use a ferry at least as new as the one that wrote the archive", metadata::FORMAT_VERSION)]
    UnsupportedVersion { file: PathBuf, version: u32 },
    #[error("the archive set of run {run_id} is incomplete: {segment} is missing from {dir}\n  help: copy every segment of the set ({segments}) into that directory")]
    MissingSegment {
        run_id: String,
        segment: String,
        dir: PathBuf,
        segments: String,
    },
    #[error("{file} belongs to no complete archive set: the last segment of its set (the one holding ferry/metadata.json) is not in the directory\n  help: copy every mirror_*.tar file of the run")]
    OrphanSegment { file: PathBuf },
    #[error("{file}: {reason}\n  help: copy the archive set again from the connected side")]
    Inconsistent { file: PathBuf, reason: String },
    #[error("blob {digest} is not in the archives in {dir}")]
    BlobNotFound { digest: Digest, dir: PathBuf },
    #[error("blob {digest} is {size} bytes, more than the {limit} bytes ferry reads into memory")]
    TooLarge { digest: Digest, size: u64, limit: u64 },
    #[error("blob {digest} in {file} at offset {offset} is corrupt: its content has digest {actual}\n  help: copy the segment again from the connected side")]
    Corrupt {
        digest: Digest,
        file: PathBuf,
        offset: u64,
        actual: Digest,
    },
}

/// Maps an I/O error on `path`.
pub(crate) fn io_error(path: &Path) -> impl Fn(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Makes renames and creations in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), ArchiveError> {
    crate::files::sync_dir(dir).map_err(io_error(dir))
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers shared by the archive tests.

    use std::path::Path;
    use std::process::Command;

    use bytes::Bytes;
    use futures_util::{Stream, StreamExt};

    use super::{ArchiveMetadata, ArchiveReader, ArchivedImage};
    use crate::image::Digest;

    /// Deterministic pseudo-random content.
    pub(crate) fn content(size: usize, seed: u64) -> Bytes {
        let mut state = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let mut out = Vec::with_capacity(size);
        while out.len() < size {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            out.extend_from_slice(&state.to_le_bytes()[..(size - out.len()).min(8)]);
        }
        Bytes::from(out)
    }

    pub(crate) fn blob(size: usize, seed: u64) -> (Digest, Bytes) {
        let bytes = content(size, seed);
        (Digest::of_bytes(&bytes), bytes)
    }

    /// The bytes as a stream of `chunk`-sized pieces.
    pub(crate) fn chunked(
        bytes: Bytes,
        chunk: usize,
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + Unpin + 'static {
        let pieces: Vec<Result<Bytes, std::io::Error>> = (0..bytes.len())
            .step_by(chunk)
            .map(|start| Ok(bytes.slice(start..(start + chunk).min(bytes.len()))))
            .collect();
        futures_util::stream::iter(pieces)
    }

    pub(crate) fn metadata() -> ArchiveMetadata {
        ArchiveMetadata {
            imageset_config: "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\n".into(),
            images: vec![ArchivedImage {
                source: "quay.io/example/app:1.0".into(),
                destination_repository: "example/app".into(),
                tag: "1.0".into(),
                digest: Digest::of_bytes(b"manifest"),
                platforms: vec!["linux/amd64".into()],
                origin: "additional".into(),
                outcome: "archived".into(),
            }],
            ..ArchiveMetadata::default()
        }
    }

    /// Lists a segment with GNU tar: it must succeed without complaints. Returns the listing.
    pub(crate) fn tar_lists_cleanly(path: &Path) -> String {
        let output = Command::new("tar").arg("-tvf").arg(path).output().expect("tar runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stderr.is_empty(),
            "tar -tvf {}: {stderr}",
            path.display()
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// One entry's content as GNU tar extracts it (to stdout).
    pub(crate) fn tar_extract(path: &Path, name: &str) -> Vec<u8> {
        let output = Command::new("tar")
            .arg("-xOf")
            .arg(path)
            .arg(name)
            .output()
            .expect("tar runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        output.stdout
    }

    pub(crate) async fn read_back(reader: &ArchiveReader, digest: &Digest) -> Vec<u8> {
        let (size, stream) = reader.open_blob(digest).await.unwrap();
        let mut stream = Box::pin(stream);
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(out.len() as u64, size);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names() {
        assert_eq!(segment_name(1), "mirror_000001.tar");
        assert_eq!(parse_segment_name("mirror_000012.tar"), Some(12));
        assert_eq!(parse_segment_name("mirror_000000.tar"), None);
        assert_eq!(parse_segment_name("mirror_000001.tar.partial"), None);
        assert_eq!(parse_segment_name("mirror_1.tar"), None);
    }
}
