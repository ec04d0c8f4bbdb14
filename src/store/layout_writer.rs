//! Writing OCI image layout directories (`oci-layout`, `index.json`, `blobs/sha256/…`) as a destination.
//!
//! Blobs are streamed into a temporary file in `blobs/sha256/` (hidden, `.<hex>.XXXXXX.partial`), hashed and counted
//! on the way, fsynced and renamed to their final name: a blob file under its digest is always complete and verified.
//!
//! `index.json` names images through the `org.opencontainers.image.ref.name` annotation. Every change to it is a
//! read-modify-write under an in-process mutex and an advisory lock (`flock`) on `index.json.lock`, written through a
//! temporary file, fsynced and renamed: concurrent tasks and other processes (each with its own [`LayoutWriter`]) never
//! lose each other's entries, and a reader always sees a whole `index.json`.

use crate::store::drain::{check_bytes, drain, BlockingWrite, DrainError};
use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use serde_json::{json, Map, Value};

use super::layout::{LayoutError, REF_NAME};
use crate::files;
use crate::image::manifest::RawManifest;
use crate::image::media_type::OCI_INDEX;
use crate::image::Digest;
use crate::sync::Locked;

/// The only layout version ferry writes (and accepts for writing).
pub(crate) const LAYOUT_VERSION: &str = "1.0.0";
/// The advisory lock file that serializes changes to `index.json` across processes.
pub(crate) const INDEX_LOCK_FILE: &str = "index.json.lock";
const INDEX_FILE: &str = "index.json";
const MARKER_FILE: &str = "oci-layout";
/// Temporary files of `index.json` and `oci-layout`: `.index.json.XXXXXX.tmp`, created only under the index lock.
const TEMP_SUFFIX: &str = ".tmp";
/// Temporary files of blobs: `.<hex>.XXXXXX.partial` in `blobs/sha256/`.
const PARTIAL_SUFFIX: &str = ".partial";
/// Partial blobs untouched for this long belong to a dead writer and are removed when a layout is opened.
const STALE_PARTIAL: Duration = Duration::from_secs(3600);

/// An OCI image layout being written. `Send + Sync`: share it through an `Arc`; blobs are written and images tagged
/// concurrently.
#[derive(Debug)]
pub(crate) struct LayoutWriter {
    root: PathBuf,
    blobs: PathBuf,
    /// The open lock file; the mutex serializes this process's tasks, the `flock` on it other processes (and other
    /// `LayoutWriter`s of this process: `flock` locks belong to the open file, not the process).
    index_lock: Mutex<File>,
}

fn write_error(path: &Path) -> impl Fn(std::io::Error) -> LayoutError + '_ {
    move |source| LayoutError::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn read_error(path: &Path) -> impl Fn(std::io::Error) -> LayoutError + '_ {
    move |source| LayoutError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Makes renames and creations in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), LayoutError> {
    files::sync_dir(dir).map_err(write_error(dir))
}

/// A temporary file in `dir` with the permissions of an ordinary new file (0666 less the umask), removed when dropped.
fn temp_file(dir: &Path, prefix: &str, suffix: &str) -> Result<tempfile::NamedTempFile, LayoutError> {
    tempfile::Builder::new()
        .prefix(prefix)
        .suffix(suffix)
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(write_error(dir))
}

/// Writes `bytes` to `dir/name` through a temporary file: fsync, rename, fsync of the directory.
fn write_atomically(dir: &Path, name: &str, prefix: &str, suffix: &str, bytes: &[u8]) -> Result<(), LayoutError> {
    let path = dir.join(name);
    files::replace_in(dir, &path, prefix, suffix, bytes).map_err(write_error(&path))
}

async fn blocking<T, F>(path: &Path, work: F) -> Result<T, LayoutError>
where
    F: FnOnce() -> Result<T, LayoutError> + Send + 'static,
    T: Send + 'static,
{
    files::blocking(path, |path, error| write_error(path)(error), work).await
}

