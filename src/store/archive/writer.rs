//! Writing an archive set: regions reserved at the end of the current segment and filled concurrently with positional
//! writes (no staging copy), the resume journal, voiding of abandoned regions, rollover, and `finish`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::history::{date_of, History, RunRecord};
use super::metadata::{ArchiveMetadata, BlobLocation, FORMAT_VERSION};
use super::tar::{self, BLOCK, END_OF_ARCHIVE};
use super::{io_error, parse_segment_name, segment_name, sync_dir, ArchiveError, WORKING_DIR};
use crate::clock::UtcTime;
use crate::image::Digest;
use crate::store::drain::{check_bytes, drain, BlockingWrite, DrainError};
use crate::sync::Locked;

/// The resume journal of the unfinished run, in `working-dir`.
pub(crate) const JOURNAL_FILE: &str = "archive-journal.jsonl";
/// Copies of finished runs' metadata, in `working-dir`.
pub(crate) const ARCHIVES_DIR: &str = "archives";

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Record {
    Start {
        format_version: u32,
        run_id: String,
        created: String,
        first_segment: u32,
    },
    /// A segment file was created.
    Segment { segment: u32 },
    /// A region (header at `offset`) was reserved for a blob; written before any of its data.
    Reserve {
        segment: u32,
        offset: u64,
        digest: Digest,
        size: u64,
    },
    /// The region's data and header are on disk (fsynced).
    Done { segment: u32, offset: u64, digest: Digest },
}

/// Writes the segments of one m2d run. `Send + Sync`: share it through an `Arc` and write blobs concurrently.
pub(crate) struct ArchiveWriter {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    work: PathBuf,
    run_id: String,
    created: String,
    limit: u64,
    strict: bool,
    state: Mutex<State>,
    journal: Mutex<File>,
}

struct State {
    first_segment: u32,
    segments: Vec<Segment>,
    completed: BTreeMap<Digest, Placed>,
    inflight: HashMap<Digest, watch::Sender<()>>,
    warnings: Vec<String>,
    closed: bool,
}

struct Segment {
    number: u32,
    file: Arc<File>,
    /// Bytes of the segment taken by reserved regions.
    used: u64,
}

/// A completed blob: its region's header offset.
#[derive(Debug, Clone, Copy)]
struct Placed {
    segment: u32,
    offset: u64,
    size: u64,
}

/// A region the journal reserved in a segment: the blob's header offset, digest and data size.
#[derive(Debug, Clone)]
struct Reserved {
    offset: u64,
    digest: Digest,
    size: u64,
}

fn partial_path(dir: &Path, number: u32) -> PathBuf {
    dir.join(format!("{}.partial", segment_name(number)))
}

fn final_path(dir: &Path, number: u32) -> PathBuf {
    dir.join(segment_name(number))
}

/// Rewrites a region's header as a `ferry/void/...` regular file covering the whole region.
fn void_region(file: &File, segment: u32, offset: u64, size: u64) -> std::io::Result<()> {
    let name = format!("{}{segment:06}-{offset}", tar::VOID_PREFIX);
    file.write_all_at(&tar::header(&name, tar::padded(size)), offset)
}

async fn blocking<T, F>(path: &Path, work: F) -> Result<T, ArchiveError>
where
    F: FnOnce() -> Result<T, ArchiveError> + Send + 'static,
    T: Send + 'static,
{
    crate::files::blocking(path, |path, error| io_error(path)(error), work).await
}

impl ArchiveWriter {
    /// Opens the archive run in `dir` (the user's `file://DIR`; state in `dir/working-dir`), resuming the unfinished run
    /// its journal describes, or starting a new one. `segment_limit` is in bytes; with `strict`, a blob larger than a
    /// segment is an error instead of a warning.
    pub(crate) fn create_or_resume(
        dir: &Path,
        segment_limit: u64,
        strict: bool,
    ) -> Result<ArchiveWriter, ArchiveError> {
        let work = dir.join(WORKING_DIR);
        std::fs::create_dir_all(&work).map_err(io_error(&work))?;
        let history = History::load(dir)?;
        let journal_path = work.join(JOURNAL_FILE);
        let records = read_journal(&journal_path)?;
        let resumable = match records.first() {
            Some(Record::Start { run_id, .. }) => history.run(run_id).is_none(),
            _ => false,
        };
        let inner = if resumable {
            resume(dir, &work, records, segment_limit, strict)?
        } else {
            fresh(dir, &work, &history, segment_limit, strict)?
        };
        Ok(ArchiveWriter { inner: Arc::new(inner) })
    }

    /// The run id (the UTC start time, `20240501T120000Z`), stable across resume.
    pub(crate) fn run_id(&self) -> &str {
        &self.inner.run_id
    }

    /// Whether the blob is completely written in this run (including before a resume).
    pub(crate) fn has_blob(&self, digest: &Digest) -> bool {
        self.inner.state.locked().completed.contains_key(digest)
    }

