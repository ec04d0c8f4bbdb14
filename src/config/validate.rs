//! oc-mirror's configuration rules (its `internal/pkg/config/validate.go`, plus what its catalog filter and
//! reference parsing reject later, at mirror time), checked once after parsing so a run never starts on a
//! configuration that would fail half-way.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::model::{
    AdditionalImage, ApiVersion, ChannelType, DeleteImageSetConfiguration, FilterConflict, ImageSetConfiguration,
    Mirror, Operator, Package, PackageChannel, ReleasePlatform,
};
use crate::image::Platform;
use crate::reference::ImageReference;

/// A rule broken by a configuration: where (field path), what, and what would be valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issue {
    /// Dotted path such as `mirror.operators[1].packages[0].minVersion`.
    pub field: String,
    pub message: String,
    pub help: String,
}

/// Release payload architectures oc-mirror knows (`multi` is the manifest list of all of them).
pub(crate) const RELEASE_ARCHITECTURES: [&str; 5] = ["amd64", "arm64", "ppc64le", "s390x", "multi"];

/// Why a text is not a version (see [`parse_version`]).
#[derive(Debug, thiserror::Error)]
pub(crate) enum VersionError {
    #[error("`{text}` is not a semantic version")]
    NotSemantic { text: String },
    #[error("`{text}`: number too large")]
    NumberTooLarge { text: String },
    #[error("`{text}`: pre-release: {source}")]
    Prerelease { text: String, source: semver::Error },
    #[error("`{text}`: build metadata: {source}")]
    BuildMetadata { text: String, source: semver::Error },
}

/// Parses a version the way oc-mirror's semver library (Masterminds, non-strict) does: an optional `v`, and
/// missing minor or patch numbers read as 0 (`4.16` is `4.16.0`), then pre-release and build metadata.
pub(crate) fn parse_version(text: &str) -> Result<semver::Version, VersionError> {
    static LOOSE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$")
            .expect("valid regex")
    });
    let text_owned = || text.to_string();
    let caps = LOOSE
        .captures(text.trim())
        .ok_or_else(|| VersionError::NotSemantic { text: text_owned() })?;
    let number = |i: usize| -> Result<u64, VersionError> {
        caps.get(i).map_or(Ok(0), |m| {
            m.as_str()
                .parse()
                .map_err(|_| VersionError::NumberTooLarge { text: text_owned() })
        })
    };
    let mut version = semver::Version::new(number(1)?, number(2)?, number(3)?);
    if let Some(pre) = caps.get(4) {
        version.pre = semver::Prerelease::new(pre.as_str()).map_err(|source| VersionError::Prerelease {
            text: text_owned(),
            source,
        })?;
    }
    if let Some(build) = caps.get(5) {
        version.build = semver::BuildMetadata::new(build.as_str()).map_err(|source| VersionError::BuildMetadata {
            text: text_owned(),
            source,
        })?;
    }
    Ok(version)
}

/// oc-mirror's grammar for `targetCatalog` and `targetRepo`: path components of lower-case alphanumerics joined by
/// `.`, `_`, `__` or dashes, separated by `/`, without tag or digest.
pub(crate) fn is_valid_target_path(text: &str) -> bool {
    static PATH: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^([a-z0-9]+((?:[._]|__|[-]*)[a-z0-9]+)*)(/([a-z0-9]+((?:[._]|__|[-]*)[a-z0-9]+)*))*$")
            .expect("valid regex")
    });
    PATH.is_match(text)
}

/// A registry tag: 1 to 128 of `[A-Za-z0-9_.-]`, not starting with `.` or `-`.
pub(crate) fn is_valid_tag(text: &str) -> bool {
    static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$").expect("regex"));
    TAG.is_match(text)
}

pub(crate) const TARGET_PATH_HELP: &str = "give `[namespace/]name` in lower case, such as `redhat/operator-index`: \
                                path components of [a-z0-9] joined by `.`, `_`, `__` or `-`, no tag or digest \
                                (put a tag in `targetTag`)";
/// What is wrong with a `blockedImages` name (message, then what to do), if anything: it must be a non-empty
/// regular expression.
pub(crate) fn blocked_pattern_problem(name: &str) -> Option<(String, &'static str)> {
    if name.is_empty() {
        return Some((
            "an empty pattern would block every image".into(),
            "give a regular expression matching the references to block, such as `^quay\\.io/ns/name`",
        ));
    }
    let error = Regex::new(name).err()?.to_string();
    let last = error.lines().last().unwrap_or_default().trim();
    let detail = last.strip_prefix("error: ").unwrap_or(last);
    Some((
        format!("`{name}` is not a valid regular expression: {detail}"),
        "blocked image names are regular expressions searched in image references: escape special characters \
         with `\\` (`quay\\.io`), and balance brackets and parentheses",
    ))
}

