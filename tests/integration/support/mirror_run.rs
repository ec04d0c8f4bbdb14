//! Running `ferry mirror` from a test: the ImageSetConfiguration written into the test's dir, the binary with an
//! isolated HOME (`ferry_at`), and its output and working dir to assert on.

use std::path::{Path, PathBuf};
use std::process::Output;

use super::{ferry_at, TestDir};

/// Writes `DIR/isc.yaml`: a v2alpha1 ImageSetConfiguration whose `mirror:` section is `mirror_yaml`.
pub fn write_isc(dir: &Path, mirror_yaml: &str) -> PathBuf {
    let path = dir.join("isc.yaml");
    let text = format!("apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n{mirror_yaml}");
    std::fs::write(&path, text).unwrap();
    path
}

/// The `mirror:` section listing `images` under `additionalImages`.
pub fn additional_images<S: AsRef<str>>(images: &[S]) -> String {
    let entries: String = images
        .iter()
        .map(|image| format!("  - name: {}\n", image.as_ref()))
        .collect();
    format!("  additionalImages:\n{entries}")
}

/// ferry's stderr when it exited 0; otherwise the test fails with it.
pub fn assert_ok(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "ferry failed ({:?}):\n{stderr}",
        output.status.code()
    );
    stderr
}

/// A finished mirror-to-mirror run: its output and its workspace (`DIR/ws`).
pub struct MirrorRun {
    pub workspace: PathBuf,
    pub output: Output,
}

impl MirrorRun {
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    pub fn assert_success(&self) {
        assert_ok(&self.output);
    }

    /// `assert_success`, with `context` (e.g. what a test server saw) in the failure message.
    pub fn assert_success_with(&self, context: &str) {
        assert!(
            self.output.status.success(),
            "ferry failed ({}):\n{}\n--- context ---\n{context}",
            self.code(),
            self.stderr()
        );
    }

    /// A file under `working-dir`, empty when missing.
    pub fn working_file(&self, rel: &str) -> String {
        std::fs::read_to_string(self.workspace.join("working-dir").join(rel)).unwrap_or_default()
    }

    /// ferry's log file.
    pub fn log(&self) -> String {
        self.working_file("logs/ferry.log")
    }
}

/// `ferry mirror -c DIR/isc.yaml --workspace file://DIR/ws docker://DESTINATION` with TLS verification off both
/// ways (plain HTTP test registries), 50 ms retry delays, and `extra` arguments.
pub fn mirror_to_registry(dir: &TestDir, mirror_yaml: &str, destination: &str, extra: &[&str]) -> MirrorRun {
    mirror_to_registry_with_env(dir, mirror_yaml, destination, extra, &[])
}

/// `mirror_to_registry` with environment variables set for ferry (`UPDATE_URL_OVERRIDE`...).
pub fn mirror_to_registry_with_env(
    dir: &TestDir,
    mirror_yaml: &str,
    destination: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> MirrorRun {
    let isc = write_isc(dir.path(), mirror_yaml);
    let workspace = dir.join("ws");
    let output = ferry_at(dir.path())
        .envs(env.iter().copied())
        .args(["mirror", "-c"])
        .arg(&isc)
        .arg("--workspace")
        .arg(format!("file://{}", workspace.display()))
        .arg(format!("docker://{destination}"))
        .args([
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--retry-delay",
            "50ms",
        ])
        .args(extra)
        .output()
        .expect("run ferry");
    MirrorRun { workspace, output }
}

/// `ferry mirror -c CONFIG file://ARCHIVE` (mirror-to-disk) with source TLS verification off, 50 ms retry delays,
/// `env` for ferry and `extra` arguments.
pub fn mirror_to_disk(dir: &TestDir, config: &Path, archive: &Path, env: &[(&str, &str)], extra: &[&str]) -> Output {
    ferry_at(dir.path())
        .envs(env.iter().copied())
        .args(["mirror", "-c"])
        .arg(config)
        .arg(format!("file://{}", archive.display()))
        .args(["--src-tls-verify=false", "--retry-delay", "50ms"])
        .args(extra)
        .output()
        .expect("run ferry")
}

/// `ferry mirror -c CONFIG --from file://ARCHIVE docker://DESTINATION` (disk-to-mirror) with destination TLS
/// verification off and 50 ms retry delays.
pub fn disk_to_mirror(dir: &TestDir, config: &Path, archive: &Path, destination: &str) -> Output {
    ferry_at(dir.path())
        .args(["mirror", "-c"])
        .arg(config)
        .arg("--from")
        .arg(format!("file://{}", archive.display()))
        .arg(format!("docker://{destination}"))
        .args(["--dest-tls-verify=false", "--retry-delay", "50ms"])
        .output()
        .expect("run ferry")
}
