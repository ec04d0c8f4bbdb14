//! Signatures, attestations and referrers that travel with the planned images: for every manifest a job copies
//! from a registry (its index, when the copy keeps its digest, and each platform image it keeps), the cosign tags
//! `sha256-<hex>.sig`, `.att` and `.sbom`, and the OCI 1.1 referrers, read from the fallback tag `sha256-<hex>` or
//! from the referrers API, recursively (a signature of an SBOM). They are found with one tag listing per source
//! repository and planned as jobs into the destination repository of their subject. Images ferry builds (rebuilt
//! catalogs, packaged charts) and indexes the platform filter rewrites have new digests: their originals'
//! signatures do not apply and are left out, said once per image. With a cosign key, each image's `.sig` is
//! verified before anything is copied.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;

use crate::events::{Event, Reporter};
use crate::image::manifest::{ManifestView, RawManifest};
use crate::image::Digest;
use crate::plan::{ImageDestination, ImageSource, MirrorJob, MirrorPlan};
use crate::reference::ImageReference;
use crate::registry::Repo;
use crate::signature::cosign::{self, CosignKey};
use crate::source::layers::read_small_blob;
use crate::source::{BuiltImage, SourceReader, Sources};
use crate::sync::Locked;

/// cosign's tag suffixes: signatures, attestations, SBOMs.
const COSIGN_SUFFIXES: [&str; 3] = ["sig", "att", "sbom"];

/// Whether `tag` is a referrers fallback tag: `sha256-` and 64 hex digits, nothing after.
pub(crate) fn is_fallback_tag(tag: &str) -> bool {
    tag.strip_prefix("sha256-")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether `tag` names an attachment: a cosign `sha256-<hex>.sig`, `.att` or `.sbom` tag, or a fallback tag.
pub(crate) fn is_attachment_tag(tag: &str) -> bool {
    is_fallback_tag(tag)
        || tag
            .rsplit_once('.')
            .is_some_and(|(subject, suffix)| COSIGN_SUFFIXES.contains(&suffix) && is_fallback_tag(subject))
}

/// How signatures are checked before mirroring.
pub(crate) struct Verification {
    pub key: CosignKey,
    /// An image without a valid signature fails (else it is reported and mirrored).
    pub strict: bool,
}

/// What the pass planned.
#[derive(Default)]
pub(crate) struct Attachments {
    pub jobs: Vec<MirrorJob>,
    /// Fallback-tag indexes built from the referrers API.
    pub built: Vec<Arc<BuiltImage>>,
    /// Jobs (by index in the plan) whose signature did not verify under a strict policy, and why.
    pub rejected: Vec<(usize, String)>,
}

/// The attachments of every job of `plan` that comes from a registry, `parallel` images at a time.
pub(crate) async fn collect(
    plan: &MirrorPlan,
    sources: &Sources,
    verification: Option<&Verification>,
    parallel: usize,
    reporter: &Arc<dyn Reporter>,
) -> Attachments {
    let pass = Pass {
        sources,
        reporter,
        tags: Mutex::new(HashMap::new()),
        referrers_api: Mutex::new(HashMap::new()),
        planned: Mutex::new(BTreeSet::new()),
        out: Mutex::new(Attachments::default()),
    };
    let work: Vec<_> = plan
        .jobs
        .iter()
        .enumerate()
        .map(|(at, job)| job_attachments(&pass, at, job, verification))
        .collect();
    futures_util::stream::iter(work)
        .buffer_unordered(parallel.max(1))
        .collect::<Vec<()>>()
        .await;
    let mut out = std::mem::take(&mut *pass.out.locked());
    // Sorted by destination, whatever order the images finished in: the plan stays deterministic.
    out.jobs.sort_by(|a, b| {
        (&a.destination.repository, &a.destination.tag).cmp(&(&b.destination.repository, &b.destination.tag))
    });
    out.rejected.sort();
    out
}

/// One job's part of the pass.
async fn job_attachments(pass: &Pass<'_>, at: usize, job: &MirrorJob, verification: Option<&Verification>) {
    match &job.source {
        ImageSource::Registry(reference) => {
            if let Some(reason) = pass.attach(job, reference, verification).await {
                pass.out.locked().rejected.push((at, reason));
            }
        }
        ImageSource::Built { digest, original } => {
            // Only a rebuild of a registry image has an original whose signatures could have been copied.
            if pass.sources.built.get(digest).is_some_and(|built| built.base.is_some()) {
                pass.reporter.event(Event::Info(format!(
                    "{original}: its signatures and referrers name the original's digest, not the image ferry \
                     rebuilt; they are not copied"
                )));
            }
        }
        ImageSource::Layout { .. } | ImageSource::Archive { .. } => {}
    }
}

/// The state of one pass: tag listings (once per source repository), which registries serve the referrers API
/// (a registry that does not answers 404 once, and is not asked again), what is planned already.
struct Pass<'a> {
    sources: &'a Sources,
    reporter: &'a Arc<dyn Reporter>,
    tags: Mutex<HashMap<(String, String), BTreeSet<String>>>,
    referrers_api: Mutex<HashMap<String, bool>>,
    planned: Mutex<BTreeSet<(String, String)>>,
    out: Mutex<Attachments>,
}

