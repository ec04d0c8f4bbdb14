#!/usr/bin/env bash
# The test command (README): installs the real components the integration tests run against when they are missing
# (scripts/install-deps.sh), then runs `cargo test "$@"` (e.g. `scripts/test.sh --test integration m2m`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh
exec cargo test "$@"
