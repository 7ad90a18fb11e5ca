"""Metric speed on a 768x512 RGB pair (kodim01 and its JPEG q=30 round trip).

Run: `OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 pytest benchmarks/test_metric_speed.py --benchmark-enable`
(MS-SSIM filters with BLAS matrix products; one thread is the fair single-core number).
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from elicbench.metrics import ms_ssim, psnr, psnr_y

@pytest.fixture(scope="module")
def pair(kodak_image) -> tuple[np.ndarray, np.ndarray]:
    ref = kodak_image(1)
    buf = io.BytesIO()
    Image.fromarray(ref).save(buf, format="JPEG", quality=30)
    return ref, np.asarray(Image.open(buf).convert("RGB"))


@pytest.mark.parametrize("metric", [psnr, psnr_y, ms_ssim], ids=lambda f: f.__name__)
def test_metric(benchmark, pair, metric):
    value = benchmark(metric, *pair)
    assert 0 < value < 100
