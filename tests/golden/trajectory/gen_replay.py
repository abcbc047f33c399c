"""Replays the three GPT-SoVITS v2 stage-2 steps of this fixture with the real
reference code (`s2_train.py::train_and_evaluate`'s order: D update on the
detached fake, then the G update through the updated D; AdamW with s2_train's
parameter groups), in float32 and in float64, and writes the float64 replay's
state after step 3 (see PROVENANCE.md, "Float64 replay").

Usage (outside CI): GSV_ROOT=<GPT-SoVITS checkout at 48b1a01> GSV_SHIMS=<shims>
    <venv>/bin/python gen_replay.py <repo>/tests/golden <out dir> [<shared fixture dir>]

GPT-SoVITS is imported from $GSV_ROOT; none of its text is copied here. The
batch, the recorded random draws and every setting come from this folder
(`in.*.npy`, `step*.npy`, `trajectory.json`); the tiny G is
`../sovits_v2/tiny_G.safetensors`, the D the MPD fixture's closed-form rule
(`../sovits_v2pro/gen_v2pro.py::closed_form_mpd`, checked against
`../mpd/mpd_small_params.safetensors`). With a third argument (the shared
fixture folder, which holds the full float32 `G_after_step3.safetensors`), the
float32 replay made here is also compared element by element with it.

Float64 mode: GPT-SoVITS's losses and `temporal_avg_pool` call `.float()` on
their inputs; while replaying in float64, `Tensor.float` leaves float64
tensors as they are, so the whole step stays in float64 (the same effect as
the fixture README's "float64 copies" of those formulas).
"""
import json, os, sys

import numpy as np

GOLD, OUT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
SHARED = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 else None
sys.path.insert(0, os.path.join(GOLD, "sovits_v2pro"))
import gen_v2pro as G  # noqa: E402  (puts GPT-SoVITS on sys.path)
import gen_v2pro_step as S  # noqa: E402  (s2_train's step on this folder's batch and draws)
import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from module.models import SynthesizerTrn  # noqa: E402
from module.mrte_model import MRTE  # noqa: E402

TRAJ, NAN = S.TRAJ, float("nan")


def tiny_v2(cfg, base, traj):
    """The fixture's tiny v2 generator: tiny_config's arguments, the MRTE override, tiny_G weights, dropouts 0."""
    c = traj["config"]
    args = dict(cfg["synthesizer_args"])
    args["p_dropout"] = c["G_p_dropout"]
    net = SynthesizerTrn(**args)
    o = cfg["mrte_override"]
    net.enc_p.mrte = MRTE(content_enc_channels=o["content_enc_channels"], hidden_size=o["hidden_size"],
                          out_channels=o["out_channels"], n_heads=o["n_heads"])
    net.load_state_dict(base, strict=True)
    forced = {f["module"] for f in c["dropout_modules_forced_to_zero"]}
    for name, m in net.named_modules():
        if isinstance(m, torch.nn.Dropout) and m.p > 0:
            assert name in forced, f"dropout {name} (p={m.p}) is not in trajectory.json's list"
            m.p = 0.0
    net.segment_size = c["segment_frames"]
    return net.train()


def closed_form_d():
    """The v2 MPD: the closed-form rule, then the fixture's exact small tensors (its initial weight_g) on top."""
    d = G.closed_form_mpd(None)
    small = load_file(os.path.join(GOLD, "mpd", "mpd_small_params.safetensors"))
    sd = d.state_dict()
    for k, v in small.items():
        gap = (sd[k].double() - v.double()).abs().max().item()
        assert gap < 1e-6, f"closed-form D differs from mpd_small_params at {k} by {gap}"
    sd.update(small)
    d.load_state_dict(sd, strict=True)
    return d.train()


