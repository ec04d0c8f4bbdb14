//! What every workflow writes at the end: the summary, `mapping.txt`, cluster resources and the errors file.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use super::prepare::Prepared;
use super::{Failure, ImageRecord, RunSummary, WorkflowError, Workspace};
use crate::collect::helm::ChartRecord;
use crate::collect::operator::CatalogTarget;
use crate::engine::{Engine, EngineError, ImageResult};
use crate::events::{Event, Reporter};
use crate::files::write_atomically;
use crate::plan::{ImageDestination, ImageOrigin, ImageSource, MirrorJob, MirrorPlan};
use crate::reference::ImageReference;
use crate::resources::catalog::{write_catalog_resources as write_catalog_resources_in, MirroredCatalog};
use crate::resources::release::{FcosGraphRecord, ReleaseSignature};
use crate::resources::{self, MirroredImage};
use std::sync::Arc;

pub(super) type JobResults = [Result<ImageResult, EngineError>];

/// Counts from the engine and one line per failed image.
pub(super) fn summarize(plan: &MirrorPlan, results: &JobResults, engine: &Engine) -> RunSummary {
    use std::sync::atomic::Ordering::Relaxed;
    let totals = engine.totals();
    let mut summary = RunSummary {
        blobs_copied: totals.blobs_copied.load(Relaxed),
        blobs_skipped: totals.blobs_skipped.load(Relaxed),
        blobs_mounted: totals.blobs_mounted.load(Relaxed),
        bytes_copied: totals.bytes_copied.load(Relaxed),
        manifests_pushed: totals.manifests_pushed.load(Relaxed),
        ..RunSummary::default()
    };
    for (job, result) in plan.jobs.iter().zip(results) {
        summary.images.push(image_record(job, result));
        match result {
            Ok(done) if done.unchanged => summary.images_unchanged += 1,
            Ok(_) => summary.images_mirrored += 1,
            Err(error) => summary.failures.push(Failure {
                image: job.source.to_string(),
                origin: job.origin,
                error: error.to_string(),
            }),
        }
    }
    summary
}

fn image_record(job: &MirrorJob, result: &Result<ImageResult, EngineError>) -> ImageRecord {
    let (outcome, digest, platforms, error) = match result {
        Ok(done) => (
            if done.unchanged { "unchanged" } else { "mirrored" },
            Some(done.destination_digest.to_string()),
            done.platforms.iter().map(ToString::to_string).collect(),
            None,
        ),
        Err(error) => ("failed", None, Vec::new(), Some(error.to_string())),
    };
    ImageRecord {
        source: job.source.to_string(),
        destination: job.destination.to_string(),
        group: job.origin,
        outcome,
        digest,
        platforms,
        error,
    }
}

/// `working-dir/mapping.txt`: `source@digest=destination@digest` per mirrored image.
pub(super) fn write_mapping(
    plan: &MirrorPlan,
    results: &JobResults,
    workspace: &Workspace,
) -> Result<PathBuf, WorkflowError> {
    let mut mapping = String::new();
    for (job, result) in plan.jobs.iter().zip(results) {
        let Ok(done) = result else { continue };
        let source = job.source.to_string();
        let source = source.split('@').next().unwrap_or_default();
        let _ = writeln!(
            mapping,
            "{source}@{}={}@{}",
            done.source_digest, job.destination, done.destination_digest
        );
    }
    let path = workspace.mapping_file();
    write_atomically(&path, mapping.as_bytes()).map_err(WorkflowError::io(&path))?;
    Ok(path)
}

/// IDMS / ITMS for the mirrored images that came from registries. Catalogs are left out: clusters reach them through
/// their CatalogSource, as with oc-mirror.
fn write_cluster_resources(
    plan: &MirrorPlan,
    results: &JobResults,
    catalogs: &[CatalogTarget],
    workspace: &Workspace,
) -> Result<Vec<PathBuf>, WorkflowError> {
    let mirrored: Vec<MirroredImage> = plan
        .jobs
        .iter()
        .zip(results)
        .filter(|(job, result)| result.is_ok() && !catalogs.iter().any(|c| c.destination == job.destination))
        .filter_map(|(job, _)| {
            registry_source(&job.source).map(|source| MirroredImage {
                source,
                destination: job.destination.clone(),
                origin: job.origin,
            })
        })
        .collect();
    let dir = workspace.cluster_resources();
    Ok(resources::write_mirror_sets(&dir, &mirrored)?)
}

/// CatalogSource and ClusterCatalog for every catalog whose rebuilt image reached the destination.
fn write_catalog_resources(
    plan: &MirrorPlan,
    results: &JobResults,
    catalogs: &[CatalogTarget],
    workspace: &Workspace,
    reporter: &Arc<dyn Reporter>,
) -> Result<Vec<PathBuf>, WorkflowError> {
    let mirrored: Vec<MirroredCatalog> = catalogs
        .iter()
        .filter(|catalog| mirrored(plan, results, &catalog.destination))
        .map(|catalog| MirroredCatalog {
            destination: catalog.destination.clone(),
            template: catalog.template.as_ref().map(PathBuf::from),
        })
        .collect();
    let dir = workspace.cluster_resources();
    let (written, warnings) = write_catalog_resources_in(&dir, &mirrored)?;
    for warning in warnings {
        reporter.event(Event::Warning(warning));
    }
    Ok(written)
}

