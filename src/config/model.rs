//! The ImageSetConfiguration and DeleteImageSetConfiguration data model, field for field with oc-mirror.
//!
//! One model serves `mirror.openshift.io/v2alpha1` (oc-mirror v2, primary) and `mirror.openshift.io/v1alpha2`
//! (oc-mirror v1): it holds the union of both field sets, and validation rejects the oc-mirror v1 fields
//! (`storageConfig`, `targetName`, `originalRef`, `minBundle`, `headsOnly`) in a v2alpha1 file, as oc-mirror v2 does.
//! Every struct rejects unknown fields. An explicit `null` (`additionalImages:` with nothing after it) reads as
//! empty, as in oc-mirror. Serializing skips empty and unset fields, so a written configuration stays minimal.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::image::Platform;

/// The API group of both configuration kinds.
/// `kind` of a mirroring configuration.
pub(crate) const KIND_IMAGESET: &str = "ImageSetConfiguration";
/// `kind` of a deletion configuration.
pub(crate) const KIND_DELETE: &str = "DeleteImageSetConfiguration";

/// Supported `apiVersion` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) enum ApiVersion {
    /// `mirror.openshift.io/v2alpha1`, oc-mirror v2's format and ferry's own.
    #[default]
    V2Alpha1,
    /// `mirror.openshift.io/v1alpha2`, oc-mirror v1's format; loaded for migration.
    V1Alpha2,
}

impl ApiVersion {
    pub(crate) const ALL: [ApiVersion; 2] = [ApiVersion::V2Alpha1, ApiVersion::V1Alpha2];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2Alpha1 => "mirror.openshift.io/v2alpha1",
            ApiVersion::V1Alpha2 => "mirror.openshift.io/v1alpha2",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<ApiVersion> {
        ApiVersion::ALL.into_iter().find(|v| v.as_str() == text.trim())
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ApiVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ApiVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ApiVersion::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unsupported apiVersion `{text}`: expected `{}` or `{}`",
                ApiVersion::V2Alpha1,
                ApiVersion::V1Alpha2
            ))
        })
    }
}

/// An `ImageSetConfiguration`: what to mirror.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "ImageSetConfigurationDocument", into = "ImageSetConfigurationDocument")]
pub(crate) struct ImageSetConfiguration {
    pub api_version: ApiVersion,
    pub spec: ImageSetConfigurationSpec,
}

impl ImageSetConfiguration {
    /// A configuration that mirrors `content` (what a DeleteImageSetConfiguration names, planned as a mirror to find
    /// where it went).
    pub(crate) fn mirroring(content: Mirror) -> ImageSetConfiguration {
        ImageSetConfiguration {
            api_version: ApiVersion::V2Alpha1,
            spec: ImageSetConfigurationSpec {
                mirror: content,
                ..ImageSetConfigurationSpec::default()
            },
        }
    }
}

/// The fields of an ImageSetConfiguration besides `apiVersion` and `kind` (inline in the YAML, as in oc-mirror).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ImageSetConfigurationSpec {
    pub mirror: Mirror,
    /// Maximum size of each archive segment in GiB (oc-mirror says GB; it means 1024³ bytes).
    pub archive_size: Option<u64>,
    /// oc-mirror v1 (v1alpha2) metadata storage. ferry keeps its state in the workspace and ignores it.
    pub storage_config: Option<StorageConfig>,
}

/// The YAML shape of an ImageSetConfiguration (spec fields inline); `deny_unknown_fields` does not combine with
/// `flatten`, so the public type converts from and to this one.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ImageSetConfigurationDocument {
    kind: String,
    api_version: ApiVersion,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    archive_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    storage_config: Option<StorageConfig>,
    #[serde(deserialize_with = "null_as_default")]
    mirror: Mirror,
}

impl From<ImageSetConfigurationDocument> for ImageSetConfiguration {
    fn from(doc: ImageSetConfigurationDocument) -> Self {
        ImageSetConfiguration {
            api_version: doc.api_version,
            spec: ImageSetConfigurationSpec {
                mirror: doc.mirror,
                archive_size: doc.archive_size,
                storage_config: doc.storage_config,
            },
        }
    }
}

