//! Reading an image from where it lives: a registry (through its configured mirrors), an OCI layout, an archive, or
//! an image built in this run. The copy engine and the collectors both read through here.

pub(crate) mod layers;
pub(crate) mod spool;

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;

use crate::auth::CredentialStore;
use crate::image::manifest::ManifestError;
use crate::image::manifest::{Descriptor, RawManifest};
use crate::image::walk::{ManifestSource, WalkError};
use crate::image::Digest;
use crate::plan::ImageSource;
use crate::reference::ImageReference;
use crate::registries_conf::{PullSource, RegistriesConf};
use crate::registry::{ClientOptions, RegistryClient, RegistryError, Repo};
use crate::store::archive::{ArchiveError, ArchiveReader};
use crate::store::{LayoutError, OciLayout};
use spool::BlobSpool;

/// A boxed future, for the recursion of built images over their originals.
type BoxFuture<'a, T> = Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

pub(crate) type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// Why an image or one of its parts could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SourceError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Walk(#[from] WalkError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("{image} is blocked by the registries configuration and has no mirror")]
    Blocked { image: String },
    #[error("an image refers to an archive but no archive was opened")]
    NoArchive,
    #[error("image {0} was to be built in this run but is not among the built images (an internal error)")]
    UnknownBuiltImage(Digest),
    #[error("{0} is not part of the image ferry built (an internal error)")]
    NotInBuiltImage(Digest),
    #[error("blob {digest} is neither in the archive nor at the destination{}", carried_note(.carried_by))]
    MissingFromArchive { digest: Digest, carried_by: Option<String> },
}

fn carried_note(carried_by: &Option<String>) -> String {
    match carried_by {
        Some(run) => format!(
            "\n  help: it was shipped by the earlier archive run {run}; push that archive first (ferry mirror --from) or \
             re-create a complete archive with --since"
        ),
        None => "\n  help: the archive is incomplete; re-create it with ferry mirror to file://".to_string(),
    }
}

/// Everything images can be read from in a run.
pub(crate) struct Sources {
    /// Credentials, for registries and the servers beside them (chart repositories).
    pub credentials: Arc<CredentialStore>,
    /// The client for source registries.
    pub registry: Arc<RegistryClient>,
    /// The client for registries that containers-registries.conf marks `insecure` (no certificate checks, plain
    /// HTTP allowed); the same as `registry` when TLS verification is off anyway.
    pub insecure_registry: Arc<RegistryClient>,
    /// Source mirrors from containers-registries.conf.
    pub mirrors: Arc<RegistriesConf>,
    /// The archives of a disk-to-mirror run.
    pub archive: Option<Arc<ArchiveReader>>,
    /// Images ferry built in this run (rebuilt catalogs), by root digest.
    pub built: HashMap<Digest, Arc<BuiltImage>>,
    /// Blobs this run already fetched from source registries, kept on disk to be read again from there.
    pub spool: Option<Arc<BlobSpool>>,
}

impl Sources {
    /// The client for a pull source: the one without certificate checks for registries registries.conf marks
    /// insecure.
    fn client_for(&self, candidate: &PullSource) -> &Arc<RegistryClient> {
        if candidate.insecure {
            &self.insecure_registry
        } else {
            &self.registry
        }
    }

    /// Registry clients for a run's sources: one that verifies TLS as asked, and one for registries that
    /// containers-registries.conf marks insecure.
    pub(crate) fn new(
        credentials: Arc<CredentialStore>,
        options: ClientOptions,
        mirrors: RegistriesConf,
    ) -> Result<Sources, RegistryError> {
        let registry = Arc::new(RegistryClient::new(options.clone(), credentials.clone())?);
        let insecure_registry = if options.tls_verify {
            Arc::new(RegistryClient::new(
                ClientOptions {
                    tls_verify: false,
                    ..options
                },
                credentials.clone(),
            )?)
        } else {
            registry.clone()
        };
        Ok(Sources {
            credentials,
            registry,
            insecure_registry,
            mirrors: Arc::new(mirrors),
            archive: None,
            built: HashMap::new(),
            spool: None,
        })
    }
}

/// Why the sources of a command could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupError {
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error(transparent)]
    RegistriesConf(#[from] crate::registries_conf::RegistriesConfError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl Sources {
    /// The sources every command sets up the same way: credentials from `authfile` (or the default auth files),
    /// source mirrors from `registries_conf` (or the default), clients with `options`. What registries.conf holds
    /// that ferry ignores is in `mirrors.warnings()`.
    pub(crate) fn from_files(
        authfile: Option<&std::path::Path>,
        registries_conf: Option<&std::path::Path>,
        options: ClientOptions,
    ) -> Result<Sources, SetupError> {
        let credentials = Arc::new(CredentialStore::discover(authfile)?);
        let mirrors = RegistriesConf::load(registries_conf)?;
        Ok(Sources::new(credentials, options, mirrors)?)
    }
}

