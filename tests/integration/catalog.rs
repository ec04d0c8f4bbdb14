//! Operator catalogs end to end: multi-arch catalog images built at test time from real file-based catalogs (one
//! platform carrying a smaller catalog), filtered, rebuilt and mirrored; results read back with skopeo and by
//! unpacking the pushed configs layer.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::*;

const CATALOGS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/testdata/fbc/small/oc-mirror-test-catalogs"
);
const LABEL: &str = "operators.operatorframework.io.index.configs.v1";

/// The real `test-catalog-latest` catalog with its images moved into `registry`, as `configs/...` tar entries.
fn catalog_files(registry: &str, operator_digest: &str, packages: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for package in packages {
        let dir = Path::new(CATALOGS).join("test-catalog-latest").join(package);
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let text = text
                .replace(
                    "quay.io/oc-mirror/oc-mirror-dev@sha256:1ce8c0187c8fe6b4be327dc848b8baf062ce1baa5096b4f5d955893d126d5b58",
                    &format!("{registry}/oc-mirror/operator@{operator_digest}"),
                )
                .replace("quay.io/oc-mirror/oc-mirror-dev:", &format!("{registry}/oc-mirror/oc-mirror-dev:"));
            files.push((
                format!("configs/{package}/{}", entry.file_name().to_string_lossy()),
                text.into_bytes(),
            ));
        }
    }
    files
}

pub(crate) struct Fixture {
    pub(crate) src: TestRegistry,
    pub(crate) operator: MultiArchImage,
    pub(crate) catalog_index: String,
}

/// Pushes the operator image, every bundle image the catalog names, and a 3-platform catalog image whose s390x
/// catalog lacks the `baz` package.
pub(crate) fn fixture(dir: &TestDir) -> Fixture {
    let src = TestRegistry::start();
    let operator = multi_arch_image(
        dir.join("operator"),
        900,
        &["linux/amd64", "linux/arm64", "linux/s390x"],
        false,
    );
    operator.push(&src.host(), "oc-mirror/operator:latest");
    for bundle in [
        "foo-bundle-v0.1.0",
        "foo-bundle-v0.2.0",
        "foo-bundle-v0.3.0",
        "foo-bundle-v0.3.1",
        "bar-bundle-v0.1.0",
        "bar-bundle-v0.2.0",
        "bar-bundle-v1.0.0",
        "baz-bundle-v1.0.0",
        "baz-bundle-v1.0.1",
        "baz-bundle-v1.1.0",
    ] {
        let mut layout = LayoutBuilder::new(dir.join(bundle));
        let image = layout.image(
            ("linux", "amd64", None),
            &[random_bytes(
                bundle
                    .bytes()
                    .fold(7919u64, |seed, b| seed.wrapping_mul(31).wrapping_add(u64::from(b))),
                1024,
            )],
        );
        layout.tag(&image, "v");
        push_layout(
            layout.dir(),
            "v",
            &src.host(),
            &format!("oc-mirror/oc-mirror-dev:{bundle}"),
        );
    }
    let mut layout = LayoutBuilder::new(dir.join("catalog"));
    let opm = random_bytes(4242, 8192);
    let base = tar_bytes(&[("bin/opm", opm.as_slice())]);
    let full = catalog_files(&src.host(), &operator.index.digest, &["foo", "bar", "baz"]);
    let small = catalog_files(&src.host(), &operator.index.digest, &["foo", "bar"]);
    let as_tar = |files: &[(String, Vec<u8>)]| {
        let entries: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
        tar_bytes(&entries)
    };
    let labels = [(LABEL, "/configs")];
    let amd = layout.image_with_labels(("linux", "amd64", None), &[base.clone(), as_tar(&full)], &labels);
    let arm = layout.image_with_labels(("linux", "arm64", None), &[base.clone(), as_tar(&full)], &labels);
    let s390x = layout.image_with_labels(("linux", "s390x", None), &[base, as_tar(&small)], &labels);
    let index = layout.index(&[amd, arm, s390x], false);
    layout.tag(&index, "v1");
    push_layout(layout.dir(), "v1", &src.host(), "redhat/test-catalog:v1");
    Fixture {
        src,
        operator,
        catalog_index: index.digest,
    }
}

fn isc(dir: &TestDir, yaml: &str) -> PathBuf {
    write_isc(dir.path(), yaml)
}

fn ferry(dir: &TestDir, args: &[&str]) -> Output {
    ferry_at(dir.path()).args(args).output().unwrap()
}

