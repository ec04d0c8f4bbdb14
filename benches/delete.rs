//! Delete benchmark: `cargo bench --bench delete` (release build; harness = false).
//!
//! Workload: a local registry (deletes enabled) holding 1,000 small image manifests, 100 in each of 10 repositories,
//! each under its own tag and digest (one config and one layer blob per repository, pushed with raw HTTP, not timed),
//! and a delete list naming all of them (what `ferry delete --generate` writes). Timed: `ferry delete
//! --delete-yaml-file LIST docker://HOST` with default options, which lists every repository's tags, asks each tag's
//! digest (to keep what another tag still names), and deletes each manifest by digest. Checked with raw HTTP: every
//! repository's tag list is empty afterwards. Target (the issue): 1,000 manifests in under 10 s. There is no peer to
//! compare with here (oc-mirror, the only tool that does this, deletes one manifest at a time).
//!
//! Environment: FERRY_BENCH_RUNS=N (default 3, each on a freshly pushed registry; the median is reported),
//! FERRY_BENCH_WRITE_DOCS=0|1. Without `--bench` it runs as a smoke test with 50 manifests and writes no docs.
// A test or bench binary: its `pub` items are shared between its own modules, never exported, and a failed
// step panics with its cause.
#![allow(unreachable_pub, clippy::unwrap_used)]

mod common;
#[path = "../tests/integration/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use common::*;
use support::*;

const BEGIN: &str = "<!-- bench:delete:begin -->";
const END: &str = "<!-- bench:delete:end -->";
const COMMAND: &str = "cargo bench --bench delete";
const REPOSITORIES: usize = 10;
const DOC_SECTION: &str = "## Deleting\n\n`benches/delete.rs`, run with\n\n```sh\ncargo bench --bench delete\n```\n\n\
1,000 small image manifests in 10 repositories of a local registry, every one named by the delete list; ferry lists \
each repository's tags, asks each tag's digest (what another tag still names stays), and deletes by digest.\n\n";

/// Uploads `bytes` as a blob of `repo` (POST, then a monolithic PUT); its digest.
fn upload(host: &str, repo: &str, bytes: &[u8]) -> String {
    let digest = sha256_digest(bytes);
    let started = http::request(host, "POST", &format!("/v2/{repo}/blobs/uploads/"), &[], &[]).unwrap();
    assert_eq!(started.status(), 202, "upload to {repo}");
    let location = started.header("location").unwrap().to_string();
    let path = location.split_once(host).map_or(location.as_str(), |(_, p)| p);
    let separator = if path.contains('?') { '&' } else { '?' };
    let put = http::request(host, "PUT", &format!("{path}{separator}digest={digest}"), &[], bytes).unwrap();
    assert_eq!(put.status(), 201, "blob {digest}");
    digest
}

/// Pushes `per_repository` manifests to each repository and returns the delete list's YAML naming them all.
fn push_workload(host: &str, per_repository: usize) -> String {
    let mut list = String::from("kind: DeleteImageList\napiVersion: mirror.openshift.io/v2alpha1\nitems:\n");
    for r in 0..REPOSITORIES {
        let repo = format!("bench/r{r}");
        let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let layer = random_bytes(r as u64 + 1, 512);
        let (config_digest, layer_digest) = (upload(host, &repo, config), upload(host, &repo, &layer));
        for i in 0..per_repository {
            let manifest = format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer_digest}","size":{}}}],"annotations":{{"n":"{i}"}}}}"#,
                config.len(),
                layer.len()
            );
            let headers = [("Content-Type", "application/vnd.oci.image.manifest.v1+json")];
            let put = http::request(
                host,
                "PUT",
                &format!("/v2/{repo}/manifests/t{i}"),
                &headers,
                manifest.as_bytes(),
            )
            .unwrap();
            assert_eq!(put.status(), 201, "manifest {repo}:t{i}");
            let _ = write!(
                list,
                "- imageName: bench\n  imageReference: docker://{host}/{repo}:t{i}\n  type: generic\n  digest: {}\n",
                sha256_digest(manifest.as_bytes())
            );
        }
    }
    list
}

/// Tags left in the workload's repositories.
fn tags_left(host: &str) -> usize {
    (0..REPOSITORIES)
        .map(|r| {
            let response = http::request(host, "GET", &format!("/v2/bench/r{r}/tags/list"), &[], &[]).unwrap();
            let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
            body["tags"].as_array().map_or(0, Vec::len)
        })
        .sum()
}

/// One timed deletion of a freshly pushed workload: seconds.
fn run_once(dir: &Path, per_repository: usize, run: usize) -> f64 {
    let registry = TestRegistry::start();
    let list = dir.join(format!("delete-images-{run}.yaml"));
    std::fs::write(&list, push_workload(&registry.host(), per_repository)).unwrap();
    let started = Instant::now();
    let output = ferry_command(dir)
        .args(["delete", "--delete-yaml-file"])
        .arg(&list)
        .arg(format!("docker://{}", registry.host()))
        .args(["--dest-tls-verify=false", "--quiet"])
        .output()
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(tags_left(&registry.host()), 0, "every manifest is deleted");
    seconds
}

fn main() {
    let smoke = smoke();
    let settings = BaseSettings::from_env(smoke, true);
    let per_repository = if smoke { 5 } else { 100 };
    let manifests = per_repository * REPOSITORIES;
    let dir = TestDir::new("bench_delete");
    let times: Vec<f64> = (0..settings.runs)
        .map(|run| run_once(dir.path(), per_repository, run))
        .collect();
    let seconds = median(times.clone());
    let rate = manifests as f64 / seconds;
    let report = format!(
        "| manifests | repositories | ferry delete (s, median of {}) | manifests/s | target |\n|---:|---:|---:|---:|---|\n\
         | {manifests} | {REPOSITORIES} | {seconds:.2} | {rate:.0} | 1,000 in under 10 s |\n",
        times.len()
    );
    println!("\n{}\n\n{report}", machine_facts(threads()));
    let missed = if smoke || seconds < 10.0 {
        Vec::new()
    } else {
        vec![format!(
            "{manifests} manifests took {seconds:.1} s (target: under 10 s)"
        )]
    };
    let command = command_line(&[settings.runs_var()], COMMAND);
    finish_with_report(&settings, (BEGIN, END), &command, DOC_SECTION, &report, missed);
}
