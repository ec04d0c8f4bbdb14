//! The command line itself: `init`, `validate`, help texts and usage errors (no registry needed).

use crate::support::*;

fn ferry(args: &[&str]) -> std::process::Output {
    ferry_bin().args(args).output().expect("run ferry")
}

#[test]
fn init_prints_a_template_that_validates() {
    let dir = TestDir::new("cli_init");
    let init = ferry(&["init"]);
    assert!(init.status.success());
    let path = dir.join("isc.yaml");
    std::fs::write(&path, &init.stdout).unwrap();
    let validate = ferry(&["validate", "-c", path.to_str().unwrap()]);
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );
    assert!(String::from_utf8_lossy(&validate.stdout).contains("valid ImageSetConfiguration"));
}

#[test]
fn validate_accepts_the_shipped_examples_and_rejects_errors_with_their_location() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/imagesetconfigs");
    for entry in std::fs::read_dir(&examples).unwrap().flatten() {
        let output = ferry(&["validate", "-c", entry.path().to_str().unwrap()]);
        assert!(
            output.status.success(),
            "{}: {}",
            entry.path().display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let dir = TestDir::new("cli_validate");
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  blockedImages:\n  - name: \"(x\"\n",
    )
    .unwrap();
    let output = ferry(&["validate", "-c", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.yaml:5:") && stderr.contains("mirror.blockedImages[0].name"),
        "{stderr}"
    );
    let missing = ferry(&["validate", "-c", dir.join("nope.yaml").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(1));
}

/// The description `--help` gives an option: the lines under its name, up to the next option.
fn option_help(help: &str, option: &str) -> String {
    let lines: Vec<&str> = help.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with(option) || l.trim_start().starts_with(&format!("-c, {option}")))
        .unwrap_or_else(|| panic!("--help lacks {option}"));
    lines[start + 1..]
        .iter()
        .take_while(|l| !l.trim_start().starts_with('-'))
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Each option's description in `help` says each of its phrases.
fn assert_options_explained(help: &str, expected: &[(&str, &[&str])]) {
    for (option, phrases) in expected {
        let said = option_help(help, option);
        for phrase in *phrases {
            assert!(
                said.contains(phrase),
                "--help on {option} does not say `{phrase}`: {said}"
            );
        }
    }
}

#[test]
fn mirror_help_explains_every_option_of_the_contract() {
    let help = String::from_utf8_lossy(&ferry(&["mirror", "--help"]).stdout).into_owned();
    // What each option does, its default, and the words a user looks for.
    let expected: &[(&str, &[&str])] = &[
        ("--workspace", &["Mirror-to-mirror", "state", "cluster resources"]),
        ("--from", &["Disk-to-mirror", "archives"]),
        ("--dry-run", &["mapping.txt", "missing.txt", "copy nothing"]),
        ("--since", &["Mirror-to-disk", "not shipped before"]),
        ("--parallel-images", &["Images copied at the same time", "[default: 8]"]),
        ("--parallel-layers", &["Blobs of one image", "[default: 6]"]),
        ("--retry-times", &["429", "5xx", "[default: 5]"]),
        ("--retry-delay", &["doubles", "[default: 1s]"]),
        ("--src-tls-verify", &["source", "plain HTTP", "[default: true]"]),
        ("--dest-tls-verify", &["destination", "plain HTTP", "[default: true]"]),
        (
            "--authfile",
            &["containers-auth.json", "REGISTRY_AUTH_FILE", "~/.docker/config.json"],
        ),
        (
            "--registries-conf",
            &["containers-registries.conf", "CONTAINERS_REGISTRIES_CONF"],
        ),
        ("--platform", &["OS/ARCH[/VARIANT]", "repeatable", "intersected"]),
        ("--log-level", &["error, warn, info, debug or trace", "[default: info]"]),
        ("--quiet", &["errors only"]),
        (
            "--ignore-release-signature",
            &["OCP_SIGNATURE_URL", "OCP_SIGNATURE_VERIFICATION_PK"],
        ),
        ("--output", &["json", "exit code", "[default: text]"]),
        ("--summary-file", &["JSON run summary"]),
        ("--remove-signatures", &[".sig", "referrers"]),
        ("--verify-signatures", &["cosign", "P-256"]),
        ("--signature-policy", &["strict", "best-effort", "[default: strict]"]),
    ];
    assert_options_explained(&help, expected);
    for exit in ["2 release", "4 operator", "8 additional", "16 helm"] {
        assert!(help.contains(exit), "--help does not give the exit code `{exit}`");
    }
}

#[test]
fn usage_errors_say_what_to_do() {
    let dir = TestDir::new("cli_usage");
    let isc = dir.join("isc.yaml");
    std::fs::write(
        &isc,
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror: {}\n",
    )
    .unwrap();
    let no_workspace = ferry(&["mirror", "-c", isc.to_str().unwrap(), "docker://127.0.0.1:5000"]);
    assert_eq!(no_workspace.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_workspace.stderr).contains("--workspace file://DIR"));
    let bad_platform = ferry(&[
        "mirror",
        "-c",
        isc.to_str().unwrap(),
        "--platform",
        "linux",
        "docker://h",
    ]);
    assert_eq!(
        bad_platform.status.code(),
        Some(1),
        "usage errors are 1, not a failed-group bit"
    );
    assert!(String::from_utf8_lossy(&bad_platform.stderr).contains("OS/ARCH"));
}

#[test]
fn completions_and_man_page_come_from_the_command_definitions() {
    let bash = ferry(&["completion", "bash"]);
    assert!(bash.status.success());
    let script = String::from_utf8(bash.stdout).unwrap();
    assert!(script.contains("--ignore-release-signature") && script.contains("--summary-file"));
    // The script is valid bash.
    let dir = TestDir::new("cli_completion");
    let path = dir.join("ferry.bash");
    std::fs::write(&path, &script).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    let zsh = String::from_utf8(ferry(&["completion", "zsh"]).stdout).unwrap();
    assert!(zsh.starts_with("#compdef ferry"), "{}", &zsh[..zsh.len().min(80)]);
    let fish = String::from_utf8(ferry(&["completion", "fish"]).stdout).unwrap();
    assert!(fish.contains("complete -c ferry") && fish.contains("dest-tls-verify"));
    assert!(
        !ferry(&["completion", "powershell"]).status.success(),
        "an unknown shell is a usage error"
    );

    let man = ferry(&["man"]);
    assert!(man.status.success());
    let page = String::from_utf8(man.stdout).unwrap();
    assert!(page.contains(".TH ferry 1"), "{}", &page[..page.len().min(200)]);
    for subcommand in ["mirror", "validate", "describe", "completion"] {
        assert!(page.contains(subcommand), "the man page lists `{subcommand}`");
    }
}

#[test]
fn delete_help_explains_both_phases_and_what_stays() {
    let help = String::from_utf8_lossy(&ferry(&["delete", "--help"]).stdout).into_owned();
    for phrase in ["--generate", "--delete-yaml-file", "garbage collection", "kept"] {
        assert!(
            help.contains(phrase),
            "ferry delete --help does not say `{phrase}`:\n{help}"
        );
    }
    let expected: &[(&str, &[&str])] = &[
        ("--keep", &["must stay", "repeatable"]),
        ("--delete-signatures", &["sha256-<hex>.sig"]),
        ("--dry-run", &["delete nothing"]),
        ("--delete-id", &["delete-images-ID.yaml"]),
    ];
    assert_options_explained(&help, expected);
}
