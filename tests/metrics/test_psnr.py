"""PSNR (RGB and luma) and bits per pixel: exact known cases and an independent implementation."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from elicbench.metrics import bits_per_pixel, luma, psnr, psnr_y


def jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


@pytest.fixture(scope="module")
def image(photo) -> np.ndarray:
    return photo(7)


def test_identical_images_are_infinite(image):
    assert psnr(image, image.copy()) == math.inf
    assert psnr_y(image, image.copy()) == math.inf


@pytest.mark.parametrize("d", [1, 3, 10])
def test_plus_minus_d_pattern_is_exact(image, d):
    """Every sample off by exactly d (sign alternating): MSE = d^2, PSNR = 20 log10(255 / d)."""
    ref = np.clip(image, d, 255 - d)   # room for +-d without clipping
    sign = np.where(np.indices(ref.shape).sum(axis=0) % 2 == 0, 1, -1)
    dist = (ref.astype(np.int16) + d * sign).astype(np.uint8)
    assert psnr(ref, dist) == pytest.approx(20 * math.log10(255 / d), abs=1e-12)


def test_luma_uses_bt601_studio_range():
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    np.testing.assert_allclose(luma(rgb)[0], [16, 235, 16 + 65.481, 16 + 128.553, 16 + 24.966], atol=1e-12)


@pytest.mark.parametrize("d", [2, 7])
def test_psnr_y_of_a_grey_shift(image, d):
    """+d on R, G and B moves studio-range Y by d * 219/255."""
    ref = np.clip(image, 0, 255 - d)
    dist = ref + np.uint8(d)
    assert psnr_y(ref, dist) == pytest.approx(20 * math.log10(255 / (d * 219 / 255)), abs=1e-9)
    assert psnr(ref, dist) == pytest.approx(20 * math.log10(255 / d), abs=1e-12)


def test_psnr_matches_scikit_image_on_jpeg(image):
    from skimage.metrics import peak_signal_noise_ratio

    for q in (10, 50, 90):
        dist = jpeg_round_trip(image, q)
        assert psnr(image, dist) == pytest.approx(peak_signal_noise_ratio(image, dist, data_range=255), abs=1e-9)


def test_psnr_falls_with_jpeg_quality(image):
    values = [psnr(image, jpeg_round_trip(image, q)) for q in (90, 50, 10)]
    assert values[0] > values[1] > values[2] > 20
    # Luma-only PSNR of a 4:2:0 JPEG is higher: the chroma loss does not count.
    assert psnr_y(image, jpeg_round_trip(image, 50)) > values[1]


def test_float_input_gives_the_same_value(image):
    dist = jpeg_round_trip(image, 30)
    assert psnr(image.astype(np.float32), dist.astype(np.float64)) == pytest.approx(psnr(image, dist), abs=1e-12)


def test_shape_mismatch_is_an_error(image):
    with pytest.raises(ValueError, match=r"images differ in shape: reference \(512, 768, 3\), distorted \(512, 760, 3\)"):
        psnr(image, image[:, :760])
    with pytest.raises(ValueError, match=r"psnr_y needs RGB images"):
        psnr_y(image[..., 0], image[..., 1])


def test_bits_per_pixel():
    assert bits_per_pixel(49152, 768, 512) == 1.0
    assert bits_per_pixel(0, 10, 10) == 0.0
    assert bits_per_pixel(3, 2, 3) == 4.0
    with pytest.raises(ValueError, match="image size must be positive, got 0x512"):
        bits_per_pixel(100, 0, 512)
    with pytest.raises(ValueError, match="must not be negative"):
        bits_per_pixel(-1, 10, 10)
