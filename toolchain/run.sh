#!/usr/bin/env bash
# Entry point of the npm scripts: set up the toolchain (idempotent, cached),
# then run a TypeScript script with the pinned Node.
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env.sh"
bash "$MIRRORKIT_ROOT/toolchain/setup.sh"
cd "$MIRRORKIT_ROOT"
exec node --import tsx "$@"
