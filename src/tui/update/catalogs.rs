//! Keys of the Catalogs pane: adding, removing and loading catalogs, whole-catalog selection, where a catalog goes.

use super::*;

pub(super) fn catalogs_key(model: &mut Model, key: KeyEvent) -> Vec<Command> {
    if let Some(mv) = movement(&key) {
        model.catalog_cursor = moved(model.catalog_cursor, model.catalogs.len(), mv);
        return Vec::new();
    }
    match key.code {
        KeyCode::Enter | KeyCode::Right | KeyCode::Char('l') if model.catalog().is_some() => {
            model.focus = Pane::Packages;
        }
        KeyCode::Char('a') => model.dialog = Some(Dialog::Form(add_catalog_form())),
        KeyCode::Char('e') if model.catalog_cursor < model.catalogs.len() => {
            let form = catalog_target_form(model.catalog_cursor, &model.catalogs[model.catalog_cursor]);
            model.dialog = Some(Dialog::Form(form));
        }
        KeyCode::Char(' ') => toggle_whole(model),
        KeyCode::Char('r') => {
            let now = model.now;
            if let Some(catalog) = model.catalog_mut() {
                if !catalog.is_loading() {
                    catalog.load = LoadState::Loading { since: now, fetched: 0 };
                    let command = load_command(catalog);
                    let text = format!("reloading {}", catalog.operator.catalog);
                    say(model, StatusKind::Info, text);
                    return vec![command];
                }
            }
        }
        KeyCode::Char('d') | KeyCode::Delete if model.catalog_cursor < model.catalogs.len() => {
            let removed = model.catalogs.remove(model.catalog_cursor);
            model.catalog_cursor = model.catalog_cursor.min(model.catalogs.len().saturating_sub(1));
            say(
                model,
                StatusKind::Info,
                format!("removed {} from the configuration", removed.operator.catalog),
            );
        }
        _ => {}
    }
    Vec::new()
}

pub(crate) fn load_command(catalog: &CatalogEntry) -> Command {
    Command::LoadCatalog {
        id: catalog.id,
        reference: catalog.operator.catalog.clone(),
        from: catalog.from.clone(),
    }
}

/// `space` on a catalog: mirror every package of it (setting the package selection aside), or go back to the
/// selection.
pub(super) fn toggle_whole(model: &mut Model) {
    let Some(catalog) = model.catalog_mut() else {
        return;
    };
    let name = catalog.operator.catalog.clone();
    let text = if catalog.whole {
        catalog.whole = false;
        let restored = std::mem::take(&mut catalog.set_aside);
        let count = restored.len();
        catalog.operator.packages = restored;
        if count > 0 {
            format!("{name}: back to the {count} selected packages")
        } else {
            format!("{name}: not in the configuration (select packages to include it)")
        }
    } else {
        catalog.whole = true;
        catalog.set_aside = std::mem::take(&mut catalog.operator.packages);
        match catalog.set_aside.len() {
            0 => format!("{name}: every package"),
            n => format!("{name}: every package (the selection of {n} is set aside: space again restores it)"),
        }
    };
    say(model, StatusKind::Info, text);
}

pub(super) fn add_catalog_form() -> Form {
    Form {
        kind: FormKind::AddCatalog,
        title: "Add a catalog".into(),
        fields: vec![
            Field::text(
                FieldId::Reference,
                "",
                "docker://REGISTRY/REPO:TAG (or without docker://), oci://DIR[:NAME]",
            ),
            Field::text(
                FieldId::FromArchive,
                "",
                "optional: file://DIR to read the catalog offline from ferry archives",
            ),
        ],
        focus: 0,
        error: None,
    }
}

pub(super) fn catalog_target_form(index: usize, catalog: &CatalogEntry) -> Form {
    Form {
        kind: FormKind::CatalogTarget(index),
        title: format!("Mirror {} as", catalog.operator.catalog),
        fields: vec![
            Field::text(
                FieldId::TargetCatalog,
                catalog.operator.target_catalog.clone().unwrap_or_default(),
                "targetCatalog: [namespace/]name under the destination; empty keeps the source's repository path",
            ),
            Field::text(
                FieldId::TargetTag,
                catalog.operator.target_tag.clone().unwrap_or_default(),
                "targetTag: the rebuilt catalog's tag; empty keeps the source's tag",
            ),
        ],
        focus: 0,
        error: None,
    }
}

/// Sets (or, when empty, removes) the catalog's `targetCatalog` and `targetTag`.
pub(super) fn set_catalog_target(model: &mut Model, index: usize, form: &Form) -> Result<Vec<Command>, FormError> {
    use crate::config::{is_valid_tag, is_valid_target_path};
    let target_catalog = Some(form.value(FieldId::TargetCatalog).trim()).filter(|t| !t.is_empty());
    let target_tag = Some(form.value(FieldId::TargetTag).trim()).filter(|t| !t.is_empty());
    if let Some(path) = target_catalog.filter(|p| !is_valid_target_path(p)) {
        return Err(FormError::TargetCatalog { path: path.to_string() });
    }
    if let Some(tag) = target_tag.filter(|t| !is_valid_tag(t)) {
        return Err(FormError::TargetTag { tag: tag.to_string() });
    }
    let Some(catalog) = model.catalogs.get_mut(index) else {
        return Ok(Vec::new());
    };
    catalog.operator.target_catalog = target_catalog.map(str::to_string);
    catalog.operator.target_tag = target_tag.map(str::to_string);
    let text = format!(
        "{} will be mirrored as {}",
        catalog.operator.catalog,
        mirrored_as(catalog)
    );
    say(model, StatusKind::Info, text);
    Ok(Vec::new())
}

/// `targetCatalog:targetTag`, with `(source path)` / `(source tag)` for what is not set.
pub(super) fn mirrored_as(catalog: &CatalogEntry) -> String {
    let path = catalog.operator.target_catalog.as_deref().unwrap_or("(source path)");
    let tag = catalog.operator.target_tag.as_deref().unwrap_or("(source tag)");
    format!("{path}:{tag}")
}
