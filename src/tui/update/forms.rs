//! Dialogs and forms: keys while one is open, and applying a submitted form to the model.

use super::*;

pub(super) fn dialog_key(model: &mut Model, dialog: Dialog, key: KeyEvent) -> Vec<Command> {
    match dialog {
        Dialog::Help { scroll } => {
            match (movement(&key), key.code) {
                (Some(mv), _) => {
                    let next = moved(usize::from(scroll), crate::tui::view::help::LINES.len(), mv);
                    model.dialog = Some(Dialog::Help {
                        scroll: u16::try_from(next).unwrap_or(0),
                    });
                }
                (None, KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter) => {}
                _ => model.dialog = Some(Dialog::Help { scroll }),
            }
            Vec::new()
        }
        Dialog::ConfirmQuit => match key.code {
            KeyCode::Char('y') | KeyCode::Char('q') => {
                model.quit = true;
                Vec::new()
            }
            KeyCode::Char('s') => {
                model.quit_after_save = true;
                request_save(model)
            }
            KeyCode::Char('n') | KeyCode::Esc => Vec::new(),
            _ => {
                model.dialog = Some(Dialog::ConfirmQuit);
                Vec::new()
            }
        },
        Dialog::Form(form) => form_key(model, form, key),
    }
}

pub(super) fn form_key(model: &mut Model, mut form: Form, key: KeyEvent) -> Vec<Command> {
    let count = form.fields.len();
    match key.code {
        KeyCode::Esc => return Vec::new(),
        KeyCode::Enter => return submit(model, form),
        KeyCode::Tab | KeyCode::Down => form.focus = (form.focus + 1) % count,
        KeyCode::BackTab | KeyCode::Up => form.focus = (form.focus + count - 1) % count,
        code => {
            let field = &mut form.fields[form.focus];
            if field.choices.is_empty() {
                match code {
                    KeyCode::Backspace => {
                        field.value.pop();
                    }
                    KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => field.value.clear(),
                    KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => field.value.push(c),
                    _ => {}
                }
            } else {
                let at = field.choices.iter().position(|c| *c == field.value).unwrap_or(0);
                let n = field.choices.len();
                let next = match code {
                    KeyCode::Left => Some((at + n - 1) % n),
                    KeyCode::Right | KeyCode::Char(' ') => Some((at + 1) % n),
                    _ => None,
                };
                if let Some(next) = next {
                    field.value = field.choices[next].to_string();
                }
            }
            form.error = None;
        }
    }
    model.dialog = Some(Dialog::Form(form));
    Vec::new()
}

/// Validates and applies a form; on error the form stays open with the message.
pub(super) fn submit(model: &mut Model, mut form: Form) -> Vec<Command> {
    match apply_form(model, &form) {
        Ok(commands) => commands,
        Err(error) => {
            form.error = Some(error.to_string());
            model.dialog = Some(Dialog::Form(form));
            Vec::new()
        }
    }
}

pub(super) fn apply_form(model: &mut Model, form: &Form) -> Result<Vec<Command>, FormError> {
    match form.kind {
        FormKind::AddCatalog => add_catalog(model, form.value(FieldId::Reference), form.value(FieldId::FromArchive)),
        FormKind::CatalogTarget(index) => set_catalog_target(model, index, form),
        FormKind::AddImage | FormKind::EditImage(_) => {
            let image = image_from_form(form)?;
            let text = match form.kind {
                FormKind::EditImage(at) if at < model.additional.len() => {
                    model.additional[at] = image;
                    format!("updated {}", model.additional[at].name)
                }
                _ => {
                    let text = format!("added {}", image.name);
                    model.additional.push(image);
                    model.image_cursor = model.additional.len() - 1;
                    text
                }
            };
            say(model, StatusKind::Info, text);
            Ok(Vec::new())
        }
        FormKind::AddRelease | FormKind::EditRelease(_) => {
            let channel = release_from_form(form)?;
            let resolve = model.resolve_command(&channel);
            let text = match form.kind {
                FormKind::EditRelease(at) if at < model.releases.channels.len() => {
                    model.releases.channels[at] = channel;
                    format!("updated release channel {}", model.releases.channels[at].name)
                }
                _ => {
                    if model.releases.channels.iter().any(|c| c.name == channel.name) {
                        return Err(FormError::ReleaseListed { channel: channel.name });
                    }
                    let text = format!("added release channel {}", channel.name);
                    model.releases.channels.push(channel);
                    model.release_cursor = model.releases.channels.len() - 1;
                    text
                }
            };
            say(model, StatusKind::Info, text);
            Ok(vec![resolve])
        }
        FormKind::AddChart => set_chart(model, None, form),
        FormKind::EditChart(at) => set_chart(model, Some(at), form),
        FormKind::AddBlocked => set_blocked(model, None, form.value(FieldId::Name)),
        FormKind::EditBlocked(at) => set_blocked(model, Some(at), form.value(FieldId::Name)),
        FormKind::Run => start_run(model, form),
    }
}

