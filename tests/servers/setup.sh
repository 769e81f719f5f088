#!/usr/bin/env bash
# Installs what the client integration tests (tests/tests/client_*.rs) need:
#   1. the Helios FHIR server `hfs` 0.2.7 (R5 + SQLite, debug build), cached with
#      `cargo install --root`, skipped when the cached binary already reports 0.2.7;
#   2. the OAuth 2.0 server `oidc-provider` from package-lock.json (`npm ci`);
#   3. the SearchParameter Bundle HFS loads from HFS_DATA_DIR, built from the FHIR
#      package cache (R5 core + the DHP IG), which `cargo xtask fetch` fills.
#
# It does not start anything: the tests start both servers themselves (see
# tests/servers/servers.mjs) and stop them when the test process exits.
#
# Environment (all optional):
#   DHP_SERVERS_CACHE    cache folder (default: ${XDG_CACHE_HOME:-$HOME/.cache}/dhp-rs)
#   HFS_TARGET_DIR       cargo target dir for the hfs build (default: /tmp/hfs-target)
#   FHIR_PACKAGE_CACHE   FHIR package cache (default: ~/.fhir/packages)
#
# Usage: bash tests/servers/setup.sh [hfs|node|searchparams|all]   (default: all)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${DHP_SERVERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dhp-rs}"
hfs_version="0.2.7"
hfs_root="$cache/hfs"
hfs_bin="$hfs_root/bin/hfs"
data_dir="$cache/hfs-data"

log() { printf '[servers/setup] %s\n' "$*" >&2; }

install_hfs() {
  if [ -x "$hfs_bin" ] && "$hfs_bin" --version 2>/dev/null | grep -qx "hfs $hfs_version"; then
    log "hfs $hfs_version already installed at $hfs_bin"
    return
  fi
  log "building hfs $hfs_version (debug, R5 + SQLite) into $hfs_root; this takes ~12 min"
  local start=$SECONDS
  # Debug build without debug info: a release build does not fit CI (NOTES.md).
  # Run outside the workspace so its profiles and config do not apply.
  (cd / && CARGO_TARGET_DIR="${HFS_TARGET_DIR:-/tmp/hfs-target}" CARGO_PROFILE_DEV_DEBUG=0 \
    cargo install "helios-hfs@$hfs_version" --locked --no-default-features \
      --features R5,sqlite --debug --root "$hfs_root")
  "$hfs_bin" --version
  log "hfs built in $((SECONDS - start)) s"
}

install_node() {
  local lock="$here/package-lock.json" stamp="$here/node_modules/.dhp-lock-sha"
  local sum
  sum="$(sha256sum "$lock" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    log "node_modules up to date"
    return
  fi
  log "npm ci in $here"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  printf '%s\n' "$sum" >"$stamp"
}

build_searchparams() {
  mkdir -p "$data_dir"
  node "$here/searchparams.mjs" "$data_dir"
}

case "${1:-all}" in
  hfs) install_hfs ;;
  node) install_node ;;
  searchparams) build_searchparams ;;
  all) install_node; build_searchparams; install_hfs ;;
  *) echo "usage: $0 [hfs|node|searchparams|all]" >&2; exit 2 ;;
esac
