"""Metric speed on a 768x512 RGB pair (kodim01 and its JPEG q=30 round trip), every registered metric.

Run: `OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 pytest benchmarks/test_metric_speed.py --benchmark-enable`
(one thread is the fair single-core number: numpy's BLAS would otherwise use both cores). The first
call is made outside the timing: it compiles or loads the numba loops of MS-SSIM and SSIMULACRA2.
Targets (issue 14): each default metric (psnr, psnr_y, ms_ssim) at most 0.1 s per image, MS-SSIM 0.05 s.
"""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from elicbench.metrics import get_metric, metric_names


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
