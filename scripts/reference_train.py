#!/usr/bin/env python3
"""Trains GPT-SoVITS's own stage-2 modules on the batches of a sovits run.

The reference side of a quality comparison (docs/quality.md): GPT-SoVITS's
`SynthesizerTrn` and `MultiPeriodDiscriminator` (imported from $GSV_ROOT,
nothing of it copied here) are built from a sovits spec, loaded from a sovits
checkpoint (G.safetensors / D.safetensors hold GPT-SoVITS key names in torch
layout), and trained with the step of `GPT_SoVITS/s2_train.py::
train_and_evaluate` (G forward; D update on the detached fake; G update with
mel L1, KL, feature matching, LSGAN and kl_ssl; AdamW with the text / MRTE
parameter groups) on exactly the items, in exactly the order, that a sovits
run's metrics.jsonl lists for each step (`items`), collated as sovits does
(longest first; spec and ssl zero-padded to 2 * (T_max // 2 + 1) frames).
The learning rate of each step is the one that run logged (`lr`), so both
sides share the schedule. Its own randomness (dropout masks, posterior noise,
segment draws) comes from torch, seeded by --seed.

It writes metrics.jsonl lines with sovits's keys and meanings (unweighted
terms: `g/mel-l1`, `g/kl`, `g/feature-matching` (without the reference's x2),
`g/lsgan`, `g/kl-ssl`, `d/lsgan`; weighted totals `g/total`, `d/total`;
pre-clip gradient norms), so `sovits compare-runs` reads both sides alike.

Usage (see docs/quality.md):
  GSV_ROOT=... python scripts/reference_train.py --run RUN --data DIR \
      --init CKPT_DIR --out OUT_DIR [--seed 1] [--steps N] [--threads 2]
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gsv_path import setup_paths  # noqa: E402


def model_kwargs(spec):
    """The reference's SynthesizerTrn kwargs: our generator params over s2.json's model section."""
    with open(os.path.join(os.environ["GSV_ROOT"], "GPT_SoVITS", "configs", "s2.json")) as f:
        kw = dict(json.load(f)["model"])
    ours = dict(spec["generator"]["params"])
    extra = {k: ours.pop(k) for k in list(ours) if k.startswith(("mrte_", "ref_enc_"))}
    fixed = dict(ssl_dim=768, n_vocab=732, codebook_size=1024, window_size=4, spec_channels=1025)
    for k, v in fixed.items():
        if k in ours and ours.pop(k) != v:
            sys.exit(f"generator.params.{k} = {spec['generator']['params'][k]}: the reference hard-codes {v}")
    kw.update(ours)
    kw["version"] = kw.get("version", "v2")
    return kw, extra


def build(spec, init_dir):
    import torch
    from module import modules
    from module.models import MultiPeriodDiscriminator, SynthesizerTrn
    from module.mrte_model import MRTE
    from safetensors.torch import load_file

    hop = spec["data"]["hop_length"]
    kw, extra = model_kwargs(spec)
    net_g = SynthesizerTrn(1025, spec["trainer"]["segment_size"] // hop, **kw)
    mrte = [extra.get(k, d) for k, d in [("mrte_content_channels", 192), ("mrte_hidden", 512), ("mrte_out", 192), ("mrte_heads", 4)]]
    if mrte != [192, 512, 192, 4]:  # TextEncoder builds MRTE() with these hard-coded
        net_g.enc_p.mrte = MRTE(content_enc_channels=mrte[0], hidden_size=mrte[1], out_channels=mrte[2], n_heads=mrte[3])
    ref = [extra.get("ref_enc_hidden", 128), extra.get("ref_enc_dropout", 0.1), extra.get("ref_enc_bins", 704)]
    if ref != [128, 0.1, 704]:
        net_g.ref_enc = modules.MelStyleEncoder(ref[2], style_hidden=ref[0], style_vector_dim=kw["gin_channels"], dropout=ref[1])
    (d_spec,) = spec["discriminators"]
    if d_spec["name"] != "mpd" or d_spec["params"].get("periods", [2, 3, 5, 7, 11]) != [2, 3, 5, 7, 11]:
        sys.exit(f"the reference driver supports the v2 mpd only, found {d_spec}")
    net_d = MultiPeriodDiscriminator(d_spec["params"].get("use_spectral_norm", False), version=kw["version"])
    g_state = load_file(os.path.join(init_dir, "G.safetensors"))
    missing, unexpected = net_g.load_state_dict(g_state, strict=False)
    if unexpected or [k for k in missing if not k.startswith("quantizer.")]:
        sys.exit(f"G.safetensors: missing {missing}, unexpected {unexpected}")
    net_d.load_state_dict(load_file(os.path.join(init_dir, "D.safetensors")), strict=True)
    return net_g, net_d


def optimizers(spec, net_g, net_d):
    import torch

    def adam(o, groups):
        p = o["params"]
        return torch.optim.AdamW(groups, o["learning_rate"], betas=tuple(p["betas"]), eps=p["eps"], weight_decay=p["weight_decay"])

    og = spec["optimizer_g"]
    scale = {g["name"]: g["lr_scale"] for g in og.get("groups", [])}.get("text", 1.0)
    low = [id(p) for m in (net_g.enc_p.text_embedding, net_g.enc_p.encoder_text, net_g.enc_p.mrte) for p in m.parameters()]
    base = [p for p in net_g.parameters() if id(p) not in low and p.requires_grad]
    low_groups = [{"params": list(m.parameters()), "lr": og["learning_rate"] * scale, "lr_scale": scale}
                  for m in (net_g.enc_p.text_embedding, net_g.enc_p.encoder_text, net_g.enc_p.mrte)]
    opt_g = adam(og, [{"params": base, "lr": og["learning_rate"], "lr_scale": 1.0}] + low_groups)
    opt_d = adam(spec["optimizer_d"], [{"params": list(net_d.parameters()), "lr_scale": 1.0}])
    return opt_g, opt_d


class Data:
    """Items of a sovits dataset by id, collated like sovits's loader."""

    def __init__(self, root):
        self.root = root
        with open(os.path.join(root, "metadata.json")) as f:
            self.items = {it["id"]: it for it in json.load(f)["items"]}

    def load(self, item_id):
        stem = self.items[item_id].get("stem", item_id)
        get = lambda folder: np.load(os.path.join(self.root, folder, stem + ".npy"))
        spec, ssl = get("spec").astype(np.float32), get("ssl").astype(np.float32)
        t = spec.shape[1]
        ssl = ssl[:, :t] if ssl.shape[1] >= t else np.concatenate([ssl, np.repeat(ssl[:, -1:], t - ssl.shape[1], 1)], 1)
        return dict(spec=spec, ssl=ssl, text=get("phoneme_ids").astype(np.int64), audio=get("audio").astype(np.float32))

    def batch(self, ids):
        import torch

        xs = sorted((self.load(i) for i in ids), key=lambda x: -x["spec"].shape[1])  # stable: ties keep order
        frames = 2 * (max(x["spec"].shape[1] for x in xs) // 2 + 1)
        tl, al = max(len(x["text"]) for x in xs), max(len(x["audio"]) for x in xs)
        b = len(xs)
        spec, ssl = np.zeros((b, 1025, frames), np.float32), np.zeros((b, 768, frames), np.float32)
        text, audio = np.zeros((b, tl), np.int64), np.zeros((b, 1, al), np.float32)
        for r, x in enumerate(xs):
            t = x["spec"].shape[1]
            spec[r, :, :t], ssl[r, :, :t] = x["spec"], x["ssl"]
            text[r, : len(x["text"])], audio[r, 0, : len(x["audio"])] = x["text"], x["audio"]
        lens = lambda key, f: torch.tensor([f(x[key]) for x in xs], dtype=torch.long)
        t = torch.from_numpy
        return dict(ssl=t(ssl), spec=t(spec), spec_lengths=lens("spec", lambda a: a.shape[1]), text=t(text),
                    text_lengths=lens("text", len), y=t(audio))


def step(spec, nets, opts, b, lr, weights):
    """One s2_train.py step; returns sovits-named metrics."""
    import torch
    from module import commons
    from module.losses import discriminator_loss, feature_loss, generator_loss, kl_loss
    from module.mel_processing import mel_spectrogram_torch, spec_to_mel_torch

    net_g, net_d = nets
    opt_g, opt_d = opts
    for o in opts:
        for g in o.param_groups:
            g["lr"] = lr * g["lr_scale"]
    fe = spec["frontend"]["params"]
    hop, seg = spec["data"]["hop_length"], spec["trainer"]["segment_size"]
    clip = spec["trainer"].get("grad_clip")

    def norm(params):
        if clip is None:
            return float(commons.clip_grad_value_(params, None))
        return float(torch.nn.utils.clip_grad_norm_(list(params), clip))

    y_hat, kl_ssl, ids_slice, _, z_mask, (z, z_p, m_p, logs_p, m_q, logs_q), _ = net_g(
        b["ssl"], b["spec"], b["spec_lengths"], b["text"], b["text_lengths"])
    mel = spec_to_mel_torch(b["spec"], fe["n_fft"], fe["n_mels"], fe["sampling_rate"], fe["fmin"], fe["fmax"])
    y_mel = commons.slice_segments(mel, ids_slice, seg // hop)
    y_hat_mel = mel_spectrogram_torch(y_hat.squeeze(1), fe["n_fft"], fe["n_mels"], fe["sampling_rate"], hop,
                                      fe["win_length"], fe["fmin"], fe["fmax"])
    y = commons.slice_segments(b["y"], ids_slice * hop, seg)
    r, g, _, _ = net_d(y, y_hat.detach())
    loss_disc, _, _ = discriminator_loss(r, g)
    opt_d.zero_grad()
    loss_disc.backward()
    d_norm = norm(net_d.parameters())
    opt_d.step()
    r, g, fmap_r, fmap_g = net_d(y, y_hat)
    mel_l1 = torch.nn.functional.l1_loss(y_mel, y_hat_mel)
    kl = kl_loss(z_p, logs_q, m_p, logs_p, z_mask)
    fm = feature_loss(fmap_r, fmap_g) / 2.0  # the reference's x2 lives in our spec weight
    gen, _ = generator_loss(g)
    terms = {"g/lsgan": gen, "g/feature-matching": fm, "g/mel-l1": mel_l1, "g/kl": kl, "g/kl-ssl": kl_ssl}
    total = sum(weights[k.split("/", 1)[1]] * v for k, v in terms.items())
    opt_g.zero_grad()
    total.backward()
    g_norm = norm(net_g.parameters())
    opt_g.step()
    out = {k: float(v) for k, v in terms.items()}
    out.update({"g/total": float(total), "d/total": float(loss_disc) * weights["lsgan"], "d/lsgan": float(loss_disc),
                "g/grad_norm": g_norm, "d/grad_norm": d_norm})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="sovits run directory: spec.json and metrics.jsonl (items, lr)")
    ap.add_argument("--data", required=True, help="the dataset that run trained on (with ssl/)")
    ap.add_argument("--init", required=True, help="checkpoint directory with G.safetensors and D.safetensors")
    ap.add_argument("--out", required=True, help="output directory (metrics.jsonl)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    setup_paths()
    import torch

    torch.set_num_threads(args.threads)
    torch.set_float32_matmul_precision("highest")
    torch.manual_seed(args.seed)
    with open(os.path.join(args.run, "spec.json")) as f:
        spec = json.load(f)
    if spec["trainer"].get("precision", "f32") != "f32":
        sys.exit("the reference side runs f32 only")
    weights = {l["name"]: l.get("weight", 1.0) for l in spec["losses"]}
    with open(os.path.join(args.run, "metrics.jsonl")) as f:
        plan = [r for r in map(json.loads, filter(str.strip, f)) if "items" in r]
    plan = plan[: args.steps] if args.steps else plan
    net_g, net_d = build(spec, args.init)
    net_g.train()
    net_d.train()
    opts = optimizers(spec, net_g, net_d)
    data = Data(args.data)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "metrics.jsonl"), "w") as log:
        for rec in plan:
            t0 = time.time()
            m = step(spec, (net_g, net_d), opts, data.batch(rec["items"]), rec["lr"], weights)
            m.update(step=rec["step"], epoch=rec["epoch"], lr=rec["lr"], seconds=time.time() - t0, items=rec["items"])
            log.write(json.dumps(m) + "\n")
            log.flush()
            print(f"step {rec['step']}: g/total {m['g/total']:.4f} d/total {m['d/total']:.4f} mel {m['g/mel-l1']:.4f} ({m['seconds']:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
