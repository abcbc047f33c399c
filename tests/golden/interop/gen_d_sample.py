#!/usr/bin/env python3
"""Writes the small reference D sample in both layouts GPT-SoVITS reads a
discriminator from (tests/golden/interop/d_sample_*.pth; see PROVENANCE.md).

Run with the reference venv: GSV_ROOT=<GPT-SoVITS checkout> [GSV_SHIMS=<shims dir>] python gen_d_sample.py OUTDIR
It imports GPT-SoVITS from $GSV_ROOT and copies none of its code.

* d_sample_pretrained.pth: `torch.save({"weight": state_dict})`, the layout
  s2_train.py reads `pretrained_s2D` with (`torch.load(f)["weight"]`).
* d_sample_train.pth: `utils.save_checkpoint(net_d, optim_d, lr, epoch, path)`,
  the `logs_s2_<ver>/D_*.pth` layout, after one AdamW step.
Both hold only KEYS below (a restriction of MultiPeriodDiscriminator v2's
state dict, seed 0) so the files stay small.
"""
import os
import sys
import types

KEYS = [
    "discriminators.0.convs.0.bias",
    "discriminators.0.convs.0.weight_g",
    "discriminators.0.convs.0.weight_v",
    "discriminators.1.conv_post.bias",
    "discriminators.1.conv_post.weight_g",
    "discriminators.1.conv_post.weight_v",
]


def main():
    out = os.path.abspath(sys.argv[1])
    root = os.path.abspath(os.environ["GSV_ROOT"])
    sys.path[:0] = [os.path.join(root, "GPT_SoVITS"), root]
    if os.environ.get("GSV_SHIMS"):  # a stub for x_transformers (imported by v3/v4 code only)
        sys.path.append(os.path.abspath(os.environ["GSV_SHIMS"]))
    os.chdir(root)
    import torch
    import utils
    from module.models import MultiPeriodDiscriminator

    torch.manual_seed(0)
    net_d = MultiPeriodDiscriminator(False, version="v2")
    named = dict(net_d.named_parameters())
    params = [named[k] for k in KEYS]
    optim_d = torch.optim.AdamW(params, 1e-4, betas=(0.8, 0.99), eps=1e-9)
    loss = sum((p.float() ** 2).sum() for p in params)
    loss.backward()
    optim_d.step()
    def restricted_state_dict():  # the module's own OrderedDict (with _metadata), other keys dropped
        sd = net_d.state_dict()
        for k in [k for k in sd if k not in KEYS]:
            del sd[k]
        return sd

    torch.save({"weight": restricted_state_dict()}, os.path.join(out, "d_sample_pretrained.pth"))
    restricted = types.SimpleNamespace(state_dict=restricted_state_dict)
    utils.save_checkpoint(restricted, optim_d, 1e-4, 1, os.path.join(out, "d_sample_train.pth"))
    print("torch", torch.__version__)


if __name__ == "__main__":
    main()
