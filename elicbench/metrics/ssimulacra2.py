"""SSIMULACRA2 (Jon Sneyers, Cloudinary / libjxl ``tools/ssimulacra2.cc``): at most 100, higher is better
(about 90: visually lossless, 70: high quality, 50: medium, 30: low; heavy artefacts go below 0).

The definition follows the ``ssimulacra2`` Python package (0.3.0), which is the test oracle here
(tests/metrics/test_ssimulacra2.py); this is the same arithmetic in float32 (numpy, and loops
compiled with numba for the blur and the maps, ``kernels.py``):

- sRGB -> linear RGB -> XYB (opsin absorbance, cube root), made positive (X*14+0.42, Y+0.01,
  B-Y+0.55);
- 6 scales (fewer when a side drops below 8 pixels), halving by 2x2 means in *linear* RGB (a last
  odd row/column is averaged with itself alone);
- at each scale, per channel: a Gaussian blur (sigma 1.5, 11 taps, zero outside the image
  horizontally, mirrored vertically, as the oracle pads) of x, y, x*y and (x-y)^2 (var_x + var_y
  = 2 cov + var_(x-y): no float32 cancellation, where the oracle blurs x*x and y*y); the SSIM map
  1 - l*cs (l = 1 - (mu_x - mu_y)^2 on XYB's 0..1 scale) clipped at 0, and the edge maps
  (1+|y-mu_y|)/(1+|x-mu_x|) - 1 split into its positive (ringing) and negative (blur) parts; of
  each map the mean and the 4-norm;
- the 108 features weighted and mapped to a score by the published polynomial.

Why not the package itself: it works in float64 through scipy's generic filters and takes about a
second per 768x512 image; the blurs dominate it. Here the blurs, the maps and their sums are one
compiled float32 loop per channel and scale (``kernels.ssimulacra2_sums``) that stays in cache.
"""
from __future__ import annotations

import math

import numpy as np

from .catalog import register_metric_function
from .common import cube_root, halve
from .msssim import WINDOW, _gaussian

NUM_SCALES = 6
MIN_SIDE = 8
SIGMA = 1.5
RADIUS = 5            # int(3.33 * 1.5 + 0.5): scipy's radius for truncate=3.33, as the oracle uses
assert WINDOW == 2 * RADIUS + 1
K_C2 = 0.0009

_OPSIN = np.array([[0.30, 1.0 - 0.078 - 0.30, 0.078],
                   [0.23, 1.0 - 0.078 - 0.23, 0.078],
                   [0.24342268924547819, 0.20476744424496821, 1.0 - 0.24342268924547819 - 0.20476744424496821]])
_BIAS = 0.0037930732552754493
_CBRT_BIAS = float(np.cbrt(_BIAS))

# Feature weights, in the order channel -> scale -> norm -> (ssim, ringing, blur), from libjxl.
WEIGHTS = np.array([
    0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0, 0.0, 0.0004371155730107379, 0.0,
    1.1041726426657346, 0.00066284834129271, 0.00015231632783718752, 0.0, 0.0016406437456599754, 0.0,
    1.8422455520539298, 11.441172603757666, 0.0, 0.0007989109436015163, 0.000176816438078653, 0.0,
    1.8787594979546387, 10.94906990605142, 0.0, 0.0007289346991508072, 0.9677937080626833, 0.0,
    0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053, 0.0004550992113792063, 0.0, 0.0,
    0.0013648766163243398, 0.0, 0.0, 0.0, 0.0, 0.0, 7.466890328078848, 0.0, 17.445833984131262,
    0.0006235601634041466, 0.0, 0.0, 6.683678146179332, 0.00037724407979611296, 1.027889937768264,
    225.20515300849274, 0.0, 0.0, 19.213238186143016, 0.0011401524586618361, 0.001237755635509985,
    176.39317598450694, 0.0, 0.0, 24.43300999870476, 0.28520802612117757, 0.0004485436923833408, 0.0, 0.0,
    0.0, 34.77906344483772, 44.835625328877896, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0008680556573291698, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0005313191874358747, 0.0, 0.00016533814161379112,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0004179171803251336, 0.0017290828234722833, 0.0, 0.0020827005846636437,
    0.0, 0.0, 8.826982764996862, 23.19243343998926, 0.0, 95.1080498811086, 0.9863978034400682,
    0.9834382792465353, 0.0012286405048278493, 171.2667255897307, 0.9807858872435379, 0.0, 0.0, 0.0,
    0.0005130064588990679, 0.0, 0.00010854057858411537,
])


