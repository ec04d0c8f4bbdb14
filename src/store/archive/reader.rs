//! Reading archive sets in place: every `mirror_*.tar` of a directory is indexed by its entry headers (offsets only, no
//! extraction) with strict checks, and blobs are served as streams straight from the segments.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::SeekFrom;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::metadata::{ArchiveMetadata, FORMAT_VERSION};
use super::tar::{self, EntryKind, Refusal, BLOCK};
use super::{io_error, parse_segment_name, ArchiveError};
use crate::image::Digest;
use crate::store::layout::read_chunks;

/// The largest blob [`ArchiveReader::read_bytes`] reads into memory.
pub(crate) const READ_BYTES_LIMIT: u64 = 64 << 20;
/// The largest `ferry/metadata.json` accepted.
const METADATA_LIMIT: u64 = 512 << 20;

/// The archive sets found in a directory, indexed.
#[derive(Debug)]
pub(crate) struct ArchiveReader {
    dir: PathBuf,
    segments: Vec<SegmentFile>,
    metadata: Vec<ArchiveMetadata>,
    index: HashMap<Digest, Entry>,
}

#[derive(Debug)]
struct SegmentFile {
    name: String,
    path: PathBuf,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    segment: usize,
    /// Offset of the data.
    offset: u64,
    size: u64,
}

/// What one segment holds.
struct SegmentIndex {
    blobs: Vec<(Digest, u64, u64)>,
    metadata: Option<ArchiveMetadata>,
}

impl ArchiveReader {
    /// Opens every finished segment (`mirror_NNNNNN.tar`, not `.partial`) in `dir`, checking each entry header while
    /// indexing. When the segments of several runs sit in `dir`, all are read: each run's set is described by the
    /// `ferry/metadata.json` in its last segment, and every segment must belong to exactly one complete set.
    pub(crate) fn open(dir: &Path) -> Result<ArchiveReader, ArchiveError> {
        let segments = find_segments(dir)?;
        let indexes = segments
            .iter()
            .map(|segment| index_segment(&segment.path))
            .collect::<Result<Vec<_>, _>>()?;
        let mut metadata = group_runs(dir, &segments, &indexes)?;
        let mut index = HashMap::new();
        for (i, segment_index) in indexes.iter().enumerate() {
            for (digest, offset, size) in &segment_index.blobs {
                let entry = Entry {
                    segment: i,
                    offset: *offset,
                    size: *size,
                };
                index.insert(digest.clone(), entry);
            }
        }
        check_listed_blobs(dir, &metadata, &index)?;
        metadata.sort_by(|a, b| (&a.created, &a.run_id).cmp(&(&b.created, &b.run_id)));
        Ok(ArchiveReader {
            dir: dir.to_path_buf(),
            segments,
            metadata,
            index,
        })
    }

    /// The directory the archives were read from.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The metadata of each run whose set is present, oldest first (the newest run is the last).
    pub(crate) fn metadata(&self) -> &[ArchiveMetadata] {
        &self.metadata
    }

    pub(crate) fn contains(&self, digest: &Digest) -> bool {
        self.index.contains_key(digest)
    }

    fn entry(&self, digest: &Digest) -> Result<(Entry, &Path), ArchiveError> {
        let entry = self.index.get(digest).ok_or_else(|| ArchiveError::BlobNotFound {
            digest: digest.clone(),
            dir: self.dir.clone(),
        })?;
        Ok((*entry, &self.segments[entry.segment].path))
    }

