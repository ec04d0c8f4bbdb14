//! ferry: mirror container images, operator catalogs and OpenShift releases into disconnected registries.
//!
//! One pipeline: `config` → `collect` → `plan` → `engine` → emit (cluster `resources`, reports). Only `registry`
//! speaks HTTP; the engine emits events and never prints; `report` turns events into progress for people;
//! `workflow` orchestrates whole runs and `cli` is the command line over all of it. Modules are crate-private: the
//! library's API is the command line ([`cli::main`]) and what the benches time.

pub(crate) mod auth;
pub(crate) mod catalog;
pub mod cli;
pub(crate) mod clock;
pub(crate) mod collect;
pub(crate) mod config;
pub(crate) mod delete;
pub(crate) mod engine;
pub(crate) mod events;
pub(crate) mod files;
pub(crate) mod helm;
pub(crate) mod image;
pub(crate) mod plan;
pub(crate) mod reference;
pub(crate) mod registries_conf;
pub(crate) mod registry;
pub(crate) mod release;
pub(crate) mod report;
pub(crate) mod resources;
pub(crate) mod signature;
pub(crate) mod source;
pub(crate) mod store;
pub(crate) mod sync;
pub(crate) mod tui;
pub(crate) mod workflow;

pub use catalog::{read_catalog_dir, CatalogContents};
