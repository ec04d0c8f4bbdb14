//! Mirror-to-disk / disk-to-mirror benchmark: `cargo bench --bench disk` (release build; harness = false).
//!
//! It builds the `catalog` workload of `benches/m2m.rs` (60 images × 3 platforms sharing one base layer per platform)
//! into a fresh source registry (not timed), copies it once untimed (`warm_up`, as m2m does), then, in each run:
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
//! The catalog workload, timing, verification, report tables and the docs update are shared with the other benches,
//! in benches/common/mod.rs.
// A test or bench binary: its `pub` items are shared between its own modules, never exported, and a failed
// step panics with its cause.
#![allow(unreachable_pub, clippy::unwrap_used)]

mod common;
#[path = "../tests/integration/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use support::bench_data::*;
use support::*;

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

It loads the m2m `catalog` workload into a source registry, makes the m2m bench's untimed warm-up copy, then per run:
ferry m2d (`ferry mirror -c ISC file://ARCHIVE`), ferry d2m of that archive into a fresh registry
(`ferry mirror -c ISC --from file://ARCHIVE docker://DEST/ns`), and a second m2d with the same configuration into the
same ARCHIVE (the no-change incremental run); the peer is `skopeo copy --all --preserve-digests` of every image to an
`oci:` layout and back into a fresh registry, 8 copies at a time (8 workers, each with its own layout, copying its
share of the images one after another); the floor is the raw parallel upload of the m2m bench into a fresh registry.
Every destination is verified before its number counts. Finished destinations, archives and layouts are stopped and
dropped from the page cache but deleted only at the end, as in the m2m bench: deleted between copies, they slowed
the next ones (in one run, ferry's d2m took 6.1–7.1 s right after such deletions and 4.1 s where none came
before it; with everything kept, 4.2–4.3 s in every run).

