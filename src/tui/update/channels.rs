//! Keys of the Channels and Bundles panes: channel selection and version ranges (channel or package).

use super::*;

pub(super) fn channels_key(model: &mut Model, key: KeyEvent) {
    let Some(catalog) = model.catalog_mut() else {
        model.focus = Pane::Catalogs;
        return;
    };
    if let Some(mv) = movement(&key) {
        let next = moved(catalog.channel_cursor, catalog.channel_rows().len(), mv);
        if next != catalog.channel_cursor {
            catalog.channel_cursor = next;
            catalog.bundle_cursor = 0;
        }
        return;
    }
    match key.code {
        KeyCode::Char(' ') => {
            let Some((package, channel)) = catalog.focused_package_and_channel() else {
                return;
            };
            let selected = select_package(catalog, &package);
            let text = if let Some(at) = selected.channels.iter().position(|c| c.name == channel) {
                selected.channels.remove(at);
                if selected.channels.is_empty() {
                    format!("{package}: no channel selected: the default channel is mirrored")
                } else {
                    format!("{package}: channel {channel} deselected")
                }
            } else {
                selected.channels.push(PackageChannel {
                    name: channel.clone(),
                    ..PackageChannel::default()
                });
                format!("{package}: channel {channel} selected")
            };
            say(model, StatusKind::Info, text);
        }
        KeyCode::Enter | KeyCode::Right | KeyCode::Char('l') if catalog.focused_channel().is_some() => {
            model.focus = Pane::Bundles;
        }
        KeyCode::Esc | KeyCode::Left | KeyCode::Char('h') => model.focus = Pane::Packages,
        _ => {}
    }
}

#[derive(Clone, Copy)]
pub(super) enum Bound {
    Min,
    Max,
}

impl Bound {
    fn field(self) -> &'static str {
        match self {
            Bound::Min => "minVersion",
            Bound::Max => "maxVersion",
        }
    }
}

/// Which range a bound goes into: the focused channel's, or the package's (which applies to its selected channels,
/// or to every channel when none is). The two do not mix (oc-mirror's rule).
#[derive(Clone, Copy)]
pub(super) enum RangeOf {
    Channel,
    Package,
}

pub(super) fn bundles_key(model: &mut Model, key: KeyEvent) {
    let Some(catalog) = model.catalog_mut() else {
        model.focus = Pane::Catalogs;
        return;
    };
    if let Some(mv) = movement(&key) {
        catalog.bundle_cursor = moved(catalog.bundle_cursor, catalog.bundle_rows().len(), mv);
        return;
    }
    match key.code {
        KeyCode::Char('m') => set_bound(model, RangeOf::Channel, Bound::Min),
        KeyCode::Char('M') => set_bound(model, RangeOf::Channel, Bound::Max),
        KeyCode::Char('p') => set_bound(model, RangeOf::Package, Bound::Min),
        KeyCode::Char('P') => set_bound(model, RangeOf::Package, Bound::Max),
        KeyCode::Char('c') => clear_range(model),
        KeyCode::Esc | KeyCode::Left | KeyCode::Char('h') => model.focus = Pane::Channels,
        _ => {}
    }
}

