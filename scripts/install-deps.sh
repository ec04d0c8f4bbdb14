#!/usr/bin/env bash
# Installs the real components that ferry's tests and demo run against, when they are missing:
#   docker-registry  CNCF distribution 2.8.2, the registry the tests spawn on 127.0.0.1:0
#   skopeo           the independent peer that loads fixtures and checks results
#   apache2-utils    htpasswd, for basic-auth registries
#   openssl          makes the test CA of TLS registries
#   tmux             drives the terminal UI in its end-to-end tests
# Debian/Ubuntu (apt-get) only; as root, else through sudo. Non-interactive.
# Note: installing docker-registry on a machine with systemd also enables its own service on port 5000; ferry's
# tests and demo do not use it.
set -euo pipefail

die() {
    echo "scripts/install-deps.sh: error: $*" >&2
    exit 1
}

missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)

if ((${#missing[@]} > 0)); then
    echo "scripts/install-deps.sh: installing missing packages: ${missing[*]}" >&2
    command -v apt-get >/dev/null 2>&1 ||
        die "apt-get not found; install the equivalents of these Debian packages yourself: ${missing[*]}"
    if [[ $(id -u) -eq 0 ]]; then
        as_root=()
    elif command -v sudo >/dev/null 2>&1; then
        # Non-interactive runs (CI) must not hang on a password prompt.
        if [[ -t 0 ]]; then as_root=(sudo); else as_root=(sudo -n); fi
    else
        die "not root and sudo not found; as root run: apt-get update && apt-get install -y ${missing[*]}"
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update ||
        die "apt-get update failed (as root run: apt-get update && apt-get install -y ${missing[*]})"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
        die "apt-get install ${missing[*]} failed"
fi

for tool in docker-registry skopeo htpasswd openssl tmux cargo; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is still not on PATH"
done

