//! Releases (`mirror.platform`): an update graph served by a local HTTP server (`UPDATE_URL_OVERRIDE`), payloads
//! built at test time whose `release-manifests/image-references` name component images in the source registry;
//! results checked with skopeo and the cluster resources read as files.

use serde_json::json;

use crate::support::*;

const RELEASE_REPO: &str = "openshift-release-dev/ocp-release";
const COMPONENT_REPO: &str = "openshift-release-dev/ocp-v4.0-art-dev";

/// A payload built and pushed to the source registry.
struct Payload {
    version: String,
    digest: String,
}

/// Pushes a component image as `COMPONENT_REPO:name`; returns its pullspec by digest.
fn push_component(dir: &TestDir, src: &TestRegistry, name: &str, seed: u64) -> String {
    let image = multi_arch_image(dir.join(name), seed, &["linux/amd64"], false);
    image.push(&src.host(), &format!("{COMPONENT_REPO}:{name}"));
    format!("{}/{COMPONENT_REPO}@{}", src.host(), image.index.digest)
}

/// A single-arch payload: a base layer that is not a tar (reading it would fail) under the release-manifests
/// layer, as `oc adm release new` stacks them; pushed as `RELEASE_REPO:<version>-x86_64`.
fn push_payload(dir: &TestDir, src: &TestRegistry, version: &str, components: &[(&str, &str)]) -> Payload {
    let tags: Vec<_> = components
        .iter()
        .map(|(name, image)| json!({"name": name, "from": {"kind": "DockerImage", "name": image}}))
        .collect();
    let references = json!({
        "kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": version, "creationTimestamp": null},
        "spec": {"lookupPolicy": {"local": false}, "tags": tags}
    });
    let metadata = json!({"kind": "cincinnati-metadata-v0", "version": version, "previous": []});
    let manifests = tar_bytes(&[
        ("release-manifests/image-references", references.to_string().as_bytes()),
        ("release-manifests/release-metadata", metadata.to_string().as_bytes()),
    ]);
    let mut layout = LayoutBuilder::new(dir.join(format!("payload-{version}")));
    let image = layout.image(("linux", "amd64", None), &[random_bytes(7, 4096), manifests]);
    layout.tag(&image, "latest");
    push_layout(
        layout.dir(),
        "latest",
        &src.host(),
        &format!("{RELEASE_REPO}:{version}-x86_64"),
    );
    Payload {
        version: version.to_string(),
        digest: image.digest.clone(),
    }
}

/// A Cincinnati graph over `payloads` (in version order), each release upgrading to every later one.
fn graph(src: &TestRegistry, payloads: &[&Payload]) -> Vec<u8> {
    let nodes: Vec<_> = payloads
        .iter()
        .map(|p| json!({"version": p.version, "payload": format!("{}/{RELEASE_REPO}@{}", src.host(), p.digest), "metadata": {}}))
        .collect();
    let mut edges = Vec::new();
    for from in 0..payloads.len() {
        for to in from + 1..payloads.len() {
            edges.push(json!([from, to]));
        }
    }
    serde_json::to_vec(&json!({"version": 1, "nodes": nodes, "edges": edges, "conditionalEdges": []})).unwrap()
}

/// An update graph (at `/graph`) and a release signature store (under `/signatures/`) on one local server, and
/// the environment that points ferry at both and at the test's signing key.
struct ReleaseServer {
    server: StaticServer,
    key_file: std::path::PathBuf,
}

impl ReleaseServer {
    /// Serves the graph of `in_graph` and a signature for each of `signed` (made by the test's key), where
    /// the second member says which digest each signature claims (a payload's own, unless a test lies).
    fn start(dir: &TestDir, src: &TestRegistry, in_graph: &[&Payload], signed: &[(&Payload, &str)]) -> ReleaseServer {
        ReleaseServer::with_graph(dir, graph(src, in_graph), signed)
    }

    /// Serves `graph` as it is, and the signatures of `signed`.
    fn with_graph(dir: &TestDir, graph: Vec<u8>, signed: &[(&Payload, &str)]) -> ReleaseServer {
        let signer = ReleaseSigner::new(91);
        let key_file = dir.join("release-keys.asc");
        std::fs::write(&key_file, signer.public_armored()).unwrap();
        let mut routes = vec![("/graph".to_string(), graph)];
        for (payload, claimed) in signed {
            let hex = payload.digest.trim_start_matches("sha256:");
            let reference = format!("quay.io/{RELEASE_REPO}:{}-x86_64", payload.version);
            routes.push((
                format!("/signatures/sha256={hex}/signature-1"),
                signer.sign(&reference, claimed),
            ));
        }
        ReleaseServer {
            server: StaticServer::start(routes),
            key_file,
        }
    }

