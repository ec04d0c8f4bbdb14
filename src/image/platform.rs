//! Platforms (`os/architecture[/variant]`): parsing, the two configuration spellings, and matching against filters.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One platform of a multi-arch image, as in an OCI index entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a platform: expected OS/ARCH or OS/ARCH/VARIANT, for example linux/amd64 or linux/arm64/v8")]
pub struct PlatformError(pub String);

impl Platform {
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Self {
        Platform {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant: variant.map(str::to_string),
        }
    }

    /// Does an image built for `candidate` satisfy this filter? A filter without a variant accepts every variant;
    /// arm64's implicit `v8` is treated as equal to no variant.
    pub fn accepts(&self, candidate: &Platform) -> bool {
        if self.os != candidate.os || self.architecture != candidate.architecture {
            return false;
        }
        match (&self.variant, &candidate.variant) {
            (None, _) => true,
            (Some(wanted), Some(actual)) => wanted == actual,
            (Some(wanted), None) => self.architecture == "arm64" && wanted == "v8",
        }
    }

    /// Attestation and other non-runnable entries use `unknown/unknown`.
    pub fn is_unknown(&self) -> bool {
        self.os == "unknown" && self.architecture == "unknown"
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.trim().split('/').collect();
        let valid_part =
            |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        match parts.as_slice() {
            [os, arch] if valid_part(os) && valid_part(arch) => Ok(Platform::new(os, arch, None)),
            [os, arch, variant] if valid_part(os) && valid_part(arch) && valid_part(variant) => {
                Ok(Platform::new(os, arch, Some(variant)))
            }
            _ => Err(PlatformError(s.to_string())),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// The mapping form used in configuration files: `{os: linux, architecture: arm64, variant: v8}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlatformFields {
    os: String,
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

impl<'de> Deserialize<'de> for Platform {
    /// Accepts both `linux/arm64/v8` and `{os: linux, architecture: arm64, variant: v8}`.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PlatformVisitor;
        impl<'de> serde::de::Visitor<'de> for PlatformVisitor {
            type Value = Platform;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a platform as `os/architecture[/variant]` or a mapping with os, architecture and variant")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Platform, E> {
                v.parse().map_err(E::custom)
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Platform, A::Error> {
                let fields = PlatformFields::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Platform {
                    os: fields.os,
                    architecture: fields.architecture,
                    variant: fields.variant.filter(|v| !v.is_empty()),
                })
            }
        }
        deserializer.deserialize_any(PlatformVisitor)
    }
}

/// A set of platform filters; empty means "every platform".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PlatformFilter {
    wanted: Vec<Platform>,
}

impl PlatformFilter {
    pub(crate) fn all() -> Self {
        Self::default()
    }

    pub(crate) fn of(wanted: Vec<Platform>) -> Self {
        PlatformFilter { wanted }
    }

    pub(crate) fn is_all(&self) -> bool {
        self.wanted.is_empty()
    }

    pub(crate) fn platforms(&self) -> &[Platform] {
        &self.wanted
    }

    pub(crate) fn accepts(&self, candidate: &Platform) -> bool {
        self.is_all() || self.wanted.iter().any(|w| w.accepts(candidate))
    }

    /// The intersection of an entry's own platforms and the command line's `--platform` values.
    /// An empty side means "no restriction". `None` when both sides restrict and nothing is common:
    /// the entry would mirror nothing, which callers report rather than read as "everything".
    pub(crate) fn intersect(&self, other: &PlatformFilter) -> Option<PlatformFilter> {
        match (self.is_all(), other.is_all()) {
            (true, _) => Some(other.clone()),
            (_, true) => Some(self.clone()),
            _ => {
                let wanted: Vec<Platform> = self
                    .wanted
                    .iter()
                    .filter(|p| other.wanted.iter().any(|o| o.accepts(p) || p.accepts(o)))
                    .cloned()
                    .collect();
                (!wanted.is_empty()).then_some(PlatformFilter { wanted })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_spellings() {
        let from_str: Platform = serde_yaml::from_str("linux/arm64/v8").unwrap();
        let from_map: Platform = serde_yaml::from_str("{os: linux, architecture: arm64, variant: v8}").unwrap();
        assert_eq!(from_str, from_map);
        assert_eq!(from_str.to_string(), "linux/arm64/v8");
    }

    #[test]
    fn rejects_unknown_mapping_fields_and_bad_strings() {
        assert!(serde_yaml::from_str::<Platform>("{os: linux, arch: amd64}").is_err());
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux//v7".parse::<Platform>().is_err());
    }

    #[test]
    fn filter_without_variant_accepts_any_variant() {
        let arm: Platform = "linux/arm".parse().unwrap();
        assert!(arm.accepts(&"linux/arm/v7".parse().unwrap()));
        let v8: Platform = "linux/arm64/v8".parse().unwrap();
        assert!(v8.accepts(&"linux/arm64".parse().unwrap()));
        assert!(!v8.accepts(&"linux/amd64".parse().unwrap()));
    }

    #[test]
    fn intersection_keeps_common_platforms() {
        let entry = PlatformFilter::of(vec!["linux/amd64".parse().unwrap(), "linux/arm64".parse().unwrap()]);
        let cli = PlatformFilter::of(vec!["linux/arm64".parse().unwrap()]);
        assert_eq!(entry.intersect(&cli).unwrap().platforms(), cli.platforms());
        assert_eq!(entry.intersect(&PlatformFilter::all()), Some(entry.clone()));
        let s390x = PlatformFilter::of(vec!["linux/s390x".parse().unwrap()]);
        assert_eq!(entry.intersect(&s390x), None);
    }
}