pub(crate) const TAG_HELP: &str = "a tag is 1-128 characters of [A-Za-z0-9_.-], not starting with `.` or `-`";
const IMAGE_HELP: &str = "write `registry/namespace/name:tag` or `registry/namespace/name@sha256:<digest>` \
                          (a digest pins the image), or `oci:///path/to/layout` for a local OCI layout";

struct Checker {
    version: ApiVersion,
    issues: Vec<Issue>,
}

impl Checker {
    fn new(version: ApiVersion) -> Self {
        Checker {
            version,
            issues: Vec::new(),
        }
    }

    fn issue(&mut self, field: impl Into<String>, message: impl Into<String>, help: impl Into<String>) {
        self.issues.push(Issue {
            field: field.into(),
            message: message.into(),
            help: help.into(),
        });
    }

    /// A field that only oc-mirror v1 (v1alpha2) has, set in a v2alpha1 file.
    fn v1_only(&mut self, set: bool, field: String, name: &str, help: &str) {
        if set && self.version == ApiVersion::V2Alpha1 {
            self.issue(
                field,
                format!("`{name}` is an oc-mirror v1 (mirror.openshift.io/v1alpha2) field; v2alpha1 has no such field"),
                help,
            );
        }
    }

    fn non_empty(&mut self, field: String, value: &str, what: &str) -> bool {
        if value.trim().is_empty() {
            self.issue(field, format!("{what} is empty"), format!("give the {what}"));
            false
        } else {
            true
        }
    }

    fn version(&mut self, field: String, value: Option<&String>) -> Option<semver::Version> {
        let value = value?;
        match parse_version(value) {
            Ok(version) => Some(version),
            Err(message) => {
                self.issue(
                    field,
                    format!("{message}: versions must follow semantic versioning"),
                    "write a version such as `1.4.0` or `4.16.3` (`v1.4.0` and `1.4` are read as 1.4.0)",
                );
                None
            }
        }
    }

    /// Both bounds valid and min <= max.
    fn range(&mut self, field: &str, min: Option<&String>, max: Option<&String>) {
        let low = self.version(format!("{field}.minVersion"), min);
        let high = self.version(format!("{field}.maxVersion"), max);
        if let (Some(low), Some(high)) = (low, high) {
            if low > high {
                self.issue(
                    format!("{field}.minVersion"),
                    format!(
                        "minVersion {} is greater than maxVersion {}",
                        min.map_or("", |s| s.as_str()),
                        max.map_or("", |s| s.as_str())
                    ),
                    "swap them: minVersion is the lowest version to include, maxVersion the highest",
                );
            }
        }
    }

    fn platforms(&mut self, field: &str, platforms: &[Platform]) {
        for (i, platform) in platforms.iter().enumerate() {
            if platform.os.trim().is_empty() || platform.architecture.trim().is_empty() {
                self.issue(
                    format!("{field}[{i}]"),
                    "a platform needs both `os` and `architecture`",
                    "write it as `linux/amd64` or `{os: linux, architecture: amd64}`",
                );
            }
        }
    }

    /// An image name as oc-mirror accepts it: a registry reference (optionally `docker://`), or `oci:` + path.
    fn image_name(&mut self, field: String, name: &str, what: &str) {
        if !self.non_empty(field.clone(), name, what) {
            return;
        }
        if let Some(path) = name.strip_prefix("oci:") {
            if path.trim_start_matches('/').is_empty() {
                self.issue(
                    field,
                    format!("`{name}` names no OCI layout directory"),
                    "write a local layout as `oci:///absolute/path` or `oci://relative/path`",
                );
            }
            return;
        }
        if let Err(error) = name.parse::<ImageReference>() {
            self.issue(field, error.to_string(), IMAGE_HELP);
        }
    }

    fn content(&mut self, section: &str, mirror: &Mirror) {
        self.platform(&format!("{section}.platform"), &mirror.platform);
        self.operators(section, &mirror.operators);
        for (i, image) in mirror.additional_images.iter().enumerate() {
            self.additional_image(&format!("{section}.additionalImages[{i}]"), image);
        }
        self.helm(section, mirror);
        for (i, blocked) in mirror.blocked_images.iter().enumerate() {
            if let Some((message, help)) = blocked_pattern_problem(&blocked.name) {
                self.issue(format!("{section}.blockedImages[{i}].name"), message, help);
            }
        }
    }