impl Pass<'_> {
    /// Plans the attachments of one job; returns why it must not be mirrored when a strict verification fails.
    async fn attach(
        &self,
        job: &MirrorJob,
        reference: &ImageReference,
        verification: Option<&Verification>,
    ) -> Option<String> {
        let tags = self.tags_of(reference).await;
        let nothing_to_find = tags.is_empty() && self.referrers_api.locked().get(&reference.registry) == Some(&false);
        if nothing_to_find && verification.is_none() {
            return None; // No tag can name an attachment and the registry has no referrers API: nothing to read.
        }
        let Ok((reader, root)) = SourceReader::open(&job.source, self.sources).await else {
            return None; // The copy reports an image that cannot be read.
        };
        let subjects = self.subjects(job, &root);
        if let Some(verification) = verification {
            if let Err(reason) = verify(&reader, &root.digest, &tags, verification).await {
                if verification.strict {
                    return Some(reason);
                }
                self.reporter.event(Event::Warning(format!(
                    "{}: {reason}; mirrored anyway (best-effort)",
                    job.source
                )));
            }
        }
        let mut queue: Vec<Digest> = subjects;
        let mut seen = BTreeSet::new();
        while let Some(digest) = queue.pop() {
            if !seen.insert(digest.clone()) {
                continue;
            }
            for suffix in COSIGN_SUFFIXES {
                let tag = format!("{}.{suffix}", digest.as_tag());
                if tags.contains(&tag) {
                    self.plan_tag(job, reference, &tag);
                }
            }
            queue.extend(self.referrers(job, reference, &digest, &tags).await);
        }
        None
    }

    /// The digests whose attachments apply to the copy: each platform image kept, and the index when the copy
    /// keeps every entry (a filtered index gets a new digest).
    fn subjects(&self, job: &MirrorJob, root: &RawManifest) -> Vec<Digest> {
        let Ok(ManifestView::Index(entries)) = root.parse() else {
            return vec![root.digest.clone()];
        };
        let kept: Vec<Digest> = entries
            .iter()
            .filter(|entry| entry.platform().is_none_or(|p| job.platforms.accepts(&p)))
            .map(|entry| entry.digest.clone())
            .collect();
        if kept.len() == entries.len() {
            return std::iter::once(root.digest.clone()).chain(kept).collect();
        }
        self.reporter.event(Event::Info(format!(
            "{}: the platform filter gives the index a new digest, so the index's own signatures are not copied; \
             its platforms' are",
            job.source
        )));
        kept
    }

    /// The tags of the source repository, listed once per run (none when they cannot be listed).
    async fn tags_of(&self, reference: &ImageReference) -> BTreeSet<String> {
        let key = (reference.registry.clone(), reference.repository.clone());
        if let Some(tags) = self.tags.locked().get(&key) {
            return tags.clone();
        }
        let repo = Repo {
            registry: &reference.registry,
            path: &reference.repository,
        };
        let tags: BTreeSet<String> = match self.sources.registry.list_tags(repo).await {
            Ok(tags) => tags.into_iter().filter(|t| t.starts_with("sha256-")).collect(),
            Err(error) => {
                self.reporter.event(Event::Warning(format!(
                    "{}/{}: cannot list tags to find signatures ({error}); none are copied for it",
                    reference.registry, reference.repository
                )));
                BTreeSet::new()
            }
        };
        self.tags.locked().insert(key, tags.clone());
        tags
    }

    /// Plans `tag` of the source repository into the job's destination repository, once.
    fn plan_tag(&self, job: &MirrorJob, reference: &ImageReference, tag: &str) {
        if !self
            .planned
            .locked()
            .insert((job.destination.repository.clone(), tag.to_string()))
        {
            return;
        }
        let source = ImageReference {
            tag: Some(tag.to_string()),
            digest: None,
            ..reference.clone()
        };
        self.out
            .locked()
            .jobs
            .push(attachment_job(job, ImageSource::Registry(source), tag));
    }

    /// The referrers of `digest`: from its fallback tag (copied as it is), else from the referrers API (a fallback
    /// index built from the answer); returns their digests, whose own attachments follow.
    async fn referrers(
        &self,
        job: &MirrorJob,
        reference: &ImageReference,
        digest: &Digest,
        tags: &BTreeSet<String>,
    ) -> Vec<Digest> {
        let tag = digest.as_tag();
        let repo = Repo {
            registry: &reference.registry,
            path: &reference.repository,
        };
        if tags.contains(&tag) {
            self.plan_tag(job, reference, &tag);
            return match self.sources.registry.get_manifest(repo, &tag).await {
                Ok(index) => entries(&index),
                Err(_) => Vec::new(),
            };
        }
        if self.referrers_api.locked().get(&reference.registry) == Some(&false) {
            return Vec::new();
        }
        let answer = self.sources.registry.referrers(repo, digest).await;
        self.referrers_api
            .locked()
            .insert(reference.registry.clone(), matches!(answer, Ok(Some(_))));
        let Ok(Some(index)) = answer else {
            return Vec::new();
        };
        let found = entries(&index);
        if found.is_empty()
            || !self
                .planned
                .locked()
                .insert((job.destination.repository.clone(), tag.clone()))
        {
            return found;
        }
        let subject = ImageReference {
            tag: None,
            digest: Some(digest.clone()),
            ..reference.clone()
        };
        let built = Arc::new(BuiltImage {
            base: Some(ImageSource::Registry(subject)),
            root: index,
            manifests: Default::default(),
            blobs: Default::default(),
        });
        let source = ImageSource::Built {
            digest: built.root.digest.clone(),
            original: format!("referrers of {reference}@{digest}"),
        };
        let mut out = self.out.locked();
        out.jobs.push(attachment_job(job, source, &tag));
        out.built.push(built);
        found
    }
}

