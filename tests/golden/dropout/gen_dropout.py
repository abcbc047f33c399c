#!/usr/bin/env python3
"""Training-mode (dropout active) parity data for the tiny SoVITS v2 generator.

Runs GPT-SoVITS's own `SynthesizerTrn.forward` in train() mode on the tiny
model of ../sovits_v2 (weights tiny_G.safetensors, inputs ssl_quant.in.ssl,
ref_enc.in.spec, forward.in.{y_lengths,text,text_lengths}: nothing new is
stored for them), then the generator's non-adversarial loss of s2_train.py
(c_mel * L1(mel slice of spec, mel of y_hat) + c_kl * kl_loss) and its
backward pass. Every dropout call is recorded in call order: each call is
routed through the real `torch.nn.functional.dropout` applied to a tensor of
ones (torch's own Bernoulli draw and 1/(1-p) scale), its keep mask is stored
and the input multiplied by that scaled mask. The posterior `randn_like` and
the segment `rand` draws are recorded too.

A second pass in float64 replays the same masks and draws; the f32-vs-f64
differences are written to meta.json (they set the test's tolerances).

GPT-SoVITS is imported from $GSV_ROOT (and $GSV_SHIMS when set); none of its
text is copied here. Usage:

    GSV_ROOT=... /root/.cache/sovits-reference/venv/bin/python gen_dropout.py
"""

import hashlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "scripts"))
from gsv_path import setup_paths  # noqa: E402

TINY = os.path.join(HERE, "..", "sovits_v2")
SEED = 2323
SEGMENT_FRAMES = 8
THREADS = 1


def tiny_inputs(torch):
    def load(name):
        return torch.from_numpy(np.load(os.path.join(TINY, name + ".npy")))

    return dict(
        ssl=load("ssl_quant.in.ssl"),
        spec=load("ref_enc.in.spec"),
        y_lengths=load("forward.in.y_lengths"),
        text=load("forward.in.text"),
        text_lengths=load("forward.in.text_lengths"),
    )


class Recorder:
    """Routes dropout calls through torch's F.dropout on ones and records (or replays) masks and draws."""

    def __init__(self, torch, net):
        self.torch = torch
        self.F = torch.nn.functional
        self.orig_dropout = self.F.dropout
        self.orig_randn_like = torch.randn_like
        self.orig_rand = torch.rand
        self.replay = None  # dict of recorded lists when replaying
        self.calls, self.masks, self.normal, self.uniform = [], [], [], []
        self.current = None
        self.names = {}
        for name, m in net.named_modules():
            if isinstance(m, torch.nn.Dropout):
                parent = net.get_submodule(name.rsplit(".", 1)[0]) if "." in name else net
                self.names[id(m)] = (name, type(parent).__module__ + "." + type(parent).__qualname__)
                m.register_forward_pre_hook(self._enter)

    def _enter(self, module, _inputs):
        self.current = self.names[id(module)]

    def dropout(self, x, p=0.5, training=True, inplace=False):
        who, self.current = self.current, None
        if not training or p == 0.0:
            return x
        assert who is not None, "an F.dropout call outside an nn.Dropout module"
        i = len(self.calls)
        if self.replay is None:
            scaled = self.orig_dropout(self.torch.ones_like(x, dtype=self.torch.float32), p, True)
            keep = scaled != 0
        else:
            keep = self.replay["masks"][i]
            assert tuple(keep.shape) == tuple(x.shape), (who, keep.shape, x.shape)
            scaled = keep.to(self.torch.float32) / (1.0 - p)
        self.calls.append({"index": i, "module": who[0], "parent": who[1], "shape": list(x.shape), "p": p})
        self.masks.append(keep)
        return x * scaled.to(x.dtype)

    def randn_like(self, x, *a, **k):
        if self.replay is None:
            v = self.orig_randn_like(x, *a, **k)
        else:
            v = self.replay["normal"][len(self.normal)].to(x.dtype)
        self.normal.append(v)
        return v

    def rand(self, *a, **k):
        if self.replay is None:
            v = self.orig_rand(*a, **k)
        else:
            v = self.replay["uniform"][len(self.uniform)]
        self.uniform.append(v)
        return v

    def __enter__(self):
        self.F.dropout, self.torch.randn_like, self.torch.rand = self.dropout, self.randn_like, self.rand
        return self

    def __exit__(self, *_):
        self.F.dropout, self.torch.randn_like, self.torch.rand = self.orig_dropout, self.orig_randn_like, self.orig_rand


