//! Mirror-to-mirror of `additionalImages` against real registries, checked with skopeo and raw HTTP.

use std::path::Path;

use crate::support::*;

fn raw(reference: &str) -> Vec<u8> {
    skopeo_inspect_raw(reference).unwrap_or_else(|e| panic!("skopeo inspect {reference}: {e}"))
}

fn children(index: &[u8]) -> Vec<serde_json::Value> {
    let value: serde_json::Value = serde_json::from_slice(index).unwrap();
    value["manifests"].as_array().cloned().unwrap_or_default()
}

/// Every manifest of the source graph is at the destination byte for byte, by digest.
fn assert_graph_copied(source_repo: &str, dest_repo: &str, digest: &str) {
    let source = raw(&format!("{source_repo}@{digest}"));
    let dest = raw(&format!("{dest_repo}@{digest}"));
    assert_eq!(source, dest, "manifest {digest} differs");
    for child in children(&dest) {
        assert_graph_copied(source_repo, dest_repo, child["digest"].as_str().unwrap());
    }
}

#[test]
fn three_platform_oci_index_is_copied_byte_for_byte() {
    let dir = TestDir::new("m2m_oci_index");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let image = multi_arch_image(
        dir.join("img"),
        11,
        &["linux/amd64", "linux/arm64/v8", "linux/s390x"],
        false,
    );
    image.push(&src.host(), "team/app:v1");

    let run = mirror_to_registry(
        &dir,
        &format!("  additionalImages:\n  - name: {}/team/app:v1\n", src.host()),
        &format!("{}/mirror", dst.host()),
        &[],
    );
    run.assert_success();

    let copied = raw(&dst.docker_ref("mirror/team/app:v1"));
    assert_eq!(manifest_digest(&copied), image.index.digest);
    assert_eq!(children(&copied).len(), 3);
    assert_graph_copied(
        &src.docker_ref("team/app"),
        &dst.docker_ref("mirror/team/app"),
        &image.index.digest,
    );
    let itms = run.working_file("cluster-resources/itms-oc-mirror.yaml");
    assert!(
        itms.contains(&format!("source: {}/team", src.host()))
            && itms.contains(&format!("- {}/mirror/team", dst.host())),
        "{itms}"
    );
    assert!(run.working_file("mapping.txt").contains(&image.index.digest));
}

#[test]
fn docker_manifest_list_and_nested_index_keep_their_digests() {
    let dir = TestDir::new("m2m_docker_nested");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let list = multi_arch_image(dir.join("list"), 21, &["linux/amd64", "linux/ppc64le"], true);
    list.push(&src.host(), "docker/list:1");

    let mut layout = LayoutBuilder::new(dir.join("nested"));
    let amd = layout.image(("linux", "amd64", None), &[random_bytes(31, 3000)]);
    let arm = layout.image(("linux", "arm64", Some("v8")), &[random_bytes(32, 3000)]);
    let inner = layout.index(&[amd.clone(), arm.clone()], false);
    let attestation = layout.attestation_for(&amd);
    let s390x = layout.image(("linux", "s390x", None), &[random_bytes(33, 3000)]);
    let outer = layout.index(&[inner.clone(), s390x, attestation], false);
    layout.tag(&outer, "nested");
    push_layout(layout.dir(), "nested", &src.host(), "nested/app:2");

    let yaml = format!(
        "  additionalImages:\n  - name: {0}/docker/list:1\n  - name: {0}/nested/app:2\n",
        src.host()
    );
    let run = mirror_to_registry(&dir, &yaml, &dst.host(), &[]);
    run.assert_success();

    assert_eq!(
        manifest_digest(&raw(&src.docker_ref("docker/list:1"))),
        list.index.digest,
        "fixture pushed as built"
    );
    assert_eq!(
        manifest_digest(&raw(&dst.docker_ref("docker/list:1"))),
        list.index.digest,
        "{}",
        run.stderr()
    );
    assert_graph_copied(
        &src.docker_ref("docker/list"),
        &dst.docker_ref("docker/list"),
        &list.index.digest,
    );
    assert_eq!(
        manifest_digest(&raw(&src.docker_ref("nested/app:2"))),
        outer.digest,
        "nested fixture pushed as built"
    );
    assert_eq!(
        manifest_digest(&raw(&dst.docker_ref("nested/app:2"))),
        outer.digest,
        "{}",
        run.stderr()
    );
    assert_graph_copied(
        &src.docker_ref("nested/app"),
        &dst.docker_ref("nested/app"),
        &outer.digest,
    );
}

