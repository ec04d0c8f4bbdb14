//! Release benchmark: `cargo bench --bench release` (release build; harness = false).
//!
//! The workload: two consecutive z-stream releases, 4.16.1 and 4.16.2, of an x86_64 OpenShift payload whose components
//! carry the 183 names of the real 4.12.0 payload (../shared/testdata/release/ocp-4.12.0-x86_64). Every image is a
//! single-arch Docker v2s2 image generated into a fresh source registry (not timed), the payloads in
//! `openshift-release-dev/ocp-release`, every component in `openshift-release-dev/ocp-v4.0-art-dev`, as on quay.io. A
//! component is one of two shared base-layer pairs (a RHEL 8 or RHEL 9 base and an OpenShift base: 20 or 22 MiB) plus
//! two layers of its own: a main layer (60% of them 0.5–3 MiB, 30% 3–10 MiB, 10% 16–40 MiB; a fixed pseudo-random draw)
//! and a 64 KiB one: shaped like a real payload's, scaled down (1.1 GiB per release) so that a run stays a few minutes.
//! 4.16.2 rebuilds every tenth component (new own layers, same bases) and keeps the other 90% at the same digests. A
//! payload is the RHEL 8 base, an 8 MiB layer of its own, and on top the release-manifests layer:
//! `release-manifests/image-references` (an ImageStream naming every component by digest), `release-metadata` and 2 MiB
//! of other manifests. A local HTTP server serves the update graph (4.16.1 → 4.16.2) and both payloads' signatures,
//! made with an OpenPGP key of the bench's own; ferry is pointed at them with UPDATE_URL_OVERRIDE, OCP_SIGNATURE_URL
//! and OCP_SIGNATURE_VERIFICATION_PK, and verifies the signatures as users' runs do.
//!
//! After an untimed warm-up copy (`warm_up`, as in the m2m bench) and an untimed `ferry mirror --dry-run` over both
//! releases (the bytes the source serves while ferry reads the payloads), each run times, in an order that rotates
//! from run to run, each copy after the machine has settled:
//!   * ferry m2m of 4.16.1 into a fresh destination (`mirror.platform.channels`, minVersion = maxVersion = 4.16.1;
//!     `ferry mirror -c ISC --workspace file://WS docker://DEST/ns`), then of 4.16.2 into the same destination and
//!     workspace: the bytes uploaded (every blob PUT and manifest PUT of the destination's access log, sized from the
//!     workload), next to ferry's own count (`--summary-file`) and the new blob files in the destination's storage,
//!     against the bytes 4.16.2 adds (the new blobs and manifests of its changed components and of its payload);
//!   * skopeo: `skopeo sync --all --preserve-digests --src yaml --dest docker` over the payload and components of
//!     4.16.1, by digest (the m2m bench's peer);
//!   * floor: the m2m bench's raw-HTTP mirror (`run_mirror_plan`) of the same images to ferry's repositories and tags;
//!
//! then ferry m2d of 4.16.1 into a new ARCHIVE and of 4.16.2 into the same ARCHIVE: the second run's new segments
//! against the bytes 4.16.2 adds (and checked to hold every one of those blobs). Peak RSS of every ferry process comes
//! from `wait4`; ferry's `release-manifests read from N layer(s), M bytes` lines are read from its log files.
//! Every registry copy is verified (links and blob sizes in the destination's storage, `skopeo inspect --raw` of a few
//! tags for ferry and the floor). Results are printed and written between the `bench:release` markers of
//! docs/performance.md.
//!
//! Environment:
//!   FERRY_BENCH_SCALE=0.1           shrink the workload (component count; sizes stay); default 1.0
//!   FERRY_BENCH_RUNS=N              interleaved runs, each into fresh destinations and a fresh ARCHIVE; medians are
//!                                   reported; default 3
//!   FERRY_BENCH_WRITE_DOCS=0|1      force not writing / writing docs/performance.md (default: only for a full run)
//!   FERRY_BENCH_ENFORCE=1           exit 1 when a target is missed
//!   FERRY_BENCH_LOGS=DIR            copy registry logs and ferry's output and logs there, for analysis
//!   FERRY_BENCH_FERRY_ARGS="..."    extra ferry arguments (whitespace-separated) for every ferry run, for
//!                                   experiments; such runs leave the docs alone unless FERRY_BENCH_WRITE_DOCS=1
//! Without `--bench` (e.g. `cargo test --benches`) it runs as a smoke test at scale 0.02 and writes no docs.
// A test or bench binary: its `pub` items are shared between its own modules, never exported, and a failed
// step panics with its cause.
#![allow(unreachable_pub, clippy::unwrap_used)]

mod common;
#[path = "../tests/integration/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use common::*;
use support::bench_data::*;
use support::*;

const BEGIN: &str = "<!-- bench:release:begin -->";
const END: &str = "<!-- bench:release:end -->";
const COMMAND: &str = "cargo bench --bench release";
/// The section of docs/performance.md before the markers, when the markers are not there yet.
const DOC_SECTION: &str = r#"## Releases

`benches/release.rs`, run with

```sh
cargo bench --bench release
```