fn raw_json(reference: &str) -> serde_json::Value {
    serde_json::from_slice(&skopeo_inspect_raw(reference).unwrap_or_else(|e| panic!("{reference}: {e}"))).unwrap()
}

fn blob(registry: &str, repo: &str, digest: &str) -> Vec<u8> {
    let response = http::request(registry, "GET", &format!("/v2/{repo}/blobs/{digest}"), &[], &[]).unwrap();
    assert_eq!(response.status(), 200, "blob {digest}");
    response.body.clone()
}

/// The packages, and bundles per package, of the declarative config in a pushed catalog image's top layer.
fn pushed_catalog(registry: &str, repo: &str, manifest_digest: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let manifest: serde_json::Value =
        serde_json::from_slice(&blob_or_manifest(registry, repo, manifest_digest)).unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    let top = layers.last().unwrap()["digest"].as_str().unwrap();
    let gz = blob(registry, repo, top);
    let mut tar = Vec::new();
    flate2_free_gunzip(&gz, &mut tar);
    let mut archive = tar::Archive::new(tar.as_slice());
    let (mut packages, mut bundles) = (BTreeSet::new(), BTreeSet::new());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut text = String::new();
        if entry.header().entry_type().is_file() {
            entry.read_to_string(&mut text).unwrap();
        }
        // Catalog files are JSON streams (concatenated objects).
        for value in serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>() {
            let Ok(value) = value else { break };
            match value["schema"].as_str() {
                Some("olm.package") => drop(packages.insert(value["name"].as_str().unwrap().to_string())),
                Some("olm.bundle") => drop(bundles.insert(value["name"].as_str().unwrap().to_string())),
                _ => {}
            }
        }
    }
    (packages, bundles)
}

/// The distinct configs layers (the top layer) of the platforms of a catalog index in the source registry.
fn configs_layers(registry: &str, index_digest: &str) -> BTreeSet<String> {
    let index: serde_json::Value =
        serde_json::from_slice(&blob_or_manifest(registry, "redhat/test-catalog", index_digest)).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let digest = entry["digest"].as_str().unwrap();
            let manifest: serde_json::Value =
                serde_json::from_slice(&blob_or_manifest(registry, "redhat/test-catalog", digest)).unwrap();
            let layers = manifest["layers"].as_array().unwrap();
            layers.last().unwrap()["digest"].as_str().unwrap().to_string()
        })
        .collect()
}

/// How many times the registry's access log shows a successful GET of the blob (before the test's own reads).
fn source_blob_fetches(registry: &TestRegistry, repo: &str, digest: &str) -> usize {
    let request = format!("\"GET /v2/{repo}/blobs/{digest} HTTP/1.1\" 200");
    registry.log().matches(&request).count()
}

fn blob_or_manifest(registry: &str, repo: &str, digest: &str) -> Vec<u8> {
    skopeo_inspect_raw(&format!("docker://{registry}/{repo}@{digest}")).unwrap()
}

/// gunzip through the system `gzip` (the test checks ferry's output independently of ferry's own code).
fn flate2_free_gunzip(gz: &[u8], out: &mut Vec<u8>) {
    use std::io::Write;
    let mut child = std::process::Command::new("gzip")
        .arg("-dc")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(gz).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    out.extend_from_slice(&output.stdout);
}