#[test]
fn digest_reference_is_tagged_by_digest_and_listed_in_the_idms() {
    let dir = TestDir::new("m2m_digest");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let image = multi_arch_image(dir.join("img"), 41, &["linux/amd64", "linux/arm64"], false);
    image.push(&src.host(), "ns/pinned:v1");

    let yaml = format!(
        "  additionalImages:\n  - name: {}/ns/pinned@{}\n",
        src.host(),
        image.index.digest
    );
    let run = mirror_to_registry(&dir, &yaml, &format!("{}/m", dst.host()), &[]);
    run.assert_success();

    let tag = format!("sha256-{}", image.index.hex());
    assert_eq!(
        manifest_digest(&raw(&dst.docker_ref(&format!("m/ns/pinned:{tag}")))),
        image.index.digest
    );
    assert_graph_copied(
        &src.docker_ref("ns/pinned"),
        &dst.docker_ref("m/ns/pinned"),
        &image.index.digest,
    );
    let idms = run.working_file("cluster-resources/idms-oc-mirror.yaml");
    assert!(
        idms.contains("kind: ImageDigestMirrorSet") && idms.contains(&format!("source: {}/ns", src.host())),
        "{idms}"
    );
    assert!(!run
        .workspace
        .join("working-dir/cluster-resources/itms-oc-mirror.yaml")
        .exists());
}

#[test]
fn platform_filter_on_a_tag_rewrites_the_index_when_sparse_indexes_are_rejected() {
    let dir = TestDir::new("m2m_filter_tag");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let image = multi_arch_image(
        dir.join("img"),
        51,
        &["linux/amd64", "linux/arm64/v8", "linux/s390x"],
        false,
    );
    image.push(&src.host(), "ns/app:v1");

    let yaml = format!(
        "  additionalImages:\n  - name: {}/ns/app:v1\n    platforms:\n    - linux/arm64\n",
        src.host()
    );
    let run = mirror_to_registry(&dir, &yaml, &dst.host(), &[]);
    run.assert_success();

    let copied = raw(&dst.docker_ref("ns/app:v1"));
    let entries = children(&copied);
    assert_eq!(
        entries.len(),
        1,
        "only arm64 remains: {}",
        String::from_utf8_lossy(&copied)
    );
    assert_eq!(entries[0]["platform"]["architecture"], "arm64");
    assert_eq!(entries[0]["digest"].as_str(), Some(image.manifests[1].digest.as_str()));
    let new_digest = manifest_digest(&copied);
    assert_ne!(new_digest, image.index.digest);
    assert!(
        skopeo_inspect_raw(&dst.docker_ref(&format!("ns/app@{}", image.manifests[0].digest))).is_err(),
        "amd64 must not be copied"
    );
    let mapping = run.working_file("mapping.txt");
    assert!(
        mapping.contains(&new_digest) && mapping.contains(&image.index.digest),
        "{mapping}"
    );
    assert!(run.stderr().contains("rewritten"), "{}", run.stderr());
}

#[test]
fn platform_filter_on_a_digest_copies_everything_when_sparse_indexes_are_rejected() {
    let dir = TestDir::new("m2m_filter_digest");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let image = multi_arch_image(dir.join("img"), 61, &["linux/amd64", "linux/arm64/v8"], false);
    image.push(&src.host(), "ns/app:v1");

    let yaml = format!(
        "  additionalImages:\n  - name: {}/ns/app@{}\n    platforms:\n    - linux/amd64\n",
        src.host(),
        image.index.digest
    );
    let run = mirror_to_registry(&dir, &yaml, &dst.host(), &[]);
    run.assert_success();

    assert_graph_copied(
        &src.docker_ref("ns/app"),
        &dst.docker_ref("ns/app"),
        &image.index.digest,
    );
    assert!(
        run.stderr().contains("rejects sparse indexes") && run.stderr().contains("linux/arm64/v8"),
        "{}",
        run.stderr()
    );
}

#[test]
fn command_line_platform_intersects_the_entry_platforms() {
    let dir = TestDir::new("m2m_cli_platform");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let image = multi_arch_image(
        dir.join("img"),
        71,
        &["linux/amd64", "linux/arm64", "linux/s390x"],
        false,
    );
    image.push(&src.host(), "ns/app:v1");

    let yaml = format!(
        "  additionalImages:\n  - name: {}/ns/app:v1\n    platforms: [linux/amd64, linux/s390x]\n",
        src.host()
    );
    let run = mirror_to_registry(
        &dir,
        &yaml,
        &dst.host(),
        &["--platform", "linux/s390x", "--platform", "linux/arm64"],
    );
    run.assert_success();

    let entries = children(&raw(&dst.docker_ref("ns/app:v1")));
    let arches: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["platform"]["architecture"].as_str())
        .collect();
    assert_eq!(arches, ["s390x"]);
}

