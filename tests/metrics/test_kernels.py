"""The metrics' compiled loops (elicbench/metrics/kernels.py): SSIMULACRA2's blur against
scipy.ndimage, and compilation without a writable cache directory."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import ndimage

from elicbench.metrics import kernels
from elicbench.metrics.msssim import _gaussian


@pytest.mark.parametrize("height, width", [(40, 57), (3, 20)])   # 3 rows: the mirror repeats
def test_ssimulacra2_blur_matches_scipy(height, width):
    rng = np.random.default_rng(0)
    planes = rng.uniform(0, 1, (3, height, width)).astype(np.float32)
    taps = _gaussian().astype(np.float32)
    out = np.empty_like(planes)
    kernels.blur_zero_columns_mirrored_rows(planes, taps, out)
    r = kernels.TAPS // 2
    for plane, got in zip(planes, out):
        # numpy's "symmetric" rows (d c b a | a b c d), zero columns, then the VALID 2-D correlation
        padded = np.pad(np.pad(plane.astype(np.float64), ((r, r), (0, 0)), mode="symmetric"), ((0, 0), (r, r)))
        expected = ndimage.correlate(padded, np.outer(taps, taps).astype(np.float64))[r:-r, r:-r]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


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
