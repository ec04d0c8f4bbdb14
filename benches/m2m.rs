//! Mirror-to-mirror benchmark: `cargo bench --bench m2m` (release build; harness = false).
//!
//! For each workload it builds the images into a fresh source registry (not timed), copies them once untimed
//! (`warm_up`), then mirrors all of them into a fresh destination registry four ways and times each (in an order
//! that rotates from run to run, each copy after the machine has settled: `settle_machine`):
//!   * ferry: `ferry mirror -c ISC --workspace file://TMP docker://DEST/ns ...` (every image in `additionalImages`),
//!     then the same command again (a no-op re-run, timed separately); peak RSS from `wait4`;
//!   * skopeo: `skopeo sync --all --preserve-digests --src yaml --dest docker` over the same images;
//!   * floor: the simplest parallel raw-HTTP mirror of the same images from the source registry
//!     (`run_mirror_plan`: each unique blob GET from the source and streamed into a POST + monolithic PUT once, each
//!     repeat cross-repo mounted, then every manifest GET and PUT; 8 threads, each with one kept-alive connection to
//!     each registry, no existence checks), the least any mirror between the two registries does;
//!   * ingest floor: the same upload from the layout files instead of the source registry (`run_plan`), what the
//!     destination registry alone can take in (shown for reference; no target).
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
//!
//! The catalog workload, timing, verification, report tables and the docs update are shared with the other benches,
//! in benches/common/mod.rs.
// A test or bench binary: its `pub` items are shared between its own modules, never exported, and a failed
// step panics with its cause.
#![allow(unreachable_pub, clippy::unwrap_used)]

mod common;
#[path = "../tests/integration/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use support::bench_data::*;
use support::*;

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

