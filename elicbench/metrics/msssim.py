"""Multi-scale SSIM (Wang, Simoncelli & Bovik 2003), matching ``tf.image.ssim_multiscale``.

Definition, as TensorFlow computes it (image_ops_impl.py) for images on 0..255 with max_val 255:

- 5 scales with weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333); between scales a 2x2 average
  pool, after repeating the last row / column when the size is odd (TF's SYMMETRIC padding);
- at each scale, local statistics through an 11x11 Gaussian window (sigma 1.5) applied *VALID*
  (only where the window fits, no border padding), K1 = 0.01, K2 = 0.03, L = 255, biased
  (co)variances;
- per channel: the spatial mean of the contrast-structure map at scales 1-4 and of the full SSIM
  map at scale 5, each clipped at 0 (relu), combined as the weighted geometric mean;
- the result is the mean over channels (RGB is not converted to luma).

The 11x11 window needs 11 pixels at the fifth scale, so images need at least 161 pixels per side.

Speed: the window is separable, and each scale's four maps x, y, x*y, (x-y)^2 are filtered row by
row in a compiled loop (``kernels.mean_ssim_terms``, numba) that stays in L1 cache. Measured on one
core (benchmarks/test_metric_speed.py, kodim01 and its JPEG q30 copy, same session): 33.4 ms,
against 80.7 ms for the banded float32 BLAS products used before (which were 1.4x faster than
shifted numpy additions and 2.7x faster than scipy.ndimage.correlate1d). numba is imported, and
the loop compiled or loaded from its cache, at the first call, so that importing the metrics stays
light.
"""
from __future__ import annotations

import math

import numpy as np

from .catalog import Metric, register_metric
from .common import MetricUndefined, check_pair, halve

WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
WINDOW = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03
PEAK = 255.0
MIN_SIDE = (WINDOW - 1) * 2 ** (len(WEIGHTS) - 1) + 1   # 161

_C1 = (K1 * PEAK) ** 2
_C2 = (K2 * PEAK) ** 2


def _gaussian() -> np.ndarray:
    x = np.arange(WINDOW) - (WINDOW - 1) / 2.0
    g = np.exp(-x * x / (2.0 * SIGMA * SIGMA))
    return g / g.sum()   # the 2-D window is the outer product, as TF's softmax form is


def ms_ssim(ref: np.ndarray, dist: np.ndarray) -> float:
    """MS-SSIM of two images on 0..255, (H, W, C) or (H, W); equals tf.image.ssim_multiscale(ref, dist, 255).

    Raises :class:`MetricUndefined` for images smaller than 161 pixels on a side.
    """
    ref, dist = check_pair(ref, dist)
    h, w = ref.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise MetricUndefined(_too_small(w, h))
    if np.array_equal(ref, dist):
        return 1.0   # exactly; the float32 arithmetic below would give 1 +- 1e-8
    from .kernels import TAPS, mean_ssim_terms   # numba: loaded at the first call, not on import

    assert WINDOW == TAPS

    taps = _gaussian().astype(np.float32)
    c1, c2 = np.float32(_C1), np.float32(_C2)
    x = _float_planes(ref)
    y = _float_planes(dist)
    per_scale = np.empty((len(WEIGHTS), x.shape[0]))
    for scale in range(len(WEIGHTS)):
        if scale:
            x = halve(x)
            y = halve(y)
        last = scale == len(WEIGHTS) - 1
        per_scale[scale] = [mean_ssim_terms(xc, yc, taps, c1, c2, last) for xc, yc in zip(x, y)]
    per_scale = np.maximum(per_scale, 0.0)
    per_channel = np.prod(per_scale ** WEIGHTS[:, None], axis=0)
    # float32 rounding can lift a near-identical pair a hair above 1; MS-SSIM is at most 1.
    return min(float(per_channel.mean()), 1.0)


def _too_small(width: int, height: int) -> str:
    return (f"MS-SSIM needs at least {MIN_SIDE}x{MIN_SIDE} pixels ({len(WEIGHTS)} scales, "
            f"{WINDOW}-px window); image is {width}x{height}")


def ms_ssim_db(value: float) -> float:
    """MS-SSIM on a dB scale, -10 log10(1 - value); ``inf`` for 1 (identical images)."""
    if math.isnan(value):
        return math.nan
    if value >= 1.0:
        return math.inf
    return -10.0 * math.log10(1.0 - value)


def _float_planes(image: np.ndarray) -> np.ndarray:
    """The image as contiguous float32 planes (C, H, W)."""
    planes = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)
    return np.ascontiguousarray(planes, dtype=np.float32)


# ---- registered metric ---------------------------------------------------------------------------
@register_metric("ms_ssim")
class MsSsim(Metric):
    label = "MS-SSIM"
    unit = ""
    min_side = MIN_SIDE
    reference = "tf.image.ssim_multiscale (Wang et al. 2003), mean over R, G, B"
    # Shown, plotted and compared in dB, as published curves are.
    display = ("ms_ssim_db", "MS-SSIM", "dB", ms_ssim_db)
    check_tolerance = 1e-4

    def compute(self, ref, dist):
        return ms_ssim(ref, dist)

    def too_small(self, width, height):
        return _too_small(width, height)
