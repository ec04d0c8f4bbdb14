//! OCI 1.1 referrers fallback tags (`sha256-<hex>`) merged with what the destination holds already: a fallback
//! index there may list referrers that did not come from this source (pushed by other tools or other runs); the
//! index ferry pushes keeps them, after the ones it brings. Their manifests are read from the destination, where
//! their blobs are too, so nothing of them is copied.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use super::prepare::Prepared;
use crate::collect::attachments::is_fallback_tag;
use crate::events::{Event, Reporter};
use crate::image::manifest::RawManifest;
use crate::image::media_type::OCI_INDEX;
use crate::image::Digest;
use crate::plan::{ImageSource, MirrorJob};
use crate::registry::{RegistryClient, RegistryError, Repo};
use crate::source::{BuiltImage, SourceReader, Sources};

/// Rewrites each fallback-tag job whose destination already lists other referrers into a merged index.
pub(super) async fn merge_fallback_tags(
    prepared: &mut Prepared,
    sources: &mut Sources,
    client: &RegistryClient,
    reporter: &Arc<dyn Reporter>,
) {
    for at in 0..prepared.plan.jobs.len() {
        let job = &prepared.plan.jobs[at];
        if !is_fallback_tag(&job.destination.tag) {
            continue;
        }
        match merged(job, sources, client).await {
            Ok(Some(built)) => {
                let job = &mut prepared.plan.jobs[at];
                reporter.event(Event::Info(format!(
                    "{}: the destination's fallback tag lists other referrers; they are kept",
                    job.destination
                )));
                let original = job.source.configured_name();
                job.source = ImageSource::Built {
                    digest: built.root.digest.clone(),
                    original,
                };
                sources.built.insert(built.root.digest.clone(), Arc::new(built));
            }
            Ok(None) => {}
            Err(error) => reporter.event(Event::Warning(format!(
                "{}: cannot read the destination's fallback tag ({error}); it is replaced",
                job.destination
            ))),
        }
    }
}

/// The index to push: the source's entries, then the destination's that the source lacks; `None` when the
/// destination has no such tag or nothing more.
async fn merged(
    job: &MirrorJob,
    sources: &Sources,
    client: &RegistryClient,
) -> Result<Option<BuiltImage>, RegistryError> {
    let destination = Repo {
        registry: &job.destination.registry,
        path: &job.destination.repository,
    };
    let existing = match client.get_manifest(destination, &job.destination.tag).await {
        Ok(existing) => existing,
        Err(RegistryError::NotFound { .. }) => return Ok(None),
        Err(error) => return Err(error),
    };
    let Ok((_, ours)) = SourceReader::open(&job.source, sources).await else {
        return Ok(None); // The copy reports a source that cannot be read.
    };
    let mut index: Value = serde_json::from_slice(&ours.bytes).unwrap_or(Value::Null);
    let theirs: Value = serde_json::from_slice(&existing.bytes).unwrap_or(Value::Null);
    let (Some(entries), Some(present)) = (index["manifests"].as_array().cloned(), theirs["manifests"].as_array())
    else {
        return Ok(None);
    };
    let known = |entry: &Value| entries.iter().any(|e| e["digest"] == entry["digest"]);
    let extra: Vec<Value> = present.iter().filter(|entry| !known(entry)).cloned().collect();
    if extra.is_empty() {
        return Ok(None);
    }
    let mut manifests = HashMap::new();
    for entry in &extra {
        let Some(digest) = entry["digest"].as_str().and_then(|d| d.parse::<Digest>().ok()) else {
            continue;
        };
        let manifest = client.get_manifest(destination, digest.as_str()).await?;
        manifests.insert(digest, manifest);
    }
    let mut all = entries;
    all.extend(extra);
    index["manifests"] = Value::Array(all);
    let bytes = Bytes::from(serde_json::to_vec(&index).unwrap_or_default());
    let root = RawManifest::new(bytes, Some(OCI_INDEX))?;
    Ok(Some(BuiltImage {
        base: Some(job.source.clone()),
        root,
        manifests,
        blobs: HashMap::new(),
    }))
}
