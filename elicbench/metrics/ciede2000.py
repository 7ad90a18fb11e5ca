"""CIEDE2000 colour difference (Sharma, Wu & Dalal 2005), mean over pixels; lower is better.

sRGB (D65) -> CIELAB -> per-pixel ΔE00 with kL = kC = kH = 1, as scikit-image's ``rgb2lab`` and
``deltaE_ciede2000`` compute them (the test oracle). Used directly: about a tenth of a second per
768x512 image in float32 would need a rewrite of both functions; scikit-image is already a
dependency and its result is the reference.
"""
from __future__ import annotations

import numpy as np

from .catalog import register_metric_function


@register_metric_function("ciede2000", label="CIEDE2000 ΔE", needs_rgb=True, higher_is_better=False,
                          library="scikit-image", check_tolerance=1e-4,
                          reference="Sharma et al. 2005, skimage.color.deltaE_ciede2000, mean over pixels")
def ciede2000(ref: np.ndarray, dist: np.ndarray) -> float:
    """Mean CIEDE2000 ΔE of two sRGB images (H, W, 3) on 0..255."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    lab1 = rgb2lab(np.asarray(ref, dtype=np.float64) / 255.0)
    lab2 = rgb2lab(np.asarray(dist, dtype=np.float64) / 255.0)
    return float(np.mean(deltaE_ciede2000(lab1, lab2)))
