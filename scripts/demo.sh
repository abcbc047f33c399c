#!/usr/bin/env bash
# Sets everything up (idempotent) and runs the main job on the bundled demo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -p sovits
./target/release/sovits smoke
