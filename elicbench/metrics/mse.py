"""PSNR on RGB and on luma (MSE-based), peak 255, in float64; pooled PSNR over several images.

Lossless images: an image decoded to exactly its pixels has MSE 0 and PSNR ``inf``. A mean of
per-image PSNRs (dB) cannot include it, so means leave such values out and count them; the pooled
PSNR (:func:`pooled_psnr`) averages MSEs instead, where a lossless image simply contributes 0, and is
infinite only when every image is lossless. README, "Lossless rows", states the rule.
"""
from __future__ import annotations

import math

import numpy as np

from .catalog import register_metric_function
from .common import check_pair

PEAK = 255.0

# BT.601 luma, studio range (ITU-R BT.601; MATLAB rgb2ycbcr; BasicSR's "test_y_channel"):
# Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 for R, G, B in 0..255, so Y spans 16..235.
_LUMA_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0
_LUMA_OFFSET = 16.0


def psnr_from_mse(mse: float) -> float:
    """PSNR (dB, peak 255) of a mean squared error on the 0..255 scale; inf for 0, NaN for NaN."""
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(PEAK * PEAK / mse)


def mse_from_psnr(psnr_db):
    """The MSE (0..255 scale) a PSNR stands for: 255**2 / 10**(psnr/10); ``inf`` (lossless) -> 0,
    NaN stays NaN. Works on scalars and arrays (returns float64).

    results.csv stores PSNR at full float precision, so this recovers the MSE the PSNR was computed
    from to within float rounding (relative error about 1e-15); no separate MSE column is needed.
    """
    value = np.asarray(psnr_db, dtype=np.float64)
    with np.errstate(over="ignore"):
        out = PEAK * PEAK / np.power(10.0, value / 10.0)   # inf dB -> 255**2 / inf = 0
    return out if out.ndim else float(out)


def pooled_psnr(psnr_db, pixels=None) -> float:
    """PSNR of the MSE pooled over several images: 10*log10(255**2 / pooled MSE), with the pooled
    MSE = sum(pixels_i * MSE_i) / sum(pixels_i), i.e. the MSE over every pixel of every image (the
    rule of the CLIC challenge's evaluation). ``pixels`` (width*height per image) defaults to equal
    weights, which gives the same value for images of one size (Kodak).

    Lossless images (PSNR ``inf``) count with MSE 0, so the result is finite unless every image
    is lossless (then ``inf``). NaN values (no PSNR) are left out with their weights; NaN when
    nothing is left.
    """
    mse = np.atleast_1d(mse_from_psnr(psnr_db)).astype(np.float64)
    weights = np.ones_like(mse) if pixels is None else np.atleast_1d(np.asarray(pixels, dtype=np.float64))
    if weights.shape != mse.shape:
        raise ValueError(f"pooled_psnr: {mse.size} PSNR values but {weights.size} pixel counts")
    if not np.all(np.isfinite(weights) & (weights > 0)):
        weights = np.ones_like(mse)   # unknown image sizes: every image weighs the same
    keep = ~np.isnan(mse)
    if not keep.any():
        return math.nan
    pooled = float(np.sum(weights[keep] * mse[keep]) / np.sum(weights[keep]))
    return psnr_from_mse(pooled)


#: What both PSNR metrics share: dB, the pooled axis (PSNR of the pooled MSE) and the check tolerance.
_PSNR = {"unit": "dB", "pooled": pooled_psnr, "check_tolerance": 0.01}


@register_metric_function("psnr", label="PSNR (RGB)", reference="10 log10(255^2 / MSE), MSE over R, G and B", **_PSNR)
def psnr(ref: np.ndarray, dist: np.ndarray) -> float:
    """PSNR in dB, peak 255, the MSE averaged over all pixels and channels.

    Computed in float64. For integer images every squared error is an integer and their sum stays
    far below 2**53, so the MSE is exact. Identical images give ``math.inf``.
    """
    ref, dist = check_pair(ref, dist)
    diff = np.subtract(ref, dist, dtype=np.float64)
    return psnr_from_mse(float(np.vdot(diff, diff)) / diff.size)


def luma(image: np.ndarray) -> np.ndarray:
    """BT.601 studio-range luma of an RGB image on 0..255 (float64, not rounded)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"luma needs an RGB image of shape (H, W, 3), got {image.shape}")
    return image @ _LUMA_WEIGHTS + _LUMA_OFFSET


# PSNR-Y is a column of every run, but not one of the default plots (as before).
@register_metric_function("psnr_y", label="PSNR (Y)", reference="PSNR of BT.601 studio-range luma (MATLAB rgb2ycbcr)",
                          plotted=False, **_PSNR)
def psnr_y(ref: np.ndarray, dist: np.ndarray) -> float:
    """PSNR in dB of the BT.601 luma, peak 255.

    Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 (studio range, the convention of MATLAB's
    rgb2ycbcr and of the super-resolution literature), in float64 without rounding. Because
    studio-range luma spans 219 levels, an error of d on R, G and B alike is an error of
    d * 219 / 255 on Y. Identical images give ``math.inf``.
    """
    ref, dist = check_pair(ref, dist)
    # The offset cancels; Y(ref) - Y(dist) is the weighted sum of the channel differences.
    diff = np.subtract(ref, dist, dtype=np.float64)
    if diff.ndim != 3 or diff.shape[2] != 3:
        raise ValueError(f"psnr_y needs RGB images of shape (H, W, 3), got {diff.shape}")
    dy = diff @ _LUMA_WEIGHTS
    return psnr_from_mse(float(np.vdot(dy, dy)) / dy.size)