def build(torch, cfg):
    from module.models import SynthesizerTrn
    from module.mrte_model import MRTE
    from safetensors.torch import load_file

    args = dict(cfg["synthesizer_args"])
    args["segment_size"] = SEGMENT_FRAMES
    net = SynthesizerTrn(**args)
    o = cfg["mrte_override"]
    net.enc_p.mrte = MRTE(
        content_enc_channels=o["content_enc_channels"], hidden_size=o["hidden_size"],
        out_channels=o["out_channels"], n_heads=o["n_heads"],
    )
    net.load_state_dict(load_file(os.path.join(TINY, "tiny_G.safetensors")), strict=True)
    net.train()
    return net


def run(torch, net, inp, data_c, c_mel, c_kl, replay=None, f64=False):
    from module import commons
    from module.losses import kl_loss
    from module.mel_processing import mel_spectrogram_torch, spec_to_mel_torch

    if f64:
        net = net.double()
        inp = {k: (v.double() if v.is_floating_point() else v) for k, v in inp.items()}
    rec = Recorder(torch, net)
    rec.replay = replay
    with rec:
        o, _commit, ids_slice, _ym, z_mask, (z, z_p, m_p, logs_p, m_q, logs_q), _q = net(
            inp["ssl"], inp["spec"], inp["y_lengths"], inp["text"], inp["text_lengths"]
        )
    hop, nfft, sr = data_c["hop_length"], data_c["filter_length"], data_c["sampling_rate"]
    mel = spec_to_mel_torch(inp["spec"], nfft, data_c["n_mel_channels"], sr, data_c["mel_fmin"], data_c["mel_fmax"])
    y_mel = commons.slice_segments(mel, ids_slice, SEGMENT_FRAMES)
    y_hat_mel = mel_spectrogram_torch(
        o.squeeze(1), nfft, data_c["n_mel_channels"], sr, hop, data_c["win_length"], data_c["mel_fmin"], data_c["mel_fmax"]
    )
    loss_mel = torch.nn.functional.l1_loss(y_mel, y_hat_mel) * c_mel
    if f64:  # kl_loss casts to float32; the float64 pass evaluates the same sum in float64
        kl = logs_p - logs_q - 0.5 + 0.5 * (z_p - m_p) ** 2 * torch.exp(-2.0 * logs_p)
        loss_kl = (kl * z_mask).sum() / z_mask.sum() * c_kl
    else:
        loss_kl = kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * c_kl
    loss = loss_mel + loss_kl
    net.zero_grad(set_to_none=True)
    loss.backward()
    grads = {n: p.grad.detach().double().numpy() for n, p in net.named_parameters() if p.grad is not None}
    outs = dict(y_hat=o, z=z, z_p=z_p, m_p=m_p, logs_p=logs_p, m_q=m_q, logs_q=logs_q)
    outs = {k: v.detach().double().numpy() for k, v in outs.items()}
    losses = dict(loss_mel=float(loss_mel), loss_kl=float(loss_kl), loss=float(loss))
    return rec, ids_slice, outs, grads, losses


def stats(g):
    f = g.ravel()
    return dict(shape=list(g.shape), sum=float(f.sum()), abs_sum=float(np.abs(f).sum()),
                max_abs=float(np.abs(f).max()), first8=[float(x) for x in f[:8]])