/// Adds a catalog typed by the user: `docker://` and bare references are written to the configuration without
/// the transport (as oc-mirror writes them), `oci://` ones as typed.
pub(crate) fn add_catalog(model: &mut Model, reference: &str, from: &str) -> Result<Vec<Command>, FormError> {
    let reference = normalize_catalog(reference)?;
    let from = match from.trim() {
        "" => None,
        dir => match dir.parse::<crate::reference::Location>() {
            Ok(crate::reference::Location::Directory(_)) => Some(dir.to_string()),
            _ => return Err(FormError::ArchiveNotDirectory),
        },
    };
    if let Some(at) = model.catalogs.iter().position(|c| c.operator.catalog == reference) {
        model.catalog_cursor = at;
        return Err(FormError::CatalogListed { reference });
    }
    let id = model.push_catalog(
        Operator {
            catalog: reference.clone(),
            ..Operator::default()
        },
        from,
    );
    let entry = model.catalogs.last_mut().expect("just pushed");
    // Added by hand: not in the configuration until a package is selected (space on it mirrors it whole).
    entry.whole = false;
    model.catalog_cursor = model.catalogs.len() - 1;
    let command = load_command(model.catalogs.last().expect("just pushed"));
    debug_assert!(matches!(command, Command::LoadCatalog { id: i, .. } if i == id));
    say(model, StatusKind::Info, format!("loading {reference}"));
    Ok(vec![command])
}

/// The `catalog` field for a typed reference; an error says what is wrong with it.
pub(crate) fn normalize_catalog(reference: &str) -> Result<String, FormError> {
    let reference = reference.trim();
    if reference.is_empty() {
        return Err(FormError::NoCatalog);
    }
    if reference.starts_with("oci:") {
        return match reference.parse::<crate::reference::Location>() {
            Ok(crate::reference::Location::OciLayout { .. }) => Ok(reference.to_string()),
            Ok(_) | Err(_) => Err(FormError::NotOciLayout {
                reference: reference.to_string(),
            }),
        };
    }
    let bare = reference.strip_prefix("docker://").unwrap_or(reference);
    bare.parse::<crate::reference::ImageReference>()?;
    Ok(bare.to_string())
}

pub(super) fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

pub(super) fn image_from_form(form: &Form) -> Result<AdditionalImage, FormError> {
    let name = form.value(FieldId::Name);
    if name.is_empty() {
        return Err(FormError::NoImageName);
    }
    if name.chars().any(char::is_whitespace) {
        return Err(FormError::ImageNameSpaces);
    }
    let platforms = form
        .value(FieldId::Platforms)
        .split([',', ' '])
        .filter(|p| !p.is_empty())
        .map(str::parse::<Platform>)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AdditionalImage {
        name: name.to_string(),
        target_repo: optional(form.value(FieldId::TargetRepo)),
        target_tag: optional(form.value(FieldId::TargetTag)),
        platforms,
    })
}

pub(super) fn release_from_form(form: &Form) -> Result<ReleaseChannel, FormError> {
    let name = form.value(FieldId::Channel);
    if name.is_empty() {
        return Err(FormError::NoChannelName);
    }
    let min_version = optional(form.value(FieldId::MinVersion));
    let max_version = optional(form.value(FieldId::MaxVersion));
    for version in min_version.iter().chain(max_version.iter()) {
        crate::config::parse_version(version)?;
    }
    Ok(ReleaseChannel {
        name: name.to_string(),
        channel_type: if form.value(FieldId::ChannelType) == "okd" {
            ChannelType::Okd
        } else {
            ChannelType::Ocp
        },
        min_version,
        max_version,
        full: form.value(FieldId::Full) == "yes",
        shortest_path: form.value(FieldId::ShortestPath) == "yes",
    })
}

pub(super) fn start_run(model: &mut Model, form: &Form) -> Result<Vec<Command>, FormError> {
    let settings = RunSettings {
        mode: RunMode::parse(form.value(FieldId::Mode)).unwrap_or(RunMode::DryRun),
        destination: form.value(FieldId::Destination).to_string(),
        workspace: form.value(FieldId::Workspace).to_string(),
        dest_tls_verify: form.value(FieldId::DestTlsVerify) != "no",
    };
    settings.endpoints()?;
    model.run_settings = settings.clone();
    let isc = model.isc();
    if let Some(issue) = isc.check().first() {
        return Err(FormError::InvalidConfiguration {
            field: issue.field.clone(),
            message: issue.message.clone(),
        });
    }
    if isc.spec.mirror.is_empty() {
        return Err(FormError::NothingSelected);
    }
    model.run = Some(RunProgress::new(settings.clone(), model.now));
    model.focus = Pane::Run;
    say(model, StatusKind::Info, format!("{} started", settings.mode.as_str()));
    Ok(vec![Command::StartRun {
        yaml: isc.to_yaml(),
        settings,
    }])
}
