//! What every workflow does first: load and check the configuration, open the workspace, collect the plan,
//! and connect to registries.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Failure, MirrorRequest, ReleaseSignatures, WorkflowError, Workspace};
use crate::collect::attachments::{self, Verification};
use crate::collect::helm::{self, ChartRecord, ChartSources};
use crate::collect::operator::{self, CatalogTarget};
use crate::collect::release::{self, PlannedRelease, SignaturePolicy};
use crate::collect::{additional, graph_image, CollectContext, Excluded};
use crate::config::{self, ImageSetConfiguration};
use crate::events::{Event, Reporter};
use crate::plan::{ImageDestination, ImageOrigin, MirrorPlan};
use crate::registry::{ClientOptions, DocumentClient, RegistryClient, RetryObserver};
use crate::release::signature_store::SignatureStore;
use crate::resources::release::FcosGraphRecord;
use crate::signature::cosign::CosignKey;
use crate::source::spool::BlobSpool;
use crate::source::Sources;

/// A loaded configuration, its workspace and its plan.
pub(super) struct Prepared {
    pub config: ImageSetConfiguration,
    /// The configuration file as written (archives carry it).
    pub config_text: String,
    pub workspace: Workspace,
    pub plan: MirrorPlan,
    pub excluded: Vec<Excluded>,
    /// Failures known before copying: content this version cannot mirror, catalogs that cannot be read.
    pub early_failures: Vec<Failure>,
    /// Rebuilt catalogs and where they go.
    pub catalogs: Vec<CatalogTarget>,
    /// Releases planned, with their payloads.
    pub releases: Vec<PlannedRelease>,
    /// Fedora CoreOS-style graphs, for the reduced graphs written after the run.
    pub fcos_graphs: Vec<FcosGraphRecord>,
    /// Where the graph image goes (`graph: true`), for the UpdateService.
    pub graph_image: Option<ImageDestination>,
    /// Helm charts planned, with the images each deploys.
    pub charts: Vec<ChartRecord>,
    /// Where the signatures, attestations and referrers of the planned images go.
    pub attachments: Vec<ImageDestination>,
}

/// Loads the configuration and collects the plan for a destination `registry`/`namespace` (empty for archives,
/// whose destination names are relative until disk-to-mirror).
pub(super) fn prepare(
    request: &MirrorRequest,
    registry: &str,
    namespace: &str,
    reporter: &Arc<dyn Reporter>,
) -> Result<Prepared, WorkflowError> {
    let config = config::load_imageset(&request.config_path)?;
    let config_text = std::fs::read_to_string(&request.config_path).map_err(WorkflowError::io(&request.config_path))?;
    prepare_config(request, (config, config_text), registry, namespace, reporter)
}

/// [`prepare`] for a configuration already loaded (a delete configuration's content, read as what to mirror), with
/// its text as written.
pub(super) fn prepare_config(
    request: &MirrorRequest,
    (config, config_text): (ImageSetConfiguration, String),
    registry: &str,
    namespace: &str,
    reporter: &Arc<dyn Reporter>,
) -> Result<Prepared, WorkflowError> {
    let workspace = Workspace::new(request.mode.workspace_dir());
    workspace.create().map_err(WorkflowError::io(workspace.root()))?;
    for warning in config.warnings() {
        reporter.event(Event::Warning(format!("`{}`: {}", warning.field, warning.message)));
    }
    let context = collect_context(request, registry, namespace);
    let (jobs, excluded) = additional::collect(&config, &context)?;
    for skipped in &excluded {
        reporter.event(Event::Warning(format!(
            "{} is not mirrored: {}",
            skipped.image, skipped.reason
        )));
    }
    Ok(Prepared {
        config,
        config_text,
        workspace,
        plan: MirrorPlan { jobs },
        excluded,
        early_failures: Vec::new(),
        catalogs: Vec::new(),
        releases: Vec::new(),
        fcos_graphs: Vec::new(),
        graph_image: None,
        charts: Vec::new(),
        attachments: Vec::new(),
    })
}

/// Where collected images go and which platforms the command line allows.
fn collect_context(request: &MirrorRequest, registry: &str, namespace: &str) -> CollectContext {
    CollectContext {
        registry: registry.to_string(),
        namespace: namespace.to_string(),
        cli_platforms: request.cli_platforms.clone(),
    }
}