def main():
    root = setup_paths()
    import torch

    torch.set_num_threads(THREADS)
    torch.set_float32_matmul_precision("highest")
    with open(os.path.join(TINY, "tiny_config.json")) as f:
        cfg = json.load(f)
    data_c, train_c = cfg["hps"]["data"], cfg["hps"]["train"]
    c_mel, c_kl = float(train_c["c_mel"]), float(train_c["c_kl"])
    inp = tiny_inputs(torch)

    torch.manual_seed(SEED)
    net = build(torch, cfg)
    rec, ids, outs, grads, losses = run(torch, net, inp, data_c, c_mel, c_kl)
    replay = dict(masks=rec.masks, normal=[v.double() for v in rec.normal], uniform=rec.uniform)
    rec64, ids64, outs64, grads64, losses64 = run(torch, build(torch, cfg), inp, data_c, c_mel, c_kl, replay, f64=True)
    assert [c["module"] for c in rec64.calls] == [c["module"] for c in rec.calls]
    assert torch.equal(ids, ids64)

    # masks: one little-endian bit array, call after call, each in torch layout
    bits = np.concatenate([m.numpy().astype(np.uint8).ravel() for m in rec.masks])
    np.save(os.path.join(HERE, "masks.npy"), np.packbits(bits, bitorder="little"))
    assert len(rec.normal) == 1 and len(rec.uniform) == 1, "expected one posterior and one slice draw"
    np.save(os.path.join(HERE, "in.noise_enc_q.npy"), rec.normal[0].numpy().astype(np.float32))
    np.save(os.path.join(HERE, "in.rand_slice_u.npy"), rec.uniform[0].numpy().astype(np.float32))
    np.save(os.path.join(HERE, "out.ids_slice.npy"), ids.numpy())
    for k, v in outs.items():
        np.save(os.path.join(HERE, f"out.{k}.npy"), v.astype(np.float32))

    gap_out = {k: float(np.abs(outs[k] - outs64[k]).max()) for k in outs}
    gap_grad = {}
    gauge = [n for n in grads if n.endswith("conv_k.bias") or n == "ref_enc.slf_attn.w_ks.bias"]
    for n, g in grads.items():
        if n in gauge:  # exactly zero true gradient (softmax shift invariance): rounding noise only
            continue
        s32, s64 = stats(g), stats(grads64[n])
        scale = max(s64["abs_sum"], 1e-30)
        gap_grad[n] = dict(
            sum_over_abs_sum=abs(s32["sum"] - s64["sum"]) / scale,
            abs_sum_rel=abs(s32["abs_sum"] - s64["abs_sum"]) / scale,
            max_abs_rel=abs(s32["max_abs"] - s64["max_abs"]) / max(s64["max_abs"], 1e-30),
            elementwise_over_max_abs=float(np.abs(g - grads64[n]).max()) / max(s64["max_abs"], 1e-30),
            first8_over_max_abs=float(np.abs(g.ravel()[:8] - grads64[n].ravel()[:8]).max()) / max(s64["max_abs"], 1e-30),
        )
    worst = {m: max(v[m] for v in gap_grad.values()) for m in next(iter(gap_grad.values()))}
    with open(os.path.join(HERE, "grads.stats.json"), "w") as f:
        json.dump({n: stats(g) for n, g in sorted(grads.items())}, f, separators=(",", ":"))
    with open(os.path.join(TINY, "tiny_G.safetensors"), "rb") as f:
        g_sha = hashlib.sha256(f.read()).hexdigest()
    meta = dict(
        reference_commit=os.popen(f"git -C {root} rev-parse HEAD 2>/dev/null").read().strip() or "48b1a0169a28582a8984402f82cf438d3bfa6aca",
        torch=torch.__version__, threads=THREADS, seed=SEED, segment_frames=SEGMENT_FRAMES,
        tiny_G_sha256=g_sha, mode="train() (ssl_proj and quantizer switched to eval by forward: freeze_quantizer)",
        p_dropout=cfg["synthesizer_args"]["p_dropout"], c_mel=c_mel, c_kl=c_kl,
        hop_length=data_c["hop_length"],
        loss="c_mel * l1(slice(spec_to_mel(spec), ids_slice), mel(y_hat)) + c_kl * kl_loss(z_p, logs_q, m_p, logs_p, z_mask)",
        losses_f32=losses, losses_f64=losses64,
        masks_bits=int(bits.size), masks_kept=int(bits.sum()),
        dropout_calls=rec.calls,
        f32_vs_f64=dict(outputs_max_abs=gap_out, grads_worst_excluding_gauge=worst, gauge=gauge,
                        losses_rel={k: abs(losses[k] - losses64[k]) / abs(losses64[k]) for k in losses}),
        grads_with_none=[n for n, p in net.named_parameters() if p.grad is None],
    )
    with open(os.path.join(HERE, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(dict(calls=len(rec.calls), bits=int(bits.size), losses=losses, gaps=meta["f32_vs_f64"]), indent=1))


if __name__ == "__main__":
    main()