For each workload it loads a fresh source registry, then copies every image to a fresh destination four ways: ferry
(`ferry mirror -c ISC --workspace file://DIR docker://DEST/ns`, then the same command again as a no-op re-run),
`skopeo sync --all --preserve-digests --src yaml --dest docker` (the peer), the floor, and the ingest floor. The floor
is the simplest parallel raw-HTTP mirror of the same images between the same two registries: each unique blob read
once from the source and streamed into one upload (256 KiB writes, as ferry's), every repeat cross-repo mounted, then
the manifests; 8 threads, each keeping one connection to each registry, no existence checks, no digest computed.
The ingest floor uploads the same content from local files instead (sendfile), which is what the destination
registry alone can take in; it is shown for reference, without a target (below: why the floor, not the ingest floor,
is the one a mirror can be held to here). Every copy is verified
before its number counts. The four take turns: each run rotates their order, so none always follows the same one,
and before each copy the bench flushes the disks and waits for the machine to go quiet; an untimed warm-up copy
(the floor's, into a throwaway destination) comes first, because the first copy after a workload is loaded runs
slower whoever makes it. Finished destinations are
stopped and their files dropped from the page cache but deleted only between workloads, followed by a one-minute
pause: ext4 without a journal (as this machine mounts it) makes every new file's inode allocation skip the inodes
deleted in the last minute, and discards freed blocks, so deleting one run's ten thousand registry files slowed the
next copies by up to 70%.
`FERRY_BENCH_RUNS` (default 3) sets how many interleaved runs the medians come from,
`FERRY_BENCH_ONLY=catalog|bulk` runs one workload and `FERRY_BENCH_SCALE=0.1` shrinks them for a quick check (such
runs leave this file alone unless `FERRY_BENCH_WRITE_DOCS=1`); the header of `benches/m2m.rs` lists the rest.

Reading the numbers: ferry, skopeo and the floor read from a source registry on the same machine; the ingest floor
reads local files. When the machine has few cores, every copy is CPU-bound and the source registry's cost of serving
the blobs competes with everything else; the CPU column splits the time between the copier and the two registries.
Wall-clock times move with whatever else runs on the machine (the load average column).

"#;

struct Settings {
    scale: f64,
    only: Option<String>,
    base: BaseSettings,
}

fn settings() -> Settings {
    let smoke = smoke();
    let scale = scale(smoke);
    let only = var("FERRY_BENCH_ONLY");
    if let Some(o) = &only {
        assert!(
            o == "catalog" || o == "bulk",
            "FERRY_BENCH_ONLY={o}: expected catalog or bulk"
        );
    }
    let full_run = scale == 1.0 && only.is_none();
    Settings {
        scale,
        only,
        base: BaseSettings::from_env(smoke, full_run),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Metric {
    FerryOverSkopeo,
    FerryOverFloor,
    FerryOverIngestFloor,
    NoopOverFirst,
    PeakRssMib,
}

impl Metric {
    fn label(self) -> &'static str {
        match self {
            Metric::FerryOverSkopeo => "ferry / skopeo",
            Metric::FerryOverFloor => "ferry / floor",
            Metric::FerryOverIngestFloor => "ferry / ingest floor (from files)",
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

/// m2m's own size format (whole MiB without decimals, KiB without decimals), not `common::size`.
fn size(bytes: u64) -> String {
    if bytes >= MIB && bytes & (MIB - 1) == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{} KiB", bytes / KIB)
    }
}

/// Median wall-clock seconds of the runs.
fn seconds(runs: &[Timed]) -> f64 {
    median(runs.iter().map(|t| t.seconds).collect())
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
    ingest_floor: Vec<Timed>,
    targets: Vec<(Metric, f64)>,
    extra_ferry_args: Vec<String>,
}

impl WorkloadResult {
    fn metric(&self, m: Metric) -> f64 {
        match m {
            Metric::FerryOverSkopeo => seconds(&self.ferry) / seconds(&self.skopeo),
            Metric::FerryOverFloor => seconds(&self.ferry) / seconds(&self.floor),
            Metric::FerryOverIngestFloor => seconds(&self.ferry) / seconds(&self.ingest_floor),
            Metric::NoopOverFirst => seconds(&self.noop) / seconds(&self.ferry),
            Metric::PeakRssMib => max_rss_kib(&self.ferry).unwrap_or(0) as f64 / 1024.0,
        }
    }

    fn missed(&self) -> Vec<String> {
        missed(self.name, &self.targets, Metric::label, |m| self.metric(m))
    }
}

fn run_workload(w: &Workload, settings: &Settings, retired: &mut Retired) -> WorkloadResult {
    eprintln!("== {} (scale {}) ==", w.name, settings.scale);
    let dir = TestDir::new(&format!("bench-m2m-{}", w.name));
    let Loaded {
        layout_dir,
        layout,
        images,
        description,
        plan,
        source,
        isc_path,
    } = load_workload(&dir, w.build, settings.scale, size);
    let base = &settings.base;
    let home = dir.join("home");
    fs::create_dir_all(&home).unwrap();
    let ferry_args = if base.ferry_args.is_empty() {
        &w.ferry_args
    } else {
        &base.ferry_args
    }
    .clone();
    let mut yaml = format!("{}:\n  tls-verify: false\n  images:\n", source.host());
    for image in &images {
        writeln!(yaml, "    {}:\n    - {}", image.repo, image.tag).unwrap();
    }
    let yaml_path = dir.join("sync.yaml");
    fs::write(&yaml_path, &yaml).unwrap();
    let ns = format!("{NAMESPACE}/");
    warm_up(&source, &plan, retired);

    let (mut ferry_runs, mut noop_runs, mut skopeo_runs) = (vec![], vec![], vec![]);
    let (mut floor_runs, mut ingest_runs) = (vec![], vec![]);
    for run in 0..base.runs {
        let log_name = format!("{}-run{}", w.name, run + 1);
        eprintln!("  run {} of {}", run + 1, base.runs);
        for contender in Contender::order(run) {
            let dest = TestRegistry::start();
            match contender {
                Contender::Ferry => {
                    let check = |what: &str| verify(what, &layout, &dest, &ns, &images);
                    let (first, noop) = run_ferry(&dir, run, &home, &isc_path, (&source, &dest), &ferry_args, check);
                    save_logs(base, &log_name, &[("ferry-dest-registry.log", dest.log())]);
                    ferry_runs.push(first);
                    noop_runs.push(noop);
                }
                Contender::Skopeo => {
                    let skopeo = run_skopeo(&dir, run, &home, &yaml_path, &images, &dest, &source);
                    verify("skopeo", &layout, &dest, &ns, &images);
                    save_logs(base, &log_name, &[("skopeo-dest-registry.log", dest.log())]);
                    skopeo_runs.push(skopeo);
                }
                Contender::Floor => {
                    let floor = run_floor(FloorSource::Registry(&source), &dest, &plan);
                    eprintln!("    floor: {:.2}s", floor.seconds);
                    verify("floor", &layout, &dest, &ns, &images);
                    save_logs(base, &log_name, &[("floor-dest-registry.log", dest.log())]);
                    floor_runs.push(floor);
                }
                Contender::IngestFloor => {
                    let mut floor = run_floor(FloorSource::Files(&layout_dir), &dest, &plan);
                    floor.cpu[1] = 0.0; // no source registry: shown as 0.0 here
                    eprintln!("    ingest floor: {:.2}s", floor.seconds);
                    verify("ingest floor", &layout, &dest, &ns, &images);
                    save_logs(base, &log_name, &[("ingest-floor-dest-registry.log", dest.log())]);
                    ingest_runs.push(floor);
                }
            }
            retired.retire(dest);
        }
        let read = |p: &Path| fs::read_to_string(p).unwrap_or_default();
        let outputs = [
            ("ferry.out", read(&dir.join(format!("ferry-{run}.out")))),
            ("ferry-noop.out", read(&dir.join(format!("ferry-noop-{run}.out")))),
        ];
        save_logs(base, &log_name, &outputs);
    }
    save_logs(base, w.name, &[("source-registry.log", source.log())]);

    WorkloadResult {
        name: w.name,
        description,
        unique_blob_bytes: plan.blob_bytes,
        plan: (plan.uploads, plan.mounts, plan.manifests),
        ferry: ferry_runs,
        noop: noop_runs,
        skopeo: skopeo_runs,
        floor: floor_runs,
        ingest_floor: ingest_runs,
        targets: w.targets.clone(),
        extra_ferry_args: ferry_args,
    }
}

/// The ways of copying a workload.
#[derive(Clone, Copy)]
enum Contender {
    Ferry,
    Skopeo,
    Floor,
    IngestFloor,
}

impl Contender {
    /// The order of run `run`: rotated by one each run, so that no contender always follows the same one (whatever
    /// a copy leaves the machine doing lands on a different contender each time).
    fn order(run: usize) -> [Contender; 4] {
        let mut order = [
            Contender::Ferry,
            Contender::Skopeo,
            Contender::Floor,
            Contender::IngestFloor,
        ];
        let len = order.len();
        order.rotate_left(run % len);
        order
    }
}

/// ferry into `dest`, then the same command again against the same destination and workspace (the no-op re-run);
/// `check` verifies the destination after each.
fn run_ferry(
    dir: &TestDir,
    run: usize,
    home: &Path,
    isc_path: &Path,
    (source, dest): (&TestRegistry, &TestRegistry),
    ferry_args: &[String],
    check: impl Fn(&str),
) -> (Timed, Timed) {
    let workspace = dir.join(format!("ws-{run}"));
    let ferry = || {
        let mut cmd = ferry_command(home);
        cmd.args(["mirror", "-c"])
            .arg(isc_path)
            .arg("--workspace")
            .arg(format!("file://{}", workspace.display()))
            .arg(format!("docker://{}/{NAMESPACE}", dest.host()))
            .args(["--src-tls-verify=false", "--dest-tls-verify=false", "--quiet"])
            .args(ferry_args);
        vec![vec![cmd]]
    };
    let (out, noop_out) = (
        dir.join(format!("ferry-{run}.out")),
        dir.join(format!("ferry-noop-{run}.out")),
    );
    let first = run_workers("ferry", ferry(), &out, Some(source), Some(dest));
    eprintln!("    ferry: {:.2}s", first.seconds);
    check("ferry");
    let noop = run_workers("ferry (no-op re-run)", ferry(), &noop_out, Some(source), Some(dest));
    eprintln!("    ferry no-op re-run: {:.2}s", noop.seconds);
    check("ferry (after the re-run)");
    (first, noop)
}

/// skopeo sync from a YAML list of the same images. Without --scoped, sync keeps the last path component:
/// bench/x lands in DEST/ns/bench/x, where ferry puts it.
fn run_skopeo(
    dir: &TestDir,
    run: usize,
    home: &Path,
    yaml_path: &Path,
    images: &[BenchImage],
    dest: &TestRegistry,
    source: &TestRegistry,
) -> Timed {
    let mut dest_prefix = format!("{}/{NAMESPACE}/", dest.host());
    dest_prefix.push_str(images[0].repo.rsplit_once('/').map_or("", |(ns, _)| ns));
    let mut cmd = Command::new("skopeo");
    cmd.env("HOME", home)
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
        .arg(yaml_path)
        .arg(dest_prefix.trim_end_matches('/'));
    let skopeo = run_workers(
        "skopeo sync",
        vec![vec![cmd]],
        &dir.join(format!("skopeo-{run}.out")),
        Some(source),
        Some(dest),
    );
    eprintln!("    skopeo sync: {:.2}s", skopeo.seconds);
    skopeo
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
        "{}. {} of unique blobs; each floor does {} uploads, {} mounts, {} manifest PUTs. ferry: {args}.\n",
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
        median_of(r.ferry.len())
    )
    .unwrap();
    writeln!(s, "|---|---:|---:|---:|---:|---:|---:|").unwrap();
    let mib = r.unique_blob_bytes as f64 / MIB as f64;
    let rows = [
        ("ferry", &r.ferry, true),
        ("ferry, no-op re-run", &r.noop, false),
        ("skopeo sync", &r.skopeo, true),
        ("floor (raw HTTP mirror, 8 threads)", &r.floor, true),
        (
            "ingest floor (raw HTTP upload from files, 8 threads)",
            &r.ingest_floor,
            true,
        ),
    ];
    for (name, t, rate) in rows {
        let requests = [total(&t[0].dest_requests), total(&t[0].src_requests)];
        timing_row(&mut s, name, t, rate.then_some(mib), requests);
    }
    ratio_table_header(&mut s);
    let mut shown: Vec<(Metric, Option<f64>)> = r.targets.iter().map(|(m, t)| (*m, Some(*t))).collect();
    for m in [
        Metric::FerryOverSkopeo,
        Metric::FerryOverFloor,
        Metric::FerryOverIngestFloor,
        Metric::NoopOverFirst,
        Metric::PeakRssMib,
    ] {
        if !shown.iter().any(|(x, _)| *x == m) {
            shown.push((m, None));
        }
    }
    for (m, target) in shown {
        let decimals = if m == Metric::PeakRssMib { 0 } else { 3 };
        ratio_row(&mut s, m.label(), r.metric(m), decimals, target);
    }
    let columns = [
        ("ferry", &r.ferry[0]),
        ("no-op", &r.noop[0]),
        ("skopeo", &r.skopeo[0]),
        ("floor", &r.floor[0]),
        ("ingest floor", &r.ingest_floor[0]),
    ];
    requests_table(&mut s, "from the registries' access logs", r.ferry.len(), &columns);
    s
}

fn command_line(settings: &Settings) -> String {
    let vars = [
        settings.only.as_ref().map(|o| format!("FERRY_BENCH_ONLY={o}")),
        (settings.scale != 1.0).then(|| format!("FERRY_BENCH_SCALE={}", settings.scale)),
        settings.base.runs_var(),
        settings.base.ferry_args_var(),
    ];
    common::command_line(&vars, COMMAND)
}

fn write_docs(settings: &Settings, results: &[WorkloadResult]) -> PathBuf {
    let runs = results.first().map_or(0, |r| r.ferry.len());
    let notes = format!(
        "Seconds are wall-clock, the median of {runs} interleaved runs, each into a fresh destination (CNCF \
         distribution, filesystem storage, plain HTTP on 127.0.0.1) from the same source registry; ratios are ratios \
         of medians. Peak RSS is the process's `ru_maxrss` (highest run); CPU seconds are medians; MiB/s is unique \
         blob bytes over median seconds; the load average shows what else the machine was doing."
    );
    let reports: Vec<String> = results.iter().map(report).collect();
    let section = docs_section(
        (BEGIN, END),
        &command_line(settings),
        &machine_facts(threads()),
        &notes,
        &reports,
    );
    fs::create_dir_all(performance_md().parent().unwrap()).unwrap();
    update_docs((BEGIN, END), &section, &format!("{DOC_INTRO}{BEGIN}\n{END}\n"), "\n")
}

fn main() {
    let settings = settings();
    if settings.base.smoke {
        eprintln!(
            "m2m bench: no --bench argument, running as a smoke test (scale {})",
            settings.scale
        );
    }
    // Finished destinations are deleted between workloads (and at exit), never between copies: see `Retired`.
    let mut retired = Retired::default();
    let results: Vec<WorkloadResult> = workloads()
        .iter()
        .filter(|w| settings.only.as_deref().is_none_or(|o| o == w.name))
        .map(|w| {
            retired.release(!settings.base.smoke);
            run_workload(w, &settings, &mut retired)
        })
        .collect();
    println!("\n{}\n", machine_facts(threads()));
    for r in &results {
        println!("{}", report(r));
    }
    finish(
        &settings.base,
        || write_docs(&settings, &results),
        "partial or scaled run",
        results.iter().flat_map(WorkloadResult::missed).collect(),
    );
}
