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

Speed: the Gaussian window is separable, so each scale filters the four maps x, y, x*y, (x-y)^2 with
an 11-tap kernel along rows and then columns. Both passes are float32 matrix products with small
banded matrices, done in strips of rows so the working set stays in cache (measured on one core:
1.4x faster than 11 shifted numpy additions in the same strips, 2.7x faster than
scipy.ndimage.correlate1d on whole planes). These
products are too small for OpenBLAS to spread over threads: one call uses one core. Means are
accumulated in float64.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .catalog import Metric, register_metric
from .common import MetricUndefined, check_pair

WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
WINDOW = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03
PEAK = 255.0
MIN_SIDE = (WINDOW - 1) * 2 ** (len(WEIGHTS) - 1) + 1   # 161

_C1 = (K1 * PEAK) ** 2
_C2 = (K2 * PEAK) ** 2
# Output rows per strip and output columns per block of the row pass: measured best on a
# 768x512 image (smaller blocks waste less arithmetic but make BLAS calls less efficient).
_STRIP = 32
_BLOCK = 32


def _gaussian() -> np.ndarray:
    x = np.arange(WINDOW) - (WINDOW - 1) / 2.0
    g = np.exp(-x * x / (2.0 * SIGMA * SIGMA))
    return g / g.sum()   # the 2-D window is the outer product, as TF's softmax form is


@lru_cache(maxsize=None)
def _band(n_out: int) -> np.ndarray:
    """(n_out + 10, n_out) float32 matrix: ``row @ band`` is the VALID 11-tap filtering."""
    g = _gaussian()
    band = np.zeros((n_out + WINDOW - 1, n_out), np.float32)
    for j in range(n_out):
        band[j:j + WINDOW, j] = g
    band.setflags(write=False)
    return band


@lru_cache(maxsize=None)
def _band_t(n_out: int) -> np.ndarray:
    """Transposed band, contiguous: ``band_t @ rows`` filters down the columns."""
    band_t = np.ascontiguousarray(_band(n_out).T)
    band_t.setflags(write=False)
    return band_t


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
    # The first scale reads the input directly (strided channel views, converted strip by strip);
    # the later scales work on contiguous float32 planes.
    x: np.ndarray = _channels_first(ref)
    y: np.ndarray = _channels_first(dist)
    per_scale = np.empty((len(WEIGHTS), x.shape[0]))
    for scale in range(len(WEIGHTS)):
        if scale:
            x = _halve(x)
            y = _halve(y)
        last = scale == len(WEIGHTS) - 1
        per_scale[scale] = [_mean_ssim_terms(xc, yc, with_luminance=last) for xc, yc in zip(x, y)]
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


def _channels_first(image: np.ndarray) -> np.ndarray:
    """A (C, H, W) view of the image (no copy; channels stay strided)."""
    return image[None] if image.ndim == 2 else image.transpose(2, 0, 1)


def _halve(planes: np.ndarray) -> np.ndarray:
    """2x2 average pool to contiguous float32 planes; an odd last row/column is repeated first
    (TF pads SYMMETRIC at the end)."""
    _, h, w = planes.shape
    if h % 2:
        planes = np.concatenate([planes, planes[:, -1:]], axis=1)
    if w % 2:
        planes = np.concatenate([planes, planes[:, :, -1:]], axis=2)
    # Integer input: add in uint16 (exact), pool along W while still interleaved, then one copy
    # into contiguous float32 planes.
    work = np.uint16 if planes.dtype == np.uint8 else np.float32
    rows = np.add(planes[:, 0::2], planes[:, 1::2], dtype=work)
    summed = rows[:, :, 0::2] + rows[:, :, 1::2]
    out = np.empty(summed.shape, np.float32)
    np.multiply(summed, np.float32(0.25), out=out)
    return out


def _mean_ssim_terms(x: np.ndarray, y: np.ndarray, with_luminance: bool) -> float:
    """Spatial mean of the contrast-structure map (or, with luminance, the SSIM map) of one plane."""
    h, w = x.shape
    out_h, out_w = h - WINDOW + 1, w - WINDOW + 1
    strip = min(_STRIP, out_h)
    pad = WINDOW - 1
    # Scratch buffers, reused by every strip. Maps are stacked so one matrix product filters all four.
    maps = np.empty((4, strip + pad, w), np.float32)
    rows_filtered = np.empty((4, strip + pad, out_w), np.float32)
    filtered = np.empty((4, strip, out_w), np.float32)
    scratch = np.empty((4, strip, out_w), np.float32)
    blocks = [(c0, min(_BLOCK, out_w - c0)) for c0 in range(0, out_w, _BLOCK)]
    total = 0.0
    for r0 in range(0, out_h, strip):
        n = min(strip, out_h - r0)
        if n != strip:   # last, shorter strip: contiguous views of the right size
            maps = maps.ravel()[: 4 * (n + pad) * w].reshape(4, n + pad, w)
            rows_filtered = rows_filtered.ravel()[: 4 * (n + pad) * out_w].reshape(4, n + pad, out_w)
            filtered = filtered.ravel()[: 4 * n * out_w].reshape(4, n, out_w)
            scratch = scratch.ravel()[: 4 * n * out_w].reshape(4, n, out_w)
        xs = x[r0:r0 + n + pad]
        ys = y[r0:r0 + n + pad]
        maps[0] = xs   # converts to float32 if the input is uint8
        maps[1] = ys
        xs, ys = maps[0], maps[1]
        np.multiply(xs, ys, out=maps[2])
        np.subtract(xs, ys, out=maps[3])
        np.multiply(maps[3], maps[3], out=maps[3])

        # Along rows: each block of output columns is a product with the same small band matrix.
        flat_in = maps.reshape(4 * (n + pad), w)
        flat_out = rows_filtered.reshape(4 * (n + pad), out_w)
        for c0, k in blocks:
            np.matmul(flat_in[:, c0:c0 + k + pad], _band(k), out=flat_out[:, c0:c0 + k])
        # Down the columns: one banded product per map.
        np.matmul(_band_t(n), rows_filtered, out=filtered)

        mu_x, mu_y, e_xy, e_dd = filtered
        mu_xy, cs, mu_dd, den = scratch
        # cs = (2 cov_xy + C2) / (var_x + var_y + C2), with var_x + var_y = 2 cov_xy + var_(x-y):
        # the difference map keeps the denominator accurate in float32 when x and y are close.
        np.multiply(mu_x, mu_y, out=mu_xy)
        np.subtract(e_xy, mu_xy, out=cs)
        cs *= 2.0
        cs += _C2
        np.subtract(mu_x, mu_y, out=mu_dd)
        mu_dd *= mu_dd
        np.subtract(e_dd, mu_dd, out=den)
        den += cs
        cs /= den
        if with_luminance:   # l = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1)
            mu_dd += mu_xy
            mu_dd += mu_xy   # (mu_x - mu_y)^2 + 2 mu_x mu_y
            mu_dd += _C1
            mu_xy *= 2.0
            mu_xy += _C1
            mu_xy /= mu_dd
            cs *= mu_xy
        total += float(cs.sum(dtype=np.float64))
    return total / (out_h * out_w)


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
