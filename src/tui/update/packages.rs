//! Keys of the Packages pane: moving, filtering and selecting packages.

use super::*;

pub(super) fn packages_key(model: &mut Model, key: KeyEvent) {
    let Some(catalog) = model.catalog_mut() else {
        if key.code == KeyCode::Esc {
            model.focus = Pane::Catalogs;
        }
        return;
    };
    if let Some(mv) = movement(&key) {
        move_package(catalog, mv);
        return;
    }
    match key.code {
        KeyCode::Char(' ') => toggle_focused_package(model),
        KeyCode::Enter | KeyCode::Right | KeyCode::Char('l') if catalog.focused_package().is_some() => {
            model.focus = Pane::Channels;
        }
        KeyCode::Esc | KeyCode::Left | KeyCode::Char('h') => {
            if key.code == KeyCode::Esc && !catalog.filter.is_empty() {
                catalog.filter.clear();
                catalog.package_cursor = 0;
            } else {
                model.focus = Pane::Catalogs;
            }
        }
        _ => {}
    }
}

pub(super) fn move_package(catalog: &mut CatalogEntry, mv: Move) {
    let len = catalog.package_rows().len();
    let next = moved(catalog.package_cursor, len, mv);
    if next != catalog.package_cursor {
        catalog.package_cursor = next;
        catalog.channel_cursor = 0;
        catalog.bundle_cursor = 0;
    }
}

pub(super) fn filter_key(model: &mut Model, key: KeyEvent) {
    let Some(catalog) = model.catalog_mut() else {
        model.filtering = false;
        return;
    };
    match key.code {
        KeyCode::Enter => model.filtering = false,
        KeyCode::Tab => {
            model.filtering = false;
            cycle_focus(model, 1);
        }
        KeyCode::BackTab => {
            model.filtering = false;
            cycle_focus(model, Pane::ORDER.len() - 1);
        }
        KeyCode::Esc => {
            catalog.filter.clear();
            catalog.package_cursor = 0;
            model.filtering = false;
        }
        KeyCode::Backspace => {
            catalog.filter.pop();
            catalog.package_cursor = 0;
        }
        KeyCode::Up => move_package(catalog, Move::Up),
        KeyCode::Down => move_package(catalog, Move::Down),
        KeyCode::PageUp => move_package(catalog, Move::PageUp),
        KeyCode::PageDown => move_package(catalog, Move::PageDown),
        // Package names have no spaces: space selects while filtering.
        KeyCode::Char(' ') => toggle_focused_package(model),
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            catalog.filter.clear();
            catalog.package_cursor = 0;
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            catalog.filter.push(c);
            catalog.package_cursor = 0;
            catalog.channel_cursor = 0;
            catalog.bundle_cursor = 0;
        }
        _ => {}
    }
}

pub(super) fn toggle_focused_package(model: &mut Model) {
    let Some(catalog) = model.catalog_mut() else {
        return;
    };
    let Some(name) = catalog.focused_package().map(|row| row.name.to_string()) else {
        return;
    };
    let text = if let Some(at) = catalog.operator.packages.iter().position(|p| p.name == name) {
        let package = catalog.operator.packages.remove(at);
        catalog.stash.insert(package.name.clone(), package);
        // A configured package missing from the catalog disappears from the list once deselected.
        catalog.package_cursor = catalog
            .package_cursor
            .min(catalog.package_rows().len().saturating_sub(1));
        format!("{name} deselected")
    } else {
        let whole = catalog.whole;
        select_package(catalog, &name);
        if whole {
            format!("{name} selected: the catalog is no longer mirrored whole")
        } else {
            format!("{name} selected")
        }
    };
    say(model, StatusKind::Info, text);
}

/// Selects a package (restoring its channels if it was selected before), and returns it.
pub(super) fn select_package<'a>(catalog: &'a mut CatalogEntry, name: &str) -> &'a mut Package {
    if catalog.whole {
        catalog.whole = false;
        catalog.set_aside.clear();
    }
    let at = match catalog.operator.packages.iter().position(|p| p.name == name) {
        Some(at) => at,
        None => {
            let package = catalog.stash.remove(name).unwrap_or_else(|| Package {
                name: name.to_string(),
                ..Package::default()
            });
            catalog.operator.packages.push(package);
            catalog.operator.packages.len() - 1
        }
    };
    &mut catalog.operator.packages[at]
}