/// Collects what needs the network to plan (releases, catalogs, charts), in that order.
pub(super) async fn add_remote_content(
    prepared: &mut Prepared,
    request: &MirrorRequest,
    registry: &str,
    namespace: &str,
    sources: &mut Sources,
    reporter: &Arc<dyn Reporter>,
) -> Result<(), WorkflowError> {
    let context = collect_context(request, registry, namespace);
    add_releases(prepared, request, &context, sources, reporter).await?;
    add_operators(prepared, request, &context, sources, reporter).await;
    add_charts(prepared, request, &context, sources, reporter).await?;
    add_attachments(prepared, request, sources, reporter).await
}

/// Plans the signatures, attestations and referrers of every planned registry image (unless
/// `--remove-signatures`), verifying each image's signature first when a key is given: under the strict policy an
/// image without a valid one leaves the plan and fails its group.
async fn add_attachments(
    prepared: &mut Prepared,
    request: &MirrorRequest,
    sources: &mut Sources,
    reporter: &Arc<dyn Reporter>,
) -> Result<(), WorkflowError> {
    let options = &request.image_signatures;
    let verification = match &options.verify_with {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(WorkflowError::io(path))?;
            let key = CosignKey::from_pem(&text).map_err(|source| WorkflowError::SignatureKey {
                path: path.clone(),
                source,
            })?;
            Some(Verification {
                key,
                strict: options.strict,
            })
        }
        None => None,
    };
    if !options.copy && verification.is_none() {
        return Ok(());
    }
    let found = attachments::collect(
        &prepared.plan,
        sources,
        verification.as_ref(),
        request.engine.parallel_images,
        reporter,
    )
    .await;
    let rejected: BTreeMap<usize, String> = found.rejected.into_iter().collect();
    let mut at = 0;
    prepared.plan.jobs.retain(|job| {
        let keep = match rejected.get(&at) {
            Some(reason) => {
                prepared.early_failures.push(Failure {
                    image: job.source.to_string(),
                    origin: job.origin,
                    error: format!(
                        "signature verification failed: {reason}\n  help: sign the image with the key's private half, \
                         or pass --signature-policy best-effort to mirror it unverified"
                    ),
                });
                false
            }
            None => true,
        };
        at += 1;
        keep
    });
    if options.copy {
        prepared.attachments = found.jobs.iter().map(|job| job.destination.clone()).collect();
        prepared.plan.jobs.extend(found.jobs);
        for built in found.built {
            sources.built.insert(built.root.digest.clone(), built);
        }
    }
    Ok(())
}

/// Reads the configured charts (repositories, `oci://`, local), plans each as an OCI artifact and the images it
/// deploys. A chart that cannot be read fails the helm group.
async fn add_charts(
    prepared: &mut Prepared,
    request: &MirrorRequest,
    context: &CollectContext,
    sources: &mut Sources,
    reporter: &Arc<dyn Reporter>,
) -> Result<(), WorkflowError> {
    if prepared.config.spec.mirror.helm.is_empty() {
        return Ok(());
    }
    let documents = DocumentClient::new(request.src_tls_verify, request.engine.retry)?;
    let from = ChartSources {
        sources,
        documents: &documents,
    };
    let collected = helm::collect(&prepared.config, context, &from, reporter).await;
    prepared.plan.jobs.extend(collected.jobs);
    for built in collected.built {
        sources.built.insert(built.root.digest.clone(), built);
    }
    prepared.charts = collected.charts;
    for failure in collected.failures {
        reporter.event(Event::Warning(format!("{}: {}", failure.chart, failure.error)));
        prepared.early_failures.push(Failure {
            image: failure.chart,
            origin: ImageOrigin::Helm,
            error: failure.error.to_string(),
        });
    }
    Ok(())
}

