//! Image content model: digests, media types, platforms, read-only views over raw manifests, and the recursive walk.

mod digest;
mod platform;

pub(crate) use digest::{Digest, DigestHasher};
pub(crate) use platform::{Platform, PlatformError, PlatformFilter};
pub(crate) mod build;
pub(crate) mod manifest;
pub(crate) mod media_type;
pub(crate) mod walk;
