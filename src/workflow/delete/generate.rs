//! Phase 1: the delete list of a DeleteImageSetConfiguration, and a copy of the configuration, in
//! `working-dir/delete/`. Nothing is deleted.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use super::{delete_dir, inspect_destinations, plan_destinations};
use crate::config::{self, ImageSetConfiguration};
use crate::delete::{type_name, DeleteItem, DeleteList};
use crate::events::{Event, Reporter};
use crate::files::write_atomically;
use crate::plan::{ImageOrigin, MirrorJob};
use crate::workflow::prepare::Prepared;
use crate::workflow::{Failure, MirrorRequest, Mode, WorkflowError};

/// What phase 1 found and wrote.
#[derive(Debug)]
pub(crate) struct Generated {
    pub list_path: PathBuf,
    pub config_copy: PathBuf,
    pub items: Vec<DeleteItem>,
    /// Images the configuration names that the destination does not hold (never mirrored, or deleted already).
    pub absent: Vec<String>,
    /// What could not be resolved (a catalog, a channel, a chart), with the group it belongs to.
    pub failures: Vec<Failure>,
}

/// Resolves the delete configuration at `request.config_path` against the destination of `request.mode` and writes
/// `delete-images[-ID].yaml`.
pub(crate) async fn generate(
    request: &MirrorRequest,
    delete_id: Option<&str>,
    reporter: Arc<dyn Reporter>,
) -> Result<Generated, WorkflowError> {
    let Mode::MirrorToMirror { destination, .. } = &request.mode else {
        return Err(WorkflowError::Usage(
            "delete --generate needs --workspace file://DIR and a docker:// destination".into(),
        ));
    };
    let text = std::fs::read_to_string(&request.config_path).map_err(WorkflowError::io(&request.config_path))?;
    let delete = config::parse_delete(&text, &request.config_path)?;
    let as_mirror = ImageSetConfiguration::mirroring(delete.spec.delete.clone());
    let (prepared, client) = plan_destinations(request, (as_mirror, text.clone()), destination, &reporter).await?;
    let inspected = inspect_destinations(&prepared, &client, request.engine.parallel_images).await;
    let mut items = Vec::new();
    let mut absent = Vec::new();
    let mut failures = prepared.early_failures.clone();
    let mut seen = BTreeSet::new();
    for (at, result) in inspected {
        let job = &prepared.plan.jobs[at];
        let reference = format!(
            "docker://{}/{}:{}",
            job.destination.registry, job.destination.repository, job.destination.tag
        );
        if !seen.insert(reference.clone()) {
            continue;
        }
        match result {
            Ok(Some(found)) => items.push(DeleteItem {
                image_name: job.source.configured_name(),
                image_reference: reference,
                image_type: item_type(job, &prepared).into(),
                digest: Some(found.digest.to_string()),
                size: Some(found.blobs.iter().map(|(_, size)| size).sum()),
                related_blobs: found.blobs.into_iter().map(|(digest, _)| digest.to_string()).collect(),
            }),
            Ok(None) => {
                reporter.event(Event::Info(format!(
                    "{reference} is not at the destination: nothing to delete"
                )));
                absent.push(reference);
            }
            Err(error) => failures.push(Failure {
                image: reference,
                origin: job.origin,
                error: error.to_string(),
            }),
        }
    }
    items.sort_by(|a, b| a.image_reference.cmp(&b.image_reference));
    let (list_path, config_copy) = write_outputs(&prepared, delete_id, &items)?;
    Ok(Generated {
        list_path,
        config_copy,
        items,
        absent,
        failures,
    })
}

/// oc-mirror's type of a planned image.
fn item_type(job: &MirrorJob, prepared: &Prepared) -> &'static str {
    if prepared.releases.iter().any(|r| r.destination == job.destination) {
        return "ocpRelease";
    }
    if job.origin == ImageOrigin::Release && prepared.graph_image.as_ref() == Some(&job.destination) {
        return "cincinnatiGraph";
    }
    let is_catalog = prepared.catalogs.iter().any(|c| c.destination == job.destination);
    type_name(job.origin, is_catalog)
}

/// Writes the list and a copy of the configuration, named with the delete id when there is one.
fn write_outputs(
    prepared: &Prepared,
    delete_id: Option<&str>,
    items: &[DeleteItem],
) -> Result<(PathBuf, PathBuf), WorkflowError> {
    let dir = delete_dir(prepared);
    std::fs::create_dir_all(&dir).map_err(WorkflowError::io(&dir))?;
    let suffix = delete_id.map(|id| format!("-{id}")).unwrap_or_default();
    let list_path = dir.join(format!("delete-images{suffix}.yaml"));
    let config_copy = dir.join(format!("delete-imageset-config{suffix}.yaml"));
    let list = DeleteList::new(items.to_vec());
    write_atomically(&list_path, list.to_yaml().as_bytes()).map_err(WorkflowError::io(&list_path))?;
    write_atomically(&config_copy, prepared.config_text.as_bytes()).map_err(WorkflowError::io(&config_copy))?;
    Ok((list_path, config_copy))
}
