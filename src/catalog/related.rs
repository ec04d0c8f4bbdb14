//! The images a (filtered) catalog needs: every bundle image and related image of its bundles, each once.
//!
//! A bundle with an image reference that cannot be parsed (or has neither tag nor digest, so cannot be pinned) is
//! skipped as a whole, with its reason, rather than failing the catalog; images matching a blocked pattern are left
//! out and reported.

use std::collections::HashMap;
use std::str::FromStr;

use regex::Regex;

use super::model::{Bundle, DeclarativeConfig};
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
    for bundle in bundles {
        let candidates = candidates(bundle, &mut out.warnings);
        let Some(parsed) = parse_all(bundle, candidates, &mut out.skipped_bundles) else {
            continue;
        };
        for candidate in parsed {
            if !is_blocked(bundle, &candidate, blocked, &mut out.blocked) {
                keep(bundle, candidate, &mut seen, &mut out.images);
            }
        }
    }
    out
}

/// One image a bundle names: its related-image name (empty for the bundle image), the reference as written, and
/// whether it is the bundle image.
struct Candidate<'b> {
    name: &'b str,
    image: &'b str,
    is_bundle: bool,
}

/// A candidate whose reference parsed.
struct Parsed<'b> {
    candidate: Candidate<'b>,
    reference: ImageReference,
}

/// The bundle image and its related images; related images without a reference are warned about.
fn candidates<'b>(bundle: &'b Bundle, warnings: &mut Vec<String>) -> Vec<Candidate<'b>> {
    let mut out = Vec::new();
    if !bundle.image.trim().is_empty() {
        out.push(Candidate {
            name: "",
            image: bundle.image.as_str(),
            is_bundle: true,
        });
    }
    for related in &bundle.related_images {
        if related.image.trim().is_empty() {
            warnings.push(format!(
                "bundle `{}` ({}): related image `{}` has no image reference; ignored",
                bundle.name, bundle.package, related.name
            ));
            continue;
        }
        out.push(Candidate {
            name: related.name.as_str(),
            image: related.image.as_str(),
            is_bundle: related.image == bundle.image,
        });
    }
    out
}

/// Every candidate parsed, or none: a bundle with an image that cannot be pinned is skipped whole, and said so.
fn parse_all<'b>(
    bundle: &Bundle,
    candidates: Vec<Candidate<'b>>,
    skipped: &mut Vec<SkippedBundle>,
) -> Option<Vec<Parsed<'b>>> {
    let mut parsed = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        match parse_pinnable(candidate.image) {
            Ok(reference) => parsed.push(Parsed { candidate, reference }),
            Err(reason) => {
                let what = if candidate.is_bundle && candidate.name.is_empty() {
                    "bundle image".to_string()
                } else {
                    format!("related image `{}`", candidate.name)
                };
                skipped.push(SkippedBundle {
                    package: bundle.package.clone(),
                    bundle: bundle.name.clone(),
                    reason: format!("{what} `{}`: {reason}", candidate.image),
                });
                return None;
            }
        }
    }
    Some(parsed)
}

/// Whether a `blockedImages` pattern matches the image (as written or normalised); recorded once per bundle.
fn is_blocked(bundle: &Bundle, parsed: &Parsed<'_>, blocked: &[Regex], out: &mut Vec<BlockedRelatedImage>) -> bool {
    let image = parsed.candidate.image;
    let normalised = parsed.reference.to_string();
    let text = image.strip_prefix("docker://").unwrap_or(image);
    let Some(pattern) = blocked.iter().find(|p| p.is_match(text) || p.is_match(&normalised)) else {
        return false;
    };
    let already = out
        .iter()
        .any(|b| b.image == image && b.bundle == bundle.name && b.package == bundle.package);
    if !already {
        out.push(BlockedRelatedImage {
            image: image.to_string(),
            package: bundle.package.clone(),
            bundle: bundle.name.clone(),
            pattern: pattern.as_str().to_string(),
        });
    }
    true
}

/// Adds the image once by reference; a repeat only adds what it knows (bundle-image role, a related-image name).
fn keep(
    bundle: &Bundle,
    parsed: Parsed<'_>,
    seen: &mut HashMap<ImageReference, usize>,
    images: &mut Vec<RelatedImage>,
) {
    let Parsed { candidate, reference } = parsed;
    match seen.get(&reference) {
        Some(&i) => {
            let existing = &mut images[i];
            existing.is_bundle_image |= candidate.is_bundle;
            if existing.name.is_empty() && !candidate.name.is_empty() && existing.bundle == bundle.name {
                existing.name = candidate.name.to_string();
            }
        }
        None => {
            seen.insert(reference.clone(), images.len());
            images.push(RelatedImage {
                reference,
                package: bundle.package.clone(),
                bundle: bundle.name.clone(),
                name: candidate.name.to_string(),
                is_bundle_image: candidate.is_bundle,
            });
        }
    }
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
