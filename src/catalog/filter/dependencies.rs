//! Dependency resolution, which oc-mirror does not do: the packages and APIs a kept bundle requires are added
//! (a channel head of the package that provides them, preferring what is kept already), each addition recorded.

use super::*;

/// What a dependency's addition says about the bundles it brought in.
struct AddedBecause<'r, 'a> {
    bundle: &'a Bundle,
    reason: &'r str,
    channel: &'r str,
    default: Option<&'r str>,
    default_head: Option<&'a str>,
}

/// The channel a dependency goes into: one already kept, else the default channel, else the first that has it.
fn channel_for_dependency<'a>(
    containing: &[&'a Channel],
    kept: &Kept<'a>,
    default: Option<&str>,
) -> Option<&'a Channel> {
    containing
        .iter()
        .find(|c| kept.channels.contains_key(c.name.as_str()))
        .or_else(|| containing.iter().find(|c| Some(c.name.as_str()) == default))
        .or_else(|| containing.first())
        .copied()
}

/// Adds `bundle` to `channel` in `kept`, with what connects it to the channel's head; a warning when it cannot be
/// added without breaking the channel's upgrade graph.
fn connect_bundle<'a>(kept: &mut Kept<'a>, channel: &'a Channel, bundle: &Bundle) -> Option<String> {
    let package = &bundle.package;
    let position = channel.entries.iter().position(|e| e.name == bundle.name)?;
    let Some((_, entries)) = kept.channels.get_mut(channel.name.as_str()) else {
        // A channel not kept so far: the bundle alone is a valid channel.
        kept.channels
            .insert(&channel.name, (channel, BTreeSet::from([position])));
        return None;
    };
    let head = match graph::head(&channel.entries) {
        Ok(head) => head,
        Err(e) => {
            return Some(format!(
                "cannot add `{}` to channel `{}` of package `{package}`: {e}",
                bundle.name, channel.name
            ))
        }
    };
    let wanted = |i: usize| i == position || entries.contains(&i);
    let result = graph::keep(&channel.entries, head, &wanted);
    if !result.entries.contains(&position) {
        return Some(format!(
            "cannot add `{}` to channel `{}` of package `{package}` without breaking its upgrade graph; the \
             dependency is not mirrored",
            bundle.name, channel.name
        ));
    }
    entries.extend(result.entries);
    None
}

/// A package that a dependency added keeps the head of its default channel, so that it stays valid.
fn keep_default_head<'a>(index: &Index<'a>, kept: &mut Kept<'a>, package: &str, default: &str) -> Option<&'a str> {
    if kept.channels.contains_key(default) {
        return None;
    }
    let default_channel = index.channel(package, default)?;
    let head = graph::head(&default_channel.entries).ok()?;
    kept.channels
        .insert(&default_channel.name, (default_channel, BTreeSet::from([head])));
    Some(default_channel.entries[head].name.as_str())
}

impl<'a> Filter<'a> {
    fn is_kept(&self, package: &str, bundle: &str) -> bool {
        self.kept
            .get(package)
            .is_some_and(|k| k.bundle_names().contains(bundle))
    }

    pub(super) fn resolve_dependencies(&mut self) {
        let mut queue: VecDeque<(&'a str, &'a str)> = self
            .kept
            .iter()
            .flat_map(|(&p, k)| k.bundle_names().into_iter().map(move |b| (p, b)))
            .collect();
        let mut done: HashSet<(&str, &str)> = HashSet::new();
        while let Some((package, name)) = queue.pop_front() {
            if !done.insert((package, name)) {
                continue;
            }
            let Some(&bundle) = self.index.bundles.get(&(package, name)) else {
                continue;
            };
            if bundle.has_generic_constraints() {
                self.warnings.push(format!(
                    "bundle `{name}` ({package}) declares `olm.constraint` dependencies, which ferry does not resolve: \
                     add the packages it needs to the ImageSetConfiguration"
                ));
            }
            for requirement in bundle.required_packages() {
                queue.extend(self.require_package(bundle, &requirement));
            }
            for gvk in bundle.required_gvks() {
                queue.extend(self.require_api(bundle, &gvk));
            }
        }
    }

    /// Satisfies an `olm.package.required` of `bundle`: nothing when a kept bundle is in range, else the best
    /// bundle in range is added (with what it needs to stay valid); the bundles added, for their own dependencies.
    fn require_package(&mut self, bundle: &'a Bundle, requirement: &PackageRequirement) -> Vec<(&'a str, &'a str)> {
        let (name, package) = (&bundle.name, &bundle.package);
        let range = match VersionRange::parse(&requirement.version_range) {
            Ok(range) => range,
            Err(e) => {
                self.warnings
                    .push(format!("bundle `{name}` ({package}): olm.package.required: {e}"));
                return Vec::new();
            }
        };
        let in_range = |b: &&Bundle| b.version.as_ref().is_some_and(|v| range.matches(v));
        let satisfied = self.kept.get(requirement.package.as_str()).is_some_and(|k| {
            k.bundle_names()
                .iter()
                .filter_map(|b| self.index.bundles.get(&(requirement.package.as_str(), *b)))
                .any(&in_range)
        });
        if satisfied {
            return Vec::new();
        }
        let mut candidates: Vec<&'a Bundle> = self
            .index
            .catalog
            .bundles
            .iter()
            .filter(|b| b.package == requirement.package && self.in_some_channel(b))
            .filter(|b| in_range(b))
            .collect();
        candidates.sort_by(|a, b| self.rank(a, b, false));
        let what = format!("package `{}` ({})", requirement.package, display_range(&range));
        match candidates.first() {
            Some(choice) => {
                let reason = format!("required by `{name}` ({package}): olm.package.required {what}");
                self.add_dependency(choice, &reason)
            }
            None => {
                self.warnings.push(format!(
                    "bundle `{name}` ({package}) requires {what}, which catalog `{}` does not provide (if another \
                     catalog does, mirror it from there)",
                    self.catalog_name
                ));
                Vec::new()
            }
        }
    }

