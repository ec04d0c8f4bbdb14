//! Filtering a catalog by one `mirror.operators` entry of an ImageSetConfiguration, with oc-mirror v2's rules
//! (its catalog filter, `mirror-config/v1alpha1`), plus dependency resolution, which oc-mirror does not do.
//! The rules, and where ferry deliberately differs, are in `docs/catalog-filtering.md`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;

use semver::Version;

use super::graph::{self, GraphError};
use super::model::{Bundle, Channel, ChannelEntry, DeclarativeConfig, Deprecation, Gvk, Package, PackageRequirement};
use super::{close_matches, CatalogError, VersionRange};
use crate::config::{parse_version, Operator, Package as PackageFilter, PackageChannel};

mod dependencies;

/// The filtered catalog and what the filter had to say about it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FilterOutcome {
    pub config: DeclarativeConfig,
    /// Things the user should know: bundles kept outside a version range, unresolvable dependencies, ...
    pub warnings: Vec<String>,
    /// Bundles added because kept bundles depend on them (and the bundles needed to keep their channels valid).
    pub added_dependencies: Vec<AddedDependency>,
}

/// A bundle the filter added to satisfy a dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AddedDependency {
    pub package: String,
    pub bundle: String,
    pub reason: String,
}

impl fmt::Display for AddedDependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.bundle, self.package, self.reason)
    }
}

/// Filters `catalog` as the ImageSetConfiguration entry `operator` asks. The input is not modified; bundles are
/// shared with it (their objects are reference-counted).
pub(crate) fn filter(catalog: &DeclarativeConfig, operator: &Operator) -> Result<FilterOutcome, CatalogError> {
    if operator.packages.is_empty() && operator.is_full() {
        // The whole catalog, as is (oc-mirror does not even re-render it).
        return Ok(FilterOutcome {
            config: catalog.clone(),
            warnings: Vec::new(),
            added_dependencies: Vec::new(),
        });
    }
    let mut filter = Filter {
        index: Index::new(catalog),
        catalog_name: &operator.catalog,
        kept: BTreeMap::new(),
        warnings: Vec::new(),
        added: Vec::new(),
    };
    if operator.packages.is_empty() {
        filter.heads_of_everything()?;
    } else {
        for package in &operator.packages {
            filter.select_package(operator, package)?;
        }
    }
    if !operator.skip_dependencies {
        filter.resolve_dependencies();
    }
    let config = filter.build();
    for channel in &config.channels {
        if let Err(e) = graph::validate(&channel.entries) {
            filter.warnings.push(format!(
                "channel `{}` of package `{}` is not valid for opm after filtering: {e}",
                channel.name, channel.package
            ));
        }
    }
    Ok(FilterOutcome {
        config,
        warnings: filter.warnings,
        added_dependencies: filter.added,
    })
}

/// Lookups over the unfiltered catalog.
struct Index<'a> {
    catalog: &'a DeclarativeConfig,
    packages: BTreeMap<&'a str, &'a Package>,
    /// Channels by package, sorted by name.
    channels: HashMap<&'a str, Vec<&'a Channel>>,
    bundles: HashMap<(&'a str, &'a str), &'a Bundle>,
    /// Bundles providing each GVK, built on first use.
    providers: Option<HashMap<Gvk, Vec<&'a Bundle>>>,
}

impl<'a> Index<'a> {
    fn new(catalog: &'a DeclarativeConfig) -> Self {
        let mut channels: HashMap<&str, Vec<&Channel>> = HashMap::new();
        for c in &catalog.channels {
            channels.entry(&c.package).or_default().push(c);
        }
        for list in channels.values_mut() {
            list.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Index {
            catalog,
            packages: catalog.packages.iter().map(|p| (p.name.as_str(), p)).collect(),
            channels,
            bundles: catalog
                .bundles
                .iter()
                .map(|b| ((b.package.as_str(), b.name.as_str()), b))
                .collect(),
            providers: None,
        }
    }

    fn channels_of(&self, package: &str) -> &[&'a Channel] {
        self.channels.get(package).map_or(&[], Vec::as_slice)
    }

    fn channel(&self, package: &str, name: &str) -> Option<&'a Channel> {
        self.channels_of(package).iter().find(|c| c.name == name).copied()
    }

