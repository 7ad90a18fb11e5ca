"""PSNR-HVS (Egiazarian et al. 2006) and PSNR-HVS-M (Ponomarenko et al. 2007), on BT.601 luma.

Both compare 8x8 DCT blocks (non-overlapping, from the top-left; a last partial row/column of
blocks is left out) of the luma Y = 16 + (65.481 R + 128.553 G + 24.966 B)/255 rounded to 8-bit
code values and scaled by 1/255, the convention of the ``psnr-hvsm`` package (which reproduces the
published TID2013 values and is the test oracle, tests/metrics/test_psnr_hvs.py):

- PSNR-HVS: the DCT differences weighted by a contrast-sensitivity table (CSF), squared, averaged;
- PSNR-HVS-M: in addition, each AC difference is reduced by a masking threshold (the larger of the
  two blocks' masking, from their AC energy and the variance of their four 4x4 quarters) before
  weighting.

The value is 10 log10(1 / weighted MSE), ``inf`` for identical images (as PSNR).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .catalog import Metric, register_metric

BLOCK = 8
# Ponomarenko's tables (row-major over the 8x8 DCT coefficients) both come from the JPEG luminance
# quantisation table (ITU-T T.81, Annex K.1): the contrast sensitivity is proportional to 1/Q (scaled
# to a root mean square of about 1) and the masking weight is its square normalised to 1 at its
# largest, (Q_min / Q)^2. The published values, which the reference code has, are these rounded to six
# decimals; rounding here gives the same float64 numbers, exactly.
JPEG_LUMA_QUANTISER = np.array([
    [16, 11, 10, 16, 24, 40, 51, 61],
    [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77],
    [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101],
    [72, 92, 95, 98, 112, 100, 103, 99]], dtype=np.float64)
CSF = np.round(25.73509 / JPEG_LUMA_QUANTISER, 6)
MASK = np.round((JPEG_LUMA_QUANTISER.min() / JPEG_LUMA_QUANTISER) ** 2, 6)


@lru_cache(maxsize=None)
def _dct_matrix() -> np.ndarray:
    """Orthonormal DCT-II matrix D: the 2-D DCT of a block B is D @ B @ D.T."""
    k = np.arange(BLOCK)[:, None]
    n = np.arange(BLOCK)[None, :]
    d = np.cos(np.pi * (2 * n + 1) * k / (2 * BLOCK)) * math.sqrt(2.0 / BLOCK)
    d[0] /= math.sqrt(2.0)
    return d


def luma_8bit(image: np.ndarray) -> np.ndarray:
    """BT.601 studio-range luma rounded to 8-bit code values, on 0..1 (float64)."""
    rgb = np.asarray(image, dtype=np.float64)
    # Written term by term as the reference code does: a value on a .5 boundary must round the same way.
    y = 16.0 + 65.481 * rgb[..., 0] / 255.0 + 128.553 * rgb[..., 1] / 255.0 + 24.966 * rgb[..., 2] / 255.0
    return np.round(y) / 255.0


def _blocks(plane: np.ndarray) -> np.ndarray:
    h, w = (plane.shape[0] // BLOCK) * BLOCK, (plane.shape[1] // BLOCK) * BLOCK
    return plane[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).swapaxes(1, 2).reshape(-1, BLOCK, BLOCK)


def _masking(blocks: np.ndarray, dct: np.ndarray) -> np.ndarray:
    """Per block: the masking threshold of PSNR-HVS-M."""
    energy = np.einsum("bij,ij->b", dct * dct, MASK) - dct[:, 0, 0] ** 2 * MASK[0, 0]   # AC energy, weighted

    def spread(a: np.ndarray) -> np.ndarray:   # n * unbiased variance, as Ponomarenko's code has it
        n = a.shape[1] * a.shape[2]
        return ((a - a.mean(axis=(1, 2), keepdims=True)) ** 2).sum(axis=(1, 2)) * (n / (n - 1))

    total = spread(blocks)
    quarters = (spread(blocks[:, :4, :4]) + spread(blocks[:, :4, 4:]) + spread(blocks[:, 4:, :4])
                + spread(blocks[:, 4:, 4:]))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total != 0.0, quarters / total, 0.0)
    return np.sqrt(energy * ratio / 16.0 / 64.0)


def hvs_mse(ref: np.ndarray, dist: np.ndarray) -> tuple[float, float]:
    """(PSNR-HVS weighted MSE, PSNR-HVS-M weighted MSE) of two RGB images on 0..255."""
    a, b = _blocks(luma_8bit(ref)), _blocks(luma_8bit(dist))
    d = _dct_matrix()
    dct_a = d @ a @ d.T
    dct_b = d @ b @ d.T
    diff = np.abs(dct_a - dct_b)
    hvs = float(np.mean(((diff * CSF) ** 2).sum(axis=(1, 2)) / 64.0))
    mask = np.maximum(_masking(a, dct_a), _masking(b, dct_b))[:, None, None] / MASK
    masked = np.where(diff >= mask, diff - mask, 0.0) * CSF
    masked[:, 0, 0] = diff[:, 0, 0] * CSF[0, 0]   # the DC term is never masked
    hvsm = float(np.mean((masked ** 2).sum(axis=(1, 2)) / 64.0))
    return hvs, hvsm


def _db(mse: float) -> float:
    return math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)


def psnr_hvs(ref: np.ndarray, dist: np.ndarray) -> float:
    return _db(hvs_mse(ref, dist)[0])


def psnr_hvs_m(ref: np.ndarray, dist: np.ndarray) -> float:
    return _db(hvs_mse(ref, dist)[1])


class _HvsMetric(Metric):
    unit = "dB"
    min_side = BLOCK
    needs_rgb = True
    check_tolerance = 0.01

    def compute(self, ref, dist):
        return _db(hvs_mse(ref, dist)[self._which])


@register_metric("psnr_hvs")
class PsnrHvs(_HvsMetric):
    label = "PSNR-HVS (Y)"
    reference = "Egiazarian et al. 2006; checked against the psnr-hvsm package"
    _which = 0


@register_metric("psnr_hvs_m")
class PsnrHvsM(_HvsMetric):
    label = "PSNR-HVS-M (Y)"
    reference = "Ponomarenko et al. 2007; checked against the psnr-hvsm package"
    _which = 1
