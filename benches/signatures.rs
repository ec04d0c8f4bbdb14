//! Signatures benchmark: `cargo bench --bench signatures` (release build; harness = false).
//!
//! Workload: the m2m bench's `catalog` workload (60 images × 3 platforms, an 8 MiB base layer per platform shared
//! by every image, unique layers of 16 KiB, 512 KiB and 3 MiB per image-platform), loaded into a source registry,
//! plus a cosign-style signature (`sha256-<hex>.sig`: an OCI manifest with one simple-signing payload layer) on
//! every image (not timed). Timed, interleaved, each run into a fresh destination registry: ferry mirror-to-mirror
//! of the workload as it comes (signatures found and copied), and with `--remove-signatures` (the same images, no
//! signature). Checked: every signature tag is at the destination after the first, none after the second. Target
//! (the issue): with signatures ≤ 1.10× without.
//!
//! Environment: FERRY_BENCH_RUNS=N (default 3; medians), FERRY_BENCH_SCALE (default 1.0, 0.05 for a smoke test),
//! FERRY_BENCH_WRITE_DOCS=0|1.
// A test or bench binary: its `pub` items are shared between its own modules, never exported, and a failed
// step panics with its cause.
#![allow(unreachable_pub, clippy::unwrap_used)]

mod common;
#[path = "../tests/integration/support/mod.rs"]
mod support;

use std::time::Instant;

use serde_json::json;

use common::*;
use support::*;

const BEGIN: &str = "<!-- bench:signatures:begin -->";
const END: &str = "<!-- bench:signatures:end -->";
const COMMAND: &str = "cargo bench --bench signatures";
const DOC_SECTION: &str =
    "## Signatures\n\n`benches/signatures.rs`, run with\n\n```sh\ncargo bench --bench signatures\n```\n\n\
The m2m `catalog` workload with a cosign signature on every image, mirrored with its signatures (found with one \
tag listing per repository, copied as images) and with `--remove-signatures`, each run into a fresh registry.\n\n";

/// Pushes a signature of every image of the workload as `<repo>:sha256-<hex>.sig`.
fn sign_all(dir: &TestDir, loaded: &Loaded) {
    for (i, image) in loaded.images.iter().enumerate() {
        let mut layout = LayoutBuilder::new(dir.join(format!("sig-{i}")));
        let payload = json!({"critical": {"image": {"docker-manifest-digest": image.index.digest},
                                          "type": "cosign container image signature"}});
        let config = layout.add_typed_blob("application/vnd.oci.image.config.v1+json", b"{}");
        let layer = layout.add_typed_blob(
            "application/vnd.dev.cosign.simplesigning.v1+json",
            &serde_json::to_vec(&payload).unwrap(),
        );
        let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                              "config": config.to_json(), "layers": [layer.to_json()]});
        let top = layout.add_typed_blob(
            "application/vnd.oci.image.manifest.v1+json",
            &serde_json::to_vec(&manifest).unwrap(),
        );
        layout.tag(&top, "sig");
        let tag = format!("{}.sig", image.index.digest.replace(':', "-"));
        push_layout_raw(
            layout.dir(),
            "sig",
            &loaded.source.host(),
            &format!("{}:{tag}", image.repo),
            None,
        );
    }
}

/// One timed mirror into a fresh registry; seconds, and how many signature tags arrived.
fn run_once(dir: &TestDir, loaded: &Loaded, with_signatures: bool, run: usize) -> (f64, usize) {
    let destination = TestRegistry::start();
    let workspace = dir.join(format!("ws-{run}-{with_signatures}"));
    let mut command = ferry_command(dir.path());
    command
        .args(["mirror", "-c"])
        .arg(&loaded.isc_path)
        .arg("--workspace")
        .arg(format!("file://{}", workspace.display()))
        .arg(format!("docker://{}/{NAMESPACE}", destination.host()))
        .args(["--src-tls-verify=false", "--dest-tls-verify=false", "--quiet"]);
    if !with_signatures {
        command.arg("--remove-signatures");
    }
    let started = Instant::now();
    let output = command.output().unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let arrived = loaded
        .images
        .iter()
        .filter(|image| {
            let tag = format!("{}.sig", image.index.digest.replace(':', "-"));
            let path = format!("/v2/{NAMESPACE}/{}/manifests/{tag}", image.repo);
            let accept = [("Accept", "application/vnd.oci.image.manifest.v1+json")];
            http::request(&destination.host(), "HEAD", &path, &accept, &[])
                .unwrap()
                .status()
                == 200
        })
        .count();
    (seconds, arrived)
}

fn main() {
    let smoke = smoke();
    let settings = BaseSettings::from_env(smoke, var("FERRY_BENCH_SCALE").is_none());
    let scale = scale(smoke);
    let dir = TestDir::new("bench_signatures");
    let loaded = load_workload(&dir, build_catalog, scale, size);
    sign_all(&dir, &loaded);
    let count = loaded.images.len();
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for run in 0..settings.runs {
        let (seconds, arrived) = run_once(&dir, &loaded, true, run);
        assert_eq!(arrived, count, "every signature is copied");
        with.push(seconds);
        let (seconds, arrived) = run_once(&dir, &loaded, false, run);
        assert_eq!(arrived, 0, "--remove-signatures copies none");
        without.push(seconds);
    }
    let (with, without) = (median(with), median(without));
    let ratio = with / without;
    let report = format!(
        "Workload: {}; a signature on each of the {count} images.\n\n\
         | ferry m2m | seconds (median of {}) |\n|---|---:|\n\
         | with signatures ({count} `.sig` tags found and copied) | {with:.2} |\n\
         | `--remove-signatures` | {without:.2} |\n| **ratio** (target ≤ 1.10) | **{ratio:.3}** |\n",
        loaded.description, settings.runs
    );
    println!("\n{}\n\n{report}", machine_facts(threads()));
    let missed = if smoke || ratio <= 1.10 {
        Vec::new()
    } else {
        vec![format!("with signatures {ratio:.3}× without (target ≤ 1.10)")]
    };
    let command = command_line(&[settings.runs_var()], COMMAND);
    finish_with_report(&settings, (BEGIN, END), &command, DOC_SECTION, &report, missed);
}