    /// Writes a blob of `size` bytes from `stream` into its own region, verifying size and digest. A no-op when the blob
    /// is already written; waits when another task is writing the same blob. On failure the region becomes a void entry
    /// and the write can be retried with a fresh stream.
    pub(crate) async fn write_blob<S>(&self, digest: &Digest, size: u64, stream: S) -> Result<(), ArchiveError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let Some(_claim) = self.claim(digest).await? else {
            return Ok(());
        };
        let (segment, file, offset) = self.inner.reserve(digest, size)?;
        let mut region = RegionGuard {
            file: file.clone(),
            segment,
            offset,
            size,
            settled: false,
        };
        let path = partial_path(&self.inner.dir, segment);
        let at = Positioned {
            file,
            position: offset + BLOCK,
        };
        let sink = drain(stream, digest, size, at)
            .await
            .map_err(|e| drain_error(e, &path))?;
        let inner = self.inner.clone();
        let expected = digest.clone();
        let error_path = path.clone();
        blocking(&error_path, move || {
            let io = io_error(&path);
            let padding = tar::padded(size) - size;
            if padding > 0 {
                sink.file
                    .write_all_at(&vec![0u8; padding as usize], offset + BLOCK + size)
                    .map_err(&io)?;
            }
            // The header goes last: until the data is complete the region has no entry that a reader could take.
            sink.file
                .write_all_at(&tar::header(&tar::blob_name(&expected), size), offset)
                .map_err(&io)?;
            sink.file.sync_data().map_err(&io)?;
            inner.journal_append(
                &Record::Done {
                    segment,
                    offset,
                    digest: expected,
                },
                true,
            )
        })
        .await?;
        self.inner
            .state
            .locked()
            .completed
            .insert(digest.clone(), Placed { segment, offset, size });
        region.settled = true;
        Ok(())
    }

    /// Writes a small blob held in memory (a manifest), verifying its digest first.
    pub(crate) async fn write_bytes(&self, digest: &Digest, bytes: Bytes) -> Result<(), ArchiveError> {
        check_bytes(digest, &bytes)?;
        let size = bytes.len() as u64;
        self.write_blob(digest, size, futures_util::stream::iter([Ok(bytes)]))
            .await
    }

    /// Warnings so far (blobs larger than a segment).
    pub(crate) fn warnings(&self) -> Vec<String> {
        self.inner.state.locked().warnings.clone()
    }

    /// Completes the run: appends `metadata` (with `blobs`, `segments`, `run_id`, `format_version` and `earlier_runs`
    /// filled in) as `ferry/metadata.json` to the last segment, ends every segment, renames them to `mirror_NNNNNN.tar`,
    /// copies the metadata to `working-dir/archives/<run-id>.json`, records the run in the history and removes the
    /// journal. Returns the segment paths in order.
    pub(crate) async fn finish(&self, metadata: ArchiveMetadata) -> Result<Vec<PathBuf>, ArchiveError> {
        let inner = self.inner.clone();
        blocking(&self.inner.dir, move || inner.finish(metadata)).await
    }

    /// Becomes the writer of `digest`, or returns `None` once it is written; waits while another task writes it.
    async fn claim(&self, digest: &Digest) -> Result<Option<Claim>, ArchiveError> {
        loop {
            let mut receiver = {
                let mut state = self.inner.state.locked();
                if state.completed.contains_key(digest) {
                    return Ok(None);
                }
                if state.closed {
                    return Err(self.inner.closed());
                }
                match state.inflight.get(digest) {
                    Some(sender) => sender.subscribe(),
                    None => {
                        let (sender, _) = watch::channel(());
                        state.inflight.insert(digest.clone(), sender);
                        return Ok(Some(Claim {
                            inner: self.inner.clone(),
                            digest: digest.clone(),
                        }));
                    }
                }
            };
            // Resolves when the other writer drops its claim (success or failure); then look again.
            let _ = receiver.changed().await;
        }
    }
}

/// The exclusive right to write one digest; dropping it wakes the tasks waiting for that digest.
struct Claim {
    inner: Arc<Inner>,
    digest: Digest,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.inner.state.locked().inflight.remove(&self.digest);
    }
}

/// A reserved region; voided when dropped before the blob completed (an error or a cancelled write).
struct RegionGuard {
    file: Arc<File>,
    segment: u32,
    offset: u64,
    size: u64,
    settled: bool,
}

impl Drop for RegionGuard {
    fn drop(&mut self) {
        if !self.settled {
            // Best effort: if this fails, a resumed run voids the region from the journal.
            let _ = void_region(&self.file, self.segment, self.offset, self.size);
        }
    }
}

/// Where a blob's data goes next, and its running digest.
/// A segment file written at a moving position (other blobs fill other regions of it at the same time).
struct Positioned {
    file: Arc<File>,
    position: u64,
}

impl BlockingWrite for Positioned {
    fn write_chunk(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.file.write_all_at(chunk, self.position)?;
        self.position += chunk.len() as u64;
        Ok(())
    }
}

fn drain_error(error: DrainError, path: &Path) -> ArchiveError {
    match error {
        DrainError::Content(content) => ArchiveError::Content(content),
        DrainError::Write(source) => io_error(path)(source),
    }
}

impl Inner {
    fn closed(&self) -> ArchiveError {
        ArchiveError::Closed {
            run_id: self.run_id.clone(),
            dir: self.dir.clone(),
        }
    }

    fn journal_path(&self) -> PathBuf {
        self.work.join(JOURNAL_FILE)
    }

    fn journal_append(&self, record: &Record, sync: bool) -> Result<(), ArchiveError> {
        let mut line = serde_json::to_vec(record).expect("journal records serialize");
        line.push(b'\n');
        let mut journal = self.journal.locked();
        let path = self.journal_path();
        journal.write_all(&line).map_err(io_error(&path))?;
        if sync {
            journal.sync_data().map_err(io_error(&path))?;
        }
        Ok(())
    }

    /// Reserves the region for a blob of `size` bytes: the segment number, its file and the header offset.
    fn reserve(&self, digest: &Digest, size: u64) -> Result<(u32, Arc<File>, u64), ArchiveError> {
        let region = tar::region_len(size);
        let mut state = self.state.locked();
        if state.closed {
            return Err(self.closed());
        }
        let oversized = region + END_OF_ARCHIVE > self.limit;
        if oversized && self.strict {
            return Err(ArchiveError::Oversized {
                digest: digest.clone(),
                size,
                limit: self.limit,
            });
        }
        let roll = match state.segments.last() {
            None => true,
            Some(segment) => segment.used > 0 && segment.used + region + END_OF_ARCHIVE > self.limit,
        };
        if roll {
            self.new_segment(&mut state)?;
        }
        let segment = state.segments.last().expect("a current segment");
        let (number, offset, file) = (segment.number, segment.used, segment.file.clone());
        // Appended under the state lock, so the journal lists the regions of a segment in file order.
        self.journal_append(
            &Record::Reserve {
                segment: number,
                offset,
                digest: digest.clone(),
                size,
            },
            false,
        )?;
        state.segments.last_mut().expect("a current segment").used += region;
        if oversized {
            let warning = format!(
                "blob {digest} is {size} bytes, more than the archive segment size of {} bytes: it has {} to itself",
                self.limit,
                segment_name(number)
            );
            state.warnings.push(warning);
        }
        Ok((number, file, offset))
    }

