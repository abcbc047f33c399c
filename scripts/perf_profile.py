#!/usr/bin/env python3
"""Where a `sovits` run spends its CPU time: GEMM vs copies vs element-wise.

Records the command under `perf record` (software cpu-clock, so it works
where hardware counters are not exposed) and sorts every sample of every
thread by the leaf function into categories: OpenBLAS GEMM kernels and their
packing, MLX copy kernels (transposes, slices, pads, concatenations made
contiguous), MLX element-wise kernels, reductions, random bits, allocation
and page faults, and OpenBLAS worker threads yielding while they wait for
work. Prints the split over all threads and for the busiest thread (MLX's CPU
stream thread, which runs every op in order and so bounds the step time).

usage: scripts/perf_profile.py [--freq HZ] [--out perf.data] -- COMMAND...
e.g.   scripts/perf_profile.py -- target/release/sovits --spec configs/vits_default.json bench --steps 2
needs  perf (Debian package linux-perf)
"""
import argparse
import collections
import re
import shutil
import subprocess
import sys

CATEGORIES = [
    ("gemm", lambda s, d: "openblas" in d and ("kernel" in s or "beta" in s)),
    ("gemm packing", lambda s, d: "openblas" in d and "copy" in s),
    ("idle wait (yield)", lambda s, d: "yield" in s or "schedule" in s or "openblas" in d),
    ("copy", lambda s, d: "copy" in s or "memcpy" in s or "memmove" in s),
    ("element-wise", lambda s, d: any(k in s for k in ("binary", "unary", "ternary", "Multiply", "Add", "Select"))),
    ("reduction", lambda s, d: "reduc" in s.lower()),
    ("random bits", lambda s, d: "threefry" in s or "Random" in s),
    ("alloc / page faults", lambda s, d: any(k in s for k in ("malloc", "free", "page", "folio", "mmap", "munmap"))),
]


def category(sym, dso):
    for name, test in CATEGORIES:
        if test(sym, dso):
            return name
    return "other"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--freq", type=int, default=499, help="samples per second per thread")
    ap.add_argument("--out", default="perf.data", help="where perf writes its samples")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("give the command to profile after --")
    if shutil.which("perf") is None:
        sys.exit("perf not found: apt-get install linux-perf")
    rc = subprocess.call(["perf", "record", "-e", "cpu-clock", "-F", str(args.freq), "-o", args.out, "--"] + cmd)
    if rc != 0:
        sys.exit(f"the profiled command failed with exit status {rc}")
    script = subprocess.run(["perf", "script", "-i", args.out, "-F", "tid,ip,sym,dso", "-G"],
                            capture_output=True, text=True, check=True).stdout
    total = collections.Counter()
    per_thread = collections.defaultdict(collections.Counter)
    for line in script.splitlines():
        m = re.match(r"\s*(\d+)\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", line)
        if not m:
            continue
        tid, sym, dso = m.groups()
        c = category(sym, dso)
        total[c] += 1
        per_thread[tid][c] += 1
    n = sum(total.values())
    if n == 0:
        sys.exit("no samples recorded")
    print(f"\n{n} samples at {args.freq} Hz ({n / args.freq:.1f} CPU-seconds), all threads:")
    for c, k in total.most_common():
        print(f"  {c:22s} {100 * k / n:5.1f}%")
    busiest, counts = max(per_thread.items(), key=lambda kv: sum(kv[1].values()) - kv[1]["idle wait (yield)"])
    m = sum(counts.values())
    print(f"busiest thread {busiest} ({m / args.freq:.1f} s):")
    for c, k in counts.most_common():
        print(f"  {c:22s} {100 * k / m:5.1f}%")


if __name__ == "__main__":
    main()
