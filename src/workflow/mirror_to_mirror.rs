//! Mirror-to-mirror: collect the plan, copy it registry to registry, then write mapping, cluster resources and logs.
//! `--dry-run` resolves the plan and writes `dry-run/mapping.txt` and `dry-run/missing.txt` without copying.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::{Failure, MirrorRequest, RunSummary, WorkflowError, Workspace};
use crate::auth::CredentialStore;
use crate::collect::{additional, CollectContext};
use crate::config::{self, ImageSetConfiguration};
use crate::engine::source::SourceReader;
use crate::engine::{Destination, Engine, Event, ImageResult, Reporter, Sources};
use crate::plan::{ImageOrigin, ImageSource, MirrorPlan};
use crate::registries_conf::RegistriesConf;
use crate::registry::{ClientOptions, RegistryClient};
use crate::resources::{self, write_atomically, MirroredImage};

/// Runs a whole mirror-to-mirror (or its dry run).
pub async fn run(request: &MirrorRequest, reporter: Arc<dyn Reporter>) -> Result<RunSummary, WorkflowError> {
    let started = Instant::now();
    let started_at = SystemTime::now();
    let config = config::load_imageset(&request.config_path)?;
    let workspace = Workspace::new(&request.workspace_dir);
    workspace.create().map_err(WorkflowError::io(workspace.root()))?;

    for warning in config.warnings() {
        reporter.event(Event::Warning(format!("`{}`: {}", warning.field, warning.message)));
    }
    let not_yet = unsupported_groups(&config);
    for failure in &not_yet {
        reporter.event(Event::Warning(format!("{}: {}", failure.image, failure.error)));
    }
    let (plan, excluded) = collect_plan(&config, request)?;
    for skipped in &excluded {
        reporter.event(Event::Warning(format!(
            "{} is not mirrored: {}",
            skipped.image, skipped.reason
        )));
    }
    reporter.event(Event::Info(format!(
        "{} images to mirror to {}",
        plan.jobs.len(),
        request.destination_registry
    )));

    let credentials = Arc::new(CredentialStore::discover(request.authfile.as_deref())?);
    let sources = Sources {
        registry: Arc::new(RegistryClient::new(
            client_options(request, request.src_tls_verify),
            credentials.clone(),
        )?),
        mirrors: Arc::new(RegistriesConf::load(request.registries_conf.as_deref())?),
    };
    let client = Arc::new(RegistryClient::new(
        client_options(request, request.dest_tls_verify),
        credentials,
    )?);
    client
        .check(&request.destination_registry)
        .await
        .map_err(WorkflowError::Destination)?;
    let destination = Destination::registry(client, &request.destination_registry);

    let mut summary = if request.dry_run {
        dry_run(&plan, &workspace, &sources, &destination, &reporter).await?
    } else {
        let engine = Engine::new(sources, destination, request.engine, reporter.clone());
        let results = engine.run(&plan).await;
        let mut summary = summarize(&plan, &results, &engine);
        summary.files_written = write_outputs(&plan, &results, &workspace)?;
        summary
    };
    summary.failures.extend(not_yet);
    summary.images_planned = plan.jobs.len();
    summary.excluded = excluded;
    summary.elapsed = started.elapsed();
    summary.errors_file = write_errors_file(&workspace, started_at, &summary.failures)?;
    Ok(summary)
}

fn collect_plan(
    config: &ImageSetConfiguration,
    request: &MirrorRequest,
) -> Result<(MirrorPlan, Vec<crate::collect::Excluded>), WorkflowError> {
    let context = CollectContext {
        registry: request.destination_registry.clone(),
        namespace: request.destination_namespace.clone(),
        cli_platforms: request.cli_platforms.clone(),
    };
    let (jobs, excluded) = additional::collect(config, &context)?;
    Ok((MirrorPlan { jobs }, excluded))
}

/// Content types this version does not mirror yet: reported as failures of their group, never silently skipped.
fn unsupported_groups(config: &ImageSetConfiguration) -> Vec<Failure> {
    let mirror = &config.spec.mirror;
    let charts = mirror.helm.local.len() + mirror.helm.repositories.iter().map(|r| r.charts.len()).sum::<usize>();
    let groups = [
        (
            ImageOrigin::Release,
            "mirror.platform",
            usize::from(!mirror.platform.is_empty()),
            "release platform",
        ),
        (
            ImageOrigin::Operator,
            "mirror.operators",
            mirror.operators.len(),
            "catalogs",
        ),
        (ImageOrigin::Helm, "mirror.helm", charts, "charts"),
    ];
    groups
        .into_iter()
        .filter(|(_, _, count, _)| *count > 0)
        .map(|(origin, field, count, what)| Failure {
            image: format!("{field} ({count} {what})"),
            origin,
            error: "not mirrored: this version of ferry mirrors additionalImages only".to_string(),
        })
        .collect()
}

fn client_options(request: &MirrorRequest, tls_verify: bool) -> ClientOptions {
    ClientOptions {
        tls_verify,
        retry: request.engine.retry,
        ..ClientOptions::default()
    }
}

fn summarize(
    plan: &MirrorPlan,
    results: &[Result<ImageResult, crate::engine::EngineError>],
    engine: &Engine,
) -> RunSummary {
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

/// `mapping.txt` (source=destination with digests) and the cluster resources for what was mirrored.
fn write_outputs(
    plan: &MirrorPlan,
    results: &[Result<ImageResult, crate::engine::EngineError>],
    workspace: &Workspace,
) -> Result<Vec<std::path::PathBuf>, WorkflowError> {
    let mut mapping = String::new();
    let mut mirrored = Vec::new();
    for (job, result) in plan.jobs.iter().zip(results) {
        let Ok(done) = result else { continue };
        let _ = writeln!(
            mapping,
            "{}@{}={}@{}",
            job.source.to_string().split('@').next().unwrap_or_default(),
            done.source_digest,
            job.destination,
            done.destination_digest
        );
        if let ImageSource::Registry(reference) = &job.source {
            mirrored.push(MirroredImage {
                source: reference.clone(),
                destination: job.destination.clone(),
                origin: job.origin,
            });
        }
    }
    let mapping_path = workspace.mapping_file();
    write_atomically(&mapping_path, &mapping).map_err(WorkflowError::io(&mapping_path))?;
    let mut written = vec![mapping_path];
    let resources_dir = workspace.cluster_resources();
    written.extend(
        resources::write_mirror_sets(&resources_dir, &mirrored).map_err(|e| WorkflowError::Io {
            path: resources_dir.clone(),
            source: std::io::Error::other(e.to_string()),
        })?,
    );
    Ok(written)
}

/// Resolves every source and checks the destination, copying nothing.
async fn dry_run(
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
        write_atomically(&path, text).map_err(WorkflowError::io(&path))?;
        summary.files_written.push(path);
    }
    Ok(summary)
}

fn write_errors_file(
    workspace: &Workspace,
    started: SystemTime,
    failures: &[Failure],
) -> Result<Option<std::path::PathBuf>, WorkflowError> {
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
    write_atomically(&path, &text).map_err(WorkflowError::io(&path))?;
    Ok(Some(path))
}
