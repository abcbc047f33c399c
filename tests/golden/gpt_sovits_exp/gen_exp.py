#!/usr/bin/env python3
"""Writes a small synthetic GPT-SoVITS experiment folder (`logs/<exp>/`) in the
exact formats GPT-SoVITS's data preparation writes (see PROVENANCE.md).

    GSV_ROOT=<GPT-SoVITS checkout> python gen_exp.py OUTDIR   # torch + numpy (torch 2.15.0 used)

Content is synthetic (no HuBERT or g2p here), the formats are the reference's:
* 2-name2text.txt: `name<TAB>phones (space-separated)<TAB>word2ph<TAB>text`;
* 4-cnhubert/<name>.pt: torch.save of a [1, 768, T] tensor, T = HuBERT's frame
  count for the clip at 16 kHz (one fewer than samples // 640 here);
  `a.wav.pt` is float32, non-contiguous and requires_grad (what
  `last_hidden_state.transpose(1, 2)` outside no_grad gives on CPU),
  `b.wav.pt` the same in float16 (the CUDA half-precision path),
  `c.wav.pt` a plain contiguous float32 tensor;
* 5-wav32k/<name>: 32 kHz mono 16-bit wav, peak-mixed as GPT-SoVITS does;
* 6-name2semantic.tsv: header `item_name<TAB>semantic_audio`, then
  `name<TAB>ids (space-separated)`, T // 2 ids below 1024.

Beside the folder it writes expected.json, per item: the phone ids from
GPT-SoVITS's own `text.cleaned_text_to_sequence(phones, "v2")` (imported
from $GSV_ROOT, code not copied), the feature tensor's shape and dtype, and
float64 sums of the features (as torch loads them, widened to f32) and of
the wav samples / 32768.
"""
import json
import os
import sys
import wave

import numpy as np
import torch

ITEMS = [
    # name, seconds, phones, word2ph, text
    ("a.wav", 0.70, "HH AH0 L OW1 W ER1 L D .", "4 4 1", "hello world."),
    ("b.wav", 0.80, "n i3 h ao3 ,", "2 2 1", "nihao,"),
    ("c.wav", 0.75, "T EH1 S T IH0 NG !", "7 1", "testing!"),
]


def main():
    out = os.path.abspath(sys.argv[1])
    root = os.path.abspath(os.environ["GSV_ROOT"])
    sys.path[:0] = [os.path.join(root, "GPT_SoVITS"), root]
    from text import cleaned_text_to_sequence

    expected = {}
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    for d in ("4-cnhubert", "5-wav32k"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    lines, sem = [], ["item_name\tsemantic_audio"]
    for i, (name, secs, phones, w2p, text) in enumerate(ITEMS):
        n = int(round(secs * 32000))
        t = np.arange(n) / 32000
        x = 0.3 * np.sin(2 * np.pi * (140 + 40 * i) * t) + 0.05 * rng.standard_normal(n)
        peak = np.abs(x).max()
        x = (x / peak * (32768 * 0.95 * 0.5)) + (32768 * 0.5) * x
        pcm = np.clip(x, -32768, 32767).astype("<i2")
        with wave.open(os.path.join(out, "5-wav32k", name), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(32000)
            w.writeframes(pcm.tobytes())
        frames = (n // 2 - 400) // 320 + 1  # HuBERT's conv stack at 16 kHz
        if name == "c.wav":
            ssl = torch.randn(1, 768, frames)
        else:
            dtype = torch.float16 if name == "b.wav" else torch.float32
            leaf = torch.randn(1, frames, 768).to(dtype).requires_grad_()
            ssl = (leaf * 1).transpose(1, 2)
            assert ssl.requires_grad and not ssl.is_contiguous()
        torch.save(ssl, os.path.join(out, "4-cnhubert", name + ".pt"))
        loaded = torch.load(os.path.join(out, "4-cnhubert", name + ".pt"))
        expected[name] = {
            "phone_ids": cleaned_text_to_sequence(phones.split(" "), "v2"),
            "ssl_shape": list(loaded.shape),
            "ssl_dtype": str(loaded.dtype),
            "ssl_sum_f64": loaded.detach().float().double().sum().item(),
            "samples": int(n),
            "audio_sum_f64": float((pcm.astype(np.float64) / 32768).sum()),
        }
        lines.append("\t".join([name, phones, w2p, text]))
        ids = rng.integers(0, 1024, frames // 2)
        sem.append("%s\t%s" % (name, " ".join(str(v) for v in ids)))
    lines.append("d.wav\tonly two fields")  # another field count: GPT-SoVITS skips it
    with open(os.path.join(out, "2-name2text.txt"), "w", encoding="utf8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out, "6-name2semantic.tsv"), "w", encoding="utf8") as f:
        f.write("\n".join(sem))
    with open(os.path.join(os.path.dirname(out), "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print("torch", torch.__version__, "numpy", np.__version__)


if __name__ == "__main__":
    main()
