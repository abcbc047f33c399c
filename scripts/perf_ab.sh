#!/usr/bin/env bash
# Idle-machine A/B of two sovits release binaries against GPT-SoVITS's own
# PyTorch step, in one session, alternating:
#   per round: PyTorch highest, PyTorch medium, OLD, NEW (each its own process)
# first at batch 1, then at batch 4 (segment 20480, f32, the default spec).
# Prints per column the median step time with its min-max spread, peak RSS,
# the per-round ratios NEW/OLD and NEW/PyTorch, and the session's matmul
# GFLOP/s (each sovits run measures it). Raw JSON stays in --out.
#
#   scripts/perf_ab.sh --old /work/perf-old/sovits --new target/release/sovits \
#       --python /root/.cache/sovits-reference/venv/bin/python \
#       --root /root/.cache/sovits-reference/GPT-SoVITS
#
# Options (defaults sized for <= 12 minutes on the 2-core machine, idle):
#   --rounds-b1 N (5)  --rounds-b4 N (3)  --steps N (1)  --warmup N (1)
#   --segment S (20480)  --batches "1 4"  --budget-s S (690: rounds that
#   would not finish within it are skipped, and the summary says so)
#   --new-set KEY=VALUE (passed to NEW as --set, e.g. trainer.cpu_streams=1)
#   --out DIR (perf_ab-<date>). Both binaries run their built-in default
#   spec (the v2 recipe, = configs/vits_default.json): a spec file of this
#   branch has fields the old binary rejects.
# Without --python/--root (or SOVITS_REFERENCE_PYTHON/_ROOT) the PyTorch
# columns are skipped. Tiny check: --segment 2560 --rounds-b1 1 --batches 1.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
new_set=() old="" new="" python="${SOVITS_REFERENCE_PYTHON:-}" root="${SOVITS_REFERENCE_ROOT:-}"
rounds_b1=5 rounds_b4=3 steps=1 warmup=1 segment=20480 batches="1 4" budget=690
out="perf_ab-$(date -u +%Y%m%dT%H%M%SZ)"
while [ $# -gt 0 ]; do
  case "$1" in
    --old) old=$2 ;; --new) new=$2 ;; --python) python=$2 ;; --root) root=$2 ;;
    --rounds-b1) rounds_b1=$2 ;; --rounds-b4) rounds_b4=$2 ;; --steps) steps=$2 ;;
    --warmup) warmup=$2 ;; --segment) segment=$2 ;; --batches) batches=$2 ;;
    --budget-s) budget=$2 ;; --out) out=$2 ;; --new-set) new_set+=(--set "$2") ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "perf_ab: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
[ -x "$old" ] && [ -x "$new" ] || { echo "perf_ab: --old and --new must be sovits binaries" >&2; exit 2; }
torch=1
if [ -z "$python" ] || [ -z "$root" ]; then
  echo "perf_ab: no --python/--root: PyTorch columns skipped" >&2; torch=0
fi
mkdir -p "$out"
start=$(date +%s)
echo "perf_ab: old=$old new=$new segment=$segment steps=$steps warmup=$warmup out=$out"
echo "perf_ab: old $("$old" --version 2>/dev/null || true); new $("$new" --version 2>/dev/null || true); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

sovits_run() { # label bin batch round
  local sets=(); [ "$1" = new ] && sets=("${new_set[@]}")
  "$2" "${sets[@]}" bench --batch "$3" --segment "$segment" --steps "$steps" --warmup "$warmup" \
    --out "$out/$1-b$3-r$4.json" > "$out/$1-b$3-r$4.log" 2>&1
}
torch_run() { # precision batch round
  "$python" "$here/reference_step.py" --root "$root" --batch "$2" --segment "$segment" \
    --steps "$steps" --warmup "$warmup" --matmul-precision "$1" > "$out/torch-$1-b$2-r$3.log" 2>&1
  grep '^SOVITS_REFERENCE_RESULT ' "$out/torch-$1-b$2-r$3.log" | sed 's/^SOVITS_REFERENCE_RESULT //' \
    > "$out/torch-$1-b$2-r$3.json"
}