    fn signed(dir: &TestDir, src: &TestRegistry, payloads: &[&Payload]) -> ReleaseServer {
        let signed: Vec<(&Payload, &str)> = payloads.iter().map(|p| (*p, p.digest.as_str())).collect();
        ReleaseServer::start(dir, src, payloads, &signed)
    }

    fn graph_url(&self) -> String {
        format!("{}/graph", self.server.url())
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("UPDATE_URL_OVERRIDE".into(), self.graph_url()),
            ("OCP_SIGNATURE_URL".into(), format!("{}/signatures/", self.server.url())),
            (
                "OCP_SIGNATURE_VERIFICATION_PK".into(),
                self.key_file.display().to_string(),
            ),
        ]
    }

    fn requests(&self) -> Vec<String> {
        self.server.requests()
    }

    /// `ferry mirror` to `destination` with this server's environment.
    fn mirror(&self, dir: &TestDir, yaml: &str, destination: &str, extra: &[&str]) -> MirrorRun {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        mirror_to_registry_with_env(dir, yaml, destination, extra, &env)
    }
}

fn digest_at(registry: &TestRegistry, repo_tag: &str) -> String {
    manifest_digest(&skopeo_inspect_raw(&registry.docker_ref(repo_tag)).unwrap())
}

#[test]
fn channel_range_mirrors_payloads_and_components_by_digest_with_release_idms() {
    let dir = TestDir::new("release_range");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let a = push_component(&dir, &src, "comp-a", 301);
    let b = push_component(&dir, &src, "comp-b", 302);
    let c = push_component(&dir, &src, "comp-c", 303);
    let old = push_payload(&dir, &src, "4.16.0", &[("comp-a", &a)]);
    let first = push_payload(&dir, &src, "4.16.1", &[("comp-a", &a), ("comp-b", &b)]);
    let second = push_payload(&dir, &src, "4.16.2", &[("comp-a", &a), ("comp-c", &c)]);
    let server = ReleaseServer::signed(&dir, &src, &[&old, &first, &second]);
    let yaml = "  platform:\n    channels:\n    - name: stable-4.16\n      minVersion: 4.16.1\n";
    let run = server.mirror(&dir, yaml, &dst.host(), &[]);
    run.assert_success();

    assert!(
        server
            .requests()
            .iter()
            .any(|r| r == "/graph?channel=stable-4.16&arch=amd64"),
        "{:?}",
        server.requests()
    );
    assert_eq!(digest_at(&dst, "openshift/release-images:4.16.1-x86_64"), first.digest);
    assert_eq!(digest_at(&dst, "openshift/release-images:4.16.2-x86_64"), second.digest);
    assert!(
        skopeo_inspect_raw(&dst.docker_ref("openshift/release-images:4.16.0-x86_64")).is_err(),
        "4.16.0 is below minVersion"
    );
    let digest_of = |pullspec: &str| pullspec.rsplit_once('@').unwrap().1.to_string();
    assert_eq!(digest_at(&dst, "openshift/release:4.16.1-x86_64-comp-a"), digest_of(&a));
    assert_eq!(digest_at(&dst, "openshift/release:4.16.1-x86_64-comp-b"), digest_of(&b));
    assert_eq!(digest_at(&dst, "openshift/release:4.16.2-x86_64-comp-c"), digest_of(&c));
    // A payload's references resolve through IDMS: the component is pullable at the mirror by its digest.
    assert!(skopeo_inspect_raw(&dst.docker_ref(&format!("openshift/release@{}", digest_of(&b)))).is_ok());

    let idms = run.working_file("cluster-resources/idms-oc-mirror.yaml");
    for (source, mirror) in [
        (RELEASE_REPO, "openshift/release-images"),
        (COMPONENT_REPO, "openshift/release"),
    ] {
        let entry = format!(
            "  - mirrors:\n    - {}/{mirror}\n    source: {}/{source}\n",
            dst.host(),
            src.host()
        );
        assert!(idms.contains(&entry), "no entry\n{entry}in\n{idms}");
    }
    assert!(idms.contains("name: idms-release-0"), "{idms}");

    // The signature ConfigMap carries the two mirrored releases' signatures as the store served them.
    let config_map: serde_json::Value =
        serde_json::from_str(&run.working_file("cluster-resources/signature-configmap.json")).unwrap();
    assert_eq!(config_map["metadata"]["name"], "mirrored-release-signatures");
    assert_eq!(config_map["metadata"]["namespace"], "openshift-config-managed");
    assert_eq!(
        config_map["metadata"]["labels"]["release.openshift.io/verification-signatures"],
        ""
    );
    let data = config_map["binaryData"].as_object().unwrap();
    assert_eq!(data.len(), 2, "{data:?}");
    for payload in [&first, &second] {
        let hex = payload.digest.trim_start_matches("sha256:");
        let served = http::request(
            server.server.url().trim_start_matches("http://"),
            "GET",
            &format!("/signatures/sha256={hex}/signature-1"),
            &[],
            &[],
        )
        .unwrap();
        let carried = data[&format!("sha256-{hex}-1")].as_str().unwrap();
        assert_eq!(base64_decode(carried), served.body, "signature of {}", payload.version);
    }
    assert!(run
        .working_file("cluster-resources/signature-configmap.yaml")
        .contains("binaryData:"));
    let cached = run
        .workspace
        .join("working-dir/signatures")
        .join(format!("sha256-{}-1", first.digest.trim_start_matches("sha256:")));
    assert!(
        std::fs::metadata(&cached).unwrap().len() > 0,
        "the verified signature is cached"
    );
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

#[test]
fn release_named_directly_takes_its_version_from_release_metadata() {
    let dir = TestDir::new("release_direct");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let a = push_component(&dir, &src, "comp-a", 311);
    let payload = push_payload(&dir, &src, "4.17.3", &[("comp-a", &a)]);
    let server = ReleaseServer::signed(&dir, &src, &[&payload]);
    let yaml = format!(
        "  platform:\n    release: {}/{RELEASE_REPO}@{}\n",
        src.host(),
        payload.digest
    );
    let run = server.mirror(&dir, &yaml, &dst.host(), &[]);
    run.assert_success();
    assert_eq!(
        digest_at(&dst, "openshift/release-images:4.17.3-x86_64"),
        payload.digest
    );
    assert!(skopeo_inspect_raw(&dst.docker_ref("openshift/release:4.17.3-x86_64-comp-a")).is_ok());
}

#[test]
fn a_version_missing_from_the_channel_fails_the_release_group_naming_the_nearest() {
    let dir = TestDir::new("release_missing_version");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let a = push_component(&dir, &src, "comp-a", 321);
    let first = push_payload(&dir, &src, "4.16.1", &[("comp-a", &a)]);
    let second = push_payload(&dir, &src, "4.16.2", &[("comp-a", &a)]);
    let server = StaticServer::start(vec![("/graph".into(), graph(&src, &[&first, &second]))]);
    multi_arch_image(dir.join("extra"), 322, &["linux/amd64"], false).push(&src.host(), "ns/app:1");
    let yaml = format!(
        "  platform:\n    channels:\n    - name: stable-4.16\n      minVersion: 4.16.7\n  additionalImages:\n  - name: {}/ns/app:1\n",
        src.host()
    );
    let url = format!("{}/graph", server.url());
    let run = mirror_to_registry_with_env(&dir, &yaml, &dst.host(), &[], &[("UPDATE_URL_OVERRIDE", &url)]);
    assert_eq!(run.code(), 2, "release group bit: {}", run.stderr());
    let stderr = run.stderr();
    assert!(stderr.contains("stable-4.16") && stderr.contains("amd64"), "{stderr}");
    assert!(stderr.contains("4.16.7") && stderr.contains("4.16.2"), "{stderr}");
    assert!(
        skopeo_inspect_raw(&dst.docker_ref("ns/app:1")).is_ok(),
        "the other groups still run"
    );
    assert!(skopeo_inspect_raw(&dst.docker_ref("openshift/release-images:4.16.2-x86_64")).is_err());
}

#[test]
fn an_unreachable_update_graph_is_a_release_failure_naming_channel_arch_and_url() {
    let dir = TestDir::new("release_unreachable");
    let dst = TestRegistry::start();
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/graph");
    let yaml = "  platform:\n    architectures: [arm64]\n    channels:\n    - name: fast-4.17\n";
    let run = mirror_to_registry_with_env(
        &dir,
        yaml,
        &dst.host(),
        &["--retry-times", "1"],
        &[("UPDATE_URL_OVERRIDE", &url)],
    );
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let stderr = run.stderr();
    assert!(stderr.contains("fast-4.17") && stderr.contains("arm64"), "{stderr}");
    assert!(
        stderr.contains(&format!("{url}?channel=fast-4.17&arch=arm64")),
        "{stderr}"
    );
}

#[test]
fn releases_cross_the_air_gap_and_disk_to_mirror_asks_no_graph() {
    let dir = TestDir::new("release_disk");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let a = push_component(&dir, &src, "comp-a", 331);
    let payload = push_payload(&dir, &src, "4.18.4", &[("comp-a", &a)]);
    let server = ReleaseServer::signed(&dir, &src, &[&payload]);
    let config = write_isc(dir.path(), "  platform:\n    channels:\n    - name: stable-4.18\n");
    let archive = dir.join("archive");
    let env = server.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let m2d = mirror_to_disk(&dir, &config, &archive, &env, &[]);
    assert_ok(&m2d);
    let describe = ferry_at(dir.path())
        .arg("describe")
        .arg(format!("file://{}", archive.display()))
        .output()
        .unwrap();
    assert_ok(&describe);
    let described = String::from_utf8_lossy(&describe.stdout);
    assert!(described.contains("releases: 1"), "{described}");
    assert!(
        described.contains(&format!(
            "4.18.4 (x86_64) {}/{RELEASE_REPO}@{}: 1 components",
            src.host(),
            payload.digest
        )),
        "{described}"
    );
    let asked = server.requests().len();
    let d2m = disk_to_mirror(&dir, &config, &archive, &format!("{}/mirror", dst.host()));
    assert_ok(&d2m);
    assert_eq!(
        server.requests().len(),
        asked,
        "disk-to-mirror queried the update graph"
    );
    assert_eq!(
        digest_at(&dst, "mirror/openshift/release-images:4.18.4-x86_64"),
        payload.digest
    );
    let component = a.rsplit_once('@').unwrap().1;
    assert_eq!(
        digest_at(&dst, "mirror/openshift/release:4.18.4-x86_64-comp-a"),
        component
    );
    let idms = std::fs::read_to_string(archive.join("working-dir/cluster-resources/idms-oc-mirror.yaml")).unwrap();
    assert!(
        idms.contains(&format!("- {}/mirror/openshift/release-images\n", dst.host())),
        "{idms}"
    );
    // The signature verified on the connected side reaches the disconnected cluster's ConfigMap.
    let config_map =
        std::fs::read_to_string(archive.join("working-dir/cluster-resources/signature-configmap.json")).unwrap();
    let key = format!("sha256-{}-1", payload.digest.trim_start_matches("sha256:"));
    assert!(config_map.contains(&key), "{config_map}");
}

/// The CoreOS boot-images ConfigMap of a payload, naming `kubevirt` as the x86_64 KubeVirt container disk (the
/// shape of the real file in ../shared/testdata/release/coreos-bootimages, trimmed).
fn bootimages(kubevirt: &str) -> Vec<u8> {
    let stream = json!({
        "stream": "rhcos-4.16",
        "architectures": {
            "x86_64": {"images": {"kubevirt": {"release": "416.94", "image": "unused:tag", "digest-ref": kubevirt}}},
            "aarch64": {"images": {}}
        }
    });
    let config_map = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "coreos-bootimages", "namespace": "openshift-machine-config-operator"},
        "data": {"releaseVersion": "4.16.5", "stream": serde_json::to_string_pretty(&stream).unwrap()}
    });
    serde_yaml_text(&config_map)
}

