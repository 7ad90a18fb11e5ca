"""Encode and decode speed of the Pillow codecs on one Kodak image (kodim23, 768x512) at a mid-sweep quality.

Run: `pytest benchmarks/test_codec_speed.py --benchmark-enable` (set OMP_NUM_THREADS=1 for one core).
"""
from __future__ import annotations

import numpy as np
import pytest

from elicbench.codecs import get_codec

CODECS = ["jpeg", "webp", "jpeg2000", "avif", "avif-svt", "avif-rav1e", "jxl", "heif"]


@pytest.fixture(scope="module")
def image(kodak_image) -> np.ndarray:
    return kodak_image(23)


def codec_and_quality(name: str):
    cls = get_codec(name)
    available = cls.availability()
    if not available:
        pytest.skip(f"{name}: {available.reason}")
    codec = cls()
    qualities = codec.qualities()
    return codec, qualities[len(qualities) // 2]


@pytest.mark.parametrize("name", CODECS)
def test_encode(benchmark, image, name):
    codec, q = codec_and_quality(name)
    codec.encode(image, q)   # warm-up: library loading, first-call set-up
    data = benchmark.pedantic(codec.encode, args=(image, q), rounds=5, iterations=1)
    benchmark.extra_info.update(quality=q, bpp=8 * len(data) / (image.shape[0] * image.shape[1]))


@pytest.mark.parametrize("name", CODECS)
def test_decode(benchmark, image, name):
    codec, q = codec_and_quality(name)
    data = codec.encode(image, q)
    codec.decode(data)
    out = benchmark.pedantic(codec.decode, args=(data,), rounds=10, iterations=1)
    assert out.shape == image.shape
