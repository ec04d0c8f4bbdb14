//! Everything that can happen to the TUI, as one enum: keys and resizes from the terminal, ticks of the clock,
//! and results that commands (catalog loads, saves, runs) send back from their tasks.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crossterm::event::KeyEvent;

use super::model::{CatalogData, RunOutcome};
use crate::events::Event;

/// Why `ctrl-s` could not write the configuration.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub(crate) struct SaveError {
    pub path: PathBuf,
    pub source: Arc<std::io::Error>,
}

#[derive(Debug, Clone)]
pub(crate) enum Msg {
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    Resize,
    /// The clock advanced (spinners, elapsed times, transfer rate).
    Tick(Instant),
    /// Bytes of a loading catalog's layers read so far.
    CatalogProgress {
        id: u64,
        fetched: u64,
    },
    /// A catalog finished loading, or failed with a message for people.
    /// The versions a release channel resolves to (or why not).
    ChannelResolved {
        name: String,
        result: Result<Vec<String>, String>,
    },
    CatalogLoaded {
        id: u64,
        result: Result<Arc<CatalogData>, String>,
    },
    /// `ctrl-s` wrote `yaml` to `path`, or could not.
    Saved {
        path: PathBuf,
        yaml: String,
        result: Result<(), SaveError>,
    },
    /// A progress event of the running workflow (byte counts arrive as `RunBytes` instead).
    Engine(Event),
    /// Bytes copied since the previous `RunBytes` (the engine reports bytes too often to forward each event).
    RunBytes(u64),
    RunFinished(RunOutcome),
}
