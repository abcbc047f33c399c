# Dumps full-size v2Pro / v2ProPlus SynthesizerTrn and MultiPeriodDiscriminator key lists.
import json, os, sys
root = os.environ["GSV_ROOT"]
sys.path[:0] = [os.path.join(root, "GPT_SoVITS"), root, os.environ["GSV_SHIMS"]]
os.chdir(root)
import torch
from module.models import SynthesizerTrn, MultiPeriodDiscriminator
out = sys.argv[1]
def dump(m, ctor, name):
    sd = m.state_dict()
    pnames = {n for n, _ in m.named_parameters()}
    keys = [{"key": k, "shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", ""),
             "kind": "parameter" if k in pnames else "buffer"} for k, v in sd.items()]
    nparam = sum(p.numel() for p in m.parameters())
    d = {"torch_version": torch.__version__, "gpt_sovits_commit": "48b1a0169a28582a8984402f82cf438d3bfa6aca",
         "constructor": ctor, "n_parameters": nparam,
         "n_parameters_excluding_enc_q": sum(p.numel() for n, p in m.named_parameters() if not n.startswith("enc_q.")),
         "n_state_dict_entries": len(sd), "keys": keys}
    with open(os.path.join(out, name), "w") as f:
        f.write("{\n" + ",\n".join(f' "{k}": {json.dumps(v)}' for k, v in d.items() if k != "keys"))
        f.write(',\n "keys": [\n' + ",\n".join(json.dumps(k, separators=(",", ":")) for k in keys) + "\n ]\n}\n")
    print(name, nparam, len(sd))
for ver, f in [("v2Pro", "s2v2Pro.json"), ("v2ProPlus", "s2v2ProPlus.json")]:
    hps = json.load(open(os.path.join(root, "GPT_SoVITS/configs", f)))
    model = dict(hps["model"]); model.pop("version", None)
    g = SynthesizerTrn(1025, 32, n_speakers=300, **model, version=ver)
    dump(g, f"module.models.SynthesizerTrn(1025, 32, n_speakers=300, **configs/{f}['model'], version='{ver}')", f"keys_full_{ver}_G.json")
    d = MultiPeriodDiscriminator(False, version=ver)
    dump(d, f"module.models.MultiPeriodDiscriminator(use_spectral_norm=False, version='{ver}')", f"keys_full_{ver}_D.json")