/// Everything a run into a registry leaves for the cluster: mirror sets and catalog resources.
pub(super) fn write_registry_resources(
    plan: &MirrorPlan,
    results: &JobResults,
    prepared: &Prepared,
    reporter: &Arc<dyn Reporter>,
) -> Result<Vec<PathBuf>, WorkflowError> {
    let mut written = write_cluster_resources(plan, results, &prepared.catalogs, &prepared.workspace)?;
    written.extend(write_catalog_resources(
        plan,
        results,
        &prepared.catalogs,
        &prepared.workspace,
        reporter,
    )?);
    let dir = prepared.workspace.cluster_resources();
    let signatures: Vec<ReleaseSignature> = prepared
        .releases
        .iter()
        .filter(|release| mirrored(plan, results, &release.destination))
        .filter_map(|release| {
            Some(ReleaseSignature {
                digest: release.digest.clone(),
                signature: release.signature.clone()?,
            })
        })
        .collect();
    written.extend(resources::release::write_signature_configmap(&dir, &signatures)?);
    if let Some(graph_image) = prepared.graph_image.as_ref().filter(|d| mirrored(plan, results, d)) {
        written.push(write_update_service(&dir, graph_image)?);
    }
    for record in mirrored_fcos_graphs(&prepared.fcos_graphs, plan, results) {
        written.extend(resources::release::write_fcos_graph(&dir, &record)?);
    }
    Ok(written)
}

/// `updateService.yaml`: the mirrored releases (`openshift/release-images` beside the graph image) and the graph
/// image, by tag (as oc-mirror).
fn write_update_service(dir: &std::path::Path, graph_image: &ImageDestination) -> Result<PathBuf, WorkflowError> {
    let prefix = graph_image
        .repository
        .strip_suffix(crate::release::graph_data::GRAPH_IMAGE_REPO)
        .unwrap_or_default();
    let releases = format!(
        "{}/{prefix}{}",
        graph_image.registry,
        crate::collect::release::RELEASE_IMAGES_REPO
    );
    let image = format!(
        "{}/{}:{}",
        graph_image.registry, graph_image.repository, graph_image.tag
    );
    Ok(resources::release::write_update_service(dir, &releases, &image)?)
}

/// The Fedora CoreOS-style graphs, each with only the releases that reached their destination.
pub(super) fn mirrored_fcos_graphs(
    records: &[FcosGraphRecord],
    plan: &MirrorPlan,
    results: &JobResults,
) -> Vec<FcosGraphRecord> {
    records
        .iter()
        .map(|record| FcosGraphRecord {
            mirrored: record
                .mirrored
                .iter()
                .filter(|(_, destination)| mirrored(plan, results, destination))
                .map(|(payload, destination)| (payload.clone(), destination.clone()))
                .collect(),
            ..record.clone()
        })
        .filter(|record| !record.mirrored.is_empty())
        .collect()
}

/// Whether the image planned for `destination` reached it.
pub(super) fn mirrored(plan: &MirrorPlan, results: &JobResults, destination: &ImageDestination) -> bool {
    plan.jobs
        .iter()
        .zip(results)
        .any(|(job, result)| &job.destination == destination && result.is_ok())
}

/// The registry reference an image came from, also for images replayed from an archive.
fn registry_source(source: &ImageSource) -> Option<ImageReference> {
    match source {
        ImageSource::Registry(reference) => Some(reference.clone()),
        ImageSource::Archive { original, .. } => original.strip_prefix("docker://").unwrap_or(original).parse().ok(),
        ImageSource::Layout { .. } | ImageSource::Built { .. } => None,
    }
}

/// Adds what every run reports: configured content not mirrored, exclusions, time, and the errors file.
pub(super) fn finish(
    mut summary: RunSummary,
    prepared: Prepared,
    started: Instant,
    started_at: SystemTime,
) -> Result<RunSummary, WorkflowError> {
    summary.failures.extend(prepared.early_failures);
    name_charts(&mut summary.failures, &prepared.charts);
    summary.attachments = count_attachments(&summary, &prepared.attachments);
    summary.images_planned = prepared.plan.jobs.len();
    summary.excluded = prepared.excluded;
    summary.elapsed = started.elapsed();
    summary.errors_file = write_errors_file(&prepared.workspace, started_at, &summary.failures)?;
    Ok(summary)
}

/// How many of the planned signatures, attestations and referrers reached the destination (were planned, in a dry
/// run).
fn count_attachments(summary: &RunSummary, attachments: &[ImageDestination]) -> usize {
    if summary.dry_run {
        return attachments.len();
    }
    let wanted: std::collections::BTreeSet<String> = attachments.iter().map(ToString::to_string).collect();
    summary
        .images
        .iter()
        .filter(|image| image.outcome != "failed" && wanted.contains(&image.destination))
        .count()
}

/// A chart image that failed names the charts that deploy it.
fn name_charts(failures: &mut [Failure], charts: &[ChartRecord]) {
    for failure in failures.iter_mut().filter(|f| f.origin == ImageOrigin::Helm) {
        let names: Vec<String> = charts
            .iter()
            .filter(|chart| chart.deploys(&failure.image))
            .map(|chart| format!("{} {}", chart.name, chart.version))
            .collect();
        if !names.is_empty() {
            failure.error = format!("{} (deployed by chart {})", failure.error, names.join(", "));
        }
    }
}

fn write_errors_file(
    workspace: &Workspace,
    started: SystemTime,
    failures: &[Failure],
) -> Result<Option<PathBuf>, WorkflowError> {
    if failures.is_empty() {
        return Ok(None);
    }
    let mut text = String::new();
    for failure in failures {
        let _ = writeln!(
            text,
            "{} ({:?}): {}",
            failure.image,
            failure.origin,
            failure.error.replace('\n', " ")
        );
    }
    let path = workspace.errors_file(started);
    write_atomically(&path, text.as_bytes()).map_err(WorkflowError::io(&path))?;
    Ok(Some(path))
}