    /// Reads a small blob (a manifest) into memory, verifying its digest.
    pub(crate) async fn read_bytes(&self, digest: &Digest) -> Result<Bytes, ArchiveError> {
        let (entry, path) = self.entry(digest)?;
        if entry.size > READ_BYTES_LIMIT {
            return Err(ArchiveError::TooLarge {
                digest: digest.clone(),
                size: entry.size,
                limit: READ_BYTES_LIMIT,
            });
        }
        let io = io_error(path);
        let mut file = tokio::fs::File::open(path).await.map_err(&io)?;
        file.seek(SeekFrom::Start(entry.offset)).await.map_err(&io)?;
        let mut bytes = vec![0u8; entry.size as usize];
        file.read_exact(&mut bytes).await.map_err(&io)?;
        let actual = Digest::of_bytes(&bytes);
        if &actual != digest {
            return Err(ArchiveError::Corrupt {
                digest: digest.clone(),
                file: path.to_path_buf(),
                offset: entry.offset,
                actual,
            });
        }
        Ok(Bytes::from(bytes))
    }

    /// Opens a blob as a stream read straight from its segment, and its size. The stream fails if the segment ends
    /// early; the caller verifies the digest.
    pub(crate) async fn open_blob(
        &self,
        digest: &Digest,
    ) -> Result<(u64, impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static), ArchiveError> {
        let (entry, path) = self.entry(digest)?;
        let io = io_error(path);
        let mut file = tokio::fs::File::open(path).await.map_err(&io)?;
        file.seek(SeekFrom::Start(entry.offset)).await.map_err(&io)?;
        let size = entry.size;
        let chunks = Box::pin(read_chunks(file.take(size)));
        let stream = futures_util::stream::unfold((chunks, 0u64, false), move |(mut chunks, read, ended)| async move {
            if ended {
                return None;
            }
            match chunks.next().await {
                Some(Ok(bytes)) => {
                    let read = read + bytes.len() as u64;
                    Some((Ok(bytes), (chunks, read, false)))
                }
                Some(Err(e)) => Some((Err(e), (chunks, read, true))),
                None if read < size => {
                    let message = format!("the archive segment ended after {read} of {size} bytes");
                    let error = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, message);
                    Some((Err(error), (chunks, read, true)))
                }
                None => None,
            }
        });
        Ok((size, stream))
    }
}

/// The finished segments (`mirror_NNNNNN.tar`) of `dir`, in order; none is an error that says whether an unfinished
/// run's segments are there.
fn find_segments(dir: &Path) -> Result<Vec<SegmentFile>, ArchiveError> {
    let mut found = Vec::new();
    let mut partial = false;
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(number) = parse_segment_name(name) {
            found.push((number, name.to_string()));
        } else if name.starts_with("mirror_") && name.ends_with(".tar.partial") {
            partial = true;
        }
    }
    if found.is_empty() {
        return Err(ArchiveError::NoArchives {
            dir: dir.to_path_buf(),
            partial,
        });
    }
    found.sort();
    Ok(found
        .into_iter()
        .map(|(_, name)| SegmentFile {
            path: dir.join(&name),
            name,
        })
        .collect())
}

