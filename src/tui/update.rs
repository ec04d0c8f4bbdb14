//! `update`: the only place the TUI's state changes. It takes one [`Msg`], changes the [`Model`], and returns the
//! [`Command`]s (I/O) to run; it never blocks, never reads the clock and never touches the network.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::commands::Command;
use super::model::{
    CatalogEntry, Dialog, EndpointError, Field, Form, FormKind, LoadState, Model, Pane, RunMode, RunOutcome,
    RunProgress, RunSettings, Screen, Status, StatusKind,
};
use super::msg::Msg;
use crate::config::{
    AdditionalImage, BlockedImage, ChannelType, Operator, Package, PackageChannel, ReleaseChannel, VersionError,
    RELEASE_ARCHITECTURES, TAG_HELP, TARGET_PATH_HELP,
};
use crate::events::Event;
use crate::image::{Platform, PlatformError};
use crate::reference::ReferenceError;

/// Rows moved by PageUp/PageDown.
const PAGE: usize = 10;
/// Informational run lines kept.
const LOG_LINES: usize = 50;
/// The window the transfer rate is averaged over.
const RATE_WINDOW: Duration = Duration::from_secs(5);

/// Why a form (or a `--catalog` option) is refused; the form stays open with the message.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FormError {
    #[error("give the catalog reference")]
    NoCatalog,
    #[error("`{reference}` is not an oci://DIR[:NAME] reference")]
    NotOciLayout { reference: String },
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("the archive must be file://DIR")]
    ArchiveNotDirectory,
    #[error("{reference} is already in the list")]
    CatalogListed { reference: String },
    #[error("`{path}` is not a valid target catalog: {TARGET_PATH_HELP}")]
    TargetCatalog { path: String },
    #[error("`{tag}` is not a valid tag: {TAG_HELP}")]
    TargetTag { tag: String },
    #[error("give the image name")]
    NoImageName,
    #[error("an image name has no spaces")]
    ImageNameSpaces,
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error("give the channel name, such as stable-4.16")]
    NoChannelName,
    #[error(transparent)]
    Version(#[from] VersionError),
    #[error("release channel {channel} is already listed")]
    ReleaseListed { channel: String },
    /// A `blockedImages` name `ferry validate` would refuse (the message says why).
    #[error("{message}")]
    BlockedPattern { message: String },
    #[error("{name} is already blocked")]
    AlreadyBlocked { name: String },
    #[error(transparent)]
    Endpoints(#[from] EndpointError),
    #[error("the configuration is not valid: {field}: {message}")]
    InvalidConfiguration { field: String, message: String },
    #[error("nothing selected: select packages, images or releases first")]
    NothingSelected,
}

/// Applies one message; returns the commands to execute.
pub(crate) fn update(model: &mut Model, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Key(key) if key.kind == KeyEventKind::Release => Vec::new(),
        Msg::Key(key) => on_key(model, key),
        Msg::Paste(text) => {
            paste(model, &text);
            Vec::new()
        }
        Msg::Resize => Vec::new(),
        Msg::Tick(now) => {
            tick(model, now);
            Vec::new()
        }
        Msg::CatalogLoaded { id, result } => {
            catalog_loaded(model, id, result);
            Vec::new()
        }
        Msg::CatalogProgress { id, fetched } => {
            if let Some(catalog) = model.catalogs.iter_mut().find(|c| c.id == id) {
                if let LoadState::Loading { fetched: shown, .. } = &mut catalog.load {
                    *shown = fetched;
                }
            }
            Vec::new()
        }
        Msg::Saved { path, yaml, result } => {
            match result {
                Ok(()) => {
                    model.saved_yaml = yaml;
                    say(model, StatusKind::Success, format!("wrote {}", path.display()));
                    if model.quit_after_save {
                        model.quit = true;
                    }
                }
                Err(error) => {
                    model.quit_after_save = false;
                    say(model, StatusKind::Error, format!("not saved: {error}"));
                }
            }
            Vec::new()
        }
        Msg::Engine(event) => {
            engine_event(model, event);
            Vec::new()
        }
        Msg::RunBytes(bytes) => {
            if let Some(run) = model.run.as_mut() {
                run.bytes += bytes;
            }
            Vec::new()
        }
        Msg::RunFinished(outcome) => {
            run_finished(model, outcome);
            Vec::new()
        }
    }
}

