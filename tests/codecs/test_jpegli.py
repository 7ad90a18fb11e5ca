"""The jpegli codec: real JPEG files from jpegli (pyjpegli), decoded by the standard decoder."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from elicbench.codecs import get_codec
from elicbench.metrics import psnr


@pytest.fixture(scope="module")
def jpegli():
    cls = get_codec("jpegli")
    available = cls.availability()
    if not available:
        pytest.skip(f"jpegli not available here: {available.reason}")
    return cls()


def test_round_trip_is_a_standard_jpeg(jpegli, photo):
    image = photo(1)
    data = jpegli.encode(image, 75)
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    with Image.open(io.BytesIO(data)) as im:   # any JPEG decoder reads it: here Pillow's libjpeg-turbo
        assert im.format == "JPEG" and im.size == (image.shape[1], image.shape[0])
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), jpegli.decode(data))
    decoded = jpegli.decode(data)
    assert decoded.shape == image.shape and decoded.dtype == np.uint8
    assert psnr(image, decoded) > 28
    assert jpegli.encode(image, 75) == data   # deterministic


def test_quality_sets_the_rate_and_jpegli_beats_libjpeg_turbo(jpegli, photo):
    image = photo(3)
    sizes = [len(jpegli.encode(image, q)) for q in (10, 40, 90)]
    assert sizes[0] < sizes[1] < sizes[2]
    turbo = get_codec("jpeg")()
    # At the same quality setting jpegli's file is smaller at about the same PSNR (4 Kodak images: 9-16 %).
    a, b = jpegli.encode(image, 75), turbo.encode(image, 75)
    assert len(a) < len(b)
    assert psnr(image, jpegli.decode(a)) > psnr(image, turbo.decode(b)) - 0.5


def test_listed_with_its_library_version(jpegli):
    assert "pyjpegli" in jpegli.versions() and "jpegli" in jpegli.summary
    with pytest.raises(Exception, match="out of range"):
        jpegli.encode(np.zeros((16, 16, 3), np.uint8), 101)
