"""PSNR on RGB and on luma (MSE-based), peak 255, in float64."""
from __future__ import annotations

import math

import numpy as np

from .common import check_pair

PEAK = 255.0

# BT.601 luma, studio range (ITU-R BT.601; MATLAB rgb2ycbcr; BasicSR's "test_y_channel"):
# Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 for R, G, B in 0..255, so Y spans 16..235.
_LUMA_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0
_LUMA_OFFSET = 16.0


def _psnr_from_mse(mse: float) -> float:
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(PEAK * PEAK / mse)


def psnr(ref: np.ndarray, dist: np.ndarray) -> float:
    """PSNR in dB, peak 255, the MSE averaged over all pixels and channels.

    Computed in float64. For integer images every squared error is an integer and their sum stays
    far below 2**53, so the MSE is exact. Identical images give ``math.inf``.
    """
    ref, dist = check_pair(ref, dist)
    diff = np.subtract(ref, dist, dtype=np.float64)
    return _psnr_from_mse(float(np.vdot(diff, diff)) / diff.size)


def luma(image: np.ndarray) -> np.ndarray:
    """BT.601 studio-range luma of an RGB image on 0..255 (float64, not rounded)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"luma needs an RGB image of shape (H, W, 3), got {image.shape}")
    return image @ _LUMA_WEIGHTS + _LUMA_OFFSET


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
    return _psnr_from_mse(float(np.vdot(dy, dy)) / dy.size)