    fn version(&self, package: &str, bundle: &str) -> Option<&'a Version> {
        self.bundles.get(&(package, bundle)).and_then(|b| b.version.as_ref())
    }

    fn providers(&mut self) -> &HashMap<Gvk, Vec<&'a Bundle>> {
        let catalog = self.catalog;
        self.providers.get_or_insert_with(|| {
            let mut map: HashMap<Gvk, Vec<&Bundle>> = HashMap::new();
            for b in &catalog.bundles {
                for gvk in b.provided_gvks() {
                    map.entry(gvk).or_default().push(b);
                }
            }
            map
        })
    }
}

/// A package being kept: its channels and, per channel, the indices of the kept entries.
struct Kept<'a> {
    package: &'a Package,
    /// `defaultChannel` override from the ImageSetConfiguration.
    default_override: Option<String>,
    channels: BTreeMap<&'a str, (&'a Channel, BTreeSet<usize>)>,
}

impl<'a> Kept<'a> {
    fn new(package: &'a Package) -> Self {
        Kept {
            package,
            default_override: None,
            channels: BTreeMap::new(),
        }
    }

    fn bundle_names(&self) -> BTreeSet<&'a str> {
        self.channels
            .values()
            .flat_map(|(channel, kept)| kept.iter().map(move |&i| channel.entries[i].name.as_str()))
            .collect()
    }

    fn effective_default(&self) -> Option<&str> {
        self.default_override.as_deref().or(self.package.default_channel())
    }
}

struct Filter<'a> {
    index: Index<'a>,
    catalog_name: &'a str,
    kept: BTreeMap<&'a str, Kept<'a>>,
    warnings: Vec<String>,
    added: Vec<AddedDependency>,
}

/// A `minVersion`/`maxVersion` pair, inclusive, compared by semantic-version precedence.
struct Bounds {
    min: Option<Version>,
    max: Option<Version>,
}

impl Bounds {
    fn contains(&self, v: &Version) -> bool {
        self.min.as_ref().is_none_or(|m| v.cmp_precedence(m).is_ge())
            && self.max.as_ref().is_none_or(|m| v.cmp_precedence(m).is_le())
    }

    /// `minVersion == maxVersion`: one version exactly.
    fn exact(&self) -> Option<&Version> {
        match (&self.min, &self.max) {
            (Some(a), Some(b)) if a.cmp_precedence(b).is_eq() => Some(a),
            _ => None,
        }
    }
}

impl fmt::Display for Bounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.min, &self.max) {
            (Some(a), Some(b)) => write!(f, "version range {a} to {b}"),
            (Some(a), None) => write!(f, "minVersion {a}"),
            (None, Some(b)) => write!(f, "maxVersion {b}"),
            (None, None) => write!(f, "any version"),
        }
    }
}

/// Why a channel the filter emptied is left out.
fn why_empty(mode: &Mode<'_>) -> String {
    match mode {
        Mode::Range(bounds) => format!("its {bounds} matches no bundle of it"),
        Mode::Bundles(_) => "none of the selected bundles is in it".to_string(),
        _ => "it has no entries".to_string(),
    }
}

/// How one channel is filtered.
enum Mode<'b> {
    Full,
    Heads,
    Range(Bounds),
    Bundles(&'b BTreeSet<&'b str>),
}

impl<'a> Filter<'a> {
    fn invalid_filter(&self, package: &str, message: impl Into<String>) -> CatalogError {
        CatalogError::InvalidFilter {
            catalog: self.catalog_name.to_string(),
            package: package.to_string(),
            message: message.into(),
        }
    }

    fn invalid_channel(&self, package: &str, channel: &str, message: impl Into<String>) -> CatalogError {
        CatalogError::InvalidChannel {
            catalog: self.catalog_name.to_string(),
            package: package.to_string(),
            channel: channel.to_string(),
            message: message.into(),
        }
    }

