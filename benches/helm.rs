//! Helm rendering benchmark: `cargo bench --bench helm` (release build; harness = false).
//!
//! Data: every chart of `../shared/testdata/helm` (oc-mirror's test charts, ingress-nginx 4.12.1, podinfo 5.0.0,
//! 6.0.0, 6.9.0 and 6.14.1, service-binding-operator 1.3.3, 1.4.0 and 1.4.1) as `mirror.helm.local` entries, with
//! `blockedImages: [".*"]` so that no image is resolved: the run reads, renders and packages the charts only.
//! `ferry mirror -c ISC file://OUT --dry-run` runs FERRY_BENCH_RUNS times (default 3); ferry's log lines
//! `chart NAME: N template(s) rendered in M ms, K image(s)` give the time per chart (medians are reported), and
//! the whole run is timed too. Target (the issue): every chart of the podinfo and ingress-nginx test data renders in
//! under a second in total. Results are printed and written between the `bench:helm` markers of
//! docs/performance.md (for a full run, or with FERRY_BENCH_WRITE_DOCS=1).
// A test or bench binary: its `pub` items are shared between its own modules, never exported, and a failed
// step panics with its cause.
#![allow(unreachable_pub, clippy::unwrap_used)]

mod common;
#[path = "../tests/integration/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::*;
use support::*;

const BEGIN: &str = "<!-- bench:helm:begin -->";
const END: &str = "<!-- bench:helm:end -->";
const COMMAND: &str = "cargo bench --bench helm";
const DOC_SECTION: &str =
    "## Helm chart rendering\n\n`benches/helm.rs`, run with\n\n```sh\ncargo bench --bench helm\n```\n\n\
Every chart of the test data, read, rendered with its default values and packaged as an OCI chart in a dry run \
(`blockedImages: [\".*\"]`: no image is resolved). Times per chart are ferry's own measure of the render (all \
templates, subcharts included), medians over the runs.\n\n";

/// The test data's chart archives.
fn charts() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/helm");
    let mut charts: Vec<PathBuf> = ["oc-mirror-charts", "podinfo-repo", "service-binding-operator-repo"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|e| e == "tgz"))
        .collect();
    charts.sort();
    assert_eq!(charts.len(), 10, "the test data's charts are missing");
    charts
}

/// One dry run: its wall time and, per chart, (templates, milliseconds, images).
fn run_once(dir: &TestDir, isc: &Path, run: usize) -> (f64, BTreeMap<String, (u64, u64, u64)>) {
    let out = dir.join(format!("out-{run}"));
    let started = Instant::now();
    let output = ferry_command(dir.path())
        .args(["mirror", "-c"])
        .arg(isc)
        .arg(format!("file://{}", out.display()))
        .arg("--dry-run")
        .output()
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let mut per_chart = BTreeMap::new();
    for entry in std::fs::read_dir(out.join("working-dir/logs")).unwrap() {
        for line in std::fs::read_to_string(entry.unwrap().path()).unwrap().lines() {
            if let Some((chart, numbers)) = parse_render_line(line) {
                per_chart.insert(chart, numbers);
            }
        }
    }
    assert_eq!(per_chart.len(), 10, "every chart reports its render");
    (seconds, per_chart)
}

/// `chart NAME: N template(s) rendered in M ms, K image(s)`.
fn parse_render_line(line: &str) -> Option<(String, (u64, u64, u64))> {
    let rest = &line[line.find("chart ")? + 6..];
    let (chart, rest) = rest.split_once(": ")?;
    let numbers: Vec<u64> = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    match numbers.as_slice() {
        [templates, millis, images] if rest.contains("rendered in") => {
            Some((chart.to_string(), (*templates, *millis, *images)))
        }
        _ => None,
    }
}

fn main() {
    let smoke = smoke();
    let settings = BaseSettings::from_env(smoke, true);
    let dir = TestDir::new("bench_helm");
    let mut isc = String::from(
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  blockedImages:\n  - name: \".*\"\n  helm:\n    local:\n",
    );
    for chart in charts() {
        let _ = write!(isc, "    - name: chart\n      path: {}\n", chart.display());
    }
    let isc_path = dir.join("isc.yaml");
    std::fs::write(&isc_path, isc).unwrap();
    let runs: Vec<_> = (0..settings.runs).map(|run| run_once(&dir, &isc_path, run)).collect();
    let wall = median(runs.iter().map(|(s, _)| *s).collect());
    let mut table = String::from("| chart | templates | images | render (ms, median) |\n|---|---:|---:|---:|\n");
    let mut total = 0.0;
    for chart in runs[0].1.keys() {
        let (templates, _, images) = runs[0].1[chart];
        let millis = median(runs.iter().map(|(_, c)| c[chart].1 as f64).collect());
        total += millis;
        let _ = writeln!(table, "| {chart} | {templates} | {images} | {millis:.0} |");
    }
    let _ = writeln!(table, "| **all 10 charts** | | | **{total:.0}** |");
    let summary =
        format!("{table}\nWhole dry run (read, render, package 10 charts; ferry's start included): {wall:.2} s.\n");
    println!("\n{}\n\n{summary}", machine_facts(threads()));
    let missed = if total < 1000.0 {
        Vec::new()
    } else {
        vec![format!("rendering took {total:.0} ms in all (target: under 1 s)")]
    };
    let command = command_line(&[settings.runs_var()], COMMAND);
    finish_with_report(&settings, (BEGIN, END), &command, DOC_SECTION, &summary, missed);
}
