"""CIEDE2000 colour difference (Sharma, Wu & Dalal 2005), mean over pixels; lower is better.

sRGB (D65, 2°) -> CIELAB -> per-pixel ΔE00 with kL = kC = kH = 1, with the constants of
scikit-image's ``rgb2lab`` and ``deltaE_ciede2000`` (the test oracle; the result agrees with it to
about 1e-7 relative). Written here in float32 because scikit-image's float64 functions take
several times the per-image budget (README, Metrics): 8-bit input makes sRGB linearisation a
256-entry table, and the hue terms of ΔE00 come from one cosine and one sine of the mean hue.
"""
from __future__ import annotations

import numpy as np

from .catalog import register_metric_function
from .common import cube_root

_CODES = np.arange(256) / 255.0
#: sRGB code value -> linear light (IEC 61966-2-1), for every 8-bit code.
_LINEAR = np.where(_CODES > 0.04045, ((_CODES + 0.055) / 1.055) ** 2.4, _CODES / 12.92).astype(np.float32)
#: Linear sRGB -> XYZ (scikit-image's ``xyz_from_rgb``), each row divided by the D65 white, so that
#: the CIELAB f() applies directly.
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
_XYZN_FROM_RGB = (np.array([[0.412453, 0.357580, 0.180423],
                            [0.212671, 0.715160, 0.072169],
                            [0.019334, 0.119193, 0.950227]]) / _WHITE_D65[:, None]).T.astype(np.float32)
_TWO_PI = np.float32(2 * np.pi)
_25_POW_7 = np.float32(25.0 ** 7)
# Pixels per chunk: the forty or so float32 temporaries of a chunk stay in cache (measured on a
# 768x512 pair, one core: 143 ms whole, 107 ms in chunks of 65,536, 133 ms in chunks of 131,072).
_CHUNK = 65536


def srgb_to_lab(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """uint8 sRGB (H, W, 3) -> flat float32 (L*, a*, b*)."""
    t = _LINEAR[np.asarray(image, np.uint8).reshape(-1, 3)] @ _XYZN_FROM_RGB
    f = np.where(t > 0.008856, cube_root(t.copy()), t * np.float32(7.787) + np.float32(16 / 116))
    fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]
    return fy * np.float32(116) - np.float32(16), (fx - fy) * np.float32(500), (fy - fz) * np.float32(200)


def _pow7(x):
    x2 = x * x
    return x2 * x2 * x2 * x


def _angle(y, x):
    """atan2 in [0, 2π)."""
    h = np.arctan2(y, x)
    return np.where(h < 0, h + _TWO_PI, h)


def _cos_shifted(cos_h, sin_h, degrees: float):
    """cos(h - degrees) from cos h and sin h."""
    r = np.deg2rad(degrees)
    return cos_h * np.float32(np.cos(r)) + sin_h * np.float32(np.sin(r))


def delta_e00(lab1, lab2) -> np.ndarray:
    """Per-pixel ΔE00 of two CIELAB triples of flat arrays (Sharma et al. 2005, eqs. 1-22)."""
    L1, a1, b1 = lab1
    L2, a2, b2 = lab2
    c7 = _pow7((np.hypot(a1, b1) + np.hypot(a2, b2)) * np.float32(0.5))
    g = np.float32(1.5) - np.float32(0.5) * np.sqrt(c7 / (c7 + _25_POW_7))   # 1 + G
    a1, a2 = a1 * g, a2 * g
    C1, C2 = np.hypot(a1, b1), np.hypot(a2, b2)
    h1, h2 = _angle(b1, a1), _angle(b2, a2)
    chroma_product = C1 * C2
    achromatic = chroma_product == 0
    dh = h2 - h1
    dh = np.where(dh > np.pi, dh - _TWO_PI, np.where(dh < -np.pi, dh + _TWO_PI, dh))
    dH = np.float32(2) * np.sqrt(chroma_product) * np.sin(np.where(achromatic, 0, dh) * np.float32(0.5))
    # Mean hue: halfway along the shorter arc; the plain sum when a colour is achromatic.
    h_sum = h1 + h2
    wraps = ~achromatic & (np.abs(h1 - h2) > np.pi)
    h_bar = np.where(wraps, np.where(h_sum < _TWO_PI, h_sum + _TWO_PI, h_sum - _TWO_PI), h_sum)
    h_bar = np.where(achromatic, h_bar, h_bar * np.float32(0.5))
    # T from cos/sin of h̄ alone (multiple-angle formulas instead of four cosines).
    c, s = np.cos(h_bar), np.sin(h_bar)
    c2, s2 = 2 * c * c - 1, 2 * s * c
    c3, s3 = c * (4 * c * c - 3), s * (3 - 4 * s * s)
    c4, s4 = 2 * c2 * c2 - 1, 2 * s2 * c2
    T = (1 - np.float32(0.17) * _cos_shifted(c, s, 30) + np.float32(0.24) * c2
         + np.float32(0.32) * _cos_shifted(c3, s3, -6) - np.float32(0.20) * _cos_shifted(c4, s4, 63))
    d_theta = np.float32(np.deg2rad(30)) * np.exp(-((h_bar * np.float32(180 / np.pi) - 275) / 25) ** 2)
    C_bar = (C1 + C2) * np.float32(0.5)
    cb7 = _pow7(C_bar)
    R_C = 2 * np.sqrt(cb7 / (cb7 + _25_POW_7))
    L_dev2 = ((L1 + L2) * np.float32(0.5) - 50) ** 2
    S_L = 1 + np.float32(0.015) * L_dev2 / np.sqrt(20 + L_dev2)
    dL = (L2 - L1) / S_L
    dC = (C2 - C1) / (1 + np.float32(0.045) * C_bar)
    dH = dH / (1 + np.float32(0.015) * C_bar * T)
    R_T = -np.sin(2 * d_theta) * R_C
    return np.sqrt(np.maximum(dL * dL + dC * dC + dH * dH + R_T * dC * dH, 0))


@register_metric_function("ciede2000", label="CIEDE2000 ΔE", needs_rgb=True, higher_is_better=False,
                          check_tolerance=1e-4,
                          reference="Sharma et al. 2005 with scikit-image's constants, mean over pixels")
def ciede2000(ref: np.ndarray, dist: np.ndarray) -> float:
    """Mean CIEDE2000 ΔE of two sRGB images (H, W, 3) on 0..255 (float64 mean of float32 values)."""
    ref = np.asarray(ref).reshape(-1, 3)
    dist = np.asarray(dist).reshape(-1, 3)
    total = 0.0
    for start in range(0, len(ref), _CHUNK):
        stop = start + _CHUNK
        total += float(np.sum(delta_e00(srgb_to_lab(ref[start:stop]), srgb_to_lab(dist[start:stop])),
                              dtype=np.float64))
    return total / len(ref) if len(ref) else float("nan")
