//! Operator catalog benchmark: `cargo bench --bench catalog` (release build; harness = false).
//!
//! Data: the real certified-operators v4.16 catalog (`../shared/testdata/fbc/large/certified-operators-v4.16.tar.gz`,
//! 46 packages, 52 MB unpacked as `configs/<package>/catalog.yaml`). Not timed, it builds a 4-platform catalog image
//! the way opm-built images look: per platform a base layer of 4 MiB (a tar holding a fake `bin/opm`, its own per
//! platform) and a gzip-compressed configs layer, an image config labelled
//! `operators.operatorframework.io.index.configs.v1=/configs` whose `history` names the layers (`ADD file:... in /`,
//! `ADD catalog /configs`); linux/amd64 and linux/arm64 carry the whole catalog, linux/ppc64le and linux/s390x the
//! catalog minus three packages (a distinct content, so two configs layers). It is pushed to a source registry.
//!
//! Then, in each run:
//!   * one parse: a child process (this bench binary again) times `ferry::read_catalog_dir` on
//!     the unpacked catalog once (the files are in the page cache); its peak RSS comes from `wait4`;
//!   * extraction + parse: `ferry list operators --catalog docker://SRC/... --output json` (every platform, both
//!     contents), timed with `wait4`;
//!   * the whole catalog handling: `ferry mirror -c ISC --workspace file://WS docker://DEST/ns` with a selection of 5
//!     packages present in both contents. ferry reads the catalog, extracts, parses, filters and rebuilds each
//!     content, then logs `N images to mirror to ...` and starts copying. The bench reads ferry's stderr through a
//!     pipe and timestamps that line as it arrives; at that moment it also reads ferry's peak RSS so far (`VmHWM` of
//!     /proc/PID/status) and the length of the source registry's access log. What comes after the line is mirroring
//!     (the rebuilt catalog image is pushed; the related images are planned but absent: a registries.conf sends
//!     every host they name to an empty local registry, so they fail at once with 404 and ferry exits 4). The run
//!     goes on to the end so that the rebuilt catalog can be verified at the destination: an index of the 4
//!     platforms whose top layers hold exactly the selected packages (checked with skopeo, the registry API, system
//!     gzip and the tar crate, not with ferry).
//!
//! Targets (the issue): catalog handling ≤ 3× one parse; peak RSS ≤ 4× the unpacked FBC size; bytes fetched from the
//! registry ≤ 1.1× the configs layers' size (both distinct configs layers, compressed, as stored). Bytes fetched are
//! the response bytes of every GET in the source registry's access log (manifests, configs, layers).
//!
//! Environment:
//!   FERRY_BENCH_RUNS=N              interleaved runs; medians are reported; default 3
//!   FERRY_BENCH_WRITE_DOCS=0|1      force not writing / writing docs/performance.md (default: only for a full run)
//!   FERRY_BENCH_ENFORCE=1           exit 1 when a target is missed
//!   FERRY_BENCH_LOGS=DIR            copy registry logs and ferry's output there, for analysis
//!   FERRY_BENCH_FERRY_ARGS="..."    extra arguments for `ferry mirror`, for experiments (the docs are left alone
//!                                   unless FERRY_BENCH_WRITE_DOCS=1)
//! Without `--bench` (e.g. `cargo test --benches`) it runs once as a smoke test and writes no docs.
//!
//! The timing helpers, report cells and the docs update are shared with the other benches, in benches/common/mod.rs.
// A test or bench binary: its `pub` items are shared between its own modules, never exported, and a failed
// step panics with its cause.
#![allow(unreachable_pub, clippy::unwrap_used)]

mod common;
#[path = "../tests/integration/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

// Not a glob: this bench has its own `Timed` and `PLATFORMS`.
use common::{
    docs_section, ferry_command, finish, load_average, machine_facts, median, median_of, mib, missed, own_hwm_kib,
    ratio_row, ratio_table_header, save_logs, seconds_cell, settle_logs, size, smoke, update_docs, vm_hwm_kib,
    wait_with_rusage, BaseSettings as Settings,
};
use ferry::read_catalog_dir;
use support::bench_data::*;
use support::*;

const FBC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/testdata/fbc/large/certified-operators-v4.16.tar.gz"
);
const FBC_NAME: &str = "certified-operators-v4.16.tar.gz";
const LABEL: &str = "operators.operatorframework.io.index.configs.v1";
const REPO: &str = "redhat/certified-operator-index";
const TAG: &str = "v4.16";
/// (platform, carries the whole catalog)
const PLATFORMS: [(&str, bool); 4] = [
    ("linux/amd64", true),
    ("linux/arm64", true),
    ("linux/ppc64le", false),
    ("linux/s390x", false),
];
/// Packages the smaller content lacks.
const DROPPED: [&str; 3] = ["tigera-operator", "appian-operator", "k8s-triliovault"];
/// The selection: in both contents, of different sizes (about 3.3 MB, 1.1 MB, 0.8 MB, 0.7 MB and 0.6 MB of FBC).
const SELECTED: [&str; 5] = [
    "dell-csm-operator-certified",
    "amd-gpu-operator",
    "nvidia-network-operator",
    "stackable-kafka-operator",
    "trident-operator",
];
const BASE_LAYER_BYTES: usize = 4 << 20;
/// The line ferry logs once the plan, rebuilt catalog included, is ready and copying starts.
const PLANNED: &str = " images to mirror to ";
const BEGIN: &str = "<!-- bench:catalog:begin -->";
const END: &str = "<!-- bench:catalog:end -->";
const COMMAND: &str = "cargo bench --bench catalog";
/// Set in the child process that times one parse.
const PARSE_ENV: &str = "FERRY_BENCH_PARSE_DIR";
/// Set in the child process that builds and pushes the catalog image (the directory, the registry).
const SETUP_ENV: &str = "FERRY_BENCH_SETUP_DIR";
const SETUP_REGISTRY_ENV: &str = "FERRY_BENCH_SETUP_REGISTRY";
const DOC_SECTION: &str = r#"## Operator catalogs

