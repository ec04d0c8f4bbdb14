//! Helm charts (`mirror.helm`): a chart built at test time whose templates name images generated in the source
//! registry (`_helpers.tpl` defines, `default`, `printf`, an aliased subchart, a disabled one, an init container, a
//! CronJob, values split into registry/repository/tag/digest), served by a local chart repository, pushed as an
//! OCI chart, or read from disk. Results are checked with skopeo and raw HTTP against the destination registry.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

/// A source registry holding the test chart's images, and a chart repository serving `webapp` 1.2.0 (its
/// package returned too).
fn webapp_repository(dir: &TestDir, src: &TestRegistry) -> (ChartImages, Vec<u8>, StaticServer) {
    let images = push_images(dir, src);
    let webapp = package("webapp", &webapp_files(&images));
    let server = StaticServer::start(repository_routes(&[("webapp", "1.2.0", &webapp)]));
    (images, webapp, server)
}

/// The images the test chart deploys, pushed to the source registry.
struct ChartImages {
    src: String,
    cron_digest: String,
}

fn push_images(dir: &TestDir, src: &TestRegistry) -> ChartImages {
    for (seed, repo_tag) in [
        (1, "apps/web:2.0"),
        (2, "apps/init:1"),
        (4, "apps/cache:3"),
        (5, "apps/agent:1"),
    ] {
        let image = multi_arch_image(
            dir.join(repo_tag.replace([':', '/'], "_")),
            seed,
            &["linux/amd64"],
            false,
        );
        image.push(&src.host(), repo_tag);
    }
    let cron = multi_arch_image(dir.join("cron"), 3, &["linux/amd64"], false);
    cron.push(&src.host(), "apps/cron:any");
    ChartImages {
        src: src.host(),
        cron_digest: cron.index.digest.clone(),
    }
}

