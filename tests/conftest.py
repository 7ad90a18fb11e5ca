"""Shared fixtures. Tests use the real Kodak images from $ELICBENCH_DATA (CI: ../shared/datasets);
without them (a fresh clone) ``photo`` and ``bench_data.BENCH_DATASET`` fall back to photographs that
ship with scikit-image, and the tests that need Kodak itself skip, naming it."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

_REPO = Path(__file__).resolve().parent.parent
# Helper modules beside the tests (fake_codecs) are importable here and in spawned workers.
sys.path.append(str(Path(__file__).resolve().parent))
# Default for a checkout that has ../shared beside it, as CI does.
os.environ.setdefault("ELICBENCH_DATA", str(_REPO.parent / "shared" / "datasets"))
# Never let a test touch the user's real cache.
os.environ.setdefault("ELICBENCH_CACHE", str(_REPO / ".pytest_cache" / "elicbench-cache"))


@pytest.fixture(scope="session")
def data_root() -> Path:
    return Path(os.environ["ELICBENCH_DATA"])


@pytest.fixture(scope="session")
def kodak_dir(data_root: Path) -> Path:
    d = data_root / "kodak"
    if not (d / "kodim01.png").exists():
        pytest.skip(f"Kodak images not found in {d} (set ELICBENCH_DATA)")
    return d


@pytest.fixture(scope="session")
def kodak_image(kodak_dir: Path):
    """Load a Kodak image as RGB uint8: kodak_image(1) -> kodim01."""
    from PIL import Image

    cache: dict[int, np.ndarray] = {}

    def load(n: int = 1) -> np.ndarray:
        if n not in cache:
            with Image.open(kodak_dir / f"kodim{n:02d}.png") as im:
                cache[n] = np.asarray(im.convert("RGB"))
        return cache[n]

    return load


@pytest.fixture(scope="session")
def photo(data_root: Path):
    """A 768x512 photograph as RGB uint8: Kodak image n when Kodak is there, else a mosaic of two
    scikit-image photographs at their native resolution (astronaut and a textured micrograph,
    swapped for odd n), so that a fresh clone runs the tests that need a natural image, not Kodak."""
    if (data_root / "kodak" / "kodim01.png").exists():
        from PIL import Image

        def kodak(n: int = 1) -> np.ndarray:
            with Image.open(data_root / "kodak" / f"kodim{n:02d}.png") as im:
                return np.asarray(im.convert("RGB"))
        return kodak
    from skimage import data

    astronaut, micrograph = data.astronaut(), data.immunohistochemistry()

    def mosaic(n: int = 1) -> np.ndarray:
        left, right = (astronaut, micrograph) if n % 2 else (micrograph, astronaut)
        return np.ascontiguousarray(np.concatenate([left, right[:, :256]], axis=1))
    return mosaic