#[test]
fn catalog_is_filtered_per_platform_rebuilt_and_its_images_mirrored() {
    let dir = TestDir::new("catalog_m2m");
    let fixture = fixture(&dir);
    let dst = TestRegistry::start();
    let yaml = format!(
        "  operators:\n  - catalog: {}/redhat/test-catalog:v1\n    platforms: [linux/amd64, linux/s390x]\n    packages:\n    - name: foo\n",
        fixture.src.host()
    );
    let config = isc(&dir, &yaml);
    let workspace = format!("file://{}", dir.join("ws").display());
    let destination = format!("docker://{}/mirror", dst.host());
    let args = [
        "mirror",
        "-c",
        config.to_str().unwrap(),
        "--workspace",
        &workspace,
        &destination,
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
    ];
    // A signature of the catalog's index names the original digest: it does not follow the rebuilt catalog.
    let signature_tag = format!("{}.sig", fixture.catalog_index.replace(':', "-"));
    multi_arch_image(dir.join("catalog-sig"), 950, &["linux/amd64"], false)
        .push(&fixture.src.host(), &format!("redhat/test-catalog:{signature_tag}"));
    let stderr = assert_ok(&ferry(&dir, &args));
    assert!(
        stderr.contains("not copied"),
        "the skipped signatures are reported: {stderr}"
    );
    assert!(skopeo_inspect_raw(&dst.docker_ref(&format!("mirror/redhat/test-catalog:{signature_tag}"))).is_err());

    // The rebuilt index holds exactly the selected platforms.
    let index = raw_json(&dst.docker_ref("mirror/redhat/test-catalog:v1"));
    let entries = index["manifests"].as_array().unwrap();
    let arches: Vec<&str> = entries
        .iter()
        .map(|e| e["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(arches, ["amd64", "s390x"]);
    for entry in entries {
        let (packages, bundles) = pushed_catalog(
            &dst.host(),
            "mirror/redhat/test-catalog",
            entry["digest"].as_str().unwrap(),
        );
        // foo's channel head, plus bar (foo.v0.3.1 requires package bar): dependencies are resolved.
        assert!(packages.contains("foo") && !packages.contains("baz"), "{packages:?}");
        assert!(
            bundles.contains("foo.v0.3.1") && !bundles.contains("foo.v0.1.0"),
            "{bundles:?}"
        );
    }
    // The bundle image and the operator image (by digest, every platform) are at the destination.
    assert!(skopeo_inspect_raw(&dst.docker_ref("mirror/oc-mirror/oc-mirror-dev:foo-bundle-v0.3.1")).is_ok());
    let operator = raw_json(&dst.docker_ref(&format!("mirror/oc-mirror/operator@{}", fixture.operator.index.digest)));
    // Pinned by digest, on a registry that refuses sparse indexes: every platform, so the digest stays pullable.
    assert_eq!(operator["manifests"].as_array().unwrap().len(), 3);
    assert!(skopeo_inspect_raw(&dst.docker_ref("mirror/oc-mirror/oc-mirror-dev:foo-bundle-v0.1.0")).is_err());

    // Each configs layer was fetched from the source once: read for the declarative config, then copied under the
    // rebuilt catalog from the run's spool, which is gone after the run.
    for layer in configs_layers(&fixture.src.host(), &fixture.catalog_index) {
        let fetches = source_blob_fetches(&fixture.src, "redhat/test-catalog", &layer);
        assert_eq!(fetches, 1, "configs layer {layer} fetched {fetches} times");
        assert_eq!(
            blob(&dst.host(), "mirror/redhat/test-catalog", &layer),
            blob(&fixture.src.host(), "redhat/test-catalog", &layer)
        );
    }
    // A bundle the catalog names by tag is pinned with a HEAD, and its manifest fetched once, by digest.
    let log = fixture.src.log();
    let by_tag = "/v2/oc-mirror/oc-mirror-dev/manifests/foo-bundle-v0.3.1 HTTP/1.1\" 200";
    assert!(
        log.contains(&format!("\"HEAD {by_tag}")),
        "the tag was not resolved with a HEAD"
    );
    assert!(
        !log.contains(&format!("\"GET {by_tag}")),
        "the manifest was fetched by tag too"
    );
    let working_dir = std::fs::read_dir(dir.join("ws/working-dir")).unwrap();
    let leftovers: Vec<_> = working_dir
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("spool"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let resources = dir.join("ws/working-dir/cluster-resources");
    let cs = std::fs::read_to_string(resources.join("cs-test-catalog-v1.yaml")).unwrap();
    assert!(
        cs.contains(&format!("image: {}/mirror/redhat/test-catalog:v1", dst.host())),
        "{cs}"
    );
    assert!(resources.join("cc-test-catalog-v1.yaml").exists());
    let idms = std::fs::read_to_string(resources.join("idms-oc-mirror.yaml")).unwrap();
    assert!(
        idms.contains("idms-operator-0") && idms.contains(&format!("source: {}/oc-mirror", fixture.src.host())),
        "{idms}"
    );
    assert!(!idms.contains("test-catalog"), "catalogs are not in the IDMS: {idms}");

    // The same filter rebuilds the same bytes: a second run changes nothing.
    let first = manifest_digest(&skopeo_inspect_raw(&dst.docker_ref("mirror/redhat/test-catalog:v1")).unwrap());
    let stderr = assert_ok(&ferry(&dir, &args));
    let second = manifest_digest(&skopeo_inspect_raw(&dst.docker_ref("mirror/redhat/test-catalog:v1")).unwrap());
    assert_eq!(first, second);
    assert_ne!(first, fixture.catalog_index);
    assert!(stderr.contains("0 failed"), "{stderr}");
}

#[test]
fn unknown_package_and_non_catalog_images_fail_the_operator_group_with_a_message() {
    let dir = TestDir::new("catalog_errors");
    let fixture = fixture(&dir);
    let dst = TestRegistry::start();
    let yaml = format!(
        "  operators:\n  - catalog: {0}/redhat/test-catalog:v1\n    packages:\n    - name: fooo\n  - catalog: {0}/oc-mirror/operator:latest\n",
        fixture.src.host()
    );
    let config = isc(&dir, &yaml);
    let workspace = format!("file://{}", dir.join("ws").display());
    let output = ferry(
        &dir,
        &[
            "mirror",
            "-c",
            config.to_str().unwrap(),
            "--workspace",
            &workspace,
            &format!("docker://{}", dst.host()),
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
        ],
    );
    assert_eq!(
        output.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("fooo") && stderr.contains("foo"),
        "names the unknown package and a close match: {stderr}"
    );
    assert!(stderr.contains("is not a catalog image"), "{stderr}");
}

#[test]
fn list_operators_shows_packages_per_platform_online_and_offline_from_an_archive() {
    let dir = TestDir::new("catalog_list");
    let fixture = fixture(&dir);
    let catalog = format!("docker://{}/redhat/test-catalog:v1", fixture.src.host());
    let output = ok_stdout(ferry(
        &dir,
        &[
            "list",
            "operators",
            "--catalog",
            &catalog,
            "--src-tls-verify=false",
            "--output",
            "json",
        ],
    ));
    let listed: serde_json::Value = serde_json::from_str(&output).unwrap();
    let packages = listed["packages"].as_array().unwrap();
    let names: Vec<&str> = packages.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["bar", "baz", "foo"]);
    let baz = packages.iter().find(|p| p["name"] == "baz").unwrap();
    assert_eq!(
        baz["catalogPlatforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"]),
        "s390x lacks baz"
    );
    let foo = ok_stdout(ferry(
        &dir,
        &[
            "list",
            "operators",
            "--catalog",
            &catalog,
            "--src-tls-verify=false",
            "--package",
            "foo",
            "--channel",
            "beta",
        ],
    ));
    assert!(
        foo.contains("channel beta (head foo.v0.3.1") && foo.contains("foo.v0.1.0"),
        "{foo}"
    );

    // Offline: the archive carries the rebuilt (filtered) catalog.
    let config = isc(
        &dir,
        &format!(
            "  operators:\n  - catalog: {}/redhat/test-catalog:v1\n    packages:\n    - name: baz\n",
            fixture.src.host()
        ),
    );
    let archive = dir.join("archive");
    assert_ok(&ferry(
        &dir,
        &[
            "mirror",
            "-c",
            config.to_str().unwrap(),
            &format!("file://{}", archive.display()),
            "--src-tls-verify=false",
        ],
    ));
    let offline = ok_stdout(ferry(
        &dir,
        &[
            "list",
            "operators",
            "--catalog",
            &catalog,
            "--from",
            &format!("file://{}", archive.display()),
            "--output",
            "json",
        ],
    ));
    let offline: serde_json::Value = serde_json::from_str(&offline).unwrap();
    let names: Vec<&str> = offline["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["baz"], "the archive holds the filtered catalog");

    // And the archive pushed to a registry gets its CatalogSource.
    let dst = TestRegistry::start();
    assert_ok(&ferry(
        &dir,
        &[
            "mirror",
            "-c",
            config.to_str().unwrap(),
            "--from",
            &format!("file://{}", archive.display()),
            &format!("docker://{}/mirror", dst.host()),
            "--dest-tls-verify=false",
        ],
    ));
    let cs = std::fs::read_to_string(archive.join("working-dir/cluster-resources/cs-test-catalog-v1.yaml")).unwrap();
    assert!(
        cs.contains(&format!("image: {}/mirror/redhat/test-catalog:v1", dst.host())),
        "{cs}"
    );
    assert!(skopeo_inspect_raw(&dst.docker_ref("mirror/oc-mirror/oc-mirror-dev:baz-bundle-v1.1.0")).is_ok());
}

fn ok_stdout(output: Output) -> String {
    assert!(
        output.status.success(),
        "ferry failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
