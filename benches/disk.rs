//! Mirror-to-disk / disk-to-mirror benchmark: `cargo bench --bench disk` (release build; harness = false).
//!
//! It builds the `catalog` workload of `benches/m2m.rs` (60 images × 3 platforms sharing one base layer per platform)
//! into a fresh source registry (not timed), then, in each run:
//!   * ferry m2d: `ferry mirror -c ISC file://ARCHIVE --src-tls-verify=false --quiet` (every image in
//!     `additionalImages`); peak RSS from `wait4`;
//!   * ferry d2m: `ferry mirror -c ISC --from file://ARCHIVE docker://DEST/ns --dest-tls-verify=false --quiet` into a
//!     fresh registry, while a sampler reads the disk use of ARCHIVE (segments and working-dir) and of ferry's TMPDIR
//!     and HOME every 50 ms: the peak growth is the extra disk d2m needs besides the destination registry. The
//!     filesystem's used blocks (statvfs) are sampled too, as a cross-check (other processes write there as well);
//!   * ferry m2d again, same config, same ARCHIVE: the no-change incremental run; its new segments' bytes over the
//!     first run's;
//!   * skopeo, the peer, both ways: `skopeo copy --all --preserve-digests docker://SRC/REPO:TAG oci:DIR:NAME` for every
//!     image, then `oci:DIR:NAME → docker://DEST2/ns/REPO:TAG`, 8 copies at a time (FERRY_BENCH_SKOPEO_JOBS; ferry's
//!     default `--parallel-images` is 8 too): 8 workers, each copying its share of the images one after another into
//!     its own OCI layout (skopeo does not lock a layout's index.json against concurrent writers; within one layout it
//!     reuses blobs already there, so the shared base layers are written once per worker, not once per image);
//!   * the floor: the raw parallel upload of the same content from local files into a fresh registry (`run_plan` of
//!     bench_data.rs, as in m2m), what the registry itself can ingest: d2m's lower bound.
//!
//! Every destination is verified (tag, manifest and layer links and blob sizes in the registry's storage, and
//! `skopeo inspect --raw` of a few tags against the source digests) before its number counts. Results are printed and
//! written between the `bench:disk` markers of docs/performance.md.
//!
//! Environment:
//!   FERRY_BENCH_SCALE=0.1           shrink the workload (image count); default 1.0
//!   FERRY_BENCH_RUNS=N              interleaved runs, each into fresh destinations and a fresh ARCHIVE; medians are
//!                                   reported; default 3
//!   FERRY_BENCH_SKOPEO_JOBS=N       skopeo copies at a time; default 8
//!   FERRY_BENCH_WRITE_DOCS=0|1      force not writing / writing docs/performance.md (default: only for a full run)
//!   FERRY_BENCH_ENFORCE=1           exit 1 when a target is missed
//!   FERRY_BENCH_LOGS=DIR            copy registry logs and ferry's output there, for analysis
//!   FERRY_BENCH_FERRY_ARGS="..."    extra ferry arguments (whitespace-separated) for both m2d and d2m, for
//!                                   experiments; such runs leave the docs alone unless FERRY_BENCH_WRITE_DOCS=1
//! Without `--bench` (e.g. `cargo test --benches`) it runs as a smoke test at scale 0.02 and writes no docs.
//!
//! The workload generator and the timing helpers are copies of those in benches/m2m.rs (each bench is its own crate).

#[path = "../tests/integration/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::bench_data::*;
use support::*;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const FLOOR_THREADS: usize = 8;
const PLATFORMS: [&str; 3] = ["linux/amd64", "linux/arm64", "linux/s390x"];
const NAMESPACE: &str = "ns";
const BEGIN: &str = "<!-- bench:disk:begin -->";
const END: &str = "<!-- bench:disk:end -->";
const COMMAND: &str = "cargo bench --bench disk";
const SAMPLE_EVERY: Duration = Duration::from_millis(50);
/// The section of docs/performance.md before the markers, when the markers are not there yet.
const DOC_SECTION: &str = r#"## Mirror-to-disk and disk-to-mirror

`benches/disk.rs`, run with

```sh
cargo bench --bench disk
```

It loads the m2m `catalog` workload into a source registry, then per run: ferry m2d
(`ferry mirror -c ISC file://ARCHIVE`), ferry d2m of that archive into a fresh registry
(`ferry mirror -c ISC --from file://ARCHIVE docker://DEST/ns`), and a second m2d with the same configuration into the
same ARCHIVE (the no-change incremental run); the peer is `skopeo copy --all --preserve-digests` of every image to an
`oci:` layout and back into a fresh registry, 8 copies at a time (8 workers, each with its own layout, copying its
share of the images one after another); the floor is the raw parallel upload of the m2m bench into a fresh registry.
Every destination is verified before its number counts.