#[test]
fn blocked_images_are_not_mirrored() {
    let dir = TestDir::new("m2m_blocked");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    multi_arch_image(dir.join("a"), 81, &["linux/amd64"], false).push(&src.host(), "keep/app:1");
    multi_arch_image(dir.join("b"), 82, &["linux/amd64"], false).push(&src.host(), "drop/app:1");

    let yaml = format!(
        "  additionalImages:\n  - name: {0}/keep/app:1\n  - name: {0}/drop/app:1\n  blockedImages:\n  - name: \"drop/.*\"\n",
        src.host()
    );
    let run = mirror_to_registry(&dir, &yaml, &dst.host(), &[]);
    run.assert_success();
    assert!(skopeo_inspect_raw(&dst.docker_ref("keep/app:1")).is_ok());
    assert!(
        skopeo_inspect_raw(&dst.docker_ref("drop/app:1")).is_err(),
        "blocked image reached the destination"
    );
    assert!(run.stderr().contains("blocked"), "{}", run.stderr());
}

#[test]
fn basic_auth_destination_with_right_and_wrong_credentials() {
    let dir = TestDir::new("m2m_auth");
    let src = TestRegistry::start();
    let dst = TestRegistry::start_with_htpasswd("mirror-user", "s3cret-Passw0rd");
    let image = multi_arch_image(dir.join("img"), 91, &["linux/amd64", "linux/arm64"], false);
    image.push(&src.host(), "ns/app:v1");
    let yaml = format!("  additionalImages:\n  - name: {}/ns/app:v1\n", src.host());

    let wrong = dir.join("wrong.json");
    std::fs::write(
        &wrong,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#,
            dst.host(),
            basic_b64("mirror-user", "not-the-password")
        ),
    )
    .unwrap();
    let run = mirror_to_registry(&dir, &yaml, &dst.host(), &["--authfile", wrong.to_str().unwrap()]);
    assert_ne!(run.code(), 0);
    assert!(run.stderr().contains("refused the credentials"), "{}", run.stderr());
    assert!(
        !run.stderr().contains("not-the-password"),
        "a password leaked: {}",
        run.stderr()
    );

    let right = dir.join("right.json");
    std::fs::write(
        &right,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#,
            dst.host(),
            basic_b64("mirror-user", "s3cret-Passw0rd")
        ),
    )
    .unwrap();
    let run = mirror_to_registry(&dir, &yaml, &dst.host(), &["--authfile", right.to_str().unwrap()]);
    run.assert_success();
    let copied =
        skopeo_inspect_raw_with_creds(&dst.docker_ref("ns/app:v1"), Some(("mirror-user", "s3cret-Passw0rd"))).unwrap();
    assert_eq!(manifest_digest(&copied), image.index.digest);
    let log = run.working_file("logs/ferry.log");
    assert!(!log.contains("s3cret-Passw0rd"), "a password leaked into the log");
}

#[test]
fn second_run_transfers_nothing_and_shared_layers_are_uploaded_once() {
    let dir = TestDir::new("m2m_noop_shared");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    // Two images whose platforms share one base layer.
    let mut layout = LayoutBuilder::new(dir.join("shared"));
    let base = random_bytes(101, 64 * 1024);
    let mut indexes = Vec::new();
    for (i, name) in ["one", "two"].iter().enumerate() {
        let amd = layout.image(
            ("linux", "amd64", None),
            &[base.clone(), random_bytes(110 + i as u64, 4096)],
        );
        let arm = layout.image(
            ("linux", "arm64", None),
            &[base.clone(), random_bytes(120 + i as u64, 4096)],
        );
        let index = layout.index(&[amd, arm], false);
        layout.tag(&index, name);
        indexes.push(index);
    }
    push_layout(layout.dir(), "one", &src.host(), "ns/one:1");
    push_layout(layout.dir(), "two", &src.host(), "ns/two:1");
    let proxy = FaultProxy::start(&dst.host(), FaultPlan::default());
    let yaml = format!(
        "  additionalImages:\n  - name: {0}/ns/one:1\n  - name: {0}/ns/two:1\n",
        src.host()
    );

    let first = mirror_to_registry(&dir, &yaml, &proxy.host(), &[]);
    first.assert_success();
    let base_digest = sha256_digest(&gzip_stored(&base));
    let base_hex = base_digest.trim_start_matches("sha256:");
    let uploads_of_base = proxy
        .requests()
        .iter()
        .filter(|r| r.starts_with("PUT") && r.contains(base_hex))
        .count();
    assert_eq!(
        uploads_of_base,
        1,
        "the shared layer is uploaded once:\n{}",
        proxy.requests().join("\n")
    );
    assert!(
        proxy
            .requests()
            .iter()
            .any(|r| r.starts_with("POST") && r.contains("mount=")),
        "the second repository mounts it"
    );
    for (name, index) in ["ns/one:1", "ns/two:1"].iter().zip(&indexes) {
        assert_eq!(manifest_digest(&raw(&dst.docker_ref(name))), index.digest);
    }

    let before = proxy.requests().len();
    let second = mirror_to_registry(&dir, &yaml, &proxy.host(), &[]);
    second.assert_success();
    let writes: Vec<String> = proxy.requests()[before..]
        .iter()
        .filter(|r| r.starts_with("PUT") || r.starts_with("POST") || r.starts_with("PATCH"))
        .cloned()
        .collect();
    assert!(writes.is_empty(), "a no-op run wrote: {writes:?}");
    assert!(second.stderr().contains("2 unchanged"), "{}", second.stderr());
}

