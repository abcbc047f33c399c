"""Generates tests/golden/sovits_v2pro: tiny GPT-SoVITS v2Pro / v2ProPlus generators
and the 7-period MultiPeriodDiscriminator, run in the reference PyTorch code.

Usage (outside CI): GSV_ROOT=<GPT-SoVITS checkout at 48b1a01> GSV_SHIMS=<shims>
    <venv>/bin/python gen_v2pro.py <repo>/tests/golden <out dir>

GPT-SoVITS is imported from $GSV_ROOT; none of its text is copied here.
Weights: every key shared with the tiny v2 fixture (../sovits_v2/tiny_G.safetensors)
is loaded from it; every other key follows the closed-form rule below, written to
index.json so a port rebuilds it exactly. Inputs are the v2 fixture's own files.
"""
import json, os, sys

import numpy as np

GOLD, OUT = sys.argv[1], sys.argv[2]
root = os.environ["GSV_ROOT"]
sys.path[:0] = [os.path.join(root, "GPT_SoVITS"), root, os.environ.get("GSV_SHIMS", "")]
os.chdir(root)
import torch
from safetensors.torch import load_file
from module.models import SynthesizerTrn, MultiPeriodDiscriminator
from module.mrte_model import MRTE
from module import losses

torch.set_num_threads(1)
V2 = os.path.join(GOLD, "sovits_v2")
RULE = ("flat[i] = offset + scale * ((lowbias32((i + k*0x9E3779B9) mod 2^32) / 2^32) - 0.5) * 2, "
        "row-major over the torch shape; weight_g = L2 norm of the matching weight_v over every dim but 0. "
        "lowbias32(x): x^=x>>16; x*=0x7feb352d; x^=x>>15; x*=0x846ca68b; x^=x>>16 (u32 wrapping). "
        "k, scale, offset per key below; scale = gain/sqrt(fan_in), fan_in = prod(shape[1:]) of the weight "
        "(its bias uses the weight's fan_in).")


def lowbias32(x):
    x = x.astype(np.uint64) & 0xFFFFFFFF
    x ^= x >> 16; x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15; x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def rule(k, shape, scale, offset=0.0):
    n = int(np.prod(shape)) if len(shape) else 1
    i = (np.arange(n, dtype=np.uint64) + np.uint64((k * 0x9E3779B9) & 0xFFFFFFFF)) & 0xFFFFFFFF
    u = lowbias32(i).astype(np.float64) / 4294967296.0
    return (offset + scale * (u - 0.5) * 2.0).astype(np.float32).reshape(shape)


def stats(a):
    a = np.asarray(a, dtype=np.float64).ravel()
    return {"sum": float(a.sum()), "abs_sum": float(np.abs(a).sum()), "max_abs": float(np.abs(a).max()),
            "first8": [float(x) for x in a[:8]]}


def npy(name):
    return torch.from_numpy(np.load(os.path.join(V2, name + ".npy")))


def fill(model, base, rule_prefixes, gains):
    """Loads base weights for shared keys, the rule for keys under rule_prefixes (or absent/mis-shaped)."""
    sd = model.state_dict()
    entries, new = [], {}
    for name, t in sd.items():
        if name in base and tuple(base[name].shape) == tuple(t.shape) and not name.startswith(rule_prefixes):
            new[name] = base[name].clone()
            continue
        entries.append(name)
    for k, name in enumerate(entries):
        shape = tuple(sd[name].shape)
        if name.endswith("weight_g"):
            continue
        wname = name[:-4] + "weight_v" if name.endswith(".bias") and name[:-4] + "weight_v" in sd else \
            name[:-4] + "weight" if name.endswith(".bias") else name
        wshape = tuple(sd[wname].shape)
        fan_in = int(np.prod(wshape[1:])) if len(wshape) > 1 else 1
        gain = next((g for p, g in gains if name.startswith(p)), 1.0)
        offset = 0.0
        if name == "prelu.weight":
            scale, offset = 0.25, 0.25
        else:
            scale = gain / np.sqrt(fan_in)
        new[name] = torch.from_numpy(rule(k, shape, scale, offset))
        entries[k] = {"key": name, "k": k, "shape": list(shape), "scale": float(scale), "offset": offset}
    for k, name in enumerate(list(entries)):
        if isinstance(name, str):
            v = new[name[:-8] + "weight_v"].double()
            g = v.flatten(1).norm(dim=1).reshape([-1] + [1] * (v.dim() - 1)).float()
            new[name] = g
            entries[k] = {"key": name, "k": k, "shape": list(g.shape), "norm_of": name[:-8] + "weight_v"}
    model.load_state_dict(new, strict=True)
    for e in entries:
        e["stats"] = stats(new[e["key"]].numpy())
    return entries