    fn new_segment(&self, state: &mut State) -> Result<(), ArchiveError> {
        let number = state.segments.last().map_or(state.first_segment, |s| s.number + 1);
        self.journal_append(&Record::Segment { segment: number }, false)?;
        let path = partial_path(&self.dir, number);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(io_error(&path))?;
        sync_dir(&self.dir)?;
        state.segments.push(Segment {
            number,
            file: Arc::new(file),
            used: 0,
        });
        Ok(())
    }

    fn finish(&self, mut metadata: ArchiveMetadata) -> Result<Vec<PathBuf>, ArchiveError> {
        let mut state = self.state.locked();
        if state.closed {
            return Err(self.closed());
        }
        if !state.inflight.is_empty() {
            return Err(ArchiveError::Busy {
                count: state.inflight.len(),
            });
        }
        state.closed = true;
        let history = History::load(&self.dir)?;
        self.complete_metadata(&mut metadata, &state, &history);
        self.write_metadata_entry(&mut state, &mut metadata)?;
        let paths = self.seal_segments(&state)?;
        self.record_run(&metadata, &state)?;
        Ok(paths)
    }

    /// Fills in what the writer knows: the run, the blobs and where they are, the earlier runs relied on.
    fn complete_metadata(&self, metadata: &mut ArchiveMetadata, state: &State, history: &History) {
        metadata.format_version = FORMAT_VERSION;
        metadata.run_id = self.run_id.clone();
        if metadata.created.is_empty() {
            metadata.created = self.created.clone();
        }
        if metadata.tool_version.is_empty() {
            metadata.tool_version = env!("CARGO_PKG_VERSION").to_string();
        }
        metadata.earlier_runs = metadata
            .depends_on
            .values()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|run| {
                let segments = history.run(run).map(|r| r.segments.clone()).unwrap_or_default();
                (run.clone(), segments)
            })
            .collect();
        metadata.blobs = state
            .completed
            .iter()
            .map(|(digest, placed)| {
                let location = BlobLocation {
                    segment: segment_name(placed.segment),
                    offset: placed.offset + BLOCK,
                    size: placed.size,
                };
                (digest.clone(), location)
            })
            .collect();
    }

    /// The metadata goes last in the last segment, or in a segment of its own when it does not fit.
    fn write_metadata_entry(&self, state: &mut State, metadata: &mut ArchiveMetadata) -> Result<(), ArchiveError> {
        if state.segments.is_empty() {
            self.new_segment(state)?;
        }
        let names = |state: &State| state.segments.iter().map(|s| segment_name(s.number)).collect();
        metadata.segments = names(state);
        let mut json = serde_json::to_vec_pretty(&metadata).expect("metadata serializes");
        let last = state.segments.last().expect("a segment");
        if last.used > 0 && last.used + tar::region_len(json.len() as u64) + END_OF_ARCHIVE > self.limit {
            self.new_segment(state)?;
            metadata.segments = names(state);
            json = serde_json::to_vec_pretty(&metadata).expect("metadata serializes");
        }
        let last = state.segments.last_mut().expect("a segment");
        let path = partial_path(&self.dir, last.number);
        let io = io_error(&path);
        let size = json.len() as u64;
        json.resize(tar::padded(size) as usize, 0);
        last.file
            .write_all_at(&tar::header(tar::METADATA_NAME, size), last.used)
            .map_err(&io)?;
        last.file.write_all_at(&json, last.used + BLOCK).map_err(&io)?;
        last.used += tar::region_len(size);
        Ok(())
    }

    /// Ends every segment with the end-of-archive blocks, makes it durable and gives it its final name.
    fn seal_segments(&self, state: &State) -> Result<Vec<PathBuf>, ArchiveError> {
        for segment in &state.segments {
            let path = partial_path(&self.dir, segment.number);
            let io = io_error(&path);
            segment
                .file
                .write_all_at(&[0u8; END_OF_ARCHIVE as usize], segment.used)
                .map_err(&io)?;
            segment.file.set_len(segment.used + END_OF_ARCHIVE).map_err(&io)?;
            segment.file.sync_all().map_err(&io)?;
        }
        let mut paths = Vec::with_capacity(state.segments.len());
        for segment in &state.segments {
            let from = partial_path(&self.dir, segment.number);
            let to = final_path(&self.dir, segment.number);
            std::fs::rename(&from, &to).map_err(io_error(&from))?;
            paths.push(to);
        }
        sync_dir(&self.dir)?;
        Ok(paths)
    }

    /// Keeps a copy of the metadata in working-dir, appends the run to the history, and ends the journal.
    fn record_run(&self, metadata: &ArchiveMetadata, state: &State) -> Result<(), ArchiveError> {
        let copy = self.work.join(ARCHIVES_DIR).join(format!("{}.json", self.run_id));
        let text = serde_json::to_vec_pretty(metadata).expect("metadata serializes");
        crate::files::write_atomically(&copy, &text).map_err(io_error(&copy))?;
        let record = RunRecord {
            run_id: self.run_id.clone(),
            date: date_of(&self.created),
            created: self.created.clone(),
            finished: UtcTime::now().rfc3339(),
            segments: metadata.segments.clone(),
            blobs: state.completed.keys().cloned().collect(),
        };
        History::append(&self.dir, &record)?;
        let journal = self.journal_path();
        std::fs::remove_file(&journal).map_err(io_error(&journal))?;
        sync_dir(&self.work)
    }
}

