"""The metrics' compiled loops (elicbench/metrics/kernels.py): SSIMULACRA2's sums against
scipy.ndimage in float64, and compilation without a writable cache directory."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import ndimage

from elicbench.metrics import kernels
from elicbench.metrics.msssim import _gaussian


def _ssimulacra2_sums_float64(x: np.ndarray, y: np.ndarray, taps: np.ndarray, c2: float) -> np.ndarray:
    """The same sums through scipy.ndimage in float64: rows mirrored ("reflect" = numpy's
    "symmetric"), zero columns, and the textbook covariance."""
    def blur(plane):
        rows = ndimage.correlate1d(plane, taps, axis=0, mode="reflect")
        return ndimage.correlate1d(rows, taps, axis=1, mode="constant", cval=0.0)

    x, y, taps = x.astype(np.float64), y.astype(np.float64), taps.astype(np.float64)
    mu_x, mu_y = blur(x), blur(y)
    var_x, var_y, cov = blur(x * x) - mu_x ** 2, blur(y * y) - mu_y ** 2, blur(x * y) - mu_x * mu_y
    ssim = np.maximum(1 - (1 - (mu_x - mu_y) ** 2) * (2 * cov + c2) / (var_x + var_y + c2), 0)
    edge = (1 + np.abs(y - mu_y)) / (1 + np.abs(x - mu_x)) - 1
    ring, blurred = np.maximum(edge, 0), np.maximum(-edge, 0)
    return np.array([ssim.sum(), (ssim ** 4).sum(), ring.sum(), (ring ** 4).sum(), blurred.sum(), (blurred ** 4).sum()])


@pytest.mark.parametrize("height, width", [(40, 57), (9, 20)])   # 9 rows: the mirror reaches past the middle
def test_ssimulacra2_sums_match_scipy(height, width):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.3, 0.6, (height, width)).astype(np.float32)   # XYB-like values
    y = (x + rng.normal(0, 0.02, x.shape)).astype(np.float32)
    taps = _gaussian().astype(np.float32)
    sums = np.empty(6)
    kernels.ssimulacra2_sums(x, y, taps, np.float32(0.0009), sums)
    np.testing.assert_allclose(sums, _ssimulacra2_sums_float64(x, y, taps, 0.0009), rtol=2e-4)


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
        assert type(kernels.mean_ssim_terms._cache).__name__ == "NullCache", type(kernels.mean_ssim_terms._cache)
        rng = np.random.default_rng(2)
        a = rng.integers(0, 256, (170, 180, 3), dtype=np.uint8)
        b = np.clip(a.astype(int) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
        print(ms_ssim(a, b))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert 0.0 < float(done.stdout) < 1.0