fn say(model: &mut Model, kind: StatusKind, text: impl Into<String>) {
    model.status = Status {
        text: text.into(),
        kind,
    };
}

#[derive(Debug, Clone, Copy)]
enum Move {
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
}

fn movement(key: &KeyEvent) -> Option<Move> {
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => Some(Move::Up),
        KeyCode::Down | KeyCode::Char('j') => Some(Move::Down),
        KeyCode::PageUp => Some(Move::PageUp),
        KeyCode::PageDown => Some(Move::PageDown),
        KeyCode::Home | KeyCode::Char('g') => Some(Move::Home),
        KeyCode::End | KeyCode::Char('G') => Some(Move::End),
        _ => None,
    }
}

fn moved(cursor: usize, len: usize, mv: Move) -> usize {
    if len == 0 {
        return 0;
    }
    let cursor = cursor.min(len - 1);
    match mv {
        Move::Up => cursor.saturating_sub(1),
        Move::Down => (cursor + 1).min(len - 1),
        Move::PageUp => cursor.saturating_sub(PAGE),
        Move::PageDown => (cursor + PAGE).min(len - 1),
        Move::Home => 0,
        Move::End => len - 1,
    }
}

fn is_ctrl(key: &KeyEvent, c: char) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char(c)
}

fn on_key(model: &mut Model, key: KeyEvent) -> Vec<Command> {
    if is_ctrl(&key, 'c') {
        if model.running() {
            return cancel_run(model);
        }
        if model.dialog.take().is_some() {
            return Vec::new();
        }
        if model.filtering {
            model.filtering = false;
            return Vec::new();
        }
        return request_quit(model);
    }
    if let Some(dialog) = model.dialog.take() {
        return dialog_key(model, dialog, key);
    }
    if is_ctrl(&key, 's') {
        return request_save(model);
    }
    if model.filtering {
        filter_key(model, key);
        return Vec::new();
    }
    match key.code {
        KeyCode::Char('?') => {
            model.dialog = Some(Dialog::Help { scroll: 0 });
            return Vec::new();
        }
        KeyCode::Char('q') => return request_quit(model),
        KeyCode::Tab => {
            cycle_focus(model, 1);
            return Vec::new();
        }
        KeyCode::BackTab => {
            cycle_focus(model, Pane::ORDER.len() - 1);
            return Vec::new();
        }
        KeyCode::Char('/') if model.screen() == Screen::Operators && model.catalog().is_some() => {
            model.focus = Pane::Packages;
            model.filtering = true;
            return Vec::new();
        }
        KeyCode::Char(c @ '1'..='5') => {
            let screen = Screen::ALL[c as usize - '1' as usize];
            if model.screen() != screen {
                model.focus = screen.first_pane();
            }
            return Vec::new();
        }
        _ => {}
    }
    match model.focus {
        Pane::Catalogs => catalogs_key(model, key),
        Pane::Packages => {
            packages_key(model, key);
            Vec::new()
        }
        Pane::Channels => {
            channels_key(model, key);
            Vec::new()
        }
        Pane::Bundles => {
            bundles_key(model, key);
            Vec::new()
        }
        Pane::Platforms => {
            platforms_key(model, key);
            Vec::new()
        }
        Pane::Images => {
            images_key(model, key);
            Vec::new()
        }
        Pane::Blocked => {
            blocked_key(model, key);
            Vec::new()
        }
        Pane::Releases => {
            releases_key(model, key);
            Vec::new()
        }
        Pane::Preview => {
            preview_key(model, key);
            Vec::new()
        }
        Pane::Run => {
            run_key(model, key);
            Vec::new()
        }
    }
}

