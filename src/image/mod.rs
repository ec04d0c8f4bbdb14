//! Image content model: digests, media types, platforms, read-only views over raw manifests, and the recursive walk.

mod digest;
mod platform;

pub use digest::{Digest, DigestError, DigestHasher};
pub use platform::{Platform, PlatformError, PlatformFilter};
pub mod manifest;
pub mod media_type;
pub mod walk;

pub use manifest::{Descriptor, ManifestView, RawManifest};
pub use media_type::ManifestKind;