/// JSON is YAML: the ConfigMap written as JSON text is a valid YAML document.
fn serde_yaml_text(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec_pretty(value).unwrap()
}

#[test]
fn multi_payload_with_platforms_and_the_kubevirt_container_disk() {
    let dir = TestDir::new("release_multi");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let component = multi_arch_image(dir.join("comp"), 341, &["linux/amd64", "linux/arm64"], false);
    component.push(&src.host(), &format!("{COMPONENT_REPO}:comp-a"));
    let component_ref = format!("{}/{COMPONENT_REPO}@{}", src.host(), component.index.digest);
    let kubevirt = push_component(&dir, &src, "kubevirt", 342);
    let references = json!({
        "kind": "ImageStream", "apiVersion": "image.openshift.io/v1", "metadata": {"name": "4.16.5"},
        "spec": {"tags": [{"name": "comp-a", "from": {"kind": "DockerImage", "name": component_ref}}]}
    });
    let manifests = tar_bytes(&[
        ("release-manifests/image-references", references.to_string().as_bytes()),
        (
            "release-manifests/0000_50_installer_coreos-bootimages.yaml",
            &bootimages(&kubevirt),
        ),
    ]);
    let mut layout = LayoutBuilder::new(dir.join("payload"));
    let children: Vec<_> = [("amd64", 11), ("arm64", 12)]
        .iter()
        .map(|(arch, seed)| layout.image(("linux", arch, None), &[random_bytes(*seed, 2048), manifests.clone()]))
        .collect();
    let index = layout.index(&children, false);
    layout.tag(&index, "latest");
    push_layout(
        layout.dir(),
        "latest",
        &src.host(),
        &format!("{RELEASE_REPO}:4.16.5-multi"),
    );
    let payload = Payload {
        version: "4.16.5".into(),
        digest: index.digest.clone(),
    };
    let server = ReleaseServer::signed(&dir, &src, &[&payload]);
    let yaml = "  platform:\n    platforms: [linux/amd64]\n    kubeVirtContainer: true\n    channels:\n    - name: candidate-4.16\n";
    let run = server.mirror(&dir, yaml, &dst.host(), &[]);
    run.assert_success();

    assert!(
        server
            .requests()
            .iter()
            .any(|r| r == "/graph?channel=candidate-4.16&arch=multi"),
        "{:?}",
        server.requests()
    );
    // Pinned by digest: the payload index keeps its digest (distribution 2.8 refuses a sparse index, so every
    // platform is copied, and ferry says so).
    assert_eq!(digest_at(&dst, "openshift/release-images:4.16.5-multi"), index.digest);
    assert_eq!(
        digest_at(&dst, "openshift/release:4.16.5-multi-comp-a"),
        component.index.digest
    );
    let kubevirt_digest = kubevirt.rsplit_once('@').unwrap().1;
    assert_eq!(
        digest_at(&dst, "openshift/release:4.16.5-x86_64-kube-virt-container"),
        kubevirt_digest
    );
}