impl From<ImageSetConfiguration> for ImageSetConfigurationDocument {
    fn from(isc: ImageSetConfiguration) -> Self {
        ImageSetConfigurationDocument {
            kind: KIND_IMAGESET.to_string(),
            api_version: isc.api_version,
            archive_size: isc.spec.archive_size,
            storage_config: isc.spec.storage_config,
            mirror: isc.spec.mirror,
        }
    }
}

/// A `DeleteImageSetConfiguration`: what to delete from a mirror registry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(
    from = "DeleteImageSetConfigurationDocument",
    into = "DeleteImageSetConfigurationDocument"
)]
pub(crate) struct DeleteImageSetConfiguration {
    pub api_version: ApiVersion,
    pub spec: DeleteImageSetConfigurationSpec,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct DeleteImageSetConfigurationSpec {
    pub delete: Delete,
}

/// The content to delete has the same shape as the content to mirror (oc-mirror's `Delete` and `Mirror`
/// structs have identical fields).
pub(crate) type Delete = Mirror;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DeleteImageSetConfigurationDocument {
    kind: String,
    api_version: ApiVersion,
    #[serde(deserialize_with = "null_as_default")]
    delete: Delete,
}

impl From<DeleteImageSetConfigurationDocument> for DeleteImageSetConfiguration {
    fn from(doc: DeleteImageSetConfigurationDocument) -> Self {
        DeleteImageSetConfiguration {
            api_version: doc.api_version,
            spec: DeleteImageSetConfigurationSpec { delete: doc.delete },
        }
    }
}

impl From<DeleteImageSetConfiguration> for DeleteImageSetConfigurationDocument {
    fn from(dsc: DeleteImageSetConfiguration) -> Self {
        DeleteImageSetConfigurationDocument {
            kind: KIND_DELETE.to_string(),
            api_version: dsc.api_version,
            delete: dsc.spec.delete,
        }
    }
}

/// The content types of an image set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Mirror {
    /// OpenShift / OKD releases.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "ReleasePlatform::is_empty"
    )]
    pub platform: ReleasePlatform,
    /// Operator catalogs.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub operators: Vec<Operator>,
    /// Individual images. `additionalimages` is accepted too: oc-mirror matches field names without regard to
    /// case, and its own test fixtures use that spelling.
    #[serde(
        default,
        alias = "additionalimages",
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub additional_images: Vec<AdditionalImage>,
    /// Helm charts and the images they reference.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Helm::is_empty"
    )]
    pub helm: Helm,
    /// Images never to mirror, as regular expressions (see [`BlockedImage`]). `blockedimages` is accepted too.
    #[serde(
        default,
        alias = "blockedimages",
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub blocked_images: Vec<BlockedImage>,
    /// Sample images: declared by oc-mirror, implemented by neither oc-mirror nor ferry.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<SampleImage>,
}

impl Mirror {
    pub(crate) fn is_empty(&self) -> bool {
        self == &Mirror::default()
    }
}

/// `mirror.platform`: OpenShift release channels and what to take from them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ReleasePlatform {
    /// Also mirror the Cincinnati update-graph data image (for an OpenShift Update Service).
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "is_false")]
    pub graph: bool,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ReleaseChannel>,
    /// Release payload architectures: `amd64` (default), `arm64`, `ppc64le`, `s390x`, `multi`.
    /// Deprecated in oc-mirror v2 in favour of `platforms`; the two are mutually exclusive.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    /// OS/architecture pairs of the (multi-arch) release payload to keep.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<Platform>,
    /// A single release image to mirror instead of resolving channels (oc-mirror v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Also mirror the KubeVirt container image named by the release's boot-images ConfigMap.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "is_false")]
    pub kube_virt_container: bool,
}

