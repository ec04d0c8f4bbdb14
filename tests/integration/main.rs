//! ferry's single integration-test binary: tests against real registries (`docker-registry`) and skopeo.
//! Run with `scripts/test.sh` (installs those tools) or `cargo test` once they are installed.

mod support;

mod catalog;
mod cli;
mod disk;
mod harness;
mod m2m;
mod token_auth;
mod tui;
