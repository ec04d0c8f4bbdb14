//! The only module that speaks HTTP: to registries (manifests byte for byte, streamed blobs, mounts, auth, retries)
//! and, through `document`, to the servers beside them (update graphs, release signatures).

mod challenge;
mod client;
mod document;
mod error;
pub(crate) mod retry;

pub(crate) use client::{ClientOptions, Deleted, ManifestHead, MountOutcome, RegistryClient, Repo, RetryObserver};
pub(crate) use document::{DocumentClient, DocumentError};
pub(crate) use error::RegistryError;
pub(crate) use retry::RetryPolicy;