/// An image ferry built: new manifests and blobs, over an original image that supplies everything else (none
/// when the image is self-contained, as a chart packaged as an OCI artifact).
#[derive(Debug)]
pub(crate) struct BuiltImage {
    /// Where the unchanged content (original layers) is read from.
    pub base: Option<ImageSource>,
    pub root: RawManifest,
    pub manifests: HashMap<Digest, RawManifest>,
    pub blobs: HashMap<Digest, Bytes>,
}

/// An opened image source: one repository (or layout) that serves the root manifest and everything below it.
pub(crate) enum SourceReader {
    Registry {
        client: Arc<RegistryClient>,
        reference: ImageReference,
        spool: Option<Arc<BlobSpool>>,
    },
    Layout(OciLayout),
    Archive(Arc<ArchiveReader>),
    /// A built image over the reader of its original.
    Built {
        base: Option<Box<SourceReader>>,
        image: Arc<BuiltImage>,
    },
}

impl SourceReader {
    /// Finds the root manifest, trying the configured source mirrors of a registry image in order.
    pub(crate) async fn open(
        source: &ImageSource,
        sources: &Sources,
    ) -> Result<(SourceReader, RawManifest), SourceError> {
        match source {
            ImageSource::Registry(reference) => open_registry(reference, sources).await,
            ImageSource::Layout { path, reference } => {
                let layout = OciLayout::open(path)?;
                let descriptor = layout.resolve(reference.as_deref())?;
                let root = layout
                    .read_manifest(&descriptor.digest, Some(&descriptor.media_type))
                    .await?;
                Ok((SourceReader::Layout(layout), root))
            }
            ImageSource::Built { digest, .. } => {
                let image = sources
                    .built
                    .get(digest)
                    .cloned()
                    .ok_or(SourceError::UnknownBuiltImage(digest.clone()))?;
                let base = match &image.base {
                    Some(base) => Some(Box::new(Box::pin(SourceReader::open(base, sources)).await?.0)),
                    None => None,
                };
                let root = image.root.clone();
                Ok((SourceReader::Built { base, image }, root))
            }
            ImageSource::Archive { digest, .. } => {
                let archive = sources.archive.clone().ok_or(SourceError::NoArchive)?;
                let root = RawManifest::new(archive.read_bytes(digest).await?, None)?;
                Ok((SourceReader::Archive(archive), root))
            }
        }
    }

    /// Opens a blob for streaming: its size when known and its chunks.
    pub(crate) fn open_blob<'a>(
        &'a self,
        descriptor: &'a Descriptor,
    ) -> BoxFuture<'a, Result<(Option<u64>, ByteStream), SourceError>> {
        Box::pin(async move {
            match self {
                SourceReader::Registry {
                    client,
                    reference,
                    spool,
                } => {
                    if let Some(spool) = spool {
                        if let Some((size, stream)) = spool.open(&descriptor.digest).await {
                            return Ok((Some(size), stream));
                        }
                    }
                    let repo = repo_of(reference);
                    let download = client.get_blob(repo, &descriptor.digest).await?;
                    Ok((download.size, download.into_stream()))
                }
                SourceReader::Layout(layout) => {
                    let (size, stream) = layout.open_blob(&descriptor.digest).await?;
                    let stream: ByteStream = Box::pin(stream);
                    Ok((Some(size), stream))
                }
                SourceReader::Archive(archive) => {
                    if !archive.contains(&descriptor.digest) {
                        return Err(missing_from_archive(archive, &descriptor.digest));
                    }
                    let (size, stream) = archive.open_blob(&descriptor.digest).await?;
                    let stream: ByteStream = Box::pin(stream);
                    Ok((Some(size), stream))
                }
                SourceReader::Built { base, image } => match image.blobs.get(&descriptor.digest) {
                    Some(bytes) => {
                        let bytes = bytes.clone();
                        let size = bytes.len() as u64;
                        let stream: ByteStream = Box::pin(futures_util::stream::once(async move { Ok(bytes) }));
                        Ok((Some(size), stream))
                    }
                    None => match base {
                        Some(base) => base.open_blob(descriptor).await,
                        None => Err(SourceError::NotInBuiltImage(descriptor.digest.clone())),
                    },
                },
            }
        })
    }

    /// Where blobs fetched from a source registry can be kept for the rest of the run, if anywhere.
    pub(crate) fn spool(&self) -> Option<&BlobSpool> {
        match self {
            SourceReader::Registry { spool, .. } => spool.as_deref(),
            SourceReader::Layout(_) | SourceReader::Archive(_) => None,
            SourceReader::Built { base, .. } => base.as_ref().and_then(|base| base.spool()),
        }
    }

    /// Whether the content comes from local media (an archive or a layout) rather than a registry. Spooled blobs
    /// count as registry content: they were verified when they were fetched.
    pub(crate) fn is_local(&self) -> bool {
        match self {
            SourceReader::Registry { .. } => false,
            SourceReader::Layout(_) | SourceReader::Archive(_) => true,
            SourceReader::Built { base, .. } => base.as_ref().is_none_or(|base| base.is_local()),
        }
    }
}

