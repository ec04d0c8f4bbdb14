//! Machinery shared by the benches (each has `mod common;`): settings from the environment, the m2m `catalog` workload,
//! timing with wait4, registry CPU and access-log request counts, verification of a copy, report cells and tables, and
//! rewriting the benches' sections of docs/performance.md.
//!
//! Not a bench target itself: cargo only discovers `benches/*.rs` and `benches/*/main.rs`. Every bench uses a subset.

#![allow(dead_code)]

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::support::bench_data::*;
use crate::support::*;

pub const KIB: u64 = 1 << 10;
pub const MIB: u64 = 1 << 20;
pub const FLOOR_THREADS: usize = 8;
pub const PLATFORMS: [&str; 3] = ["linux/amd64", "linux/arm64", "linux/s390x"];
pub const NAMESPACE: &str = "ns";

// ---------------------------------------------------------------------------------------------------------------
// Settings

/// Without `--bench` (e.g. `cargo test --benches`) a bench runs as a smoke test.
pub fn smoke() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

/// An environment variable, None when unset or empty.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A positive integer from the environment, `default` when unset.
pub fn positive(name: &str, default: usize) -> usize {
    match var(name) {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("{name}={v}: expected a positive integer")),
        None => default,
    }
}

/// FERRY_BENCH_SCALE: default 0.02 for a smoke test, 1.0 otherwise.
pub fn scale(smoke: bool) -> f64 {
    match var("FERRY_BENCH_SCALE") {
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|s| *s > 0.0 && *s <= 1.0)
            .unwrap_or_else(|| panic!("FERRY_BENCH_SCALE={v}: expected a number in (0, 1]")),
        None if smoke => 0.02,
        None => 1.0,
    }
}

/// The settings every bench reads.
pub struct BaseSettings {
    pub smoke: bool,
    pub write_docs: bool,
    pub enforce: bool,
    pub logs: Option<PathBuf>,
    pub ferry_args: Vec<String>,
    pub runs: usize,
}