#[test]
fn fcos_stream_mirrors_oci_payloads_and_writes_the_reduced_graph() {
    let dir = TestDir::new("release_fcos");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let repo = "fedora/fedora-coreos";
    let versions = ["41.20250105.3.0", "41.20250119.3.0", "41.20250202.3.0"];
    let digests: Vec<String> = versions
        .iter()
        .enumerate()
        .map(|(i, version)| {
            let image = multi_arch_image(dir.join(version), 350 + i as u64, &["linux/amd64"], false);
            image.push(&src.host(), &format!("{repo}:{version}"));
            image.index.digest.clone()
        })
        .collect();
    // The FCOS graph shape (written from its documented format): OCI nodes carry a pullspec and the `oci` scheme;
    // an older OSTree node carries a commit checksum and is not mirrored.
    let mut nodes = vec![json!({
        "version": "40.20241201.3.0",
        "payload": "8b3a0c2f5e0d1c9b7a6f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a09",
        "metadata": {"org.fedoraproject.coreos.scheme": "checksum"}
    })];
    for (version, digest) in versions.iter().zip(&digests) {
        nodes.push(json!({
            "version": version,
            "payload": format!("{}/{repo}@{digest}", src.host()),
            "metadata": {"org.fedoraproject.coreos.scheme": "oci", "org.fedoraproject.coreos.releases.age_index": "0"}
        }));
    }
    let body = json!({"nodes": nodes, "edges": [[0, 1], [1, 2], [2, 3], [1, 3]]});
    let server = StaticServer::start(vec![("/v1/graph".into(), serde_json::to_vec(&body).unwrap())]);
    let yaml = "  platform:\n    channels:\n    - name: stable\n      type: fcos\n      minVersion: 41.20250119.3.0\n";
    let url = format!("{}/v1/graph", server.url());
    let run = mirror_to_registry_with_env(&dir, yaml, &dst.host(), &[], &[("UPDATE_URL_OVERRIDE", &url)]);
    run.assert_success();

    assert!(
        server
            .requests()
            .iter()
            .any(|r| r == "/v1/graph?stream=stable&basearch=x86_64&oci=true"),
        "{:?}",
        server.requests()
    );
    assert!(skopeo_inspect_raw(&dst.docker_ref(&format!("{repo}:41.20250105.3.0-x86_64"))).is_err());
    for (version, digest) in versions.iter().zip(&digests).skip(1) {
        assert_eq!(&digest_at(&dst, &format!("{repo}:{version}-x86_64")), digest);
    }
    let graph: serde_json::Value =
        serde_json::from_str(&run.working_file("cluster-resources/fcos-graph-stable-x86_64.json")).unwrap();
    let nodes = graph["nodes"].as_array().unwrap();
    let served: Vec<(&str, &str)> = nodes
        .iter()
        .map(|n| (n["version"].as_str().unwrap(), n["payload"].as_str().unwrap()))
        .collect();
    let expected: Vec<(String, String)> = versions
        .iter()
        .zip(&digests)
        .skip(1)
        .map(|(v, d)| (v.to_string(), format!("{}/{repo}@{d}", dst.host())))
        .collect();
    let served: Vec<(String, String)> = served.into_iter().map(|(v, p)| (v.into(), p.into())).collect();
    assert_eq!(served, expected);
    assert_eq!(
        graph["edges"],
        json!([[0, 1]]),
        "only the edge between the two mirrored releases"
    );
}