impl ReleasePlatform {
    pub(crate) fn is_empty(&self) -> bool {
        self == &ReleasePlatform::default()
    }
}

/// One release channel (`stable-4.16`, `fast-4.17`, `okd`...).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ReleaseChannel {
    pub name: String,
    /// `ocp` (default), `okd`, or `fcos` (a Fedora CoreOS-style stream; a ferry extension).
    #[serde(default, rename = "type", skip_serializing_if = "ChannelType::is_default")]
    pub channel_type: ChannelType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<String>,
    /// Mirror only the releases on the shortest upgrade path from min to max.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "is_false")]
    pub shortest_path: bool,
    /// Mirror every release of the channel (min defaults to the first, max to the last).
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "is_false")]
    pub full: bool,
}

/// The product a release channel belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) enum ChannelType {
    #[default]
    Ocp,
    Okd,
    /// Fedora CoreOS-style OCI update graph (a ferry extension): the channel name is the stream.
    Fcos,
}

impl ChannelType {
    fn is_default(&self) -> bool {
        *self == ChannelType::Ocp
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ChannelType::Ocp => "ocp",
            ChannelType::Okd => "okd",
            ChannelType::Fcos => "fcos",
        }
    }
}

impl Serialize for ChannelType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ChannelType {
    /// `ocp`, `okd` or `fcos`, in any case (oc-mirror's lookup is case-sensitive but silently reads anything else as ocp).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "ocp" => Ok(ChannelType::Ocp),
            "okd" => Ok(ChannelType::Okd),
            "fcos" => Ok(ChannelType::Fcos),
            _ => Err(serde::de::Error::custom(format!(
                "unknown channel type `{text}`, expected `ocp`, `okd` or `fcos`"
            ))),
        }
    }
}

/// One operator catalog and the packages to take from it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Operator {
    /// The catalog image (`registry/ns/name:tag` or `@sha256:`), or a local OCI layout as `oci:///path`.
    pub catalog: String,
    /// Packages to include; none means every package of the catalog.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<Package>,
    /// Where the rebuilt catalog goes in the mirror: `[namespace/]name`, replacing the source repository path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_catalog: Option<String>,
    /// Tag of the rebuilt catalog in the mirror (default: the source tag, or one derived from the digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tag: Option<String>,
    /// Every version of every selected channel instead of only channel heads.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "is_false")]
    pub full: bool,
    /// Do not add the packages the selected bundles depend on.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "is_false")]
    pub skip_dependencies: bool,
    /// A file whose CatalogSource fields complete the generated CatalogSource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_catalog_source_template: Option<String>,
    /// Platforms of the catalog and operator images to keep; none means all.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<Platform>,
    /// oc-mirror v1 only: replaces the last path component of the catalog's name (superseded by `targetCatalog`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// oc-mirror v1 only, deprecated there since 4.13 and without effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_ref: Option<String>,
    /// Early oc-mirror v1alpha2 only: `headsOnly: false` meant what `full: true` means now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heads_only: Option<bool>,
}

impl Operator {
    /// Whether every version is wanted rather than channel heads (`full: true`, or the legacy `headsOnly: false`).
    pub(crate) fn is_full(&self) -> bool {
        self.full || self.heads_only == Some(false)
    }

    /// Whether the catalog is a local OCI layout (`oci:` prefix) rather than a registry image.
    pub(crate) fn is_oci_layout(&self) -> bool {
        self.catalog.starts_with("oci:")
    }
}

/// A package of an operator catalog and which of its versions to take.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Package {
    pub name: String,
    /// The default channel of the filtered package, needed when the selected channels leave out the original one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_channel: Option<String>,
    /// Channels to include; none means the default channel (or all with `full: true`).
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<PackageChannel>,
    /// Exact bundles to take (oc-mirror v2), instead of versions.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub bundles: Vec<SelectedBundle>,
    /// Lowest version to include, in every channel of the package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    /// Highest version to include, in every channel of the package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<String>,
    /// oc-mirror v1 only: the lowest bundle by name, for bundles without semantic versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_bundle: Option<String>,
}