Reading the numbers: "extra disk during d2m" is the peak growth, sampled every 50 ms, of everything ferry could write
besides the destination registry (ARCHIVE with its `working-dir`, ferry's TMPDIR and HOME), as a share of the archive's
segments; the statvfs column is the same measured on the whole filesystem minus the destination registry's final
growth (noisy: other processes write there too). The incremental ratio is the bytes of the segments the second m2d
wrote over the first run's. skopeo does not fsync what it writes to the `oci:` layout; ferry fsyncs each archived
blob. `FERRY_BENCH_RUNS`, `FERRY_BENCH_SCALE` and the other variables are listed at the top of `benches/disk.rs`.

"#;

struct Settings {
    scale: f64,
    smoke: bool,
    write_docs: bool,
    enforce: bool,
    logs: Option<PathBuf>,
    ferry_args: Vec<String>,
    runs: usize,
    skopeo_jobs: usize,
}

fn settings() -> Settings {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let positive = |name: &str, default: usize| match var(name) {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("{name}={v}: expected a positive integer")),
        None => default,
    };
    let scale = match var("FERRY_BENCH_SCALE") {
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|s| *s > 0.0 && *s <= 1.0)
            .unwrap_or_else(|| panic!("FERRY_BENCH_SCALE={v}: expected a number in (0, 1]")),
        None if smoke => 0.02,
        None => 1.0,
    };
    let ferry_args: Vec<String> = var("FERRY_BENCH_FERRY_ARGS")
        .map(|v| v.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let skopeo_jobs = positive("FERRY_BENCH_SKOPEO_JOBS", 8);
    let full = !smoke && scale == 1.0 && ferry_args.is_empty() && skopeo_jobs == 8;
    Settings {
        scale,
        smoke,
        write_docs: match var("FERRY_BENCH_WRITE_DOCS").as_deref() {
            Some("1") => true,
            Some("0") => false,
            _ => full,
        },
        enforce: var("FERRY_BENCH_ENFORCE").as_deref() == Some("1"),
        logs: var("FERRY_BENCH_LOGS").map(PathBuf::from),
        ferry_args,
        runs: positive("FERRY_BENCH_RUNS", if smoke { 1 } else { 3 }),
        skopeo_jobs,
    }
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The m2m `catalog` workload (a copy of `build_catalog` in benches/m2m.rs): 60 images × 3 platforms; each
/// platform's 8 MiB base layer is shared by every image; each image-platform has unique layers of 16 KiB, 512 KiB and
/// 3 MiB. The scale shrinks the image count.
fn build_catalog(layout: &mut LayoutBuilder, scale: f64) -> (Vec<BenchImage>, String) {
    let count = ((60.0 * scale).round() as usize).max(2);
    let unique = [16 * KIB, 512 * KIB, 3 * MIB];
    let mut specs: Vec<(u64, u64)> = (0..PLATFORMS.len() as u64).map(|p| (1_000 + p, 8 * MIB)).collect();
    for i in 0..count as u64 {
        for p in 0..PLATFORMS.len() as u64 {
            for (k, len) in unique.iter().enumerate() {
                specs.push((100_000 + i * 100 + p * 10 + k as u64, *len));
            }
        }
    }
    let layers = write_random_layers(layout, &specs, threads());
    let (bases, rest) = layers.split_at(PLATFORMS.len());
    let mut rest = rest.chunks(unique.len());
    let images = (0..count)
        .map(|i| {
            let platforms: Vec<(&str, Vec<Layer>)> = PLATFORMS
                .iter()
                .enumerate()
                .map(|(p, platform)| {
                    let mut own = vec![bases[p].clone()];
                    own.extend_from_slice(rest.next().unwrap());
                    (*platform, own)
                })
                .collect();
            write_bench_image(layout, &format!("bench/catalog-{i:03}"), "v1", &platforms)
        })
        .collect();
    let description = format!(
        "{count} images × 3 platforms; one 8 MiB base layer per platform shared by all images; unique layers of \
         16 KiB, 512 KiB and 3 MiB per image-platform"
    );
    (images, description)
}

fn size(bytes: u64) -> String {
    if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / KIB as f64)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Timing (copies of the helpers in benches/m2m.rs, generalized to optional registries and worker pools)

/// One timed copy.
struct Timed {
    seconds: f64,
    /// Highest ru_maxrss (KiB) over the copying processes; None for the in-process floor.
    max_rss_kib: Option<u64>,
    dest_requests: BTreeMap<String, u64>,
    src_requests: BTreeMap<String, u64>,
    /// CPU seconds (user + system) of the copying processes (summed), the source registry and the destination
    /// registry during the run; NaN where there is no such registry.
    cpu: [f64; 3],
    /// The 1-minute load average just before the run.
    load_before: f64,
}

/// CPU seconds so far of the `docker-registry` process serving `registry` (found by its config path in /proc).
fn registry_cpu(registry: &TestRegistry) -> f64 {
    let config = registry.storage_dir().parent().unwrap().join("config.yml");
    let config = config.to_string_lossy().into_owned();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).split('\0').any(|arg| arg == config) {
            return process_cpu(&entry.path());
        }
    }
    0.0
}

/// utime + stime of /proc/PID/stat, in seconds.
fn process_cpu(proc_dir: &Path) -> f64 {
    let stat = fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(vec![], |(_, rest)| rest.split(' ').collect());
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 / hz
}

