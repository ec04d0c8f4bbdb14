//! `update`: the only place the TUI's state changes. It takes one [`Msg`], changes the [`Model`], and returns the
//! [`Command`]s (I/O) to run; it never blocks, never reads the clock and never touches the network.

mod catalogs;
mod channels;
mod charts;
mod forms;
mod images;
mod packages;
mod platforms;
mod releases;
mod run;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::commands::Command;
use super::model::{
    CatalogEntry, Dialog, EndpointError, Field, FieldId, Form, FormKind, LoadState, Model, Pane, Resolved, RunMode,
    RunOutcome, RunProgress, RunSettings, Screen, Status, StatusKind,
};
use super::msg::Msg;
use crate::config::{
    AdditionalImage, BlockedImage, ChannelType, Operator, Package, PackageChannel, ReleaseChannel, VersionError,
    RELEASE_ARCHITECTURES, TAG_HELP, TARGET_PATH_HELP,
};
use crate::events::Event;
use crate::image::{Platform, PlatformError};
use crate::reference::ReferenceError;

pub(crate) use catalogs::load_command;
use catalogs::*;
use channels::*;
use charts::*;
use forms::*;
pub(crate) use forms::{add_catalog, normalize_catalog};
use images::*;
use packages::*;
use platforms::*;
use releases::*;
use run::*;

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
    #[error("give the chart's source: a repository URL (https:// or oci://) or a local path")]
    NoChartSource,
    #[error("give the chart's name (only an https:// repository may be mirrored whole)")]
    NoChartName,
    #[error(transparent)]
    Endpoints(#[from] EndpointError),
    #[error("the configuration is not valid: {field}: {message}")]
    InvalidConfiguration { field: String, message: String },
    #[error("nothing selected: select packages, images or releases first")]
    NothingSelected,
}

/// What the command line gives the TUI at start.
pub(crate) struct Start<'a> {
    /// `--catalog` references to browse besides the configuration's catalogs.
    pub catalogs: &'a [String],
    /// `--from`: the archives catalogs are read from.
    pub from: Option<&'a str>,
    pub colors: bool,
}

/// The first change of a new model: its catalogs loading, its release channels resolving, the `--catalog` ones
/// added, the welcome status; returns the commands that load them.
pub(crate) fn start(model: &mut Model, start: &Start<'_>) -> Result<Vec<Command>, crate::tui::CatalogOptionError> {
    model.colors = start.colors;
    let mut commands: Vec<Command> = model.catalogs.iter().map(load_command).collect();
    let channels = model.releases.channels.clone();
    commands.extend(channels.iter().map(|channel| model.resolve_command(channel)));
    for reference in start.catalogs {
        let refused = |error| crate::tui::CatalogOptionError {
            reference: reference.clone(),
            error,
        };
        let normalized = normalize_catalog(reference).map_err(refused)?;
        if model.catalogs.iter().any(|c| c.operator.catalog == normalized) {
            continue;
        }
        commands.extend(add_catalog(model, reference, start.from.unwrap_or("")).map_err(refused)?);
    }
    model.catalog_cursor = 0;
    model.status = Status {
        text: if model.catalogs.is_empty() {
            "press a to add a catalog, ? for every key".into()
        } else {
            format!("loading {} catalog(s); ? shows every key", model.catalogs.len())
        },
        kind: StatusKind::Info,
    };
    Ok(commands)
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
        Msg::ChannelResolved { name, result } => {
            let state = match result {
                Ok(versions) => Resolved::Versions(versions),
                Err(error) => Resolved::Failed(error),
            };
            model.resolved.insert(name, state);
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
                    model.saved = serde_yaml::from_str(&yaml).unwrap_or_else(|_| model.isc());
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
        return ctrl_c(model);
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
    if key.code == KeyCode::Char('q') {
        return request_quit(model);
    }
    if screen_key(model, key) {
        return Vec::new();
    }
    pane_key(model, key)
}

/// `ctrl-c`: cancels the run; else closes the dialog, stops typing a filter, or quits (asking first).
fn ctrl_c(model: &mut Model) -> Vec<Command> {
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
    request_quit(model)
}

/// The keys that work the same in every pane (help, panes, screens, `/`); whether `key` was one of them.
fn screen_key(model: &mut Model, key: KeyEvent) -> bool {
    match key.code {
        KeyCode::Char('?') => model.dialog = Some(Dialog::Help { scroll: 0 }),
        KeyCode::Tab => cycle_focus(model, 1),
        KeyCode::BackTab => cycle_focus(model, Pane::ORDER.len() - 1),
        KeyCode::Char('/') if model.screen() == Screen::Operators && model.catalog().is_some() => {
            model.focus = Pane::Packages;
            model.filtering = true;
        }
        KeyCode::Char(c @ '1'..='5') => {
            let screen = Screen::ALL[c as usize - '1' as usize];
            if model.screen() != screen {
                model.focus = screen.first_pane();
            }
        }
        _ => return false,
    }
    true
}

/// A key for the focused pane.
fn pane_key(model: &mut Model, key: KeyEvent) -> Vec<Command> {
    let handler: fn(&mut Model, KeyEvent) = match model.focus {
        Pane::Catalogs => return catalogs_key(model, key),
        Pane::Packages => packages_key,
        Pane::Channels => channels_key,
        Pane::Bundles => bundles_key,
        Pane::Platforms => platforms_key,
        Pane::Images => images_key,
        Pane::Charts => charts_key,
        Pane::Blocked => blocked_key,
        Pane::Releases => releases_key,
        Pane::Preview => preview_key,
        Pane::Run => run_key,
    };
    handler(model, key);
    Vec::new()
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
