#!/usr/bin/env python3
"""Golden values for the `mrstft` loss, computed independently with numpy in
float64 from the formula of issue 5 (not from our code):

  per resolution (n_fft, hop, win), Hann window of length win (periodic,
  centred in n_fft), frames as torch.stft(center=True) (reflect pad n_fft/2):
    S = |STFT|, clamped below at 1e-7
    sc  = ||S_y - S_hat||_F / ||S_y||_F
    mag = mean |log S_y - log S_hat|
  averaged over the resolutions (512,50,240), (1024,120,600), (2048,240,1200).

The signals use a small integer LCG for their noise so the Rust test can build
them bit-identically. Run: python3 -m pip install numpy && python3 gen_mrstft.py
(writes mrstft_golden.json next to this file).
"""
import json
import os

import numpy as np

SR = 32000
N = 12000
RESOLUTIONS = [(512, 50, 240), (1024, 120, 600), (2048, 240, 1200)]


def lcg_noise(n, seed):
    """Uniform values in [-1, 1): state = state*6364136223846793005 + 1442695040888963407 mod 2^64, top 24 bits."""
    out = np.empty(n)
    s = seed
    for i in range(n):
        s = (s * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out[i] = (s >> 40) / float(1 << 24) * 2.0 - 1.0
    return out


def signals():
    t = np.arange(N) / SR
    tone = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.25 * np.sin(2 * np.pi * 1320 * t) + 0.01 * lcg_noise(N, 1)
    tone_hat = 0.45 * np.sin(2 * np.pi * 452 * t) + 0.2 * np.sin(2 * np.pi * 1000 * t) + 0.01 * lcg_noise(N, 2)
    chirp = 0.6 * np.sin(2 * np.pi * (100 * t + 2000 * t * t)) + 0.01 * lcg_noise(N, 3)
    chirp_hat = 0.8 * np.sin(2 * np.pi * (100 * t + 2100 * t * t)) + 0.02 * lcg_noise(N, 4)
    # round to float32 as the Rust test does before computing
    f32 = lambda x: x.astype(np.float32).astype(np.float64)
    return {"tone": (f32(tone), f32(tone_hat)), "chirp": (f32(chirp), f32(chirp_hat))}


def magnitude(x, n_fft, hop, win):
    window = np.zeros(n_fft)
    left = (n_fft - win) // 2
    window[left:left + win] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)
    pad = n_fft // 2
    xp = np.pad(x, (pad, pad), mode="reflect")
    frames = 1 + (len(xp) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.fft.rfft(xp[idx] * window[None, :], axis=1)
    return np.maximum(np.abs(spec), 1e-7)


def main():
    out = {}
    for name, (y, y_hat) in signals().items():
        scs, mags = [], []
        for n_fft, hop, win in RESOLUTIONS:
            s_y, s_h = magnitude(y, n_fft, hop, win), magnitude(y_hat, n_fft, hop, win)
            scs.append(np.linalg.norm(s_y - s_h) / np.linalg.norm(s_y))
            mags.append(np.mean(np.abs(np.log(s_y) - np.log(s_h))))
        sc, mag = float(np.mean(scs)), float(np.mean(mags))
        out[name] = {"sc": sc, "mag": mag, "value": sc + mag}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mrstft_golden.json")
    with open(path, "w") as f:
        json.dump({"n": N, "sr": SR, "resolutions": RESOLUTIONS, "values": out}, f, indent=2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
