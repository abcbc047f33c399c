#!/usr/bin/env bash
# Sets everything up (idempotent) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --workspace --all-targets
cargo test --workspace --no-fail-fast "$@"