    fn platform(&mut self, field: &str, platform: &ReleasePlatform) {
        if !platform.platforms.is_empty() && !platform.architectures.is_empty() {
            self.issue(
                format!("{field}.platforms"),
                "`platform.platforms` and `platform.architectures` cannot be used together",
                "use `platforms` to keep some platforms of the multi-arch payload (a sparse manifest list, which the \
                 mirror registry must accept), or the deprecated `architectures` for whole single-arch or `multi` \
                 payloads",
            );
        }
        for (i, arch) in platform.architectures.iter().enumerate() {
            if !RELEASE_ARCHITECTURES.contains(&arch.as_str()) {
                let hint = match arch.as_str() {
                    "x86_64" => " (write `amd64`)",
                    "aarch64" => " (write `arm64`)",
                    _ => "",
                };
                self.issue(
                    format!("{field}.architectures[{i}]"),
                    format!("unknown release architecture `{arch}`{hint}"),
                    format!("valid architectures: {}", RELEASE_ARCHITECTURES.join(", ")),
                );
            }
        }
        self.platforms(&format!("{field}.platforms"), &platform.platforms);
        if let Some(release) = &platform.release {
            let release_field = format!("{field}.release");
            if !release.starts_with("file:") {
                self.image_name(release_field, release, "release image");
            }
        }
        let mut names = HashSet::new();
        for (i, channel) in platform.channels.iter().enumerate() {
            let channel_field = format!("{field}.channels[{i}]");
            if !self.non_empty(format!("{channel_field}.name"), &channel.name, "channel name") {
                continue;
            }
            if !names.insert(channel.name.as_str()) {
                self.issue(
                    format!("{channel_field}.name"),
                    format!("release channel `{}` is listed twice", channel.name),
                    "list each channel once, with the version range to mirror from it",
                );
            }
            if channel.channel_type == ChannelType::Fcos {
                self.dotted_range(
                    &channel_field,
                    channel.min_version.as_ref(),
                    channel.max_version.as_ref(),
                );
            } else {
                self.range(
                    &channel_field,
                    channel.min_version.as_ref(),
                    channel.max_version.as_ref(),
                );
            }
        }
    }

    /// Fedora CoreOS versions (`41.20250105.3.0`): dotted numbers, min <= max.
    fn dotted_range(&mut self, field: &str, min: Option<&String>, max: Option<&String>) {
        let mut parse = |key: &str, value: Option<&String>| -> Option<Vec<u64>> {
            let value = value?;
            let parts: Option<Vec<u64>> = value.split('.').map(|part| part.parse().ok()).collect();
            if parts.is_none() {
                self.issue(
                    format!("{field}.{key}"),
                    format!("`{value}` is not a dotted version"),
                    "write a Fedora CoreOS version such as `41.20250105.3.0`",
                );
            }
            parts
        };
        let low = parse("minVersion", min);
        let high = parse("maxVersion", max);
        if let (Some(low), Some(high)) = (low, high) {
            if low > high {
                self.issue(
                    format!("{field}.minVersion"),
                    "minVersion is greater than maxVersion",
                    "swap them: minVersion is the lowest version to include, maxVersion the highest",
                );
            }
        }
    }

    fn operators(&mut self, section: &str, operators: &[Operator]) {
        let mut catalogs = HashSet::new();
        for (i, operator) in operators.iter().enumerate() {
            let field = format!("{section}.operators[{i}]");
            self.image_name(format!("{field}.catalog"), &operator.catalog, "catalog");
            if let Some(target) = &operator.target_catalog {
                if !is_valid_target_path(target) {
                    self.issue(
                        format!("{field}.targetCatalog"),
                        format!("`{target}` is not a valid target catalog path"),
                        TARGET_PATH_HELP,
                    );
                }
            }
            if let Some(tag) = &operator.target_tag {
                if !is_valid_tag(tag) {
                    self.issue(
                        format!("{field}.targetTag"),
                        format!("`{tag}` is not a valid tag"),
                        TAG_HELP,
                    );
                }
            }
            if !operator.catalog.trim().is_empty() && !catalogs.insert(unique_catalog_name(operator)) {
                self.issue(
                    format!("{field}.catalog"),
                    format!("catalog `{}` is listed twice", operator.catalog),
                    "merge the two entries' packages into one, or give one a different `targetCatalog`/`targetTag`",
                );
            }
            self.v1_only(
                operator.target_name.is_some(),
                format!("{field}.targetName"),
                "targetName",
                "use `targetCatalog`: the catalog's repository path in the mirror, such as `my-org/my-index`",
            );
            self.v1_only(
                operator.original_ref.is_some(),
                format!("{field}.originalRef"),
                "originalRef",
                "remove it: it was deprecated in oc-mirror 4.13 and has no effect",
            );
            self.v1_only(
                operator.heads_only.is_some(),
                format!("{field}.headsOnly"),
                "headsOnly",
                "remove it: channel heads only is the default, and `full: true` mirrors every version",
            );
            if operator.heads_only == Some(true) && operator.full {
                self.issue(
                    format!("{field}.headsOnly"),
                    "`headsOnly: true` contradicts `full: true`",
                    "keep `full: true` to mirror every version, or remove it to mirror channel heads",
                );
            }
            self.platforms(&format!("{field}.platforms"), &operator.platforms);
            self.packages(&field, operator);
        }
    }

