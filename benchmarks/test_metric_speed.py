"""Metric speed on a 768x512 RGB pair (kodim01 and its JPEG q=30 round trip), every registered metric.

Run: `OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 pytest benchmarks/test_metric_speed.py --benchmark-enable`
(one thread is the fair single-core number: numpy's BLAS would otherwise use both cores). The first
call is made outside the timing: it compiles or loads the numba loops of MS-SSIM and SSIMULACRA2.
Goals (issue 14), checked when the benchmark runs: each default metric (psnr, psnr_y, ms_ssim) at most
0.1 s per image, MS-SSIM 0.05 s.
"""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from elicbench.metrics import DEFAULT_METRICS, get_metric, metric_names

#: Issue 14's goals, seconds per 768x512 image on one core: each default metric within 0.1 s,
#: MS-SSIM within 0.05 s. Checked when the benchmark runs (--benchmark-enable).
GOALS = {**{name: 0.1 for name in DEFAULT_METRICS}, "ms_ssim": 0.05}


@pytest.fixture(scope="module")
def pair(kodak_image) -> tuple[np.ndarray, np.ndarray]:
    ref = kodak_image(1)
    buf = io.BytesIO()
    Image.fromarray(ref).save(buf, format="JPEG", quality=30)
    return ref, np.asarray(Image.open(buf).convert("RGB"))


@pytest.mark.parametrize("name", metric_names())
def test_metric(benchmark, pair, name):
    cls = get_metric(name)
    if cls.available():
        pytest.skip(cls.available())
    metric = cls()
    metric(*pair)   # first call outside the timing (lazy imports, caches)
    value = benchmark(metric, *pair)
    assert math.isfinite(value)
    if benchmark.stats is not None and name in GOALS:
        median = benchmark.stats.stats.median
        assert median <= GOALS[name], f"{name}: {median * 1e3:.1f} ms per image, goal {GOALS[name] * 1e3:.0f} ms"