/// `m`/`M` (channel) and `p`/`P` (package) on a bundle: its version becomes the range's minVersion/maxVersion,
/// selecting the package (and, for a channel range, the channel). Refused while the other kind of range is set.
pub(super) fn set_bound(model: &mut Model, range: RangeOf, bound: Bound) {
    let Some(catalog) = model.catalog_mut() else {
        return;
    };
    let Some((package, channel)) = catalog.focused_package_and_channel() else {
        return;
    };
    let Some(bundle) = catalog.bundle_rows().get(catalog.bundle_cursor).cloned() else {
        return;
    };
    let Some(version) = bundle.version.clone() else {
        let text = format!(
            "{} has no version (olm.package property): it cannot bound a range",
            bundle.name
        );
        say(model, StatusKind::Warning, text);
        return;
    };
    if let Some(conflict) = range_conflict(catalog.selected(&package), range) {
        say(model, StatusKind::Warning, conflict);
        return;
    }
    let selected = select_package(catalog, &package);
    let (label, (min, max)) = range_bounds(selected, range, &package, &channel);
    match bound {
        Bound::Min => *min = Some(version.clone()),
        Bound::Max => *max = Some(version.clone()),
    }
    let (kind, text) = if inverted(min.as_deref(), max.as_deref()) {
        (StatusKind::Warning, format!("{label}: minVersion is above maxVersion"))
    } else {
        let scope = match range {
            RangeOf::Package => " (package range: its selected channels, or all when none is)",
            RangeOf::Channel => "",
        };
        (StatusKind::Info, format!("{label}: {} {version}{scope}", bound.field()))
    };
    say(model, kind, text);
}

/// The minVersion and maxVersion that `range` sets on `selected`: the package's own, or those of its entry for
/// `channel` (added when missing); with how status messages name them (`package`, `package/channel`).
fn range_bounds<'a>(
    selected: &'a mut Package,
    range: RangeOf,
    package: &str,
    channel: &str,
) -> (String, (&'a mut Option<String>, &'a mut Option<String>)) {
    match range {
        RangeOf::Package => (
            package.to_string(),
            (&mut selected.min_version, &mut selected.max_version),
        ),
        RangeOf::Channel => {
            let at = match selected.channels.iter().position(|c| c.name == channel) {
                Some(at) => at,
                None => {
                    selected.channels.push(PackageChannel {
                        name: channel.to_string(),
                        ..PackageChannel::default()
                    });
                    selected.channels.len() - 1
                }
            };
            let entry = &mut selected.channels[at];
            (
                format!("{package}/{channel}"),
                (&mut entry.min_version, &mut entry.max_version),
            )
        }
    }
}

/// Whether both bounds are set, are versions, and `min` is above `max`.
fn inverted(min: Option<&str>, max: Option<&str>) -> bool {
    match (min, max) {
        (Some(min), Some(max)) => matches!(
            (crate::config::parse_version(min), crate::config::parse_version(max)),
            (Ok(a), Ok(b)) if a > b
        ),
        _ => false,
    }
}

/// Why a bound of `range` cannot be set on `package` now: the other kind of range is set.
pub(super) fn range_conflict(package: Option<&Package>, range: RangeOf) -> Option<String> {
    let package = package?;
    match range {
        RangeOf::Channel if package.has_version_range() => Some(format!(
            "{} has a package version range: clear it with c first (package and channel ranges do not mix)",
            package.name
        )),
        RangeOf::Package => {
            let ranged: Vec<&str> = package
                .channels
                .iter()
                .filter(|c| c.has_version_range())
                .map(|c| c.name.as_str())
                .collect();
            (!ranged.is_empty()).then(|| {
                format!(
                    "{}: channel {} has a version range: clear it with c first (package and channel ranges do not \
                     mix)",
                    package.name,
                    ranged.join(", ")
                )
            })
        }
        RangeOf::Channel => None,
    }
}

/// `c`: clears the range in force at the focused bundle: the package's when it has one, else the focused channel's.
pub(super) fn clear_range(model: &mut Model) {
    let Some(catalog) = model.catalog_mut() else {
        return;
    };
    let Some((package, channel)) = catalog.focused_package_and_channel() else {
        return;
    };
    let Some(selected) = catalog.operator.packages.iter_mut().find(|p| p.name == package) else {
        return;
    };
    let text = if selected.has_version_range() {
        selected.min_version = None;
        selected.max_version = None;
        format!("{package}: no package version bounds")
    } else {
        if let Some(entry) = selected.channels.iter_mut().find(|c| c.name == channel) {
            entry.min_version = None;
            entry.max_version = None;
        }
        format!("{package}/{channel}: no version bounds")
    };
    say(model, StatusKind::Info, text);
}
