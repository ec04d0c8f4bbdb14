//! Image content model: digests, media types, platforms, read-only views over raw manifests, and the recursive walk.

mod digest;
mod platform;

pub use digest::{Digest, DigestError, DigestHasher};
pub use platform::{Platform, PlatformError, PlatformFilter};