def replay(dtype, cfg, base, traj):
    """Runs the steps; returns per-step scalars, the G state dict and optim_g's state after the last."""
    c = traj["config"]
    net, d = tiny_v2(cfg, base, traj).to(dtype), closed_form_d().to(dtype)
    optim_g, optim_d = S.s2_optimizers(net, d, c)
    for want, got in zip(traj["optim_g_param_groups"], optim_g.param_groups):
        assert abs(want["lr"] - got["lr"]) < 1e-12 and want["n_params"] == len(got["params"]), (want, got["lr"])
    inputs, steps, orig_float = S.batch(dtype), [], torch.Tensor.float
    if dtype == torch.float64:  # keep the losses' and temporal_avg_pool's `.float()` in float64
        torch.Tensor.float = lambda self, *a, **k: self if self.dtype == torch.float64 else orig_float(self, *a, **k)
    try:
        for s in range(1, c["steps"] + 1):
            scalars, ids_slice, y_hat, _ = S.s2_step(net, d, optim_g, optim_d, inputs, s, c)
            keep = ("loss_disc_all", "loss_gen", "loss_fm", "loss_mel", "loss_kl", "loss_gen_all", "grad_norm_d", "grad_norm_g")
            steps.append(dict({k: scalars[k] for k in keep}, ids_slice=ids_slice.tolist(), y_hat=y_hat.detach().double().numpy()))
    finally:
        torch.Tensor.float = orig_float
    names = {id(p): n for n, p in net.named_parameters()}
    state = {names[id(p)]: {k: (v.detach().double() if torch.is_tensor(v) else v) for k, v in st.items()} for p, st in optim_g.state.items()}
    return steps, {k: v.detach().double() for k, v in net.state_dict().items()}, state


def main():
    cfg, base, traj = S.setup()
    last = traj["config"]["steps"]
    g_keys = sorted(json.load(open(os.path.join(TRAJ, f"G_after_step{last}.stats.json"))))
    o_keys = sorted(k for k, v in json.load(open(os.path.join(TRAJ, f"optim_after_step{last}.json")))["optim_g"].items() if "state" not in v)
    runs = {tag: replay(dtype, cfg, base, traj) for tag, dtype in [("f32", torch.float32), ("f64", torch.float64)]}
    for tag, (steps, _, _) in runs.items():
        for s, st in enumerate(steps, 1):
            want = traj["steps" if tag == "f32" else "steps_float64_reference"][s - 1]
            y = float(np.abs(st.pop("y_hat") - np.load(os.path.join(TRAJ, f"step{s}.out.y_hat.npy"))).max())
            print(tag, "step", s, "ours / fixture:", {k: [v, want.get(k)] for k, v in st.items()}, "y_hat vs fixture f32:", y)
    _, sd64, st64 = runs["f64"]
    g = np.array([S.stats11(sd64[k], NAN) for k in g_keys], dtype=np.float32)
    o = np.array([[st64[k]["exp_avg"].sum().item(), st64[k]["exp_avg_sq"].sum().item()] + S.stats11(st64[k]["exp_avg"], NAN)[3:]
                  + S.stats11(st64[k]["exp_avg_sq"], NAN)[3:] for k in o_keys], dtype=np.float32)
    assert all(float(st64[k]["step"]) == last for k in o_keys)
    np.save(os.path.join(OUT, f"G_after_step{last}.f64.npy"), g)
    np.save(os.path.join(OUT, f"optim_g_after_step{last}.f64.npy"), o)
    # element counts: float32 here and float64 vs the fixture's float32 state (shared folder only)
    full = load_file(os.path.join(SHARED, f"G_after_step{last}.safetensors")) if SHARED else {}
    for tag in runs:
        sd = runs[tag][1]
        d = {k: (sd[k] - t.double()).abs() for k, t in full.items() if t.is_floating_point()}
        if d:
            worst = max(d, key=lambda k: d[k].max().item())
            print(tag, f"here vs fixture f32 G after step {last}: elements", sum(x.numel() for x in d.values()),
                  "> 1e-4:", sum(int((x > 1e-4).sum()) for x in d.values()), "max", d[worst].max().item(), worst)


if __name__ == "__main__":
    main()