def tiny_g(version, cfg, base):
    args = dict(cfg["synthesizer_args"]); args["version"] = version
    over = {}
    if version == "v2ProPlus":
        over = {"upsample_initial_channel": 48, "upsample_kernel_sizes": [20, 16, 8, 2, 2]}
        args.update(over)
    args["p_dropout"] = 0.0
    torch.manual_seed(0)
    net = SynthesizerTrn(**args)
    mrte_hidden = 16
    net.enc_p.mrte = MRTE(content_enc_channels=32, hidden_size=mrte_hidden, out_channels=32, n_heads=4)
    net.ge_to512 = torch.nn.Linear(args["gin_channels"], mrte_hidden)
    prefixes = ("sv_emb.", "ge_to512.", "prelu.", "enc_p.mrte.") + (("dec.",) if version == "v2ProPlus" else ())
    entries = fill(net, base, prefixes, [("dec.", 2.0)])
    net.eval()
    return net, args, over, mrte_hidden, entries


def run_g(net, sv2, sv1, dtype):
    net = net.to(dtype)
    c = lambda t: t.to(dtype) if t.is_floating_point() else t
    out = {}
    ssl, spec = c(npy("ssl_quant.in.ssl")), c(npy("ref_enc.in.spec"))
    y_lengths, text, text_lengths = npy("forward.in.y_lengths"), npy("forward.in.text"), npy("forward.in.text_lengths")
    noise_q, u = c(npy("forward.in.noise_enc_q")), c(npy("forward.in.rand_slice_u"))
    orig_randn, orig_rand = torch.randn_like, torch.rand
    torch.randn_like = lambda x, *a, **k: noise_q.to(x.dtype)
    torch.rand = lambda *a, **k: u.to(k.get("dtype") or torch.float32)
    try:
        with torch.no_grad():
            o, commit, ids, ym, _, (z, z_p, m_p, logs_p, m_q, logs_q), _ = net(ssl, spec, y_lengths, text, text_lengths, sv_emb=c(sv2))
    finally:
        torch.randn_like, torch.rand = orig_randn, orig_rand
    out.update({"forward.out.o": o, "forward.out.z": z, "forward.out.z_p": z_p, "forward.out.m_p": m_p,
                "forward.out.logs_p": logs_p, "forward.out.m_q": m_q, "forward.out.logs_q": logs_q,
                "forward.out.ids_slice": ids})
    out["forward.out.loss_kl"] = losses.kl_loss(z_p, logs_q, m_p, logs_p, ym)
    with torch.no_grad():
        ymask = torch.unsqueeze(torch.arange(spec.size(2))[None, :] < y_lengths[:, None], 1).to(dtype)
        ge = net.ref_enc(spec[:, :704] * ymask, ymask) + net.sv_emb(c(sv2)).unsqueeze(-1)
        ge = net.prelu(ge)
        out["forward.out.ge"] = ge
        out["forward.out.ge_text"] = net.ge_to512(ge.transpose(2, 1)).transpose(2, 1)
    noise_d = c(npy("decode.in.noise"))
    for ns, tag in [(0.0, "ns0"), (0.5, "ns05")]:
        torch.randn_like = lambda x, *a, **k: noise_d.to(x.dtype)
        try:
            out[f"decode.out.o_{tag}"] = net.decode(npy("decode.in.codes"), npy("decode.in.text"), c(npy("decode.in.refer")),
                                                    noise_scale=ns, sv_emb=c(sv1))
        finally:
            torch.randn_like = orig_randn
    return {k: v.detach() for k, v in out.items()}


def closed_form_mpd7():
    """The 7-period MPD (v2Pro/v2ProPlus) with the MPD fixture's closed-form weights."""
    return closed_form_mpd("v2Pro")


def closed_form_mpd(version):
    """`MultiPeriodDiscriminator(False, version=version)` with the MPD fixture's closed-form weights."""
    d = MultiPeriodDiscriminator(False, version=version)
    sd = d.state_dict()
    new = {}
    for k, (name, p) in enumerate(d.named_parameters()):
        if name.endswith("weight_g"):
            continue
        w = name[:-4] + "weight_v" if name.endswith(".bias") else name
        fan_in = int(np.prod(sd[w].shape[1:]))
        new[name] = torch.from_numpy(rule(k, tuple(p.shape), 1.0 / np.sqrt(fan_in)))
    for name in sd:
        if name.endswith("weight_g"):
            v = new[name[:-8] + "weight_v"].double()
            new[name] = v.flatten(1).norm(dim=1).reshape([-1] + [1] * (v.dim() - 1)).float()
    d.load_state_dict(new, strict=True)
    return d


