//! `ferry tui`: build an ImageSetConfiguration by browsing catalogs, preview it, save it, run it.
//!
//! Elm style: a [`Model`](model::Model) holds all state; terminal events, clock ticks and command results arrive as
//! [`Msg`](msg::Msg)s through one `tokio::select!` loop; [`update`](update::update) is the only place state
//! changes and returns [`Command`](commands::Command)s, which [`commands`] runs as tasks (the only code that calls
//! the library or does I/O); [`view`](view::view) draws the model and never changes it. The screen is redrawn at
//! most every 33 ms when something changed, not once per engine event.

pub(crate) mod commands;
pub(crate) mod model;
pub(crate) mod msg;
pub(crate) mod terminal;
pub(crate) mod update;
pub(crate) mod view;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use commands::{Executor, LibraryOptions};
use model::Model;
use msg::Msg;

/// What `ferry tui` was started with.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// `-c`: the configuration to start from (its fields the TUI does not edit are kept).
    pub config: Option<PathBuf>,
    /// `--catalog`: more catalogs to browse.
    pub catalogs: Vec<String>,
    /// `-o`: where `ctrl-s` writes.
    pub output: PathBuf,
    /// `--from file://DIR`: read the catalogs from ferry archives.
    pub from: Option<String>,
    pub library: LibraryOptions,
}

/// Whether `NO_COLOR` asks for no colours (set and not empty, per no-color.org).
pub(crate) fn colors_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// A `--catalog` option that cannot be browsed.
#[derive(Debug, thiserror::Error)]
#[error("--catalog {reference}: {error}")]
pub(crate) struct CatalogOptionError {
    pub(crate) reference: String,
    #[source]
    pub(crate) error: update::FormError,
}

/// The initial model and the commands that load its catalogs; an error is a bad `--catalog`. The model is made
/// from the configuration, then changed only by `update`.
pub(crate) fn init(
    options: &Options,
    base: crate::config::ImageSetConfiguration,
    now: Instant,
) -> Result<(Model, Vec<commands::Command>), CatalogOptionError> {
    let mut model = Model::new(base, options.output.clone(), options.from.clone(), now);
    let start = update::Start {
        catalogs: &options.catalogs,
        from: options.from.as_deref(),
        colors: colors_wanted(),
    };
    let commands = update::start(&mut model, &start)?;
    Ok((model, commands))
}

/// Runs the TUI; returns the process exit code.
pub(crate) fn run(options: Options) -> i32 {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!("error: ferry tui needs a terminal\n  help: to script, write the ImageSetConfiguration by hand (ferry init prints a template)");
        return 1;
    }
    let base = match &options.config {
        Some(path) => match commands::load_config(path) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("error: {error}");
                return 1;
            }
        },
        None => crate::config::ImageSetConfiguration::default(),
    };
    let (mut model, initial) = match init(&options, base, Instant::now()) {
        Ok(ready) => ready,
        Err(error) => {
            eprintln!("error: {error}");
            return 1;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return 1;
        }
    };
    let result = runtime.block_on(async {
        let mut guard = terminal::setup()?;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut executor = Executor::new(tx, options.library.clone());
        for command in initial {
            executor.execute(command);
        }
        let result = event_loop(&mut guard.terminal, &mut model, &mut executor, &mut rx).await;
        drop(guard);
        result
    });
    // Catalog loads still in flight are abandoned.
    runtime.shutdown_background();
    match result {
        Ok(()) => {
            if model.is_dirty() {
                eprintln!("ferry tui: quit without saving the changes");
            }
            0
        }
        Err(error) => {
            eprintln!("error: the terminal failed: {error}");
            1
        }
    }
}

fn translate(event: TermEvent) -> Option<Msg> {
    match event {
        TermEvent::Key(key) if key.kind != KeyEventKind::Release => Some(Msg::Key(key)),
        TermEvent::Paste(text) => Some(Msg::Paste(text)),
        TermEvent::Resize(..) => Some(Msg::Resize),
        _ => None,
    }
}

async fn event_loop(
    terminal: &mut terminal::Tui,
    model: &mut Model,
    executor: &mut Executor,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
) -> std::io::Result<()> {
    let mut events = EventStream::new();
    let mut clock = tokio::time::interval(Duration::from_millis(250));
    clock.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut frames = tokio::time::interval(Duration::from_millis(33));
    frames.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut dirty = true;
    loop {
        let msg = tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => match translate(event) {
                    Some(msg) => msg,
                    None => continue,
                },
                Some(Err(error)) => return Err(error),
                None => return Ok(()),
            },
            Some(msg) = rx.recv() => msg,
            instant = clock.tick() => Msg::Tick(instant.into_std()),
            _ = frames.tick() => {
                if dirty {
                    terminal.draw(|frame| view::view(model, frame))?;
                    dirty = false;
                }
                continue;
            }
        };
        if matches!(msg, Msg::Resize) {
            terminal.autoresize()?;
        }
        for command in update::update(model, msg) {
            executor.execute(command);
        }
        dirty = true;
        if model.quit {
            return Ok(());
        }
    }
}

#[cfg(test)]
pub(crate) mod update_tests;