Two consecutive z-stream releases (4.16.1, 4.16.2) of an x86_64 payload with the 183 component names of the real 4.12.0
payload, generated into a local source registry: single-arch Docker v2s2 images on two shared base-layer pairs (RHEL 8
or 9 and an OpenShift base) plus a main layer (mostly 0.5–10 MiB, a tenth of them 16–40 MiB) and a small layer of their
own, shaped like a real payload's but scaled down (1.1 GiB per release); 4.16.2 rebuilds every tenth component and keeps
the others at the same digests. Each payload carries its release-manifests layer on top (image-references naming every
component by digest, release-metadata and 2 MiB of manifests). A local server serves the update graph and both payloads'
signatures (made with a key of the bench's own, which ferry is told to trust), so ferry verifies them as a user's run
does. Per run, in a rotating order: ferry m2m of 4.16.1 into a fresh destination (`mirror.platform.channels` with
minVersion = maxVersion), then of 4.16.2 into the same destination; `skopeo sync --all --preserve-digests` of 4.16.1's
payload and components by digest (the m2m bench's peer); the m2m bench's floor (the simplest raw-HTTP mirror between the
two registries) of the same images; then ferry m2d of 4.16.1 into a new archive directory and of 4.16.2 into the same
one. Before the runs: the m2m bench's untimed warm-up copy, and an untimed `ferry mirror --dry-run` over both releases,
whose source access log shows what reading the payloads fetched.

Reading the numbers: "4.16.2 adds" is the bytes of every blob and manifest of 4.16.2 that 4.16.1 does not have (its
changed components' and its payload's). The incremental m2m's bytes uploaded are counted from the destination's
access log (the size of every blob and manifest PUT); ferry's own count and the destination's new blob files are shown
beside it. The incremental m2d's figure is the size of the segments the second run added. Payload reads are ferry's
own account (its `release-manifests read from` log line) and, independently, the blob bytes the source served for the
payloads during the dry run. `FERRY_BENCH_RUNS`, `FERRY_BENCH_SCALE` and the other variables are listed at the top of
`benches/release.rs`.

"#;

const RELEASE_REPO: &str = "openshift-release-dev/ocp-release";
const COMPONENT_REPO: &str = "openshift-release-dev/ocp-v4.0-art-dev";
/// Where ferry puts payloads and components, under the destination namespace.
const DEST_RELEASE_REPO: &str = "openshift/release-images";
const DEST_COMPONENT_REPO: &str = "openshift/release";
const VERSIONS: [&str; 2] = ["4.16.1", "4.16.2"];
const PREVIOUS: &str = "4.16.0";
const CHANNEL: &str = "stable-4.16";
const NAMES_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/testdata/release/ocp-4.12.0-x86_64/release-manifests/image-references"
);
/// Manifests in the release-manifests layer besides the two ferry reads (about 6.8 KiB each).
const FILLER_FILES: usize = 300;
const PAYLOAD_OWN_LAYER: u64 = 8 * MIB;
const SMALL_LAYER: u64 = 64 * KIB;
/// (seed, size) of the shared layers: RHEL 8 base, its OpenShift base, RHEL 9 base, its OpenShift base.
const BASES: [(u64, u64); 4] = [(1, 16 * MIB), (2, 4 * MIB), (3, 18 * MIB), (4, 4 * MIB)];
/// ferry's info line about reading a payload.
const READ_LINE: &str = "release-manifests read from ";

struct Settings {
    scale: f64,
    base: BaseSettings,
}

fn settings() -> Settings {
    let smoke = smoke();
    let scale = scale(smoke);
    Settings {
        scale,
        base: BaseSettings::from_env(smoke, scale == 1.0),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The workload

/// One release as the source holds it.
struct Release {
    version: &'static str,
    payload: BenchImage,
    /// (name, image), in image-references order.
    components: Vec<(String, BenchImage)>,
    /// The size of the payload's release-manifests layer.
    manifests_layer: u64,
}

impl Release {
    /// The payload's tag, and the prefix of its components' tags, at the destination.
    fn tag(&self) -> String {
        format!("{}-x86_64", self.version)
    }

    fn source_images(&self) -> impl Iterator<Item = &BenchImage> {
        std::iter::once(&self.payload).chain(self.components.iter().map(|(_, image)| image))
    }

    /// The payload and the components under ferry's destination names.
    fn dest_images(&self) -> Vec<BenchImage> {
        let mut images = vec![renamed(&self.payload, DEST_RELEASE_REPO, &self.tag())];
        for (name, image) in &self.components {
            images.push(renamed(image, DEST_COMPONENT_REPO, &format!("{}-{name}", self.tag())));
        }
        images
    }
}

fn renamed(image: &BenchImage, repo: &str, tag: &str) -> BenchImage {
    BenchImage {
        repo: repo.into(),
        tag: tag.into(),
        ..image.clone()
    }
}

/// The manifest, config and layers of an image.
fn contents(image: &BenchImage) -> impl Iterator<Item = &Descriptor> {
    std::iter::once(&image.index).chain(image.blobs())
}

struct Workload {
    layout_dir: PathBuf,
    layout: LayoutBuilder,
    releases: [Release; 2],
    changed: usize,
    /// The blobs and manifests 4.16.2 adds to 4.16.1.
    added: BTreeSet<String>,
    /// Their bytes: (in components, in the payload).
    added_bytes: (u64, u64),
    description: String,
}

impl Workload {
    fn added_total(&self) -> u64 {
        self.added_bytes.0 + self.added_bytes.1
    }

    /// Every image the source holds, once.
    fn source_images(&self) -> Vec<BenchImage> {
        let mut seen = BTreeSet::new();
        let all = self.releases.iter().flat_map(Release::source_images);
        all.filter(|image| seen.insert(image.index.digest.clone()))
            .cloned()
            .collect()
    }

    /// Both releases under ferry's destination names.
    fn dest_images_of_both(&self) -> Vec<BenchImage> {
        self.releases.iter().flat_map(Release::dest_images).collect()
    }
}

/// The component names of the real payload, the first `scale` of them (at least 10).
fn component_names(scale: f64) -> Vec<String> {
    let text = fs::read_to_string(NAMES_FILE).unwrap_or_else(|e| panic!("{NAMES_FILE}: {e}"));
    let stream: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{NAMES_FILE}: {e}"));
    let names: Vec<String> = stream["spec"]["tags"]
        .as_array()
        .unwrap_or_else(|| panic!("{NAMES_FILE}: no spec.tags"))
        .iter()
        .map(|tag| tag["name"].as_str().unwrap().to_string())
        .collect();
    let count = ((names.len() as f64 * scale).round() as usize).clamp(10, names.len());
    names[..count].to_vec()
}

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The main layer of component `i`: 60% 0.5–3 MiB, 30% 3–10 MiB, 10% 16–40 MiB (a fixed pseudo-random draw, in
/// 64 KiB steps).
fn main_layer_size(i: usize) -> u64 {
    let h = mix(i as u64 ^ 0xC0FF_EE00);
    let (low, high) = match h % 10 {
        0..=5 => (512 * KIB, 3 * MIB),
        6..=8 => (3 * MIB, 10 * MIB),
        _ => (16 * MIB, 40 * MIB),
    };
    let step = 64 * KIB;
    low + ((h >> 8) % ((high - low) / step)) * step
}

/// Whether 4.16.2 rebuilds component `i` (every tenth).
fn changed(i: usize) -> bool {
    i % 10 == 3
}

/// The build (1 or 2) of component `i` that release `r` (0 or 1) carries.
fn build_of(i: usize, r: usize) -> u64 {
    if r == 1 && changed(i) {
        2
    } else {
        1
    }
}

fn main_seed(i: usize, build: u64) -> u64 {
    10_000 + 10 * i as u64 + build
}

fn small_seed(i: usize, build: u64) -> u64 {
    20_000 + 10 * i as u64 + build
}

fn payload_seed(r: usize) -> u64 {
    100 + r as u64
}

/// Every generated layer's (seed, size).
fn layer_specs(count: usize) -> Vec<(u64, u64)> {
    let mut specs = BASES.to_vec();
    specs.extend((0..2).map(|r| (payload_seed(r), PAYLOAD_OWN_LAYER)));
    for i in 0..count {
        for build in if changed(i) { 1..=2 } else { 1..=1 } {
            specs.push((main_seed(i, build), main_layer_size(i)));
            specs.push((small_seed(i, build), SMALL_LAYER));
        }
    }
    specs
}

/// A single-arch Docker v2s2 image (linux/amd64) of `layers` with config `labels`, written into the layout.
fn write_image(
    layout: &LayoutBuilder,
    (repo, tag): (&str, &str),
    layers: &[&Layer],
    labels: serde_json::Value,
) -> BenchImage {
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.diff_id.as_str()).collect();
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    let config = layout.add_typed_blob(DOCKER_CONFIG, &serde_json::to_vec_pretty(&config).unwrap());
    let layers: Vec<Descriptor> = layers
        .iter()
        .map(|l| Descriptor {
            media_type: DOCKER_LAYER_GZIP.into(),
            ..l.descriptor.clone()
        })
        .collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": config.to_json(),
        "layers": layers.iter().map(Descriptor::to_json).collect::<Vec<_>>(),
    });
    let manifest = layout.add_typed_blob(DOCKER_MANIFEST, &serde_json::to_vec_pretty(&manifest).unwrap());
    let mut blobs = vec![config];
    blobs.extend(layers);
    BenchImage {
        repo: repo.into(),
        tag: tag.into(),
        index: manifest.clone(),
        manifests: vec![BenchManifest {
            descriptor: Descriptor {
                platform: Some(Platform::parse("linux/amd64")),
                ..manifest
            },
            blobs,
        }],
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        write!(s, "{b:02x}").unwrap();
        s
    })
}