def main():
    os.makedirs(OUT, exist_ok=True)
    cfg = json.load(open(os.path.join(V2, "tiny_config.json")))
    base = load_file(os.path.join(V2, "tiny_G.safetensors"))
    sv2 = torch.from_numpy(rule(5000, (2, 20480), 1.0))
    sv1 = torch.from_numpy(rule(5001, (1, 20480), 1.0))
    index = {"gpt_sovits_commit": "48b1a0169a28582a8984402f82cf438d3bfa6aca", "torch_version": torch.__version__,
             "rule": RULE, "inputs": {"forward.in.sv": {"k": 5000, "shape": [2, 20480], "scale": 1.0, "offset": 0.0},
                                      "decode.in.sv": {"k": 5001, "shape": [1, 20480], "scale": 1.0, "offset": 0.0}}}
    for version in ["v2Pro", "v2ProPlus"]:
        net, args, over, mrte_hidden, entries = tiny_g(version, cfg, base)
        n_params = sum(p.numel() for p in net.parameters())
        r32 = run_g(net, sv2, sv1, torch.float32)
        r64 = run_g(net, sv2, sv1, torch.float64)
        gap = {k: float((r32[k].double() - r64[k]).abs().max()) for k in r32 if r32[k].is_floating_point()}
        tag = version.lower()
        for k, v in r32.items():
            if k in ("forward.out.ids_slice", "decode.out.o_ns05"):
                continue  # ids in index.json; o_ns05 as statistics (size budget)
            np.save(os.path.join(OUT, f"{tag}.{k}.npy"), v.float().numpy() if v.dim() else v.float().reshape(1).numpy())
        index[version] = {"synthesizer_args": args, "overrides_vs_v2_tiny": over, "mrte_hidden": mrte_hidden,
                          "mrte_override": "enc_p.mrte = MRTE(32, 16, 32, n_heads=4); ge_to512 = Linear(gin, 16)",
                          "n_parameters": n_params, "n_state_dict_entries": len(net.state_dict()),
                          "ids_slice": r32["forward.out.ids_slice"].tolist(),
                          "decode.out.o_ns05.stats": stats(r32["decode.out.o_ns05"].numpy()),
                          "rule_keys": entries, "f32_vs_f64_max_abs": gap,
                          "output_rms": {k: float(v.double().pow(2).mean().sqrt()) for k, v in r32.items() if v.is_floating_point()}}
        net.to(torch.float32)
    # 7-period discriminator (v2Pro/v2ProPlus) with the MPD fixture's closed-form weights.
    mpd_index = json.load(open(os.path.join(GOLD, "mpd", "index.json")))
    d = closed_form_mpd7()
    real = torch.from_numpy(np.load(os.path.join(GOLD, "mpd", "input_real.npy")))
    fake = torch.from_numpy(np.load(os.path.join(GOLD, "mpd", "input_fake.npy")))
    res = {}
    for dtype in (torch.float32, torch.float64):
        dd = d.to(dtype)
        f = fake.to(dtype).clone().requires_grad_(True)
        y_r, y_g, fm_r, fm_g = dd(real.to(dtype), f)
        loss_gen, _ = losses.generator_loss(y_g)
        loss_fm = losses.feature_loss(fm_r, fm_g)
        (loss_gen + loss_fm).backward()
        loss_d, _, _ = losses.discriminator_loss([t.detach() for t in y_r], [t.detach() for t in y_g])
        res[dtype] = (y_r, y_g, f.grad, loss_gen, loss_fm, loss_d)
    y_r, y_g, grad, lg, lf, ld = res[torch.float32]
    for i, (a, b) in enumerate(zip(y_r, y_g)):
        if i >= 6:
            np.save(os.path.join(OUT, f"mpd7.y_d_r_{i}.npy"), a.detach().numpy())
            np.save(os.path.join(OUT, f"mpd7.y_d_g_{i}.npy"), b.detach().numpy())
    np.save(os.path.join(OUT, "mpd7.grad_fake_gen_plus_fm.npy"), grad.numpy())
    r64 = res[torch.float64]
    index["mpd7"] = {"constructor": "MultiPeriodDiscriminator(use_spectral_norm=False, version='v2Pro')",
                     "periods": [2, 3, 5, 7, 11, 17, 23], "weights": mpd_index["mpd"]["weights"]["rule"],
                     "inputs": "../mpd/input_real.npy, ../mpd/input_fake.npy",
                     "n_parameters": sum(p.numel() for p in d.parameters()),
                     "loss_gen": float(lg), "loss_fm": float(lf), "loss_disc": float(ld),
                     "y_d_r_stats": [stats(t.detach().numpy()) for t in y_r],
                     "y_d_g_stats": [stats(t.detach().numpy()) for t in y_g],
                     "f32_vs_f64_max_abs": {
                         "y_d": max(float((a.double() - b).abs().max()) for a, b in zip(y_r + y_g, r64[0] + r64[1])),
                         "grad_fake": float((grad.double() - r64[2]).abs().max()),
                         "losses": max(abs(float(x) - float(y)) for x, y in zip((lg, lf, ld), r64[3:]))}}
    with open(os.path.join(OUT, "index.json"), "w") as fh:
        json.dump(index, fh, indent=None, separators=(",", ":"))
    print(json.dumps({v: {"n": index[v]["n_parameters"], "gap": index[v]["f32_vs_f64_max_abs"], "rms": index[v]["output_rms"]}
                      for v in ["v2Pro", "v2ProPlus"]}, indent=1))
    print(json.dumps({k: v for k, v in index["mpd7"].items() if "stats" not in k}, indent=1))


if __name__ == "__main__":
    main()
