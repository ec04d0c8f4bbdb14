//! Mirror-to-disk: copy the plan from registries into tar segments in `DIR` (each blob once, straight into the
//! archive), skipping blobs that earlier archives shipped, then seal the archive with its metadata.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::outputs::{self, summarize, JobResults};
use super::prepare::{add_remote_content, connect, prepare};
use super::workspace::utc_rfc3339;
use super::{DiskOptions, MirrorRequest, Mode, RunSummary, WorkflowError};
use crate::collect::helm::ChartRecord;
use crate::collect::operator::CatalogTarget;
use crate::collect::release::PlannedRelease;
use crate::engine::{Destination, Engine};
use crate::events::{Event, Reporter};
use crate::files::write_atomically;
use crate::plan::MirrorPlan;
use crate::source::SourceReader;
use crate::store::archive::{ArchiveMetadata, ArchiveWriter, ArchivedImage, History};

/// Default segment size when neither `archiveSize` nor `--archive-size` is given (oc-mirror's default).
const DEFAULT_SEGMENT_BYTES: u64 = 500 << 30;

pub(crate) async fn run(request: &MirrorRequest, reporter: Arc<dyn Reporter>) -> Result<RunSummary, WorkflowError> {
    let Mode::MirrorToDisk(disk) = &request.mode else {
        return Err(WorkflowError::Usage(
            "mirror-to-disk needs a file:// destination".into(),
        ));
    };
    let (started, started_at) = (Instant::now(), SystemTime::now());
    let mut prepared = prepare(request, "", "", &reporter)?;
    let history = History::load(&disk.archive_dir)?;
    let (mut sources, _) = connect(request, &reporter)?;
    add_remote_content(&mut prepared, request, "", "", &mut sources, &reporter).await?;
    if request.dry_run {
        let summary = dry_run(&prepared.plan, disk, &history, &sources, &prepared.workspace, &reporter).await?;
        return outputs::finish(summary, prepared, started, started_at);
    }

    let limit = segment_limit(disk, prepared.config.spec.archive_size);
    let writer = Arc::new(ArchiveWriter::create_or_resume(
        &disk.archive_dir,
        limit,
        disk.strict_archive,
    )?);
    reporter.event(Event::Info(format!(
        "{} images to pack into {} (run {})",
        prepared.plan.jobs.len(),
        disk.archive_dir.display(),
        writer.run_id()
    )));
    let destination = Destination::archive(writer.clone(), history, disk.since.clone());
    let engine = Engine::new(sources, destination, request.engine, reporter.clone());
    let results = engine.run(&prepared.plan).await;
    let mut summary = summarize(&prepared.plan, &results, &engine);
    for warning in writer.warnings() {
        reporter.event(Event::Warning(warning));
    }
    let depends_on = match engine.destination() {
        Destination::Archive(archive) => archive.dependencies(),
        _ => Default::default(),
    };
    let metadata = ArchiveMetadata {
        format_version: 1,
        run_id: writer.run_id().to_string(),
        created: utc_rfc3339(started_at),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        imageset_config: prepared.config_text.clone(),
        images: archived_images(&prepared.plan, &results),
        blobs: Default::default(),
        depends_on,
        since: disk.since.clone(),
        extra: archive_extra(&prepared, &results),
        ..ArchiveMetadata::default()
    };
    summary.files_written.extend(writer.finish(metadata).await?);
    outputs::finish(summary, prepared, started, started_at)
}

fn segment_limit(disk: &DiskOptions, archive_size_gib: Option<u64>) -> u64 {
    disk.archive_size
        .or(archive_size_gib.map(|gib| gib << 30))
        .unwrap_or(DEFAULT_SEGMENT_BYTES)
}

/// Key of the archive metadata's `extra` map that lists the rebuilt catalogs (for CatalogSources at disk-to-mirror).
pub(crate) const CATALOGS_KEY: &str = "catalogs";
/// Key of the archive metadata's `extra` map that lists the releases whose payloads the archive carries.
pub(crate) const RELEASES_KEY: &str = "releases";
/// Key of the archive metadata's `extra` map that names where the graph image goes (`graph: true`).
pub(crate) const GRAPH_IMAGE_KEY: &str = "graph_image";
/// Key of the archive metadata's `extra` map that holds the Fedora CoreOS-style graphs of the archived releases.
pub(crate) const FCOS_GRAPHS_KEY: &str = "fcos_graphs";
/// Key of the archive metadata's `extra` map that lists the helm charts the archive carries.
pub(crate) const CHARTS_KEY: &str = "charts";