/// `FILLER_FILES` ConfigMaps of about 6.8 KiB each, the bulk of a release-manifests layer besides what ferry reads.
fn filler_manifests(r: usize, names: &[String]) -> Vec<(String, Vec<u8>)> {
    (0..FILLER_FILES)
        .map(|j| {
            let name = &names[j % names.len()];
            let path = format!("release-manifests/0000_{:02}_{name}_{j:03}_configmap.yaml", 10 + j % 80);
            let mut text = format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-{j}\n  namespace: openshift-{name}\n  \
                 annotations:\n    include.release.openshift.io/self-managed-high-availability: \"true\"\n    \
                 release.openshift.io/version: \"{}\"\ndata:\n",
                VERSIONS[r]
            );
            let data = random_bytes(50_000 + 1_000 * r as u64 + j as u64, 2816);
            for (k, chunk) in data.chunks(32).enumerate() {
                writeln!(text, "  key-{k:03}: {}", hex(chunk)).unwrap();
            }
            (path, text.into_bytes())
        })
        .collect()
}

/// The release-manifests layer's tar: image-references naming every component by digest at `host`,
/// release-metadata, and the filler manifests.
fn release_manifests(r: usize, components: &[(String, BenchImage)], host: &str) -> Vec<u8> {
    let tags: Vec<serde_json::Value> = components
        .iter()
        .map(|(name, image)| {
            json!({
                "name": name,
                "annotations": {
                    "io.openshift.build.commit.id": &image.index.hex()[..40],
                    "io.openshift.build.commit.ref": "",
                    "io.openshift.build.source-location": format!("https://github.com/openshift/{name}"),
                },
                "from": {"kind": "DockerImage", "name": format!("{host}/{COMPONENT_REPO}@{}", image.index.digest)},
                "generation": null,
                "importPolicy": {},
                "referencePolicy": {"type": ""},
            })
        })
        .collect();
    let version = VERSIONS[r];
    let references = json!({
        "kind": "ImageStream",
        "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": version, "creationTimestamp": null},
        "spec": {"lookupPolicy": {"local": false}, "tags": tags},
    });
    let previous = if r == 0 { PREVIOUS } else { VERSIONS[0] };
    let metadata =
        json!({"kind": "cincinnati-metadata-v0", "version": version, "previous": [previous], "metadata": {}});
    let mut files = vec![
        (
            "release-manifests/image-references".to_string(),
            serde_json::to_vec_pretty(&references).unwrap(),
        ),
        (
            "release-manifests/release-metadata".to_string(),
            serde_json::to_vec_pretty(&metadata).unwrap(),
        ),
    ];
    let names: Vec<String> = components.iter().map(|(name, _)| name.clone()).collect();
    files.extend(filler_manifests(r, &names));
    let files: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (p.as_str(), c.as_slice())).collect();
    tar_bytes(&files)
}

/// Writes every layer and image into `DIR/layout`; the payloads name their components at `host`.
fn build_workload(dir: &TestDir, host: &str, scale: f64) -> Workload {
    let names = component_names(scale);
    let layout_dir = dir.join("layout");
    let layout = LayoutBuilder::new(&layout_dir);
    let specs = layer_specs(names.len());
    let layers: BTreeMap<u64, Layer> = specs
        .iter()
        .map(|(seed, _)| *seed)
        .zip(write_random_layers(&layout, &specs, threads()))
        .collect();
    let mut built: BTreeMap<(usize, u64), BenchImage> = BTreeMap::new();
    let releases = [0, 1].map(|r| {
        let components: Vec<(String, BenchImage)> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let build = build_of(i, r);
                let image = built.entry((i, build)).or_insert_with(|| {
                    let (base, openshift) = if i % 4 == 0 {
                        (BASES[2].0, BASES[3].0)
                    } else {
                        (BASES[0].0, BASES[1].0)
                    };
                    let image_layers =
                        [base, openshift, main_seed(i, build), small_seed(i, build)].map(|seed| &layers[&seed]);
                    let tag = format!("{name}-{}", VERSIONS[r]);
                    let labels = json!({"io.openshift.build.name": name, "io.openshift.build.number": build});
                    write_image(&layout, (COMPONENT_REPO, &tag), &image_layers, labels)
                });
                (name.clone(), image.clone())
            })
            .collect();
        let (manifests, diff_id) = layout.add_layer(&release_manifests(r, &components, host), true);
        let manifests = Layer {
            descriptor: manifests,
            diff_id,
        };
        let labels = json!({"io.openshift.release": VERSIONS[r]});
        let payload_layers = [&layers[&BASES[0].0], &layers[&payload_seed(r)], &manifests];
        let tag = format!("{}-x86_64", VERSIONS[r]);
        Release {
            version: VERSIONS[r],
            payload: write_image(&layout, (RELEASE_REPO, &tag), &payload_layers, labels),
            components,
            manifests_layer: manifests.descriptor.size,
        }
    });
    finish_workload(layout_dir, layout, releases)
}

/// What 4.16.2 adds, and the description of the built releases.
fn finish_workload(layout_dir: PathBuf, layout: LayoutBuilder, releases: [Release; 2]) -> Workload {
    let first: BTreeSet<&str> = releases[0]
        .source_images()
        .flat_map(contents)
        .map(|d| d.digest.as_str())
        .collect();
    let (mut added, mut added_bytes) = (BTreeSet::new(), (0, 0));
    for (k, image) in releases[1].source_images().enumerate() {
        for d in contents(image) {
            if !first.contains(d.digest.as_str()) && added.insert(d.digest.clone()) {
                *(if k == 0 { &mut added_bytes.1 } else { &mut added_bytes.0 }) += d.size;
            }
        }
    }
    let count = releases[0].components.len();
    let changed = (0..count).filter(|i| changed(*i)).count();
    let description = format!(
        "4.16.1 and 4.16.2, {count} components each; every component on one of two shared base-layer pairs (20 or 22 \
         MiB) plus a main layer (0.5–40 MiB, median {}) and a 64 KiB layer of its own; each payload: the RHEL 8 base, \
         8 MiB of its own and a {} release-manifests layer. 4.16.2 rebuilds {changed} components ({:.0}% unchanged)",
        size(median_main_layer(count)),
        size(releases[0].manifests_layer),
        100.0 * (count - changed) as f64 / count as f64
    );
    Workload {
        layout_dir,
        layout,
        releases,
        changed,
        added,
        added_bytes,
        description,
    }
}

fn median_main_layer(count: usize) -> u64 {
    let mut sizes: Vec<u64> = (0..count).map(main_layer_size).collect();
    sizes.sort_unstable();
    sizes[count / 2]
}

/// `plan` without the PUT by digest of each manifest: every image here is a single manifest, its own root, which
/// the PUT by tag puts.
fn single_manifests(mut plan: UploadPlan) -> UploadPlan {
    for phase in &mut plan.phases {
        phase.retain(|step| !matches!(step, Step::Manifest { reference, digest, .. } if reference == digest));
    }
    plan.phases.retain(|phase| !phase.is_empty());
    plan.manifests = plan
        .phases
        .iter()
        .flatten()
        .filter(|s| matches!(s, Step::Manifest { .. }))
        .count();
    plan
}

