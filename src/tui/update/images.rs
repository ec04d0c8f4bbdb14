//! Keys of the Images pane: additional images and blocked images, and their forms.

use super::*;

pub(super) fn images_key(model: &mut Model, key: KeyEvent) {
    if let Some(mv) = movement(&key) {
        model.image_cursor = moved(model.image_cursor, model.additional.len(), mv);
        return;
    }
    match key.code {
        KeyCode::Char('a') => model.dialog = Some(Dialog::Form(image_form(None, &AdditionalImage::default()))),
        KeyCode::Enter | KeyCode::Char('e') => {
            if let Some(image) = model.additional.get(model.image_cursor) {
                model.dialog = Some(Dialog::Form(image_form(Some(model.image_cursor), image)));
            }
        }
        KeyCode::Char('d') | KeyCode::Delete if model.image_cursor < model.additional.len() => {
            let removed = model.additional.remove(model.image_cursor);
            model.image_cursor = model.image_cursor.min(model.additional.len().saturating_sub(1));
            say(model, StatusKind::Info, format!("removed {}", removed.name));
        }
        KeyCode::Esc => model.focus = Pane::Catalogs,
        _ => {}
    }
}

pub(super) fn blocked_key(model: &mut Model, key: KeyEvent) {
    if let Some(mv) = movement(&key) {
        model.blocked_cursor = moved(model.blocked_cursor, model.blocked.len(), mv);
        return;
    }
    match key.code {
        KeyCode::Char('a') => model.dialog = Some(Dialog::Form(blocked_form(None, ""))),
        KeyCode::Enter | KeyCode::Char('e') => {
            if let Some(blocked) = model.blocked.get(model.blocked_cursor) {
                model.dialog = Some(Dialog::Form(blocked_form(Some(model.blocked_cursor), &blocked.name)));
            }
        }
        KeyCode::Char('d') | KeyCode::Delete if model.blocked_cursor < model.blocked.len() => {
            let removed = model.blocked.remove(model.blocked_cursor);
            model.blocked_cursor = model.blocked_cursor.min(model.blocked.len().saturating_sub(1));
            say(model, StatusKind::Info, format!("no longer blocked: {}", removed.name));
        }
        KeyCode::Esc => model.focus = Pane::Images,
        _ => {}
    }
}

pub(super) fn blocked_form(index: Option<usize>, name: &str) -> Form {
    Form {
        kind: index.map_or(FormKind::AddBlocked, FormKind::EditBlocked),
        title: if index.is_some() {
            "Edit a blocked image".into()
        } else {
            "Block images".into()
        },
        fields: vec![Field::text(
            FieldId::Name,
            name,
            "an image name or a regular expression (e.g. `.*/debug-.*`): matching images are never mirrored",
        )],
        focus: 0,
        error: None,
    }
}

/// Adds or replaces a `blockedImages` entry, refused as `ferry validate` would refuse it.
pub(super) fn set_blocked(model: &mut Model, index: Option<usize>, name: &str) -> Result<Vec<Command>, FormError> {
    let name = name.trim();
    if let Some((message, _)) = crate::config::blocked_pattern_problem(name) {
        return Err(FormError::BlockedPattern { message });
    }
    let entry = BlockedImage { name: name.to_string() };
    match index {
        Some(at) if at < model.blocked.len() => model.blocked[at] = entry,
        _ => {
            if model.blocked.iter().any(|b| b.name == name) {
                return Err(FormError::AlreadyBlocked { name: name.to_string() });
            }
            model.blocked.push(entry);
            model.blocked_cursor = model.blocked.len() - 1;
        }
    }
    say(model, StatusKind::Info, format!("blocked: {name}"));
    Ok(Vec::new())
}

pub(super) fn image_form(index: Option<usize>, image: &AdditionalImage) -> Form {
    let platforms: Vec<String> = image.platforms.iter().map(ToString::to_string).collect();
    Form {
        kind: index.map_or(FormKind::AddImage, FormKind::EditImage),
        title: if index.is_some() {
            "Edit an additional image".into()
        } else {
            "Add an additional image".into()
        },
        fields: vec![
            Field::text(
                FieldId::Name,
                image.name.clone(),
                "registry/namespace/name:tag or ...@sha256:<digest> (a digest pins it), or oci:///path",
            ),
            Field::text(
                FieldId::TargetRepo,
                image.target_repo.clone().unwrap_or_default(),
                "optional: [namespace/]name in the mirror",
            ),
            Field::text(
                FieldId::TargetTag,
                image.target_tag.clone().unwrap_or_default(),
                "optional: tag in the mirror",
            ),
            Field::text(
                FieldId::Platforms,
                platforms.join(", "),
                "optional: linux/amd64, linux/arm64 ... (none: every platform)",
            ),
        ],
        focus: 0,
        error: None,
    }
}
