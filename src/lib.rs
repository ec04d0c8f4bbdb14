//! ferry: mirror container images, operator catalogs and OpenShift releases into disconnected registries.
//!
//! One pipeline: `config` → `collect` → plan → `engine` → emit (cluster `resources`, reports). Only `registry`
//! speaks HTTP; the engine emits events and never prints; `report` turns events into progress for people.

pub mod auth;
pub mod config;
pub mod image;
pub mod reference;
pub mod registries_conf;