const HELPERS: &str = r#"{{/* Names and images, as charts write them. */}}
{{- define "webapp.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "webapp.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "webapp.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository $tag -}}
{{- end -}}
"#;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "webapp.fullname" . }}
  labels:
    {{- include "webapp.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
      {{- if .Values.init.enabled }}
      initContainers:
      - name: init
        image: {{ .Values.init.image | quote }}
      {{- end }}
      containers:
      - name: web
        image: "{{ include "webapp.image" . }}"
        {{- with .Values.resources }}
        resources:
          {{- toYaml . | nindent 10 }}
        {{- end }}
        env:
        {{- range $name, $value := .Values.env }}
        - name: {{ $name }}
          value: {{ $value | quote }}
        {{- end }}
"#;

const CRONJOB: &str = r#"apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ include "webapp.fullname" . }}-cron
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: cron
            image: {{ printf "%s/%s@%s" .Values.cron.registry .Values.cron.repository .Values.cron.digest }}
          restartPolicy: OnFailure
"#;

const AGENT: &str = r#"apiVersion: example.com/v1
kind: Agent
metadata:
  name: {{ template "webapp.fullname" . }}-agent
spec:
  agent:
    image: {{ .Values.agent.image }}
"#;

const SUBCHART_TEMPLATE: &str = r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
  annotations:
    registry: {{ .Values.global.team | default "none" }}
spec:
  template:
    spec:
      containers:
      - name: main
        image: {{ .Values.image.repository }}:{{ .Values.image.tag }}
"#;

/// The files of the test chart `webapp` 1.2.0 (paths under `webapp/`).
fn webapp_files(images: &ChartImages) -> Vec<(String, String)> {
    let src = &images.src;
    let chart_yaml = "apiVersion: v2\nname: webapp\nversion: 1.2.0\nappVersion: \"2.0\"\ndescription: a test chart\n\
        dependencies:\n- name: cache\n  version: 0.1.0\n  alias: store\n  condition: store.enabled\n\
        - name: metrics\n  version: 0.1.0\n  condition: metrics.enabled\n";
    let values = format!(
        "replicas: 2\nimage:\n  registry: {src}\n  repository: apps/web\n  tag: \"\"\n\
         init:\n  enabled: true\n  image: {src}/apps/init:1\n\
         cron:\n  registry: {src}\n  repository: apps/cron\n  digest: {}\n\
         agent:\n  image: {src}/apps/agent:1\n\
         resources:\n  limits:\n    cpu: 100m\n\
         env:\n  MODE: fast\n  LEVEL: 3\n\
         global:\n  team: blue\n\
         store:\n  enabled: true\n  image:\n    repository: {src}/apps/cache\n    tag: \"3\"\n\
         metrics:\n  enabled: false\n",
        images.cron_digest
    );
    let sub = |name: &str, values: String| {
        vec![
            (
                format!("charts/{name}/Chart.yaml"),
                format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n"),
            ),
            (format!("charts/{name}/values.yaml"), values),
            (
                format!("charts/{name}/templates/workload.yaml"),
                SUBCHART_TEMPLATE.to_string(),
            ),
        ]
    };
    let mut files = vec![
        ("Chart.yaml".to_string(), chart_yaml.to_string()),
        ("values.yaml".to_string(), values),
        ("templates/_helpers.tpl".to_string(), HELPERS.to_string()),
        ("templates/deployment.yaml".to_string(), DEPLOYMENT.to_string()),
        ("templates/cronjob.yaml".to_string(), CRONJOB.to_string()),
        ("templates/agent.yaml".to_string(), AGENT.to_string()),
        (
            "templates/NOTES.txt".to_string(),
            "Thanks for installing {{ .Chart.Name }}.\n".to_string(),
        ),
    ];
    files.extend(sub(
        "cache",
        "image:\n  repository: nowhere/cache\n  tag: \"0\"\n".into(),
    ));
    // Disabled by its condition: its image does not exist, so mirroring it would fail the run.
    files.extend(sub(
        "metrics",
        format!("image:\n  repository: {src}/apps/metrics\n  tag: \"9\"\n"),
    ));
    files
}

/// A chart whose template cannot be rendered without a value the chart does not default.
fn broken_files(images: &ChartImages) -> Vec<(String, String)> {
    vec![
        ("Chart.yaml".into(), "apiVersion: v2\nname: broken\nversion: 0.1.0\n".into()),
        (
            "values.yaml".into(),
            format!("image:\n  repository: {}/apps/web\n  tag: \"2.0\"\ndb: {{}}\n", images.src),
        ),
        (
            "templates/deployment.yaml".into(),
            "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: {{ .Values.image.repository }}\n        env:\n        - name: DB\n          value: {{ required \"db.host is required\" .Values.db.host }}\n".into(),
        ),
    ]
}

/// `name-version.tgz` of `files` under `name/`.
fn package(name: &str, files: &[(String, String)]) -> Vec<u8> {
    let entries: Vec<(String, &[u8])> = files
        .iter()
        .map(|(path, text)| (format!("{name}/{path}"), text.as_bytes()))
        .collect();
    let borrowed: Vec<(&str, &[u8])> = entries.iter().map(|(p, d)| (p.as_str(), *d)).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar_bytes(&borrowed)).unwrap();
    gz.finish().unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha256_digest(bytes).trim_start_matches("sha256:").to_string()
}

/// An `index.yaml` listing `(name, version, archive)` with relative URLs and their digests.
fn index_yaml(charts: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut text = String::from("apiVersion: v1\nentries:\n");
    let mut names: Vec<&str> = charts.iter().map(|c| c.0).collect();
    names.dedup();
    for name in names {
        text.push_str(&format!("  {name}:\n"));
        for (_, version, archive) in charts.iter().filter(|c| c.0 == name) {
            text.push_str(&format!(
                "  - apiVersion: v2\n    name: {name}\n    version: {version}\n    digest: {}\n    urls:\n    - charts/{name}-{version}.tgz\n",
                sha256_hex(archive)
            ));
        }
    }
    text.into_bytes()
}

/// A chart repository serving `charts` under `/repo/`.
fn repository_routes(charts: &[(&str, &str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    let mut routes = vec![("/repo/index.yaml".to_string(), index_yaml(charts))];
    for (name, version, archive) in charts {
        routes.push((format!("/repo/charts/{name}-{version}.tgz"), archive.to_vec()));
    }
    routes
}

fn raw_manifest(host: &str, repo: &str, reference: &str) -> Value {
    let raw = skopeo_inspect_raw(&format!("docker://{host}/{repo}:{reference}"))
        .unwrap_or_else(|e| panic!("{repo}:{reference} is not at the destination: {e}"));
    serde_json::from_slice(&raw).unwrap()
}

fn exists(host: &str, repo_ref: &str) -> bool {
    skopeo_inspect_raw(&format!("docker://{host}/{repo_ref}")).is_ok()
}

/// The chart images the test chart's default render names, at the destination under `mirror/`.
fn assert_chart_images_mirrored(dst: &str, images: &ChartImages, with_agent: bool) {
    for repo_tag in ["apps/web:2.0", "apps/init:1", "apps/cache:3"] {
        assert!(
            exists(dst, &format!("mirror/{repo_tag}")),
            "{repo_tag} missing at the destination"
        );
    }
    let cron_tag = images.cron_digest.replace(':', "-");
    let cron = raw_manifest(dst, "mirror/apps/cron", &cron_tag);
    assert_eq!(
        cron["manifests"].as_array().map(Vec::len),
        Some(1),
        "the cron image by digest: {cron}"
    );
    assert_eq!(
        exists(dst, "mirror/apps/agent:1"),
        with_agent,
        "the agent image follows imagePaths"
    );
    assert!(
        !exists(dst, "mirror/apps/metrics:9"),
        "a disabled subchart's image is not mirrored"
    );
}

/// The chart at the destination is an OCI chart whose layer is the packaged chart, byte for byte.
fn assert_oci_chart(dst: &str, repo: &str, version: &str, package: &[u8]) {
    let manifest = raw_manifest(dst, repo, version);
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.cncf.helm.config.v1+json"
    );
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
    );
    assert_eq!(
        manifest["layers"][0]["digest"],
        sha256_digest(package),
        "the chart layer is the package"
    );
    let response = http_get(&format!(
        "http://{dst}/v2/{repo}/blobs/{}",
        manifest["config"]["digest"].as_str().unwrap()
    ));
    let config: Value = serde_json::from_slice(&response).unwrap();
    assert_eq!(
        (config["name"].as_str(), config["version"].as_str()),
        (Some(repo.rsplit('/').next().unwrap()), Some(version))
    );
}

fn http_get(url: &str) -> Vec<u8> {
    let output = std::process::Command::new("curl").args(["-sf", url]).output().unwrap();
    assert!(output.status.success(), "GET {url} failed");
    output.stdout
}

fn repository_yaml(url: &str, charts: &str) -> String {
    format!("  helm:\n    repositories:\n    - name: test\n      url: {url}\n      charts:\n{charts}")
}

#[test]
fn a_repository_chart_is_rendered_and_its_images_and_itself_are_mirrored() {
    let dir = TestDir::new("helm_repository");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let (images, webapp, server) = webapp_repository(&dir, &src);
    let yaml = repository_yaml(
        &format!("{}/repo", server.url()),
        "      - name: webapp\n        version: 1.2.0\n        imagePaths:\n        - \"{.spec.agent.image}\"\n",
    );
    let dry = mirror_to_registry(&dir, &yaml, &format!("{}/mirror", dst.host()), &["--dry-run"]);
    dry.assert_success();
    let planned = dry.working_file("dry-run/mapping.txt");
    assert!(
        planned.contains("helm chart webapp-1.2.0")
            && planned.contains("mirror/webapp:1.2.0")
            && planned.contains("apps/agent:1"),
        "a dry run lists the chart and its images: {planned}"
    );
    assert!(!exists(&dst.host(), "mirror/webapp:1.2.0"), "a dry run copies nothing");
    let run = mirror_to_registry(&dir, &yaml, &format!("{}/mirror", dst.host()), &[]);
    run.assert_success_with(&format!("{:?}", server.requests()));
    assert_chart_images_mirrored(&dst.host(), &images, true);
    assert_oci_chart(&dst.host(), "mirror/webapp", "1.2.0", &webapp);
    let stderr = run.stderr();
    assert!(
        stderr.contains("chart webapp-1.2.0"),
        "the render is reported: {stderr}"
    );
    let mapping = run.working_file("mapping.txt");
    assert!(
        mapping.contains("mirror/webapp:1.2.0"),
        "mapping names the chart: {mapping}"
    );
}

#[test]
fn a_chart_repository_behind_a_login_is_read_with_the_auth_file_and_refused_without() {
    let dir = TestDir::new("helm_login");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let images = push_images(&dir, &src);
    let webapp = package("webapp", &webapp_files(&images));
    let server = StaticServer::start_with_login(
        repository_routes(&[("webapp", "1.2.0", &webapp)]),
        "chart-user",
        "s3cret-pw",
    );
    let yaml = repository_yaml(
        &format!("{}/repo", server.url()),
        "      - name: webapp\n        version: 1.2.0\n",
    );

    let run = mirror_to_registry(&dir, &yaml, &format!("{}/mirror", dst.host()), &[]);
    assert_eq!(run.code(), 16, "the helm group fails: {}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.contains(server.host()) && stderr.contains("auth file"),
        "{stderr}"
    );

    let authfile = dir.join("auth.json");
    std::fs::write(
        &authfile,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#,
            server.host(),
            basic_b64("chart-user", "s3cret-pw")
        ),
    )
    .unwrap();
    let run = mirror_to_registry(
        &dir,
        &yaml,
        &format!("{}/mirror", dst.host()),
        &["--authfile", authfile.to_str().unwrap()],
    );
    run.assert_success();
    assert!(
        !run.stderr().contains("s3cret-pw") && !run.log().contains("s3cret-pw"),
        "no credential in logs"
    );
    assert_oci_chart(&dst.host(), "mirror/webapp", "1.2.0", &webapp);
}

/// Pushes `package` as an OCI chart `charts/<name>:<version>` to `registry`, as `helm push` would.
fn push_oci_chart(dir: &Path, registry: &str, name: &str, version: &str, package: &[u8]) {
    let mut layout = LayoutBuilder::new(dir);
    let config = layout.add_typed_blob(
        "application/vnd.cncf.helm.config.v1+json",
        format!(r#"{{"apiVersion":"v2","name":"{name}","version":"{version}"}}"#).as_bytes(),
    );
    let layer = layout.add_typed_blob("application/vnd.cncf.helm.chart.content.v1.tar+gzip", package);
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config.to_json(), "layers": [layer.to_json()],
    });
    let top = layout.add_typed_blob(
        "application/vnd.oci.image.manifest.v1+json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    layout.tag(&top, "chart");
    push_layout_raw(
        layout.dir(),
        "chart",
        registry,
        &format!("charts/{name}:{version}"),
        None,
    );
}

#[test]
fn local_archives_directories_and_oci_charts_are_mirrored() {
    let dir = TestDir::new("helm_local_oci");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let images = push_images(&dir, &src);
    let files = webapp_files(&images);
    let webapp = package("webapp", &files);
    let archive = dir.join("webapp-1.2.0.tgz");
    std::fs::write(&archive, &webapp).unwrap();
    let unpacked = dir.join("broken-src");
    for (path, text) in broken_files(&images) {
        let file = unpacked.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    push_oci_chart(&dir.join("oci-chart"), &src.host(), "webapp", "1.2.0", &webapp);
    let yaml = format!(
        "  helm:\n    local:\n    - name: webapp\n      path: {}\n    - name: broken\n      path: {}\n\
         \x20   repositories:\n    - name: oci\n      url: oci://{}/charts\n      charts:\n      - name: webapp\n        version: 1.2.0\n",
        archive.display(),
        unpacked.display(),
        src.host()
    );
    let run = mirror_to_registry(&dir, &yaml, &format!("{}/mirror", dst.host()), &[]);
    run.assert_success();
    assert_chart_images_mirrored(&dst.host(), &images, false);
    assert_oci_chart(&dst.host(), "mirror/webapp", "1.2.0", &webapp);
    // The OCI chart keeps its source path and its manifest, byte for byte.
    let source = skopeo_inspect_raw(&format!("docker://{}/charts/webapp:1.2.0", src.host())).unwrap();
    let copied = skopeo_inspect_raw(&format!("docker://{}/mirror/charts/webapp:1.2.0", dst.host())).unwrap();
    assert_eq!(source, copied);
    // The directory was packaged: its chart is there, and reads back as the same files.
    let broken = raw_manifest(&dst.host(), "mirror/broken", "0.1.0");
    assert_eq!(
        broken["config"]["mediaType"],
        "application/vnd.cncf.helm.config.v1+json"
    );
    let stderr = run.stderr();
    assert!(
        stderr.contains("templates/deployment.yaml")
            && stderr.contains("db.host is required")
            && stderr.contains("values"),
        "the fallback names the template, the cause and where images came from: {stderr}"
    );
}

#[test]
fn missing_versions_malicious_charts_and_wrong_digests_fail_the_helm_group_clearly() {
    let dir = TestDir::new("helm_failures");
    let dst = TestRegistry::start();
    let chart = |name: &str| {
        package(
            name,
            &[(
                "Chart.yaml".into(),
                format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\n"),
            )],
        )
    };
    let good = chart("good");
    let mut evil_files = tar_bytes(&[
        ("evil/Chart.yaml", b"name: evil\nversion: 1.0.0\n"),
        ("evil/../../escape", b"x"),
    ]);
    let evil = {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&evil_files).unwrap();
        evil_files.clear();
        gz.finish().unwrap()
    };
    let mut routes = repository_routes(&[("good", "1.0.0", &good), ("evil", "1.0.0", &evil)]);
    // An index that promises another archive than the one served.
    let tampered = chart("tampered");
    routes.push(("/repo/charts/tampered-1.0.0.tgz".into(), tampered));
    let index = String::from_utf8(routes[0].1.clone()).unwrap()
        + &format!("  tampered:\n  - apiVersion: v2\n    name: tampered\n    version: 1.0.0\n    digest: {}\n    urls:\n    - charts/tampered-1.0.0.tgz\n", "0".repeat(64));
    routes[0].1 = index.into_bytes();
    let server = StaticServer::start(routes);
    // A local chart whose image is nowhere: the failure names the chart that deploys it.
    let lonely = dir.join("lonely-1.0.0.tgz");
    let template = "kind: Pod\nspec:\n  containers:\n  - image: 127.0.0.1:9/none/app:1\n";
    let files = [
        (
            "Chart.yaml".to_string(),
            "apiVersion: v2\nname: lonely\nversion: 1.0.0\n".to_string(),
        ),
        ("templates/pod.yaml".to_string(), template.to_string()),
    ];
    std::fs::write(&lonely, package("lonely", &files)).unwrap();
    let yaml = repository_yaml(
        &format!("{}/repo", server.url()),
        "      - name: good\n        version: 9.9.9\n      - name: evil\n        version: 1.0.0\n      - name: tampered\n        version: 1.0.0\n",
    ) + &format!("    local:\n    - name: lonely\n      path: {}\n", lonely.display());
    let run = mirror_to_registry(&dir, &yaml, &dst.host(), &[]);
    assert_eq!(run.code(), 16, "{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.contains("no version 9.9.9") && stderr.contains("1.0.0"),
        "names the versions there are: {stderr}"
    );
    assert!(stderr.contains("malicious") && stderr.contains(".."), "{stderr}");
    assert!(stderr.contains("index says"), "the digest mismatch is named: {stderr}");
    assert!(
        stderr.contains("deployed by chart lonely 1.0.0"),
        "a failed image names its chart: {stderr}"
    );
    assert!(!dir.path().parent().unwrap().join("escape").exists());
    assert!(!exists(&dst.host(), "evil:1.0.0") && !exists(&dst.host(), "tampered:1.0.0"));
}

#[test]
fn charts_travel_in_the_archive_and_disk_to_mirror_needs_no_chart_server() {
    let dir = TestDir::new("helm_disk");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let (images, webapp, server) = webapp_repository(&dir, &src);
    let yaml = repository_yaml(
        &format!("{}/repo", server.url()),
        "      - name: webapp\n        version: 1.2.0\n",
    );
    let config: PathBuf = write_isc(dir.path(), &yaml);
    let archive = dir.join("archive");
    assert_ok(&mirror_to_disk(&dir, &config, &archive, &[], &[]));
    let asked = server.requests().len();

    let describe = ferry_at(dir.path())
        .arg("describe")
        .arg(format!("file://{}", archive.display()))
        .output()
        .unwrap();
    let described = assert_ok(&describe) + &String::from_utf8_lossy(&describe.stdout);
    assert!(
        described.contains("charts: 1") && described.contains("webapp 1.2.0 from"),
        "describe lists the chart: {described}"
    );

    let pushed = disk_to_mirror(&dir, &config, &archive, &format!("{}/mirror", dst.host()));
    assert_ok(&pushed);
    assert_eq!(
        server.requests().len(),
        asked,
        "disk-to-mirror asked the chart server nothing"
    );
    assert_chart_images_mirrored(&dst.host(), &images, false);
    assert_oci_chart(&dst.host(), "mirror/webapp", "1.2.0", &webapp);
}

/// The real podinfo repository (absolute URLs, rewritten to the local server) and the service-binding-operator
/// repository (relative URLs): podinfo 6.9.0 rendered, its images read through registries.conf mirrors that point
/// at the source registry; the operator chart pushed with its digest-pinned images blocked.
#[test]
fn the_real_podinfo_and_service_binding_operator_repositories_are_mirrored() {
    let dir = TestDir::new("helm_real_repositories");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/helm");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let podinfo_index = std::fs::read_to_string(testdata.join("podinfo-repo/index.yaml"))
        .unwrap()
        .replace("https://stefanprodan.github.io/podinfo", &format!("{base}/podinfo"));
    let podinfo = std::fs::read(testdata.join("podinfo-repo/podinfo-6.9.0.tgz")).unwrap();
    let sbo_index = std::fs::read(testdata.join("service-binding-operator-repo/index.yaml")).unwrap();
    let sbo = std::fs::read(testdata.join("service-binding-operator-repo/service-binding-operator-1.4.0.tgz")).unwrap();
    let routes = vec![
        ("/podinfo/index.yaml".to_string(), podinfo_index.into_bytes()),
        ("/podinfo/podinfo-6.9.0.tgz".to_string(), podinfo.clone()),
        ("/sbo/index.yaml".to_string(), sbo_index),
        ("/sbo/service-binding-operator-1.4.0.tgz".to_string(), sbo.clone()),
    ];
    let server = StaticServer::start_on(listener, routes, None);
    // The images podinfo's templates name, generated and pushed where the registries.conf mirrors point.
    let rendered = [
        (11, "ghcr/stefanprodan/podinfo:6.9.0"),
        (12, "hub/stefanprodan/grpc_health_probe:v0.3.0"),
        (13, "hub/giantswarm/tiny-tools:latest"),
        (14, "hub/curlimages/curl:7.69.0"),
    ];
    for (seed, repo_tag) in rendered {
        let image = multi_arch_image(
            dir.join(repo_tag.replace([':', '/'], "_")),
            seed,
            &["linux/amd64"],
            false,
        );
        image.push(&src.host(), repo_tag);
    }
    let conf = dir.join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "[[registry]]\nlocation = \"ghcr.io\"\n[[registry.mirror]]\nlocation = \"{0}/ghcr\"\ninsecure = true\n\n\
             [[registry]]\nlocation = \"docker.io\"\n[[registry.mirror]]\nlocation = \"{0}/hub\"\ninsecure = true\n",
            src.host()
        ),
    )
    .unwrap();
    let yaml = format!(
        "  blockedImages:\n  - name: quay.io/.*\n  helm:\n    repositories:\n\
         \x20   - name: podinfo\n      url: {base}/podinfo\n      charts:\n      - name: podinfo\n        version: 6.9.0\n\
         \x20   - name: sbo\n      url: {base}/sbo\n      charts:\n      - name: service-binding-operator\n        version: 1.4.0\n"
    );
    let run = mirror_to_registry(
        &dir,
        &yaml,
        &format!("{}/mirror", dst.host()),
        &["--registries-conf", conf.to_str().unwrap()],
    );
    run.assert_success_with(&format!("{:?}", server.requests()));
    for repo_tag in [
        "stefanprodan/podinfo:6.9.0",
        "stefanprodan/grpc_health_probe:v0.3.0",
        "giantswarm/tiny-tools:latest",
        "curlimages/curl:7.69.0",
    ] {
        assert!(exists(&dst.host(), &format!("mirror/{repo_tag}")), "{repo_tag} missing");
    }
    assert_oci_chart(&dst.host(), "mirror/podinfo", "6.9.0", &podinfo);
    assert_oci_chart(&dst.host(), "mirror/service-binding-operator", "1.4.0", &sbo);
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r == "/sbo/service-binding-operator-1.4.0.tgz"),
        "the relative URL resolved against the repository: {:?}",
        server.requests()
    );
}