`benches/catalog.rs`, run with

```sh
cargo bench --bench catalog
```

It builds a 4-platform catalog image from the real certified-operators v4.16 catalog (52 MB of FBC): linux/amd64 and
linux/arm64 carry the whole catalog, linux/ppc64le and linux/s390x the catalog minus three packages (two distinct
configs layers, gzip-compressed), each platform on its own 4 MiB base layer, with the `configs.v1` label and an image
history that names the layers as opm-built images do. Then per run:

- **one parse**: `read_catalog_dir` on the unpacked catalog, timed inside a child process (files in the
  page cache); the unit the targets are expressed in;
- **extraction + parse**: `ferry list operators --catalog docker://SRC/... --output json`, the whole process;
- **catalog handling**: `ferry mirror -c ISC --workspace file://WS docker://DEST/ns` with 5 packages present in both
  contents, measured from the start of the process to the moment ferry logs `N images to mirror to ...`: reading,
  extracting, parsing, filtering and rebuilding both contents are done then, and copying starts. The bench reads
  ferry's stderr through a pipe and timestamps the line on arrival; the peak RSS is ferry's `VmHWM` at that moment
  and the bytes fetched are the GET response bytes in the source registry's access log up to then. The run then
  continues: the rebuilt catalog is pushed and verified (4 platforms, exactly the selected packages in each top
  layer, read back with skopeo, gzip and tar); the related images are absent on purpose (a registries.conf sends
  their hosts to an empty local registry), so ferry ends with exit code 4 after 404s. The whole-run numbers are shown
  for context only.

"#;

fn settings() -> Settings {
    Settings::from_env(smoke(), true)
}

// ---------------------------------------------------------------------------------------------------------------
// Building the catalog image

/// The regular files of the packed catalog (`configs/<package>/catalog.yaml`), sorted by path.
fn read_fbc() -> Vec<(String, Vec<u8>)> {
    let file = fs::File::open(FBC).unwrap_or_else(|e| panic!("{FBC}: {e}"));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut files = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        files.push((path, bytes));
    }
    files.sort();
    assert!(
        files.iter().all(|(p, _)| p.starts_with("configs/")),
        "{FBC_NAME}: expected configs/<package>/... entries"
    );
    files
}

fn package_of(path: &str) -> &str {
    path.split('/').nth(1).unwrap_or("")
}

