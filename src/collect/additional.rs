//! `mirror.additionalImages`: one job per image, honouring targetRepo/targetTag, platforms and blockedImages.

use std::path::Path;

use regex::Regex;

use super::{CollectContext, Excluded};
use crate::config::{AdditionalImage, ImageSetConfiguration};
use crate::image::PlatformFilter;
use crate::plan::{ImageDestination, ImageOrigin, ImageSource, MirrorJob};
use crate::reference::{ImageReference, Location, ReferenceError};

#[derive(Debug, thiserror::Error)]
pub(crate) enum CollectError {
    #[error("mirror.additionalImages[{index}]: {source}")]
    BadReference { index: usize, source: ReferenceError },
    #[error(
        "mirror.additionalImages[{index}]: `{name}` is not an image: use a registry reference or oci://PATH[:NAME]"
    )]
    UnsupportedTransport { index: usize, name: String },
}

/// The jobs for every additional image, and the images left out (blocked, or no platform in common).
pub(crate) fn collect(
    config: &ImageSetConfiguration,
    context: &CollectContext,
) -> Result<(Vec<MirrorJob>, Vec<Excluded>), CollectError> {
    let blocked = config.blocked_patterns();
    let mut jobs = Vec::new();
    let mut excluded = Vec::new();
    for (index, image) in config.spec.mirror.additional_images.iter().enumerate() {
        let source = parse_source(index, &image.name)?;
        let destination = destination(image, &source, context);
        if let Some(pattern) = blocking_pattern(&blocked, &image.name, &source, &destination) {
            excluded.push(Excluded {
                image: image.name.clone(),
                reason: format!("blocked by blockedImages pattern `{pattern}`"),
            });
            continue;
        }
        let entry_platforms = PlatformFilter::of(image.platforms.clone());
        let Some(platforms) = entry_platforms.intersect(&context.cli_platforms) else {
            excluded.push(Excluded {
                image: image.name.clone(),
                reason: "its platforms and --platform have none in common".to_string(),
            });
            continue;
        };
        jobs.push(MirrorJob {
            destination,
            source,
            platforms,
            origin: ImageOrigin::Additional,
        });
    }
    Ok((jobs, excluded))
}

fn parse_source(index: usize, name: &str) -> Result<ImageSource, CollectError> {
    if name.starts_with("oci://") {
        return match name.parse::<Location>() {
            Ok(Location::OciLayout { path, reference }) => Ok(ImageSource::Layout { path, reference }),
            Ok(_) => Err(CollectError::UnsupportedTransport {
                index,
                name: name.into(),
            }),
            Err(source) => Err(CollectError::BadReference { index, source }),
        };
    }
    if name.contains("://") && !name.starts_with("docker://") {
        return Err(CollectError::UnsupportedTransport {
            index,
            name: name.into(),
        });
    }
    name.parse::<ImageReference>()
        .map(ImageSource::Registry)
        .map_err(|source| CollectError::BadReference { index, source })
}

/// A blockedImages entry is a regular expression searched in the name as written, as normalised, and in the
/// destination reference (all without transport).
fn blocking_pattern<'a>(
    patterns: &'a [Regex],
    written: &str,
    source: &ImageSource,
    destination: &ImageDestination,
) -> Option<&'a str> {
    let normalised = match source {
        ImageSource::Registry(reference) => reference.to_string(),
        ImageSource::Layout { .. } | ImageSource::Archive { .. } | ImageSource::Built { .. } => written.to_string(),
    };
    let destination = format!(
        "{}/{}:{}",
        destination.registry, destination.repository, destination.tag
    );
    patterns
        .iter()
        .find(|p| p.is_match(written) || p.is_match(&normalised) || p.is_match(&destination))
        .map(Regex::as_str)
}

/// `DEST/NS/<targetRepo or source path>:<targetTag or tag>`; a digest-only source gets the tag `sha256-<hex>`.
fn destination(image: &AdditionalImage, source: &ImageSource, context: &CollectContext) -> ImageDestination {
    let (path, tag) = match source {
        ImageSource::Registry(reference) => {
            let tag = match (&reference.tag, &reference.digest) {
                (Some(tag), _) => tag.clone(),
                (None, Some(digest)) => digest.as_tag(),
                (None, None) => "latest".to_string(),
            };
            (reference.repository.clone(), tag)
        }
        ImageSource::Layout { path, reference } => layout_destination(path, reference.as_deref()),
        // Collectors read configurations, never archives.
        ImageSource::Archive { digest, .. } | ImageSource::Built { digest, .. } => {
            ("image".to_string(), digest.as_tag())
        }
    };
    let path = image.target_repo.clone().unwrap_or(path);
    let tag = image.target_tag.clone().unwrap_or(tag);
    ImageDestination {
        registry: context.registry.clone(),
        repository: context.destination_repository(&path),
        tag,
    }
}

/// An image named `repo:tag` in a layout keeps that name; a bare name (`hello`) becomes the tag of a repository
/// named after the layout directory.
fn layout_destination(path: &Path, reference: Option<&str>) -> (String, String) {
    match reference.and_then(|r| r.rsplit_once(':')) {
        Some((name, tag)) if !name.is_empty() && !tag.is_empty() => (name.to_string(), tag.to_string()),
        _ => (layout_repository(path), reference.unwrap_or("latest").to_string()),
    }
}

/// A repository name from a layout directory's name (lowercased, invalid characters replaced).
fn layout_repository(path: &Path) -> String {
    let base = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("image")
        .to_ascii_lowercase();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        "image".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> CollectContext {
        CollectContext {
            registry: "mirror.local:5000".into(),
            namespace: "ns".into(),
            cli_platforms: PlatformFilter::all(),
        }
    }

    fn image(name: &str) -> AdditionalImage {
        AdditionalImage {
            name: name.into(),
            target_repo: None,
            target_tag: None,
            platforms: Vec::new(),
        }
    }

    #[test]
    fn destinations_follow_the_naming_rules() {
        let ctx = context();
        let tagged = image("quay.io/org/app:1.0");
        let source = parse_source(0, &tagged.name).unwrap();
        assert_eq!(
            destination(&tagged, &source, &ctx).to_string(),
            "docker://mirror.local:5000/ns/org/app:1.0"
        );

        let digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let pinned = image(&format!("quay.io/org/app@{digest}"));
        let source = parse_source(0, &pinned.name).unwrap();
        assert!(source.is_pinned());
        assert_eq!(
            destination(&pinned, &source, &ctx).tag,
            format!("sha256-{}", &digest[7..])
        );

        let mut retargeted = image("busybox");
        retargeted.target_repo = Some("tools/bb".into());
        retargeted.target_tag = Some("stable".into());
        let source = parse_source(0, &retargeted.name).unwrap();
        assert_eq!(
            destination(&retargeted, &source, &ctx).to_string(),
            "docker://mirror.local:5000/ns/tools/bb:stable"
        );

        let layout = image("oci://examples/Demo Layout:app");
        let source = parse_source(0, &layout.name).unwrap();
        assert_eq!(
            destination(&layout, &source, &ctx).to_string(),
            "docker://mirror.local:5000/ns/demo-layout:app"
        );
    }

    #[test]
    fn unsupported_transports_are_errors() {
        assert!(matches!(
            parse_source(3, "s3://bucket/x"),
            Err(CollectError::UnsupportedTransport { index: 3, .. })
        ));
        assert!(parse_source(1, "Bad Name").is_err());
    }
}
