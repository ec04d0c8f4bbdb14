//! `mirror.platform`: the releases the channels select (or the one `release` names), each payload's
//! `release-manifests/` read in place, and one job per payload and per component image, pushed by digest under
//! oc-mirror v2's names: `openshift/release-images:<version>-<arch>` and `openshift/release:<version>-<arch>-<name>`.

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::CollectContext;
use crate::config::ImageSetConfiguration;
use crate::events::{Collected, Event, Reporter};
use crate::image::manifest::RawManifest;
use crate::image::PlatformFilter;
use crate::plan::{ImageDestination, ImageOrigin, ImageSource, MirrorJob};
use crate::reference::ImageReference;
use crate::registry::DocumentClient;
use crate::release::channels::{self, ChannelRelease, FcosStream};
use crate::release::graph::payload_arch;
use crate::release::payload::{bootimages_arch, kubevirt_image, kubevirt_images};
use crate::release::signature_store::SignatureStore;
use crate::release::{read_manifests, ReleaseError, ReleaseManifests};
use crate::resources::release::FcosGraphRecord;
use crate::source::layers::LayerStats;
use crate::source::{SourceReader, Sources};

/// The repository payloads go to, under the destination namespace.
pub(crate) const RELEASE_IMAGES_REPO: &str = "openshift/release-images";
/// The repository component images go to.
pub(crate) const COMPONENTS_REPO: &str = "openshift/release";

/// A release that will be mirrored (archives record it for `describe` and disk-to-mirror's resources).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct PlannedRelease {
    pub version: String,
    /// The payload as the update graph (or `release`) names it, by digest.
    pub payload: String,
    /// The payload's architecture as its tag writes it (`x86_64`, `multi`...).
    pub arch: String,
    pub components: usize,
    /// Where the payload goes.
    pub destination: ImageDestination,
    /// The payload's digest.
    pub digest: String,
    /// Its verified signature (base64), for the cluster's signature ConfigMap.
    #[serde(default)]
    pub signature: Option<String>,
    /// What reading its `release-manifests/` fetched.
    #[serde(skip)]
    pub manifests_read: LayerStats,
}

/// What the release collector planned, and what it could not.
#[derive(Debug, Default)]
pub(crate) struct CollectedReleases {
    pub jobs: Vec<MirrorJob>,
    pub releases: Vec<PlannedRelease>,
    pub failures: Vec<ReleaseFailure>,
    /// Fedora CoreOS-style graphs and where their planned releases go.
    pub fcos_graphs: Vec<FcosGraphRecord>,
}

/// A release (or channel) that cannot be mirrored, and why.
#[derive(Debug)]
pub(crate) struct ReleaseFailure {
    pub subject: String,
    pub error: ReleaseError,
}

/// Resolves the channels and plans every selected release.
pub(crate) async fn collect(
    config: &ImageSetConfiguration,
    context: &CollectContext,
    sources: &Sources,
    documents: &DocumentClient,
    signatures: &SignaturePolicy,
    reporter: &Arc<dyn Reporter>,
) -> CollectedReleases {
    let platform = &config.spec.mirror.platform;
    let mut collected = CollectedReleases::default();
    let Some(filter) = PlatformFilter::of(platform.platforms.clone()).intersect(&context.cli_platforms) else {
        reporter.event(Event::Warning(
            "mirror.platform: its platforms and --platform have none in common: no release is mirrored".into(),
        ));
        return collected;
    };
    let mut wanted = selected_releases(config, documents, reporter, &mut collected).await;
    wanted.sort_by(|a, b| a.payload.cmp(&b.payload).then(a.arch.cmp(&b.arch)));
    wanted.dedup_by(|a, b| a.payload == b.payload);
    let mut planned_digests = BTreeSet::new();
    for release in wanted {
        if !planned_digests.insert(release.payload.clone()) {
            continue;
        }
        if let Some(stream) = &release.fcos {
            plan_fcos(&release, stream, &filter, context, &mut collected);
            continue;
        }
        let planner = Planner {
            kube_virt: platform.kube_virt_container,
            filter: &filter,
            context,
            sources,
            signatures,
            reporter,
        };
        plan_one(&planner, &release, &mut collected).await;
    }
    if collected.releases.iter().any(|r| r.signature.is_none()) && !signatures.ignore {
        reporter.event(Event::Warning(
            "OKD releases are not signed: they are mirrored without a signature".into(),
        ));
    }
    collected
}

