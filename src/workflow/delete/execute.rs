//! Phase 2: delete the manifests of a delete list by digest, repository by repository, after asking the
//! registry what else still uses them (every tag, the indexes those tags name, what `--keep` configurations
//! mirror). The first deletion is made alone: a registry that refuses deletes stops the run before anything else.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;

use super::{inspect, plan_destinations};
use crate::config;
use crate::delete::keep::{decide, Decision, Kept, Planned, RepositoryState};
use crate::delete::DeleteList;
use crate::events::{Event, Reporter};
use crate::image::media_type::ManifestKind;
use crate::image::Digest;
use crate::plan::ImageSource;
use crate::registry::{Deleted, ManifestHead, RegistryClient, RegistryError, Repo};
use crate::workflow::prepare::connect;
use crate::workflow::prepare::Prepared;
use crate::workflow::{MirrorRequest, Mode, RegistryTarget, WorkflowError};

/// Phase 2's inputs: the list, and the mirror request that names the destination and the registry options.
#[derive(Debug, Clone)]
pub(crate) struct ExecuteRequest {
    pub list: PathBuf,
    pub dry_run: bool,
    /// Also delete the cosign `sha256-<hex>.sig` tags of what is deleted.
    pub delete_signatures: bool,
    /// ImageSetConfigurations whose content must stay.
    pub keep: Vec<PathBuf>,
    pub connection: MirrorRequest,
}

/// What phase 2 did (or, in a dry run, would do).
#[derive(Debug, Default)]
pub(crate) struct Executed {
    /// `repository@digest` deleted.
    pub deleted: Vec<String>,
    /// `repository@digest` kept, and why.
    pub kept: Vec<(String, String)>,
    /// Items the registry no longer holds.
    pub absent: Vec<String>,
    /// `repository@digest` (or item) and the error.
    pub failures: Vec<(String, String)>,
}

/// One repository's part of the list.
#[derive(Debug, Default)]
struct RepositoryPlan {
    items: Vec<(Option<String>, Option<Digest>)>,
}

pub(crate) async fn execute(request: &ExecuteRequest, reporter: Arc<dyn Reporter>) -> Result<Executed, WorkflowError> {
    let Mode::MirrorToMirror { destination, .. } = &request.connection.mode else {
        return Err(WorkflowError::Usage(
            "ferry delete needs a docker:// destination".into(),
        ));
    };
    let list = DeleteList::read(&request.list).map_err(|e| WorkflowError::Usage(e.to_string()))?;
    let repositories = group_by_repository(&list, destination)?;
    let (_, client) = connect(&request.connection, &reporter)?;
    client
        .check(&destination.registry)
        .await
        .map_err(WorkflowError::Destination)?;
    let kept_by_configuration = keep_configurations(request, destination, &reporter).await?;
    let mut executed = Executed::default();
    let asked = futures_util::stream::iter(repositories.into_iter().map(|(repository, plan)| {
        let keep = kept_by_configuration.get(&repository).cloned().unwrap_or_default();
        let client = &client;
        async move {
            let state = decide_repository(
                client,
                &destination.registry,
                &repository,
                &plan,
                keep,
                request.delete_signatures,
            )
            .await;
            (repository, state)
        }
    }))
    .buffered(request.connection.engine.parallel_images.max(1))
    .collect::<Vec<_>>()
    .await;
    let mut decisions = Vec::new();
    for (repository, answer) in asked {
        match answer {
            Ok((decision, absent)) => {
                executed
                    .absent
                    .extend(absent.into_iter().map(|tag| format!("{repository}:{tag}")));
                decisions.push((repository, decision));
            }
            Err(error) => executed.failures.push((repository, error.to_string())),
        }
    }
    for (repository, decision) in &decisions {
        for Kept { digest, reason } in &decision.kept {
            reporter.event(Event::Info(format!("keeping {repository}@{digest}: {reason}")));
            executed.kept.push((format!("{repository}@{digest}"), reason.clone()));
        }
    }
    if request.dry_run {
        for (repository, decision) in &decisions {
            executed
                .deleted
                .extend(decision.delete.iter().map(|d| format!("{repository}@{d}")));
        }
        return Ok(executed);
    }
    delete_all(
        &client,
        &destination.registry,
        decisions,
        request.connection.engine.parallel_images,
        &reporter,
        &mut executed,
    )
    .await?;
    Ok(executed)
}