#[test]
fn a_missing_signature_fails_the_release_unless_ignored() {
    let dir = TestDir::new("release_unsigned");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let a = push_component(&dir, &src, "comp-a", 361);
    let payload = push_payload(&dir, &src, "4.19.2", &[("comp-a", &a)]);
    let server = ReleaseServer::start(&dir, &src, &[&payload], &[]);
    let yaml = "  platform:\n    channels:\n    - name: stable-4.19\n";
    let run = server.mirror(&dir, yaml, &dst.host(), &[]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let stderr = run.stderr();
    let hex = payload.digest.trim_start_matches("sha256:");
    assert!(
        stderr.contains(&format!("/signatures/sha256={hex}/signature-1")),
        "{stderr}"
    );
    assert!(stderr.contains("--ignore-release-signature"), "{stderr}");
    assert!(
        skopeo_inspect_raw(&dst.docker_ref("openshift/release-images:4.19.2-x86_64")).is_err(),
        "an unverified release reached the mirror"
    );

    let again = server.mirror(&dir, yaml, &dst.host(), &["--ignore-release-signature"]);
    again.assert_success();
    assert!(again.stderr().contains("mirrored anyway"), "{}", again.stderr());
    assert_eq!(
        digest_at(&dst, "openshift/release-images:4.19.2-x86_64"),
        payload.digest
    );
    assert!(
        !again
            .workspace
            .join("working-dir/cluster-resources/signature-configmap.json")
            .exists(),
        "no signature is written for an unverified release"
    );
}

#[test]
fn a_signature_of_another_digest_fails_the_release_naming_both() {
    let dir = TestDir::new("release_wrong_signature");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let a = push_component(&dir, &src, "comp-a", 371);
    let first = push_payload(&dir, &src, "4.19.3", &[("comp-a", &a)]);
    let second = push_payload(&dir, &src, "4.19.4", &[("comp-a", &a)]);
    // The store serves, for 4.19.4, a valid signature that vouches for 4.19.3's digest.
    let server = ReleaseServer::start(&dir, &src, &[&first, &second], &[(&second, first.digest.as_str())]);
    let yaml = "  platform:\n    channels:\n    - name: stable-4.19\n";
    let run = server.mirror(&dir, yaml, &dst.host(), &[]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.contains(&first.digest) && stderr.contains(&second.digest),
        "{stderr}"
    );
    assert!(skopeo_inspect_raw(&dst.docker_ref("openshift/release-images:4.19.4-x86_64")).is_err());
}

#[test]
fn graph_true_builds_the_graph_image_over_every_base_platform_and_writes_the_update_service() {
    let dir = TestDir::new("release_graph_image");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let a = push_component(&dir, &src, "comp-a", 381);
    let payload = push_payload(&dir, &src, "4.16.9", &[("comp-a", &a)]);
    let base = multi_arch_image(dir.join("ubi"), 382, &["linux/amd64", "linux/arm64"], false);
    base.push(&src.host(), "ubi9/ubi:latest");
    let tarball_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/testdata/cincinnati/graph-data/oc-mirror-graph-data.tar.gz"
    );
    let tarball = std::fs::read(tarball_path).unwrap_or_else(|e| panic!("test data {tarball_path} is missing: {e}"));
    let data_server = StaticServer::start(vec![("/graph-data".into(), tarball)]);
    let server = ReleaseServer::signed(&dir, &src, &[&payload]);
    let mut env = server.env();
    env.push((
        "GRAPH_DATA_URL_OVERRIDE".into(),
        format!("{}/graph-data", data_server.url()),
    ));
    env.push(("GRAPH_IMAGE_BASE".into(), format!("{}/ubi9/ubi:latest", src.host())));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let yaml = "  platform:\n    graph: true\n    channels:\n    - name: stable-4.16\n";
    let run = mirror_to_registry_with_env(&dir, yaml, &format!("{}/mirror", dst.host()), &[], &env);
    run.assert_success();

    let index: serde_json::Value =
        serde_json::from_slice(&skopeo_inspect_raw(&dst.docker_ref("mirror/openshift/graph-image:latest")).unwrap())
            .unwrap();
    let children = index["manifests"].as_array().unwrap();
    assert_eq!(children.len(), 2, "every platform of the base");
    for (child, original) in children.iter().zip(&base.manifests) {
        let digest = child["digest"].as_str().unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(
            &skopeo_inspect_raw(&dst.docker_ref(&format!("mirror/openshift/graph-image@{digest}"))).unwrap(),
        )
        .unwrap();
        let layers = manifest["layers"].as_array().unwrap();
        let base_manifest: serde_json::Value =
            serde_json::from_slice(&base.layout.read_blob(&original.digest)).unwrap();
        assert_eq!(layers.len(), base_manifest["layers"].as_array().unwrap().len() + 1);
        let added = layers.last().unwrap()["digest"].as_str().unwrap();
        let gzip = http::request(
            &dst.host(),
            "GET",
            &format!("/v2/mirror/openshift/graph-image/blobs/{added}"),
            &[],
            &[],
        )
        .unwrap()
        .body;
        let mut tar = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gzip.as_slice()), &mut tar).unwrap();
        let names: Vec<String> = tar::Archive::new(tar.as_slice())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.contains(&"var/lib/cincinnati-graph-data/version".to_string()),
            "{names:?}"
        );
        let config_digest = manifest["config"]["digest"].as_str().unwrap();
        let config: serde_json::Value = serde_json::from_slice(
            &http::request(
                &dst.host(),
                "GET",
                &format!("/v2/mirror/openshift/graph-image/blobs/{config_digest}"),
                &[],
                &[],
            )
            .unwrap()
            .body,
        )
        .unwrap();
        assert_eq!(
            config["config"]["Cmd"],
            json!([
                "/bin/bash",
                "-c",
                "exec cp -rp /var/lib/cincinnati-graph-data/* /var/lib/cincinnati/graph-data"
            ])
        );
    }

    let service = run.working_file("cluster-resources/updateService.yaml");
    assert!(service.contains("kind: UpdateService"), "{service}");
    assert!(service.contains("name: update-service-oc-mirror"), "{service}");
    assert!(
        service.contains(&format!(
            "graphDataImage: {}/mirror/openshift/graph-image:latest",
            dst.host()
        )),
        "{service}"
    );
    assert!(
        service.contains(&format!("releases: {}/mirror/openshift/release-images", dst.host())),
        "{service}"
    );
    let idms = run.working_file("cluster-resources/idms-oc-mirror.yaml");
    assert!(!idms.contains("graph-image") && !idms.contains("ubi9"), "{idms}");
}