    /// Satisfies an `olm.gvk.required` of `bundle`: nothing when a kept bundle provides the API, else the best
    /// provider is added; the bundles added, for their own dependencies.
    fn require_api(&mut self, bundle: &'a Bundle, gvk: &Gvk) -> Vec<(&'a str, &'a str)> {
        let (name, package) = (&bundle.name, &bundle.package);
        let providers: Vec<&'a Bundle> = self.index.providers().get(gvk).cloned().unwrap_or_default();
        if providers.iter().any(|p| self.is_kept(&p.package, &p.name)) {
            return Vec::new();
        }
        let mut candidates: Vec<&'a Bundle> = providers.into_iter().filter(|b| self.in_some_channel(b)).collect();
        candidates.sort_by(|a, b| self.rank(a, b, true));
        match candidates.first() {
            Some(choice) => {
                let reason = format!("required by `{name}` ({package}): olm.gvk.required {gvk}");
                self.add_dependency(choice, &reason)
            }
            None => {
                self.warnings.push(format!(
                    "bundle `{name}` ({package}) requires API {gvk}, which no bundle of catalog `{}` provides (if \
                     another catalog does, mirror it from there)",
                    self.catalog_name
                ));
                Vec::new()
            }
        }
    }

    fn in_some_channel(&self, bundle: &Bundle) -> bool {
        self.index
            .channels_of(&bundle.package)
            .iter()
            .any(|c| c.entry(&bundle.name).is_some())
    }

    /// Preference among dependency candidates: (for APIs) a package already kept, then the head of the package's
    /// default channel, then membership of the default channel, then the highest version, then names.
    fn rank(&self, a: &Bundle, b: &Bundle, prefer_kept_package: bool) -> std::cmp::Ordering {
        let key = |x: &Bundle| {
            let default = self
                .index
                .packages
                .get(x.package.as_str())
                .and_then(|p| p.default_channel());
            let default_channel = default.and_then(|d| self.index.channel(&x.package, d));
            let is_default_head = default_channel
                .and_then(|c| graph::head(&c.entries).ok().map(|h| c.entries[h].name == x.name))
                .unwrap_or(false);
            let in_default = default_channel.is_some_and(|c| c.entry(&x.name).is_some());
            let kept_package = prefer_kept_package && self.kept.contains_key(x.package.as_str());
            (!kept_package, !is_default_head, !in_default)
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| match (&a.version, &b.version) {
                (Some(va), Some(vb)) => vb.cmp_precedence(va).then_with(|| vb.cmp(va)),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.package.cmp(&b.package))
            .then_with(|| a.name.cmp(&b.name))
    }

    /// Keeps `bundle` (and what its channel needs to stay valid); returns the newly kept bundles.
    fn add_dependency(&mut self, bundle: &'a Bundle, reason: &str) -> Vec<(&'a str, &'a str)> {
        let package_name = bundle.package.as_str();
        let Some(&package) = self.index.packages.get(package_name) else {
            return Vec::new();
        };
        let new_package = !self.kept.contains_key(package_name);
        let before: BTreeSet<&str> = self.kept.get(package_name).map(Kept::bundle_names).unwrap_or_default();
        let containing: Vec<&'a Channel> = self
            .index
            .channels_of(package_name)
            .iter()
            .copied()
            .filter(|c| c.entry(&bundle.name).is_some())
            .collect();
        let kept = self.kept.entry(package_name).or_insert_with(|| Kept::new(package));
        let default = kept.effective_default().map(str::to_string);
        let Some(channel) = channel_for_dependency(&containing, kept, default.as_deref()) else {
            return Vec::new();
        };
        let connect_warning = connect_bundle(kept, channel, bundle);
        let default_head = match (new_package, default.as_deref()) {
            (true, Some(default)) => keep_default_head(&self.index, kept, package_name, default),
            _ => None,
        };
        let after = kept.bundle_names();
        self.warnings.extend(connect_warning);
        let added_because = AddedBecause {
            bundle,
            reason,
            channel: &channel.name,
            default: default.as_deref(),
            default_head,
        };
        after
            .difference(&before)
            .map(|name| self.record_added(package_name, name, &added_because))
            .collect()
    }

    /// Records a bundle that a dependency brought in, with why.
    fn record_added(&mut self, package: &'a str, name: &'a str, because: &AddedBecause<'_, 'a>) -> (&'a str, &'a str) {
        let bundle = because.bundle;
        let why = if name == bundle.name {
            because.reason.to_string()
        } else if Some(name) == because.default_head {
            format!(
                "head of `{}`, the default channel of package `{package}`, kept so that the package added for `{}` \
                 stays valid",
                because.default.unwrap_or_default(),
                bundle.name
            )
        } else {
            format!(
                "connects `{}` to the head of channel `{}` of package `{package}`",
                bundle.name, because.channel
            )
        };
        self.added.push(AddedDependency {
            package: package.to_string(),
            bundle: name.to_string(),
            reason: why,
        });
        (package, name)
    }
}
