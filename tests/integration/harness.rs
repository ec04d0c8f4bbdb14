//! Tests of the test harness itself: fixtures pushed into a real registry read back byte for byte with skopeo,
//! basic auth and TLS registries, and the fault-injecting proxy delivering (and counting) its faults.

use crate::support::http;
use crate::support::*;
use serde_json::Value;
use std::process::Command;

fn assert_round_trip(reg: &TestRegistry, layout: &LayoutBuilder, top: &Descriptor, repo_tag: &str) -> Value {
    let raw = skopeo_inspect_raw(&reg.docker_ref(repo_tag)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        raw,
        layout.read_blob(&top.digest),
        "stored bytes differ from the layout's"
    );
    assert_eq!(manifest_digest(&raw), top.digest);
    serde_json::from_slice(&raw).unwrap()
}

#[test]
fn oci_index_round_trips_through_skopeo() {
    let dir = TestDir::new("oci_index");
    let reg = TestRegistry::start();
    let img = multi_arch_image(
        dir.join("layout"),
        1,
        &["linux/amd64", "linux/arm64/v8", "linux/s390x"],
        false,
    );
    img.push(&reg.host(), "ns/app:v1");

    let index = assert_round_trip(&reg, &img.layout, &img.index, "ns/app:v1");
    assert_eq!(index["mediaType"], OCI_INDEX);
    let children = index["manifests"].as_array().unwrap();
    assert_eq!(children.len(), 3);
    assert_eq!(children[1]["platform"]["variant"], "v8");
    for m in &img.manifests {
        let child = skopeo_inspect_raw(&reg.docker_ref(&format!("ns/app@{}", m.digest))).unwrap();
        assert_eq!(manifest_digest(&child), m.digest);
    }
}

#[test]
fn docker_manifest_list_round_trips() {
    let dir = TestDir::new("docker_list");
    let reg = TestRegistry::start();
    let img = multi_arch_image(
        dir.join("layout"),
        2,
        &["linux/amd64", "linux/arm64/v8", "linux/ppc64le"],
        true,
    );
    img.push(&reg.host(), "ns/docker:v1");

    let list = assert_round_trip(&reg, &img.layout, &img.index, "ns/docker:v1");
    assert_eq!(list["mediaType"], DOCKER_LIST);
    assert_eq!(list["manifests"].as_array().unwrap().len(), 3);
    let child = skopeo_inspect_json(&reg.docker_ref(&format!("ns/docker@{}", img.manifests[0].digest)));
    assert_eq!(child["mediaType"], DOCKER_MANIFEST);
    assert_eq!(child["layers"][0]["mediaType"], DOCKER_LAYER_GZIP);
}

