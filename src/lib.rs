//! ferry: mirror container images, operator catalogs and OpenShift releases into disconnected registries.
//!
//! One pipeline: `config` → `collect` → plan → `engine` → emit (cluster `resources`, reports). Only `registry`
//! speaks HTTP; the engine emits events and never prints; `report` turns events into progress for people.

pub mod auth;
pub mod config;
pub mod image;
pub mod reference;
pub mod registries_conf;
pub mod engine;
pub mod plan;
pub mod registry;
pub mod store;
// pub mod collect;
pub mod resources;
// pub mod workflow;
// pub mod report;