#[test]
fn dry_run_lists_every_release_image_and_copies_nothing() {
    let dir = TestDir::new("release_dry_run");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let a = push_component(&dir, &src, "comp-a", 391);
    let b = push_component(&dir, &src, "comp-b", 392);
    let payload = push_payload(&dir, &src, "4.20.1", &[("comp-a", &a), ("comp-b", &b)]);
    let server = ReleaseServer::signed(&dir, &src, &[&payload]);
    let yaml = "  platform:\n    channels:\n    - name: stable-4.20\n";
    let run = server.mirror(&dir, yaml, &dst.host(), &["--dry-run"]);
    run.assert_success();
    let mapping = run.working_file("dry-run/mapping.txt");
    for (source, destination) in [
        (
            format!("{}/{RELEASE_REPO}@{}", src.host(), payload.digest),
            "openshift/release-images:4.20.1-x86_64",
        ),
        (a.clone(), "openshift/release:4.20.1-x86_64-comp-a"),
        (b.clone(), "openshift/release:4.20.1-x86_64-comp-b"),
    ] {
        let line = format!("docker://{source}=docker://{}/{destination}", dst.host());
        assert!(mapping.lines().any(|l| l == line), "no `{line}` in\n{mapping}");
    }
    assert!(skopeo_inspect_raw(&dst.docker_ref("openshift/release-images:4.20.1-x86_64")).is_err());
}