    fn packages(&mut self, field: &str, operator: &Operator) {
        let full = operator.is_full();
        let mut names = HashSet::new();
        for (j, package) in operator.packages.iter().enumerate() {
            let pkg_field = format!("{field}.packages[{j}]");
            if !self.non_empty(format!("{pkg_field}.name"), &package.name, "package name") {
                continue;
            }
            if !names.insert(package.name.as_str()) {
                self.issue(
                    format!("{pkg_field}.name"),
                    format!(
                        "package `{}` is listed twice in catalog `{}`",
                        package.name, operator.catalog
                    ),
                    "list each package once per catalog, with all the channels wanted from it",
                );
            }
            self.range(&pkg_field, package.min_version.as_ref(), package.max_version.as_ref());
            self.min_bundle(&pkg_field, package.min_bundle.as_ref(), package.min_version.is_some());
            for conflict in package.filter_conflicts(full) {
                self.filter_conflict(&pkg_field, operator, package, conflict);
            }
            self.bundle_names(&pkg_field, package);
            self.channels(&pkg_field, package);
        }
    }

    fn bundle_names(&mut self, pkg_field: &str, package: &Package) {
        for (k, bundle) in package.bundles.iter().enumerate() {
            self.non_empty(format!("{pkg_field}.bundles[{k}].name"), &bundle.name, "bundle name");
        }
    }

    /// A package filter that contradicts itself, at the field that holds the contradiction, with what to do.
    fn filter_conflict(&mut self, pkg_field: &str, operator: &Operator, package: &Package, conflict: FilterConflict) {
        let bundles_field = format!("{pkg_field}.bundles");
        match conflict {
            FilterConflict::FullWithBundles => self.issue(
                bundles_field,
                conflict.to_string(),
                "remove `full: true` to mirror only the listed bundles",
            ),
            FilterConflict::BundlesWithRange => self.issue(
                bundles_field,
                conflict.to_string(),
                "select either exact bundles or a version range",
            ),
            FilterConflict::PackageAndChannelRanges => self.issue(
                pkg_field.to_string(),
                format!(
                    "package `{}` mixes a package-level minVersion/maxVersion with channel-level ones",
                    package.name
                ),
                "filter either by the package's version range (applies to all its channels) or by each \
                 channel's range, not both",
            ),
            FilterConflict::FullWithRange => self.full_with_range(pkg_field, operator, package),
        }
    }

    fn full_with_range(&mut self, pkg_field: &str, operator: &Operator, package: &Package) {
        let range_field = match (&package.min_version, &package.max_version) {
            (Some(_), _) => format!("{pkg_field}.minVersion"),
            (None, Some(_)) => format!("{pkg_field}.maxVersion"),
            (None, None) => pkg_field.to_string(),
        };
        let mut help =
            "remove `full: true` to mirror only the range, or remove the range to mirror every version".to_string();
        if self.version == ApiVersion::V1Alpha2 {
            help.push_str(" (oc-mirror v1 accepted both; oc-mirror v2's filtering, which ferry follows, does not)");
        }
        self.issue(
            range_field,
            format!(
                "`full: true` on catalog `{}` cannot be mixed with a version range",
                operator.catalog
            ),
            help,
        );
    }

    fn channels(&mut self, pkg_field: &str, package: &Package) {
        let mut names = HashSet::new();
        for (k, channel) in package.channels.iter().enumerate() {
            let ch_field = format!("{pkg_field}.channels[{k}]");
            if !self.non_empty(format!("{ch_field}.name"), &channel.name, "channel name") {
                continue;
            }
            if !names.insert(channel.name.as_str()) {
                self.issue(
                    format!("{ch_field}.name"),
                    format!(
                        "channel `{}` of package `{}` is listed twice",
                        channel.name, package.name
                    ),
                    "list each channel once, with its version range",
                );
            }
            self.channel(&ch_field, channel);
        }
        if let Some(default) = package.default_channel.as_deref().filter(|d| !d.trim().is_empty()) {
            if !package.channels.is_empty() && !package.channels.iter().any(|c| c.name == default) {
                let listed: Vec<&str> = package.channels.iter().map(|c| c.name.as_str()).collect();
                self.issue(
                    format!("{pkg_field}.defaultChannel"),
                    format!(
                        "default channel `{default}` is not one of the selected channels ({})",
                        listed.join(", ")
                    ),
                    "the default channel must be among the mirrored channels: add it under `channels` or pick one \
                     of them",
                );
            }
        }
    }