    /// No packages listed, not `full`: the head of every channel of every package.
    fn heads_of_everything(&mut self) -> Result<(), CatalogError> {
        let packages: Vec<&'a Package> = self.index.packages.values().copied().collect();
        for package in packages {
            let mut kept = Kept::new(package);
            for &channel in self.index.channels_of(&package.name) {
                if channel.entries.is_empty() {
                    self.warnings.push(format!(
                        "package `{}`: channel `{}` is left out: it has no entries",
                        package.name, channel.name
                    ));
                    continue;
                }
                let head = graph::head(&channel.entries)
                    .map_err(|e| self.invalid_channel(&package.name, &channel.name, head_error(&e)))?;
                kept.channels.insert(&channel.name, (channel, BTreeSet::from([head])));
            }
            self.kept.insert(&package.name, kept);
        }
        Ok(())
    }

    fn bounds(
        &self,
        package: &str,
        field: &str,
        min: Option<&String>,
        max: Option<&String>,
    ) -> Result<Option<Bounds>, CatalogError> {
        let parse = |key: &str, text: Option<&String>| -> Result<Option<Version>, CatalogError> {
            text.map(|t| parse_version(t).map_err(|e| self.invalid_filter(package, format!("{field}{key}: {e}"))))
                .transpose()
        };
        let min_v = parse("minVersion", min)?;
        let max_v = parse("maxVersion", max)?;
        if let (Some(a), Some(b)) = (&min_v, &max_v) {
            if a.cmp_precedence(b).is_gt() {
                return Err(self.invalid_filter(
                    package,
                    format!("{field}minVersion {a} is greater than maxVersion {b}: swap them"),
                ));
            }
        }
        Ok((min_v.is_some() || max_v.is_some()).then_some(Bounds { min: min_v, max: max_v }))
    }

    fn select_package(&mut self, operator: &Operator, filter: &'a PackageFilter) -> Result<(), CatalogError> {
        let name = filter.name.as_str();
        let package = self.package(name)?;
        let full = operator.is_full();
        self.check_filter(name, filter, full)?;
        let package_bounds = self.bounds(name, "", filter.min_version.as_ref(), filter.max_version.as_ref())?;
        let selected = self.selected_channels(name, filter)?;
        let selected_bundles: BTreeSet<&str> = filter.bundles.iter().map(|b| b.name.as_str()).collect();
        self.check_bundles_exist(name, &selected_bundles)?;

        let mut kept = Kept::new(package);
        let mut emptied: BTreeMap<&str, String> = BTreeMap::new();
        for (channel, channel_filter) in selected {
            let mode = if !selected_bundles.is_empty() {
                Mode::Bundles(&selected_bundles)
            } else if full {
                Mode::Full
            } else {
                self.range_mode(name, channel_filter, package_bounds.as_ref())?
            };
            let entries = self.filter_channel(package, channel, &mode)?;
            if entries.is_empty() {
                emptied.insert(&channel.name, why_empty(&mode));
            } else {
                kept.channels.insert(&channel.name, (channel, entries));
            }
        }
        kept.default_override = self.check_default_channel(name, package, filter, &kept, &emptied)?;
        self.warn_left_out(name, &emptied, &selected_bundles, &kept);
        self.kept.insert(name, kept);
        Ok(())
    }

