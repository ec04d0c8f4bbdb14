#!/usr/bin/env bash
# The offline demo (README): mirrors the 3-platform image in examples/demo/layout (an OCI layout shipped in the
# repository) into a local registry that this script starts, first for one platform, then for all, then through an
# archive (mirror-to-disk, describe, disk-to-mirror), and shows the results with skopeo. Needs nothing from the network but Debian packages for the registry and skopeo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash scripts/install-deps.sh
cargo build --quiet --bin ferry
ferry=target/debug/ferry

work=$(mktemp -d)
trap 'kill "${registry_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

cat >"$work/registry.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: 127.0.0.1:0
log:
  level: info
  accesslog:
    disabled: true
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 50); do
    registry=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/registry.log" | head -1 | cut -d' ' -f3 || true)
    [[ -n "$registry" ]] && break
    sleep 0.1
done
[[ -n "${registry:-}" ]] || { cat "$work/registry.log"; echo "the registry did not start" >&2; exit 1; }
echo "== local registry on $registry"

cat >"$work/isc.yaml" <<YAML
apiVersion: mirror.openshift.io/v2alpha1
kind: ImageSetConfiguration
mirror:
  additionalImages:
  - name: oci://$PWD/examples/demo/layout:hello
    targetRepo: demo/hello
    targetTag: "1.0"
YAML

echo "== ferry validate"
"$ferry" validate -c "$work/isc.yaml"

echo "== ferry mirror --dry-run"
"$ferry" mirror -c "$work/isc.yaml" --workspace "file://$work/ws" "docker://$registry/mirror" --dest-tls-verify=false --dry-run
cat "$work/ws/working-dir/dry-run/mapping.txt"

echo "== ferry mirror --platform linux/arm64 (a tag reference: the index is reduced to the selected platform)"
"$ferry" mirror -c "$work/isc.yaml" --workspace "file://$work/ws" "docker://$registry/mirror" --dest-tls-verify=false --platform linux/arm64
skopeo inspect --raw --tls-verify=false "docker://$registry/mirror/demo/hello:1.0"; echo

echo "== ferry mirror (every platform; the original index digest is restored)"
"$ferry" mirror -c "$work/isc.yaml" --workspace "file://$work/ws" "docker://$registry/mirror" --dest-tls-verify=false
skopeo inspect --raw --tls-verify=false "docker://$registry/mirror/demo/hello:1.0"; echo

echo "== ferry mirror again (nothing to do)"
"$ferry" mirror -c "$work/isc.yaml" --workspace "file://$work/ws" "docker://$registry/mirror" --dest-tls-verify=false

echo "== across an air gap: mirror to disk, describe the archive, push it from disk"
"$ferry" mirror -c "$work/isc.yaml" "file://$work/archive"
"$ferry" describe "file://$work/archive"
"$ferry" mirror -c "$work/isc.yaml" --from "file://$work/archive" "docker://$registry/from-disk" --dest-tls-verify=false
skopeo inspect --raw --tls-verify=false "docker://$registry/from-disk/demo/hello:1.0" | sha256sum

echo "== cluster resources"
cat "$work/ws/working-dir/cluster-resources/"*.yaml 2>/dev/null || echo "(none: an oci:// source has no registry to redirect)"
