"""Peak memory of ELIC on a 2K image, whole vs tiled transforms (`full`, random weights, CPU).

Each case runs in a fresh process (peak RSS is per process), encoding then decoding CLIC2020_3
(2048x1365). Goal: with the default tile, decoding a 2K image stays under 3 GB; coding it whole
takes about 5 GB. Run: `pytest benchmarks/test_elic_memory.py --benchmark-enable -s` (minutes).
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHILD = r"""
import hashlib, json, resource, sys, time
from elicbench.datasets import load_rgb
from elicbench.codecs.elic.testing import random_model
path, tile = sys.argv[1], int(sys.argv[2])
image, _ = load_rgb(path)
model = random_model("full", seed=0)
model.prepare_for_coding()
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
base = peak()
t = time.perf_counter(); strings = model.coder.compress_tiled(image, tile); encode_s = time.perf_counter() - t
encode_peak = peak()
t = time.perf_counter(); model.coder.decompress_tiled(image.shape[0], image.shape[1], strings, tile)
decode_s = time.perf_counter() - t
print(json.dumps(dict(base_mb=base, encode_peak_mb=encode_peak, peak_mb=peak(), encode_s=encode_s,
                      decode_s=decode_s, bytes=sum(map(len, strings)),
                      strings_sha256=hashlib.sha256(b"".join(strings)).hexdigest())))
"""

RESULTS: dict[int, dict] = {}


def measure(path, tile: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(tile)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("tile", [0, 1024, 512])
def test_elic_full_2k_peak_memory(benchmark, data_dir, tile):
    from elicbench.codecs.elic.codec import DEFAULT_TILE

    path = data_dir / "clic" / "CLIC2020_3.png"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    result = benchmark.pedantic(measure, args=(path, tile), rounds=1, iterations=1)
    RESULTS[tile] = result
    benchmark.extra_info.update(tile=tile, **result)
    print(f"\ntile={tile}: peak {result['peak_mb']:.0f} MB (encode {result['encode_peak_mb']:.0f} MB, "
          f"base {result['base_mb']:.0f} MB), encode {result['encode_s']:.1f} s, decode {result['decode_s']:.1f} s")
    if tile == DEFAULT_TILE:
        assert result["peak_mb"] < 3000
    if tile and 0 in RESULTS:
        assert result["peak_mb"] < 0.7 * RESULTS[0]["peak_mb"]
        # Tiling changes memory, not the file: the same model (seeded) writes the same strings.
        assert result["strings_sha256"] == RESULTS[0]["strings_sha256"]