/// Plans one release into `collected`: its jobs, or the failure that keeps it out.
async fn plan_one(planner: &Planner<'_>, release: &ChannelRelease, collected: &mut CollectedReleases) {
    match planner.plan(release).await {
        Ok((planned, jobs)) => {
            planner.reporter.event(Event::Collected(Collected::ReleasePlanned {
                version: planned.version.clone(),
                arch: planned.arch.clone(),
                payload: planned.payload.clone(),
                components: planned.components,
                layers: planned.manifests_read.layers_fetched,
                bytes: planned.manifests_read.bytes_fetched,
            }));
            collected.jobs.extend(jobs);
            collected.releases.push(planned);
        }
        Err(error) => collected.failures.push(ReleaseFailure {
            subject: format!("release {} ({})", release.version, release.payload),
            error,
        }),
    }
}

/// The releases of every channel, and the one `release` names.
async fn selected_releases(
    config: &ImageSetConfiguration,
    documents: &DocumentClient,
    reporter: &Arc<dyn Reporter>,
    collected: &mut CollectedReleases,
) -> Vec<ChannelRelease> {
    let platform = &config.spec.mirror.platform;
    let mut releases = Vec::new();
    if !platform.channels.is_empty() {
        let on_retry = |attempt: u32, error: &str| {
            reporter.event(Event::Retrying {
                what: "update graph".into(),
                attempt,
                error: error.to_string(),
            })
        };
        match channels::resolve(platform, documents, &on_retry).await {
            Ok(resolution) => {
                for message in resolution.accepted_risks.iter().chain(&resolution.warnings) {
                    reporter.event(Event::Warning(message.clone()));
                }
                collected.fcos_graphs = resolution
                    .fcos_graphs
                    .into_iter()
                    .map(|fcos| FcosGraphRecord {
                        stream: fcos.stream,
                        graph: fcos.graph.to_json(),
                        mirrored: Default::default(),
                    })
                    .collect();
                releases.extend(resolution.releases);
            }
            Err(error) => collected.failures.push(ReleaseFailure {
                subject: "mirror.platform.channels".into(),
                error,
            }),
        }
    }
    if let Some(image) = &platform.release {
        let arch = channels::architectures(platform).into_iter().next().unwrap_or_default();
        releases.push(ChannelRelease {
            version: String::new(),
            payload: image.clone(),
            arch,
            channel: "release".into(),
            fcos: None,
            unsigned: false,
        });
    }
    releases
}

/// A Fedora CoreOS-style release: its OCI image, by digest, keeping its repository path, tagged
/// `<version>-<basearch>`.
fn plan_fcos(
    release: &ChannelRelease,
    stream: &FcosStream,
    filter: &PlatformFilter,
    context: &CollectContext,
    collected: &mut CollectedReleases,
) {
    let reference = match release.payload.parse::<ImageReference>() {
        Ok(reference) => reference,
        Err(source) => {
            collected.failures.push(ReleaseFailure {
                subject: format!("{} {} ({})", stream.stream, release.version, release.payload),
                error: ReleaseError::BadReference {
                    image: release.payload.clone(),
                    source: Box::new(source),
                },
            });
            return;
        }
    };
    let tag = format!("{}-{}", release.version, stream.basearch);
    let job = job(
        ImageSource::Registry(reference.clone()),
        &reference.repository,
        &tag,
        filter,
        context,
    );
    if let Some(record) = collected.fcos_graphs.iter_mut().find(|g| &g.stream == stream) {
        record.mirrored.insert(release.payload.clone(), job.destination.clone());
    }
    collected.jobs.push(job);
}

