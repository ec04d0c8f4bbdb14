//! Mirror-to-mirror benchmark: `cargo bench --bench m2m` (release build; harness = false).
//!
//! For each workload it builds the images into a fresh source registry (not timed), then mirrors all of them into a
//! fresh destination registry three ways and times each:
//!   * ferry: `ferry mirror -c ISC --workspace file://TMP docker://DEST/ns ...` (every image in `additionalImages`),
//!     then the same command again (a no-op re-run, timed separately); peak RSS from `wait4`;
//!   * skopeo: `skopeo sync --all --preserve-digests --src yaml --dest docker` over the same images;
//!   * floor: the simplest parallel raw-HTTP upload of the same content from the layout files (`run_plan`: each
//!     unique blob POST + monolithic PUT once, each repeat cross-repo mounted, then every manifest; 8 threads, no
//!     existence checks), the registry's own ingest floor.
//!
//! Every copy is verified (each tag's link and every blob/layer link in the destination's storage, plus
//! `skopeo inspect --raw` of a few tags) so a broken run cannot post a good number. Results are printed and written
//! between the `bench:m2m` markers of docs/performance.md.
//!
//! Environment:
//!   FERRY_BENCH_ONLY=catalog|bulk   run one workload
//!   FERRY_BENCH_SCALE=0.1           shrink the workloads (catalog: image count; bulk: layer sizes); default 1.0
//!   FERRY_BENCH_RUNS=N              copies of each kind per workload, interleaved, each into a fresh destination
//!                                   (and a fresh ferry workspace); the report shows medians; default 3
//!   FERRY_BENCH_WRITE_DOCS=0|1      force not writing / writing docs/performance.md (default: only for a full run)
//!   FERRY_BENCH_ENFORCE=1           exit 1 when a target is missed
//!   FERRY_BENCH_LOGS=DIR            copy registry logs and ferry's output there, for analysis
//!   FERRY_BENCH_FERRY_ARGS="..."    ferry arguments (whitespace-separated) replacing the workload's own ones, for
//!                                   experiments; such runs leave the docs alone unless FERRY_BENCH_WRITE_DOCS=1
//! Without `--bench` (e.g. `cargo test --benches`) it runs as a smoke test at scale 0.02 and writes no docs.

#[path = "../tests/integration/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use support::bench_data::*;
use support::*;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const FLOOR_THREADS: usize = 8;
const PLATFORMS: [&str; 3] = ["linux/amd64", "linux/arm64", "linux/s390x"];
const NAMESPACE: &str = "ns";
const BEGIN: &str = "<!-- bench:m2m:begin -->";
const END: &str = "<!-- bench:m2m:end -->";
const COMMAND: &str = "cargo bench --bench m2m";
/// docs/performance.md up to the markers, when the file does not exist yet.
const DOC_INTRO: &str = r#"# Performance

Every performance claim about ferry is a ratio from one run of a `cargo bench` benchmark (DESIGN.md, "Performance"),
recorded here with the command that produced it. The section between the markers is rewritten by the benchmark; edit
only outside it.

## Mirror-to-mirror

`benches/m2m.rs`, run with

```sh
cargo bench --bench m2m
```

For each workload it loads a fresh source registry, then copies every image to a fresh destination three ways: ferry
(`ferry mirror -c ISC --workspace file://DIR docker://DEST/ns`, then the same command again as a no-op re-run),
`skopeo sync --all --preserve-digests --src yaml --dest docker` (the peer), and the floor: the simplest parallel
raw-HTTP upload of the same content from local files (each unique blob once, every repeat cross-repo mounted, then the
manifests; 8 threads, no existence checks), which is what the registry itself can ingest. Every copy is verified
before its number counts. `FERRY_BENCH_RUNS` (default 3) sets how many interleaved runs the medians come from,
`FERRY_BENCH_ONLY=catalog|bulk` runs one workload and `FERRY_BENCH_SCALE=0.1` shrinks them for a quick check (such
runs leave this file alone unless `FERRY_BENCH_WRITE_DOCS=1`); the header of `benches/m2m.rs` lists the rest.

Reading the numbers: the floor reads local files, ferry and skopeo read from a source registry on the same machine.
When the machine has few cores, every copy is CPU-bound and ferry/floor includes the source registry's cost of serving
the blobs and ferry's own digest checks; the CPU column splits the time between the copier and the two registries.
Wall-clock times move with whatever else runs on the machine (the load average column).