#[test]
fn nested_index_with_attestation_round_trips() {
    let dir = TestDir::new("nested");
    let reg = TestRegistry::start();
    let mut layout = LayoutBuilder::new(dir.join("layout"));
    let base = random_bytes(30, 1000);
    let amd = layout.image(("linux", "amd64", None), &[base.clone(), random_bytes(31, 500)]);
    let arm = layout.image(("linux", "arm", Some("v7")), &[base, random_bytes(32, 500)]);
    let att = layout.attestation_for(&amd);
    let inner = layout.index(&[amd.clone(), arm, att], false);
    let s390x = layout.image(("linux", "s390x", None), &[random_bytes(33, 700)]);
    let outer = layout.index(&[inner.clone(), s390x], false);
    layout.tag(&outer, "nested");
    push_layout(layout.dir(), "nested", &reg.host(), "ns/nested:v1");

    let top = assert_round_trip(&reg, &layout, &outer, "ns/nested:v1");
    assert_eq!(top["manifests"][0]["mediaType"], OCI_INDEX);
    let inner_json = skopeo_inspect_json(&reg.docker_ref(&format!("ns/nested@{}", inner.digest)));
    let entries = inner_json["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[2]["platform"]["os"], "unknown");
    assert_eq!(entries[2]["annotations"][ATTESTATION_DIGEST], amd.digest.as_str());
    assert_eq!(entries[2]["annotations"][ATTESTATION_TYPE], "attestation-manifest");
}

#[test]
fn attestations_push_with_skopeo() {
    let dir = TestDir::new("attestation");
    let reg = TestRegistry::start();
    let mut layout = LayoutBuilder::new(dir.join("layout"));
    let amd = layout.image(("linux", "amd64", None), &[random_bytes(40, 800)]);
    let att = layout.attestation_for(&amd);
    let index = layout.index(&[amd, att], false);
    layout.tag(&index, "v1");
    let src = format!("oci:{}:v1", layout.dir().display());
    skopeo_copy_all(&src, &reg.docker_ref("ns/att:v1"));
    assert_round_trip(&reg, &layout, &index, "ns/att:v1");
}

#[test]
fn layers_are_valid_gzip_tars_with_matching_diff_ids() {
    let dir = TestDir::new("layers");
    let layout = LayoutBuilder::new(dir.join("layout"));
    let tar = tar_bytes(&[
        ("configs/pkg/catalog.json", b"{\"schema\":\"olm.package\"}"),
        ("a.txt", b""),
    ]);
    let image = layout.image_with_labels(
        ("linux", "amd64", None),
        std::slice::from_ref(&tar),
        &[("operators.operatorframework.io.index.configs.v1", "/configs")],
    );
    let manifest: Value = serde_json::from_slice(&layout.read_blob(&image.digest)).unwrap();
    let config: Value =
        serde_json::from_slice(&layout.read_blob(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    assert_eq!(config["rootfs"]["diff_ids"][0], sha256_digest(&tar).as_str());
    assert_eq!(
        config["config"]["Labels"]["operators.operatorframework.io.index.configs.v1"],
        "/configs"
    );

    let blob = layout.blob_path(manifest["layers"][0]["digest"].as_str().unwrap());
    let gunzip = Command::new("gzip").arg("-dc").arg(&blob).output().unwrap();
    assert!(gunzip.status.success(), "{}", String::from_utf8_lossy(&gunzip.stderr));
    assert_eq!(gunzip.stdout, tar);
    let list = Command::new("tar").arg("-tzf").arg(&blob).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&list.stdout),
        "configs/pkg/catalog.json\na.txt\n"
    );

    let big = random_bytes(5, 200_000); // several deflate blocks
    let path = dir.join("big.gz");
    std::fs::write(&path, gzip_stored(&big)).unwrap();
    assert_eq!(Command::new("gzip").arg("-dc").arg(&path).output().unwrap().stdout, big);
}

#[test]
fn htpasswd_registry_checks_credentials() {
    let dir = TestDir::new("htpasswd");
    let reg = TestRegistry::start_with_htpasswd("ferry", "s3cret");
    let img = multi_arch_image(dir.join("layout"), 3, &["linux/amd64", "linux/arm64"], false);
    let src = format!("oci:{}:latest", img.layout.dir().display());

    let anonymous = try_skopeo_copy_all(&src, &reg.docker_ref("auth/app:v1"), None, None);
    assert!(anonymous.is_err(), "anonymous push was accepted");
    try_skopeo_copy_all(&src, &reg.docker_ref("auth/app:v1"), None, reg.credentials()).unwrap();

    let reference = reg.docker_ref("auth/app:v1");
    let raw = skopeo_inspect_raw_with_creds(&reference, Some(("ferry", "s3cret"))).unwrap();
    assert_eq!(manifest_digest(&raw), img.index.digest);
    let wrong = skopeo_inspect_raw_with_creds(&reference, Some(("ferry", "wrong"))).unwrap_err();
    assert!(wrong.contains("unauthorized") || wrong.contains("401"), "{wrong}");
    assert!(skopeo_inspect_raw(&reference).is_err(), "anonymous read was accepted");

    // The raw pusher authenticates too (Docker lists go through it).
    let docker = multi_arch_image(dir.join("docker"), 4, &["linux/amd64"], true);
    push_layout_with_creds(
        docker.layout.dir(),
        "latest",
        &reg.host(),
        "auth/docker:v1",
        reg.credentials(),
    );
    let raw = skopeo_inspect_raw_with_creds(&reg.docker_ref("auth/docker:v1"), reg.credentials()).unwrap();
    assert_eq!(manifest_digest(&raw), docker.index.digest);
}

#[test]
fn tls_registry_is_trusted_only_with_its_ca() {
    let dir = TestDir::new("tls");
    let reg = TestRegistry::start_tls();
    let img = multi_arch_image(dir.join("layout"), 5, &["linux/amd64"], false);
    img.push(&reg.host(), "tls/app:v1");

    let reference = reg.docker_ref("tls/app:v1");
    let cert_dir = format!("--cert-dir={}", reg.cert_dir().display());
    let trusted = skopeo(&["inspect", "--raw", "--tls-verify=true", &cert_dir, &reference]).unwrap();
    assert_eq!(manifest_digest(&trusted.stdout), img.index.digest);
    let untrusted = skopeo(&["inspect", "--raw", "--tls-verify=true", &reference]).unwrap_err();
    assert!(untrusted.contains("certificate"), "{untrusted}");
}

#[test]
fn registries_run_in_parallel_and_die_on_kill() {
    let mut regs: Vec<TestRegistry> = (0..3).map(|_| TestRegistry::start()).collect();
    let mut ports: Vec<u16> = regs.iter().map(TestRegistry::port).collect();
    ports.dedup();
    assert_eq!(ports.len(), 3);
    for r in &regs {
        assert_eq!(http::request(&r.host(), "GET", "/v2/", &[], &[]).unwrap().status(), 200);
    }
    let host = regs[0].host();
    regs[0].kill();
    assert!(
        http::request(&host, "GET", "/v2/", &[], &[]).is_err(),
        "killed registry still answers"
    );
}

#[test]
fn proxy_injects_statuses_resets_and_truncation() {
    let dir = TestDir::new("proxy_raw");
    let reg = TestRegistry::start();
    let img = multi_arch_image(dir.join("layout"), 6, &["linux/amd64"], false);
    img.push(&reg.host(), "px/app:v1");
    let plan = FaultPlan {
        status_burst: vec![(429, 1), (503, 1)],
        retry_after: Some(0),
        reset_first: 1,
        truncate_body_of_nth_blob_get: Some(1),
        ..FaultPlan::default()
    };
    let proxy = FaultProxy::start(&reg.host(), plan);
    let px = proxy.host();

    let first = http::request(&px, "GET", "/v2/", &[], &[]).unwrap();
    assert_eq!((first.status(), first.header("retry-after")), (429, Some("0")));
    assert!(first.body_text().contains("TOOMANYREQUESTS"));
    assert_eq!(http::request(&px, "GET", "/v2/", &[], &[]).unwrap().status(), 503);
    let reset = http::request(&px, "GET", "/v2/", &[], &[]).unwrap_err();
    assert!(
        matches!(
            reset.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
        ),
        "{reset}"
    );
    assert_eq!(http::request(&px, "GET", "/v2/", &[], &[]).unwrap().status(), 200);

    let manifest: Value = serde_json::from_slice(&img.layout.read_blob(&img.manifests[0].digest)).unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let path = format!("/v2/px/app/blobs/{layer}");
    let cut = http::request(&px, "GET", &path, &[], &[]).unwrap_err();
    assert_eq!(cut.kind(), std::io::ErrorKind::UnexpectedEof, "{cut}");
    let whole = http::request(&px, "GET", &path, &[], &[]).unwrap();
    assert_eq!(whole.body, img.layout.read_blob(layer));

    // Location headers point back at the proxy.
    let upload = http::request(&px, "POST", "/v2/px/other/blobs/uploads/", &[], &[]).unwrap();
    assert_eq!(upload.status(), 202);
    assert!(upload.header("location").unwrap().contains(&px), "{:?}", upload.head);

    assert_eq!(
        proxy.injected(),
        Injected {
            statuses: 2,
            resets: 1,
            truncations: 1
        }
    );
    assert_eq!(proxy.forwarded(), 4);
}

#[test]
fn skopeo_survives_proxy_faults() {
    let dir = TestDir::new("proxy_skopeo");
    let reg = TestRegistry::start();
    let img = multi_arch_image(
        dir.join("layout"),
        7,
        &["linux/amd64", "linux/arm64/v8", "linux/s390x"],
        false,
    );
    let plan = FaultPlan {
        status_burst: vec![(429, 2)],
        retry_after: Some(0),
        ..FaultPlan::default()
    };
    let proxy = FaultProxy::start(&reg.host(), plan);
    img.push(&proxy.host(), "px/app:v1");
    assert_eq!(proxy.injected().statuses, 2, "{:#?}", proxy.requests());

    // Resets on manifest PUTs: skopeo's --retry-times retries the copy.
    proxy.set_plan(FaultPlan {
        only_method: Some("PUT".into()),
        only_path_containing: Some("/manifests/".into()),
        reset_first: 1,
        ..FaultPlan::default()
    });
    let src = format!("oci:{}:latest", img.layout.dir().display());
    let dest = format!("docker://{}/px/copy:v1", proxy.host());
    skopeo(&[
        "copy",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        "--retry-times=2",
        &src,
        &dest,
    ])
    .unwrap_or_else(|e| panic!("{e}\nproxy saw: {:#?}", proxy.requests()));
    assert_eq!(proxy.injected().resets, 1);
    let raw = skopeo_inspect_raw(&reg.docker_ref("px/copy:v1")).unwrap();
    assert_eq!(manifest_digest(&raw), img.index.digest);
}
