//! `ferry delete`: phase 1 (`generate`) resolves a DeleteImageSetConfiguration with the mirror collectors into the
//! images an earlier mirror placed at the destination, and writes the delete list; phase 2 (`execute`) deletes
//! those manifests by digest, keeping every digest something outside the list still needs.

mod execute;
mod generate;

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;

use super::prepare::{add_remote_content, connect, prepare_config, Prepared};
use super::{MirrorRequest, RegistryTarget, WorkflowError};
use crate::config::ImageSetConfiguration;
use crate::events::Reporter;
use crate::image::manifest::ManifestView;
use crate::image::Digest;
use crate::registry::{RegistryClient, RegistryError, Repo};

pub(crate) use execute::{execute, ExecuteRequest, Executed};
pub(crate) use generate::{generate, Generated};

/// A manifest at the destination: its digest, its children when it is an index, and its blobs (its children's
/// too) with their sizes.
#[derive(Debug, Clone)]
struct Inspected {
    digest: Digest,
    children: Vec<Digest>,
    blobs: Vec<(Digest, u64)>,
}

/// Reads `selector` (a tag or digest) of `repository` at the destination; `None` when it is not there.
async fn inspect(
    client: &RegistryClient,
    registry: &str,
    repository: &str,
    selector: &str,
) -> Result<Option<Inspected>, RegistryError> {
    let repo = Repo {
        registry,
        path: repository,
    };
    let root = match client.get_manifest(repo, selector).await {
        Ok(manifest) => manifest,
        Err(RegistryError::NotFound { .. }) => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut inspected = Inspected {
        digest: root.digest.clone(),
        children: Vec::new(),
        blobs: Vec::new(),
    };
    match root.parse()? {
        ManifestView::Image { config, layers } => {
            inspected.blobs = std::iter::once(config)
                .chain(layers)
                .map(|d| (d.digest, d.size))
                .collect();
        }
        ManifestView::Index(children) => {
            for child in children {
                inspected.children.push(child.digest.clone());
                if let Ok(manifest) = client.get_manifest(repo, child.digest.as_str()).await {
                    if let Ok(ManifestView::Image { config, layers }) = manifest.parse() {
                        inspected
                            .blobs
                            .extend(std::iter::once(config).chain(layers).map(|d| (d.digest, d.size)));
                    }
                }
            }
        }
    }
    Ok(Some(inspected))
}

/// Plans `config` for `target` with the mirror collectors (releases, catalogs, charts, additional images), without
/// copying: the destinations an earlier mirror of it filled.
async fn plan_destinations(
    request: &MirrorRequest,
    config: (ImageSetConfiguration, String),
    target: &RegistryTarget,
    reporter: &Arc<dyn Reporter>,
) -> Result<(Prepared, Arc<RegistryClient>), WorkflowError> {
    let mut prepared = prepare_config(request, config, &target.registry, &target.namespace, reporter)?;
    let (mut sources, client) = connect(request, reporter)?;
    client
        .check(&target.registry)
        .await
        .map_err(WorkflowError::Destination)?;
    add_remote_content(
        &mut prepared,
        request,
        &target.registry,
        &target.namespace,
        &mut sources,
        reporter,
    )
    .await?;
    Ok((prepared, client))
}

/// Inspects every destination of `prepared` (up to `parallel` at once), in plan order: what is there.
async fn inspect_destinations(
    prepared: &Prepared,
    client: &RegistryClient,
    parallel: usize,
) -> Vec<(usize, Result<Option<Inspected>, RegistryError>)> {
    let lookups = prepared.plan.jobs.iter().enumerate().map(|(at, job)| async move {
        let destination = &job.destination;
        (
            at,
            inspect(client, &destination.registry, &destination.repository, &destination.tag).await,
        )
    });
    futures_util::stream::iter(lookups)
        .buffered(parallel.max(1))
        .collect()
        .await
}

/// `DIR/working-dir/delete`.
fn delete_dir(prepared: &Prepared) -> PathBuf {
    prepared.workspace.root().join("delete")
}
