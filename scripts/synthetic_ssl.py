#!/usr/bin/env python3
"""Adds synthetic 768-dim 50 Hz "SSL" features to a prepared sovits dataset.

HuBERT weights cannot be downloaded here, and GPT-SoVITS's training forward
takes SSL features (ssl_proj + frozen quantizer), so a quality comparison of
sovits against the reference needs features both sides read. This writes
DIR/ssl/<stem>.npy = W @ log(max(spec, 1e-5)) / s for every item of
DIR/metadata.json, with one fixed random projection W [768, 1025]
(numpy seed --seed) and one global scale s (unit standard deviation over
the dataset). Same frames as spec/, float32, torch layout [768, T].

Usage: python3 scripts/synthetic_ssl.py DIR [--seed 23]
"""

import argparse
import json
import os

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--seed", type=int, default=23)
    args = ap.parse_args()
    with open(os.path.join(args.data, "metadata.json")) as f:
        items = json.load(f)["items"]
    rng = np.random.default_rng(args.seed)
    w = rng.standard_normal((768, 1025)).astype(np.float64) / np.sqrt(1025.0)
    feats = {}
    for it in items:
        stem = it.get("stem", it["id"])
        spec = np.load(os.path.join(args.data, "spec", stem + ".npy")).astype(np.float64)
        feats[stem] = w @ np.log(np.maximum(spec, 1e-5))
    scale = np.sqrt(np.mean(np.concatenate([f.ravel() for f in feats.values()]) ** 2))
    os.makedirs(os.path.join(args.data, "ssl"), exist_ok=True)
    for stem, f in feats.items():
        np.save(os.path.join(args.data, "ssl", stem + ".npy"), (f / scale).astype(np.float32))
    print(f"wrote {len(feats)} ssl files (projection seed {args.seed}, scale {scale:.4f})")


if __name__ == "__main__":
    main()
