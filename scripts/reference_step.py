#!/usr/bin/env python3
"""Times GPT-SoVITS v2 stage-2 training steps in PyTorch on the CPU, for
`sovits bench --reference-python PY --reference-root DIR`.

One step is what GPT-SoVITS's `s2_train.py` does per batch (v2, no Pro):
the generator forward; the mel of the target spectrogram and of the
generated audio; the discriminator update on the detached fake (LSGAN loss,
backward, gradient norm measured without clipping, AdamW); the generator
update through the updated discriminator (adversarial + feature matching +
45 x mel L1 + KL + kl_ssl, backward, norm, AdamW with the text-side groups at
0.4 x lr). On a CPU `s2_train.py`'s autocast and grad scaler do nothing, so
the step is fp32; `--matmul-precision medium` is what `s2_train.py` sets
(oneDNN may then run fp32 matmuls in bf16), `highest` plain fp32.

The inputs are random and shaped like `sovits bench`'s synthetic batch (4 s
utterances: 202 frames of which 200 valid, 128000 samples, 50 phoneme ids);
the model is GPT-SoVITS's own, imported from `--root` (a GPT-SoVITS checkout;
nothing of it is copied here). The VQ codebook is marked initialised, as in
fine-tuning from a pretrained s2G, so its k-means init never runs.

Prints one line `SOVITS_REFERENCE_RESULT {json}`: step times, their median,
peak RSS, the torch version and thread count.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

HOP = 640
FRAMES, VALID_FRAMES, TEXT_IDS = 202, 200, 50
MARKER = "SOVITS_REFERENCE_RESULT "
TEXT_GROUPS = ("enc_p.text_embedding.", "enc_p.encoder_text.", "enc_p.mrte.")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True, help="GPT-SoVITS checkout (the folder holding GPT_SoVITS/)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--segment", type=int, default=20480, help="samples, a multiple of 640, at most 128000")
    ap.add_argument("--steps", type=int, default=3, help="timed steps (the median is reported)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--matmul-precision", choices=["highest", "high", "medium"], default="highest")
    a = ap.parse_args()
    if a.segment % HOP or not 0 < a.segment <= VALID_FRAMES * HOP:
        sys.exit(f"--segment must be a positive multiple of {HOP} up to {VALID_FRAMES * HOP}")
    return a


def stub_missing(name):
    """Registers an empty stand-in for the optional package `name` (and its
    same-named submodule) when it is not installed: `module.models` imports
    `x_transformers` for the v3/v4 DiT only, which a v2 step never builds.
    Any attribute is a placeholder that refuses to be used."""
    import importlib.util
    import types

    if importlib.util.find_spec(name) is not None:
        return

    def unavailable(*_a, **_k):
        raise RuntimeError(f"{name} is not installed (stand-in for imports only)")

    def attr(a):
        if a.startswith("__"):
            raise AttributeError(a)
        return unavailable

    for mod_name in (name, f"{name}.{name}"):
        mod = types.ModuleType(mod_name)
        mod.__getattr__ = attr
        sys.modules[mod_name] = mod


def import_reference(root):
    """GPT-SoVITS's modules import each other as top-level `module`, `text`."""
    for p in (root, os.path.join(root, "GPT_SoVITS")):
        if p not in sys.path:
            sys.path.insert(0, p)
    stub_missing("x_transformers")
    from module import commons, losses, mel_processing, models

    return commons, losses, mel_processing, models


def build(models, cfg, segment):
    data, model = cfg["data"], dict(cfg["model"], version="v2")
    net_g = models.SynthesizerTrn(
        data["filter_length"] // 2 + 1, segment // data["hop_length"], n_speakers=data["n_speakers"], **model
    )
    net_d = models.MultiPeriodDiscriminator(model["use_spectral_norm"], version="v2")
    for name, buf in net_g.named_buffers():
        if name.endswith("inited"):
            buf.fill_(1.0)
    return net_g, net_d


