//! A chart rendered as `helm template` renders it with default values: every template of the chart and its enabled
//! subcharts parsed into one set (a parent's definitions win over its subcharts'), each manifest template executed
//! with Helm's built-in objects, and the output read as YAML documents. A template that fails is reported, not fatal:
//! the others still give their documents.

use serde_json::{json, Map, Value};

use super::chart::Chart;
use super::template::{Executor, TemplateSet};
use super::values::ChartInstance;

/// The release name and namespace every render uses (`helm template`'s defaults).
const RELEASE_NAME: &str = "release-name";
const RELEASE_NAMESPACE: &str = "default";
/// The cluster version templates see.
const KUBE_VERSION: (&str, &str) = ("1", "31");

/// The group/versions a recent cluster serves, for `.Capabilities.APIVersions.Has`.
const API_VERSIONS: [&str; 20] = [
    "v1",
    "admissionregistration.k8s.io/v1",
    "apiextensions.k8s.io/v1",
    "apps/v1",
    "authentication.k8s.io/v1",
    "authorization.k8s.io/v1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "certificates.k8s.io/v1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "events.k8s.io/v1",
    "networking.k8s.io/v1",
    "node.k8s.io/v1",
    "policy/v1",
    "rbac.authorization.k8s.io/v1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1",
];

/// A template that could not be rendered, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateFailure {
    pub template: String,
    pub reason: String,
}

/// What a render gave.
#[derive(Debug, Default)]
pub(crate) struct Rendered {
    pub documents: Vec<Value>,
    pub failures: Vec<TemplateFailure>,
    /// Manifest templates rendered (with or without success).
    pub templates: usize,
}

/// A manifest template to execute, and the data it sees.
struct Job {
    name: String,
    data: Value,
}

/// Renders the chart tree.
pub(crate) fn render(instance: &ChartInstance<'_>) -> Rendered {
    let mut set = TemplateSet::default();
    let mut jobs = Vec::new();
    let mut rendered = Rendered::default();
    add_templates(instance, &mut set, &mut jobs, &mut rendered.failures);
    rendered.templates = jobs.len() + rendered.failures.len();
    for job in jobs {
        let mut executor = Executor::new(&set);
        match executor.execute(&job.name, &job.data) {
            Ok(output) => match documents(&output) {
                Ok(found) => rendered.documents.extend(found),
                Err(reason) => rendered.failures.push(TemplateFailure {
                    template: job.name,
                    reason: format!("the rendered output is not YAML: {reason}"),
                }),
            },
            Err(error) => rendered.failures.push(TemplateFailure {
                template: job.name,
                reason: error.to_string(),
            }),
        }
    }
    rendered
}

/// A template of the chart tree: its full name, its text, and the data it runs with when it is a manifest.
struct Source<'c> {
    name: String,
    text: &'c [u8],
    data: Option<Value>,
}

/// Parses the templates of `instance` and its subcharts in Helm's order (deepest paths first, then by name, so
/// that a parent's definitions win over its subcharts') and lists the manifest templates to execute.
fn add_templates(
    instance: &ChartInstance<'_>,
    set: &mut TemplateSet,
    jobs: &mut Vec<Job>,
    failures: &mut Vec<TemplateFailure>,
) {
    let mut sources = Vec::new();
    collect_sources(instance, set, &mut sources);
    sources.sort_by(|a, b| depth(&b.name).cmp(&depth(&a.name)).then_with(|| a.name.cmp(&b.name)));
    for source in sources {
        if let Err(error) = set.add(&source.name, &String::from_utf8_lossy(source.text)) {
            failures.push(TemplateFailure {
                template: source.name,
                reason: error.to_string(),
            });
            continue;
        }
        if let Some(data) = source.data {
            jobs.push(Job {
                name: source.name,
                data,
            });
        }
    }
}

fn depth(name: &str) -> usize {
    name.matches('/').count()
}

/// Every template of the tree, manifests with their data (`.Template` set).
fn collect_sources<'c>(instance: &ChartInstance<'c>, set: &mut TemplateSet, sources: &mut Vec<Source<'c>>) {
    for sub in &instance.subcharts {
        collect_sources(sub, set, sources);
    }
    let base = chart_data(instance, set);
    for template in &instance.chart.templates {
        let name = format!("{}/{}", instance.path, template.name);
        let data = is_manifest(&template.name).then(|| {
            let mut data = base.clone();
            data["Template"] = json!({"Name": name, "BasePath": format!("{}/templates", instance.path)});
            data
        });
        sources.push(Source {
            name,
            text: &template.data,
            data,
        });
    }
}

/// Partials (`_helpers.tpl`) only define; `NOTES.txt` is shown to people, not applied.
fn is_manifest(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    !base.starts_with('_') && base != "NOTES.txt"
}

