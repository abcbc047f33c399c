"""One GPT-SoVITS stage-2 training step of the tiny v2Pro / v2ProPlus generators
(the order of `s2_train.py::train_and_evaluate`: D update on the detached fake,
then the G update through the updated D; AdamW with s2_train's parameter groups),
run in float32 and float64; writes per-tensor statistics (see PROVENANCE.md).

Usage (outside CI): GSV_ROOT=<GPT-SoVITS checkout at 48b1a01> GSV_SHIMS=<shims>
    <venv>/bin/python gen_v2pro_step.py <repo>/tests/golden <out dir>    (absolute paths)

GPT-SoVITS is imported from $GSV_ROOT; none of its text is copied here. The
generators, their weights and the sv inputs are those of gen_v2pro.py (imported);
the batch, the two random draws and the optimiser settings are the v2 trajectory
fixture's (../trajectory: in.*.npy, step1.*.npy, trajectory.json).
"""
import json, os, sys

import numpy as np

GOLD, OUT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_v2pro as G  # noqa: E402  (puts GPT-SoVITS on sys.path)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from module.models import MultiPeriodDiscriminator  # noqa: E402
from module import commons  # noqa: E402
from module.losses import discriminator_loss, feature_loss, generator_loss, kl_loss  # noqa: E402
from module.mel_processing import mel_spectrogram_torch, spec_to_mel_torch  # noqa: E402

TRAJ = os.path.join(GOLD, "trajectory")


def tnpy(name):
    return torch.from_numpy(np.load(os.path.join(TRAJ, name + ".npy")))


def make_d():
    """The 7-period MPD with the MPD fixture's closed-form weights (gen_v2pro.py's)."""
    return G.closed_form_mpd7()


def s2_optimizers(net, d, c):
    """AdamW for G with s2_train's groups (text embedding, text encoder and MRTE at text_low_lr_rate) and for D."""
    lr, betas, eps, rate = c["lr"], tuple(c["betas"]), c["eps"], c["text_low_lr_rate"]
    special = [net.enc_p.text_embedding, net.enc_p.encoder_text, net.enc_p.mrte]
    ids_special = [id(p) for m in special for p in m.parameters()]
    base_params = [p for p in net.parameters() if id(p) not in ids_special and p.requires_grad]
    optim_g = torch.optim.AdamW([{"params": base_params, "lr": lr}] + [{"params": m.parameters(), "lr": lr * rate} for m in special],
                                lr, betas=betas, eps=eps)
    return optim_g, torch.optim.AdamW(d.parameters(), lr, betas=betas, eps=eps)


def batch(dtype):
    """The trajectory batch: ssl, spec, spec_lengths, text, text_lengths, y (floats cast to dtype)."""
    cast = lambda t: t.to(dtype) if t.is_floating_point() else t
    return [cast(tnpy("in." + n)) for n in ("ssl", "spec", "spec_lengths", "text", "text_lengths", "y")]


