//! `mirror.helm`: charts from repositories (an `index.yaml` over HTTP(S), or `oci://`) and from local paths. Each
//! chart is planned as an OCI artifact at the destination (`DEST/NS/<name>:<version>`, as `helm push` lays it out),
//! and the images it deploys, found by rendering it with its default values (or, where a template cannot be
//! rendered, in its values), are pinned to digests and planned like any image.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use regex::Regex;
use serde_json::{Map, Value};

use super::{image_job, pin_tags, CollectContext};
use crate::auth::AuthError;
use crate::config::{HelmChart, HelmRepository, ImageSetConfiguration};
use crate::events::{Collected, Event, Reporter};
use crate::helm::chart::{Chart, ChartError};
use crate::helm::images::{image_paths, images_in_documents, images_in_values, PathError};
use crate::helm::oci::{chart_artifact, chart_tag, CHART_LAYER};
use crate::helm::render::render;
use crate::helm::repository::{index_url, IndexEntry, IndexError, RepositoryIndex};
use crate::helm::values::{instantiate, ChartInstance};
use crate::image::manifest::{ManifestError, ManifestView};
use crate::image::{Digest, PlatformFilter};
use crate::plan::{ImageDestination, ImageOrigin, ImageSource, MirrorJob};
use crate::reference::{ImageReference, ReferenceError};
use crate::registry::{DocumentClient, DocumentError};
use crate::source::layers::{read_small_blob, LayerError};
use crate::source::{BuiltImage, SourceError, SourceReader, Sources};

/// Why a chart (or a whole repository) could not be collected.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HelmError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Download(#[from] DocumentError),
    #[error(transparent)]
    Chart(#[from] ChartError),
    #[error(transparent)]
    Credentials(#[from] AuthError),
    #[error("{url}: the archive's sha256 is {actual}, the repository index says {expected}\n  help: the download is damaged or the index is stale; try again, or ask the repository's owner")]
    DigestMismatch {
        url: String,
        expected: String,
        actual: String,
    },
    #[error(transparent)]
    ImagePath(#[from] PathError),
    #[error("values file {path}: {reason}")]
    ValuesFile { path: String, reason: String },
    #[error("{0}")]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{reference} is not a Helm chart: it has no `{CHART_LAYER}` layer")]
    NotAChart { reference: String },
    #[error("chart `{chart}` in {url} needs a `version`: an OCI repository is read by tag")]
    OciVersion { chart: String, url: String },
}

/// A chart that was planned (archives record it; `describe` lists it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ChartRecord {
    pub name: String,
    pub version: String,
    /// Where it came from: the repository URL, `oci://...` or the local path.
    pub source: String,
    /// Where the chart goes as an OCI artifact.
    pub destination: ImageDestination,
    /// The images it deploys, as found.
    pub images: Vec<String>,
    /// Templates that could not be rendered (the chart's values were read for images instead).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unrendered: Vec<String>,
}

impl ChartRecord {
    /// Whether this chart deploys `image` (a planned source, `docker://` or not, pinned or not).
    pub(crate) fn deploys(&self, image: &str) -> bool {
        let Ok(wanted) = image.trim_start_matches("docker://").parse::<ImageReference>() else {
            return false;
        };
        self.images
            .iter()
            .filter_map(|found| found.parse::<ImageReference>().ok())
            .any(|found| {
                found.registry == wanted.registry
                    && found.repository == wanted.repository
                    && (found.tag.as_deref().unwrap_or("latest") == wanted.tag.as_deref().unwrap_or("latest")
                        || (found.digest.is_some() && found.digest == wanted.digest))
            })
    }
}

/// A chart or repository that could not be collected.
#[derive(Debug)]
pub(crate) struct ChartFailure {
    /// The configuration entry (`mirror.helm.repositories[0] podinfo 6.9.0`).
    pub chart: String,
    pub error: HelmError,
}

/// What the helm collector planned.
#[derive(Default)]
pub(crate) struct CollectedCharts {
    pub jobs: Vec<MirrorJob>,
    /// Charts packaged as OCI artifacts in this run.
    pub built: Vec<Arc<BuiltImage>>,
    pub charts: Vec<ChartRecord>,
    pub failures: Vec<ChartFailure>,
}

/// A chart read from its source, with what the configuration says about it.
struct LoadedChart {
    chart: Chart,
    /// Where it is read from, for the record.
    source: String,
    /// The configuration's entry (its `imagePaths`, `values`, `platforms`); the default for a whole repository.
    entry: HelmChart,
    /// How the chart gets to the destination.
    artifact: Artifact,
}

enum Artifact {
    /// Packaged in this run from a `.tgz` or a directory.
    Packaged(Bytes),
    /// Already an OCI artifact in a registry, by digest.
    Registry(ImageReference),
}

/// Everything the collector reads charts with.
pub(crate) struct ChartSources<'a> {
    pub sources: &'a Sources,
    pub documents: &'a DocumentClient,
}

