//! The only module that speaks HTTP to registries: manifests byte for byte, streamed blobs, mounts, auth, retries.

mod challenge;
mod client;
mod error;
pub(crate) mod retry;

pub(crate) use client::{ClientOptions, MountOutcome, RegistryClient, Repo};
pub(crate) use error::RegistryError;
pub(crate) use retry::RetryPolicy;