    fn channel(&mut self, ch_field: &str, channel: &PackageChannel) {
        self.range(ch_field, channel.min_version.as_ref(), channel.max_version.as_ref());
        self.min_bundle(ch_field, channel.min_bundle.as_ref(), channel.min_version.is_some());
    }

    fn min_bundle(&mut self, field: &str, min_bundle: Option<&String>, has_min_version: bool) {
        self.v1_only(
            min_bundle.is_some(),
            format!("{field}.minBundle"),
            "minBundle",
            "use `minVersion` with the bundle's version",
        );
        if min_bundle.is_some() && has_min_version {
            self.issue(
                format!("{field}.minBundle"),
                "`minBundle` and `minVersion` are mutually exclusive",
                "keep one of them",
            );
        }
    }

    fn additional_image(&mut self, field: &str, image: &AdditionalImage) {
        self.image_name(format!("{field}.name"), &image.name, "image name");
        if let Some(repo) = &image.target_repo {
            if !is_valid_target_path(repo) {
                self.issue(
                    format!("{field}.targetRepo"),
                    format!("`{repo}` is not a valid target repository path"),
                    TARGET_PATH_HELP.replace("targetTag", "`targetTag`"),
                );
            }
        }
        if let Some(tag) = &image.target_tag {
            if !is_valid_tag(tag) {
                self.issue(
                    format!("{field}.targetTag"),
                    format!("`{tag}` is not a valid tag"),
                    TAG_HELP,
                );
            }
        }
        self.platforms(&format!("{field}.platforms"), &image.platforms);
    }

    fn helm(&mut self, section: &str, mirror: &Mirror) {
        for (i, repository) in mirror.helm.repositories.iter().enumerate() {
            let field = format!("{section}.helm.repositories[{i}]");
            self.non_empty(format!("{field}.name"), &repository.name, "repository name");
            let url = repository.url.trim();
            if self.non_empty(format!("{field}.url"), url, "repository URL")
                && !["http://", "https://", "oci://"].iter().any(|s| url.starts_with(s))
            {
                self.issue(
                    format!("{field}.url"),
                    format!("`{url}` is not a helm repository URL"),
                    "give the repository's `https://` address (where its index.yaml is) or an `oci://` registry path",
                );
            }
            for (j, chart) in repository.charts.iter().enumerate() {
                let chart_field = format!("{field}.charts[{j}]");
                self.non_empty(format!("{chart_field}.name"), &chart.name, "chart name");
                self.platforms(&format!("{chart_field}.platforms"), &chart.platforms);
            }
        }
        for (i, chart) in mirror.helm.local.iter().enumerate() {
            let field = format!("{section}.helm.local[{i}]");
            self.non_empty(format!("{field}.name"), &chart.name, "chart name");
            if chart.path.as_deref().is_none_or(|p| p.trim().is_empty()) {
                self.issue(
                    format!("{field}.path"),
                    "a local chart needs a `path`",
                    "give the chart's .tgz archive or directory as `path: /path/to/chart.tgz`",
                );
            }
            self.platforms(&format!("{field}.platforms"), &chart.platforms);
        }
    }
}

/// The name oc-mirror uses to detect a catalog listed twice: the source with `targetCatalog` and `targetTag`
/// applied (the same source twice with different targets is fine).
fn unique_catalog_name(operator: &Operator) -> String {
    let target_catalog = operator.target_catalog.as_deref().unwrap_or("");
    let target_tag = operator.target_tag.as_deref().unwrap_or("");
    if operator.is_oci_layout() {
        return format!(
            "{}|{target_catalog}|{target_tag}",
            operator.catalog.trim_end_matches('/')
        );
    }
    match operator.catalog.parse::<ImageReference>() {
        Ok(reference) => {
            let repository = if target_catalog.is_empty() {
                reference.repository.as_str()
            } else {
                target_catalog
            };
            let mut name = format!("{}/{repository}", reference.registry);
            if !target_tag.is_empty() {
                name.push(':');
                name.push_str(target_tag);
            } else {
                if let Some(tag) = &reference.tag {
                    name.push(':');
                    name.push_str(tag);
                }
                if let Some(digest) = &reference.digest {
                    name.push('@');
                    name.push_str(&digest.to_string());
                }
            }
            name
        }
        Err(_) => format!("{}|{target_catalog}|{target_tag}", operator.catalog),
    }
}

