"""FLIP through NVIDIA's flip-evaluator: no second implementation exists to compare with, so these
check what the definition fixes: 0 for identical images, values in 0..1, worse JPEG -> larger error,
and the library's own mean of its error map."""
from __future__ import annotations

import numpy as np
import pytest

from elicbench.metrics import get_metric

from pairs import jpeg_round_trip

flip_evaluator = pytest.importorskip("flip_evaluator")


def test_flip_orders_jpeg_qualities_and_is_zero_for_identical(photo):
    ref = photo(4)[:256, :384]
    metric = get_metric("flip")()
    assert metric(ref, ref) == 0.0
    errors = [metric(ref, jpeg_round_trip(ref, q)) for q in (5, 30, 90)]
    assert 1 > errors[0] > errors[1] > errors[2] > 0


def test_flip_is_the_mean_of_the_error_map(photo):
    ref = photo(9)[:128, :128]
    dist = jpeg_round_trip(ref, 20)
    error_map, _, _ = flip_evaluator.evaluate(ref.astype(np.float32) / 255, dist.astype(np.float32) / 255, "LDR",
                                             applyMagma=False)
    assert get_metric("flip")()(ref, dist) == pytest.approx(float(np.mean(error_map)), rel=1e-5)