"#;

struct Settings {
    scale: f64,
    only: Option<String>,
    smoke: bool,
    write_docs: bool,
    enforce: bool,
    logs: Option<PathBuf>,
    ferry_args: Vec<String>,
    runs: usize,
}

fn settings() -> Settings {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let scale = match var("FERRY_BENCH_SCALE") {
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|s| *s > 0.0 && *s <= 1.0)
            .unwrap_or_else(|| panic!("FERRY_BENCH_SCALE={v}: expected a number in (0, 1]")),
        None if smoke => 0.02,
        None => 1.0,
    };
    let only = var("FERRY_BENCH_ONLY");
    if let Some(o) = &only {
        assert!(
            o == "catalog" || o == "bulk",
            "FERRY_BENCH_ONLY={o}: expected catalog or bulk"
        );
    }
    let ferry_args: Vec<String> = var("FERRY_BENCH_FERRY_ARGS")
        .map(|v| v.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let full = !smoke && scale == 1.0 && only.is_none() && ferry_args.is_empty();
    let write_docs = match var("FERRY_BENCH_WRITE_DOCS").as_deref() {
        Some("1") => true,
        Some("0") => false,
        _ => full,
    };
    Settings {
        scale,
        only,
        smoke,
        write_docs,
        enforce: var("FERRY_BENCH_ENFORCE").as_deref() == Some("1"),
        logs: var("FERRY_BENCH_LOGS").map(PathBuf::from),
        ferry_args,
        runs: match var("FERRY_BENCH_RUNS") {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or_else(|| panic!("FERRY_BENCH_RUNS={v}: expected a positive integer")),
            None if smoke => 1,
            None => 3,
        },
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Metric {
    FerryOverSkopeo,
    FerryOverFloor,
    NoopOverFirst,
    PeakRssMib,
}

impl Metric {
    fn label(self) -> &'static str {
        match self {
            Metric::FerryOverSkopeo => "ferry / skopeo",
            Metric::FerryOverFloor => "ferry / floor",
            Metric::NoopOverFirst => "no-op re-run / first run",
            Metric::PeakRssMib => "ferry peak RSS (MiB)",
        }
    }
}

struct Workload {
    name: &'static str,
    ferry_args: Vec<String>,
    targets: Vec<(Metric, f64)>,
    /// Writes the layers and images into the layout; returns the images and a one-line description.
    build: fn(&mut LayoutBuilder, f64) -> (Vec<BenchImage>, String),
}

fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "catalog",
            ferry_args: Vec::new(),
            targets: vec![
                (Metric::FerryOverSkopeo, 0.4),
                (Metric::FerryOverFloor, 1.2),
                (Metric::NoopOverFirst, 0.05),
            ],
            build: build_catalog,
        },
        Workload {
            name: "bulk",
            ferry_args: vec!["--parallel-images".into(), "8".into()],
            targets: vec![
                (Metric::FerryOverFloor, 1.15),
                (Metric::FerryOverSkopeo, 0.8),
                (Metric::PeakRssMib, 150.0),
            ],
            build: build_bulk,
        },
    ]
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// 60 images × 3 platforms; each platform's 8 MiB base layer is shared by every image; each image-platform has unique
/// layers of 16 KiB, 512 KiB and 3 MiB. The scale shrinks the image count.
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

/// 4 images × 3 platforms with a 128 MiB and a 32 MiB layer each, unique per image-platform. The scale shrinks the
/// layer sizes.
fn build_bulk(layout: &mut LayoutBuilder, scale: f64) -> (Vec<BenchImage>, String) {
    let sizes = [128 * MIB, 32 * MIB].map(|s| ((s as f64 * scale) as u64).max(64 * KIB));
    let count = 4u64;
    let mut specs = Vec::new();
    for i in 0..count {
        for p in 0..PLATFORMS.len() as u64 {
            for (k, len) in sizes.iter().enumerate() {
                specs.push((200_000 + i * 100 + p * 10 + k as u64, *len));
            }
        }
    }
    let layers = write_random_layers(layout, &specs, threads());
    let mut chunks = layers.chunks(sizes.len());
    let images = (0..count)
        .map(|i| {
            let platforms: Vec<(&str, Vec<Layer>)> = PLATFORMS
                .iter()
                .map(|p| (*p, chunks.next().unwrap().to_vec()))
                .collect();
            write_bench_image(layout, &format!("bench/bulk-{i}"), "v1", &platforms)
        })
        .collect();
    let description = format!(
        "{count} images × 3 platforms; layers of {} and {} per image-platform, all unique",
        size(sizes[0]),
        size(sizes[1])
    );
    (images, description)
}

