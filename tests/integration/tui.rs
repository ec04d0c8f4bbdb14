//! `ferry tui` end to end: the real binary, in a real terminal (tmux), against a multi-arch catalog image in the
//! test registry. Keys go in with `tmux send-keys`, the screen comes back with `tmux capture-pane`; the saved
//! configuration is checked with `ferry validate` and read as plain YAML.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::*;

const CATALOGS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/testdata/fbc/small/oc-mirror-test-catalogs"
);
const LABEL: &str = "operators.operatorframework.io.index.configs.v1";

/// The real `test-catalog-latest` catalog's files for `packages`, as `configs/...` tar entries.
fn catalog_files(packages: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for package in packages {
        let dir = Path::new(CATALOGS).join("test-catalog-latest").join(package);
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            files.push((
                format!("configs/{package}/{}", entry.file_name().to_string_lossy()),
                std::fs::read(entry.path()).unwrap(),
            ));
        }
    }
    files
}

/// Pushes `redhat/test-catalog:v1`: an index of amd64, arm64 and s390x catalog images; s390x lacks `baz`.
/// (The same shape as `catalog.rs`'s fixture, without the operator and bundle images a listing never reads.)
fn push_catalog(dir: &TestDir, registry: &TestRegistry) {
    let mut layout = LayoutBuilder::new(dir.join("catalog"));
    let base = tar_bytes(&[("bin/opm", random_bytes(4242, 8192).as_slice())]);
    let as_tar = |files: &[(String, Vec<u8>)]| {
        let entries: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
        tar_bytes(&entries)
    };
    let full = as_tar(&catalog_files(&["foo", "bar", "baz"]));
    let small = as_tar(&catalog_files(&["foo", "bar"]));
    let labels = [(LABEL, "/configs")];
    let amd = layout.image_with_labels(("linux", "amd64", None), &[base.clone(), full.clone()], &labels);
    let arm = layout.image_with_labels(("linux", "arm64", None), &[base.clone(), full], &labels);
    let s390x = layout.image_with_labels(("linux", "s390x", None), &[base, small], &labels);
    let index = layout.index(&[amd, arm, s390x], false);
    layout.tag(&index, "v1");
    push_layout(layout.dir(), "v1", &registry.host(), "redhat/test-catalog:v1");
}

/// A tmux server of its own (private socket) running one command in a fixed-size window.
struct Tmux {
    socket: PathBuf,
    exit_file: PathBuf,
}