fn cycle_focus(model: &mut Model, step: usize) {
    let at = Pane::ORDER.iter().position(|p| *p == model.focus).unwrap_or(0);
    model.focus = Pane::ORDER[(at + step) % Pane::ORDER.len()];
}

/// `q`, `ctrl-c` outside a run: quit, asking first when there are unsaved changes.
fn request_quit(model: &mut Model) -> Vec<Command> {
    if model.running() {
        say(
            model,
            StatusKind::Warning,
            "a run is in progress: ctrl-c cancels it, then q quits",
        );
    } else if model.is_dirty() {
        model.dialog = Some(Dialog::ConfirmQuit);
    } else {
        model.quit = true;
    }
    Vec::new()
}

/// `ctrl-s`: writes the configuration when it is valid; otherwise shows why not.
fn request_save(model: &mut Model) -> Vec<Command> {
    let isc = model.isc();
    let issues = isc.check();
    if let Some(first) = issues.first() {
        model.quit_after_save = false;
        let more = match issues.len() {
            1 => String::new(),
            n => format!(" (and {} more: see Preview)", n - 1),
        };
        say(
            model,
            StatusKind::Error,
            format!("not saved: {}: {}{more}", first.field, first.message),
        );
        model.focus = Pane::Preview;
        return Vec::new();
    }
    vec![Command::Save {
        path: model.output.clone(),
        yaml: isc.to_yaml(),
    }]
}

fn cancel_run(model: &mut Model) -> Vec<Command> {
    let Some(run) = model.run.as_mut() else {
        return Vec::new();
    };
    if run.cancelling {
        return Vec::new();
    }
    run.cancelling = true;
    say(model, StatusKind::Warning, "cancelling the run…");
    vec![Command::CancelRun]
}

fn paste(model: &mut Model, text: &str) {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    match model.dialog.as_mut() {
        Some(Dialog::Form(form)) => {
            if let Some(field) = form.fields.get_mut(form.focus) {
                if field.choices.is_empty() {
                    field.value.push_str(text.trim());
                }
            }
        }
        Some(_) => {}
        None if model.filtering => {
            if let Some(catalog) = model.catalog_mut() {
                catalog.filter.push_str(text.trim());
                catalog.package_cursor = 0;
            }
        }
        None => {}
    }
}

fn tick(model: &mut Model, now: std::time::Instant) {
    model.now = now;
    model.spinner = model.spinner.wrapping_add(1);
    if let Some(run) = model.run.as_mut().filter(|r| r.active()) {
        run.samples.push_back((now, run.bytes));
        while run.samples.len() > 2
            && run
                .samples
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW)
        {
            run.samples.pop_front();
        }
    }
}

fn catalog_loaded(model: &mut Model, id: u64, result: Result<std::sync::Arc<super::model::CatalogData>, String>) {
    let Some(catalog) = model.catalogs.iter_mut().find(|c| c.id == id) else {
        return;
    };
    let name = catalog.operator.catalog.clone();
    let (kind, text) = match result {
        Ok(data) => {
            let text = format!(
                "loaded {name}: {} packages, platforms {}",
                data.packages.len(),
                data.platforms.join(", ")
            );
            catalog.load = LoadState::Loaded(data);
            (StatusKind::Success, text)
        }
        Err(error) => {
            let text = if error.contains(&name) {
                error.clone()
            } else {
                format!("{name}: {error}")
            };
            catalog.load = LoadState::Failed(error);
            (StatusKind::Error, text)
        }
    };
    clamp_catalog(catalog);
    say(model, kind, text);
}

/// Keeps the cursors of a catalog inside their lists.
fn clamp_catalog(catalog: &mut CatalogEntry) {
    let clamp = |cursor: usize, len: usize| cursor.min(len.saturating_sub(1));
    catalog.package_cursor = clamp(catalog.package_cursor, catalog.package_rows().len());
    catalog.channel_cursor = clamp(catalog.channel_cursor, catalog.channel_rows().len());
    catalog.bundle_cursor = clamp(catalog.bundle_cursor, catalog.bundle_rows().len());
    catalog.platform_cursor = clamp(catalog.platform_cursor, catalog.platform_rows().len());
}