fn size(bytes: u64) -> String {
    if bytes >= MIB && bytes & (MIB - 1) == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{} KiB", bytes / KIB)
    }
}

/// One timed copy.
struct Timed {
    seconds: f64,
    /// ru_maxrss of the child process (KiB); None for the in-process floor.
    max_rss_kib: Option<u64>,
    dest_requests: BTreeMap<String, u64>,
    src_requests: BTreeMap<String, u64>,
    /// CPU seconds (user + system) of the copying process (the bench process itself for the floor), the source
    /// registry and the destination registry during the run.
    cpu: [f64; 3],
    /// The 1-minute load average just before the run (other work on the machine skews wall-clock times).
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
    // After the command: state is field 3, utime 14, stime 15 (1-based), so 11 and 12 here.
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

/// Median wall-clock seconds of the runs.
fn seconds(runs: &[Timed]) -> f64 {
    median(runs.iter().map(|t| t.seconds).collect())
}

/// Highest peak RSS over the runs.
fn max_rss_kib(runs: &[Timed]) -> Option<u64> {
    runs.iter().filter_map(|t| t.max_rss_kib).max()
}

struct WorkloadResult {
    name: &'static str,
    description: String,
    unique_blob_bytes: u64,
    plan: (usize, usize, usize),
    ferry: Vec<Timed>,
    noop: Vec<Timed>,
    skopeo: Vec<Timed>,
    floor: Vec<Timed>,
    targets: Vec<(Metric, f64)>,
    extra_ferry_args: Vec<String>,
}

impl WorkloadResult {
    fn metric(&self, m: Metric) -> f64 {
        match m {
            Metric::FerryOverSkopeo => seconds(&self.ferry) / seconds(&self.skopeo),
            Metric::FerryOverFloor => seconds(&self.ferry) / seconds(&self.floor),
            Metric::NoopOverFirst => seconds(&self.noop) / seconds(&self.ferry),
            Metric::PeakRssMib => max_rss_kib(&self.ferry).unwrap_or(0) as f64 / 1024.0,
        }
    }