/// A graph served as is: nodes and edges given, conditional edges with one named risk.
fn graph_with(
    src: &TestRegistry,
    payloads: &[&Payload],
    edges: &[(usize, usize)],
    conditional: &[(usize, usize)],
) -> Vec<u8> {
    let nodes: Vec<_> = payloads
        .iter()
        .map(|p| json!({"version": p.version, "payload": format!("{}/{RELEASE_REPO}@{}", src.host(), p.digest), "metadata": {}}))
        .collect();
    let edges: Vec<_> = edges.iter().map(|(a, b)| json!([a, b])).collect();
    let conditional: Vec<_> = conditional
        .iter()
        .map(|(a, b)| {
            json!({
                "edges": [{"from": payloads[*a].version, "to": payloads[*b].version}],
                "risks": [{"url": "https://example.com/risk", "name": "TestRisk", "message": "a known issue", "matchingRules": []}]
            })
        })
        .collect();
    serde_json::to_vec(&json!({"version": 1, "nodes": nodes, "edges": edges, "conditionalEdges": conditional})).unwrap()
}

fn mirrored_versions(dst: &TestRegistry, payloads: &[&Payload]) -> Vec<String> {
    payloads
        .iter()
        .filter(|p| {
            skopeo_inspect_raw(&dst.docker_ref(&format!("openshift/release-images:{}-x86_64", p.version))).is_ok()
        })
        .map(|p| p.version.clone())
        .collect()
}

