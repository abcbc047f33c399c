#!/usr/bin/env python3
"""Forward + backward of one weight-normalised im2col conv layer (default:
DiscriminatorP's K5 1024->1024 conv on 1520 columns) in four weight layouts,
timed alternately, medians printed; the gradients of each variant are
checked against the first.

  before     the weight transposed to [k*in, out] (every element moves
             across output rows) and `cols @ wm`
  nt-auto    [out, k*in] (a transpose inside each row) and autodiff of
             `cols @ w.T`
  nt         as nt-auto with the hand-written backward of
             `sovits_core::nn::matmul_nt` (dw = dy^T @ cols)
  nt+fold    nt with the fold written channels-last (`fold_weight`), so the
             [out, k*in] weight is a free reshape

Run with the MLX 0.32.2 Python wheel (`pip install mlx==0.32.2 mlx-cpu==0.32.2`
in a scratch venv), OpenBLAS preloaded as sovits links it:
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libopenblas.so.0 python scripts/weight_layout_ab.py [COUT CIN K COLUMNS]
"""
import sys
import time

import mlx.core as mx

mx.set_default_device(mx.cpu)
co, c, k, n = (int(a) for a in (sys.argv[1:5] if len(sys.argv) >= 5 else (1024, 1024, 5, 1520)))
v = mx.random.normal((co, c, k)) * 0.01
g = mx.random.uniform(shape=(co, 1, 1))
cols = mx.random.normal((n, k * c))
mx.eval(v, g, cols)


def norm(v):
    return mx.sqrt((v * v).sum(axis=(1, 2), keepdims=True))


def fold(v, g):
    return g * v / norm(v)


def fold_channels_last(v, g):
    s = g / norm(v)
    return (v.transpose(0, 2, 1) * s.transpose(0, 2, 1)).transpose(0, 2, 1)


@mx.custom_function
def matmul_nt(x, w):
    return x @ w.T


@matmul_nt.vjp
def matmul_nt_vjp(primals, cotangent, _output):
    x, w = primals
    return cotangent @ w, cotangent.T @ x


def before(v, g, x):
    wm = fold(v, g).transpose(2, 1, 0).reshape(k * c, co)
    return ((x @ wm) ** 2).sum()


def nt_auto(v, g, x):
    wt = fold(v, g).transpose(0, 2, 1).reshape(co, k * c)
    return ((x @ wt.T) ** 2).sum()


def nt(v, g, x):
    wt = fold(v, g).transpose(0, 2, 1).reshape(co, k * c)
    return (matmul_nt(x, wt) ** 2).sum()


def nt_fold(v, g, x):
    wt = fold_channels_last(v, g).transpose(0, 2, 1).reshape(co, k * c)
    return (matmul_nt(x, wt) ** 2).sum()


variants = {name: mx.value_and_grad(f, argnums=(0, 1)) for name, f in
            [("before", before), ("nt-auto", nt_auto), ("nt", nt), ("nt+fold", nt_fold)]}
results = {name: f(v, g, cols) for name, f in variants.items()}
mx.eval(results)
for name, (_, grads) in results.items():
    rel = max((mx.abs(a - b).max() / mx.abs(b).max()).item() for a, b in zip(grads, results["before"][1]))
    print(f"{name:8s} gradient max relative difference to 'before': {rel:.1e}")
times = {name: [] for name in variants}
for _ in range(6):
    for name, f in variants.items():
        start = time.perf_counter()
        mx.eval(f(v, g, cols))
        times[name].append(time.perf_counter() - start)
for name, t in times.items():
    t.sort()
    print(f"{name:8s} median {1e3 * t[len(t) // 2]:7.1f} ms  (min {1e3 * t[0]:.1f}, max {1e3 * t[-1]:.1f})")