    fn missed(&self) -> Vec<String> {
        self.targets
            .iter()
            .filter(|(m, max)| self.metric(*m) > *max)
            .map(|(m, max)| format!("{}: {}: {:.3} > {max}", self.name, m.label(), self.metric(*m)))
            .collect()
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

/// Flushes dirty pages so one run's writeback does not land in the next run's time.
fn sync_disks() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// Registries log a request after answering it: give the last lines a moment to land.
fn settle_logs() {
    std::thread::sleep(Duration::from_millis(300));
}

/// Runs `cmd` (stdout/stderr to `out`), timed; panics with its output if it fails.
fn run_timed(what: &str, mut cmd: Command, out: &Path, src: &TestRegistry, dest: &TestRegistry) -> Timed {
    let (src_mark, dest_mark) = (src.log().len(), dest.log().len());
    let file = fs::File::create(out).unwrap();
    cmd.stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file);
    sync_disks();
    let load_before = load_average();
    let (src_cpu, dest_cpu) = (registry_cpu(src), registry_cpu(dest));
    let started = Instant::now();
    let child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let (status, max_rss_kib, cpu) = wait_with_rusage(child);
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        let output = fs::read_to_string(out).unwrap_or_default();
        let tail: Vec<&str> = output.lines().rev().take(60).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        panic!(
            "{what} failed ({status}) after {seconds:.1}s; its output ends with:\n{}",
            tail.join("\n")
        );
    }
    settle_logs();
    Timed {
        seconds,
        max_rss_kib: Some(max_rss_kib),
        dest_requests: count_requests(&dest.log()[dest_mark..]),
        src_requests: count_requests(&src.log()[src_mark..]),
        cpu: [cpu, registry_cpu(src) - src_cpu, registry_cpu(dest) - dest_cpu],
        load_before,
    }
}

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

fn run_workload(w: &Workload, settings: &Settings) -> WorkloadResult {
    eprintln!("== {} (scale {}) ==", w.name, settings.scale);
    let dir = TestDir::new(&format!("bench-m2m-{}", w.name));
    let layout_dir = dir.join("layout");
    let mut layout = LayoutBuilder::new(&layout_dir);
    let started = Instant::now();
    let (images, description) = (w.build)(&mut layout, settings.scale);
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
    let home = dir.join("home");
    fs::create_dir_all(&home).unwrap();
    let ferry_args = if settings.ferry_args.is_empty() {
        &w.ferry_args
    } else {
        &settings.ferry_args
    }
    .clone();
    let mut yaml = format!("{}:\n  tls-verify: false\n  images:\n", source.host());
    for image in &images {
        writeln!(yaml, "    {}:\n    - {}", image.repo, image.tag).unwrap();
    }
    let yaml_path = dir.join("sync.yaml");
    fs::write(&yaml_path, &yaml).unwrap();
    let ns = format!("{NAMESPACE}/");

    let (mut ferry_runs, mut noop_runs, mut skopeo_runs, mut floor_runs) = (vec![], vec![], vec![], vec![]);
    for run in 0..settings.runs {
        let log_name = format!("{}-run{}", w.name, run + 1);
        eprintln!("  run {} of {}", run + 1, settings.runs);

        // ferry, then the no-op re-run against the same destination and workspace.
        let dest = TestRegistry::start();
        let workspace = dir.join(format!("ws-{run}"));
        let ferry = || {
            let mut cmd = ferry_bin();
            cmd.env("HOME", &home)
                .env_remove("XDG_RUNTIME_DIR")
                .env_remove("XDG_CONFIG_HOME")
                .args(["mirror", "-c"])
                .arg(&isc_path)
                .arg("--workspace")
                .arg(format!("file://{}", workspace.display()))
                .arg(format!("docker://{}/{NAMESPACE}", dest.host()))
                .args(["--src-tls-verify=false", "--dest-tls-verify=false", "--quiet"])
                .args(&ferry_args);
            cmd
        };
        let (out, noop_out) = (
            dir.join(format!("ferry-{run}.out")),
            dir.join(format!("ferry-noop-{run}.out")),
        );
        let first = run_timed("ferry", ferry(), &out, &source, &dest);
        eprintln!("    ferry: {:.2}s", first.seconds);
        verify("ferry", &layout, &dest, &ns, &images);
        let noop = run_timed("ferry (no-op re-run)", ferry(), &noop_out, &source, &dest);
        eprintln!("    ferry no-op re-run: {:.2}s", noop.seconds);
        verify("ferry (after the re-run)", &layout, &dest, &ns, &images);
        let read = |p: &Path| fs::read_to_string(p).unwrap_or_default();
        let logs = [
            ("ferry-dest-registry.log", dest.log()),
            ("ferry.out", read(&out)),
            ("ferry-noop.out", read(&noop_out)),
        ];
        save_logs(settings, &log_name, &logs);
        ferry_runs.push(first);
        noop_runs.push(noop);
        drop(dest);

        // skopeo sync from a YAML list of the same images. Without --scoped, sync keeps the last path component:
        // bench/x lands in DEST/ns/bench/x, where ferry puts it.
        let dest = TestRegistry::start();
        let mut dest_prefix = format!("{}/{NAMESPACE}/", dest.host());
        dest_prefix.push_str(images[0].repo.rsplit_once('/').map_or("", |(ns, _)| ns));
        let mut cmd = Command::new("skopeo");
        cmd.env("HOME", &home)
            .args([
                "--insecure-policy",
                "sync",
                "--all",
                "--preserve-digests",
                "--src",
                "yaml",
                "--dest",
                "docker",
            ])
            .args(["--src-tls-verify=false", "--dest-tls-verify=false"])
            .arg(&yaml_path)
            .arg(dest_prefix.trim_end_matches('/'));
        let skopeo = run_timed(
            "skopeo sync",
            cmd,
            &dir.join(format!("skopeo-{run}.out")),
            &source,
            &dest,
        );
        eprintln!("    skopeo sync: {:.2}s", skopeo.seconds);
        verify("skopeo", &layout, &dest, &ns, &images);
        save_logs(settings, &log_name, &[("skopeo-dest-registry.log", dest.log())]);
        skopeo_runs.push(skopeo);
        drop(dest);

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
            cpu: [own_cpu, 0.0, registry_cpu(&dest) - dest_cpu],
            load_before,
        };
        eprintln!("    floor: {:.2}s", floor.seconds);
        verify("floor", &layout, &dest, &ns, &images);
        save_logs(settings, &log_name, &[("floor-dest-registry.log", dest.log())]);
        floor_runs.push(floor);
        drop(dest);
    }
    save_logs(settings, w.name, &[("source-registry.log", source.log())]);