impl BaseSettings {
    /// `full_run`: whether the bench's own settings are those of a full run, whose results go to the docs by default
    /// (a smoke test or FERRY_BENCH_FERRY_ARGS never is one).
    pub fn from_env(smoke: bool, full_run: bool) -> Self {
        let ferry_args: Vec<String> = var("FERRY_BENCH_FERRY_ARGS")
            .map(|v| v.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        let full = !smoke && full_run && ferry_args.is_empty();
        BaseSettings {
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
        }
    }

    /// `FERRY_BENCH_RUNS=N` when not the default of a full run.
    pub fn runs_var(&self) -> Option<String> {
        (self.runs != 3).then(|| format!("FERRY_BENCH_RUNS={}", self.runs))
    }

    /// `FERRY_BENCH_FERRY_ARGS='...'` when set.
    pub fn ferry_args_var(&self) -> Option<String> {
        (!self.ferry_args.is_empty()).then(|| format!("FERRY_BENCH_FERRY_ARGS='{}'", self.ferry_args.join(" ")))
    }
}

/// Copies `files` (name, text) to FERRY_BENCH_LOGS as `{name}-{file}`, when set.
pub fn save_logs(settings: &BaseSettings, name: &str, files: &[(&str, String)]) {
    if let Some(dir) = &settings.logs {
        fs::create_dir_all(dir).unwrap();
        for (file, text) in files {
            fs::write(dir.join(format!("{name}-{file}")), text).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The workload

pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The m2m `catalog` workload: 60 images × 3 platforms; each platform's 8 MiB base layer is shared by every image;
/// each image-platform has unique layers of 16 KiB, 512 KiB and 3 MiB. The scale shrinks the image count.
pub fn build_catalog(layout: &mut LayoutBuilder, scale: f64) -> (Vec<BenchImage>, String) {
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

/// A size with one decimal, in MiB from 1 MiB up, else in KiB.
pub fn size(bytes: u64) -> String {
    if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / KIB as f64)
    }
}

/// A workload generated into `DIR/layout` and loaded into a fresh source registry (neither timed), with an
/// ImageSetConfiguration listing its images as `additionalImages` in `DIR/isc.yaml`.
pub struct Loaded {
    pub layout_dir: PathBuf,
    pub layout: LayoutBuilder,
    pub images: Vec<BenchImage>,
    pub description: String,
    /// The floor's plan: every image into `NAMESPACE/` of a destination.
    pub plan: UploadPlan,
    pub source: TestRegistry,
    pub isc_path: PathBuf,
}

/// `size` is how the bench writes sizes.
pub fn load_workload(
    dir: &TestDir,
    build: fn(&mut LayoutBuilder, f64) -> (Vec<BenchImage>, String),
    scale: f64,
    size: fn(u64) -> String,
) -> Loaded {
    let layout_dir = dir.join("layout");
    let mut layout = LayoutBuilder::new(&layout_dir);
    let started = Instant::now();
    let (images, description) = build(&mut layout, scale);
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
    Loaded {
        layout_dir,
        layout,
        images,
        description,
        plan,
        source,
        isc_path,
    }
}

/// The `ferry` binary with HOME set to `home` and no XDG directories of the developer's.
pub fn ferry_command(home: &Path) -> Command {
    let mut cmd = ferry_bin();
    cmd.env("HOME", home)
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME");
    cmd
}

// ---------------------------------------------------------------------------------------------------------------
// Timing

/// One timed copy.
pub struct Timed {
    pub seconds: f64,
    /// Highest ru_maxrss (KiB) over the copying processes; None for the in-process floor.
    pub max_rss_kib: Option<u64>,
    pub dest_requests: BTreeMap<String, u64>,
    pub src_requests: BTreeMap<String, u64>,
    /// CPU seconds (user + system) of the copying processes (summed; the bench process itself for the floor), the
    /// source registry and the destination registry during the run; NaN where there is no such registry.
    pub cpu: [f64; 3],
    /// The 1-minute load average just before the run (other work on the machine skews wall-clock times).
    pub load_before: f64,
}

/// CPU seconds so far of the `docker-registry` process serving `registry` (found by its config path in /proc).
pub fn registry_cpu(registry: &TestRegistry) -> f64 {
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
pub fn process_cpu(proc_dir: &Path) -> f64 {
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

pub fn rusage_cpu(usage: &libc::rusage) -> f64 {
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// CPU seconds of this process so far.
pub fn self_cpu() -> f64 {
    // SAFETY: rusage is plain old data; getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer for the call.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    rusage_cpu(&usage)
}

pub fn load_average() -> f64 {
    let text = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

pub fn median(mut values: Vec<f64>) -> f64 {
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
pub fn wait_with_rusage(child: std::process::Child) -> (ExitStatus, u64, f64) {
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

/// `VmHWM` (peak resident set) of a running process, in KiB.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// This process's own peak RSS (KiB, `VmHWM`). The kernel folds the spawning process's RSS high-water mark into a
/// child's `ru_maxrss` when the child execs (with posix_spawn the old address space is the parent's), so the `wait4`
/// figures of the processes a bench starts are exact only above this value.
pub fn own_hwm_kib() -> u64 {
    vm_hwm_kib(std::process::id()).unwrap_or(0)
}

/// Flushes dirty pages, then waits (at most `SETTLE_LIMIT`) until the disks and CPUs are quiet, so that one run's
/// writeback, and the discards that deleting its files sets off, do not land in the next run's time. Returns the
/// seconds waited.
pub fn settle_machine() -> f64 {
    let started = Instant::now();
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    let mut quiet_windows = 0;
    let mut before = (disk_busy_ms(), cpu_jiffies());
    while started.elapsed() < SETTLE_LIMIT && quiet_windows < 2 {
        std::thread::sleep(SETTLE_WINDOW);
        let now = (disk_busy_ms(), cpu_jiffies());
        let disk_busy = (now.0 - before.0) as f64 / SETTLE_WINDOW.as_millis() as f64;
        let (busy, total) = (now.1 .0 - before.1 .0, now.1 .1 - before.1 .1);
        let cpu_busy = if total == 0 { 0.0 } else { busy as f64 / total as f64 };
        quiet_windows = if disk_busy < 0.1 && cpu_busy < 0.15 {
            quiet_windows + 1
        } else {
            0
        };
        before = now;
    }
    started.elapsed().as_secs_f64()
}

const SETTLE_WINDOW: Duration = Duration::from_millis(250);
const SETTLE_LIMIT: Duration = Duration::from_secs(20);

/// Milliseconds the block devices have spent with I/O in flight (`io_ticks` of /proc/diskstats, summed).
fn disk_busy_ms() -> u64 {
    let stats = fs::read_to_string("/proc/diskstats").unwrap_or_default();
    stats
        .lines()
        .filter_map(|line| line.split_whitespace().nth(12)?.parse::<u64>().ok())
        .sum()
}

/// (busy, total) jiffies of all CPUs since boot, from the `cpu` line of /proc/stat (iowait counts as idle).
fn cpu_jiffies() -> (u64, u64) {
    let stat = fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// Destinations (and other trees) of finished runs, stopped, their files kept until `release`. On a filesystem
/// without a journal (ext4 as this machine mounts it), inodes deleted in the last minute are skipped by every new
/// file's inode allocation, so deleting one run's ten thousand registry files would slow the next copies' file
/// creation for a minute; and discarding the freed blocks would slow their fsyncs. Kept files leave the page cache
/// at once, so that they do not crowd out the copies that follow.
#[derive(Default)]
pub struct Retired {
    registries: Vec<TestRegistry>,
    dirs: Vec<PathBuf>,
}

impl Retired {
    pub fn retire(&mut self, mut registry: TestRegistry) {
        registry.kill();
        evict_from_page_cache_after_sync(&registry.storage_dir());
        self.registries.push(registry);
    }

    /// A finished run's files under `dir` (an archive, skopeo's layouts), kept like a destination's.
    pub fn retire_dir(&mut self, dir: PathBuf) {
        evict_from_page_cache_after_sync(&dir);
        self.dirs.push(dir);
    }

    /// Deletes the retired destinations and trees, then (with `wait`; smoke tests skip it) waits out the minute in
    /// which the filesystem avoids their inodes.
    pub fn release(&mut self, wait: bool) {
        if self.registries.is_empty() && self.dirs.is_empty() {
            return;
        }
        self.registries.clear();
        for dir in self.dirs.drain(..) {
            let _ = fs::remove_dir_all(dir);
        }
        if !wait {
            return;
        }
        settle_machine();
        eprintln!("  deleted the finished destinations; waiting {INODE_RECENCY:?} before the next copies");
        std::thread::sleep(INODE_RECENCY);
    }
}

/// How long ext4 without a journal avoids reusing a deleted inode (RECENTCY_MIN in fs/ext4/ialloc.c), and a second.
const INODE_RECENCY: Duration = Duration::from_secs(61);

/// Writes back everything dirty, then drops the cached pages of every file under `dir`.
fn evict_from_page_cache_after_sync(dir: &Path) {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    evict_from_page_cache(dir);
}

/// Drops the (clean, after sync) cached pages of every file under `dir`.
fn evict_from_page_cache(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => evict_from_page_cache(&path),
            Ok(kind) if kind.is_file() => {
                if let Ok(file) = fs::File::open(&path) {
                    use std::os::fd::AsRawFd;
                    // SAFETY: a valid open descriptor; the advice only affects caching.
                    unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
                }
            }
            _ => {}
        }
    }
}

/// Registries log a request after answering it: give the last lines a moment to land.
pub fn settle_logs() {
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
pub fn run_workers(
    what: &str,
    workers: Vec<Vec<Command>>,
    out: &Path,
    src: Option<&TestRegistry>,
    dest: Option<&TestRegistry>,
) -> Timed {
    let single = workers.len() == 1 && workers[0].len() == 1;
    let marks = (src.map(|r| r.log().len()), dest.map(|r| r.log().len()));
    settle_machine();
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

/// One untimed mirror of the whole workload into a throwaway destination, before the timed copies: the first copy
/// after a workload is loaded has often run 25–65% slower than the later ones, whoever made it, and each bench starts
/// its runs with the same copier.
pub fn warm_up(source: &TestRegistry, plan: &UploadPlan, retired: &mut Retired) {
    let dest = TestRegistry::start();
    let warm = run_floor(FloorSource::Registry(source), &dest, plan);
    eprintln!("  warm-up copy (not timed): {:.2}s", warm.seconds);
    retired.retire(dest);
}

/// Where a floor copy reads from.
pub enum FloorSource<'a> {
    /// The layout's files: the raw upload (`run_plan`), the destination registry's ingest floor.
    Files(&'a Path),
    /// The source registry: the raw mirror (`run_mirror_plan`), the floor of any mirror between the two registries.
    Registry(&'a TestRegistry),
}

/// A floor copy of `plan` from `source` into `dest` (`FLOOR_THREADS` threads, in this process), timed. Reading
/// files, there is no source registry: its CPU is NaN.
pub fn run_floor(source: FloorSource, dest: &TestRegistry, plan: &UploadPlan) -> Timed {
    let src = match source {
        FloorSource::Files(_) => None,
        FloorSource::Registry(registry) => Some(registry),
    };
    let src_mark = src.map(|r| r.log().len());
    settle_machine();
    let load_before = load_average();
    let (own_cpu, src_cpu, dest_cpu) = (self_cpu(), src.map(registry_cpu), registry_cpu(dest));
    let started = Instant::now();
    match source {
        FloorSource::Files(layout_dir) => run_plan(layout_dir, &dest.host(), plan, FLOOR_THREADS),
        FloorSource::Registry(registry) => run_mirror_plan(&registry.host(), &dest.host(), plan, FLOOR_THREADS),
    }
    let seconds = started.elapsed().as_secs_f64();
    let own_cpu = self_cpu() - own_cpu;
    settle_logs();
    Timed {
        seconds,
        max_rss_kib: None,
        dest_requests: count_requests(&dest.log()),
        src_requests: src.map_or_else(BTreeMap::new, |r| count_requests(&r.log()[src_mark.unwrap_or(0)..])),
        cpu: [
            own_cpu,
            src.map_or(f64::NAN, |r| registry_cpu(r) - src_cpu.unwrap_or(0.0)),
            registry_cpu(dest) - dest_cpu,
        ],
        load_before,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Verification

/// The destination holds exactly what the layout holds for every image under `{prefix}{repo}:{tag}`: tag links,
/// every blob and every per-repository layer and manifest link in its storage, and the same manifest bytes through
/// the API (`skopeo inspect --raw`) for a few tags.
pub fn verify(who: &str, layout: &LayoutBuilder, dest: &TestRegistry, prefix: &str, images: &[BenchImage]) {
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

// ---------------------------------------------------------------------------------------------------------------
// Report

/// The suffix of a seconds column header: `, median of N (min–max)` for more than one run.
pub fn median_of(runs: usize) -> String {
    if runs > 1 {
        format!(", median of {runs} (min–max)")
    } else {
        String::new()
    }
}

/// "median" or "median (min–max)" seconds.
pub fn seconds_cell(values: Vec<f64>) -> String {
    let m = median(values.clone());
    if values.len() < 2 {
        return format!("{m:.2}");
    }
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(0.0, f64::max);
    format!("{m:.2} ({min:.2}–{max:.2})")
}

/// Median CPU seconds of column `i` of `Timed::cpu`, `–` where there is no such process.
pub fn cpu_cell<T: Borrow<Timed>>(runs: &[T], i: usize) -> String {
    let value = median(runs.iter().map(|t| t.borrow().cpu[i]).collect());
    if value.is_nan() {
        "–".into()
    } else {
        format!("{value:.1}")
    }
}

pub fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// Highest peak RSS over the runs.
pub fn max_rss_kib<T: Borrow<Timed>>(runs: &[T]) -> Option<u64> {
    runs.iter().filter_map(|t| t.borrow().max_rss_kib).max()
}

pub fn total(counts: &BTreeMap<String, u64>) -> u64 {
    counts.values().sum()
}

/// One row of a timing table, `| run | seconds | MiB/s | peak RSS | CPU s: copier / source reg. / dest. reg. |
/// requests | load avg before |`: MiB/s is `rate_mib` (unique blob MiB) over the median seconds, `–` for None;
/// `requests` are the first run's totals in the table's order.
pub fn timing_row<T: Borrow<Timed>>(s: &mut String, name: &str, runs: &[T], rate_mib: Option<f64>, requests: [u64; 2]) {
    let seconds: Vec<f64> = runs.iter().map(|t| t.borrow().seconds).collect();
    let rate = match rate_mib {
        Some(mib) => format!("{:.0}", mib / median(seconds.clone())),
        None => "–".into(),
    };
    let load = runs.iter().map(|t| t.borrow().load_before).sum::<f64>() / runs.len() as f64;
    writeln!(
        s,
        "| {name} | {} | {rate} | {} | {} / {} / {} | {} / {} | {load:.2} |",
        seconds_cell(seconds),
        max_rss_kib(runs).map_or("–".into(), mib),
        cpu_cell(runs, 0),
        cpu_cell(runs, 1),
        cpu_cell(runs, 2),
        requests[0],
        requests[1],
    )
    .unwrap();
}

/// The table of requests by kind (from the registries' access logs) of the first run of each column.
pub fn requests_table(s: &mut String, title: &str, runs: usize, columns: &[(&str, &Timed)]) {
    let mut kinds = BTreeSet::new();
    for (_, t) in columns {
        kinds.extend(t.src_requests.keys().map(|k| ("source", k.clone())));
        kinds.extend(t.dest_requests.keys().map(|k| ("destination", k.clone())));
    }
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    writeln!(
        s,
        "\n| requests{} ({title}) | {} |",
        if runs > 1 { " in the first run" } else { "" },
        names.join(" | ")
    )
    .unwrap();
    writeln!(s, "|---|{}", "---:|".repeat(columns.len())).unwrap();
    for (side, kind) in &kinds {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, t)| {
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
}

pub fn ratio_table_header(s: &mut String) {
    writeln!(s, "\n| ratio | value | target | |").unwrap();
    writeln!(s, "|---|---:|---:|---|").unwrap();
}

/// A row of the ratio table: the value with `decimals` decimals, met or missed against the target (≤), if any.
pub fn ratio_row(s: &mut String, label: &str, value: f64, decimals: usize, target: Option<f64>) {
    let (target, verdict) = match target {
        Some(t) if value <= t => (format!("≤ {t}"), "met"),
        Some(t) => (format!("≤ {t}"), "**missed**"),
        None => ("–".into(), ""),
    };
    writeln!(s, "| {label} | {value:.decimals$} | {target} | {verdict} |").unwrap();
}

/// `{name}: {label}: {value} > {target}` for every missed target.
pub fn missed<M: Copy>(
    name: &str,
    targets: &[(M, f64)],
    label: impl Fn(M) -> &'static str,
    metric: impl Fn(M) -> f64,
) -> Vec<String> {
    targets
        .iter()
        .filter(|(m, max)| metric(*m) > *max)
        .map(|(m, max)| format!("{name}: {}: {:.3} > {max}", label(*m), metric(*m)))
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// docs/performance.md and the end of a run

/// A program's trimmed stdout, `unknown` when it fails.
pub fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// One line about the machine and the tools (`cpus` as the bench counts them).
pub fn machine_facts(cpus: usize) -> String {
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
        "Machine: {cpus} CPUs (nproc), {:.1} GiB memory, {cpu}, Linux {}. docker-registry {}, {}, ferry {commit}{}.",
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

/// How to repeat a run: the `VAR=value` settings that are set, then the command.
pub fn command_line(vars: &[Option<String>], command: &str) -> String {
    let mut words: Vec<String> = vars.iter().flatten().cloned().collect();
    words.push(command.to_string());
    words.join(" ")
}

/// A bench's section of docs/performance.md, markers included: what ran when and where, `notes` on reading the
/// numbers, then the reports.
pub fn docs_section(
    (begin, end): (&str, &str),
    command_line: &str,
    machine_facts: &str,
    notes: &str,
    reports: &[String],
) -> String {
    let date = command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let mut section = format!("{begin}\nResults of `{command_line}` on {date}. {machine_facts}\n\n{notes}\n\n");
    for report in reports {
        section.push_str(report);
        section.push('\n');
    }
    section.push_str(end);
    section
}

pub fn performance_md() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/performance.md")
}

/// Replaces the text between (and including) the markers of docs/performance.md with `section`. Without the
/// markers, `lead` and `section` are appended; without the file, its text is taken to be `new_file`.
pub fn update_docs((begin, end): (&str, &str), section: &str, new_file: &str, lead: &str) -> PathBuf {
    let path = performance_md();
    let text = fs::read_to_string(&path).unwrap_or_else(|_| new_file.to_string());
    let new_text = match (text.find(begin), text.find(end)) {
        (Some(b), Some(e)) if b < e => format!("{}{section}{}", &text[..b], &text[e + end.len()..]),
        _ => format!("{}{lead}{section}\n", text.trim_end()),
    };
    fs::write(&path, new_text).unwrap();
    path
}

/// The end of a bench: writes the docs (or says why not, `why_not`), then the missed targets; with
/// FERRY_BENCH_ENFORCE=1, outside a smoke test, a missed target exits with 1.
/// `finish` for a bench whose whole result is one `report`: written between `markers` of docs/performance.md,
/// after `lead` the first time (a heading and what the bench does).
pub fn finish_with_report(
    settings: &BaseSettings,
    markers: (&str, &str),
    command: &str,
    lead: &str,
    report: &str,
    missed: Vec<String>,
) {
    let write = || {
        let section = docs_section(markers, command, &machine_facts(threads()), "", &[report.to_string()]);
        update_docs(markers, &section, "# Performance\n", &format!("\n\n{lead}"))
    };
    finish(settings, write, "a smoke test", missed);
}

pub fn finish(settings: &BaseSettings, write_docs: impl FnOnce() -> PathBuf, why_not: &str, missed: Vec<String>) {
    if settings.write_docs {
        println!("wrote {}", write_docs().display());
    } else {
        println!("docs/performance.md not updated ({why_not}; FERRY_BENCH_WRITE_DOCS=1 forces it)");
    }
    if missed.is_empty() {
        println!("all targets met");
    } else {
        println!("targets missed:\n  {}", missed.join("\n  "));
        if settings.enforce && !settings.smoke {
            std::process::exit(1);
        }
    }
}