/// The manifests an index lists.
fn entries(index: &RawManifest) -> Vec<Digest> {
    match index.parse() {
        Ok(ManifestView::Index(entries)) => entries.into_iter().map(|e| e.digest).collect(),
        _ => Vec::new(),
    }
}

fn attachment_job(subject: &MirrorJob, source: ImageSource, tag: &str) -> MirrorJob {
    MirrorJob {
        source,
        destination: ImageDestination {
            tag: tag.to_string(),
            ..subject.destination.clone()
        },
        platforms: crate::image::PlatformFilter::all(),
        origin: subject.origin,
    }
}

/// Whether `digest` has a signature that verifies with the key: its `.sig` manifest's simple-signing layers, each
/// payload read and checked (signature, then the digest it names).
async fn verify(
    reader: &SourceReader,
    digest: &Digest,
    tags: &BTreeSet<String>,
    verification: &Verification,
) -> Result<(), String> {
    let tag = format!("{}.sig", digest.as_tag());
    if !tags.contains(&tag) {
        return Err(format!("no signature ({tag}) to verify"));
    }
    let SourceReader::Registry { client, reference, .. } = reader else {
        return Err("signatures are verified for registry images only".into());
    };
    let repo = Repo {
        registry: &reference.registry,
        path: &reference.repository,
    };
    let manifest = client.get_manifest(repo, &tag).await.map_err(|e| e.to_string())?;
    let layers = cosign::signature_layers(&manifest.bytes).map_err(|e| e.to_string())?;
    let descriptors: BTreeMap<String, _> = match manifest.parse() {
        Ok(ManifestView::Image { layers, .. }) => layers.into_iter().map(|d| (d.digest.to_string(), d)).collect(),
        _ => BTreeMap::new(),
    };
    let mut reasons = Vec::new();
    for layer in layers {
        let Some(descriptor) = descriptors.get(&layer.digest) else {
            continue;
        };
        let payload = match read_small_blob(reader, descriptor).await {
            Ok(payload) => payload,
            Err(error) => {
                reasons.push(error.to_string());
                continue;
            }
        };
        match cosign::verify(&verification.key, &payload, &layer.signature, digest.as_str()) {
            Ok(()) => return Ok(()),
            Err(error) => reasons.push(error.to_string()),
        }
    }
    Err(format!("no valid signature: {}", reasons.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_and_cosign_tags_are_told_apart() {
        let hex = "1ce8c0187c8fe6b4be327dc848b8baf062ce1baa5096b4f5d955893d126d5b58";
        assert!(is_fallback_tag(&format!("sha256-{hex}")));
        assert!(!is_fallback_tag(&format!("sha256-{hex}.sig")));
        assert!(is_attachment_tag(&format!("sha256-{hex}.sig")) && is_attachment_tag(&format!("sha256-{hex}.sbom")));
        assert!(!is_attachment_tag(&format!("sha256-{hex}.txt")));
        assert!(!is_fallback_tag("sha256-abc") && !is_attachment_tag("v1"));
    }
}
