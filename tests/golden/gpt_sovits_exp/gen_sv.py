#!/usr/bin/env python3
"""Writes one GPT-SoVITS `7-sv_cn/<name>.pt` file (the speaker-verification
embedding `prepare_datasets/2-get-sv.py` saves per item) and its expected
values (see PROVENANCE.md).

    python gen_sv.py OUTDIR   # torch (2.15.0 used)

2-get-sv.py saves `compute_embedding3(wav).cpu()`: a contiguous `[1, 20480]`
tensor, fp16 when ERes2NetV2 ran in half precision on CUDA, f32 otherwise,
under `7-sv_cn/<wav name>.pt` (the name keeps the audio extension). The values
here are synthetic (no ERes2NetV2 weights here); the file is the fp16 case,
made as the CUDA path does (an f32 result cast to half, then `.cpu()`).
Beside it, sv_expected.json: shape, dtype, float64 sum and abs-sum of the
values widened to f32, and every 1024th value.
"""
import json
import os
import sys

import torch


def main():
    out = os.path.abspath(sys.argv[1])
    os.makedirs(os.path.join(out, "sv_cn"), exist_ok=True)
    torch.manual_seed(21)
    emb = (0.5 * torch.randn(1, 20480)).half().cpu()
    assert emb.is_contiguous() and emb.shape == (1, 20480)
    path = os.path.join(out, "sv_cn", "a.wav.pt")
    torch.save(emb, path)
    loaded = torch.load(path).float()
    flat = loaded.reshape(-1).double()
    expected = {
        "a.wav": {
            "shape": list(loaded.shape),
            "dtype": str(torch.load(path).dtype),
            "sum_f64": flat.sum().item(),
            "abs_sum_f64": flat.abs().sum().item(),
            "every_1024th": [flat[i].item() for i in range(0, 20480, 1024)],
        }
    }
    with open(os.path.join(out, "sv_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print("torch", torch.__version__)


if __name__ == "__main__":
    main()
