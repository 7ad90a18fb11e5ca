"""elicbench.codecs.elic.testing: the random models tests and benchmarks compare across processes."""
from __future__ import annotations

import subprocess
import sys

import numpy as np

WEIGHTS_HASH = r"""
import hashlib, sys
from elicbench.codecs.elic.testing import random_model
model = random_model("tiny", seed=int(sys.argv[1]))
digest = hashlib.sha256()
for v in sorted(model.variables, key=lambda v: v.name):
    digest.update(v.numpy().tobytes())
print(digest.hexdigest())
"""


def _weights_hash(seed: int) -> str:
    out = subprocess.run([sys.executable, "-c", WEIGHTS_HASH, str(seed)], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_random_model_is_the_same_in_every_process(elic_tf):
    """A benchmark compares files written by different processes: the seed must fix every weight."""
    assert _weights_hash(5) == _weights_hash(5)
    assert _weights_hash(5) != _weights_hash(6)


def test_random_model_spreads_the_scale_indices(elic_tf):
    from elicbench.codecs.elic.testing import random_model

    model = random_model("tiny", seed=5)
    model.prepare_for_coding()
    y = np.random.default_rng(0).normal(0, 2, (1, 8, 8, model.config.M)).astype(np.float32)
    psi = model.coder.hyper_synthesis_tiled(np.round(model.h_a(y).numpy()), 0)
    _, index = model.coder.exact_path.params(0, None, None, psi)
    # Off the narrowest scale (a plain random init gives index 0 everywhere) and not constant,
    # so coding rounds real indices.
    index = index.numpy()
    assert index.min() > 0 and len(np.unique(index)) > 1