/// Groups the segments into runs by the metadata that lists them: each segment belongs to exactly one run, and
/// every segment a run lists is present.
fn group_runs(
    dir: &Path,
    segments: &[SegmentFile],
    indexes: &[SegmentIndex],
) -> Result<Vec<ArchiveMetadata>, ArchiveError> {
    let position: HashMap<&str, usize> = segments.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
    let mut owner: Vec<Option<String>> = vec![None; segments.len()];
    let mut metadata = Vec::new();
    for (i, index) in indexes.iter().enumerate() {
        let Some(meta) = &index.metadata else { continue };
        for member in run_members(meta, &segments[i])? {
            let Some(&j) = position.get(member.as_str()) else {
                return Err(ArchiveError::MissingSegment {
                    run_id: meta.run_id.clone(),
                    segment: member.clone(),
                    dir: dir.to_path_buf(),
                    segments: run_members(meta, &segments[i])?
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            if let Some(other) = &owner[j] {
                return Err(ArchiveError::Inconsistent {
                    file: segments[j].path.clone(),
                    reason: format!("claimed by the metadata of two runs ({other} and {})", meta.run_id),
                });
            }
            owner[j] = Some(meta.run_id.clone());
        }
        metadata.push(meta.clone());
    }
    if let Some(orphan) = owner.iter().position(Option::is_none) {
        return Err(ArchiveError::OrphanSegment {
            file: segments[orphan].path.clone(),
        });
    }
    Ok(metadata)
}

/// The segments a run's metadata (found in `holder`) lists, the holder among them.
fn run_members(meta: &ArchiveMetadata, holder: &SegmentFile) -> Result<BTreeSet<String>, ArchiveError> {
    let mut members: BTreeSet<String> = meta.segments.iter().cloned().collect();
    if members.is_empty() {
        members.extend(meta.blobs.values().map(|l| l.segment.clone()));
        members.insert(holder.name.clone());
    }
    if !members.contains(&holder.name) {
        return Err(ArchiveError::Inconsistent {
            file: holder.path.clone(),
            reason: format!(
                "its metadata (run {}) does not list the segment itself; were the files renamed?",
                meta.run_id
            ),
        });
    }
    Ok(members)
}

/// Every blob a run's metadata lists is in some segment, with its size.
fn check_listed_blobs(
    dir: &Path,
    metadata: &[ArchiveMetadata],
    index: &HashMap<Digest, Entry>,
) -> Result<(), ArchiveError> {
    for meta in metadata {
        for (digest, location) in &meta.blobs {
            let present = index.get(digest).is_some_and(|e| e.size == location.size);
            if !present {
                return Err(ArchiveError::Inconsistent {
                    file: dir.join(&location.segment),
                    reason: format!(
                        "the metadata of run {} lists blob {digest} ({} bytes) in it, but no segment holds it",
                        meta.run_id, location.size
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Walks a segment's headers: blob offsets and the metadata, refusing anything ferry does not write.
/// The two zero blocks that end a tar: a zero block followed by data is corruption.
fn check_end_of_archive(path: &Path, file: &File, offset: u64, length: u64) -> Result<(), ArchiveError> {
    if offset + 2 * BLOCK > length {
        return Err(ArchiveError::Truncated {
            file: path.to_path_buf(),
            offset,
            reason: "the file ends inside the end-of-archive blocks".into(),
        });
    }
    let mut block = [0u8; 512];
    file.read_exact_at(&mut block, offset + BLOCK).map_err(io_error(path))?;
    if block.iter().any(|&b| b != 0) {
        return Err(ArchiveError::NotFerryArchive {
            file: path.to_path_buf(),
            reason: format!("a zero block at offset {offset} is followed by data (corrupted?)"),
        });
    }
    Ok(())
}

/// What an entry is, or why it is refused (unsafe, or not written by ferry).
fn entry_kind(path: &Path, offset: u64, header: &tar::EntryHeader) -> Result<EntryKind, ArchiveError> {
    tar::classify(header).map_err(|refusal| match refusal {
        Refusal::Unsafe(reason) => ArchiveError::UnsafeEntry {
            file: path.to_path_buf(),
            offset,
            name: header.name.clone(),
            reason,
        },
        Refusal::Foreign(reason) => ArchiveError::NotFerryArchive {
            file: path.to_path_buf(),
            reason: format!("entry `{}` at offset {offset}: {reason}", header.name),
        },
    })
}

fn index_segment(path: &Path) -> Result<SegmentIndex, ArchiveError> {
    let io = io_error(path);
    let file = File::open(path).map_err(&io)?;
    let length = file.metadata().map_err(&io)?.len();
    let truncated = |offset: u64, reason: String| ArchiveError::Truncated {
        file: path.to_path_buf(),
        offset,
        reason,
    };
    if length == 0 {
        return Err(ArchiveError::NotFerryArchive {
            file: path.to_path_buf(),
            reason: "the file is empty".into(),
        });
    }
    let mut index = SegmentIndex {
        blobs: Vec::new(),
        metadata: None,
    };
    let mut offset = 0u64;
    let mut block = [0u8; 512];
    loop {
        if offset + BLOCK > length {
            let reason = if offset == length {
                "the file ends without the end-of-archive blocks".to_string()
            } else {
                "the file ends inside an entry header".to_string()
            };
            return Err(truncated(offset, reason));
        }
        file.read_exact_at(&mut block, offset).map_err(&io)?;
        let header = match tar::parse_header(&block) {
            Ok(Some(header)) => header,
            Ok(None) => {
                check_end_of_archive(path, &file, offset, length)?;
                break;
            }
            Err(reason) => {
                return Err(ArchiveError::NotFerryArchive {
                    file: path.to_path_buf(),
                    reason: format!("at offset {offset}: {reason}"),
                })
            }
        };
        let kind = entry_kind(path, offset, &header)?;
        let data = offset + BLOCK;
        let end = data.checked_add(tar::padded(header.size)).filter(|&end| end <= length);
        let Some(end) = end else {
            let after = length - data.min(length);
            let reason = format!(
                "entry `{}` has {} bytes but the file ends {after} bytes after its header",
                header.name, header.size
            );
            return Err(truncated(offset, reason));
        };
        match kind {
            EntryKind::Blob(digest) => index.blobs.push((digest, data, header.size)),
            EntryKind::Metadata => index.metadata = Some(read_metadata(path, &file, data, header.size, &index)?),
            EntryKind::Ignored => {}
        }
        offset = end;
    }
    Ok(index)
}

fn read_metadata(
    path: &Path,
    file: &File,
    offset: u64,
    size: u64,
    index: &SegmentIndex,
) -> Result<ArchiveMetadata, ArchiveError> {
    let not_ferry = |reason: String| ArchiveError::NotFerryArchive {
        file: path.to_path_buf(),
        reason,
    };
    if index.metadata.is_some() {
        return Err(not_ferry("it holds two ferry/metadata.json entries".into()));
    }
    if size > METADATA_LIMIT {
        return Err(not_ferry(format!(
            "ferry/metadata.json is {size} bytes, more than ferry writes"
        )));
    }
    let mut bytes = vec![0u8; size as usize];
    file.read_exact_at(&mut bytes, offset).map_err(io_error(path))?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| not_ferry(format!("ferry/metadata.json is not JSON: {e}")))?;
    let version = value.get("format_version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version > u64::from(FORMAT_VERSION) {
        return Err(ArchiveError::UnsupportedVersion {
            file: path.to_path_buf(),
            version: u32::try_from(version).unwrap_or(u32::MAX),
        });
    }
    if version == 0 {
        return Err(not_ferry("ferry/metadata.json has no format_version".into()));
    }
    serde_json::from_value(value).map_err(|e| not_ferry(format!("ferry/metadata.json: {e}")))
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::store::archive::test_support::*;
    use crate::store::archive::ArchiveWriter;

    /// Writes `mirror_000001.tar` in `dir` from raw entries (header, data), with or without the end-of-archive blocks.
    fn craft(dir: &Path, entries: &[([u8; 512], Vec<u8>)], end: bool) -> PathBuf {
        let mut bytes = Vec::new();
        for (header, data) in entries {
            bytes.extend_from_slice(header);
            bytes.extend_from_slice(data);
            bytes.resize(tar::padded(bytes.len() as u64) as usize, 0);
        }
        if end {
            bytes.extend_from_slice(&[0u8; 1024]);
        }
        let path = dir.join("mirror_000001.tar");
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// A valid blob entry and a metadata entry naming `mirror_000001.tar`.
    fn valid_entries() -> Vec<([u8; 512], Vec<u8>)> {
        let (digest, bytes) = blob(700, 1);
        let mut meta = metadata();
        meta.format_version = FORMAT_VERSION;
        meta.run_id = "crafted".into();
        meta.segments = vec!["mirror_000001.tar".into()];
        let json = serde_json::to_vec(&meta).unwrap();
        vec![
            (tar::header(&tar::blob_name(&digest), 700), bytes.to_vec()),
            (tar::header(tar::METADATA_NAME, json.len() as u64), json),
        ]
    }

    fn open_error(dir: &Path) -> ArchiveError {
        ArchiveReader::open(dir).unwrap_err()
    }

    async fn finished_archive(dir: &Path, limit: u64) -> Vec<(Digest, Bytes)> {
        let writer = ArchiveWriter::create_or_resume(dir, limit, false).unwrap();
        let blobs: Vec<_> = (0..4).map(|i| blob(3000 + i * 100, i as u64)).collect();
        for (digest, bytes) in &blobs {
            writer.write_bytes(digest, bytes.clone()).await.unwrap();
        }
        writer.finish(metadata()).await.unwrap();
        blobs
    }

    #[test]
    fn a_crafted_valid_archive_opens() {
        let dir = tempfile::tempdir().unwrap();
        craft(dir.path(), &valid_entries(), true);
        let reader = ArchiveReader::open(dir.path()).unwrap();
        assert_eq!(reader.metadata()[0].run_id, "crafted");
        assert!(reader.contains(&blob(700, 1).0));
    }

    #[test]
    fn unsafe_entries_are_refused() {
        let cases: [([u8; 512], &str); 5] = [
            (tar::header("../x", 4), "`..`"),
            (tar::header("blobs/sha256/../../../etc/x", 4), "`..`"),
            (tar::header("/abs", 4), "absolute path"),
            (
                tar::header_of_type("ferry/link", 0, b'2', "/etc/passwd"),
                "symbolic link",
            ),
            (
                tar::header_of_type("ferry/hard", 0, b'1', "ferry/metadata.json"),
                "hard link",
            ),
        ];
        for (header, reason) in cases {
            let dir = tempfile::tempdir().unwrap();
            let mut entries = valid_entries();
            entries.insert(1, (header, b"evil".to_vec()));
            craft(dir.path(), &entries, true);
            let error = open_error(dir.path());
            assert!(
                matches!(&error, ArchiveError::UnsafeEntry { offset: 1536, reason: r, .. } if r.contains(reason)),
                "{error}"
            );
            let message = error.to_string();
            assert!(
                message.contains("mirror_000001.tar") && message.contains("offset 1536"),
                "{message}"
            );
        }
    }

    #[test]
    fn a_foreign_tar_and_a_non_tar_are_not_ferry_archives() {
        let dir = tempfile::tempdir().unwrap();
        let source = tempfile::tempdir().unwrap();
        std::fs::write(source.path().join("hello.txt"), b"hello").unwrap();
        let status = Command::new("tar")
            .arg("-cf")
            .arg(dir.path().join("mirror_000001.tar"))
            .arg("-C")
            .arg(source.path())
            .arg("hello.txt")
            .status()
            .unwrap();
        assert!(status.success());
        let error = open_error(dir.path());
        assert!(
            matches!(&error, ArchiveError::NotFerryArchive { reason, .. } if reason.contains("hello.txt")),
            "{error}"
        );

        std::fs::write(dir.path().join("mirror_000001.tar"), content(5000, 9)).unwrap();
        let error = open_error(dir.path());
        assert!(
            matches!(&error, ArchiveError::NotFerryArchive { reason, .. } if reason.contains("ustar")),
            "{error}"
        );

        // Only ferry entries, but no metadata: not a complete ferry archive.
        let mut entries = valid_entries();
        entries.pop();
        craft(dir.path(), &entries, true);
        assert!(matches!(open_error(dir.path()), ArchiveError::OrphanSegment { .. }));

        // A newer format.
        let mut meta = metadata();
        meta.format_version = FORMAT_VERSION + 1;
        let json = serde_json::to_vec(&meta).unwrap();
        craft(
            dir.path(),
            &[(tar::header(tar::METADATA_NAME, json.len() as u64), json)],
            true,
        );
        assert!(matches!(
            open_error(dir.path()),
            ArchiveError::UnsupportedVersion { version: 2, .. }
        ));
    }

    #[tokio::test]
    async fn truncated_segments_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        finished_archive(dir.path(), 1 << 30).await;
        let path = dir.path().join("mirror_000001.tar");
        let full = std::fs::read(&path).unwrap();
        for (cut, reason) in [
            (full.len() - 1024, "end-of-archive"),
            (full.len() - 512, "end-of-archive"),
            // The first blob (3000 bytes) takes 512 + 3072 bytes; the second one's header starts at 3584.
            (2000, "bytes but the file ends"),
            (3584 + 16, "inside an entry header"),
            (3584 + 512 + 100, "bytes but the file ends"),
        ] {
            std::fs::write(&path, &full[..cut]).unwrap();
            let error = open_error(dir.path());
            assert!(
                matches!(&error, ArchiveError::Truncated { reason: r, .. } if r.contains(reason)),
                "cut at {cut}: {error}"
            );
        }
        std::fs::write(&path, &full).unwrap();
        ArchiveReader::open(dir.path()).unwrap();
    }

    #[tokio::test]
    async fn an_incomplete_set_and_unfinished_segments_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        finished_archive(dir.path(), 8192).await;
        let segments: Vec<_> = (1..=3)
            .map(|n| dir.path().join(crate::store::archive::segment_name(n)))
            .collect();
        assert!(segments.iter().all(|s| s.is_file()));
        let aside = dir.path().join("aside");
        std::fs::rename(&segments[1], &aside).unwrap();
        let error = open_error(dir.path());
        assert!(
            matches!(&error, ArchiveError::MissingSegment { segment, .. } if segment == "mirror_000002.tar"),
            "{error}"
        );
        std::fs::rename(&aside, &segments[1]).unwrap();
        let last = dir.path().join("mirror_000004.tar");
        if last.exists() {
            std::fs::rename(&last, &aside).unwrap();
        } else {
            std::fs::rename(&segments[2], &aside).unwrap();
        }
        assert!(matches!(open_error(dir.path()), ArchiveError::OrphanSegment { .. }));

        let empty = tempfile::tempdir().unwrap();
        std::fs::write(empty.path().join("mirror_000001.tar.partial"), b"").unwrap();
        let error = open_error(empty.path());
        assert!(matches!(error, ArchiveError::NoArchives { partial: true, .. }));
        assert!(error.to_string().contains("mirror-to-disk again"));
    }

    #[tokio::test]
    async fn a_moved_archive_directory_still_opens() {
        let parent = tempfile::tempdir().unwrap();
        let original = parent.path().join("original");
        std::fs::create_dir(&original).unwrap();
        let blobs = finished_archive(&original, 8192).await;
        let moved = parent.path().join("elsewhere").join("archives");
        std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
        std::fs::rename(&original, &moved).unwrap();
        // Only the segments travel across the air gap.
        std::fs::remove_dir_all(moved.join("working-dir")).unwrap();
        let reader = ArchiveReader::open(&moved).unwrap();
        fn assert_send<T: Send>(_: &T) {}
        fn assert_shareable<T: Send + Sync>(_: &T) {}
        assert_shareable(&reader);
        assert_send(&reader.open_blob(&blobs[0].0));
        assert_send(&reader.read_bytes(&blobs[0].0));
        for (digest, bytes) in &blobs {
            assert_eq!(&read_back(&reader, digest).await, bytes);
            assert_eq!(&reader.read_bytes(digest).await.unwrap(), bytes);
        }
        let missing = Digest::of_bytes(b"missing");
        assert!(matches!(
            reader.read_bytes(&missing).await,
            Err(ArchiveError::BlobNotFound { .. })
        ));
    }

    #[tokio::test]
    async fn corrupt_blob_data_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = finished_archive(dir.path(), 1 << 30).await;
        let path = dir.path().join("mirror_000001.tar");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[512 + 10] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        let reader = ArchiveReader::open(dir.path()).unwrap();
        let error = reader.read_bytes(&blobs[0].0).await.unwrap_err();
        assert!(matches!(error, ArchiveError::Corrupt { offset: 512, .. }), "{error}");
    }
}