/// What the workflow records beside the images: the rebuilt catalogs and the releases that made it into the
/// archive.
fn archive_extra(
    prepared: &super::prepare::Prepared,
    results: &JobResults,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    let plan = &prepared.plan;
    let catalogs: Vec<&CatalogTarget> = prepared
        .catalogs
        .iter()
        .filter(|c| outputs::mirrored(plan, results, &c.destination))
        .collect();
    let releases: Vec<&PlannedRelease> = prepared
        .releases
        .iter()
        .filter(|r| outputs::mirrored(plan, results, &r.destination))
        .collect();
    let mut extra = std::collections::BTreeMap::new();
    if !catalogs.is_empty() {
        extra.insert(
            CATALOGS_KEY.to_string(),
            serde_json::to_value(catalogs).unwrap_or_default(),
        );
    }
    if !releases.is_empty() {
        extra.insert(
            RELEASES_KEY.to_string(),
            serde_json::to_value(releases).unwrap_or_default(),
        );
    }
    if let Some(graph_image) = prepared
        .graph_image
        .as_ref()
        .filter(|d| outputs::mirrored(plan, results, d))
    {
        extra.insert(
            GRAPH_IMAGE_KEY.to_string(),
            serde_json::to_value(graph_image).unwrap_or_default(),
        );
    }
    let charts: Vec<&ChartRecord> = prepared
        .charts
        .iter()
        .filter(|c| outputs::mirrored(plan, results, &c.destination))
        .collect();
    if !charts.is_empty() {
        extra.insert(CHARTS_KEY.to_string(), serde_json::to_value(charts).unwrap_or_default());
    }
    let fcos = outputs::mirrored_fcos_graphs(&prepared.fcos_graphs, plan, results);
    if !fcos.is_empty() {
        extra.insert(
            FCOS_GRAPHS_KEY.to_string(),
            serde_json::to_value(fcos).unwrap_or_default(),
        );
    }
    extra
}

/// The images that made it into the archive, as disk-to-mirror will replay them.
fn archived_images(plan: &MirrorPlan, results: &JobResults) -> Vec<ArchivedImage> {
    plan.jobs
        .iter()
        .zip(results)
        .filter_map(|(job, result)| {
            let done = result.as_ref().ok()?;
            Some(ArchivedImage {
                source: job.source.configured_name(),
                destination_repository: job.destination.repository.clone(),
                tag: job.destination.tag.clone(),
                digest: done.destination_digest.clone(),
                platforms: done.platforms.iter().map(ToString::to_string).collect(),
                origin: job.origin.name().to_string(),
                outcome: serde_json::to_value(&done.outcome)
                    .ok()
                    .and_then(|v| v.get("mode").and_then(|m| m.as_str()).map(str::to_string))
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Resolves every source; `missing.txt` lists the images whose root manifest no earlier archive shipped.
async fn dry_run(
    plan: &MirrorPlan,
    disk: &DiskOptions,
    history: &History,
    sources: &crate::source::Sources,
    workspace: &super::Workspace,
    reporter: &Arc<dyn Reporter>,
) -> Result<RunSummary, WorkflowError> {
    let mut summary = RunSummary {
        dry_run: true,
        ..RunSummary::default()
    };
    let (mut mapping, mut missing) = (String::new(), String::new());
    let archive = format!("file://{}", disk.archive_dir.display());
    for job in &plan.jobs {
        let target = format!("{archive}/{}:{}", job.destination.repository, job.destination.tag);
        let _ = writeln!(mapping, "{}={target}", job.source);
        match SourceReader::open(&job.source, sources).await {
            Ok((_, root)) if history.shipped_by(&root.digest, disk.since.as_deref()).is_some() => {
                summary.images_unchanged += 1;
            }
            Ok(_) => {
                let _ = writeln!(missing, "{}={target}", job.source);
                summary.images_mirrored += 1;
            }
            Err(error) => {
                reporter.event(Event::Warning(format!("{}: {error}", job.source)));
                summary.failures.push(super::Failure {
                    image: job.source.to_string(),
                    origin: job.origin,
                    error: error.to_string(),
                });
            }
        }
    }
    for (name, text) in [("mapping.txt", &mapping), ("missing.txt", &missing)] {
        let path = workspace.dry_run().join(name);
        write_atomically(&path, text.as_bytes()).map_err(WorkflowError::io(&path))?;
        summary.files_written.push(path);
    }
    Ok(summary)
}
