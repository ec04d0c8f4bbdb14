//! Where the engine writes: a registry (mirror-to-mirror, disk-to-mirror), or an archive (mirror-to-disk).
//! Every destination answers the same questions: is this blob there, can it be mounted, store it, is this
//! manifest there, store it.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;

use super::EngineError;
use crate::image::manifest::RawManifest;
use crate::image::Digest;
use crate::registry::{MountOutcome, RegistryClient, Repo};

/// A registry and the client that writes to it.
pub struct RegistryDestination {
    pub client: Arc<RegistryClient>,
    /// `host[:port]`.
    pub registry: String,
}

pub enum Destination {
    Registry(RegistryDestination),
}

impl Destination {
    pub fn registry(client: Arc<RegistryClient>, registry: &str) -> Destination {
        Destination::Registry(RegistryDestination {
            client,
            registry: registry.to_string(),
        })
    }

    /// For messages: `docker://host` or the archive directory.
    pub fn describe(&self) -> String {
        match self {
            Destination::Registry(r) => format!("docker://{}", r.registry),
        }
    }

    pub async fn blob_exists(&self, repository: &str, digest: &Digest) -> Result<bool, EngineError> {
        match self {
            Destination::Registry(r) => Ok(r.client.blob_exists(r.repo(repository), digest).await?),
        }
    }

    /// Makes a blob that `from` holds available in `repository` without copying it.
    pub async fn mount_blob(&self, repository: &str, digest: &Digest, from: &str) -> Result<MountOutcome, EngineError> {
        match self {
            Destination::Registry(r) => Ok(r.client.mount_blob(r.repo(repository), digest, from).await?),
        }
    }

    pub async fn upload_blob<S>(&self, repository: &str, digest: &Digest, size: u64, body: S) -> Result<(), EngineError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        match self {
            Destination::Registry(r) => Ok(r.client.upload_blob(r.repo(repository), digest, size, body).await?),
        }
    }

    /// The digest the destination serves for a tag or digest, if any.
    pub async fn manifest_digest(&self, repository: &str, selector: &str) -> Result<Option<Digest>, EngineError> {
        match self {
            Destination::Registry(r) => Ok(r.client.manifest_digest(r.repo(repository), selector).await?),
        }
    }

    pub async fn put_manifest(
        &self,
        repository: &str,
        selector: &str,
        manifest: &RawManifest,
    ) -> Result<(), EngineError> {
        match self {
            Destination::Registry(r) => Ok(r.client.put_manifest(r.repo(repository), selector, manifest).await?),
        }
    }
}

impl RegistryDestination {
    fn repo<'a>(&'a self, repository: &'a str) -> Repo<'a> {
        Repo {
            registry: &self.registry,
            path: repository,
        }
    }
}