/// The floor's plan: `images` (under ferry's destination names) into `NAMESPACE/`, read from their source
/// repositories.
fn floor_plan(images: &[BenchImage]) -> UploadPlan {
    let mut plan = single_manifests(UploadPlan::for_images(images, &format!("{NAMESPACE}/")));
    for step in plan.phases.iter_mut().flatten() {
        if let Step::Upload { source_repo, .. } | Step::Manifest { source_repo, .. } = step {
            *source_repo = if source_repo == DEST_RELEASE_REPO {
                RELEASE_REPO
            } else {
                COMPONENT_REPO
            }
            .into();
        }
    }
    plan
}

/// Generates the workload and loads it into `source` (neither timed).
fn load(dir: &TestDir, source: &TestRegistry, scale: f64) -> Workload {
    let started = std::time::Instant::now();
    let workload = build_workload(dir, &source.host(), scale);
    let images = workload.source_images();
    let plan = single_manifests(UploadPlan::for_images(&images, ""));
    eprintln!(
        "  generated {} of unique blobs in {:.1}s: {}",
        size(plan.blob_bytes),
        started.elapsed().as_secs_f64(),
        workload.description
    );
    let started = std::time::Instant::now();
    run_plan(&workload.layout_dir, &source.host(), &plan, FLOOR_THREADS);
    verify("source", &workload.layout, source, "", &images);
    eprintln!(
        "  loaded the source registry in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    workload
}

// ---------------------------------------------------------------------------------------------------------------
// The update graph and signatures

/// The update graph (`/graph`: 4.16.1 → 4.16.2) and both payloads' signatures (`/signatures/...`) on a local
/// server, and the environment that points ferry at both and at the bench's signing key.
struct ReleaseServer {
    _server: StaticServer,
    env: Vec<(String, String)>,
}

impl ReleaseServer {
    fn start(dir: &TestDir, source: &TestRegistry, releases: &[Release]) -> ReleaseServer {
        let pullspec = |r: &Release| format!("{}/{RELEASE_REPO}@{}", source.host(), r.payload.index.digest);
        let nodes: Vec<_> = releases
            .iter()
            .map(|r| json!({"version": r.version, "payload": pullspec(r), "metadata": {}}))
            .collect();
        let graph = json!({"version": 1, "nodes": nodes, "edges": [[0, 1]], "conditionalEdges": []});
        let mut routes = vec![("/graph".to_string(), serde_json::to_vec(&graph).unwrap())];
        let signer = ReleaseSigner::new(97);
        for r in releases {
            let digest = &r.payload.index.digest;
            let reference = format!("quay.io/{RELEASE_REPO}:{}", r.tag());
            routes.push((
                format!("/signatures/sha256={}/signature-1", r.payload.index.hex()),
                signer.sign(&reference, digest),
            ));
        }
        let key_file = dir.join("release-key.asc");
        fs::write(&key_file, signer.public_armored()).unwrap();
        let server = StaticServer::start(routes);
        let env = vec![
            ("UPDATE_URL_OVERRIDE".into(), format!("{}/graph", server.url())),
            ("OCP_SIGNATURE_URL".into(), format!("{}/signatures/", server.url())),
            ("OCP_SIGNATURE_VERIFICATION_PK".into(), key_file.display().to_string()),
        ];
        ReleaseServer { _server: server, env }
    }
}

/// An ImageSetConfiguration selecting the channel's releases from `min` to `max`, as `DIR/name`.
fn write_release_isc(dir: &TestDir, name: &str, (min, max): (&str, &str)) -> PathBuf {
    let path = dir.join(name);
    let text = format!(
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  platform:\n    channels:\n    \
         - name: {CHANNEL}\n      minVersion: {min}\n      maxVersion: {max}\n"
    );
    fs::write(&path, text).unwrap();
    path
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring

/// Bytes a destination took in, from its access log: each 2xx blob PUT counts the size of the blob it completes, each
/// 2xx manifest PUT the size of the manifest it names (by digest, or by the tag's link), sizes from the destination's
/// storage. Returns (all, manifests).
fn uploaded_bytes(log: &str, dest: &TestRegistry) -> (u64, u64) {
    let root = dest.storage_dir().join("docker/registry/v2");
    let stored = stored_blobs(dest);
    let size_of = |digest: &str| {
        *stored
            .get(digest)
            .unwrap_or_else(|| panic!("{digest} is not in the destination"))
    };
    let (mut total, mut manifests) = (0, 0);
    for (uri, status, _) in access_lines(log, "PUT") {
        let path = uri.split('?').next().unwrap();
        if !(200..300).contains(&status) {
            continue;
        }
        if path.contains("/blobs/uploads/") {
            let digest = query_digest(uri).unwrap_or_else(|| panic!("blob PUT without a digest: {uri}"));
            total += size_of(&digest);
        } else if let Some((repo, reference)) = path.strip_prefix("/v2/").and_then(|p| p.split_once("/manifests/")) {
            let digest = if reference.starts_with("sha256:") {
                reference.to_string()
            } else {
                let link = root.join(format!("repositories/{repo}/_manifests/tags/{reference}/current/link"));
                fs::read_to_string(&link).unwrap_or_else(|e| panic!("{}: {e}", link.display()))
            };
            total += size_of(&digest);
            manifests += size_of(&digest);
        }
    }
    (total, manifests)
}

/// Bytes of the 2xx blob GET responses of an access log whose digest `keep` accepts: (count, bytes).
fn served_blob_bytes(log: &str, keep: impl Fn(&str) -> bool) -> (usize, u64) {
    let (mut count, mut bytes) = (0, 0);
    for (uri, status, len) in access_lines(log, "GET") {
        let Some((_, digest)) = uri.split_once("/blobs/") else {
            continue;
        };
        if (200..300).contains(&status) && keep(digest) {
            count += 1;
            bytes += len;
        }
    }
    (count, bytes)
}

/// (URI, status, response bytes) of every `"METHOD URI HTTP/1.1" STATUS BYTES` access-log line of `method`.
fn access_lines<'a>(log: &'a str, method: &'a str) -> impl Iterator<Item = (&'a str, u16, u64)> + 'a {
    log.lines().filter_map(move |line| {
        let start = line.find(&format!("] \"{method} "))?;
        let rest = &line[start + 4 + method.len()..];
        let (uri, after) = rest.split_once(' ')?;
        let (_, fields) = after.split_once("\" ")?;
        let mut fields = fields.split(' ');
        let status = fields.next()?.parse().ok()?;
        let bytes = fields.next().and_then(|b| b.parse().ok()).unwrap_or(0);
        Some((uri, status, bytes))
    })
}

/// The `digest=` query parameter of an upload URI, percent-decoded.
fn query_digest(uri: &str) -> Option<String> {
    let query = uri.split_once('?')?.1;
    let value = query.split('&').find_map(|p| p.strip_prefix("digest="))?;
    Some(value.replace("%3A", ":").replace("%3a", ":"))
}

/// Every blob data file of a registry's storage: digest → size.
fn stored_blobs(registry: &TestRegistry) -> BTreeMap<String, u64> {
    let root = registry.storage_dir().join("docker/registry/v2/blobs/sha256");
    let mut blobs = BTreeMap::new();
    for prefix in fs::read_dir(root).into_iter().flatten().flatten() {
        for blob in fs::read_dir(prefix.path()).into_iter().flatten().flatten() {
            if let Ok(meta) = fs::metadata(blob.path().join("data")) {
                let digest = format!("sha256:{}", blob.file_name().to_string_lossy());
                blobs.insert(digest, meta.len());
            }
        }
    }
    blobs
}

