//! Keys of the Releases pane: release channels and their form.

use super::*;

pub(super) fn releases_key(model: &mut Model, key: KeyEvent) {
    let channels = model.releases.channels.len();
    if let Some(mv) = movement(&key) {
        model.release_cursor = moved(model.release_cursor, model.release_rows(), mv);
        return;
    }
    let on_channel = model.release_cursor < channels;
    match key.code {
        KeyCode::Char('a') => {
            model.dialog = Some(Dialog::Form(release_form(None, &ReleaseChannel::default())));
        }
        KeyCode::Enter | KeyCode::Char('e') if on_channel => {
            let channel = &model.releases.channels[model.release_cursor];
            model.dialog = Some(Dialog::Form(release_form(Some(model.release_cursor), channel)));
        }
        KeyCode::Char('d') | KeyCode::Delete if on_channel => {
            let removed = model.releases.channels.remove(model.release_cursor);
            model.release_cursor = model.release_cursor.min(model.release_rows().saturating_sub(1));
            say(
                model,
                StatusKind::Info,
                format!("removed release channel {}", removed.name),
            );
        }
        KeyCode::Char(' ') | KeyCode::Enter if !on_channel => {
            let arch = RELEASE_ARCHITECTURES[model.release_cursor - channels].to_string();
            let architectures = &mut model.releases.architectures;
            if let Some(at) = architectures.iter().position(|a| *a == arch) {
                architectures.remove(at);
            } else {
                architectures.push(arch);
                architectures.sort_by_key(|a| RELEASE_ARCHITECTURES.iter().position(|r| r == a));
            }
            let text = if architectures.is_empty() {
                "release architectures: amd64 (the default)".to_string()
            } else {
                format!("release architectures: {}", architectures.join(", "))
            };
            say(model, StatusKind::Info, text);
        }
        KeyCode::Esc => model.focus = Pane::Catalogs,
        _ => {}
    }
}

pub(super) fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

pub(super) fn release_form(index: Option<usize>, channel: &ReleaseChannel) -> Form {
    Form {
        kind: index.map_or(FormKind::AddRelease, FormKind::EditRelease),
        title: if index.is_some() {
            "Edit a release channel".into()
        } else {
            "Add a release channel".into()
        },
        fields: vec![
            Field::text(
                FieldId::Channel,
                channel.name.clone(),
                "stable-4.16, fast-4.17, eus-4.16, okd ...",
            ),
            Field::choice(
                FieldId::ChannelType,
                vec!["ocp", "okd"],
                channel.channel_type.as_str(),
                "OpenShift (ocp) or OKD",
            ),
            Field::text(
                FieldId::MinVersion,
                channel.min_version.clone().unwrap_or_default(),
                "optional: 4.16.3",
            ),
            Field::text(
                FieldId::MaxVersion,
                channel.max_version.clone().unwrap_or_default(),
                "optional: 4.16.10",
            ),
            Field::choice(
                FieldId::Full,
                vec!["no", "yes"],
                yes_no(channel.full),
                "every release of the channel",
            ),
            Field::choice(
                FieldId::ShortestPath,
                vec!["no", "yes"],
                yes_no(channel.shortest_path),
                "only the upgrade path from min to max",
            ),
        ],
        focus: 0,
        error: None,
    }
}
