# Per-tensor statistics of freshly constructed GPT-SoVITS v2 models (the
# reference's effective initialisation), for tests that check ours draws alike.
# Imports GPT-SoVITS from $GSV_ROOT (shim modules from $GSV_SHIMS); copies none
# of its text. Usage: python gen_init_stats.py OUT_DIR
import json, os, sys
root = os.environ["GSV_ROOT"]
sys.path[:0] = [os.path.join(root, "GPT_SoVITS"), root, os.environ["GSV_SHIMS"]]
out = os.path.abspath(sys.argv[1])
os.chdir(root)
import torch
from module.models import SynthesizerTrn, MultiPeriodDiscriminator

def stats(m):
    rows = {}
    for k, v in m.state_dict().items():
        x = v.detach().double().flatten()
        if x.numel() >= 1024:  # smaller tensors say little about their distribution
            rows[k] = [x.numel(), float("%.4g" % x.mean().item()), float("%.4g" % x.pow(2).mean().sqrt().item())]
    return rows

torch.manual_seed(0)
hps = json.load(open(os.path.join(root, "GPT_SoVITS/configs/s2.json")))
model = dict(hps["model"]); model.pop("version", None)
g = SynthesizerTrn(1025, 32, n_speakers=300, **model, version="v2")
d = MultiPeriodDiscriminator(False, version="v2")
doc = {"torch_version": torch.__version__, "gpt_sovits_commit": "48b1a0169a28582a8984402f82cf438d3bfa6aca",
       "seed": "torch.manual_seed(0), then G, then D",
       "G": "module.models.SynthesizerTrn(1025, 32, n_speakers=300, **configs/s2.json['model'], version='v2')",
       "D": "module.models.MultiPeriodDiscriminator(False, version='v2')",
       "columns": ["numel", "mean", "rms"],
       "kept": "tensors with at least 1024 elements; mean and rms rounded to 4 significant digits",
       "stats_G": stats(g), "stats_D": stats(d)}
with open(os.path.join(out, "init_stats_v2.json"), "w") as f:
    json.dump(doc, f, separators=(",", ":"))
print(len(doc["stats_G"]), len(doc["stats_D"]))
