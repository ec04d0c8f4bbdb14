//! The mirror plan: what to copy, from where, to where, for which platforms, and why (which config group).

use std::fmt;
use std::path::PathBuf;

use crate::image::{Digest, PlatformFilter};
use crate::reference::ImageReference;

/// Which part of the ImageSetConfiguration asked for an image; failures are reported per group in the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ImageOrigin {
    Release,
    Operator,
    Additional,
    Helm,
}

impl ImageOrigin {
    /// The bit this group sets in the exit code when one of its images fails.
    pub(crate) fn exit_bit(self) -> i32 {
        match self {
            ImageOrigin::Release => 2,
            ImageOrigin::Operator => 4,
            ImageOrigin::Additional => 8,
            ImageOrigin::Helm => 16,
        }
    }

    /// The group's name in archives and reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ImageOrigin::Release => "release",
            ImageOrigin::Operator => "operator",
            ImageOrigin::Additional => "additional",
            ImageOrigin::Helm => "helm",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<ImageOrigin> {
        [
            ImageOrigin::Release,
            ImageOrigin::Operator,
            ImageOrigin::Additional,
            ImageOrigin::Helm,
        ]
        .into_iter()
        .find(|origin| origin.name() == name)
    }

    /// The category name used in cluster resource names (`idms-generic-0`).
    pub(crate) fn category(self) -> &'static str {
        match self {
            ImageOrigin::Release => "release",
            ImageOrigin::Operator => "operator",
            ImageOrigin::Additional | ImageOrigin::Helm => "generic",
        }
    }
}

/// Where an image is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ImageSource {
    Registry(ImageReference),
    /// An image in an OCI image layout directory, selected by its `org.opencontainers.image.ref.name`
    /// (or the only image when the layout holds one).
    Layout {
        path: PathBuf,
        reference: Option<String>,
    },
    /// An image carried by a ferry archive (disk-to-mirror): its root manifest digest and where it came from.
    Archive {
        digest: Digest,
        original: String,
    },
    /// An image ferry built in this run (a rebuilt catalog), by root digest, and what it was built from.
    Built {
        digest: Digest,
        original: String,
    },
}

impl ImageSource {
    /// True when the user pinned the image by digest: that digest must stay pullable at the destination.
    pub(crate) fn is_pinned(&self) -> bool {
        match self {
            ImageSource::Registry(r) => r.digest.is_some(),
            ImageSource::Archive { original, .. } => original.contains('@'),
            ImageSource::Built { .. } => false,
            ImageSource::Layout { .. } => false,
        }
    }
}

impl ImageSource {
    /// The name the configuration gives the image: a rebuilt catalog is named after the catalog it was built from.
    pub(crate) fn configured_name(&self) -> String {
        match self {
            ImageSource::Built { original, .. } | ImageSource::Archive { original, .. } => original.clone(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for ImageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageSource::Registry(r) => write!(f, "docker://{r}"),
            ImageSource::Layout {
                path,
                reference: Some(r),
            } => write!(f, "oci://{}:{r}", path.display()),
            ImageSource::Layout { path, reference: None } => write!(f, "oci://{}", path.display()),
            ImageSource::Archive { original, .. } => f.write_str(original),
            ImageSource::Built { original, .. } => write!(f, "{original} (built)"),
        }
    }
}

/// Where an image goes: a repository and tag in the destination registry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ImageDestination {
    pub registry: String,
    pub repository: String,
    pub tag: String,
}

impl fmt::Display for ImageDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "docker://{}/{}:{}", self.registry, self.repository, self.tag)
    }
}

/// One image to mirror.
#[derive(Debug, Clone)]
pub(crate) struct MirrorJob {
    pub source: ImageSource,
    pub destination: ImageDestination,
    pub platforms: PlatformFilter,
    pub origin: ImageOrigin,
}

/// Everything a run will copy.
#[derive(Debug, Clone, Default)]
pub(crate) struct MirrorPlan {
    pub jobs: Vec<MirrorJob>,
}
