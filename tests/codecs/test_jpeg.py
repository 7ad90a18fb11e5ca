"""The ``jpeg`` codec (libjpeg-turbo through Pillow): Pillow's defaults, subsampling, Huffman optimisation."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from elicbench.metrics import psnr

from codec_helpers import make


def test_jpeg_matches_plain_pillow(crop):
    """Default settings are Pillow's own defaults: the same file as a bare Image.save."""
    buf = io.BytesIO()
    Image.fromarray(crop).save(buf, format="JPEG", quality=75)
    assert make("jpeg").encode(crop, 75) == buf.getvalue()


def test_jpeg_444_differs_from_420(crop):
    c420, c444 = make("jpeg"), make("jpeg", subsampling="4:4:4")
    a, b = c420.encode(crop, 50), c444.encode(crop, 50)
    assert a != b
    assert len(b) > len(a)   # full-resolution chroma costs bits ...
    assert psnr(crop, c444.decode(b)) > psnr(crop, c420.decode(a))   # ... and buys quality
    assert c444.label == "jpeg[subsampling=4:4:4]"


def test_jpeg_optimize_is_smaller_with_the_same_pixels(crop):
    plain, optimized = make("jpeg"), make("jpeg", optimize="true")
    a, b = plain.encode(crop, 50), optimized.encode(crop, 50)
    assert len(b) < len(a)
    assert np.array_equal(plain.decode(a), optimized.decode(b))