pub(crate) async fn collect(
    config: &ImageSetConfiguration,
    context: &CollectContext,
    from: &ChartSources<'_>,
    reporter: &Arc<dyn Reporter>,
) -> CollectedCharts {
    let helm = &config.spec.mirror.helm;
    let mut out = CollectedCharts::default();
    let mut loaded = Vec::new();
    for (index, repository) in helm.repositories.iter().enumerate() {
        let field = format!("mirror.helm.repositories[{index}]");
        if repository.url.starts_with("oci://") {
            load_oci_repository(repository, &field, from, &mut loaded, &mut out.failures).await;
        } else {
            load_http_repository(repository, &field, from, reporter, &mut loaded, &mut out.failures).await;
        }
    }
    for (index, entry) in helm.local.iter().enumerate() {
        let path = entry.path.clone().unwrap_or_default();
        match Chart::from_path(std::path::Path::new(&path)) {
            Ok((chart, package)) => loaded.push(LoadedChart {
                chart,
                source: path,
                entry: entry.clone(),
                artifact: Artifact::Packaged(Bytes::from(package)),
            }),
            Err(error) => out.failures.push(ChartFailure {
                chart: format!("mirror.helm.local[{index}] ({})", entry.name),
                error: error.into(),
            }),
        }
    }
    plan_charts(loaded, config, context, from.sources, reporter, &mut out).await;
    out
}

/// Every chart of an index repository the configuration selects, downloaded and read.
async fn load_http_repository(
    repository: &HelmRepository,
    field: &str,
    from: &ChartSources<'_>,
    reporter: &Arc<dyn Reporter>,
    loaded: &mut Vec<LoadedChart>,
    failures: &mut Vec<ChartFailure>,
) {
    let fail = |chart: String, error: HelmError| ChartFailure {
        chart: format!("{field} ({chart})"),
        error,
    };
    let index = match fetch_index(repository, from, reporter).await {
        Ok(index) => index,
        Err(error) => return failures.push(fail(repository.name.clone(), error)),
    };
    let mut selected: Vec<(IndexEntry, HelmChart)> = Vec::new();
    if repository.charts.is_empty() {
        selected.extend(
            index
                .every_chart()
                .into_iter()
                .map(|entry| (entry, HelmChart::default())),
        );
    }
    for chart in &repository.charts {
        match index.select(&repository.name, &chart.name, chart.version.as_deref()) {
            Ok(entries) => selected.extend(entries.into_iter().map(|entry| (entry, chart.clone()))),
            Err(error) => failures.push(fail(chart.name.clone(), error.into())),
        }
    }
    for (entry, chart) in selected {
        let label = format!("{} {}", entry.name, entry.version);
        match download_chart(repository, &entry, from, reporter).await {
            Ok((parsed, package)) => loaded.push(LoadedChart {
                chart: parsed,
                source: repository.url.clone(),
                entry: chart,
                artifact: Artifact::Packaged(package),
            }),
            Err(error) => failures.push(fail(label, error)),
        }
    }
}

