"""FLIP (Andersson et al. 2020, NVIDIA ꟻLIP), LDR: mean of the per-pixel error map, 0..1, lower is
better. Computed by NVIDIA's ``flip-evaluator`` package (C++ with Python bindings), at its default
viewing condition of 67 pixels per degree.
"""
from __future__ import annotations

import numpy as np

from .catalog import register_metric_function


@register_metric_function("flip", label="FLIP", needs_rgb=True, higher_is_better=False, library="flip-evaluator",
                          reference="Andersson et al. 2020 (NVIDIA FLIP), LDR, 67 ppd", check_tolerance=1e-5)
def flip(ref: np.ndarray, dist: np.ndarray) -> float:
    """Mean LDR-FLIP error of two sRGB images (H, W, 3) on 0..255."""
    import flip_evaluator

    a = np.ascontiguousarray(ref, dtype=np.float32) / 255.0
    b = np.ascontiguousarray(dist, dtype=np.float32) / 255.0
    _, mean, _ = flip_evaluator.evaluate(a, b, "LDR", applyMagma=False)
    return float(mean)