fn rusage_cpu(usage: &libc::rusage) -> f64 {
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// CPU seconds of this process so far.
fn self_cpu() -> f64 {
    // SAFETY: rusage is plain old data; getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer for the call.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    rusage_cpu(&usage)
}

fn load_average() -> f64 {
    let text = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Waits for `child` with wait4 so its own peak RSS (KiB) and CPU seconds come back with its exit status.
fn wait_with_rusage(child: std::process::Child) -> (ExitStatus, u64, f64) {
    use std::os::unix::process::ExitStatusExt as _;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own unwaited child; the pointers are valid for the call.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if r == -1 && err.kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        panic!("wait4({pid}): {err}");
    }
    drop(child); // already reaped; Child's Drop neither waits nor kills
    (ExitStatus::from_raw(status), usage.ru_maxrss as u64, rusage_cpu(&usage))
}

/// This process's own peak RSS (KiB, `VmHWM`). The kernel folds the spawning process's RSS high-water mark into a
/// child's `ru_maxrss` when the child execs (with posix_spawn the old address space is the parent's), so the `wait4`
/// figures of the processes this bench starts are exact only above this value.
fn own_hwm_kib() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Flushes dirty pages so one run's writeback does not land in the next run's time.
fn sync_disks() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// Registries log a request after answering it: give the last lines a moment to land.
fn settle_logs() {
    std::thread::sleep(Duration::from_millis(300));
}

fn output_tail(path: &Path) -> String {
    let output = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// Runs each worker's commands one after another, the workers in parallel (a thread each), timed as a whole; the
/// output of worker k's j-th command goes to `{out}-{k}-{j}.out` (`{out}.out` for a single command). Panics with the
/// output of the first command that fails.
fn run_workers(
    what: &str,
    workers: Vec<Vec<Command>>,
    out: &Path,
    src: Option<&TestRegistry>,
    dest: Option<&TestRegistry>,
) -> Timed {
    let single = workers.len() == 1 && workers[0].len() == 1;
    let marks = (src.map(|r| r.log().len()), dest.map(|r| r.log().len()));
    sync_disks();
    let load_before = load_average();
    let cpu_before = (src.map(registry_cpu), dest.map(registry_cpu));
    let results: Mutex<Vec<(u64, f64)>> = Mutex::new(Vec::new());
    let failure: Mutex<Option<String>> = Mutex::new(None);
    let started = Instant::now();
    std::thread::scope(|s| {
        for (k, commands) in workers.into_iter().enumerate() {
            let (results, failure) = (&results, &failure);
            s.spawn(move || {
                for (j, mut cmd) in commands.into_iter().enumerate() {
                    if failure.lock().unwrap().is_some() {
                        break;
                    }
                    let path = if single {
                        out.with_extension("out")
                    } else {
                        PathBuf::from(format!("{}-{k}-{j}.out", out.display()))
                    };
                    let file = fs::File::create(&path).unwrap();
                    cmd.stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file);
                    let child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
                    let (status, rss, cpu) = wait_with_rusage(child);
                    if !status.success() {
                        failure.lock().unwrap().get_or_insert(format!(
                            "{what} failed ({status}): {cmd:?}\nits output ends with:\n{}",
                            output_tail(&path)
                        ));
                        break;
                    }
                    results.lock().unwrap().push((rss, cpu));
                }
            });
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    if let Some(message) = failure.into_inner().unwrap() {
        panic!("{message}");
    }
    settle_logs();
    let results = results.into_inner().unwrap();
    let requests = |r: Option<&TestRegistry>, mark: Option<usize>| {
        r.map_or_else(BTreeMap::new, |r| count_requests(&r.log()[mark.unwrap_or(0)..]))
    };
    let cpu_after =
        |r: Option<&TestRegistry>, before: Option<f64>| r.map_or(f64::NAN, |r| registry_cpu(r) - before.unwrap());
    Timed {
        seconds,
        max_rss_kib: results.iter().map(|(rss, _)| *rss).max(),
        dest_requests: requests(dest, marks.1),
        src_requests: requests(src, marks.0),
        cpu: [
            results.iter().map(|(_, cpu)| cpu).sum(),
            cpu_after(src, cpu_before.0),
            cpu_after(dest, cpu_before.1),
        ],
        load_before,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Disk use while d2m runs

/// Allocated bytes (st_blocks) of every file under `dir` (0 when it does not exist).
fn tree_bytes(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    let mut total = 0;
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            total += tree_bytes(&entry.path());
        } else {
            total += meta.blocks() * 512;
        }
    }
    total
}

/// Used bytes of the filesystem holding `path` (statvfs: total minus free blocks).
fn fs_used(path: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt as _;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: statvfs is plain old data; statvfs fills it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid NUL-terminated path and a valid pointer for the call.
    let r = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    assert_eq!(r, 0, "statvfs {}: {}", path.display(), std::io::Error::last_os_error());
    (st.f_blocks as u64 - st.f_bfree as u64) * st.f_frsize as u64
}

/// Samples, every 50 ms until stopped, the disk use of some directories and of the filesystem holding the first.
struct DiskWatch {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<(u64, u64, usize)>,
    tree_before: u64,
    fs_before: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct DiskPeak {
    /// Peak growth of the watched directories.
    tree_growth: u64,
    /// Peak growth of the filesystem's used bytes.
    fs_growth: u64,
    samples: usize,
}

impl DiskWatch {
    fn start(dirs: Vec<PathBuf>) -> DiskWatch {
        let tree = move || dirs.iter().map(|d| tree_bytes(d)).sum::<u64>();
        let fs_path = std::env::temp_dir();
        let (tree_before, fs_before) = (tree(), fs_used(&fs_path));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let (mut tree_peak, mut fs_peak, mut samples) = (tree_before, fs_before, 0);
            loop {
                let last = flag.load(Ordering::Relaxed);
                tree_peak = tree_peak.max(tree());
                fs_peak = fs_peak.max(fs_used(&fs_path));
                samples += 1;
                if last {
                    break (tree_peak, fs_peak, samples);
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
        });
        DiskWatch {
            stop,
            handle,
            tree_before,
            fs_before,
        }
    }

    fn finish(self) -> DiskPeak {
        self.stop.store(true, Ordering::Relaxed);
        let (tree_peak, fs_peak, samples) = self.handle.join().unwrap();
        DiskPeak {
            tree_growth: tree_peak - self.tree_before,
            fs_growth: fs_peak - self.fs_before,
            samples,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Verification (a copy of `verify` in benches/m2m.rs)

/// The destination holds exactly what the layout holds for every image under `{prefix}{repo}:{tag}`: tag links,
/// every blob and every per-repository layer and manifest link in its storage, and the same manifest bytes through
/// the API (`skopeo inspect --raw`) for a few tags.
fn verify(who: &str, layout: &LayoutBuilder, dest: &TestRegistry, prefix: &str, images: &[BenchImage]) {
    let root = dest.storage_dir().join("docker/registry/v2");
    let read_link = |p: PathBuf| fs::read_to_string(&p).unwrap_or_else(|e| panic!("{who}: {}: {e}", p.display()));
    let mut expected_blobs = BTreeSet::new();
    for image in images {
        let repo_dir = root.join("repositories").join(format!("{prefix}{}", image.repo));
        let tag_link = repo_dir.join(format!("_manifests/tags/{}/current/link", image.tag));
        assert_eq!(
            read_link(tag_link),
            image.index.digest,
            "{who}: tag {}:{}",
            image.repo,
            image.tag
        );
        let manifests = std::iter::once(&image.index).chain(image.manifests.iter().map(|m| &m.descriptor));
        for m in manifests {
            expected_blobs.insert(m.digest.clone());
            let link = repo_dir.join(format!("_manifests/revisions/sha256/{}/link", m.hex()));
            assert_eq!(
                read_link(link),
                m.digest,
                "{who}: manifest {} in {}",
                m.digest,
                image.repo
            );
        }
        for blob in image.blobs() {
            expected_blobs.insert(blob.digest.clone());
            let link = repo_dir.join(format!("_layers/sha256/{}/link", blob.hex()));
            assert_eq!(
                read_link(link),
                blob.digest,
                "{who}: blob {} in {}",
                blob.digest,
                image.repo
            );
        }
    }
    let mut stored = BTreeSet::new();
    for prefix_dir in fs::read_dir(root.join("blobs/sha256")).unwrap() {
        for blob_dir in fs::read_dir(prefix_dir.unwrap().path()).unwrap() {
            let blob_dir = blob_dir.unwrap().path();
            let size = fs::metadata(blob_dir.join("data")).map(|m| m.len()).unwrap_or(0);
            let digest = format!("sha256:{}", blob_dir.file_name().unwrap().to_string_lossy());
            if expected_blobs.contains(&digest) {
                let want = fs::metadata(layout.blob_path(&digest)).unwrap().len();
                assert_eq!(size, want, "{who}: stored size of {digest}");
            }
            stored.insert(digest);
        }
    }
    let missing: Vec<_> = expected_blobs.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "{who}: {} blobs missing in the destination: {missing:?}",
        missing.len()
    );
    let extra = stored.difference(&expected_blobs).count();
    if extra > 0 {
        eprintln!("  note: {who} stored {extra} blobs the source images do not reference");
    }
    let sample = [0, images.len() / 2, images.len() - 1];
    for i in sample.into_iter().collect::<BTreeSet<_>>() {
        let image = &images[i];
        let reference = dest.docker_ref(&format!("{prefix}{}:{}", image.repo, image.tag));
        let raw = skopeo_inspect_raw(&reference).unwrap_or_else(|e| panic!("{who}: {e}"));
        assert_eq!(raw, layout.read_blob(&image.index.digest), "{who}: {reference} bytes");
        let child = &image.manifests[i % image.manifests.len()].descriptor;
        let reference = dest.docker_ref(&format!("{prefix}{}@{}", image.repo, child.digest));
        let raw = skopeo_inspect_raw(&reference).unwrap_or_else(|e| panic!("{who}: {e}"));
        assert_eq!(sha256_digest(&raw), child.digest, "{who}: {reference}");
    }
}

fn save_logs(settings: &Settings, name: &str, files: &[(&str, String)]) {
    if let Some(dir) = &settings.logs {
        fs::create_dir_all(dir).unwrap();
        for (file, text) in files {
            fs::write(dir.join(format!("{name}-{file}")), text).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The workload

/// The finished segments (`mirror_NNNNNN.tar`) of an archive directory, by name, with their sizes.
fn segments(archive: &Path) -> BTreeMap<String, u64> {
    fs::read_dir(archive)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name.starts_with("mirror_") && name.ends_with(".tar")).then(|| (name, e.metadata().unwrap().len()))
        })
        .collect()
}

/// Entries of a tar segment: (count, bytes of `blobs/` entries, the biggest entry and its size).
fn segment_contents(path: &Path) -> (usize, u64, (String, u64)) {
    let mut archive = tar::Archive::new(fs::File::open(path).unwrap());
    let (mut count, mut blob_bytes, mut biggest) = (0, 0, (String::new(), 0));
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let len = entry.header().size().unwrap();
        count += 1;
        if name.starts_with("blobs/") {
            blob_bytes += len;
        }
        if len > biggest.1 {
            biggest = (name, len);
        }
    }
    (count, blob_bytes, biggest)
}

struct RunResult {
    m2d: Timed,
    d2m: Timed,
    incremental: Timed,
    skopeo_out: Timed,
    skopeo_back: Timed,
    floor: Timed,
    archive_bytes: u64,
    archive_segments: usize,
    /// Growth, in the d2m run, of ARCHIVE + ferry's TMPDIR and HOME, and of the filesystem.
    disk: DiskPeak,
    /// The destination registry's storage after d2m (allocated bytes).
    dest_growth: u64,
    incremental_bytes: u64,
    incremental_segments: Vec<(String, usize, u64, (String, u64))>,
    skopeo_layout_bytes: u64,
}

struct Results {
    /// This bench's own peak RSS at the end (KiB): see `own_hwm_kib`.
    own_hwm_kib: u64,
    description: String,
    images: usize,
    unique_blob_bytes: u64,
    runs: Vec<RunResult>,
}

fn ferry_command(home: &Path, tmp: &Path) -> Command {
    let mut cmd = ferry_bin();
    cmd.env("HOME", home)
        .env("TMPDIR", tmp)
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME");
    cmd
}

fn run_bench(settings: &Settings) -> Results {
    eprintln!("== disk (scale {}) ==", settings.scale);
    let dir = TestDir::new("bench-disk");
    let layout_dir = dir.join("layout");
    let mut layout = LayoutBuilder::new(&layout_dir);
    let started = Instant::now();
    let (images, description) = build_catalog(&mut layout, settings.scale);
    let plan = UploadPlan::for_images(&images, &format!("{NAMESPACE}/"));
    eprintln!(
        "  generated {} of unique blobs in {:.1}s: {description}",
        size(plan.blob_bytes),
        started.elapsed().as_secs_f64()
    );
    let source = TestRegistry::start();
    let started = Instant::now();
    run_plan(
        &layout_dir,
        &source.host(),
        &UploadPlan::for_images(&images, ""),
        FLOOR_THREADS,
    );
    verify("source", &layout, &source, "", &images);
    eprintln!(
        "  loaded the source registry in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let mut isc = String::from(
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  additionalImages:\n",
    );
    for image in &images {
        writeln!(isc, "  - name: {}/{}:{}", source.host(), image.repo, image.tag).unwrap();
    }
    let isc_path = dir.join("isc.yaml");
    fs::write(&isc_path, &isc).unwrap();
    let (home, tmp) = (dir.join("home"), dir.join("tmp"));
    fs::create_dir_all(&home).unwrap();
    fs::create_dir_all(&tmp).unwrap();
    let ns = format!("{NAMESPACE}/");
    let read = |p: PathBuf| fs::read_to_string(p).unwrap_or_default();

    let mut runs = Vec::new();
    for run in 0..settings.runs {
        eprintln!("  run {} of {}", run + 1, settings.runs);
        let log_name = format!("disk-run{}", run + 1);
        let archive = dir.join(format!("archive-{run}"));
        let m2d_command = || {
            let mut cmd = ferry_command(&home, &tmp);
            cmd.args(["mirror", "-c"])
                .arg(&isc_path)
                .arg(format!("file://{}", archive.display()))
                .args(["--src-tls-verify=false", "--quiet"])
                .args(&settings.ferry_args);
            cmd
        };

        // ferry m2d.
        let out = dir.join(format!("m2d-{run}"));
        let m2d = run_workers("ferry m2d", vec![vec![m2d_command()]], &out, Some(&source), None);
        let first_segments = segments(&archive);
        let archive_bytes: u64 = first_segments.values().sum();
        eprintln!(
            "    ferry m2d: {:.2}s, {} in {} segment(s)",
            m2d.seconds,
            size(archive_bytes),
            first_segments.len()
        );

        // ferry d2m into a fresh registry, with the disk sampler.
        let dest = TestRegistry::start();
        let mut cmd = ferry_command(&home, &tmp);
        cmd.args(["mirror", "-c"])
            .arg(&isc_path)
            .arg("--from")
            .arg(format!("file://{}", archive.display()))
            .arg(format!("docker://{}/{NAMESPACE}", dest.host()))
            .args(["--dest-tls-verify=false", "--quiet"])
            .args(&settings.ferry_args);
        let watch = DiskWatch::start(vec![archive.clone(), tmp.clone(), home.clone()]);
        let dest_before = tree_bytes(&dest.storage_dir());
        let d2m_out = dir.join(format!("d2m-{run}"));
        let d2m = run_workers("ferry d2m", vec![vec![cmd]], &d2m_out, None, Some(&dest));
        let disk = watch.finish();
        let dest_growth = tree_bytes(&dest.storage_dir()) - dest_before;
        eprintln!(
            "    ferry d2m: {:.2}s; peak extra disk {} ({} samples)",
            d2m.seconds,
            size(disk.tree_growth),
            disk.samples
        );
        verify("ferry d2m", &layout, &dest, &ns, &images);
        save_logs(
            settings,
            &log_name,
            &[
                ("m2d.out", read(out.with_extension("out"))),
                ("d2m.out", read(d2m_out.with_extension("out"))),
                ("d2m-dest-registry.log", dest.log()),
            ],
        );
        drop(dest);

        // The no-change incremental m2d into the same ARCHIVE.
        let out = dir.join(format!("m2d-incremental-{run}"));
        let incremental = run_workers(
            "ferry m2d (incremental)",
            vec![vec![m2d_command()]],
            &out,
            Some(&source),
            None,
        );
        let new_segments: Vec<(String, u64)> = segments(&archive)
            .into_iter()
            .filter(|(name, _)| !first_segments.contains_key(name))
            .collect();
        let incremental_bytes: u64 = new_segments.iter().map(|(_, len)| len).sum();
        let incremental_segments = new_segments
            .iter()
            .map(|(name, _)| {
                let (count, blob_bytes, biggest) = segment_contents(&archive.join(name));
                (name.clone(), count, blob_bytes, biggest)
            })
            .collect();
        eprintln!(
            "    ferry m2d, no-change re-run: {:.2}s, {} in {} new segment(s)",
            incremental.seconds,
            size(incremental_bytes),
            new_segments.len()
        );
        save_logs(
            settings,
            &log_name,
            &[("m2d-incremental.out", read(out.with_extension("out")))],
        );
        fs::remove_dir_all(&archive).unwrap();

        // skopeo, 8 workers each with its own layout, out and back.
        let layouts = dir.join(format!("skopeo-{run}"));
        fs::create_dir_all(&layouts).unwrap();
        let jobs = settings.skopeo_jobs.min(images.len());
        let worker_layout = |k: usize| layouts.join(format!("w{k}"));
        let oci_name = |image: &BenchImage| image.repo.replace('/', "-");
        let mut out_workers: Vec<Vec<Command>> = (0..jobs).map(|_| Vec::new()).collect();
        for (i, image) in images.iter().enumerate() {
            let mut cmd = Command::new("skopeo");
            cmd.env("HOME", &home)
                .args([
                    "--insecure-policy",
                    "copy",
                    "--all",
                    "--preserve-digests",
                    "--src-tls-verify=false",
                ])
                .arg(format!("docker://{}/{}:{}", source.host(), image.repo, image.tag))
                .arg(format!("oci:{}:{}", worker_layout(i % jobs).display(), oci_name(image)));
            out_workers[i % jobs].push(cmd);
        }
        let skopeo_out = run_workers(
            "skopeo copy to oci:",
            out_workers,
            &dir.join(format!("skopeo-out-{run}")),
            Some(&source),
            None,
        );
        let skopeo_layout_bytes = tree_bytes(&layouts);
        eprintln!(
            "    skopeo → oci: {:.2}s ({} in {jobs} layouts)",
            skopeo_out.seconds,
            size(skopeo_layout_bytes)
        );
        let dest = TestRegistry::start();
        let mut back_workers: Vec<Vec<Command>> = (0..jobs).map(|_| Vec::new()).collect();
        for (i, image) in images.iter().enumerate() {
            let mut cmd = Command::new("skopeo");
            cmd.env("HOME", &home)
                .args([
                    "--insecure-policy",
                    "copy",
                    "--all",
                    "--preserve-digests",
                    "--dest-tls-verify=false",
                ])
                .arg(format!("oci:{}:{}", worker_layout(i % jobs).display(), oci_name(image)))
                .arg(format!(
                    "docker://{}/{NAMESPACE}/{}:{}",
                    dest.host(),
                    image.repo,
                    image.tag
                ));
            back_workers[i % jobs].push(cmd);
        }
        let skopeo_back = run_workers(
            "skopeo copy from oci:",
            back_workers,
            &dir.join(format!("skopeo-back-{run}")),
            None,
            Some(&dest),
        );
        eprintln!("    oci → registry with skopeo: {:.2}s", skopeo_back.seconds);
        verify("skopeo from oci:", &layout, &dest, &ns, &images);
        save_logs(settings, &log_name, &[("skopeo-back-dest-registry.log", dest.log())]);
        drop(dest);
        fs::remove_dir_all(&layouts).unwrap();

        // The floor: raw parallel upload of the layout.
        let dest = TestRegistry::start();
        sync_disks();
        let load_before = load_average();
        let (own_cpu, dest_cpu) = (self_cpu(), registry_cpu(&dest));
        let started = Instant::now();
        run_plan(&layout_dir, &dest.host(), &plan, FLOOR_THREADS);
        let seconds = started.elapsed().as_secs_f64();
        let own_cpu = self_cpu() - own_cpu;
        settle_logs();
        let floor = Timed {
            seconds,
            max_rss_kib: None,
            dest_requests: count_requests(&dest.log()),
            src_requests: BTreeMap::new(),
            cpu: [own_cpu, f64::NAN, registry_cpu(&dest) - dest_cpu],
            load_before,
        };
        eprintln!("    floor: {:.2}s", floor.seconds);
        verify("floor", &layout, &dest, &ns, &images);
        drop(dest);

        runs.push(RunResult {
            m2d,
            d2m,
            incremental,
            skopeo_out,
            skopeo_back,
            floor,
            archive_bytes,
            archive_segments: first_segments.len(),
            disk,
            dest_growth,
            incremental_bytes,
            incremental_segments,
            skopeo_layout_bytes,
        });
    }
    save_logs(settings, "disk", &[("source-registry.log", source.log())]);
    Results {
        own_hwm_kib: own_hwm_kib(),
        description,
        images: images.len(),
        unique_blob_bytes: plan.blob_bytes,
        runs,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

#[derive(Clone, Copy, PartialEq)]
enum Metric {
    M2dOverSkopeo,
    D2mOverSkopeo,
    D2mOverFloor,
    ExtraDiskPercent,
    IncrementalPercent,
}

const TARGETS: [(Metric, f64); 5] = [
    (Metric::M2dOverSkopeo, 0.5),
    (Metric::D2mOverSkopeo, 0.5),
    (Metric::D2mOverFloor, 1.3),
    (Metric::ExtraDiskPercent, 5.0),
    (Metric::IncrementalPercent, 2.0),
];

impl Metric {
    fn label(self) -> &'static str {
        match self {
            Metric::M2dOverSkopeo => "m2d: ferry / skopeo to `oci:`",
            Metric::D2mOverSkopeo => "d2m: ferry / skopeo from `oci:`",
            Metric::D2mOverFloor => "d2m: ferry / floor",
            Metric::ExtraDiskPercent => "peak extra disk during d2m, % of the archive",
            Metric::IncrementalPercent => "no-change incremental m2d, % of a full m2d's bytes",
        }
    }
}

impl Results {
    fn column(&self, pick: impl Fn(&RunResult) -> &Timed) -> Vec<&Timed> {
        self.runs.iter().map(pick).collect()
    }

    fn seconds(&self, pick: impl Fn(&RunResult) -> &Timed) -> f64 {
        median(self.runs.iter().map(|r| pick(r).seconds).collect())
    }

    fn metric(&self, m: Metric) -> f64 {
        match m {
            Metric::M2dOverSkopeo => self.seconds(|r| &r.m2d) / self.seconds(|r| &r.skopeo_out),
            Metric::D2mOverSkopeo => self.seconds(|r| &r.d2m) / self.seconds(|r| &r.skopeo_back),
            Metric::D2mOverFloor => self.seconds(|r| &r.d2m) / self.seconds(|r| &r.floor),
            // The worst run, not the median: a peak is a peak.
            Metric::ExtraDiskPercent => self
                .runs
                .iter()
                .map(|r| 100.0 * r.disk.tree_growth as f64 / r.archive_bytes as f64)
                .fold(0.0, f64::max),
            Metric::IncrementalPercent => self
                .runs
                .iter()
                .map(|r| 100.0 * r.incremental_bytes as f64 / r.archive_bytes as f64)
                .fold(0.0, f64::max),
        }
    }

    fn missed(&self) -> Vec<String> {
        TARGETS
            .iter()
            .filter(|(m, max)| self.metric(*m) > *max)
            .map(|(m, max)| format!("disk: {}: {:.3} > {max}", m.label(), self.metric(*m)))
            .collect()
    }
}

/// "median" or "median (min–max)" seconds.
fn seconds_cell(runs: &[&Timed]) -> String {
    let median = median(runs.iter().map(|t| t.seconds).collect());
    if runs.len() < 2 {
        return format!("{median:.2}");
    }
    let min = runs.iter().map(|t| t.seconds).fold(f64::INFINITY, f64::min);
    let max = runs.iter().map(|t| t.seconds).fold(0.0, f64::max);
    format!("{median:.2} ({min:.2}–{max:.2})")
}

fn cpu_cell(runs: &[&Timed], i: usize) -> String {
    let value = median(runs.iter().map(|t| t.cpu[i]).collect());
    if value.is_nan() {
        "–".into()
    } else {
        format!("{value:.1}")
    }
}

fn report(r: &Results, settings: &Settings) -> String {
    let mut s = String::new();
    let first = &r.runs[0];
    let mib = r.unique_blob_bytes as f64 / MIB as f64;
    writeln!(
        s,
        "{}. {} of unique blobs; the archive: {} in {} segment(s). skopeo: {} copies at a time, each worker into its \
         own `oci:` layout ({} in all, base layers repeated per layout). ferry: {}.\n",
        r.description,
        size(r.unique_blob_bytes),
        size(first.archive_bytes),
        first.archive_segments,
        settings.skopeo_jobs.min(r.images),
        size(first.skopeo_layout_bytes),
        if settings.ferry_args.is_empty() {
            "default parallelism".to_string()
        } else {
            format!("`{}`", settings.ferry_args.join(" "))
        }
    )
    .unwrap();
    writeln!(
        s,
        "| run | seconds{} | MiB/s | peak RSS | CPU s: copier / source reg. / dest. reg. | requests to source / dest. \
         | load avg before |",
        if r.runs.len() > 1 {
            format!(", median of {} (min–max)", r.runs.len())
        } else {
            String::new()
        }
    )
    .unwrap();
    writeln!(s, "|---|---:|---:|---:|---:|---:|---:|").unwrap();
    let rows: [(&str, Vec<&Timed>, bool); 6] = [
        ("ferry m2d (registry → archive)", r.column(|x| &x.m2d), true),
        ("skopeo → `oci:`", r.column(|x| &x.skopeo_out), true),
        ("ferry d2m (archive → registry)", r.column(|x| &x.d2m), true),
        ("skopeo `oci:` → registry", r.column(|x| &x.skopeo_back), true),
        ("floor (raw HTTP upload, 8 threads)", r.column(|x| &x.floor), true),
        ("ferry m2d, no-change re-run", r.column(|x| &x.incremental), false),
    ];
    for (name, t, rate) in &rows {
        let secs = median(t.iter().map(|t| t.seconds).collect());
        let rate = if *rate {
            format!("{:.0}", mib / secs)
        } else {
            "–".into()
        };
        let rss = t
            .iter()
            .filter_map(|t| t.max_rss_kib)
            .max()
            .map_or("–".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0));
        let total = |m: &BTreeMap<String, u64>| m.values().sum::<u64>();
        let load = t.iter().map(|t| t.load_before).sum::<f64>() / t.len() as f64;
        writeln!(
            s,
            "| {name} | {} | {rate} | {rss} | {} / {} / {} | {} / {} | {load:.2} |",
            seconds_cell(t),
            cpu_cell(t, 0),
            cpu_cell(t, 1),
            cpu_cell(t, 2),
            total(&t[0].src_requests),
            total(&t[0].dest_requests),
        )
        .unwrap();
    }
    writeln!(s, "\n| ratio | value | target | |").unwrap();
    writeln!(s, "|---|---:|---:|---|").unwrap();
    for (m, target) in TARGETS {
        let value = r.metric(m);
        let verdict = if value <= target { "met" } else { "**missed**" };
        writeln!(s, "| {} | {value:.3} | ≤ {target} | {verdict} |", m.label()).unwrap();
    }
    writeln!(
        s,
        "| for context: d2m floor / skopeo from `oci:` (the best any client can do against this registry here) \
         | {:.3} | – | |",
        r.seconds(|x| &x.floor) / r.seconds(|x| &x.skopeo_back)
    )
    .unwrap();
    writeln!(
        s,
        "\n| disk, per run | archive | extra disk during d2m: ARCHIVE + TMPDIR + HOME (samples) | filesystem growth \
         − destination's growth | no-change m2d: new segments | their entries (blob bytes); biggest entry |"
    )
    .unwrap();
    writeln!(s, "|---|---:|---:|---:|---:|---|").unwrap();
    for (i, run) in r.runs.iter().enumerate() {
        let fs_extra = run.disk.fs_growth as i64 - run.dest_growth as i64;
        let contents: Vec<String> = run
            .incremental_segments
            .iter()
            .map(|(name, count, blob_bytes, (big, big_len))| {
                format!("{name}: {count} ({}); `{big}` {}", size(*blob_bytes), size(*big_len))
            })
            .collect();
        writeln!(
            s,
            "| {} | {} | {} ({}) | {}{} | {} | {} |",
            i + 1,
            size(run.archive_bytes),
            size(run.disk.tree_growth),
            run.disk.samples,
            if fs_extra < 0 { "−" } else { "" },
            size(fs_extra.unsigned_abs()),
            size(run.incremental_bytes),
            if contents.is_empty() {
                "none".into()
            } else {
                contents.join("; ")
            }
        )
        .unwrap();
    }
    writeln!(
        s,
        "\nPeak RSS is `ru_maxrss` from `wait4`, which also counts the RSS high-water mark of the process that spawned \
         the copier (this bench: {:.0} MiB), so it is exact only above that.",
        r.own_hwm_kib as f64 / 1024.0
    )
    .unwrap();
    let mut kinds = BTreeSet::new();
    let columns = [
        &first.m2d,
        &first.skopeo_out,
        &first.d2m,
        &first.skopeo_back,
        &first.floor,
        &first.incremental,
    ];
    for t in columns {
        kinds.extend(t.src_requests.keys().map(|k| ("source", k.clone())));
        kinds.extend(t.dest_requests.keys().map(|k| ("destination", k.clone())));
    }
    writeln!(
        s,
        "\n| requests{} (access logs) | ferry m2d | skopeo → `oci:` | ferry d2m | skopeo `oci:` → | floor | no-change m2d |",
        if r.runs.len() > 1 { " in the first run" } else { "" }
    )
    .unwrap();
    writeln!(s, "|---|---:|---:|---:|---:|---:|---:|").unwrap();
    for (side, kind) in &kinds {
        let cells: Vec<String> = columns
            .iter()
            .map(|t| {
                let map = if *side == "source" {
                    &t.src_requests
                } else {
                    &t.dest_requests
                };
                map.get(kind).copied().unwrap_or(0).to_string()
            })
            .collect();
        writeln!(s, "| {side}: {kind} | {} |", cells.join(" | ")).unwrap();
    }
    s
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn machine_facts() -> String {
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".to_string(), |(_, v)| v.trim().to_string());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let manifest_dir = env!("CARGO_MANIFEST_DIR");
    let commit = command_output("git", &["-C", manifest_dir, "rev-parse", "--short", "HEAD"]);
    let dirty = !command_output(
        "git",
        &["-C", manifest_dir, "status", "--porcelain", "--untracked-files=no"],
    )
    .is_empty();
    format!(
        "Machine: {} CPUs (nproc), {:.1} GiB memory, {cpu}, Linux {}. docker-registry {}, {}, ferry {commit}{}.",
        threads(),
        mem_kib as f64 / (1024.0 * 1024.0),
        kernel.trim(),
        command_output("docker-registry", &["--version"])
            .split_whitespace()
            .last()
            .unwrap_or("unknown"),
        command_output("skopeo", &["--version"]),
        if dirty { " (with uncommitted changes)" } else { "" }
    )
}

fn command_line(settings: &Settings) -> String {
    let mut vars = Vec::new();
    if settings.scale != 1.0 {
        vars.push(format!("FERRY_BENCH_SCALE={}", settings.scale));
    }
    if settings.runs != 3 {
        vars.push(format!("FERRY_BENCH_RUNS={}", settings.runs));
    }
    if settings.skopeo_jobs != 8 {
        vars.push(format!("FERRY_BENCH_SKOPEO_JOBS={}", settings.skopeo_jobs));
    }
    if !settings.ferry_args.is_empty() {
        vars.push(format!("FERRY_BENCH_FERRY_ARGS='{}'", settings.ferry_args.join(" ")));
    }
    vars.push(COMMAND.to_string());
    vars.join(" ")
}

/// Replaces the text between the markers of docs/performance.md (or appends `DOC_SECTION` and the markers).
fn write_docs(settings: &Settings, results: &Results) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/performance.md");
    let date = command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let section = format!(
        "{BEGIN}\nResults of `{}` on {date}. {}\n\nSeconds are wall-clock, the median of {} interleaved runs, each into \
         a fresh destination (CNCF distribution, filesystem storage, plain HTTP on 127.0.0.1) and a fresh ARCHIVE; \
         ratios are ratios of medians, except the disk ratios, which are the worst run. Peak RSS is the highest \
         `ru_maxrss` of the copying processes; CPU seconds are medians (for skopeo, summed over its processes); MiB/s \
         is unique blob bytes over median seconds.\n\n{}\n{END}",
        command_line(settings),
        machine_facts(),
        results.runs.len(),
        report(results, settings)
    );
    let text = fs::read_to_string(&path).unwrap_or_else(|_| "# Performance\n".into());
    let new_text = match (text.find(BEGIN), text.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{section}{}", &text[..b], &text[e + END.len()..]),
        _ => format!("{}\n\n{DOC_SECTION}{section}\n", text.trim_end()),
    };
    fs::write(&path, new_text).unwrap();
    path
}

fn main() {
    let settings = settings();
    if settings.smoke {
        eprintln!(
            "disk bench: no --bench argument, running as a smoke test (scale {})",
            settings.scale
        );
    }
    let results = run_bench(&settings);
    println!("\n{}\n", machine_facts());
    println!("{}", report(&results, &settings));
    if settings.write_docs {
        println!("wrote {}", write_docs(&settings, &results).display());
    } else {
        println!("docs/performance.md not updated (partial or scaled run; FERRY_BENCH_WRITE_DOCS=1 forces it)");
    }
    let missed = results.missed();
    if missed.is_empty() {
        println!("all targets met");
    } else {
        println!("targets missed:\n  {}", missed.join("\n  "));
        if settings.enforce && !settings.smoke {
            std::process::exit(1);
        }
    }
}
