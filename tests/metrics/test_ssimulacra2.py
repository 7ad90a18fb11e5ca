"""SSIMULACRA2 against the `ssimulacra2` package (pure Python, the oracle) on real photographs."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from elicbench.metrics import get_metric
from elicbench.metrics.ssimulacra2 import ssimulacra2

from pairs import jpeg_round_trip, real_pairs

oracle = pytest.importorskip("ssimulacra2")


def _oracle(tmp_path, ref, dist) -> float:
    # The package reads files; PNG keeps the pixels exactly.
    Image.fromarray(ref).save(tmp_path / "ref.png")
    Image.fromarray(dist).save(tmp_path / "dist.png")
    return oracle.compute_ssimulacra2(str(tmp_path / "ref.png"), str(tmp_path / "dist.png"))


def test_matches_the_oracle_on_real_pairs(photo, tmp_path):
    for key, (ref, dist) in real_pairs(photo).items():
        ours = get_metric("ssimulacra2")()(ref, dist)
        assert ours == pytest.approx(_oracle(tmp_path, ref, dist), abs=0.01), key


def test_odd_sizes_and_few_scales_match_the_oracle(photo, tmp_path):
    ref = photo(5)
    dist = jpeg_round_trip(ref, 15)
    for h, w in ((171, 263), (37, 90), (9, 300)):   # odd halving; 3 scales; 1 scale
        assert ssimulacra2(ref[:h, :w], dist[:h, :w]) == pytest.approx(
            _oracle(tmp_path, ref[:h, :w], dist[:h, :w]), abs=0.01), (h, w)


def test_identical_images_score_100_and_worse_quality_scores_lower(photo):
    ref = photo(3)
    assert ssimulacra2(ref, ref) == pytest.approx(100.0, abs=1e-6)
    scores = [ssimulacra2(ref, jpeg_round_trip(ref, q)) for q in (10, 40, 90)]
    assert scores[0] < scores[1] < scores[2] < 100
