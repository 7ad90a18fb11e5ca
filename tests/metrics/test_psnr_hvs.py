"""PSNR-HVS and PSNR-HVS-M against the `psnr-hvsm` package (numpy and C++ back-ends) on real photographs."""
from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest

from elicbench.metrics import get_metric
from elicbench.metrics.psnrhvs import psnr_hvs, psnr_hvs_m

from pairs import jpeg_round_trip, real_pairs

with contextlib.redirect_stdout(io.StringIO()):   # the package prints a notice when torch is missing
    psnr_hvsm = pytest.importorskip("psnr_hvsm")


def _oracles(ref, dist):
    y_ref = psnr_hvsm.bt601ycbcr(ref)[0]
    y_dist = psnr_hvsm.bt601ycbcr(dist)[0]
    out = [tuple(float(v) for v in psnr_hvsm.BACKENDS["numpy"]["psnr_hvs_hvsm"](y_ref, y_dist))]
    if "cpp" in psnr_hvsm.BACKENDS:
        out.append(tuple(float(v) for v in psnr_hvsm.BACKENDS["cpp"]["psnr_hvs_hvsm"](y_ref, y_dist)))
    return out


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")  # the oracle, flat blocks
def test_matches_the_package_on_real_pairs(photo):
    for key, (ref, dist) in real_pairs(photo).items():
        ours = (get_metric("psnr_hvs")()(ref, dist), get_metric("psnr_hvs_m")()(ref, dist))
        for hvs, hvsm in _oracles(ref, dist):
            assert ours[0] == pytest.approx(hvs, abs=1e-6), key
            assert ours[1] == pytest.approx(hvsm, abs=1e-6), key


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")
def test_sizes_not_a_multiple_of_8_use_the_whole_blocks(photo):
    ref = photo(7)
    dist = jpeg_round_trip(ref, 25)
    crop = (slice(0, 203), slice(0, 301))
    whole = (slice(0, 200), slice(0, 296))
    assert psnr_hvs_m(ref[crop], dist[crop]) == psnr_hvs_m(ref[whole], dist[whole])
    (hvs, hvsm), *_ = _oracles(ref[whole], dist[whole])
    assert psnr_hvs(ref[crop], dist[crop]) == pytest.approx(hvs, abs=1e-6)


def test_identical_images_are_infinite_and_masking_raises_the_value(photo):
    ref = photo(2)
    assert math.isinf(psnr_hvs(ref, ref)) and math.isinf(psnr_hvs_m(ref, ref))
    dist = jpeg_round_trip(ref, 30)
    assert psnr_hvs_m(ref, dist) > psnr_hvs(ref, dist)   # masking only removes error