#[test]
fn malformed_config_names_file_line_and_field() {
    let dir = TestDir::new("m2m_bad_config");
    let dst = TestRegistry::start();
    let run = mirror_to_registry(
        &dir,
        "  additionalImages:\n  - name: quay.io/a/b:1\n    tagret: x\n",
        &dst.host(),
        &[],
    );
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let stderr = run.stderr();
    assert!(stderr.contains("isc.yaml:6:") && stderr.contains("tagret"), "{stderr}");
}

#[test]
fn unreachable_destination_is_a_clear_error() {
    let dir = TestDir::new("m2m_unreachable");
    let src = TestRegistry::start();
    multi_arch_image(dir.join("img"), 131, &["linux/amd64"], false).push(&src.host(), "ns/app:1");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let yaml = format!("  additionalImages:\n  - name: {}/ns/app:1\n", src.host());
    let run = mirror_to_registry(&dir, &yaml, &format!("127.0.0.1:{port}"), &["--retry-times", "1"]);
    assert_ne!(run.code(), 0);
    assert!(
        run.stderr().contains("cannot reach registry") && run.stderr().contains("help:"),
        "{}",
        run.stderr()
    );
}

#[test]
fn unreachable_source_fails_the_image_with_the_additional_images_exit_bit() {
    let dir = TestDir::new("m2m_unreachable_src");
    let dst = TestRegistry::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let yaml = format!("  additionalImages:\n  - name: 127.0.0.1:{port}/ns/app:1\n");
    let run = mirror_to_registry(&dir, &yaml, &dst.host(), &["--retry-times", "1"]);
    assert_eq!(run.code(), 8, "{}", run.stderr());
    let errors: Vec<_> = std::fs::read_dir(run.workspace.join("working-dir/logs"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("mirroring_errors"))
        .collect();
    assert_eq!(errors.len(), 1);
}

#[test]
fn injected_429_5xx_and_resets_are_survived_with_content_verified() {
    let dir = TestDir::new("m2m_faults");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let image = multi_arch_image(
        dir.join("img"),
        141,
        &["linux/amd64", "linux/arm64", "linux/s390x"],
        false,
    );
    image.push(&src.host(), "ns/app:v1");
    let source_proxy = FaultProxy::start(
        &src.host(),
        FaultPlan {
            status_burst: vec![(429, 3), (503, 2)],
            retry_after: Some(0),
            reset_every_nth: Some(4),
            truncate_body_of_nth_blob_get: Some(2),
            ..FaultPlan::default()
        },
    );
    let dest_proxy = FaultProxy::start(
        &dst.host(),
        FaultPlan {
            only_method: Some("PUT".into()),
            status_burst: vec![(500, 1), (502, 1)],
            reset_first: 1,
            ..FaultPlan::default()
        },
    );
    let yaml = format!("  additionalImages:\n  - name: {}/ns/app:v1\n", source_proxy.host());
    let run = mirror_to_registry(&dir, &yaml, &dest_proxy.host(), &["--retry-times", "8"]);
    run.assert_success();
    assert!(
        source_proxy.injected().statuses == 5 && source_proxy.injected().resets > 0,
        "{:?}",
        source_proxy.injected()
    );
    assert_eq!(source_proxy.injected().truncations, 1);
    assert!(dest_proxy.injected().total() >= 3, "{:?}", dest_proxy.injected());
    assert_graph_copied(
        &src.docker_ref("ns/app"),
        &dst.docker_ref("ns/app"),
        &image.index.digest,
    );
}

/// Issue 12: a source that cuts manifest bodies short (headers announce the full length, then the connection
/// closes) once lost images at once; each manifest GET is now retried like any other request.
#[test]
fn cut_manifest_bodies_are_retried_and_every_image_arrives() {
    let dir = TestDir::new("m2m_cut_manifests");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let mut names = Vec::new();
    for i in 0..3u64 {
        let image = multi_arch_image(
            dir.join(format!("img{i}")),
            191 + i,
            &["linux/amd64", "linux/arm64"],
            false,
        );
        image.push(&src.host(), &format!("ns/app{i}:v1"));
        names.push((format!("ns/app{i}"), image.index.digest.clone()));
    }
    let source_proxy = FaultProxy::start(
        &src.host(),
        FaultPlan {
            only_method: Some("GET".into()),
            only_path_containing: Some("/manifests/".into()),
            truncate_first: 4,
            ..FaultPlan::default()
        },
    );
    let images: Vec<String> = names
        .iter()
        .map(|(repo, _)| format!("{}/{repo}:v1", source_proxy.host()))
        .collect();
    let run = mirror_to_registry(
        &dir,
        &additional_images(&images),
        &dst.host(),
        &["--log-level", "debug"],
    );
    run.assert_success();
    assert_eq!(source_proxy.injected().truncations, 4, "{:?}", source_proxy.injected());
    // Progress says why the run was slow: every retry is reported, whatever the request.
    let retries = run
        .log()
        .lines()
        .filter(|l| l.contains("retry 1 of GET manifest"))
        .count();
    assert!(retries >= 1, "{}", run.log());
    for (repo, digest) in &names {
        assert_graph_copied(&src.docker_ref(repo), &dst.docker_ref(repo), digest);
    }
}

#[test]
fn dry_run_writes_mapping_and_missing_and_copies_nothing() {
    let dir = TestDir::new("m2m_dry_run");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    multi_arch_image(dir.join("img"), 151, &["linux/amd64"], false).push(&src.host(), "ns/app:1");
    let yaml = format!("  additionalImages:\n  - name: {}/ns/app:1\n", src.host());
    let run = mirror_to_registry(&dir, &yaml, &format!("{}/mirror", dst.host()), &["--dry-run"]);
    run.assert_success();
    let expected = format!(
        "docker://{0}/ns/app:1=docker://{1}/mirror/ns/app:1",
        src.host(),
        dst.host()
    );
    assert_eq!(run.working_file("dry-run/mapping.txt").trim(), expected);
    assert_eq!(run.working_file("dry-run/missing.txt").trim(), expected);
    assert!(
        skopeo_inspect_raw(&dst.docker_ref("mirror/ns/app:1")).is_err(),
        "dry run copied something"
    );
}

#[test]
fn oci_layout_source_from_the_examples_mirrors() {
    let dir = TestDir::new("m2m_oci_source");
    let dst = TestRegistry::start();
    let layout = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo/layout");
    let yaml = format!(
        "  additionalImages:\n  - name: oci://{}:hello\n    targetRepo: demo/hello\n",
        layout.display()
    );
    let run = mirror_to_registry(&dir, &yaml, &dst.host(), &[]);
    run.assert_success();
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let expected = index["manifests"][0]["digest"].as_str().unwrap();
    assert_eq!(manifest_digest(&raw(&dst.docker_ref("demo/hello:hello"))), expected);
}

#[test]
fn a_group_that_cannot_be_collected_fails_its_bit_and_the_others_are_mirrored() {
    let dir = TestDir::new("m2m_failed_group");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    multi_arch_image(dir.join("img"), 161, &["linux/amd64"], false).push(&src.host(), "ns/app:1");
    let yaml = format!(
        "  helm:\n    repositories:\n    - name: podinfo\n      url: https://charts.example.invalid/podinfo\n      charts:\n      - name: podinfo\n        version: 6.5.0\n  additionalImages:\n  - name: {}/ns/app:1\n",
        src.host()
    );
    let run = mirror_to_registry(&dir, &yaml, &dst.host(), &[]);
    assert_eq!(run.code(), 16, "helm group bit: {}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.contains("mirror.helm.repositories[0] (podinfo)") && stderr.contains("charts.example.invalid"),
        "the failure names the entry and the server: {stderr}"
    );
    assert!(
        skopeo_inspect_raw(&dst.docker_ref("ns/app:1")).is_ok(),
        "the additional image is still mirrored"
    );
}

#[test]
fn registries_conf_mirrors_serve_sources_that_cannot_be_reached() {
    let dir = TestDir::new("m2m_registries_conf");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let image = multi_arch_image(dir.join("img"), 171, &["linux/amd64", "linux/arm64"], false);
    image.push(&src.host(), "enclave/ns/app:1");
    let conf = dir.join("registries.conf");
    std::fs::write(
        &conf,
        format!("[[registry]]\nprefix = \"quay.example.invalid/ns\"\nlocation = \"quay.example.invalid/ns\"\n\n[[registry.mirror]]\nlocation = \"{}/enclave/ns\"\n", src.host()),
    )
    .unwrap();
    let yaml = "  additionalImages:\n  - name: quay.example.invalid/ns/app:1\n";
    let run = mirror_to_registry(&dir, yaml, &dst.host(), &["--registries-conf", conf.to_str().unwrap()]);
    run.assert_success();
    assert_eq!(manifest_digest(&raw(&dst.docker_ref("ns/app:1"))), image.index.digest);
    let itms = run.working_file("cluster-resources/itms-oc-mirror.yaml");
    assert!(
        itms.contains("source: quay.example.invalid/ns"),
        "resources name the configured source: {itms}"
    );
}

#[test]
fn oci_layout_destination_keeps_every_parallel_entry_and_feeds_a_registry_back() {
    let dir = TestDir::new("m2m_oci_destination");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let mut yaml = String::from("  additionalImages:\n");
    let mut images = Vec::new();
    for i in 0..6u64 {
        let image = multi_arch_image(
            dir.join(format!("img{i}")),
            300 + i,
            &["linux/amd64", "linux/arm64"],
            i % 2 == 0,
        );
        image.push(&src.host(), &format!("team/app{i}:v1"));
        yaml.push_str(&format!("  - name: {}/team/app{i}:v1\n", src.host()));
        images.push(image);
    }
    let isc = write_isc(dir.path(), &yaml);
    let layout = dir.join("layout");
    let output = ferry_at(dir.path())
        .args(["mirror", "-c"])
        .arg(&isc)
        .arg("--workspace")
        .arg(format!("file://{}", dir.join("ws").display()))
        .arg(format!("oci://{}", layout.display()))
        .args(["--src-tls-verify=false", "--parallel-images", "6"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        index["manifests"].as_array().unwrap().len(),
        6,
        "no index.json entry lost: {index}"
    );
    for (i, image) in images.iter().enumerate() {
        let entry = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["annotations"]["org.opencontainers.image.ref.name"] == format!("team/app{i}:v1"))
            .unwrap_or_else(|| panic!("team/app{i}:v1 missing from {index}"));
        assert_eq!(entry["digest"].as_str(), Some(image.index.digest.as_str()));
        let bytes = std::fs::read(layout.join("blobs/sha256").join(image.index.hex())).unwrap();
        assert_eq!(manifest_digest(&bytes), image.index.digest);
        if i % 2 == 1 {
            // skopeo reads OCI media types from layouts (not Docker ones): an independent check of those.
            let copied = raw(&format!("oci:{}:team/app{i}:v1", layout.display()));
            assert_eq!(manifest_digest(&copied), image.index.digest);
        }
    }

    // And back: the layout as a source.
    let back = format!(
        "  additionalImages:\n  - name: oci://{}:team/app3:v1\n    targetRepo: back/app3\n",
        layout.display()
    );
    let run = mirror_to_registry(&dir, &back, &dst.host(), &[]);
    run.assert_success();
    assert_eq!(
        manifest_digest(&raw(&dst.docker_ref("back/app3:v1"))),
        images[3].index.digest
    );
}

#[test]
fn an_insecure_mirror_in_registries_conf_is_reached_over_plain_http_while_tls_stays_verified_elsewhere() {
    let dir = TestDir::new("m2m_insecure_mirror");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let image = multi_arch_image(dir.join("img"), 181, &["linux/amd64"], false);
    image.push(&src.host(), "enclave/ns/app:1");
    let conf = dir.join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "[[registry]]\nlocation = \"quay.example.invalid/ns\"\n\n[[registry.mirror]]\nlocation = \"{}/enclave/ns\"\ninsecure = true\n",
            src.host()
        ),
    )
    .unwrap();
    let isc = write_isc(
        dir.path(),
        "  additionalImages:\n  - name: quay.example.invalid/ns/app:1\n",
    );
    let output = ferry_at(dir.path())
        .args(["mirror", "-c"])
        .arg(&isc)
        .arg("--workspace")
        .arg(format!("file://{}", dir.join("ws").display()))
        .arg(format!("docker://{}", dst.host()))
        .args(["--dest-tls-verify=false", "--registries-conf", conf.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(manifest_digest(&raw(&dst.docker_ref("ns/app:1"))), image.index.digest);
}

#[test]
fn tls_registries_are_verified_unless_told_otherwise() {
    let dir = TestDir::new("m2m_tls");
    let src = TestRegistry::start();
    let dst = TestRegistry::start_tls();
    let image = multi_arch_image(dir.join("img"), 191, &["linux/amd64", "linux/arm64"], false);
    image.push(&src.host(), "ns/app:1");
    let isc = write_isc(
        dir.path(),
        &format!("  additionalImages:\n  - name: {}/ns/app:1\n", src.host()),
    );
    let run = |verify: &str| {
        ferry_at(dir.path())
            .args(["mirror", "-c"])
            .arg(&isc)
            .arg("--workspace")
            .arg(format!("file://{}", dir.join("ws").display()))
            .arg(format!("docker://{}", dst.host()))
            .args([
                "--src-tls-verify=false",
                &format!("--dest-tls-verify={verify}"),
                "--retry-times",
                "0",
            ])
            .output()
            .unwrap()
    };
    // The test CA is not trusted: verification fails with a message that says what to do.
    let refused = run("true");
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--dest-tls-verify=false") && stderr.to_lowercase().contains("certificate"),
        "{stderr}"
    );
    // Without verification the copy goes over TLS all the same.
    let accepted = run("false");
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    let ca = dst.cert_dir();
    let copied = skopeo(&[
        "inspect",
        "--raw",
        "--cert-dir",
        ca.to_str().unwrap(),
        &dst.docker_ref("ns/app:1"),
    ])
    .unwrap();
    assert!(copied.status.success(), "{}", String::from_utf8_lossy(&copied.stderr));
    assert_eq!(manifest_digest(&copied.stdout), image.index.digest);
}

