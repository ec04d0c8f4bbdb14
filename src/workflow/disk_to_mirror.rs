//! Disk-to-mirror: push what the archives in `DIR` carry into a registry, reading blobs in place from the tar
//! segments (no extraction) and verifying every digest, then write mapping and cluster resources.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::fallback::merge_fallback_tags;
use super::mirror_to_disk::{CATALOGS_KEY, CHARTS_KEY, FCOS_GRAPHS_KEY, GRAPH_IMAGE_KEY, RELEASES_KEY};
use super::outputs;
use super::prepare::{connect, prepare, Prepared};
use super::{MirrorRequest, Mode, RegistryTarget, RunSummary, WorkflowError};
use crate::engine::Destination;
use crate::events::{Event, Reporter};
use crate::image::{Platform, PlatformFilter};
use crate::plan::{ImageDestination, ImageOrigin, ImageSource, MirrorJob, MirrorPlan};
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
    recorded_outputs(&mut prepared, newest, target);
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
    if !request.dry_run {
        merge_fallback_tags(&mut prepared, &mut sources, &client, &reporter).await;
    }
    let destination = Destination::registry(client, &target.registry);
    let summary = super::mirror_to_mirror::copy_and_emit(&prepared, sources, destination, request, &reporter).await?;
    outputs::finish(summary, prepared, started, started_at)
}

/// A list the workflow recorded in the archive metadata's `extra` map under `key` (empty when absent).
fn extra_list<T: serde::de::DeserializeOwned>(metadata: &ArchiveMetadata, key: &str) -> Vec<T> {
    metadata
        .extra
        .get(key)
        .and_then(|value| serde_json::from_value(value.clone()).ok())
        .unwrap_or_default()
}

/// A destination recorded relative to the archive, at its place under the registry and namespace of this run.
fn retarget(destination: &mut ImageDestination, target: &RegistryTarget) {
    destination.registry = target.registry.clone();
    destination.repository = namespaced(&target.namespace, &destination.repository);
}

/// The archived catalogs, releases, charts, graph image and Fedora CoreOS-style graphs, under this run's destination.
fn recorded_outputs(prepared: &mut Prepared, metadata: &ArchiveMetadata, target: &RegistryTarget) {
    prepared.catalogs = extra_list(metadata, CATALOGS_KEY);
    prepared
        .catalogs
        .iter_mut()
        .for_each(|c| retarget(&mut c.destination, target));
    prepared.releases = extra_list(metadata, RELEASES_KEY);
    prepared
        .releases
        .iter_mut()
        .for_each(|r| retarget(&mut r.destination, target));
    prepared.charts = extra_list(metadata, CHARTS_KEY);
    prepared
        .charts
        .iter_mut()
        .for_each(|c| retarget(&mut c.destination, target));
    prepared.fcos_graphs = extra_list(metadata, FCOS_GRAPHS_KEY);
    for record in &mut prepared.fcos_graphs {
        record.mirrored.values_mut().for_each(|d| retarget(d, target));
    }
    prepared.graph_image = metadata
        .extra
        .get(GRAPH_IMAGE_KEY)
        .and_then(|value| serde_json::from_value::<ImageDestination>(value.clone()).ok())
        .map(|mut destination| {
            retarget(&mut destination, target);
            destination
        });
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