async fn open_registry(
    reference: &ImageReference,
    sources: &Sources,
) -> Result<(SourceReader, RawManifest), SourceError> {
    let candidates = sources.mirrors.pull_sources(reference);
    let mut first_error: Option<RegistryError> = None;
    for candidate in candidates {
        let client = sources.client_for(&candidate);
        match client
            .get_manifest(repo_of(&candidate.reference), &reference.manifest_selector())
            .await
        {
            Ok(root) => {
                return Ok((
                    SourceReader::Registry {
                        client: client.clone(),
                        reference: candidate.reference,
                        spool: sources.spool.clone(),
                    },
                    root,
                ));
            }
            Err(error) => {
                // The original's error is the most useful one; mirrors' errors only when nothing else exists.
                if !candidate.is_mirror || first_error.is_none() {
                    first_error = Some(error);
                }
            }
        }
    }
    Err(first_error
        .map(SourceError::from)
        .unwrap_or_else(|| SourceError::Blocked {
            image: reference.to_string(),
        }))
}

/// The digest a tag names now, from a HEAD request (through the configured mirrors in order): it does not transfer
/// the manifest, and Docker Hub does not count it as a pull. `None` when no source answers with a digest.
pub(crate) async fn head_digest(reference: &ImageReference, sources: &Sources) -> Option<Digest> {
    for candidate in sources.mirrors.pull_sources(reference) {
        let client = sources.client_for(&candidate);
        let repo = repo_of(&candidate.reference);
        if let Ok(Some(digest)) = client.manifest_digest(repo, &reference.manifest_selector()).await {
            return Some(digest);
        }
    }
    None
}

/// The registry repository an image reference names.
fn repo_of(reference: &ImageReference) -> Repo<'_> {
    Repo {
        registry: &reference.registry,
        path: &reference.repository,
    }
}

/// A blob the archive lacks: name the earlier archive run that carried it, when the archive says so.
fn missing_from_archive(archive: &ArchiveReader, digest: &Digest) -> SourceError {
    let carried_by = archive.metadata().iter().rev().find_map(|run| {
        let earlier = run.depends_on.get(digest)?;
        Some(match run.earlier_runs.get(earlier) {
            Some(segments) if !segments.is_empty() => format!("{earlier} ({})", segments.join(", ")),
            _ => earlier.clone(),
        })
    });
    SourceError::MissingFromArchive {
        digest: digest.clone(),
        carried_by,
    }
}

impl SourceReader {
    fn manifest_boxed<'a>(&'a self, entry: &'a Descriptor) -> BoxFuture<'a, Result<RawManifest, SourceError>> {
        Box::pin(async move {
            let digest = &entry.digest;
            match self {
                SourceReader::Registry { client, reference, .. } => {
                    let repo = repo_of(reference);
                    Ok(client.get_manifest(repo, digest.as_str()).await?)
                }
                SourceReader::Layout(layout) => Ok(layout.read_manifest(digest, Some(&entry.media_type)).await?),
                SourceReader::Archive(archive) => {
                    if !archive.contains(digest) {
                        return Err(missing_from_archive(archive, digest));
                    }
                    let declared = Some(entry.media_type.as_str()).filter(|m| !m.is_empty());
                    Ok(RawManifest::new(archive.read_bytes(digest).await?, declared)?)
                }
                SourceReader::Built { base, image } => match image.manifests.get(digest) {
                    Some(manifest) => Ok(manifest.clone()),
                    None => match base {
                        Some(base) => base.manifest_boxed(entry).await,
                        None => Err(SourceError::NotInBuiltImage(digest.clone())),
                    },
                },
            }
        })
    }
}

impl ManifestSource for SourceReader {
    type Error = SourceError;

    async fn fetch_manifest(&self, entry: &Descriptor) -> Result<RawManifest, SourceError> {
        self.manifest_boxed(entry).await
    }
}
