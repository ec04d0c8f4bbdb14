//! Disk-to-mirror: push what the archives in `DIR` carry into a registry, reading blobs in place from the tar
//! segments (no extraction) and verifying every digest, then write mapping and cluster resources.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::mirror_to_disk::{CATALOGS_KEY, FCOS_GRAPHS_KEY, GRAPH_IMAGE_KEY, RELEASES_KEY};
use super::outputs;
use super::prepare::{connect, prepare};
use super::{MirrorRequest, Mode, RegistryTarget, RunSummary, WorkflowError};
use crate::collect::operator::CatalogTarget;
use crate::collect::release::PlannedRelease;
use crate::engine::Destination;
use crate::events::{Event, Reporter};
use crate::image::{Platform, PlatformFilter};
use crate::plan::{ImageDestination, ImageOrigin, ImageSource, MirrorJob, MirrorPlan};
use crate::resources::release::FcosGraphRecord;
use crate::store::archive::{ArchiveMetadata, ArchiveReader};

pub(crate) async fn run(request: &MirrorRequest, reporter: Arc<dyn Reporter>) -> Result<RunSummary, WorkflowError> {
    let Mode::DiskToMirror {
        archive_dir,
        destination: target,
    } = &request.mode
    else {
        return Err(WorkflowError::Usage("disk-to-mirror needs --from file://DIR".into()));
    };
    let (started, started_at) = (Instant::now(), SystemTime::now());
    let mut prepared = prepare(request, &target.registry, &target.namespace, &reporter)?;
    let archive = Arc::new(ArchiveReader::open(archive_dir)?);
    let newest = archive
        .metadata()
        .last()
        .ok_or_else(|| WorkflowError::Usage(format!("{} holds no ferry archive", archive_dir.display())))?;
    if newest.imageset_config.trim() != prepared.config_text.trim() {
        reporter.event(Event::Warning(format!(
            "{} differs from the configuration the archive was made with (run {}); pushing what the archive holds",
            request.config_path.display(),
            newest.run_id
        )));
    }
    prepared.plan = plan_from_archive(newest, target);
    prepared.catalogs = catalogs_from_archive(newest, target);
    prepared.releases = releases_from_archive(newest, target);
    prepared.fcos_graphs = fcos_graphs_from_archive(newest, target);
    prepared.graph_image = newest
        .extra
        .get(GRAPH_IMAGE_KEY)
        .and_then(|value| serde_json::from_value::<ImageDestination>(value.clone()).ok())
        .map(|destination| ImageDestination {
            registry: target.registry.clone(),
            repository: namespaced(&target.namespace, &destination.repository),
            ..destination
        });
    reporter.event(Event::Info(format!(
        "{} images from archive run {} to push to {}",
        prepared.plan.jobs.len(),
        newest.run_id,
        target.registry
    )));

    let (mut sources, client) = connect(request, &reporter)?;
    sources.archive = Some(archive.clone());
    client
        .check(&target.registry)
        .await
        .map_err(WorkflowError::Destination)?;
    let destination = Destination::registry(client, &target.registry);
    let summary = super::mirror_to_mirror::copy_and_emit(&prepared, sources, destination, request, &reporter).await?;
    outputs::finish(summary, prepared, started, started_at)
}

/// The archived catalogs, at their place under the destination.
fn catalogs_from_archive(metadata: &ArchiveMetadata, target: &RegistryTarget) -> Vec<CatalogTarget> {
    let Some(value) = metadata.extra.get(CATALOGS_KEY) else {
        return Vec::new();
    };
    let catalogs: Vec<CatalogTarget> = serde_json::from_value(value.clone()).unwrap_or_default();
    catalogs
        .into_iter()
        .map(|mut catalog| {
            catalog.destination.registry = target.registry.clone();
            catalog.destination.repository = namespaced(&target.namespace, &catalog.destination.repository);
            catalog
        })
        .collect()
}

/// The archived releases, their payloads at their place under the destination.
fn releases_from_archive(metadata: &ArchiveMetadata, target: &RegistryTarget) -> Vec<PlannedRelease> {
    let Some(value) = metadata.extra.get(RELEASES_KEY) else {
        return Vec::new();
    };
    let releases: Vec<PlannedRelease> = serde_json::from_value(value.clone()).unwrap_or_default();
    releases
        .into_iter()
        .map(|mut release| {
            release.destination.registry = target.registry.clone();
            release.destination.repository = namespaced(&target.namespace, &release.destination.repository);
            release
        })
        .collect()
}

/// The archived Fedora CoreOS-style graphs, their releases at their place under the destination.
fn fcos_graphs_from_archive(metadata: &ArchiveMetadata, target: &RegistryTarget) -> Vec<FcosGraphRecord> {
    let Some(value) = metadata.extra.get(FCOS_GRAPHS_KEY) else {
        return Vec::new();
    };
    let mut records: Vec<FcosGraphRecord> = serde_json::from_value(value.clone()).unwrap_or_default();
    for record in &mut records {
        for destination in record.mirrored.values_mut() {
            destination.registry = target.registry.clone();
            destination.repository = namespaced(&target.namespace, &destination.repository);
        }
    }
    records
}

fn namespaced(namespace: &str, repository: &str) -> String {
    if namespace.is_empty() {
        repository.to_string()
    } else {
        format!("{namespace}/{repository}")
    }
}

/// One job per archived image: its recorded platforms select exactly the children the archive carries.
fn plan_from_archive(metadata: &ArchiveMetadata, target: &RegistryTarget) -> MirrorPlan {
    let jobs = metadata
        .images
        .iter()
        .map(|image| {
            let platforms: Vec<Platform> = image.platforms.iter().filter_map(|p| p.parse().ok()).collect();
            let repository = namespaced(&target.namespace, &image.destination_repository);
            MirrorJob {
                source: ImageSource::Archive {
                    digest: image.digest.clone(),
                    original: image.source.clone(),
                },
                destination: ImageDestination {
                    registry: target.registry.clone(),
                    repository,
                    tag: image.tag.clone(),
                },
                platforms: PlatformFilter::of(platforms),
                origin: ImageOrigin::from_name(&image.origin).unwrap_or(ImageOrigin::Additional),
            }
        })
        .collect();
    MirrorPlan { jobs }
}