/// Reads one payload and plans it with its components.
/// How release signatures are checked: the store (none when `--ignore-release-signature` left it out) and whether a
/// release without a valid signature is mirrored anyway.
pub(crate) struct SignaturePolicy {
    pub store: Option<SignatureStore>,
    pub ignore: bool,
}

/// What planning one release needs.
struct Planner<'a> {
    kube_virt: bool,
    filter: &'a PlatformFilter,
    context: &'a CollectContext,
    sources: &'a Sources,
    signatures: &'a SignaturePolicy,
    reporter: &'a Arc<dyn Reporter>,
}

impl Planner<'_> {
    /// Reads one payload, checks its signature and plans it with its components.
    async fn plan(&self, release: &ChannelRelease) -> Result<(PlannedRelease, Vec<MirrorJob>), ReleaseError> {
        let (filter, context) = (self.filter, self.context);
        plan_release(release, self, filter, context).await
    }

    /// The release's verified signature (base64), none for unsigned (OKD) releases or when ignored.
    async fn signature(&self, release: &ChannelRelease, digest: &str) -> Result<Option<String>, ReleaseError> {
        let Some(store) = (!release.unsigned).then_some(()).and(self.signatures.store.as_ref()) else {
            return Ok(None);
        };
        let on_retry = |attempt: u32, error: &str| {
            self.reporter.event(Event::Retrying {
                what: format!("signature of {}", release.payload),
                attempt,
                error: error.to_string(),
            })
        };
        match store.verified(&release.payload, digest, &on_retry).await {
            Ok(verified) => {
                self.reporter.event(Event::Collected(Collected::SignatureVerified {
                    payload: release.payload.clone(),
                    signer: verified.signer,
                }));
                Ok(Some(BASE64.encode(verified.bytes)))
            }
            Err(error) if self.signatures.ignore => {
                self.reporter.event(Event::Warning(format!(
                    "{error}\n  mirrored anyway (--ignore-release-signature): no signature is written for it"
                )));
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }
}

async fn plan_release(
    release: &ChannelRelease,
    planner: &Planner<'_>,
    filter: &PlatformFilter,
    context: &CollectContext,
) -> Result<(PlannedRelease, Vec<MirrorJob>), ReleaseError> {
    let image = &release.payload;
    let (reader, root, reference) = open_payload(image, planner.sources).await?;
    let digest = root.digest.clone();
    let signature = planner.signature(release, digest.as_str()).await?;
    let manifests = read_manifests(&reader, root, image).await?;
    let version = release_version(release, &manifests);
    let arch = payload_arch(&release.arch).to_string();
    let pinned = ImageReference {
        digest: Some(digest.clone()),
        ..reference
    };
    let tag = format!("{version}-{arch}");
    let mut jobs = vec![job(
        ImageSource::Registry(pinned),
        RELEASE_IMAGES_REPO,
        &tag,
        filter,
        context,
    )];
    jobs.extend(component_jobs(&manifests, &tag, filter, context, image)?);
    if planner.kube_virt {
        jobs.extend(kube_virt_jobs(
            &manifests,
            &release.arch,
            &version,
            filter,
            context,
            image,
        )?);
    }
    let planned = PlannedRelease {
        version,
        payload: image.clone(),
        arch,
        components: manifests.references.components.len(),
        destination: jobs[0].destination.clone(),
        digest: digest.to_string(),
        signature,
        manifests_read: manifests.stats,
    };
    Ok((planned, jobs))
}

/// The payload's reference, opened: its reader and root manifest.
async fn open_payload(
    image: &str,
    sources: &Sources,
) -> Result<(SourceReader, RawManifest, ImageReference), ReleaseError> {
    let reference: ImageReference = image.parse().map_err(|source| ReleaseError::BadReference {
        image: image.to_string(),
        source: Box::new(source),
    })?;
    let (reader, root) = SourceReader::open(&ImageSource::Registry(reference.clone()), sources)
        .await
        .map_err(|source| ReleaseError::Source {
            image: image.to_string(),
            source: Box::new(source),
        })?;
    Ok((reader, root, reference))
}

/// One job per component, tagged `<release tag>-<name>`; a component whose reference does not parse fails the
/// release (mirroring the rest would leave a payload that cannot install).
fn component_jobs(
    manifests: &ReleaseManifests,
    release_tag: &str,
    filter: &PlatformFilter,
    context: &CollectContext,
    image: &str,
) -> Result<Vec<MirrorJob>, ReleaseError> {
    manifests
        .references
        .components
        .iter()
        .map(|component| {
            let reference = component
                .image
                .parse::<ImageReference>()
                .map_err(|source| ReleaseError::BadReference {
                    image: format!("{image}: component {} ({})", component.name, component.image),
                    source: Box::new(source),
                })?;
            let tag = format!("{release_tag}-{}", component.name);
            Ok(job(
                ImageSource::Registry(reference),
                COMPONENTS_REPO,
                &tag,
                filter,
                context,
            ))
        })
        .collect()
}

/// The release's version: the graph's, else the payload's own metadata, else its ImageStream's name.
fn release_version(release: &ChannelRelease, manifests: &ReleaseManifests) -> String {
    if !release.version.is_empty() {
        return release.version.clone();
    }
    manifests
        .metadata
        .as_ref()
        .map(|m| m.version.clone())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| manifests.references.name.clone())
}