/// ferry's account of each payload it read, from its log file: (version, layers, bytes).
fn payload_reads(log_file: &Path) -> Vec<(String, u64, u64)> {
    let text = fs::read_to_string(log_file).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let version = line.split("release ").nth(1)?.split(' ').next()?.to_string();
            let rest = &line[line.find(READ_LINE)? + READ_LINE.len()..];
            let (layers, rest) = rest.split_once(" layer(s), ")?;
            let bytes = rest.split(' ').next()?.parse().ok()?;
            Some((version, layers.parse().ok()?, bytes))
        })
        .collect()
}

/// The `bytesCopied` of a ferry `--summary-file`.
fn summary_bytes(path: &Path) -> u64 {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    summary["totals"]["bytesCopied"]
        .as_u64()
        .unwrap_or_else(|| panic!("{}: no totals.bytesCopied", path.display()))
}

/// The segments (`mirror_NNNNNN.tar`) of an archive directory, by name, with their sizes.
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

/// (entry name, size) of every entry of a tar segment.
fn segment_entries(path: &Path) -> Vec<(String, u64)> {
    let mut archive = tar::Archive::new(fs::File::open(path).unwrap());
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            (name, entry.header().size().unwrap())
        })
        .collect()
}

/// skopeo sync by digest leaves no tags: every manifest, config and layer of `images` (source names) linked in
/// `NAMESPACE/<last path component>` with its size in the blob store.
fn verify_by_digest(who: &str, dest: &TestRegistry, images: &[BenchImage]) {
    let root = dest.storage_dir().join("docker/registry/v2");
    let stored = stored_blobs(dest);
    for image in images {
        let repo = image.repo.rsplit('/').next().unwrap();
        let repo_dir = root.join(format!("repositories/{NAMESPACE}/{repo}"));
        let manifest_link = repo_dir.join(format!("_manifests/revisions/sha256/{}/link", image.index.hex()));
        let blob_links = image
            .blobs()
            .map(|b| repo_dir.join(format!("_layers/sha256/{}/link", b.hex())));
        for link in std::iter::once(manifest_link).chain(blob_links) {
            assert!(link.exists(), "{who}: {} missing", link.display());
        }
        for d in contents(image) {
            assert_eq!(
                stored.get(&d.digest),
                Some(&d.size),
                "{who}: stored size of {}",
                d.digest
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The runs

/// The incremental m2m's traffic.
#[derive(Default)]
struct Transfer {
    /// (all, manifests) uploaded, from the destination's access log.
    uploaded: (u64, u64),
    /// ferry's `bytesCopied`.
    ferry_count: u64,
    /// New blob files in the destination's storage: (count, bytes).
    stored: (usize, u64),
    /// Blob bytes the source served: (GETs, bytes).
    fetched: (usize, u64),
}

/// What the incremental m2d added to the archive.
#[derive(Default)]
struct ArchiveGrowth {
    /// (segments, bytes) of the first m2d.
    first: (usize, u64),
    /// (segments, bytes) the second m2d added.
    second: (usize, u64),
    /// Entries of the new segments that are 4.16.2's new blobs and manifests: (count, bytes).
    added: (usize, u64),
    /// Other blob entries: (count, bytes).
    other_blobs: (usize, u64),
    /// Other entries (ferry's metadata): (count, bytes).
    other: (usize, u64),
}

struct RunResult {
    ferry: Timed,
    ferry_next: Timed,
    skopeo: Timed,
    floor: Timed,
    m2d: Timed,
    m2d_next: Timed,
    transfer: Transfer,
    archive: ArchiveGrowth,
}

/// A payload read, per version: the layer, ferry's account (highest over its runs) and the dry run's served bytes.
struct PayloadRead {
    version: &'static str,
    manifests_layer: u64,
    /// (runs, layers, highest bytes) from ferry's log lines.
    ferry: (usize, u64, u64),
    /// (GETs, bytes) of the payload's blobs the source served during the dry run.
    served: (usize, u64),
}

struct Results {
    own_hwm_kib: u64,
    description: String,
    components: usize,
    changed: usize,
    /// Unique blob bytes of 4.16.1 (what a copy of it moves) and the floor's (uploads, mounts, manifest PUTs).
    release1_blobs: u64,
    plan: (usize, usize, usize),
    added_bytes: (u64, u64),
    /// Blob bytes the source served during the dry run, all of them: (GETs, bytes).
    dry_run_served: (usize, u64),
    reads: Vec<PayloadRead>,
    /// The untimed dry run over both releases (its peak RSS counts).
    dry_run: Timed,
    runs: Vec<RunResult>,
}

/// What every copy needs.
struct Bench<'a> {
    dir: &'a TestDir,
    home: PathBuf,
    source: &'a TestRegistry,
    workload: &'a Workload,
    server: &'a ReleaseServer,
    settings: &'a Settings,
    /// ISCs of 4.16.1, of 4.16.2, of both.
    iscs: [PathBuf; 3],
    floor_plan: UploadPlan,
    sync_yaml: PathBuf,
}

/// The ways of copying 4.16.1 into a fresh destination.
#[derive(Clone, Copy)]
enum Contender {
    Ferry,
    Skopeo,
    Floor,
}

impl Contender {
    /// The order of run `run`, rotated by one each run.
    fn order(run: usize) -> [Contender; 3] {
        let mut order = [Contender::Ferry, Contender::Skopeo, Contender::Floor];
        order.rotate_left(run % 3);
        order
    }
}

impl Bench<'_> {
    /// `ferry mirror -c ISC` pointed at the release server, at log level info, quiet.
    fn ferry(&self, isc: &Path) -> Command {
        let mut cmd = ferry_command(&self.home);
        cmd.envs(self.server.env.iter().map(|(k, v)| (k, v)))
            .args(["mirror", "-c"])
            .arg(isc)
            .args(["--src-tls-verify=false", "--log-level", "info", "--quiet"])
            .args(&self.settings.base.ferry_args);
        cmd
    }

    fn m2m(&self, isc: &Path, workspace: &Path, dest: &TestRegistry, summary: &Path) -> Command {
        let mut cmd = self.ferry(isc);
        cmd.arg("--workspace")
            .arg(format!("file://{}", workspace.display()))
            .arg(format!("docker://{}/{NAMESPACE}", dest.host()))
            .arg("--dest-tls-verify=false")
            .arg("--summary-file")
            .arg(summary);
        cmd
    }

    fn out(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// One ferry process, timed.
    fn timed(&self, what: &str, cmd: Command, out: &str, dest: Option<&TestRegistry>) -> Timed {
        let t = run_workers(what, vec![vec![cmd]], &self.out(out), Some(self.source), dest);
        eprintln!("    {what}: {:.2}s", t.seconds);
        t
    }

    /// ferry m2m of 4.16.1 into a fresh destination, then of 4.16.2 into the same one.
    fn run_ferry(&self, run: usize, retired: &mut Retired) -> (Timed, Timed, Transfer) {
        let dest = TestRegistry::start();
        let ws = self.dir.join(format!("ws-{run}"));
        let summaries = [0, 1].map(|r| self.out(&format!("summary-{run}-{r}.json")));
        let first_cmd = self.m2m(&self.iscs[0], &ws, &dest, &summaries[0]);
        let first = self.timed("ferry m2m 4.16.1", first_cmd, &format!("ferry-{run}-0"), Some(&dest));
        let release1 = self.workload.releases[0].dest_images();
        verify(
            "ferry 4.16.1",
            &self.workload.layout,
            &dest,
            &format!("{NAMESPACE}/"),
            &release1,
        );

        let (dest_mark, source_mark, before) = (dest.log().len(), self.source.log().len(), stored_blobs(&dest));
        let next_cmd = self.m2m(&self.iscs[1], &ws, &dest, &summaries[1]);
        let next = self.timed("ferry m2m 4.16.2", next_cmd, &format!("ferry-{run}-1"), Some(&dest));
        let both = self.workload.dest_images_of_both();
        verify(
            "ferry 4.16.2",
            &self.workload.layout,
            &dest,
            &format!("{NAMESPACE}/"),
            &both,
        );
        let new_blobs: Vec<u64> = stored_blobs(&dest)
            .into_iter()
            .filter(|(digest, _)| !before.contains_key(digest))
            .map(|(_, len)| len)
            .collect();
        let transfer = Transfer {
            uploaded: uploaded_bytes(&dest.log()[dest_mark..], &dest),
            ferry_count: summary_bytes(&summaries[1]),
            stored: (new_blobs.len(), new_blobs.iter().sum()),
            fetched: served_blob_bytes(&self.source.log()[source_mark..], |_| true),
        };
        eprintln!(
            "      4.16.2 uploaded {} (4.16.2 adds {})",
            size(transfer.uploaded.0),
            size(self.workload.added_total())
        );
        let log = fs::read_to_string(ws.join("working-dir/logs/ferry.log")).unwrap_or_default();
        save_logs(
            &self.settings.base,
            &format!("release-run{}", run + 1),
            &[("ferry-dest-registry.log", dest.log()), ("ferry.log", log)],
        );
        retired.retire(dest);
        (first, next, transfer)
    }

    /// skopeo sync of 4.16.1's payload and components, by digest, into a fresh destination.
    fn run_skopeo(&self, run: usize, retired: &mut Retired) -> Timed {
        let dest = TestRegistry::start();
        let mut cmd = Command::new("skopeo");
        cmd.env("HOME", &self.home)
            .args([
                "--insecure-policy",
                "sync",
                "--all",
                "--preserve-digests",
                "--src",
                "yaml",
            ])
            .args(["--dest", "docker", "--src-tls-verify=false", "--dest-tls-verify=false"])
            .arg(&self.sync_yaml)
            .arg(format!("{}/{NAMESPACE}", dest.host()));
        let t = run_workers(
            "skopeo sync",
            vec![vec![cmd]],
            &self.out(&format!("skopeo-{run}")),
            Some(self.source),
            Some(&dest),
        );
        eprintln!("    skopeo sync 4.16.1: {:.2}s", t.seconds);
        let images: Vec<BenchImage> = self.workload.releases[0].source_images().cloned().collect();
        verify_by_digest("skopeo", &dest, &images);
        retired.retire(dest);
        t
    }

    /// The floor's copy of 4.16.1 into a fresh destination.
    fn run_floor(&self, retired: &mut Retired) -> Timed {
        let dest = TestRegistry::start();
        let t = run_floor(FloorSource::Registry(self.source), &dest, &self.floor_plan);
        eprintln!("    floor 4.16.1: {:.2}s", t.seconds);
        let release1 = self.workload.releases[0].dest_images();
        verify(
            "floor",
            &self.workload.layout,
            &dest,
            &format!("{NAMESPACE}/"),
            &release1,
        );
        retired.retire(dest);
        t
    }

    /// ferry m2d of 4.16.1 into a new ARCHIVE, then of 4.16.2 into the same ARCHIVE.
    fn run_m2d(&self, run: usize, retired: &mut Retired) -> (Timed, Timed, ArchiveGrowth) {
        let archive = self.dir.join(format!("archive-{run}"));
        let m2d = |isc: &Path| {
            let mut cmd = self.ferry(isc);
            cmd.arg(format!("file://{}", archive.display()));
            cmd
        };
        let first = self.timed("ferry m2d 4.16.1", m2d(&self.iscs[0]), &format!("m2d-{run}-0"), None);
        let first_segments = segments(&archive);
        let next = self.timed("ferry m2d 4.16.2", m2d(&self.iscs[1]), &format!("m2d-{run}-1"), None);
        let added: BTreeMap<String, u64> = segments(&archive)
            .into_iter()
            .filter(|(name, _)| !first_segments.contains_key(name))
            .collect();
        let mut growth = ArchiveGrowth {
            first: (first_segments.len(), first_segments.values().sum()),
            second: (added.len(), added.values().sum()),
            ..ArchiveGrowth::default()
        };
        let mut found = BTreeSet::new();
        for name in added.keys() {
            for (entry, len) in segment_entries(&archive.join(name)) {
                let digest = entry.strip_prefix("blobs/sha256/").map(|hex| format!("sha256:{hex}"));
                let class = match digest {
                    Some(d) if self.workload.added.contains(&d) => {
                        found.insert(d);
                        &mut growth.added
                    }
                    Some(_) => &mut growth.other_blobs,
                    None => &mut growth.other,
                };
                class.0 += 1;
                class.1 += len;
            }
        }
        let missing = self.workload.added.len() - found.len();
        assert_eq!(
            missing, 0,
            "the 4.16.2 archive lacks {missing} of the blobs 4.16.2 adds"
        );
        eprintln!(
            "      4.16.2 archive: {} in {} segment(s) (4.16.2 adds {})",
            size(growth.second.1),
            growth.second.0,
            size(self.workload.added_total())
        );
        let log = fs::read_to_string(archive.join("working-dir/logs/ferry.log")).unwrap_or_default();
        save_logs(
            &self.settings.base,
            &format!("release-run{}", run + 1),
            &[("m2d-ferry.log", log)],
        );
        retired.retire_dir(archive);
        (first, next, growth)
    }

    /// An untimed `--dry-run` over both releases: (its ferry process, blob bytes the source served while ferry read
    /// each payload, and in all).
    fn dry_run(&self, retired: &mut Retired) -> (Timed, Vec<(usize, u64)>, (usize, u64)) {
        let dest = TestRegistry::start();
        let ws = self.dir.join("ws-dry-run");
        let mark = self.source.log().len();
        let mut cmd = self.m2m(&self.iscs[2], &ws, &dest, &self.out("summary-dry-run.json"));
        cmd.arg("--dry-run");
        let t = self.timed("ferry --dry-run (4.16.1 and 4.16.2)", cmd, "dry-run", Some(&dest));
        let log = self.source.log();
        let log = &log[mark..];
        let per_payload = self
            .workload
            .releases
            .iter()
            .map(|r| {
                let digests: BTreeSet<&str> = r.payload.blobs().map(|b| b.digest.as_str()).collect();
                served_blob_bytes(log, |d| digests.contains(d))
            })
            .collect();
        let all = served_blob_bytes(log, |_| true);
        retired.retire(dest);
        (t, per_payload, all)
    }
}

/// The skopeo sync source list: 4.16.1's payload and components, by digest.
fn write_sync_yaml(dir: &TestDir, source: &TestRegistry, release: &Release) -> PathBuf {
    let mut yaml = format!(
        "{}:\n  tls-verify: false\n  images:\n    {RELEASE_REPO}:\n    - \"{}\"\n    {COMPONENT_REPO}:\n",
        source.host(),
        release.payload.index.digest
    );
    for (_, image) in &release.components {
        writeln!(yaml, "    - \"{}\"", image.index.digest).unwrap();
    }
    let path = dir.join("sync.yaml");
    fs::write(&path, yaml).unwrap();
    path
}

fn run_bench(settings: &Settings) -> Results {
    eprintln!("== release (scale {}) ==", settings.scale);
    let dir = TestDir::new("bench-release");
    let source = TestRegistry::start();
    let workload = load(&dir, &source, settings.scale);
    let server = ReleaseServer::start(&dir, &source, &workload.releases);
    let home = dir.join("home");
    fs::create_dir_all(&home).unwrap();
    let iscs = [
        write_release_isc(&dir, "isc-1.yaml", (VERSIONS[0], VERSIONS[0])),
        write_release_isc(&dir, "isc-2.yaml", (VERSIONS[1], VERSIONS[1])),
        write_release_isc(&dir, "isc-both.yaml", (VERSIONS[0], VERSIONS[1])),
    ];
    let bench = Bench {
        dir: &dir,
        home,
        source: &source,
        workload: &workload,
        server: &server,
        settings,
        iscs,
        floor_plan: floor_plan(&workload.releases[0].dest_images()),
        sync_yaml: write_sync_yaml(&dir, &source, &workload.releases[0]),
    };
    let mut retired = Retired::default();
    warm_up(&source, &bench.floor_plan, &mut retired);
    let (dry_run, per_payload, dry_run_served) = bench.dry_run(&mut retired);

    let mut runs = Vec::new();
    for run in 0..settings.base.runs {
        eprintln!("  run {} of {}", run + 1, settings.base.runs);
        let (mut ferry, mut skopeo, mut floor) = (None, None, None);
        for contender in Contender::order(run) {
            match contender {
                Contender::Ferry => ferry = Some(bench.run_ferry(run, &mut retired)),
                Contender::Skopeo => skopeo = Some(bench.run_skopeo(run, &mut retired)),
                Contender::Floor => floor = Some(bench.run_floor(&mut retired)),
            }
        }
        let (m2d, m2d_next, archive) = bench.run_m2d(run, &mut retired);
        let (ferry, ferry_next, transfer) = ferry.unwrap();
        runs.push(RunResult {
            ferry,
            ferry_next,
            skopeo: skopeo.unwrap(),
            floor: floor.unwrap(),
            m2d,
            m2d_next,
            transfer,
            archive,
        });
    }
    save_logs(&settings.base, "release", &[("source-registry.log", source.log())]);
    let reads = payload_read_results(&dir, &workload, &per_payload, settings.base.runs);
    Results {
        own_hwm_kib: own_hwm_kib(),
        description: workload.description.clone(),
        components: workload.releases[0].components.len(),
        changed: workload.changed,
        release1_blobs: bench.floor_plan.blob_bytes,
        plan: (
            bench.floor_plan.uploads,
            bench.floor_plan.mounts,
            bench.floor_plan.manifests,
        ),
        added_bytes: workload.added_bytes,
        dry_run_served,
        reads,
        dry_run,
        runs,
    }
}

/// Every ferry log's `release-manifests read from` lines (m2m workspaces, archives, the dry run), per payload.
fn payload_read_results(dir: &TestDir, workload: &Workload, served: &[(usize, u64)], runs: usize) -> Vec<PayloadRead> {
    let mut logs = vec![dir.join("ws-dry-run")];
    for run in 0..runs {
        logs.push(dir.join(format!("ws-{run}")));
        logs.push(dir.join(format!("archive-{run}")));
    }
    let lines: Vec<(String, u64, u64)> = logs
        .iter()
        .flat_map(|d| payload_reads(&d.join("working-dir/logs/ferry.log")))
        .collect();
    workload
        .releases
        .iter()
        .zip(served)
        .map(|(r, served)| {
            let mine: Vec<&(String, u64, u64)> = lines.iter().filter(|(v, _, _)| v == r.version).collect();
            assert!(
                !mine.is_empty(),
                "no `{READ_LINE}` line for {} in ferry's logs",
                r.version
            );
            let highest = mine.iter().max_by_key(|(_, _, bytes)| *bytes).unwrap();
            PayloadRead {
                version: r.version,
                manifests_layer: r.manifests_layer,
                ferry: (mine.len(), highest.1, highest.2),
                served: *served,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Report

#[derive(Clone, Copy, PartialEq)]
enum Metric {
    FerryOverSkopeo,
    FerryOverFloor,
    M2mIncrementalBytes,
    M2dIncrementalBytes,
    PayloadRead,
    PeakRssMib,
}

const TARGETS: [(Metric, f64); 6] = [
    (Metric::FerryOverSkopeo, 0.35),
    (Metric::FerryOverFloor, 1.05),
    (Metric::M2mIncrementalBytes, 1.05),
    (Metric::M2dIncrementalBytes, 1.05),
    (Metric::PayloadRead, 1.1),
    (Metric::PeakRssMib, 150.0),
];

impl Metric {
    fn label(self) -> &'static str {
        match self {
            Metric::FerryOverSkopeo => "m2m 4.16.1: ferry / skopeo",
            Metric::FerryOverFloor => "m2m 4.16.1: ferry / floor",
            Metric::M2mIncrementalBytes => "m2m 4.16.2 after 4.16.1: bytes uploaded / bytes 4.16.2 adds",
            Metric::M2dIncrementalBytes => "m2d 4.16.2 after 4.16.1: new segments / bytes 4.16.2 adds",
            Metric::PayloadRead => "bytes fetched to read a payload / its release-manifests layer",
            Metric::PeakRssMib => "ferry peak RSS (MiB)",
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

    fn added_total(&self) -> u64 {
        self.added_bytes.0 + self.added_bytes.1
    }

    /// The worst run's `value` over the bytes 4.16.2 adds.
    fn worst_over_added(&self, value: impl Fn(&RunResult) -> u64) -> f64 {
        let worst = self.runs.iter().map(value).max().unwrap_or(0);
        worst as f64 / self.added_total() as f64
    }

    fn peak_rss_kib(&self) -> u64 {
        let ferry_runs = [
            self.column(|r| &r.ferry),
            self.column(|r| &r.ferry_next),
            self.column(|r| &r.m2d),
            self.column(|r| &r.m2d_next),
        ];
        let runs = ferry_runs.iter().filter_map(|c| max_rss_kib(c));
        runs.chain(self.dry_run.max_rss_kib).max().unwrap_or(0)
    }

    fn metric(&self, m: Metric) -> f64 {
        match m {
            Metric::FerryOverSkopeo => self.seconds(|r| &r.ferry) / self.seconds(|r| &r.skopeo),
            Metric::FerryOverFloor => self.seconds(|r| &r.ferry) / self.seconds(|r| &r.floor),
            Metric::M2mIncrementalBytes => self.worst_over_added(|r| r.transfer.uploaded.0),
            Metric::M2dIncrementalBytes => self.worst_over_added(|r| r.archive.second.1),
            Metric::PayloadRead => self
                .reads
                .iter()
                .map(|p| p.ferry.2.max(p.served.1) as f64 / p.manifests_layer as f64)
                .fold(0.0, f64::max),
            Metric::PeakRssMib => self.peak_rss_kib() as f64 / 1024.0,
        }
    }

    fn missed(&self) -> Vec<String> {
        missed("release", &TARGETS, Metric::label, |m| self.metric(m))
    }
}

fn report(r: &Results, settings: &Settings) -> String {
    let mut s = String::new();
    writeln!(
        s,
        "{}. 4.16.1: {} images, {} of unique blobs; the floor does {} uploads, {} mounts, {} manifest PUTs. 4.16.2 \
         adds {} ({} in its {} rebuilt components, {} in its payload). ferry: {}.\n",
        r.description,
        r.components + 1,
        size(r.release1_blobs),
        r.plan.0,
        r.plan.1,
        r.plan.2,
        size(r.added_total()),
        size(r.added_bytes.0),
        r.changed,
        size(r.added_bytes.1),
        if settings.base.ferry_args.is_empty() {
            "default parallelism".to_string()
        } else {
            format!("`{}`", settings.base.ferry_args.join(" "))
        }
    )
    .unwrap();
    timing_table(&mut s, r);
    ratio_table_header(&mut s);
    for (m, target) in TARGETS {
        let decimals = if m == Metric::PeakRssMib { 0 } else { 3 };
        ratio_row(&mut s, m.label(), r.metric(m), decimals, Some(target));
    }
    writeln!(
        s,
        "| for context: floor / skopeo | {:.3} | – | |",
        r.seconds(|x| &x.floor) / r.seconds(|x| &x.skopeo)
    )
    .unwrap();
    let per_run = |other: fn(&RunResult) -> &Timed| {
        let ratios: Vec<String> = r
            .runs
            .iter()
            .map(|x| format!("{:.3}", x.ferry.seconds / other(x).seconds))
            .collect();
        ratios.join(", ")
    };
    writeln!(
        s,
        "| for context: each run's ferry / skopeo; ferry / floor (copies of the same run) | {}; {} | – | |",
        per_run(|x| &x.skopeo),
        per_run(|x| &x.floor)
    )
    .unwrap();
    bytes_table(&mut s, r);
    reads_table(&mut s, r);
    writeln!(
        s,
        "\nPeak RSS is `ru_maxrss` from `wait4` over every ferry process (the dry run's included), which also counts \
         the RSS high-water mark of the process that spawned it (this bench: {}), so it is exact only above that.",
        mib(r.own_hwm_kib)
    )
    .unwrap();
    let first = &r.runs[0];
    let columns = [
        ("ferry m2m 4.16.1", &first.ferry),
        ("ferry m2m 4.16.2", &first.ferry_next),
        ("skopeo sync", &first.skopeo),
        ("floor", &first.floor),
        ("ferry m2d 4.16.1", &first.m2d),
        ("ferry m2d 4.16.2", &first.m2d_next),
    ];
    requests_table(&mut s, "access logs", r.runs.len(), &columns);
    s
}

fn timing_table(s: &mut String, r: &Results) {
    writeln!(
        s,
        "| run | seconds{} | MiB/s | peak RSS | CPU s: copier / source reg. / dest. reg. | requests to dest. / source \
         | load avg before |",
        median_of(r.runs.len())
    )
    .unwrap();
    writeln!(s, "|---|---:|---:|---:|---:|---:|---:|").unwrap();
    let mib = r.release1_blobs as f64 / MIB as f64;
    let rows: [(&str, Vec<&Timed>, bool); 6] = [
        ("ferry m2m 4.16.1 (fresh destination)", r.column(|x| &x.ferry), true),
        (
            "ferry m2m 4.16.2 (same destination, after 4.16.1)",
            r.column(|x| &x.ferry_next),
            false,
        ),
        ("skopeo sync 4.16.1 (by digest)", r.column(|x| &x.skopeo), true),
        (
            "floor 4.16.1 (raw HTTP mirror, 8 threads)",
            r.column(|x| &x.floor),
            true,
        ),
        ("ferry m2d 4.16.1 (new archive)", r.column(|x| &x.m2d), true),
        (
            "ferry m2d 4.16.2 (same archive, after 4.16.1)",
            r.column(|x| &x.m2d_next),
            false,
        ),
    ];
    for (name, t, rate) in &rows {
        let requests = [total(&t[0].dest_requests), total(&t[0].src_requests)];
        timing_row(s, name, t, rate.then_some(mib), requests);
    }
    let t = &r.dry_run;
    let requests = [total(&t.dest_requests), total(&t.src_requests)];
    timing_row(
        s,
        "ferry m2m --dry-run, 4.16.1 and 4.16.2 (once, before the runs)",
        &[t],
        None,
        requests,
    );
}

fn bytes_table(s: &mut String, r: &Results) {
    writeln!(
        s,
        "\n| 4.16.2 after 4.16.1, per run (4.16.2 adds {}) | m2m: uploaded (access log), of which manifests | ferry's \
         count (`bytesCopied`) | new blob files in the destination | fetched from the source (blob GETs) | m2d: new \
         segments | their entries: 4.16.2's new blobs; other blobs; other entries |",
        size(r.added_total())
    )
    .unwrap();
    writeln!(s, "|---|---:|---:|---:|---:|---:|---|").unwrap();
    for (i, run) in r.runs.iter().enumerate() {
        let (t, a) = (&run.transfer, &run.archive);
        writeln!(
            s,
            "| {} | {}, {} | {} | {} ({}) | {} ({}) | {} ({}) | {} ({}); {} ({}); {} ({}) |",
            i + 1,
            size(t.uploaded.0),
            size(t.uploaded.1),
            size(t.ferry_count),
            size(t.stored.1),
            t.stored.0,
            size(t.fetched.1),
            t.fetched.0,
            size(a.second.1),
            a.second.0,
            size(a.added.1),
            a.added.0,
            size(a.other_blobs.1),
            a.other_blobs.0,
            size(a.other.1),
            a.other.0,
        )
        .unwrap();
    }
    let first = &r.runs[0].archive;
    writeln!(
        s,
        "\nThe 4.16.1 archive: {} in {} segment(s).",
        size(first.first.1),
        first.first.0
    )
    .unwrap();
}

fn reads_table(s: &mut String, r: &Results) {
    writeln!(
        s,
        "\n| payload | release-manifests layer | ferry's account: layers, bytes (highest of its runs) | dry run: the \
         payload's blob GETs at the source (GETs, bytes) |"
    )
    .unwrap();
    writeln!(s, "|---|---:|---:|---:|").unwrap();
    for p in &r.reads {
        writeln!(
            s,
            "| {} | {} B | {}, {} B ({} runs) | {}, {} B |",
            p.version, p.manifests_layer, p.ferry.1, p.ferry.2, p.ferry.0, p.served.0, p.served.1
        )
        .unwrap();
    }
    writeln!(
        s,
        "\nIn all, the dry run fetched {} blob(s), {} B, from the source.",
        r.dry_run_served.0, r.dry_run_served.1
    )
    .unwrap();
}

fn command_line(settings: &Settings) -> String {
    let vars = [
        (settings.scale != 1.0).then(|| format!("FERRY_BENCH_SCALE={}", settings.scale)),
        settings.base.runs_var(),
        settings.base.ferry_args_var(),
    ];
    common::command_line(&vars, COMMAND)
}

/// Replaces the text between the markers of docs/performance.md (or appends `DOC_SECTION` and the markers).
fn write_docs(settings: &Settings, results: &Results) -> PathBuf {
    let notes = format!(
        "Seconds are wall-clock, the median of {} interleaved runs, each into fresh destinations (CNCF distribution, \
         filesystem storage, plain HTTP on 127.0.0.1) and a fresh archive directory, from the same source registry; \
         time ratios are ratios of medians, byte ratios the worst run's, peak RSS the highest of every ferry process. \
         CPU seconds are medians; MiB/s is 4.16.1's unique blob bytes over median seconds.",
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
            "release bench: no --bench argument, running as a smoke test (scale {})",
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