def _srgb_lut() -> np.ndarray:
    v = np.arange(256, dtype=np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


_LINEAR = _srgb_lut().astype(np.float32)


def to_linear(image: np.ndarray) -> np.ndarray:
    """sRGB (uint8 0..255, or floats on that scale) -> linear RGB, float32, (3, H, W)."""
    image = np.asarray(image)
    if image.dtype == np.uint8:   # a float32 table, indexed by the planes: no float64 copy
        return _LINEAR[np.ascontiguousarray(np.moveaxis(image, -1, 0))]
    v = np.clip(image.astype(np.float64) / 255.0, 0.0, None)
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    return np.ascontiguousarray(np.moveaxis(lin, -1, 0), dtype=np.float32)


def positive_xyb(linear: np.ndarray) -> np.ndarray:
    """(3, H, W) linear RGB -> XYB shifted to positive values, float32."""
    mixed = np.tensordot(_OPSIN.astype(np.float32), linear, axes=1)
    mixed += np.float32(_BIAS)
    np.maximum(mixed, 0.0, out=mixed)
    cube_root(mixed)
    mixed -= np.float32(_CBRT_BIAS)
    x = 0.5 * (mixed[0] - mixed[1])
    y = 0.5 * (mixed[0] + mixed[1])
    return np.stack([x * 14.0 + 0.42, y + 0.01, (mixed[2] - y) + 0.55])


def scale_features(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(3 channels, 6 values) at one scale: SSIM (mean, 4-norm), ringing (mean, 4-norm), blur (mean, 4-norm).

    x, y: (3, H, W) float32 XYB planes. The blur, the maps and their sums are one compiled loop
    (``kernels.ssimulacra2_sums``), which takes the blurred squared difference for the covariance,
    as msssim.py does, so that identical images give exactly 0.
    """
    from .kernels import TAPS, ssimulacra2_sums   # numba: loaded at the first call, not on import

    assert WINDOW == TAPS
    taps = _gaussian().astype(np.float32)
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.float32)
    features = np.empty((3, 6))
    sums = np.empty(6)
    for c in range(3):
        ssimulacra2_sums(x[c], y[c], taps, np.float32(K_C2), sums)
        means = sums / x[c].size
        features[c] = [means[0], means[1] ** 0.25, means[2], means[3] ** 0.25, means[4], means[5] ** 0.25]
    return features


def score(features: list[np.ndarray]) -> float:
    """The SSIMULACRA2 score from the per-scale features (``scale_features``)."""
    total = 0.0
    i = 0
    for c in range(3):
        for f in features:
            for n in range(2):   # mean, then 4-norm; per norm: ssim, ringing, blur
                for kind in range(3):
                    total += WEIGHTS[i] * abs(f[c, 2 * kind + n])
                    i += 1
    total *= 0.9562382616834844
    total = 2.326765642916932 * total - 0.020884521182843837 * total ** 2 + 6.248496625763138e-05 * total ** 3
    return 100.0 - 10.0 * math.pow(total, 0.6276336467831387) if total > 0 else 100.0


@register_metric_function("ssimulacra2", label="SSIMULACRA2", needs_rgb=True, min_side=MIN_SIDE,
                          reference="libjxl tools/ssimulacra2; checked against the ssimulacra2 package 0.3.0",
                          check_tolerance=1e-3)
def ssimulacra2(ref: np.ndarray, dist: np.ndarray) -> float:
    """SSIMULACRA2 of two sRGB images (H, W, 3) on 0..255; exactly 100 for identical images."""
    if np.array_equal(ref, dist):
        return 100.0   # the float32 arithmetic below would give 100 minus rounding, amplified near 100
    lin1, lin2 = to_linear(ref), to_linear(dist)
    features = []
    for scale in range(NUM_SCALES):
        if min(lin1.shape[1:]) < MIN_SIDE:
            break
        if scale:
            lin1, lin2 = halve(lin1), halve(lin2)
            if min(lin1.shape[1:]) < MIN_SIDE:
                break
        features.append(scale_features(positive_xyb(lin1), positive_xyb(lin2)))
    return score(features)
