//! ferry: mirror container images, operator catalogs and OpenShift releases into disconnected registries.
//!
//! One pipeline: `config` → `collect` → `plan` → `engine` → emit (cluster `resources`, reports). Only `registry`
//! speaks HTTP; the engine emits events and never prints; `report` turns events into progress for people;
//! `workflow` orchestrates whole runs and `cli` is the command line over all of it.

pub mod auth;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod collect;
pub mod config;
pub mod engine;
pub mod events;
pub mod image;
pub mod plan;
pub mod reference;
pub mod registries_conf;
pub mod registry;
pub mod report;
pub mod resources;
pub mod source;
pub mod store;
pub mod tui;
pub mod workflow;