Reading the numbers: "extra disk during d2m" is the peak growth, sampled every 50 ms, of everything ferry could write
besides the destination registry (ARCHIVE with its `working-dir`, ferry's TMPDIR and HOME), as a share of the archive's
segments; the statvfs column is the same measured on the whole filesystem minus the destination registry's final
growth (noisy: other processes write there too). The incremental ratio is the bytes of the segments the second m2d
wrote over the first run's. skopeo does not fsync what it writes to the `oci:` layout; ferry fsyncs each archived
blob. `FERRY_BENCH_RUNS`, `FERRY_BENCH_SCALE` and the other variables are listed at the top of `benches/disk.rs`.

"#;

struct Settings {
    scale: f64,
    skopeo_jobs: usize,
    base: BaseSettings,
}

fn settings() -> Settings {
    let smoke = smoke();
    let scale = scale(smoke);
    let skopeo_jobs = positive("FERRY_BENCH_SKOPEO_JOBS", 8);
    Settings {
        scale,
        skopeo_jobs,
        base: BaseSettings::from_env(smoke, scale == 1.0 && skopeo_jobs == 8),
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

fn run_bench(settings: &Settings) -> Results {
    eprintln!("== disk (scale {}) ==", settings.scale);
    let dir = TestDir::new("bench-disk");
    let Loaded {
        layout_dir,
        layout,
        images,
        description,
        plan,
        source,
        isc_path,
    } = load_workload(&dir, build_catalog, settings.scale, size);
    let base = &settings.base;
    let (home, tmp) = (dir.join("home"), dir.join("tmp"));
    fs::create_dir_all(&home).unwrap();
    fs::create_dir_all(&tmp).unwrap();
    let ns = format!("{NAMESPACE}/");
    let read = |p: PathBuf| fs::read_to_string(p).unwrap_or_default();
    // ferry with its own HOME and TMPDIR (both watched during d2m).
    let ferry = || {
        let mut cmd = ferry_command(&home);
        cmd.env("TMPDIR", &tmp);
        cmd
    };

    let mut retired = Retired::default();
    warm_up(&source, &plan, &mut retired);

    let mut runs = Vec::new();
    for run in 0..base.runs {
        eprintln!("  run {} of {}", run + 1, base.runs);
        let log_name = format!("disk-run{}", run + 1);
        let archive = dir.join(format!("archive-{run}"));
        let m2d_command = || {
            let mut cmd = ferry();
            cmd.args(["mirror", "-c"])
                .arg(&isc_path)
                .arg(format!("file://{}", archive.display()))
                .args(["--src-tls-verify=false", "--quiet"])
                .args(&base.ferry_args);
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
        let mut cmd = ferry();
        cmd.args(["mirror", "-c"])
            .arg(&isc_path)
            .arg("--from")
            .arg(format!("file://{}", archive.display()))
            .arg(format!("docker://{}/{NAMESPACE}", dest.host()))
            .args(["--dest-tls-verify=false", "--quiet"])
            .args(&base.ferry_args);
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
            base,
            &log_name,
            &[
                ("m2d.out", read(out.with_extension("out"))),
                ("d2m.out", read(d2m_out.with_extension("out"))),
                ("d2m-dest-registry.log", dest.log()),
            ],
        );
        retired.retire(dest);

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
            base,
            &log_name,
            &[("m2d-incremental.out", read(out.with_extension("out")))],
        );
        retired.retire_dir(archive.clone());

        // skopeo, 8 workers each with its own layout, out and back.
        let layouts = dir.join(format!("skopeo-{run}"));
        fs::create_dir_all(&layouts).unwrap();
        let jobs = settings.skopeo_jobs.min(images.len());
        let worker_layout = |k: usize| layouts.join(format!("w{k}"));
        let oci_name = |image: &BenchImage| image.repo.replace('/', "-");
        // A `skopeo copy` per image, image i in worker i % jobs; `ends` gives its source and destination from the
        // image and its `oci:` reference in the worker's layout.
        let skopeo_workers = |tls_verify: &str, ends: &dyn Fn(&BenchImage, String) -> (String, String)| {
            let mut workers: Vec<Vec<Command>> = (0..jobs).map(|_| Vec::new()).collect();
            for (i, image) in images.iter().enumerate() {
                let oci = format!("oci:{}:{}", worker_layout(i % jobs).display(), oci_name(image));
                let (from, to) = ends(image, oci);
                let mut cmd = Command::new("skopeo");
                cmd.env("HOME", &home)
                    .args(["--insecure-policy", "copy", "--all", "--preserve-digests", tls_verify])
                    .arg(from)
                    .arg(to);
                workers[i % jobs].push(cmd);
            }
            workers
        };
        let out_workers = skopeo_workers("--src-tls-verify=false", &|image, oci| {
            (format!("docker://{}/{}:{}", source.host(), image.repo, image.tag), oci)
        });
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
        let back_workers = skopeo_workers("--dest-tls-verify=false", &|image, oci| {
            let to = format!("docker://{}/{NAMESPACE}/{}:{}", dest.host(), image.repo, image.tag);
            (oci, to)
        });
        let skopeo_back = run_workers(
            "skopeo copy from oci:",
            back_workers,
            &dir.join(format!("skopeo-back-{run}")),
            None,
            Some(&dest),
        );
        eprintln!("    oci → registry with skopeo: {:.2}s", skopeo_back.seconds);
        verify("skopeo from oci:", &layout, &dest, &ns, &images);
        save_logs(base, &log_name, &[("skopeo-back-dest-registry.log", dest.log())]);
        retired.retire(dest);
        retired.retire_dir(layouts.clone());

        // The floor: raw parallel upload of the layout.
        let dest = TestRegistry::start();
        let floor = run_floor(FloorSource::Files(&layout_dir), &dest, &plan);
        eprintln!("    floor: {:.2}s", floor.seconds);
        verify("floor", &layout, &dest, &ns, &images);
        retired.retire(dest);

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
    save_logs(base, "disk", &[("source-registry.log", source.log())]);
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
        missed("disk", &TARGETS, Metric::label, |m| self.metric(m))
    }
}

fn report(r: &Results, settings: &Settings) -> String {
    let mut s = String::new();
    let first = &r.runs[0];
    let unique_mib = r.unique_blob_bytes as f64 / MIB as f64;
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
        if settings.base.ferry_args.is_empty() {
            "default parallelism".to_string()
        } else {
            format!("`{}`", settings.base.ferry_args.join(" "))
        }
    )
    .unwrap();
    writeln!(
        s,
        "| run | seconds{} | MiB/s | peak RSS | CPU s: copier / source reg. / dest. reg. | requests to source / dest. \
         | load avg before |",
        median_of(r.runs.len())
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
        let requests = [total(&t[0].src_requests), total(&t[0].dest_requests)];
        timing_row(&mut s, name, t, rate.then_some(unique_mib), requests);
    }
    ratio_table_header(&mut s);
    for (m, target) in TARGETS {
        ratio_row(&mut s, m.label(), r.metric(m), 3, Some(target));
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
         the copier (this bench: {}), so it is exact only above that.",
        mib(r.own_hwm_kib)
    )
    .unwrap();
    let columns = [
        ("ferry m2d", &first.m2d),
        ("skopeo → `oci:`", &first.skopeo_out),
        ("ferry d2m", &first.d2m),
        ("skopeo `oci:` →", &first.skopeo_back),
        ("floor", &first.floor),
        ("no-change m2d", &first.incremental),
    ];
    requests_table(&mut s, "access logs", r.runs.len(), &columns);
    s
}

fn command_line(settings: &Settings) -> String {
    let vars = [
        (settings.scale != 1.0).then(|| format!("FERRY_BENCH_SCALE={}", settings.scale)),
        settings.base.runs_var(),
        (settings.skopeo_jobs != 8).then(|| format!("FERRY_BENCH_SKOPEO_JOBS={}", settings.skopeo_jobs)),
        settings.base.ferry_args_var(),
    ];
    common::command_line(&vars, COMMAND)
}

/// Replaces the text between the markers of docs/performance.md (or appends `DOC_SECTION` and the markers).
fn write_docs(settings: &Settings, results: &Results) -> PathBuf {
    let notes = format!(
        "Seconds are wall-clock, the median of {} interleaved runs, each into a fresh destination (CNCF distribution, \
         filesystem storage, plain HTTP on 127.0.0.1) and a fresh ARCHIVE; ratios are ratios of medians, except the \
         disk ratios, which are the worst run. Peak RSS is the highest `ru_maxrss` of the copying processes; CPU \
         seconds are medians (for skopeo, summed over its processes); MiB/s is unique blob bytes over median seconds.",
        results.runs.len()
    );
    let section = docs_section(
        (BEGIN, END),
        &command_line(settings),
        &machine_facts(threads()),
        &notes,
        &[report(results, settings)],
    );
    update_docs((BEGIN, END), &section, "# Performance\n", &format!("\n\n{DOC_SECTION}"))
}

fn main() {
    let settings = settings();
    if settings.base.smoke {
        eprintln!(
            "disk bench: no --bench argument, running as a smoke test (scale {})",
            settings.scale
        );
    }
    let results = run_bench(&settings);
    println!("\n{}\n", machine_facts(threads()));
    println!("{}", report(&results, &settings));
    finish(
        &settings.base,
        || write_docs(&settings, &results),
        "partial or scaled run",
        results.missed(),
    );
}
