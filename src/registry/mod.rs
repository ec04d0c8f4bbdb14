//! The only module that speaks HTTP to registries: manifests byte for byte, streamed blobs, mounts, auth, retries.

mod challenge;
mod client;
mod error;
pub mod retry;

pub use client::{BlobDownload, ClientOptions, MountOutcome, RegistryClient, Repo};
pub use error::RegistryError;
pub use retry::RetryPolicy;