/// Resolves the release channels (update graph) and reads each selected payload, adding payloads and components
/// to the plan. A channel or payload that cannot be read fails the release group.
async fn add_releases(
    prepared: &mut Prepared,
    request: &MirrorRequest,
    context: &CollectContext,
    sources: &mut Sources,
    reporter: &Arc<dyn Reporter>,
) -> Result<(), WorkflowError> {
    if prepared.config.spec.mirror.platform.is_empty() {
        return Ok(());
    }
    let documents = DocumentClient::new(request.src_tls_verify, request.engine.retry)?;
    let ignore = request.release_signatures != ReleaseSignatures::Verify;
    let store = match request.release_signatures {
        ReleaseSignatures::Skip => Ok(None),
        _ => SignatureStore::from_env(prepared.workspace.signatures(), documents.clone()).map(Some),
    };
    let signatures = match store {
        Ok(store) => SignaturePolicy { store, ignore },
        Err(error) if ignore => {
            reporter.event(Event::Warning(format!("{error}; releases are mirrored unverified")));
            SignaturePolicy {
                store: None,
                ignore: true,
            }
        }
        Err(error) => {
            prepared.early_failures.push(Failure {
                image: "mirror.platform".into(),
                origin: ImageOrigin::Release,
                error: error.to_string(),
            });
            return Ok(());
        }
    };
    let collected = release::collect(&prepared.config, context, sources, &documents, &signatures, reporter).await;
    prepared.plan.jobs.extend(collected.jobs);
    prepared.releases = collected.releases;
    prepared.fcos_graphs = collected.fcos_graphs;
    prepared
        .early_failures
        .extend(collected.failures.into_iter().map(|failure| Failure {
            image: failure.subject,
            origin: ImageOrigin::Release,
            error: failure.error.to_string(),
        }));
    if prepared.config.spec.mirror.platform.graph {
        add_graph_image(prepared, context, sources, &documents, reporter).await;
    }
    Ok(())
}

/// Builds the graph image (`graph: true`) and plans it; a graph image that cannot be built fails the release group.
async fn add_graph_image(
    prepared: &mut Prepared,
    context: &CollectContext,
    sources: &mut Sources,
    documents: &DocumentClient,
    reporter: &Arc<dyn Reporter>,
) {
    match graph_image::plan(context, sources, documents, reporter).await {
        Ok(planned) => {
            sources.built.insert(planned.built.root.digest.clone(), planned.built);
            prepared.graph_image = Some(planned.job.destination.clone());
            prepared.plan.jobs.push(planned.job);
        }
        Err(error) => prepared.early_failures.push(Failure {
            image: "mirror.platform.graph".into(),
            origin: ImageOrigin::Release,
            error: error.to_string(),
        }),
    }
}

/// Reads, filters and rebuilds the configured catalogs (network I/O), adding the catalogs and their images to the
/// plan and the rebuilt images to `sources`. A catalog that cannot be read fails the operator group.
async fn add_operators(
    prepared: &mut Prepared,
    request: &MirrorRequest,
    context: &CollectContext,
    sources: &mut Sources,
    reporter: &Arc<dyn Reporter>,
) {
    if prepared.config.spec.mirror.operators.is_empty() {
        return;
    }
    // The configs layers read here are copied again under the rebuilt catalogs: keep them for that.
    if sources.spool.is_none() && !request.dry_run {
        sources.spool = BlobSpool::new_in(prepared.workspace.root()).ok().map(Arc::new);
    }
    let collected = operator::collect(&prepared.config, context, sources, reporter).await;
    prepared.plan.jobs.extend(collected.jobs);
    for built in collected.built {
        sources.built.insert(built.root.digest.clone(), built);
    }
    prepared.catalogs = collected.catalogs;
    prepared
        .early_failures
        .extend(collected.failures.into_iter().map(|failure| Failure {
            image: failure.catalog,
            origin: ImageOrigin::Operator,
            error: failure.error.to_string(),
        }));
}

/// Credentials, source registries (with their configured mirrors) and a client for destination registries. What
/// registries.conf holds that ferry ignores (unknown keys) is reported as warnings.
pub(super) fn connect(
    request: &MirrorRequest,
    reporter: &Arc<dyn Reporter>,
) -> Result<(Sources, Arc<RegistryClient>), WorkflowError> {
    let sources = Sources::from_files(
        request.authfile.as_deref(),
        request.registries_conf.as_deref(),
        client_options(request, request.src_tls_verify, reporter),
    )?;
    for warning in sources.mirrors.warnings() {
        reporter.event(Event::Warning(warning.clone()));
    }
    let destination = Arc::new(RegistryClient::new(
        client_options(request, request.dest_tls_verify, reporter),
        sources.credentials.clone(),
    )?);
    Ok((sources, destination))
}

fn client_options(request: &MirrorRequest, tls_verify: bool, reporter: &Arc<dyn Reporter>) -> ClientOptions {
    ClientOptions {
        tls_verify,
        retry: request.engine.retry,
        observer: RetryObserver::new(reporter.clone()),
        ..ClientOptions::default()
    }
}