def optimizers(torch, net_g, net_d, train):
    lr, betas, eps = train["learning_rate"], tuple(train["betas"]), train["eps"]
    groups = {prefix: [] for prefix in ("",) + TEXT_GROUPS}
    for name, p in net_g.named_parameters():
        if p.requires_grad:
            groups[next((t for t in TEXT_GROUPS if name.startswith(t)), "")].append(p)
    low = lr * train["text_low_lr_rate"]
    param_groups = [{"params": ps, "lr": lr if prefix == "" else low} for prefix, ps in groups.items()]
    opt_g = torch.optim.AdamW(param_groups, lr, betas=betas, eps=eps)
    opt_d = torch.optim.AdamW(net_d.parameters(), lr, betas=betas, eps=eps)
    return opt_g, opt_d


def inputs(torch, batch):
    g = torch.Generator().manual_seed(0)
    valid = torch.arange(FRAMES) < VALID_FRAMES
    return {
        "ssl": torch.randn(batch, 768, FRAMES, generator=g) * valid,
        "spec": torch.rand(batch, 1025, FRAMES, generator=g) * valid,
        "spec_lengths": torch.full((batch,), VALID_FRAMES),
        "audio": torch.rand(batch, 1, VALID_FRAMES * HOP, generator=g) - 0.5,
        "text": torch.randint(1, 700, (batch, TEXT_IDS), generator=g),
        "text_lengths": torch.full((batch,), TEXT_IDS),
    }


def grad_norm(torch, params):
    """`commons.clip_grad_value_(params, None)`'s work: the norm, no clipping."""
    return torch.norm(torch.stack([p.grad.detach().norm(2) for p in params if p.grad is not None]), 2)


def step(ctx, x):
    torch, (commons, losses, mel, _), cfg, net_g, net_d, opt_g, opt_d = ctx
    data, train = cfg["data"], cfg["train"]
    seg = net_g.segment_size  # frames
    y_hat, kl_ssl, ids, _, z_mask, (_, z_p, m_p, logs_p, _, logs_q), _ = net_g(
        x["ssl"], x["spec"], x["spec_lengths"], x["text"], x["text_lengths"]
    )
    mel_args = (data["filter_length"], data["n_mel_channels"], data["sampling_rate"])
    fbounds = (data["mel_fmin"], data["mel_fmax"])
    y_mel = commons.slice_segments(mel.spec_to_mel_torch(x["spec"], *mel_args, *fbounds), ids, seg)
    y_hat_mel = mel.mel_spectrogram_torch(
        y_hat.squeeze(1), *mel_args, data["hop_length"], data["win_length"], *fbounds
    )
    y = commons.slice_segments(x["audio"], ids * data["hop_length"], seg * data["hop_length"])

    real, fake, _, _ = net_d(y, y_hat.detach())
    loss_d, _, _ = losses.discriminator_loss(real, fake)
    opt_d.zero_grad()
    loss_d.backward()
    grad_norm(torch, net_d.parameters())
    opt_d.step()

    _, fake, fmap_r, fmap_g = net_d(y, y_hat)
    loss_g = (
        losses.generator_loss(fake)[0]
        + losses.feature_loss(fmap_r, fmap_g)
        + torch.nn.functional.l1_loss(y_mel, y_hat_mel) * train["c_mel"]
        + losses.kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * train["c_kl"]
        + kl_ssl * 1
    )
    opt_g.zero_grad()
    loss_g.backward()
    grad_norm(torch, net_g.parameters())
    opt_g.step()
    return float(loss_d), float(loss_g)


def main():
    a = parse_args()
    import torch

    torch.set_num_threads(a.threads)
    torch.set_float32_matmul_precision(a.matmul_precision)
    torch.manual_seed(0)
    refs = import_reference(a.root)
    with open(os.path.join(a.root, "GPT_SoVITS", "configs", "s2.json")) as f:
        cfg = json.load(f)
    net_g, net_d = build(refs[3], cfg, a.segment)
    net_g.train()
    net_d.train()
    opt_g, opt_d = optimizers(torch, net_g, net_d, cfg["train"])
    ctx = (torch, refs, cfg, net_g, net_d, opt_g, opt_d)
    x = inputs(torch, a.batch)
    times, last = [], None
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        last = step(ctx, x)
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    result = {
        "batch": a.batch,
        "segment": a.segment,
        "matmul_precision": a.matmul_precision,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "step_s": times,
        "median_step_s": statistics.median(times) if times else None,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "last_losses": {"d": last[0], "g": last[1]} if last else None,
    }
    print(MARKER + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
