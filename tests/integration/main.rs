//! ferry's single integration-test binary: tests against real registries (`docker-registry`) and skopeo.
//! Run with `scripts/test.sh` (installs those tools) or `cargo test` once they are installed.
// A test or bench binary: its `pub` items are shared between its own modules, never exported, and a failed
// step panics with its cause.
#![allow(unreachable_pub, clippy::unwrap_used)]

mod support;

mod catalog;
mod cli;
mod delete;
mod disk;
mod harness;
mod helm;
mod m2m;
mod release;
mod signatures;
mod token_auth;
mod tui;