def s2_step(net, d, optim_g, optim_d, inputs, step, c, *extra):
    """One step of s2_train.py::train_and_evaluate on `inputs` (`batch`), with trajectory step `step`'s
    recorded draws; `extra` follows text_lengths in the G call (v2Pro: sv). Returns the scalars,
    ids_slice, y_hat and the G gradients before the update."""
    ssl, spec, spec_lengths, text, text_lengths, y = inputs
    noise_q, u = tnpy(f"step{step}.noise_enc_q").to(ssl.dtype), tnpy(f"step{step}.rand_slice_u")
    orig_randn, orig_rand = torch.randn_like, torch.rand
    torch.randn_like = lambda x, *a, **k: noise_q.to(x.dtype)
    torch.rand = lambda *a, **k: u.to(k.get("dtype") or torch.float32)
    try:
        y_hat, kl_ssl, ids_slice, x_mask, z_mask, (z, z_p, m_p, logs_p, m_q, logs_q), _ = net(ssl, spec, spec_lengths, text, text_lengths, *extra)
    finally:
        torch.randn_like, torch.rand = orig_randn, orig_rand
    seg = c["segment_size_samples"]
    hop = c["hop_length"]
    mel = spec_to_mel_torch(spec, 2048, 128, 32000, 0.0, None)
    y_mel = commons.slice_segments(mel, ids_slice, seg // hop)
    y_hat_mel = mel_spectrogram_torch(y_hat.squeeze(1), 2048, 128, 32000, hop, 2048, 0.0, None)
    y = commons.slice_segments(y, ids_slice * hop, seg)
    y_d_hat_r, y_d_hat_g, _, _ = d(y, y_hat.detach())
    loss_disc, r_losses, g_losses = discriminator_loss(y_d_hat_r, y_d_hat_g)
    optim_d.zero_grad()
    loss_disc.backward()
    grad_norm_d = commons.clip_grad_value_(d.parameters(), None)
    optim_d.step()
    y_d_hat_r, y_d_hat_g, fmap_r, fmap_g = d(y, y_hat)
    loss_mel = F.l1_loss(y_mel, y_hat_mel) * c["c_mel"]
    loss_kl = kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * c["c_kl"]
    loss_fm = feature_loss(fmap_r, fmap_g)
    loss_gen, gen_losses = generator_loss(y_d_hat_g)
    loss_gen_all = loss_gen + loss_fm + loss_mel + kl_ssl * 1 + loss_kl
    optim_g.zero_grad()
    loss_gen_all.backward()
    grads = {n: p.grad.detach().clone() for n, p in net.named_parameters() if p.grad is not None}
    grad_norm_g = commons.clip_grad_value_(net.parameters(), None)
    optim_g.step()
    f = lambda t: float(t)
    scalars = {"loss_disc_all": f(loss_disc), "loss_gen": f(loss_gen), "loss_fm": f(loss_fm), "loss_mel": f(loss_mel),
               "loss_kl": f(loss_kl), "kl_ssl": f(kl_ssl), "loss_gen_all": f(loss_gen_all),
               "r_losses": [float(x) for x in r_losses], "g_losses": [float(x) for x in g_losses],
               "gen_losses": [float(x) for x in gen_losses], "grad_norm_d": f(grad_norm_d), "grad_norm_g": f(grad_norm_g)}
    return scalars, ids_slice, y_hat, grads


def one_step(version, dtype, cfg, base, traj):
    c = traj["config"]
    net, args, over, mrte_hidden, _ = G.tiny_g(version, cfg, base)
    net.segment_size = c["segment_frames"]  # the trajectory's 8-frame segment (tiny config: 32)
    net.train()
    forced = []
    for name, m in net.named_modules():
        if isinstance(m, torch.nn.Dropout) and m.p > 0:
            forced.append({"module": name, "p_was": m.p})
            m.p = 0.0
    d = make_d().train()
    net, d = net.to(dtype), d.to(dtype)
    optim_g, optim_d = s2_optimizers(net, d, c)
    names = {id(p): n for n, p in net.named_parameters()}
    groups = [{"lr": g["lr"], "weight_decay": g["weight_decay"], "names": None if i == 0 else [names[id(p)] for p in g["params"]]}
              for i, g in enumerate(optim_g.param_groups)]
    p0 = {n: p.detach().clone() for n, p in net.named_parameters()}
    sv = torch.from_numpy(G.rule(5000, (2, 20480), 1.0)).to(dtype)
    scalars, ids_slice, y_hat, grads = s2_step(net, d, optim_g, optim_d, batch(dtype), 1, c, sv)
    delta = {n: (p.detach() - p0[n]) for n, p in net.named_parameters() if n in grads}
    return {"scalars": scalars, "ids_slice": ids_slice.tolist(), "grads": grads, "delta": delta, "groups": groups,
            "forced": forced, "optim_d": {"lr": optim_d.param_groups[0]["lr"], "weight_decay": optim_d.param_groups[0]["weight_decay"]}, "no_grad": [n for n, p in net.named_parameters() if p.grad is None],
            "y_hat_rms": float(y_hat.detach().double().pow(2).mean().sqrt())}


def stats11(t, pad=0.0):
    """sum, abs_sum, max_abs and the first 8 values (padded with `pad`) of a tensor, in float64."""
    a = t.detach().double().reshape(-1)
    first8 = a[:8].tolist() + [pad] * (8 - min(8, a.numel()))
    return [a.sum().item(), a.abs().sum().item(), a.abs().max().item()] + first8


def setup():
    """Creates OUT, pins torch to one thread; returns the tiny config, tiny_G weights and trajectory.json."""
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    cfg = json.load(open(os.path.join(GOLD, "sovits_v2", "tiny_config.json")))
    base = load_file(os.path.join(GOLD, "sovits_v2", "tiny_G.safetensors"))
    return cfg, base, json.load(open(os.path.join(TRAJ, "trajectory.json")))


def main():
    cfg, base, traj = setup()
    out = {"gpt_sovits_commit": "48b1a0169a28582a8984402f82cf438d3bfa6aca", "torch_version": torch.__version__,
           "config": {k: traj["config"][k] for k in ("lr", "betas", "eps", "text_low_lr_rate", "c_mel", "c_kl",
                                                     "segment_size_samples", "segment_frames", "hop_length", "batch_size")},
           "sv_input": {"k": 5000, "shape": [2, 20480], "scale": 1.0, "offset": 0.0},
           "stats_columns": ["grad sum", "grad abs_sum", "grad max_abs", "grad first8 (0-padded)", "sum of the update p1 - p0"],
           "gap_columns": ["|grad sum f32 - f64|", "|grad abs_sum f32 - f64|", "max |grad first8 f32 - f64|",
                           "elements whose grad sign differs f32 vs f64"]}
    for version in ["v2Pro", "v2ProPlus"]:
        r32 = one_step(version, torch.float32, cfg, base, traj)
        r64 = one_step(version, torch.float64, cfg, base, traj)
        keys = list(r32["grads"])
        assert keys == list(r64["grads"]) and r32["ids_slice"] == r64["ids_slice"]
        tag = version.lower()
        g = np.array([stats11(r32["grads"][k]) + [r32["delta"][k].double().sum().item()] for k in keys], dtype=np.float32)
        gap = []
        for k in keys:
            a, b = r32["grads"][k].double(), r64["grads"][k]
            s32, s64 = stats11(a), stats11(b)
            gap.append([abs(s32[0] - s64[0]), abs(s32[1] - s64[1]), max(abs(x - y) for x, y in zip(s32[3:], s64[3:])),
                        float((torch.sign(a) != torch.sign(b)).sum())])
        np.save(os.path.join(OUT, f"step.{tag}.grad_stats.npy"), g)
        np.save(os.path.join(OUT, f"step.{tag}.grad_gap_f32_f64.npy"), np.array(gap, dtype=np.float32))
        s32, s64 = r32["scalars"], r64["scalars"]
        scal_gap = {k: (max(abs(x - y) for x, y in zip(s32[k], s64[k])) if isinstance(s32[k], list) else abs(s32[k] - s64[k])) for k in s32}
        same = version != "v2Pro" and keys == out["v2Pro"]["keys"]
        groups = r32["groups"]
        if same and groups == out["v2Pro"]["optim_g_param_groups"]:
            groups = "as v2Pro"
        out[version] = {"keys": "as v2Pro" if same else keys, "ids_slice": r32["ids_slice"],
                        "optim_g_param_groups": groups, "optim_d": r32["optim_d"], "params_without_grad": r32["no_grad"],
                        "dropout_modules_forced_to_zero": r32["forced"], "scalars": s32, "scalars_f32_vs_f64": scal_gap,
                        "y_hat_rms": r32["y_hat_rms"]}
        print(version, json.dumps(s32), json.dumps(scal_gap))
        ga = np.array(gap)
        rel = ga[:, 1] / np.maximum(g[:, 1], 1e-30)
        print(version, "tensors", len(keys), "grad abs_sum rel gap max", rel.max(), "median", np.median(rel),
              "first8 gap / max_abs max", (ga[:, 2] / np.maximum(g[:, 2], 1e-30)).max(), "sign flips", ga[:, 3].sum())
    with open(os.path.join(OUT, "step.json"), "w") as fh:
        json.dump(out, fh, separators=(",", ":"))


if __name__ == "__main__":
    main()