/// The journal's records up to the first torn or unreadable line (a crash while appending); empty when there is none.
fn read_journal(path: &Path) -> Result<Vec<Record>, ArchiveError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(path)(e)),
    };
    let mut records = Vec::new();
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let Some(line) = line.strip_suffix(b"\n") else { break };
        match serde_json::from_slice::<Record>(line) {
            Ok(record) => records.push(record),
            Err(_) => break,
        }
    }
    Ok(records)
}

fn open_journal(path: &Path, records: &[Record]) -> Result<File, ArchiveError> {
    let io = io_error(path);
    let temporary = path.with_extension("jsonl.tmp");
    let mut text = Vec::new();
    for record in records {
        serde_json::to_writer(&mut text, record).expect("journal records serialize");
        text.push(b'\n');
    }
    let mut file = File::create(&temporary).map_err(io_error(&temporary))?;
    file.write_all(&text).map_err(io_error(&temporary))?;
    file.sync_all().map_err(io_error(&temporary))?;
    std::fs::rename(&temporary, path).map_err(&io)?;
    sync_dir(path.parent().expect("the journal is in working-dir"))?;
    OpenOptions::new().append(true).open(path).map_err(&io)
}

/// Removes `mirror_NNNNNN.tar.partial` files whose number is not in `keep`.
fn remove_stale_partials(dir: &Path, keep: &BTreeSet<u32>) -> Result<(), ArchiveError> {
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".partial"))
            .and_then(parse_segment_name)
        else {
            continue;
        };
        if !keep.contains(&number) {
            std::fs::remove_file(entry.path()).map_err(io_error(&entry.path()))?;
        }
    }
    Ok(())
}

fn fresh(dir: &Path, work: &Path, history: &History, limit: u64, strict: bool) -> Result<Inner, ArchiveError> {
    remove_stale_partials(dir, &BTreeSet::new())?;
    // Continue the numbering after every segment in the directory or in the history: never overwrite a shipped set.
    let mut highest = 0;
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        if let Some(number) = entry.file_name().to_str().and_then(parse_segment_name) {
            highest = highest.max(number);
        }
    }
    for run in history.runs() {
        for name in &run.segments {
            highest = highest.max(parse_segment_name(name).unwrap_or(0));
        }
    }
    let now = UtcTime::now();
    let mut run_id = now.compact();
    let mut attempt = 1;
    while history.run(&run_id).is_some() || work.join(ARCHIVES_DIR).join(format!("{run_id}.json")).exists() {
        attempt += 1;
        run_id = format!("{}-{attempt}", now.compact());
    }
    let start = Record::Start {
        format_version: FORMAT_VERSION,
        run_id: run_id.clone(),
        created: now.rfc3339(),
        first_segment: highest + 1,
    };
    let journal = open_journal(&work.join(JOURNAL_FILE), &[start])?;
    Ok(Inner {
        dir: dir.to_path_buf(),
        work: work.to_path_buf(),
        run_id,
        created: now.rfc3339(),
        limit,
        strict,
        state: Mutex::new(State {
            first_segment: highest + 1,
            segments: Vec::new(),
            completed: BTreeMap::new(),
            inflight: HashMap::new(),
            warnings: Vec::new(),
            closed: false,
        }),
        journal: Mutex::new(journal),
    })
}

/// Whether the region at `offset` holds the complete header of this blob.
fn header_matches(file: &File, offset: u64, digest: &Digest, size: u64) -> bool {
    let mut block = [0u8; 512];
    if file.read_exact_at(&mut block, offset).is_err() {
        return false;
    }
    matches!(tar::parse_header(&block), Ok(Some(h)) if h.name == tar::blob_name(digest) && h.size == size && h.typeflag == b'0')
}

fn resume(dir: &Path, work: &Path, records: Vec<Record>, limit: u64, strict: bool) -> Result<Inner, ArchiveError> {
    let journal_path = work.join(JOURNAL_FILE);
    let mut replay = replay_journal(&records, &journal_path)?;
    let mut compacted = vec![records[0].clone()];
    let mut segments = Vec::new();
    let mut completed = BTreeMap::new();
    for &number in &replay.numbers {
        let regions = replay.reserves.remove(&number).unwrap_or_default();
        let recovered = recover_segment(dir, number, regions, &replay.done, &mut completed)?;
        compacted.push(Record::Segment { segment: number });
        for Reserved { offset, digest, size } in recovered.kept {
            compacted.push(Record::Reserve {
                segment: number,
                offset,
                digest: digest.clone(),
                size,
            });
            compacted.push(Record::Done {
                segment: number,
                offset,
                digest,
            });
        }
        segments.push(recovered.segment);
    }
    remove_stale_partials(dir, &replay.numbers)?;
    sync_dir(dir)?;
    let journal = open_journal(&journal_path, &compacted)?;
    let warnings = oversize_warnings(&completed, limit);
    Ok(Inner {
        dir: dir.to_path_buf(),
        work: work.to_path_buf(),
        run_id: replay.run_id,
        created: replay.created,
        limit,
        strict,
        state: Mutex::new(State {
            first_segment: replay.first_segment,
            segments,
            completed,
            inflight: HashMap::new(),
            warnings,
            closed: false,
        }),
        journal: Mutex::new(journal),
    })
}

/// What an unfinished run's journal says: the run, its segments, the regions reserved in each, and those finished.
struct Replay {
    run_id: String,
    created: String,
    first_segment: u32,
    numbers: BTreeSet<u32>,
    reserves: BTreeMap<u32, Vec<Reserved>>,
    done: HashSet<(u32, u64, Digest)>,
}

