//! The images a (filtered) catalog needs: every bundle image and related image of its bundles, each once.
//!
//! A bundle with an image reference that cannot be parsed (or has neither tag nor digest, so cannot be pinned) is
//! skipped as a whole, with its reason, rather than failing the catalog; images matching a blocked pattern are left
//! out and reported.

use std::collections::HashMap;
use std::str::FromStr;

use regex::Regex;

use super::model::DeclarativeConfig;
use crate::reference::{ImageReference, ReferenceError};

/// One image to mirror for a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RelatedImage {
    pub reference: ImageReference,
    /// Package and bundle of the first bundle (in package, bundle name order) that needs the image.
    pub package: String,
    pub bundle: String,
    /// The `relatedImages` name (`operator`, `descheduler-operand`); empty for bundle images.
    pub name: String,
    /// Whether some bundle has this image as its bundle image (`image`), rather than only as a related image.
    pub is_bundle_image: bool,
}

/// A bundle whose images are not mirrored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SkippedBundle {
    pub package: String,
    pub bundle: String,
    pub reason: String,
}

/// An image left out because a blocked-image pattern matches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlockedRelatedImage {
    /// The reference as the catalog writes it.
    pub image: String,
    pub package: String,
    pub bundle: String,
    /// The pattern that matched.
    pub pattern: String,
}

/// What [`related_images`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RelatedImages {
    /// Deduplicated by reference, in package, bundle, declaration order.
    pub images: Vec<RelatedImage>,
    pub skipped_bundles: Vec<SkippedBundle>,
    pub blocked: Vec<BlockedRelatedImage>,
    /// Oddities that did not skip anything (related images with an empty `image`, which opm tolerates).
    pub warnings: Vec<String>,
}

/// Collects the images of every bundle of `catalog` (normally the output of [`filter`](super::filter)).
/// `blocked` patterns are searched (not anchored) in the reference as written and in its normalised form.
pub(crate) fn related_images(catalog: &DeclarativeConfig, blocked: &[Regex]) -> RelatedImages {
    let mut out = RelatedImages::default();
    let mut seen: HashMap<ImageReference, usize> = HashMap::new();
    let mut bundles: Vec<_> = catalog.bundles.iter().collect();
    bundles.sort_by(|a, b| a.package.cmp(&b.package).then_with(|| a.name.cmp(&b.name)));
    'bundles: for bundle in bundles {
        let mut candidates: Vec<(&str, &str, bool)> = Vec::new();
        if !bundle.image.trim().is_empty() {
            candidates.push(("", bundle.image.as_str(), true));
        }
        for related in &bundle.related_images {
            if related.image.trim().is_empty() {
                out.warnings.push(format!(
                    "bundle `{}` ({}): related image `{}` has no image reference; ignored",
                    bundle.name, bundle.package, related.name
                ));
                continue;
            }
            candidates.push((
                related.name.as_str(),
                related.image.as_str(),
                related.image == bundle.image,
            ));
        }
        let mut parsed = Vec::with_capacity(candidates.len());
        for (name, image, is_bundle) in candidates {
            match parse_pinnable(image) {
                Ok(reference) => parsed.push((name, image, is_bundle, reference)),
                Err(reason) => {
                    let what = if is_bundle && name.is_empty() {
                        "bundle image".to_string()
                    } else {
                        format!("related image `{name}`")
                    };
                    out.skipped_bundles.push(SkippedBundle {
                        package: bundle.package.clone(),
                        bundle: bundle.name.clone(),
                        reason: format!("{what} `{image}`: {reason}"),
                    });
                    continue 'bundles;
                }
            }
        }
        for (name, image, is_bundle, reference) in parsed {
            let normalised = reference.to_string();
            let text = image.strip_prefix("docker://").unwrap_or(image);
            if let Some(pattern) = blocked.iter().find(|p| p.is_match(text) || p.is_match(&normalised)) {
                let already = out
                    .blocked
                    .iter()
                    .any(|b| b.image == image && b.bundle == bundle.name && b.package == bundle.package);
                if !already {
                    out.blocked.push(BlockedRelatedImage {
                        image: image.to_string(),
                        package: bundle.package.clone(),
                        bundle: bundle.name.clone(),
                        pattern: pattern.as_str().to_string(),
                    });
                }
                continue;
            }
            match seen.get(&reference) {
                Some(&i) => {
                    let existing = &mut out.images[i];
                    existing.is_bundle_image |= is_bundle;
                    if existing.name.is_empty() && !name.is_empty() && existing.bundle == bundle.name {
                        existing.name = name.to_string();
                    }
                }
                None => {
                    seen.insert(reference.clone(), out.images.len());
                    out.images.push(RelatedImage {
                        reference,
                        package: bundle.package.clone(),
                        bundle: bundle.name.clone(),
                        name: name.to_string(),
                        is_bundle_image: is_bundle,
                    });
                }
            }
        }
    }
    out
}

/// Why an image a bundle names cannot be mirrored.
#[derive(Debug, thiserror::Error)]
enum PinError {
    #[error("only registry references can be mirrored from a catalog")]
    NotInRegistry,
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("it has neither a tag nor a digest")]
    Unpinned,
}

/// A reference that can be mirrored: parsable, in a registry, with a tag or a digest.
fn parse_pinnable(image: &str) -> Result<ImageReference, PinError> {
    if image.contains("://") && !image.starts_with("docker://") {
        return Err(PinError::NotInRegistry);
    }
    let reference = ImageReference::from_str(image)?;
    if reference.tag.is_none() && reference.digest.is_none() {
        return Err(PinError::Unpinned);
    }
    Ok(reference)
}
