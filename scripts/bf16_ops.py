#!/usr/bin/env python3
"""Per-op speed of bf16 against f32 on MLX's CPU backend: the ops a sovits
training step is made of, at step-like shapes, forward+backward where the
step differentiates them. Each op is timed f32 and bf16 alternately
(A B A B ...) and the median of the per-pair ratios bf16/f32 is printed, so
the figures hold on a busy machine.

Run with the Python of the pinned MLX wheel (scripts/setup.sh installs it):
    ~/.cache/sovits/mlx-0.32.2-cpu-c0.7.0/venv/bin/python scripts/bf16_ops.py
"""

import statistics
import sys
import time

import mlx.core as mx

mx.set_default_device(mx.cpu)
PAIRS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def timed(fn, args):
    mx.eval(fn(*args))
    t0 = time.perf_counter()
    mx.eval(fn(*args))
    return time.perf_counter() - t0


def grad_of(f):
    """forward+backward of sum(f(x, w)) with respect to both inputs."""
    return mx.grad(lambda x, w: f(x, w).astype(mx.float32).sum(), argnums=(0, 1))


def cases():
    r = mx.random.normal
    yield "matmul 1024x1024x1024", lambda x, w: x @ w, (r((1024, 1024)), r((1024, 1024)))
    yield "matmul fwd+bwd 4096x512x512", grad_of(lambda x, w: x @ w), (r((4096, 512)), r((512, 512)))
    yield "conv1d C256 T2560 K7", lambda x, w: mx.conv1d(x, w, padding=3), (r((1, 2560, 256)), r((256, 7, 256)))
    yield "conv1d fwd+bwd C128 T5120 K11", grad_of(lambda x, w: mx.conv1d(x, w, padding=5)), (r((1, 5120, 128)), r((128, 11, 128)))
    yield "leaky_relu+add 8M", lambda x, w: mx.maximum(x, 0.1 * x) + w, (r((2048, 4096)), r((2048, 4096)))
    yield "tanh*sigmoid gate 4M", lambda x, w: mx.tanh(x) * mx.sigmoid(w), (r((1024, 4096)), r((1024, 4096)))
    yield "sum over axis 8M", lambda x, w: (x * w).sum(axis=1), (r((2048, 4096)), r((2048, 4096)))
    yield "transpose copy 8M", lambda x, w: mx.contiguous(x.T) + w.T, (r((2048, 4096)), r((2048, 4096)))
    yield "astype f32<->bf16 8M", lambda x, w: x.astype(mx.float32) + w.astype(mx.float32), (r((2048, 4096)), r((2048, 4096)))


def main():
    print(f"MLX {mx.__version__} CPU; {PAIRS} alternating f32/bf16 pairs per op; ratio = bf16 time / f32 time")
    print(f"{'op':34} {'f32 ms':>9} {'bf16 ms':>9} {'ratio (min-max)':>20}")
    for name, fn, args in cases():
        f32 = [a.astype(mx.float32) for a in args]
        b16 = [a.astype(mx.bfloat16) for a in args]
        mx.eval(f32, b16)
        ta, tb = [], []
        for _ in range(PAIRS):
            ta.append(timed(fn, f32))
            tb.append(timed(fn, b16))
        ratios = [b / a for a, b in zip(ta, tb)]
        print(f"{name:34} {statistics.median(ta) * 1e3:9.1f} {statistics.median(tb) * 1e3:9.1f} "
              f"{statistics.median(ratios):8.2f} ({min(ratios):.2f}-{max(ratios):.2f})", flush=True)


if __name__ == "__main__":
    main()
