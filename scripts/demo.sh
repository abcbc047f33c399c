#!/usr/bin/env bash
# Sets everything up (idempotent), speaks and prepares the bundled demo corpus
# (data/demo/sentences.txt, our own text, spoken by espeak-ng), then trains the
# tiny demo model on it for a few minutes on CPU.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -p sovits
SOVITS=./target/release/sovits
$SOVITS smoke

DEMO=${SOVITS_DEMO_DIR:-$HOME/.cache/sovits/demo}
if [ ! -f "$DEMO/prepared/metadata.json" ]; then
  echo "[demo] speaking data/demo/sentences.txt with espeak-ng into $DEMO/wav"
  rm -rf "$DEMO"
  mkdir -p "$DEMO/wav"
  grep -v '^#' data/demo/sentences.txt | grep '|' | while IFS='|' read -r stem text; do
    espeak-ng -v en-us -s 150 -w "$DEMO/wav/$stem.wav" "$text"
  done
  $SOVITS --spec configs/demo.json prepare --audio "$DEMO/wav" --transcripts data/demo/sentences.txt \
    --out "$DEMO/prepared.tmp" --units kmeans
  mv "$DEMO/prepared.tmp" "$DEMO/prepared"
fi
$SOVITS --spec configs/demo.json data check "$DEMO/prepared"
RUN=${SOVITS_DEMO_RUN:-runs/demo}
rm -rf "$RUN"
$SOVITS --spec configs/demo.json train --data "$DEMO/prepared" --out "$RUN"
echo "[demo] run directory: $RUN: metrics.jsonl (losses, eval/ metrics), samples/step-N/ (real, reconstructed and inferred wavs + mel PNG), checkpoints/, best/, spec.json"