impl Tmux {
    /// Starts `script` (run by `sh`) in a `width`×`height` window; its exit code lands in `exit_file`.
    fn start(dir: &TestDir, script: &str, width: u16, height: u16) -> Tmux {
        let socket = dir.join("tmux.sock");
        let exit_file = dir.join("exit-code");
        let script_path = dir.join("run.sh");
        std::fs::write(&script_path, format!("{script}\necho $? > {}\n", exit_file.display())).unwrap();
        let tmux = Tmux { socket, exit_file };
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "ferry",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            &format!("sh {}", script_path.display()),
        ]);
        // Keep the pane after the command exits, to see what the terminal was left showing.
        tmux.run(&["set-option", "-t", "ferry", "remain-on-exit", "on"]);
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux runs");
        assert!(
            output.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Named keys (`Enter`, `Tab`, `Space`, `C-s`, ...).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "ferry"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Literal text.
    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "ferry", "-l", text]);
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "ferry"]).stdout).into_owned()
    }

    /// Waits until the screen shows `needle`; returns the screen.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed `{needle}`:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the command to exit; returns its exit code.
    fn wait_exit(&self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(&self.exit_file) {
                if let Ok(code) = text.trim().parse() {
                    return code;
                }
            }
            assert!(Instant::now() < deadline, "ferry tui did not exit:\n{}", self.screen());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The shell line that starts `ferry tui ARGS` in `dir` with `dir` as HOME and none of the developer's registry,
/// credential or colour settings.
fn ferry_tui_script(dir: &TestDir, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
    format!(
        "cd {dir} && unset REGISTRY_AUTH_FILE CONTAINERS_REGISTRIES_CONF DOCKER_CONFIG NO_COLOR && HOME={dir} {ferry} tui {args}",
        dir = shell_quote(&dir.path().display().to_string()),
        ferry = shell_quote(env!("CARGO_BIN_EXE_ferry")),
        args = args.join(" "),
    )
}

#[test]
fn tui_filters_selects_a_package_its_range_and_an_architecture_saves_and_quits() {
    let dir = TestDir::new("tui_e2e");
    let registry = TestRegistry::start();
    push_catalog(&dir, &registry);
    let output = dir.join("isc.yaml");
    let catalog = format!("docker://{}/redhat/test-catalog:v1", registry.host());
    let out = output.display().to_string();
    let script = ferry_tui_script(&dir, &["--catalog", &catalog, "--src-tls-verify=false", "-o", &out]);
    let tmux = Tmux::start(&dir, &script, 120, 40);

    // The catalog loads: three packages on three platforms.
    let screen = tmux.wait_for("0 selected · 3 shown of 3");
    assert!(screen.contains("[ ] linux/s390x"), "{screen}");
    // Open the packages, filter to baz, select it.
    tmux.keys(&["Enter", "/"]);
    tmux.type_text("baz");
    tmux.wait_for("0 selected · 1 shown of 3");
    tmux.keys(&["Space"]);
    let screen = tmux.wait_for("1 selected · 1 shown of 3");
    assert!(screen.contains("[x] baz"), "{screen}");
    assert!(screen.contains("[modified]"), "{screen}");
    tmux.keys(&["Enter"]);
    // Channels → Bundles of stable (1.1.0, 1.0.1, 1.0.0): 1.0.1 becomes the package's minVersion.
    tmux.keys(&["Enter", "Enter", "j", "p"]);
    tmux.wait_for("1.0.1 – head (package)");
    // Bundles → Platforms; check linux/arm64 (s390x lacks baz).
    tmux.keys(&["Tab"]);
    let screen = tmux.wait_for("[ ] linux/s390x (lacks it)");
    assert!(screen.contains("[ ] linux/arm64"), "{screen}");
    tmux.keys(&["j", "Space"]);
    tmux.wait_for("[x] linux/arm64");
    // Save, then quit (nothing unsaved: no question).
    tmux.keys(&["C-s"]);
    tmux.wait_for("wrote ");
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), 0);
    // The terminal was restored: the alternate screen is gone with the TUI on it.
    let after = tmux.screen();
    assert!(
        !after.contains("Catalogs"),
        "the TUI is still on screen after exit:\n{after}"
    );

    let validate = ferry_bin().args(["validate", "-c"]).arg(&output).output().unwrap();
    assert!(
        validate.status.success(),
        "ferry validate: {}",
        String::from_utf8_lossy(&validate.stderr)
    );
    let text = std::fs::read_to_string(&output).unwrap();
    let isc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let operators = isc["mirror"]["operators"].as_sequence().unwrap();
    assert_eq!(operators.len(), 1, "{text}");
    assert_eq!(
        operators[0]["catalog"].as_str(),
        Some(format!("{}/redhat/test-catalog:v1", registry.host()).as_str())
    );
    let packages: Vec<&str> = operators[0]["packages"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(packages, ["baz"], "{text}");
    assert_eq!(
        operators[0]["packages"][0]["minVersion"].as_str(),
        Some("1.0.1"),
        "{text}"
    );
    let platforms = operators[0]["platforms"].as_sequence().unwrap();
    assert_eq!(platforms.len(), 1, "{text}");
    assert_eq!(platforms[0]["os"].as_str(), Some("linux"), "{text}");
    assert_eq!(platforms[0]["architecture"].as_str(), Some("arm64"), "{text}");
}