for b in $batches; do
  rounds=$rounds_b1; [ "$b" = 1 ] || rounds=$rounds_b4
  last=0
  for r in $(seq 1 "$rounds"); do
    now=$(date +%s)
    if [ $((now - start + last)) -gt "$budget" ]; then
      echo "perf_ab: batch $b round $r skipped (would pass the ${budget} s budget)" | tee -a "$out/skipped.txt"
      continue
    fi
    t0=$(date +%s)
    if [ "$torch" = 1 ]; then torch_run highest "$b" "$r"; torch_run medium "$b" "$r"; fi
    # alternate which sovits binary goes first, so drift hits both
    if [ $((r % 2)) = 1 ]; then sovits_run old "$old" "$b" "$r"; sovits_run new "$new" "$b" "$r"
    else sovits_run new "$new" "$b" "$r"; sovits_run old "$old" "$b" "$r"; fi
    last=$(( $(date +%s) - t0 ))
    echo "perf_ab: batch $b round $r done in ${last} s (elapsed $(( $(date +%s) - start )) s)"
  done
done

python3 - "$out" "$batches" <<'PY'
import glob, json, os, statistics, sys
out, batches = sys.argv[1], sys.argv[2].split()
GIB = 1024 ** 3

def load(pattern):
    runs = {}
    for f in glob.glob(os.path.join(out, pattern)):
        try:
            d = json.load(open(f))
        except (ValueError, OSError):
            continue
        r = int(f.rsplit("-r", 1)[1].split(".")[0])
        runs[r] = d["results"][0] | {"gflops": d.get("matmul_gflops")} if "results" in d else d
    return runs

def fmt(xs):
    return f"{statistics.median(xs):7.3f} ({min(xs):.3f}-{max(xs):.3f}, n={len(xs)})" if xs else "-"

gflops = []
for b in batches:
    cols = {"torch highest": load(f"torch-highest-b{b}-r*.json"), "torch medium": load(f"torch-medium-b{b}-r*.json"),
            "old": load(f"old-b{b}-r*.json"), "new": load(f"new-b{b}-r*.json")}
    print(f"\nbatch {b}: median s/step (min-max, rounds) | peak RSS GiB (max)")
    for name, runs in cols.items():
        t = [v["median_step_s"] for v in runs.values()]
        rss = [v["peak_rss_bytes"] / GIB for v in runs.values()]
        gflops += [v["gflops"] for v in runs.values() if v.get("gflops")]
        print(f"  {name:14} {fmt(t)} | {max(rss):.2f}" if t else f"  {name:14} -")
    for a, c in (("new", "old"), ("new", "torch highest"), ("new", "torch medium"), ("old", "torch highest")):
        pairs = [cols[a][r]["median_step_s"] / cols[c][r]["median_step_s"] for r in cols[a] if r in cols[c]]
        print(f"  ratio {a}/{c}, per round: {fmt(pairs)}")
    rss_new, rss_t = [v["peak_rss_bytes"] for v in cols["new"].values()], [v["peak_rss_bytes"] for v in cols["torch highest"].values()]
    if rss_new and rss_t:
        print(f"  peak RSS new / torch highest: {max(rss_new) / max(rss_t):.2f}")
if gflops:
    print(f"\nsession matmul 1024x1024 f32: median {statistics.median(gflops):.1f} GFLOP/s ({min(gflops):.1f}-{max(gflops):.1f}, n={len(gflops)})")
if os.path.exists(os.path.join(out, "skipped.txt")):
    print("\nskipped rounds:\n" + open(os.path.join(out, "skipped.txt")).read())
PY
echo "perf_ab: total $(( $(date +%s) - start )) s; raw results in $out"