#[test]
fn a_source_registry_killed_mid_run_fails_its_images_cleanly() {
    let dir = TestDir::new("m2m_killed_source");
    let mut src = TestRegistry::start();
    let dst = TestRegistry::start();
    let mut yaml = String::from("  additionalImages:\n");
    let mut expected = Vec::new();
    for i in 0..4u64 {
        let mut layout = LayoutBuilder::new(dir.join(format!("big{i}")));
        let image = layout.image(("linux", "amd64", None), &[random_bytes(2000 + i, 3 << 20)]);
        layout.tag(&image, "v1");
        push_layout(layout.dir(), "v1", &src.host(), &format!("big/app{i}:v1"));
        yaml.push_str(&format!("  - name: {}/big/app{i}:v1\n", src.host()));
        expected.push(image.digest);
    }
    let proxy = FaultProxy::start(&src.host(), FaultPlan::default());
    let yaml = yaml.replace(&src.host(), &proxy.host());
    let isc = write_isc(dir.path(), &yaml);
    let child = ferry_at(dir.path())
        .args(["mirror", "-c"])
        .arg(&isc)
        .arg("--workspace")
        .arg(format!("file://{}", dir.join("ws").display()))
        .arg(format!("docker://{}", dst.host()))
        .args([
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--parallel-images",
            "1",
            "--retry-times",
            "1",
        ])
        .args(["--retry-delay", "50ms", "--quiet"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the source once the first blob has been served.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !proxy
        .requests()
        .iter()
        .any(|r| r.starts_with("GET") && r.contains("/blobs/") && r.contains("-> 200"))
    {
        assert!(std::time::Instant::now() < deadline, "ferry never fetched a blob");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    src.kill();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(8),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Whatever reached the destination is whole: a tag is there only with its complete image.
    for (i, digest) in expected.iter().enumerate() {
        if let Ok(raw) = skopeo_inspect_raw(&dst.docker_ref(&format!("big/app{i}:v1"))) {
            assert_eq!(&manifest_digest(&raw), digest);
            let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
            let layer = manifest["layers"][0]["digest"].as_str().unwrap();
            let head = http::request(&dst.host(), "HEAD", &format!("/v2/big/app{i}/blobs/{layer}"), &[], &[]).unwrap();
            assert_eq!(head.status(), 200);
        }
    }
}

#[test]
fn large_blobs_stream_at_most_the_larger_parallelism_at_once() {
    // 2 images × 3 layers of 4 MiB and more, `--parallel-images 2 --parallel-layers 3`: six blobs may be in flight,
    // but only max(2, 3) = 3 large ones. The source proxy holds each blob body 300 ms so that copies overlap.
    let dir = TestDir::new("m2m_large_blob_limit");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let mut expected = Vec::new();
    for i in 0..2u64 {
        let mut layout = LayoutBuilder::new(dir.join(format!("big{i}")));
        let layers: Vec<Vec<u8>> = (0..3).map(|k| random_bytes(3000 + 10 * i + k, 4 << 20)).collect();
        let image = layout.image(("linux", "amd64", None), &layers);
        layout.tag(&image, "v1");
        push_layout(layout.dir(), "v1", &src.host(), &format!("big/app{i}:v1"));
        expected.push(image.digest);
    }
    let plan = FaultPlan {
        hold_blob_bodies: Some(std::time::Duration::from_millis(300)),
        ..FaultPlan::default()
    };
    let proxy = FaultProxy::start(&src.host(), plan);
    let yaml = additional_images(
        &(0..2)
            .map(|i| format!("{}/big/app{i}:v1", proxy.host()))
            .collect::<Vec<_>>(),
    );
    let args = ["--parallel-images", "2", "--parallel-layers", "3"];
    mirror_to_registry(&dir, &yaml, &dst.host(), &args).assert_success();
    for (i, digest) in expected.iter().enumerate() {
        let copied = raw(&dst.docker_ref(&format!("big/app{i}:v1")));
        assert_eq!(&manifest_digest(&copied), digest);
    }
    let large = proxy.max_concurrent_blob_gets(4 << 20);
    assert!(
        (2..=3).contains(&large),
        "{large} large blobs were read at once, expected 3 at most (and more than one)"
    );
    let all = proxy.max_concurrent_blob_gets(0);
    assert!(
        all > large,
        "small blobs (the configs) wait for the large ones: {all} blobs at once"
    );
}

/// Regression: images that share manifests, mirrored at once into one repository, once failed with DIGEST_INVALID
/// (one image re-pushed a shared child while another's index PUT verified it). Each child now goes into the
/// repository once per run.
#[test]
fn images_sharing_manifests_push_each_child_once_per_repository() {
    let dir = TestDir::new("m2m_shared_children");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let image = multi_arch_image(
        dir.join("img"),
        181,
        &["linux/amd64", "linux/arm64", "linux/s390x"],
        false,
    );
    image.push(&src.host(), "ns/app:1");
    let entries: String = (0..8)
        .map(|i| format!("  - name: {}/ns/app:1\n    targetTag: t{i}\n", src.host()))
        .collect();
    let run = mirror_to_registry(&dir, &format!("  additionalImages:\n{entries}"), &dst.host(), &[]);
    run.assert_success();
    for i in 0..8 {
        assert_eq!(
            manifest_digest(&raw(&dst.docker_ref(&format!("ns/app:t{i}")))),
            image.index.digest
        );
    }
    let log = dst.log();
    for child in &image.manifests {
        let uri = format!("http.request.uri=\"/v2/ns/app/manifests/{}\"", child.digest);
        let puts = log
            .lines()
            .filter(|l| l.contains("response completed") && l.contains("http.request.method=PUT") && l.contains(&uri))
            .count();
        assert_eq!(puts, 1, "child {} pushed {puts} times", child.digest);
    }
}

#[test]
fn output_json_and_summary_file_describe_every_image_for_scripts() {
    let dir = TestDir::new("m2m_json_summary");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let image = multi_arch_image(dir.join("img"), 201, &["linux/amd64", "linux/arm64"], false);
    image.push(&src.host(), "ns/app:1");
    let images = [
        format!("{}/ns/app:1", src.host()),
        format!("{}/ns/missing:1", src.host()),
    ];
    let summary_file = dir.join("summary.json");
    let summary_arg = summary_file.display().to_string();
    let run = mirror_to_registry(
        &dir,
        &additional_images(&images),
        &dst.host(),
        &["--output", "json", "--summary-file", &summary_arg, "--retry-times", "0"],
    );
    assert_eq!(run.code(), 8, "{}", run.stderr());
    let printed: serde_json::Value = serde_json::from_slice(&run.output.stdout).unwrap();
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary_file).unwrap()).unwrap();
    assert_eq!(printed, written);
    assert_eq!(printed["exitCode"], 8);
    assert_eq!(printed["totals"]["imagesMirrored"], 1);
    let records = printed["images"].as_array().unwrap();
    let ok = records.iter().find(|r| r["outcome"] == "mirrored").unwrap();
    assert_eq!(ok["destination"], format!("docker://{}/ns/app:1", dst.host()));
    assert_eq!(ok["digest"], image.index.digest);
    assert_eq!(ok["group"], "additional");
    assert_eq!(ok["platforms"], serde_json::json!(["linux/amd64", "linux/arm64"]));
    let failed = records.iter().find(|r| r["outcome"] == "failed").unwrap();
    assert!(failed["source"].as_str().unwrap().contains("ns/missing:1"), "{failed}");
    assert!(!failed["error"].as_str().unwrap().is_empty());
}

/// Issue 17: a repository that was empty when the run first looked needs no existence checks from any image of
/// the run, however many images go into it (a release puts its 180 components into one repository).
#[test]
fn images_into_one_new_repository_ask_the_destination_nothing_it_cannot_know() {
    let dir = TestDir::new("m2m_one_new_repo");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let mut images = Vec::new();
    let mut digests = Vec::new();
    for i in 0..4u64 {
        let image = multi_arch_image(
            dir.join(format!("img{i}")),
            211 + i,
            &["linux/amd64", "linux/arm64"],
            false,
        );
        image.push(&src.host(), &format!("ns/app:{i}"));
        images.push(format!("{}/ns/app:{i}", src.host()));
        digests.push(image.index.digest.clone());
    }
    let run = mirror_to_registry(&dir, &additional_images(&images), &dst.host(), &[]);
    run.assert_success();
    for (i, digest) in digests.iter().enumerate() {
        assert_eq!(&manifest_digest(&raw(&dst.docker_ref(&format!("ns/app:{i}")))), digest);
    }
    let log = dst.log();
    let requests = |method: &str, path: &str| {
        log.lines()
            .filter(|l| l.contains("response completed") && l.contains(&format!("http.request.method={method}")))
            .filter(|l| l.contains(path))
            .count()
    };
    assert_eq!(
        requests("GET", "/v2/ns/app/tags/list"),
        1,
        "one tag listing for the repository"
    );
    assert_eq!(requests("HEAD", "/v2/ns/app/blobs/"), 0, "no blob existence check");
    // Only the images that start before the repository is known to be empty ask for their tag; no child manifest
    // is checked.
    let heads = requests("HEAD", "/v2/ns/app/manifests/");
    assert!(heads <= 4, "{heads} manifest existence checks");
}