/// The KubeVirt container disk the payload's boot images name for its architecture (for `multi`, for each
/// architecture the platform filter keeps), tagged `<version>-<arch>-kube-virt-container`.
fn kube_virt_jobs(
    manifests: &ReleaseManifests,
    arch: &str,
    version: &str,
    filter: &PlatformFilter,
    context: &CollectContext,
    image: &str,
) -> Result<Vec<MirrorJob>, ReleaseError> {
    let Some(bootimages) = &manifests.bootimages else {
        return Ok(Vec::new());
    };
    let payload_error = |source| ReleaseError::Payload {
        image: image.to_string(),
        source: Box::new(source),
    };
    let found: Vec<(String, String)> = if arch == "multi" {
        let kept = |stream_arch: &str| {
            filter.is_all()
                || filter
                    .platforms()
                    .iter()
                    .any(|p| bootimages_arch(&p.architecture) == stream_arch)
        };
        kubevirt_images(bootimages)
            .map_err(payload_error)?
            .into_iter()
            .filter(|(stream_arch, _)| kept(stream_arch))
            .collect()
    } else {
        let found = kubevirt_image(bootimages, arch).map_err(payload_error)?;
        found
            .map(|image| (bootimages_arch(arch).to_string(), image))
            .into_iter()
            .collect()
    };
    let mut jobs = Vec::new();
    for (stream_arch, reference) in found {
        let Ok(reference) = reference.parse::<ImageReference>() else {
            continue;
        };
        let tag = format!("{version}-{}-kube-virt-container", payload_arch(&stream_arch));
        jobs.push(job(
            ImageSource::Registry(reference),
            COMPONENTS_REPO,
            &tag,
            filter,
            context,
        ));
    }
    Ok(jobs)
}

fn job(
    source: ImageSource,
    repository: &str,
    tag: &str,
    filter: &PlatformFilter,
    context: &CollectContext,
) -> MirrorJob {
    MirrorJob {
        source,
        destination: ImageDestination {
            registry: context.registry.clone(),
            repository: context.destination_repository(repository),
            tag: tag.to_string(),
        },
        platforms: filter.clone(),
        origin: ImageOrigin::Release,
    }
}