/// The list's items by repository; an item of another registry (or outside the namespace) is refused.
fn group_by_repository(
    list: &DeleteList,
    destination: &RegistryTarget,
) -> Result<BTreeMap<String, RepositoryPlan>, WorkflowError> {
    let mut repositories: BTreeMap<String, RepositoryPlan> = BTreeMap::new();
    for item in &list.items {
        let target = item.target().map_err(|e| WorkflowError::Usage(e.to_string()))?;
        let inside =
            destination.namespace.is_empty() || target.repository.starts_with(&format!("{}/", destination.namespace));
        if target.registry != destination.registry || !inside {
            return Err(WorkflowError::Usage(format!(
                "the delete list names {}, which is not under the destination {}{}\n  help: pass the registry (and namespace) the list was generated for",
                item.image_reference,
                destination.registry,
                if destination.namespace.is_empty() { String::new() } else { format!("/{}", destination.namespace) }
            )));
        }
        repositories
            .entry(target.repository)
            .or_default()
            .items
            .push((target.tag, target.digest));
    }
    Ok(repositories)
}

/// What each `--keep` configuration mirrors at the destination: repository → digest → configuration.
async fn keep_configurations(
    request: &ExecuteRequest,
    destination: &RegistryTarget,
    reporter: &Arc<dyn Reporter>,
) -> Result<BTreeMap<String, BTreeMap<Digest, String>>, WorkflowError> {
    let mut kept: BTreeMap<String, BTreeMap<Digest, String>> = BTreeMap::new();
    for path in &request.keep {
        let config = config::load_imageset(path)?;
        let text = std::fs::read_to_string(path).map_err(WorkflowError::io(path))?;
        let connection = MirrorRequest {
            config_path: path.clone(),
            ..request.connection.clone()
        };
        let (prepared, client) = plan_destinations(&connection, (config, text), destination, reporter).await?;
        let name = path.display().to_string();
        for (repository, digests) in planned_digests(&prepared, &client).await {
            let entry = kept.entry(repository).or_default();
            for digest in digests {
                entry.insert(digest, name.clone());
            }
        }
    }
    Ok(kept)
}

/// What a configuration's plan would place, by repository: the digest each job pins (a built image's, a source
/// pinned by digest), or for a source named by tag what its destination tag names now; with their children.
async fn planned_digests(prepared: &Prepared, client: &RegistryClient) -> Vec<(String, Vec<Digest>)> {
    let lookups = prepared.plan.jobs.iter().map(|job| async move {
        let destination = &job.destination;
        let selector = match &job.source {
            ImageSource::Registry(reference) => reference.digest.as_ref().map(|d| d.to_string()),
            ImageSource::Built { digest, .. } | ImageSource::Archive { digest, .. } => Some(digest.to_string()),
            ImageSource::Layout { .. } => None,
        };
        let mut digests: Vec<Digest> = selector.iter().filter_map(|d| d.parse().ok()).collect();
        let selector = selector.unwrap_or_else(|| destination.tag.clone());
        if let Ok(Some(found)) = inspect(client, &destination.registry, &destination.repository, &selector).await {
            digests.push(found.digest);
            digests.extend(found.children);
        }
        (destination.repository.clone(), digests)
    });
    futures_util::stream::iter(lookups).buffered(8).collect().await
}

/// Asks the registry what the repository holds and decides; also returns the planned tags it no longer holds.
async fn decide_repository(
    client: &RegistryClient,
    registry: &str,
    repository: &str,
    plan: &RepositoryPlan,
    kept_by_configuration: BTreeMap<Digest, String>,
    delete_signatures: bool,
) -> Result<(Decision, Vec<String>), RegistryError> {
    let mut state = RepositoryState {
        kept_by_configuration,
        ..RepositoryState::default()
    };
    let repo = Repo {
        registry,
        path: repository,
    };
    let mut indexes = BTreeSet::new();
    for tag in client.list_tags(repo).await? {
        if let Some(ManifestHead {
            digest: Some(digest),
            media_type,
        }) = client.manifest_head(repo, &tag).await?
        {
            if media_type.as_deref().is_some_and(is_index) {
                indexes.insert(digest.clone());
            }
            state.tags.insert(tag, digest);
        }
    }
    let mut planned = Vec::new();
    let mut absent = Vec::new();
    for (tag, digest) in &plan.items {
        match digest
            .clone()
            .or_else(|| tag.as_ref().and_then(|t| state.tags.get(t).cloned()))
        {
            Some(digest) => planned.push(Planned {
                tag: tag.clone(),
                digest,
            }),
            None => absent.push(tag.clone().unwrap_or_default()),
        }
    }
    if delete_signatures {
        planned.extend(signature_tags(&planned, &state));
    }
    for digest in planned
        .iter()
        .map(|p| &p.digest)
        .filter(|d| !state.tags.values().any(|t| t == *d))
    {
        if let Some(ManifestHead { media_type, .. }) = client.manifest_head(repo, digest.as_str()).await? {
            if media_type.as_deref().is_some_and(is_index) {
                indexes.insert(digest.clone());
            }
        }
    }
    for digest in indexes {
        if let Ok(Some(found)) = inspect(client, registry, repository, digest.as_str()).await {
            state.children.insert(digest, found.children);
        }
    }
    Ok((decide(repository, &planned, &state), absent))
}