fn replay_journal(records: &[Record], journal_path: &Path) -> Result<Replay, ArchiveError> {
    let bad = |reason: &str| ArchiveError::Journal {
        path: journal_path.to_path_buf(),
        reason: reason.into(),
    };
    let Some(Record::Start {
        run_id,
        created,
        first_segment,
        ..
    }) = records.first().cloned()
    else {
        return Err(bad("no start record"));
    };
    let mut replay = Replay {
        run_id,
        created,
        first_segment,
        numbers: BTreeSet::new(),
        reserves: BTreeMap::new(),
        done: HashSet::new(),
    };
    for record in &records[1..] {
        match record {
            Record::Segment { segment } => {
                replay.numbers.insert(*segment);
            }
            Record::Reserve {
                segment,
                offset,
                digest,
                size,
            } => {
                replay.numbers.insert(*segment);
                replay.reserves.entry(*segment).or_default().push(Reserved {
                    offset: *offset,
                    digest: digest.clone(),
                    size: *size,
                });
            }
            Record::Done {
                segment,
                offset,
                digest,
            } => {
                replay.done.insert((*segment, *offset, digest.clone()));
            }
            Record::Start { .. } => return Err(bad("a second start record")),
        }
    }
    if replay.numbers.iter().any(|&n| n < first_segment) {
        return Err(bad("a segment numbered before the run's first"));
    }
    Ok(replay)
}

/// A segment of an unfinished run, reopened: its finished regions kept, abandoned ones voided or cut off.
struct Recovered {
    segment: Segment,
    kept: Vec<Reserved>,
}

fn recover_segment(
    dir: &Path,
    number: u32,
    mut regions: Vec<Reserved>,
    done: &HashSet<(u32, u64, Digest)>,
    completed: &mut BTreeMap<Digest, Placed>,
) -> Result<Recovered, ArchiveError> {
    let partial = partial_path(dir, number);
    let finished = final_path(dir, number);
    // A crash inside `finish` may have renamed some segments already: take them back.
    if !partial.exists() && finished.exists() {
        std::fs::rename(&finished, &partial).map_err(io_error(&finished))?;
    }
    let io = io_error(&partial);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&partial)
        .map_err(&io)?;
    let length = file.metadata().map_err(&io)?.len();
    regions.sort_by_key(|r| r.offset);
    let mut kept: Vec<Reserved> = Vec::new();
    let mut end = 0;
    for region in &regions {
        let Reserved { offset, digest, size } = region;
        let region_end = offset + tar::region_len(*size);
        let complete = done.contains(&(number, *offset, digest.clone()))
            && region_end <= length
            && !completed.contains_key(digest)
            && header_matches(&file, *offset, digest, *size);
        if complete {
            completed.insert(
                digest.clone(),
                Placed {
                    segment: number,
                    offset: *offset,
                    size: *size,
                },
            );
            kept.push(region.clone());
            end = end.max(region_end);
        }
    }
    // Abandoned regions before the last completed one become void entries; later ones are cut off below.
    for Reserved { offset, size, .. } in &regions {
        let is_kept = kept.iter().any(|k| k.offset == *offset);
        if !is_kept && offset + tar::region_len(*size) <= end {
            void_region(&file, number, *offset, *size).map_err(&io)?;
        }
    }
    file.set_len(end).map_err(&io)?;
    file.sync_all().map_err(&io)?;
    let segment = Segment {
        number,
        file: Arc::new(file),
        used: end,
    };
    Ok(Recovered { segment, kept })
}