async fn fetch_index(
    repository: &HelmRepository,
    from: &ChartSources<'_>,
    reporter: &Arc<dyn Reporter>,
) -> Result<RepositoryIndex, HelmError> {
    let url = index_url(&repository.url);
    let credential = from.sources.credentials.lookup(host_of(&url))?;
    let on_retry = retry_reporter(&url, reporter);
    let body = from
        .documents
        .get_as(&url, "application/yaml, text/yaml, */*", credential.as_ref(), &on_retry)
        .await?;
    Ok(RepositoryIndex::parse(&body, &url)?)
}

/// Downloads one chart archive, checks it against the index's digest, and reads it.
async fn download_chart(
    repository: &HelmRepository,
    entry: &IndexEntry,
    from: &ChartSources<'_>,
    reporter: &Arc<dyn Reporter>,
) -> Result<(Chart, Bytes), HelmError> {
    let url = entry.archive_url(&repository.name, &repository.url)?;
    let credential = from.sources.credentials.lookup(host_of(&url))?;
    let on_retry = retry_reporter(&url, reporter);
    let body = from
        .documents
        .get_as(
            &url,
            "application/gzip, application/octet-stream, */*",
            credential.as_ref(),
            &on_retry,
        )
        .await?;
    if let Some(expected) = entry.digest.as_deref().filter(|d| !d.is_empty()) {
        let actual = Digest::of_bytes(&body);
        if actual.hex() != expected.trim_start_matches("sha256:") {
            return Err(HelmError::DigestMismatch {
                url: url.clone(),
                expected: expected.to_string(),
                actual: actual.hex().to_string(),
            });
        }
    }
    let chart = Chart::from_archive(&body, &url)?;
    Ok((chart, body))
}

/// `host[:port]` of a URL, as auth files key credentials.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    authority.rsplit_once('@').map_or(authority, |(_, host)| host)
}

/// Tells the reporter of each retry of a download, as every request kind does (`Event::Retrying`).
fn retry_reporter<'r>(url: &'r str, reporter: &'r Arc<dyn Reporter>) -> impl Fn(u32, &str) + Sync + 'r {
    move |attempt, cause| {
        reporter.event(Event::Retrying {
            what: format!("GET {url}"),
            attempt,
            error: cause.to_string(),
        })
    }
}

/// Charts of an `oci://` repository: each `<url>/<name>:<version>` read through the registry client.
async fn load_oci_repository(
    repository: &HelmRepository,
    field: &str,
    from: &ChartSources<'_>,
    loaded: &mut Vec<LoadedChart>,
    failures: &mut Vec<ChartFailure>,
) {
    for chart in &repository.charts {
        match load_oci_chart(repository, chart, from.sources).await {
            Ok(found) => loaded.push(found),
            Err(error) => failures.push(ChartFailure {
                chart: format!("{field} ({} {})", chart.name, chart.version.as_deref().unwrap_or("")),
                error,
            }),
        }
    }
}

async fn load_oci_chart(
    repository: &HelmRepository,
    entry: &HelmChart,
    sources: &Sources,
) -> Result<LoadedChart, HelmError> {
    let base = repository.url.trim_start_matches("oci://").trim_end_matches('/');
    let Some(version) = entry.version.as_deref() else {
        return Err(HelmError::OciVersion {
            chart: entry.name.clone(),
            url: repository.url.clone(),
        });
    };
    let reference: ImageReference = format!("{base}/{}:{}", entry.name, chart_tag(version)).parse()?;
    let (reader, root) = SourceReader::open(&ImageSource::Registry(reference.clone()), sources).await?;
    let layers = match root.parse()? {
        ManifestView::Image { layers, .. } => layers,
        ManifestView::Index(_) => Vec::new(),
    };
    let layer = layers
        .into_iter()
        .find(|layer| layer.media_type == CHART_LAYER)
        .ok_or_else(|| HelmError::NotAChart {
            reference: reference.to_string(),
        })?;
    let package = read_small_blob(&reader, &layer).await?;
    let chart = Chart::from_archive(&package, &reference.to_string())?;
    Ok(LoadedChart {
        chart,
        source: format!("oci://{reference}"),
        entry: entry.clone(),
        artifact: Artifact::Registry(ImageReference {
            digest: Some(root.digest.clone()),
            ..reference
        }),
    })
}

