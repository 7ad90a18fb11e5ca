"""MS-SSIM against TensorFlow's reference (tf.image.ssim_multiscale) on real photographs (Kodak, or the `photo` fallback)."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from elicbench.metrics import MetricUndefined, ms_ssim, ms_ssim_db
from bench_data import HAVE_KODAK


def jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


# Full-size JPEG round trips, compared on crops: TF's eager MS-SSIM costs ~3 s of CPU per
# 768x512 image, so the comparison uses 256x384 regions (4 scales of real JPEG artefacts), a crop
# with odd sizes (padding at every scale) and one of the smallest size allowed.
JPEG_PAIRS = {"kodim01-q5": (1, 5), "kodim13-q2": (13, 2), "kodim15-q20": (15, 20), "kodim23-q50": (23, 50)}
ODD = {"kodim13-q2-171x263": ("kodim13-q2", 171, 263), "kodim01-q5-161x161": ("kodim01-q5", 161, 161)}


@pytest.fixture(scope="module")
def pairs(photo) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Kodak images (768x512) through low-quality JPEG."""
    out = {}
    for key, (n, q) in JPEG_PAIRS.items():
        ref = photo(n)
        out[key] = (ref, jpeg_round_trip(ref, q))
    return out


@pytest.fixture(scope="module")
def crops(pairs) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {key: (ref[128:384, 192:576], dist[128:384, 192:576]) for key, (ref, dist) in pairs.items()}
    for key, (source, h, w) in ODD.items():
        ref, dist = pairs[source]
        out[key] = (ref[101:101 + h, 57:57 + w], dist[101:101 + h, 57:57 + w])
    return out


@pytest.fixture(scope="module")
def tf_values(crops) -> dict[str, float]:
    """TensorFlow's values: one batched call for the same-size crops, one call per odd size."""
    from elicbench.tfenv import import_tf

    tf = import_tf()
    same = list(JPEG_PAIRS)
    refs = np.stack([crops[k][0] for k in same])
    dists = np.stack([crops[k][1] for k in same])
    values = dict(zip(same, tf.image.ssim_multiscale(refs, dists, 255).numpy().tolist()))
    for key in ODD:
        ref, dist = crops[key]
        values[key] = float(tf.image.ssim_multiscale(ref, dist, 255).numpy())
    return values


def test_matches_tensorflow(crops, tf_values):
    for key, (ref, dist) in crops.items():
        assert ms_ssim(ref, dist) == pytest.approx(tf_values[key], abs=1e-4), key
    # The pairs span a useful range, so agreement is not an accident of values near 1.
    # (Kodak reaches below 0.7 at JPEG q2; the fallback mosaic's texture keeps it near 0.85.)
    assert min(tf_values.values()) < (0.7 if HAVE_KODAK else 0.9) and max(tf_values.values()) > 0.95, tf_values


def test_channels_are_averaged(pairs):
    """RGB MS-SSIM is the mean of the per-channel values (TF's definition; no luma conversion)."""
    ref, dist = pairs["kodim15-q20"]
    per_channel = [ms_ssim(ref[..., c], dist[..., c]) for c in range(3)]
    assert ms_ssim(ref, dist) == pytest.approx(np.mean(per_channel), abs=1e-9)
    assert max(per_channel) - min(per_channel) > 1e-3   # the channels really differ


def test_float_input_gives_the_same_value(pairs):
    ref, dist = pairs["kodim23-q50"]
    assert ms_ssim(ref.astype(np.float64), dist.astype(np.float32)) == pytest.approx(ms_ssim(ref, dist), abs=1e-6)


def test_identical_images(pairs):
    ref, _ = pairs["kodim01-q5"]
    assert ms_ssim(ref, ref.copy()) == 1.0
    assert ms_ssim_db(ms_ssim(ref, ref.copy())) == math.inf


def test_falls_with_jpeg_quality(photo):
    ref = photo(7)
    values = [ms_ssim(ref, jpeg_round_trip(ref, q)) for q in (90, 40, 10, 2)]
    assert all(a > b for a, b in zip(values, values[1:])), values


def test_small_images_are_undefined(photo):
    ref = photo(1)[:160, :200]
    with pytest.raises(MetricUndefined, match=r"^MS-SSIM needs at least 161x161 pixels \(5 scales, 11-px window\); image is 200x160$"):
        ms_ssim(ref, ref)
    with pytest.raises(MetricUndefined, match="image is 160x300"):
        ms_ssim(photo(1)[:300, :160], photo(2)[:300, :160])


def test_shape_mismatch_is_an_error(photo):
    with pytest.raises(ValueError, match="images differ in shape"):
        ms_ssim(photo(1), photo(1)[:, :700])


def test_ms_ssim_db():
    assert ms_ssim_db(0.99) == pytest.approx(20.0)
    assert ms_ssim_db(0.9) == pytest.approx(10.0)
    assert ms_ssim_db(0.0) == 0.0
    assert ms_ssim_db(1.0) == math.inf
    assert math.isnan(ms_ssim_db(math.nan))