impl Package {
    /// A package-level minVersion or maxVersion is set.
    pub(crate) fn has_version_range(&self) -> bool {
        self.min_version.is_some() || self.max_version.is_some()
    }

    /// Some of its channels has a minVersion or maxVersion.
    pub(crate) fn has_channel_ranges(&self) -> bool {
        self.channels.iter().any(PackageChannel::has_version_range)
    }

    /// The ways this package's filter contradicts itself (oc-mirror v2's rules), `full` being the catalog's
    /// `full: true`. Validation reports each at its field; the catalog filter refuses the package.
    pub(crate) fn filter_conflicts(&self, full: bool) -> Vec<FilterConflict> {
        let (package_range, channel_range) = (self.has_version_range(), self.has_channel_ranges());
        let ranged = package_range || channel_range;
        let bundles = !self.bundles.is_empty();
        [
            (bundles && full, FilterConflict::FullWithBundles),
            (bundles && ranged, FilterConflict::BundlesWithRange),
            (full && ranged, FilterConflict::FullWithRange),
            (package_range && channel_range, FilterConflict::PackageAndChannelRanges),
        ]
        .into_iter()
        .filter_map(|(applies, conflict)| applies.then_some(conflict))
        .collect()
    }
}

/// A package filter that contradicts itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FilterConflict {
    #[error("`full: true` cannot be mixed with a selection of bundles")]
    FullWithBundles,
    #[error("a selection of bundles cannot be mixed with minVersion/maxVersion")]
    BundlesWithRange,
    #[error("`full: true` cannot be mixed with minVersion/maxVersion")]
    FullWithRange,
    #[error("a package-level minVersion/maxVersion cannot be mixed with channel-level ones")]
    PackageAndChannelRanges,
}

/// A channel of a package and the version range to take from it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PackageChannel {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<String>,
    /// oc-mirror v1 only, see [`Package::min_bundle`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_bundle: Option<String>,
}

impl PackageChannel {
    /// A minVersion or maxVersion is set on the channel.
    pub(crate) fn has_version_range(&self) -> bool {
        self.min_version.is_some() || self.max_version.is_some()
    }
}

/// A bundle selected by name (`aws-load-balancer-operator.v1.1.0`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SelectedBundle {
    pub name: String,
}

/// One image to mirror as is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AdditionalImage {
    /// `registry/ns/name:tag` or `...@sha256:...` (a digest pin is best), or a local OCI layout as `oci:///path`.
    pub name: String,
    /// Repository path to use in the mirror instead of the source's (`[namespace/]name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_repo: Option<String>,
    /// Tag to use in the mirror instead of the source's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tag: Option<String>,
    /// Platforms to keep from a multi-arch image; none means all.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<Platform>,
}

/// An image never to mirror, whatever content type brings it in.
///
/// As in oc-mirror v2 (`excludeImages` in `internal/pkg/cli/executor.go`), `name` is a regular expression that
/// is *searched* (not anchored: `alpine` blocks `docker.io/library/alpine:3` and `quay.io/x/alpine-tools:1`)
/// in each collected image's source reference, written without its transport (`quay.io/ns/img:tag` or
/// `...@sha256:...`), and in its destination reference; a match on either blocks the image. Anchor with `^`/`$`
/// and escape dots (`^quay\.io/bad/`) for precise blocking. oc-mirror v1 compared repository names exactly.
/// See [`ImageSetConfiguration::blocked_patterns`](super::ImageSetConfiguration::blocked_patterns).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BlockedImage {
    pub name: String,
}

/// A sample image (declared by oc-mirror, not implemented there nor here).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SampleImage {
    pub name: String,
}

/// `mirror.helm`: charts from repositories and from local files.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Helm {
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<HelmRepository>,
    /// Charts on local disk (`path` set).
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub local: Vec<HelmChart>,
}