impl ImageSetConfiguration {
    /// The rules this configuration breaks (empty when valid). Loading already runs this; it is public for
    /// configurations built in memory (the TUI).
    pub(crate) fn check(&self) -> Vec<Issue> {
        let mut checker = Checker::new(self.api_version);
        if self.spec.archive_size == Some(0) {
            checker.issue(
                "archiveSize",
                "archiveSize must be at least 1 (GiB)",
                "give the largest archive segment in GiB, such as `archiveSize: 4`, or remove it for the default",
            );
        }
        checker.v1_only(
            self.spec.storage_config.is_some(),
            "storageConfig".to_string(),
            "storageConfig",
            "remove it: like oc-mirror v2, ferry keeps its state in the workspace (DIR/working-dir)",
        );
        checker.content("mirror", &self.spec.mirror);
        checker.issues
    }

    /// Things that load but do not do what they may seem to (ignored fields), for the CLI to print as warnings.
    pub(crate) fn warnings(&self) -> Vec<Issue> {
        let mut warnings = content_warnings("mirror", &self.spec.mirror);
        if self.spec.storage_config.is_some() {
            warnings.push(Issue {
                field: "storageConfig".to_string(),
                message: "`storageConfig` is ignored: ferry keeps its state in the workspace (DIR/working-dir)"
                    .to_string(),
                help: "remove it".to_string(),
            });
        }
        warnings
    }
}

impl DeleteImageSetConfiguration {
    /// The rules this configuration breaks (empty when valid).
    pub(crate) fn check(&self) -> Vec<Issue> {
        let mut checker = Checker::new(self.api_version);
        checker.content("delete", &self.spec.delete);
        checker.issues
    }

    #[cfg(test)]
    /// Things that load but are ignored.
    pub(crate) fn warnings(&self) -> Vec<Issue> {
        content_warnings("delete", &self.spec.delete)
    }
}

