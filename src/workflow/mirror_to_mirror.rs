//! Mirror-to-mirror: collect the plan, copy it registry to registry, then write mapping, cluster resources and logs.
//! `--dry-run` resolves the plan and writes `dry-run/mapping.txt` and `dry-run/missing.txt` without copying.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::fallback::merge_fallback_tags;
use super::outputs::{self, summarize};
use super::prepare::{add_remote_content, connect, prepare, Prepared};
use super::{Failure, MirrorRequest, Mode, RunSummary, WorkflowError, Workspace};
use crate::engine::{Destination, Engine, EngineError};
use crate::events::{Event, Reporter};
use crate::files::write_atomically;
use crate::plan::MirrorPlan;
use crate::source::SourceReader;
use crate::source::Sources;
use crate::store::LayoutWriter;

/// Runs a whole mirror-to-mirror (or its dry run).
pub(crate) async fn run(request: &MirrorRequest, reporter: Arc<dyn Reporter>) -> Result<RunSummary, WorkflowError> {
    let (started, started_at) = (Instant::now(), SystemTime::now());
    let (registry, namespace) = match &request.mode {
        Mode::MirrorToMirror { destination, .. } => (destination.registry.as_str(), destination.namespace.as_str()),
        Mode::MirrorToLayout { .. } => ("", ""),
        _ => {
            return Err(WorkflowError::Usage(
                "mirror-to-mirror needs a registry or oci:// destination".into(),
            ))
        }
    };
    let mut prepared = prepare(request, registry, namespace, &reporter)?;
    let (mut sources, client) = connect(request, &reporter)?;
    let into_registry = !matches!(request.mode, Mode::MirrorToLayout { .. });
    let destination = match &request.mode {
        Mode::MirrorToLayout { layout, .. } => Destination::Layout(Arc::new(
            LayoutWriter::open_or_create(layout).map_err(EngineError::from)?,
        )),
        _ => {
            client.check(registry).await.map_err(WorkflowError::Destination)?;
            Destination::registry(client.clone(), registry)
        }
    };
    add_remote_content(&mut prepared, request, registry, namespace, &mut sources, &reporter).await?;
    if into_registry && !request.dry_run {
        merge_fallback_tags(&mut prepared, &mut sources, &client, &reporter).await;
    }
    reporter.event(Event::Info(format!(
        "{} images to mirror to {}",
        prepared.plan.jobs.len(),
        destination.describe()
    )));

    let summary = copy_and_emit(&prepared, sources, destination, request, &reporter).await?;
    outputs::finish(summary, prepared, started, started_at)
}

/// The tail every run into a destination shares: a dry run, or the copy, `mapping.txt` and (into a registry) the
/// cluster resources.
pub(super) async fn copy_and_emit(
    prepared: &Prepared,
    sources: Sources,
    destination: Destination,
    request: &MirrorRequest,
    reporter: &Arc<dyn Reporter>,
) -> Result<RunSummary, WorkflowError> {
    if request.dry_run {
        return dry_run(&prepared.plan, &prepared.workspace, &sources, &destination, reporter).await;
    }
    let engine = Engine::new(sources, destination, request.engine, reporter.clone());
    let results = engine.run(&prepared.plan).await;
    let mut summary = summarize(&prepared.plan, &results, &engine);
    summary
        .files_written
        .push(outputs::write_mapping(&prepared.plan, &results, &prepared.workspace)?);
    if matches!(engine.destination(), Destination::Registry(_)) {
        let written = outputs::write_registry_resources(&prepared.plan, &results, prepared, reporter)?;
        summary.files_written.extend(written);
    }
    Ok(summary)
}

/// Resolves every source and checks the destination, copying nothing.
pub(super) async fn dry_run(
    plan: &MirrorPlan,
    workspace: &Workspace,
    sources: &Sources,
    destination: &Destination,
    reporter: &Arc<dyn Reporter>,
) -> Result<RunSummary, WorkflowError> {
    let mut summary = RunSummary {
        dry_run: true,
        ..RunSummary::default()
    };
    let mut mapping = String::new();
    let mut missing = String::new();
    for job in &plan.jobs {
        let _ = writeln!(mapping, "{}={}", job.source, job.destination);
        let root = match SourceReader::open(&job.source, sources).await {
            Ok((_, root)) => root,
            Err(error) => {
                reporter.event(Event::Warning(format!("{}: {error}", job.source)));
                summary.failures.push(Failure {
                    image: job.source.to_string(),
                    origin: job.origin,
                    error: error.to_string(),
                });
                continue;
            }
        };
        let present = destination
            .manifest_digest(&job.destination.repository, &job.destination.tag)
            .await?;
        if present.as_ref() == Some(&root.digest) {
            summary.images_unchanged += 1;
        } else {
            let _ = writeln!(missing, "{}={}", job.source, job.destination);
            summary.images_mirrored += 1;
        }
    }
    let dir = workspace.dry_run();
    for (name, text) in [("mapping.txt", &mapping), ("missing.txt", &missing)] {
        let path = dir.join(name);
        write_atomically(&path, text.as_bytes()).map_err(WorkflowError::io(&path))?;
        summary.files_written.push(path);
    }
    Ok(summary)
}
