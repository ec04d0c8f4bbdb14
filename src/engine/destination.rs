//! Where the engine writes: a registry (mirror-to-mirror, disk-to-mirror), or an archive (mirror-to-disk).
//! Every destination answers the same questions: is this blob there, can it be mounted, store it, is this
//! manifest there, store it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::Stream;

use super::EngineError;
use crate::image::manifest::RawManifest;
use crate::image::Digest;
use crate::registry::{MountOutcome, RegistryClient, Repo};
use crate::store::archive::{ArchiveWriter, History};
use crate::store::LayoutWriter;
use crate::sync::Locked;

/// A registry and the client that writes to it.
pub(crate) struct RegistryDestination {
    pub client: Arc<RegistryClient>,
    /// `host[:port]`.
    pub registry: String,
}

/// An archive being written (mirror-to-disk), with the history of what earlier archives shipped.
pub(crate) struct ArchiveDestination {
    pub writer: Arc<ArchiveWriter>,
    history: History,
    /// `--since`: only runs before this date count as shipped.
    since: Option<String>,
    /// Blobs left out because an earlier run shipped them → that run.
    depends_on: Mutex<BTreeMap<Digest, String>>,
}

impl ArchiveDestination {
    /// Blobs this archive relies on from earlier runs, and the run that carried each.
    pub(crate) fn dependencies(&self) -> BTreeMap<Digest, String> {
        self.depends_on.locked().clone()
    }

    fn has(&self, digest: &Digest) -> bool {
        if self.writer.has_blob(digest) {
            return true;
        }
        match self.history.shipped_by(digest, self.since.as_deref()) {
            Some(run) => {
                let mut depends_on = self.depends_on.locked();
                depends_on.insert(digest.clone(), run.to_string());
                true
            }
            None => false,
        }
    }
}

pub(crate) enum Destination {
    Registry(RegistryDestination),
    Archive(ArchiveDestination),
    /// An OCI image layout; images are named `<repository>:<tag>` in its index.json.
    Layout(Arc<LayoutWriter>),
}

impl Destination {
    pub(crate) fn registry(client: Arc<RegistryClient>, registry: &str) -> Destination {
        Destination::Registry(RegistryDestination {
            client,
            registry: registry.to_string(),
        })
    }

    pub(crate) fn archive(writer: Arc<ArchiveWriter>, history: History, since: Option<String>) -> Destination {
        Destination::Archive(ArchiveDestination {
            writer,
            history,
            since,
            depends_on: Mutex::default(),
        })
    }

    /// For messages: `docker://host` or `the archive`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Destination::Registry(r) => format!("docker://{}", r.registry),
            Destination::Archive(_) => "the archive".to_string(),
            Destination::Layout(layout) => format!("oci://{}", layout.root().display()),
        }
    }

    pub(crate) async fn blob_exists(&self, repository: &str, digest: &Digest) -> Result<bool, EngineError> {
        match self {
            Destination::Registry(r) => Ok(r.client.blob_exists(r.repo(repository), digest).await?),
            Destination::Archive(a) => Ok(a.has(digest)),
            Destination::Layout(layout) => Ok(layout.has_blob(digest)),
        }
    }

    /// Makes a blob that `from` holds available in `repository` without copying it.
    pub(crate) async fn mount_blob(
        &self,
        repository: &str,
        digest: &Digest,
        from: &str,
    ) -> Result<MountOutcome, EngineError> {
        match self {
            Destination::Registry(r) => Ok(r.client.mount_blob(r.repo(repository), digest, from).await?),
            // Archives hold each blob once for every repository.
            Destination::Archive(a) if a.has(digest) => Ok(MountOutcome::Mounted),
            Destination::Archive(_) => Ok(MountOutcome::Declined),
            Destination::Layout(layout) if layout.has_blob(digest) => Ok(MountOutcome::Mounted),
            Destination::Layout(_) => Ok(MountOutcome::Declined),
        }
    }

    pub(crate) async fn upload_blob<S>(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        body: S,
    ) -> Result<(), EngineError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        match self {
            Destination::Registry(r) => Ok(r.client.upload_blob(r.repo(repository), digest, size, body).await?),
            Destination::Archive(a) => Ok(a.writer.write_blob(digest, size, Box::pin(body)).await?),
            Destination::Layout(layout) => Ok(layout.write_blob(digest, size, body).await?),
        }
    }

    /// True when the repository certainly holds nothing yet (a registry repository without tags), so existence
    /// checks of its blobs and manifests can be skipped. Other destinations answer false and are asked per blob.
    pub(crate) async fn repository_is_empty(&self, repository: &str) -> Result<bool, EngineError> {
        match self {
            Destination::Registry(r) => Ok(!r.client.repository_has_tags(r.repo(repository)).await?),
            Destination::Archive(_) | Destination::Layout(_) => Ok(false),
        }
    }

    /// The digest the destination serves for a tag or digest, if any.
    pub(crate) async fn manifest_digest(
        &self,
        repository: &str,
        selector: &str,
    ) -> Result<Option<Digest>, EngineError> {
        match self {
            Destination::Registry(r) => Ok(r.client.manifest_digest(r.repo(repository), selector).await?),
            // Every archive carries all manifests, so none is ever "already there".
            Destination::Archive(_) => Ok(None),
            Destination::Layout(layout) => match selector.parse::<Digest>() {
                Ok(digest) => Ok(layout.has_blob(&digest).then_some(digest)),
                Err(_) => Ok(layout.tagged(&layout_name(repository, selector))?),
            },
        }
    }

    pub(crate) async fn put_manifest(
        &self,
        repository: &str,
        selector: &str,
        manifest: &RawManifest,
    ) -> Result<(), EngineError> {
        match self {
            Destination::Registry(r) => Ok(r.client.put_manifest(r.repo(repository), selector, manifest).await?),
            Destination::Archive(a) => Ok(a.writer.write_bytes(&manifest.digest, manifest.bytes.clone()).await?),
            Destination::Layout(layout) => {
                layout.write_bytes(&manifest.digest, manifest.bytes.clone()).await?;
                if selector.parse::<Digest>().is_err() {
                    let (layout, name, manifest) =
                        (layout.clone(), layout_name(repository, selector), manifest.clone());
                    tokio::task::spawn_blocking(move || layout.tag(&name, &manifest))
                        .await
                        .map_err(|_| EngineError::Cancelled)??;
                }
                Ok(())
            }
        }
    }
}

/// The `org.opencontainers.image.ref.name` of an image in a layout destination.
pub(crate) fn layout_name(repository: &str, tag: &str) -> String {
    format!("{repository}:{tag}")
}

impl RegistryDestination {
    fn repo<'a>(&'a self, repository: &'a str) -> Repo<'a> {
        Repo {
            registry: &self.registry,
            path: repository,
        }
    }
}
