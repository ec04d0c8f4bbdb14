//! Keys of the Platforms pane: which platforms of a catalog are mirrored.

use super::*;

pub(super) fn platforms_key(model: &mut Model, key: KeyEvent) {
    let Some(catalog) = model.catalog_mut() else {
        if key.code == KeyCode::Esc {
            model.focus = Pane::Catalogs;
        }
        return;
    };
    let rows = catalog.platform_rows();
    if let Some(mv) = movement(&key) {
        catalog.platform_cursor = moved(catalog.platform_cursor, rows.len(), mv);
        return;
    }
    match key.code {
        KeyCode::Char(' ') => {
            let Some(row) = rows.get(catalog.platform_cursor) else {
                return;
            };
            let Ok(platform) = row.name.parse::<Platform>() else {
                return;
            };
            let platforms = &mut catalog.operator.platforms;
            if let Some(at) = platforms.iter().position(|p| *p == platform) {
                platforms.remove(at);
            } else {
                // Keep the order of the rows.
                platforms.push(platform);
                let order: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
                platforms.sort_by_key(|p| order.iter().position(|o| *o == p.to_string()).unwrap_or(usize::MAX));
            }
            let text = if platforms.is_empty() {
                "every platform of the catalog".to_string()
            } else {
                format!(
                    "platforms: {}",
                    platforms.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                )
            };
            say(model, StatusKind::Info, text);
        }
        KeyCode::Esc => model.focus = Pane::Catalogs,
        _ => {}
    }
}