/// Whether `name` is a valid `org.opencontainers.image.ref.name` (the grammar of the image spec, which skopeo and other
/// tools enforce when they look an image up).
fn valid_ref_name(name: &str) -> bool {
    static GRAMMAR: OnceLock<regex::Regex> = OnceLock::new();
    GRAMMAR
        .get_or_init(|| {
            let component = "[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*";
            regex::Regex::new(&format!("^{component}(?:/{component})*$")).expect("valid grammar")
        })
        .is_match(name)
}

fn entry_name(entry: &Value) -> Option<&str> {
    entry.get("annotations")?.get(REF_NAME)?.as_str()
}

/// The `flock` held on the lock file, released when dropped.
struct FileLock<'a>(&'a File);

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// A blob's temporary file while data streams in.
/// A temporary blob file, appended to.
struct Appended(File);

impl BlockingWrite for Appended {
    fn write_chunk(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.0.write_all(chunk)
    }
}

fn drain_error(error: DrainError, path: &Path) -> LayoutError {
    match error {
        DrainError::Content(content) => LayoutError::Content(content),
        DrainError::Write(source) => write_error(path)(source),
    }
}

impl LayoutWriter {
    /// Creates the layout at `root` if missing (directories, `oci-layout`, an empty `index.json`), or opens an existing
    /// one, refusing an `oci-layout` of another version. Safe to call concurrently from several processes.
    pub(crate) fn open_or_create(root: &Path) -> Result<LayoutWriter, LayoutError> {
        let marker = root.join(MARKER_FILE);
        // Check an existing layout before writing anything into it.
        if marker.exists() {
            check_marker(root, &marker)?;
        }
        let blobs = root.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs).map_err(write_error(&blobs))?;
        let lock_path = root.join(INDEX_LOCK_FILE);
        let lock_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(write_error(&lock_path))?;
        let writer = LayoutWriter {
            root: root.to_path_buf(),
            blobs,
            index_lock: Mutex::new(lock_file),
        };
        {
            let file = writer.index_lock.locked();
            let _flock = writer.flock(&file)?;
            // Only code holding the lock creates these temporary files: any left over belong to a dead process.
            writer.remove_leftovers(&writer.root, |name| {
                (name.starts_with(".index.json.") || name.starts_with(".oci-layout.")) && name.ends_with(TEMP_SUFFIX)
            });
            // index.json first, so that a directory with `oci-layout` always has an index.
            if !writer.index_path().exists() {
                writer.write_index(&empty_index())?;
            }
            if marker.exists() {
                check_marker(root, &marker)?;
            } else {
                let body = serde_json::to_vec(&json!({ "imageLayoutVersion": LAYOUT_VERSION })).expect("JSON");
                write_atomically(root, MARKER_FILE, ".oci-layout.", TEMP_SUFFIX, &body)?;
            }
        }
        writer.remove_leftovers(&writer.blobs, |name| {
            name.starts_with('.') && name.ends_with(PARTIAL_SUFFIX)
        });
        Ok(writer)
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blobs.join(digest.hex())
    }

    fn index_path(&self) -> PathBuf {
        self.root.join(INDEX_FILE)
    }

    /// Whether the blob is in the layout (complete: blob files only ever appear complete).
    pub(crate) fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Streams a blob of `size` bytes into the layout, verifying size and digest. A no-op (the stream is not read) when
    /// the blob is already there. On any failure, including the future being dropped, nothing is left behind and the
    /// write can be retried with a fresh stream. Concurrent writes of the same blob are harmless (the last rename wins,
    /// with the same content).
    pub(crate) async fn write_blob<S>(&self, digest: &Digest, size: u64, stream: S) -> Result<(), LayoutError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        if self.has_blob(digest) {
            return Ok(());
        }
        let (file, temp_path) = temp_file(&self.blobs, &format!(".{}.", digest.hex()), PARTIAL_SUFFIX)?.into_parts();
        let path = temp_path.to_path_buf();
        // `temp_path` stays in this future until the final step: dropping it (error, cancellation) removes the file.
        let sink = drain(stream, digest, size, Appended(file))
            .await
            .map_err(|e| drain_error(e, &path))?;
        let final_path = self.blob_path(digest);
        let dir = self.blobs.clone();
        blocking(&path.clone(), move || {
            sink.0.sync_all().map_err(write_error(&path))?;
            drop(sink);
            temp_path
                .persist(&final_path)
                .map_err(|e| write_error(&final_path)(e.error))?;
            sync_dir(&dir)
        })
        .await
    }

    /// Writes a small blob held in memory (a manifest), verifying its digest first.
    pub(crate) async fn write_bytes(&self, digest: &Digest, bytes: Bytes) -> Result<(), LayoutError> {
        check_bytes(digest, &bytes)?;
        let size = bytes.len() as u64;
        self.write_blob(digest, size, futures_util::stream::iter([Ok(bytes)]))
            .await
    }

    /// Names `manifest` `name` in `index.json` (annotation `org.opencontainers.image.ref.name`), replacing any entry of
    /// that name; every other entry is kept as it was. Writes the manifest blob first if the layout lacks it, so the
    /// index never names a missing manifest.
    ///
    /// Blocking (a file lock, fsyncs): from async code, call it through `spawn_blocking`. Safe under concurrency:
    /// tasks of this process, other `LayoutWriter`s and other processes on the same layout are serialized.
    pub(crate) fn tag(&self, name: &str, manifest: &RawManifest) -> Result<(), LayoutError> {
        if !valid_ref_name(name) {
            return Err(LayoutError::InvalidName { name: name.into() });
        }
        check_bytes(&manifest.digest, &manifest.bytes)?;
        if !self.has_blob(&manifest.digest) {
            write_atomically(
                &self.blobs,
                manifest.digest.hex(),
                &format!(".{}.", manifest.digest.hex()),
                PARTIAL_SUFFIX,
                &manifest.bytes,
            )?;
        }
        let entry = json!({
            "mediaType": manifest.media_type(),
            "digest": manifest.digest.as_str(),
            "size": manifest.size(),
            "annotations": { REF_NAME: name },
        });

        let file = self.index_lock.locked();
        let _flock = self.flock(&file)?;
        let mut index = self.read_index()?.unwrap_or_else(empty_index);
        let manifests = index
            .as_object_mut()
            .ok_or_else(|| self.corrupt_index("not a JSON object".into()))?
            .entry("manifests")
            .or_insert_with(|| Value::Array(Vec::new()));
        if manifests.is_null() {
            *manifests = Value::Array(Vec::new());
        }
        let manifests = manifests
            .as_array_mut()
            .ok_or_else(|| self.corrupt_index("`manifests` is not an array".into()))?;
        // Replace in place (the first entry of that name keeps its position), dropping any duplicates.
        let mut slot = None;
        let mut position = 0;
        manifests.retain(|existing| {
            let same = entry_name(existing) == Some(name);
            if same && slot.is_none() {
                slot = Some(position);
            }
            if !same {
                position += 1;
            }
            !same
        });
        manifests.insert(slot.unwrap_or(manifests.len()), entry);
        self.write_index(&index)
    }

    /// The digest `index.json` names `name` with, if any (the first such entry).
    pub(crate) fn tagged(&self, name: &str) -> Result<Option<Digest>, LayoutError> {
        let Some(index) = self.read_index()? else {
            return Ok(None);
        };
        let Some(entry) = index
            .get("manifests")
            .and_then(Value::as_array)
            .and_then(|entries| entries.iter().find(|e| entry_name(e) == Some(name)))
        else {
            return Ok(None);
        };
        let digest = entry.get("digest").and_then(Value::as_str).unwrap_or_default();
        digest
            .parse()
            .map(Some)
            .map_err(|e| self.corrupt_index(format!("the entry named `{name}`: {e}")))
    }

    fn flock<'a>(&self, file: &'a File) -> Result<FileLock<'a>, LayoutError> {
        file.lock().map_err(write_error(&self.root.join(INDEX_LOCK_FILE)))?;
        Ok(FileLock(file))
    }

    fn corrupt_index(&self, reason: String) -> LayoutError {
        LayoutError::NotALayout {
            path: self.root.clone(),
            reason: format!("index.json: {reason}"),
        }
    }

    /// `index.json` as JSON (`None` when missing). Never torn: it is only ever replaced by a rename.
    fn read_index(&self) -> Result<Option<Value>, LayoutError> {
        let path = self.index_path();
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(read_error(&path)(e)),
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| self.corrupt_index(e.to_string()))
    }

    /// Replaces `index.json`; only with the index lock held.
    fn write_index(&self, index: &Value) -> Result<(), LayoutError> {
        let body = serde_json::to_vec(index).expect("JSON values serialize");
        write_atomically(&self.root, INDEX_FILE, ".index.json.", TEMP_SUFFIX, &body)
    }

    /// Best effort: removes files of `dir` whose names match and that nobody has written to for a while (any age for
    /// the lock-protected temporaries of the root, which only a lock holder could be writing).
    fn remove_leftovers(&self, dir: &Path, matches: impl Fn(&str) -> bool) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let in_root = dir == self.root;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !matches(name) {
                continue;
            }
            let stale = in_root
                || entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|modified| modified.elapsed().ok())
                    .is_some_and(|age| age > STALE_PARTIAL);
            if stale {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

fn empty_index() -> Value {
    let mut index = Map::new();
    index.insert("schemaVersion".into(), json!(2));
    index.insert("mediaType".into(), json!(OCI_INDEX));
    index.insert("manifests".into(), json!([]));
    Value::Object(index)
}

fn check_marker(root: &Path, marker: &Path) -> Result<(), LayoutError> {
    let text = std::fs::read(marker).map_err(read_error(marker))?;
    let not_a_layout = |reason: String| LayoutError::NotALayout {
        path: root.to_path_buf(),
        reason,
    };
    let value: Value = serde_json::from_slice(&text).map_err(|e| not_a_layout(format!("oci-layout: {e}")))?;
    match value.get("imageLayoutVersion") {
        Some(Value::String(version)) if version == LAYOUT_VERSION => Ok(()),
        Some(Value::String(version)) => Err(LayoutError::UnsupportedVersion {
            path: root.to_path_buf(),
            version: version.clone(),
        }),
        _ => Err(not_a_layout("oci-layout has no imageLayoutVersion".into())),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::process::Command;
    use std::sync::{Arc, Barrier};
    use std::time::{Duration, SystemTime};

    use futures_util::stream;

    use super::*;
    use crate::image::media_type::OCI_MANIFEST;
    use crate::store::archive::test_support::{blob, chunked};
    use crate::store::drain::BlobContentError;
    use crate::store::OciLayout;
    use futures_util::StreamExt;

    const CHILD_DIR: &str = "FERRY_LAYOUT_TAG_CHILD_DIR";
    const CHILD_PREFIX: &str = "FERRY_LAYOUT_TAG_CHILD_PREFIX";
    const PER_WORKER: usize = 16;

    /// An image manifest whose content depends on `seed`, referencing `config` and `layers`.
    fn image_manifest(seed: &str, config: (&Digest, u64), layers: &[(&Digest, u64)]) -> RawManifest {
        let layers: Vec<Value> = layers
            .iter()
            .map(|(digest, size)| {
                json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest.as_str(), "size": size})
            })
            .collect();
        let body = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.0.as_str(), "size": config.1},
            "layers": layers,
            "annotations": {"seed": seed},
        });
        RawManifest::new(Bytes::from(serde_json::to_vec(&body).unwrap()), None).unwrap()
    }

    fn manifest(seed: &str) -> RawManifest {
        image_manifest(seed, (&Digest::of_bytes(b"{}"), 2), &[])
    }

    fn index_json(root: &Path) -> Value {
        serde_json::from_slice(&std::fs::read(root.join(INDEX_FILE)).unwrap()).unwrap()
    }

    fn entries(root: &Path) -> Vec<Value> {
        index_json(root)["manifests"].as_array().unwrap().clone()
    }

    /// Name → digest of every named entry; panics on a name given twice.
    fn named(root: &Path) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for entry in entries(root) {
            let name = entry_name(&entry)
                .expect("every entry ferry writes is named")
                .to_string();
            let digest = entry["digest"].as_str().unwrap().to_string();
            assert!(
                out.insert(name.clone(), digest).is_none(),
                "{name} is in index.json twice"
            );
        }
        out
    }

    /// No temporary file anywhere: the root holds the layout files, `blobs/sha256` only digest-named blobs.
    fn assert_clean(root: &Path) {
        let mut top: Vec<String> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        top.sort();
        assert_eq!(top, ["blobs", "index.json", "index.json.lock", "oci-layout"]);
        for entry in std::fs::read_dir(root.join("blobs").join("sha256")).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()),
                "stray file blobs/sha256/{name}"
            );
        }
    }

    fn blob_names(root: &Path) -> Vec<String> {
        std::fs::read_dir(root.join("blobs").join("sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }

    fn tag_many(writer: &LayoutWriter, prefix: &str) {
        for i in 0..PER_WORKER {
            let name = format!("{prefix}-{i}");
            writer.tag(&name, &manifest(&name)).unwrap();
        }
    }

    #[test]
    fn the_writer_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<LayoutWriter>();
    }

    /// The child side; does nothing unless started by `concurrent_tags_from_tasks_threads_and_processes_are_all_kept`.
    #[test]
    #[ignore = "started as a child process by concurrent_tags_from_tasks_threads_and_processes_are_all_kept"]
    fn tag_child() {
        let (Some(dir), Some(prefix)) = (std::env::var_os(CHILD_DIR), std::env::var(CHILD_PREFIX).ok()) else {
            return;
        };
        let writer = LayoutWriter::open_or_create(Path::new(&dir)).unwrap();
        tag_many(&writer, &prefix);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_tags_from_tasks_threads_and_processes_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let writer = Arc::new(LayoutWriter::open_or_create(&root).unwrap());

        let children: Vec<_> = (0..2)
            .map(|p| {
                Command::new(std::env::current_exe().unwrap())
                    .args([
                        "--ignored",
                        "--exact",
                        "store::layout_writer::tests::tag_child",
                        "--quiet",
                    ])
                    .env(CHILD_DIR, &root)
                    .env(CHILD_PREFIX, format!("process{p}"))
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let root = root.clone();
                std::thread::spawn(move || {
                    let own = LayoutWriter::open_or_create(&root).unwrap();
                    tag_many(&own, &format!("thread{t}"));
                })
            })
            .collect();
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    let name = format!("task-{i}");
                    writer.tag(&name, &manifest(&name)).unwrap();
                    // Every task also re-tags one shared name: it must end up once.
                    writer.tag("shared", &manifest(&name)).unwrap();
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        for thread in threads {
            thread.join().unwrap();
        }
        for mut child in children {
            assert!(child.wait().unwrap().success(), "a child process failed");
        }

        let named = named(&root);
        let mut expected: Vec<String> = (0..64).map(|i| format!("task-{i}")).collect();
        for prefix in ["thread0", "thread1", "process0", "process1"] {
            expected.extend((0..PER_WORKER).map(|i| format!("{prefix}-{i}")));
        }
        expected.push("shared".into());
        expected.sort();
        assert_eq!(named.keys().cloned().collect::<Vec<_>>(), expected);
        for name in expected.iter().filter(|n| *n != "shared") {
            let digest = manifest(name).digest;
            assert_eq!(named[name], digest.as_str());
            assert_eq!(writer.tagged(name).unwrap(), Some(digest.clone()));
            assert!(writer.has_blob(&digest));
        }
        let shared = writer.tagged("shared").unwrap().unwrap();
        assert!((0..64).any(|i| manifest(&format!("task-{i}")).digest == shared));
        assert_clean(&root);
        let layout = OciLayout::open(&root).unwrap();
        assert_eq!(
            layout.resolve(Some("process1-3")).unwrap().digest,
            manifest("process1-3").digest
        );
    }

    #[test]
    fn writers_racing_to_create_a_layout_all_keep_their_tags() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("new").join("layout");
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (root, barrier) = (root.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let writer = LayoutWriter::open_or_create(&root).unwrap();
                    writer.tag(&format!("t{t}"), &manifest(&t.to_string())).unwrap();
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(named(&root).len(), 8);
        assert_eq!(
            std::fs::read_to_string(root.join("oci-layout")).unwrap(),
            r#"{"imageLayoutVersion":"1.0.0"}"#
        );
        let index = index_json(&root);
        assert_eq!(index["schemaVersion"], 2);
        assert_eq!(index["mediaType"], OCI_INDEX);
        assert_clean(&root);
    }

    #[test]
    fn replacing_a_tag_leaves_one_entry_and_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let foreign_unnamed = json!({
            "mediaType": OCI_MANIFEST,
            "size": 7,
            "digest": Digest::of_bytes(b"unnamed").as_str(),
            "platform": {"os": "linux", "architecture": "arm64"},
        });
        let foreign_named = json!({
            "digest": Digest::of_bytes(b"other").as_str(),
            "mediaType": OCI_MANIFEST,
            "size": 5,
            "annotations": {"z.extra": "1", REF_NAME: "other"},
        });
        let index = json!({
            "schemaVersion": 2,
            "manifests": [foreign_unnamed, foreign_named],
            "annotations": {"made.by": "someone else"},
        });
        std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        std::fs::write(
            root.join("oci-layout"),
            br#"{"imageLayoutVersion": "1.0.0", "extra": true}"#,
        )
        .unwrap();
        std::fs::write(root.join("index.json"), serde_json::to_vec_pretty(&index).unwrap()).unwrap();

        let writer = LayoutWriter::open_or_create(root).unwrap();
        assert_eq!(writer.tagged("app").unwrap(), None);
        assert_eq!(writer.tagged("other").unwrap(), Some(Digest::of_bytes(b"other")));
        let (first, second) = (manifest("first"), manifest("second"));
        writer.tag("app", &first).unwrap();
        writer.tag("later", &first).unwrap();
        writer.tag("app", &second).unwrap();

        let after = index_json(root);
        let entries = after["manifests"].as_array().unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0], foreign_unnamed);
        assert_eq!(entries[1], foreign_named);
        // The replaced entry keeps its place.
        assert_eq!(
            entries[2],
            json!({
                "mediaType": OCI_MANIFEST,
                "digest": second.digest.as_str(),
                "size": second.size(),
                "annotations": {REF_NAME: "app"},
            })
        );
        assert_eq!(entry_name(&entries[3]), Some("later"));
        assert_eq!(after["annotations"], json!({"made.by": "someone else"}));
        assert_eq!(writer.tagged("app").unwrap(), Some(second.digest.clone()));
        assert_eq!(
            std::fs::read(root.join("blobs/sha256").join(second.digest.hex())).unwrap(),
            second.bytes.to_vec()
        );

        // A foreign index that repeats a name: tagging it leaves one.
        let mut doubled = after.clone();
        let copy = doubled["manifests"][2].clone();
        doubled["manifests"].as_array_mut().unwrap().push(copy);
        std::fs::write(root.join("index.json"), serde_json::to_vec(&doubled).unwrap()).unwrap();
        writer.tag("app", &first).unwrap();
        let names: Vec<Option<String>> = entries_names(root);
        assert_eq!(
            names,
            [None, Some("other".into()), Some("app".into()), Some("later".into())]
        );
        assert_eq!(writer.tagged("app").unwrap(), Some(first.digest));
    }

    fn entries_names(root: &Path) -> Vec<Option<String>> {
        entries(root).iter().map(|e| entry_name(e).map(String::from)).collect()
    }

    #[test]
    fn bad_names_and_foreign_layouts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let writer = LayoutWriter::open_or_create(dir.path()).unwrap();
        for bad in ["", "a b", "/a", "a/", "a//b", "a:", "-a", "a---b", "é"] {
            let error = writer.tag(bad, &manifest("x")).unwrap_err();
            assert!(matches!(error, LayoutError::InvalidName { .. }), "{bad:?}: {error}");
        }
        for good in [
            "latest",
            "v1.2.3",
            "quay.io/org/app:1.0",
            "app@sha256:abc",
            "a--b",
            "sha256-0f",
        ] {
            writer.tag(good, &manifest(good)).unwrap();
        }
        let mut forged = manifest("forged");
        forged.digest = Digest::of_bytes(b"something else");
        assert!(matches!(
            writer.tag("forged", &forged),
            Err(LayoutError::Content(BlobContentError::DigestMismatch { .. }))
        ));
        assert_eq!(writer.tagged("forged").unwrap(), None);

        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("oci-layout"), br#"{"imageLayoutVersion":"2.0.0"}"#).unwrap();
        let error = LayoutWriter::open_or_create(other.path()).unwrap_err();
        assert!(matches!(error, LayoutError::UnsupportedVersion { .. }), "{error}");
        assert!(!other.path().join("blobs").exists() && !other.path().join("index.json").exists());
        std::fs::write(other.path().join("oci-layout"), b"[]").unwrap();
        let error = LayoutWriter::open_or_create(other.path()).unwrap_err();
        assert!(matches!(error, LayoutError::NotALayout { .. }), "{error}");

        std::fs::write(dir.path().join("index.json"), b"{not json").unwrap();
        let error = writer.tag("latest", &manifest("y")).unwrap_err();
        assert!(matches!(error, LayoutError::NotALayout { .. }), "{error}");
        assert_eq!(std::fs::read(dir.path().join("index.json")).unwrap(), b"{not json");
    }

    #[tokio::test]
    async fn blob_writes_are_verified_and_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let writer = LayoutWriter::open_or_create(dir.path()).unwrap();
        let (digest, bytes) = blob(3 << 20, 1);
        let size = bytes.len() as u64;
        let (_, wrong) = blob(3 << 20, 2);

        let error = writer
            .write_blob(&digest, size, chunked(wrong, 100_000))
            .await
            .unwrap_err();
        assert!(
            matches!(error, LayoutError::Content(BlobContentError::DigestMismatch { .. })),
            "{error}"
        );
        let error = writer
            .write_blob(&digest, size, chunked(bytes.slice(..size as usize - 1), 100_000))
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                LayoutError::Content(BlobContentError::SizeMismatch { more: false, .. })
            ),
            "{error}"
        );
        let long = chunked(Bytes::from([bytes.to_vec(), vec![0]].concat()), 100_000);
        let error = writer.write_blob(&digest, size, long).await.unwrap_err();
        assert!(
            matches!(
                error,
                LayoutError::Content(BlobContentError::SizeMismatch { more: true, .. })
            ),
            "{error}"
        );
        let failing = chunked(bytes.slice(..2_500_000), 100_000)
            .chain(stream::iter([Err(std::io::Error::other("connection reset"))]));
        let error = writer.write_blob(&digest, size, failing).await.unwrap_err();
        assert!(
            matches!(
                error,
                LayoutError::Content(BlobContentError::Stream { written: 2_500_000, .. })
            ),
            "{error}"
        );
        let error = writer
            .write_bytes(&digest, Bytes::from_static(b"not it"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, LayoutError::Content(BlobContentError::DigestMismatch { .. })),
            "{error}"
        );
        assert!(!writer.has_blob(&digest));
        assert!(blob_names(dir.path()).is_empty(), "{:?}", blob_names(dir.path()));

        // A write whose future is dropped midway.
        let stalled = chunked(bytes.slice(..1_500_000), 100_000).chain(stream::pending());
        let write = writer.write_blob(&digest, size, stalled);
        assert!(tokio::time::timeout(Duration::from_millis(300), write).await.is_err());
        assert!(blob_names(dir.path()).is_empty(), "{:?}", blob_names(dir.path()));

        writer
            .write_blob(&digest, size, chunked(bytes.clone(), 65_537))
            .await
            .unwrap();
        assert!(writer.has_blob(&digest));
        let path = dir.path().join("blobs/sha256").join(digest.hex());
        assert_eq!(std::fs::read(&path).unwrap(), bytes.to_vec());
        // Already there: nothing is read.
        writer.write_blob(&digest, size, stream::pending()).await.unwrap();
        let (small, small_bytes) = blob(10, 3);
        writer.write_bytes(&small, small_bytes.clone()).await.unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("blobs/sha256").join(small.hex())).unwrap(),
            small_bytes.to_vec()
        );
        let (empty, empty_bytes) = blob(0, 4);
        writer.write_bytes(&empty, empty_bytes).await.unwrap();
        assert!(writer.has_blob(&empty));
        assert_eq!(blob_names(dir.path()).len(), 3);
        assert_clean(dir.path());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_same_blob_written_concurrently_ends_up_once() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Arc::new(LayoutWriter::open_or_create(dir.path()).unwrap());
        let (digest, bytes) = blob(2 << 20, 5);
        let writes: Vec<_> = (0..6)
            .map(|i| {
                let (writer, digest, bytes) = (writer.clone(), digest.clone(), bytes.clone());
                tokio::spawn(async move {
                    let size = bytes.len() as u64;
                    writer.write_blob(&digest, size, chunked(bytes, 30_000 + i)).await
                })
            })
            .collect();
        for write in writes {
            write.await.unwrap().unwrap();
        }
        assert_eq!(blob_names(dir.path()), [digest.hex()]);
        assert_eq!(
            std::fs::read(dir.path().join("blobs/sha256").join(digest.hex())).unwrap(),
            bytes.to_vec()
        );
    }

    #[test]
    fn leftovers_of_dead_writers_are_removed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        drop(LayoutWriter::open_or_create(dir.path()).unwrap());
        let blobs = dir.path().join("blobs/sha256");
        let old = blobs.join(format!(".{}.abc123.partial", Digest::of_bytes(b"a").hex()));
        let fresh = blobs.join(format!(".{}.def456.partial", Digest::of_bytes(b"b").hex()));
        std::fs::write(&old, b"half").unwrap();
        std::fs::write(&fresh, b"half").unwrap();
        let long_ago = SystemTime::now() - Duration::from_secs(2 * 3600);
        File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        let index_temp = dir.path().join(".index.json.xyz789.tmp");
        std::fs::write(&index_temp, b"{").unwrap();

        drop(LayoutWriter::open_or_create(dir.path()).unwrap());
        assert!(!old.exists() && !index_temp.exists());
        assert!(fresh.exists(), "a partial blob in use by a live writer is kept");
    }

    #[tokio::test]
    async fn the_layout_reads_back_with_the_reader_and_skopeo() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let writer = LayoutWriter::open_or_create(root).unwrap();
        let config = Bytes::from_static(
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#,
        );
        let config_digest = Digest::of_bytes(&config);
        let (layer, layer_bytes) = blob(300_000, 9);
        writer.write_bytes(&config_digest, config.clone()).await.unwrap();
        writer
            .write_blob(&layer, layer_bytes.len() as u64, chunked(layer_bytes.clone(), 4096))
            .await
            .unwrap();
        let image = image_manifest(
            "app",
            (&config_digest, config.len() as u64),
            &[(&layer, layer_bytes.len() as u64)],
        );
        writer.write_bytes(&image.digest, image.bytes.clone()).await.unwrap();
        writer.tag("app:v1", &image).unwrap();
        writer.tag("other", &manifest("other")).unwrap();

        let layout = OciLayout::open(root).unwrap();
        let descriptor = layout.resolve(Some("app:v1")).unwrap();
        assert_eq!(descriptor.digest, image.digest);
        assert_eq!(descriptor.size, image.size());
        assert_eq!(descriptor.media_type, OCI_MANIFEST);
        let read = layout
            .read_manifest(&descriptor.digest, Some(&descriptor.media_type))
            .await
            .unwrap();
        assert_eq!(read.bytes, image.bytes);
        let (size, chunks) = layout.open_blob(&layer).await.unwrap();
        assert_eq!(size, layer_bytes.len() as u64);
        let mut chunks = Box::pin(chunks);
        let mut content = Vec::new();
        while let Some(chunk) = chunks.next().await {
            content.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(content, layer_bytes.to_vec());

        let target = format!("oci:{}:app:v1", root.display());
        match Command::new("skopeo").args(["inspect", "--raw", &target]).output() {
            Err(e) => panic!("skopeo: {e} (the test command, scripts/test.sh, installs it)"),
            Ok(output) => {
                assert!(
                    output.status.success(),
                    "skopeo inspect --raw {target}: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                assert_eq!(output.stdout, image.bytes.to_vec());
                let output = Command::new("skopeo")
                    .args(["inspect", "--config", "--raw", &target])
                    .output()
                    .unwrap();
                assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
                assert_eq!(output.stdout, config.to_vec());
            }
        }
    }
}