/// A warning for each blob bigger than a segment: it has a segment to itself.
fn oversize_warnings(completed: &BTreeMap<Digest, Placed>, limit: u64) -> Vec<String> {
    completed
        .iter()
        .filter(|(_, p)| tar::region_len(p.size) + END_OF_ARCHIVE > limit)
        .map(|(digest, p)| {
            format!(
                "blob {digest} is {} bytes, more than the archive segment size of {limit} bytes: it has {} to itself",
                p.size,
                segment_name(p.segment)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use futures_util::stream;

    use super::*;
    use crate::store::archive::test_support::*;
    use crate::store::archive::ArchiveReader;
    use crate::store::drain::BlobContentError;
    use futures_util::StreamExt;

    const GIB: u64 = 1 << 30;

    fn journal(dir: &Path) -> PathBuf {
        dir.join(WORKING_DIR).join(JOURNAL_FILE)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_finish_and_read_back_byte_equal() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Arc::new(ArchiveWriter::create_or_resume(dir.path(), GIB, false).unwrap());
        fn assert_shareable<T: Send + Sync>(_: &T) {}
        assert_shareable(&writer);
        let sizes = [0usize, 1, 511, 512, 513, 100_000, 3 << 20, 2 << 20];
        let blobs: Vec<_> = sizes.iter().enumerate().map(|(i, &s)| blob(s, i as u64)).collect();
        let mut tasks = Vec::new();
        // Every blob twice at once: the second writer waits and finds it written.
        for round in 0..2 {
            for (digest, bytes) in blobs.clone() {
                let writer = writer.clone();
                tasks.push(tokio::spawn(async move {
                    let size = bytes.len() as u64;
                    writer.write_blob(&digest, size, chunked(bytes, 7_000 + round)).await
                }));
            }
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let manifest = Bytes::from_static(br#"{"schemaVersion":2}"#);
        let manifest_digest = Digest::of_bytes(&manifest);
        writer.write_bytes(&manifest_digest, manifest.clone()).await.unwrap();
        assert!(writer.has_blob(&manifest_digest));
        assert!(writer.warnings().is_empty());
        let run_id = writer.run_id().to_string();

        let paths = writer.finish(metadata()).await.unwrap();
        assert_eq!(paths, vec![dir.path().join("mirror_000001.tar")]);
        let listing = tar_lists_cleanly(&paths[0]);
        assert_eq!(listing.matches("blobs/sha256/").count(), blobs.len() + 1, "{listing}");
        assert!(listing.contains("ferry/metadata.json"));
        assert!(!listing.contains("ferry/void"));
        // GNU tar extracts the same bytes.
        let (digest, bytes) = &blobs[6];
        assert_eq!(tar_extract(&paths[0], &tar::blob_name(digest)), bytes.to_vec());
        assert!(!journal(dir.path()).exists());
        assert!(dir
            .path()
            .join(WORKING_DIR)
            .join(ARCHIVES_DIR)
            .join(format!("{run_id}.json"))
            .is_file());
        assert!(matches!(
            writer.write_bytes(&manifest_digest, manifest.clone()).await,
            Ok(())
        ));
        let other = Bytes::from_static(b"late");
        assert!(matches!(
            writer.write_bytes(&Digest::of_bytes(&other), other).await,
            Err(ArchiveError::Closed { .. })
        ));

        let reader = ArchiveReader::open(dir.path()).unwrap();
        assert_eq!(reader.metadata().len(), 1);
        let meta = &reader.metadata()[0];
        assert_eq!(meta.run_id, run_id);
        assert_eq!(meta.format_version, FORMAT_VERSION);
        assert_eq!(meta.segments, vec!["mirror_000001.tar".to_string()]);
        assert_eq!(meta.blobs.len(), blobs.len() + 1);
        assert_eq!(meta.images, metadata().images);
        for (digest, bytes) in &blobs {
            assert!(reader.contains(digest));
            assert_eq!(&read_back(&reader, digest).await, bytes);
            assert_eq!(meta.blobs[digest].size, bytes.len() as u64);
        }
        assert_eq!(reader.read_bytes(&manifest_digest).await.unwrap(), manifest);
        let history = History::load(dir.path()).unwrap();
        assert_eq!(history.shipped_by(&blobs[0].0, None), Some(run_id.as_str()));
    }

    #[tokio::test]
    async fn a_small_limit_rolls_over_into_several_segments() {
        let dir = tempfile::tempdir().unwrap();
        let limit = 4096;
        let writer = ArchiveWriter::create_or_resume(dir.path(), limit, true).unwrap();
        let blobs: Vec<_> = (0..6).map(|i| blob(1000, i)).collect();
        for (digest, bytes) in &blobs {
            writer.write_bytes(digest, bytes.clone()).await.unwrap();
        }
        let paths = writer.finish(metadata()).await.unwrap();
        assert!(paths.len() >= 3, "{paths:?}");
        for path in &paths {
            assert!(std::fs::metadata(path).unwrap().len() <= limit);
            tar_lists_cleanly(path);
        }
        assert!(tar_lists_cleanly(paths.last().unwrap()).contains("ferry/metadata.json"));
        let reader = ArchiveReader::open(dir.path()).unwrap();
        assert_eq!(reader.metadata()[0].segments.len(), paths.len());
        for (digest, bytes) in &blobs {
            assert_eq!(&read_back(&reader, digest).await, bytes);
        }
    }

    #[tokio::test]
    async fn an_oversized_blob_gets_a_segment_of_its_own_or_fails_when_strict() {
        let dir = tempfile::tempdir().unwrap();
        let limit = 4096;
        let (small, small_bytes) = blob(100, 1);
        let (big, big_bytes) = blob(10_000, 2);

        let strict = ArchiveWriter::create_or_resume(dir.path(), limit, true).unwrap();
        strict.write_bytes(&small, small_bytes.clone()).await.unwrap();
        let error = strict.write_bytes(&big, big_bytes.clone()).await.unwrap_err();
        assert!(matches!(
            error,
            ArchiveError::Oversized {
                size: 10_000,
                limit: 4096,
                ..
            }
        ));
        let message = error.to_string();
        assert!(message.contains(big.as_str()) && message.contains("10000") && message.contains("4096"));
        drop(strict);

        // Starting over in the same directory resumes that run; without strict the blob is accepted.
        let writer = ArchiveWriter::create_or_resume(dir.path(), limit, false).unwrap();
        assert!(writer.has_blob(&small));
        writer.write_bytes(&big, big_bytes.clone()).await.unwrap();
        let (after, after_bytes) = blob(100, 3);
        writer.write_bytes(&after, after_bytes).await.unwrap();
        let warnings = writer.warnings();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains(big.as_str()) && warnings[0].contains("mirror_000002.tar"));
        let paths = writer.finish(metadata()).await.unwrap();
        assert_eq!(paths.len(), 3);
        let big_listing = tar_lists_cleanly(&paths[1]);
        assert_eq!(big_listing.lines().count(), 1, "{big_listing}");
        assert!(big_listing.contains(big.hex()));
        let reader = ArchiveReader::open(dir.path()).unwrap();
        assert_eq!(read_back(&reader, &big).await, big_bytes.to_vec());
    }

    #[tokio::test]
    async fn a_failed_write_leaves_a_void_entry_and_can_be_retried() {
        let dir = tempfile::tempdir().unwrap();
        let writer = ArchiveWriter::create_or_resume(dir.path(), GIB, false).unwrap();
        let (digest, bytes) = blob(5000, 7);
        let size = bytes.len() as u64;
        let (_, wrong) = blob(5000, 8);

        let error = writer
            .write_blob(&digest, size, chunked(wrong, 1000))
            .await
            .unwrap_err();
        assert!(
            matches!(error, ArchiveError::Content(BlobContentError::DigestMismatch { .. })),
            "{error}"
        );
        let failing =
            chunked(bytes.slice(..2000), 1000).chain(stream::iter([Err(std::io::Error::other("connection reset"))]));
        let error = writer.write_blob(&digest, size, failing).await.unwrap_err();
        assert!(
            matches!(
                error,
                ArchiveError::Content(BlobContentError::Stream { written: 2000, .. })
            ),
            "{error}"
        );
        let short = chunked(bytes.slice(..4999), 1000);
        let error = writer.write_blob(&digest, size, short).await.unwrap_err();
        assert!(matches!(
            error,
            ArchiveError::Content(BlobContentError::SizeMismatch {
                actual: 4999,
                more: false,
                ..
            })
        ));
        let long = chunked(Bytes::from([bytes.to_vec(), vec![1]].concat()), 1000);
        let error = writer.write_blob(&digest, size, long).await.unwrap_err();
        assert!(matches!(
            error,
            ArchiveError::Content(BlobContentError::SizeMismatch { more: true, .. })
        ));
        assert!(!writer.has_blob(&digest));

        writer
            .write_blob(&digest, size, chunked(bytes.clone(), 999))
            .await
            .unwrap();
        assert!(writer.has_blob(&digest));
        let paths = writer.finish(metadata()).await.unwrap();
        let listing = tar_lists_cleanly(&paths[0]);
        assert_eq!(listing.matches("ferry/void/").count(), 4, "{listing}");
        assert_eq!(listing.matches(digest.hex()).count(), 1, "{listing}");
        let reader = ArchiveReader::open(dir.path()).unwrap();
        assert_eq!(read_back(&reader, &digest).await, bytes.to_vec());
    }

    /// Starts a write that reserves its region, writes part of the data and never finishes, like a process killed
    /// mid-write: the future is leaked so no cleanup runs.
    async fn abandon_write(writer: &ArchiveWriter, digest: &Digest, bytes: &Bytes, sent: usize) {
        let partial = chunked(bytes.slice(..sent), 64 * 1024).chain(stream::pending());
        let mut write = Box::pin(writer.write_blob(digest, bytes.len() as u64, partial));
        tokio::select! {
            _ = &mut write => panic!("the write cannot complete"),
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
        std::mem::forget(write);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_killed_run_resumes_without_rewriting_finished_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let (a, a_bytes) = blob(70_000, 1);
        let (b, b_bytes) = blob(3 << 20, 2);
        let (c, c_bytes) = blob(3 << 20, 3);
        let (d, d_bytes) = blob(1234, 4);
        let (e, e_bytes) = blob(40_000, 5);
        let run_id;
        let partial = dir.path().join("mirror_000001.tar.partial");
        {
            let writer = ArchiveWriter::create_or_resume(dir.path(), GIB, false).unwrap();
            run_id = writer.run_id().to_string();
            writer.write_bytes(&a, a_bytes.clone()).await.unwrap();
            writer
                .write_blob(&b, b_bytes.len() as u64, chunked(b_bytes.clone(), 50_000))
                .await
                .unwrap();
            // c: reserved and half written, then killed; d completes after it; e is reserved after d and killed too.
            abandon_write(&writer, &c, &c_bytes, 3 << 19).await;
            writer.write_bytes(&d, d_bytes.clone()).await.unwrap();
            abandon_write(&writer, &e, &e_bytes, 10_000).await;
            assert!(partial.is_file());
        }
        // The kill also tore the journal's last line.
        let mut file = OpenOptions::new().append(true).open(journal(dir.path())).unwrap();
        file.write_all(br#"{"op":"done","segment":1,"off"#).unwrap();
        drop(file);

        let writer = ArchiveWriter::create_or_resume(dir.path(), GIB, false).unwrap();
        assert_eq!(writer.run_id(), run_id);
        for kept in [&a, &b, &d] {
            assert!(writer.has_blob(kept), "{kept} was completed before the crash");
        }
        assert!(!writer.has_blob(&c) && !writer.has_blob(&e));
        // The segment ends right after d's region: e's region is gone.
        let d_end = [&a_bytes, &b_bytes, &c_bytes, &d_bytes]
            .iter()
            .map(|bytes| tar::region_len(bytes.len() as u64))
            .sum::<u64>();
        assert_eq!(std::fs::metadata(&partial).unwrap().len(), d_end);
        // Writing a kept blob again does nothing: no new region.
        writer.write_bytes(&a, a_bytes.clone()).await.unwrap();
        assert_eq!(std::fs::metadata(&partial).unwrap().len(), d_end);

        writer
            .write_blob(&c, c_bytes.len() as u64, chunked(c_bytes.clone(), 80_000))
            .await
            .unwrap();
        writer.write_bytes(&e, e_bytes.clone()).await.unwrap();
        let paths = writer.finish(metadata()).await.unwrap();
        assert_eq!(paths.len(), 1);
        let listing = tar_lists_cleanly(&paths[0]);
        assert_eq!(listing.matches("ferry/void/").count(), 1, "{listing}");
        assert_eq!(listing.matches("blobs/sha256/").count(), 5, "{listing}");
        let reader = ArchiveReader::open(dir.path()).unwrap();
        assert_eq!(reader.metadata()[0].run_id, run_id);
        for (digest, bytes) in [
            (&a, &a_bytes),
            (&b, &b_bytes),
            (&c, &c_bytes),
            (&d, &d_bytes),
            (&e, &e_bytes),
        ] {
            assert_eq!(&read_back(&reader, digest).await, bytes);
        }
        assert_eq!(History::load(dir.path()).unwrap().runs().len(), 1);
    }

    #[tokio::test]
    async fn a_crash_inside_finish_is_completed_by_the_next_run() {
        let dir = tempfile::tempdir().unwrap();
        let (a, a_bytes) = blob(3000, 1);
        let writer = ArchiveWriter::create_or_resume(dir.path(), GIB, false).unwrap();
        writer.write_bytes(&a, a_bytes.clone()).await.unwrap();
        let run_id = writer.run_id().to_string();
        let saved = std::fs::read(journal(dir.path())).unwrap();
        writer.finish(metadata()).await.unwrap();
        // Crash after the renames, before the history: the journal is still there, the history is not written.
        std::fs::write(journal(dir.path()), &saved).unwrap();
        std::fs::remove_file(dir.path().join(WORKING_DIR).join(super::super::history::HISTORY_FILE)).unwrap();

        let writer = ArchiveWriter::create_or_resume(dir.path(), GIB, false).unwrap();
        assert_eq!(writer.run_id(), run_id);
        assert!(writer.has_blob(&a));
        assert!(!dir.path().join("mirror_000001.tar").exists());
        let paths = writer.finish(metadata()).await.unwrap();
        assert_eq!(tar_lists_cleanly(&paths[0]).matches("ferry/metadata.json").count(), 1);

        // Crash after the history, before the journal removal: the run is complete, the next one starts fresh.
        std::fs::write(journal(dir.path()), &saved).unwrap();
        let writer = ArchiveWriter::create_or_resume(dir.path(), GIB, false).unwrap();
        assert_ne!(writer.run_id(), run_id);
        assert!(!writer.has_blob(&a));
        assert!(dir.path().join("mirror_000001.tar").is_file());
    }

    #[tokio::test]
    async fn a_second_run_continues_the_numbering_and_history_knows_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let (a, a_bytes) = blob(3000, 1);
        let (b, b_bytes) = blob(3000, 2);
        let first = ArchiveWriter::create_or_resume(dir.path(), GIB, false).unwrap();
        first.write_bytes(&a, a_bytes).await.unwrap();
        first.finish(metadata()).await.unwrap();
        let first_id = first.run_id().to_string();

        let history = History::load(dir.path()).unwrap();
        assert_eq!(history.shipped_by(&a, None), Some(first_id.as_str()));
        let tomorrow_of_the_run = "9999-12-31";
        assert_eq!(
            history.shipped_by(&a, Some(tomorrow_of_the_run)),
            Some(first_id.as_str())
        );
        assert_eq!(history.shipped_by(&a, Some("2000-01-01")), None);

        let second = ArchiveWriter::create_or_resume(dir.path(), GIB, false).unwrap();
        assert_ne!(second.run_id(), first_id);
        second.write_bytes(&b, b_bytes).await.unwrap();
        let mut meta = metadata();
        meta.depends_on.insert(a.clone(), first_id.clone());
        let paths = second.finish(meta).await.unwrap();
        assert_eq!(paths, vec![dir.path().join("mirror_000002.tar")]);

        let reader = ArchiveReader::open(dir.path()).unwrap();
        let runs: Vec<&str> = reader.metadata().iter().map(|m| m.run_id.as_str()).collect();
        assert_eq!(runs, [first_id.as_str(), second.run_id()]);
        let newest = reader.metadata().last().unwrap();
        assert_eq!(newest.earlier_runs[&first_id], vec!["mirror_000001.tar".to_string()]);
        assert!(reader.contains(&a) && reader.contains(&b));
        assert_eq!(History::load(dir.path()).unwrap().runs().len(), 2);
    }

    #[tokio::test]
    async fn stale_partials_without_a_journal_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mirror_000001.tar.partial"), b"junk").unwrap();
        let writer = ArchiveWriter::create_or_resume(dir.path(), GIB, false).unwrap();
        assert!(!dir.path().join("mirror_000001.tar.partial").exists());
        let paths = writer.finish(metadata()).await.unwrap();
        assert_eq!(paths, vec![dir.path().join("mirror_000001.tar")]);
        let reader = ArchiveReader::open(dir.path()).unwrap();
        assert!(reader.metadata()[0].blobs.is_empty());
    }
}

#[cfg(test)]
mod kill_tests {
    //! A real `SIGKILL`: the test binary runs itself as a child that writes an archive, kills it mid-run, and resumes.

    use std::process::Command;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::store::archive::test_support::*;
    use crate::store::archive::ArchiveReader;
    use futures_util::StreamExt;

    const CHILD_DIR: &str = "FERRY_ARCHIVE_KILL_CHILD_DIR";
    const LIMIT: u64 = 256 * 1024;

    fn blobs() -> Vec<(Digest, Bytes)> {
        (0..120).map(|i| blob(30_000 + i * 7, i as u64)).collect()
    }

    async fn write_all(writer: Arc<ArchiveWriter>, slow: bool) {
        let mut tasks = Vec::new();
        for (worker, share) in blobs().chunks(30).enumerate() {
            let (writer, share) = (writer.clone(), share.to_vec());
            tasks.push(tokio::spawn(async move {
                for (digest, bytes) in share {
                    let size = bytes.len() as u64;
                    let stream = chunked(bytes, 4096 + worker).then(move |chunk| async move {
                        if slow {
                            tokio::time::sleep(Duration::from_millis(2)).await;
                        }
                        chunk
                    });
                    writer.write_blob(&digest, size, stream).await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    }

    /// The child side; does nothing unless started by `a_sigkilled_run_resumes_cleanly`.
    #[test]
    #[ignore = "started as a child process by a_sigkilled_run_resumes_cleanly"]
    fn sigkill_child() {
        let Some(dir) = std::env::var_os(CHILD_DIR) else { return };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let writer = Arc::new(ArchiveWriter::create_or_resume(Path::new(&dir), LIMIT, false).unwrap());
            write_all(writer, true).await;
            // Never finish: wait to be killed.
            tokio::time::sleep(Duration::from_secs(600)).await;
        });
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sigkilled_run_resumes_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "store::archive::writer::kill_tests::sigkill_child",
                "--quiet",
            ])
            .env(CHILD_DIR, dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let journal = dir.path().join(WORKING_DIR).join(JOURNAL_FILE);
        let started = Instant::now();
        loop {
            let done = std::fs::read_to_string(&journal).map_or(0, |t| t.matches(r#""op":"done""#).count());
            if done >= 40 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the child wrote {done} blobs in 60s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let writer = Arc::new(ArchiveWriter::create_or_resume(dir.path(), LIMIT, false).unwrap());
        let kept = blobs().iter().filter(|(digest, _)| writer.has_blob(digest)).count();
        assert!((40..120).contains(&kept), "{kept} blobs kept");
        write_all(writer.clone(), false).await;
        let paths = writer.finish(metadata()).await.unwrap();
        assert!(paths.len() >= 3);
        let mut entries = 0;
        for path in &paths {
            entries += tar_lists_cleanly(path).matches("blobs/sha256/").count();
        }
        assert_eq!(entries, 120, "each blob once");
        let reader = ArchiveReader::open(dir.path()).unwrap();
        for (digest, bytes) in blobs() {
            assert_eq!(read_back(&reader, &digest).await, bytes.to_vec());
        }
    }
}