/// Plans each chart's artifact and the images it deploys (once each, pinned, blocked ones left out).
async fn plan_charts(
    loaded: Vec<LoadedChart>,
    config: &ImageSetConfiguration,
    context: &CollectContext,
    sources: &Sources,
    reporter: &Arc<dyn Reporter>,
    out: &mut CollectedCharts,
) {
    let blocked = config.blocked_patterns();
    let mut images: BTreeMap<String, (ImageReference, PlatformFilter)> = BTreeMap::new();
    for chart in loaded {
        let label = chart.chart.label();
        let platforms = PlatformFilter::of(chart.entry.platforms.clone()).intersect(&context.cli_platforms);
        let found = match discover_images(&chart, reporter) {
            Ok(found) => found,
            Err(error) => {
                out.failures.push(ChartFailure { chart: label, error });
                continue;
            }
        };
        let (job, built) = match artifact_job(&chart, context) {
            Ok(planned) => planned,
            Err(error) => {
                out.failures.push(ChartFailure { chart: label, error });
                continue;
            }
        };
        for image in &found.images {
            let Some(platforms) = platforms.clone() else { break };
            match admit_image(image, &blocked, reporter) {
                Some(reference) => {
                    images.entry(reference.to_string()).or_insert((reference, platforms));
                }
                None => continue,
            }
        }
        out.charts.push(ChartRecord {
            name: chart.chart.name.clone(),
            version: chart.chart.version.clone(),
            source: chart.source.clone(),
            destination: job.destination.clone(),
            images: found.images,
            unrendered: found.unrendered,
        });
        out.jobs.push(job);
        out.built.extend(built);
    }
    let (references, filters): (Vec<_>, Vec<_>) = images.into_values().unzip();
    let pinned = pin_tags(references, sources).await;
    for (reference, platforms) in pinned.iter().zip(filters) {
        out.jobs
            .push(image_job(reference, &platforms, context, ImageOrigin::Helm));
    }
}

/// A chart image as a reference, unless a `blockedImages` pattern leaves it out.
fn admit_image(image: &str, blocked: &[Regex], reporter: &Arc<dyn Reporter>) -> Option<ImageReference> {
    if let Some(pattern) = blocked.iter().find(|p| p.is_match(image)) {
        reporter.event(Event::Collected(Collected::Blocked {
            image: image.to_string(),
            pattern: pattern.as_str().to_string(),
        }));
        return None;
    }
    match image.parse::<ImageReference>() {
        Ok(reference) => Some(reference),
        Err(error) => {
            reporter.event(Event::Warning(format!(
                "chart image `{image}` is not an image reference: {error}"
            )));
            None
        }
    }
}

/// The images one chart deploys.
struct FoundImages {
    images: Vec<String>,
    unrendered: Vec<String>,
}

/// Renders the chart with its default values (and the configuration's) and reads the images of the rendered
/// documents; templates that fail send ferry to the chart's values instead, and say so.
fn discover_images(loaded: &LoadedChart, reporter: &Arc<dyn Reporter>) -> Result<FoundImages, HelmError> {
    let paths = image_paths(&loaded.entry.image_paths)?;
    let supplied = supplied_values(&loaded.entry)?;
    let instance = instantiate(&loaded.chart, supplied);
    let started = Instant::now();
    let rendered = render(&instance);
    let mut images = images_in_documents(&rendered.documents, &paths);
    let unrendered: Vec<String> = rendered.failures.iter().map(|f| f.template.clone()).collect();
    if !rendered.failures.is_empty() {
        let from_values = values_images(&instance);
        for failure in &rendered.failures {
            reporter.event(Event::Warning(format!(
                "chart {}: template {} cannot be rendered ({}); images are read from the chart's values",
                loaded.chart.label(),
                failure.template,
                failure.reason
            )));
        }
        reporter.event(Event::Warning(format!(
            "chart {}: from its values: {}",
            loaded.chart.label(),
            if from_values.is_empty() {
                "no images".to_string()
            } else {
                from_values.join(", ")
            }
        )));
        for image in from_values {
            if !images.contains(&image) {
                images.push(image);
            }
        }
    }
    reporter.event(Event::Collected(Collected::ChartRendered {
        chart: loaded.chart.label(),
        templates: rendered.templates,
        images: images.len(),
        millis: started.elapsed().as_millis() as u64,
    }));
    Ok(FoundImages { images, unrendered })
}