/// Whether a manifest media type is an index (OCI image index, Docker manifest list).
fn is_index(media_type: &str) -> bool {
    ManifestKind::from_media_type(media_type).is_some_and(ManifestKind::is_index)
}

/// The cosign signature tags (`sha256-<hex>.sig`) of planned digests that the repository holds.
fn signature_tags(planned: &[Planned], state: &RepositoryState) -> Vec<Planned> {
    planned
        .iter()
        .filter_map(|p| {
            let tag = format!("{}.sig", p.digest.as_tag());
            state.tags.get(&tag).map(|digest| Planned {
                tag: Some(tag),
                digest: digest.clone(),
            })
        })
        .collect()
}

/// The outcome of each deletion in one repository, in order.
type Outcomes = Vec<(Digest, Result<Deleted, RegistryError>)>;

/// Deletes every decided digest: the first alone (a registry that refuses deletes stops everything there), then
/// repositories in parallel, each in order (an index before its children).
async fn delete_all(
    client: &RegistryClient,
    registry: &str,
    decisions: Vec<(String, Decision)>,
    parallel: usize,
    reporter: &Arc<dyn Reporter>,
    executed: &mut Executed,
) -> Result<(), WorkflowError> {
    let mut work: Vec<(String, Vec<Digest>)> = decisions
        .into_iter()
        .map(|(repository, decision)| (repository, decision.delete))
        .filter(|(_, digests)| !digests.is_empty())
        .collect();
    if let Some((repository, digests)) = work.first_mut() {
        let first = digests.remove(0);
        let outcome = probe(client, registry, repository, &first).await?;
        record(executed, reporter, repository, &first, outcome);
    }
    let results: Vec<(String, Outcomes)> = futures_util::stream::iter(
        work.into_iter()
            .map(|(repository, digests)| delete_in_order(client, registry, repository, digests)),
    )
    .buffer_unordered(parallel.max(1))
    .collect()
    .await;
    for (repository, outcomes) in results {
        for (digest, outcome) in outcomes {
            record(executed, reporter, &repository, &digest, outcome);
        }
    }
    Ok(())
}

/// The first deletion: a registry that refuses deletes, or an account that may not delete, stops the run here.
async fn probe(
    client: &RegistryClient,
    registry: &str,
    repository: &str,
    digest: &Digest,
) -> Result<Result<Deleted, RegistryError>, WorkflowError> {
    let repo = Repo {
        registry,
        path: repository,
    };
    match client.delete_manifest(repo, digest).await {
        Err(
            error @ (RegistryError::DeletesDisabled { .. }
            | RegistryError::Denied { .. }
            | RegistryError::CredentialsRejected { .. }
            | RegistryError::CredentialsMissing { .. }),
        ) => Err(WorkflowError::Destination(error)),
        outcome => Ok(outcome),
    }
}

/// Deletes `digests` of one repository one after the other.
async fn delete_in_order(
    client: &RegistryClient,
    registry: &str,
    repository: String,
    digests: Vec<Digest>,
) -> (String, Outcomes) {
    let repo = Repo {
        registry,
        path: &repository,
    };
    let mut outcomes = Vec::new();
    for digest in digests {
        let outcome = client.delete_manifest(repo, &digest).await;
        outcomes.push((digest, outcome));
    }
    (repository, outcomes)
}

fn record(
    executed: &mut Executed,
    reporter: &Arc<dyn Reporter>,
    repository: &str,
    digest: &Digest,
    outcome: Result<Deleted, RegistryError>,
) {
    let name = format!("{repository}@{digest}");
    match outcome {
        Ok(Deleted::Deleted) => {
            reporter.event(Event::Info(format!("deleted {name}")));
            executed.deleted.push(name);
        }
        Ok(Deleted::AlreadyGone) => executed.absent.push(name),
        Err(error) => {
            reporter.event(Event::Warning(format!("{name}: {error}")));
            executed.failures.push((name, error.to_string()));
        }
    }
}