#[test]
fn tui_shows_a_load_error_and_quits_without_a_terminal_mess() {
    let dir = TestDir::new("tui_error");
    let registry = TestRegistry::start();
    let ferry = env!("CARGO_BIN_EXE_ferry");
    // Nothing is pushed: the catalog does not exist.
    let script = format!(
        "cd {dir} && HOME={dir} {ferry} tui --catalog {catalog} --src-tls-verify=false",
        dir = shell_quote(&dir.path().display().to_string()),
        ferry = shell_quote(ferry),
        catalog = shell_quote(&format!("{}/redhat/missing:v1", registry.host())),
    );
    let tmux = Tmux::start(&dir, &script, 80, 24);
    let screen = tmux.wait_for("could not be loaded");
    assert!(screen.contains("error:"), "{screen}");
    tmux.keys(&["?"]);
    tmux.wait_for("Keys (esc closes)");
    // Separately: ESC followed at once by `q` reads as alt-q.
    tmux.keys(&["Escape"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux.screen().contains("Keys (esc closes)") {
        assert!(Instant::now() < deadline, "esc did not close the help");
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), 0);
    assert!(!dir.join("imageset-config.yaml").exists(), "nothing was saved");
}

#[test]
fn tui_refuses_to_start_without_a_terminal() {
    let output = ferry_bin().args(["tui"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs a terminal"));
}

#[test]
fn tui_runs_mirror_to_mirror_with_live_progress() {
    let dir = TestDir::new("tui_run");
    let src = TestRegistry::start();
    let dst = TestRegistry::start();
    let image = multi_arch_image(dir.join("app"), 7, &["linux/amd64", "linux/arm64"], false);
    image.push(&src.host(), "team/app:v1");
    let script = ferry_tui_script(&dir, &["--src-tls-verify=false"]);
    let tmux = Tmux::start(&dir, &script, 100, 30);
    tmux.wait_for("No catalog yet");
    // Images: add one.
    tmux.keys(&["2", "a"]);
    tmux.wait_for("Add an additional image");
    tmux.type_text(&format!("{}/team/app:v1", src.host()));
    tmux.keys(&["Enter"]);
    tmux.wait_for("Additional images (1)");
    // Run: mirror-to-mirror into the destination, plain HTTP.
    tmux.keys(&["5", "Enter"]);
    tmux.wait_for("Run the selection");
    tmux.keys(&["Right", "Right", "Down", "C-u"]);
    tmux.type_text(&format!("docker://{}/mirror", dst.host()));
    tmux.keys(&["Down", "C-u"]);
    tmux.type_text(&format!("file://{}", dir.join("ws").display()));
    tmux.keys(&["Down", "Left"]);
    tmux.wait_for("[no]");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("✓ complete");
    assert!(screen.contains("images 1/1"), "{screen}");
    assert!(screen.contains("1 mirrored"), "{screen}");
    // Independently: the image is in the destination, same digest.
    let raw = skopeo_inspect_raw(&format!("docker://{}/mirror/team/app:v1", dst.host())).unwrap();
    assert_eq!(manifest_digest(&raw), image.index.digest);
    // Back to the editor; quitting asks (the configuration was never saved), y quits.
    tmux.keys(&["Escape"]);
    tmux.wait_for("Catalogs");
    tmux.keys(&["q"]);
    tmux.wait_for("unsaved changes");
    tmux.keys(&["y"]);
    assert_eq!(tmux.wait_exit(), 0);
}

#[test]
fn tui_packs_archives_then_pushes_them_with_disk_to_mirror() {
    let dir = TestDir::new("tui_d2m");
    let src = TestRegistry::start();
    let dst = TestRegistry::start();
    let image = multi_arch_image(dir.join("app"), 13, &["linux/amd64", "linux/arm64"], false);
    image.push(&src.host(), "team/app:v1");
    let isc = additional_images(&[format!("{}/team/app:v1", src.host())]);
    write_isc(dir.path(), &isc);
    let script = ferry_tui_script(&dir, &["-c", "isc.yaml", "-o", "isc.yaml", "--src-tls-verify=false"]);
    let archives = format!("file://{}", dir.join("archives").display());
    let tmux = Tmux::start(&dir, &script, 100, 30);
    tmux.wait_for("No catalog yet");
    // Mirror-to-disk into the archive directory.
    tmux.keys(&["5", "Enter"]);
    tmux.wait_for("Run the selection");
    tmux.keys(&["Right", "Down", "C-u"]);
    tmux.type_text(&archives);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("✓ complete  mirror-to-disk");
    assert!(screen.contains("1 mirrored"), "{screen}");
    // Disk-to-mirror of those archives into the destination, plain HTTP.
    tmux.keys(&["Escape"]);
    tmux.wait_for("Catalogs");
    tmux.keys(&["5", "Enter"]);
    tmux.wait_for("Run the selection");
    tmux.keys(&["Right", "Right"]);
    tmux.wait_for("[disk-to-mirror]");
    tmux.keys(&["Down", "C-u"]);
    tmux.type_text(&format!("docker://{}/mirror", dst.host()));
    tmux.keys(&["Down", "C-u"]);
    tmux.type_text(&archives);
    tmux.keys(&["Down", "Left"]);
    tmux.wait_for("[no]");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("✓ complete  disk-to-mirror");
    assert!(screen.contains("1 mirrored"), "{screen}");
    // Independently: the image is in the destination with its digest, and the cluster resources are with the
    // archives' state.
    let raw = skopeo_inspect_raw(&format!("docker://{}/mirror/team/app:v1", dst.host())).unwrap();
    assert_eq!(manifest_digest(&raw), image.index.digest);
    assert!(dir
        .join("archives/working-dir/cluster-resources/itms-oc-mirror.yaml")
        .exists());
    tmux.keys(&["Escape"]);
    tmux.wait_for("Catalogs");
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), 0);
}

#[test]
fn tui_ctrl_c_cancels_a_run_cleanly_and_the_next_run_completes() {
    let dir = TestDir::new("tui_cancel");
    let src = TestRegistry::start();
    let dst = TestRegistry::start();
    // Every blob request to the destination is refused (503, retry in 5 s): the run stays in flight.
    let proxy = FaultProxy::start(
        &dst.host(),
        FaultPlan {
            only_path_containing: Some("/blobs/".into()),
            status_burst: vec![(503, 100_000)],
            retry_after: Some(5),
            ..FaultPlan::default()
        },
    );
    let image = multi_arch_image(dir.join("app"), 11, &["linux/amd64", "linux/arm64"], false);
    image.push(&src.host(), "team/app:v1");
    write_isc(dir.path(), &additional_images(&[format!("{}/team/app:v1", src.host())]));
    let script = ferry_tui_script(&dir, &["-c", "isc.yaml", "-o", "isc.yaml", "--src-tls-verify=false"]);
    let tmux = Tmux::start(&dir, &script, 100, 30);
    tmux.wait_for("No catalog yet");
    tmux.keys(&["5", "Enter"]);
    tmux.wait_for("Run the selection");
    tmux.keys(&["Right", "Right", "Down", "C-u"]);
    tmux.type_text(&format!("docker://{}/mirror", proxy.host()));
    tmux.keys(&["Down", "C-u"]);
    tmux.type_text(&format!("file://{}", dir.join("ws").display()));
    tmux.keys(&["Down", "Left"]);
    tmux.wait_for("[no]");
    tmux.keys(&["Enter"]);
    tmux.wait_for("In flight (1)");
    tmux.keys(&["C-c"]);
    // Back in the editor, saying what happened.
    let screen = tmux.wait_for("run cancelled");
    assert!(screen.contains("Catalogs"), "{screen}");
    assert!(
        skopeo_inspect_raw(&format!("docker://{}/mirror/team/app:v1", dst.host())).is_err(),
        "no manifest refers to what the cancelled run left"
    );
    // The same run again, with the destination healthy: it completes.
    proxy.set_plan(FaultPlan::default());
    tmux.keys(&["5", "Enter"]);
    tmux.wait_for("Run the selection");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("✓ complete");
    assert!(screen.contains("1 mirrored"), "{screen}");
    let raw = skopeo_inspect_raw(&format!("docker://{}/mirror/team/app:v1", dst.host())).unwrap();
    assert_eq!(manifest_digest(&raw), image.index.digest);
    // Nothing was edited: q quits without asking.
    tmux.keys(&["Escape"]);
    tmux.wait_for("Catalogs");
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), 0);
}