// --- Catalogs --------------------------------------------------------------------------------------------------

fn catalogs_key(model: &mut Model, key: KeyEvent) -> Vec<Command> {
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
fn toggle_whole(model: &mut Model) {
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

fn add_catalog_form() -> Form {
    Form {
        kind: FormKind::AddCatalog,
        title: "Add a catalog".into(),
        fields: vec![
            Field::text(
                "Reference",
                "",
                "docker://REGISTRY/REPO:TAG (or without docker://), oci://DIR[:NAME]",
            ),
            Field::text(
                "From archive",
                "",
                "optional: file://DIR to read the catalog offline from ferry archives",
            ),
        ],
        focus: 0,
        error: None,
    }
}

fn catalog_target_form(index: usize, catalog: &CatalogEntry) -> Form {
    Form {
        kind: FormKind::CatalogTarget(index),
        title: format!("Mirror {} as", catalog.operator.catalog),
        fields: vec![
            Field::text(
                "Target catalog",
                catalog.operator.target_catalog.clone().unwrap_or_default(),
                "targetCatalog: [namespace/]name under the destination; empty keeps the source's repository path",
            ),
            Field::text(
                "Target tag",
                catalog.operator.target_tag.clone().unwrap_or_default(),
                "targetTag: the rebuilt catalog's tag; empty keeps the source's tag",
            ),
        ],
        focus: 0,
        error: None,
    }
}

/// Sets (or, when empty, removes) the catalog's `targetCatalog` and `targetTag`.
fn set_catalog_target(model: &mut Model, index: usize, form: &Form) -> Result<Vec<Command>, FormError> {
    use crate::config::{is_valid_tag, is_valid_target_path};
    let target_catalog = Some(form.value("Target catalog").trim()).filter(|t| !t.is_empty());
    let target_tag = Some(form.value("Target tag").trim()).filter(|t| !t.is_empty());
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
fn mirrored_as(catalog: &CatalogEntry) -> String {
    let path = catalog.operator.target_catalog.as_deref().unwrap_or("(source path)");
    let tag = catalog.operator.target_tag.as_deref().unwrap_or("(source tag)");
    format!("{path}:{tag}")
}

// --- Packages --------------------------------------------------------------------------------------------------

fn packages_key(model: &mut Model, key: KeyEvent) {
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

fn move_package(catalog: &mut CatalogEntry, mv: Move) {
    let len = catalog.package_rows().len();
    let next = moved(catalog.package_cursor, len, mv);
    if next != catalog.package_cursor {
        catalog.package_cursor = next;
        catalog.channel_cursor = 0;
        catalog.bundle_cursor = 0;
    }
}

fn filter_key(model: &mut Model, key: KeyEvent) {
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

fn toggle_focused_package(model: &mut Model) {
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
fn select_package<'a>(catalog: &'a mut CatalogEntry, name: &str) -> &'a mut Package {
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

// --- Channels and bundles --------------------------------------------------------------------------------------

fn channels_key(model: &mut Model, key: KeyEvent) {
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
enum Bound {
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
enum RangeOf {
    Channel,
    Package,
}

fn bundles_key(model: &mut Model, key: KeyEvent) {
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
fn set_bound(model: &mut Model, range: RangeOf, bound: Bound) {
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
    let (label, slot) = match range {
        RangeOf::Package => (package.clone(), (&mut selected.min_version, &mut selected.max_version)),
        RangeOf::Channel => {
            let at = match selected.channels.iter().position(|c| c.name == channel) {
                Some(at) => at,
                None => {
                    selected.channels.push(PackageChannel {
                        name: channel.clone(),
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
    };
    let (min, max) = slot;
    match bound {
        Bound::Min => *min = Some(version.clone()),
        Bound::Max => *max = Some(version.clone()),
    }
    let inverted = match (min.as_deref(), max.as_deref()) {
        (Some(min), Some(max)) => matches!(
            (crate::config::parse_version(min), crate::config::parse_version(max)),
            (Ok(a), Ok(b)) if a > b
        ),
        _ => false,
    };
    if inverted {
        say(
            model,
            StatusKind::Warning,
            format!("{label}: minVersion is above maxVersion"),
        );
    } else {
        let scope = match range {
            RangeOf::Package => " (package range: its selected channels, or all when none is)",
            RangeOf::Channel => "",
        };
        let text = format!("{label}: {} {version}{scope}", bound.field());
        say(model, StatusKind::Info, text);
    }
}

/// Why a bound of `range` cannot be set on `package` now: the other kind of range is set.
fn range_conflict(package: Option<&Package>, range: RangeOf) -> Option<String> {
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
fn clear_range(model: &mut Model) {
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

// --- Platforms -------------------------------------------------------------------------------------------------

fn platforms_key(model: &mut Model, key: KeyEvent) {
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

// --- Additional images -----------------------------------------------------------------------------------------

fn images_key(model: &mut Model, key: KeyEvent) {
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

fn blocked_key(model: &mut Model, key: KeyEvent) {
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

fn blocked_form(index: Option<usize>, name: &str) -> Form {
    Form {
        kind: index.map_or(FormKind::AddBlocked, FormKind::EditBlocked),
        title: if index.is_some() {
            "Edit a blocked image".into()
        } else {
            "Block images".into()
        },
        fields: vec![Field::text(
            "Name",
            name,
            "an image name or a regular expression (e.g. `.*/debug-.*`): matching images are never mirrored",
        )],
        focus: 0,
        error: None,
    }
}

/// Adds or replaces a `blockedImages` entry, refused as `ferry validate` would refuse it.
fn set_blocked(model: &mut Model, index: Option<usize>, name: &str) -> Result<Vec<Command>, FormError> {
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

fn image_form(index: Option<usize>, image: &AdditionalImage) -> Form {
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
                "Name",
                image.name.clone(),
                "registry/namespace/name:tag or ...@sha256:<digest> (a digest pins it), or oci:///path",
            ),
            Field::text(
                "Target repo",
                image.target_repo.clone().unwrap_or_default(),
                "optional: [namespace/]name in the mirror",
            ),
            Field::text(
                "Target tag",
                image.target_tag.clone().unwrap_or_default(),
                "optional: tag in the mirror",
            ),
            Field::text(
                "Platforms",
                platforms.join(", "),
                "optional: linux/amd64, linux/arm64 ... (none: every platform)",
            ),
        ],
        focus: 0,
        error: None,
    }
}

// --- Releases --------------------------------------------------------------------------------------------------

fn releases_key(model: &mut Model, key: KeyEvent) {
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

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn release_form(index: Option<usize>, channel: &ReleaseChannel) -> Form {
    Form {
        kind: index.map_or(FormKind::AddRelease, FormKind::EditRelease),
        title: if index.is_some() {
            "Edit a release channel".into()
        } else {
            "Add a release channel".into()
        },
        fields: vec![
            Field::text(
                "Channel",
                channel.name.clone(),
                "stable-4.16, fast-4.17, eus-4.16, okd ...",
            ),
            Field::choice(
                "Type",
                vec!["ocp", "okd"],
                channel.channel_type.as_str(),
                "OpenShift (ocp) or OKD",
            ),
            Field::text(
                "Min version",
                channel.min_version.clone().unwrap_or_default(),
                "optional: 4.16.3",
            ),
            Field::text(
                "Max version",
                channel.max_version.clone().unwrap_or_default(),
                "optional: 4.16.10",
            ),
            Field::choice(
                "Full",
                vec!["no", "yes"],
                yes_no(channel.full),
                "every release of the channel",
            ),
            Field::choice(
                "Shortest path",
                vec!["no", "yes"],
                yes_no(channel.shortest_path),
                "only the upgrade path from min to max",
            ),
        ],
        focus: 0,
        error: None,
    }
}

// --- Preview and run -------------------------------------------------------------------------------------------

fn preview_key(model: &mut Model, key: KeyEvent) {
    let scroll = usize::from(model.preview_scroll);
    let lines = model.isc().to_yaml().lines().count() + model.isc().check().len() + 2;
    if let Some(mv) = movement(&key) {
        model.preview_scroll = u16::try_from(moved(scroll, lines, mv)).unwrap_or(u16::MAX);
    } else if key.code == KeyCode::Esc {
        model.focus = Pane::Catalogs;
    }
}

fn run_key(model: &mut Model, key: KeyEvent) {
    match key.code {
        KeyCode::Enter if !model.running() => {
            model.dialog = Some(Dialog::Form(run_form(&model.run_settings)));
        }
        KeyCode::Esc => model.focus = Pane::Catalogs,
        _ => {}
    }
}

fn run_form(settings: &RunSettings) -> Form {
    Form {
        kind: FormKind::Run,
        title: "Run the selection".into(),
        fields: vec![
            Field::choice(
                "Mode",
                RunMode::ALL.iter().map(|m| m.as_str()).collect(),
                settings.mode.as_str(),
                "dry-run plans only; mirror-to-disk writes archives; mirror-to-mirror pushes; disk-to-mirror pushes archives",
            ),
            Field::text(
                "Destination",
                settings.destination.clone(),
                "file://DIR (dry-run, mirror-to-disk) or docker://HOST[:PORT][/NS]",
            ),
            Field::text(
                "Workspace",
                settings.workspace.clone(),
                "file://DIR: state, logs and cluster resources of a registry destination (disk-to-mirror: the archives)",
            ),
            Field::choice(
                "Dest TLS verify",
                vec!["yes", "no"],
                yes_no(settings.dest_tls_verify),
                "no: skip certificate checks and allow plain HTTP",
            ),
        ],
        focus: 0,
        error: None,
    }
}

fn engine_event(model: &mut Model, event: Event) {
    let Some(run) = model.run.as_mut() else {
        return;
    };
    let mut log = |line: String| {
        run.log.push_back(line);
        while run.log.len() > LOG_LINES {
            run.log.pop_front();
        }
    };
    match event {
        Event::RunStarted { images } => run.images_total = images,
        Event::ImageStarted { index, name } => {
            run.current.insert(index, name);
        }
        Event::BytesCopied(bytes) => run.bytes += bytes,
        Event::BlobCopied { .. } => run.blobs_copied += 1,
        Event::BlobSkipped => run.blobs_skipped += 1,
        Event::BlobMounted => run.blobs_mounted += 1,
        Event::ManifestPushed => run.manifests += 1,
        Event::ImageDone { index, unchanged, .. } => {
            run.current.remove(&index);
            run.images_done += 1;
            if unchanged {
                run.images_unchanged += 1;
            }
        }
        Event::ImageFailed { index, name, error, .. } => {
            run.current.remove(&index);
            run.images_failed += 1;
            run.errors.push(format!("{name}: {error}"));
        }
        Event::Warning(text) => {
            log(format!("warning: {text}"));
            run.warnings.push(text);
        }
        Event::Info(text) => log(text),
        Event::Retrying { what, attempt, error } => {
            run.retries += 1;
            log(format!("retry {attempt} of {what}: {error}"));
        }
    }
}

fn run_finished(model: &mut Model, outcome: RunOutcome) {
    let now = model.now;
    let Some(run) = model.run.as_mut() else {
        return;
    };
    run.cancelling = false;
    run.finished = Some(now);
    run.current.clear();
    let (kind, text) = match &outcome {
        RunOutcome::Completed(result) if result.failed == 0 => (
            StatusKind::Success,
            format!(
                "run complete: {} images{}",
                result.planned,
                if result.dry_run { " planned (dry run)" } else { "" }
            ),
        ),
        RunOutcome::Completed(result) => (
            StatusKind::Warning,
            format!("run complete: {} of {} images failed", result.failed, result.planned),
        ),
        RunOutcome::Failed(error) => (StatusKind::Error, format!("run failed: {error}")),
        RunOutcome::Cancelled => (
            StatusKind::Warning,
            "run cancelled: uploads in flight were abandoned and no manifest refers to them; run again to resume"
                .to_string(),
        ),
    };
    if let RunOutcome::Completed(result) = &outcome {
        // A dry run reports no per-image events: the summary has the counts.
        run.images_total = run.images_total.max(result.planned);
        if run.images_done + run.images_failed == 0 {
            run.images_done = result.mirrored + result.unchanged;
            run.images_unchanged = result.unchanged;
            run.images_failed = result.failed;
        }
    }
    let cancelled = outcome == RunOutcome::Cancelled;
    run.outcome = Some(outcome);
    if cancelled {
        model.focus = Pane::Catalogs;
    }
    say(model, kind, text);
}

// --- Dialogs ---------------------------------------------------------------------------------------------------

fn dialog_key(model: &mut Model, dialog: Dialog, key: KeyEvent) -> Vec<Command> {
    match dialog {
        Dialog::Help { scroll } => {
            match (movement(&key), key.code) {
                (Some(mv), _) => {
                    let next = moved(usize::from(scroll), super::view::help::LINES.len(), mv);
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

fn form_key(model: &mut Model, mut form: Form, key: KeyEvent) -> Vec<Command> {
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
fn submit(model: &mut Model, mut form: Form) -> Vec<Command> {
    match apply_form(model, &form) {
        Ok(commands) => commands,
        Err(error) => {
            form.error = Some(error.to_string());
            model.dialog = Some(Dialog::Form(form));
            Vec::new()
        }
    }
}

fn apply_form(model: &mut Model, form: &Form) -> Result<Vec<Command>, FormError> {
    match form.kind {
        FormKind::AddCatalog => add_catalog(model, form.value("Reference"), form.value("From archive")),
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
            Ok(Vec::new())
        }
        FormKind::AddBlocked => set_blocked(model, None, form.value("Name")),
        FormKind::EditBlocked(at) => set_blocked(model, Some(at), form.value("Name")),
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

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn image_from_form(form: &Form) -> Result<AdditionalImage, FormError> {
    let name = form.value("Name");
    if name.is_empty() {
        return Err(FormError::NoImageName);
    }
    if name.chars().any(char::is_whitespace) {
        return Err(FormError::ImageNameSpaces);
    }
    let platforms = form
        .value("Platforms")
        .split([',', ' '])
        .filter(|p| !p.is_empty())
        .map(str::parse::<Platform>)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AdditionalImage {
        name: name.to_string(),
        target_repo: optional(form.value("Target repo")),
        target_tag: optional(form.value("Target tag")),
        platforms,
    })
}

fn release_from_form(form: &Form) -> Result<ReleaseChannel, FormError> {
    let name = form.value("Channel");
    if name.is_empty() {
        return Err(FormError::NoChannelName);
    }
    let min_version = optional(form.value("Min version"));
    let max_version = optional(form.value("Max version"));
    for version in min_version.iter().chain(max_version.iter()) {
        crate::config::parse_version(version)?;
    }
    Ok(ReleaseChannel {
        name: name.to_string(),
        channel_type: if form.value("Type") == "okd" {
            ChannelType::Okd
        } else {
            ChannelType::Ocp
        },
        min_version,
        max_version,
        full: form.value("Full") == "yes",
        shortest_path: form.value("Shortest path") == "yes",
    })
}

fn start_run(model: &mut Model, form: &Form) -> Result<Vec<Command>, FormError> {
    let settings = RunSettings {
        mode: RunMode::parse(form.value("Mode")).unwrap_or(RunMode::DryRun),
        destination: form.value("Destination").to_string(),
        workspace: form.value("Workspace").to_string(),
        dest_tls_verify: form.value("Dest TLS verify") != "no",
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