impl Helm {
    pub(crate) fn is_empty(&self) -> bool {
        self.repositories.is_empty() && self.local.is_empty()
    }
}

/// A helm chart repository.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct HelmRepository {
    pub name: String,
    /// `https://...` (an `index.yaml` lives there) or `oci://...`.
    pub url: String,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<HelmChart>,
}

/// A helm chart: from a repository (`name`, `version`) or local (`name`, `path`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct HelmChart {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Local chart archive or directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Extra JSONPath expressions (`{.spec.template.spec.containers[*].image}`) where the chart names images.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub image_paths: Vec<String>,
    /// Values used when rendering the chart to discover images (not for installing it).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "serde_yaml::Mapping::is_empty"
    )]
    pub values: serde_yaml::Mapping,
    /// Values files used when rendering the chart to discover images, merged in order before `values`.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<String>,
    /// Platforms to keep of the chart's multi-arch images; none means all.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<Platform>,
}

/// oc-mirror v1's `storageConfig` (where v1 kept its metadata). Loaded from v1alpha2 files, not used.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct StorageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryStorage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalStorage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegistryStorage {
    #[serde(rename = "imageURL")]
    pub image_url: String,
    #[serde(rename = "skipTLS", default, deserialize_with = "null_as_default")]
    pub skip_tls: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LocalStorage {
    pub path: String,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Reads an explicit YAML `null` (a key with nothing after it) as the type's default, as Go's decoder does.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_round_trip() {
        for version in ApiVersion::ALL {
            assert_eq!(ApiVersion::parse(version.as_str()), Some(version));
        }
        assert_eq!(ApiVersion::parse("mirror.openshift.io/v1alpha1"), None);
    }

    #[test]
    fn null_sections_read_as_empty() {
        let mirror: Mirror = serde_yaml::from_str("operators:\nadditionalImages: ~\nhelm:\nplatform:\n").unwrap();
        assert!(mirror.is_empty());
    }

    #[test]
    fn channel_type_accepts_ocp_okd_and_fcos_only() {
        let ch: ReleaseChannel = serde_yaml::from_str("name: okd\ntype: OKD").unwrap();
        assert_eq!(ch.channel_type, ChannelType::Okd);
        let ch: ReleaseChannel = serde_yaml::from_str("name: stable\ntype: fcos").unwrap();
        assert_eq!(ch.channel_type, ChannelType::Fcos);
        let err = serde_yaml::from_str::<ReleaseChannel>("name: x\ntype: rhel").unwrap_err();
        assert!(err.to_string().contains("expected `ocp`, `okd` or `fcos`"), "{err}");
    }

    #[test]
    fn lowercase_aliases_of_oc_mirror_fixtures_are_accepted() {
        let mirror: Mirror = serde_yaml::from_str("additionalimages: [{name: a}]\nblockedimages: [{name: b}]").unwrap();
        assert_eq!(mirror.additional_images[0].name, "a");
        assert_eq!(mirror.blocked_images[0].name, "b");
    }

    #[test]
    fn serializing_skips_empty_fields() {
        let isc = ImageSetConfiguration {
            api_version: ApiVersion::V2Alpha1,
            spec: ImageSetConfigurationSpec {
                mirror: Mirror {
                    additional_images: vec![AdditionalImage {
                        name: "quay.io/a/b:1".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                ..Default::default()
            },
        };
        let text = serde_yaml::to_string(&isc).unwrap();
        assert_eq!(
            text,
            "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  additionalImages:\n  - name: quay.io/a/b:1\n"
        );
        let back: ImageSetConfiguration = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, isc);
    }

    #[test]
    fn storage_config_keeps_its_odd_field_names() {
        let storage: StorageConfig =
            serde_yaml::from_str("registry:\n  imageURL: localhost:5000/meta:latest\n  skipTLS: true\n").unwrap();
        assert!(storage.registry.as_ref().unwrap().skip_tls);
        assert!(serde_yaml::to_string(&storage).unwrap().contains("imageURL:"));
    }
}
