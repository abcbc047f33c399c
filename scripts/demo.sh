#!/usr/bin/env bash
# Sets everything up (idempotent), speaks and prepares the bundled demo corpus
# (data/demo/sentences.txt, our own text, spoken by espeak-ng), then trains the
# small CPU demo model (configs/demo.json) from scratch within a time budget,
# scoring the held-out sentences before the first step and at the end.
#
#   SOVITS_DEMO_MINUTES   training budget in minutes (default: what is left of 10
#                         minutes after the build, less the final evaluation)
#   SOVITS_DEMO_DIR       data cache (default ~/.cache/sovits/demo)
#   SOVITS_DEMO_RUN       run directory (default runs/demo)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -p sovits
START=$(date +%s)
SOVITS=./target/release/sovits
SPEC=configs/demo.json
$SOVITS smoke

DEMO=${SOVITS_DEMO_DIR:-$HOME/.cache/sovits/demo}
if [ ! -f "$DEMO/prepared/metadata.json" ]; then
  echo "[demo] speaking data/demo/sentences.txt with espeak-ng into $DEMO/wav"
  rm -rf "$DEMO"
  mkdir -p "$DEMO/wav"
  grep -v '^#' data/demo/sentences.txt | grep '|' | while IFS='|' read -r stem text; do
    espeak-ng -v en-us -s 150 -w "$DEMO/wav/$stem.wav" "$text"
  done
  $SOVITS --spec $SPEC prepare --audio "$DEMO/wav" --transcripts data/demo/sentences.txt \
    --out "$DEMO/prepared.tmp" --units kmeans
  mv "$DEMO/prepared.tmp" "$DEMO/prepared"
fi
$SOVITS --spec $SPEC data check "$DEMO/prepared"

RUN=${SOVITS_DEMO_RUN:-runs/demo}
rm -rf "$RUN"
# step 0: the initial weights, kept apart so the comparison at the end has them
$SOVITS --spec $SPEC train --data "$DEMO/prepared" --out "$RUN" --steps 0 >/dev/null
mkdir -p "$RUN/start"
cp "$RUN"/checkpoints/step-00000000/* "$RUN/start/"
echo "[demo] held-out scores before the first step:"
EVAL_START=$(date +%s)
$SOVITS --spec $SPEC eval --ckpt "$RUN/start" --data "$DEMO/prepared" --samples "$RUN/samples-start" --out "$RUN/eval-start.json"
EVAL_S=$(( $(date +%s) - EVAL_START ))

# 10 minutes in all: what is left, less the final evaluation (two checkpoints)
# and a last step plus its checkpoint; at least one minute
LEFT=$(( 600 - ($(date +%s) - START) - 2 * EVAL_S - 45 ))
MINUTES=${SOVITS_DEMO_MINUTES:-$(awk -v s="$LEFT" 'BEGIN { m = s / 60; if (m < 1) m = 1; printf "%.1f", m }')}
echo "[demo] training for at most $MINUTES minutes (progress every trainer.log_every steps)"
$SOVITS --spec $SPEC train --data "$DEMO/prepared" --out "$RUN" --resume --minutes "$MINUTES"
LAST=$(ls -d "$RUN"/checkpoints/step-* | sort | tail -1)

echo "[demo] held-out scores: before training ($RUN/start) and at the end ($LAST):"
$SOVITS --spec $SPEC eval --ckpt "$RUN/start" --ckpt "$LAST" --data "$DEMO/prepared" \
  --samples "$RUN/samples-end" --out "$RUN/eval.json"
cat <<MSG
[demo] listen: $RUN/samples-end/ckpt-1/<item>_{real,recon,infer}.wav (ckpt-0: the untrained model)
[demo] look:   $RUN/samples-end/ckpt-1/<item>_mel.png (real / reconstructed / inferred mel), $RUN/curves.png
[demo] more:   $RUN/metrics.jsonl, $RUN/samples/step-N/ (evaluations during training), $RUN/eval.md, $RUN/best/
[demo] elapsed after the build: $(( $(date +%s) - START )) s
MSG