    /// The package the filter names, or an error with close matches.
    fn package(&self, name: &str) -> Result<&'a Package, CatalogError> {
        self.index
            .packages
            .get(name)
            .copied()
            .ok_or_else(|| CatalogError::UnknownPackage {
                catalog: self.catalog_name.to_string(),
                package: name.to_string(),
                suggestions: close_matches(name, self.index.packages.keys().copied()),
                total: self.index.packages.len(),
            })
    }

    /// A package listed once, with a filter that does not contradict itself; `minBundle` is warned about.
    fn check_filter(&mut self, name: &str, filter: &PackageFilter, full: bool) -> Result<(), CatalogError> {
        if self.kept.contains_key(name) {
            return Err(self.invalid_filter(name, "the package is listed twice: list it once, with all its channels"));
        }
        if let Some(conflict) = filter.filter_conflicts(full).first() {
            return Err(self.invalid_filter(name, conflict.to_string()));
        }
        if filter.min_bundle.is_some() || filter.channels.iter().any(|c| c.min_bundle.is_some()) {
            self.warnings.push(format!(
                "package `{name}`: `minBundle` is an oc-mirror v1 filter and is ignored; use minVersion"
            ));
        }
        Ok(())
    }

    /// The channels to look at: the listed ones (each must exist), else every channel of the package.
    fn selected_channels(
        &self,
        name: &str,
        filter: &'a PackageFilter,
    ) -> Result<Vec<(&'a Channel, Option<&'a PackageChannel>)>, CatalogError> {
        if filter.channels.is_empty() {
            return Ok(self.index.channels_of(name).iter().map(|&c| (c, None)).collect());
        }
        filter
            .channels
            .iter()
            .map(|wanted| match self.index.channel(name, &wanted.name) {
                Some(channel) => Ok((channel, Some(wanted))),
                None => Err(CatalogError::UnknownChannel {
                    catalog: self.catalog_name.to_string(),
                    package: name.to_string(),
                    channel: wanted.name.clone(),
                    available: self.index.channels_of(name).iter().map(|c| c.name.clone()).collect(),
                }),
            })
            .collect()
    }

    /// Selected bundles must exist in the package.
    fn check_bundles_exist(&self, name: &str, selected: &BTreeSet<&str>) -> Result<(), CatalogError> {
        for &bundle in selected {
            let in_a_channel = self.index.channels_of(name).iter().any(|c| c.entry(bundle).is_some());
            if in_a_channel || self.index.bundles.contains_key(&(name, bundle)) {
                continue;
            }
            let names: BTreeSet<&str> = self
                .index
                .channels_of(name)
                .iter()
                .flat_map(|c| c.entries.iter().map(|e| e.name.as_str()))
                .collect();
            return Err(CatalogError::UnknownBundle {
                catalog: self.catalog_name.to_string(),
                package: name.to_string(),
                bundle: bundle.to_string(),
                suggestions: close_matches(bundle, names.iter().copied()),
                total: names.len(),
            });
        }
        Ok(())
    }

    /// A channel's own range, else the package's, else its head.
    fn range_mode(
        &self,
        name: &str,
        channel_filter: Option<&PackageChannel>,
        package_bounds: Option<&Bounds>,
    ) -> Result<Mode<'static>, CatalogError> {
        let own = match channel_filter {
            Some(c) => self.bounds(
                name,
                &format!("channel `{}`: ", c.name),
                c.min_version.as_ref(),
                c.max_version.as_ref(),
            )?,
            None => None,
        };
        let bounds = own.or_else(|| {
            package_bounds.map(|b| Bounds {
                min: b.min.clone(),
                max: b.max.clone(),
            })
        });
        Ok(bounds.map_or(Mode::Heads, Mode::Range))
    }

    /// The default channel must survive the filter; returns the `defaultChannel` override, if any.
    fn check_default_channel(
        &self,
        name: &str,
        package: &Package,
        filter: &PackageFilter,
        kept: &Kept<'a>,
        emptied: &BTreeMap<&str, String>,
    ) -> Result<Option<String>, CatalogError> {
        let override_ = filter
            .default_channel
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        let Some(default) = override_.or(package.default_channel()) else {
            return Ok(None);
        };
        if kept.channels.contains_key(default) {
            return Ok(override_.map(str::to_string));
        }
        let kept_names: Vec<&str> = kept.channels.keys().copied().collect();
        let kept_text = if kept_names.is_empty() {
            "no channel is left".to_string()
        } else {
            format!("the filtered package has {}", quoted(&kept_names))
        };
        let message = if let Some(why) = emptied.get(default) {
            format!(
                "the default channel `{default}` would be empty: {why}. Widen the range, or set \
                 `defaultChannel` to another selected channel ({kept_text})"
            )
        } else if override_.is_some() {
            format!("defaultChannel `{default}` is not among the mirrored channels ({kept_text}): add it under `channels` or pick one of them")
        } else {
            format!(
                "the default channel `{default}` is filtered out ({kept_text}): add `{default}` under \
                 `channels`, or set `defaultChannel` to one of the selected channels"
            )
        };
        Err(CatalogError::DefaultChannel {
            catalog: self.catalog_name.to_string(),
            package: name.to_string(),
            message,
        })
    }

    /// Warnings for the channels the filter emptied and the selected bundles no kept channel holds.
    fn warn_left_out(
        &mut self,
        name: &str,
        emptied: &BTreeMap<&str, String>,
        selected_bundles: &BTreeSet<&str>,
        kept: &Kept<'a>,
    ) {
        for (channel, why) in emptied {
            self.warnings
                .push(format!("package `{name}`: channel `{channel}` is left out: {why}"));
        }
        if selected_bundles.is_empty() {
            return;
        }
        let names = kept.bundle_names();
        for missing in selected_bundles.iter().filter(|b| !names.contains(*b)) {
            self.warnings.push(format!(
                "package `{name}`: bundle `{missing}` is in none of the selected channels and is not mirrored"
            ));
        }
    }

    /// The entries of one channel that a mode keeps.
    fn filter_channel(
        &mut self,
        package: &Package,
        channel: &'a Channel,
        mode: &Mode,
    ) -> Result<BTreeSet<usize>, CatalogError> {
        let pkg = package.name.as_str();
        let entries = &channel.entries;
        if entries.is_empty() {
            return Ok(BTreeSet::new());
        }
        match mode {
            Mode::Full => Ok((0..entries.len()).collect()),
            Mode::Heads => {
                let head =
                    graph::head(entries).map_err(|e| self.invalid_channel(pkg, &channel.name, head_error(&e)))?;
                Ok(BTreeSet::from([head]))
            }
            Mode::Bundles(selected) => self.selected_bundles(pkg, channel, selected),
            Mode::Range(bounds) => match bounds.exact() {
                Some(target) => Ok(self.exact_version(pkg, channel, target)),
                None => self.version_range(pkg, channel, bounds),
            },
        }
    }

    /// The selected bundles of a channel, which must form a valid channel on their own.
    fn selected_bundles(
        &self,
        pkg: &str,
        channel: &Channel,
        selected: &BTreeSet<&str>,
    ) -> Result<BTreeSet<usize>, CatalogError> {
        let entries = &channel.entries;
        let kept: BTreeSet<usize> = (0..entries.len())
            .filter(|&i| selected.contains(entries[i].name.as_str()))
            .collect();
        if kept.is_empty() {
            return Ok(kept);
        }
        let sub: Vec<ChannelEntry> = kept.iter().map(|&i| entries[i].clone()).collect();
        if let Err(e) = graph::validate(&sub) {
            return Err(self.invalid_channel(
                pkg,
                &channel.name,
                format!(
                    "the selected bundles do not form a valid channel: {e}. Select bundles that upgrade into one \
                     another (add the ones in between), or one bundle per channel"
                ),
            ));
        }
        Ok(kept)
    }

    /// minVersion == maxVersion: that bundle alone (the one whose version text is exactly it, else the highest).
    fn exact_version(&mut self, pkg: &str, channel: &Channel, target: &Version) -> BTreeSet<usize> {
        let entries = &channel.entries;
        let version = |i: usize| self.index.version(pkg, &entries[i].name);
        let mut matches: Vec<(usize, &Version)> = (0..entries.len())
            .filter_map(|i| version(i).filter(|v| v.cmp_precedence(target).is_eq()).map(|v| (i, v)))
            .collect();
        matches.sort_by(|(_, va), (_, vb)| (*vb == target).cmp(&(*va == target)).then_with(|| vb.cmp(va)));
        let Some(&(first, _)) = matches.first() else {
            return BTreeSet::new();
        };
        if matches.len() > 1 {
            let names: Vec<&str> = matches.iter().map(|&(i, _)| entries[i].name.as_str()).collect();
            let warning = format!(
                "package `{pkg}` channel `{}`: bundles {} all have version {target}; keeping `{}`",
                channel.name,
                quoted(&names),
                entries[first].name
            );
            self.warnings.push(warning);
        }
        BTreeSet::from([first])
    }

    /// The bundles in range, and those outside it that the channel needs to keep a single head (each warned about).
    fn version_range(
        &mut self,
        pkg: &str,
        channel: &Channel,
        bounds: &Bounds,
    ) -> Result<BTreeSet<usize>, CatalogError> {
        let entries = &channel.entries;
        let head = graph::head(entries).map_err(|e| self.invalid_channel(pkg, &channel.name, head_error(&e)))?;
        let version = |i: usize| self.index.version(pkg, &entries[i].name);
        let wanted = |i: usize| version(i).is_some_and(|v| bounds.contains(v));
        let kept = graph::keep(entries, head, &wanted);
        let warnings: Vec<String> = kept
            .outside
            .iter()
            .map(|&i| {
                let entry = &entries[i].name;
                match version(i) {
                    Some(v) => format!(
                        "package `{pkg}` channel `{}`: keeping bundle `{entry}` (version {v}) outside the {bounds}: \
                         it is needed so that the channel keeps a single head",
                        channel.name
                    ),
                    None => format!(
                        "package `{pkg}` channel `{}`: keeping unversioned bundle `{entry}`: it is needed so that \
                         the channel keeps a single head",
                        channel.name
                    ),
                }
            })
            .collect();
        self.warnings.extend(warnings);
        Ok(kept.entries)
    }

    // ---- output -------------------------------------------------------------------------------------------------

    fn build(&mut self) -> DeclarativeConfig {
        let mut out = DeclarativeConfig::default();
        for (&name, kept) in &self.kept {
            let mut package = kept.package.clone();
            if let Some(default) = &kept.default_override {
                package.set_default_channel(default);
            }
            out.packages.push(package);
            let mut bundle_names: BTreeSet<&str> = BTreeSet::new();
            for (channel, entries) in kept.channels.values() {
                out.channels.push(Channel {
                    package: channel.package.clone(),
                    name: channel.name.clone(),
                    entries: entries.iter().map(|&i| channel.entries[i].clone()).collect(),
                    raw: channel.raw.clone(),
                    source: channel.source.clone(),
                });
                bundle_names.extend(entries.iter().map(|&i| channel.entries[i].name.as_str()));
            }
            for bundle in bundle_names {
                match self.index.bundles.get(&(name, bundle)) {
                    Some(b) => out.bundles.push((*b).clone()),
                    None => self.warnings.push(format!(
                        "package `{name}`: channel entry `{bundle}` has no olm.bundle in the catalog"
                    )),
                }
            }
            let kept_bundles = kept.bundle_names();
            for deprecation in self.index.catalog.deprecations.iter().filter(|d| d.package == name) {
                if let Some(pruned) = prune_deprecation(deprecation, kept, &kept_bundles) {
                    out.deprecations.push(pruned);
                }
            }
        }
        out.others = self
            .index
            .catalog
            .others
            .iter()
            .filter(|o| o.package.as_deref().is_none_or(|p| self.kept.contains_key(p)))
            .cloned()
            .collect();
        out
    }
}

/// Drops the deprecation notices of channels and bundles that were filtered out; `None` if nothing is left of a
/// deprecation that had entries.
fn prune_deprecation(deprecation: &Deprecation, kept: &Kept, bundles: &BTreeSet<&str>) -> Option<Deprecation> {
    let entries: Vec<_> = deprecation
        .entries
        .iter()
        .filter(|e| match e.schema.as_str() {
            super::SCHEMA_BUNDLE => e.name.as_deref().is_some_and(|n| bundles.contains(n)),
            super::SCHEMA_CHANNEL => e.name.as_deref().is_some_and(|n| kept.channels.contains_key(n)),
            _ => true,
        })
        .cloned()
        .collect();
    if entries.is_empty() && !deprecation.entries.is_empty() {
        return None;
    }
    Some(Deprecation {
        entries,
        ..deprecation.clone()
    })
}

fn head_error(e: &GraphError) -> String {
    format!("cannot find the channel head: {e}")
}

fn display_range(range: &VersionRange) -> String {
    if range.as_str().is_empty() {
        "any version".to_string()
    } else {
        range.as_str().to_string()
    }
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