/// The image-shaped entries of a chart's and its subcharts' values.
fn values_images(instance: &ChartInstance<'_>) -> Vec<String> {
    let app_version = instance
        .chart
        .metadata
        .get("appVersion")
        .map(crate::helm::chart::scalar_text);
    let mut images = images_in_values(&instance.values, app_version.as_deref().unwrap_or(""));
    for sub in &instance.subcharts {
        for image in values_images(sub) {
            if !images.contains(&image) {
                images.push(image);
            }
        }
    }
    images
}

/// The configuration's `valuesFiles` (in order) and then its `values`, for the render.
fn supplied_values(entry: &HelmChart) -> Result<Map<String, Value>, HelmError> {
    let mut merged = Map::new();
    let mut layers = Vec::new();
    for path in &entry.values_files {
        let bad = |reason: String| HelmError::ValuesFile {
            path: path.clone(),
            reason,
        };
        let text = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        layers.push(crate::helm::chart::yaml_mapping(&text, path, path).map_err(|e| bad(e.to_string()))?);
    }
    let inline = serde_json::to_value(&entry.values)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    layers.push(inline);
    for layer in layers.into_iter().rev() {
        crate::helm::values::coalesce(&mut merged, &layer);
    }
    Ok(merged)
}

/// The job that places the chart itself at the destination, and the artifact built for it (none when the chart
/// already is one in a registry).
fn artifact_job(
    loaded: &LoadedChart,
    context: &CollectContext,
) -> Result<(MirrorJob, Option<Arc<BuiltImage>>), HelmError> {
    let tag = chart_tag(&loaded.chart.version);
    let (source, repository, built) = match &loaded.artifact {
        Artifact::Packaged(package) => {
            let built = Arc::new(chart_artifact(&loaded.chart, package.clone())?);
            let source = ImageSource::Built {
                digest: built.root.digest.clone(),
                original: format!("helm chart {} from {}", loaded.chart.label(), loaded.source),
            };
            (source, loaded.chart.name.clone(), Some(built))
        }
        Artifact::Registry(reference) => (
            ImageSource::Registry(reference.clone()),
            reference.repository.clone(),
            None,
        ),
    };
    let job = MirrorJob {
        source,
        destination: ImageDestination {
            registry: context.registry.clone(),
            repository: context.destination_repository(&repository),
            tag,
        },
        platforms: PlatformFilter::all(),
        origin: ImageOrigin::Helm,
    };
    Ok((job, built))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_knows_the_images_it_deploys_once_pinned() {
        let record = ChartRecord {
            name: "app".into(),
            version: "1.0.0".into(),
            source: "./app".into(),
            destination: ImageDestination {
                registry: "r".into(),
                repository: "app".into(),
                tag: "1.0.0".into(),
            },
            images: vec!["quay.io/org/web:2".into(), "busybox".into()],
            unrendered: Vec::new(),
        };
        let digest = "sha256:1ce8c0187c8fe6b4be327dc848b8baf062ce1baa5096b4f5d955893d126d5b58";
        assert!(record.deploys(&format!("docker://quay.io/org/web:2@{digest}")));
        assert!(record.deploys(&format!("docker.io/library/busybox:latest@{digest}")));
        assert!(!record.deploys("quay.io/org/web:3"));
    }

    #[test]
    fn the_host_of_a_url_keys_its_credentials() {
        assert_eq!(
            host_of("https://charts.example.com:8443/a/index.yaml"),
            "charts.example.com:8443"
        );
        assert_eq!(host_of("http://user@h/x"), "h");
    }
}
