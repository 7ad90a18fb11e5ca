"""ELIC encode/decode speed on one Kodak image (kodim23, 768x512), CPU, per preset.

The weights are random (timing does not depend on training); the scale-index head is spread over
the table as in a trained model so that range coding sees realistic tables. Compile/trace time
is excluded (one warm-up call). Run:
`pytest benchmarks/test_elic_speed.py --benchmark-enable` (ELICBENCH_THREADS=N to fix threads).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def image(kodak_image) -> np.ndarray:
    return kodak_image(23)


_RUNNERS: dict = {}


def runner_for(preset: str):
    if preset not in _RUNNERS:
        from elicbench.codecs.elic.runner import NativeRunner
        from elicbench.codecs.elic.testing import random_model

        model = random_model(preset, seed=0)
        _RUNNERS[preset] = NativeRunner(Path(f"random-init-{preset}"), model, bytes(16), {"preset": preset})
    return _RUNNERS[preset]


@pytest.mark.parametrize("preset", ["full", "tiny"])
def test_elic_encode(benchmark, image, preset):
    runner = runner_for(preset)
    runner.compress(image)  # warm-up: tracing
    data = benchmark.pedantic(runner.compress, args=(image,), rounds=3, iterations=1)
    benchmark.extra_info.update(preset=preset, bytes=len(data), bpp=8 * len(data) / image.shape[0] / image.shape[1],
                                threads=os.environ.get("ELICBENCH_THREADS", "default"))


@pytest.mark.parametrize("preset", ["full", "tiny"])
def test_elic_decode(benchmark, image, preset):
    runner = runner_for(preset)
    data = runner.compress(image)
    runner.decompress(data)  # warm-up: tracing
    decoded = benchmark.pedantic(runner.decompress, args=(data,), rounds=3, iterations=1)
    assert decoded.shape == image.shape
    benchmark.extra_info.update(preset=preset, threads=os.environ.get("ELICBENCH_THREADS", "default"))
