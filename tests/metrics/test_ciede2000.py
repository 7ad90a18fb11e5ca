"""CIEDE2000: elicbench's float32 ΔE00 on Sharma, Wu & Dalal's published test pairs, and the metric
against scikit-image's float64 rgb2lab + deltaE_ciede2000 (the oracle) on real photographs."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.color import deltaE_ciede2000, rgb2lab

from elicbench.metrics import get_metric
from elicbench.metrics.ciede2000 import delta_e00, srgb_to_lab

from pairs import real_pairs

# Pairs 1, 7, 13, 25 and 34 of Sharma, Wu & Dalal (2005), Table 1: (L1, a1, b1), (L2, a2, b2), ΔE00.
SHARMA = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
]


def test_the_library_reproduces_the_published_pairs():
    lab1 = np.array([p[0] for p in SHARMA])
    lab2 = np.array([p[1] for p in SHARMA])
    np.testing.assert_allclose(deltaE_ciede2000(lab1, lab2), [p[2] for p in SHARMA], atol=1e-4)


def test_elicbench_reproduces_the_published_pairs():
    lab1 = tuple(np.array([p[0][i] for p in SHARMA], np.float32) for i in range(3))
    lab2 = tuple(np.array([p[1][i] for p in SHARMA], np.float32) for i in range(3))
    np.testing.assert_allclose(delta_e00(lab1, lab2), [p[2] for p in SHARMA], atol=1e-4)
    # Swapping the colours gives the same difference.
    np.testing.assert_allclose(delta_e00(lab2, lab1), [p[2] for p in SHARMA], atol=1e-4)


def test_lab_conversion_matches_scikit_image(photo):
    ref = real_pairs(photo)[next(iter(real_pairs(photo)))][0]
    expected = rgb2lab(ref / 255.0).reshape(-1, 3)
    np.testing.assert_allclose(np.stack(srgb_to_lab(ref), axis=1), expected, rtol=0, atol=2e-4)


def test_metric_is_the_mean_over_pixels_on_real_pairs(photo):
    metric = get_metric("ciede2000")()
    values = []
    for key, (ref, dist) in real_pairs(photo).items():
        expected = float(np.mean(deltaE_ciede2000(rgb2lab(ref / 255.0), rgb2lab(dist / 255.0))))
        values.append(metric(ref, dist))
        assert values[-1] == pytest.approx(expected, rel=1e-6), key  # float32 per pixel
        assert metric(ref, ref) == 0.0
    assert values[0] > values[-1]   # JPEG q5 differs more than q90 (lower is better)


def test_a_uniform_colour_shift_has_its_pairwise_value():
    ref = np.full((16, 16, 3), (120, 60, 200), np.uint8)
    dist = np.full((16, 16, 3), (124, 58, 196), np.uint8)
    one = deltaE_ciede2000(rgb2lab(ref[:1, :1] / 255.0), rgb2lab(dist[:1, :1] / 255.0))[0, 0]
    assert get_metric("ciede2000")()(ref, dist) == pytest.approx(one, rel=1e-5)  # one pixel's float32 value