/// The built-in objects of a chart's templates.
fn chart_data(instance: &ChartInstance<'_>, set: &mut TemplateSet) -> Value {
    let files: Map<String, Value> = instance
        .chart
        .files
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                Value::String(String::from_utf8_lossy(&f.data).into_owned()),
            )
        })
        .collect();
    let (major, minor) = KUBE_VERSION;
    let version = format!("v{major}.{minor}.0");
    json!({
        "Values": Value::Object(instance.values.clone()),
        "Chart": chart_object(instance.chart, &instance.name),
        "Release": {
            "Name": RELEASE_NAME, "Namespace": RELEASE_NAMESPACE, "Service": "Helm",
            "IsInstall": true, "IsUpgrade": false, "Revision": 1,
        },
        "Capabilities": {
            "KubeVersion": {"Version": version, "GitVersion": version, "Major": major, "Minor": minor},
            "APIVersions": API_VERSIONS,
            "HelmVersion": {"Version": "v3.16.0", "GitCommit": "", "GoVersion": ""},
        },
        "Files": set.add_files(&instance.path, files),
    })
}

/// `.Chart`: Chart.yaml's fields under Helm's Go names (`Name`, `AppVersion`, `APIVersion`...), named by alias.
fn chart_object(chart: &Chart, name: &str) -> Value {
    let mut object: Map<String, Value> = chart
        .metadata
        .iter()
        .map(|(key, value)| {
            let go_name = match key.as_str() {
                "apiVersion" => "APIVersion".to_string(),
                other => {
                    let mut chars = other.chars();
                    chars
                        .next()
                        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                        .unwrap_or_default()
                }
            };
            (go_name, value.clone())
        })
        .collect();
    object.insert("Name".into(), Value::String(name.into()));
    object.insert("IsRoot".into(), Value::Bool(!name.is_empty() && chart.name == name));
    Value::Object(object)
}

/// The YAML documents of a rendered template (empty ones dropped).
fn documents(output: &str) -> Result<Vec<Value>, String> {
    use serde::Deserialize;
    let mut found = Vec::new();
    for document in serde_yaml::Deserializer::from_str(output) {
        let value = Value::deserialize(document).map_err(|e| e.to_string())?;
        if !value.is_null() {
            found.push(value);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::super::images::{image_paths, images_in_documents};
    use super::super::values::instantiate;
    use super::*;
    use std::path::Path;

    fn render_testdata(path: &str) -> (Rendered, Vec<String>) {
        let full = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/testdata/helm")
            .join(path);
        let (chart, _) = Chart::from_path(&full).unwrap();
        let instance = instantiate(&chart, Map::new());
        let rendered = render(&instance);
        let images = images_in_documents(&rendered.documents, &image_paths(&[]).unwrap());
        (rendered, images)
    }

    #[test]
    fn podinfo_renders_whole_with_its_images() {
        let (rendered, images) = render_testdata("podinfo-repo/podinfo-6.9.0.tgz");
        assert_eq!(rendered.failures, []);
        assert!(
            images
                .iter()
                .any(|i| i.starts_with("ghcr.io/stefanprodan/podinfo:6.9.0")),
            "{images:?}"
        );
    }

    #[test]
    fn an_aliased_subchart_and_its_own_subcharts_render_with_guarded_nil_values() {
        let (rendered, images) = render_testdata("oc-mirror-charts/my-chart-with-subchart-alias-0.1.0.tgz");
        assert_eq!(rendered.failures, []);
        for image in [
            "quay.io/rhdh-community/rhdh:next",
            "quay.io/fedora/postgresql-15:latest",
            "nginx:1.16.0",
        ] {
            assert!(images.iter().any(|i| i == image), "{image} in {images:?}");
        }
    }

    #[test]
    fn every_chart_of_the_test_data_renders_without_failure() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/helm");
        let mut charts = 0;
        for dir in ["oc-mirror-charts", "podinfo-repo", "service-binding-operator-repo"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "tgz") {
                    let (rendered, images) =
                        render_testdata(&format!("{dir}/{}", path.file_name().unwrap().to_string_lossy()));
                    assert_eq!(rendered.failures, [], "{}", path.display());
                    assert!(!images.is_empty(), "{} names images", path.display());
                    charts += 1;
                }
            }
        }
        assert_eq!(charts, 10);
    }

    #[test]
    fn ingress_nginx_renders_whole_with_its_digest_pinned_images() {
        let (rendered, images) = render_testdata("oc-mirror-charts/ingress-nginx-4.12.1.tgz");
        assert_eq!(rendered.failures, []);
        assert!(
            images
                .iter()
                .any(|i| i.starts_with("registry.k8s.io/ingress-nginx/controller:v1.12.1@sha256:")),
            "{images:?}"
        );
    }
}