/// A deterministic tar (mtime 0, uid/gid 0, directories 0755, files 0644) of `files`, with their directories.
fn configs_tar(files: &[&(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut dirs = BTreeSet::new();
    for (path, bytes) in files {
        let parts: Vec<&str> = path.split('/').collect();
        for i in 1..parts.len() {
            let dir = parts[..i].join("/");
            if dirs.insert(dir.clone()) {
                let mut header = tar::Header::new_ustar();
                header.set_path(format!("{dir}/")).unwrap();
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                header.set_mode(0o755);
                header.set_mtime(0);
                header.set_uid(0);
                header.set_gid(0);
                header.set_cksum();
                builder.append(&header, std::io::empty()).unwrap();
            }
        }
        let mut header = tar::Header::new_ustar();
        header.set_path(path).unwrap();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_cksum();
        builder.append(&header, bytes.as_slice()).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

struct CatalogImage {
    image: BenchImage,
    /// The distinct configs layers (whole catalog, smaller catalog).
    configs_layers: Vec<Descriptor>,
    base_layers_bytes: u64,
}

/// Writes the 4-platform catalog image into `layout`.
fn build_catalog_image(layout: &mut LayoutBuilder, files: &[(String, Vec<u8>)]) -> CatalogImage {
    let whole: Vec<&(String, Vec<u8>)> = files.iter().collect();
    let smaller: Vec<&(String, Vec<u8>)> = files
        .iter()
        .filter(|(p, _)| !DROPPED.contains(&package_of(p)))
        .collect();
    let configs: Vec<(Descriptor, String)> = [whole, smaller]
        .iter()
        .map(|files| {
            let tar = configs_tar(files);
            (layout.add_typed_blob(OCI_LAYER_GZIP, &gzip(&tar)), sha256_digest(&tar))
        })
        .collect();
    let mut base_layers_bytes = 0;
    let manifests: Vec<BenchManifest> = PLATFORMS
        .iter()
        .enumerate()
        .map(|(i, (platform, whole))| {
            let opm = random_bytes(7_000 + i as u64, BASE_LAYER_BYTES);
            let (base, base_diff) = layout.add_layer(&tar_bytes(&[("bin/opm", opm.as_slice())]), false);
            base_layers_bytes += base.size;
            let (configs_layer, configs_diff) = &configs[usize::from(!whole)];
            let (os, arch) = platform.split_once('/').unwrap();
            let created = "2024-06-01T00:00:00Z";
            let config = serde_json::json!({
                "architecture": arch,
                "os": os,
                "created": created,
                "config": {
                    "Entrypoint": ["/bin/opm"],
                    "Cmd": ["serve", "/configs", "--cache-dir=/tmp/cache"],
                    "Labels": { LABEL: "/configs" },
                },
                "rootfs": { "type": "layers", "diff_ids": [base_diff, configs_diff] },
                "history": [
                    {
                        "created": created,
                        "created_by": format!("/bin/sh -c #(nop) ADD file:{} in / ", base_diff.trim_start_matches("sha256:")),
                    },
                    {
                        "created": created,
                        "created_by": "ENTRYPOINT [\"/bin/opm\"]",
                        "comment": "buildkit.dockerfile.v0",
                        "empty_layer": true,
                    },
                    {
                        "created": created,
                        "created_by": "ADD catalog /configs # buildkit",
                        "comment": "buildkit.dockerfile.v0",
                    },
                    {
                        "created": created,
                        "created_by": format!("LABEL {LABEL}=/configs"),
                        "comment": "buildkit.dockerfile.v0",
                        "empty_layer": true,
                    },
                ],
            });
            let config = layout.add_typed_blob(OCI_CONFIG, &serde_json::to_vec_pretty(&config).unwrap());
            let manifest = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": config.to_json(),
                "layers": [base.to_json(), configs_layer.to_json()],
            });
            let mut descriptor = layout.add_typed_blob(OCI_MANIFEST, &serde_json::to_vec_pretty(&manifest).unwrap());
            descriptor.platform = Some(Platform::parse(platform));
            BenchManifest {
                descriptor,
                blobs: vec![config, base, configs_layer.clone()],
            }
        })
        .collect();
    let children: Vec<Descriptor> = manifests.iter().map(|m| m.descriptor.clone()).collect();
    let index = layout.index(&children, false);
    layout.tag(&index, "catalog");
    CatalogImage {
        image: BenchImage {
            repo: REPO.into(),
            tag: TAG.into(),
            index,
            manifests,
        },
        configs_layers: configs.into_iter().map(|(d, _)| d).collect(),
        base_layers_bytes,
    }
}

/// The registry host of an image reference as containers/image reads it (`docker.io` when none is named).
fn host_of(reference: &str) -> &str {
    match reference.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => first,
        _ => "docker.io",
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The source registry's access log

fn registry_log_path(registry: &TestRegistry) -> PathBuf {
    registry.storage_dir().parent().unwrap().join("registry.log")
}

/// What GET requests of an access log (`"GET URI HTTP/1.1" STATUS BYTES ...` lines, 2xx only) were served:
/// (bytes of blob responses, bytes of manifest responses, number of blob GETs).
fn served_bytes(log: &str) -> (u64, u64, usize) {
    let (mut blobs, mut manifests, mut count) = (0, 0, 0);
    for line in log.lines() {
        let Some(start) = line.find("] \"GET ") else { continue };
        let rest = &line[start + 3..];
        let uri = rest.split(' ').nth(1).unwrap_or("");
        let Some((_, after)) = rest.split_once("\" ") else {
            continue;
        };
        let mut fields = after.split(' ');
        let status: u16 = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let bytes: u64 = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        if !(200..300).contains(&status) {
            continue;
        }
        if uri.contains("/blobs/") {
            blobs += bytes;
            count += 1;
        } else if uri.contains("/manifests/") {
            manifests += bytes;
        }
    }
    (blobs, manifests, count)
}

// ---------------------------------------------------------------------------------------------------------------
// The runs

/// One timed process.
struct Timed {
    seconds: f64,
    max_rss_kib: u64,
    cpu: f64,
    load_before: f64,
}

/// One parse, in a child process: (seconds inside the child, the child's process).
fn time_parse(fbc_dir: &Path) -> (f64, Timed) {
    let exe = std::env::current_exe().unwrap();
    let load_before = load_average();
    let started = Instant::now();
    let child = Command::new(exe)
        .env(PARSE_ENV, fbc_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = child;
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let (status, max_rss_kib, cpu) = wait_with_rusage(child);
    let seconds = started.elapsed().as_secs_f64();
    assert!(status.success(), "the parse child failed ({status}): {stdout}");
    let fields: Vec<f64> = stdout.split_whitespace().filter_map(|s| s.parse().ok()).collect();
    let [inner, hwm, _packages] = fields[..] else {
        panic!("parse child printed {stdout:?}")
    };
    assert!(
        hwm as u64 <= max_rss_kib,
        "VmHWM {hwm} KiB above ru_maxrss {max_rss_kib} KiB"
    );
    (
        inner,
        Timed {
            seconds,
            // The child's own high-water mark: ru_maxrss would include this bench's (see `own_hwm_kib`).
            max_rss_kib: hwm as u64,
            cpu,
            load_before,
        },
    )
}

/// The child side of `time_parse`: prints the seconds `load_dir` took, its own peak RSS (KiB) and the package count.
fn parse_child(dir: &str) {
    let started = Instant::now();
    let contents = read_catalog_dir(Path::new(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
    let seconds = started.elapsed().as_secs_f64();
    let hwm = vm_hwm_kib(std::process::id()).unwrap_or(0);
    println!("{seconds} {hwm} {}", contents.packages.len());
}

struct ListRun {
    timed: Timed,
    /// GET bytes served by the source registry: (blobs, manifests, blob GETs).
    served: (u64, u64, usize),
}

struct MirrorRun {
    /// The whole process.
    timed: Timed,
    exit_code: Option<i32>,
    /// Seconds from the start to the lines `reading catalog`, `catalog ...: N platform(s), ...` and the plan line.
    reading: Option<f64>,
    extracted: Option<f64>,
    planned: f64,
    /// VmHWM at the plan line (KiB).
    rss_at_planned_kib: u64,
    /// GET bytes served by the source registry up to the plan line, and in the whole run.
    served_at_planned: (u64, u64, usize),
    served_total: (u64, u64, usize),
    /// ferry's own line about the extraction (`... layer(s) read (N bytes) ...`).
    extraction_line: String,
    images_planned: usize,
}

struct RunResult {
    parse_seconds: f64,
    parse: Timed,
    list: ListRun,
    mirror: MirrorRun,
}

struct Results {
    unpacked_bytes: u64,
    packages: usize,
    smaller_packages: usize,
    configs_layers: Vec<u64>,
    base_layers_bytes: u64,
    related_hosts: usize,
    /// This bench's own peak RSS at the end (KiB).
    own_hwm_kib: u64,
    runs: Vec<RunResult>,
}

fn run_list(home: &Path, source: &TestRegistry, out: &Path, packages: usize) -> ListRun {
    let mark = source.log().len();
    let mut cmd = ferry_command(home);
    cmd.args(["list", "operators", "--catalog"])
        .arg(format!("docker://{}/{REPO}:{TAG}", source.host()))
        .args(["--src-tls-verify=false", "--output", "json"])
        .stdin(Stdio::null())
        .stdout(fs::File::create(out.with_extension("json")).unwrap())
        .stderr(fs::File::create(out.with_extension("err")).unwrap());
    let load_before = load_average();
    let started = Instant::now();
    let (status, max_rss_kib, cpu) = wait_with_rusage(cmd.spawn().unwrap());
    let seconds = started.elapsed().as_secs_f64();
    let stderr = fs::read_to_string(out.with_extension("err")).unwrap_or_default();
    assert!(status.success(), "ferry list operators failed ({status}):\n{stderr}");
    settle_logs();
    // The listing is right: every package, the dropped ones only on the two whole-catalog platforms.
    let listed: serde_json::Value =
        serde_json::from_slice(&fs::read(out.with_extension("json")).unwrap()).expect("list --output json");
    let listed = listed["packages"].as_array().expect("packages");
    assert_eq!(listed.len(), packages, "ferry list operators: package count");
    for package in listed {
        let name = package["name"].as_str().unwrap();
        let platforms: Vec<&str> = package["catalogPlatforms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let expected: Vec<&str> = PLATFORMS
            .iter()
            .filter(|(_, whole)| *whole || !DROPPED.contains(&name))
            .map(|(p, _)| *p)
            .collect();
        let (mut a, mut b) = (platforms.clone(), expected.clone());
        a.sort();
        b.sort();
        assert_eq!(a, b, "ferry list operators: catalogPlatforms of {name}");
    }
    ListRun {
        timed: Timed {
            seconds,
            max_rss_kib,
            cpu,
            load_before,
        },
        served: served_bytes(&source.log()[mark..]),
    }
}

#[allow(clippy::too_many_arguments)]
fn run_mirror(
    settings: &Settings,
    home: &Path,
    isc: &Path,
    registries_conf: &Path,
    source: &TestRegistry,
    dest: &TestRegistry,
    workspace: &Path,
    out: &Path,
) -> MirrorRun {
    let mark = source.log().len();
    let log_path = registry_log_path(source);
    let mut cmd = ferry_command(home);
    cmd.args(["mirror", "-c"])
        .arg(isc)
        .arg("--workspace")
        .arg(format!("file://{}", workspace.display()))
        .arg(format!("docker://{}/ns", dest.host()))
        .args(["--src-tls-verify=false", "--dest-tls-verify=false", "--registries-conf"])
        .arg(registries_conf)
        .args(&settings.ferry_args)
        .stdin(Stdio::null())
        .stdout(fs::File::create(out.with_extension("out")).unwrap())
        .stderr(Stdio::piped());
    let load_before = load_average();
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let stderr = child.stderr.take().unwrap();
    // Reads ferry's stderr as it comes: every line with its arrival time; at the plan line, VmHWM and the access
    // log's length.
    let reader = std::thread::spawn(move || {
        let mut lines: Vec<(f64, String)> = Vec::new();
        let mut at_planned = None;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let t = started.elapsed().as_secs_f64();
            if at_planned.is_none() && line.contains(PLANNED) {
                let rss = vm_hwm_kib(pid).unwrap_or(0);
                let log_len = fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
                at_planned = Some((t, rss, log_len));
            }
            lines.push((t, line));
        }
        (lines, at_planned)
    });
    let (status, max_rss_kib, cpu) = wait_with_rusage(child);
    let seconds = started.elapsed().as_secs_f64();
    let (lines, at_planned) = reader.join().unwrap();
    let text: String = lines.iter().map(|(t, l)| format!("[{t:8.3}] {l}\n")).collect();
    fs::write(out.with_extension("err"), &text).unwrap();
    let code = status.code();
    assert!(
        matches!(code, Some(0) | Some(4)),
        "ferry mirror failed ({status}); its stderr:\n{text}"
    );
    let (planned, rss_at_planned_kib, log_len) =
        at_planned.unwrap_or_else(|| panic!("ferry never logged `{PLANNED}`; its stderr:\n{text}"));
    settle_logs();
    let log = source.log();
    let at = |needle: &dyn Fn(&str) -> bool| lines.iter().find(|(_, l)| needle(l)).map(|(t, _)| *t);
    let extraction_line = lines
        .iter()
        .find(|(_, l)| l.contains("layer(s) read"))
        .map(|(_, l)| l.clone())
        .unwrap_or_default();
    let images_planned = lines
        .iter()
        .find(|(_, l)| l.contains(PLANNED))
        .and_then(|(_, l)| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    MirrorRun {
        timed: Timed {
            seconds,
            max_rss_kib,
            cpu,
            load_before,
        },
        exit_code: code,
        reading: at(&|l| l.starts_with("reading catalog")),
        extracted: at(&|l| l.contains("layer(s) read")),
        planned,
        rss_at_planned_kib,
        served_at_planned: served_bytes(&log[mark..(log_len as usize).max(mark).min(log.len())]),
        served_total: served_bytes(&log[mark..]),
        extraction_line,
        images_planned,
    }
}

/// gunzip through the system `gzip` (independent of ferry's own code).
fn gunzip(gz: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = gz.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success(), "gzip -dc failed");
    output.stdout
}

/// The rebuilt catalog at the destination: an index of the 4 platforms; each platform's top layer holds exactly the
/// selected packages (olm.package objects of JSON or YAML catalog files).
fn verify_rebuilt(dest: &TestRegistry, original_index: &str) {
    let repo = format!("ns/{REPO}");
    let reference = dest.docker_ref(&format!("{repo}:{TAG}"));
    let raw = skopeo_inspect_raw(&reference).unwrap_or_else(|e| panic!("rebuilt catalog: {e}"));
    assert_ne!(
        sha256_digest(&raw),
        original_index,
        "the catalog was copied, not rebuilt"
    );
    let index: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let entries = index["manifests"].as_array().expect("an index");
    let mut arches: Vec<String> = entries
        .iter()
        .map(|e| {
            format!(
                "{}/{}",
                e["platform"]["os"].as_str().unwrap(),
                e["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    arches.sort();
    let mut want: Vec<String> = PLATFORMS.iter().map(|(p, _)| p.to_string()).collect();
    want.sort();
    assert_eq!(arches, want, "rebuilt catalog platforms");
    let selected: BTreeSet<String> = SELECTED.iter().map(|s| s.to_string()).collect();
    for entry in entries {
        let digest = entry["digest"].as_str().unwrap();
        let manifest = skopeo_inspect_raw(&dest.docker_ref(&format!("{repo}@{digest}"))).unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
        let top = manifest["layers"].as_array().unwrap().last().unwrap()["digest"]
            .as_str()
            .unwrap()
            .to_string();
        let response = http::request(&dest.host(), "GET", &format!("/v2/{repo}/blobs/{top}"), &[], &[]).unwrap();
        assert_eq!(response.status(), 200, "top layer {top}");
        assert_eq!(sha256_digest(&response.body), top, "top layer digest");
        let tar = gunzip(&response.body);
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut packages = BTreeSet::new();
        for file in archive.entries().unwrap() {
            let mut file = file.unwrap();
            if !file.header().entry_type().is_file() {
                continue;
            }
            let mut text = String::new();
            file.read_to_string(&mut text).unwrap();
            if text.trim_start().starts_with('{') {
                for value in serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>() {
                    let value = value.expect("catalog JSON");
                    if value["schema"] == "olm.package" {
                        packages.insert(value["name"].as_str().unwrap().to_string());
                    }
                }
            } else {
                for doc in text.split("\n---") {
                    if let Ok(value) = serde_yaml::from_str::<serde_json::Value>(doc) {
                        if value["schema"] == "olm.package" {
                            packages.insert(value["name"].as_str().unwrap().to_string());
                        }
                    }
                }
            }
        }
        assert_eq!(packages, selected, "packages in the rebuilt {digest}");
    }
}

/// What the setup child built (printed as JSON).
#[derive(serde::Serialize, serde::Deserialize)]
struct Setup {
    unpacked_bytes: u64,
    packages: usize,
    /// Every registry host the catalog's bundles and related images name.
    hosts: Vec<String>,
    configs_layers: Vec<u64>,
    base_layers_bytes: u64,
    index_digest: String,
}

/// Run in a child process (`SETUP_ENV`), so that this bench's own memory stays small (see `own_hwm_kib`): unpacks
/// the catalog into `DIR/fbc/configs`, reads it with ferry's library (packages, hosts), builds the catalog image in
/// `DIR/layout` and pushes it to the registry `host`; prints a `Setup` as JSON.
fn setup_child(dir: &Path, host: &str) {
    let files = read_fbc();
    let unpacked_bytes: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
    let fbc_dir = dir.join("fbc");
    for (path, bytes) in &files {
        let path = fbc_dir.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }
    // The catalog as ferry's library reads it: its packages, and every registry host its bundles name.
    let whole = read_catalog_dir(&fbc_dir.join("configs")).unwrap();
    for name in SELECTED.iter().chain(&DROPPED) {
        assert!(
            whole.packages.iter().any(|p| p == name),
            "{FBC_NAME} has no package {name}"
        );
    }
    let hosts: BTreeSet<String> = whole.images.iter().map(|image| host_of(image).to_string()).collect();
    let mut layout = LayoutBuilder::new(dir.join("layout"));
    let catalog = build_catalog_image(&mut layout, &files);
    run_plan(
        layout.dir(),
        host,
        &UploadPlan::for_images(std::slice::from_ref(&catalog.image), ""),
        4,
    );
    let setup = Setup {
        unpacked_bytes,
        packages: whole.packages.len(),
        hosts: hosts.into_iter().collect(),
        configs_layers: catalog.configs_layers.iter().map(|d| d.size).collect(),
        base_layers_bytes: catalog.base_layers_bytes,
        index_digest: catalog.image.index.digest.clone(),
    };
    println!("{}", serde_json::to_string(&setup).unwrap());
}

fn run_bench(settings: &Settings) -> Results {
    eprintln!("== catalog ==");
    let dir = TestDir::new("bench-catalog");
    let started = Instant::now();
    let source = TestRegistry::start();
    let output = Command::new(std::env::current_exe().unwrap())
        .env(SETUP_ENV, dir.path())
        .env(SETUP_REGISTRY_ENV, source.host())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(output.status.success(), "the setup child failed ({})", output.status);
    let setup: Setup = serde_json::from_slice(&output.stdout).expect("the setup child's JSON");
    let configs_dir = dir.join("fbc/configs");
    let pushed = skopeo_inspect_raw(&source.docker_ref(&format!("{REPO}:{TAG}"))).unwrap();
    assert_eq!(sha256_digest(&pushed), setup.index_digest);
    eprintln!(
        "  built and pushed the catalog image in {:.1}s: configs layers {}, base layers {}",
        started.elapsed().as_secs_f64(),
        setup
            .configs_layers
            .iter()
            .map(|b| size(*b))
            .collect::<Vec<_>>()
            .join(" and "),
        size(setup.base_layers_bytes)
    );
    let (hosts, package_count) = (&setup.hosts, setup.packages);

    // Related images: every host the catalog names goes to an empty local registry.
    let related = TestRegistry::start();
    let mut conf = String::new();
    for host in hosts {
        writeln!(
            conf,
            "[[registry]]\nprefix = \"{host}\"\nlocation = \"{}/{host}\"\ninsecure = true\n",
            related.host()
        )
        .unwrap();
    }
    let registries_conf = dir.join("registries.conf");
    fs::write(&registries_conf, conf).unwrap();
    let mut isc = format!(
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  operators:\n  - catalog: \
         docker://{}/{REPO}:{TAG}\n    packages:\n",
        source.host()
    );
    for name in SELECTED {
        writeln!(isc, "    - name: {name}").unwrap();
    }
    let isc_path = dir.join("isc.yaml");
    fs::write(&isc_path, isc).unwrap();
    let home = dir.join("home");
    fs::create_dir_all(&home).unwrap();

    let mut runs = Vec::new();
    for run in 0..settings.runs {
        eprintln!("  run {} of {}", run + 1, settings.runs);
        let (parse_seconds, parse) = time_parse(&configs_dir);
        eprintln!(
            "    one parse: {parse_seconds:.2}s (child process {:.2}s, {:.0} MiB)",
            parse.seconds,
            parse.max_rss_kib as f64 / 1024.0
        );
        let list = run_list(&home, &source, &dir.join(format!("list-{run}")), package_count);
        eprintln!(
            "    ferry list operators: {:.2}s, {:.0} MiB, {} fetched",
            list.timed.seconds,
            list.timed.max_rss_kib as f64 / 1024.0,
            size(list.served.0 + list.served.1)
        );
        let dest = TestRegistry::start();
        let out = dir.join(format!("mirror-{run}"));
        let mirror = run_mirror(
            settings,
            &home,
            &isc_path,
            &registries_conf,
            &source,
            &dest,
            &dir.join(format!("ws-{run}")),
            &out,
        );
        eprintln!(
            "    ferry mirror: catalog handled at {:.2}s ({:.0} MiB, {} fetched); whole run {:.2}s, exit {:?}",
            mirror.planned,
            mirror.rss_at_planned_kib as f64 / 1024.0,
            size(mirror.served_at_planned.0 + mirror.served_at_planned.1),
            mirror.timed.seconds,
            mirror.exit_code
        );
        verify_rebuilt(&dest, &setup.index_digest);
        let read = |p: PathBuf| fs::read_to_string(p).unwrap_or_default();
        save_logs(
            settings,
            &format!("catalog-run{}", run + 1),
            &[
                ("mirror.err", read(out.with_extension("err"))),
                ("list.err", read(dir.join(format!("list-{run}.err")))),
                ("dest-registry.log", dest.log()),
            ],
        );
        drop(dest);
        runs.push(RunResult {
            parse_seconds,
            parse,
            list,
            mirror,
        });
    }
    save_logs(
        settings,
        "catalog",
        &[
            ("source-registry.log", source.log()),
            ("related-registry.log", related.log()),
        ],
    );
    Results {
        unpacked_bytes: setup.unpacked_bytes,
        packages: package_count,
        smaller_packages: package_count - DROPPED.len(),
        configs_layers: setup.configs_layers.clone(),
        base_layers_bytes: setup.base_layers_bytes,
        related_hosts: hosts.len(),
        own_hwm_kib: own_hwm_kib(),
        runs,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

#[derive(Clone, Copy)]
enum Metric {
    HandlingOverParse,
    RssOverUnpacked,
    FetchedOverConfigs,
}

const TARGETS: [(Metric, f64); 3] = [
    (Metric::HandlingOverParse, 3.0),
    (Metric::RssOverUnpacked, 4.0),
    (Metric::FetchedOverConfigs, 1.1),
];

impl Metric {
    fn label(self) -> &'static str {
        match self {
            Metric::HandlingOverParse => "catalog handling / one parse (time)",
            Metric::RssOverUnpacked => "peak RSS during catalog handling / unpacked FBC",
            Metric::FetchedOverConfigs => "bytes fetched during catalog handling / configs layers",
        }
    }
}

impl Results {
    fn median(&self, pick: impl Fn(&RunResult) -> f64) -> f64 {
        median(self.runs.iter().map(pick).collect())
    }

    fn configs_bytes(&self) -> u64 {
        self.configs_layers.iter().sum()
    }

    fn metric(&self, m: Metric) -> f64 {
        match m {
            Metric::HandlingOverParse => self.median(|r| r.mirror.planned) / self.median(|r| r.parse_seconds),
            Metric::RssOverUnpacked => {
                let kib = self.runs.iter().map(|r| r.mirror.rss_at_planned_kib).max().unwrap_or(0);
                (kib * 1024) as f64 / self.unpacked_bytes as f64
            }
            Metric::FetchedOverConfigs => {
                let fetched = self
                    .runs
                    .iter()
                    .map(|r| r.mirror.served_at_planned.0 + r.mirror.served_at_planned.1)
                    .max()
                    .unwrap_or(0);
                fetched as f64 / self.configs_bytes() as f64
            }
        }
    }

    fn missed(&self) -> Vec<String> {
        missed("catalog", &TARGETS, Metric::label, |m| self.metric(m))
    }
}

fn report(r: &Results) -> String {
    let mut s = String::new();
    let first = &r.runs[0];
    writeln!(
        s,
        "Catalog: `{FBC_NAME}`, {} packages, {} of FBC unpacked. Image: 4 platforms; configs layers {} (whole, on \
         amd64 and arm64) and {} ({} packages, on ppc64le and s390x), {} in all; base layers {} in all. Selection: \
         {}. Related images: {} hosts sent to an empty registry; ferry planned {} images.\n",
        r.packages,
        size(r.unpacked_bytes),
        size(r.configs_layers[0]),
        size(r.configs_layers[1]),
        r.smaller_packages,
        size(r.configs_bytes()),
        size(r.base_layers_bytes),
        SELECTED.map(|p| format!("`{p}`")).join(", "),
        r.related_hosts,
        first.mirror.images_planned,
    )
    .unwrap();
    writeln!(
        s,
        "| step | seconds{} | peak RSS | CPU s | bytes fetched from the source (blob GETs) | load avg before |",
        median_of(r.runs.len())
    )
    .unwrap();
    writeln!(s, "|---|---:|---:|---:|---:|---:|").unwrap();
    let load = |f: &dyn Fn(&RunResult) -> f64| r.runs.iter().map(f).sum::<f64>() / r.runs.len() as f64;
    let fetched = |(b, m, n): (u64, u64, usize)| format!("{} ({n})", size(b + m));
    writeln!(
        s,
        "| one parse (`load_dir`, in a child process) | {} | {} (VmHWM) | {:.2} | – | {:.2} |",
        seconds_cell(r.runs.iter().map(|x| x.parse_seconds).collect()),
        mib(r.runs.iter().map(|x| x.parse.max_rss_kib).max().unwrap()),
        r.median(|x| x.parse.cpu),
        load(&|x| x.parse.load_before)
    )
    .unwrap();
    writeln!(
        s,
        "| `ferry list operators` (extraction + parse, whole process) | {} | {} | {:.2} | {} | {:.2} |",
        seconds_cell(r.runs.iter().map(|x| x.list.timed.seconds).collect()),
        mib(r.runs.iter().map(|x| x.list.timed.max_rss_kib).max().unwrap()),
        r.median(|x| x.list.timed.cpu),
        fetched(first.list.served),
        load(&|x| x.list.timed.load_before)
    )
    .unwrap();
    let opt = |v: Vec<Option<f64>>| {
        let v: Vec<f64> = v.into_iter().flatten().collect();
        if v.is_empty() {
            "–".to_string()
        } else {
            format!("{:.2}", median(v))
        }
    };
    writeln!(
        s,
        "| `ferry mirror`: catalog handling (start → `images to mirror to`; reading catalog at {}, extracted at {}) \
         | {} | {} (VmHWM) | – | {} | {:.2} |",
        opt(r.runs.iter().map(|x| x.mirror.reading).collect()),
        opt(r.runs.iter().map(|x| x.mirror.extracted).collect()),
        seconds_cell(r.runs.iter().map(|x| x.mirror.planned).collect()),
        mib(r.runs.iter().map(|x| x.mirror.rss_at_planned_kib).max().unwrap()),
        fetched(first.mirror.served_at_planned),
        load(&|x| x.mirror.timed.load_before)
    )
    .unwrap();
    writeln!(
        s,
        "| `ferry mirror`: whole run (catalog pushed, related images 404, exit {}) | {} | {} | {:.2} | {} | |",
        first
            .mirror
            .exit_code
            .map_or("by signal".to_string(), |c| c.to_string()),
        seconds_cell(r.runs.iter().map(|x| x.mirror.timed.seconds).collect()),
        mib(r.runs.iter().map(|x| x.mirror.timed.max_rss_kib).max().unwrap()),
        r.median(|x| x.mirror.timed.cpu),
        fetched(first.mirror.served_total),
    )
    .unwrap();
    ratio_table_header(&mut s);
    for (m, target) in TARGETS {
        ratio_row(&mut s, m.label(), r.metric(m), 3, Some(target));
    }
    let list_ratio = r.median(|x| x.list.timed.seconds) / r.median(|x| x.parse_seconds);
    let list_rss =
        r.runs.iter().map(|x| x.list.timed.max_rss_kib).max().unwrap() as f64 * 1024.0 / r.unpacked_bytes as f64;
    let list_fetched = (first.list.served.0 + first.list.served.1) as f64 / r.configs_bytes() as f64;
    writeln!(
        s,
        "| for context: `list operators` / one parse; its RSS / unpacked FBC; its bytes / configs layers | {list_ratio:.3}; \
         {list_rss:.3}; {list_fetched:.3} | – | |"
    )
    .unwrap();
    writeln!(
        s,
        "\nferry's own account of the extraction (first run): `{}`",
        first.mirror.extraction_line
    )
    .unwrap();
    writeln!(
        s,
        "\nPeak RSS: the parse child's and ferry's `VmHWM` at the plan line are the processes' own; the other figures are \
         `ru_maxrss` from `wait4`, which also counts the RSS high-water mark of the process that spawned them (this \
         bench: {}), so they are exact only above that.",
        mib(r.own_hwm_kib)
    )
    .unwrap();
    s
}

fn command_line(settings: &Settings) -> String {
    common::command_line(&[settings.runs_var(), settings.ferry_args_var()], COMMAND)
}

/// The CPU count for `machine_facts`, 0 when unknown.
fn cpus() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// Replaces the text between the markers of docs/performance.md (or appends `DOC_SECTION` and the markers).
fn write_docs(settings: &Settings, results: &Results) -> PathBuf {
    let notes = format!(
        "Seconds are wall-clock, the median of {} interleaved runs; ratios are ratios of medians, except RSS and \
         bytes, which take the worst run. Registries are CNCF distribution (filesystem storage, plain HTTP on \
         127.0.0.1).",
        results.runs.len()
    );
    let section = docs_section(
        (BEGIN, END),
        &command_line(settings),
        &machine_facts(cpus()),
        &notes,
        &[report(results)],
    );
    update_docs((BEGIN, END), &section, "# Performance\n", &format!("\n\n{DOC_SECTION}"))
}

fn main() {
    if let Ok(dir) = std::env::var(PARSE_ENV) {
        parse_child(&dir);
        return;
    }
    if let (Ok(dir), Ok(host)) = (std::env::var(SETUP_ENV), std::env::var(SETUP_REGISTRY_ENV)) {
        setup_child(Path::new(&dir), &host);
        return;
    }
    let settings = settings();
    if settings.smoke {
        eprintln!("catalog bench: no --bench argument, running once as a smoke test");
    }
    let results = run_bench(&settings);
    println!("\n{}\n", machine_facts(cpus()));
    println!("{}", report(&results));
    finish(
        &settings,
        || write_docs(&settings, &results),
        "smoke or experimental run",
        results.missed(),
    );
}
