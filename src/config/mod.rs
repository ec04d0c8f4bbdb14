//! ImageSetConfiguration and DeleteImageSetConfiguration: the model (`model`), loading with located errors
//! (`load`, `locate`, `error`), oc-mirror's rules (`validate`) and the `ferry init` template (`template`).
//!
//! `mirror.openshift.io/v2alpha1` is the primary format; oc-mirror v1's `v1alpha2` files load too.
//! `v1alpha1` is refused with a message saying what to change.

mod error;
mod load;
mod locate;
mod model;
mod template;
mod validate;

#[cfg(test)]
mod compat_tests;

pub(crate) use error::ConfigError;
#[cfg(test)]
pub(crate) use load::parse_imageset;
pub(crate) use load::{load_any, load_imageset, parse_delete, AnyConfig};
#[cfg(test)]
pub(crate) use model::SelectedBundle;
pub(crate) use model::{
    AdditionalImage, BlockedImage, ChannelType, DeleteImageSetConfiguration, Helm, HelmChart, HelmRepository,
    ImageSetConfiguration, Mirror, Operator, Package, PackageChannel, ReleaseChannel, ReleasePlatform,
};
pub(crate) use template::TEMPLATE;
pub(crate) use validate::{
    blocked_pattern_problem, is_valid_tag, is_valid_target_path, parse_version, VersionError, RELEASE_ARCHITECTURES,
    TAG_HELP, TARGET_PATH_HELP,
};

/// Compiles blocked-image patterns; validation guarantees they compile (an invalid one is skipped here).
fn compile_patterns(mirror: &Mirror) -> Vec<regex::Regex> {
    mirror
        .blocked_images
        .iter()
        .filter_map(|blocked| regex::Regex::new(&blocked.name).ok())
        .collect()
}

impl ImageSetConfiguration {
    /// The configuration as YAML (empty and unset fields left out), loadable again.
    pub(crate) fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).expect("an ImageSetConfiguration always serializes")
    }

    /// `mirror.blockedImages`, compiled. An image is blocked when any pattern matches (searching, not anchored)
    /// its source reference without transport, or its destination reference: see [`BlockedImage`].
    pub(crate) fn blocked_patterns(&self) -> Vec<regex::Regex> {
        compile_patterns(&self.spec.mirror)
    }
}

impl DeleteImageSetConfiguration {}
