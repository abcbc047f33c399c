"""Puts GPT-SoVITS on sys.path: $GSV_ROOT/GPT_SoVITS and $GSV_ROOT (its own
imports are relative to both), plus $GSV_SHIMS when that folder exists (a
stub for x_transformers, needed only by the v3/v4 imports). Shared by
scripts/reference_train.py and tests/golden/dropout/gen_dropout.py."""

import os
import sys


def setup_paths():
    """Returns $GSV_ROOT after putting it (and its shims) first on sys.path."""
    root = os.environ["GSV_ROOT"]
    paths = [os.path.join(root, "GPT_SoVITS"), root]
    shims = os.environ.get("GSV_SHIMS", "")
    if os.path.isdir(shims):
        paths.append(shims)
    for p in reversed(paths):
        if p not in sys.path:
            sys.path.insert(0, p)
    return root