fn content_warnings(section: &str, mirror: &Mirror) -> Vec<Issue> {
    let mut warnings = Vec::new();
    if !mirror.samples.is_empty() {
        warnings.push(Issue {
            field: format!("{section}.samples"),
            message: "`samples` is ignored: neither oc-mirror nor ferry implements sample images".to_string(),
            help: "list the images under `additionalImages` instead".to_string(),
        });
    }
    for (i, operator) in mirror.operators.iter().enumerate() {
        if operator.original_ref.is_some() {
            warnings.push(Issue {
                field: format!("{section}.operators[{i}].originalRef"),
                message: "`originalRef` is ignored (deprecated since oc-mirror 4.13)".to_string(),
                help: "remove it".to_string(),
            });
        }
        let uses_min_bundle = operator
            .packages
            .iter()
            .any(|p| p.min_bundle.is_some() || p.channels.iter().any(|c| c.min_bundle.is_some()));
        if uses_min_bundle {
            warnings.push(Issue {
                field: format!("{section}.operators[{i}].packages"),
                message: "`minBundle` is an oc-mirror v1 filter that v2-style filtering does not apply".to_string(),
                help: "use `minVersion` with the bundle's version".to_string(),
            });
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues(mirror_yaml: &str) -> Vec<Issue> {
        issues_with("mirror.openshift.io/v2alpha1", mirror_yaml)
    }

    fn issues_with(api_version: &str, body: &str) -> Vec<Issue> {
        let text = format!("kind: ImageSetConfiguration\napiVersion: {api_version}\n{body}");
        let isc: ImageSetConfiguration = serde_yaml::from_str(&text).expect("parses");
        isc.check()
    }

    fn only(issues: Vec<Issue>, field: &str, message_part: &str) {
        assert_eq!(issues.len(), 1, "{issues:#?}");
        assert_eq!(issues[0].field, field, "{issues:#?}");
        assert!(issues[0].message.contains(message_part), "{issues:#?}");
        assert!(!issues[0].help.is_empty());
    }

    #[test]
    fn versions_are_read_like_oc_mirror_reads_them() {
        assert_eq!(parse_version("4.16.3").unwrap(), semver::Version::new(4, 16, 3));
        assert_eq!(parse_version("v1.4").unwrap(), semver::Version::new(1, 4, 0));
        assert_eq!(parse_version("2").unwrap(), semver::Version::new(2, 0, 0));
        assert_eq!(parse_version("5.3.2-20").unwrap().pre.as_str(), "20");
        assert_eq!(parse_version("1.0.0+build.1").unwrap().build.as_str(), "build.1");
        assert!(parse_version("1.x").is_err());
        assert!(parse_version("").is_err());
        assert!(parse_version("1.2.3.4").is_err());
    }

    #[test]
    fn a_full_configuration_is_valid() {
        let body = r#"
archiveSize: 4
mirror:
  platform:
    channels:
    - name: stable-4.16
      minVersion: 4.16.1
      maxVersion: 4.16.9
    architectures: [amd64, multi]
  operators:
  - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.16
    targetCatalog: my-org/redhat-index
    targetTag: v4.16
    packages:
    - name: a
      defaultChannel: stable
      channels:
      - name: stable
        minVersion: 1.0.0
    - name: b
      minVersion: '2.1'
  - catalog: oci:///tmp/layout
  additionalImages:
  - name: quay.io/a/b@sha256:0000000000000000000000000000000000000000000000000000000000000000
    targetRepo: mirrored/b
    targetTag: pinned
    platforms: [linux/arm64]
  blockedImages:
  - name: ^docker\.io/library/alpine
  helm:
    repositories:
    - name: podinfo
      url: https://stefanprodan.github.io/podinfo
      charts:
      - name: podinfo
        version: 5.0.0
    local:
    - name: mine
      path: /charts/mine.tgz
"#;
        assert_eq!(issues(body), vec![]);
    }

    #[test]
    fn archive_size_must_be_positive() {
        only(issues("archiveSize: 0\nmirror: {}\n"), "archiveSize", "at least 1");
    }

    #[test]
    fn duplicate_catalogs_are_rejected_unless_their_targets_differ() {
        let body = "mirror:\n  operators:\n  - catalog: quay.io/a/index:v1\n  - catalog: quay.io/a/index:v1\n";
        only(issues(body), "mirror.operators[1].catalog", "listed twice");
        let body = "mirror:\n  operators:\n  - catalog: quay.io/a/index:v1\n  - catalog: quay.io/a/index:v1\n    targetTag: other\n";
        assert_eq!(issues(body), vec![]);
        let body = "mirror:\n  operators:\n  - catalog: quay.io/a/x:v1\n    targetCatalog: same\n  - catalog: quay.io/b/y:v1\n    targetCatalog: same\n";
        only(issues(body), "mirror.operators[1].catalog", "listed twice");
    }

    #[test]
    fn duplicate_packages_and_channels_are_rejected() {
        let body = "mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    packages:\n    - name: p\n    - name: p\n";
        only(issues(body), "mirror.operators[0].packages[1].name", "listed twice");
        let body = "mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    packages:\n    - name: p\n      channels:\n      - name: s\n      - name: s\n";
        only(
            issues(body),
            "mirror.operators[0].packages[0].channels[1].name",
            "listed twice",
        );
    }

    #[test]
    fn versions_must_be_semver_and_ordered() {
        let body =
            "mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    packages:\n    - name: p\n      minVersion: one\n";
        only(
            issues(body),
            "mirror.operators[0].packages[0].minVersion",
            "not a semantic version",
        );
        let body = "mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    packages:\n    - name: p\n      channels:\n      - name: s\n        minVersion: 2.0.0\n        maxVersion: 1.9.9\n";
        only(
            issues(body),
            "mirror.operators[0].packages[0].channels[0].minVersion",
            "greater than maxVersion",
        );
    }

    #[test]
    fn package_and_channel_ranges_do_not_mix() {
        let body = "mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    packages:\n    - name: p\n      minVersion: 1.0.0\n      channels:\n      - name: s\n        maxVersion: 2.0.0\n";
        only(issues(body), "mirror.operators[0].packages[0]", "mixes a package-level");
    }

    #[test]
    fn full_does_not_mix_with_ranges_or_bundles() {
        let body = "mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    full: true\n    packages:\n    - name: p\n      maxVersion: 1.0.0\n";
        only(
            issues(body),
            "mirror.operators[0].packages[0].maxVersion",
            "`full: true`",
        );
        let body = "mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    full: true\n    packages:\n    - name: p\n      channels:\n      - name: s\n        minVersion: 1.0.0\n";
        only(issues(body), "mirror.operators[0].packages[0]", "`full: true`");
        let body = "mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    full: true\n    packages:\n    - name: p\n      bundles:\n      - name: p.v1.0.0\n";
        only(
            issues(body),
            "mirror.operators[0].packages[0].bundles",
            "selection of bundles",
        );
        let body = "mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    full: true\n    packages:\n    - name: p\n      channels:\n      - name: s\n";
        assert_eq!(issues(body), vec![]);
    }

    #[test]
    fn default_channel_must_be_among_the_selected_channels() {
        let body = "mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    packages:\n    - name: p\n      defaultChannel: stable\n      channels:\n      - name: fast\n";
        only(
            issues(body),
            "mirror.operators[0].packages[0].defaultChannel",
            "not one of the selected channels",
        );
        let body = "mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    packages:\n    - name: p\n      defaultChannel: stable\n";
        assert_eq!(issues(body), vec![]);
    }

    #[test]
    fn catalogs_and_images_must_be_references() {
        only(
            issues("mirror:\n  operators:\n  - catalog: METADATA_NS:latest\n"),
            "mirror.operators[0].catalog",
            "is not an image reference",
        );
        only(
            issues("mirror:\n  additionalImages:\n  - name: 'quay.io/a/b:bad tag'\n"),
            "mirror.additionalImages[0].name",
            "not an image reference",
        );
        only(
            issues("mirror:\n  operators:\n  - catalog: 'oci://'\n"),
            "mirror.operators[0].catalog",
            "no OCI layout",
        );
        assert_eq!(
            issues("mirror:\n  additionalImages:\n  - name: docker://quay.io/a/b:1\n"),
            vec![]
        );
    }

    #[test]
    fn target_paths_and_tags_follow_oc_mirror_grammar() {
        only(
            issues("mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    targetCatalog: Bad/Name:v1\n"),
            "mirror.operators[0].targetCatalog",
            "not a valid target catalog path",
        );
        only(
            issues("mirror:\n  additionalImages:\n  - name: quay.io/a/b:1\n    targetTag: -x\n"),
            "mirror.additionalImages[0].targetTag",
            "not a valid tag",
        );
        only(
            issues("mirror:\n  additionalImages:\n  - name: quay.io/a/b:1\n    targetRepo: a//b\n"),
            "mirror.additionalImages[0].targetRepo",
            "not a valid target repository path",
        );
    }

    #[test]
    fn blocked_images_must_be_regular_expressions() {
        only(
            issues("mirror:\n  blockedImages:\n  - name: '[invalid'\n"),
            "mirror.blockedImages[0].name",
            "not a valid",
        );
        only(
            issues("mirror:\n  blockedImages:\n  - name: ''\n"),
            "mirror.blockedImages[0].name",
            "every image",
        );
    }

    #[test]
    fn release_platforms_and_architectures_are_exclusive() {
        let body = "mirror:\n  platform:\n    architectures: [arm64]\n    platforms: [linux/amd64]\n";
        only(issues(body), "mirror.platform.platforms", "cannot be used together");
        only(
            issues("mirror:\n  platform:\n    architectures: [x86_64]\n"),
            "mirror.platform.architectures[0]",
            "write `amd64`",
        );
    }

    #[test]
    fn release_channels_are_unique_and_ordered() {
        let body = "mirror:\n  platform:\n    channels:\n    - name: stable-4.16\n    - name: stable-4.16\n";
        only(issues(body), "mirror.platform.channels[1].name", "listed twice");
        let body = "mirror:\n  platform:\n    channels:\n    - name: stable-4.14\n      minVersion: 4.14.1\n      maxVersion: 4.12.2\n";
        only(
            issues(body),
            "mirror.platform.channels[0].minVersion",
            "greater than maxVersion",
        );
    }

    #[test]
    fn platform_mappings_need_os_and_architecture() {
        only(
            issues("mirror:\n  additionalImages:\n  - name: quay.io/a/b:1\n    platforms: [{os: '', architecture: amd64}]\n"),
            "mirror.additionalImages[0].platforms[0]",
            "needs both",
        );
    }

    #[test]
    fn helm_entries_need_names_urls_and_paths() {
        only(
            issues("mirror:\n  helm:\n    repositories:\n    - name: r\n      url: example.com/charts\n"),
            "mirror.helm.repositories[0].url",
            "not a helm repository URL",
        );
        only(
            issues("mirror:\n  helm:\n    local:\n    - name: c\n"),
            "mirror.helm.local[0].path",
            "needs a `path`",
        );
    }

    #[test]
    fn v1_fields_are_v1alpha2_only() {
        let body = "mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    targetName: other\n";
        only(issues(body), "mirror.operators[0].targetName", "oc-mirror v1");
        assert_eq!(issues_with("mirror.openshift.io/v1alpha2", body), vec![]);
        let body = "mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    packages:\n    - name: p\n      minBundle: p.v1\n      minVersion: 1.0.0\n";
        only(
            issues_with("mirror.openshift.io/v1alpha2", body),
            "mirror.operators[0].packages[0].minBundle",
            "mutually exclusive",
        );
    }

    #[test]
    fn warnings_name_ignored_fields() {
        let text = "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v1alpha2\nstorageConfig:\n  local:\n    path: /x\nmirror:\n  samples:\n  - name: ruby\n";
        let isc: ImageSetConfiguration = serde_yaml::from_str(text).unwrap();
        let fields: Vec<String> = isc.warnings().into_iter().map(|w| w.field).collect();
        assert_eq!(fields, vec!["mirror.samples", "storageConfig"]);
    }
}
