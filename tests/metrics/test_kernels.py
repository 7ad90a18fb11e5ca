"""The metrics' compiled loops (elicbench/metrics/kernels.py): the separable filter against
scipy.ndimage, and compilation without a writable cache directory."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
from scipy import ndimage

from elicbench.metrics import kernels
from elicbench.metrics.msssim import _gaussian


def test_filter_valid_matches_scipy_correlate():
    rng = np.random.default_rng(0)
    planes = rng.uniform(0, 255, (3, 40, 57)).astype(np.float32)
    taps = _gaussian().astype(np.float32)
    out = np.empty((3, 40 - kernels.TAPS + 1, 57 - kernels.TAPS + 1), np.float32)
    kernels.filter_valid(planes, taps, out)
    r = kernels.TAPS // 2
    for plane, got in zip(planes, out):
        expected = ndimage.correlate(plane.astype(np.float64), np.outer(taps, taps).astype(np.float64))
        np.testing.assert_allclose(got, expected[r:-r, r:-r], rtol=2e-6, atol=1e-4)


def test_mean_ssim_terms_of_identical_planes_is_one():
    plane = np.random.default_rng(1).uniform(0, 255, (30, 30)).astype(np.float32)
    taps = _gaussian().astype(np.float32)
    assert kernels.mean_ssim_terms(plane, plane, taps, np.float32(6.5025), np.float32(58.5225), True) == 1.0


def test_compiles_without_a_writable_cache():
    # numba raises at decoration when no cache locator can write; the kernels then compile per process.
    code = textwrap.dedent("""
        import numpy as np
        import numba.core.caching as caching
        caching.CacheImpl._locator_classes = []
        from elicbench.metrics import kernels, ms_ssim
        assert type(kernels.filter_valid._cache).__name__ == "NullCache", type(kernels.filter_valid._cache)
        rng = np.random.default_rng(2)
        a = rng.integers(0, 256, (170, 180, 3), dtype=np.uint8)
        b = np.clip(a.astype(int) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
        print(ms_ssim(a, b))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert 0.0 < float(done.stdout) < 1.0
