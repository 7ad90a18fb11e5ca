"""Reading and hashing dataset files: `pytest benchmarks/test_datasets_bench.py --benchmark-enable`."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from elicbench.datasets import file_sha256, load_rgb, verify_dataset


def test_load_rgb_kodak_png(benchmark, kodak):
    rgb, _ = benchmark(load_rgb, kodak.images[0])
    assert rgb.shape == (512, 768, 3)


def test_load_rgb_16bit_rgb_tiff(benchmark, kodak, tmp_path):
    """16-bit RGB files are decoded twice (high bytes, then low bytes): what that costs at Kodak size."""
    tifffile = pytest.importorskip("tifffile")
    with Image.open(kodak.images[0].path) as im:
        eight = np.asarray(im)
    path = tmp_path / "wide.tif"
    tifffile.imwrite(path, eight.astype(np.uint16) * 257)  # 257*b rounds back to b exactly
    rgb, note = benchmark(load_rgb, path)
    assert note == "16bit->8bit" and np.array_equal(rgb, eight)


def test_verify_kodak(benchmark, kodak):
    hashes = benchmark(verify_dataset, kodak)
    assert len(hashes) == 24


def test_sha256_clic_file(benchmark, data_dir):
    path = data_dir / "clic" / "alberto-montalesi-176097.png"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    assert len(benchmark(file_sha256, path)) == 64
