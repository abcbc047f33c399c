#!/usr/bin/env python3
"""A/B of MLX `compile` on the element-wise chains the step repeats (leaky
ReLU, leaky ReLU + residual add, the WaveNet tanh*sigmoid gate), forward and
backward, at step-like shapes: plain and compiled timed alternately, the
median of the per-pair speed-ups printed with their range.

Run with the MLX 0.32.2 Python wheel (`pip install mlx==0.32.2 mlx-cpu==0.32.2`
in a scratch venv), OpenBLAS preloaded as sovits links it:
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libopenblas.so.0 python scripts/fuse_ab.py
"""
import statistics, time, sys
import mlx.core as mx
mx.set_default_device(mx.cpu)
def lrelu(x): return mx.maximum(x, x * 0.1)
def gate(a, b): return mx.tanh(a) * mx.sigmoid(b)
def lrelu_res(x, y): return mx.maximum(x, x * 0.1) + y
clr, cg, clrr = mx.compile(lrelu), mx.compile(gate), mx.compile(lrelu_res)
def fb1(f):
    g = mx.grad(lambda x: (f(x) * x).sum())
    return lambda x, y: g(x)
def fb2(f):
    g = mx.grad(lambda x, y: (f(x, y) * x).sum(), argnums=(0, 1))
    return g
cases = [
  ("leaky_relu fwd+bwd [1,2560,128]", fb1(lrelu), fb1(clr), (1, 2560, 128)),
  ("leaky_relu fwd+bwd [2,1024,7,512]", fb1(lrelu), fb1(clr), (2, 1024, 7, 512)),
  ("lrelu+residual fwd+bwd [1,20480,16]x4", fb2(lrelu_res), fb2(clrr), (4, 20480, 16)),
  ("wavenet gate fwd+bwd [1,202,192]x8", fb2(gate), fb2(cg), (8, 202, 192)),
  ("wavenet gate fwd+bwd [4,202,192]x8", fb2(gate), fb2(cg), (32, 202, 192)),
]
def t(f, a, b, reps):
    mx.eval(f(a, b))
    t0 = time.perf_counter()
    for _ in range(reps): mx.eval(f(a, b))
    return (time.perf_counter() - t0) / reps
for name, plain, fused, shape in cases:
    a, b = mx.random.normal(shape), mx.random.normal(shape)
    mx.eval(a, b)
    reps = 20
    ra = []
    tp, tf = [], []
    for _ in range(7):
        x = t(plain, a, b, reps); y = t(fused, a, b, reps)
        tp.append(x); tf.append(y); ra.append(x / y)
    print(f"{name:42} plain {statistics.median(tp)*1e3:8.2f} ms  compiled {statistics.median(tf)*1e3:8.2f} ms  speed-up {statistics.median(ra):.2f} ({min(ra):.2f}-{max(ra):.2f})", flush=True)
