"""Which dataset the tests that run a benchmark use.

Kodak when it is found in $ELICBENCH_DATA (CI sets it; tests/conftest.py defaults it to
../shared/datasets), otherwise ``sample``: photographs that ship with scikit-image, so that a fresh
clone with no data and no network runs the same tests. Image names come from here, not literals.
"""
from __future__ import annotations

import os
from pathlib import Path

KODAK_DIR = Path(os.environ.get("ELICBENCH_DATA", "")) / "kodak"
HAVE_KODAK = (KODAK_DIR / "kodim01.png").is_file()
BENCH_DATASET = "kodak" if HAVE_KODAK else "sample"
# The first images of BENCH_DATASET, sorted by name as datasets are.
BENCH_IMAGES = ([f"kodim{n:02d}" for n in range(1, 25)] if HAVE_KODAK
                else ["astronaut", "chelsea", "coffee", "motorcycle_left"])