    WorkloadResult {
        name: w.name,
        description,
        unique_blob_bytes: plan.blob_bytes,
        plan: (plan.uploads, plan.mounts, plan.manifests),
        ferry: ferry_runs,
        noop: noop_runs,
        skopeo: skopeo_runs,
        floor: floor_runs,
        targets: w.targets.clone(),
        extra_ferry_args: ferry_args,
    }
}

fn rss(runs: &[Timed]) -> String {
    max_rss_kib(runs).map_or("–".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

/// "median" or "median (min–max)" seconds.
fn seconds_cell(runs: &[Timed]) -> String {
    let median = seconds(runs);
    if runs.len() < 2 {
        return format!("{median:.2}");
    }
    let min = runs.iter().map(|t| t.seconds).fold(f64::INFINITY, f64::min);
    let max = runs.iter().map(|t| t.seconds).fold(0.0, f64::max);
    format!("{median:.2} ({min:.2}–{max:.2})")
}

fn total(counts: &BTreeMap<String, u64>) -> u64 {
    counts.values().sum()
}

/// The markdown report of one workload (also printed).
fn report(r: &WorkloadResult) -> String {
    let mut s = String::new();
    let args = if r.extra_ferry_args.is_empty() {
        "default parallelism".to_string()
    } else {
        format!("`{}`", r.extra_ferry_args.join(" "))
    };
    writeln!(s, "### {}\n", r.name).unwrap();
    writeln!(
        s,
        "{}. {} of unique blobs; the floor does {} uploads, {} mounts, {} manifest PUTs. ferry: {args}.\n",
        r.description,
        size(r.unique_blob_bytes),
        r.plan.0,
        r.plan.1,
        r.plan.2
    )
    .unwrap();
    writeln!(
        s,
        "| run | seconds{} | MiB/s | peak RSS | CPU s: copier / source reg. / dest. reg. | requests to dest. / source \
         | load avg before |",
        if r.ferry.len() > 1 {
            format!(", median of {} (min–max)", r.ferry.len())
        } else {
            String::new()
        }
    )
    .unwrap();
    writeln!(s, "|---|---:|---:|---:|---:|---:|---:|").unwrap();
    let mib = r.unique_blob_bytes as f64 / MIB as f64;
    let rows = [
        ("ferry", &r.ferry, true),
        ("ferry, no-op re-run", &r.noop, false),
        ("skopeo sync", &r.skopeo, true),
        ("floor (raw HTTP, 8 threads)", &r.floor, true),
    ];
    for (name, t, rate) in rows {
        let rate = if rate {
            format!("{:.0}", mib / seconds(t))
        } else {
            "–".into()
        };
        let cpu = |i: usize| median(t.iter().map(|t| t.cpu[i]).collect());
        let load = t.iter().map(|t| t.load_before).sum::<f64>() / t.len() as f64;
        writeln!(
            s,
            "| {name} | {} | {rate} | {} | {:.1} / {:.1} / {:.1} | {} / {} | {load:.2} |",
            seconds_cell(t),
            rss(t),
            cpu(0),
            cpu(1),
            cpu(2),
            total(&t[0].dest_requests),
            total(&t[0].src_requests),
        )
        .unwrap();
    }
    writeln!(s, "\n| ratio | value | target | |").unwrap();
    writeln!(s, "|---|---:|---:|---|").unwrap();
    let mut shown: Vec<(Metric, Option<f64>)> = r.targets.iter().map(|(m, t)| (*m, Some(*t))).collect();
    for m in [
        Metric::FerryOverSkopeo,
        Metric::FerryOverFloor,
        Metric::NoopOverFirst,
        Metric::PeakRssMib,
    ] {
        if !shown.iter().any(|(x, _)| *x == m) {
            shown.push((m, None));
        }
    }
    for (m, target) in shown {
        let value = r.metric(m);
        let (target, verdict) = match target {
            Some(t) if value <= t => (format!("≤ {t}"), "met"),
            Some(t) => (format!("≤ {t}"), "**missed**"),
            None => ("–".into(), ""),
        };
        let value = if m == Metric::PeakRssMib {
            format!("{value:.0}")
        } else {
            format!("{value:.3}")
        };
        writeln!(s, "| {} | {value} | {target} | {verdict} |", m.label()).unwrap();
    }
    let mut kinds = BTreeSet::new();
    for t in [&r.ferry[0], &r.noop[0], &r.skopeo[0], &r.floor[0]] {
        kinds.extend(t.dest_requests.keys().map(|k| ("destination", k.clone())));
        kinds.extend(t.src_requests.keys().map(|k| ("source", k.clone())));
    }
    writeln!(
        s,
        "\n| requests{} (from the registries' access logs) | ferry | no-op | skopeo | floor |",
        if r.ferry.len() > 1 { " in the first run" } else { "" }
    )
    .unwrap();
    writeln!(s, "|---|---:|---:|---:|---:|").unwrap();
    for (side, kind) in &kinds {
        let n = |t: &Timed| {
            let map = if *side == "source" {
                &t.src_requests
            } else {
                &t.dest_requests
            };
            map.get(kind).copied().unwrap_or(0)
        };
        writeln!(
            s,
            "| {side}: {kind} | {} | {} | {} | {} |",
            n(&r.ferry[0]),
            n(&r.noop[0]),
            n(&r.skopeo[0]),
            n(&r.floor[0])
        )
        .unwrap();
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
    if let Some(o) = &settings.only {
        vars.push(format!("FERRY_BENCH_ONLY={o}"));
    }
    if settings.scale != 1.0 {
        vars.push(format!("FERRY_BENCH_SCALE={}", settings.scale));
    }
    if settings.runs != 3 {
        vars.push(format!("FERRY_BENCH_RUNS={}", settings.runs));
    }
    if !settings.ferry_args.is_empty() {
        vars.push(format!("FERRY_BENCH_FERRY_ARGS='{}'", settings.ferry_args.join(" ")));
    }
    vars.push(COMMAND.to_string());
    vars.join(" ")
}

fn write_docs(settings: &Settings, results: &[WorkloadResult]) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/performance.md");
    let date = command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let runs = results.first().map_or(0, |r| r.ferry.len());
    let mut section = format!(
        "{BEGIN}\nResults of `{}` on {date}. {}\n\nSeconds are wall-clock, the median of {runs} interleaved runs, each \
         into a fresh destination (CNCF distribution, filesystem storage, plain HTTP on 127.0.0.1) from the same \
         source registry; ratios are ratios of medians. Peak RSS is the process's `ru_maxrss` (highest run); CPU \
         seconds are medians; MiB/s is unique blob bytes over median seconds; the load average shows what else the \
         machine was doing.\n\n",
        command_line(settings),
        machine_facts()
    );
    for r in results {
        section.push_str(&report(r));
        section.push('\n');
    }
    section.push_str(END);
    let text = fs::read_to_string(&path).unwrap_or_else(|_| format!("{DOC_INTRO}{BEGIN}\n{END}\n"));
    let new_text = match (text.find(BEGIN), text.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{section}{}", &text[..b], &text[e + END.len()..]),
        _ => format!("{}\n{section}\n", text.trim_end()),
    };
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, new_text).unwrap();
    path
}

fn main() {
    let settings = settings();
    if settings.smoke {
        eprintln!(
            "m2m bench: no --bench argument, running as a smoke test (scale {})",
            settings.scale
        );
    }
    let results: Vec<WorkloadResult> = workloads()
        .iter()
        .filter(|w| settings.only.as_deref().is_none_or(|o| o == w.name))
        .map(|w| run_workload(w, &settings))
        .collect();
    println!("\n{}\n", machine_facts());
    for r in &results {
        println!("{}", report(r));
    }
    if settings.write_docs {
        println!("wrote {}", write_docs(&settings, &results).display());
    } else {
        println!("docs/performance.md not updated (partial or scaled run; FERRY_BENCH_WRITE_DOCS=1 forces it)");
    }
    let missed: Vec<String> = results.iter().flat_map(WorkloadResult::missed).collect();
    if missed.is_empty() {
        println!("all targets met");
    } else {
        println!("targets missed:\n  {}", missed.join("\n  "));
        if settings.enforce && !settings.smoke {
            std::process::exit(1);
        }
    }
}