#[test]
fn shortest_path_takes_a_conditional_edge_only_when_no_other_path_exists_and_names_its_risk() {
    let dir = TestDir::new("release_shortest_path");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let a = push_component(&dir, &src, "comp-a", 401);
    let versions = ["4.16.0", "4.16.1", "4.16.2", "4.16.3"];
    let payloads: Vec<Payload> = versions
        .iter()
        .map(|v| push_payload(&dir, &src, v, &[("comp-a", &a)]))
        .collect();
    let refs: Vec<&Payload> = payloads.iter().collect();
    // 4.16.0 → 4.16.1 → 4.16.3 needs the conditional edge 4.16.1 → 4.16.3; 4.16.2 leads nowhere.
    let graph = graph_with(&src, &refs, &[(0, 1), (0, 2)], &[(1, 3)]);
    let signed: Vec<(&Payload, &str)> = refs.iter().map(|p| (*p, p.digest.as_str())).collect();
    let server = ReleaseServer::with_graph(&dir, graph, &signed);
    let yaml = "  platform:\n    channels:\n    - name: stable-4.16\n      minVersion: 4.16.0\n      maxVersion: 4.16.3\n      shortestPath: true\n";
    let run = server.mirror(&dir, yaml, &dst.host(), &[]);
    run.assert_success();
    assert_eq!(mirrored_versions(&dst, &refs), ["4.16.0", "4.16.1", "4.16.3"]);
    let stderr = run.stderr();
    assert!(
        stderr.contains("4.16.1 → 4.16.3") && stderr.contains("TestRisk"),
        "{stderr}"
    );
}

#[test]
fn two_channels_also_bring_the_upgrade_path_between_them() {
    let dir = TestDir::new("release_two_channels");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let a = push_component(&dir, &src, "comp-a", 411);
    let versions = ["4.16.0", "4.16.1", "4.16.2", "4.17.0", "4.17.1"];
    let payloads: Vec<Payload> = versions
        .iter()
        .map(|v| push_payload(&dir, &src, v, &[("comp-a", &a)]))
        .collect();
    let refs: Vec<&Payload> = payloads.iter().collect();
    let graph = graph_with(&src, &refs, &[(0, 1), (1, 2), (2, 3), (3, 4), (1, 4)], &[]);
    let signed: Vec<(&Payload, &str)> = refs.iter().map(|p| (*p, p.digest.as_str())).collect();
    let server = ReleaseServer::with_graph(&dir, graph, &signed);
    let yaml = "  platform:\n    channels:\n    - name: stable-4.16\n      minVersion: 4.16.0\n      maxVersion: 4.16.0\n    - name: stable-4.17\n      minVersion: 4.17.1\n      maxVersion: 4.17.1\n";
    let run = server.mirror(&dir, yaml, &dst.host(), &[]);
    run.assert_success();
    // 4.16.0 → 4.16.1 → 4.17.1 is the shortest path from the first channel's selection to the second's.
    assert_eq!(mirrored_versions(&dst, &refs), ["4.16.0", "4.16.1", "4.17.1"]);
}
