#!/usr/bin/env bash
# The test command (README): installs the real components the integration tests run against when they are missing
# (scripts/install-deps.sh), checks formatting and lints (rustfmt, clippy with warnings as errors), then runs
# `cargo test "$@"` (e.g. `scripts/test.sh --test integration m2m`). FERRY_SKIP_LINTS=1 skips the two checks for a
# focused run while working; CI never sets it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh
if [[ "${FERRY_SKIP_LINTS:-}" != 1 ]]; then
    cargo fmt --check
    cargo clippy --all-targets --locked -- -D warnings
fi
exec cargo test --locked "$@"
